package graph

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sort"
	"strings"

	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/trace"
)

// The graphs of traces: Bitcoin's through its transactions, an EVM
// chain's transfer by transfer, and across a bridge.

// Title names a trace in a graph's caption.
func Title(model string, backward bool, refs []string) string {
	dir := "forward"
	if backward {
		dir = "backward"
	}
	return fmt.Sprintf("%s trace %s from %s", model, dir, strings.Join(refs, ", "))
}

// ends is a caption's line of where a trace ended, by category.
func ends(backward bool, byCat map[string]string) string {
	cats := make([]string, 0, len(byCat))
	for c := range byCat {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for i, c := range cats {
		cats[i] = c + " " + byCat[c]
	}
	if backward {
		return "sources: " + strings.Join(cats, ", ")
	}
	return "destinations: " + strings.Join(cats, ", ")
}

// FromBTC draws a Bitcoin trace: its addresses and, between them, the
// transactions that moved the taint (a transaction's inputs are not paid
// to its outputs one by one, so only the transaction joins them exactly).
// Forward, each start output's address pays the transaction that spent it,
// and each flow runs from its transaction to its output's address and on
// to the transaction that spent that (spent_by); backward, from the inputs'
// addresses through the transaction to the address of the output they
// explain, as the value moved. usd values satoshi at the start day's close
// (nil: no prices); the caption says where the trace ended.
func FromBTC(res *trace.Result, backward bool, title string, usd func(sat int64) float64) *Graph {
	g := New(title)
	g.backward = backward
	sums := g.addBTC(res, backward, true, usd)
	start := g.Exact(big.NewInt(res.Start), "BTC")
	if usd != nil {
		if v := usd(res.Start); v > 0 {
			start += " (" + usdText(v) + ")"
		}
	}
	g.Notes = append(g.Notes, fmt.Sprintf("start: %s; %d transactions, %d flows", start, res.TxsVisited, len(res.Flows)))
	byCat := map[string]string{}
	for c, v := range sums {
		byCat[c] = g.Exact(big.NewInt(v), "BTC")
	}
	g.Notes = append(g.Notes, ends(backward, byCat))
	return g
}

// addBTC draws a Bitcoin trace into g (its starts as starts, if starts)
// and returns its destinations' amounts by category.
func (g *Graph) addBTC(res *trace.Result, backward, starts bool, usd func(sat int64) float64) map[string]int64 {
	g.Decimals["BTC"] = 8
	value := func(sat int64) float64 {
		if usd == nil {
			return 0
		}
		return usd(sat)
	}
	add := func(tx, from, to string, f trace.Flow) {
		g.AddFlow(tx, from, to, f.Asset, f.Link, big.NewInt(f.Amount), value(f.Amount))
	}
	addr := func(a, tx string) string {
		if a == "" {
			return "no address, in tx " + tx
		}
		return a
	}
	if backward {
		for _, f := range res.Flows {
			t := g.txNode(f.Tx, f.CoinJoin)
			add(f.Tx, addr(f.From, f.Tx), t, f)
			add(f.Tx, t, addr(f.To, f.Tx), f)
			if f.Hop == 1 && starts { // explains a start output
				g.node(addr(f.To, f.Tx)).Start = true
			}
		}
	} else {
		for _, f := range res.Starts {
			if n := g.node(addr(f.To, f.Tx)); starts { // drawn even where it never moved
				n.Start = true
			}
			if f.SpentBy != "" {
				add(f.SpentBy, addr(f.To, f.Tx), g.txNode(f.SpentBy, ""), f)
			}
		}
		for _, f := range res.Flows {
			to := addr(f.To, f.Tx)
			add(f.Tx, g.txNode(f.Tx, f.CoinJoin), to, f)
			if f.SpentBy != "" {
				add(f.SpentBy, to, g.txNode(f.SpentBy, ""), f)
			}
		}
	}
	sums := map[string]int64{}
	for _, d := range res.Destinations {
		g.Mark(d.Address, d.Category, d.Label)
		sums[d.Category] += d.Amount
	}
	return sums
}

// AddCrossing carries an EVM trace's graph over its bridges
// (query.CrossToBTC): an edge (heuristic: the match is by time and value)
// from each bridge deposit address to the address of the payout matched to
// it, and the Bitcoin trace of those payouts on from there. usd values
// satoshi (nil: none).
func (g *Graph) AddCrossing(c *query.Crossing, usd func(sat int64) float64) {
	g.Decimals["BTC"] = 8
	for _, l := range c.Links {
		v := 0.0
		if usd != nil {
			v = usd(l.Amount)
		}
		to := l.PayoutAddress
		if to == "" {
			to = "no address, in tx " + l.Payout
		}
		g.AddFlow(l.DepositTx, l.Bridge, to, "BTC", "heuristic", big.NewInt(l.Amount), v)
	}
	sums := g.addBTC(c.Trace, false, false, usd)
	byCat := map[string]string{}
	for cat, v := range sums {
		byCat[cat] = g.Exact(big.NewInt(v), "BTC")
	}
	g.Notes = append(g.Notes, fmt.Sprintf("carried over to Bitcoin at %d bridge payouts matched; there, %s", len(c.Links), ends(false, byCat)))
}

// txNode returns the node of a Bitcoin transaction, added if new, and
// names the kind of CoinJoin it is, if one.
func (g *Graph) txNode(txid, coinjoin string) string {
	n := g.node("tx " + txid)
	n.Tx = true
	if coinjoin != "" {
		n.CoinJoin = coinjoin
	}
	return n.ID
}

// FromEVMTrace draws an account-model trace as spur trace and the API do:
// each flow in USD at its block's day's close, and, where the trace was
// carried over a bridge (crossed, or nil), the Bitcoin side at the close of
// startDay.
func FromEVMTrace(es evmstore.Reader, labels label.Reader, res *trace.EVMResult, backward bool, title string, crossed *query.Crossing, startDay string) *Graph {
	dec := query.TokenDecimals(es)
	g := FromEVM(res, backward, title, func(asset, amount string, block uint64) float64 {
		return query.EVMUSD(labels, dec, asset, amount, query.EVMBlockDay(es, block))
	})
	if crossed != nil {
		price, _ := labels.Price("BTC", startDay)
		g.AddCrossing(crossed, func(sat int64) float64 { return float64(sat) / 1e8 * price })
	}
	return g
}

// FromEVM draws an account-model trace. usd values an amount of an asset
// at the day of a block (nil: no prices): each flow at its own, each
// destination at its arrival; the caption gives the start and the
// destinations by category in USD.
func FromEVM(res *trace.EVMResult, backward bool, title string, usd func(asset, amount string, block uint64) float64) *Graph {
	g := New(title)
	g.backward = backward
	for a, d := range res.Decimals {
		g.Decimals[a] = int(d)
	}
	value := func(asset, amount string, block uint64) float64 {
		if usd == nil {
			return 0
		}
		return usd(asset, amount, block)
	}
	for _, f := range res.Flows {
		amt, ok := new(big.Int).SetString(f.Amount, 10)
		if !ok || f.From == "" || f.To == "" {
			continue
		}
		g.AddFlow(f.Tx, f.From, f.To, f.Asset, f.Link, amt, value(f.Asset, f.Amount, f.Block))
	}
	sums := map[string]float64{}
	for _, d := range res.Destinations {
		g.Mark(d.Address, d.Category, d.Label)
		sums[d.Category] += value(d.Asset, d.Amount, d.Block)
	}
	var start []string
	for _, a := range slices.Sorted(maps.Keys(res.Start)) {
		if v, ok := new(big.Int).SetString(res.Start[a], 10); ok {
			start = append(start, g.Exact(v, a))
		}
	}
	g.Notes = append(g.Notes, fmt.Sprintf("start: %s; %d transfers replayed, %d flows", strings.Join(start, ", "), res.Transfers, len(res.Flows)))
	byCat := map[string]string{}
	for c, v := range sums {
		byCat[c] = usdText(v)
	}
	g.Notes = append(g.Notes, ends(backward, byCat)+" (USD at arrival)")
	return g
}
