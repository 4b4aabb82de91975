package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/webhook"
)

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type rpcFlags struct {
	url, user, pass, cookie string
}

func (r *rpcFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&r.url, "rpc", "", "node JSON-RPC URL, e.g. http://127.0.0.1:8332, or a host (its port defaults to Bitcoin Core's for the network)")
	c.Flags().StringVar(&r.user, "rpc-user", "", "JSON-RPC user")
	c.Flags().StringVar(&r.pass, "rpc-pass", "", "JSON-RPC password (or set SPUR_RPC_PASS, which ps does not show)")
	c.Flags().StringVar(&r.cookie, "rpc-cookie", "", "Bitcoin Core cookie file, or its data directory (instead of user and password; default: Bitcoin Core's own, if no credentials are given)")
}

// client connects to the node for a store of network net. As bitcoin-cli
// does, a host without a port gets Bitcoin Core's for the network, and
// without credentials spur uses the cookie of a Bitcoin Core running as
// the same user with its default data directory, if there is one.
func (r *rpcFlags) client(net *btc.Network) (*btc.RPC, error) {
	if r.pass == "" {
		r.pass = os.Getenv("SPUR_RPC_PASS")
	}
	url, err := btc.CoreURL(r.url, net)
	if err != nil {
		return nil, usageError{fmt.Errorf("--rpc: %w", err)}
	}
	cookie := r.cookie
	// Bitcoin Core's data directory given for its cookie: the network's
	// cookie in it.
	if st, err := os.Stat(cookie); err == nil && st.IsDir() {
		c := btc.CookieIn(cookie, net)
		if _, err := os.Stat(c); c == "" || err != nil {
			return nil, usagef("--rpc-cookie %s is a directory with no %s in it: give Bitcoin Core's cookie file, or its data directory for --network %s", cookie, strings.TrimPrefix(c, cookie+string(filepath.Separator)), net.Name)
		}
		cookie = c
	}
	if u, err := neturl.Parse(url); cookie == "" && r.user == "" && r.pass == "" && err == nil && u.User == nil {
		home, _ := os.UserHomeDir()
		if c := btc.CoreCookie(home, net); c != "" {
			if _, err := os.Stat(c); err == nil {
				cookie = c
			}
		}
	}
	return btc.NewRPC(url, r.user, r.pass, cookie)
}

func newIngest() *cobra.Command {
	c := &cobra.Command{Use: "ingest", Short: "Ingest a chain into a store"}
	c.AddCommand(newIngestBTC(), newIngestEVM())
	return c
}

func newIngestBTC() *cobra.Command {
	var sf storeFlags
	var rf rpcFlags
	var blocks []string
	var commitEvery int
	var stopHeight int64
	var quiet bool
	c := &cobra.Command{
		Use:   "btc --store DIR (--blocks PATH... | --rpc URL)",
		Short: "Ingest Bitcoin blocks from block files or a node",
		Long: `Ingest Bitcoin blocks into the store at --store (created if needed).

--blocks takes Bitcoin Core blocks directories (blk*.dat files, with the
xor.dat key of Bitcoin Core 28+), single blk*.dat files, or raw block files;
.bz2 files are read too. spur follows the most-work chain from genesis that
it can see and skips stale blocks. --rpc reads a Bitcoin Core or btcd node.

Rerunning continues where the last run stopped; a killed run loses nothing
committed (commits happen every 64 MiB of column data and every 30 s).`,
		Example: `  spur ingest btc --store ./store --blocks ~/.bitcoin/blocks
  spur ingest btc --store ./store --rpc http://127.0.0.1:8332 --rpc-cookie ~/.bitcoin/.cookie`,
		Args: pathsAfter("blocks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			blocks = append(blocks, args...)
			if (len(blocks) == 0) == (rf.url == "") {
				return usagef("give exactly one of --blocks or --rpc")
			}
			if commitEvery < 0 || stopHeight < 0 {
				return usagef("--commit-every and --stop-height must not be negative")
			}
			// The node's address is checked before the store is opened
			// (or made).
			var node *btc.RPC
			if rf.url != "" {
				net, err := sf.net()
				if err != nil {
					return err
				}
				if node, err = rf.client(net); err != nil {
					return err
				}
			}
			run := newFirstRun(btcDir(sf.dir))
			s, err := sf.open()
			if err != nil {
				return err
			}
			defer run.closeWith(s.Close)()
			opts := ingest.Options{CommitEvery: commitEvery, StopHeight: stopHeight, Logger: logger()}
			if !quiet {
				opts.Progress = os.Stderr
			}
			var st *ingest.Stats
			anon := sampleAnonRSS()
			if len(blocks) > 0 {
				st, err = ingest.Files(cmd.Context(), s, blocks, opts)
			} else {
				st, err = ingest.RPC(cmd.Context(), s, node, opts)
			}
			// A run that failed before it changed anything has nothing
			// to sum up: the error says it all.
			if st != nil && (err == nil || st.Blocks > 0 || st.Unwound > 0) {
				st.PeakRSSMiB, st.PeakAnonMiB = peakRSSMiB(), anon()
				printIngest(sf.json, st)
			}
			if err != nil {
				if run.failed(s.Height() < 0) {
					return fmt.Errorf("%w (no store made)", err)
				}
				return fmt.Errorf("%w (store committed at height %d)", err, s.Height())
			}
			return nil
		},
	}
	sf.register(c, true)
	rf.register(c)
	c.Flags().StringSliceVar(&blocks, "blocks", nil, "blocks directory, blk*.dat file or raw block file (repeatable)")
	c.Flags().IntVar(&commitEvery, "commit-every", 0, "also commit every N blocks (0: by size and time only)")
	c.Flags().Int64Var(&stopHeight, "stop-height", 0, "stop once the store reaches this height (0: the tip)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return c
}

// peakRSSMiB reads this process's peak resident set (VmHWM) from
// /proc/self/status; 0 where there is no such file. Unlike getrusage, it
// does not count the parent's memory that a fork copied.
func peakRSSMiB() float64 { return procStatusMiB("VmHWM:") }

// procStatusMiB reads one "NAME: N kB" field of /proc/self/status, in MiB;
// 0 where there is no such file or field.
func procStatusMiB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// sampleAnonRSS samples the process's anonymous resident memory (RssAnon:
// heap, stacks; not the pages of mapped files, which the kernel may drop)
// every 50 ms until the returned func is called, which returns the peak in
// MiB.
func sampleAnonRSS() func() float64 {
	read := func() float64 { return procStatusMiB("RssAnon:") }
	var mu sync.Mutex
	peak := read()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				v := read()
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
		}
	}()
	return func() float64 {
		close(done)
		v := read()
		mu.Lock()
		defer mu.Unlock()
		return max(peak, v)
	}
}

