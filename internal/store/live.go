package store

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/spur-forensics/spur/internal/colfile"
)

// liveReserve is the address space a live reader maps per column up front.
// It is only reserved, not used: 64 GiB is about two and a half times the
// largest column of a mainnet store today (out.value, 8 bytes for each of
// some 3 billion outputs), and a column that outgrows it is mapped again.
const liveReserve = 64 << 30

// Live lets any number of goroutines read a store while one ingest in the
// same process keeps growing it (spur serve --follow-rpc). Each reader takes
// a view: a Store frozen at one commit. Views share read-only mappings of
// the column files, which never move, and the writer's index, whose entries
// past a view's counts the view ignores, as it ignores spends by later
// transactions. So appending and committing never wait for readers, nor
// readers for them. Only an unwind, which shrinks the files, waits until
// the views taken before it are released, and holds new ones back while it
// runs.
type Live struct {
	w      *Store
	reader *Store // the read-only columns; views are copies with their own counts
	mu     sync.RWMutex
	view   atomic.Pointer[Store]
}

// Live starts serving views of s. From now on only the goroutine that
// ingests may use s itself; every other reads through Acquire.
func (s *Store) Live() (*Live, error) {
	if err := s.wait(); err != nil {
		return nil, err
	}
	r := &Store{dir: s.dir, net: s.net, db: s.db, meta: s.meta, view: true}
	if err := r.openColumns(func(name string, width int) (*colfile.Column, error) {
		return colfile.OpenReader(filepath.Join(s.dir, name), width, liveReserve)
	}); err != nil {
		r.closeColumns()
		return nil, err
	}
	l := &Live{w: s, reader: r}
	l.publish()
	s.live = l
	return l, nil
}

// Acquire returns a view of the store at its latest commit and the func
// that releases it. A view must not be used after its release.
func (l *Live) Acquire() (*Store, func()) {
	l.mu.RLock()
	return l.view.Load(), l.mu.RUnlock
}

// Close stops the views (all must be released) and unmaps the reader's
// columns; the writer stays open.
func (l *Live) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.live = nil
	return l.reader.closeColumns()
}

// publish makes the writer's committed state the view new readers get.
func (l *Live) publish() {
	v := *l.reader
	v.meta = l.w.meta
	l.view.Store(&v)
}

// update publishes the writer's new commit. A reader column whose committed
// rows have outgrown its reservation is mapped again first, under the
// exclusive lock, since the views taken before use the old mapping.
func (l *Live) update() error {
	c := l.w.meta.Counts
	need := false
	for _, n := range l.reader.colRows(c) {
		if int64(n.rows)*int64(n.col.Width()) > n.col.Reserved() {
			need = true
		}
	}
	if !need {
		l.publish()
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.remapLocked()
	l.publish()
	return err
}

func (l *Live) remapLocked() error {
	c := l.w.meta.Counts
	r := l.reader
	for i, n := range r.colRows(c) {
		size := int64(n.rows) * int64(n.col.Width())
		if size <= n.col.Reserved() {
			continue
		}
		col, err := colfile.OpenReader(n.col.Name(), n.col.Width(), 2*size)
		if err != nil {
			return fmt.Errorf("store: live reader: %w", err)
		}
		old := n.col
		*r.colField(i) = col
		r.cols[i] = col
		old.Close()
	}
	return nil
}

// closeColumns unmaps and closes the columns of a reader.
func (s *Store) closeColumns() error {
	var first error
	for _, c := range s.cols {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.cols = nil
	return first
}

// committed is called after each change of the writer's META: a commit, or
// (with the views held back) an unwind.
func (s *Store) committed() error {
	if s.live == nil {
		return nil
	}
	return s.live.update()
}

type colRows struct {
	col  *colfile.Column
	rows uint64
}

// colRows pairs each column, in the order of s.cols, with its rows at c.
func (s *Store) colRows(c Counts) []colRows {
	rows := []uint64{c.Blocks, c.Blocks, c.Blocks, c.Blocks,
		c.Txs, c.Txs, c.Txs, c.Txs, c.Txs, c.Txs,
		c.Inputs, c.Outputs, c.Outputs, c.Outputs, c.Addrs, c.AddrBytes}
	out := make([]colRows, len(s.cols))
	for i, col := range s.cols {
		out[i] = colRows{col, rows[i]}
	}
	return out
}
