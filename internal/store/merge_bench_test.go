package store

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMerge merges eight runs of 400,000 pairs each, as a commit's
// merge does on a long chain (half the addresses new, half drawn from the
// ones before). BENCHMARKS.md gives its time before and after the merge
// stopped choosing each pair's run twice.
func BenchmarkMerge(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	dir := b.TempDir()
	p := &postingIndex{dir: dir}
	var rs []*run
	var out, next uint64
	var addr uint32
	for range mergeFanIn {
		pairs := make([]posting, 400_000)
		for i := range pairs {
			a := addr
			if rng.IntN(2) == 0 && addr > 0 {
				a = uint32(rng.IntN(int(addr)))
			} else {
				addr++
			}
			pairs[i] = posting{a, out}
			out++
		}
		r, err := p.writeRun(next, out, sortPostings(pairs))
		if err != nil {
			b.Fatal(err)
		}
		next = out
		rs = append(rs, r)
	}
	b.ResetTimer()
	for range b.N {
		m, err := p.merge(rs)
		if err != nil {
			b.Fatal(err)
		}
		m[0].close()
		b.StopTimer()
		// merge removed its inputs' files: write them again.
		for i, r := range rs {
			pairs := make([]posting, len(r.addrs))
			for j := range pairs {
				pairs[j] = posting{r.addrs[j], r.outs[j]}
			}
			r.close()
			nr, err := p.writeRun(r.lo, r.hi, pairs)
			if err != nil {
				b.Fatal(err)
			}
			rs[i] = nr
		}
		b.StartTimer()
	}
}
