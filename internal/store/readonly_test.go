package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/testdir"
)

// TestOpenReadOnly: a store closed cleanly opens read-only and answers as
// it does opened for writing, refuses writes, and is left byte for byte
// and time for time as it was; one a crash left needing repair is refused
// until a writable open has repaired it.
func TestOpenReadOnly(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{TableSyncRows: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	commitAll(t, s, mainnetBlocks(t))
	var from btc.Hash
	var value int64
	for tag := uint32(1); tag <= 3; tag++ {
		b := chainedBlock(t, s.TipHash(), tag, 200, from, value)
		commitAll(t, s, []*btc.Block{b})
		last := b.Txs[len(b.Txs)-1]
		from, value = last.TxID, last.Outputs[0].Value
	}
	txid, addr := from, s.Address(s.Output(s.Counts().Outputs-1).Addr).String(s.Network())

	// Not closed: spends since the last sync of out.spent to replay.
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	want, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.TxNum(txid)
	if err != nil {
		t.Fatal(err)
	}
	wantTx, err := s.TxView(n)
	if err != nil {
		t.Fatal(err)
	}
	wantAddr, err := s.AddressView(addr, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	// While an ingest holds the store, it is not read; and while it is
	// read, no ingest opens it.
	if r, err := OpenReadOnly(dir, Options{}); !errors.Is(err, ErrLocked) {
		if r != nil {
			r.Close()
		}
		t.Fatalf("read-only open of a store being written: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if r, err := OpenReadOnly(dir, Options{}); err != nil {
		t.Fatal(err)
	} else {
		if w, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
			if w != nil {
				w.Close()
			}
			t.Fatalf("writable open of a store being read: %v", err)
		}
		r.Close()
	}
	// A stray file a writable open would remove (as a crashed merge
	// leaves one): read-only, it stays.
	if err := os.WriteFile(filepath.Join(dir, "postings", "merge.tmp"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := testdir.State(t, dir)

	r, err := OpenReadOnly(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.Digest(); err != nil || got != want {
		t.Fatalf("digest read-only %s, %v; want %s", got, err, want)
	}
	if n, err := r.TxNum(txid); err != nil {
		t.Fatal(err)
	} else if got, err := r.TxView(n); err != nil || !reflect.DeepEqual(got, wantTx) {
		t.Fatalf("tx read-only: %+v, %v", got, err)
	}
	if got, err := r.AddressView(addr, 0, 10); err != nil || !reflect.DeepEqual(got, wantAddr) {
		t.Fatalf("address read-only: %+v, %v", got, err)
	}
	if err := r.AppendBlock(Prepare(chainedBlock(t, r.TipHash(), 9, 10, from, value))); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("append to a read-only store: %v", err)
	}
	if err := r.Unwind(1); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("unwind of a read-only store: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := testdir.State(t, dir); after != before {
		t.Fatalf("the read-only open changed the store:\nbefore\n%s\nafter\n%s", before, after)
	}

	// An empty store opens read-only too, and a copy without its lock file.
	empty := t.TempDir()
	if e, err := Open(empty, Options{}); err != nil {
		t.Fatal(err)
	} else {
		e.Close()
	}
	os.Remove(filepath.Join(empty, "LOCK"))
	if e, err := OpenReadOnly(empty, Options{}); err != nil || e.Height() != -1 {
		t.Fatalf("empty store read-only: %v", err)
	} else {
		e.Close()
	}

	// Stores that need repairing are refused, named as such, until a
	// writable open has repaired them; then they open read-only.
	damaged := func(what func(dir string)) string {
		d := t.TempDir()
		copyDir(t, dir, d)
		what(d)
		return d
	}
	runs, _ := filepath.Glob(filepath.Join(dir, "postings", "*-*"))
	if len(runs) == 0 {
		t.Fatal("no postings runs")
	}
	for _, c := range []struct {
		dir, want string
	}{
		{crashed, "spends to replay"},
		{damaged(func(d string) { os.Remove(filepath.Join(d, "addr.hidx")) }), "addr.hidx to build again"},
		{damaged(func(d string) { testdir.UncoverTable(t, filepath.Join(d, "tx.hidx")) }), "tx.hidx rows to insert again"},
		{damaged(func(d string) { os.Remove(filepath.Join(d, "postings", filepath.Base(runs[0]))) }), "postings to make again"},
	} {
		before := testdir.State(t, c.dir)
		if r, err := OpenReadOnly(c.dir, Options{}); !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), c.want) {
			if r != nil {
				r.Close()
			}
			t.Fatalf("%s: read-only: %v", c.want, err)
		}
		if after := testdir.State(t, c.dir); after != before {
			t.Fatalf("%s: the refused open changed the store", c.want)
		}
		w, err := Open(c.dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		r, err := OpenReadOnly(c.dir, Options{})
		if err != nil {
			t.Fatalf("%s: after the repair: %v", c.want, err)
		}
		if got, err := r.Digest(); err != nil || got != want {
			t.Fatalf("%s: digest after the repair %s, %v; want %s", c.want, got, err, want)
		}
		r.Close()
	}
}
