package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/export"
	"github.com/spur-forensics/spur/internal/progress"
)

func newExport() *cobra.Command {
	var sf storeFlags
	var chain, format, out string
	var from, to int64
	var quiet bool
	var ef evmClusterFlags
	c := &cobra.Command{
		Use:   "export TABLE --store DIR [--chain eth [--deposits] [--deposit-reuse] [--airdrop]] [--from N] [--to N] [--format csv|json|parquet] [--out FILE]",
		Short: "Write a table of the store (blocks, transactions, outputs, inputs, addresses; transfers, events, balances) as CSV, JSON Lines or Parquet",
		Long: `Write one table of the store over a range of blocks, for other tools
(DuckDB, pandas, Spark, ClickHouse): Bitcoin's blocks, transactions,
outputs, inputs and addresses (those first seen in the blocks, with their
totals and, once clustered, entities), or an EVM chain's blocks,
transactions, transfers, events, addresses (those whose first transfer is
in the blocks; with --deposits, --deposit-reuse or --airdrop, each with its
entity by those heuristics, as spur entity --chain makes them) and their
balances in each asset. Rows carry txids, hashes and
addresses as the chains print them; amounts are integers in base units
(decimal strings on EVM chains). docs/format/export.md gives every column.

Without --out the rows go to standard output (Parquet not to a terminal);
with it, to a file written whole or not at all.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := jsonAsFormat(cmd, sf.json, &format); err != nil {
				return err
			}
			f, err := export.ParseFormat(format)
			if err != nil {
				return usageError{err}
			}
			evm, err := isEVM(chain)
			if err != nil {
				return err
			}
			table := args[0]
			tables := export.BTCTables
			if evm {
				tables = export.EVMTables
			}
			if !slices.Contains(tables, table) {
				hint := ""
				if !evm && slices.Contains(export.EVMTables, table) {
					hint = " (an EVM chain's table: --chain eth)"
				}
				if evm && slices.Contains(export.BTCTables, table) {
					hint = " (a Bitcoin table: --chain btc)"
				}
				return usagef("no table %q on %s: want %s%s", table, chain, strings.Join(tables, ", "), hint)
			}
			if ef.any() && (!evm || table != "addresses") {
				return usagef("--deposits, --deposit-reuse and --airdrop give an EVM chain's addresses their entities: spur export addresses --chain eth")
			}
			if out == "-" {
				out = "" // standard output
			}
			if out == "" && f == export.Parquet && isTerminal(os.Stdout) {
				return usagef("Parquet is binary: give --out FILE, or send standard output to a file or a program")
			}
			if sf.dir == "" {
				return usagef("--store DIR is required")
			}
			var o export.Options
			o.Format = f
			run := func(w io.Writer) (int64, error) {
				if evm {
					s, err := openEVM(&sf, chain, evmRead)
					if err != nil {
						return 0, err
					}
					defer s.Close()
					c := s.Counts()
					if o.Range, err = rangeFlags(cmd, from, to, int64(c.First), int64(c.First+c.Blocks)-1, "blocks"); err != nil {
						return 0, err
					}
					if ef.any() {
						labels, err := openLabels(sf.dir)
						if err != nil {
							return 0, err
						}
						ec, _, err := ef.cluster(s, labels)
						labels.Close()
						if err != nil {
							return 0, err
						}
						// Rows are made in parallel: the entities are read out
						// first (Entity shortens paths as it goes), and the
						// first address of each entity of more than one.
						root := make([]uint32, s.Counts().Addrs)
						shared := map[uint32]string{}
						for a := range root {
							if root[a] = ec.Entity(uint32(a)); root[a] != uint32(a) {
								shared[root[a]] = ""
							}
						}
						for e := range shared {
							shared[e] = s.Address(e).Hex()
						}
						o.EVMEntity = func(a uint32) string {
							if name, ok := shared[root[a]]; ok {
								return name
							}
							return s.Address(a).Hex() // an entity of one
						}
					}
					bar := exportBar(quiet, o.Range, &o)
					defer bar.Done()
					return export.EVM(cmd.Context(), s, table, w, o)
				}
				s, err := sf.openExisting()
				if err != nil {
					return 0, err
				}
				defer s.Close()
				if o.Range, err = rangeFlags(cmd, from, to, 0, s.Height(), "heights"); err != nil {
					return 0, err
				}
				bar := exportBar(quiet, o.Range, &o)
				defer bar.Done()
				return export.BTC(cmd.Context(), s, table, w, o)
			}
			n, err := writeOut(cmd.Context(), out, run)
			if err != nil {
				return err
			}
			if !quiet {
				dest := out
				if dest == "" {
					dest = "standard output"
				}
				fmt.Fprintf(os.Stderr, "%s %s rows of %s, blocks %d to %d, to %s\n", thousands(n), chain, table, o.Range.From, o.Range.To, dest)
			}
			return nil
		},
	}
	sf.register(c, true)
	chainFlag(c, &chain)
	c.Flags().StringVar(&format, "format", "csv", "csv, json (JSON Lines: an object a line) or parquet (zstd)")
	c.Flags().StringVarP(&out, "out", "o", "", "file to write (default, or -: standard output)")
	c.Flags().Int64Var(&from, "from", 0, "first block (height or number; default: the store's first)")
	c.Flags().Int64Var(&to, "to", 0, "last block (default: the store's tip)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar and no summary")
	ef.register(c)
	return c
}

// rangeFlags is --from and --to, each the store's end where not given,
// checked against the store's blocks first to last (what names their
// numbers).
func rangeFlags(c *cobra.Command, from, to, first, last int64, what string) (export.Range, error) {
	r := export.Range{From: first, To: last}
	if c.Flags().Changed("from") {
		r.From = from
	}
	if c.Flags().Changed("to") {
		r.To = to
	}
	if r.From > r.To && c.Flags().Changed("from") && c.Flags().Changed("to") {
		return r, usagef("--from %d is after --to %d", r.From, r.To)
	}
	return r, r.Within(first, last, what)
}

// exportBar shows the blocks exported so far on standard error.
func exportBar(quiet bool, r export.Range, o *export.Options) *progress.Bar {
	if quiet {
		return nil
	}
	bar := progress.New(os.Stderr, "blocks", r.To-r.From+1)
	o.Progress = func(blocks int64) { bar.Add(blocks, 0, 0) }
	return bar
}

// writeOut runs write on standard output, or on a file beside path that
// becomes path only once it is whole and synced: an export that fails or
// is stopped leaves no file, and leaves an older file at path as it was.
// A path that is there and no regular file (/dev/null, a named pipe) is
// written as it is.
func writeOut(ctx context.Context, path string, write func(io.Writer) (int64, error)) (int64, error) {
	if path == "" {
		return write(os.Stdout)
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return 0, fmt.Errorf("%s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		n, err := write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return n, err
	}
	var n int64
	err := colfile.ReplaceFile(path, func(f *os.File) error {
		var err error
		if n, err = write(f); err == nil {
			err = ctx.Err()
		}
		return err
	})
	return n, err
}
