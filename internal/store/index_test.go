package store

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRadixSortMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 100, 255, 256, 5000} {
		p := &pendingIndex{}
		var list []entry
		for i := 0; i < n; i++ {
			k := make([]byte, 12)
			binary.BigEndian.PutUint64(k, rng.Uint64()%uint64(n/3+1)) // many equal prefixes
			binary.BigEndian.PutUint32(k[8:], rng.Uint32())
			p.add(&list, k, uint32(i), nil)
		}
		want := slices.Clone(list)
		slices.SortFunc(want, func(x, y entry) int {
			if c := slices.Compare(p.key(&x), p.key(&y)); c != 0 {
				return c
			}
			return int(x.num) - int(y.num)
		})
		p.sort(list)
		for i := range list {
			if list[i].num != want[i].num {
				t.Fatalf("n=%d: position %d differs", n, i)
			}
		}
	}
}
