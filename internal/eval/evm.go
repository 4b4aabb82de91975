package eval

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/report"
	"github.com/spur-forensics/spur/internal/trace"
	"github.com/spur-forensics/spur/internal/world"
)

// EVMWorld checks the EVM store against the world's counts and measures the
// shape of its activity from the store alone.
func EVMWorld(s *evmstore.Store, t *world.Truth) []Row {
	c := s.Counts()
	txs, _ := t.Stats["evm_txs"].(float64)
	blocks, _ := t.Stats["evm_blocks"].(float64)
	rows := []Row{
		{Metric: "evm blocks ingested", Value: float64(c.Blocks), Truth: blocks, Target: "= truth", OK: check(float64(c.Blocks) == blocks)},
		{Metric: "evm transactions ingested", Value: float64(c.Txs), Truth: txs, Target: "= truth", OK: check(float64(c.Txs) == txs)},
	}
	// Realism from the store: what share of transactions are plain ETH
	// payments, token transfers, swaps; how many mixer withdrawals go
	// through a relayer (someone else sends the transaction).
	var plain, token, swaps, wd, relayed float64
	for n := uint32(0); uint64(n) < c.Txs; n++ {
		lo, hi := s.TxTransfers(n)
		kinds := map[evm.Kind]int{}
		for x := lo; x < hi; x++ {
			kinds[s.Transfer(x).Kind]++
		}
		switch {
		case kinds[evm.KindCall] == 1 && len(kinds) <= 3 && kinds[evm.KindToken] == 0 && kinds[evm.KindInternal] == 0:
			plain++
		case kinds[evm.KindToken] == 1 && kinds[evm.KindCall] == 0 && kinds[evm.KindInternal] == 0:
			token++
		}
	}
	for n := uint64(0); n < c.Events; n++ {
		e := s.Event(n)
		switch e.Kind {
		case evm.EventSwap:
			swaps++
		case evm.EventMixWithdrawal:
			wd++
			if s.Tx(e.Tx).From != e.Actor {
				relayed++
			}
		}
	}
	all := float64(c.Txs)
	if all == 0 {
		return rows
	}
	share := func(v float64) float64 { return v / all }
	rows = append(rows,
		Row{Metric: "evm realism: plain ETH payments / txs", Value: share(plain), Target: "0.20..0.50", OK: check(share(plain) >= 0.20 && share(plain) <= 0.50)},
		Row{Metric: "evm realism: single token transfers / txs", Value: share(token), Target: "0.10..0.40", OK: check(share(token) >= 0.10 && share(token) <= 0.40)},
		Row{Metric: "evm realism: DEX swaps / txs", Value: share(swaps), Target: "0.02..0.35", OK: check(share(swaps) >= 0.02 && share(swaps) <= 0.35)},
	)
	if wd > 0 {
		rows = append(rows, Row{Metric: "evm realism: mixer withdrawals through a relayer", Value: relayed / wd, Target: "0.60..0.95", OK: check(relayed/wd >= 0.60 && relayed/wd <= 0.95)})
	}
	return rows
}

// EVMClustering scores the account-chain heuristics against the owners in
// truth: deposit addresses found (precision: the hot wallet's owner owns
// it; recall: of the exchanges' addresses that are not hot wallets), and
// pairwise precision and recall of the entities.
func EVMClustering(s *evmstore.Store, c *cluster.EVMClusters, t *world.Truth) []Row {
	owner := map[uint32]int{}
	for text, o := range t.EVMAddresses {
		a, err := evmstore.ParseAddress(text)
		if err != nil {
			continue
		}
		if n, err := s.AddrNum(a); err == nil {
			owner[n] = o
		}
	}
	kind := map[int]string{}
	for _, e := range t.Entities {
		kind[e.ID] = e.Kind
	}
	hot := map[uint32]bool{}
	for _, h := range c.Deposits {
		hot[h] = true
	}
	var good float64
	for d, h := range c.Deposits {
		if o, ok := owner[d]; ok && o == owner[h] {
			good++
		}
	}
	var exchAddrs float64
	for n, o := range owner {
		if kind[o] == world.KindExchange && !hot[n] {
			exchAddrs++
		}
	}
	dp, dr := 1.0, 0.0
	if len(c.Deposits) > 0 {
		dp = good / float64(len(c.Deposits))
	}
	if exchAddrs > 0 {
		dr = good / exchAddrs
	}
	// Pairwise over the addresses truth knows.
	var pw pairwise
	for n, o := range owner {
		pw.add(int64(c.Entity(n)), int64(o))
	}
	pp, pr := pw.score()
	return []Row{
		{Metric: "evm deposit addresses found", Value: float64(len(c.Deposits)), Truth: exchAddrs},
		{Metric: "evm deposit addresses: precision", Value: dp, Target: ">= 0.95", OK: check(dp >= 0.95)},
		{Metric: "evm deposit addresses: recall", Value: dr, Target: ">= 0.80", OK: check(dr >= 0.80)},
		{Metric: "evm clustering (deposits + reuse): pairwise precision", Value: pp, Target: ">= 0.95", OK: check(pp >= 0.95)},
		{Metric: "evm clustering (deposits + reuse): pairwise recall", Value: pr},
	}
}