func printIngest(asJSON bool, st *ingest.Stats) {
	if asJSON {
		printJSON(os.Stdout, st)
		return
	}
	t := newTable(os.Stdout)
	t.row("blocks added", thousands(st.Blocks))
	t.row("transactions", thousands(st.Txs))
	t.row("inputs / outputs", thousands(st.Inputs)+" / "+thousands(st.Outputs))
	if st.Unwound > 0 {
		t.row("blocks unwound (reorg)", st.Unwound)
	}
	if st.Stale > 0 || st.Orphans > 0 {
		t.row("stale / unconnected blocks skipped", fmt.Sprintf("%d / %d", st.Stale, st.Orphans))
	}
	if st.Unfinished > 0 {
		t.row("blocks not yet written whole, left out", st.Unfinished)
	}
	if st.Height < 0 {
		t.row("store height", "- (empty)")
	} else {
		t.row("store height", st.Height)
		t.row("tip", st.Tip)
	}
	if st.PeakRSSMiB > 0 {
		t.row("peak memory", fmt.Sprintf("%.0f MiB (%.0f MiB not mapped from files)", st.PeakRSSMiB, st.PeakAnonMiB))
	}
	if st.ElapsedSec > 0 {
		t.row("rate", fmt.Sprintf("%.1f MB/s, %s tx/s", float64(st.Bytes)/st.ElapsedSec/1e6, thousands(int64(float64(st.Txs)/st.ElapsedSec))))
	}
	t.flush()
}

// printAlsoHeld says what else a store directory holds beside its Bitcoin
// chain: EVM chains, and the labels' sources, incidents and keys.
func printAlsoHeld(dir string) error {
	var lines []string
	for _, c := range evmChainsIn(dir) {
		lines = append(lines, fmt.Sprintf("the %s chain (spur store info --chain %s)", c, c))
	}
	if _, err := os.Stat(labelsDir(dir)); err == nil {
		ls, err := openLabels(dir)
		if err != nil {
			return err
		}
		defer ls.Close()
		srcs, err := ls.Sources()
		if err != nil {
			return err
		}
		var labels, entities int
		for _, s := range srcs {
			labels += s.Labels
			entities += s.Entities
		}
		incs, err := ls.Incidents()
		if err != nil {
			return err
		}
		keys, err := ls.Keys()
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%s and %s from %s, %s, %s (spur labels sources)",
			counted(labels, "label", "labels"), counted(entities, "listed entry", "listed entries"), counted(len(srcs), "source", "sources"),
			counted(len(incs), "incident", "incidents"), counted(len(keys), "API key", "API keys")))
	}
	if len(lines) > 0 {
		fmt.Println("\nalso held:")
		for _, l := range lines {
			fmt.Println("  " + l)
		}
	}
	return nil
}

