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
// the column files, which never move, and the writer's hash tables and
// postings runs, whose entries past a view's counts the view ignores, as it
// ignores spends by later transactions. So appending and committing never
// wait for readers, nor readers for them. What the writer replaces (a hash
// table rebuilt larger, postings runs a merge combined) stays mapped until
// no view that may read it is held. Only an unwind, which shrinks files,
// waits until the views taken before it are released, and holds new ones
// back while it runs.
type Live struct {
	w      *Store
	reader *Store       // the read-only columns; views are copies with their own counts
	mu     sync.RWMutex // views hold it shared; an unwind exclusively

	// Each commit publishes a generation: the view new readers get. What
	// the writer replaces (a grown hash table, merged postings runs) is
	// retired to the current generation and freed once it and every older
	// one is superseded and no view of theirs is held.
	cur  atomic.Pointer[generation]
	gmu  sync.Mutex
	gens []*generation // oldest first; the last is cur
}

type generation struct {
	view    *Store
	refs    atomic.Int64
	retired []func() error
}

// Live starts serving views of s. From now on only the goroutine that
// ingests may use s itself; every other reads through Acquire.
func (s *Store) Live() (*Live, error) {
	if err := s.wait(); err != nil {
		return nil, err
	}
	r := &Store{dir: s.dir, net: s.net, meta: s.meta, view: true}
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
	for {
		g := l.cur.Load()
		g.refs.Add(1)
		// Only a generation still current when counted is safe to use:
		// an older one may be freed already.
		if l.cur.Load() == g {
			return g.view, func() {
				l.unref(g)
				l.mu.RUnlock()
			}
		}
		l.unref(g)
	}
}

func (l *Live) unref(g *generation) {
	if g.refs.Add(-1) == 0 && l.cur.Load() != g {
		l.reclaim()
	}
}

// retire frees with free once no view can be using it.
func (l *Live) retire(free func() error) {
	l.gmu.Lock()
	g := l.gens[len(l.gens)-1]
	g.retired = append(g.retired, free)
	l.gmu.Unlock()
}

// reclaim frees what the oldest generations retired, up to the first one
// still current or held.
func (l *Live) reclaim() {
	l.gmu.Lock()
	defer l.gmu.Unlock()
	cur := l.cur.Load()
	i := 0
	for ; i < len(l.gens) && l.gens[i] != cur && l.gens[i].refs.Load() == 0; i++ {
		for _, free := range l.gens[i].retired {
			free()
		}
	}
	l.gens = l.gens[i:]
}

// Close stops the views (all must be released) and unmaps the reader's
// columns and all that was retired; the writer stays open.
func (l *Live) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gmu.Lock()
	for _, g := range l.gens {
		for _, free := range g.retired {
			free()
		}
	}
	l.gens = nil
	l.gmu.Unlock()
	l.w.live = nil
	return l.reader.closeColumns()
}

// publish makes the writer's committed state the view new readers get.
func (l *Live) publish() {
	v := *l.reader
	w := l.w
	v.meta = w.meta
	v.txIdx, v.blockIdx, v.addrIdx, v.post = w.txIdx, w.blockIdx, w.addrIdx, w.post
	g := &generation{view: &v}
	l.gmu.Lock()
	l.gens = append(l.gens, g)
	l.cur.Store(g)
	l.gmu.Unlock()
	l.reclaim()
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
	fields := s.columnFields()
	out := make([]colRows, len(s.cols))
	for i, col := range s.cols {
		out[i] = colRows{col, fields[i].rows(c)}
	}
	return out
}
