package ingest

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"
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
	mapped     bool // buf is a mapping of its own (newArena)
}

// arenaSize holds the blocks that can be in flight several times over:
// jobs of at most a megabyte queued and being decoded, and the blocks
// queued for the store's address stage.
const arenaSize = 64 << 20

// newArena maps the ring from the system rather than taking it from the
// heap, which clears memory it reuses: a page costs only when a block is
// first read into it, and with block files mapped and not obfuscated none
// is (in an ingest of the mainnet sample, four fifths of the page faults
// were the heap clearing the ring). Close unmaps it.
func newArena(size int) *arena {
	a := &arena{freed: make(chan struct{}, 1)}
	buf, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		buf = make([]byte, size)
	} else {
		a.mapped = true
	}
	a.buf = buf
	return a
}

// close returns the ring's memory; nothing may use a buffer from it after.
func (a *arena) close() {
	if a.mapped {
		unix.Munmap(a.buf)
	}
	a.buf, a.mapped = nil, false
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
