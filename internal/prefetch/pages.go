package prefetch

import (
	"math/rand/v2"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Resident sets the low bit of vec[i] when the i-th page of b, a part of a
// memory mapping that starts on a page, is in memory (mincore). vec must
// have a byte for every page of b.
func Resident(b, vec []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return e
	}
	return nil
}

// Page asks the kernel to start reading the page of file mapping mm that
// holds byte off, and returns without waiting for it: pages asked for one
// after another are read side by side, where faults on them would be read
// in turn. mm must start on a page.
func Page(mm []byte, off int) {
	start := off &^ (pageSize - 1)
	unix.Madvise(mm[start:min(len(mm), start+pageSize)], unix.MADV_WILLNEED)
}

// pageSize is the system's page size (4 KiB on x86-64, up to 64 KiB on
// arm64).
var pageSize = os.Getpagesize()

// ResidentShare samples the share of the pages of mapping mm (which starts
// on a page) in memory: four stretches of 1 MiB at random places, or the
// whole of a smaller mapping. Where it cannot tell, it says 1.
func ResidentShare(mm []byte) float64 {
	const stretch = 1 << 20
	var vec [stretch / 4096]byte // room for the smallest pages
	in, all := 0, 0
	for range 4 {
		off := 0
		if len(mm) > stretch {
			off = rand.IntN(len(mm)/pageSize-stretch/pageSize+1) * pageSize
		}
		part := mm[off:min(len(mm), off+stretch)]
		n := (len(part) + pageSize - 1) / pageSize
		if n == 0 || Resident(part, vec[:n]) != nil {
			return 1
		}
		for _, v := range vec[:n] {
			in += int(v & 1)
		}
		all += n
		if len(mm) <= stretch {
			break
		}
	}
	return float64(in) / float64(all)
}
