package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/spur-forensics/spur/internal/colfile"
	"golang.org/x/sys/unix"
)

// Postings (each address's outputs) live in runs: files of (address,
// output) pairs sorted by address, each covering a range of output numbers.
// A commit writes the pairs of its outputs as one new run; runs of similar
// size are then merged eight at a time, so a store of N outputs has at most
// about 7·log8(N/C) runs (C the outputs of a commit), and a lookup
// binary-searches each. Like the hash tables, runs are derived from the
// columns (out.addr): a run missing after a crash is built again from them on
// open.
//
// Run file postings/<lo>-<hi> (16 hex digits each) covers outputs lo to
// hi-1. Layout (little-endian): "SPURPST\x00", version u32, CRC-32C of the
// body u32 (version 2; 0 in version 1, which had none), entries u64,
// CRC-32C of the preceding 24 bytes u32, pad u32; then the body: entries
// u32 address numbers, zero padding to a multiple of 8 bytes, and entries
// u64 output numbers in the same order. An unwind clips a run by renaming
// it to a lower hi: entries at or past the name's hi are dead.
//
// The body's checksum is checked where a run is read whole anyway: by a
// merge, which builds its output from the column instead when an input is
// damaged (so damage does not spread into a run that would checksum
// clean), and by the digest. Open checks only headers: reading every run
// there would cost a pass over all postings.
const (
	runMagic   = "SPURPST\x00"
	runVersion = 2
	runHeader  = 32
)

type run struct {
	path   string
	lo, hi uint64
	mm     []byte
	addrs  []uint32
	outs   []uint64
}

func runName(lo, hi uint64) string { return fmt.Sprintf("%016x-%016x", lo, hi) }

// postingIndex is the store's set of runs. Readers load the set through an
// atomic pointer; runs a merge or an unwind replaced are unmapped only when
// no reader can hold them (see Store.wait and Store.undoPastCommit).
type postingIndex struct {
	dir     string
	addrOf  func(o uint64) uint32  // out.addr, for runs built from the column
	scratch []posting              // for sorting, kept from run to run
	set     atomic.Pointer[[]*run] // in output order, covering [0, committed)
	retired []*run
}

func (p *postingIndex) runs() []*run {
	if r := p.set.Load(); r != nil {
		return *r
	}
	return nil
}

func (p *postingIndex) publish(rs []*run) { p.set.Store(&rs) }

// lookup calls fn with the outputs below limit paid to address a, in order.
func (p *postingIndex) lookup(a uint32, limit uint64, fn func(o uint64) bool) {
	for _, r := range p.runs() {
		if r.lo >= limit {
			return
		}
		i := sort.Search(len(r.addrs), func(i int) bool { return r.addrs[i] >= a })
		for ; i < len(r.addrs) && r.addrs[i] == a; i++ {
			o := r.outs[i]
			if o >= r.hi || o >= limit {
				break // a run's outputs of one address ascend
			}
			if !fn(o) {
				return
			}
		}
	}
}

// openRun maps a run file, checking its header against its size.
func openRun(path string, lo, hi uint64) (*run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < runHeader {
		return nil, fmt.Errorf("%w: %s: %d bytes", ErrCorrupt, path, st.Size())
	}
	mm, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("store: mmap %s: %w", path, err)
	}
	n := binary.LittleEndian.Uint64(mm[16:])
	if v := binary.LittleEndian.Uint32(mm[8:]); string(mm[:8]) != runMagic || v < 1 || v > runVersion ||
		binary.LittleEndian.Uint32(mm[24:]) != crc32.Checksum(mm[:24], castagnoli) ||
		n > uint64(st.Size()) || int64(runSize(n)) != st.Size() {
		unix.Munmap(mm)
		return nil, fmt.Errorf("%w: %s: bad header", ErrCorrupt, path)
	}
	r := &run{path: path, lo: lo, hi: hi, mm: mm}
	if n > 0 {
		r.addrs = unsafe.Slice((*uint32)(unsafe.Pointer(&mm[runHeader])), n)
		r.outs = unsafe.Slice((*uint64)(unsafe.Pointer(&mm[runHeader+pad8(4*n)])), n)
	}
	return r, nil
}

func pad8(n uint64) uint64     { return (n + 7) &^ 7 }
func runSize(n uint64) uint64  { return runHeader + pad8(4*n) + 8*n }
func (r *run) close() error    { return unix.Munmap(r.mm) }
func (r *run) entries() int    { return len(r.addrs) }
func (r *run) live(i int) bool { return r.outs[i] < r.hi }
func (r *run) String() string  { return filepath.Base(r.path) }
func runHeaderBytes(n uint64, body uint32) []byte {
	h := make([]byte, runHeader)
	copy(h, runMagic)
	binary.LittleEndian.PutUint32(h[8:], runVersion)
	binary.LittleEndian.PutUint32(h[12:], body)
	binary.LittleEndian.PutUint64(h[16:], n)
	binary.LittleEndian.PutUint32(h[24:], crc32.Checksum(h[:24], castagnoli))
	return h
}

