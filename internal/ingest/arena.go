package ingest

import (
	"context"
	"sync"
)

// arena hands out the buffers that blocks are read into, from one ring of
// memory, in the order the blocks are fetched; they come back in the same
// order, once the store is done with each block. So the raw blocks in
// flight take a fixed amount of memory, allocated once, however many there
// are and whatever their sizes.
type arena struct {
	buf        []byte
	mu         sync.Mutex
	head, tail int64 // bytes handed out, and given back, since the start
	freed      chan struct{}
}

// arenaSize holds the blocks that can be in flight several times over:
// jobs of at most a megabyte queued and being decoded, and the blocks
// queued for the store's address stage.
const arenaSize = 64 << 20

func newArena(size int) *arena {
	return &arena{buf: make([]byte, size), freed: make(chan struct{}, 1)}
}

// alloc returns n bytes, waiting for room, and where to give them back
// (release). It returns nil once ctx ends. A block larger than the ring
// gets memory of its own.
func (a *arena) alloc(ctx context.Context, n int) ([]byte, int64) {
	size := int64(len(a.buf))
	if int64(n) > size {
		return make([]byte, n), -1
	}
	for {
		a.mu.Lock()
		start := a.head
		if start%size+int64(n) > size {
			start += size - start%size // it would wrap: take it from the ring's start
		}
		if a.tail == a.head {
			a.tail = start // nothing is out: the bytes skipped are not either
		}
		if start+int64(n)-a.tail <= size {
			a.head = start + int64(n)
			a.mu.Unlock()
			p := start % size
			return a.buf[p : p+int64(n) : p+int64(n)], start + int64(n)
		}
		a.mu.Unlock()
		select {
		case <-a.freed:
		case <-ctx.Done():
			return nil, -1
		}
	}
}

// release gives back everything handed out before end.
func (a *arena) release(end int64) {
	if end < 0 {
		return
	}
	a.mu.Lock()
	a.tail = max(a.tail, end)
	a.mu.Unlock()
	select {
	case a.freed <- struct{}{}:
	default:
	}
}
