package query

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
)

// BTCPayout is an output a labelled bridge or swap service paid on the
// Bitcoin side: a candidate end of a cross-chain hop.
type BTCPayout struct {
	Output uint64
	Value  int64
	Time   time.Time
	Bridge string // the service's label
}

// BTCBridgePayouts lists what the addresses labelled bridge on Bitcoin paid
// to others: the outputs, not back to a bridge address, of every
// transaction that spent a bridge's coins; in time order.
func BTCBridgePayouts(s store.Reader, labels label.Reader) ([]BTCPayout, error) {
	bridges := map[uint32]string{}
	err := labels.List(label.Filter{Chain: label.ChainBTC}, func(l label.Label) error {
		if l.Category != label.Bridge {
			return nil
		}
		a, err := btc.ParseAddress(l.Address, s.Network())
		if err != nil {
			return nil
		}
		if n, err := s.AddrNum(a); err == nil {
			bridges[n] = l.Label
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[uint64]bool{}
	var out []BTCPayout
	for b, name := range bridges {
		err := s.Postings(b, func(o uint64) bool {
			op := s.Output(o)
			if !op.Spent || seen[op.SpentBy] {
				return true
			}
			tx := op.SpentBy
			seen[tx] = true
			hdr, err := s.Header(s.TxHeight(tx))
			if err != nil {
				return true
			}
			_, _, first, n := s.TxRange(tx)
			for k := first; k < first+n; k++ {
				p := s.Output(k)
				if _, own := bridges[p.Addr]; own || p.Value == 0 {
					continue
				}
				out = append(out, BTCPayout{Output: k, Value: p.Value, Time: time.Unix(int64(hdr.Time), 0).UTC(), Bridge: name})
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Time.Before(out[j].Time) || out[i].Time.Equal(out[j].Time) && out[i].Output < out[j].Output
	})
	return out, nil
}

// MatchPayout picks, for value worth usd paid into a bridge at t, the
// unused payout from the following window (default 12 hours) whose value is
// closest to what usd buys in BTC at btcUSD, within tolerance (a share, say
// 0.03 for the service's fee and the price moving). -1 when none fits.
func MatchPayout(payouts []BTCPayout, used map[int]bool, t time.Time, usd, btcUSD, tolerance float64, window time.Duration) int {
	if btcUSD <= 0 {
		return -1
	}
	if window == 0 {
		window = 12 * time.Hour
	}
	want := usd / btcUSD * 1e8
	best, bestDiff := -1, math.MaxFloat64
	i := sort.Search(len(payouts), func(i int) bool { return !payouts[i].Time.Before(t) })
	for ; i < len(payouts) && payouts[i].Time.Sub(t) <= window; i++ {
		if used[i] {
			continue
		}
		d := math.Abs(float64(payouts[i].Value)-want) / want
		if d <= tolerance && d < bestDiff {
			best, bestDiff = i, d
		}
	}
	return best
}

// Crossing is an EVM trace carried over to Bitcoin: its bridge deposits
// matched to the services' payouts, and the Bitcoin trace from those.
type Crossing struct {
	Share   float64       `json:"share"`   // of the tainted value bridged, what was matched (by USD)
	Matched int           `json:"matched"` // deposits matched to a payout
	Links   []BridgeLink  `json:"links"`   // each deposit matched, with its payout
	Trace   *trace.Result `json:"btc_trace"`
}

// BridgeLink is a deposit into a bridge on the EVM chain matched to the
// bridge's payout on Bitcoin, and the payout's tainted part (satoshi).
type BridgeLink struct {
	DepositTx     string `json:"deposit_tx"`
	Bridge        string `json:"bridge"` // the deposit address on the EVM chain
	Payout        string `json:"payout"` // txid:vout
	PayoutAddress string `json:"payout_address"`
	Amount        int64  `json:"amount"`
}

// CrossToBTC matches an EVM trace's bridge deposits to the Bitcoin payouts
// of the services labelled bridge (the first unused payout within 72 hours
// after the deposit, within 2% of its value at that day's prices) and traces
// those payouts forward on Bitcoin, each for its deposit's tainted share.
// Nil when nothing matched.
func CrossToBTC(s store.Reader, es evmstore.Reader, labels label.Reader, res *trace.EVMResult, model string) (*Crossing, error) {
	payouts, err := BTCBridgePayouts(s, labels)
	if err != nil || len(payouts) == 0 {
		return nil, err
	}
	dec := TokenDecimals(es)
	bridges := map[string]bool{}
	for _, d := range res.Destinations {
		if d.Category == "bridge" {
			bridges[d.Address] = true
		}
	}
	// A deposit's taint may come as an exact and a heuristic flow: match
	// the deposit whole.
	type dep struct {
		f   trace.EVMFlow
		sum *big.Int
	}
	var deps []*dep
	byKey := map[string]*dep{}
	for _, f := range res.Flows {
		if !bridges[f.To] {
			continue
		}
		v, _ := new(big.Int).SetString(f.Amount, 10)
		k := fmt.Sprint(f.Transfer)
		if d := byKey[k]; d != nil {
			d.sum.Add(d.sum, v)
			continue
		}
		d := &dep{f, v}
		byKey[k] = d
		deps = append(deps, d)
	}
	used := map[int]bool{}
	var starts []trace.Start
	var links []BridgeLink
	var all, matched float64
	for _, dp := range deps {
		f := dp.f
		row := es.Transfer(f.Transfer)
		whole := row.Amount.ToBig()
		r, err := es.BlockRow(f.Block)
		if err != nil {
			continue
		}
		at := time.Unix(int64(es.Block(r).Time), 0).UTC()
		d := at.Format("2006-01-02")
		// The payout is for the whole deposit; the taint is its share.
		usd := EVMUSD(labels, dec, f.Asset, whole.String(), d)
		tainted := EVMUSD(labels, dec, f.Asset, dp.sum.String(), d)
		all += tainted
		btcUSD, _ := labels.Price("BTC", d)
		// The world's Bitcoin blocks can be a day apart: a wide window.
		if i := MatchPayout(payouts, used, at, usd, btcUSD, 0.02, 72*time.Hour); i >= 0 && usd > 0 {
			used[i] = true
			matched += tainted
			// The payout's tainted part: its share of the deposit's, in
			// integers (the deposit's tainted wei of its whole).
			part := new(big.Int).Mul(big.NewInt(payouts[i].Value), dp.sum)
			part.Quo(part, whole)
			st := trace.Start{Output: payouts[i].Output, Amount: min(part.Int64(), payouts[i].Value)}
			starts = append(starts, st)
			tx, vout := s.TxOfOutput(st.Output)
			l := BridgeLink{DepositTx: f.Tx, Bridge: f.To, Payout: fmt.Sprintf("%s:%d", s.TxID(tx), vout), Amount: st.Amount}
			if a := s.OutAddr(st.Output); a != store.NoAddress {
				l.PayoutAddress = s.Address(a).String(s.Network())
			}
			links = append(links, l)
		}
	}
	if len(starts) == 0 || all == 0 {
		return nil, nil
	}
	o := trace.Options{Model: model}
	if o.Services, o.HotWallets, err = Services(s, labels); err != nil {
		return nil, err
	}
	bt, err := trace.Forward(s, starts, o)
	if err != nil {
		return nil, err
	}
	return &Crossing{Share: matched / all, Matched: len(starts), Links: links, Trace: bt}, nil
}
