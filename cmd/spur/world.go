package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/eval"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/report"
	"github.com/spur-forensics/spur/internal/trace"
	"github.com/spur-forensics/spur/internal/world"
)

func newGen() *cobra.Command {
	var o world.Options
	var out, xor string
	var asJSON, quiet bool
	c := &cobra.Command{
		Use:   "gen --out DIR [--seed N] [--scale S] [--scenario dprk-2021]",
		Short: "Generate a synthetic world with ground truth: a Bitcoin chain, an EVM chain, thefts",
		Long: `Writes a deterministic synthetic world into DIR (same seed and scale, same bytes):

  btc/blocks/        a Bitcoin regtest chain in Bitcoin Core's blk*.dat files
                     (optional xor.dat): users paying each other with change,
                     exchanges with deposit addresses swept into hot wallets and
                     batched withdrawals, a mining pool paying miners, Whirlpool
                     Tx0s and 5x5 mixes in the 0.01 and 0.5 BTC pools
  evm/               an Ethereum-like chain as an ethereum-etl export (blocks,
                     transactions, receipts, logs, token_transfers, traces,
                     tokens): ETH payments, five real ERC-20 tokens, exchanges
                     with deposit sweeps, Uniswap V2-style swaps, the four
                     Tornado-style pools with relayers, a swap service paying
                     out on the Bitcoin side
  labels/            TagPacks of public knowledge: exchange hot wallets, the
                     Whirlpool coordinator, DEX routers, mixer pools, the swap
                     service (deposit addresses are not labelled)
  incidents.yaml     what public reporting gives an investigator per incident
  prices.csv         real daily USD closes for 2021
  truth.json         who owns every address, every CoinJoin, each incident's
                     laundering steps and destinations (read only by spur eval)

The dprk-2021 scenario adds seven thefts in 2021 of BTC, ETH and tokens (58%
ETH, 22% tokens, 20% BTC at theft-day prices): tokens swapped for ETH, ETH
mixed and consolidated, bridged to BTC through the swap service or paid into
exchanges; BTC peeled, mixed through Whirlpool, consolidated and paid into
exchange deposit addresses. See docs/world.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out DIR is required")
			}
			if o.Scale < 1 || o.Blocks < 0 {
				return usagef("--scale must be at least 1 and --blocks not negative")
			}
			if xor != "" {
				k, err := hex.DecodeString(xor)
				if err != nil || len(k) != 8 {
					return usagef("--xor wants 16 hex digits (an 8-byte key)")
				}
				o.XorKey = k
			}
			if o.Scenario != "" && o.Scenario != "dprk-2021" {
				return usagef("unknown --scenario %q: want dprk-2021, or \"\" for background only", o.Scenario)
			}
			start := time.Now()
			o.Context = cmd.Context()
			if !quiet {
				o.Progress = os.Stderr
			}
			// The generator's live heap is a few hundred MB at the largest
			// scales and churns garbage fast: collecting only near a 768
			// MiB budget spends far less time in the GC than collecting at
			// every doubling, within the same RSS.
			tuneGC(-1, 768<<20)
			t, err := world.Generate(out, o)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(os.Stdout, t.Stats)
			}
			fmt.Printf("world written to %s in %s\n\n", out, time.Since(start).Round(time.Millisecond))
			tb := newTable(os.Stdout)
			for _, k := range sortedKeys(t.Stats) {
				tb.row(k, t.Stats[k])
			}
			stolen := 0
			for _, i := range t.Incidents {
				if len(i.TheftTxs) > 0 {
					stolen++
				}
			}
			tb.row("incidents", fmt.Sprintf("%d of %d", stolen, len(t.Incidents)))
			tb.flush()
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "directory to write the world into (required)")
	c.Flags().Uint64Var(&o.Seed, "seed", 1, "random seed")
	c.Flags().IntVar(&o.Scale, "scale", 200, "number of users; the background activity grows with it")
	c.Flags().IntVar(&o.Blocks, "blocks", 0, "blocks over 2021 (default grows with --scale, at least 300)")
	c.Flags().StringVar(&o.Scenario, "scenario", "dprk-2021", `scenario to play out ("" for background only)`)
	c.Flags().StringVar(&xor, "xor", "", "obfuscate the blk files with this 8-byte key (hex), as Bitcoin Core 28+")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return c
}

func newEval() *cobra.Command {
	var worldDir, dir string
	var asJSON bool
	c := &cobra.Command{
		Use:   "eval --world DIR --store DIR",
		Short: "Compare what spur derived from a synthetic world with its truth",
		Long: `Reads the world's truth.json and prints one table: the world's statistics
against the store, clustering pairwise precision and recall (run spur cluster
first), CoinJoin detection precision and recall, and for each taint model,
with and without mixer links (FIFO's with them against targets), how much
of each incident's true exchange deposits a trace from its stolen outputs
finds at the right exchange and, with links, how many of the mix outputs
linked are the thief's (precision) and of the thief's are linked (recall) (import the world's labels first: the trace stops
at deposit addresses swept into labelled hot wallets). JSON: one object per
row with metric, value, truth, target and ok.

When the store also holds the world's EVM chain (spur ingest evm --chain eth),
it adds the EVM rows: blocks and transactions against truth, the shape of the
activity measured from the store (plain payments, token transfers, swaps,
relayed mixer withdrawals, each against a band), and the deposit-address and
deposit-reuse heuristics scored against the true owners (import the world's
labels/services-eth.yaml first, for the hot wallets), tracing through the
mixers (what the heuristic links recover, and how many of the withdrawals
linked are the incident's own), and, with the incidents and prices
imported, the Lazarus Group's 2021 report for FIFO, haircut and poison
against truth: total USD, asset mix, share through mixers, at exchanges,
still unspent (FIFO's bars as targets), and the destinations' precision and
recall per incident and in total.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if worldDir == "" || dir == "" {
				return usagef("--world DIR and --store DIR are required")
			}
			t, err := eval.ReadTruth(filepath.Join(worldDir, "truth.json"))
			if err != nil {
				return err
			}
			sf := storeFlags{dir: dir, network: t.Network}
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			rows := eval.World(s, t)
			rr, err := eval.Realism(s)
			if err != nil {
				return err
			}
			rows = append(rows, rr...)
			c, err := cluster.Open(s)
			if err != nil {
				return err
			}
			cr, err := eval.Clustering(s, c, t)
			if err != nil {
				return err
			}
			rows = append(rows, cr...)
			rows = append(rows, eval.CoinJoins(s, t)...)
			labels, err := openLabels(dir)
			if err != nil {
				return err
			}
			defer labels.Close()
			var opts trace.Options
			if opts.Services, opts.HotWallets, err = query.Services(s, labels); err != nil {
				return err
			}
			if len(opts.HotWallets) == 0 {
				// The traces then run past every deposit: the tracing rows
				// fail for want of labels, not of tracing.
				fmt.Fprintf(os.Stderr, "note: no exchange hot wallet is labelled: traces do not stop at deposits; import the world's labels first (spur labels import --store %s --format tagpack %s)\n", dir, filepath.Join(worldDir, "labels", "services.yaml"))
			}
			tr, err := eval.Tracing(s, t, opts)
			if err != nil {
				return err
			}
			rows = append(rows, tr...)
			es, err := openReportEVM(&sf)
			if err != nil {
				return err
			}
			if es != nil {
				defer es.Close()
				rows = append(rows, eval.EVMWorld(es, t)...)
				hot, err := query.EVMHotWallets(es, labels)
				if err != nil {
					return err
				}
				hotSet := map[uint32]bool{}
				for a := range hot {
					hotSet[a] = true
				}
				ec := cluster.ClusterEVM(es, cluster.EVMOptions{Deposits: true, DepositReuse: true, Hot: hotSet})
				rows = append(rows, eval.EVMClustering(es, ec, t)...)
				deps, err := query.EVMBridgeDeposits(es, labels)
				if err != nil {
					return err
				}
				found := map[string]bool{}
				for _, d := range deps {
					found[es.Tx(d.Tx).Hash.Hex()] = true
				}
				rows = append(rows, eval.EVMBridgeDeposits(found, t)...)
				eo, err := query.EVMTraceOptions(es, labels, trace.FIFO, true)
				if err != nil {
					return err
				}
				et, err := eval.EVMTracing(es, t, eo)
				if err != nil {
					return err
				}
				rows = append(rows, et...)
				// With the incidents and prices imported, the actor report
				// on both chains against truth.
				// FIFO carries the bars; haircut and poison show why.
				for _, model := range []string{trace.FIFO, trace.Haircut, trace.Poison} {
					rep, err := report.ForActor(s, es, labels, "Lazarus Group", 2021, model)
					if err != nil {
						break
					}
					places := map[string]float64{}
					for _, d := range rep.Destinations {
						places[d.Place] += d.USD
					}
					rows = append(rows, eval.ActorReport(model, rep.StolenUSD, rep.AssetMix, rep.MixedShare, places, t)...)
					rows = append(rows, eval.ReportDestinations(model, rep.Incidents, t)...)
				}
			}
			if asJSON {
				return printJSON(os.Stdout, rows)
			}
			printEval(rows)
			return nil
		},
	}
	c.Flags().StringVar(&worldDir, "world", "", "the world's directory (required)")
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

func printEval(rows []eval.Row) {
	t := newTable(os.Stdout)
	t.row("METRIC", "VALUE", "TRUTH", "TARGET", "OK")
	for _, r := range rows {
		v := fmt.Sprintf("%.4g", r.Value)
		if r.Value == float64(int64(r.Value)) {
			v = thousands(int64(r.Value))
		}
		tr := ""
		if r.Truth != 0 {
			tr = thousands(int64(r.Truth))
		}
		ok := ""
		if r.OK != nil {
			ok = map[bool]string{true: "yes", false: "NO"}[*r.OK]
		}
		t.row(r.Metric, v, dash(tr), dash(r.Target), dash(ok))
	}
	t.flush()
}
