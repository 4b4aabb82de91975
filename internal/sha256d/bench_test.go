package sha256d

import (
	"math/rand/v2"
	"testing"
)

// benchMessages returns messages of the sizes of transactions on a modern
// chain (a few hundred bytes, some larger) or, with size set, all of it.
func benchMessages(n, size int) ([][]byte, int64) {
	r := rand.New(rand.NewPCG(3, 4))
	msgs := make([][]byte, n)
	var total int64
	for i := range msgs {
		l := size
		if l == 0 {
			l = 150 + r.IntN(400)
			if r.IntN(20) == 0 {
				l += r.IntN(3000)
			}
		}
		msgs[i] = make([]byte, l)
		total += int64(l)
	}
	return msgs, total
}

func benchBatch(b *testing.B, size int) {
	msgs, total := benchMessages(2000, size)
	outs := make([][32]byte, len(msgs))
	b.Run("batch", func(b *testing.B) {
		b.SetBytes(total)
		var batch Batch
		for b.Loop() {
			for i := range msgs {
				batch.Add(msgs[i], &outs[i])
			}
			batch.Run()
		}
	})
	// The baseline: crypto/sha256, one message at a time.
	b.Run("crypto-sha256", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			for i := range msgs {
				outs[i] = reference(msgs[i])
			}
		}
	})
}

func BenchmarkTransactions(b *testing.B) { benchBatch(b, 0) }
func BenchmarkMerkleNodes(b *testing.B)  { benchBatch(b, 64) }