func newFollow() *cobra.Command {
	c := &cobra.Command{Use: "follow", Short: "Keep a store at a node's tip"}
	var sf storeFlags
	var rf rpcFlags
	var interval time.Duration
	var withCluster, byEntity, watchMempool bool
	var alert, hookURL string
	btcCmd := &cobra.Command{
		Use:   "btc --store DIR --rpc URL [--alert CATEGORIES]",
		Short: "Follow a Bitcoin node's tip, unwinding on reorgs",
		Long: `Poll the node every --interval and append new blocks as they arrive, each
committed at once. When the node's best chain no longer holds the store's tip,
spur unwinds to the fork point and follows the new chain. Queries of the
store (spur tx, address, trace, report, ...) run beside it: it lets them in
between blocks. Stops on Ctrl-C.

With --alert (categories, comma-separated: sanctioned,stolen-funds), each
transaction of a new block that spends from or pays to an address labelled
in one of them is printed as it arrives: the theft's addresses an
investigator imported (spur trace --format labels) moving on, a sanctioned
address paying or being paid. The labels are read anew at each sync, so
an import while following counts from the next block. With --mempool, also
each transaction of the node's mempool as it arrives, before its block
(marked mempool, and told again with its block).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if rf.url == "" {
				return usagef("--rpc URL is required")
			}
			if interval <= 0 {
				return usagef("--interval must be positive")
			}
			net, err := sf.net()
			if err != nil {
				return err
			}
			node, err := rf.client(net)
			if err != nil {
				return err
			}
			watch, err := alertCategories(alert, sf.dir)
			if err != nil {
				return err
			}
			if byEntity && watch == nil {
				return usagef("--by-entity widens --alert: give --alert CATEGORIES")
			}
			if watchMempool && watch == nil {
				return usagef("--mempool watches the node's mempool for --alert: give --alert CATEGORIES")
			}
			if err := checkWebhook(hookURL, alert); err != nil {
				return err
			}
			run := newFirstRun(btcDir(sf.dir))
			s, err := waitForQueries(cmd.Context(), btcDir(sf.dir), sf.open)
			if err != nil {
				return err
			}
			defer run.closeWith(s.Close)()
			// The alerts wait for the receiver in an outbox in the store's
			// directory, kept across runs.
			hook, err := alertWebhook(hookURL, alert, webhookOutbox(sf.dir, "btc", hookURL))
			if err != nil {
				return err
			}
			defer closeWebhook(hook)
			var heldClusters *cluster.Clusters // --by-entity's, read again when replaced
			if byEntity && !withCluster {
				// Without --cluster the clustering must be there already.
				if _, err := alertClusters(s, true, &heldClusters); err != nil {
					return fmt.Errorf("%w, or follow with --cluster", err)
				}
			}
			log := logger()
			// The alerts of blocks lo..hi, printed and queued for the webhook.
			alerts := func(lo, hi int64) {
				err := withAlertLabels(sf.dir, func(labels *label.Store) error {
					c, err := alertClusters(s, byEntity, &heldClusters)
					if err != nil {
						return err
					}
					return printAlerts(s, labels, c, lo, hi, watch, alertOut{json: sf.json, hook: hook})
				})
				if err != nil {
					log.Error("alerts failed", "err", err)
				} else {
					alertsThrough(hook, hi)
				}
			}
			if watch != nil {
				alertMissed(hook, s.Height(), func(h int64) uint64 { return uint64(h) }, func(lo, hi int64) {
					if withCluster && byEntity {
						// Clustered before their alerts, as each sync's are.
						if _, err := cluster.Run(s, cluster.Options{}); err != nil {
							log.Error("clustering failed", "err", err)
						}
					}
					alerts(lo, hi)
				})
			}
			opts := ingest.Options{Logger: log}
			if watchMempool {
				opts.Polled = mempoolWatch(cmd.Context(), s, node, mempool{
					labels:   func(f func(*label.Store) error) error { return withAlertLabels(sf.dir, f) },
					clusters: func() (cluster.Reader, error) { return alertClusters(s, byEntity, &heldClusters) },
					watch:    watch,
					out:      alertOut{json: sf.json, hook: hook},
				})
			}
			err = ingest.Follow(cmd.Context(), s, node, interval, opts, func(st *ingest.Stats) {
				if withCluster {
					// Incremental: only the new transactions are read; after an
					// unwind below the last clustering it starts over. Before
					// the alerts, which may take the new blocks' entities.
					if cst, err := cluster.Run(s, cluster.Options{}); err != nil {
						log.Error("clustering failed", "err", err)
					} else {
						log.Info("clustered", "new_txs", cst.NewTxs, "entities", cst.Entities, "incremental", cst.Incremental)
					}
				}
				if watch != nil {
					// The blocks added are the sync's last, above any it
					// unwound; and those whose alerts failed before.
					alerts(alertsSince(hook, st.Height-int64(st.Blocks)+1), st.Height)
				}
				if sf.json {
					printJSON(os.Stdout, st)
					return
				}
				log.Info("synced", "height", st.Height, "tip", st.Tip, "added", st.Blocks, "unwound", st.Unwound)
			})
			if err != nil && run.failed(s.Height() < 0) {
				return fmt.Errorf("%w (no store made)", err)
			}
			return err
		},
	}
	sf.register(btcCmd, true)
	rf.register(btcCmd)
	btcCmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often to poll the node")
	btcCmd.Flags().BoolVar(&withCluster, "cluster", false, "keep the address clustering up to date as blocks arrive")
	btcCmd.Flags().BoolVar(&byEntity, "by-entity", false, "with --alert: also each transaction of an address whose entity (spur cluster; --cluster keeps it current) has such a label")
	btcCmd.Flags().StringVar(&alert, "alert", "", "print each new transaction that spends from or pays to an address labelled in these categories (comma-separated, e.g. sanctioned,stolen-funds)")
	btcCmd.Flags().StringVar(&hookURL, "alert-webhook", "", "with --alert: also POST each alert, as JSON, to this URL (signed with SPUR_WEBHOOK_SECRET if set)")
	btcCmd.Flags().BoolVar(&watchMempool, "mempool", false, "with --alert: also each transaction of the node's mempool as it arrives, before its block")
	c.AddCommand(btcCmd, newFollowEVM())
	return c
}

func newTx() *cobra.Command {
	var sf storeFlags
	var chain string
	c := &cobra.Command{
		Use:   "tx TXID|HASH --store DIR [--chain eth]",
		Short: "Show a transaction: Bitcoin inputs and outputs, or an EVM transaction's transfers",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if e, err := isEVM(chain); err != nil || e {
				if err != nil {
					return err
				}
				return evmTx(&sf, chain, args[0])
			}
			if err := notBitcoin(chain, args[0], "transaction hash"); err != nil {
				return err
			}
			id, err := btc.ParseHash(args[0])
			if err != nil {
				return usageError{err}
			}
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			n, err := s.TxNum(id)
			if err != nil {
				return err
			}
			v, err := s.TxView(n)
			if err != nil {
				return err
			}
			var shape cluster.TxShape
			var cj *cluster.CoinJoin
			if cluster.Shape(s, n, &shape) {
				cj = cluster.DetectCoinJoin(&shape)
			}
			if sf.json {
				return printJSON(os.Stdout, struct {
					*store.TxView
					CoinJoin *cluster.CoinJoin `json:"coinjoin"`
				}{v, cj})
			}
			printTx(v)
			if cj != nil {
				fmt.Printf("\ncoinjoin: %s (confidence %.2f)\n", cj.Kind, cj.Confidence)
			}
			return nil
		},
	}
	sf.register(c, true)
	chainFlag(c, &chain)
	return c
}

func printTx(v *store.TxView) {
	t := newTable(os.Stdout)
	t.row("txid", v.TxID)
	if v.Hash != v.TxID {
		t.row("wtxid", v.Hash)
	}
	if v.BlockHeight != nil {
		t.row("block", fmt.Sprintf("%d %s", *v.BlockHeight, v.BlockHash))
	}
	if v.Fee != nil {
		t.row("fee", btcAmount(*v.Fee)+" BTC")
	}
	t.row("size / vsize / weight", fmt.Sprintf("%d / %d / %d", v.Size, v.VSize, v.Weight))
	t.flush()
	fmt.Println()
	// A transaction decoded without the chain knows neither what its inputs
	// spent nor what spent its outputs: those columns are left out.
	chained := v.BlockHeight != nil
	t = newTable(os.Stdout)
	if chained {
		t.row("IN", "SPENDS", "TYPE", "ADDRESS", "BTC")
	} else {
		t.row("IN", "SPENDS")
	}
	for i, in := range v.Inputs {
		switch {
		case in.Coinbase:
			t.row(i, "coinbase")
		case !chained:
			t.row(i, fmt.Sprintf("%s:%d", in.PrevTxID, in.PrevVout))
		default:
			val := ""
			if in.Value != nil {
				val = btcAmount(*in.Value)
			}
			t.row(i, fmt.Sprintf("%s:%d", in.PrevTxID, in.PrevVout), in.Type, dash(in.Address), val)
		}
	}
	t.flush()
	fmt.Println()
	t = newTable(os.Stdout)
	if chained {
		t.row("OUT", "TYPE", "ADDRESS", "BTC", "SPENT BY")
	} else {
		t.row("OUT", "TYPE", "ADDRESS", "BTC")
	}
	for _, o := range v.Outputs {
		if !chained {
			t.row(o.N, o.Type, dash(o.Address), btcAmount(o.Value))
			continue
		}
		spent := "unspent"
		if o.SpentBy != nil {
			spent = fmt.Sprintf("%s:%d", o.SpentBy.TxID, o.SpentBy.Vin)
		}
		t.row(o.N, o.Type, dash(o.Address), btcAmount(o.Value), spent)
	}
	t.flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newAddress() *cobra.Command {
	var sf storeFlags
	var txs bool
	var limit, offset int
	var chain string
	c := &cobra.Command{
		Use:   "address ADDR --store DIR [--chain eth]",
		Short: "Show an address (Bitcoin or EVM): received, sent, balance and (with --txs) its transactions",
		Long: `Show what the store knows of an address. Bitcoin values are in satoshi in
JSON and in BTC in text; a pay-to-pubkey output counts for the P2PKH address
of its key, as block explorers show it. With --chain, an EVM address: its
received, sent and balance per asset (base units as decimal strings in JSON,
whole units in text) and its transfers.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 || offset < 0 {
				return usagef("--limit must be at least 1 and --offset at least 0")
			}
			if e, err := isEVM(chain); err != nil || e {
				if err != nil {
					return err
				}
				return evmAddress(&sf, chain, args[0], txs, offset, limit)
			}
			if err := notBitcoin(chain, args[0], "address"); err != nil {
				return err
			}
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			if !txs {
				limit = 0
			}
			v, err := s.AddressView(args[0], offset, limit)
			if err != nil {
				if !strings.Contains(err.Error(), "not found") {
					return usageError{err}
				}
				return err
			}
			if sf.json {
				return printJSON(os.Stdout, v)
			}
			t := newTable(os.Stdout)
			t.row("address", v.Address)
			t.row("type", v.Type)
			t.row("transactions", v.TxCount)
			t.row("received", btcAmount(v.Received)+" BTC")
			t.row("sent", btcAmount(v.Sent)+" BTC")
			t.row("balance", btcAmount(v.Balance)+" BTC")
			t.row("outputs (unspent)", fmt.Sprintf("%d (%d)", v.Outputs, v.Unspent))
			t.row("first / last seen height", fmt.Sprintf("%d / %d", v.FirstSeenHeight, v.LastSeenHeight))
			t.flush()
			if txs {
				fmt.Println()
				t = newTable(os.Stdout)
				t.row("HEIGHT", "TXID", "RECEIVED", "SENT")
				for _, x := range v.Txs {
					t.row(x.BlockHeight, x.TxID, btcAmount(x.Received), btcAmount(x.Sent))
				}
				t.flush()
				pageNote(offset, len(v.Txs), v.TxCount, "transactions")
			}
			return nil
		},
	}
	sf.register(c, true)
	chainFlag(c, &chain)
	c.Flags().BoolVar(&txs, "txs", false, "list the address's transactions (on EVM chains: transfers), newest first")
	c.Flags().IntVar(&limit, "limit", 50, "transactions per page")
	c.Flags().IntVar(&offset, "offset", 0, "transactions to skip")
	return c
}

