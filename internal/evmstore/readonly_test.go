package evmstore

import (
	"errors"
	"reflect"
	"testing"

	"github.com/spur-forensics/spur/internal/testdir"
)

// TestOpenReadOnly: a store opens read-only and answers as it does opened
// for writing, refuses writes, is not read while an ingest holds it (nor
// written while read), and is left byte for byte and time for time as it
// was; an empty store opens so too.
func TestOpenReadOnly(t *testing.T) {
	bs := blocks(t)
	dir := t.TempDir()
	s := open(t, dir)
	ingest(t, s, bs)
	if r, err := OpenReadOnly(dir, "eth"); !errors.Is(err, ErrLocked) {
		if r != nil {
			r.Close()
		}
		t.Fatalf("read-only open of a store being written: %v", err)
	}
	want := digest(t, s)
	tx := bs[1].Txs[len(bs[1].Txs)-1].Hash
	n, err := s.TxNum(tx)
	if err != nil {
		t.Fatal(err)
	}
	wantTx := s.TxView(n)
	s.Close()
	before := testdir.State(t, dir)
	r, err := OpenReadOnly(dir, "eth")
	if err != nil {
		t.Fatal(err)
	}
	if w, err := Open(dir, "eth"); !errors.Is(err, ErrLocked) {
		if w != nil {
			w.Close()
		}
		t.Fatalf("writable open of a store being read: %v", err)
	}
	if got := digest(t, r); got != want {
		t.Fatalf("digest read-only %s, want %s", got, want)
	}
	if n, err := r.TxNum(tx); err != nil {
		t.Fatal(err)
	} else if got := r.TxView(n); !reflect.DeepEqual(got, wantTx) {
		t.Fatalf("tx read-only: %+v, want %+v", got, wantTx)
	}
	if err := r.AppendBlock(bs[0]); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("append to a read-only store: %v", err)
	}
	if err := r.Unwind(bs[0].Number); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("unwind of a read-only store: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := testdir.State(t, dir); after != before {
		t.Fatalf("the read-only open changed the store:\n%s\nwant\n%s", after, before)
	}

	empty := t.TempDir()
	open(t, empty).Close()
	if e, err := OpenReadOnly(empty, "eth"); err != nil || e.Counts().Blocks != 0 {
		t.Fatalf("empty store read-only: %v", err)
	} else {
		e.Close()
	}
	if _, err := OpenReadOnly(t.TempDir(), "eth"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no store: %v", err)
	}
}
