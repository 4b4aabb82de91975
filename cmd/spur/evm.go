package main

import (
	"fmt"
	"io"
	"math/big"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
)

// chainFlag is --chain on the lookup commands: btc (default) or an EVM chain.
func chainFlag(c *cobra.Command, v *string) {
	c.Flags().StringVar(v, "chain", "btc", "chain: btc, or an EVM chain (eth, sepolia, holesky, dev)")
}

func isEVM(chain string) (bool, error) {
	if chain == "btc" || chain == "" {
		return false, nil
	}
	if _, ok := evmstore.Chains[chain]; !ok {
		return false, usagef("unknown chain %q: want btc, eth, sepolia, holesky or dev", chain)
	}
	return true, nil
}

func evmDir(dir, chain string) string { return evmstore.Dir(dir, chain) }

// evmStoreExists reports whether dir holds a store of chain (its META).
func evmStoreExists(dir, chain string) bool {
	_, err := os.Stat(filepath.Join(evmDir(dir, chain), "META"))
	return err == nil
}

// notBitcoin refuses, for a command reading the Bitcoin store (no
// --chain), an argument of an EVM chain's form (0x and 40 or 64 hex
// digits), naming the flag that reads it.
func notBitcoin(chain, arg, what string) error {
	if (chain == "" || chain == "btc") && (len(arg) == 42 || len(arg) == 66) && strings.HasPrefix(arg, "0x") && isHex(arg[2:]) {
		return usagef("%q is an EVM %s: add --chain eth (or the chain it is on)", arg, what)
	}
	return nil
}

// How a command opens a chain's EVM store.
type evmOpen int

const (
	evmRead   evmOpen = iota // an existing store, its lock shared beside other readers
	evmWrite                 // an existing store, its lock exclusive (a bench that ingests into it)
	evmCreate                // created if need be, its lock exclusive (ingests)
)

func openEVM(sf *storeFlags, chain string, how evmOpen) (*evmstore.Store, error) {
	if sf.dir == "" {
		return nil, usagef("--store DIR is required")
	}
	if _, ok := evmstore.Chains[chain]; !ok {
		return nil, usagef("unknown chain %q: want eth, sepolia, holesky or dev", chain)
	}
	dir := evmDir(sf.dir, chain)
	if how != evmCreate {
		if _, err := os.Stat(filepath.Join(dir, "META")); err != nil {
			return nil, fmt.Errorf("%w: %s holds no %s store (no evm/%s/META)", evmstore.ErrNotFound, sf.dir, chain, chain)
		}
	}
	if how == evmRead {
		// Rows a crash left past the commit are ignored, as a writable
		// open would cut them: nothing to repair first.
		return evmstore.OpenReadOnly(dir, chain)
	}
	return evmstore.Open(dir, chain)
}

type evmRPCFlags struct {
	url     string
	traces  string
	timeout time.Duration
	// names, where the command calls the flags otherwise (spur serve's
	// --follow-evm, --evm-traces, --evm-rpc-timeout): rpc, traces and
	// rpc-timeout by default.
	urlFlag, tracesFlag, timeoutFlag string
}

func orFlag(name, def string) string {
	if name == "" {
		return "--" + def
	}
	return "--" + name
}

func (r *evmRPCFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&r.url, "rpc", "", "node JSON-RPC URL, e.g. http://127.0.0.1:8545")
	c.Flags().StringVar(&r.traces, "traces", "callTracer", "internal calls from: callTracer (debug_traceBlockByNumber), trace_block, or none")
	c.Flags().DurationVar(&r.timeout, "rpc-timeout", 60*time.Second, "timeout of one JSON-RPC request")
}

