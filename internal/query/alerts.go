package query

import (
	"sort"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
)

// An Alert is a transaction of a new block that moves money from or to an
// address labelled in a watched category: the theft's addresses an
// investigator imported (`spur trace --format labels`) moving on, or a
// sanctioned address paying or being paid.
type Alert struct {
	Chain     string       `json:"chain"`
	Height    int64        `json:"height"` // -1 in the mempool
	BlockHash string       `json:"block_hash"`
	TxID      string       `json:"txid"`
	From      []AlertParty `json:"from"` // the spent outputs' addresses so labelled
	To        []AlertParty `json:"to"`   // the outputs' addresses so labelled
	// Mempool says the transaction is in no block yet (Alerts.Mempool).
	Mempool bool `json:"mempool,omitempty"`
}

// An AlertParty is a labelled address on one side of an alert's
// transaction, with what it spent or received there in all.
type AlertParty struct {
	Address string        `json:"address"`
	Value   int64         `json:"value"`  // satoshi
	Labels  []label.Label `json:"labels"` // those of the watched categories
	// Entity is the address's entity when the alerts take entities
	// (Alerts.WithEntities) and one of its addresses has a label of a
	// watched category: its id, size and those labels, each with the
	// address that carries it.
	Entity *ScreenEntity `json:"entity,omitempty"`
}

// Alerts finds the alerts of a Bitcoin store's blocks against the labels
// as they are when it is made.
type Alerts struct {
	s      *store.Store
	labels *label.Store
	watch  func(category string) bool
	// nums holds the address numbers of the store's addresses that have a
	// label of any category, each with its label key: a transaction none
	// of whose inputs and outputs is one of them (or of ents) is passed
	// over on column reads alone.
	nums map[uint32]string
	// With entities taken, c is the clustering and ents the entities with
	// a member labelled in a watched category, with those labels.
	c    cluster.Reader
	ents map[uint32][]EntityLabel
	said map[uint32]*ScreenEntity // each entity as parties give it, made once
}

// NewAlerts readies the alerts of labels' addresses in a category watch
// takes, caching the labels' keys (label.Store.CacheKeys) if they are not.
func NewAlerts(s *store.Store, labels *label.Store, watch func(category string) bool) (*Alerts, error) {
	a := &Alerts{s: s, labels: labels, watch: watch, nums: map[uint32]string{}}
	add := func(key string) {
		// Keys of other chains do not parse, or are not in the store.
		if addr, err := btc.ParseAddress(key, s.Network()); err == nil {
			if n, err := s.AddrNum(addr); err == nil {
				a.nums[n] = key
			}
		}
	}
	if !labels.EachCachedKey(add) {
		if err := labels.CacheKeys(); err != nil {
			return nil, err
		}
		labels.EachCachedKey(add)
	}
	return a, nil
}

// WithEntities makes the alerts take an address's entity as well (c, the
// clustering of `spur cluster`): a transaction also alerts when it spends
// from or pays to an address whose entity has a member labelled in a
// watched category, as when a list names a few addresses of a service the
// clustering knows many more of. Addresses first seen after the
// clustering ran have no entity.
func (w *Alerts) WithEntities(c cluster.Reader) error {
	w.c, w.ents, w.said = c, map[uint32][]EntityLabel{}, map[uint32]*ScreenEntity{}
	for n, key := range w.nums {
		e, ok := c.Entity(n)
		if !ok {
			continue
		}
		ls, err := w.watched(key)
		if err != nil {
			return err
		}
		via := w.s.Address(n).String(w.s.Network()) // as parties print it, whatever the key's form
		for _, l := range ls {
			w.ents[e] = append(w.ents[e], EntityLabel{l, via})
		}
	}
	// The labels in a steady order: by member, then as the member's.
	for _, ls := range w.ents {
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].Via < ls[j].Via })
	}
	return nil
}

// watched returns the labels of key in a watched category.
func (w *Alerts) watched(key string) ([]label.Label, error) {
	if key == "" {
		return nil, nil
	}
	ls, err := w.labels.LookupKey(key)
	var out []label.Label
	for _, l := range ls {
		if l.Chain == label.ChainBTC && w.watch(l.Category) {
			out = append(out, l)
		}
	}
	return out, err
}

// entity returns the entity of address number a when it has labels in a
// watched category (WithEntities), else nil.
func (w *Alerts) entity(a uint32) *ScreenEntity {
	if w.ents == nil {
		return nil
	}
	e, ok := w.c.Entity(a)
	if !ok || w.ents[e] == nil {
		return nil
	}
	if v := w.said[e]; v != nil {
		return v
	}
	v := &ScreenEntity{ID: e, Size: len(w.c.Members(e)), Labels: w.ents[e]}
	w.said[e] = v
	return v
}