// EVMBridgeDeposits scores the bridge deposits found (transfers into
// labelled bridges, by transaction hash) against the incidents' bridge
// steps in truth.
func EVMBridgeDeposits(found map[string]bool, t *world.Truth) []Row {
	want := map[string]bool{}
	for _, inc := range t.Incidents {
		for _, st := range inc.Steps {
			if st.Chain == "eth" && st.Kind == "bridge" {
				want[st.Tx] = true
			}
		}
	}
	hit := 0.0
	for tx := range want {
		if found[tx] {
			hit++
		}
	}
	recall := 1.0
	if len(want) > 0 {
		recall = hit / float64(len(want))
	}
	return []Row{
		{Metric: "evm bridge deposits found (all / the incidents')", Value: float64(len(found)), Truth: float64(len(want))},
		{Metric: "evm bridge deposits: recall of the incidents'", Value: recall, Target: "= 1", OK: check(recall == 1)},
	}
}

// EVMTracing traces each incident's EVM theft under each model (with mixer
// links) and scores the destinations against truth, value-weighted: through
// exact links against the ETH that never entered the mixer (and what
// entered it), and through heuristic links against where the mixed ETH went.
func EVMTracing(s *evmstore.Store, t *world.Truth, base trace.EVMOptions) ([]Row, error) {
	var rows []Row
	for _, model := range []string{trace.FIFO, trace.Haircut, trace.Poison} {
		o := base
		o.Model, o.MixerLinks = model, true
		var exHit, exFound, exTruth, huHit, huFound, huTruth float64
		var linkHit, linkFound, linkTruth float64
		var holders, holdersOwn float64 // --format labels, and the incident actor's
		service := trace.ServiceAt(s, o.Services)
		traced := 0
		for _, inc := range t.Incidents {
			if inc.EVM == nil || len(inc.EVM.TheftTxs) == 0 {
				continue
			}
			var starts []trace.EVMStart
			for _, h := range inc.EVM.TheftTxs {
				n, err := s.TxNum(common.HexToHash(h))
				if err != nil {
					return nil, fmt.Errorf("eval: %s: %w", inc.ID, err)
				}
				lo, hi := s.TxTransfers(n)
				for x := lo; x < hi; x++ {
					if k := s.Transfer(x).Kind; k == evm.KindCall || k == evm.KindToken {
						starts = append(starts, trace.EVMStart{Transfer: x})
					}
				}
			}
			res, err := trace.TraceEVM(s, starts, o)
			if err != nil {
				return nil, err
			}
			traced++
			for _, h := range res.Holders(trace.HolderConfidence, service) {
				holders++
				if e, ok := t.EVMAddresses[h.Address]; ok && e < len(t.Entities) && t.Entities[e].Name == inc.Actor {
					holdersOwn++
				}
			}
			// Withdrawals linked, against the incident's own in truth.
			mixOuts := map[string]bool{}
			for _, st := range inc.Steps {
				if st.Chain == "eth" && st.Kind == "mix-out" {
					mixOuts[strings.ToLower(st.Tx)] = true
				}
			}
			linked := map[string]bool{}
			for _, f := range res.Flows {
				if f.Clue != "" {
					linked[strings.ToLower(f.Tx)] = true
				}
			}
			for tx := range linked {
				linkFound++
				if mixOuts[tx] {
					linkHit++
				}
			}
			linkTruth += float64(len(mixOuts))
			exact, heur := map[string]float64{}, map[string]float64{}
			for _, d := range res.Destinations {
				if d.Asset != "ETH" {
					continue
				}
				k := d.Category
				switch d.Category {
				case "exchange":
					k = "exchange:" + d.Label
				case "unspent", "mixer", "bridge":
				default:
					continue
				}
				v := ethOf(d.Amount)
				if d.Link == "exact" {
					exact[k] += v
				} else {
					heur[k] += v
				}
			}
			// Through exact links: exchanges, unspent and the mixer.
			for k, v := range exact {
				exFound += v
				if k != "bridge" {
					exHit += min(v, ethOf(inc.EVM.DestinationsExact[k]))
				}
			}
			for _, v := range inc.EVM.DestinationsExact {
				exTruth += ethOf(v)
			}
			// Through heuristic links: where the mixed ETH ended.
			mixedTruth := map[string]float64{}
			for k, v := range inc.EVM.Destinations {
				if k == "fees" || k == "mixer-fees" {
					continue
				}
				mixedTruth[k] = ethOf(v) - ethOf(inc.EVM.DestinationsExact[k])
			}
			for k, v := range heur {
				huFound += v
				huHit += min(v, max(mixedTruth[k], 0))
			}
			for _, v := range mixedTruth {
				huTruth += max(v, 0)
			}
		}
		ratio := func(a, b float64) float64 {
			if b == 0 {
				return 0
			}
			return a / b
		}
		p, r := ratio(exHit, exFound), ratio(exHit, exTruth)
		name := "evm tracing (" + model + "): "
		exactTarget := func(v float64) (string, *bool) {
			if model != trace.FIFO {
				return "", nil
			}
			return ">= 0.95", check(v >= 0.95)
		}
		heldTarget, heldOK := "", (*bool)(nil)
		if model == trace.FIFO {
			heldTarget, heldOK = ">= 0.95", check(ratio(holdersOwn, holders) >= 0.95)
		}
		tp, okp := exactTarget(p)
		tr, okr := exactTarget(r)
		rows = append(rows,
			Row{Metric: name + "incidents traced", Value: float64(traced)},
			Row{Metric: name + "exact links: precision", Value: p, Target: tp, OK: okp},
			Row{Metric: name + "exact links: recall", Value: r, Target: tr, OK: okr},
			Row{Metric: name + "through the mixer: share recovered by heuristic links", Value: ratio(huHit, huTruth)},
			Row{Metric: name + "through the mixer: precision of the heuristic links", Value: ratio(huHit, huFound)},
			Row{Metric: name + "mixer withdrawals linked: precision", Value: ratio(linkHit, linkFound)},
			Row{Metric: name + "mixer withdrawals linked: recall", Value: ratio(linkHit, linkTruth)},
			Row{Metric: name + "addresses holding the taint (--format labels)", Value: holders},
			Row{Metric: name + "addresses holding the taint (--format labels): the actor's share", Value: ratio(holdersOwn, holders), Target: heldTarget, OK: heldOK},
		)
	}
	return rows, nil
}

