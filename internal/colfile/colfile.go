// Package colfile is the fixed-width, append-only, memory-mapped column file
// that spur's chain stores are made of (one file per column, BlockSci's
// layout). It is written here rather than taken from a library because it is
// the core of spur's speed: reads are plain slices of a shared mapping, and
// appends cost one fsync per commit for the whole batch and its writes, of
// WriteChunk bytes each, which may run on another goroutine while appends go
// on.
//
// LockDir, ShareDir and SyncDir are the directory-level pieces both stores
// share (lock.go).
//
// A Column is not safe for concurrent use, except a reader (OpenReader),
// whose reads may run on many goroutines while another Column appends to the
// same file.
package colfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"unsafe"

	"github.com/spur-forensics/spur/internal/prefetch"
	"golang.org/x/sys/unix"
)

// Column is one fixed-width column file. Rows below Flushed()/width are in
// the file and read through the memory map; rows appended since then wait in
// memory: first those of a flush in flight (being written by another
// goroutine), then the pending ones. Updates to rows already handed to a
// flush are queued and written at the next flush.
//
// A flush runs in steps so that its writing can go on beside further
// appends: StartFlush (on the appending goroutine) hands the pending rows
// and updates over, WriteAppends and WriteUpdates (on any one goroutine)
// write and sync them, and FinishFlush (on the appending goroutine again)
// makes them part of the file's rows. Flush does all four.
type Column struct {
	name     string
	width    int
	f        *os.File
	mm       []byte // read-only shared mapping; may be longer than the file
	flushed  int64  // bytes of whole rows in the file that the store uses
	inflight []byte // rows handed to the flush in flight
	pending  []byte
	spare    []byte   // the buffer of the last flush, for reuse
	updates  []update // new values of earlier rows (u32 columns), in order of change
	inUpd    []update // updates handed to the flush in flight
	wrote    bool     // WriteAppends wrote the rows in flight
	lazy     bool     // see SetLazy
	cold     bool     // see SetCold
}

type update struct {
	row uint64
	v   uint32
}

// Open opens (creating if needed) the column file at path with rows of
// width bytes. A partial row at the end of the file is ignored.
func Open(path string, width int) (*Column, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	c := &Column{name: path, width: width, f: f, flushed: st.Size() / int64(width) * int64(width)}
	if err := c.remap(st.Size()); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// OpenReader opens the column file at path for reading only, while a writer
// in the same process appends to it. The mapping reserves reserve bytes of
// address space (at least the file's size) up front, so that it never moves
// under its readers: rows appended later become readable through it as soon
// as they are in the file. The caller reads only rows it knows committed,
// and must not let the file shrink below a row being read.
func OpenReader(path string, width int, reserve int64) (*Column, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	reserve = max(reserve, st.Size())
	reserve = (reserve + 1<<16 - 1) &^ (1<<16 - 1)
	mm, err := unix.Mmap(int(f.Fd()), 0, int(reserve), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: mmap %s: %w", path, err)
	}
	// Every row of the reservation reads through the map.
	return &Column{name: path, width: width, f: f, mm: mm, flushed: reserve / int64(width) * int64(width)}, nil
}

// Reserved is how many bytes a reader's mapping covers.
func (c *Column) Reserved() int64 { return int64(len(c.mm)) }

// Name is the path the column was opened with; Base its file name.
func (c *Column) Name() string { return c.name }
func (c *Column) Base() string { return filepath.Base(c.name) }

// Width is the size of a row in bytes.
func (c *Column) Width() int { return c.width }

// FileRows is the number of whole rows in the file, committed or not.
func (c *Column) FileRows() uint64 { return uint64(c.flushed) / uint64(c.width) }

// Rows is the number of rows including pending ones.
func (c *Column) Rows() uint64 { return uint64(c.Size()) / uint64(c.width) }

// remap maps at least size bytes of the file, growing the mapping ahead of
// the file so that appends rarely need a new mapping.
func (c *Column) remap(size int64) error {
	if size <= int64(len(c.mm)) && c.mm != nil {
		return nil
	}
	if c.mm != nil {
		if err := unix.Munmap(c.mm); err != nil {
			return fmt.Errorf("store: munmap %s: %w", c.name, err)
		}
		c.mm = nil
	}
	want := size + size/2 + 1<<20
	want = (want + 1<<16 - 1) &^ (1<<16 - 1)
	mm, err := unix.Mmap(int(c.f.Fd()), 0, int(want), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("store: mmap %s: %w", c.name, err)
	}
	c.mm = mm
	return nil
}

// Row returns row i, from the map or a buffer. The slice must not be kept
// past the next flush.
func (c *Column) Row(i uint64) []byte {
	w := int64(c.width)
	off := int64(i) * w
	if off < c.flushed {
		return c.mm[off : off+w : off+w]
	}
	off -= c.flushed
	if off < int64(len(c.inflight)) {
		return c.inflight[off : off+w : off+w]
	}
	off -= int64(len(c.inflight))
	return c.pending[off : off+w : off+w]
}

// Bytes returns bytes [start, end) of the column (for width-1 heaps), from
// the map or a buffer, or a copy when the range spans two of them.
func (c *Column) Bytes(start, end uint64) []byte {
	fl, in := uint64(c.flushed), uint64(c.flushed)+uint64(len(c.inflight))
	switch {
	case end <= fl:
		return c.mm[start:end:end]
	case start >= fl && end <= in:
		p := c.inflight[start-fl : end-fl]
		return p[:len(p):len(p)]
	case start >= in:
		p := c.pending[start-in : end-in]
		return p[:len(p):len(p)]
	}
	out := make([]byte, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, c.Row(i)[0])
	}
	return out
}