// bodyOK reports whether the run's body matches its checksum (always, for
// a version 1 run, which has none).
func (r *run) bodyOK() bool {
	if binary.LittleEndian.Uint32(r.mm[8:]) < 2 {
		return true
	}
	return crc32.Checksum(r.mm[runHeader:], castagnoli) == binary.LittleEndian.Uint32(r.mm[12:])
}

// writeRun writes a run of pairs (sorted by address, then output) covering
// outputs lo to hi-1, syncs it, and maps it.
func (p *postingIndex) writeRun(lo, hi uint64, pairs []posting) (*run, error) {
	path := filepath.Join(p.dir, runName(lo, hi))
	n := uint64(len(pairs))
	err := writeRunFile(path, n, func(w *runWriter) {
		for _, q := range pairs {
			w.u32(q.addr)
		}
		w.zeros(pad8(4*n) - 4*n)
		for _, q := range pairs {
			w.u64(q.out)
		}
	})
	if err != nil {
		return nil, err
	}
	return openRun(path, lo, hi)
}

// runWriter buffers a run's body for its file: its appends are inlined,
// where a call to a bufio.Writer for every 4 or 8 bytes is not.
type runWriter struct {
	buf []byte
	w   io.Writer
	err error // the first error of a write
}

// runWriterBuf is what a run writer gathers before a write (see
// colfile.WriteChunk).
const runWriterBuf = colfile.WriteChunk

func (w *runWriter) u32(v uint32) {
	if w.buf = binary.LittleEndian.AppendUint32(w.buf, v); len(w.buf) >= runWriterBuf {
		w.flush()
	}
}

func (w *runWriter) u64(v uint64) {
	if w.buf = binary.LittleEndian.AppendUint64(w.buf, v); len(w.buf) >= runWriterBuf {
		w.flush()
	}
}

func (w *runWriter) zeros(n uint64) {
	for range n {
		w.buf = append(w.buf, 0)
	}
}

func (w *runWriter) flush() {
	if len(w.buf) > 0 && w.err == nil {
		_, w.err = w.w.Write(w.buf)
	}
	w.buf = w.buf[:0]
}

// crcWriter checksums what it writes (below a runWriter, so in large
// pieces).
type crcWriter struct {
	w   io.Writer
	crc uint32
}

func (c *crcWriter) Write(b []byte) (int, error) {
	c.crc = crc32.Update(c.crc, castagnoli, b)
	return c.w.Write(b)
}

// writeRunFile writes the run file at path, of n pairs whose body fill
// writes, through a temporary file, synced and renamed. The header, with
// the body's checksum, is written last, in front.
func writeRunFile(path string, n uint64, fill func(w *runWriter)) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	_, err = f.Write(make([]byte, runHeader))
	body := &crcWriter{w: f}
	w := &runWriter{buf: make([]byte, 0, runWriterBuf+8), w: body}
	fill(w)
	if w.flush(); err == nil {
		err = w.err
	}
	if err == nil {
		_, err = f.WriteAt(runHeaderBytes(n, body.crc), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: writing %s: %w", path, err)
	}
	return nil
}

// sortPostings orders pairs by address; outputs arrive in order, and the
// radix sort is stable, so each address's outputs stay in order.
func sortPostings(pairs []posting) []posting {
	var tmp []posting
	return sortPostingsWith(pairs, &tmp)
}