// Block returns the alerts of the block at height h: each of its
// transactions that spends from or pays to an address with a label of a
// watched category, in block order. The labels are the address's own,
// and with WithEntities its entity's.
func (w *Alerts) Block(h int64) ([]Alert, error) {
	s := w.s
	first, n := s.BlockTxs(h)
	hash, err := s.BlockHashAt(h)
	if err != nil {
		return nil, err
	}
	// labelled tells an address number with a label, or in an entity with
	// a watched one.
	labelled := func(a uint32) bool {
		if _, ok := w.nums[a]; ok {
			return true
		}
		if w.ents == nil {
			return false
		}
		e, ok := w.c.Entity(a)
		return ok && w.ents[e] != nil
	}
	touches := func(tx uint64) bool {
		firstIn, numIn, firstOut, numOut := s.TxRange(tx)
		for i := firstIn; i < firstIn+numIn; i++ {
			if o := s.InputSpends(i); o != store.NoOutput && labelled(s.OutAddr(o)) {
				return true
			}
		}
		for o := firstOut; o < firstOut+numOut; o++ {
			if labelled(s.OutAddr(o)) {
				return true
			}
		}
		return false
	}
	// add sums value into the party of the address of output o on one
	// side, made the first time the address is seen there if it has a
	// label of a watched category or is in such an entity.
	add := func(side []AlertParty, o uint64, addr string, value int64) ([]AlertParty, error) {
		for i := range side {
			if side[i].Address == addr {
				side[i].Value += value
				return side, nil
			}
		}
		if addr == "" {
			return side, nil
		}
		n := s.OutAddr(o)
		var ls []label.Label
		if _, ok := w.nums[n]; ok { // else no label to look up
			var err error
			if ls, err = w.watched(addr); err != nil {
				return nil, err
			}
		}
		e := w.entity(n)
		if len(ls) == 0 && e == nil {
			return side, nil
		}
		if ls == nil {
			ls = []label.Label{} // "labels": [] for a party by its entity
		}
		return append(side, AlertParty{Address: addr, Value: value, Labels: ls, Entity: e}), nil
	}
	var out []Alert
	for tx := first; tx < first+n; tx++ {
		if len(w.nums) == 0 || !touches(tx) {
			continue
		}
		v, err := s.TxView(tx)
		if err != nil {
			return nil, err
		}
		a := Alert{Chain: label.ChainBTC, Height: h, BlockHash: hash.String(), TxID: v.TxID, From: []AlertParty{}, To: []AlertParty{}}
		firstIn, _, firstOut, _ := s.TxRange(tx)
		for i, in := range v.Inputs {
			if in.Value != nil {
				if a.From, err = add(a.From, s.InputSpends(firstIn+uint64(i)), in.Address, *in.Value); err != nil {
					return nil, err
				}
			}
		}
		for i, o := range v.Outputs {
			if a.To, err = add(a.To, firstOut+uint64(i), o.Address, o.Value); err != nil {
				return nil, err
			}
		}
		if len(a.From) > 0 || len(a.To) > 0 {
			out = append(out, a)
		}
	}
	return out, nil
}

// Mempool is Block's alert for a transaction in no block yet, as a node's
// mempool holds it: its inputs' coins as the store holds them (a coin of
// a parent in no block yet is passed over) and the addresses it pays,
// labelled in a watched category or (WithEntities) in such an entity, as
// in a block; nil when none is. The alert has height -1, no block hash,
// and Mempool set.
func (w *Alerts) Mempool(tx *btc.Tx) (*Alert, error) {
	s := w.s
	net := s.Network()
	a := &Alert{Chain: label.ChainBTC, Height: -1, Mempool: true, TxID: tx.TxID.String(), From: []AlertParty{}, To: []AlertParty{}}
	// party sums value into the party of addr (number n when the store
	// has seen it) on one side, made if it is labelled or in such an
	// entity.
	party := func(side []AlertParty, addr string, n uint32, seen bool, value int64) ([]AlertParty, error) {
		for i := range side {
			if side[i].Address == addr {
				side[i].Value += value
				return side, nil
			}
		}
		var ls []label.Label
		if _, ok := w.nums[n]; ok || !seen { // else no label to look up
			var err error
			if ls, err = w.watched(addr); err != nil {
				return nil, err
			}
		}
		var e *ScreenEntity
		if seen {
			e = w.entity(n)
		}
		if len(ls) == 0 && e == nil {
			return side, nil
		}
		if ls == nil {
			ls = []label.Label{}
		}
		return append(side, AlertParty{Address: addr, Value: value, Labels: ls, Entity: e}), nil
	}
	var err error
	for _, in := range tx.Inputs {
		n, err := s.TxNum(in.PrevTxID)
		if err != nil {
			continue
		}
		_, _, firstOut, numOut := s.TxRange(n)
		if uint64(in.PrevIndex) >= numOut {
			continue
		}
		o := firstOut + uint64(in.PrevIndex)
		if an := s.OutAddr(o); an != store.NoAddress {
			v, _ := s.OutValue(o)
			if a.From, err = party(a.From, s.Address(an).String(net), an, true, v); err != nil {
				return nil, err
			}
		}
	}
	for _, o := range tx.Outputs {
		_, ad, ok := btc.ScriptAddress(o.Script)
		if !ok {
			continue
		}
		n, nerr := s.AddrNum(ad)
		if a.To, err = party(a.To, ad.String(net), n, nerr == nil, o.Value); err != nil {
			return nil, err
		}
	}
	if len(a.From) == 0 && len(a.To) == 0 {
		return nil, nil
	}
	return a, nil
}

