package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/export"
)

type exportBenchRow struct {
	Name        string  `json:"name"`
	Rows        int64   `json:"rows"`
	Seconds     float64 `json:"seconds"` // the best of the runs
	RowsPerS    float64 `json:"rows_per_s"`
	BytesPerRow float64 `json:"bytes_per_row"`
}

// byteCounter counts what an export writes, and keeps none of it.
type byteCounter int64

func (c *byteCounter) Write(p []byte) (int, error) { *c += byteCounter(len(p)); return len(p), nil }

func newBenchExport() *cobra.Command {
	var sf storeFlags
	var chain, table string
	var runs int
	c := &cobra.Command{
		Use:   "export --store DIR [--chain btc|eth] [--table outputs] [--runs 3]",
		Short: "Time spur export of a table in each format against making its rows alone",
		Long: `Exports a table of the whole store --runs times in each format (CSV,
JSON Lines, Parquet), the bytes counted and dropped, and reports the best
run's seconds, rows a second and bytes a row; the baseline is the same
rows made from the store and dropped, no format written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runs < 1 {
				return usagef("--runs must be at least 1")
			}
			evm, err := isEVM(chain)
			if err != nil {
				return err
			}
			tables := export.BTCTables
			if evm {
				tables = export.EVMTables
			}
			if table == "" {
				table = map[bool]string{false: "outputs", true: "transfers"}[evm]
			}
			if !slices.Contains(tables, table) {
				return usagef("no table %q on %s: want %s", table, chain, strings.Join(tables, ", "))
			}
			var exportAll func(f export.Format, w *byteCounter) (int64, error)
			if evm {
				s, err := openEVM(&sf, chain, evmRead)
				if err != nil {
					return err
				}
				defer s.Close()
				c := s.Counts()
				r := export.Range{From: int64(c.First), To: int64(c.First+c.Blocks) - 1}
				exportAll = func(f export.Format, w *byteCounter) (int64, error) {
					return export.EVM(cmd.Context(), s, table, w, export.Options{Format: f, Range: r})
				}
			} else {
				s, err := sf.openExisting()
				if err != nil {
					return err
				}
				defer s.Close()
				r := export.Range{From: 0, To: s.Height()}
				exportAll = func(f export.Format, w *byteCounter) (int64, error) {
					return export.BTC(cmd.Context(), s, table, w, export.Options{Format: f, Range: r})
				}
			}
			var rows []exportBenchRow
			for _, f := range []export.Format{export.Discard, export.CSV, export.JSON, export.Parquet} {
				name := fmt.Sprintf("spur export %s --format %s", table, f)
				if f == export.Discard {
					name = "baseline: the rows made and dropped"
				}
				row := exportBenchRow{Name: name, Seconds: math.Inf(1)}
				for range runs {
					var w byteCounter
					start := time.Now()
					n, err := exportAll(f, &w)
					if err != nil {
						return err
					}
					row.Seconds = min(row.Seconds, time.Since(start).Seconds())
					row.Rows, row.BytesPerRow = n, float64(w)/float64(max(n, 1))
				}
				row.RowsPerS = float64(row.Rows) / row.Seconds
				rows = append(rows, row)
			}
			if sf.json {
				return printJSON(os.Stdout, rows)
			}
			t := newTable(os.Stdout)
			t.row("WHAT", "ROWS", "SECONDS", "ROWS/S", "BYTES/ROW")
			for _, r := range rows {
				t.row(r.Name, thousands(r.Rows), fmt.Sprintf("%.3f", r.Seconds), thousands(int64(r.RowsPerS)), fmt.Sprintf("%.1f", r.BytesPerRow))
			}
			t.flush()
			return nil
		},
	}
	sf.register(c, true)
	chainFlag(c, &chain)
	c.Flags().StringVar(&table, "table", "", "the table (default: outputs on Bitcoin, transfers on an EVM chain)")
	c.Flags().IntVar(&runs, "runs", 3, "runs of each, the best kept")
	return c
}
