package cluster

import (
	"sort"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
)

// Account chains have no multi-input rule: one transaction has one sender.
// The heuristics below are the known ones for Ethereum (Victor, "Address
// Clustering Heuristics for Ethereum", FC 2020). They are heuristics, off
// unless asked for, and every link they make says which one made it.

// EVMOptions picks the heuristics.
type EVMOptions struct {
	// Deposits finds exchange deposit addresses: addresses that forward
	// everything they send (ETH and tokens) to one exchange hot wallet,
	// after receiving from someone else. They join the exchange's entity.
	Deposits bool
	// DepositReuse joins the addresses that pay into the same deposit
	// address: an exchange gives each customer their own.
	DepositReuse bool
	// Hot are the labelled exchange hot wallets (address numbers). When
	// empty, a hot wallet is inferred: an address that MinForwarders
	// addresses forward everything to.
	Hot map[uint32]bool
	// MinForwarders for an unlabelled hot wallet (default 10).
	MinForwarders int
	// Airdrop joins the addresses that received a token from the same
	// distributor (one that sent it to at least MinAirdrop addresses) and
	// passed all of it on to the same collector, with the collector: one
	// entity claiming an airdrop many times.
	Airdrop    bool
	MinAirdrop int // default 20
}

// EVMClusters is the result: an entity per address (the lowest address
// number in it) and the deposit addresses found, with their hot wallet.
type EVMClusters struct {
	parent   []uint32
	Deposits map[uint32]uint32 // deposit address -> hot wallet
	Merges   int
	// ReuseMerges counts the merges the deposit-reuse heuristic made;
	// AirdropMerges the airdrop heuristic's.
	ReuseMerges   int
	AirdropMerges int
}

// Entity returns the entity of address a.
func (c *EVMClusters) Entity(a uint32) uint32 {
	for c.parent[a] != a {
		c.parent[a] = c.parent[c.parent[a]]
		a = c.parent[a]
	}
	return a
}

func (c *EVMClusters) union(a, b uint32) bool {
	ra, rb := c.Entity(a), c.Entity(b)
	if ra == rb {
		return false
	}
	if rb < ra {
		ra, rb = rb, ra
	}
	c.parent[rb] = ra
	c.Merges++
	return true
}

// Members returns the addresses of a's entity, in number order. It scans
// every address: for lookups of one entity, not for loops.
func (c *EVMClusters) Members(a uint32) []uint32 {
	e := c.Entity(a)
	var out []uint32
	for i := range c.parent {
		if c.Entity(uint32(i)) == e {
			out = append(out, uint32(i))
		}
	}
	return out
}

// ClusterEVM runs the chosen heuristics over the whole store.
func ClusterEVM(s evmstore.Reader, o EVMOptions) *EVMClusters {
	return new(EVMPass).Cluster(s, o)
}

// An EVMPass is what the heuristics learn from the transfers, one pass
// over them, kept so that the next Cluster of a grown store (a follower's
// next sync, a poller's next request) reads only the transfers added
// since. The entities are then made anew from it: a pass over the
// addresses, not the transfers. Not safe for concurrent use.
type EVMPass struct {
	airdrop, reuse bool   // what the pass collects beyond dest and funded
	blocks         uint64 // blocks read
	last           common.Hash
	read           uint64 // transfers read

	dest    []uint32 // by address: 0 none yet; many; else destination + 1
	funded  []bool   // by address: someone else paid it
	senders map[uint32][]uint32
	tokDest map[holding]uint32 // where an address sent a token: destination + 1, or many
	tokFrom map[holding]uint32 // who first sent an address the token
	distrib map[holding]int    // (distributor, token) -> recipients
}

type holding struct{ addr, token uint32 }

const many = evmstore.None

// Cluster reads the transfers s holds beyond those read before (all of
// them the first time, after the store unwound a block read, or when o
// asks for a heuristic the pass did not collect for) and makes the
// entities by o's heuristics.
func (p *EVMPass) Cluster(s evmstore.Reader, o EVMOptions) *EVMClusters {
	if o.MinForwarders == 0 {
		o.MinForwarders = 10
	}
	if o.MinAirdrop == 0 {
		o.MinAirdrop = 20
	}
	c := s.Counts()
	n := c.Addrs
	out := &EVMClusters{parent: make([]uint32, n), Deposits: map[uint32]uint32{}}
	for i := range out.parent {
		out.parent[i] = uint32(i)
	}
	if !o.Deposits && !o.DepositReuse && !o.Airdrop {
		return out
	}
	if p.dest == nil || o.Airdrop && !p.airdrop || o.DepositReuse && !p.reuse || c.Blocks < p.blocks ||
		p.blocks > 0 && s.Block(p.blocks-1).Hash != p.last {
		*p = EVMPass{airdrop: o.Airdrop, reuse: o.DepositReuse, senders: map[uint32][]uint32{},
			tokDest: map[holding]uint32{}, tokFrom: map[holding]uint32{}, distrib: map[holding]int{}}
	}
	p.dest = append(p.dest, make([]uint32, n-uint64(len(p.dest)))...)
	p.funded = append(p.funded, make([]bool, n-uint64(len(p.funded)))...)
	for x := p.read; x < c.Transfers; x++ {
		p.add(s.Transfer(x))
	}
	p.read = c.Transfers
	if p.blocks = c.Blocks; p.blocks > 0 {
		p.last = s.Block(p.blocks - 1).Hash
	}
	p.derive(out, o)
	return out
}