func (r *evmRPCFlags) client() (*evm.RPC, error) {
	switch r.traces {
	case "callTracer", "trace_block", "none":
	default:
		return nil, usagef("%s must be callTracer, trace_block or none, not %q", orFlag(r.tracesFlag, "traces"), r.traces)
	}
	if !strings.HasPrefix(r.url, "http://") && !strings.HasPrefix(r.url, "https://") {
		return nil, usagef("%s must be an http:// or https:// URL, not %q", orFlag(r.urlFlag, "rpc"), r.url)
	}
	if u, err := neturl.Parse(r.url); err != nil || u.Host == "" {
		return nil, usagef("%s %q is not a URL with a host", orFlag(r.urlFlag, "rpc"), r.url)
	}
	if r.timeout <= 0 {
		return nil, usagef("%s must be positive", orFlag(r.timeoutFlag, "rpc-timeout"))
	}
	rpc := &evm.RPC{URL: r.url, Traces: r.traces}
	rpc.Client = &http.Client{Timeout: r.timeout}
	return rpc, nil
}

// between passes on a file source's blocks from..to (to 0: to its end):
// blocks before from are skipped while the store is empty (a store that
// holds blocks checks and skips those it has), and the source ends after
// to.
func between(next func() (*evm.Block, error), from, to uint64, s *evmstore.Store) func() (*evm.Block, error) {
	return func() (*evm.Block, error) {
		for {
			b, err := next()
			if err != nil {
				return nil, err
			}
			if to > 0 && b.Number > to {
				return nil, io.EOF
			}
			if _, _, stored := s.Tip(); !stored && b.Number < from {
				continue
			}
			return b, nil
		}
	}
}

