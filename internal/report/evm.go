package report

import (
	"fmt"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/graph"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
)

// EVMPart is an incident's part on an EVM chain: what was taken there and
// where it went, in USD at the theft day's closes. Places are those of the
// exact trace except the mixer: what left the mixer by a heuristic link is
// shown where it ended (and counted in HeuristicUSD); the rest of what went
// in stays "mixer (not followed)".
type EVMPart struct {
	Chain        string             `json:"chain"`
	Stolen       map[string]string  `json:"stolen"`     // asset -> base units
	AssetUSD     map[string]float64 `json:"asset_usd"`  // asset -> USD
	StolenUSD    float64            `json:"stolen_usd"` // at the theft day's closes
	MixerUSD     float64            `json:"mixer_usd"`  // tainted value paid into mixers
	HeuristicUSD float64            `json:"heuristic_usd"`
	Destinations []Destination      `json:"destinations"` // USD by place
	MixerLinks   map[string]int     `json:"mixer_links,omitempty"`
	// Crossed counts the bridge deposits matched to a Bitcoin payout.
	Crossed int `json:"bridge_payouts_matched"`
	// UnspentUSDNow is what is still unspent, here and (via the bridge)
	// on Bitcoin, at each asset's latest close (NowDay is ETH's).
	UnspentUSDNow float64 `json:"unspent_usd_now"`
	NowDay        string  `json:"now_day,omitempty"`

	timeline []TimePoint         // by month of arrival, for the incident's timeline
	drawing  func() *graph.Graph // the trace drawn, over the bridge too
}

type crossing struct {
	share   float64          // of the bridged value, what was matched
	sat     map[string]int64 // where the matched BTC went, by place
	total   int64
	matched int
	x       *query.Crossing
}

// crossBridge carries the trace over its bridges to Bitcoin
// (query.CrossToBTC) and sums where the BTC went by place.
func crossBridge(s store.Reader, es evmstore.Reader, labels label.Reader, res *trace.EVMResult, model string) (*crossing, error) {
	x, err := query.CrossToBTC(s, es, labels, res, model)
	if err != nil || x == nil {
		return nil, err
	}
	c := &crossing{share: x.Share, sat: map[string]int64{}, matched: x.Matched, x: x}
	for _, d := range x.Trace.Destinations {
		place := d.Category
		if d.Category == "exchange" {
			place = exchangePlace(d.Label)
		}
		c.sat[place] += d.Amount
		c.total += d.Amount
	}
	return c, nil
}

// forEVM traces an incident's EVM theft transactions. What reached a
// bridge or swap service continues on Bitcoin (s) at the payouts matched to
// it (the service's payout after the deposit whose value fits the deposit
// at that day's prices), as heuristic.
func forEVM(s store.Reader, es evmstore.Reader, labels label.Reader, inc label.Incident, day, model string, eo *trace.EVMOptions) (*EVMPart, error) {
	var starts []trace.EVMStart
	for _, h := range inc.EVM.TheftTxs {
		n, err := es.TxNum(common.HexToHash(h))
		if err != nil {
			return nil, fmt.Errorf("report: incident %s: %w", inc.ID, err)
		}
		lo, hi := es.TxTransfers(n)
		for x := lo; x < hi; x++ {
			if k := es.Transfer(x).Kind; k == evm.KindCall || k == evm.KindInternal || k == evm.KindToken {
				starts = append(starts, trace.EVMStart{Transfer: x})
			}
		}
	}
	if eo == nil {
		o, err := query.EVMTraceOptions(es, labels, model, true)
		if err != nil {
			return nil, err
		}
		eo = &o
	}
	o := *eo
	res, err := trace.TraceEVM(es, starts, o)
	if err != nil {
		return nil, err
	}
	dec := query.TokenDecimals(es)
	value := func(asset, amount string) float64 { return query.EVMUSD(labels, dec, asset, amount, day) }
	p := &EVMPart{Chain: es.Chain(), Stolen: res.Start, AssetUSD: map[string]float64{}, MixerLinks: res.MixerLinks}
	for a, v := range res.Start {
		p.AssetUSD[a] = value(a, v)
		p.StolenUSD += p.AssetUSD[a]
	}
	var bridged *query.Crossing // drawn with the trace, once matched
	p.drawing = func() *graph.Graph {
		return graph.FromEVMTrace(es, labels, res, false, es.Chain()+": "+graph.Title(res.Model, false, []string{"incident:" + inc.ID})+" (with mixer links)", bridged, day)
	}
	places := map[string]float64{}
	tl := map[[2]string]float64{}
	var heurTotal float64
	heurBridge := 0.0 // of the bridge's value, what came by heuristic links
	p.NowDay, _, _ = labels.LastPrice("ETH")
	for _, d := range res.Destinations {
		v := value(d.Asset, d.Amount)
		if d.Category == "unspent" {
			if last, _, ok := labels.LastPrice(d.Asset); ok {
				p.UnspentUSDNow += query.EVMUSD(labels, dec, d.Asset, d.Amount, last)
			}
		}
		if r, err := es.BlockRow(d.Block); err == nil && d.Category != "mixer" {
			addTime(tl, time.Unix(int64(es.Block(r).Time), 0), d.Category, v)
		}
		place := d.Category
		switch d.Category {
		case "exchange":
			place = exchangePlace(d.Label)
		case "mixer-fees":
			place = "fees"
		}
		if d.Category == "mixer" {
			p.MixerUSD += v
			continue
		}
		if d.Link == "heuristic" {
			heurTotal += v
			if place == "bridge" {
				heurBridge += v
			}
		}
		places[place] += v
	}
	if rest := p.MixerUSD - heurTotal; rest > 0.005 {
		places["mixer (not followed)"] += rest
	}
	if s != nil && places["bridge"] > 0 {
		crossed, err := crossBridge(s, es, labels, res, model)
		if err != nil {
			return nil, err
		}
		if crossed != nil {
			bridged = crossed.x
			bridgedUSD := places["bridge"]
			moved := bridgedUSD * crossed.share
			places["bridge"] -= moved
			if places["bridge"] < 0.005 {
				delete(places, "bridge")
			} else {
				places["bridge (no payout matched)"] = places["bridge"]
				delete(places, "bridge")
			}
			for k, sat := range crossed.sat {
				places[k+" (via bridge)"] += moved * float64(sat) / float64(max(crossed.total, 1))
			}
			if _, btc, ok := labels.LastPrice("BTC"); ok {
				p.UnspentUSDNow += usd(crossed.sat["unspent"], btc)
			}
			// The payout match makes heuristic what reached the bridge
			// exactly; what reached it by a heuristic link is counted.
			heurTotal += moved * (1 - heurBridge/bridgedUSD)
			p.Crossed = crossed.matched
		}
	}
	p.HeuristicUSD = heurTotal
	p.UnspentUSDNow = round2(p.UnspentUSDNow)
	p.timeline = timeline(tl)
	for k, v := range places {
		p.Destinations = append(p.Destinations, Destination{Place: k, USD: round2(v), Share: v / max(p.StolenUSD, 1e-9)})
	}
	sort.Slice(p.Destinations, func(i, j int) bool {
		return p.Destinations[i].USD > p.Destinations[j].USD || p.Destinations[i].USD == p.Destinations[j].USD && p.Destinations[i].Place < p.Destinations[j].Place
	})
	return p, nil
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
