package colfile

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/spur-forensics/spur/internal/prefetch"
	"golang.org/x/sys/unix"
)

// resident counts the pages of path in the page cache.
func resident(t *testing.T, path string) (in, all int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	mm, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mm)
	page := os.Getpagesize()
	vec := make([]byte, (len(mm)+page-1)/page)
	if err := prefetch.Resident(mm, vec); err != nil {
		t.Fatal(err)
	}
	for _, v := range vec {
		in += int(v & 1)
	}
	return in, len(vec)
}

// TestColdColumnLeavesThePageCache: a cold column's rows leave the page
// cache once written and synced, and read back the same from the disk; a
// column that is not cold keeps them.
func TestColdColumnLeavesThePageCache(t *testing.T) {
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil || fs.Type == unix.TMPFS_MAGIC {
		t.Skip("the temporary directory is in memory: no page cache to leave")
	}
	for _, cold := range []bool{false, true} {
		path := filepath.Join(dir, map[bool]string{false: "warm", true: "cold"}[cold])
		c, err := Open(path, 8)
		if err != nil {
			t.Fatal(err)
		}
		if cold {
			c.SetCold()
		}
		for i := range uint64(1 << 17) { // 1 MiB
			c.AppendU64(i * 3)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		in, all := resident(t, path)
		if cold && in > all/4 || !cold && in < all*3/4 {
			t.Errorf("cold %v: %d of %d pages in the page cache", cold, in, all)
		}
		for _, i := range []uint64{0, 1, 77777, 1<<17 - 1} {
			if got := c.U64(i); got != i*3 {
				t.Fatalf("cold %v: row %d = %d, want %d", cold, i, got, i*3)
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteAtInChunks: a write longer than WriteChunk, not a multiple of
// it, at an offset, leaves the file holding exactly those bytes there.
func TestWriteAtInChunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "col")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 3*WriteChunk+12345)
	for i := range b {
		b[i] = byte(i*7 + i>>16)
	}
	const off = 1000
	if err := WriteAt(f, b, off); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != off+len(b) {
		t.Fatalf("file is %d bytes, want %d", len(got), off+len(b))
	}
	for i := range b {
		if got[off+i] != b[i] {
			t.Fatalf("byte %d is %d, want %d", off+i, got[off+i], b[i])
		}
	}
}

// TestDBLoggerFatal: a database's fatal error (Pebble's, which must not
// return) ends the process with exit code 1 and a message naming the
// database, not a panic.
func TestDBLoggerFatal(t *testing.T) {
	if os.Getenv("SPUR_TEST_DB_FATAL") != "" {
		DBLogger{Dir: "/x/labels"}.Fatalf("MANIFEST flush failed: %v", syscall.ENOSPC)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDBLoggerFatal$")
	cmd.Env = append(os.Environ(), "SPUR_TEST_DB_FATAL=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v", err)
	}
	want := "spur: database /x/labels: MANIFEST flush failed: no space left on device (it stays as its last commit left it)\n"
	if stderr.String() != want {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
}

// TestPebbleOpenRoom: the room to open a database is its logs, half as
// much again, and 1 MiB; its tables are not counted.
func TestPebbleOpenRoom(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"000004.log": 1 << 20, "000007.log": 100, "000005.sst": 5 << 20} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := PebbleOpenRoom(dir), uint64((1<<20+100)*3/2+1<<20); got != want {
		t.Fatalf("room %d, want %d", got, want)
	}
	if got := PebbleOpenRoom(filepath.Join(dir, "none")); got != 1<<20 {
		t.Fatalf("room of no database %d", got)
	}
}
