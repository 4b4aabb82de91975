package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/spur-forensics/spur/internal/api"
	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/names"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/world"
)

func newBench() *cobra.Command {
	c := &cobra.Command{Use: "bench", Short: "Measure spur against baselines on the same data"}
	c.AddCommand(newBenchIngest(), newBenchCluster(), newBenchNames(), newBenchScreen(), newBenchEVM(), newBenchTrace(), newBenchExport())
	return c
}

// benchRow is one line of a benchmark table.
type benchRow struct {
	Name    string  `json:"name"`
	Cores   int     `json:"cores"`
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"mb_per_s"`
	TxPerS  float64 `json:"tx_per_s"`
	Ratio   float64 `json:"ratio_vs_btcd_1core"`
}

type ingestRun struct {
	Height      int64   `json:"height"`
	Blocks      int64   `json:"blocks"`
	Seconds     float64 `json:"seconds"`      // the ingest itself, as the child reports it
	WallSeconds float64 `json:"wall_seconds"` // the child process, start to exit
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	PeakAnonMiB float64 `json:"peak_anon_rss_mib"` // the part not mapped from files
	PerInput    float64 `json:"bytes_per_input"`
	PerOutput   float64 `json:"bytes_per_output"`
	Hashes      int64   `json:"hash_bytes"`
	Index       int64   `json:"index_bytes"`
	Total       int64   `json:"total_bytes"`
}

type benchReport struct {
	Blocks  int         `json:"blocks"`
	Txs     int         `json:"txs"`
	Inputs  int         `json:"inputs"`
	Outputs int         `json:"outputs"`
	Bytes   int         `json:"bytes"`
	Rows    []benchRow  `json:"rows"`
	Ingest  []ingestRun `json:"ingest_runs"`
}

func newBenchIngest() *cobra.Command {
	var blocks []string
	var network string
	var asJSON bool
	var rounds int
	var synBlocks, synTxs int
	var seed uint64
	c := &cobra.Command{
		Use:   "ingest [--blocks PATH...]",
		Short: "Time full ingest against btcd's decode+hash and SHA-256d on the same blocks",
		Long: `Reads the blocks (default: the mainnet blocks 0..14131 shipped with spur; or a
synthetic regtest chain of realistic modern transactions with
--synthetic-blocks) into
memory, then times on the same bytes: double SHA-256 over every block; btcd's
wire.MsgBlock decoding plus TxHash() of every transaction, on one core and on
all cores; spur's decoder; and a full spur ingest into a fresh store in a
child process (decode, hash, store, index, spend linkage), whose peak RSS and
bytes on disk per input and output it reports, at half and at full length.
The timings in this process collect garbage every 256 MiB, so that the
baselines reuse memory rather than take more while the blocks are held.`,
		Args: pathsAfter("blocks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			blocks = append(blocks, args...)
			net, err := btc.LookupNetwork(network)
			if err != nil {
				return usageError{err}
			}
			tmp, err := os.MkdirTemp("", "spur-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			if synBlocks > 0 {
				if len(blocks) > 0 {
					return usagef("give --blocks or --synthetic-blocks, not both")
				}
				if net, err = btc.LookupNetwork("regtest"); err != nil {
					return err
				}
				dir := filepath.Join(tmp, "blocks")
				fmt.Fprintf(os.Stderr, "writing a synthetic regtest chain: %d blocks of %d txs...\n", synBlocks, synTxs)
				if _, err := world.WriteChain(dir, world.ChainOptions{Seed: seed, Blocks: synBlocks, TxsPerBlock: synTxs}); err != nil {
					return err
				}
				blocks = []string{dir}
			} else if len(blocks) == 0 {
				// The shipped sample, decompressed, so that both sides read
				// the same plain bytes.
				if blocks, err = writeSamples(tmp, "blk_0_to_14131.dat.bz2"); err != nil {
					return err
				}
				f, err := btc.OpenBlockPaths(blocks, net)
				if err != nil {
					return err
				}
				raw := make([]byte, f[0].Size())
				err = f[0].ReadAt(raw, 0)
				f[0].Close()
				if err != nil {
					return err
				}
				blocks = []string{filepath.Join(tmp, "blk00000.dat")}
				if err := os.WriteFile(blocks[0], raw, 0o644); err != nil {
					return err
				}
			}
			rep, err := benchIngest(blocks, net, tmp, rounds)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(os.Stdout, rep)
			}
			printBench(rep)
			return nil
		},
	}
	c.Flags().StringSliceVar(&blocks, "blocks", nil, "blocks directory, blk*.dat or raw block files (default: the shipped mainnet sample)")
	c.Flags().StringVar(&network, "network", "main", "Bitcoin network of the blocks")
	c.Flags().IntVar(&rounds, "rounds", 3, "repeat each timing and keep the fastest")
	c.Flags().IntVar(&synBlocks, "synthetic-blocks", 0, "benchmark a synthetic regtest chain of this many blocks instead")
	c.Flags().IntVar(&synTxs, "txs-per-block", 2500, "transactions per synthetic block")
	c.Flags().Uint64Var(&seed, "seed", 1, "seed of the synthetic chain")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

func benchIngest(paths []string, net *btc.Network, tmp string, rounds int) (*benchReport, error) {
	// Load the blocks in chain order, as ingest will see them.
	probe, err := store.Open(tmp+"/probe", store.Options{Network: net})
	if err != nil {
		return nil, err
	}
	files, err := btc.OpenBlockPaths(paths, net)
	if err != nil {
		probe.Close()
		return nil, err
	}
	var refs []btc.BlockRef
	for _, f := range files {
		r, err := f.Scan(net)
		if err != nil {
			probe.Close()
			return nil, err
		}
		refs = append(refs, r...)
	}
	plan, err := ingest.PlanBlocks(probe, refs)
	probe.Close()
	if err != nil {
		return nil, err
	}
	raws := make([][]byte, len(plan.Blocks))
	rep := &benchReport{Blocks: len(raws)}
	for i, ref := range plan.Blocks {
		raw, err := ref.Read(nil)
		if err != nil {
			return nil, err
		}
		raws[i] = bytes.Clone(raw) // the files are closed below

		blk, err := btc.DecodeBlock(raws[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		rep.Bytes += len(raws[i])
		rep.Txs += len(blk.Txs)
		for j := range blk.Txs {
			rep.Inputs += len(blk.Txs[j].Inputs)
			rep.Outputs += len(blk.Txs[j].Outputs)
		}
	}
	for _, f := range files {
		f.Close()
	}
	// With the blocks held in memory the collector would wait for the heap
	// to double: the baselines' garbage, btcd's above all, would take as
	// much memory again, never touched before, whose first touch can cost
	// more than the decoding (BENCHMARKS.md, "Memory on this machine";
	// btcd's time on the largest chain 19.5-22.9 s so, 12.3-13 s in warm
	// memory). Collect every 256 MiB of garbage instead, so that it reuses
	// memory as a decoder holding a block at a time does.
	defer debug.SetGCPercent(debug.SetGCPercent(garbagePercent(rep.Bytes, 256<<20)))
	best := func(fn func()) float64 {
		b := 0.0
		for r := 0; r < max(rounds, 1); r++ {
			runtime.GC()
			t := time.Now()
			fn()
			if s := time.Since(t).Seconds(); r == 0 || s < b {
				b = s
			}
		}
		return b
	}
	row := func(name string, cores int, secs float64) benchRow {
		return benchRow{Name: name, Cores: cores, Seconds: secs, MBps: float64(rep.Bytes) / secs / 1e6, TxPerS: float64(rep.Txs) / secs}
	}
	ncpu := runtime.NumCPU()
	parallel := func(fn func(raw []byte)) {
		var wg sync.WaitGroup
		next := make(chan []byte, 64)
		for range ncpu {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range next {
					fn(r)
				}
			}()
		}
		for _, r := range raws {
			next <- r
		}
		close(next)
		wg.Wait()
	}
	sha := func(raw []byte) { first := sha256.Sum256(raw); _ = sha256.Sum256(first[:]) }
	btcd := func(raw []byte) {
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
			panic("BUG: btcd refused a block spur decoded: " + err.Error())
		}
		for _, tx := range mb.Transactions {
			_ = tx.TxHash()
		}
		_ = mb.BlockHash()
	}
	var blk btc.Block // reused from block to block, as an ingest's workers do
	spurDecode := func(raw []byte) {
		if err := blk.Decode(raw); err != nil {
			panic("BUG: " + err.Error())
		}
	}
	rep.Rows = append(rep.Rows,
		row("sha256d of the block bytes", 1, best(func() {
			for _, r := range raws {
				sha(r)
			}
		})),
		row("btcd wire decode + TxHash", 1, best(func() {
			for _, r := range raws {
				btcd(r)
			}
		})),
		row("btcd wire decode + TxHash", ncpu, best(func() { parallel(btcd) })),
		row("spur decode + hash + merkle check", 1, best(func() {
			for _, r := range raws {
				spurDecode(r)
			}
		})),
	)
	// The child ingests read the block files: give the copies in memory,
	// and the garbage of the runs above, back first, so that this process
	// is quiet while the child runs.
	nblocks := int64(len(raws))
	raws = nil
	runtime.GC()
	debug.FreeOSMemory()
	for _, stop := range []int64{nblocks/2 - 1, nblocks - 1} {
		runs := make([]ingestRun, 0, rounds)
		for r := 0; r < max(rounds, 1); r++ {
			// Write back what earlier steps left dirty (the synthetic
			// chain, the previous store) so that it does not fall on the
			// ingest's syncs.
			unix.Sync()
			run, err := childIngest(paths, net, fmt.Sprintf("%s/ingest-%d-%d", tmp, stop, r), stop)
			if err != nil {
				return nil, err
			}
			runs = append(runs, *run)
		}
		fastest := runs[0]
		for _, r := range runs[1:] {
			if r.Seconds < fastest.Seconds {
				fastest = r
			}
		}
		rep.Ingest = append(rep.Ingest, fastest)
	}
	full := rep.Ingest[len(rep.Ingest)-1]
	rep.Rows = append(rep.Rows, row("spur full ingest (fresh store, child process)", ncpu, full.Seconds))
	base := rep.Rows[1].Seconds
	for i := range rep.Rows {
		rep.Rows[i].Ratio = base / rep.Rows[i].Seconds
	}
	return rep, nil
}

// garbagePercent is the GOGC that lets garbage of about the given size
// pile up on a live heap of live bytes: at most the default, 100.
func garbagePercent(live, garbage int) int {
	return max(min(100*garbage/max(live, 1), 100), 1)
}

// childIngest runs `spur ingest btc` in a child process so that its time and
// peak RSS are its own.
func childIngest(paths []string, net *btc.Network, dir string, stop int64) (*ingestRun, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"ingest", "btc", "--store", dir, "--network", net.Name, "--quiet", "--json", "--stop-height", fmt.Sprint(stop)}
	for _, p := range paths {
		args = append(args, "--blocks", p)
	}
	cmd := exec.Command(exe, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bench: child ingest: %v: %s", err, errb.String())
	}
	wall := time.Since(start).Seconds()
	var st ingest.Stats
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		return nil, fmt.Errorf("bench: child ingest output: %v", err)
	}
	// Every round starts from the same disk and page cache: the stores of
	// earlier rounds, left in place, slow the next by about a tenth.
	defer os.RemoveAll(dir)
	s, err := store.Open(btcDir(dir), store.Options{Network: net})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	u, err := s.DiskUsage()
	if err != nil {
		return nil, err
	}
	return &ingestRun{
		Height: st.Height, Blocks: st.Blocks, Seconds: st.ElapsedSec, WallSeconds: wall, PeakRSSMiB: st.PeakRSSMiB, PeakAnonMiB: st.PeakAnonMiB,
		PerInput: u.PerInput, PerOutput: u.PerOutput, Hashes: u.Hashes, Index: u.Index, Total: u.Total,
	}, nil
}

func printBench(rep *benchReport) {
	fmt.Printf("input: %s blocks, %s txs, %s inputs, %s outputs, %.1f MB\n\n", thousands(int64(rep.Blocks)), thousands(int64(rep.Txs)),
		thousands(int64(rep.Inputs)), thousands(int64(rep.Outputs)), float64(rep.Bytes)/1e6)
	t := newTable(os.Stdout)
	t.row("WHAT", "CORES", "SECONDS", "MB/S", "TX/S", "VS BTCD (1 CORE)")
	for _, r := range rep.Rows {
		t.row(r.Name, r.Cores, fmt.Sprintf("%.4f", r.Seconds), fmt.Sprintf("%.1f", r.MBps), thousands(int64(r.TxPerS)), fmt.Sprintf("%.2fx", r.Ratio))
	}
	t.flush()
	fmt.Println()
	t = newTable(os.Stdout)
	t.row("INGEST TO HEIGHT", "SECONDS", "PROCESS SECONDS", "PEAK RSS MIB", "OF IT ANON", "BYTES/INPUT", "BYTES/OUTPUT", "HASH BYTES", "INDEX BYTES", "TOTAL BYTES")
	for _, r := range rep.Ingest {
		t.row(r.Height, fmt.Sprintf("%.3f", r.Seconds), fmt.Sprintf("%.3f", r.WallSeconds), fmt.Sprintf("%.1f", r.PeakRSSMiB), fmt.Sprintf("%.1f", r.PeakAnonMiB), fmt.Sprintf("%.2f", r.PerInput), fmt.Sprintf("%.2f", r.PerOutput),
			thousands(r.Hashes), thousands(r.Index), thousands(r.Total))
	}
	t.flush()
}

func newBenchCluster() *cobra.Command {
	var sf storeFlags
	c := &cobra.Command{
		Use:   "cluster --store DIR",
		Short: "Time spur's union-find against a map-based one on the store's merges",
		Long: `Reads every transaction of the store as 'spur cluster' does (inputs, CoinJoin
checks), then applies the same merges with spur's array union-find and with a
straightforward map-based union-find, and reports inputs per second for each,
their ratio, a full clustering run, and the process's peak RSS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := sf.openToWrite()
			if err != nil {
				return err
			}
			defer s.Close()
			r, err := cluster.Bench(s)
			if err != nil {
				return err
			}
			// The summary and first page of the largest entity, as spur
			// entity shows them.
			c, err := cluster.Open(s)
			if err != nil {
				return err
			}
			labels, err := openLabels(sf.dir)
			if err != nil {
				return err
			}
			defer labels.Close()
			start := time.Now()
			ev, err := query.Entity(s, c, labels, c.Meta.LargestID, 0, 100)
			if err != nil {
				return err
			}
			summary := time.Since(start)
			rss := peakRSSMiB()
			if sf.json {
				return printJSON(os.Stdout, map[string]any{"bench": r, "peak_rss_mib": rss, "largest_entity": ev.ID, "largest_entity_size": ev.Size, "largest_entity_summary_ms": summary.Milliseconds()})
			}
			fmt.Printf("%s transactions, %s inputs merged in %s unions (reading them: %.3f s)\n\n",
				thousands(int64(r.Txs)), thousands(int64(r.Inputs)), thousands(int64(r.Unions)), r.ReadSeconds)
			t := newTable(os.Stdout)
			t.row("UNION-FIND", "SECONDS", "INPUTS/S", "VS MAP")
			t.row("spur (arrays, union by size, path halving)", fmt.Sprintf("%.4f", r.SpurSeconds), thousands(int64(r.SpurRate)), fmt.Sprintf("%.1fx", r.Ratio))
			t.row("map-based baseline", fmt.Sprintf("%.4f", r.MapSeconds), thousands(int64(r.MapRate)), "1.0x")
			t.flush()
			fmt.Printf("\nfull spur cluster run: %.3f s; peak RSS %.0f MiB\n", r.RunSeconds, rss)
			fmt.Printf("largest entity %d (%s addresses): summary and first page of 100 addresses in %s\n", ev.ID, thousands(int64(ev.Size)), summary.Round(time.Millisecond))
			return nil
		},
	}
	sf.register(c, true)
	return c
}

