package store

import (
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// column is one fixed-width column file. Rows below flushed/width are in the
// file and read through the memory map; rows appended since the last flush
// wait in pending. Updates to flushed rows (spends of older outputs) are
// queued and written at the next flush.
type column struct {
	name    string
	width   int
	f       *os.File
	mm      []byte // read-only shared mapping; may be longer than the file
	wmm     []byte // writable mapping of the flushed rows, while updates are applied
	flushed int64  // bytes of whole rows in the file that the store uses
	pending []byte
	updates []update // new values of flushed rows (u32 columns), in order of change
}

type update struct {
	row uint64
	v   uint32
}

func openColumn(path string, width int) (*column, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	c := &column{name: path, width: width, f: f, flushed: st.Size() / int64(width) * int64(width)}
	if err := c.remap(st.Size()); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// fileRows is the number of whole rows in the file, committed or not.
func (c *column) fileRows() uint64 { return uint64(c.flushed) / uint64(c.width) }

// rows is the number of rows including pending ones.
func (c *column) rows() uint64 { return uint64(c.flushed+int64(len(c.pending))) / uint64(c.width) }

// remap maps at least size bytes of the file, growing the mapping ahead of
// the file so that appends rarely need a new mapping.
func (c *column) remap(size int64) error {
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

// row returns row i, from the map or the pending buffer. The slice must not
// be kept past the next flush.
func (c *column) row(i uint64) []byte {
	off := int64(i) * int64(c.width)
	if off < c.flushed {
		return c.mm[off : off+int64(c.width) : off+int64(c.width)]
	}
	off -= c.flushed
	return c.pending[off : off+int64(c.width) : off+int64(c.width)]
}

func (c *column) u64(i uint64) uint64 { return binary.LittleEndian.Uint64(c.row(i)) }
func (c *column) u32(i uint64) uint32 { return binary.LittleEndian.Uint32(c.row(i)) }

func (c *column) appendU64(v uint64) { c.pending = binary.LittleEndian.AppendUint64(c.pending, v) }
func (c *column) appendU32(v uint32) { c.pending = binary.LittleEndian.AppendUint32(c.pending, v) }
func (c *column) appendRaw(b []byte) { c.pending = append(c.pending, b...) }

// setU32 changes row i, which may already be flushed.
func (c *column) setU32(i uint64, v uint32) {
	off := int64(i) * int64(c.width)
	if off >= c.flushed {
		binary.LittleEndian.PutUint32(c.pending[off-c.flushed:], v)
		return
	}
	c.updates = append(c.updates, update{i, v})
}

// flushAppends writes the pending rows after the flushed ones and syncs.
func (c *column) flushAppends() error {
	if len(c.pending) == 0 {
		return nil
	}
	if _, err := c.f.WriteAt(c.pending, c.flushed); err != nil {
		return fmt.Errorf("store: write %s: %w", c.name, err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", c.name, err)
	}
	c.flushed += int64(len(c.pending))
	c.pending = c.pending[:0]
	return c.remap(c.flushed)
}

// flushUpdates writes queued changes to flushed rows and syncs.
func (c *column) flushUpdates() error {
	if len(c.updates) == 0 {
		return nil
	}
	// Rows are changed through a writable mapping of the rows: one system
	// call per commit instead of one per spend. Changes apply in order, so
	// a row changed twice keeps its last value.
	if c.wmm == nil {
		mm, err := unix.Mmap(int(c.f.Fd()), 0, int(c.flushed), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("store: mmap %s for writing: %w", c.name, err)
		}
		c.wmm = mm
	}
	for _, u := range c.updates {
		off := int64(u.row) * int64(c.width)
		if off+4 > int64(len(c.wmm)) {
			return fmt.Errorf("BUG: store: update of row %d past the %s mapping", u.row, c.name)
		}
		binary.LittleEndian.PutUint32(c.wmm[off:], u.v)
	}
	c.updates = c.updates[:0]
	// The writable mapping covers only the rows of this commit's start;
	// drop it so the next commit maps the grown file.
	err := unix.Msync(c.wmm, unix.MS_SYNC)
	unix.Munmap(c.wmm)
	c.wmm = nil
	if err != nil {
		return fmt.Errorf("store: msync %s: %w", c.name, err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", c.name, err)
	}
	return nil
}

// truncate drops every row from n on, in the file and in memory.
func (c *column) truncate(n uint64) error {
	c.pending = c.pending[:0]
	c.updates = c.updates[:0]
	size := int64(n) * int64(c.width)
	if err := c.f.Truncate(size); err != nil {
		return fmt.Errorf("store: truncate %s: %w", c.name, err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", c.name, err)
	}
	c.flushed = size
	return nil
}

// size is the number of bytes the column uses, flushed and pending.
func (c *column) size() int64 { return c.flushed + int64(len(c.pending)) }

func (c *column) close() error {
	if c.mm != nil {
		unix.Munmap(c.mm)
		c.mm = nil
	}
	return c.f.Close()
}
