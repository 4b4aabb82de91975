package prefetch

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A file's pages dropped from the page cache read as out of memory; one
// asked for with Page comes in without a touch of the mapping, and once
// every page is touched the share is whole.
func TestPages(t *testing.T) {
	const size = 8 << 20
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	mm, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mm)
	unix.Madvise(mm, unix.MADV_RANDOM)
	vec := make([]byte, size/pageSize)
	if err := Resident(mm, vec); err != nil {
		t.Fatal(err)
	}
	in := 0
	for _, v := range vec {
		in += int(v & 1)
	}
	if in > len(vec)/4 {
		t.Skipf("%d of %d pages still in memory: this file system keeps them", in, len(vec))
	}
	if share := ResidentShare(mm); share > 0.25 {
		t.Fatalf("%d of %d pages in memory, sampled as %.2f", in, len(vec), share)
	}
	const off = 5<<20 + 123
	Page(mm, off)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if err := Resident(mm, vec); err != nil {
			t.Fatal(err)
		}
		if vec[off/pageSize]&1 == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page asked for was not read")
		}
	}
	var sum byte
	for i := 0; i < size; i += pageSize {
		sum += mm[i]
	}
	if share := ResidentShare(mm); share != 1 || sum != 0 {
		t.Fatalf("every page touched: share %.2f", share)
	}
}
