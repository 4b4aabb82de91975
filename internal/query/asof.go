package query

import (
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/store"
)

// ChainTip is a chain as of the block an answer read it at.
type ChainTip struct {
	Height int64  `json:"height"`
	Tip    string `json:"tip"`
}

// AsOf gives each chain of the stores (st, es: either may be nil) as of
// its tip, by name (btc, eth, ...): what a screen or a trace read, for
// the record beside its answer.
func AsOf(st store.Reader, es evmstore.Reader) map[string]ChainTip {
	out := map[string]ChainTip{}
	if st != nil && st.Height() >= 0 {
		out["btc"] = ChainTip{st.Height(), st.TipHash().String()}
	}
	if es != nil {
		if row, err := es.TipRow(); err == nil {
			b := es.Block(row)
			out[es.Chain()] = ChainTip{int64(b.Number), b.Hash.Hex()}
		}
	}
	return out
}
