package query

import (
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

// BlockAlerts returns the alerts of the block at height h: each of its
// transactions that spends from or pays to an address with a label of a
// category watch takes, in block order. The labels are the address's own
// (an entity's reach no further).
func BlockAlerts(s *store.Store, labels *label.Store, h int64, watch func(category string) bool) ([]Alert, error) {
	first, n := s.BlockTxs(h)
	hash, err := s.BlockHashAt(h)
	if err != nil {
		return nil, err
	}
	watched := func(addr string) ([]label.Label, error) {
		if addr == "" {
			return nil, nil
		}
		ls, err := labels.LookupKey(addr)
		var out []label.Label
		for _, l := range ls {
			if l.Chain == label.ChainBTC && watch(l.Category) {
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
