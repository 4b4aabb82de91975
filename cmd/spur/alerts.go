package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/export"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/progress"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/webhook"
)

func newAlerts() *cobra.Command {
	var sf storeFlags
	var chain, alert, hookURL string
	var from, to string
	var quiet, byEntity, watchMempool bool
	var ef evmClusterFlags
	var rf rpcFlags
	c := &cobra.Command{
		Use:   "alerts --store DIR --alert CATEGORIES [--by-entity [--deposits] [--deposit-reuse] [--airdrop]] [--chain eth] [--from N|DAY] [--to N|DAY | --mempool --rpc URL] [--json]",
		Short: "List the stored blocks' transactions that move money from or to addresses labelled in given categories",
		Long: `Goes over the blocks the store holds (--from and --to: heights, or an EVM
chain's block numbers, or days, YYYY-MM-DD in UTC, the first block of the
one and the last of the other; the whole store by default) and prints each
transaction that spends from or pays to an address labelled in one of the
--alert categories (comma-separated: sanctioned,stolen-funds), as spur
follow --alert prints the blocks it adds: a hunt back through the chain for
what a list imported today names, or a replay of what a follower would
have told. With --by-entity, also each transaction of an address whose
entity has such a label: a list names a few addresses of a wallet, the
clustering many more. Bitcoin's entities are the last spur cluster run's;
an EVM chain's are made when asked, by the heuristics given (--deposits,
--deposit-reuse, --airdrop, as spur cluster --chain describes them).

With --mempool --rpc URL, the Bitcoin node's mempool instead, read once:
each transaction in no block yet that spends a stored coin of such an
address or pays one, as spur follow btc --mempool tells them as they come
(is the thief moving the coins now?).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			evm, err := isEVM(chain)
			if err != nil {
				return err
			}
			if alert == "" {
				return usagef("--alert CATEGORIES is required (comma-separated: sanctioned,stolen-funds)")
			}
			watch, err := alertCategories(alert, sf.dir)
			if err != nil {
				return err
			}
			if evm && byEntity && !ef.any() {
				return usagef("--by-entity on an EVM chain: pick the heuristics its entities are made by, as spur entity --chain %s takes them: --deposits, --deposit-reuse, --airdrop", chain)
			}
			if ef.any() && !(evm && byEntity) {
				return usagef("--deposits, --deposit-reuse and --airdrop make an EVM chain's entities for --by-entity --chain CHAIN")
			}
			switch {
			case watchMempool && evm:
				return usagef("--mempool reads a Bitcoin node's mempool: not with --chain %s", chain)
			case watchMempool && (from != "" || to != ""):
				return usagef("--mempool reads the node's mempool as it is now: --from and --to are the stored blocks'")
			case watchMempool && rf.url == "":
				return usagef("--mempool reads a node's mempool: give --rpc URL")
			case rf.url != "" && !watchMempool:
				return usagef("--rpc is the node whose mempool --mempool reads: give --mempool")
			}
			hook, err := alertWebhook(hookURL, alert, "")
			if err != nil {
				return err
			}
			defer closeWebhook(hook) // on the ways out before posted
			out := alertOut{json: sf.json, hook: hook, wait: cmd.Context()}
			if evm {
				s, err := openEVM(&sf, chain, evmRead)
				if err != nil {
					return err
				}
				defer s.Close()
				c := s.Counts()
				r, err := alertRange(cmd, from, to, int64(c.First), int64(c.First+c.Blocks)-1, "blocks", func(n int64) int64 { return int64(s.Block(uint64(n) - c.First).Time) })
				if err != nil {
					return err
				}
				n, bar := 0, alertsBar(quiet, r.To-r.From+1)
				err = withAlertLabels(sf.dir, func(labels *label.Store) error {
					ents, err := ef.alertEntities(s, labels, chain, watch)
					if err != nil {
						return err
					}
					return printEVMAlerts(s, labels, chain, uint64(r.From)-c.First, uint64(r.To)-c.First, watch, ents, out, func(a int) { n += a; bar.Add(1, 0, 0) })
				})
				return posted(cmd.Context(), hook, alertsDone(bar, err, n, r.From, r.To, quiet), quiet)
			}
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			clusters, err := alertClusters(s, byEntity, nil)
			if err != nil {
				return err
			}
			if watchMempool {
				node, err := rf.client(s.Network())
				if err != nil {
					return err
				}
				var size atomic.Int64
				n, err := mempoolPoll(cmd.Context(), s, node, mempool{
					labels:   func(f func(*label.Store) error) error { return withAlertLabels(sf.dir, f) },
					clusters: func() (cluster.Reader, error) { return clusters, nil },
					watch:    watch,
					out:      out,
					size:     &size,
				})()
				if err == nil && !quiet {
					fmt.Fprintf(os.Stderr, "%s of the %s in the node's mempool\n", counted(n, "transaction", "transactions"), thousands(size.Load()))
				}
				return posted(cmd.Context(), hook, err, quiet)
			}
			r, err := alertRange(cmd, from, to, 0, s.Height(), "heights", func(h int64) int64 {
				hd, _ := s.Header(h)
				return int64(hd.Time)
			})
			if err != nil {
				return err
			}
			n, bar := 0, alertsBar(quiet, r.To-r.From+1)
			err = withAlertLabels(sf.dir, func(labels *label.Store) error {
				return printAlerts(s, labels, clusters, r.From, r.To, watch, out, func(a int) { n += a; bar.Add(1, 0, 0) })
			})
			return posted(cmd.Context(), hook, alertsDone(bar, err, n, r.From, r.To, quiet), quiet)
		},
	}
	sf.register(c, true)
	chainFlag(c, &chain)
	c.Flags().StringVar(&alert, "alert", "", "the categories whose labelled addresses to look for (comma-separated, e.g. sanctioned,stolen-funds)")
	c.Flags().StringVar(&from, "from", "", "first block: a height or number, or a day (YYYY-MM-DD, UTC: its first block; default: the store's first)")
	c.Flags().StringVar(&to, "to", "", "last block: a height or number, or a day (its last block; default: the store's last)")
	c.Flags().StringVar(&hookURL, "alert-webhook", "", "also POST each alert found, as JSON, to this URL (signed with SPUR_WEBHOOK_SECRET if set), waiting until the receiver has them all")
	c.Flags().BoolVar(&byEntity, "by-entity", false, "also each transaction of an address whose entity (spur cluster; on an EVM chain, made now by the heuristics given) has such a label")
	ef.register(c)
	c.Flags().BoolVar(&watchMempool, "mempool", false, "the Bitcoin node's mempool (--rpc), read once, instead of the stored blocks")
	rf.register(c)
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar and no count on standard error")
	return c
}

// posted waits for webhook h (if any) to deliver what it holds, until ctx
// ends (Ctrl-C), says how many alerts it posted unless quiet, and fails
// if the receiver refused or missed any; err, the hunt's, comes first.
func posted(ctx context.Context, h *webhook.Sender, err error, quiet bool) error {
	if h == nil {
		return err
	}
	h.Close(ctx)
	taken, refused, lost := h.Stats()
	if !quiet {
		fmt.Fprintf(os.Stderr, "%s posted", counted(int(taken), "alert", "alerts"))
		if refused+lost > 0 {
			fmt.Fprintf(os.Stderr, ", %s refused, %s not delivered", thousands(refused), thousands(lost))
		}
		fmt.Fprintln(os.Stderr)
	}
	if err == nil && refused+lost > 0 {
		err = fmt.Errorf("--alert-webhook: %s of the alerts refused, %s not delivered", thousands(refused), thousands(lost))
	}
	return err
}

// alertsDone ends the bar and, unless quiet or failed, says on standard
// error how many transactions were found.
func alertsDone(bar *progress.Bar, err error, n int, from, to int64, quiet bool) error {
	bar.Done()
	if err == nil && !quiet {
		fmt.Fprintf(os.Stderr, "%s in blocks %d to %d\n", counted(n, "transaction", "transactions"), from, to)
	}
	return err
}

// alertsBar shows the blocks gone over on standard error, unless quiet
// (nil: a bar that draws nothing).
func alertsBar(quiet bool, blocks int64) *progress.Bar {
	if quiet {
		return nil
	}
	return progress.New(os.Stderr, "blocks", blocks)
}

// alertRange reads --from and --to as rangeFlags does, each a block or a
// day (query.DayBlock: the day's first block, or for --to its last).
func alertRange(cmd *cobra.Command, from, to string, first, last int64, what string, timeOf func(int64) int64) (export.Range, error) {
	var n [2]int64
	for i, v := range []string{from, to} {
		name := []string{"--from", "--to"}[i]
		if v == "" {
			continue
		}
		if day, err := time.Parse(time.DateOnly, v); err == nil {
			b, ok := query.DayBlock(day, i == 1, first, last, timeOf)
			if !ok {
				when := "after"
				if i == 1 {
					when = "before"
				}
				return export.Range{}, fmt.Errorf("%w: %s %s: the store holds no block of that day or %s", store.ErrNotFound, name, v, when)
			}
			n[i] = b
			continue
		}
		b, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return export.Range{}, usagef("%s %q: want a block %s or a day (YYYY-MM-DD)", name, v, strings.TrimSuffix(what, "s"))
		}
		n[i] = b
	}
	return rangeFlags(cmd, n[0], n[1], first, last, what)
}
