package graph

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/spur-forensics/spur/internal/trace"
)

// benchTrace is a forward trace of a peel chain fanning out: 50,000
// transactions of three outputs each, every output but the unspent ones
// spent by the next, as a haircut trace of a busy theft gives.
func benchTrace() *trace.Result {
	res := &trace.Result{Model: "haircut", Start: 1e12}
	txid := func(n int) string { return fmt.Sprintf("%064x", n) }
	addr := func(n, o int) string { return fmt.Sprintf("bc1q%038x", n*3+o) }
	res.Starts = []trace.Flow{{Tx: txid(0), To: addr(0, 0), Asset: "BTC", Amount: 1e12, Link: "exact", SpentBy: txid(1)}}
	for n := 1; n <= 50_000; n++ {
		for o := range 3 {
			f := trace.Flow{Chain: "btc", Tx: txid(n), From: addr(n-1, 0), To: addr(n, o), Asset: "BTC", Amount: int64(1e12 / (n + o)), Hop: n, Link: "exact"}
			if o == 0 && n < 50_000 {
				f.SpentBy = txid(n + 1)
			} else {
				res.Destinations = append(res.Destinations, trace.Destination{Address: f.To, Category: "unspent", Amount: f.Amount})
			}
			res.Flows = append(res.Flows, f)
		}
	}
	return res
}

// BenchmarkGraph draws a trace of 150,000 flows as DOT, GraphML and SVG, beside
// encoding the same trace as JSON (what --format json prints), the
// baseline.
func BenchmarkGraph(b *testing.B) {
	res := benchTrace()
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if err := json.NewEncoder(io.Discard).Encode(res); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dot", func(b *testing.B) {
		for b.Loop() {
			if err := FromBTC(res, false, "t", func(sat int64) float64 { return float64(sat) / 1e8 * 45000 }).WriteDOT(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("graphml", func(b *testing.B) {
		for b.Loop() {
			if err := FromBTC(res, false, "t", func(sat int64) float64 { return float64(sat) / 1e8 * 45000 }).WriteGraphML(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("svg", func(b *testing.B) {
		for b.Loop() {
			if err := FromBTC(res, false, "t", func(sat int64) float64 { return float64(sat) / 1e8 * 45000 }).WriteSVG(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
}