func newIngestEVM() *cobra.Command {
	var sf storeFlags
	var rf evmRPCFlags
	var chain, etl string
	var era1 []string
	var from, to uint64
	var commitEvery, workers int
	var quiet bool
	c := &cobra.Command{
		Use:   "evm --store DIR --chain eth (--etl DIR | --era1 PATH... | --rpc URL)",
		Short: "Ingest an EVM chain from an ethereum-etl export, era1 archives or a node",
		Long: `Ingest an EVM chain into the store at --store (under evm/CHAIN, created if
needed). The unit is the transfer: native ETH (transaction values, internal
calls, self-destructs, rewards, withdrawals, fees and the burnt base fee) and
ERC-20 Transfer logs; DEX swaps and mixer deposits and withdrawals are derived
from their logs and linked to their transfers.

--etl reads an ethereum-etl export (blocks, transactions, receipts, logs,
token_transfers, traces CSV files with ethereum-etl's column names; one
directory or its partitioned tree). Without traces.csv, internal transfers
are unknown. --era1 reads era1 archives (pre-merge history: headers, bodies
and receipts; each block's transactions and receipts roots are checked);
they carry no internal calls. --rpc reads a node: eth_getBlockByNumber, eth_getBlockReceipts
(or per-transaction receipts), and debug_traceBlockByNumber's callTracer (or
trace_block with --traces trace_block); the node's chain id must match
--chain.

Rerunning continues where the last run stopped; blocks already stored are
checked against the store and skipped. A killed run loses nothing committed.`,
		Example: `  spur ingest evm --store ./store --chain eth --etl ./export
  spur ingest evm --store ./store --chain sepolia --era1 ./era1/
  spur ingest evm --store ./store --chain dev --rpc http://127.0.0.1:8545`,
		Args: pathsAfter("era1"),
		RunE: func(cmd *cobra.Command, args []string) error {
			era1 = append(era1, args...)
			given := 0
			for _, g := range []bool{etl != "", len(era1) > 0, rf.url != ""} {
				if g {
					given++
				}
			}
			if given != 1 {
				return usagef("give exactly one of --etl, --era1 or --rpc")
			}
			if commitEvery < 0 || workers < 0 {
				return usagef("--commit-every and --workers must not be negative")
			}
			var node *evm.RPC
			if rf.url != "" {
				var err error
				if node, err = rf.client(); err != nil {
					return err
				}
			}
			run := newFirstRun(evmDir(sf.dir, chain))
			s, err := openEVM(&sf, chain, evmCreate)
			if err != nil {
				return err
			}
			defer run.closeWith(s.Close)()
			opts := ingest.Options{CommitEvery: commitEvery, Workers: workers, Logger: logger()}
			if !quiet {
				opts.Progress = os.Stderr
			}
			// A source that cannot be read fails as the ingest would: a
			// store made for it is removed.
			st, err := func() (*ingest.EVMStats, error) {
				switch {
				case etl != "":
					src, err := evm.OpenETL(etl)
					if err != nil {
						return nil, err
					}
					defer src.Close()
					for _, t := range src.Tokens {
						if err := s.SetToken(t.Address, t.Symbol, t.Decimals); err != nil {
							return nil, err
						}
					}
					return ingest.EVMStream(cmd.Context(), s, between(src.Next, from, to, s), opts)
				case len(era1) > 0:
					src, err := evm.OpenEra1(era1, s.ChainID())
					if err != nil {
						return nil, err
					}
					defer src.Close()
					return ingest.EVMStream(cmd.Context(), s, between(src.Next, from, to, s), opts)
				}
				return ingest.EVMRPC(cmd.Context(), s, node, from, to, opts)
			}()
			// After a bulk load (a quarter of the store's transfers or
			// more came in this run), the index is compacted for the
			// reads of traces and screens; a later, smaller run leaves it
			// to Pebble's own compactions.
			if err == nil && st != nil && st.Transfers > 0 && 4*uint64(st.Transfers) >= s.Counts().Transfers {
				if !quiet {
					fmt.Fprintln(os.Stderr, "compacting the index for reads...")
				}
				start := time.Now()
				if cerr := s.CompactIndex(cmd.Context()); cerr != nil {
					// The blocks are committed; the index reads as well,
					// only slower.
					if cmd.Context().Err() != nil {
						printEVMIngest(sf.json, st)
						return fmt.Errorf("compacting the index: %w (the blocks are committed)", cmd.Context().Err())
					}
					logger().Warn("index not compacted", "err", cerr)
				} else {
					st.CompactSec = time.Since(start).Seconds()
				}
			}
			if st != nil && (err == nil || st.Blocks > 0 || st.Unwound > 0) {
				st.PeakRSSMiB = peakRSSMiB()
				printEVMIngest(sf.json, st)
			}
			if err != nil {
				n, _, ok := s.Tip()
				if run.failed(!ok) {
					return fmt.Errorf("%w (no store made)", err)
				}
				tip := "empty"
				if ok {
					tip = "at block " + strconv.FormatUint(n, 10)
				}
				return fmt.Errorf("%w (store committed %s)", err, tip)
			}
			return nil
		},
	}
	sf.registerEVM(c, true)
	rf.register(c)
	c.Flags().StringVar(&chain, "chain", "eth", "EVM chain: eth, sepolia, holesky, dev")
	c.Flags().StringVar(&etl, "etl", "", "ethereum-etl export directory")
	c.Flags().StringSliceVar(&era1, "era1", nil, "era1 file or directory of them (repeatable)")
	c.Flags().Uint64Var(&from, "from", 0, "first block when the store is empty (earlier ones of a file source are skipped)")
	c.Flags().Uint64Var(&to, "to", 0, "last block (0: the source's last, or the node's head)")
	c.Flags().IntVar(&commitEvery, "commit-every", 0, "also commit every N blocks (0: by size and time only)")
	c.Flags().IntVar(&workers, "workers", 0, "with --rpc: blocks fetched at once (default: 8, or the number of CPUs where more)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return c
}

func printEVMIngest(asJSON bool, st *ingest.EVMStats) {
	if asJSON {
		printJSON(os.Stdout, st)
		return
	}
	t := newTable(os.Stdout)
	t.row("chain", st.Chain)
	t.row("blocks added (skipped)", fmt.Sprintf("%d (%d)", st.Blocks, st.Skipped))
	if st.Unwound > 0 {
		t.row("blocks unwound (reorg)", st.Unwound)
	}
	t.row("transactions", st.Txs)
	t.row("transfers", st.Transfers)
	if st.TipHash != "" {
		t.row("store", fmt.Sprintf("blocks %d to %d, tip %s", st.First, st.Tip, st.TipHash))
	}
	t.row("elapsed", fmt.Sprintf("%.1f s", st.ElapsedSec))
	if st.CompactSec > 0 {
		t.row("index compacted", fmt.Sprintf("%.1f s", st.CompactSec))
	}
	t.flush()
}

func newFollowEVM() *cobra.Command {
	var sf storeFlags
	var rf evmRPCFlags
	var chain string
	var interval time.Duration
	var alert, hookURL string
	var byEntity bool
	var ef evmClusterFlags
	c := &cobra.Command{
		Use:   "evm --store DIR --chain CHAIN --rpc URL [--alert CATEGORIES [--by-entity --deposits|--deposit-reuse|--airdrop]]",
		Short: "Follow an EVM node's tip, unwinding on reorgs",
		Long: `Poll the node every --interval and append new blocks, each committed at once.
When the node no longer has the store's tip block, spur unwinds to the last
block both share and follows the node's chain. Queries of the store (spur tx
--chain, address --chain, trace, report, ...) run beside it: it lets them in
between blocks. Stops on Ctrl-C.

With --alert (categories, comma-separated: sanctioned,stolen-funds), each
transaction of a new block whose transfers move an asset from or to an
address labelled in one of them on the chain is printed as it arrives, as
spur follow btc --alert does. With --by-entity and the heuristics
(--deposits, --deposit-reuse, --airdrop), also each transaction of an
address whose entity has such a label: the entities are made anew at each
sync, as spur alerts --chain --by-entity makes them (from what the
heuristics read of the transfers before, and the sync's new ones).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if rf.url == "" {
				return usagef("--rpc URL is required")
			}
			if interval <= 0 {
				return usagef("--interval must be positive")
			}
			watch, err := alertCategories(alert, sf.dir)
			if err != nil {
				return err
			}
			switch {
			case byEntity && watch == nil:
				return usagef("--by-entity widens --alert: give --alert CATEGORIES")
			case byEntity && !ef.any():
				return usagef("--by-entity on an EVM chain: pick the heuristics its entities are made by, as spur entity --chain %s takes them: --deposits, --deposit-reuse, --airdrop", chain)
			case ef.any() && !byEntity:
				return usagef("--deposits, --deposit-reuse and --airdrop make the entities of --by-entity")
			}
			node, err := rf.client()
			if err != nil {
				return err
			}
			if err := checkWebhook(hookURL, alert); err != nil {
				return err
			}
			run := newFirstRun(evmDir(sf.dir, chain))
			s, err := waitForQueries(cmd.Context(), evmDir(sf.dir, chain), func() (*evmstore.Store, error) { return openEVM(&sf, chain, evmCreate) })
			if err != nil {
				return err
			}
			defer run.closeWith(s.Close)()
			hook, err := alertWebhook(hookURL, alert, webhookOutbox(sf.dir, chain, hookURL))
			if err != nil {
				return err
			}
			defer closeWebhook(hook)
			log := logger()
			// The alerts of block rows lo..hi, printed and queued for the
			// webhook, as follow btc's.
			alerts := func(lo, hi int64) {
				if err := withAlertLabels(sf.dir, func(labels *label.Store) error {
					// The entities made anew over the grown store, as spur
					// alerts --by-entity does, reading its new transfers.
					ents, err := ef.alertEntities(s, labels, chain, watch)
					if err != nil {
						return err
					}
					return printEVMAlerts(s, labels, chain, uint64(lo), uint64(hi), watch, ents, alertOut{json: sf.json, hook: hook})
				}); err != nil {
					log.Error("alerts failed", "err", err)
				} else {
					alertsThrough(hook, hi)
				}
			}
			if watch != nil {
				alertMissed(hook, evmTipRow(s), func(r int64) uint64 { return s.Block(uint64(r)).Number }, alerts)
			}
			err = ingest.EVMFollow(cmd.Context(), s, node, interval, ingest.Options{Logger: log, LetQueriesIn: true}, func(st *ingest.EVMStats) {
				if watch != nil && st.Blocks > 0 {
					// The blocks added are the store's last rows; and those
					// whose alerts failed before.
					tip := evmTipRow(s)
					alerts(alertsSince(hook, tip+1-int64(st.Blocks)), tip)
				}
				if sf.json {
					printJSON(os.Stdout, st)
					return
				}
				log.Info("synced", "block", st.Tip, "tip", st.TipHash, "added", st.Blocks, "unwound", st.Unwound)
			})
			if _, _, ok := s.Tip(); err != nil && run.failed(!ok) {
				return fmt.Errorf("%w (no store made)", err)
			}
			return err
		},
	}
	sf.registerEVM(c, true)
	rf.register(c)
	c.Flags().StringVar(&chain, "chain", "eth", "EVM chain: eth, sepolia, holesky, dev")
	c.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often to poll the node")
	c.Flags().StringVar(&alert, "alert", "", "print each new transaction that moves an asset from or to an address labelled in these categories (comma-separated, e.g. sanctioned,stolen-funds)")
	c.Flags().StringVar(&hookURL, "alert-webhook", "", "with --alert: also POST each alert, as JSON, to this URL (signed with SPUR_WEBHOOK_SECRET if set)")
	c.Flags().BoolVar(&byEntity, "by-entity", false, "with --alert: also each transaction of an address whose entity, made at each sync by the heuristics given, has such a label")
	ef.register(c)
	return c
}

// evmTipRow is the row of the store's last block, -1 when it has none.
func evmTipRow(s *evmstore.Store) int64 {
	r, err := s.TipRow()
	if err != nil {
		return -1
	}
	return int64(r)
}

// printEVMAlerts prints the alerts of block rows lo to hi, as
// printAlerts does Bitcoin's.
func printEVMAlerts(s *evmstore.Store, labels *label.Store, chain string, lo, hi uint64, watch func(string) bool, ents *query.EVMEntities, out alertOut, blockDone ...func(alerts int)) error {
	for r := lo; r <= hi; r++ {
		alerts, err := query.EVMBlockAlerts(s, labels, chain, r, watch, ents)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			var parties []alertParty
			for _, side := range []struct {
				name    string
				parties []query.EVMAlertParty
			}{{"from", a.From}, {"to", a.To}} {
				for _, p := range side.parties {
					asset := p.Symbol
					if asset == "" {
						asset = p.Asset
					}
					amount := ethAmount(p.Value, p.Decimals) + " " + asset
					if p.NFT {
						amount = asset + " #" + p.Value
					}
					var e *alertEntity
					if p.Entity != nil {
						e = &alertEntity{p.Entity.ID, p.Entity.Size, p.Entity.Labels}
					}
					parties = append(parties, alertParty{side.name, p.Address, amount, p.Labels, e})
				}
			}
			if err := printAlert(a, fmt.Sprintf("block %d", a.Height), a.TxID, parties, out); err != nil {
				return err
			}
		}
		for _, done := range blockDone {
			done(len(alerts))
		}
	}
	return nil
}

// ethAmount prints wei (or token units) with decimals, exactly.
func ethAmount(v string, decimals *uint8) string {
	if decimals == nil {
		return v
	}
	n, ok := new(big.Int).SetString(v, 10)
	if !ok {
		return v
	}
	neg := n.Sign() < 0
	n.Abs(n)
	d := int(*decimals)
	s := n.String()
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	whole, frac := s[:len(s)-d], strings.TrimRight(s[len(s)-d:], "0")
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

func assetName(asset, symbol string) string {
	if symbol != "" {
		return symbol
	}
	return asset
}

func evmTx(sf *storeFlags, chain, ref string) error {
	if len(ref) != 66 || !strings.HasPrefix(ref, "0x") {
		return usagef("%q is not a 0x-prefixed 32-byte transaction hash", ref)
	}
	s, err := openEVM(sf, chain, evmRead)
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.TxNum(common.HexToHash(ref))
	if err != nil {
		return err
	}
	v := s.TxView(n)
	// Transfers into an address labelled bridge are bridge deposits: where
	// the money leaves for another chain.
	if _, err := os.Stat(labelsDir(sf.dir)); err != nil {
		// No labels imported: nothing to mark (and nothing to create).
	} else if labels, err := label.OpenToRead(labelsDir(sf.dir)); err == nil {
		for i := range v.Transfers {
			x := &v.Transfers[i]
			if x.ToAddress == "" || x.Kind == "fee" || x.Kind == "burn" {
				continue
			}
			ls, _ := labels.Lookup(x.ToAddress)
			for _, l := range ls {
				if l.Category == label.Bridge && l.Chain == label.ChainETH {
					v.Events = append(v.Events, evmstore.EventView{Kind: "bridge-deposit", Contract: x.ToAddress, Actor: x.FromAddress, In: x, Data: l.Label})
					break
				}
			}
		}
		labels.Close()
	}
	if sf.json {
		return printJSON(os.Stdout, v)
	}
	t := newTable(os.Stdout)
	t.row("hash", v.Hash)
	t.row("block", fmt.Sprintf("%d %s (%s)", v.BlockNumber, v.BlockHash, time.Unix(int64(v.BlockTimestamp), 0).UTC().Format(time.RFC3339)))
	t.row("from", v.FromAddress)
	t.row("to", dash(v.ToAddress))
	if v.ContractAddress != "" {
		t.row("created", v.ContractAddress)
	}
	status := "unknown"
	if v.ReceiptStatus != nil {
		status = map[int8]string{0: "failed", 1: "ok"}[*v.ReceiptStatus]
	}
	t.row("status", status)
	if v.Fee != "" {
		eighteen := uint8(18)
		t.row("fee", ethAmount(v.Fee, &eighteen)+" ETH")
	}
	t.flush()
	fmt.Println()
	t = newTable(os.Stdout)
	t.row("KIND", "FROM", "TO", "AMOUNT", "ASSET")
	for _, x := range v.Transfers {
		t.row(x.Kind, dash(x.FromAddress), dash(x.ToAddress), ethAmount(x.Value, x.Decimals), assetName(x.Asset, x.Symbol))
	}
	t.flush()
	if len(v.Events) > 0 {
		fmt.Println()
		t = newTable(os.Stdout)
		t.row("EVENT", "CONTRACT", "ACTOR", "IN", "OUT")
		side := func(x *evmstore.TransferView) string {
			if x == nil {
				return "-"
			}
			return ethAmount(x.Value, x.Decimals) + " " + assetName(x.Asset, x.Symbol)
		}
		for _, e := range v.Events {
			t.row(e.Kind, e.Contract, e.Actor, side(e.In), side(e.Out))
		}
		t.flush()
	}
	return nil
}

func evmAddress(sf *storeFlags, chain, ref string, withTransfers bool, offset, limit int) error {
	if _, err := evmstore.ParseAddress(ref); err != nil {
		return usageError{err}
	}
	s, err := openEVM(sf, chain, evmRead)
	if err != nil {
		return err
	}
	defer s.Close()
	if !withTransfers {
		limit = 0
	}
	v, err := s.AddressView(ref, offset, limit)
	if err != nil {
		return err
	}
	if sf.json {
		return printJSON(os.Stdout, v)
	}
	t := newTable(os.Stdout)
	t.row("address", v.Address)
	t.row("transfers", v.TransferCount)
	t.row("first / last seen block", fmt.Sprintf("%d / %d", v.FirstSeenBlock, v.LastSeenBlock))
	t.flush()
	fmt.Println()
	t = newTable(os.Stdout)
	t.row("ASSET", "RECEIVED", "SENT", "BALANCE", "TRANSFERS")
	for _, b := range v.Balances {
		t.row(assetName(b.Asset, b.Symbol), ethAmount(b.Received, b.Decimals), ethAmount(b.Sent, b.Decimals), ethAmount(b.Balance, b.Decimals), b.Transfers)
	}
	t.flush()
	if withTransfers {
		fmt.Println()
		t = newTable(os.Stdout)
		t.row("BLOCK", "TX", "KIND", "FROM", "TO", "AMOUNT", "ASSET")
		for _, x := range v.Transfers {
			t.row(x.BlockNumber, dash(x.TransactionHash), x.Kind, dash(x.FromAddress), dash(x.ToAddress), ethAmount(x.Value, x.Decimals), assetName(x.Asset, x.Symbol))
		}
		t.flush()
		pageNote(offset, len(v.Transfers), v.TransferCount, "transfers")
	}
	return nil
}

func evmBlock(sf *storeFlags, chain, ref string, offset, limit int) error {
	s, err := openEVM(sf, chain, evmRead)
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := query.EVMBlockRow(s, ref)
	if err != nil {
		return err
	}
	v := s.BlockView(r, offset, limit)
	if sf.json {
		return printJSON(os.Stdout, v)
	}
	t := newTable(os.Stdout)
	t.row("number", v.Number)
	t.row("hash", v.Hash)
	t.row("parent", dash(v.ParentHash))
	t.row("time", fmt.Sprintf("%d (%s)", v.Timestamp, time.Unix(int64(v.Timestamp), 0).UTC().Format(time.RFC3339)))
	t.row("miner", v.Miner)
	t.row("transactions / transfers", fmt.Sprintf("%d / %d", v.TransactionCount, v.TransferCount))
	t.flush()
	fmt.Println()
	for i, h := range v.Transactions {
		fmt.Printf("%6d  %s\n", offset+i, h)
	}
	pageNote(offset, len(v.Transactions), int(v.TransactionCount), "transactions")
	return nil
}

func evmStoreInfo(sf *storeFlags, chain string) error {
	s, err := openEVM(sf, chain, evmRead)
	if err != nil {
		return err
	}
	defer s.Close()
	c := s.Counts()
	usage := s.DiskUsage()
	var cols int64
	for _, v := range usage {
		cols += v
	}
	tip, hash, _ := s.Tip()
	out := map[string]any{"chain": chain, "chain_id": s.ChainID(), "format_version": evmstore.FormatVersion, "counts": c,
		"tip_block": tip, "tip": hash.Hex(), "column_bytes": usage}
	if sf.json {
		return printJSON(os.Stdout, out)
	}
	t := newTable(os.Stdout)
	t.row("chain", fmt.Sprintf("%s (chain id %d)", chain, s.ChainID()))
	if c.Blocks > 0 {
		t.row("blocks", fmt.Sprintf("%d to %d (%s)", c.First, tip, thousands(int64(c.Blocks))))
		t.row("tip", hash.Hex())
	}
	t.row("txs / transfers / addresses / events", fmt.Sprintf("%s / %s / %s / %s", thousands(int64(c.Txs)), thousands(int64(c.Transfers)), thousands(int64(c.Addrs)), thousands(int64(c.Events))))
	if c.Transfers > 0 {
		t.row("column bytes per transfer", fmt.Sprintf("%.1f", float64(cols)/float64(c.Transfers)))
	}
	t.row("column bytes", thousands(cols))
	t.flush()
	return nil
}
