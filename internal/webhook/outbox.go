package webhook

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// An outbox is a sender's queue kept on disk, so that what a follower
// queued survives its stop or a crash. Its directory holds two files:
//
//	outbox  the bodies, one JSON object a line, appended as they come
//	state   16 bytes: the offset in outbox of the first body not yet
//	        taken or refused, then one more than the last block whose
//	        alerts are all in outbox (all ones: none recorded yet; 0: an
//	        empty store's), both little-endian
//
// Delivery is at least once: the offset is written after each delivery
// without a sync, so a crash may send the last few again. When everything
// is delivered and outbox has grown past compactAt, it is emptied.
type outbox struct {
	mu      sync.Mutex
	f       *os.File // outbox, opened to append
	state   *os.File // state, flock'ed: one sender per outbox
	size    int64    // of outbox
	sent    int64    // the offset of the next body to deliver
	queued  int64    // bodies from sent to the end
	through int64    // the last block queued whole
	known   bool     // whether through is recorded
	closed  bool
	wake    chan struct{}
}

// unrecorded, as state's second field, says no block is recorded yet.
const unrecorded = ^uint64(0)

// writeState writes state whole (not synced).
func (ob *outbox) writeState() error {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(ob.sent))
	t := unrecorded
	if ob.known {
		t = uint64(ob.through + 1)
	}
	binary.LittleEndian.PutUint64(b[8:], t)
	_, err := ob.state.WriteAt(b[:], 0)
	return err
}

// compactAt is the size past which a delivered outbox is emptied.
var compactAt int64 = 1 << 20

// ErrOutboxLocked reports an outbox another process sends from.
var ErrOutboxLocked = errors.New("webhook: another process sends from this outbox")

func openOutbox(dir string) (*outbox, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	state, err := os.OpenFile(filepath.Join(dir, "state"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	if err := syscall.Flock(int(state.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		state.Close()
		return nil, fmt.Errorf("%w (%s)", ErrOutboxLocked, dir)
	}
	ob := &outbox{state: state, wake: make(chan struct{}, 1)}
	fail := func(err error) (*outbox, error) {
		ob.closeFiles()
		return nil, fmt.Errorf("webhook: outbox %s: %w", dir, err)
	}
	var st [16]byte
	n, err := state.ReadAt(st[:], 0)
	switch {
	case n == 16:
		ob.sent = int64(binary.LittleEndian.Uint64(st[:8]))
		if t := binary.LittleEndian.Uint64(st[8:]); t != unrecorded {
			ob.through, ob.known = int64(t)-1, true
		}
	case n == 0 && err == io.EOF:
		// New: written whole before anything else.
		if err := ob.writeState(); err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("state is %d bytes, want 16", n))
	}
	if ob.f, err = os.OpenFile(filepath.Join(dir, "outbox"), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
		return fail(err)
	}
	fi, err := ob.f.Stat()
	if err != nil {
		return fail(err)
	}
	ob.size = fi.Size()
	// Emptied after delivery, the state not yet written: nothing waits.
	ob.sent = min(ob.sent, ob.size)
	// Count what waits, a chunk at a time (a receiver down for long
	// leaves much); a last line cut short by a crash was never counted as
	// queued (its block's alerts are queued again), so it goes.
	end := ob.sent // just past the last newline
	buf := make([]byte, 1<<20)
	for off := ob.sent; off < ob.size; {
		n, err := ob.f.ReadAt(buf[:min(int64(len(buf)), ob.size-off)], off)
		if err != nil && err != io.EOF {
			return fail(err)
		}
		if n == 0 {
			break
		}
		ob.queued += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = off + int64(i) + 1
		}
		off += int64(n)
	}
	if end < ob.size {
		ob.size = end
		if err := ob.f.Truncate(ob.size); err != nil {
			return fail(err)
		}
	}
	return ob, nil
}

func (ob *outbox) closeFiles() {
	if ob.f != nil {
		ob.f.Close()
	}
	ob.state.Close() // and its lock
}

// put appends b.
func (ob *outbox) put(b []byte) error {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if ob.closed {
		return errors.New("closed")
	}
	if bytes.IndexByte(b, '\n') >= 0 {
		return errors.New("a body with a newline") // json.Marshal writes none
	}
	n, err := ob.f.Write(append(b, '\n'))
	ob.size += int64(n)
	if err != nil {
		// A part written would be taken for a body: cut it off.
		ob.size -= int64(n)
		ob.f.Truncate(ob.size)
		return err
	}
	ob.queued++
	select {
	case ob.wake <- struct{}{}:
	default:
	}
	return nil
}

// next returns the next body to deliver, waiting for one; false when the
// outbox is closed and delivered, or ctx ends.
func (ob *outbox) next(ctx context.Context) ([]byte, bool) {
	for {
		ob.mu.Lock()
		if ob.sent < ob.size {
			b, err := ob.line(ob.sent)
			ob.mu.Unlock()
			return b, err == nil
		}
		closed := ob.closed
		ob.mu.Unlock()
		if closed {
			return nil, false
		}
		select {
		case <-ob.wake:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// line reads the body at off, without its newline.
func (ob *outbox) line(off int64) ([]byte, error) {
	buf := make([]byte, 0, 4096)
	for {
		chunk := make([]byte, max(4096, cap(buf)))
		n, err := ob.f.ReadAt(chunk, off+int64(len(buf)))
		if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
			return append(buf, chunk[:i]...), nil
		}
		buf = append(buf, chunk[:n]...)
		if err != nil {
			return nil, fmt.Errorf("webhook: outbox: a body without its end at %d: %w", off, err)
		}
	}
}

// done marks the body of n bytes at the head delivered (or refused).
func (ob *outbox) done(n int) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	ob.sent += int64(n) + 1
	ob.queued--
	if ob.sent == ob.size && ob.size > compactAt {
		if ob.f.Truncate(0) == nil {
			ob.size, ob.sent = 0, 0
		}
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(ob.sent))
	ob.state.WriteAt(b[:], 0)
}

// setThrough records that the alerts of every block up to height are in
// the outbox, synced first.
func (ob *outbox) setThrough(height int64) error {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if err := ob.f.Sync(); err != nil {
		return err
	}
	ob.through, ob.known = height, true
	if err := ob.writeState(); err != nil {
		return err
	}
	return ob.state.Sync()
}

func (ob *outbox) close() {
	ob.mu.Lock()
	ob.closed = true
	ob.mu.Unlock()
	select {
	case ob.wake <- struct{}{}:
	default:
	}
}
