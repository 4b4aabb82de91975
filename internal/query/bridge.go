package query

import (
	"math"
	"sort"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
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
func BTCBridgePayouts(s *store.Store, labels *label.Store) ([]BTCPayout, error) {
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