// An EVMAlert is an alert on an EVM chain: a transaction of a new block
// whose transfers move an asset from or to an address labelled in a
// watched category.
type EVMAlert struct {
	Chain     string          `json:"chain"`
	Height    uint64          `json:"height"` // the block's number
	BlockHash string          `json:"block_hash"`
	TxID      string          `json:"txid"`
	From      []EVMAlertParty `json:"from"` // senders so labelled
	To        []EVMAlertParty `json:"to"`   // recipients so labelled
}

// An EVMAlertParty is a labelled address on one side of an EVM alert's
// transaction, with what it sent or received of one asset there in all
// (an NFT's token id, for each NFT).
type EVMAlertParty struct {
	Address  string        `json:"address"`
	Asset    string        `json:"asset"` // "ETH" or the token's address
	Symbol   string        `json:"symbol,omitempty"`
	Decimals *uint8        `json:"decimals,omitempty"`
	Value    string        `json:"value"` // base units; an NFT's token id
	NFT      bool          `json:"nft,omitempty"`
	Labels   []label.Label `json:"labels"`
	// Entity is as AlertParty's, by the EVM heuristics (EVMEntities).
	Entity *EVMAlertEntity `json:"entity,omitempty"`
}

// An EVMAlertEntity is an EVM alert party's entity: named by its first
// address, as spur entity --chain names it, with its size and the labels
// of its members in the watched categories, each with the member that
// carries it.
type EVMAlertEntity struct {
	ID     string        `json:"id"`
	Size   int           `json:"size"`
	Labels []EntityLabel `json:"labels"`
}

// EVMEntities are the entities of an EVM store's addresses by the
// account-chain heuristics (cluster.ClusterEVM, made per query) that
// have a member labelled in a watched category, for EVMBlockAlerts.
type EVMEntities struct {
	c    *cluster.EVMClusters
	ents map[uint32]*EVMAlertEntity
}

// NewEVMEntities finds the entities of clustering c with a member whose
// labels (Ethereum's, or chain's by name, as EVMBlockAlerts reads them;
// their keys cached) have a category watch takes.
func NewEVMEntities(s *evmstore.Store, labels *label.Store, chain string, c *cluster.EVMClusters, watch func(category string) bool) (*EVMEntities, error) {
	var keys []string
	collect := func(k string) { keys = append(keys, k) }
	if !labels.EachCachedKey(collect) {
		if err := labels.CacheKeys(); err != nil {
			return nil, err
		}
		labels.EachCachedKey(collect)
	}
	w := &EVMEntities{c: c, ents: map[uint32]*EVMAlertEntity{}}
	sort.Strings(keys) // each entity's labels in address order
	for _, k := range keys {
		if !common.IsHexAddress(k) {
			continue
		}
		n, err := s.AddrNum(common.HexToAddress(k))
		if err != nil {
			continue // not on this chain
		}
		ls, err := evmWatched(labels, k, chain, watch)
		if err != nil {
			return nil, err
		}
		e := c.Entity(n)
		for _, l := range ls {
			if w.ents[e] == nil {
				w.ents[e] = &EVMAlertEntity{ID: s.Address(e).Hex(), Labels: []EntityLabel{}}
			}
			w.ents[e].Labels = append(w.ents[e].Labels, EntityLabel{l, s.Address(n).Hex()})
		}
	}
	if len(w.ents) > 0 {
		for a := range uint32(s.Counts().Addrs) {
			if v := w.ents[c.Entity(a)]; v != nil {
				v.Size++
			}
		}
	}
	return w, nil
}

