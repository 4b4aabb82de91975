package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/world"

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
	if _, _, err := ents.Entity(0); err == nil || !strings.Contains(err.Error(), "entity.u32") {
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
	dir := t.TempDir()
	if _, err := world.WriteChain(dir, world.ChainOptions{Seed: 9, Blocks: 40, TxsPerBlock: 300}); err != nil {
		t.Fatal(err)
	}
	net, _ := btc.LookupNetwork("regtest")
	s, err := store.Open(t.TempDir(), store.Options{Network: net})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := ingest.Files(context.Background(), s, []string{dir}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
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