func newBenchNames() *cobra.Command {
	var dir string
	var asJSON bool
	var sample int
	c := &cobra.Command{
		Use:   "names --store DIR",
		Short: "Measure name screening on the imported lists: cross-list recall, perturbations, false positives, latency",
		Long: `Needs the UN list and the lists to compare imported (spur labels import
--format un-xml, eu-csv, uk-csv, ofac-sdn-csv, ...). Reports:
  - cross-list recall: each EU/UK/OFAC entry that carries a UN reference
    number, queried by name against the UN list alone, must find that entry
    first (recall@1, recall@3);
  - perturbations of the lists' own names (typos, dropped, swapped or joined
    tokens, legal-form and romanisation variants): recall@1 per list, entity
    type and kind, at the default threshold;
  - the false-positive rate on common names that are not listed;
  - latency p50/p99 per query over all imported lists, and the index's memory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openLabels(dir)
			if err != nil {
				return err
			}
			ls2 := s
			defer ls2.Close()
			bySource := map[string][]label.Entity{}
			var all []label.Entity
			err = s.Entities("", func(e label.Entity) error {
				bySource[e.Source] = append(bySource[e.Source], e)
				all = append(all, e)
				return nil
			})
			if err != nil {
				return err
			}
			if len(bySource["un"]) == 0 {
				return usagef("import the UN list first: spur labels import --store %s --format un-xml UN_consolidated.xml", dir)
			}
			out := map[string]any{}
			cross := map[string]names.Recall{}
			for src, es := range bySource {
				if src == "un" {
					continue
				}
				if r := names.CrossList(es, bySource["un"]); r.Queries > 0 {
					cross[src+"->un"] = r
				}
			}
			out["cross_list"] = cross
			perturb := map[string]names.PerturbResult{}
			for src, es := range bySource {
				perturb[src] = names.Perturb(es, sample, 1)
			}
			out["perturbations"] = perturb
			rate, tried, examples := names.FalsePositives(all, 2000, 1)
			out["false_positive_rate"], out["false_positive_queries"], out["false_positive_examples"] = rate, tried, examples

			var after runtime.MemStats
			start := time.Now()
			x := names.NewIndex(all)
			build := time.Since(start)
			runtime.GC()
			runtime.ReadMemStats(&after)
			var queries []string
			for i := 0; i < len(all) && len(queries) < 2000; i += max(1, len(all)/2000) {
				queries = append(queries, all[i].Name)
			}
			p50, p99 := names.Latency(x, queries)
			ne, nn := x.Size()
			// The same queries over the HTTP API, one per request, then in
			// batches of 1,000.
			srv := httptest.NewServer(api.New(api.Config{Labels: ls2, NoAuth: true, Rate: 1e9, Burst: 1 << 30}).Handler())
			defer srv.Close()
			var apiTimes []time.Duration
			post := func(body []byte) error {
				resp, err := http.Post(srv.URL+"/v1/names/screen", "application/json", bytes.NewReader(body))
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return fmt.Errorf("bench: names API: HTTP %d", resp.StatusCode)
				}
				return nil
			}
			warm, _ := json.Marshal(map[string]any{"queries": []names.Query{{Name: "warm up"}}})
			if err := post(warm); err != nil {
				return err
			}
			for _, q := range queries {
				body, _ := json.Marshal(map[string]any{"queries": []names.Query{{Name: q}}})
				t0 := time.Now()
				if err := post(body); err != nil {
					return err
				}
				apiTimes = append(apiTimes, time.Since(t0))
			}
			sort.Slice(apiTimes, func(i, j int) bool { return apiTimes[i] < apiTimes[j] })
			apiP50, apiP99 := apiTimes[len(apiTimes)/2], apiTimes[len(apiTimes)*99/100]
			var batch []names.Query
			for _, q := range queries[:min(1000, len(queries))] {
				batch = append(batch, names.Query{Name: q})
			}
			body, _ := json.Marshal(map[string]any{"queries": batch})
			t0 := time.Now()
			if err := post(body); err != nil {
				return err
			}
			batchTime := time.Since(t0)
			out["latency"] = map[string]any{"entries": ne, "names": nn, "queries": len(queries), "p50_us": p50.Microseconds(), "p99_us": p99.Microseconds(),
				"index_build_ms": build.Milliseconds(), "heap_mib": float64(after.HeapAlloc) / (1 << 20), "peak_rss_mib": peakRSSMiB(),
				"api_p50_us": apiP50.Microseconds(), "api_p99_us": apiP99.Microseconds(), "api_batch_1000_ms": batchTime.Milliseconds()}
			if asJSON {
				return printJSON(os.Stdout, out)
			}
			fmt.Println("cross-list: entries carrying a UN reference, queried against the UN list alone")
			t := newTable(os.Stdout)
			t.row("LISTS", "QUERIES", "RECALL@1", "RECALL@3")
			for _, k := range sortedKeys(cross) {
				t.row(k, cross[k].Queries, fmt.Sprintf("%.3f", cross[k].At1), fmt.Sprintf("%.3f", cross[k].At3))
			}
			t.flush()
			fmt.Println("\nperturbations of each list's own names, recall@1 at the default threshold")
			t = newTable(os.Stdout)
			t.row("LIST", "BY", "QUERIES", "RECALL@1")
			for _, src := range sortedKeys(perturb) {
				p := perturb[src]
				t.row(src, "all", p.All.Queries, fmt.Sprintf("%.3f", p.All.At1))
				for _, k := range sortedKeys(p.ByType) {
					t.row("", "type "+k, p.ByType[k].Queries, fmt.Sprintf("%.3f", p.ByType[k].At1))
				}
				for _, k := range sortedKeys(p.ByKind) {
					t.row("", k, p.ByKind[k].Queries, fmt.Sprintf("%.3f", p.ByKind[k].At1))
				}
			}
			t.flush()
			fmt.Printf("\nfalse positives: %.4f of %d common names not on the lists matched at the default threshold\n", rate, tried)
			fmt.Printf("latency over %d entries (%d names): p50 %s, p99 %s per query; index built in %s; live heap with the index %.0f MiB, peak RSS %.0f MiB\n",
				ne, nn, p50.Round(time.Microsecond), p99.Round(time.Microsecond), build.Round(time.Millisecond), float64(after.HeapAlloc)/(1<<20), peakRSSMiB())
			fmt.Printf("over the HTTP API (loopback, one query per request): p50 %s, p99 %s; a batch of %d queries in %s\n",
				apiP50.Round(time.Microsecond), apiP99.Round(time.Microsecond), len(batch), batchTime.Round(time.Millisecond))
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().IntVar(&sample, "sample", 500, "entries per list to perturb")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func newBenchScreen() *cobra.Command {
	var sf storeFlags
	var n, conc int
	var dur time.Duration
	var while []string
	var whileEVM string
	var recluster time.Duration
	c := &cobra.Command{
		Use:   "screen --store DIR",
		Short: "Load-test address screening over the HTTP API against a minimal handler's ceiling",
		Long: `Serves the store on loopback in this process and drives it with a load
generator sharing the machine: first a minimal net/http handler returning a
fixed 300-byte JSON body (the machine's HTTP ceiling), then single-address
screens (labels, entity, direct and indirect exposure, severity), each at
--concurrency for --duration, then batches of 1,000 addresses from one
client (the server screens a batch on every core), then single deposit
transactions spread over the store (direct exposure, and indirect: each
one's value traced back through it), then the same given whole (raw_tx, as
a node's mempool shows a deposit before its block; coinbases apart), and, where the store holds Ethereum,
single Ethereum addresses and deposit transactions (exposure in dollars). Reports requests/s,
p50/p99, errors and peak RSS.

With --while-ingesting PATH (blk files or a blocks directory holding blocks
past the store's tip) the server reads the store live, as spur serve
--follow-rpc does, and a last run screens single addresses while those
blocks are ingested and committed block by block in the same process.

With --while-ingesting-evm DIR (an ethereum-etl export holding blocks past the
store's Ethereum tip) the Ethereum store is opened for writing, as spur serve
--follow-evm does, and a last run screens single Ethereum addresses while
those blocks are appended and committed one by one.

With --recluster DUR a run screens single addresses while the clustering
is read again and put in force every DUR, as spur serve --cluster does after
each sync: what screening kept of the entities is dropped each time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if conc < 1 || n < 1 || dur <= 0 {
				return usagef("--concurrency and --addresses must be at least 1, --duration positive")
			}
			tuneGC(400, 4<<30) // as spur serve
			s, err := sf.openToWrite()
			if err != nil {
				return err
			}
			defer s.Close()
			labels, err := openLabels(sf.dir)
			if err != nil {
				return err
			}
			defer labels.Close()
			cfg := api.Config{Store: s, Labels: labels, NoAuth: true, Rate: 1e9, Burst: 1 << 30}
			if cfg.Clusters, err = cluster.Open(s); err != nil && !errors.Is(err, cluster.ErrNoClustering) {
				return err
			}
			if recluster > 0 && cfg.Clusters == nil {
				return fmt.Errorf("--recluster: %w", cluster.ErrNoClustering)
			}
			if len(while) > 0 {
				for _, p := range while {
					if _, err := os.Stat(p); err != nil {
						return fmt.Errorf("--while-ingesting: %w", err)
					}
				}
				if cfg.Live, err = s.Live(); err != nil {
					return err
				}
			}
			// Ethereum addresses too, where the store holds the chain.
			var whileSrc *evm.ETL
			if whileEVM != "" {
				if cfg.EVM, err = openEVM(&storeFlags{dir: sf.dir}, "eth", evmWrite); err != nil {
					return err
				}
				defer cfg.EVM.Close()
				cfg.EVMLive = true
				// Refused before the runs, not after them.
				if cfg.EVM.Counts().Addrs == 0 {
					return fmt.Errorf("%w: --while-ingesting-evm: the store holds no Ethereum addresses to screen", store.ErrNotFound)
				}
				if whileSrc, err = evm.OpenETL(whileEVM); err != nil {
					return err
				}
				defer whileSrc.Close()
			} else if cfg.EVM, err = openReportEVM(&storeFlags{dir: sf.dir}); err != nil {
				return err
			} else if cfg.EVM != nil {
				defer cfg.EVM.Close()
			}
			apiSrv := api.New(cfg)
			srv := httptest.NewServer(apiSrv.Handler())
			defer srv.Close()
			fixed := bytes.Repeat([]byte("x"), 300-len(`{"ok":""}`))
			fixed = append(append([]byte(`{"ok":"`), fixed...), `"}`...)
			minimal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Write(fixed)
			}))
			defer minimal.Close()

			// Addresses spread over the store.
			cnt := s.Counts()
			if cnt.Addrs == 0 {
				return errors.New("bench: screen: the store has no addresses")
			}
			var addrs []string
			for i := uint64(0); i < uint64(n); i++ {
				addrs = append(addrs, s.Address(uint32(i*cnt.Addrs/uint64(n))).String(s.Network()))
			}
			one := make([][]byte, len(addrs))
			for i, a := range addrs {
				one[i], _ = json.Marshal(map[string]any{"items": []map[string]string{{"address": a}}})
			}
			var items []map[string]string
			for i := range 1000 {
				items = append(items, map[string]string{"address": addrs[i%len(addrs)]})
			}
			batch, _ := json.Marshal(map[string]any{"items": items})
			// Deposits: transactions spread over the store, as many as
			// addresses, each screened with its direct and indirect
			// exposure (its value traced back through it).
			var deposits [][]byte
			for i := uint64(0); i < uint64(n) && cnt.Txs > 0; i++ {
				d, _ := json.Marshal(map[string]any{"items": []map[string]string{{"tx": s.TxID(i * cnt.Txs / uint64(n)).String(), "direction": "deposit"}}})
				deposits = append(deposits, d)
			}

			// The same transactions, coinbases apart, given whole (raw_tx)
			// as a node's mempool shows a deposit before its block.
			// (The first after each spot that is no coinbase: early
			// blocks hold little else.)
			var raws [][]byte
			for i, x := uint64(0), uint64(0); i < uint64(n) && x < cnt.Txs; i++ {
				for x = max(x, i*cnt.Txs/uint64(n)); x < cnt.Txs; x++ {
					if r, ok := rawTxOf(s, x); ok {
						d, _ := json.Marshal(map[string]any{"items": []map[string]string{{"raw_tx": r, "direction": "deposit"}}})
						raws = append(raws, d)
						x++
						break
					}
				}
			}

			base := loadRun(minimal.URL, [][]byte{[]byte(`{}`)}, conc, dur, nil)
			single := loadRun(srv.URL+"/v1/screen", one, conc, dur, nil)
			batches := loadRun(srv.URL+"/v1/screen", [][]byte{batch}, 1, dur, nil)
			txs := loadRun(srv.URL+"/v1/screen", deposits, conc, dur, nil)
			runs := []screenRun{{"minimal handler (300-byte JSON)", conc, base}, {"screen, 1 address", conc, single}, {"screen, 1000 addresses", 1, batches}, {"screen, 1 deposit transaction", conc, txs}}
			var rawRun *loadResult
			if len(raws) > 0 {
				l := loadRun(srv.URL+"/v1/screen", raws, conc, dur, nil)
				rawRun = &l
				runs = append(runs, screenRun{"screen, 1 deposit transaction, whole (raw_tx)", conc, l})
			}
			// Ethereum addresses spread over its store: labels, and direct
			// and indirect exposure in dollars.
			var ethRun, ethTxRun *loadResult
			var eth [][]byte
			if es := cfg.EVM; es != nil && es.Counts().Addrs > 0 {
				for i := uint64(0); i < uint64(n); i++ {
					a := es.Address(uint32(i * es.Counts().Addrs / uint64(n))).Hex()
					d, _ := json.Marshal(map[string]any{"items": []map[string]string{{"address": a, "chain": "eth"}}})
					eth = append(eth, d)
				}
				l := loadRun(srv.URL+"/v1/screen", eth, conc, dur, nil)
				ethRun = &l
				runs = append(runs, screenRun{"screen, 1 Ethereum address", conc, l})
				if nt := es.Counts().Txs; nt > 0 {
					var ethTxs [][]byte
					for i := uint64(0); i < uint64(n); i++ {
						d, _ := json.Marshal(map[string]any{"items": []map[string]string{{"tx": es.Tx(uint32(i * nt / uint64(n))).Hash.Hex(), "direction": "deposit"}}})
						ethTxs = append(ethTxs, d)
					}
					l := loadRun(srv.URL+"/v1/screen", ethTxs, conc, dur, nil)
					ethTxRun = &l
					runs = append(runs, screenRun{"screen, 1 Ethereum deposit transaction", conc, l})
				}
			}
			// The clustering replaced as spur serve --cluster replaces it
			// after each sync (read again and put in force; what screening
			// kept of the entities dropped), every recluster.
			var reclustered *loadResult
			if recluster > 0 {
				stop, done := make(chan struct{}), make(chan error)
				go func() {
					t := time.NewTicker(recluster)
					defer t.Stop()
					for {
						select {
						case <-stop:
							done <- nil
							return
						case <-t.C:
						}
						c, err := cluster.Open(s)
						if err != nil {
							<-stop
							done <- err
							return
						}
						apiSrv.ClusteringChanged(c)
					}
				}()
				l := loadRun(srv.URL+"/v1/screen", one, conc, dur, nil)
				close(stop)
				if err := <-done; err != nil {
					return fmt.Errorf("bench: screen: --recluster: %w", err)
				}
				reclustered = &l
				runs = append(runs, screenRun{fmt.Sprintf("screen, 1 address, clustering replaced every %s", recluster), conc, l})
			}
			var ing *ingestDuring
			if len(while) > 0 {
				ing = &ingestDuring{From: s.Height()}
				if err := ing.run(srv.URL+"/v1/screen", one, conc, func() error {
					_, err := ingest.Files(cmd.Context(), s, while, ingest.Options{CommitEvery: 1, Workers: 1})
					return err
				}); err != nil {
					return fmt.Errorf("bench: screen: ingest during the run: %w", err)
				}
				ing.To = s.Height()
				l := ing.Screen
				runs = append(runs, screenRun{"screen, 1 address, while ingesting", conc, l})
			}
			var ingEVM *ingestDuring
			if whileSrc != nil {
				src := whileSrc
				es := cfg.EVM
				n, _, _ := es.Tip()
				ingEVM = &ingestDuring{From: int64(n)}
				if err := ingEVM.run(srv.URL+"/v1/screen", eth, conc, func() error {
					_, err := ingest.EVMStream(cmd.Context(), es, src.Next, ingest.Options{CommitEvery: 1})
					return err
				}); err != nil {
					return fmt.Errorf("bench: screen: Ethereum ingest during the run: %w", err)
				}
				n, _, _ = es.Tip()
				ingEVM.To = int64(n)
				runs = append(runs, screenRun{"screen, 1 Ethereum address, while ingesting", conc, ingEVM.Screen})
			}
			rss := peakRSSMiB()
			if sf.json {
				return printJSON(os.Stdout, map[string]any{"addresses": len(addrs), "concurrency": conc, "duration_s": dur.Seconds(),
					"baseline": base, "single": single, "batch_1000": batches, "deposit_tx": txs, "deposit_raw_tx": rawRun, "eth_address": ethRun, "eth_deposit_tx": ethTxRun,
					"while_ingesting": ing, "while_ingesting_evm": ingEVM, "reclustered": reclustered, "peak_rss_mib": rss})
			}
			fmt.Printf("loopback, load generator in the same process, %d addresses and %d transactions, %s per run\n", len(addrs), len(deposits), dur)
			t := newTable(os.Stdout)
			t.row("RUN", "CONCURRENCY", "REQUESTS", "REQ/S", "P50", "P99", "ERRORS")
			for _, r := range runs {
				t.row(r.name, r.conc, r.l.Requests, fmt.Sprintf("%.0f", r.l.PerSecond), time.Duration(r.l.P50us)*time.Microsecond, time.Duration(r.l.P99us)*time.Microsecond, r.l.Errors)
			}
			t.flush()
			fmt.Printf("single screens at %.0f%% of the ceiling; peak RSS %.0f MiB\n", 100*single.PerSecond/base.PerSecond, rss)
			failed := single.Errors + batches.Errors + base.Errors + txs.Errors
			for _, r := range []*loadResult{rawRun, ethRun, ethTxRun, reclustered} {
				if r != nil {
					failed += r.Errors
				}
			}
			if ing != nil {
				fmt.Printf("while ingesting: blocks %d to %d committed one by one in %.1fs, the last run lasting as long\n", ing.From+1, ing.To, ing.Seconds)
				failed += ing.Screen.Errors
			}
			if ingEVM != nil {
				fmt.Printf("while ingesting Ethereum: blocks %d to %d committed one by one in %.1fs, the last run lasting as long\n", ingEVM.From+1, ingEVM.To, ingEVM.Seconds)
				failed += ingEVM.Screen.Errors
			}
			if failed > 0 {
				return fmt.Errorf("bench: screen: %d requests failed", failed)
			}
			return nil
		},
	}
	sf.register(c, true)
	c.Flags().IntVar(&n, "addresses", 5000, "distinct addresses to screen, spread over the store")
	c.Flags().IntVar(&conc, "concurrency", 32, "concurrent requests")
	c.Flags().DurationVar(&dur, "duration", 10*time.Second, "length of each run (60s for a soak)")
	c.Flags().StringSliceVar(&while, "while-ingesting", nil, "blk files or blocks directory to ingest during a last run")
	c.Flags().StringVar(&whileEVM, "while-ingesting-evm", "", "ethereum-etl export of blocks past the store's Ethereum tip, to ingest during a last run")
	c.Flags().DurationVar(&recluster, "recluster", 0, "also a run with the clustering read again and put in force at this interval, as spur serve --cluster does after each sync")
	return c
}

