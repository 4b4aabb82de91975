package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/world"

	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/store"
)

func TestUnionFind(t *testing.T) {
	u := &unionFind{}
	u.grow(10)
	u.union(1, 2)
	u.union(3, 4)
	if u.find(1) != u.find(2) || u.find(1) == u.find(3) {
		t.Fatal("wrong sets")
	}
	if !u.union(2, 4) || u.union(1, 3) {
		t.Fatal("union should report merges exactly")
	}
	if u.size[u.find(4)] != 4 {
		t.Fatalf("size %d", u.size[u.find(4)])
	}
}

// TestMainnetClusters clusters mainnet blocks 0..14131 and checks the
// multi-input heuristic against the transactions themselves: every multi-
// input transaction's input addresses share an entity id, entity ids are
// the lowest address of each entity, and a resumed clustering equals a full
// one.
func TestMainnetClusters(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := ingest.Files(context.Background(), s, []string{"../../testdata/btc/blk_0_to_14131.dat.bz2"}, ingest.Options{StopHeight: 9000}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(s, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Files(context.Background(), s, []string{"../../testdata/btc/blk_0_to_14131.dat.bz2"}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	var bar bytes.Buffer
	st, err := Run(s, Options{Progress: &bar})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Incremental || st.Txs != s.Counts().Txs {
		t.Fatalf("second run: %+v", st)
	}
	// Its progress: the transactions since the first run's, all read.
	if want := fmt.Sprintf("transactions %d/%d [========================] 100.0%%", st.NewTxs, st.NewTxs); st.NewTxs == 0 || !strings.Contains(bar.String(), want) {
		t.Fatalf("progress %q, want %q", bar.String(), want)
	}
	bar.Reset()
	if _, err := Run(s, Options{Progress: &bar}); err != nil || bar.Len() != 0 {
		t.Fatalf("a run with nothing new drew %q (%v)", bar.String(), err)
	}
	inc, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(s, Options{Full: true}); err != nil {
		t.Fatal(err)
	}
	full, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(inc.entity) != len(full.entity) {
		t.Fatal("address counts differ")
	}
	for a := range full.entity {
		if inc.entity[a] != full.entity[a] {
			t.Fatalf("address %d: incremental entity %d, full %d", a, inc.entity[a], full.entity[a])
		}
	}
	// Read a row at a time, the same entities; none past the addresses.
	ents, err := OpenEntities(s)
	if err != nil {
		t.Fatal(err)
	}
	defer ents.Close()
	for a := range full.entity {
		if e, ok, err := ents.Entity(uint32(a)); err != nil || !ok || e != full.entity[a] {
			t.Fatalf("address %d: entity %d %v %v read alone, %d loaded", a, e, ok, err, full.entity[a])
		}
	}
	if _, ok, err := ents.Entity(uint32(len(full.entity))); ok || err != nil {
		t.Fatalf("an address past the clustering: %v %v", ok, err)
	}
	merged := 0
	var shape TxShape
	for n := uint64(0); n < s.Counts().Txs; n++ {
		if !Shape(s, n, &shape) || len(shape.Inputs) < 2 {
			continue
		}
		if DetectCoinJoin(&shape) != nil {
			continue
		}
		e0, _ := full.Entity(shape.Inputs[0].Addr)
		for _, in := range shape.Inputs[1:] {
			if e, _ := full.Entity(in.Addr); e != e0 {
				t.Fatalf("tx %d: inputs in entities %d and %d", n, e0, e)
			}
		}
		merged++
	}
	if merged == 0 || full.Meta.Merges == 0 {
		t.Fatal("no multi-input transaction in the sample")
	}
	for a, e := range full.entity {
		if e > uint32(a) {
			t.Fatalf("address %d has entity id %d, above its own number", a, e)
		}
		if m := full.Members(e); m[0] != e {
			t.Fatalf("entity %d's lowest member is %d", e, m[0])
		}
	}
	if got := len(full.Members(full.Meta.LargestID)); uint64(got) != full.Meta.Largest {
		t.Fatalf("largest entity has %d members, META says %d", got, full.Meta.Largest)
	}
	// A read that fails says which file; an entity column of another
	// length than META's address count is refused.
	ents.Close()
	if _, _, err := ents.Entity(0); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("entity.%d.u32", full.Meta.Generation)) {
		t.Fatalf("a read of a closed column: %v", err)
	}
	col := ents.f.Name()
	if err := os.Truncate(col, int64(4*len(full.entity)-4)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenEntities(s); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("not %d addresses' entities", len(full.entity))) {
		t.Fatalf("a short entity column: %v", err)
	}
}

// TestChangeHeuristicsStartOver: a run with other change heuristics than
// the clustering before starts over rather than add to merges made by
// other rules; one with the same goes on from it.
func TestChangeHeuristicsStartOver(t *testing.T) {
	s, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := ingest.Files(context.Background(), s, []string{"../../testdata/btc/blk_0_to_14131.dat.bz2"}, ingest.Options{StopHeight: 9000}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(s, Options{Change: "all"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Files(context.Background(), s, []string{"../../testdata/btc/blk_0_to_14131.dat.bz2"}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		change      string
		incremental bool
	}{
		{"", false},      // other heuristics (none): starts over
		{"", true},       // the same: goes on
		{"round", false}, // other again
	} {
		st, err := Run(s, Options{Change: c.change})
		if err != nil {
			t.Fatal(err)
		}
		m, err := ReadMeta(s)
		if err != nil || st.Incremental != c.incremental || m.Change != c.change || st.Txs != s.Counts().Txs {
			t.Fatalf("change %q after the run before: incremental %v, meta %+v %v", c.change, st.Incremental, m, err)
		}
	}
}

// TestBigEntityStats checks the precomputed totals of a large entity against
// its members' outputs, on a synthetic chain whose random spends make one.
func TestBigEntityStats(t *testing.T) {
	s := synthetic(t, 40, 300)
	st, err := Run(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Largest < BigEntity {
		t.Skipf("largest entity has %d addresses", st.Largest)
	}
	c, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	stats := c.Stats(st.LargestID)
	if stats == nil {
		t.Fatal("no totals for the largest entity")
	}
	var received, balance int64
	for _, a := range c.Members(st.LargestID) {
		s.Postings(a, func(o uint64) bool {
			out := s.Output(o)
			received += out.Value
			if !out.Spent {
				balance += out.Value
			}
			return true
		})
	}
	if stats.Received != received || stats.Balance != balance {
		t.Fatalf("totals %+v, members add up to received %d balance %d", stats, received, balance)
	}
}

// TestKilledRunLeavesClusteringWhole puts the cluster directory in the
// state a run killed after writing its entity and members files leaves it
// in, and checks that the clustering read is the one before, whole (not
// the new entities with the old members), and that the next run goes on
// from it and clears what the killed one left. It also reads a clustering
// of version 1 (files named plainly) and starts over, with --full, from a
// META that cannot be read.
func TestKilledRunLeavesClusteringWhole(t *testing.T) {
	s := synthetic(t, 10, 100)
	files := func() map[string][]byte {
		m := map[string][]byte{}
		ents, err := os.ReadDir(dir(s))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if colfile.IsLockFile(e.Name()) {
				continue // the writers' lock, not the clustering
			}
			b, err := os.ReadFile(filepath.Join(dir(s), e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			m[e.Name()] = b
		}
		return m
	}
	setFiles := func(m map[string][]byte) {
		if err := os.RemoveAll(dir(s)); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(dir(s), 0o755)
		for name, b := range m {
			if err := os.WriteFile(filepath.Join(dir(s), name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	same := func(what string, want *Clusters) {
		t.Helper()
		got, err := Open(s)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !slices.Equal(got.entity, want.entity) || !slices.Equal(got.members, want.members) || got.Meta.Change != want.Meta.Change {
			t.Fatalf("%s: not the clustering before (change %q, want %q)", what, got.Meta.Change, want.Meta.Change)
		}
	}
	if _, err := Run(s, Options{Change: "all"}); err != nil {
		t.Fatal(err)
	}
	before, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	first := files()
	if _, ok := first["entity.1.u32"]; !ok || before.Meta.Generation != 1 {
		t.Fatalf("first run's files: %v, generation %d", slices.Sorted(maps.Keys(first)), before.Meta.Generation)
	}
	// Another clustering of as many addresses (no change heuristics),
	// killed before its big.json and META.
	if _, err := Run(s, Options{}); err != nil {
		t.Fatal(err)
	}
	second := files()
	if _, ok := second["entity.1.u32"]; ok || len(second) != 4 {
		t.Fatalf("second run left %v", slices.Sorted(maps.Keys(second)))
	}
	if slices.Equal(second["entity.2.u32"], first["entity.1.u32"]) {
		t.Fatal("the two clusterings agree: the test shows nothing")
	}
	killed := maps.Clone(first)
	killed["entity.2.u32"], killed["members.2.u32"] = second["entity.2.u32"], second["members.2.u32"]
	killed[".big.2.json.123.tmp"] = second["big.2.json"][:10] // killed while writing it
	setFiles(killed)
	same("after a killed run", before)
	if ents, err := OpenEntities(s); err != nil {
		t.Fatal(err)
	} else {
		for a, want := range before.entity {
			if e, _, err := ents.Entity(uint32(a)); err != nil || e != want {
				t.Fatalf("address %d read alone after a killed run: entity %d (%v), want %d", a, e, err, want)
			}
		}
		ents.Close()
	}
	st, err := Run(s, Options{Change: "all"})
	if err != nil || !st.Incremental || st.Generation != 3 {
		t.Fatalf("the run after a killed one: %+v %v", st, err)
	}
	if got := slices.Sorted(maps.Keys(files())); !slices.Equal(got, []string{"META", "big.3.json", "entity.3.u32", "members.3.u32"}) {
		t.Fatalf("after the run that followed a killed one: %v", got)
	}
	same("the run after a killed one", before)

	// Version 1: the files named plainly, read and gone on from.
	v1 := map[string][]byte{}
	for name, b := range files() {
		name = strings.Replace(name, ".3.", ".", 1)
		if name == "META" {
			var m map[string]any
			json.Unmarshal(b, &m)
			m["version"] = 1
			delete(m, "generation")
			b, _ = json.Marshal(m)
		}
		v1[name] = b
	}
	setFiles(v1)
	same("version 1", before)
	if st, err := Run(s, Options{Change: "all"}); err != nil || !st.Incremental || st.Generation != 1 {
		t.Fatalf("a run after version 1: %+v %v", st, err)
	}
	if got := slices.Sorted(maps.Keys(files())); !slices.Equal(got, []string{"META", "big.1.json", "entity.1.u32", "members.1.u32"}) {
		t.Fatalf("after a run over version 1: %v", got)
	}
	same("a run over version 1", before)

	// A META that cannot be read is refused, and --full starts over.
	for _, bad := range []string{"garbage", `{"version": 9}`, `{"version": 2}`} {
		os.WriteFile(filepath.Join(dir(s), "META"), []byte(bad), 0o644)
		if _, err := Run(s, Options{Change: "all"}); err == nil || !strings.Contains(err.Error(), "META") || !strings.HasSuffix(err.Error(), "(run spur cluster --full)") {
			t.Fatalf("a run over META %q: %v", bad, err)
		}
		if st, err := Run(s, Options{Change: "all", Full: true}); err != nil || st.Incremental {
			t.Fatalf("--full over META %q: %+v %v", bad, st, err)
		}
		same("--full over a bad META", before)
	}
}

// synthetic returns a store of a synthetic chain of blocks blocks of txs
// transactions each (seed 9), closed when the test ends.
func synthetic(t *testing.T, blocks, txs int) *store.Store {
	t.Helper()
	dir := t.TempDir()
	if _, err := world.WriteChain(dir, world.ChainOptions{Seed: 9, Blocks: blocks, TxsPerBlock: txs}); err != nil {
		t.Fatal(err)
	}
	net, _ := btc.LookupNetwork("regtest")
	s, err := store.Open(t.TempDir(), store.Options{Network: net})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := ingest.Files(context.Background(), s, []string{dir}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRunBesideReaders: a run while another writes the clustering is
// refused; readers opening the clustering while runs replace it, each
// removing the generation before, always get a whole one.
func TestRunBesideReaders(t *testing.T) {
	s := synthetic(t, 10, 100)
	if _, err := Run(s, Options{}); err != nil {
		t.Fatal(err)
	}
	held, err := colfile.LockDir(dir(s), ErrLocked)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(s, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a run beside another: %v, want ErrLocked", err)
	}
	held.Close()
	want, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	// Reopen keeps a clustering META still names, and reads a new one.
	if c, changed, err := Reopen(s, want); c != want || changed || err != nil {
		t.Fatalf("Reopen of the clustering in place: %p %v %v, want %p", c, changed, err, want)
	}
	if c, changed, err := Reopen(s, nil); c == nil || !changed || err != nil {
		t.Fatalf("Reopen from none: %v %v", changed, err)
	}
	if _, err := Run(s, Options{Full: true}); err != nil {
		t.Fatal(err)
	}
	if c, changed, err := Reopen(s, want); c == want || !changed || err != nil || c.Meta.Generation == want.Meta.Generation || !slices.Equal(c.entity, want.entity) {
		t.Fatalf("Reopen after a run: %v %v", changed, err)
	}
	want, _ = Open(s)
	done := make(chan error)
	go func() {
		for i := range 100 {
			// Each run writes a new generation and removes the last.
			if _, err := Run(s, Options{Full: i%2 == 0}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for opened := 0; ; opened++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if opened < 20 {
				t.Fatalf("%d opens beside the runs: too few to show anything", opened)
			}
			return
		default:
		}
		c, err := Open(s)
		if err != nil {
			t.Fatalf("open %d beside the runs: %v", opened, err)
		}
		if !slices.Equal(c.entity, want.entity) || !slices.Equal(c.members, want.members) || len(c.big) != len(want.big) {
			t.Fatalf("open %d beside the runs: another clustering", opened)
		}
	}
}
