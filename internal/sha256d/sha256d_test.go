package sha256d

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

func reference(m []byte) [32]byte {
	first := sha256.Sum256(m)
	return sha256.Sum256(first[:])
}

// paths runs f with the assembly (where the CPU has it) and with the
// fallback.
func paths(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	was := accelerated
	defer func() { accelerated = was }()
	if was {
		t.Run("sha-ni", f)
	}
	accelerated = false
	t.Run("fallback", f)
}

func TestSumEveryLength(t *testing.T) {
	paths(t, func(t *testing.T) {
		m := make([]byte, 300)
		for i := range m {
			m[i] = byte(i*7 + 3)
		}
		for n := 0; n <= len(m); n++ {
			if got, want := Sum(m[:n]), reference(m[:n]); got != want {
				t.Fatalf("length %d: %x, want %x", n, got, want)
			}
		}
	})
}

// TestBatch hashes batches of messages of mixed lengths, so that the two
// lanes end their messages at different blocks, and checks each hash.
func TestBatch(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		var b Batch
		for round := 0; round < 200; round++ {
			n := r.IntN(40)
			msgs := make([][]byte, n)
			outs := make([][32]byte, n)
			for i := range msgs {
				msgs[i] = make([]byte, r.IntN(700))
				for j := range msgs[i] {
					msgs[i][j] = byte(r.Uint32())
				}
				b.Add(msgs[i], &outs[i])
			}
			if b.Len() != n {
				t.Fatalf("Len %d, want %d", b.Len(), n)
			}
			b.Run()
			if b.Len() != 0 {
				t.Fatalf("Len %d after Run", b.Len())
			}
			for i := range msgs {
				if want := reference(msgs[i]); outs[i] != want {
					t.Fatalf("round %d message %d (%d bytes): %x, want %x", round, i, len(msgs[i]), outs[i], want)
				}
			}
		}
	})
}

// TestBatchInPlace writes each hash over the messages, as a merkle level
// does: node i over the pair at 2i.
func TestBatchInPlace(t *testing.T) {
	paths(t, func(t *testing.T) {
		for n := 1; n <= 9; n++ {
			buf := make([]byte, 64*n)
			for i := range buf {
				buf[i] = byte(i * 13)
			}
			want := make([][32]byte, n)
			for i := range want {
				want[i] = reference(buf[64*i : 64*i+64])
			}
			var b Batch
			for i := 0; i < n; i++ {
				b.Add(buf[64*i:64*i+64], (*[32]byte)(buf[32*i:32*i+32]))
			}
			b.Run()
			for i := range want {
				if got := [32]byte(buf[32*i : 32*i+32]); got != want[i] {
					t.Fatalf("%d nodes, node %d: %x, want %x", n, i, got, want[i])
				}
			}
		}
	})
}

func FuzzBatch(f *testing.F) {
	f.Add([]byte("abc"), 1)
	f.Add(make([]byte, 200), 3)
	f.Fuzz(func(t *testing.T, data []byte, parts int) {
		parts = 1 + abs(parts)%8
		var b Batch
		msgs := make([][]byte, parts)
		outs := make([][32]byte, parts)
		for i := range msgs {
			msgs[i] = data[i*len(data)/parts : (i+1)*len(data)/parts]
			b.Add(msgs[i], &outs[i])
		}
		b.Run()
		for i := range msgs {
			if want := reference(msgs[i]); outs[i] != want || Sum(msgs[i]) != want {
				t.Fatalf("message %d: %x, want %x", i, outs[i], want)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
