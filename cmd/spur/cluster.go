package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
)

func newCluster() *cobra.Command {
	var sf storeFlags
	var full bool
	var copts cluster.Options
	var chain string
	var quiet bool
	var ef evmClusterFlags
	c := &cobra.Command{
		Use:   "cluster --store DIR [--chain eth --deposits --deposit-reuse]",
		Short: "Group addresses into entities (Bitcoin: multi-input, CoinJoins excluded; EVM: deposit heuristics)",
		Long: `Clusters the store's addresses: the inputs of a transaction share an owner,
except in CoinJoins (Whirlpool mixes and tx0s, Wasabi 1.x and 2.0, JoinMarket,
and BlockSci's generic rule), which never merge. An entity's id is the lowest
address number in it, stable across runs wherever the clustering did not
change. A second run continues from the first over the blocks added since;
after a reorganisation below what it covered, it starts over.

Change-address heuristics are off by default (--change): in two-output
transactions, "one-time" takes an output to an address first seen in its
block as change when the other was seen before, "script-type" the output
whose script type matches all inputs', "round" the output that is not a round
amount. The change is merged when at least one enabled heuristic names an
output and none names the other, unless the merged entity would exceed
--size-bound addresses: such merges are refused and counted.

On an EVM chain (--chain eth) there is no multi-input rule. Two heuristics
(Victor, FC 2020), each off unless given: --deposits finds exchange deposit
addresses, which forward everything they send to one exchange hot wallet (the
labelled ones; without labels, any address that ten or more addresses forward
everything to), and joins them to the exchange; --deposit-reuse joins the
addresses that pay into one deposit address, as an exchange gives each
customer their own; --airdrop joins the addresses that got a token from one
distributor (of 20 or more recipients) and passed all of it to one collector,
with the collector. The EVM clustering is computed when asked, not stored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if e, err := isEVM(chain); err != nil || e {
				if err != nil {
					return err
				}
				return evmCluster(&sf, chain, &ef)
			}
			// The store is read, as queries read it, so that a server
			// serving it takes the new clustering as it serves.
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			copts.Full = full
			if !quiet {
				copts.Progress = os.Stderr
			}
			st, err := cluster.Run(s, copts)
			if err != nil {
				return err
			}
			if sf.json {
				return printJSON(os.Stdout, st)
			}
			t := newTable(os.Stdout)
			t.row("transactions clustered", fmt.Sprintf("%s (%s new)", thousands(int64(st.Txs)), thousands(int64(st.NewTxs))))
			t.row("addresses", thousands(int64(st.Addrs)))
			t.row("entities", thousands(int64(st.Entities)))
			t.row("largest entity", fmt.Sprintf("%d (%s addresses)", st.LargestID, thousands(int64(st.Largest))))
			t.row("merges", thousands(int64(st.Merges)))
			if st.Change != "" {
				t.row("change merges (refused above the bound)", fmt.Sprintf("%s (%s)", thousands(int64(st.ChangeMerges)), thousands(int64(st.ChangeRefused))))
			}
			kinds := make([]string, 0, len(st.CoinJoins))
			for k := range st.CoinJoins {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				t.row("coinjoins: "+k, thousands(int64(st.CoinJoins[k])))
			}
			t.flush()
			return nil
		},
	}
	sf.register(c, true)
	c.Flags().BoolVar(&full, "full", false, "start over instead of continuing the last clustering")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	c.Flags().StringVar(&copts.Change, "change", "", "change heuristics to apply: one-time, script-type, round, comma-separated, or all (default none)")
	c.Flags().Uint32Var(&copts.SizeBound, "size-bound", 10_000, "refuse change merges that would make an entity larger than this")
	chainFlag(c, &chain)
	ef.register(c)
	return c
}

func newEntity() *cobra.Command {
	var sf storeFlags
	var limit, offset int
	var withTxs bool
	var chain string
	var ef evmClusterFlags
	c := &cobra.Command{
		Use:   "entity ADDRESS|ENTITY_ID --store DIR",
		Short: "Show an entity: its addresses (paged), labels, totals and top counterparties",
		Long: `Shows the entity an address belongs to (or the entity with that id) after
'spur cluster': id, size, addresses, the labels of its addresses with the
address that carries each, received and balance in satoshi, first and last
seen heights, and the entities it paid most. Two addresses are in one entity
exactly when this command gives them the same id.

On an EVM chain (--chain eth) the entity is computed when asked, by the
heuristics given (--deposits, --deposit-reuse, --airdrop, as spur cluster
describes them; one at least): its id and members.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 || offset < 0 {
				return usagef("--limit must be at least 1 and --offset at least 0")
			}
			if e, err := isEVM(chain); err != nil || e {
				if err != nil {
					return err
				}
				return evmEntity(&sf, chain, args[0], &ef, offset, limit)
			}
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			c, err := cluster.Open(s)
			if err != nil {
				return err
			}
			var e uint32
			if id, perr := strconv.ParseUint(args[0], 10, 32); perr == nil {
				e = uint32(id)
			} else {
				a, err := btc.ParseAddress(args[0], s.Network())
				if err != nil {
					return usageError{err}
				}
				n, err := s.AddrNum(a)
				if err != nil {
					return err
				}
				var ok bool
				if e, ok = c.Entity(n); !ok {
					return fmt.Errorf("%w: address %s came after the last clustering; run spur cluster", store.ErrNotFound, args[0])
				}
			}
			labels, err := openLabels(sf.dir)
			if err != nil {
				return err
			}
			defer labels.Close()
			if withTxs {
				txs, more, err := query.EntityTxs(s, c, e, offset, limit)
				if err != nil {
					return err
				}
				if sf.json {
					return printJSON(os.Stdout, map[string]any{"id": e, "txs": txs, "offset": offset, "limit": limit, "more": more})
				}
				t := newTable(os.Stdout)
				t.row("HEIGHT", "TXID", "RECEIVED", "SENT")
				for _, x := range txs {
					t.row(x.BlockHeight, x.TxID, btcAmount(x.Received), btcAmount(x.Sent))
				}
				t.flush()
				if more {
					fmt.Printf("\nmore; use --offset %d\n", offset+len(txs))
				}
				return nil
			}
			v, err := query.Entity(s, c, labels, e, offset, limit)
			if err != nil {
				return err
			}
			if sf.json {
				return printJSON(os.Stdout, v)
			}
			t := newTable(os.Stdout)
			t.row("entity", v.ID)
			t.row("addresses", v.Size)
			t.row("received / balance", fmt.Sprintf("%s / %s BTC", btcAmount(v.Received), btcAmount(v.Balance)))
			t.row("first / last seen height", fmt.Sprintf("%d / %d", v.FirstSeenHeight, v.LastSeenHeight))
			for _, l := range v.Labels {
				t.row("label", fmt.Sprintf("%s: %s (%s, via %s)", l.Category, l.Label.Label, l.Source, l.Via))
			}
			t.flush()
			fmt.Println()
			for i, a := range v.Addresses {
				fmt.Printf("%6d  %s\n", offset+i, a)
			}
			pageNote(offset, len(v.Addresses), v.Size, "addresses")
			if len(v.TopCounterparties) > 0 {
				fmt.Println()
				t = newTable(os.Stdout)
				t.row("PAID TO ENTITY", "BTC", "OUTPUTS")
				for _, cp := range v.TopCounterparties {
					t.row(cp.Entity, btcAmount(cp.Value), cp.Txs)
				}
				t.flush()
			}
			return nil
		},
	}
	sf.register(c, true)
	c.Flags().IntVar(&limit, "limit", 100, "addresses (or transactions) per page")
	c.Flags().IntVar(&offset, "offset", 0, "addresses (or transactions) to skip")
	c.Flags().BoolVar(&withTxs, "txs", false, "list the entity's transactions instead, paged (members in address order, each member's in chain order)")
	chainFlag(c, &chain)
	ef.register(c)
	return c
}
