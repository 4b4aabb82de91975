package prefetch

import (
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

const pageSize = 4096
