package main

import (
	"compress/bzip2"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/parquet-go/parquet-go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	spur "github.com/spur-forensics/spur"
	"github.com/spur-forensics/spur/internal/api"
	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/eval"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/export"
	"github.com/spur-forensics/spur/internal/graph"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/names"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/report"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
	"github.com/spur-forensics/spur/internal/world"
)

// writeSamples copies embedded sample files to dir and returns their paths.
func writeSamples(dir string, names ...string) ([]string, error) {
	var paths []string
	for _, n := range names {
		b, err := fs.ReadFile(spur.Samples, "testdata/btc/"+n)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func newDemo() *cobra.Command {
	var dir, serveAddr string
	var noServe bool
	var keep bool
	var serveLabels *label.Store
	var serveEVM *evmstore.Store
	c := &cobra.Command{
		Use:   "demo",
		Short: "Ingest the real mainnet blocks shipped with spur and show what the store answers",
		Long: `Ingests mainnet blocks 0..14131 (2009-2010, the first 14,247 transactions)
into a store, then looks up: the first person-to-person payment (Satoshi to
Hal Finney, block 170), the genesis address, and a block; replays btcd's
reorganisation test chain (the genesis block, blocks 1..4 and a longer side
chain 3A..5A, all with real proof of work) to show a reorg being unwound;
clusters the addresses into entities; imports the OFAC SDN list and an
excerpt of the UK Sanctions List shipped with spur to screen addresses,
Lazarus Group's and Garantex's among them; and generates a
small synthetic world with ground truth, ingests and clusters it, and
evaluates what spur found against the truth.

The stores go to a temporary directory unless --store DIR is given: the
mainnet blocks' in DIR, the synthetic world's in DIR/world, kept to query.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tmp, err := os.MkdirTemp("", "spur-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			// The synthetic world's store is kept beside the mainnet one
			// (in it, as world/) when --store is given.
			worldDir := filepath.Join(tmp, "world-store")
			if dir == "" {
				dir = filepath.Join(tmp, "store")
			} else {
				keep = true
				worldDir = filepath.Join(dir, "world")
			}
			paths, err := writeSamples(tmp, "blk_0_to_14131.dat.bz2", "blk_0_to_4.dat.bz2", "blk_3A.dat.bz2", "blk_4A.dat.bz2", "blk_5A.dat.bz2")
			if err != nil {
				return err
			}
			section("1. Ingest mainnet blocks 0..14131 (Bitcoin Core blk-file framing)")
			fmt.Printf("$ spur ingest btc --store %s --blocks %s\n", dir, paths[0])
			s, err := store.Open(btcDir(dir), store.Options{})
			if err != nil {
				return err
			}
			// Closed before the page is served, so that the store is free
			// for queries meanwhile; deferred for the returns before.
			closeStore := sync.OnceValue(s.Close)
			defer closeStore()
			st, err := ingest.Files(cmd.Context(), s, paths[:1], ingest.Options{Progress: os.Stderr})
			if err != nil {
				return err
			}
			printIngest(false, st)
			u, err := s.DiskUsage()
			if err != nil {
				return err
			}
			fmt.Printf("\ncolumns: %.2f bytes per input, %.2f bytes per output (hashes and index apart)\n", u.PerInput, u.PerOutput)

			section("2. The first payment between two people: Satoshi to Hal Finney, block 170")
			id, _ := btc.ParseHash("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
			fmt.Println("$ spur tx f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
			n, err := s.TxNum(id)
			if err != nil {
				return err
			}
			v, err := s.TxView(n)
			if err != nil {
				return err
			}
			printTx(v)

			section("3. The address that received the coins it spent (block 9's reward)")
			fmt.Println("$ spur address 12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S --txs")
			av, err := s.AddressView("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", 0, 5)
			if err != nil {
				return err
			}
			t := newTable(os.Stdout)
			t.row("received / sent / balance", fmt.Sprintf("%s / %s / %s BTC", btcAmount(av.Received), btcAmount(av.Sent), btcAmount(av.Balance)))
			t.row("transactions", av.TxCount)
			t.row("first / last seen height", fmt.Sprintf("%d / %d", av.FirstSeenHeight, av.LastSeenHeight))
			t.flush()
			for _, x := range av.Txs {
				fmt.Printf("  %6d  %s  +%s  -%s\n", x.BlockHeight, x.TxID, btcAmount(x.Received), btcAmount(x.Sent))
			}

			section("4. The genesis address (its 50 BTC coinbase can never be spent)")
			fmt.Println("$ spur address 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
			av, err = s.AddressView("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", 0, 0)
			if err != nil {
				return err
			}
			txs := "transactions"
			if av.TxCount == 1 {
				txs = "transaction"
			}
			fmt.Printf("  %s: type %s, %s %s, balance %s BTC\n", av.Address, av.Type, thousands(int64(av.TxCount)), txs, btcAmount(av.Balance))

			section("5. A reorganisation: btcd's test chain 0..4, then a longer side chain 3A..5A forking after block 2")
			rdir := filepath.Join(tmp, "reorg")
			rs, err := store.Open(btcDir(rdir), store.Options{})
			if err != nil {
				return err
			}
			defer rs.Close()
			if _, err := ingest.Files(cmd.Context(), rs, paths[1:2], ingest.Options{}); err != nil {
				return err
			}
			fmt.Printf("after blk_0_to_4: height %d, tip %s\n", rs.Height(), rs.TipHash())
			st, err = ingest.Files(cmd.Context(), rs, paths[2:], ingest.Options{})
			if err != nil {
				return err
			}
			fmt.Printf("after 3A, 4A, 5A: unwound %d blocks, added %d: height %d, tip %s\n", st.Unwound, st.Blocks, rs.Height(), rs.TipHash())
			section("6. Entities: cluster the addresses (multi-input heuristic, CoinJoins excluded)")
			fmt.Printf("$ spur cluster --store %s\n", dir)
			cst, err := cluster.Run(s, cluster.Options{})
			if err != nil {
				return err
			}
			fmt.Printf("  %s addresses in %s entities; the largest, %d, has %d addresses\n", thousands(int64(cst.Addrs)), thousands(int64(cst.Entities)), cst.LargestID, cst.Largest)
			clusters, err := cluster.Open(s)
			if err != nil {
				return err
			}
			ev, err := query.Entity(s, clusters, nil, cst.LargestID, 0, 3)
			if err != nil {
				return err
			}
			fmt.Printf("$ spur entity %d\n  received %s BTC, balance %s BTC, seen from height %d to %d; first addresses: %s\n",
				ev.ID, btcAmount(ev.Received), btcAmount(ev.Balance), ev.FirstSeenHeight, ev.LastSeenHeight, strings.Join(ev.Addresses, ", "))

			section("7. Sanctions: import the OFAC SDN list and the UK Sanctions List shipped with spur and screen addresses")
			sdnDir := filepath.Join(tmp, "sdn")
			if err := writeSanctions(sdnDir); err != nil {
				return err
			}
			fmt.Printf("$ spur labels import --store %s --format ofac-sdn-csv %s\n", dir, sdnDir)
			res, err := label.ParseOFACSDN(sdnDir)
			if err != nil {
				return err
			}
			ls, err := label.Open(labelsDir(dir))
			if err != nil {
				return err
			}
			closeLabels := sync.OnceValue(ls.Close)
			defer closeLabels()
			if err := ls.Replace(label.SourceInfo{Source: "ofac-sdn", Format: "ofac-sdn-csv", Path: sdnDir, Counts: res.PerCurrency}, res.Labels, res.Entities); err != nil {
				return err
			}
			fmt.Printf("  %d digital currency addresses (%d XBT, %d ETH, %d USDT, ...) of %s listed parties\n",
				len(res.Labels), res.PerCurrency["XBT"], res.PerCurrency["ETH"], res.PerCurrency["USDT"], thousands(int64(len(res.Entities))))
			ukPath := filepath.Join(tmp, "UK_Sanctions_List-excerpt.ods")
			if err := writeEmbedded(ukPath, "testdata/sanctions/uk_sanctions_list/UK_Sanctions_List-excerpt.ods"); err != nil {
				return err
			}
			fmt.Printf("$ spur labels import --store %s %s\n", dir, ukPath)
			uk, err := label.ParseUKSanctionsList(ukPath)
			if err != nil {
				return err
			}
			if err := ls.Replace(label.SourceInfo{Source: "uk-sanctions-list", Format: "uk-sanctions-list-ods", Path: ukPath, Counts: uk.PerProgram, Dated: uk.Dated}, uk.Labels, uk.Entities); err != nil {
				return err
			}
			fmt.Printf("  %d designations of the FCDO's spreadsheet (an excerpt of the list of %s), %d digital currency addresses\n", len(uk.Entities), uk.Dated, len(uk.Labels))
			for _, a := range []string{"0x098b716b8aaf21512996dc57eb0615e2383e2f96", "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h", "3Lpoy53K625zVeE47ZasiG5jGkAxJ27kh1", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"} {
				found, err := ls.Lookup(a)
				if err != nil {
					return err
				}
				// Each list that names the address, with its reference.
				verdict, name := "low: no label", ""
				var lists []string
				for _, l := range found {
					if l.Category == label.Sanctioned {
						list := "SDN"
						if l.Source != "ofac-sdn" {
							list = l.Source
						}
						if name == "" {
							name = l.Label
						}
						lists = append(lists, list+" "+l.Ref+", "+strings.Join(l.Programs, ", "))
					}
				}
				if len(lists) > 0 {
					verdict = "severe: sanctioned, " + name + " (" + strings.Join(lists, "; ") + ")"
				}
				fmt.Printf("$ spur screen %s\n  %s\n", a, verdict)
			}
			// The list's entries screen names too, aliases OFAC gives only
			// in remarks included.
			if ms := names.NewIndex(res.Entities).Screen(names.Query{Name: "Hidden Cobra"}, names.Options{Limit: 1}); len(ms) > 0 {
				m := ms[0]
				how := "alias"
				if m.Explanation.WeakAlias {
					how = "weak alias"
				}
				fmt.Printf("$ spur names \"Hidden Cobra\"\n  %.3f %s (SDN %s): matched %s, its %s\n", m.Score, m.Name, m.Entries[0].ID, m.Explanation.MatchedName, how)
			}
			section("8. A synthetic world with ground truth: generate, ingest, cluster, evaluate")
			wdir := filepath.Join(tmp, "world")
			fmt.Printf("$ spur gen --out %s --scale 100 --seed 1\n", wdir)
			if _, err := world.Generate(wdir, world.Options{Seed: 1, Scale: 100, Scenario: "dprk-2021", Context: cmd.Context()}); err != nil {
				return err
			}
			truth, err := eval.ReadTruth(filepath.Join(wdir, "truth.json"))
			if err != nil {
				return err
			}
			count := func(v any) string { // a number of truth.json
				if n, ok := v.(float64); ok && n == float64(int64(n)) {
					return thousands(int64(n))
				}
				return fmt.Sprint(v)
			}
			fmt.Printf("  %s blocks, %s transactions, %s CoinJoins, %d incidents of the dprk-2021 scenario\n",
				count(truth.Stats["blocks"]), count(truth.Stats["txs"]), thousands(int64(len(truth.CoinJoins))), len(truth.Incidents))
			regtest, _ := btc.LookupNetwork("regtest")
			ws, err := store.Open(btcDir(worldDir), store.Options{Network: regtest})
			if err != nil {
				return err
			}
			defer ws.Close()
			fmt.Println("$ spur ingest btc --network regtest ... && spur cluster ...")
			if _, err := ingest.Files(cmd.Context(), ws, []string{filepath.Join(wdir, "btc", "blocks")}, ingest.Options{}); err != nil {
				return err
			}
			if _, err := cluster.Run(ws, cluster.Options{}); err != nil {
				return err
			}
			wc, err := cluster.Open(ws)
			if err != nil {
				return err
			}
			fmt.Println("$ spur eval --world ... --store ...")
			rows := eval.World(ws, truth)
			rr, err := eval.Realism(ws)
			if err != nil {
				return err
			}
			rows = append(rows, rr...)
			cr, err := eval.Clustering(ws, wc, truth)
			if err != nil {
				return err
			}
			rows = append(append(rows, cr...), eval.CoinJoins(ws, truth)...)
			printEval(rows)

			var inc *world.Incident
			for _, i := range truth.Incidents {
				if i.ID == "dprk-2021-5" {
					inc = i
				}
			}
			if inc != nil {
				section("9. Trace a theft: the Liquid Global incident of " + inc.Date + ", FIFO taint, through Whirlpool")
				fmt.Println("$ spur trace --from incident:dprk-2021-5 --model fifo --mixer-links")
			}
			if inc != nil && len(inc.TheftTxs) > 0 {
				wl, err := label.Open(labelsDir(worldDir))
				if err != nil {
					return err
				}
				defer wl.Close()
				serveLabels = wl
				sl, err := label.ParseTagPack(filepath.Join(wdir, "labels", "services.yaml"))
				if err != nil {
					return err
				}
				if err := wl.Replace(label.SourceInfo{Source: "world", Format: "tagpack"}, sl.Labels, nil); err != nil {
					return err
				}
				sle, err := label.ParseTagPack(filepath.Join(wdir, "labels", "services-eth.yaml"))
				if err != nil {
					return err
				}
				if err := wl.Replace(label.SourceInfo{Source: "world-eth", Format: "tagpack"}, sle.Labels, nil); err != nil {
					return err
				}
				pf, err := label.ParsePrices(filepath.Join(wdir, "prices.csv"), "")
				if err != nil {
					return err
				}
				if err := wl.PutPrices(pf.Prices); err != nil {
					return err
				}
				starts, _, err := query.ResolveRefs(ws, wl, inc.TheftTxs)
				if err != nil {
					return err
				}
				var topts trace.Options
				if topts.Services, topts.HotWallets, err = query.Services(ws, wl); err != nil {
					return err
				}
				topts.Model, topts.MixerLinks = trace.FIFO, true
				res, err := trace.Forward(ws, starts, topts)
				if err != nil {
					return err
				}
				byCat := map[string]int64{}
				for _, d := range res.Destinations {
					key := d.Category
					if d.Category == "exchange" {
						key = d.Label
					}
					byCat[key] += d.Amount
				}
				fmt.Printf("  %s BTC stolen; %d transactions followed; %d mix outputs linked by the thief's consolidation\n", btcAmount(res.Start), res.TxsVisited, res.MixerLinks["consolidation"])
				for _, k := range sortedKeys(byCat) {
					fmt.Printf("  %-28s %s BTC\n", k, btcAmount(byCat[k]))
				}
				fmt.Println("  truth (spur never reads it; spur eval does):")
				for _, k := range sortedKeys(inc.Destinations) {
					fmt.Printf("  %-28s %s BTC\n", k, btcAmount(inc.Destinations[k]))
				}
				// The same trace drawn, as --format svg draws it.
				price, _ := wl.Price("BTC", inc.Date)
				g := graph.FromBTC(res, false, graph.Title(trace.FIFO, false, []string{"incident:dprk-2021-5 (--mixer-links)"}), func(sat int64) float64 { return float64(sat) / 1e8 * price })
				svgPath := filepath.Join(dir, "graphs", "liquid.svg")
				if err := writeSVG(g, svgPath); err != nil {
					return err
				}
				fmt.Printf("  the trace as a graph (--format svg, or dot for Graphviz): %s, %d nodes\n", svgPath, len(g.Nodes))
				// The addresses an investigator would publish (--format labels).
				held, thiefs := res.Holders(trace.HolderConfidence), 0
				for _, h := range held {
					if e, ok := truth.Addresses[h.Address]; ok && e < len(truth.Entities) && truth.Entities[e].Name == inc.Actor {
						thiefs++
					}
				}
				fmt.Printf("$ spur trace --from incident:dprk-2021-5 --mixer-links --format labels > thief.csv\n  %d addresses hold the taint, as stolen-funds labels to import; truth gives the %s %d of them\n", len(held), inc.Actor, thiefs)
				if err := demoExport(cmd.Context(), ws, filepath.Join(dir, "exports", "outputs.parquet"), held, byCat["unspent"]); err != nil {
					return err
				}
				if err := demoDepositScreen(ws, wc, filepath.Join(tmp, "screen-labels"), append(sl.Labels, sle.Labels...), res); err != nil {
					return err
				}

				section("10. The actor's year: spur report actor \"Lazarus Group\" --year 2021")
				incs, err := label.ParseIncidents(filepath.Join(wdir, "incidents.yaml"))
				if err != nil {
					return err
				}
				if err := wl.PutIncidents(incs); err != nil {
					return err
				}
				rep, err := report.ForActor(ws, nil, wl, "Lazarus Group", 2021, trace.FIFO)
				if err != nil {
					return err
				}
				fmt.Print(rep.Markdown())
				fmt.Println("\n(The Bitcoin side only; both chains together at the end.)")

				section("11. The EVM side: ingest the world's ethereum-etl export and look at the Liquid theft")
				fmt.Println("$ spur ingest evm --chain eth --etl world/evm")
				es, err := evmstore.Open(evmstore.Dir(worldDir, "eth"), "eth")
				if err != nil {
					return err
				}
				defer es.Close()
				src, err := evm.OpenETL(filepath.Join(wdir, "evm"))
				if err != nil {
					return err
				}
				defer src.Close()
				for _, t := range src.Tokens {
					if err := es.SetToken(t.Address, t.Symbol, t.Decimals); err != nil {
						return err
					}
				}
				est, err := ingest.EVMStream(cmd.Context(), es, src.Next, ingest.Options{})
				if err != nil {
					return err
				}
				kinds := map[string]int{}
				for n := uint64(0); n < es.NumEvents(); n++ {
					kinds[es.Event(n).Kind.String()]++
				}
				fmt.Printf("  %s blocks, %s transactions, %s transfers; %s swaps, %s mixer deposits, %s mixer withdrawals\n",
					thousands(int64(est.Blocks)), thousands(int64(est.Txs)), thousands(int64(est.Transfers)),
					thousands(int64(kinds["swap"])), thousands(int64(kinds["mix-deposit"])), thousands(int64(kinds["mix-withdrawal"])))
				var liquid *label.Incident
				for i := range incs {
					if incs[i].ID == "dprk-2021-5" && incs[i].EVM != nil {
						liquid = &incs[i]
					}
				}
				if liquid != nil && len(liquid.EVM.TheftTxs) > 1 {
					n, err := es.TxNum(common.HexToHash(liquid.EVM.TheftTxs[0]))
					if err != nil {
						return err
					}
					thief := es.Address(es.Tx(n).To).Hex()
					es.Close() // the commands below open the store themselves
					fmt.Printf("$ spur tx --chain eth %s   # the ETH theft, from incidents.yaml\n", liquid.EVM.TheftTxs[0])
					if err := evmTx(&storeFlags{dir: worldDir}, "eth", liquid.EVM.TheftTxs[0]); err != nil {
						return err
					}
					fmt.Printf("\n$ spur address --chain eth %s --txs --limit 8   # the receiving address\n", thief)
					if err := evmAddress(&storeFlags{dir: worldDir}, "eth", thief, true, 0, 8); err != nil {
						return err
					}

					section("12. Trace the Liquid theft on Ethereum: swaps followed, the mixer linked by public clues")
					fmt.Println("$ spur trace --chain eth --from incident:dprk-2021-5 --mixer-links")
					es2, err := evmstore.Open(evmstore.Dir(worldDir, "eth"), "eth")
					if err != nil {
						return err
					}
					defer es2.Close()
					serveEVM = es2
					res, err := printEVMTrace(es2, wl, []string{"incident:dprk-2021-5"}, evmTraceArgs{model: trace.FIFO, format: "text", mixerLinks: true})
					if err != nil {
						return err
					}
					// Across both chains, drawn as --cross --format svg draws it.
					crossed, err := query.CrossToBTC(ws, es2, wl, res, trace.FIFO)
					if err != nil {
						return err
					}
					g := graph.FromEVMTrace(es2, wl, res, false, graph.Title(trace.FIFO, false, []string{"incident:dprk-2021-5 (--mixer-links --cross)"}), crossed, inc.Date)
					svgPath := filepath.Join(dir, "graphs", "liquid-both-chains.svg")
					if err := writeSVG(g, svgPath); err != nil {
						return err
					}
					fmt.Printf("  across both chains, drawn (--cross --format svg): %s\n", svgPath)
					if err := demoEthScreen(es2, wl, res); err != nil {
						return err
					}
					if err := demoEthExport(cmd.Context(), es2, filepath.Join(dir, "exports", "balances.parquet"), res); err != nil {
						return err
					}

					section("13. The actor's year on both chains: spur report actor \"Lazarus Group\" --year 2021")
					both, err := report.ForActor(ws, es2, wl, "Lazarus Group", 2021, trace.FIFO)
					if err != nil {
						return err
					}
					fmt.Print(both.Markdown())
				}
			}
			if keep {
				fmt.Printf("\nThe mainnet store is in %s (try 'spur block 170 --store %s'), the synthetic world's in %s\n(try 'spur trace --store %s --from incident:dprk-2021-5 --mixer-links').\n", dir, dir, worldDir, worldDir)
			} else {
				fmt.Println("\nRun 'spur demo --store DIR' to keep the stores and query them yourself.")
			}
			if serveAddr == "" && !noServe && isTerminal(os.Stdout) {
				// A person at a terminal gets the page at the end; a
				// script (stdout not a terminal) gets its exit.
				serveAddr = "127.0.0.1:8080"
				if ln, err := net.Listen("tcp", serveAddr); err != nil {
					serveAddr = "127.0.0.1:0" // 8080 is taken: any free port
				} else {
					ln.Close()
				}
			}
			if serveAddr == "" || serveLabels == nil {
				fmt.Println("Run 'spur demo --serve 127.0.0.1:8080' to explore the world in the browser at the end.")
				return nil
			}
			// The page is of the world; --store's store is done with, and
			// left to the queries of the walkthrough while it is served.
			if err := errors.Join(closeStore(), closeLabels()); err != nil {
				return err
			}
			section("14. The investigation page on the demo world")
			// No API keys here: loopback only.
			if !loopback(serveAddr) {
				return usagef("--serve wants a loopback address such as 127.0.0.1:8080 (the demo serves without API keys)")
			}
			ln, err := net.Listen("tcp", serveAddr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: api.New(api.Config{Store: ws, Labels: serveLabels, EVM: serveEVM, Clusters: wc, NoAuth: true}).Handler(),
				ReadHeaderTimeout: 10 * time.Second}
			fmt.Printf("Open http://%s/ (loopback, no API key); Ctrl-C stops.\n", ln.Addr())
			return serveHTTP(cmd.Context(), srv, ln)
		},
	}
	c.Flags().StringVar(&dir, "store", "", "keep the demo's stores in this directory (the synthetic world's in DIR/world)")
	c.Flags().StringVar(&serveAddr, "serve", "", "at the end, serve the investigation page on the demo world at this address (default at a terminal: 127.0.0.1:8080)")
	c.Flags().BoolVar(&noServe, "no-serve", false, "end without serving the page, even at a terminal")
	return c
}

// isTerminal says whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// writeSanctions decompresses the embedded OFAC SDN CSV set into dir.
func writeSanctions(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, n := range []string{"sdn", "add", "alt", "sdn_comments"} {
		f, err := spur.Sanctions.Open("testdata/sanctions/ofac_sdn_2025-12/" + n + ".csv.bz2")
		if err != nil {
			return err
		}
		b, err := io.ReadAll(bzip2.NewReader(f))
		f.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, n+".csv"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeEmbedded copies an embedded sanctions file to path.
func writeEmbedded(path, name string) error {
	b, err := spur.Sanctions.ReadFile(name)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// writeSVG draws a graph into a file of its own.
func writeSVG(g *graph.Graph, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := g.WriteSVG(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func section(title string) {
	fmt.Printf("\n== %s\n\n", title)
}

// demoDepositScreen shows an exchange screening a deposit of stolen coins
// as it arrives: the thief's addresses the trace res found labelled
// stolen-funds (those the theft paid, and the mix outputs linked to the
// thief, as an investigator publishes them), and a deposit whose own
// inputs carry no label, screened as POST /v1/screen would. The labels go
// to a store of their own, so that the traces and reports after this one
// see the world's labels alone.
func demoDepositScreen(ws *store.Store, wc *cluster.Clusters, dir string, services []label.Label, res *trace.Result) error {
	var stolen []label.Label
	seen := map[string]bool{}
	for _, f := range res.Flows {
		if (f.Hop == 1 || f.CoinJoin != "" && f.Link == "heuristic") && !seen[f.To] {
			seen[f.To] = true
			stolen = append(stolen, label.Label{Address: f.To, Chain: label.ChainBTC, Category: label.StolenFunds, Label: "Liquid Global theft"})
		}
	}
	deposits := map[string]bool{}
	for _, d := range res.Destinations {
		if d.Category == label.Exchange {
			deposits[d.Address] = true
		}
	}
	var dep *trace.Flow
	for i := range res.Flows {
		f := &res.Flows[i]
		if deposits[f.To] && !seen[f.From] && (dep == nil || f.Hop < dep.Hop) {
			dep = f
		}
	}
	if len(stolen) == 0 || dep == nil {
		return nil
	}
	ls, err := label.Open(dir)
	if err != nil {
		return err
	}
	defer ls.Close()
	if err := ls.Replace(label.SourceInfo{Source: "world", Format: "tagpack"}, services, nil); err != nil {
		return err
	}
	if err := ls.Replace(label.SourceInfo{Source: "victim-report", Format: "csv"}, stolen, nil); err != nil {
		return err
	}
	out, err := api.New(api.Config{Store: ws, Labels: ls}).Screen([]api.ScreenItem{{Tx: dep.Tx, Direction: "deposit"}})
	if err != nil {
		return err
	}
	fmt.Printf("$ spur labels import ... (the thief's %d addresses, stolen-funds, those the theft paid and the mix outputs linked to them)\n", len(stolen))
	fmt.Printf("$ spur screen --tx %s   # an exchange's deposit, %d transactions after the theft\n", dep.Tx, dep.Hop-1)
	note := ""
	if len(out[0].Direct) == 0 {
		note = " (its inputs' addresses carry no label)"
	}
	fmt.Printf("  %s: %s%s\n", out[0].Severity, out[0].Rule, note)
	if err := demoRawDeposit(ws, ls, res, deposits); err != nil {
		return err
	}
	// The same labels, watched: what spur follow --alert would have told
	// block by block, hunted back through the chain (spur alerts).
	w, err := query.NewAlerts(ws, ls, func(c string) bool { return c == label.StolenFunds })
	if err != nil {
		return err
	}
	var alerts []query.Alert
	for h := int64(0); h <= ws.Height(); h++ {
		a, err := w.Block(h)
		if err != nil {
			return err
		}
		alerts = append(alerts, a...)
	}
	if len(alerts) > 0 {
		first, last := alerts[0], alerts[len(alerts)-1]
		var paid int64
		for _, p := range first.To {
			paid += p.Value
		}
		fmt.Printf("$ spur alerts --alert stolen-funds   # what spur follow --alert tells as blocks come, hunted back through the chain\n")
		fmt.Printf("  %s in blocks 0 to %d: the first at block %d (%s, paying %s BTC to addresses so labelled), the last at block %d\n",
			counted(len(alerts), "transaction", "transactions"), ws.Height(), first.Height, first.TxID, btcAmount(paid), last.Height)
	}
	return demoEntityAlerts(ws, wc, ls, stolen)
}

// demoRawDeposit builds a deposit no block holds: a coin the thief still
// holds paid to an exchange's deposit address, as it would reach the
// exchange's node, and screens it whole (spur screen --raw-tx) before it
// is mined.
func demoRawDeposit(ws *store.Store, ls *label.Store, res *trace.Result, deposits map[string]bool) error {
	var to string
	for a := range deposits {
		if to == "" || a < to {
			to = a
		}
	}
	var coin *store.Output
	for _, h := range res.Holders(trace.HolderConfidence) {
		a, err := btc.ParseAddress(h.Address, ws.Network())
		if err != nil {
			continue
		}
		n, err := ws.AddrNum(a)
		if err != nil {
			continue
		}
		ws.Postings(n, func(o uint64) bool {
			if out := ws.Output(o); !out.Spent && out.Value > 10_000 {
				coin = &out
			}
			return coin == nil
		})
		if coin != nil {
			break
		}
	}
	dest, err := btc.ParseAddress(to, ws.Network())
	if coin == nil || err != nil {
		return nil
	}
	txn, vout := ws.TxOfOutput(coin.Num)
	tx := btc.Tx{Version: 2, Inputs: []btc.TxIn{{PrevTxID: ws.TxID(txn), PrevIndex: vout, Sequence: 0xfffffffd}},
		Outputs: []btc.TxOut{{Value: coin.Value - 5_000, Script: dest.Script()}}}
	raw := hex.EncodeToString(btc.AppendTx(nil, &tx))
	out, err := api.New(api.Config{Store: ws, Labels: ls}).Screen([]api.ScreenItem{{RawTx: raw}})
	if err != nil {
		return err
	}
	fmt.Printf("$ spur screen --raw-tx %s...   # a coin the thief still holds (%s:%d, %s BTC) paid to an exchange's deposit address, in no block yet\n",
		raw[:24], ws.TxID(txn), vout, btcAmount(coin.Value))
	fmt.Printf("  %s: %s\n", out[0].Severity, out[0].Rule)
	return nil
}

// demoEntityAlerts shows a list that names one address of the thief's
// largest entity (of those the stolen labels name): the transactions of
// that address alone, then those of its entity (spur alerts --by-entity).
func demoEntityAlerts(ws *store.Store, wc *cluster.Clusters, ls *label.Store, stolen []label.Label) error {
	var listed string
	size := 1
	for _, l := range stolen {
		a, err := btc.ParseAddress(l.Address, ws.Network())
		if err != nil {
			continue
		}
		n, err := ws.AddrNum(a)
		if err != nil {
			continue
		}
		if e, ok := wc.Entity(n); ok {
			if m := len(wc.Members(e)); m > size || m == size && listed != "" && l.Address < listed {
				listed, size = l.Address, m
			}
		}
	}
	if listed == "" {
		return nil
	}
	if err := ls.Replace(label.SourceInfo{Source: "listed", Format: "csv"}, []label.Label{{Address: listed, Chain: label.ChainBTC, Category: label.Sanctioned, Label: "Lazarus Group address"}}, nil); err != nil {
		return err
	}
	if err := ls.CacheKeys(); err != nil {
		return err
	}
	var n [2]int
	for i, byEntity := range []bool{false, true} {
		w, err := query.NewAlerts(ws, ls, func(c string) bool { return c == label.Sanctioned })
		if err != nil {
			return err
		}
		if byEntity {
			if err := w.WithEntities(wc); err != nil {
				return err
			}
		}
		for h := int64(0); h <= ws.Height(); h++ {
			a, err := w.Block(h)
			if err != nil {
				return err
			}
			n[i] += len(a)
		}
	}
	fmt.Printf("$ spur alerts --alert sanctioned --by-entity   # a list naming one address of the thief's, %s, in an entity of %s\n", listed, counted(size, "address", "addresses"))
	fmt.Printf("  %s by the address alone, %s by its entity\n", counted(n[0], "transaction", "transactions"), thousands(int64(n[1])))
	return nil
}

// demoEthScreen shows an exchange screening the Ethereum deposit address
// that the mixer's withdrawals reached, in the trace res above, by the
// links the clues found: its indirect exposure, in dollars, to the mixer.
func demoEthScreen(es *evmstore.Store, labels *label.Store, res *trace.EVMResult) error {
	deposit := ""
	for _, d := range res.Destinations {
		if d.Category == label.Exchange && d.Link == "heuristic" && d.Address != "" {
			deposit = d.Address
			break
		}
	}
	if deposit == "" {
		return nil
	}
	out, err := api.New(api.Config{Labels: labels, EVM: es}).Screen([]api.ScreenItem{{Address: deposit, Chain: label.ChainETH}})
	if err != nil {
		return err
	}
	fmt.Printf("$ spur screen %s   # the exchange's deposit address the withdrawals reached\n  %s: %s\n", deposit, out[0].Severity, out[0].Rule)
	return nil
}

// demoEthExport writes the Ethereum balances as Parquet (spur export
// --chain eth balances) and reads them back, as another tool would, to set
// what the trace leaves unspent beside all that its holders hold.
func demoEthExport(ctx context.Context, es *evmstore.Store, path string, res *trace.EVMResult) error {
	c := es.Counts()
	n, err := writeOut(ctx, path, func(w io.Writer) (int64, error) {
		return export.EVM(ctx, es, "balances", w, export.Options{Format: export.Parquet, Range: export.Range{From: int64(c.First), To: int64(c.First+c.Blocks) - 1}})
	})
	if err != nil {
		return err
	}
	rows, err := parquet.ReadFile[export.EVMBalance](path)
	if err != nil {
		return err
	}
	// Each address the trace leaves holding ETH, with its taint there.
	var holders []string
	taint, balance := map[string]*big.Int{}, map[string]*big.Int{}
	for _, d := range res.Destinations {
		v, ok := new(big.Int).SetString(d.Amount, 10)
		if !ok || d.Category != "unspent" || d.Asset != "ETH" {
			continue
		}
		if taint[d.Address] == nil {
			holders = append(holders, d.Address)
			taint[d.Address], balance[d.Address] = new(big.Int), new(big.Int)
		}
		taint[d.Address].Add(taint[d.Address], v)
	}
	for _, r := range rows {
		if b := balance[r.Address]; b != nil && r.Asset == "ETH" {
			if _, ok := b.SetString(r.Balance, 10); !ok {
				return fmt.Errorf("%s: balance %q of %s", path, r.Balance, r.Address)
			}
		}
	}
	tainted, held := new(big.Int), new(big.Int)
	for _, a := range holders {
		tainted.Add(tainted, taint[a])
		held.Add(held, balance[a])
	}
	fmt.Printf("$ spur export balances --chain eth --format parquet --out %s\n  %s rows; read back, the %d addresses the trace leaves holding %s ETH of the theft hold %s ETH in all:\n",
		path, thousands(n), len(holders), ethAmountText(tainted.String(), 18), ethAmountText(held.String(), 18))
	for _, a := range holders {
		fmt.Printf("    %s holds %s ETH, %s of it the theft's\n", a, ethAmountText(balance[a].String(), 18), ethAmountText(taint[a].String(), 18))
	}
	return nil
}

// demoExport writes the world's outputs as Parquet (spur export) and reads
// the file back, as another tool would, to total what the addresses
// holding the taint still hold: the trace's unspent, on this world.
func demoExport(ctx context.Context, ws *store.Store, path string, held []trace.Holder, traced int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	n, err := writeOut(ctx, path, func(w io.Writer) (int64, error) {
		return export.BTC(ctx, ws, "outputs", w, export.Options{Format: export.Parquet, Range: export.Range{From: 0, To: ws.Height()}})
	})
	if err != nil {
		return err
	}
	rows, err := parquet.ReadFile[export.BTCOutput](path)
	if err != nil {
		return err
	}
	thief := map[string]bool{}
	for _, h := range held {
		thief[h.Address] = true
	}
	var unspent int64
	var outs int
	for _, o := range rows {
		if o.Address != nil && thief[*o.Address] && o.SpentByTxID == nil {
			unspent += o.Value
			outs++
		}
	}
	fmt.Printf("$ spur export outputs --format parquet --out %s\n  %s outputs; read back, the addresses holding the taint still hold %s BTC in %d of them (the trace: %s BTC unspent)\n",
		path, thousands(n), btcAmount(unspent), outs, btcAmount(traced))
	return nil
}