func newBlock() *cobra.Command {
	var sf storeFlags
	var limit, offset int
	var chain string
	c := &cobra.Command{
		Use:   "block HEIGHT|HASH|tip --store DIR [--chain eth]",
		Short: "Show a block's header fields and its transaction hashes (paged)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 || offset < 0 {
				return usagef("--limit and --offset must not be negative")
			}
			if e, err := isEVM(chain); err != nil || e {
				if err != nil {
					return err
				}
				return evmBlock(&sf, chain, args[0], offset, limit)
			}
			if err := notBitcoin(chain, args[0], "block hash"); err != nil {
				return err
			}
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			h, err := query.BlockHeight(s, args[0])
			if errors.Is(err, query.ErrBadRef) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			v, err := s.BlockView(h, offset, limit)
			if err != nil {
				return err
			}
			if sf.json {
				return printJSON(os.Stdout, v)
			}
			t := newTable(os.Stdout)
			t.row("height", v.Height)
			t.row("hash", v.Hash)
			t.row("previous", v.Prev)
			t.row("merkle root", v.MerkleRoot)
			t.row("time", fmt.Sprintf("%d (%s)", v.Time, time.Unix(int64(v.Time), 0).UTC().Format(time.RFC3339)))
			t.row("version / bits / nonce", fmt.Sprintf("0x%08x / %s / %d", uint32(v.Version), v.Bits, v.Nonce))
			t.row("size", v.Size)
			t.row("transactions", v.TxCount)
			t.flush()
			fmt.Println()
			for i, id := range v.TxIDs {
				fmt.Printf("%6d  %s\n", offset+i, id)
			}
			pageNote(offset, len(v.TxIDs), int(v.TxCount), "transactions")
			return nil
		},
	}
	sf.register(c, true)
	chainFlag(c, &chain)
	c.Flags().IntVar(&limit, "limit", 100, "txids per page")
	c.Flags().IntVar(&offset, "offset", 0, "txids to skip")
	return c
}

