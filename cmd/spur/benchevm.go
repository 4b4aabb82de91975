package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/world"
)

type evmBenchRow struct {
	Name         string  `json:"name"`
	Blocks       int64   `json:"blocks"`
	Txs          int64   `json:"txs"`
	Transfers    int64   `json:"transfers"`
	Seconds      float64 `json:"seconds"`
	TransfersPS  float64 `json:"transfers_per_s"`
	Ratio        float64 `json:"ratio_vs_geth_rlp"`
	PeakRSSMiB   float64 `json:"peak_rss_mib,omitempty"`
	BytesPerXfer float64 `json:"bytes_per_transfer,omitempty"`
}

func newBenchEVM() *cobra.Command {
	var etl string
	var era1 []string
	var scale, rounds int
	var asJSON bool
	c := &cobra.Command{
		Use:   "evm [--etl DIR] [--era1 PATH...]",
		Short: "Time EVM ingest against go-ethereum's RLP decoding of the same blocks",
		Long: `Times, on the same blocks: go-ethereum decoding them from RLP (header, body,
receipts, as a node stores them) and hashing every transaction, the
baseline; spur reading the ethereum-etl CSV export; and a full spur ingest
of the export in a child process (transfers, events, store, index), with its
peak RSS and bytes on disk per transfer. The export is --etl, or the EVM side
of a synthetic world of --scale users written for the run.

With --era1, the same for era1 archives: go-ethereum's RLP decoding of the
file's blocks against spur's ingest, which also checks each block's roots
and recovers every sender.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if rounds < 1 || scale < 1 {
				return usagef("--rounds and --scale must be at least 1")
			}
			tmp, err := os.MkdirTemp("", "spur-bench-evm-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			if etl == "" {
				fmt.Fprintf(os.Stderr, "writing a synthetic world of %d users...\n", scale)
				if _, err := world.Generate(filepath.Join(tmp, "world"), world.Options{Seed: 1, Scale: scale, Scenario: "dprk-2021", Context: cmd.Context()}); err != nil {
					return err
				}
				etl = filepath.Join(tmp, "world", "evm")
			}
			rows, err := benchEVMETL(etl, tmp, rounds)
			if err != nil {
				return err
			}
			if len(era1) > 0 {
				more, err := benchEVMEra1(era1, tmp, rounds)
				if err != nil {
					return err
				}
				rows = append(rows, more...)
			}
			if asJSON {
				return printJSON(os.Stdout, rows)
			}
			t := newTable(os.Stdout)
			t.row("WHAT", "BLOCKS", "TXS", "TRANSFERS", "SECONDS", "TRANSFERS/S", "VS GETH RLP", "PEAK RSS", "BYTES/TRANSFER")
			for _, r := range rows {
				rss, bpt := "", ""
				if r.PeakRSSMiB > 0 {
					rss = fmt.Sprintf("%.0f MiB", r.PeakRSSMiB)
				}
				if r.BytesPerXfer > 0 {
					bpt = fmt.Sprintf("%.1f", r.BytesPerXfer)
				}
				t.row(r.Name, r.Blocks, r.Txs, r.Transfers, fmt.Sprintf("%.3f", r.Seconds), fmt.Sprintf("%.0f", r.TransfersPS), fmt.Sprintf("%.2fx", r.Ratio), rss, bpt)
			}
			t.flush()
			return nil
		},
	}
	c.Flags().StringVar(&etl, "etl", "", "ethereum-etl export to measure (default: a synthetic world's)")
	c.Flags().StringSliceVar(&era1, "era1", nil, "era1 files or directories to measure too")
	c.Flags().IntVar(&scale, "scale", 500, "users of the synthetic world when no --etl is given")
	c.Flags().IntVar(&rounds, "rounds", 3, "repeat each timing and keep the fastest")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

func fastest(rounds int, fn func() error) (float64, error) {
	best := 0.0
	for i := 0; i < rounds; i++ {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		if d := time.Since(start).Seconds(); i == 0 || d < best {
			best = d
		}
	}
	return best, nil
}

func benchEVMETL(dir, tmp string, rounds int) ([]evmBenchRow, error) {
	// The blocks once, for the counts and the baseline's input.
	src, err := evm.OpenETL(dir)
	if err != nil {
		return nil, err
	}
	var blocks, txs, xfers int64
	var rlps [][3][]byte
	for {
		b, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			src.Close()
			return nil, err
		}
		blocks++
		txs += int64(len(b.Txs))
		xfers += int64(len(b.Transfers()))
		h, bd, rc, err := evm.GethRLP(b)
		if err != nil {
			src.Close()
			return nil, err
		}
		rlps = append(rlps, [3][]byte{h, bd, rc})
	}
	src.Close()
	geth, err := fastest(rounds, func() error {
		for _, r := range rlps {
			if _, err := evm.GethDecode(r[0], r[1], r[2]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	parse, err := fastest(rounds, func() error {
		e, err := evm.OpenETL(dir)
		if err != nil {
			return err
		}
		defer e.Close()
		for {
			b, err := e.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			b.Transfers()
		}
	})
	if err != nil {
		return nil, err
	}
	var run *evmChildRun
	for i := 0; i < rounds; i++ {
		r, err := childEVMIngest(filepath.Join(tmp, fmt.Sprintf("store-etl-%d", i)), "--etl", dir)
		if err != nil {
			return nil, err
		}
		if run == nil || r.seconds < run.seconds {
			run = r
		}
	}
	row := func(name string, sec float64) evmBenchRow {
		return evmBenchRow{Name: name, Blocks: blocks, Txs: txs, Transfers: xfers, Seconds: sec, TransfersPS: float64(xfers) / sec, Ratio: geth / sec}
	}
	ing := row("spur ingest --etl (child process, 1 run of the fastest)", run.seconds)
	ing.PeakRSSMiB, ing.BytesPerXfer = run.peakRSS, run.bytesPerXfer
	return []evmBenchRow{row("go-ethereum RLP decode + tx hashes (baseline)", geth), row("spur reads the CSV export + transfers", parse), ing}, nil
}

type evmChildRun struct {
	seconds, peakRSS, bytesPerXfer float64
}

// childEVMIngest runs `spur ingest evm` in a child process, for its own
// time and peak RSS, and measures the store it made.
func childEVMIngest(dir string, src ...string) (*evmChildRun, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	chain := "eth"
	if src[0] == "--era1" {
		chain = "sepolia"
	}
	args := append([]string{"ingest", "evm", "--store", dir, "--chain", chain, "--quiet", "--json"}, src...)
	cmd := exec.Command(exe, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bench: child ingest: %v: %s", err, errb.String())
	}
	var st ingest.EVMStats
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		return nil, fmt.Errorf("bench: child ingest output: %v", err)
	}
	s, err := evmstore.Open(evmstore.Dir(dir, chain), chain)
	if err != nil {
		return nil, err
	}
	n := s.Counts().Transfers
	s.Close()
	var total int64
	filepath.Walk(evmstore.Dir(dir, chain), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && filepath.Base(p) != "LOCK" {
			total += fi.Size()
		}
		return nil
	})
	r := &evmChildRun{seconds: st.ElapsedSec, peakRSS: st.PeakRSSMiB}
	if n > 0 {
		r.bytesPerXfer = float64(total) / float64(n)
	}
	return r, nil
}

func benchEVMEra1(paths []string, tmp string, rounds int) ([]evmBenchRow, error) {
	chainID := evmstore.Chains["sepolia"]
	var blocks, txs, xfers int64
	e, err := evm.OpenEra1(paths, chainID)
	if err != nil {
		return nil, err
	}
	for {
		b, err := e.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			e.Close()
			return nil, err
		}
		blocks++
		txs += int64(len(b.Txs))
		xfers += int64(len(b.Transfers()))
	}
	e.Close()
	geth, err := fastest(rounds, func() error {
		e, err := evm.OpenEra1(paths, chainID)
		if err != nil {
			return err
		}
		defer e.Close()
		for {
			h, bd, rc, _, err := e.NextRaw()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if _, err := evm.GethDecode(h, bd, rc); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return nil, err
	}
	var run *evmChildRun
	for i := 0; i < rounds; i++ {
		args := []string{}
		for _, p := range paths {
			args = append(args, "--era1", p)
		}
		r, err := childEVMIngest(filepath.Join(tmp, fmt.Sprintf("store-era1-%d", i)), args...)
		if err != nil {
			return nil, err
		}
		if run == nil || r.seconds < run.seconds {
			run = r
		}
	}
	base := evmBenchRow{Name: "era1: go-ethereum snappy + RLP decode + tx hashes (baseline)", Blocks: blocks, Txs: txs, Transfers: xfers, Seconds: geth, Ratio: 1}
	base.TransfersPS = float64(xfers) / geth
	ing := evmBenchRow{Name: "era1: spur ingest --era1 (roots checked, senders recovered)", Blocks: blocks, Txs: txs, Transfers: xfers, Seconds: run.seconds,
		TransfersPS: float64(xfers) / run.seconds, Ratio: geth / run.seconds, PeakRSSMiB: run.peakRSS, BytesPerXfer: run.bytesPerXfer}
	return []evmBenchRow{base, ing}, nil
}
