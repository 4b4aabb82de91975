package cluster

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/spur-forensics/spur/internal/store"
)

// FormatVersion of the cluster files.
const FormatVersion = 1

// Meta records what a clustering covers.
type Meta struct {
	Version   int            `json:"version"`
	Txs       uint64         `json:"txs"`   // transactions clustered (the first Txs of the store)
	Addrs     uint64         `json:"addrs"` // addresses clustered
	Height    int64          `json:"height"`
	Tip       string         `json:"tip"`
	Entities  uint64         `json:"entities"`
	Largest   uint64         `json:"largest_entity_size"`
	LargestID uint32         `json:"largest_entity_id"`
	CoinJoins map[string]int `json:"coinjoins"`
	Merges    uint64         `json:"merges"` // unions that joined two entities
}

// Stats of one run.
type Stats struct {
	Meta
	NewTxs      uint64 `json:"new_txs"`
	Incremental bool   `json:"incremental"`
}

// Options for Run.
type Options struct {
	// Workers read transactions in parallel. Default: the number of CPUs.
	Workers int
	// Full ignores an earlier clustering and starts over.
	Full bool
}

func dir(s *store.Store) string { return filepath.Join(s.Dir(), "cluster") }

// ReadMeta returns the clustering's META, or nil when there is none.
func ReadMeta(s *store.Store) (*Meta, error) {
	b, err := os.ReadFile(filepath.Join(dir(s), "META"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("cluster: %s: %w", filepath.Join(dir(s), "META"), err)
	}
	if m.Version != FormatVersion {
		return nil, fmt.Errorf("cluster: %s: format version %d, this spur reads %d (run spur cluster --full)", filepath.Join(dir(s), "META"), m.Version, FormatVersion)
	}
	return &m, nil
}

// unionFind is a disjoint-set forest over dense numbers, with union by
// size and path halving; arrays only, no maps.
type unionFind struct {
	parent []uint32
	size   []uint32
}

func (u *unionFind) grow(n int) {
	for i := len(u.parent); i < n; i++ {
		u.parent = append(u.parent, uint32(i))
		u.size = append(u.size, 1)
	}
}

func (u *unionFind) find(a uint32) uint32 {
	p := u.parent
	for p[a] != a {
		p[a] = p[p[a]]
		a = p[a]
	}
	return a
}

// union joins the sets of a and b and reports whether they were apart.
func (u *unionFind) union(a, b uint32) bool {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return false
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	u.size[ra] += u.size[rb]
	return true
}

// Run clusters the store's transactions, continuing an earlier clustering
// when the store still holds what it covered, else starting over.
func Run(s *store.Store, opts Options) (*Stats, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	cnt := s.Counts()
	st := &Stats{Meta: Meta{Version: FormatVersion, CoinJoins: map[string]int{}}}
	u := &unionFind{}
	var from uint64
	if prev, err := ReadMeta(s); err != nil {
		return nil, err
	} else if prev != nil && !opts.Full && prev.Txs <= cnt.Txs && prev.Height <= s.Height() && prev.Height >= 0 {
		if h, err := s.BlockHashAt(prev.Height); err == nil && h.String() == prev.Tip {
			ent, err := readU32s(filepath.Join(dir(s), "entity.u32"), prev.Addrs)
			if err != nil {
				return nil, err
			}
			// Each address's entity id is a valid representative of its set.
			u.parent = ent
			u.size = make([]uint32, len(ent))
			for _, e := range ent {
				u.size[e]++
			}
			from = prev.Txs
			st.CoinJoins, st.Merges = prev.CoinJoins, prev.Merges
			st.Incremental = true
		}
	}
	u.grow(int(cnt.Addrs))

	// Workers read each chunk's transactions (input addresses and, for
	// multi-input ones, the CoinJoin check); one goroutine applies unions.
	const chunk = 8192
	type job struct {
		first, n uint64
		out      chan []txInputs
	}
	jobs := make(chan job)
	order := make(chan job, 2*opts.Workers)
	go func() {
		defer close(jobs)
		defer close(order)
		for t := from; t < cnt.Txs; t += chunk {
			j := job{t, min(chunk, cnt.Txs-t), make(chan []txInputs, 1)}
			order <- j
			jobs <- j
		}
	}()
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var shape TxShape
			for j := range jobs {
				res := make([]txInputs, j.n)
				for k := range j.n {
					res[k] = readTx(s, j.first+k, &shape)
				}
				j.out <- res
			}
		}()
	}
	for j := range order {
		for _, tx := range <-j.out {
			if tx.cj != nil {
				st.CoinJoins[tx.cj.Kind]++
				continue
			}
			for i := 1; i < len(tx.addrs); i++ {
				if u.union(tx.addrs[0], tx.addrs[i]) {
					st.Merges++
				}
			}
		}
	}
	wg.Wait()
	st.NewTxs = cnt.Txs - from
	st.Txs, st.Addrs, st.Height = cnt.Txs, cnt.Addrs, s.Height()
	if st.Height >= 0 {
		st.Tip = s.TipHash().String()
	}
	if err := write(s, u, &st.Meta); err != nil {
		return nil, err
	}
	return st, nil
}