// Flushed returns the first n bytes of the file's rows through the map;
// n must not pass the flushed rows.
func (c *Column) Flushed(n int64) []byte { return c.mm[:n:n] }

// Prefetch starts loading row i into the cache when it is in the file.
func (c *Column) Prefetch(i uint64) {
	if off := i * uint64(c.width); off < uint64(c.flushed) {
		prefetch.At(unsafe.Pointer(&c.mm[off]))
	}
}

func (c *Column) U64(i uint64) uint64 { return binary.LittleEndian.Uint64(c.Row(i)) }
func (c *Column) U32(i uint64) uint32 { return binary.LittleEndian.Uint32(c.Row(i)) }

func (c *Column) AppendU64(v uint64) { c.pending = binary.LittleEndian.AppendUint64(c.pending, v) }
func (c *Column) AppendU32(v uint32) { c.pending = binary.LittleEndian.AppendUint32(c.pending, v) }
func (c *Column) AppendRaw(b []byte) { c.pending = append(c.pending, b...) }

// AppendZeros appends n zero bytes.
func (c *Column) AppendZeros(n int) {
	c.pending = slices.Grow(c.pending, n)
	l := len(c.pending)
	c.pending = c.pending[:l+n]
	clear(c.pending[l:])
}

// PendingBytes is the number of appended bytes not yet flushed.
func (c *Column) PendingBytes() int { return len(c.pending) }

// DropPending forgets appends and updates not yet flushed. No flush may
// be in flight.
func (c *Column) DropPending() {
	c.pending = c.pending[:0]
	c.updates = c.updates[:0]
}

// SetU32 changes row i, which may already be flushed.
func (c *Column) SetU32(i uint64, v uint32) {
	off := int64(i)*int64(c.width) - c.flushed - int64(len(c.inflight))
	if off >= 0 {
		binary.LittleEndian.PutUint32(c.pending[off:], v)
		return
	}
	c.updates = append(c.updates, update{i, v})
}

// Flush writes the pending rows after the flushed ones and the queued
// updates, and syncs them (a lazy column too).
func (c *Column) Flush() error {
	c.StartFlush()
	err := c.WriteAppends()
	if err == nil {
		err = c.WriteUpdates()
	}
	if err == nil && c.lazy {
		err = c.Sync()
	}
	return errors.Join(err, c.FinishFlush())
}

// StartFlush hands the pending rows and updates to a flush.
func (c *Column) StartFlush() {
	if c.spare == nil && len(c.pending) > 0 {
		// The next commit will be about this size.
		c.spare = make([]byte, 0, len(c.pending)+len(c.pending)/8)
	}
	c.inflight, c.pending = c.pending, c.spare[:0]
	c.inUpd, c.updates = c.updates, c.inUpd[:0]
	c.spare = nil
}