// rawTxOf writes stored transaction n as a raw_tx to screen: the coins
// its inputs spend and its outputs' values to their addresses (one without
// an address as an OP_RETURN), what a node shows of it before its block,
// less the signatures, which screening does not read; false for a
// coinbase, which spends no coins.
func rawTxOf(s *store.Store, n uint64) (string, bool) {
	firstIn, numIn, firstOut, numOut := s.TxRange(n)
	tx := btc.Tx{}
	tx.Version, tx.LockTime = s.TxVersion(n)
	for i := firstIn; i < firstIn+numIn; i++ {
		p := s.InputSpends(i)
		if p == store.NoOutput {
			return "", false
		}
		ptx, vout := s.TxOfOutput(p)
		tx.Inputs = append(tx.Inputs, btc.TxIn{PrevTxID: s.TxID(ptx), PrevIndex: vout, Sequence: 0xffffffff})
	}
	for o := firstOut; o < firstOut+numOut; o++ {
		v, _ := s.OutValue(o)
		script := []byte{0x6a}
		if a := s.OutAddr(o); a != store.NoAddress {
			script = s.Address(a).Script()
		}
		tx.Outputs = append(tx.Outputs, btc.TxOut{Value: v, Script: script})
	}
	return hex.EncodeToString(btc.AppendTx(nil, &tx)), true
}

