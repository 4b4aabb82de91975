package export

import (
	"context"
	"io"
	"testing"

	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testchain"
)

// countingWriter counts the bytes an export writes.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)

// BenchmarkExport times each Bitcoin table of mainnet's blocks 0..14131
// in each format against the same rows read from the store and dropped
// (Discard): what each format's writing costs over the reading.
func BenchmarkExport(b *testing.B) {
	s := testchain.Mainnet(b, b.TempDir(), 14131)
	for _, table := range BTCTables {
		for _, f := range []Format{Discard, CSV, JSON, Parquet} {
			b.Run(table+"/"+string(f), func(b *testing.B) {
				benchExport(b, s, table, f)
			})
		}
	}
}

func benchExport(b *testing.B, s *store.Store, table string, f Format) {
	var rows int64
	var w countingWriter
	for b.Loop() {
		n, err := BTC(context.Background(), s, table, &w, Options{Format: f, Range: Range{0, s.Height()}})
		if err != nil {
			b.Fatal(err)
		}
		rows = n
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(w.n)/float64(b.N)/float64(rows), "B/row")
}