// WriteAppends writes the rows handed to the flush after the file's rows,
// and syncs unless the column is lazy.
func (c *Column) WriteAppends() error {
	if len(c.inflight) == 0 {
		return nil
	}
	if err := WriteAt(c.f, c.inflight, c.flushed); err != nil {
		return fmt.Errorf("store: %w", err) // names the operation and the file
	}
	if !c.lazy {
		if err := c.Sync(); err != nil {
			return err
		}
		if c.cold {
			// Clean now: their pages go back to be reused at once.
			_ = unix.Fadvise(int(c.f.Fd()), c.flushed, int64(len(c.inflight)), unix.FADV_DONTNEED)
		}
	}
	c.wrote = true
	return nil
}

// WriteChunk is the most a column or run file writes in one system call.
// Linux puts the bytes of one large write into large page-cache folios;
// on a virtual machine whose host takes back free memory (free page
// reporting, which hands it free blocks of 2 MiB and up), those are likely
// made of memory the host must fault in again. Written 256 KiB at a time,
// the same bytes cost a fraction of that: measured here (a test program
// writing a new file from a 64 MiB buffer), 2.4 GB in 64 MiB writes took
// 4.6-7.6 s of system time, in 1 MiB writes 2.5-3.4 s, and in 256 KiB
// writes 1.0-1.2 s.
const WriteChunk = 256 << 10

