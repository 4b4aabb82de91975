package store

import (
	"cmp"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
)

func TestSortPostingsIsStableByAddress(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 100, 70_000} {
		var pairs []posting
		for o := range n {
			// Addresses above 2^16 too, so that both radix passes matter.
			pairs = append(pairs, posting{rng.Uint32N(uint32(n/3+1)) * 40_009, uint64(o)})
		}
		want := slices.Clone(pairs)
		slices.SortStableFunc(want, func(x, y posting) int { return cmp.Compare(x.addr, y.addr) })
		if got := sortPostings(pairs); !slices.Equal(got, want) {
			t.Fatalf("n=%d: radix sort differs from a stable sort", n)
		}
	}
}

// runsWorld adds commits of random postings and keeps what each address
// should answer.
type runsWorld struct {
	p     *postingIndex
	want  map[uint32][]uint64
	col   []uint32 // each output's address: what out.addr holds
	outs  uint64
	addrs uint32
	rng   *rand.Rand
}

func newRunsWorld(t *testing.T) *runsWorld {
	dir := filepath.Join(t.TempDir(), "postings")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := &runsWorld{p: &postingIndex{dir: dir}, want: map[uint32][]uint64{}, addrs: 500, rng: rand.New(rand.NewPCG(1, 2))}
	w.p.addrOf = func(o uint64) uint32 { return w.col[o] }
	return w
}

func (w *runsWorld) commit(t *testing.T, n int) {
	t.Helper()
	lo := w.outs
	var pairs []posting
	for range n {
		a := NoAddress
		if w.rng.IntN(5) > 0 { // some outputs have no address
			a = w.rng.Uint32N(w.addrs)
			pairs = append(pairs, posting{a, w.outs})
			w.want[a] = append(w.want[a], w.outs)
		}
		w.col = append(w.col[:w.outs], a)
		w.outs++
	}
	if err := w.p.add(lo, w.outs, pairs); err != nil {
		t.Fatal(err)
	}
	for _, r := range w.p.takeRetired() {
		r.close()
	}
}

func (w *runsWorld) check(t *testing.T, p *postingIndex, limit uint64) {
	t.Helper()
	for a := range w.addrs {
		var got []uint64
		p.lookup(a, limit, func(o uint64) bool { got = append(got, o); return true })
		var exp []uint64
		for _, o := range w.want[a] {
			if o < limit {
				exp = append(exp, o)
			}
		}
		if !slices.Equal(got, exp) {
			t.Fatalf("address %d below %d: got %v, want %v", a, limit, got, exp)
		}
	}
}

// Commits of falling and rising sizes leave few runs, all answering as the
// postings were added; a clip (an unwind) hides what it cut, and the runs
// reopen the same.
func TestRunsMergeClipReopen(t *testing.T) {
	w := newRunsWorld(t)
	for i := range 40 {
		w.commit(t, 50+(i%7)*300)
	}
	if n := len(w.p.runs()); n > 3*3 {
		t.Fatalf("%d runs after 40 commits", n)
	}
	w.check(t, w.p, w.outs)
	w.check(t, w.p, w.outs/2) // a view at an older commit

	cut := w.outs - 1234
	if err := w.p.clip(cut); err != nil {
		t.Fatal(err)
	}
	for _, r := range w.p.takeRetired() {
		r.close()
	}
	for a, outs := range w.want {
		w.want[a] = slices.DeleteFunc(outs, func(o uint64) bool { return o >= cut })
	}
	w.outs = cut
	w.check(t, w.p, ^uint64(0))
	w.commit(t, 3000) // appended again after the unwind
	w.check(t, w.p, w.outs)

	s := &Store{dir: filepath.Dir(w.p.dir)}
	w.p.close()
	if err := s.openPostings(w.outs); err != nil {
		t.Fatal(err)
	}
	defer s.post.close()
	w.check(t, s.post, w.outs)
}

// A merge that finished but whose inputs were not yet removed leaves runs
// inside a wider one: opening keeps the wide one only.
func TestRunsLeftByACrashedMerge(t *testing.T) {
	w := newRunsWorld(t)
	for range mergeFanIn {
		w.commit(t, 1000)
	}
	// The runs were merged; put copies of two inputs back.
	rs := w.p.runs()
	if len(rs) != 1 {
		t.Fatalf("%d runs after %d equal commits", len(rs), mergeFanIn)
	}
	for _, lohi := range [][2]uint64{{0, 1000}, {2000, 3000}} {
		a, err := w.p.writeRun(lohi[0], lohi[1], nil)
		if err != nil {
			t.Fatal(err)
		}
		a.close()
	}
	os.WriteFile(filepath.Join(w.p.dir, runName(1000, 2000)+".tmp"), []byte("half written"), 0o644)
	s := &Store{dir: filepath.Dir(w.p.dir)}
	w.p.close()
	if err := s.openPostings(w.outs); err != nil {
		t.Fatal(err)
	}
	defer s.post.close()
	if n := len(s.post.runs()); n != 1 {
		t.Fatalf("%d runs after opening, want the merged one", n)
	}
	names, _ := os.ReadDir(s.post.dir)
	if len(names) != 1 {
		t.Fatalf("files left: %v", names)
	}
	w.check(t, s.post, w.outs)
}

