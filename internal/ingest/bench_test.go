package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/store"
)

// plainSample writes the shipped mainnet sample decompressed, so that the
// benchmark reads plain bytes as ingest of real blk files does.
func plainSample(b *testing.B) string {
	b.Helper()
	files, err := btc.OpenBlockPaths([]string{sample("blk_0_to_14131.dat.bz2")}, btc.Main)
	if err != nil {
		b.Fatal(err)
	}
	raw := make([]byte, files[0].Size())
	if err := files[0].ReadAt(raw, 0); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "blk00000.dat")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	return p
}

// BenchmarkIngestMainnet14132 is a full ingest of mainnet blocks 0..14131
// into a fresh store (decode, hash, store, index, spend linkage, commit).
func BenchmarkIngestMainnet14132(b *testing.B) {
	p := plainSample(b)
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		s, err := store.Open(dir, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Files(context.Background(), s, []string{p}, Options{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		os.RemoveAll(dir)
		b.StartTimer()
	}
}