// evmWatched returns the labels of key (a lower-case address) of a
// watched category: Ethereum's, or chain's by name.
func evmWatched(labels *label.Store, key, chain string, watch func(string) bool) ([]label.Label, error) {
	ls, err := labels.LookupKey(key)
	var out []label.Label
	for _, l := range ls {
		if (l.Chain == label.ChainETH || l.Chain == chain) && watch(l.Category) {
			out = append(out, l)
		}
	}
	return out, err
}

// EVMBlockAlerts returns the alerts of block row r of an EVM store of
// chain: each transaction whose transfers, fees and burns apart, move an
// asset from or to an address with a label in a category watch takes, or
// (ents not nil) in an entity with such a label, in
// block order. The labels are Ethereum's, as screening and tracing read
// them on any EVM store, or the store's chain's by its own name.
// Block-level transfers (rewards, withdrawals) are not a transaction's and
// raise none.
func EVMBlockAlerts(s *evmstore.Store, labels *label.Store, chain string, r uint64, watch func(category string) bool, ents *EVMEntities) ([]EVMAlert, error) {
	b := s.Block(r)
	type said struct {
		labels []label.Label
		entity *EVMAlertEntity
	}
	cache := map[uint32]said{}
	watched := func(a uint32) (said, error) {
		if a == evmstore.None {
			return said{}, nil
		}
		if v, ok := cache[a]; ok {
			return v, nil
		}
		ls, err := evmWatched(labels, strings.ToLower(s.Address(a).Hex()), chain, watch)
		v := said{labels: ls}
		if ents != nil {
			v.entity = ents.ents[ents.c.Entity(a)]
		}
		if v.labels == nil && v.entity != nil {
			v.labels = []label.Label{} // "labels": [] for a party by its entity
		}
		cache[a] = v
		return v, err
	}
	type key struct {
		addr, asset uint32
		from        bool
	}
	var out []EVMAlert
	var cur *EVMAlert
	var curTx uint32 = evmstore.None
	sums := map[key]*uint256.Int{}
	at := map[key]int{} // the party's place on its side
	for x := b.FirstXfer; x < b.FirstXfer+b.NumXfer; x++ {
		t := s.Transfer(x)
		if t.Tx == evmstore.None || t.Kind == evm.KindFee || t.Kind == evm.KindBurn {
			continue
		}
		if t.Tx != curTx {
			if cur != nil && (len(cur.From) > 0 || len(cur.To) > 0) {
				out = append(out, *cur)
			}
			curTx = t.Tx
			cur = &EVMAlert{Chain: chain, Height: b.Number, BlockHash: b.Hash.Hex(), TxID: s.Tx(t.Tx).Hash.Hex(), From: []EVMAlertParty{}, To: []EVMAlertParty{}}
			clear(sums)
			clear(at)
		}
		for _, side := range []struct {
			addr uint32
			from bool
		}{{t.From, true}, {t.To, false}} {
			w, err := watched(side.addr)
			if err != nil {
				return nil, err
			}
			if len(w.labels) == 0 && w.entity == nil {
				continue
			}
			parties := &cur.To
			if side.from {
				parties = &cur.From
			}
			// An NFT's party is never summed into: at holds none.
			k := key{side.addr, t.Asset, side.from}
			if i, ok := at[k]; ok {
				sums[k].Add(sums[k], &t.Amount)
				(*parties)[i].Value = sums[k].Dec()
				continue
			}
			v := s.TransferView(x)
			p := EVMAlertParty{Address: s.Address(side.addr).Hex(), Asset: v.Asset, Symbol: v.Symbol, Decimals: v.Decimals, Value: v.Value, NFT: t.Kind == evm.KindNFT, Labels: w.labels, Entity: w.entity}
			if t.Kind != evm.KindNFT {
				sums[k], at[k] = new(uint256.Int).Set(&t.Amount), len(*parties)
			}
			*parties = append(*parties, p)
		}
	}
	if cur != nil && (len(cur.From) > 0 || len(cur.To) > 0) {
		out = append(out, *cur)
	}
	return out, nil
}

// DayBlock returns the first block (of first..last, numbered as the store
// numbers them) whose time (timeOf, Unix seconds) is on the day (UTC) or
// later, or, with end, the last block before the next day; false when
// there is none. It looks from the store's ends: Bitcoin's block times
// need not rise.
func DayBlock(day time.Time, end bool, first, last int64, timeOf func(int64) int64) (int64, bool) {
	if !end {
		start := day.Unix()
		for b := first; b <= last; b++ {
			if timeOf(b) >= start {
				return b, true
			}
		}
		return 0, false
	}
	next := day.AddDate(0, 0, 1).Unix()
	for b := last; b >= first; b-- {
		if timeOf(b) < next {
			return b, true
		}
	}
	return 0, false
}
