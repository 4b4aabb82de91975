package main

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/api"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
)

// screenResult is one screened address.
type screenResult struct {
	Address   string         `json:"address,omitempty"`
	Tx        string         `json:"tx,omitempty"`
	Direction string         `json:"direction,omitempty"` // a transaction's
	Chain     string         `json:"chain"`
	Labels    []label.Label  `json:"labels"`
	Entity    any            `json:"entity"`
	Direct    []api.Exposure `json:"direct_exposure"`
	Indirect  []api.Exposure `json:"indirect_exposure"`
	Severity  string         `json:"severity"`
	Rule      string         `json:"rule"`
	FromNode  bool           `json:"from_node,omitempty"` // a --tx the store lacks, as --rpc's node gave it
}

func newScreen() *cobra.Command {
	var dir, rulesFile, direction string
	var txs, rawTxs []string
	var asJSON bool
	var rf rpcFlags
	c := &cobra.Command{
		Use:   "screen --store DIR ADDRESS...|- [--tx TXID... [--rpc URL]] [--raw-tx HEX|@FILE...]",
		Short: "Screen addresses of any chain, and Bitcoin and Ethereum transactions: labels, exposure, severity",
		Long: `Screens as the HTTP API does (POST /v1/screen, docs/api.md), in this
process. For each address: its labels from every source, and for a Bitcoin
address of a store holding the chain its entity (once clustered) and its
exposure: direct (the categories of the labelled addresses that paid it)
and indirect (its latest received value traced back a few transactions;
a CoinJoin that paid it, or one on the way, counts as a mixer);
for an Ethereum address of a store holding Ethereum, the same in dollars
at each transfer's day (spur prices import).
For each transaction (--tx, a Bitcoin txid, or an Ethereum 0x hash;
--direction deposit, the default, screens what paid it, withdrawal what it
paid): its direct exposure, and for a deposit its indirect exposure (its
value traced back a few transactions). A Bitcoin transaction not yet in a
block (a deposit in a node's mempool) is screened given whole: --raw-tx,
its hex as getrawtransaction gives it (@FILE reads it from a file), on the
stored coins it spends, as the same transaction by its txid once mined;
with --rpc URL, a --tx the store does not hold is asked of the node
(getrawtransaction: one in its mempool) and screened so (from_node).
The severity comes from the screening rules (the built-in ones of
docs/api.md, or --rules FILE), which grade
labels (severe for a sanctioned address or entity, high for stolen funds,
ransomware or a darknet market, medium for a mixer, a scam or an address a
stablecoin's issuer froze) and exposure; low when none matches. An address
never seen on any chain is screened on its labels. EVM addresses match in
any case and print EIP-55. "-" reads addresses from standard input, one a
line. The last lines give the block of each chain read. Exit code 0
whatever the result (read the severity); 2 for an address or txid mistyped,
3 for a transaction the store does not hold, 1 for a node (--rpc) that does
not answer.`,
		Example: `  spur screen --store ./store 1FfmbHfnpaZjKFvyi1okTjJJusN455paPH 0x098b716b8aaf21512996dc57eb0615e2383e2f96
  spur screen --store ./store --tx f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16
  spur screen --store ./store - < deposits.txt
  spur screen --store ./store --raw-tx "$(bitcoin-cli getrawtransaction TXID)"
  spur screen --store ./store --tx TXID --rpc 127.0.0.1   # in the node's mempool`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(txs) == 0 && len(rawTxs) == 0 {
				return usagef("give addresses to screen, or --tx TXID, or --raw-tx HEX")
			}
			if direction != "deposit" && direction != "withdrawal" {
				return usagef("--direction: want deposit or withdrawal, not %q", direction)
			}
			rules := api.DefaultRules()
			if rulesFile != "" {
				b, err := os.ReadFile(rulesFile)
				if err != nil {
					return err
				}
				if rules, err = api.ParseRules(rulesFile, b); err != nil {
					return err
				}
			}
			// "-" reads addresses from standard input, one a line (blank
			// lines and # comments skipped): a list to screen at once.
			if i := slices.Index(args, "-"); i >= 0 {
				from, err := stdinLines()
				if err != nil {
					return err
				}
				args = slices.Concat(args[:i], from, args[i+1:])
			}
			for _, a := range args {
				if strings.TrimSpace(a) == "" {
					return usagef("an empty address to screen")
				}
			}
			if len(args) == 0 && len(txs) == 0 && len(rawTxs) == 0 {
				return usagef("nothing to screen: standard input held no addresses")
			}
			s, err := openLabels(dir)
			if err != nil {
				return err
			}
			defer s.Close()
			// A string of a typo's form is refused, unless a list names it
			// as it is (the labels say so).
			var items []api.ScreenItem
			for _, a := range args {
				a = strings.TrimSpace(a)
				if err := s.Mistyped(a); err != nil {
					if len(a) == 64 && isHex(a) {
						return usagef("%q: a transaction hash, not an address: screen a transaction with --tx", a)
					}
					return usageError{err}
				}
				if h, ok := strings.CutPrefix(strings.ToLower(a), "0x"); ok && len(h) == 64 {
					fmt.Fprintf(os.Stderr, "note: %s has the form of an EVM transaction hash (or of an Aptos or Sui address): screened as an address; --tx screens a transaction\n", a)
				}
				items = append(items, api.ScreenItem{Address: a})
			}
			for _, t := range txs {
				items = append(items, api.ScreenItem{Tx: strings.TrimSpace(t), Direction: direction})
			}
			for _, r := range rawTxs {
				if name, ok := strings.CutPrefix(r, "@"); ok {
					b, err := os.ReadFile(name)
					if err != nil {
						return usageError{fmt.Errorf("--raw-tx: %w", err)}
					}
					r = string(b)
				}
				items = append(items, api.ScreenItem{RawTx: strings.TrimSpace(r), Direction: direction})
			}
			// Bitcoin addresses also get their entity and exposure, where
			// the store has the chain (and a clustering).
			var chainStore *store.Store
			var clusters *cluster.Clusters
			if _, err := os.Stat(filepath.Join(btcDir(dir), "META")); err == nil {
				net, err := store.PeekNetwork(btcDir(dir))
				if err != nil {
					return err
				}
				sf := storeFlags{dir: dir, network: net}
				if chainStore, err = sf.openExisting(); err != nil {
					return err
				}
				defer chainStore.Close()
				if clusters, err = cluster.Open(chainStore); err != nil && !errors.Is(err, cluster.ErrNoClustering) {
					return err
				}
			}
			// Ethereum items get their exposure where the store holds the
			// chain (opened only for them).
			var es *evmstore.Store
			if slices.ContainsFunc(items, func(it api.ScreenItem) bool {
				return label.IsEVMAddress(it.Address) || strings.HasPrefix(it.Tx, "0x")
			}) {
				if es, err = openReportEVM(&storeFlags{dir: dir}); err != nil {
					return err
				}
				if es != nil {
					defer es.Close()
					if !s.HasPrices() {
						fmt.Fprintln(os.Stderr, "note: no prices imported: Ethereum exposure is in dollars and stays empty (spur prices import)")
					}
				}
			}
			var results []screenResult
			// In batches of the API's largest, so that a long list from
			// standard input screens as a client would send it.
			cfg := api.Config{Store: chainStore, Labels: s, Clusters: clusters, EVM: es, Rules: rules}
			if rf.url != "" {
				if chainStore == nil {
					return notFound{fmt.Errorf("--rpc: %s holds no Bitcoin chain to screen a node's transactions on", dir)}
				}
				node, err := rf.client(chainStore.Network())
				if err != nil {
					return err
				}
				cfg.NodeTx = node.RawTransaction
			}
			srv := api.New(cfg)
			for len(items) > 0 {
				batch := items[:min(len(items), 1000)]
				items = items[len(batch):]
				out, err := srv.Screen(batch)
				switch api.StatusOf(err) {
				case http.StatusBadRequest:
					return usageError{screenItemError(err, batch)}
				case http.StatusNotFound:
					return notFound{screenItemError(err, batch)}
				case http.StatusServiceUnavailable: // --rpc's node did not answer
					return screenItemError(err, batch)
				}
				if err != nil {
					return err
				}
				for _, r := range out {
					sr := screenResult{Tx: r.Item.Tx, Chain: r.Chain, Labels: r.Labels, Direct: r.Direct, Indirect: r.Indirect, Severity: r.Severity, Rule: r.Rule, FromNode: r.FromNode}
					if r.Entity != nil {
						sr.Entity = r.Entity
					}
					if r.Item.RawTx != "" {
						sr.Tx, sr.Direction = r.TxID, r.Item.Direction // named by its txid, as once in a block
					} else if r.Item.Tx != "" {
						sr.Direction = r.Item.Direction
					} else {
						sr.Address = r.Item.Address
						if d, _, err := label.Normalize(r.Chain, r.Item.Address); err == nil {
							sr.Address = d
						}
						if sr.Chain == "" && len(r.Labels) > 0 {
							sr.Chain = r.Labels[0].Chain
						}
					}
					results = append(results, sr)
				}
			}
			if asJSON {
				return printJSON(os.Stdout, results)
			}
			t := newTable(os.Stdout)
			t.row("ADDRESS / TX", "CHAIN", "SEVERITY", "WHY", "LABELS", "EXPOSURE")
			for _, r := range results {
				var names []string // once each: sources repeat one another
				for _, l := range r.Labels {
					n := l.Category
					if l.Label != "" {
						n += ": " + l.Label
					}
					if !slices.Contains(names, n) {
						names = append(names, n)
					}
				}
				item := r.Address
				if r.Tx != "" {
					item = r.Tx + " (" + r.Direction + ")"
					if r.FromNode {
						item = r.Tx + " (" + r.Direction + ", from the node)"
					}
				}
				t.row(item, dash(r.Chain), r.Severity, r.Rule, dash(strings.Join(names, "; ")), dash(exposureText(r.Direct, r.Indirect)))
			}
			t.flush()
			printAsOf(srv.AsOf())
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().StringSliceVar(&txs, "tx", nil, "a transaction to screen: a Bitcoin txid, or an Ethereum 0x hash (repeatable, or comma-separated)")
	c.Flags().StringArrayVar(&rawTxs, "raw-tx", nil, "a Bitcoin transaction not yet in a block, whole: its hex, or @FILE holding it (repeatable)")
	c.Flags().StringVar(&direction, "direction", "deposit", "a transaction's side screened: deposit (the addresses its inputs spend) or withdrawal (those its outputs pay)")
	c.Flags().StringVar(&rulesFile, "rules", "", "severity rules file (YAML; default: the built-in rules of docs/api.md)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	rf.register(c)
	return c
}

// printAsOf prints, a line each, the block of each chain an answer read:
// what it rests on, for the record.
func printAsOf(asOf map[string]query.ChainTip) {
	for _, c := range slices.Sorted(maps.Keys(asOf)) {
		fmt.Printf("as of %s block %d (%s)\n", c, asOf[c].Height, asOf[c].Tip)
	}
}

// screenItemError says an error of the API's screening in the command's
// words: the item as given (an address, or --tx HASH) where the API names
// its field in the request (items[0].tx), the store where it says server.
func screenItemError(err error, batch []api.ScreenItem) error {
	msg := strings.NewReplacer("this server holds no Ethereum store", "this store holds no Ethereum chain",
		"this server holds no Bitcoin store", "this store holds no Bitcoin chain").Replace(err.Error())
	field := api.FieldOf(err)
	var i int
	var rest string
	if n, _ := fmt.Sscanf(field, "items[%d]%s", &i, &rest); n >= 1 && i >= 0 && i < len(batch) {
		it := batch[i]
		name := it.Address
		if strings.HasPrefix(rest, ".tx") {
			name = "--tx " + it.Tx
		} else if strings.HasPrefix(rest, ".raw_tx") || it.RawTx != "" && rest == "" {
			name = "--raw-tx " + shortHex(it.RawTx)
		} else if strings.HasPrefix(rest, ".direction") {
			name = "--direction " + it.Direction
		}
		if p, ok := strings.CutPrefix(msg, field+": "); ok {
			msg = p
		}
		msg = name + ": " + msg
	}
	return errors.New(msg)
}

// shortHex is a long hex string cut for a message: its first and last
// digits.
func shortHex(h string) string {
	if len(h) <= 24 {
		return h
	}
	return h[:12] + "..." + h[len(h)-8:]
}

// notFound is an error that says itself and counts as store.ErrNotFound
// (exit 3).
type notFound struct{ error }

func (notFound) Is(target error) bool { return target == store.ErrNotFound }

// exposureText sums up exposures for a table: the categories and their
// shares, direct first ("direct mixer 40%, indirect stolen-funds 12%").
func exposureText(direct, indirect []api.Exposure) string {
	var parts []string
	pct := func(share float64) string {
		if share > 0 && share < 0.005 {
			return "<1%"
		}
		return fmt.Sprintf("%.0f%%", 100*share)
	}
	for _, e := range direct {
		parts = append(parts, "direct "+e.Category+" "+pct(e.Share))
	}
	for _, e := range indirect {
		parts = append(parts, "indirect "+e.Category+" "+pct(e.Share))
	}
	return strings.Join(parts, ", ")
}
