package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/graph"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/trace"
)

type usdFlow struct {
	trace.Flow
	USD float64 `json:"usd"`
}

func newTrace() *cobra.Command {
	var sf storeFlags
	var refs []string
	var opts trace.Options
	var format, direction string
	var chain, until, since string
	var mixerLinks, cross bool
	var minConfidence float64
	c := &cobra.Command{
		Use:   "trace --store DIR [--from] REF... [--model fifo|haircut|poison] [--mixer-links] [--chain eth]",
		Short: "Follow money forward from a theft to where it ends, under a taint model",
		Long: `Traces tainted value forward through the Bitcoin transaction graph. REF
(given with --from, or as arguments) is
a txid:vout, a txid (its outputs that do not return to its own inputs'
addresses), an address (every output it received), or incident:ID (the
incident's theft transactions; spur incident import).

Models: fifo (satoshi keep their order through each transaction; exact),
haircut (each output carries the tainted share of its transaction's inputs),
poison (every output of a tainted transaction counts in full). Tracing stops
at labelled services (spur labels import: exchange hot wallets, mixers ...),
at exchange deposit addresses (found as addresses swept into a labelled
exchange hot wallet), at unspent outputs, at --max-hops, at a transaction
paying taint to more outputs than --max-fanout (if given), and drops taint
below --min-value as dust. CoinJoins are followed like any transaction: the taint
of a mix spreads over its outputs (haircut) or keeps its ranges (fifo).
With --mixer-links a CoinJoin ends the exact trace instead (category mixer),
and the trace goes on, as "heuristic", through the outputs of a mix that a
later consolidation links to its tainted inputs: a transaction, no CoinJoin
itself, spending outputs of two or more of the tainted mixes (or of their
remixes, up to three on), three or more in all and mostly such outputs;
a mix output paid to an address the taint reached before; or, in a
CoinJoin with change (JoinMarket, Wasabi 1), the one change output that
the tainted inputs' value, less mixed outputs and fees, fits.

Output: JSON {model, from[], start_amount, flows[] {chain, tx, from, to,
asset, amount, usd, hop, link, spent_by}, destinations[] {chain, address,
entity, category, label, asset, amount, share, link, usd_start, usd_arrival,
usd_now}, mixer_links} with amounts in satoshi and USD at the start day's
price (spur prices import; at arrival and at the latest close too); or CSV of
the flows; or a table of destinations; or the graph: --format dot
(Graphviz: dot -Tpdf trace.dot > trace.pdf) or --format svg (laid out by
spur, in columns from the start; outputs paid and spent alike drawn as one
node). A graph's nodes are addresses and, on Bitcoin, the transactions
between them; its edges carry the tainted value, exact in their tooltips.
Or --format labels: the addresses holding the taint, as a label CSV
(stolen-funds) for spur labels import, to screen deposits against; services,
dust, CoinJoin outputs no clue ties to the thief, and links by clues that
say nothing of ownership (timing, gas price) or less sure than
--min-confidence are left out.

On an EVM chain (--chain eth) REF is a transaction hash (its value
transfers), an address (every transfer it received in transactions others
sent: not its own swaps' proceeds) or incident:ID (the incident's EVM theft
transactions) and the
account model applies: taint lives on (address, asset) balances replayed in
chain order (fifo: a queue of lots; haircut: the tainted share; poison:
everything out of a tainted balance). Swaps continue the trace in the asset
received (routers, pairs and WETH pass taint through within a transaction);
exchange deposit addresses (found as for 'spur cluster --deposits'),
labelled services and mixer pools end it. With --mixer-links, mixer
withdrawals linked to tainted deposits by a public clue (address reuse, the
depositor's rare gas price, timing) continue it as "heuristic". Amounts are
base units as decimal strings; destinations carry USD at their arrival day.
--direction backward explains where the value came from, on balances (see
docs/cli.md).

--direction backward explains the value of the start outputs instead: each
tainted output is traced to the inputs of the transaction that made it, back
to coinbases ("coinbase"), labelled services, --max-hops, or --since (an
output made before that day explained no further: "limit"); its
destinations are the sources.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			refs = append(refs, args...)
			if len(refs) == 0 {
				return usagef("give a REF to trace from (--from REF, or as an argument)")
			}
			if err := jsonAsFormat(cmd, sf.json, &format); err != nil {
				return err
			}
			if !slices.Contains(append([]string{"json", "csv", "text", "labels"}, graph.Formats...), format) {
				return usagef("--format: want text, json, csv, dot, svg, graphml or labels, not %q", format)
			}
			if format == "labels" && direction == "backward" {
				return usagef("--format labels lists where a forward trace's taint is held, not a backward trace's sources")
			}
			if minConfidence < 0 || minConfidence > 1 {
				return usagef("--min-confidence: want 0 to 1, not %g", minConfidence)
			}
			if cmd.Flags().Changed("min-confidence") && format != "labels" {
				return usagef("--min-confidence bounds the heuristic links of --format labels")
			}
			if opts.Model != trace.FIFO && opts.Model != trace.Haircut && opts.Model != trace.Poison {
				return usagef("--model: want fifo, haircut or poison, not %q", opts.Model)
			}
			if opts.MaxHops < 0 || opts.MinValue < 0 || opts.MaxFanOut < 0 {
				return usagef("--max-hops, --min-value and --max-fanout must not be negative")
			}
			if until != "" {
				d, err := time.Parse("2006-01-02", until)
				if err != nil {
					return usagef("--until wants a date YYYY-MM-DD, not %q", until)
				}
				opts.Until = d.Add(24*time.Hour - time.Second) // the whole day
			}
			if since != "" {
				d, err := time.Parse("2006-01-02", since)
				if err != nil {
					return usagef("--since wants a date YYYY-MM-DD, not %q", since)
				}
				if direction != "backward" {
					return usagef("--since bounds a backward trace (forward, --until takes the picture at a day's end)")
				}
				opts.Since = d // from the start of the day
			}
			if opts.MaxFanOut > 0 && direction == "backward" {
				return usagef("--max-fanout bounds a forward trace (a backward one explains each payment whole)")
			}
			if e, err := isEVM(chain); err != nil || e {
				if err != nil {
					return err
				}
				if direction != "forward" && direction != "backward" {
					return usagef("--direction: want forward or backward")
				}
				if cross && direction == "backward" {
					return usagef("--cross carries a forward trace over the bridges, not a backward one")
				}
				hops := 0 // the backward trace's own default
				if cmd.Flags().Changed("max-hops") {
					hops = opts.MaxHops
				}
				return runEVMTrace(&sf, chain, refs, evmTraceArgs{model: opts.Model, format: format, minConfidence: minConfidence, mixerLinks: mixerLinks, until: opts.Until, since: opts.Since, backward: direction == "backward", maxHops: hops, maxFanOut: opts.MaxFanOut, cross: cross})
			}
			if cross {
				return usagef("--cross carries an EVM trace over to Bitcoin: give --chain eth")
			}
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			labels, err := openLabels(sf.dir)
			if err != nil {
				return err
			}
			defer labels.Close()
			starts, day, err := query.ResolveRefs(s, labels, refs)
			if err != nil {
				return err
			}
			if opts.Services, opts.HotWallets, err = query.Services(s, labels); err != nil {
				return err
			}
			opts.MixerLinks = mixerLinks
			var res *trace.Result
			switch direction {
			case "forward":
				res, err = trace.Forward(s, starts, opts)
			case "backward":
				res, err = trace.Backward(s, starts, opts)
			default:
				return usagef("--direction: want forward or backward")
			}
			if err != nil {
				return err
			}
			price, havePrice := labels.Price("BTC", day)
			usd := func(sat int64) float64 {
				if !havePrice {
					return 0
				}
				return float64(int64(float64(sat)/1e8*price*100+0.5)) / 100
			}
			switch format {
			case "labels":
				return writeHolders(res.Holders(minConfidence), labels, refs, res.Model, map[string]int{"BTC": 8})
			case "dot", "svg", "graphml":
				var value func(int64) float64
				if havePrice {
					value = usd
				}
				return writeGraph(graph.FromBTC(res, direction == "backward", graph.Title(res.Model, direction == "backward", refs), value), format)
			case "csv":
				w := csv.NewWriter(os.Stdout)
				w.Write([]string{"chain", "tx", "from", "to", "asset", "amount", "usd", "hop", "link", "clue", "confidence"})
				for _, f := range res.Flows {
					w.Write([]string{f.Chain, f.Tx, f.From, f.To, f.Asset, strconv.FormatInt(f.Amount, 10), strconv.FormatFloat(usd(f.Amount), 'f', 2, 64), strconv.Itoa(f.Hop), f.Link, f.Clue, confidence(f.Confidence)})
				}
				w.Flush()
				return w.Error()
			case "json":
				// The destinations' entities, a row each, not the clustering
				// whole (two arrays of the store's address count).
				var entity query.EntityOf
				ents, err := cluster.OpenEntities(s)
				switch {
				case err == nil:
					defer ents.Close()
					entity = ents.Entity
				case !errors.Is(err, cluster.ErrNoClustering):
					return err
				}
				dests, now, err := query.BTCDestinations(s, entity, labels, res, day)
				if err != nil {
					return err
				}
				out := struct {
					Model        string                 `json:"model"`
					From         []string               `json:"from"`
					Start        int64                  `json:"start_amount"`
					StartUSD     float64                `json:"start_usd"`
					PriceDay     string                 `json:"price_day,omitempty"`
					NowDay       string                 `json:"now_day,omitempty"`
					Flows        []usdFlow              `json:"flows"`
					Destinations []query.BTCDestination `json:"destinations"`
					MixerLinks   map[string]int         `json:"mixer_links,omitempty"`
					// The chain as of the tip the trace read it at.
					AsOf map[string]query.ChainTip `json:"as_of"`
				}{Model: res.Model, From: res.From, Start: res.Start, StartUSD: usd(res.Start), NowDay: now, Flows: []usdFlow{}, Destinations: dests, MixerLinks: res.MixerLinks,
					AsOf: query.AsOf(s, nil)}
				if havePrice {
					out.PriceDay = day
				}
				for _, f := range res.Flows {
					out.Flows = append(out.Flows, usdFlow{f, usd(f.Amount)})
				}
				return printJSON(os.Stdout, out)
			}
			fmt.Printf("%s trace from %d outputs, %s BTC", res.Model, len(res.From), btcAmount(res.Start))
			if havePrice {
				fmt.Printf(" ($%s at %s's close)", thousands(int64(usd(res.Start)+0.5)), day)
			}
			fmt.Printf("; %d transactions visited, %d flows\n", res.TxsVisited, len(res.Flows))
			poisonNote(res.Model)
			// By category and label, then the largest destinations.
			// With mixer links, what rests on them is told apart (LINK).
			type group struct {
				link, cat, label string
				amount           int64
				addrs            int
			}
			groups := map[[3]string]*group{}
			for _, d := range res.Destinations {
				k := [3]string{d.Link, d.Category, d.Label}
				g := groups[k]
				if g == nil {
					g = &group{link: d.Link, cat: d.Category, label: d.Label}
					groups[k] = g
				}
				g.amount += d.Amount
				g.addrs++
			}
			var gs []*group
			for _, g := range groups {
				gs = append(gs, g)
			}
			sort.Slice(gs, func(i, j int) bool {
				a, b := gs[i], gs[j]
				return a.amount > b.amount || a.amount == b.amount && (a.label < b.label || a.label == b.label && a.link < b.link)
			})
			// Only a forward trace goes on by links; backward, a mix ends it.
			links := mixerLinks && direction == "forward"
			row := func(t *table, link string, cells ...any) {
				if links {
					cells = append([]any{link}, cells...)
				}
				t.row(cells...)
			}
			t := newTable(os.Stdout)
			// In dollars too, at the start day's close, where prices are known.
			dollars := func(cells []any, sat int64) []any {
				if havePrice {
					cells = append(cells, "$"+thousands(int64(usd(sat)+0.5)))
				}
				return cells
			}
			head := []any{"CATEGORY", "LABEL", "ADDRESSES", "BTC", "SHARE"}
			if havePrice {
				head = append(head, "USD")
			}
			row(t, "LINK", head...)
			for _, g := range gs {
				row(t, g.link, dollars([]any{g.cat, dash(g.label), g.addrs, btcAmount(g.amount), fmt.Sprintf("%.1f%%", 100*float64(g.amount)/float64(max(res.Start, 1)))}, g.amount)...)
			}
			t.flush()
			fmt.Println("\nlargest destinations (all in --format json):")
			t = newTable(os.Stdout)
			for i, d := range res.Destinations {
				if i == 10 {
					break
				}
				row(t, d.Link, dollars([]any{d.Category, dash(d.Label), d.Address, btcAmount(d.Amount), fmt.Sprintf("%.1f%%", 100*d.Share)}, d.Amount)...)
			}
			t.flush()
			if links {
				var clues []string
				for _, clue := range sortedKeys(res.MixerLinks) {
					clues = append(clues, fmt.Sprintf("%s %d", clue, res.MixerLinks[clue]))
				}
				if len(clues) == 0 {
					clues = append(clues, "none")
				}
				fmt.Printf("\nCoinJoin outputs linked, by clue: %s\n", strings.Join(clues, ", "))
			}
			fmt.Println()
			printAsOf(query.AsOf(s, nil))
			return nil
		},
	}
	sf.register(c, false)
	c.Flags().StringSliceVar(&refs, "from", nil, "where to start: txid:vout, txid, address or incident:ID (repeatable)")
	c.Flags().StringVar(&opts.Model, "model", "fifo", "taint model: fifo, haircut or poison")
	c.Flags().IntVar(&opts.MaxHops, "max-hops", 100, "stop after this many transactions from the start")
	c.Flags().Int64Var(&opts.MinValue, "min-value", 1000, "drop taint below this many satoshi as dust")
	c.Flags().IntVar(&opts.MaxFanOut, "max-fanout", 0, "do not follow a transaction that pays taint to more outputs (on an EVM chain, addresses) than this, a batch payout: its taint ends there as limit (0: no bound)")
	c.Flags().StringVar(&format, "format", "text", "text, json, csv, dot (Graphviz), svg (the graph, laid out), graphml (Gephi, Cytoscape, yEd), or labels (the addresses holding the taint, as a label CSV for spur labels import)")
	c.Flags().BoolVar(&sf.json, "json", false, "print JSON (--format json)")
	c.Flags().Float64Var(&minConfidence, "min-confidence", trace.HolderConfidence, "--format labels: leave out addresses only a heuristic link less sure than this (0 to 1) ties to the taint")
	c.Flags().StringVar(&direction, "direction", "forward", "forward (where the money went) or backward (where it came from: coinbases, services)")
	c.Flags().StringVar(&until, "until", "", "the picture at the end of this day (YYYY-MM-DD): later spends are not followed")
	c.Flags().StringVar(&since, "since", "", "backward: explain no further back than this day (YYYY-MM-DD); older value counts as limit")
	chainFlag(c, &chain)
	c.Flags().BoolVar(&cross, "cross", false, "EVM: carry bridge deposits over to Bitcoin at the payouts matched to them, and trace on")
	c.Flags().BoolVar(&mixerLinks, "mixer-links", false, "follow mixer withdrawals (EVM) or CoinJoin outputs (Bitcoin) linked to the taint by a public clue (heuristic)")
	return c
}

func newIncident() *cobra.Command {
	c := &cobra.Command{Use: "incident", Short: "Import and list incidents (thefts as public reporting gives them)"}
	var dir string
	var impJSON bool
	imp := &cobra.Command{
		Use:   "import --store DIR FILE",
		Short: "Import incidents from a YAML file (id, victim, date, actor, chain, theft_txs)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkWait(); err != nil {
				return err
			}
			incs, err := label.ParseIncidents(args[0])
			if err != nil {
				return err
			}
			what := counted(len(incs), "incident", "incidents") + " are"
			if len(incs) == 1 {
				what = "the incident is"
			}
			if err := putOrQueue(dir, what,
				func(s *label.Store) error { return s.PutIncidents(incs) },
				func(ld string) (string, error) { return label.QueueIncidents(ld, incs) }); err != nil {
				return err
			}
			if impJSON {
				ids := []string{}
				for _, i := range incs {
					ids = append(ids, i.ID)
				}
				return printJSON(os.Stdout, map[string]any{"imported": len(incs), "ids": ids})
			}
			fmt.Printf("imported %s\n", counted(len(incs), "incident", "incidents"))
			return nil
		},
	}
	imp.Flags().StringVar(&dir, "store", "", "store directory (required)")
	imp.Flags().BoolVar(&impJSON, "json", false, "print JSON instead of text")
	waitFlag(imp)
	var ldir string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list --store DIR",
		Short: "List the imported incidents",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openLabels(ldir)
			if err != nil {
				return err
			}
			defer s.Close()
			incs, err := s.Incidents()
			if err != nil {
				return err
			}
			if asJSON {
				if incs == nil {
					incs = []label.Incident{}
				}
				return printJSON(os.Stdout, incs)
			}
			t := newTable(os.Stdout)
			t.row("ID", "DATE", "VICTIM", "ACTOR", "CHAINS", "THEFT TXS")
			for _, i := range incs {
				t.row(i.ID, i.Date, i.Victim, i.Actor, strings.Join(i.Chains(), ", "), i.TheftTxCount())
			}
			t.flush()
			return nil
		},
	}
	list.Flags().StringVar(&ldir, "store", "", "store directory (required)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	c.AddCommand(imp, newIncidentAdd(), list)
	return c
}

// newIncidentAdd is spur incident add: one incident from flags, as a line
// of an incidents file would give it.
func newIncidentAdd() *cobra.Command {
	var dir string
	var asJSON bool
	var i label.Incident
	var evm label.IncidentEVM
	c := &cobra.Command{
		Use:   "add --store DIR --id ID --date YYYY-MM-DD --theft-tx TXID[:VOUT]... [--victim V] [--actor A]",
		Short: "Add an incident (replacing one of the same id), as public reporting gives it",
		Long: `Adds one incident, as a line of an incidents file would give it (spur
incident import), replacing any of the same id. --chain says where the
--theft-tx transactions are: btc (the default: a txid, or txid:vout for the
stolen output) or an EVM chain (eth ...: 0x transaction hashes). A theft on
both chains gives its EVM part with --evm-chain, --evm-theft-tx and
--evm-victim (the victim's compromised addresses).`,
		Example: `  spur incident add --store ./case --id liquid-2021 --date 2021-08-19 --victim "Liquid Global" \
      --actor "Lazarus Group" --theft-tx 7392ef9e11356c22a9d02816c9396773d7276550dffe0dd65f63153498f1188f:0
  spur incident add --store ./case --id eth-theft --date 2021-08-19 --chain eth \
      --theft-tx 0x2ea34b94d284047df99842b3f14fd213cd23094791fd5f5d73c6860d8f814e47`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkWait(); err != nil {
				return err
			}
			if dir == "" {
				return usagef("--store is required")
			}
			if len(evm.TheftTxs) > 0 || len(evm.VictimAddresses) > 0 || evm.Chain != "" {
				if evm.Chain == "" {
					evm.Chain = "eth"
				}
				i.EVM = &evm
			}
			if err := i.Check(); err != nil {
				return usagef("%v", err)
			}
			if err := putOrQueue(dir, "the incident is",
				func(s *label.Store) error { return s.PutIncidents([]label.Incident{i}) },
				func(ld string) (string, error) { return label.QueueIncidents(ld, []label.Incident{i}) }); err != nil {
				return err
			}
			if asJSON {
				return printJSON(os.Stdout, i)
			}
			fmt.Printf("added incident %s (%s, %s)\n", i.ID, i.Date, i.Chain)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().StringVar(&i.ID, "id", "", "the incident's id (required)")
	c.Flags().StringVar(&i.Date, "date", "", "the day of the theft, YYYY-MM-DD (required)")
	c.Flags().StringVar(&i.Victim, "victim", "", "who was robbed")
	c.Flags().StringVar(&i.Actor, "actor", "", "who is held to have done it (spur actor NAME)")
	c.Flags().StringVar(&i.Chain, "chain", "btc", "the chain of --theft-tx: btc, or an EVM chain (eth, ...)")
	c.Flags().StringSliceVar(&i.TheftTxs, "theft-tx", nil, "a theft transaction (repeatable): txid or txid:vout; a 0x hash with an EVM --chain")
	c.Flags().StringVar(&evm.Chain, "evm-chain", "", "the EVM chain of a theft on both chains (default eth)")
	c.Flags().StringSliceVar(&evm.TheftTxs, "evm-theft-tx", nil, "a theft transaction on the EVM chain (repeatable)")
	c.Flags().StringSliceVar(&evm.VictimAddresses, "evm-victim", nil, "a victim's compromised address on the EVM chain (repeatable)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the incident as stored, as JSON")
	waitFlag(c)
	return c
}

func newPrices() *cobra.Command {
	c := &cobra.Command{Use: "prices", Short: "Import daily USD prices"}
	var dir, asset string
	var asJSON bool
	imp := &cobra.Command{
		Use:   "import --store DIR FILE... [--asset SYM]",
		Short: "Import daily USD closes (spur's CSV, or Yahoo Finance and CoinGecko exports); an asset's prices are replaced whole",
		Long: `Imports daily USD closes from CSV files, each told by its header:

  date,asset,usd                           spur's own, any number of assets
  Date,Open,High,Low,Close,Adj Close,...   Yahoo Finance's history of one asset:
                                           each UTC day's close ("null" days skipped)
  snapped_at,price,market_cap,...          CoinGecko's export of one asset: the price
                                           at 00:00 UTC, kept as the day before's close

A file of one asset is imported as --asset, else as its name says, as the
sites name their exports (BTC-USD.csv, btc-usd-max.csv). Every file is read
before any is imported; each asset's prices are replaced whole.`,
		Example: `  spur prices import --store ./case prices.csv
  spur prices import --store ./case BTC-USD.csv ETH-USD.csv
  spur prices import --store ./case --asset LINK chainlink.csv`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkWait(); err != nil {
				return err
			}
			if asset != "" && len(args) > 1 {
				return usagef("--asset names one file's asset: give one FILE with it (%d given)", len(args))
			}
			all := map[string]map[string]float64{}
			from := map[string]string{} // asset -> the file that gave it
			for _, path := range args {
				pf, err := label.ParsePrices(path, asset)
				if err != nil {
					return err
				}
				if pf.Named {
					fmt.Fprintf(os.Stderr, "note: %s read as %s's prices (%s), as its name says; --asset to say otherwise\n", path, pf.Asset, pf.Format)
				}
				for a, days := range pf.Prices {
					if other, ok := from[a]; ok {
						return usagef("%s and %s both give %s's prices: import them one at a time", other, path, a)
					}
					from[a] = path
					all[a] = days
				}
			}
			if err := putOrQueue(dir, "the prices are",
				func(s *label.Store) error { return s.PutPrices(all) },
				func(ld string) (string, error) { return label.QueuePrices(ld, all) }); err != nil {
				return err
			}
			if asJSON {
				days := map[string]int{}
				for a, d := range all {
					days[a] = len(d)
				}
				return printJSON(os.Stdout, map[string]any{"days": days})
			}
			t := newTable(os.Stdout)
			t.row("ASSET", "DAYS")
			for _, a := range sortedKeys(all) {
				t.row(a, len(all[a]))
			}
			t.flush()
			return nil
		},
	}
	imp.Flags().StringVar(&dir, "store", "", "store directory (required)")
	imp.Flags().StringVar(&asset, "asset", "", "the asset of a file of one asset's prices (default: as its name says, BTC-USD.csv)")
	waitFlag(imp)
	imp.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	c.AddCommand(imp)
	return c
}

// writeGraph prints a trace's graph in one of graph.Formats.
func writeGraph(g *graph.Graph, format string) error {
	if err := g.Write(os.Stdout, format); err != nil {
		return err
	}
	// A drawing of thousands of nodes helps nobody: say how to narrow it.
	if len(g.Nodes) > bigGraph {
		fmt.Fprintf(os.Stderr, "note: the graph has %d nodes; --max-hops, --min-value, --until or --max-fanout draw less\n", len(g.Nodes))
	}
	return nil
}

// writeHolders writes the addresses holding a forward trace's taint as
// spur's label CSV (query.HolderLabels), for spur labels import.
func writeHolders(hs []trace.Holder, labels *label.Store, refs []string, model string, decimals map[string]int) error {
	ls, err := query.HolderLabels(hs, labels, refs, model, decimals)
	if err != nil {
		return err
	}
	if err := label.WriteCSV(os.Stdout, ls); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d addresses hold the taint (services, dust, CoinJoin outputs no clue ties to it and links below --min-confidence left out); import them with spur labels import --format csv FILE\n", len(hs))
	return nil
}

// bigGraph is the most nodes a drawing holds without a note.
const bigGraph = 5000

// confidence prints a link's confidence for CSV: empty where none.
func confidence(c float64) string {
	if c == 0 {
		return ""
	}
	return strconv.FormatFloat(c, 'f', 4, 64)
}

// poisonNote says, under a text trace's first line, why a poison trace's
// shares may add up to more than the start.
func poisonNote(model string) {
	if model == "poison" {
		fmt.Println("poison counts in full whatever tainted value reaches, with the value it was mixed with: shares may add up to more than 100%")
	}
	fmt.Println()
}
