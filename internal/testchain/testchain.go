// Package testchain gives tests stores of the repository's real blocks
// (Bitcoin's and Ethereum's), and helps them build Bitcoin blocks of their
// own on top of a store's real ones.
package testchain

import (
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/store"
)

// testdata is the repository's testdata directory.
func testdata(parts ...string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(here), "..", "..", "testdata"}, parts...)...)
}

// MainnetBlocks returns mainnet's blocks 0..14131 from the repository's
// testdata, each as serialized, without their blk-file framing.
func MainnetBlocks(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open(testdata("btc", "blk_0_to_14131.dat.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]byte
	for len(raw) >= 8 && bytes.Equal(raw[:4], btc.Main.Magic[:]) {
		size := binary.LittleEndian.Uint32(raw[4:])
		blocks, raw = append(blocks, raw[8:8+size]), raw[8+size:]
	}
	return blocks
}

// Ethereum opens an Ethereum store in dir holding mainnet blocks 17173049
// and 17173050, ingested from their ethereum-etl export in the
// repository's testdata, closed when the test ends.
func Ethereum(t testing.TB, dir string) *evmstore.Store {
	t.Helper()
	es, err := evmstore.Open(dir, "eth")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	src, err := evm.OpenETL(testdata("evm", "etl-17173049"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := ingest.EVMStream(context.Background(), es, src.Next, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	return es
}

// Mainnet opens a store in dir holding mainnet's blocks 0..height, from the
// repository's testdata (each of the first blocks a coinbase of 50 BTC to
// a miner of its own), closed when the test ends.
func Mainnet(t testing.TB, dir string, height int64) *store.Store {
	t.Helper()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	blocks := testdata("btc", "blk_0_to_14131.dat.bz2")
	if _, err := ingest.Files(context.Background(), s, []string{blocks}, ingest.Options{StopHeight: height}); err != nil {
		t.Fatal(err)
	}
	return s
}

// Mine appends a block of txs on the store's tip and commits it: a
// coinbase paying 50 BTC to a null-data output comes first, and each
// transaction is decoded from its bytes, so that its txid is the one it
// has. The block's time is 2009-01-09, after the early mainnet blocks the
// tests build on. It returns the block as serialized.
func Mine(t testing.TB, s *store.Store, txs ...btc.Tx) []byte {
	t.Helper()
	height := s.Height() + 1
	cb := btc.Tx{Version: 1, Inputs: []btc.TxIn{{PrevIndex: 0xffffffff, ScriptSig: []byte{4, byte(height), byte(height >> 8), byte(height >> 16), 0}, Sequence: 0xffffffff}},
		Outputs: []btc.TxOut{{Value: 50_0000_0000, Script: []byte{0x6a}}}}
	all := append([]btc.Tx{cb}, txs...)
	for i := range all {
		d, err := btc.DecodeTx(btc.AppendTx(nil, &all[i]))
		if err != nil {
			t.Fatal(err)
		}
		all[i] = *d
	}
	h := btc.Header{Version: 1, Prev: s.TipHash(), MerkleRoot: btc.MerkleRoot(all), Time: 1231472000, Bits: 0x1d00ffff}
	raw := btc.AppendBlock(nil, &h, all)
	b, err := btc.DecodeBlock(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendBlock(store.Prepare(b)); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	return raw
}