// txInputs is what clustering needs of a transaction: the addresses of its
// inputs when they share an owner, or its CoinJoin detection.
type txInputs struct {
	addrs []uint32
	cj    *CoinJoin
}

// Shape reads tx n's shape from the store into shape (reusing its slices).
// It returns false for a coinbase.
func Shape(s *store.Store, n uint64, shape *TxShape) bool {
	firstIn, numIn, firstOut, numOut := s.TxRange(n)
	shape.Inputs, shape.Outputs = shape.Inputs[:0], shape.Outputs[:0]
	shape.Version, shape.LockTime = s.TxVersion(n)
	for i := firstIn; i < firstIn+numIn; i++ {
		o := s.InputSpends(i)
		if o == store.NoOutput {
			return false
		}
		v, t := s.OutValue(o)
		shape.Inputs = append(shape.Inputs, Coin{v, t, s.OutAddr(o)})
	}
	for o := firstOut; o < firstOut+numOut; o++ {
		v, t := s.OutValue(o)
		shape.Outputs = append(shape.Outputs, Coin{v, t, s.OutAddr(o)})
	}
	return true
}

func readTx(s *store.Store, n uint64, shape *TxShape) (r txInputs) {
	if _, numIn, _, _ := s.TxRange(n); numIn < 2 {
		return r // nothing to merge (one input, or a coinbase)
	}
	if !Shape(s, n, shape) {
		return r
	}
	if r.cj = DetectCoinJoin(shape); r.cj != nil {
		return r
	}
	for _, in := range shape.Inputs {
		if in.Addr != NoAddr {
			r.addrs = append(r.addrs, in.Addr)
		}
	}
	return r
}

// write stores the clustering: entity ids per address, the addresses
// sorted by entity, then META, each file replaced atomically.
func write(s *store.Store, u *unionFind, m *Meta) error {
	n := len(u.parent)
	// Entity id = lowest address number of the set: scanning in order, the
	// first address seen with a root is its lowest.
	minOf := make([]uint32, n)
	for i := range minOf {
		minOf[i] = ^uint32(0)
	}
	ent := make([]uint32, n)
	for a := range n {
		r := u.find(uint32(a))
		if minOf[r] == ^uint32(0) {
			minOf[r] = uint32(a)
			m.Entities++
		}
		ent[a] = minOf[r]
	}
	// Counting sort of addresses by entity id.
	count := make([]uint32, n+1)
	for _, e := range ent {
		count[e+1]++
	}
	m.Largest, m.LargestID = 0, 0
	for e := 0; e < n; e++ {
		if uint64(count[e+1]) > m.Largest {
			m.Largest, m.LargestID = uint64(count[e+1]), uint32(e)
		}
	}
	for i := 1; i <= n; i++ {
		count[i] += count[i-1]
	}
	members := make([]uint32, n)
	for a, e := range ent {
		members[count[e]] = uint32(a)
		count[e]++
	}
	d := dir(s)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := writeU32s(filepath.Join(d, "entity.u32"), ent); err != nil {
		return err
	}
	if err := writeU32s(filepath.Join(d, "members.u32"), members); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(d, "META"), b)
}

func writeU32s(path string, v []uint32) error {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return writeFile(path, b)
}

func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

func readU32s(path string, n uint64) ([]uint32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if uint64(len(b)) != 4*n {
		return nil, fmt.Errorf("cluster: %s: %d bytes, META says %d addresses (run spur cluster --full)", path, len(b), n)
	}
	v := make([]uint32, n)
	for i := range v {
		v[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return v, nil
}

// Clusters is a clustering opened for queries.
type Clusters struct {
	Meta    Meta
	entity  []uint32
	members []uint32
}

// Open reads the clustering of the store; ErrNoClustering if there is none.
func Open(s *store.Store) (*Clusters, error) {
	m, err := ReadMeta(s)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, ErrNoClustering
	}
	c := &Clusters{Meta: *m}
	if c.entity, err = readU32s(filepath.Join(dir(s), "entity.u32"), m.Addrs); err != nil {
		return nil, err
	}
	if c.members, err = readU32s(filepath.Join(dir(s), "members.u32"), m.Addrs); err != nil {
		return nil, err
	}
	return c, nil
}

// ErrNoClustering is returned when `spur cluster` has not run.
var ErrNoClustering = errors.New("cluster: the store has not been clustered (run spur cluster)")

// Entity returns the entity id of address a, and false for an address the
// clustering does not cover (seen after it ran).
func (c *Clusters) Entity(a uint32) (uint32, bool) {
	if uint64(a) >= uint64(len(c.entity)) {
		return 0, false
	}
	return c.entity[a], true
}

// Members returns the addresses of entity e (sorted), as a view into the
// clustering: its first run of the members array.
func (c *Clusters) Members(e uint32) []uint32 {
	lo := sort.Search(len(c.members), func(i int) bool { return c.entity[c.members[i]] >= e })
	hi := sort.Search(len(c.members), func(i int) bool { return c.entity[c.members[i]] > e })
	return c.members[lo:hi]
}
