package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
)

type traceBenchRow struct {
	Name         string  `json:"name"`
	Runs         int     `json:"runs"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	Nodes        int     `json:"nodes"` // transactions (Bitcoin) or transfers (Ethereum) visited
	BytesPerNode float64 `json:"bytes_per_node"`
}

func newBenchTrace() *cobra.Command {
	var sf storeFlags
	var chain, from string
	var runs, hops int
	c := &cobra.Command{
		Use:   "trace --store DIR --from incident:ID [--chain btc|eth] [--runs 20]",
		Short: "Time a forward FIFO trace against a plain breadth-first walk of the same store",
		Long: `Runs the FIFO forward trace of an incident --runs times (on Bitcoin also
with --mixer-links, every pass of it) and reports p50 and p99 latency, the nodes it visited (Bitcoin: transactions, --hops deep;
Ethereum: transfers replayed) and the bytes allocated per node; then the
baseline, a straightforward breadth-first walk over the same store from the
same start (Bitcoin: spends, --hops deep; Ethereum: each address's outgoing
transfers, --hops deep), measured the same way.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || runs < 1 || hops < 1 {
				return usagef("--from incident:ID is required; --runs and --hops at least 1")
			}
			labels, err := openLabels(sf.dir)
			if err != nil {
				return err
			}
			defer labels.Close()
			var rows []traceBenchRow
			if e, err := isEVM(chain); err != nil {
				return err
			} else if e {
				es, err := openEVM(&sf, chain, evmRead)
				if err != nil {
					return err
				}
				defer es.Close()
				starts, err := query.EVMStarts(es, labels, []string{from})
				if err != nil {
					return err
				}
				o, err := query.EVMTraceOptions(es, labels, trace.FIFO, false)
				if err != nil {
					return err
				}
				var nodes int
				rows = append(rows, timeRuns("spur FIFO trace (account model, swaps followed)", runs, func() int {
					res, _ := trace.TraceEVM(es, starts, o)
					nodes = res.Transfers
					return nodes
				}))
				rows = append(rows, timeRuns(fmt.Sprintf("baseline: BFS over outgoing transfers, %d hops", hops), runs, func() int {
					return bfsEVM(es, starts, hops)
				}))
			} else {
				s, err := sf.openExisting()
				if err != nil {
					return err
				}
				defer s.Close()
				starts, _, err := query.ResolveRefs(s, labels, []string{from})
				if err != nil {
					return err
				}
				o := trace.Options{Model: trace.FIFO, MaxHops: hops}
				if o.Services, o.HotWallets, err = query.Services(s, labels); err != nil {
					return err
				}
				rows = append(rows, timeRuns(fmt.Sprintf("spur FIFO trace, %d hops", hops), runs, func() int {
					res, _ := trace.Forward(s, starts, o)
					return res.TxsVisited
				}))
				o.MixerLinks = true
				rows = append(rows, timeRuns(fmt.Sprintf("spur FIFO trace with mixer links, %d hops", hops), runs, func() int {
					res, _ := trace.Forward(s, starts, o)
					return res.TxsVisited
				}))
				rows = append(rows, timeRuns(fmt.Sprintf("baseline: BFS over spends, %d hops", hops), runs, func() int {
					return bfsBTC(s, starts, hops)
				}))
			}
			if sf.json {
				return printJSON(os.Stdout, rows)
			}
			t := newTable(os.Stdout)
			t.row("WHAT", "RUNS", "P50 MS", "P99 MS", "NODES", "BYTES/NODE")
			for _, r := range rows {
				t.row(r.Name, r.Runs, fmt.Sprintf("%.2f", r.P50ms), fmt.Sprintf("%.2f", r.P99ms), r.Nodes, fmt.Sprintf("%.0f", r.BytesPerNode))
			}
			t.flush()
			return nil
		},
	}
	sf.register(c, true)
	chainFlag(c, &chain)
	c.Flags().StringVar(&from, "from", "", "incident:ID (or a reference spur trace takes)")
	c.Flags().IntVar(&runs, "runs", 20, "runs of each")
	c.Flags().IntVar(&hops, "hops", 10, "depth of the Bitcoin trace and of the baselines")
	return c
}

// timeRuns runs fn runs times; fn returns the nodes it visited.
func timeRuns(name string, runs int, fn func() int) traceBenchRow {
	var ds []float64
	var nodes int
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	for i := 0; i < runs; i++ {
		start := time.Now()
		nodes = fn()
		ds = append(ds, float64(time.Since(start).Microseconds())/1000)
	}
	runtime.ReadMemStats(&ms)
	sort.Float64s(ds)
	r := traceBenchRow{Name: name, Runs: runs, P50ms: ds[len(ds)/2], P99ms: ds[min(len(ds)-1, len(ds)*99/100)], Nodes: nodes}
	if nodes > 0 {
		r.BytesPerNode = float64(ms.TotalAlloc-before) / float64(runs) / float64(nodes)
	}
	return r
}

// bfsBTC walks spends breadth first from the start outputs: every output of
// every transaction that spends a reached output, hops deep.
func bfsBTC(s *store.Store, starts []trace.Start, hops int) int {
	seen := map[uint64]bool{}
	level := make([]uint64, 0, len(starts))
	for _, st := range starts {
		level = append(level, st.Output)
	}
	for h := 0; h < hops && len(level) > 0; h++ {
		var next []uint64
		for _, o := range level {
			out := s.Output(o)
			if !out.Spent || seen[out.SpentBy] {
				continue
			}
			seen[out.SpentBy] = true
			_, _, first, n := s.TxRange(out.SpentBy)
			for k := first; k < first+n; k++ {
				next = append(next, k)
			}
		}
		level = next
	}
	return len(seen)
}

// bfsEVM walks addresses breadth first from the start transfers'
// recipients along every later outgoing value transfer, hops deep.
func bfsEVM(s *evmstore.Store, starts []trace.EVMStart, hops int) int {
	type at struct {
		addr uint32
		from uint64
	}
	seenAddr := map[uint32]bool{}
	var level []at
	for _, st := range starts {
		if r := s.Transfer(st.Transfer); r.To != evmstore.None && !seenAddr[r.To] {
			seenAddr[r.To] = true
			level = append(level, at{r.To, st.Transfer})
		}
	}
	visited := 0
	for h := 0; h < hops && len(level) > 0; h++ {
		var next []at
		for _, a := range level {
			s.Postings(a.addr, func(x uint64) bool {
				if x <= a.from {
					return true
				}
				r := s.Transfer(x)
				visited++
				if r.From != a.addr || r.To == evmstore.None || r.Kind == evm.KindFee || r.Kind == evm.KindBurn || seenAddr[r.To] {
					return true
				}
				seenAddr[r.To] = true
				next = append(next, at{r.To, x})
				return true
			})
		}
		level = next
	}
	return visited
}