func newDecode() *cobra.Command {
	var network string
	var asJSON bool
	c := &cobra.Command{
		Use:   "decode block|tx FILE|HEX|-",
		Short: "Decode a raw block or transaction without a store",
		Long: `Decode a serialized block or transaction given as a file (binary or hex) or
as hex on the command line, or on standard input for "-" (bitcoin-cli
getrawtransaction TXID | spur decode tx -), like Bitcoin Core's
decoderawtransaction. A block file is read as an ingest reads one: a raw
block, or a blk*.dat file (its first block, with the xor.dat key beside
it), .bz2 too. The JSON
is that of 'spur tx' less the fields that need the chain (input addresses and
values, fee, spent_by); a block gives its header fields and tx[]. A transaction
with no inputs (not yet funded) is read as decoderawtransaction reads it.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			net, err := btc.LookupNetwork(network)
			if err != nil {
				return usageError{err}
			}
			kind, src := args[0], args[1]
			if kind != "block" && kind != "tx" {
				return usagef("decode what? want block or tx, got %q", kind)
			}
			var raw []byte
			if kind == "block" && isBlockFile(src) {
				raw, err = firstBlockOf(src, net)
			} else {
				raw, err = readRaw(src)
			}
			if err != nil {
				return err
			}
			if kind == "tx" {
				tx, err := btc.DecodeRawTx(raw)
				if err != nil && len(raw) == 32 {
					return fmt.Errorf("%s: %w (32 bytes: a txid? spur tx TXID --store DIR looks one up)", src, err)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", src, err)
				}
				v := store.DecodedTxView(tx, net)
				if asJSON {
					return printJSON(os.Stdout, v)
				}
				printTx(v)
				return nil
			}
			blk, err := btc.DecodeBlock(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", src, err)
			}
			v := decodedBlock(blk, net)
			if asJSON {
				return printJSON(os.Stdout, v)
			}
			t := newTable(os.Stdout)
			t.row("hash", v.Hash)
			t.row("previous", v.Prev)
			t.row("merkle root", v.MerkleRoot+" (checked)")
			t.row("time", v.Time)
			t.row("transactions", len(v.Tx))
			t.row("size", v.Size)
			t.flush()
			fmt.Println()
			for i, tx := range v.Tx {
				fmt.Printf("%6d  %s\n", i, tx.TxID)
			}
			return nil
		},
	}
	c.Flags().StringVar(&network, "network", "main", "network for address prefixes")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}

type decodedBlockView struct {
	Hash       string          `json:"hash"`
	Prev       string          `json:"previousblockhash"`
	MerkleRoot string          `json:"merkleroot"`
	Version    int32           `json:"version"`
	Time       uint32          `json:"time"`
	Bits       string          `json:"bits"`
	Nonce      uint32          `json:"nonce"`
	Size       int             `json:"size"`
	Tx         []*store.TxView `json:"tx"`
}

func decodedBlock(b *btc.Block, net *btc.Network) *decodedBlockView {
	v := &decodedBlockView{
		Hash: b.Hash.String(), Prev: b.Header.Prev.String(), MerkleRoot: b.Header.MerkleRoot.String(),
		Version: b.Header.Version, Time: b.Header.Time, Bits: fmt.Sprintf("%08x", b.Header.Bits), Nonce: b.Header.Nonce,
		Size: len(b.Raw),
	}
	for i := range b.Txs {
		v.Tx = append(v.Tx, store.DecodedTxView(&b.Txs[i], net))
	}
	return v
}

// readRaw reads a file (binary, or hex text), standard input for "-", or
// takes the argument as hex (spaces and newlines around it ignored, as
// pasted).
// isBlockFile reports whether path is a file of binary blocks (or a
// .bz2 of one), not one of hex.
func isBlockFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.IsDir() {
		return false
	}
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	h := strings.TrimSpace(string(head[:n]))
	return strings.HasSuffix(path, ".bz2") || !isHex(h[:len(h)&^1])
}

// firstBlockOf reads a block file as an ingest would (a raw block, or a
// blk*.dat file framed with the network's magic and obfuscated with its
// directory's xor.dat, or either compressed with bzip2) and returns its
// first block, noting on standard error how many more it holds.
func firstBlockOf(path string, net *btc.Network) ([]byte, error) {
	files, err := btc.OpenBlockPaths([]string{path}, net)
	if err != nil {
		return nil, err
	}
	defer files[0].Close()
	refs, err := files[0].Scan(net)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%w: %s holds no block", btc.ErrCorrupt, path)
	}
	if len(refs) > 1 {
		fmt.Fprintf(os.Stderr, "note: %s is a block file of %d blocks; this is the first (spur ingest btc reads them all)\n", path, len(refs))
	}
	return refs[0].Read(nil)
}

func readRaw(src string) ([]byte, error) {
	var b []byte
	var err error
	if src == "-" {
		if b, err = io.ReadAll(os.Stdin); err != nil {
			return nil, fmt.Errorf("standard input: %w", err)
		}
	} else {
		b, err = os.ReadFile(src)
	}
	if err == nil {
		if h := strings.TrimSpace(string(b)); isHex(h) {
			return hex.DecodeString(h)
		}
		return b, nil
	}
	if h := strings.TrimSpace(src); isHex(h) {
		return hex.DecodeString(h)
	}
	shown := src
	if len(shown) > 40 {
		shown = shown[:40] + "..."
	}
	return nil, usagef("%q is neither a readable file nor hex (%d characters)", shown, len(src))
}

func isHex(s string) bool {
	if len(s) == 0 || len(s)%2 != 0 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func newStoreCmd() *cobra.Command {
	c := &cobra.Command{Use: "store", Short: "Inspect a store: counts, disk usage, digest"}
	var sf storeFlags
	var infoChain, digestChain string
	info := &cobra.Command{
		Use:   "info --store DIR [--chain eth]",
		Short: "Show the store's height, counts and bytes on disk per input and output (per transfer on EVM chains)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if e, err := isEVM(infoChain); err != nil || e {
				if err != nil {
					return err
				}
				return evmStoreInfo(&sf, infoChain)
			}
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			u, err := s.DiskUsage()
			if err != nil {
				return err
			}
			cnt := s.Counts()
			out := map[string]any{
				"network": s.Network().Name, "height": s.Height(), "tip": s.TipHash().String(),
				"format_version": store.FormatVersion, "counts": cnt, "disk": u,
			}
			if sf.json {
				return printJSON(os.Stdout, out)
			}
			t := newTable(os.Stdout)
			t.row("network", s.Network().Name)
			t.row("height", s.Height())
			t.row("tip", s.TipHash())
			t.row("blocks / txs", fmt.Sprintf("%s / %s", thousands(int64(cnt.Blocks)), thousands(int64(cnt.Txs))))
			t.row("inputs / outputs / addresses", fmt.Sprintf("%s / %s / %s", thousands(int64(cnt.Inputs)), thousands(int64(cnt.Outputs)), thousands(int64(cnt.Addrs))))
			t.row("bytes per input (columns)", fmt.Sprintf("%.2f", u.PerInput))
			t.row("bytes per output (columns)", fmt.Sprintf("%.2f", u.PerOutput))
			t.row("hashes", thousands(u.Hashes))
			t.row("indexes (hash tables, postings)", thousands(u.Index))
			t.row("total bytes", thousands(u.Total))
			t.flush()
			return printAlsoHeld(sf.dir)
		},
	}
	sf.register(info, true)
	chainFlag(info, &infoChain)
	var df storeFlags
	digest := &cobra.Command{
		Use:   "digest --store DIR [--chain eth]",
		Short: "Print a SHA-256 over the store's committed content (columns and index)",
		Long: `Two stores holding the same chain have the same digest, whatever happened
to them on the way (crashes, reorgs, resumed runs).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if e, err := isEVM(digestChain); err != nil || e {
				if err != nil {
					return err
				}
				es, err := openEVM(&df, digestChain, evmRead)
				if err != nil {
					return err
				}
				defer es.Close()
				d, err := es.Digest()
				if err != nil {
					return err
				}
				n, _, _ := es.Tip()
				if df.json {
					return printJSON(os.Stdout, map[string]any{"digest": d, "tip_block": n, "blocks": es.Counts().Blocks})
				}
				fmt.Println(d)
				return nil
			}
			s, err := df.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			d, err := s.Digest()
			if err != nil {
				return err
			}
			if df.json {
				return printJSON(os.Stdout, map[string]any{"digest": d, "height": s.Height()})
			}
			fmt.Println(d)
			return nil
		},
	}
	df.register(digest, true)
	chainFlag(digest, &digestChain)
	c.AddCommand(info, digest)
	return c
}