// add reads one transfer: for each address, where its payments go (a
// single destination, or many), and whether anyone else paid it.
func (p *EVMPass) add(t evmstore.TransferRow) {
	if p.airdrop && t.Kind == evm.KindToken && t.From != evmstore.None && t.To != evmstore.None && t.From != t.To {
		k := holding{t.From, t.Asset}
		if d := p.tokDest[k]; d == 0 {
			p.tokDest[k] = t.To + 1
		} else if d != t.To+1 {
			p.tokDest[k] = many
		}
		r := holding{t.To, t.Asset}
		if _, ok := p.tokFrom[r]; !ok {
			p.tokFrom[r] = t.From
			p.distrib[k]++
		}
	}
	switch t.Kind {
	case evm.KindCall, evm.KindInternal, evm.KindToken:
	default:
		return // fees, burns, rewards and wraps say nothing of ownership
	}
	if t.From == evmstore.None || t.To == evmstore.None || t.From == t.To {
		return
	}
	if d := p.dest[t.From]; d == 0 {
		p.dest[t.From] = t.To + 1
	} else if d != t.To+1 {
		p.dest[t.From] = many
	}
	p.funded[t.To] = true
	if p.reuse && t.Kind != evm.KindInternal {
		ss := p.senders[t.To]
		if len(ss) < 64 && !contains(ss, t.From) {
			p.senders[t.To] = append(ss, t.From)
		}
	}
}

// derive makes c's entities from what the pass read, by o's heuristics.
func (p *EVMPass) derive(c *EVMClusters, o EVMOptions) {
	dest, funded := p.dest, p.funded
	// Hot wallets: labelled, or inferred from how many forward to them.
	hot := o.Hot
	if len(hot) == 0 {
		count := map[uint32]int{}
		for a := range dest {
			if d := dest[a]; d != 0 && d != many && funded[a] {
				count[d-1]++
			}
		}
		hot = map[uint32]bool{}
		for h, k := range count {
			if k >= o.MinForwarders {
				hot[h] = true
			}
		}
	}
	for a := range dest {
		d := dest[a]
		if d == 0 || d == many || !funded[a] || !hot[d-1] || hot[uint32(a)] {
			continue
		}
		c.Deposits[uint32(a)] = d - 1
	}
	if o.Deposits {
		for a, h := range c.Deposits {
			c.union(a, h)
		}
	}
	if o.Airdrop {
		// Recipients of a distributor's token that passed it all to one
		// collector; a collector with two or more of them joins them.
		type claim struct{ collector, token, distributor uint32 }
		claims := map[claim][]uint32{}
		for h, from := range p.tokFrom {
			if p.distrib[holding{from, h.token}] < o.MinAirdrop {
				continue
			}
			d := p.tokDest[h]
			if d == 0 || d == many || d-1 == from || hot[d-1] {
				continue
			}
			k := claim{d - 1, h.token, from}
			claims[k] = append(claims[k], h.addr)
		}
		keys := make([]claim, 0, len(claims))
		for k := range claims {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, b := keys[i], keys[j]
			if a.collector != b.collector {
				return a.collector < b.collector
			}
			if a.token != b.token {
				return a.token < b.token
			}
			return a.distributor < b.distributor
		})
		for _, k := range keys {
			as := claims[k]
			if len(as) < 2 {
				continue
			}
			for _, a := range as {
				if c.union(k.collector, a) {
					c.AirdropMerges++
				}
			}
		}
	}
	if o.DepositReuse {
		deps := make([]uint32, 0, len(c.Deposits))
		for a := range c.Deposits {
			deps = append(deps, a)
		}
		sort.Slice(deps, func(i, j int) bool { return deps[i] < deps[j] })
		for _, d := range deps {
			ss := p.senders[d]
			if len(ss) < 2 || len(ss) >= 64 {
				continue // nothing to join, or a public address, not one customer's
			}
			for _, from := range ss[1:] {
				if hot[from] || hot[ss[0]] {
					continue // an exchange paying in is not the customer
				}
				if c.union(ss[0], from) {
					c.ReuseMerges++
				}
			}
		}
	}
}

func contains(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
