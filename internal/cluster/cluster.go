package cluster

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/progress"
	"github.com/spur-forensics/spur/internal/store"
)

// FormatVersion of the cluster files. Version 1 named them plainly
// (entity.u32), which this spur still reads; version 2 names them by their
// generation, so that a run replaces the whole clustering at once.
const FormatVersion = 2

// Meta records what a clustering covers.
type Meta struct {
	Version       int            `json:"version"`
	Txs           uint64         `json:"txs"`   // transactions clustered (the first Txs of the store)
	Addrs         uint64         `json:"addrs"` // addresses clustered
	Height        int64          `json:"height"`
	Tip           string         `json:"tip"`
	Entities      uint64         `json:"entities"`
	Largest       uint64         `json:"largest_entity_size"`
	LargestID     uint32         `json:"largest_entity_id"`
	CoinJoins     map[string]int `json:"coinjoins"`
	Merges        uint64         `json:"merges"` // unions that joined two entities
	Change        string         `json:"change_heuristics,omitempty"`
	ChangeMerges  uint64         `json:"change_merges,omitempty"`
	ChangeRefused uint64         `json:"change_refused,omitempty"` // above the size bound
	// Generation names the files of the clustering this META covers
	// (entity.GEN.u32, members.GEN.u32, big.GEN.json). A run writes the
	// next generation's files beside the last one's and then META, the
	// one file replaced in place: a run killed at any moment leaves the
	// clustering before it whole, or its own.
	Generation uint64 `json:"generation"`
}

// file is the path of the clustering's file name.ext, of m's generation
// (version 1's plain names for generation 0).
func (m *Meta) file(s *store.Store, name, ext string) string {
	if m.Generation == 0 {
		return filepath.Join(dir(s), name+"."+ext)
	}
	return filepath.Join(dir(s), fmt.Sprintf("%s.%d.%s", name, m.Generation, ext))
}

// generations lists the generations whose files lie in the clustering's
// directory, 0 for version 1's plain names.
func generations(s *store.Store) map[uint64]bool {
	gens := map[uint64]bool{}
	ents, _ := os.ReadDir(dir(s))
	for _, e := range ents {
		parts := strings.Split(e.Name(), ".")
		switch {
		case len(parts) == 2 && (parts[0] == "entity" || parts[0] == "members" || parts[0] == "big"):
			gens[0] = true
		case len(parts) == 3:
			if g, err := strconv.ParseUint(parts[1], 10, 64); err == nil {
				gens[g] = true
			}
		}
	}
	return gens
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
	// Change turns on change-address heuristics (off by default): a
	// two-output transaction's change output is merged with its inputs when
	// the heuristics find one. Values: "one-time", "script-type", "round",
	// any of them comma-separated, or "all".
	Change string
	// SizeBound refuses a change merge that would make an entity larger
	// than this (default 10,000 addresses); refusals are counted.
	SizeBound uint32
	// Progress, if not nil, gets a progress bar of the transactions read
	// (a run over mainnet's takes minutes).
	Progress io.Writer
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
		return nil, fmt.Errorf("cluster: %s: %w (run spur cluster --full)", filepath.Join(dir(s), "META"), err)
	}
	if m.Version != FormatVersion && m.Version != 1 || (m.Version == 1) != (m.Generation == 0) {
		return nil, fmt.Errorf("cluster: %s: format version %d, this spur reads 1 and %d (run spur cluster --full)", filepath.Join(dir(s), "META"), m.Version, FormatVersion)
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
	if opts.SizeBound == 0 {
		opts.SizeBound = 10_000
	}
	heur, err := parseChange(opts.Change)
	if err != nil {
		return nil, err
	}
	// One run at a time writes the clustering: it runs beside the store's
	// readers (servers, queries), which read the clustering META names.
	if err := os.MkdirAll(dir(s), 0o755); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	lock, err := colfile.LockDir(dir(s), ErrLocked)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	cnt := s.Counts()
	st := &Stats{Meta: Meta{Version: FormatVersion, CoinJoins: map[string]int{}, Change: opts.Change}}
	u := &unionFind{}
	var from uint64
	// The next generation is past every one whose files lie about, whatever
	// META says: a run killed after writing some leaves them there.
	st.Generation = 1
	for g := range generations(s) {
		st.Generation = max(st.Generation, g+1)
	}
	prev, err := ReadMeta(s)
	if err != nil && !opts.Full {
		return nil, err // --full starts over whatever META holds
	}
	if err == nil && prev != nil && !opts.Full && prev.Change == opts.Change && prev.Txs <= cnt.Txs && prev.Height <= s.Height() && prev.Height >= 0 {
		if h, err := s.BlockHashAt(prev.Height); err == nil && h.String() == prev.Tip {
			ent, err := readU32s(prev.file(s, "entity", "u32"), prev.Addrs)
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
			st.ChangeMerges, st.ChangeRefused = prev.ChangeMerges, prev.ChangeRefused
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
					res[k] = readTx(s, j.first+k, &shape, heur)
				}
				j.out <- res
			}
		}()
	}
	w := opts.Progress
	if from == cnt.Txs {
		w = nil // nothing new: no bar
	}
	bar := progress.New(w, "transactions", int64(cnt.Txs-from))
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
			if tx.change != NoAddr && len(tx.addrs) > 0 {
				ra, rb := u.find(tx.addrs[0]), u.find(tx.change)
				switch {
				case ra == rb:
				case u.size[ra]+u.size[rb] > opts.SizeBound:
					st.ChangeRefused++
				default:
					u.union(ra, rb)
					st.Merges++
					st.ChangeMerges++
				}
			}
		}
		bar.Add(int64(j.n), int64(j.n), 0)
	}
	wg.Wait()
	bar.Done()
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
	addrs  []uint32
	cj     *CoinJoin
	change uint32 // the change output's address, NoAddr if none found
}