// alertCategories reads --alert: nil when it is empty. A category no
// label of the store has yet is noted (a typo watches nothing), not
// refused: a list may be imported while following.
func alertCategories(arg, dir string) (func(string) bool, error) {
	if strings.TrimSpace(arg) == "" {
		return nil, nil
	}
	cats := map[string]bool{}
	for _, c := range strings.Split(arg, ",") {
		if c = label.Category(c); c == "" {
			return nil, usagef("--alert %q: an empty category", arg)
		}
		cats[c] = true
	}
	if labels, err := openLabels(dir); err == nil {
		for c := range cats {
			if err := hintFilter(labels, label.Filter{Category: c}); err != nil {
				labels.Close()
				return nil, err
			}
		}
		labels.Close()
	}
	return func(c string) bool { return cats[c] }, nil
}

// alertClusters reads the store's clustering for --by-entity: nil without
// it. A follower keeps the one it read in *held and reads the files again
// only when a run has replaced them (its own --cluster, or spur cluster
// between its blocks); held may be nil for a single read.
func alertClusters(s *store.Store, byEntity bool, held **cluster.Clusters) (cluster.Reader, error) {
	if !byEntity {
		return nil, nil
	}
	var cur *cluster.Clusters
	if held != nil {
		cur = *held
	}
	c, _, err := cluster.Reopen(s, cur)
	if err != nil {
		return nil, fmt.Errorf("--by-entity: %w", err)
	}
	if held != nil {
		*held = c
	}
	return c, nil
}

// printAlerts prints the alerts of the blocks from height lo to hi, with
// the entities of clustering c if not nil: as
// text, or each as a JSON object (beside those of the syncs, told apart
// by their txid); blockDone, if given, is called after each block with
// its alerts' count. The
// labels must have their keys cached (withAlertLabels).
func printAlerts(s *store.Store, labels *label.Store, c cluster.Reader, lo, hi int64, watch func(string) bool, out alertOut, blockDone ...func(alerts int)) error {
	if lo > hi {
		return nil
	}
	w, err := query.NewAlerts(s, labels, watch)
	if err != nil {
		return err
	}
	if c != nil {
		if err := w.WithEntities(c); err != nil {
			return err
		}
	}
	for h := lo; h <= hi; h++ {
		alerts, err := w.Block(h)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if err := printBTCAlert(a, out); err != nil {
				return err
			}
		}
		for _, done := range blockDone {
			done(len(alerts))
		}
	}
	return nil
}

// A mempool is what a follow with --mempool needs besides the store and
// the node: how to hold the labels and the entities for a read, where the
// alerts go, and (if set) where to tell the mempool's size.
type mempool struct {
	// labels calls its argument with the labels, their keys cached.
	labels func(func(*label.Store) error) error
	// clusters gives the entities to widen the alerts by (--by-entity),
	// or nil.
	clusters func() (cluster.Reader, error)
	watch    func(string) bool
	out      alertOut
	size     *atomic.Int64 // the transactions of its last read
	fetchers int           // transactions asked for at once (fetchMempool)
}

// mempoolWatch returns what a follow calls after each poll with --mempool:
// mempoolPoll's reading, its failures logged (the next poll reads again).
func mempoolWatch(ctx context.Context, s *store.Store, node *btc.RPC, m mempool) func() {
	poll, log := mempoolPoll(ctx, s, node, m), logger()
	return func() {
		if _, err := poll(); err != nil {
			log.Warn("mempool alerts", "err", err)
		}
	}
}

