package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/colfile"
)

// TestShareWithReaders: a writer that shares its store between writes (a
// follower) lets other processes' queries in, each finding the store as
// committed with nothing to repair though no commit synced its tables; a
// second writer stays out all the while; the writer takes the store back
// only once the queries end, and queries that come meanwhile wait behind
// it; a query that comes while it writes waits, and is let in after the
// writer's next commit; one that waits too long gives up naming the
// writer. (A lock is per open file, so the readers of this
// process stand for other processes.)
func TestShareWithReaders(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{TableSyncRows: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blocks := mainnetBlocks(t)
	commitAll(t, s, blocks[:3])
	want, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Writing: a query is refused at once, as beside any ingest.
	start := time.Now()
	if r, err := OpenReadOnly(dir, Options{}); !errors.Is(err, ErrLocked) || time.Since(start) > time.Second {
		closeIf(r)
		t.Fatalf("a query of a store written: %v after %s", err, time.Since(start))
	}

	if err := s.Share(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(dir, Options{})
	if err != nil {
		t.Fatalf("a query of a shared store: %v", err)
	}
	if got, err := r.Digest(); err != nil || got != want || r.Height() != 2 {
		t.Fatalf("the query reads height %d, digest %s (%v), want 2, %s", r.Height(), got, err, want)
	}
	if w, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		closeIf(w)
		t.Fatalf("a second writer beside a shared store: %v", err)
	}
	if err := s.Unwind(1); err == nil || s.Height() != 2 {
		t.Fatalf("an unwind of a shared store: %v", err)
	}

	took := make(chan error, 1)
	go func() { took <- s.Unshare(ctx, nil) }()
	select {
	case err := <-took:
		t.Fatalf("taken back while a query reads it: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	// A query that comes while the writer waits for the one in the store
	// waits behind the writer: a stream of them does not starve it.
	late := make(chan *Store, 1)
	go func() {
		r, err := OpenReadOnly(dir, Options{})
		if err != nil {
			t.Error(err)
		}
		late <- r
	}()
	select {
	case r := <-late:
		closeIf(r)
		t.Fatal("a query went in ahead of the writer waiting for the store")
	case <-time.After(100 * time.Millisecond):
	}
	r.Close()
	select {
	case err := <-took:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not taken back once the query ended")
	}
	// Between two writes, the writer lets it in (and takes the store back
	// once it ends).
	go func() { took <- s.LetReadersIn(ctx, nil) }()
	select {
	case r := <-late:
		if r == nil {
			t.FailNow()
		}
		r.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the query that waited behind the writer was not let in")
	}
	if err := <-took; err != nil {
		t.Fatal(err)
	}

	// A query while the writer writes waits for its next commit.
	got := make(chan *Store, 1)
	go func() {
		r, err := OpenReadOnly(dir, Options{})
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	for i := 0; !s.ReadersWaiting(); i++ {
		if i == 500 {
			t.Fatal("the waiting query is not seen")
		}
		time.Sleep(10 * time.Millisecond)
	}
	commitAll(t, s, blocks[3:4])
	if err := s.Share(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r == nil {
			t.FailNow()
		}
		if r.Height() != 3 {
			t.Fatalf("the query let in after the commit reads height %d, want 3", r.Height())
		}
		r.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting query was not let in")
	}

	defer func(w time.Duration) { colfile.ReaderWait = w }(colfile.ReaderWait)
	colfile.ReaderWait = 50 * time.Millisecond
	if err := s.Unshare(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if r, err := OpenReadOnly(dir, Options{}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "did not let readers in for 50ms") {
		closeIf(r)
		t.Fatalf("a query that waited too long: %v", err)
	}
}

func closeIf(s *Store) {
	if s != nil {
		s.Close()
	}
}