// Shape reads tx n's shape from the store into shape (reusing its slices).
// It returns false for a coinbase.
func Shape(s store.Reader, n uint64, shape *TxShape) bool {
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

func readTx(s *store.Store, n uint64, shape *TxShape, heur changeHeuristics) (r txInputs) {
	r.change = NoAddr
	if _, numIn, _, numOut := s.TxRange(n); numIn < 2 && (heur == 0 || numOut != 2) {
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
	if heur != 0 {
		r.change = findChange(s, n, shape, heur)
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
	if err := writeU32s(m.file(s, "entity", "u32"), ent); err != nil {
		return err
	}
	if err := writeU32s(m.file(s, "members", "u32"), members); err != nil {
		return err
	}
	big, err := bigStats(s, ent, count)
	if err != nil {
		return err
	}
	bs, err := json.Marshal(big)
	if err != nil {
		return err
	}
	if err := writeFile(m.file(s, "big", "json"), bs); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	// The new files' names are durable before META names them.
	if err := colfile.SyncDir(d); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(d, "META"), b); err != nil {
		return err
	}
	// The generations before are no longer read, nor the files a killed
	// run was writing: a failure to remove them costs room, not the
	// clustering, and the next run tries again.
	for g := range generations(s) {
		if g != m.Generation {
			old := Meta{Generation: g}
			for _, f := range []string{old.file(s, "entity", "u32"), old.file(s, "members", "u32"), old.file(s, "big", "json")} {
				os.Remove(f)
			}
		}
	}
	if tmps, err := filepath.Glob(filepath.Join(d, ".*.tmp")); err == nil {
		for _, f := range tmps {
			os.Remove(f)
		}
	}
	return nil
}

// BigEntity is the size from which an entity's totals are precomputed, so
// that its summary does not read every member's outputs.
const BigEntity = 1000

// EntityStats are an entity's totals.
type EntityStats struct {
	Received  int64 `json:"received"`
	Balance   int64 `json:"balance"`
	Outputs   int64 `json:"outputs"`
	FirstSeen int64 `json:"first_seen_height"`
	LastSeen  int64 `json:"last_seen_height"`
}

// bigStats computes the totals of entities of at least BigEntity addresses
// in one pass over the outputs in chain order. count holds each entity's
// end offset in the members array (after the counting sort).
func bigStats(s *store.Store, ent []uint32, end []uint32) (map[uint32]*EntityStats, error) {
	big := map[uint32]*EntityStats{}
	for e := range len(ent) {
		start := uint32(0)
		if e > 0 {
			start = end[e-1]
		}
		if end[e]-start >= BigEntity {
			big[uint32(e)] = &EntityStats{FirstSeen: -1, LastSeen: -1}
		}
	}
	if len(big) == 0 {
		return big, nil
	}
	cnt := s.Counts()
	for n := uint64(0); n < cnt.Txs; n++ {
		_, _, firstOut, numOut := s.TxRange(n)
		h := s.TxHeight(n)
		for o := firstOut; o < firstOut+numOut; o++ {
			a := s.OutAddr(o)
			if a == store.NoAddress || uint64(a) >= uint64(len(ent)) {
				continue
			}
			st := big[ent[a]]
			if st == nil {
				continue
			}
			out := s.Output(o)
			st.Received += out.Value
			st.Outputs++
			if st.FirstSeen < 0 {
				st.FirstSeen = h
			}
			st.LastSeen = max(st.LastSeen, h)
			if out.Spent {
				st.LastSeen = max(st.LastSeen, s.TxHeight(out.SpentBy))
			} else {
				st.Balance += out.Value
			}
		}
	}
	return big, nil
}

func writeU32s(path string, v []uint32) error {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return writeFile(path, b)
}

func writeFile(path string, b []byte) error {
	if err := colfile.ReplaceFile(path, func(f *os.File) error { _, err := f.Write(b); return err }); err != nil {
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
	big     map[uint32]*EntityStats
}

// Stats returns the precomputed totals of an entity of at least BigEntity
// addresses, or nil.
func (c *Clusters) Stats(e uint32) *EntityStats { return c.big[e] }

// clustered returns the clustering's META; ErrNoClustering if there is none.
func clustered(s *store.Store) (*Meta, error) {
	m, err := ReadMeta(s)
	if err == nil && m == nil {
		err = ErrNoClustering
	}
	return m, err
}

// Open reads the clustering of the store; ErrNoClustering if there is none.
// A run that writes a new clustering meanwhile removes the files of the
// one META named when read: META is read again, and the new one opened.
func Open(s *store.Store) (*Clusters, error) {
	for try := 0; ; try++ {
		c, err := open(s)
		if !errors.Is(err, os.ErrNotExist) || try == 2 {
			return c, err
		}
	}
}

// Reopen returns the store's clustering: cur itself while META still names
// its generation (cur may be nil), else the one META names now, read whole,
// with changed true; ErrNoClustering if there is none. A reader kept open
// beside runs of spur cluster (a server, a follower) reads the files again
// only when a run has replaced them.
func Reopen(s *store.Store, cur *Clusters) (c *Clusters, changed bool, err error) {
	m, err := clustered(s)
	if err != nil {
		return nil, false, err
	}
	if cur != nil && cur.Meta.Generation == m.Generation && cur.Meta.Version == m.Version {
		return cur, false, nil
	}
	c, err = Open(s)
	return c, err == nil, err
}

func open(s *store.Store) (*Clusters, error) {
	m, err := clustered(s)
	if err != nil {
		return nil, err
	}
	c := &Clusters{Meta: *m}
	if c.entity, err = readU32s(m.file(s, "entity", "u32"), m.Addrs); err != nil {
		return nil, err
	}
	if c.members, err = readU32s(m.file(s, "members", "u32"), m.Addrs); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(m.file(s, "big", "json")); err == nil {
		if err := json.Unmarshal(b, &c.big); err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", m.file(s, "big", "json"), err)
		}
	} else if now, _ := ReadMeta(s); now != nil && now.Generation != m.Generation {
		// Removed by a run that wrote the next generation, not absent.
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return c, nil
}

// Entities reads the entity of an address at a time from the clustering on
// disk, without loading it whole (Open reads two arrays of the store's
// address count): what a query naming a few addresses' entities wants.
type Entities struct {
	f *os.File
	n uint64
}

// OpenEntities opens the clustering's entity column; ErrNoClustering if
// there is none.
func OpenEntities(s *store.Store) (*Entities, error) {
	m, err := clustered(s)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(m.file(s, "entity", "u32"))
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if fi, err := f.Stat(); err != nil || uint64(fi.Size()) != 4*m.Addrs {
		f.Close()
		return nil, fmt.Errorf("cluster: %s: not %d addresses' entities, as META says (run spur cluster --full)", f.Name(), m.Addrs)
	}
	return &Entities{f, m.Addrs}, nil
}

// Entity returns the entity id of address a, false for an address the
// clustering does not cover (seen after it ran), as Clusters.Entity.
func (e *Entities) Entity(a uint32) (uint32, bool, error) {
	if uint64(a) >= e.n {
		return 0, false, nil
	}
	var b [4]byte
	if _, err := e.f.ReadAt(b[:], 4*int64(a)); err != nil {
		return 0, false, fmt.Errorf("cluster: %s: %w", e.f.Name(), err)
	}
	return binary.LittleEndian.Uint32(b[:]), true, nil
}

// Range fills dst with the entity ids of addresses first, first+1, ...;
// it returns how many the clustering covers (addresses seen after it ran
// have none), at most len(dst).
func (e *Entities) Range(first uint32, dst []uint32) (int, error) {
	if uint64(first) >= e.n {
		return 0, nil
	}
	n := int(min(uint64(len(dst)), e.n-uint64(first)))
	b := make([]byte, 4*n)
	if _, err := e.f.ReadAt(b, 4*int64(first)); err != nil {
		return 0, fmt.Errorf("cluster: %s: %w", e.f.Name(), err)
	}
	for i := range n {
		dst[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return n, nil
}

// Close closes the entity column.
func (e *Entities) Close() error { return e.f.Close() }

// ErrLocked is returned while another run writes the clustering.
var ErrLocked = errors.New("cluster: another run is writing the clustering")

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

type changeHeuristics uint8

const (
	oneTimeChange changeHeuristics = 1 << iota
	scriptTypeChange
	roundPaymentChange
)

func parseChange(s string) (changeHeuristics, error) {
	var h changeHeuristics
	if s == "" {
		return 0, nil
	}
	for _, part := range strings.Split(s, ",") {
		switch strings.TrimSpace(part) {
		case "all":
			h |= oneTimeChange | scriptTypeChange | roundPaymentChange
		case "one-time":
			h |= oneTimeChange
		case "script-type":
			h |= scriptTypeChange
		case "round":
			h |= roundPaymentChange
		default:
			return 0, fmt.Errorf("cluster: unknown change heuristic %q (want one-time, script-type, round or all)", part)
		}
	}
	return h, nil
}

// findChange applies the enabled change heuristics to a two-output
// transaction: each may name one output as the change; the change is found
// when at least one names an output and none names the other.
func findChange(s *store.Store, n uint64, shape *TxShape, h changeHeuristics) uint32 {
	if len(shape.Outputs) != 2 || len(shape.Inputs) == 0 {
		return NoAddr
	}
	votes := [2]int{}
	vote := func(i int) {
		if i >= 0 {
			votes[i]++
		}
	}
	outs := shape.Outputs
	for _, o := range outs {
		if o.Addr == NoAddr {
			return NoAddr
		}
		for _, in := range shape.Inputs {
			if in.Addr == o.Addr {
				return NoAddr // an output back to an input address: nothing to learn
			}
		}
	}
	if h&oneTimeChange != 0 {
		// The change goes to an address first seen in this block; the payee
		// had been paid before.
		first := s.BlockFirstAddr(s.TxHeight(n))
		newA, newB := outs[0].Addr >= first, outs[1].Addr >= first
		if newA != newB {
			vote(map[bool]int{true: 0, false: 1}[newA])
		}
	}
	if h&scriptTypeChange != 0 {
		t := shape.Inputs[0].Type
		same := true
		for _, in := range shape.Inputs {
			same = same && in.Type == t
		}
		if same && (outs[0].Type == t) != (outs[1].Type == t) {
			vote(map[bool]int{true: 0, false: 1}[outs[0].Type == t])
		}
	}
	if h&roundPaymentChange != 0 {
		// A payment of a round amount (a multiple of 0.0001 BTC): the other
		// output is the change.
		roundA, roundB := outs[0].Value%10_000 == 0, outs[1].Value%10_000 == 0
		if roundA != roundB {
			vote(map[bool]int{true: 1, false: 0}[roundA])
		}
	}
	switch {
	case votes[0] > 0 && votes[1] == 0:
		return outs[0].Addr
	case votes[1] > 0 && votes[0] == 0:
		return outs[1].Addr
	}
	return NoAddr
}

// Reader is what screening and entity queries read of a clustering: an
// address's entity, an entity's members and its precomputed totals.
// *Clusters, the clustering on this machine, is one; a clustering kept
// elsewhere (a table beside a chain on ClickHouse) would be another.
type Reader interface {
	Entity(a uint32) (uint32, bool)
	Members(e uint32) []uint32
	Stats(e uint32) *EntityStats
}

var _ Reader = (*Clusters)(nil)
