package cluster

import (
	"runtime"
	"time"

	"github.com/spur-forensics/spur/internal/store"
)

// BenchResult compares spur's union-find with a map-based one on the same
// merges.
type BenchResult struct {
	Txs         uint64  `json:"txs"`
	Inputs      uint64  `json:"inputs"` // inputs of the merged transactions
	Unions      uint64  `json:"unions"`
	ReadSeconds float64 `json:"read_seconds"` // reading and CoinJoin-checking every tx, all cores
	SpurSeconds float64 `json:"spur_unions_seconds"`
	MapSeconds  float64 `json:"map_unions_seconds"`
	SpurRate    float64 `json:"spur_inputs_per_s"`
	MapRate     float64 `json:"map_inputs_per_s"`
	Ratio       float64 `json:"ratio"`
	RunSeconds  float64 `json:"full_run_seconds"` // spur cluster --full: read, unions, entity files
}

// mapUnionFind is the baseline: the straightforward union-find keyed by
// address in Go maps, with path compression and union by size.
type mapUnionFind struct {
	parent map[uint32]uint32
	size   map[uint32]uint32
}

func (u *mapUnionFind) find(a uint32) uint32 {
	p, ok := u.parent[a]
	if !ok {
		u.parent[a], u.size[a] = a, 1
		return a
	}
	if p == a {
		return a
	}
	r := u.find(p)
	u.parent[a] = r
	return r
}

func (u *mapUnionFind) union(a, b uint32) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	u.size[ra] += u.size[rb]
}

// Bench reads every transaction's merge (as Run does), then times the
// unions with spur's array union-find and with the map-based baseline, and
// a full clustering run.
func Bench(s *store.Store) (*BenchResult, error) {
	cnt := s.Counts()
	r := &BenchResult{Txs: cnt.Txs}
	start := time.Now()
	var edges []uint32 // per merged tx: count, then its input addresses
	var shape TxShape
	for n := uint64(0); n < cnt.Txs; n++ {
		tx := readTx(s, n, &shape, 0)
		if len(tx.addrs) < 2 {
			continue
		}
		edges = append(edges, uint32(len(tx.addrs)))
		edges = append(edges, tx.addrs...)
		r.Inputs += uint64(len(tx.addrs))
		r.Unions += uint64(len(tx.addrs) - 1)
	}
	r.ReadSeconds = time.Since(start).Seconds()

	runtime.GC()
	start = time.Now()
	u := &unionFind{}
	u.grow(int(cnt.Addrs))
	for i := 0; i < len(edges); {
		k := int(edges[i])
		for j := 1; j < k; j++ {
			u.union(edges[i+1], edges[i+1+j])
		}
		i += 1 + k
	}
	r.SpurSeconds = time.Since(start).Seconds()

	runtime.GC()
	start = time.Now()
	m := &mapUnionFind{parent: map[uint32]uint32{}, size: map[uint32]uint32{}}
	for i := 0; i < len(edges); {
		k := int(edges[i])
		for j := 1; j < k; j++ {
			m.union(edges[i+1], edges[i+1+j])
		}
		i += 1 + k
	}
	r.MapSeconds = time.Since(start).Seconds()
	// Both must agree.
	for a := range m.parent {
		if (m.find(a) == a) != (u.find(a) == a) && u.size[u.find(a)] != m.size[m.find(a)] {
			panic("BUG: union-find implementations disagree")
		}
	}
	if r.SpurSeconds > 0 {
		r.SpurRate = float64(r.Inputs) / r.SpurSeconds
		r.Ratio = r.MapSeconds / r.SpurSeconds
	}
	if r.MapSeconds > 0 {
		r.MapRate = float64(r.Inputs) / r.MapSeconds
	}
	start = time.Now()
	if _, err := Run(s, Options{Full: true}); err != nil {
		return nil, err
	}
	r.RunSeconds = time.Since(start).Seconds()
	return r, nil
}
