package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/progress"
)

func newAlerts() *cobra.Command {
	var sf storeFlags
	var chain, alert string
	var from, to int64
	var quiet bool
	c := &cobra.Command{
		Use:   "alerts --store DIR --alert CATEGORIES [--chain eth] [--from N] [--to N] [--json]",
		Short: "List the stored blocks' transactions that move money from or to addresses labelled in given categories",
		Long: `Goes over the blocks the store holds (--from and --to: heights, or an EVM
chain's block numbers; the whole store by default) and prints each
transaction that spends from or pays to an address labelled in one of the
--alert categories (comma-separated: sanctioned,stolen-funds), as spur
follow --alert prints the blocks it adds: a hunt back through the chain for
what a list imported today names, or a replay of what a follower would
have told.`,
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
			if evm {
				s, err := openEVM(&sf, chain, evmRead)
				if err != nil {
					return err
				}
				defer s.Close()
				c := s.Counts()
				r, err := rangeFlags(cmd, from, to, int64(c.First), int64(c.First+c.Blocks)-1, "blocks")
				if err != nil {
					return err
				}
				n, bar := 0, alertsBar(quiet, r.To-r.From+1)
				err = withAlertLabels(sf.dir, func(labels *label.Store) error {
					return printEVMAlerts(s, labels, chain, uint64(r.From)-c.First, uint64(r.To)-c.First, watch, sf.json, func(a int) { n += a; bar.Add(1, 0, 0) })
				})
				return alertsDone(bar, err, n, r.From, r.To, quiet)
			}
			s, err := sf.openExisting()
			if err != nil {
				return err
			}
			defer s.Close()
			r, err := rangeFlags(cmd, from, to, 0, s.Height(), "heights")
			if err != nil {
				return err
			}
			n, bar := 0, alertsBar(quiet, r.To-r.From+1)
			err = withAlertLabels(sf.dir, func(labels *label.Store) error {
				return printAlerts(s, labels, r.From, r.To, watch, sf.json, func(a int) { n += a; bar.Add(1, 0, 0) })
			})
			return alertsDone(bar, err, n, r.From, r.To, quiet)
		},
	}
	sf.register(c, true)
	chainFlag(c, &chain)
	c.Flags().StringVar(&alert, "alert", "", "the categories whose labelled addresses to look for (comma-separated, e.g. sanctioned,stolen-funds)")
	c.Flags().Int64Var(&from, "from", 0, "first block (height or number; default: the store's first)")
	c.Flags().Int64Var(&to, "to", 0, "last block (default: the store's last)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar and no count on standard error")
	return c
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