func unitsOf(v string, decimals int) float64 {
	f, ok := new(big.Float).SetString(orZero(v))
	if !ok {
		return 0
	}
	r, _ := f.Quo(f, new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil))).Float64()
	return r
}

func ethOf(wei string) float64 {
	v, ok := new(big.Float).SetString(orZero(wei))
	if !ok {
		return 0
	}
	f, _ := v.Quo(v, big.NewFloat(1e18)).Float64()
	return f
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// ActorReport checks an actor report against truth: total USD at theft-day
// prices, the asset mix, and the share that went through mixers.
func ActorReport(model string, total float64, mix map[string]float64, mixed float64, places map[string]float64, t *world.Truth) []Row {
	var tBTC, tETH, tTok, tMixed, tExch, tUnspent float64
	for _, inc := range t.Incidents {
		btcP, _ := world.PriceOn("BTC", inc.Date)
		tBTC += float64(inc.Stolen) / 1e8 * btcP
		for k, v := range inc.Destinations {
			if strings.HasPrefix(k, "exchange:") {
				tExch += float64(v) / 1e8 * btcP
			} else if k == "unspent" {
				tUnspent += float64(v) / 1e8 * btcP
			}
		}
		if inc.EVM != nil {
			ethP, _ := world.PriceOn("ETH", inc.Date)
			for k, v := range inc.EVM.Destinations {
				if strings.HasPrefix(k, "exchange:") {
					tExch += ethOf(v) * ethP
				} else if k == "unspent" {
					tUnspent += ethOf(v) * ethP
				}
			}
			for k, v := range inc.EVM.BridgedBTC {
				if strings.HasPrefix(k, "exchange:") {
					tExch += float64(v) / 1e8 * btcP
				} else if k == "unspent" {
					tUnspent += float64(v) / 1e8 * btcP
				}
			}
		}
		for _, st := range inc.Steps {
			if st.Chain == "btc" && st.Kind == "mix-in" {
				tMixed += float64(st.Amount) / 1e8 * btcP
			}
		}
		if inc.EVM == nil {
			continue
		}
		// Valued at the incident's date, as the report does.
		for asset, v := range inc.EVM.Stolen {
			p, _ := world.PriceOn(asset, inc.Date)
			usd := unitsOf(v, world.Decimals(asset)) * p
			if asset == "ETH" {
				tETH += usd
			} else {
				tTok += usd
			}
		}
		ethP, _ := world.PriceOn("ETH", inc.Date)
		for _, st := range inc.Steps {
			if st.Chain == "eth" && st.Kind == "mix-in" {
				tMixed += ethOf(st.Value) * ethP
			}
		}
	}
	var exch, unspent float64
	for k, v := range places {
		switch {
		case strings.HasPrefix(k, "exchange"):
			exch += v
		case strings.HasPrefix(k, "unspent"):
			unspent += v
		}
	}
	tTotal := tBTC + tETH + tTok
	if tTotal == 0 {
		return nil
	}
	// The bars are FIFO's; the other models are shown beside it.
	fifo := model == trace.FIFO
	target := func(t string, ok *bool) (string, *bool) {
		if !fifo {
			return "", nil
		}
		return t, ok
	}
	within := func(a, b, tol float64) *bool { return check(b != 0 && (a-b)/b <= tol && (b-a)/b <= tol) }
	pts := func(a, b float64) *bool { return check(a-b <= 0.01 && b-a <= 0.01) }
	name := "report (" + model + "): "
	row := func(metric string, v float64, t string, ok *bool) Row {
		t, ok = target(t, ok)
		return Row{Metric: name + metric, Value: v, Target: t, OK: ok}
	}
	return []Row{
		row("total USD stolen / truth", total/tTotal, "within 1%", within(total, tTotal, 0.01)),
		row("BTC share of the stolen USD", mix["BTC"], fmt.Sprintf("%.4f ± 0.01", tBTC/tTotal), pts(mix["BTC"], tBTC/tTotal)),
		row("ETH share", mix["ETH"], fmt.Sprintf("%.4f ± 0.01", tETH/tTotal), pts(mix["ETH"], tETH/tTotal)),
		row("token share", mix["tokens"], fmt.Sprintf("%.4f ± 0.01", tTok/tTotal), pts(mix["tokens"], tTok/tTotal)),
		row("share through mixers", mixed, fmt.Sprintf("%.4f ± 0.05", tMixed/tTotal), check(mixed-tMixed/tTotal <= 0.05 && tMixed/tTotal-mixed <= 0.05)),
		row("at exchanges / truth", exch/tExch, "within 5%", within(exch, tExch, 0.05)),
		row("still unspent / truth", unspent/tUnspent, "within 5%", within(unspent, tUnspent, 0.05)),
	}
}

// ReportDestinations scores where an actor report says each incident's
// money ended (USD at the theft day, both chains, bridged BTC included)
// against truth, value-weighted over the places money rests: each exchange
// and unspent. Precision is the reported value that truth has at the same
// place, recall the true value the report finds there; per incident and in
// total.
func ReportDestinations(model string, incs []*report.Incident, t *world.Truth) []Row {
	truthOf := map[string]*world.Incident{}
	for i := range t.Incidents {
		truthOf[t.Incidents[i].ID] = t.Incidents[i]
	}
	key := func(place string) (string, bool) {
		place = strings.TrimSuffix(place, " (via bridge)")
		place = strings.Replace(place, "exchange: ", "exchange:", 1)
		return place, strings.HasPrefix(place, "exchange:") || place == "unspent"
	}
	name := "report (" + model + "): destinations"
	var hit, found, want float64
	var rows []Row
	for _, r := range incs {
		inc := truthOf[r.ID]
		if inc == nil {
			continue
		}
		got := map[string]float64{}
		add := func(ds []report.Destination) {
			for _, d := range ds {
				if k, ok := key(d.Place); ok {
					got[k] += d.USD
				}
			}
		}
		add(r.Destinations)
		if r.EVM != nil {
			add(r.EVM.Destinations)
		}
		truth := map[string]float64{}
		btcP, _ := world.PriceOn("BTC", inc.Date)
		for k, v := range inc.Destinations {
			if k, ok := key(k); ok {
				truth[k] += float64(v) / 1e8 * btcP
			}
		}
		if inc.EVM != nil {
			ethP, _ := world.PriceOn("ETH", inc.Date)
			for k, v := range inc.EVM.Destinations {
				if k, ok := key(k); ok {
					truth[k] += ethOf(v) * ethP
				}
			}
			for k, v := range inc.EVM.BridgedBTC {
				if k, ok := key(k); ok {
					truth[k] += float64(v) / 1e8 * btcP
				}
			}
		}
		var h, f, w float64
		for k, v := range got {
			f += v
			h += min(v, truth[k])
		}
		for _, v := range truth {
			w += v
		}
		hit, found, want = hit+h, found+f, want+w
		rows = append(rows,
			Row{Metric: fmt.Sprintf("%s %s: precision", name, r.ID), Value: h / max(f, 1e-9)},
			Row{Metric: fmt.Sprintf("%s %s: recall", name, r.ID), Value: h / max(w, 1e-9)})
	}
	return append(rows,
		Row{Metric: name + ", all incidents: precision", Value: hit / max(found, 1e-9)},
		Row{Metric: name + ", all incidents: recall", Value: hit / max(want, 1e-9)})
}
