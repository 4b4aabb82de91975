package ingest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/world"
)

// viewJSON is what a reader of view v sees of its tip block and of the
// addresses paid in it, as JSON.
func viewJSON(t *testing.T, v *store.Store, h int64) string {
	t.Helper()
	b, err := v.BlockView(h, 0, 1000)
	if err != nil {
		t.Error(err)
		return ""
	}
	out := []any{b}
	for _, txid := range b.TxIDs {
		id, err := btc.ParseHash(txid)
		if err != nil {
			t.Error(err)
			return ""
		}
		n, err := v.TxNum(id)
		if err != nil {
			t.Error(err)
			return ""
		}
		tv, err := v.TxView(n)
		if err != nil {
			t.Error(err)
			return ""
		}
		out = append(out, tv)
		for _, o := range tv.Outputs {
			if o.SpentBy != nil {
				sid, _ := btc.ParseHash(o.SpentBy.TxID)
				sn, err := v.TxNum(sid)
				if err != nil || v.TxHeight(sn) > v.Height() {
					t.Errorf("view at %d: output spent by %s, which it cannot see (%v)", v.Height(), o.SpentBy.TxID, err)
				}
			}
			if o.Address != "" {
				av, err := v.AddressView(o.Address, 0, 0)
				if err != nil {
					t.Error(err)
					return ""
				}
				if av.LastSeenHeight > v.Height() || av.Received-av.Sent != av.Balance {
					t.Errorf("view at %d: address %+v", v.Height(), av)
				}
				out = append(out, av)
			}
		}
	}
	j, _ := json.Marshal(out)
	return string(j)
}

// TestLiveViewsWhileIngesting reads a store from several goroutines while it
// grows: each view answers as of its commit, whatever is appended after, and
// a view held across the whole ingest answers exactly as it did at first.
func TestLiveViewsWhileIngesting(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if _, err := Files(ctx, s, []string{sample("blk_0_to_14131.dat.bz2")}, Options{StopHeight: 9000}); err != nil {
		t.Fatal(err)
	}
	live, err := s.Live()
	if err != nil {
		t.Fatal(err)
	}
	old, release := live.Acquire()
	// Blocks 5326, 6368, 7930 and 8199 have outputs spent after 9000.
	heights := []int64{9, 170, 3000, 5326, 6368, 7930, 8199, 9000}
	before := map[int64]string{}
	for _, h := range heights {
		before[h] = viewJSON(t, old, h)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := int64(-1)
			for !stop.Load() {
				v, rel := live.Acquire()
				h := v.Height()
				if h < last {
					t.Errorf("view height went back from %d to %d", last, h)
				}
				last = h
				viewJSON(t, v, h)
				rel()
				reads.Add(1)
			}
		}()
	}
	if _, err := Files(ctx, s, []string{sample("blk_0_to_14131.dat.bz2")}, Options{CommitEvery: 200}); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	for _, h := range heights {
		if old.Height() != 9000 || viewJSON(t, old, h) != before[h] {
			t.Fatalf("block %d in a view taken at height 9000 changed while the store grew to %d", h, s.Height())
		}
	}
	release()
	v, rel := live.Acquire()
	defer rel()
	if v.Height() != 14131 || reads.Load() == 0 {
		t.Fatalf("latest view at %d after %d reads", v.Height(), reads.Load())
	}
	changed := 0
	for _, h := range heights {
		if viewJSON(t, v, h) != before[h] {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("the latest view shows every block as it was at height 9000")
	}
	t.Logf("%d reads while ingesting; %d of %d blocks read differently at the tip", reads.Load(), changed, len(heights))
}

