package btc

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/wire"
)

// The decode benchmarks run spur's decoder and btcd's over the same real
// segwit-era block; compare them with benchstat or side by side.

func BenchmarkDecodeBlock702861(b *testing.B) {
	raw := readBz2(b, "block_702861.raw.bz2")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := DecodeBlock(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBtcdDecodeBlock702861 is the baseline: btcd's wire decoding plus
// TxHash and WitnessHash of every transaction, which is what DecodeBlock
// computes (it also checks the merkle root).
func BenchmarkBtcdDecodeBlock702861(b *testing.B) {
	raw := readBz2(b, "block_702861.raw.bz2")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
		for _, tx := range mb.Transactions {
			_ = tx.TxHash()
			_ = tx.WitnessHash()
		}
	}
}

func BenchmarkDecodeMainnet14132(b *testing.B) {
	blocks := framedBlocks(b, "blk_0_to_14131.dat.bz2")
	n := 0
	for _, r := range blocks {
		n += len(r)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, r := range blocks {
			if _, err := DecodeBlock(r); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkBtcdDecodeMainnet14132(b *testing.B) {
	blocks := framedBlocks(b, "blk_0_to_14131.dat.bz2")
	n := 0
	for _, r := range blocks {
		n += len(r)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, r := range blocks {
			var mb wire.MsgBlock
			if err := mb.Deserialize(bytes.NewReader(r)); err != nil {
				b.Fatal(err)
			}
			for _, tx := range mb.Transactions {
				_ = tx.TxHash()
			}
		}
	}
}