// A run damaged on disk is found by its checksum when a merge reads it, and
// the merged range is built from the column instead, so the merged run
// answers right and checksums right.
func TestMergeOfADamagedRun(t *testing.T) {
	w := newRunsWorld(t)
	for range mergeFanIn - 1 {
		w.commit(t, 1000)
	}
	rs := w.p.runs()
	if len(rs) != mergeFanIn-1 {
		t.Fatalf("%d runs", len(rs))
	}
	f, err := os.OpenFile(rs[1].path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The last pair's output: a wrong posting a lookup would give.
	f.WriteAt([]byte{0x01}, int64(runSize(uint64(rs[1].entries()))-8))
	f.Close()
	if rs[1].bodyOK() {
		t.Fatal("damaged body passes its checksum")
	}
	w.commit(t, 1000) // merges the four
	if rs := w.p.runs(); len(rs) != 1 || !rs[0].bodyOK() || rs[0].lo != 0 || rs[0].hi != w.outs {
		t.Fatalf("after the merge: %v", rs)
	}
	w.check(t, w.p, w.outs)
	names, _ := os.ReadDir(w.p.dir)
	if len(names) != 1 {
		t.Fatalf("files left: %v", names)
	}
}

// Runs written before bodies had a checksum (version 1: zero in its place)
// still open, and pass.
func TestVersion1Run(t *testing.T) {
	w := newRunsWorld(t)
	w.commit(t, 500)
	r := w.p.runs()[0]
	h := runHeaderBytes(uint64(r.entries()), 0)
	binary.LittleEndian.PutUint32(h[8:], 1)
	binary.LittleEndian.PutUint32(h[24:], crc32.Checksum(h[:24], castagnoli))
	if err := os.WriteFile(r.path+".v1", append(h, r.mm[runHeader:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	old, err := openRun(r.path+".v1", r.lo, r.hi)
	if err != nil {
		t.Fatal(err)
	}
	defer old.close()
	if !old.bodyOK() {
		t.Fatal("a version 1 run fails a checksum it does not have")
	}
}

// A merge that meets a damaged run rebuilds its range from out.addr; when
// that write fails, the commit fails naming the file and leaves the
// committed store as it was, and the next open builds the range.
func TestFailedHealOfADamagedRun(t *testing.T) {
	// One run per commit, and a merge at the commit of block mergeFanIn-1.
	blocks := decodeBlocks(t, "../../testdata/btc/blk_0_to_14131.dat.bz2", mergeFanIn+1)
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	for _, b := range blocks[:mergeFanIn-1] {
		commitAll(t, s, []*btc.Block{b})
	}
	committed := s.Counts()
	rs := s.post.runs()
	f, err := os.OpenFile(rs[1].path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0x7f}, int64(runSize(uint64(rs[1].entries()))-8))
	f.Close()
	if rs[1].bodyOK() {
		t.Fatal("damaged body passes its checksum")
	}
	// The next commit merges the runs; its rebuilt run cannot be written
	// where a directory stands.
	if err := s.AppendBlock(Prepare(blocks[mergeFanIn-1])); err != nil {
		t.Fatal(err)
	}
	block := filepath.Join(dir, "postings", runName(0, s.txCounts().Outputs)+".tmp")
	if err := os.Mkdir(block, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err == nil || !strings.Contains(err.Error(), block) {
		t.Fatalf("commit with the heal failing: %v", err)
	}
	if err := s.Rollback(); err != nil {
		t.Fatal(err)
	}
	if s.Counts() != committed {
		t.Fatalf("after the failed commit: counts %+v, want %+v", s.Counts(), committed)
	}
	// The damage is still there, in the run the failed merge kept.
	if _, err := s.Digest(); err == nil {
		t.Fatal("digest passes a damaged run")
	}

	// spur exits on the error; opening the store again finds the range's
	// runs gone (the merge removed its inputs first) and builds it from
	// the column.
	s.Close()
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckIndexes(); err != nil {
		t.Fatalf("reopened: %v", err)
	}
	if _, err := os.Stat(block); err == nil {
		t.Fatal("open left the failed write's temporary file")
	}
	for _, b := range blocks[mergeFanIn-1:] {
		commitAll(t, s, []*btc.Block{b})
	}
	if err := s.CheckIndexes(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Digest(); err != nil || got != cleanDigest(t, blocks) {
		t.Fatalf("digest %s (%v), want the clean store's", got, err)
	}
}

// A merge notes each pair's run up to maxMergeFrom pairs and chooses again
// past it; both answer as the postings were added, dead pairs (after a
// clip) left out.
func TestMergeWithAndWithoutNotes(t *testing.T) {
	defer func(m int) { maxMergeFrom = m }(maxMergeFrom)
	for _, limit := range []int{1 << 26, 0} {
		maxMergeFrom = limit
		w := newRunsWorld(t)
		for range 2*mergeFanIn + 1 {
			w.commit(t, 700)
		}
		// Cut the newest run, which the next commits merge with theirs.
		if err := w.p.clip(w.outs - 300); err != nil {
			t.Fatal(err)
		}
		w.outs -= 300
		for a, outs := range w.want {
			w.want[a] = slices.DeleteFunc(outs, func(o uint64) bool { return o >= w.outs })
		}
		for range mergeFanIn - 1 {
			w.commit(t, 700)
		}
		if n := len(w.p.runs()); n != 3 {
			t.Fatalf("notes up to %d pairs: %d runs, want the clipped one merged into the third", limit, n)
		}
		w.check(t, w.p, w.outs)
	}
}