// screenRun is one run of spur bench screen, as its table shows it.
type screenRun struct {
	name string
	conc int
	l    loadResult
}

// ingestDuring is what an ingest did during a screening run.
type ingestDuring struct {
	From    int64      `json:"from_height"`
	To      int64      `json:"to_height"`
	Seconds float64    `json:"seconds"` // the ingest, and so the run
	Screen  loadResult `json:"screen"`
}

// run screens bodies at conc for exactly as long as ingest takes, which it
// runs meanwhile.
func (d *ingestDuring) run(url string, bodies [][]byte, conc int, ingest func() error) error {
	ended := make(chan struct{})
	var err error
	start := time.Now()
	go func() {
		err = ingest()
		d.Seconds = time.Since(start).Seconds()
		close(ended)
	}()
	d.Screen = loadRun(url, bodies, conc, 0, ended)
	<-ended
	return err
}

type loadResult struct {
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	PerSecond float64 `json:"requests_per_s"`
	P50us     int64   `json:"p50_us"`
	P99us     int64   `json:"p99_us"`
}

// loadRun posts the bodies round-robin from conc workers over kept-alive
// connections for dur, and on until until is closed if it is not nil; a
// non-200 answer counts as an error.
func loadRun(url string, bodies [][]byte, conc int, dur time.Duration, until <-chan struct{}) loadResult {
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	lats := make([][]time.Duration, conc)
	errs := make([]int, conc)
	start := time.Now()
	deadline := start.Add(dur)
	running := func() bool {
		if time.Now().Before(deadline) {
			return true
		}
		if until == nil {
			return false
		}
		select {
		case <-until:
			return false
		default:
			return true
		}
	}
	var wg sync.WaitGroup
	for k := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker sends one request at least: a run that lasts as
			// long as a short ingest still measures something.
			for i := k; i == k || running(); i += conc {
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(bodies[i%len(bodies)]))
				if err != nil {
					errs[k]++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs[k]++
					continue
				}
				lats[k] = append(lats[k], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	r := loadResult{}
	for k := range conc {
		all = append(all, lats[k]...)
		r.Errors += errs[k]
	}
	r.Requests = len(all) + r.Errors
	if len(all) > 0 {
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		r.P50us = all[len(all)/2].Microseconds()
		r.P99us = all[len(all)*99/100].Microseconds()
	}
	r.PerSecond = float64(len(all)) / elapsed.Seconds()
	return r
}