// mempoolPoll returns a reading of the node's mempool (getrawmempool), each
// transaction not seen before (getrawtransaction) alerted as a block's are,
// on the store's coins: how many were alerted. Transactions already in a
// stored block are passed over: their block told them. The txids seen are
// kept while the mempool holds them.
func mempoolPoll(ctx context.Context, s *store.Store, node *btc.RPC, m mempool) func() (alerted int, err error) {
	seen := map[btc.Hash]bool{}
	log := logger()
	return func() (alerted int, err error) {
		ids, err := node.RawMempool(ctx)
		if err != nil {
			return 0, fmt.Errorf("mempool not read: %w", err)
		}
		if m.size != nil {
			m.size.Store(int64(len(ids)))
		}
		now := make(map[btc.Hash]bool, len(ids))
		var fresh []btc.Hash
		for _, id := range ids {
			now[id] = true
			if !seen[id] {
				fresh = append(fresh, id)
			}
		}
		for id := range seen {
			if !now[id] {
				delete(seen, id)
			}
		}
		if len(fresh) == 0 {
			return 0, nil
		}
		unanswered := 0
		err = m.labels(func(labels *label.Store) error {
			w, err := query.NewAlerts(s, labels, m.watch)
			if err != nil {
				return err
			}
			c, err := m.clusters()
			if err != nil {
				return err
			}
			if c != nil {
				if err := w.WithEntities(c); err != nil {
					return err
				}
			}
			for lo := 0; lo < len(fresh); lo += mempoolChunk {
				chunk := fresh[lo:min(lo+mempoolChunk, len(fresh))]
				raws, errs := fetchMempool(ctx, s, node, chunk, m.fetchers)
				for i, b := range raws {
					if errors.Is(errs[i], btc.ErrUnanswered) {
						unanswered++ // asked again at the next poll
						continue
					}
					seen[chunk[i]] = true
					if b == nil {
						continue // in a block already, or gone from the mempool since
					}
					tx, err := btc.DecodeTx(b)
					if err != nil {
						log.Warn("mempool transaction not decoded", "txid", chunk[i], "err", err)
						continue
					}
					a, err := w.Mempool(tx)
					if err != nil {
						return err
					}
					if a != nil {
						if err := printBTCAlert(*a, m.out); err != nil {
							return err
						}
						alerted++
					}
				}
				if ctx.Err() != nil {
					return nil // stopping
				}
			}
			return nil
		})
		if err == nil && unanswered > 0 {
			err = fmt.Errorf("the node did not answer for %s of the mempool (asked for again at the next read)", counted(unanswered, "transaction", "transactions"))
		}
		return alerted, err
	}
}

// mempoolChunk is how many mempool transactions are fetched before their
// alerts are told: a node's first answer may list hundreds of thousands.
const mempoolChunk = 1024

