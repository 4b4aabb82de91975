package eval

import (
	"fmt"
	"sort"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/store"
)

// Band is a documented range a world statistic must fall in
// (docs/world.md, "Realism", gives the source of each).
type Band struct{ Lo, Hi float64 }

func (b Band) String() string { return fmt.Sprintf("%g..%g", b.Lo, b.Hi) }

// The bands of docs/world.md.
var (
	BandSegwitOutputs = Band{0.40, 0.85} // WORLD-FACTS 2a: SegWit share of txs, 40% (Aug 2020) to ~80% (Sep 2021)
	BandReusedOutputs = Band{0.15, 0.55} // WORLD-FACTS 2a: ~50% of outputs to used addresses (BitMEX), 35% of addresses reused
	BandOneInTwoOut   = Band{0.30, 0.80} // a knob: the mainnet share is a gap in the sources
	BandMedianFee     = Band{500, 4500}  // a knob: 2021 fee-rate percentiles are a gap in the sources
)

// taprootTime is the day Taproot's rules applied on mainnet (block 709,632,
// 2021-11-14): no world block before it may pay a P2TR output.
var taprootTime = time.Date(2021, 11, 14, 0, 0, 0, 0, time.UTC).Unix()

// Realism measures the world's background from the store alone (the
// chain an analyst would see) and checks each statistic against its band.
func Realism(s *store.Store) ([]Row, error) {
	var outs, segwit, p2trEarly, reused, spendTxs, oneTwo, coinjoins float64
	byType := map[btc.ScriptType]float64{}
	var fees []int64
	for h := int64(0); h <= s.Height(); h++ {
		b, err := s.Block(h)
		if err != nil {
			return nil, err
		}
		firstNew := s.BlockFirstAddr(h)
		hdr := b.Header
		for i := range b.NumTx {
			n := b.FirstTx + i
			if i == 0 {
				continue // the coinbase
			}
			_, numIn, firstOut, numOut := s.TxRange(n)
			spendTxs++
			if numIn == 1 && numOut == 2 {
				oneTwo++
			}
			if numIn >= 5 && numIn == numOut {
				coinjoins++
			}
			fees = append(fees, s.TxFee(n))
			for o := firstOut; o < firstOut+numOut; o++ {
				_, typ := s.OutValue(o)
				if typ == btc.NullData {
					continue
				}
				outs++
				byType[typ]++
				switch typ {
				case btc.WitnessV0KeyHash, btc.WitnessV0ScriptHash, btc.WitnessV1Taproot:
					segwit++
				}
				if typ == btc.WitnessV1Taproot && int64(hdr.Time) < taprootTime {
					p2trEarly++
				}
				if a := s.OutAddr(o); a != store.NoAddress && a < firstNew {
					reused++
				}
			}
		}
	}
	if spendTxs == 0 || outs == 0 {
		return nil, fmt.Errorf("eval: realism: the store has no spending transactions")
	}
	sort.Slice(fees, func(i, j int) bool { return fees[i] < fees[j] })
	medianFee := float64(fees[len(fees)/2])
	in := func(v float64, b Band) *bool { return check(v >= b.Lo && v <= b.Hi) }
	rows := []Row{
		{Metric: "realism: share of outputs to segwit scripts", Value: segwit / outs, Target: BandSegwitOutputs.String(), OK: in(segwit/outs, BandSegwitOutputs)},
		{Metric: "realism: share of outputs to an address already used", Value: reused / outs, Target: BandReusedOutputs.String(), OK: in(reused/outs, BandReusedOutputs)},
		{Metric: "realism: share of txs with 1 input and 2 outputs", Value: oneTwo / spendTxs, Target: BandOneInTwoOut.String(), OK: in(oneTwo/spendTxs, BandOneInTwoOut)},
		{Metric: "realism: median fee per tx (sat)", Value: medianFee, Target: BandMedianFee.String(), OK: in(medianFee, BandMedianFee)},
		{Metric: "realism: p2tr outputs before taproot (2021-11-14)", Value: p2trEarly, Target: "= 0", OK: check(p2trEarly == 0)},
		{Metric: "realism: txs with 5+ inputs and as many outputs (coinjoin shape)", Value: coinjoins, Target: "> 0", OK: check(coinjoins > 0)},
	}
	for _, t := range []btc.ScriptType{btc.WitnessV0KeyHash, btc.PubKeyHash, btc.ScriptHash, btc.WitnessV0ScriptHash, btc.WitnessV1Taproot} {
		rows = append(rows, Row{Metric: "realism: share of outputs " + t.String(), Value: byType[t] / outs})
	}
	return rows, nil
}
