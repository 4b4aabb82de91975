// Package testchain helps tests build Bitcoin blocks of their own on top
// of a store's real ones.
package testchain

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/store"
)

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
	_, here, _, _ := runtime.Caller(0)
	blocks := filepath.Join(filepath.Dir(here), "..", "..", "testdata", "btc", "blk_0_to_14131.dat.bz2")
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