// sortPostingsWith is sortPostings with its scratch space in *tmp, grown as
// needed and kept for the next sort.
func sortPostingsWith(pairs []posting, tmp *[]posting) []posting {
	if len(pairs) < 2 {
		return pairs
	}
	if cap(*tmp) < len(pairs) {
		*tmp = make([]posting, len(pairs))
	}
	src, dst := pairs, (*tmp)[:len(pairs)]
	for shift := uint(0); shift < 32; shift += 16 {
		var count [1<<16 + 1]int
		for i := range src {
			count[int(uint16(src[i].addr>>shift))+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for i := range src {
			d := uint16(src[i].addr >> shift)
			dst[count[d]] = src[i]
			count[d]++
		}
		src, dst = dst, src
	}
	return src
}

// mergeFanIn is how many runs of one size a merge combines: each pair is
// rewritten about log8(N/C) times over a chain of N outputs committed C at a
// time, and a store keeps at most seven runs of each size. Eight rather than
// four: a third fewer rewrites (on the 3.7 GB synthetic chain, commits of
// about 650k outputs, two merge levels instead of three; the ingest
// 0.35-0.65 s faster of 11-12 s) for at most about 1.5 times the runs a
// lookup searches (about 28 rather than 18 on a chain of three billion
// outputs committed as many at a time).
const mergeFanIn = 8

// add writes the pairs of a commit as a run and merges runs of similar
// size. It runs in the commit's background goroutine; the runs it replaces
// wait in retired until no reader can hold them.
func (p *postingIndex) add(lo, hi uint64, pairs []posting) error {
	r, err := p.writeRun(lo, hi, sortPostingsWith(pairs, &p.scratch))
	if err != nil {
		return err
	}
	rs := append(slices.Clone(p.runs()), r)
	p.publish(rs)
	// The newest mergeFanIn runs are of one size when the oldest of them
	// holds at most twice the pairs of the newest.
	for n := len(rs); n >= mergeFanIn && rs[n-mergeFanIn].entries() <= 2*rs[n-1].entries(); n = len(rs) {
		in := rs[n-mergeFanIn:]
		ms, err := p.merge(in)
		if err != nil {
			return err
		}
		p.retired = append(p.retired, in...)
		rs = append(slices.Clone(rs[:n-mergeFanIn]), ms...)
		p.publish(rs)
	}
	return nil
}

// merge writes the run covering rs (adjacent, lowest first), leaving out
// dead pairs. Pairs of one address keep the runs' order, so its outputs stay
// in order. When a run's body fails its checksum, the range is built from
// the column instead, as runs of at most maxFromColumn outputs.
func (p *postingIndex) merge(rs []*run) ([]*run, error) {
	for _, r := range rs {
		if !r.bodyOK() {
			// The new runs may take the old names: remove those first (a
			// crash in between leaves a gap, which open fills).
			for _, r := range rs {
				os.Remove(r.path)
			}
			return p.fromColumn(rs[0].lo, rs[len(rs)-1].hi)
		}
	}
	n := 0
	for _, r := range rs {
		for i := range r.outs {
			if r.live(i) {
				n++
			}
		}
	}
	lo, hi := rs[0].lo, rs[len(rs)-1].hi
	path := filepath.Join(p.dir, runName(lo, hi))
	// A byte per pair notes its run, so that the outputs follow the
	// addresses' order without choosing again; up to maxMergeFrom pairs.
	note := n <= maxMergeFrom && len(rs) <= 1<<8
	var from []uint8
	if note {
		from = make([]uint8, 0, n)
	}
	err := writeRunFile(path, uint64(n), func(w *runWriter) {
		next := make([]int, len(rs))
		// pick takes the next pair of the run whose next pair has the
		// lowest address (the lowest run on a tie): its run and index, or
		// -1 once every run is done.
		pick := func() (int, int) {
			best := -1
			for k, r := range rs {
				if next[k] < len(r.addrs) && (best < 0 || r.addrs[next[k]] < rs[best].addrs[next[best]]) {
					best = k
				}
			}
			if best < 0 {
				return -1, 0
			}
			next[best]++
			return best, next[best] - 1
		}
		for b, i := pick(); b >= 0; b, i = pick() {
			if rs[b].live(i) {
				w.u32(rs[b].addrs[i])
				if note {
					from = append(from, uint8(b))
				}
			}
		}
		w.zeros(pad8(4*uint64(n)) - 4*uint64(n))
		clear(next)
		if !note {
			for b, i := pick(); b >= 0; b, i = pick() {
				if rs[b].live(i) {
					w.u64(rs[b].outs[i])
				}
			}
			return
		}
		for _, b := range from {
			r := rs[b]
			for !r.live(next[b]) {
				next[b]++
			}
			w.u64(r.outs[next[b]])
			next[b]++
		}
	})
	if err != nil {
		return nil, err
	}
	m, err := openRun(path, lo, hi)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		os.Remove(r.path)
	}
	return []*run{m}, nil
}

// maxMergeFrom bounds the pairs of a merge that notes each pair's run (a
// byte each, so that memory does not grow with the chain); a larger merge
// chooses again for the outputs. A variable for tests.
var maxMergeFrom = 1 << 26

// maxFromColumn bounds the outputs of a run built from the column, so that
// building a long range holds a bounded number of pairs in memory.
const maxFromColumn = 32 << 20

// fromColumn writes runs covering outputs lo to hi-1 from the out.addr
// column, each of at most maxFromColumn outputs. The rows must be
// committed or in the commit in flight.
func (p *postingIndex) fromColumn(lo, hi uint64) ([]*run, error) {
	var rs []*run
	for lo < hi {
		end := min(hi, lo+maxFromColumn)
		pairs := make([]posting, 0, end-lo)
		for o := lo; o < end; o++ {
			if a := p.addrOf(o); a != NoAddress {
				pairs = append(pairs, posting{a, o})
			}
		}
		r, err := p.writeRun(lo, end, sortPostingsWith(pairs, &p.scratch))
		if err != nil {
			for _, r := range rs {
				r.close()
			}
			return nil, err
		}
		rs = append(rs, r)
		lo = end
	}
	return rs, nil
}

// takeRetired hands over the runs replaced since the last call, to be
// unmapped when no reader can hold them.
func (p *postingIndex) takeRetired() []*run {
	r := p.retired
	p.retired = nil
	return r
}

func (p *postingIndex) close() {
	for _, r := range p.takeRetired() {
		r.close()
	}
	for _, r := range p.runs() {
		r.close()
	}
	p.set.Store(nil)
}

// size is the bytes the runs take on disk.
func (p *postingIndex) size() int64 {
	var n int64
	for _, r := range p.runs() {
		n += int64(len(r.mm))
	}
	return n
}

// openPostings opens the runs of dir and makes them cover exactly outputs 0
// to committed-1: runs past it are removed or clipped, runs a finished merge
// made redundant are removed, unreadable runs are dropped, and any range
// left uncovered is built again from the out.addr column.
func (s *Store) openPostings(committed uint64) error {
	dir := filepath.Join(s.dir, "postings")
	// A read-only store changes no file: files it would remove it ignores,
	// a run it would cut short it reads only so far, and a gap it would
	// fill from out.addr is an error (errPostingsGap).
	ro := s.readOnly
	remove := func(path string) {
		if !ro {
			os.Remove(path)
		}
	}
	if !ro {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	p := &postingIndex{dir: dir, addrOf: s.outAddr.U32}
	s.post = p
	entries, err := os.ReadDir(dir)
	if err != nil && !(ro && errors.Is(err, os.ErrNotExist)) {
		return fmt.Errorf("store: %w", err)
	}
	type name struct {
		path   string
		lo, hi uint64
	}
	var names []name
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		lo, hi, ok := parseRunName(e.Name())
		if !ok || lo >= hi || lo >= committed {
			remove(path) // temporary files, runs past the commit
			continue
		}
		names = append(names, name{path, lo, hi})
	}
	// Lowest first; of two runs starting together, the wider (a merge's
	// output whose inputs were not yet removed).
	slices.SortFunc(names, func(x, y name) int {
		if x.lo != y.lo {
			return cmp.Compare(x.lo, y.lo)
		}
		return cmp.Compare(y.hi, x.hi)
	})
	var rs []*run
	cur := uint64(0)
	for _, nm := range names {
		if nm.lo < cur {
			remove(nm.path) // inside a wider run, or overlapping one
			continue
		}
		hi := min(nm.hi, committed)
		path := nm.path
		if hi != nm.hi && !ro {
			path = filepath.Join(dir, runName(nm.lo, hi))
			if err := os.Rename(nm.path, path); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
		r, err := openRun(path, nm.lo, hi)
		if err != nil {
			if errors.Is(err, ErrCorrupt) {
				remove(path)
				continue
			}
			return err
		}
		rs = append(rs, r)
		cur = hi
	}
	// Fill what no run covers (a crash between a commit and its run, or a
	// damaged run) from the column.
	var filled []*run
	cur = 0
	for i := 0; cur < committed || i < len(rs); {
		if i < len(rs) && rs[i].lo == cur {
			filled = append(filled, rs[i])
			cur = rs[i].hi
			i++
			continue
		}
		end := committed
		if i < len(rs) {
			end = rs[i].lo
		}
		if ro {
			return fmt.Errorf("%w: outputs %d to %d", errPostingsGap, cur, end)
		}
		built, err := p.fromColumn(cur, end)
		if err != nil {
			return err
		}
		filled = append(filled, built...)
		cur = end
	}
	p.publish(filled)
	return nil
}

// errPostingsGap is outputs no postings run covers, in a read-only store.
var errPostingsGap = errors.New("store: postings missing")

func parseRunName(s string) (lo, hi uint64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found || len(a) != 16 || len(b) != 16 {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	return lo, hi, err1 == nil && err2 == nil
}

// clip drops the entries at or past count: runs starting there are
// removed, a run across it is renamed to end there and mapped again. The
// runs it replaces are retired, since readers may hold them.
func (p *postingIndex) clip(count uint64) error {
	var keep []*run
	for _, r := range p.runs() {
		switch {
		case r.lo >= count:
			os.Remove(r.path)
			p.retired = append(p.retired, r)
		case r.hi > count:
			path := filepath.Join(p.dir, runName(r.lo, count))
			if err := os.Rename(r.path, path); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			c, err := openRun(path, r.lo, count)
			if err != nil {
				return err
			}
			keep = append(keep, c)
			p.retired = append(p.retired, r)
		default:
			keep = append(keep, r)
		}
	}
	p.publish(keep)
	return nil
}