// TestLiveUnwindWaitsForViews reorganises a store while a view of the old
// chain is held: the unwind waits for it, then new views see the new chain.
func TestLiveUnwindWaitsForViews(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if _, err := Files(ctx, s, []string{sample("blk_0_to_4.dat.bz2")}, Options{}); err != nil {
		t.Fatal(err)
	}
	live, err := s.Live()
	if err != nil {
		t.Fatal(err)
	}
	v, rel := live.Acquire()
	oldTip := v.TipHash()
	var released atomic.Bool
	go func() {
		time.Sleep(200 * time.Millisecond)
		if _, err := v.Block(4); err != nil || v.Height() != 4 {
			t.Errorf("held view lost block 4: %v", err)
		}
		released.Store(true)
		rel()
	}()
	st, err := Files(ctx, s, []string{sample("blk_3A.dat.bz2"), sample("blk_4A.dat.bz2"), sample("blk_5A.dat.bz2")}, Options{})
	if err != nil || st.Unwound != 2 {
		t.Fatalf("reorg: %+v %v", st, err)
	}
	if !released.Load() {
		t.Fatal("the unwind did not wait for the view of the old chain")
	}
	nv, nrel := live.Acquire()
	defer nrel()
	if nv.Height() != 5 || nv.TipHash() != s.TipHash() || nv.TipHash() == oldTip {
		t.Fatalf("view after the reorg: height %d tip %s, store tip %s", nv.Height(), nv.TipHash(), s.TipHash())
	}
}

// TestLiveViewsWhileTablesGrow reads a store while its ingest rebuilds the
// hash tables larger, syncs them in the background of its commits and
// merges postings runs: views keep reading the tables and runs they started
// with, which stay mapped until released. (Run it with -race.)
func TestLiveViewsWhileTablesGrow(t *testing.T) {
	ctx := context.Background()
	chain := t.TempDir()
	// 60,000 transactions: more than a fresh table takes.
	if _, err := world.WriteChain(chain, world.ChainOptions{Seed: 7, Blocks: 60, TxsPerBlock: 1000}); err != nil {
		t.Fatal(err)
	}
	net, _ := btc.LookupNetwork("regtest")
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{Network: net, TableSyncRows: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Files(ctx, s, []string{chain}, Options{StopHeight: 2}); err != nil {
		t.Fatal(err)
	}
	live, err := s.Live()
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := uint64(g)
			for !stop.Load() {
				v, rel := live.Acquire()
				c := v.Counts()
				for range 50 {
					rng = rng*6364136223846793005 + 1442695040888963407
					n := rng % c.Txs
					if got, err := v.TxNum(v.TxID(n)); err != nil || got != n {
						t.Errorf("view at %d: tx %d found as %d (%v)", v.Height(), n, got, err)
					}
					a := uint32(rng % c.Addrs)
					if got, err := v.AddrNum(v.Address(a)); err != nil || got != a {
						t.Errorf("view at %d: address %d found as %d (%v)", v.Height(), a, got, err)
					}
					k := 0
					v.Postings(a, func(o uint64) bool {
						if o >= c.Outputs || v.OutAddr(o) != a {
							t.Errorf("view at %d: address %d posts output %d", v.Height(), a, o)
						}
						k++
						return true
					})
					if k == 0 {
						t.Errorf("view at %d: address %d has no outputs", v.Height(), a)
					}
				}
				rel()
				reads.Add(1)
			}
		}()
	}
	if _, err := Files(ctx, s, []string{chain}, Options{CommitEvery: 3}); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	if s.Height() != 60 || reads.Load() == 0 {
		t.Fatalf("height %d after %d reads", s.Height(), reads.Load())
	}
	// The commits synced the txid table as it fell behind (bytes 24..32
	// of its header: the rows the last sync covered).
	hdr := make([]byte, 32)
	f, err := os.Open(filepath.Join(dir, "tx.hidx"))
	if err == nil {
		_, err = f.ReadAt(hdr, 0)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if covered := binary.LittleEndian.Uint64(hdr[24:]); covered < 40_000 || covered > s.Counts().Txs {
		t.Fatalf("tx.hidx covers %d rows of %d committed", covered, s.Counts().Txs)
	}
	if _, err := s.Digest(); err != nil {
		t.Fatal(err)
	}
}
