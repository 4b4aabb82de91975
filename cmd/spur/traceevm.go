package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/graph"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
)

// evmTraceArgs are the settings of an EVM trace from the command line.
type evmTraceArgs struct {
	model, format string
	minConfidence float64 // --format labels: the least sure heuristic link
	mixerLinks    bool
	until, since  time.Time
	backward      bool
	maxHops       int
	maxFanOut     int          // forward: a transaction paying more addresses out of taint is not followed
	cross         bool         // carry bridge deposits over to Bitcoin
	btc           *store.Store // the Bitcoin store, for cross
}

func runEVMTrace(sf *storeFlags, chain string, refs []string, a evmTraceArgs) error {
	s, err := openEVM(sf, chain, evmRead)
	if err != nil {
		return err
	}
	defer s.Close()
	labels, err := openLabels(sf.dir)
	if err != nil {
		return err
	}
	defer labels.Close()
	if a.cross {
		b, err := sf.openExisting()
		if err != nil {
			return err
		}
		defer b.Close()
		a.btc = b
	}
	_, err = printEVMTrace(s, labels, refs, a)
	return err
}

// printEVMTrace traces and prints, on open stores.
func printEVMTrace(s *evmstore.Store, labels *label.Store, refs []string, a evmTraceArgs) (*trace.EVMResult, error) {
	starts, err := query.EVMStarts(s, labels, refs)
	if err != nil {
		return nil, err
	}
	o, err := query.EVMTraceOptions(s, labels, a.model, a.mixerLinks)
	if err != nil {
		return nil, err
	}
	o.Until, o.MaxHops, o.Since, o.MaxFanOut = a.until, a.maxHops, a.since, a.maxFanOut
	var res *trace.EVMResult
	if a.backward {
		res, err = trace.TraceEVMBackward(s, starts, o)
	} else {
		res, err = trace.TraceEVM(s, starts, o)
	}
	if err != nil {
		return nil, err
	}
	var crossed *query.Crossing
	if a.cross && a.btc != nil && !a.backward {
		if crossed, err = query.CrossToBTC(a.btc, s, labels, res, a.model); err != nil {
			return nil, err
		}
	}
	startDay := query.EVMStartDay(s, starts)
	if a.format == "labels" {
		decimals := query.TokenDecimals(s)
		service := trace.ServiceAt(s, o.Services)
		return res, writeHolders(res.Holders(a.minConfidence, service), labels, refs, res.Model, decimals)
	}
	switch a.format {
	case "dot", "svg", "graphml":
		return res, writeGraph(graph.FromEVMTrace(s, labels, res, a.backward, graph.Title(res.Model, a.backward, refs), crossed, startDay), a.format)
	case "csv":
		w := csv.NewWriter(os.Stdout)
		w.Write([]string{"chain", "block", "tx", "from", "to", "asset", "amount", "link", "clue", "confidence"})
		for _, f := range res.Flows {
			w.Write([]string{f.Chain, fmt.Sprint(f.Block), f.Tx, f.From, f.To, f.Asset, f.Amount, f.Link, f.Clue, confidence(f.Confidence)})
		}
		w.Flush()
		return res, w.Error()
	}
	decimals := query.TokenDecimals(s)
	dests, now := query.EVMDestinations(s, labels, decimals, res, startDay)
	// Each chain read as of its tip: Bitcoin's too when the trace crossed
	// onto it.
	var btcRead store.Reader
	if crossed != nil {
		btcRead = a.btc
	}
	if a.format == "json" {
		return res, printJSON(os.Stdout, struct {
			*trace.EVMResult
			NowDay       string                    `json:"now_day,omitempty"`
			Destinations []query.EVMDestination    `json:"destinations"`
			Crossed      *query.Crossing           `json:"crossed,omitempty"`
			AsOf         map[string]query.ChainTip `json:"as_of"`
		}{res, now, dests, crossed, query.AsOf(btcRead, s)})
	}
	what := "forward trace; stolen:"
	if a.backward {
		what = "backward trace (destinations are sources); value explained:"
	}
	var start []string
	for _, a := range sortedKeys(res.Start) {
		start = append(start, ethAmountText(res.Start[a], decimals[a])+" "+a)
	}
	fmt.Printf("%s %s %s; %s transfers replayed, %s flows\n", res.Model, what, strings.Join(start, ", "), thousands(int64(res.Transfers)), thousands(int64(len(res.Flows))))
	poisonNote(res.Model)
	// By place and link, in USD at the arrival day; then the largest.
	type group struct {
		cat, label, link string
		usd              float64
		addrs            int
	}
	groups := map[string]*group{}
	for _, d := range dests {
		k := d.Category + "|" + d.Label + "|" + d.Link
		g := groups[k]
		if g == nil {
			g = &group{cat: d.Category, label: d.Label, link: d.Link}
			groups[k] = g
		}
		g.usd += d.USD
		g.addrs++
	}
	var gs []*group
	for _, g := range groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool {
		if gs[i].link != gs[j].link {
			return gs[i].link == "exact"
		}
		return gs[i].usd > gs[j].usd
	})
	t := newTable(os.Stdout)
	t.row("LINK", "CATEGORY", "LABEL", "ADDRESSES", "USD")
	for _, g := range gs {
		t.row(g.link, g.cat, dash(g.label), g.addrs, "$"+thousands(int64(math.Round(g.usd))))
	}
	t.flush()
	sort.SliceStable(dests, func(i, j int) bool { return dests[i].USD > dests[j].USD })
	fmt.Println("\nlargest destinations (all in --format json):")
	t = newTable(os.Stdout)
	for i, d := range dests {
		if i == 10 {
			break
		}
		t.row(d.Link, d.Category, dash(d.Label), dash(d.Address), ethAmountText(d.Amount, decimals[d.Asset])+" "+d.Asset, "$"+thousands(int64(math.Round(d.USD))))
	}
	t.flush()
	if crossed != nil {
		fmt.Printf("\ncarried over to Bitcoin: %d bridge deposits matched to payouts (%.0f%% of the bridged taint); where the BTC went:\n", crossed.Matched, 100*crossed.Share)
		sums := map[[2]string]int64{}
		for _, d := range crossed.Trace.Destinations {
			sums[[2]string{d.Category, d.Label}] += d.Amount
		}
		keys := make([][2]string, 0, len(sums))
		for k := range sums {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return sums[keys[i]] > sums[keys[j]] })
		t := newTable(os.Stdout)
		t.row("CATEGORY", "LABEL", "BTC")
		for _, k := range keys {
			t.row(k[0], dash(k[1]), btcAmount(sums[k]))
		}
		t.flush()
	}
	if len(res.MixerLinks) > 0 {
		clues := make([]string, 0, len(res.MixerLinks))
		for clue := range res.MixerLinks {
			clues = append(clues, clue)
		}
		sort.Strings(clues)
		for i, clue := range clues {
			clues[i] = fmt.Sprintf("%s %d", clue, res.MixerLinks[clue])
		}
		fmt.Printf("\nmixer withdrawals linked, by clue: %s\n", strings.Join(clues, ", "))
	}
	fmt.Println()
	printAsOf(query.AsOf(btcRead, s))
	return res, nil
}

func ethAmountText(v string, dec int) string {
	d := uint8(dec)
	return ethAmount(v, &d)
}