// fetchMempool returns the bytes of each transaction of ids not stored in
// a block yet (nil for those stored, and those the node no longer has), and
// the node's error for each it was asked for in vain, asking it for
// fetchers of them at once (8 if 0, as an ingest asks for blocks): one at
// a time, each answer waits out a round trip.
func fetchMempool(ctx context.Context, s *store.Store, node *btc.RPC, ids []btc.Hash, fetchers int) ([][]byte, []error) {
	if fetchers <= 0 {
		fetchers = 8
	}
	raws, errs := make([][]byte, len(ids)), make([]error, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(fetchers, len(ids)) {
		wg.Go(func() {
			for i := range next {
				raws[i], errs[i] = node.RawTransaction(ctx, ids[i])
			}
		})
	}
	for i, id := range ids {
		if _, err := s.TxNum(id); err == nil || ctx.Err() != nil {
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return raws, errs
}

// printBTCAlert prints a Bitcoin alert, of a block or of the mempool.
func printBTCAlert(a query.Alert, out alertOut) error {
	var parties []alertParty
	for _, p := range a.From {
		parties = append(parties, alertParty{"from", p.Address, btcAmount(p.Value) + " BTC", p.Labels, btcAlertEntity(p.Entity)})
	}
	for _, p := range a.To {
		parties = append(parties, alertParty{"to", p.Address, btcAmount(p.Value) + " BTC", p.Labels, btcAlertEntity(p.Entity)})
	}
	where := fmt.Sprintf("block %d", a.Height)
	if a.Mempool {
		where = "mempool"
	}
	return printAlert(a, where, a.TxID, parties, out)
}

// withAlertLabels calls print with the store's labels, opened for a
// sync's alerts (read anew at each sync, they take an import made while
// following), their keys cached, so that the many addresses with none cost
// no read.
func withAlertLabels(dir string, print func(*label.Store) error) error {
	labels, err := openLabels(dir)
	if err != nil {
		return err
	}
	defer labels.Close()
	if err := labels.CacheKeys(); err != nil {
		return err
	}
	return print(labels)
}

// An alertParty is a line of an alert's text: a labelled address on one
// side of the transaction, what it moved, its labels.
type alertParty struct {
	side, address, amount string
	labels                []label.Label
	entity                *alertEntity // --by-entity's, where it applies
}

// An alertEntity is an alert party's entity: its id as spur entity names
// it, its size, and its labels of the watched categories.
type alertEntity struct {
	id     string
	size   int
	labels []query.EntityLabel
}

// alertOut is where alerts go: standard output, as text or JSON, and a
// webhook if one is given (--alert-webhook).
type alertOut struct {
	json bool
	hook *webhook.Sender
	// wait, if not nil, makes each alert wait for room in the webhook's
	// queue (a hunt through the store) rather than be dropped.
	wait context.Context
}

// alertWebhook starts the sender of --alert-webhook URL, nil without it;
// SPUR_WEBHOOK_SECRET, if set, signs the bodies (an environment variable,
// which ps does not show). With outbox, its queue is that directory
// (webhookOutbox), kept across runs.
func alertWebhook(url, alert, outbox string) (*webhook.Sender, error) {
	if err := checkWebhook(url, alert); err != nil || url == "" {
		return nil, err
	}
	open := func() (*webhook.Sender, error) {
		return webhook.New(url, os.Getenv("SPUR_WEBHOOK_SECRET"), logger())
	}
	if outbox != "" {
		open = func() (*webhook.Sender, error) {
			return webhook.Open(url, os.Getenv("SPUR_WEBHOOK_SECRET"), outbox, logger())
		}
	}
	h, err := open()
	if errors.Is(err, webhook.ErrOutboxLocked) {
		return nil, fmt.Errorf("--alert-webhook: %w: another follower posts this store's alerts to it", err)
	}
	if err != nil {
		return nil, fmt.Errorf("--alert-webhook: %w", err)
	}
	return h, nil
}

// checkWebhook checks --alert-webhook URL before anything is opened.
func checkWebhook(url, alert string) error {
	if url == "" {
		return nil
	}
	if alert == "" {
		return usagef("--alert-webhook posts the alerts: give --alert CATEGORIES")
	}
	if _, err := webhook.Check(url); err != nil {
		return usageError{fmt.Errorf("--alert-webhook: %w", err)}
	}
	return nil
}

// webhookOutbox is the directory where a follower's alerts of chain wait
// for the receiver at url: in the store's directory, one a chain and
// receiver, named by the URL's hash (its path may hold a token).
func webhookOutbox(dir, chain, url string) string {
	h := sha256.Sum256([]byte(url))
	return filepath.Join(dir, "webhooks", chain+"-"+hex.EncodeToString(h[:6]))
}

// alertsSince gives the first block of a sync whose alerts to post: the
// sync's first added block lo, or, with an outbox, the block after the
// last whose alerts it holds when that is lower (a run stopped between a
// block's commit and its alerts, or whose alerts failed). A new outbox
// starts at lo.
func alertsSince(hook *webhook.Sender, lo int64) int64 {
	if t, ok := hook.Through(); ok && t+1 < lo {
		return t + 1
	}
	return lo
}

// missedAlerts says, at a follower's start, the blocks up to tip whose
// alerts no run queued for hook's receiver (committed by an ingest, or
// by a run stopped in between): from lo, if ok. A new outbox, or one past
// the tip after an unwind, starts at tip.
func missedAlerts(hook *webhook.Sender, tip int64) (lo int64, ok bool) {
	if hook == nil {
		return 0, false
	}
	t, known := hook.Through()
	if !known || t > tip {
		alertsThrough(hook, tip)
		return 0, false
	}
	return t + 1, t < tip
}

// alertMissed queues, at a follower's start, the alerts of the blocks up
// to tip that no run queued for hook's receiver (missedAlerts), saying so;
// number names a block (a row of an EVM store) as the chain numbers it.
func alertMissed(hook *webhook.Sender, tip int64, number func(int64) uint64, alerts func(lo, hi int64)) {
	if lo, ok := missedAlerts(hook, tip); ok {
		logger().Info("alerting the blocks added since the webhook's last", "from", number(lo), "to", number(tip))
		alerts(lo, tip)
	}
}

// alertsThrough records that the alerts up to height are in hook's outbox.
func alertsThrough(hook *webhook.Sender, height int64) {
	if hook == nil {
		return
	}
	if err := hook.SetThrough(height); err != nil {
		logger().Error("alerts not recorded as queued", "err", err)
	}
}

// closeWebhook delivers what h still holds, for at most five seconds.
func closeWebhook(h *webhook.Sender) {
	if h == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.Close(ctx)
}

// printAlert prints alert a: its JSON object, or a line for its
// transaction and one for each labelled party; and queues it for the
// webhook, if any.
func printAlert(a any, where, txid string, parties []alertParty, out alertOut) error {
	if out.hook != nil && out.wait != nil {
		if err := out.hook.SendWait(out.wait, a); err != nil {
			return err
		}
	} else if out.hook != nil {
		if err := out.hook.Send(a); err != nil {
			logger().Error("alert not posted", "txid", txid, "err", err)
		}
	}
	if out.json {
		return printJSON(os.Stdout, a)
	}
	fmt.Printf("alert: %s, tx %s\n", where, txid)
	// A side of many parties (a consolidation of an entity's coins) is
	// said by its first ones and a count.
	const shown = 10
	perSide := map[string]int{}
	for _, p := range parties {
		perSide[p.side]++
	}
	seen := map[string]int{}
	for _, p := range parties {
		seen[p.side]++
		if n := seen[p.side]; n > shown {
			if n == shown+1 {
				fmt.Printf("  %-4s ... and %s (--json lists them all)\n", p.side, counted(perSide[p.side]-shown, "more address", "more addresses"))
			}
			continue
		}
		what := labelsText(p.labels)
		if e := entityText(p.entity, p.address); e != "" {
			what = strings.TrimPrefix(what+"; "+e, "; ")
		}
		fmt.Printf("  %-4s %s  %s  %s\n", p.side, p.address, p.amount, what)
	}
	return nil
}

// entityText says what an alert party's entity is labelled by its other
// addresses (the party's own labels are said beside it): "entity 12 of
// 4,512 addresses: sanctioned: Garantex (ofac) at 1Abc..."; "" when
// nothing more.
func entityText(e *alertEntity, self string) string {
	if e == nil {
		return ""
	}
	const most = 3
	var what []string
	others := 0
	for _, l := range e.labels {
		if l.Via == self {
			continue
		}
		if others++; others <= most {
			what = append(what, labelsText([]label.Label{l.Label})+" at "+l.Via)
		}
	}
	if others == 0 {
		return ""
	}
	if others > most {
		what = append(what, fmt.Sprintf("%s more", thousands(int64(others-most))))
	}
	return fmt.Sprintf("entity %s of %s: %s", e.id, counted(e.size, "address", "addresses"), strings.Join(what, "; "))
}

// btcAlertEntity is a Bitcoin party's entity for the text, nil for none.
func btcAlertEntity(e *query.ScreenEntity) *alertEntity {
	if e == nil {
		return nil
	}
	return &alertEntity{strconv.FormatUint(uint64(e.ID), 10), e.Size, e.Labels}
}

// labelsText says an alert's labels: "stolen-funds: Liquid theft
// (csv:thief); ...".
func labelsText(ls []label.Label) string {
	var what []string
	for _, l := range ls {
		w := l.Category
		if l.Label != "" {
			w += ": " + l.Label
		}
		what = append(what, w+" ("+l.Source+")")
	}
	return strings.Join(what, "; ")
}
