package ingest

import (
	"context"
	"testing"
	"time"
)

// Buffers handed out and not given back never share a byte; a full arena
// waits for the oldest to come back, and wraps around to its start.
func TestArena(t *testing.T) {
	a := newArena(100)
	ctx := context.Background()
	type out struct {
		b   []byte
		end int64
	}
	var live []out
	take := func(n int) {
		b, end := a.alloc(ctx, n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("alloc %d: len %d cap %d", n, len(b), cap(b))
		}
		for i := range b {
			b[i] = byte(end)
		}
		live = append(live, out{b, end})
	}
	check := func() {
		for _, o := range live {
			for _, c := range o.b {
				if c != byte(o.end) {
					t.Fatalf("the live buffer ending at %d was overwritten", o.end)
				}
			}
		}
	}
	take(40)
	take(40)
	// 30 bytes do not fit before the end (20 left) nor after the start
	// (the first 40 are live) until the first buffer comes back.
	got := make(chan out)
	go func() {
		b, end := a.alloc(ctx, 30)
		got <- out{b, end}
	}()
	select {
	case <-got:
		t.Fatal("alloc did not wait for room")
	case <-time.After(50 * time.Millisecond):
	}
	a.release(live[0].end)
	live = live[1:]
	o := <-got
	if &o.b[0] != &a.buf[0] {
		t.Fatal("the buffer did not wrap to the ring's start")
	}
	for i := range o.b {
		o.b[i] = byte(o.end)
	}
	live = append(live, o)
	check()
	for _, o := range live {
		a.release(o.end)
	}
	live = nil
	for range 50 { // round and round, a few live at a time
		take(33)
		take(17)
		check()
		a.release(live[0].end)
		a.release(live[1].end)
		live = live[2:]
	}
	if b, end := a.alloc(ctx, 101); len(b) != 101 || end != -1 {
		t.Fatal("a buffer larger than the ring")
	}
	take(90)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if b, _ := a.alloc(cancelled, 20); b != nil {
		t.Fatal("alloc returned room it does not have after its context ended")
	}
}