// WriteAt writes b to f at off, WriteChunk bytes at a time.
func WriteAt(f *os.File, b []byte, off int64) error {
	for len(b) > 0 {
		n := min(len(b), WriteChunk)
		if _, err := f.WriteAt(b[:n], off); err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// SetCold says that the column's rows are not read back soon after they are
// written (an ingest writes them and queries read them later), so that once
// written and synced their pages are dropped from the page cache. The
// memory is reused by the next write instead of new memory taken: on a
// virtual machine whose host takes back the guest's free memory, taking
// a page the host has taken costs the host a fault, more than writing it.
func (c *Column) SetCold() { c.cold = true }

// SetLazy says that the column's owner can rebuild whatever of it a power
// loss takes from the file, so that its appends and updates need not be
// synced at every flush, only when the owner calls Sync: a sync writes
// every page changed since the last, and a page changed many times between
// two syncs is written once. (A crash of the process loses nothing written:
// the page cache keeps it.)
func (c *Column) SetLazy() { c.lazy = true }

// Sync makes everything written to the file durable.
func (c *Column) Sync() error {
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", c.name, err)
	}
	return nil
}

// WriteUpdates writes the updates handed to the flush, after WriteAppends,
// and syncs unless the column is lazy.
func (c *Column) WriteUpdates() error {
	if len(c.inUpd) == 0 {
		return nil
	}
	// Rows are changed through a writable mapping of the rows: one system
	// call per commit instead of one per spend. Changes apply in order, so
	// a row changed twice keeps its last value.
	size := c.flushed + int64(len(c.inflight))
	wmm, err := unix.Mmap(int(c.f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("store: mmap %s for writing: %w", c.name, err)
	}
	defer unix.Munmap(wmm)
	// The rows changed are scattered: a fault should read just its page.
	unix.Madvise(wmm, unix.MADV_RANDOM)
	for _, u := range c.inUpd {
		off := int64(u.row) * int64(c.width)
		if off+4 > size {
			return fmt.Errorf("BUG: store: update of row %d past the %s rows", u.row, c.name)
		}
		binary.LittleEndian.PutUint32(wmm[off:], u.v)
	}
	if c.lazy {
		return nil // unmapping keeps the changed pages dirty in the page cache
	}
	if err := unix.Msync(wmm, unix.MS_SYNC); err != nil {
		return fmt.Errorf("store: msync %s: %w", c.name, err)
	}
	return c.Sync()
}

// FinishFlush ends the flush in flight: once WriteAppends succeeded its
// rows are the file's, whatever failed later (so that an undo sees them);
// otherwise they are dropped.
func (c *Column) FinishFlush() error {
	var err error
	if c.wrote {
		c.flushed += int64(len(c.inflight))
		err = c.remap(c.flushed)
	}
	c.spare, c.inflight, c.wrote = c.inflight[:0], nil, false
	c.inUpd = c.inUpd[:0]
	return err
}

// Truncate makes the file n rows long: it drops every row from n on, in
// the file and in memory, or adds zero rows up to n.
func (c *Column) Truncate(n uint64) error {
	c.DropPending()
	size := int64(n) * int64(c.width)
	if err := c.f.Truncate(size); err != nil {
		return fmt.Errorf("store: truncate %s: %w", c.name, err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", c.name, err)
	}
	c.flushed = size
	return c.remap(size)
}

// Size is the number of bytes the column uses, flushed or not.
func (c *Column) Size() int64 { return c.flushed + int64(len(c.inflight)) + int64(len(c.pending)) }

// Close unmaps and closes the file. Pending appends are dropped.
func (c *Column) Close() error {
	if c.mm != nil {
		unix.Munmap(c.mm)
		c.mm = nil
	}
	return c.f.Close()
}

// ReadOnlyFS says whether err is a file system refusing a write: mounted
// read-only, or not the user's to write. A store there is read with
// ShareDir's lock instead of LockDir's.
func ReadOnlyFS(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)
}

// SyncDir syncs a directory, so that a rename in it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	return nil
}

// ReplaceFile writes a whole file at path: write fills a file beside it,
// which is synced and renamed over path only once write succeeded, so that
// a reader, or a crash or full disk midway, sees the old file or the new
// one, never part of one; on failure the file beside is removed.
func ReplaceFile(path string, write func(f *os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// DBLogger is the logger of a Pebble database of a store (the Ethereum
// index, the labels): quiet but for a fatal error, which Pebble reports
// where it cannot go on and must not be returned to (a MANIFEST it cannot
// write: a full disk, say). The database stays as its last commit left
// it; the process ends with a message naming the database, rather than
// a panic's stack of goroutines.
type DBLogger struct{ Dir string }

func (DBLogger) Infof(string, ...any)  {}
func (DBLogger) Errorf(string, ...any) {}

// Fatalf prints the error and exits with code 1.
func (l DBLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "spur: database %s: %s (it stays as its last commit left it)\n", l.Dir, fmt.Sprintf(format, args...))
	os.Exit(1)
}

// BackgroundError is Pebble's event of a flush or compaction that failed
// (pebble.EventListener.BackgroundError). Pebble retries a failed flush at
// once and without end, at full speed on one core, and an open for
// writing waits for the flush of the logs it finds: a disk that refuses
// writes would hang the command for good. It ends the process as Fatalf
// does; what was committed is in the database's log.
func (l DBLogger) BackgroundError(err error) { l.Fatalf("%v", err) }

// PebbleOpenRoom is the room a Pebble database in dir needs to be opened
// for writing: the open flushes the logs it finds to a table, which a full
// disk would refuse again and again (BackgroundError), and writes a new
// log, MANIFEST and OPTIONS file: the logs and half as much again, and
// 1 MiB. (A batch then asks for its own room: PebbleBatchRoom.)
func PebbleOpenRoom(dir string) uint64 {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var n uint64
	for _, p := range logs {
		if st, err := os.Stat(p); err == nil {
			n += uint64(st.Size())
		}
	}
	return n*3/2 + 1<<20
}

// RoomFor returns an error wrapping syscall.ENOSPC when the file system of
// dir has less room than need bytes, and how much each is; nil when it
// has the room, or when its room cannot be read (the writes then say).
func RoomFor(dir string, need uint64) error {
	free, err := DiskFree(dir)
	if err != nil || free >= need {
		return nil
	}
	return fmt.Errorf("%w: %.1f MiB free, and this needs about %.1f MiB", syscall.ENOSPC, float64(free)/(1<<20), float64(need)/(1<<20))
}

// PebbleBatchRoom is the room a Pebble batch of n bytes is given before it
// is committed: Pebble ends the process when the disk fills while it
// writes one (to its log, then to the table it is flushed to, with a new
// log and MANIFEST: the OFAC SDN list's 9 MiB batch took 8 to 12 MiB), so
// half the batch again and 4 MiB are asked beyond it.
func PebbleBatchRoom(n int) uint64 { return uint64(n)*3/2 + 4<<20 }

// ReadOnlyDir reports whether dir is on a file system mounted read-only
// (an evidence copy), whose free room, often none, says nothing.
func ReadOnlyDir(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Flags&unix.ST_RDONLY != 0
}

// DiskFree is the room left for an unprivileged user on the file system
// of dir (a variable, for tests to stand for a full disk).
var DiskFree = func(dir string) (uint64, error) {
	var st unix.Statfs_t
	err := unix.Statfs(dir, &st)
	return st.Bavail * uint64(st.Bsize), err
}
