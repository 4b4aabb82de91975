package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/report"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
)

func newReport() *cobra.Command {
	c := &cobra.Command{Use: "report", Short: "Report an incident, or an actor's year, as Markdown, HTML, JSON or CSV"}
	var sf storeFlags
	var format, model string
	incident := &cobra.Command{
		Use:   "incident ID --store DIR [--format md|html|json|csv] [--model fifo]",
		Short: "What was stolen, at the theft day's price, and where it went",
		Long: `Traces the incident's stolen outputs (spur incident import) and reports the
value at the theft day's close (spur prices import), the share that reached
each exchange, what is still unspent, and how much went through CoinJoins on
the way. HTML is one self-contained page with an SVG chart; CSV a row for
each place the value went, on each chain.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := jsonAsFormat(cmd, sf.json, &format); err != nil {
				return err
			}
			s, labels, err := openReport(&sf, format, model)
			if err != nil {
				return err
			}
			defer closeReport(s, labels)
			incs, err := labels.Incidents()
			if err != nil {
				return err
			}
			for _, inc := range incs {
				if inc.ID == args[0] {
					es, err := openReportEVM(&sf)
					if err != nil {
						return err
					}
					if es != nil {
						defer es.Close()
					}
					r, err := report.ForIncident(store.ReaderOf(s), evmstore.ReaderOf(es), labels, inc, model)
					if err != nil {
						return err
					}
					return emit(format, r, r.Markdown, r.HTML, r.CSV)
				}
			}
			return fmt.Errorf("%w: incident %q (import incidents with spur incident import)", store.ErrNotFound, args[0])
		},
	}
	var year int
	actor := &cobra.Command{
		Use:   "actor NAME --year YYYY --store DIR [--format md|html|json|csv] [--model fifo]",
		Short: "An actor's incidents in a year: stolen value, asset mix, mixing, where it went",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("year") {
				return usagef("--year YYYY is required")
			}
			if year < 2009 || year > 2100 {
				return usagef("--year %d: want a year from 2009, when Bitcoin began, to 2100", year)
			}
			if err := jsonAsFormat(cmd, sf.json, &format); err != nil {
				return err
			}
			s, labels, err := openReport(&sf, format, model)
			if err != nil {
				return err
			}
			defer closeReport(s, labels)
			es, err := openReportEVM(&sf)
			if err != nil {
				return err
			}
			if es != nil {
				defer es.Close()
			}
			r, err := report.ForActor(store.ReaderOf(s), evmstore.ReaderOf(es), labels, args[0], year, model)
			if err != nil {
				return err
			}
			return emit(format, r, r.Markdown, r.HTML, r.CSV)
		},
	}
	for _, sub := range []*cobra.Command{incident, actor} {
		sf.register(sub, false)
		sub.Flags().StringVar(&format, "format", "md", "md, html, json or csv (a row for each place the value went)")
		sub.Flags().BoolVar(&sf.json, "json", false, "print JSON (--format json)")
		sub.Flags().StringVar(&model, "model", "fifo", "taint model: fifo, haircut or poison")
	}
	actor.Flags().IntVar(&year, "year", 0, "the year (required)")
	c.AddCommand(incident, actor)
	return c
}

func openReport(sf *storeFlags, format, model string) (*store.Store, *label.Store, error) {
	if format != "md" && format != "html" && format != "json" && format != "csv" {
		return nil, nil, usagef("--format: want md, html, json or csv")
	}
	if model != trace.FIFO && model != trace.Haircut && model != trace.Poison {
		return nil, nil, usagef("--model: want fifo, haircut or poison, not %q", model)
	}
	// A store of Ethereum alone reports the incidents on it: s is then
	// nil.
	var s *store.Store
	_, noBTC := os.Stat(filepath.Join(btcDir(sf.dir), "META"))
	_, noETH := os.Stat(filepath.Join(evmDir(sf.dir, "eth"), "META"))
	if noBTC == nil || noETH != nil {
		var err error
		if s, err = sf.openExisting(); err != nil {
			return nil, nil, err
		}
	}
	labels, err := openLabels(sf.dir)
	if err != nil {
		if s != nil {
			s.Close()
		}
		return nil, nil, err
	}
	return s, labels, nil
}

// closeReport closes what openReport opened.
func closeReport(s *store.Store, labels *label.Store) {
	if s != nil {
		s.Close()
	}
	labels.Close()
}

func emit(format string, v any, md, html, csv func() string) error {
	switch format {
	case "json":
		return printJSON(os.Stdout, v)
	case "html":
		_, err := fmt.Print(html())
		return err
	case "csv":
		_, err := fmt.Print(csv())
		return err
	}
	_, err := fmt.Print(md())
	return err
}

// openReportEVM opens the store's Ethereum chain for reports, if it has one
// (read-only where the store cannot be written, as openEVM does).
func openReportEVM(sf *storeFlags) (*evmstore.Store, error) {
	if _, err := os.Stat(filepath.Join(evmDir(sf.dir, "eth"), "META")); err != nil {
		return nil, nil
	}
	return openEVM(sf, "eth", evmRead)
}
