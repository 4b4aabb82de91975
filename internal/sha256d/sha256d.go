// Package sha256d computes Bitcoin's double SHA-256, SHA-256(SHA-256(m)),
// the hash of every txid, wtxid and merkle tree node, many messages at a
// time.
//
// It is our own, in assembly, because these hashes are the largest single
// cost of an ingest (about 30% of its CPU time on a long chain with Go's
// crypto/sha256), and because two things that package cannot do make them
// cheaper. Most messages are short (the 64 bytes of a merkle node, the 32
// of a first hash), where the cost of a call to crypto/sha256 (its digest
// set up, its buffer, its padding) is as large as the hashing itself; here
// padding is built once per message and whole blocks are hashed straight
// from the caller's memory. And a SHA256RNDS2 instruction waits for the one
// before it, so two messages interleaved keep the SHA unit busier than one
// (1.2 times the throughput on the Xeon this was measured on; the unit's
// own throughput is then the limit). Together: 1.45 times crypto/sha256 on
// transaction-sized messages, 1.8 times on merkle nodes (bench_test.go).
//
// On CPUs without the SHA extensions (and off amd64) it falls back to
// crypto/sha256, one message at a time, with the same results.
package sha256d

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// iv is SHA-256's initial state.
var iv = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// Sum returns SHA-256(SHA-256(m)).
func Sum(m []byte) [32]byte {
	if !accelerated {
		first := sha256.Sum256(m)
		return sha256.Sum256(first[:])
	}
	var h [1][32]byte
	shaAll([][]byte{m}, h[:])
	return h[0]
}

// A Batch collects messages and computes their double SHA-256 together.
// Its memory is reused from one Run to the next; the zero Batch is ready.
type Batch struct {
	msgs   [][]byte
	outs   []*[32]byte
	hashes [][32]byte // the hashes, before they go to outs
}

// Add queues msg, whose hash Run writes to out. msg must not change until
// Run returns.
func (b *Batch) Add(msg []byte, out *[32]byte) {
	b.msgs = append(b.msgs, msg)
	b.outs = append(b.outs, out)
}

// Grow makes room for n more messages, so that adding them allocates
// nothing.
func (b *Batch) Grow(n int) {
	b.msgs = slices.Grow(b.msgs, n)
	b.outs = slices.Grow(b.outs, n)
}

// Len reports the messages queued.
func (b *Batch) Len() int { return len(b.msgs) }

// Reset empties the batch without hashing.
func (b *Batch) Reset() {
	clear(b.msgs) // let go of the caller's memory
	b.msgs, b.outs = b.msgs[:0], b.outs[:0]
}

// Run hashes every message queued, writes each hash to its out and empties
// the batch. An out may overlap any message: every message is read before
// any out is written.
func (b *Batch) Run() {
	n := len(b.msgs)
	if n == 0 {
		return
	}
	// Outs may overlap messages: hash everything first.
	b.hashes = resize(b.hashes, n)
	if !accelerated {
		for i, m := range b.msgs {
			first := sha256.Sum256(m)
			b.hashes[i] = sha256.Sum256(first[:])
		}
	} else {
		shaAll(b.msgs, b.hashes)
	}
	for i, out := range b.outs {
		*out = b.hashes[i]
	}
	b.Reset()
}

func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// A lane double-hashes one message at a time: the whole blocks straight
// from the message, then the rest and the padding from tail; then the
// first hash, with its padding, from tail.
type lane struct {
	s     [8]uint32
	body  []byte // whole blocks not yet hashed
	tail  [128]byte
	t, nt int  // next block of tail, blocks in tail
	idx   int  // the message's index
	again bool // the first hash is under way
}

func (l *lane) start(m []byte, idx int) {
	l.s = iv
	n := len(m) &^ 63
	l.body = m[:n]
	r := copy(l.tail[:], m[n:])
	l.tail[r] = 0x80
	end := 64
	if r >= 56 {
		end = 128
	}
	clear(l.tail[r+1 : end-8])
	binary.BigEndian.PutUint64(l.tail[end-8:end], uint64(len(m))<<3)
	l.t, l.nt = 0, end/64
	l.idx, l.again = idx, true
}

// end ends a pass: after the first, it sets up the second, over the first
// hash; after the second, it writes the hash to out and reports true.
func (l *lane) end(out [][32]byte) bool {
	if !l.again {
		l.sum(&out[l.idx])
		return true
	}
	for i, w := range l.s {
		binary.BigEndian.PutUint32(l.tail[4*i:], w)
	}
	l.tail[32] = 0x80
	clear(l.tail[33:56])
	binary.BigEndian.PutUint64(l.tail[56:64], 32<<3)
	l.s, l.body, l.t, l.nt, l.again = iv, nil, 0, 1, false
	return false
}

// next returns where the lane's next blocks are and how many are there.
func (l *lane) next() (*byte, int) {
	if len(l.body) > 0 {
		return &l.body[0], len(l.body) >> 6
	}
	return &l.tail[l.t<<6], l.nt - l.t
}

// advance records k blocks hashed and reports whether the message is done.
func (l *lane) advance(k int) bool {
	if len(l.body) > 0 {
		l.body = l.body[k<<6:]
		return false
	}
	l.t += k
	return l.t == l.nt
}

func (l *lane) sum(out *[32]byte) {
	for i, w := range l.s {
		binary.BigEndian.PutUint32(out[4*i:], w)
	}
}

// shaAll writes SHA-256(SHA-256(msgs[i])) to out[i], two messages at a
// time: when one lane's message ends, the lane takes the next message while
// the other goes on with its own. out must not overlap msgs.
func shaAll(msgs [][]byte, out [][32]byte) {
	var a, b lane
	if len(msgs) == 0 {
		return
	}
	a.start(msgs[0], 0)
	next := 1
	aOn, bOn := true, len(msgs) > 1
	if bOn {
		b.start(msgs[1], 1)
		next = 2
	}
	for aOn && bOn {
		pa, na := a.next()
		pb, nb := b.next()
		k := min(na, nb)
		blocks2(&a.s, &b.s, pa, pb, k)
		if a.advance(k) && a.end(out) {
			if aOn = next < len(msgs); aOn {
				a.start(msgs[next], next)
				next++
			}
		}
		if b.advance(k) && b.end(out) {
			if bOn = next < len(msgs); bOn {
				b.start(msgs[next], next)
				next++
			}
		}
	}
	for _, l := range [...]*lane{&a, &b} {
		if l == &a && !aOn || l == &b && !bOn {
			continue
		}
		for {
			p, n := l.next()
			blocks1(&l.s, p, n)
			if l.advance(n) && l.end(out) {
				break
			}
		}
	}
}
