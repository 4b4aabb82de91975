package query

import (
	"strings"
	"time"

	"github.com/holiman/uint256"

	"github.com/spur-forensics/spur/internal/btc"
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
	Height    int64        `json:"height"`
	BlockHash string       `json:"block_hash"`
	TxID      string       `json:"txid"`
	From      []AlertParty `json:"from"` // the spent outputs' addresses so labelled
	To        []AlertParty `json:"to"`   // the outputs' addresses so labelled
}

// An AlertParty is a labelled address on one side of an alert's
// transaction, with what it spent or received there in all.
type AlertParty struct {
	Address string        `json:"address"`
	Value   int64         `json:"value"`  // satoshi
	Labels  []label.Label `json:"labels"` // those of the watched categories
}

// Alerts finds the alerts of a Bitcoin store's blocks against the labels
// as they are when it is made.
type Alerts struct {
	s      *store.Store
	labels *label.Store
	watch  func(category string) bool
	// nums holds the address numbers of the store's addresses that have a
	// label of any category: a transaction none of whose inputs and
	// outputs is one of them is passed over on column reads alone.
	nums map[uint32]bool
}

// NewAlerts readies the alerts of labels' addresses in a category watch
// takes, caching the labels' keys (label.Store.CacheKeys) if they are not.
func NewAlerts(s *store.Store, labels *label.Store, watch func(category string) bool) (*Alerts, error) {
	a := &Alerts{s: s, labels: labels, watch: watch, nums: map[uint32]bool{}}
	add := func(key string) {
		// Keys of other chains do not parse, or are not in the store.
		if addr, err := btc.ParseAddress(key, s.Network()); err == nil {
			if n, err := s.AddrNum(addr); err == nil {
				a.nums[n] = true
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

// Block returns the alerts of the block at height h: each of its
// transactions that spends from or pays to an address with a label of a
// watched category, in block order. The labels are the address's own (an
// entity's reach no further).
func (w *Alerts) Block(h int64) ([]Alert, error) {
	s := w.s
	first, n := s.BlockTxs(h)
	hash, err := s.BlockHashAt(h)
	if err != nil {
		return nil, err
	}
	touches := func(tx uint64) bool {
		firstIn, numIn, firstOut, numOut := s.TxRange(tx)
		for i := firstIn; i < firstIn+numIn; i++ {
			if o := s.InputSpends(i); o != store.NoOutput && w.nums[s.OutAddr(o)] {
				return true
			}
		}
		for o := firstOut; o < firstOut+numOut; o++ {
			if w.nums[s.OutAddr(o)] {
				return true
			}
		}
		return false
	}
	watched := func(addr string) ([]label.Label, error) {
		if addr == "" {
			return nil, nil
		}
		ls, err := w.labels.LookupKey(addr)
		var out []label.Label
		for _, l := range ls {
			if l.Chain == label.ChainBTC && w.watch(l.Category) {
				out = append(out, l)
			}
		}
		return out, err
	}
	// add sums value into the party of addr on one side, made the first
	// time the address is seen there.
	add := func(side []AlertParty, addr string, value int64, ls []label.Label) []AlertParty {
		for i := range side {
			if side[i].Address == addr {
				side[i].Value += value
				return side
			}
		}
		return append(side, AlertParty{Address: addr, Value: value, Labels: ls})
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
		for _, in := range v.Inputs {
			ls, err := watched(in.Address)
			if err != nil {
				return nil, err
			}
			if len(ls) > 0 && in.Value != nil {
				a.From = add(a.From, in.Address, *in.Value, ls)
			}
		}
		for _, o := range v.Outputs {
			ls, err := watched(o.Address)
			if err != nil {
				return nil, err
			}
			if len(ls) > 0 {
				a.To = add(a.To, o.Address, o.Value, ls)
			}
		}
		if len(a.From) > 0 || len(a.To) > 0 {
			out = append(out, a)
		}
	}
	return out, nil
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
}

// EVMBlockAlerts returns the alerts of block row r of an EVM store of
// chain: each transaction whose transfers, fees and burns apart, move an
// asset from or to an address with a label in a category watch takes, in
// block order. The labels are Ethereum's, as screening and tracing read
// them on any EVM store, or the store's chain's by its own name.
// Block-level transfers (rewards, withdrawals) are not a transaction's and
// raise none.
func EVMBlockAlerts(s *evmstore.Store, labels *label.Store, chain string, r uint64, watch func(category string) bool) ([]EVMAlert, error) {
	b := s.Block(r)
	cache := map[uint32][]label.Label{}
	watched := func(a uint32) ([]label.Label, error) {
		if a == evmstore.None {
			return nil, nil
		}
		if ls, ok := cache[a]; ok {
			return ls, nil
		}
		ls, err := labels.LookupKey(strings.ToLower(s.Address(a).Hex()))
		var out []label.Label
		for _, l := range ls {
			if (l.Chain == label.ChainETH || l.Chain == chain) && watch(l.Category) {
				out = append(out, l)
			}
		}
		cache[a] = out
		return out, err
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
			ls, err := watched(side.addr)
			if err != nil {
				return nil, err
			}
			if len(ls) == 0 {
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
			p := EVMAlertParty{Address: s.Address(side.addr).Hex(), Asset: v.Asset, Symbol: v.Symbol, Decimals: v.Decimals, Value: v.Value, NFT: t.Kind == evm.KindNFT, Labels: ls}
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
