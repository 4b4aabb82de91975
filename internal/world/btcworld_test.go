package world

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/store"
)

// TestWorld generates a small dprk-2021 world, ingests its chain, and checks
// the truth against the store: every address and CoinJoin it names is on
// chain, and each incident's theft and deposits are there.
func TestWorld(t *testing.T) {
	dir := t.TempDir()
	truth, err := Generate(dir, Options{Seed: 3, Scale: 60, Blocks: 320, Scenario: "dprk-2021"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"truth.json", "incidents.yaml", "prices.csv", "labels/services.yaml", "btc/blocks/blk00000.dat"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	net, _ := btc.LookupNetwork("regtest")
	s, err := store.Open(filepath.Join(t.TempDir(), "btc"), store.Options{Network: net})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := ingest.Files(context.Background(), s, []string{filepath.Join(dir, "btc", "blocks")}, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Height != 320 || int(st.Txs) != truth.Stats["txs"].(int) {
		t.Fatalf("ingested %+v, truth says %v txs", st, truth.Stats["txs"])
	}
	// The owners are in truth.json only.
	tb, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var full Truth
	if err := json.Unmarshal(tb, &full); err != nil {
		t.Fatal(err)
	}
	if len(full.Addresses) == 0 || len(full.Addresses) != truth.Stats["addresses"].(int) || len(full.EVMAddresses) != truth.Stats["evm_addresses"].(int) {
		t.Fatalf("truth.json has %d addresses and %d EVM addresses; stats %v", len(full.Addresses), len(full.EVMAddresses), truth.Stats)
	}
	for a := range full.Addresses {
		pa, err := btc.ParseAddress(a, net)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddrNum(pa); err != nil {
			t.Fatalf("truth address %s: %v", a, err)
		}
	}
	mixes := 0
	for _, inc := range truth.Incidents {
		for _, ref := range inc.TheftTxs {
			h, _ := btc.ParseHash(ref[:64])
			if _, err := s.TxNum(h); err != nil {
				t.Fatalf("theft %s: %v", ref, err)
			}
		}
	}
	for id, kind := range truth.CoinJoins {
		h, _ := btc.ParseHash(id)
		if _, err := s.TxNum(h); err != nil {
			t.Fatalf("coinjoin %s: %v", id, err)
		}
		if kind == "whirlpool" {
			mixes++
		}
	}
	if mixes == 0 {
		t.Fatal("no Whirlpool mixes in the world")
	}
	stolen := 0
	for _, inc := range truth.Incidents {
		if len(inc.TheftTxs) == 0 {
			continue
		}
		stolen++
		deposits := 0
		for _, st := range inc.Steps {
			if st.Kind == "deposit" {
				deposits++
			}
		}
		if deposits == 0 {
			t.Errorf("%s: no deposits", inc.ID)
		}
	}
	if stolen < 5 {
		t.Fatalf("only %d incidents happened", stolen)
	}
	// btcd decodes every block of the world's files to the same txids.
	files, err := btc.OpenBlockPaths([]string{filepath.Join(dir, "btc", "blocks")}, net)
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	for _, f := range files {
		refs, err := f.Scan(net)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			raw, err := r.Read(nil)
			if err != nil {
				t.Fatal(err)
			}
			var mb wire.MsgBlock
			if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
				t.Fatalf("btcd refuses %s: %v", r, err)
			}
			ours, err := btc.DecodeBlock(raw)
			if err != nil {
				t.Fatal(err)
			}
			for i, tx := range mb.Transactions {
				if tx.TxHash() != ours.Txs[i].TxID || tx.WitnessHash() != ours.Txs[i].WTxID {
					t.Fatalf("block %s tx %d: btcd %s, spur %s", r.Hash, i, tx.TxHash(), ours.Txs[i].TxID)
				}
			}
			blocks++
		}
		f.Close()
	}
	if blocks != 321 {
		t.Fatalf("%d blocks decoded by btcd, want 321", blocks)
	}
	// Same seed, same bytes.
	dir2 := t.TempDir()
	if _, err := Generate(dir2, Options{Seed: 3, Scale: 60, Blocks: 320, Scenario: "dprk-2021"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"btc/blocks/blk00000.dat", "truth.json", "incidents.yaml"} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, _ := os.ReadFile(filepath.Join(dir2, f))
		if string(a) != string(b) {
			t.Fatalf("%s differs between two runs with the same seed", f)
		}
	}
	var back Truth
	b, _ := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err := json.Unmarshal(b, &back); err != nil || len(back.Addresses) != truth.Stats["addresses"].(int) {
		t.Fatalf("truth.json does not read back: %v", err)
	}
}

// TestWorldReplaced: a world generated where one was replaces it whole (an
// obfuscated world's xor.dat does not stay to garble a plain one's blocks);
// a directory holding other files is refused and left as it was.
func TestWorldReplaced(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(dir, Options{Seed: 3, Scale: 10, Blocks: 300, XorKey: []byte{1, 2, 3, 4, 5, 6, 7, 8}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "btc", "blocks", "xor.dat")); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, Options{Seed: 3, Scale: 10, Blocks: 300}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "btc", "blocks", "xor.dat")); err == nil {
		t.Fatal("the obfuscated world's xor.dat stayed")
	}
	net, _ := btc.LookupNetwork("regtest")
	s, err := store.Open(filepath.Join(t.TempDir(), "btc"), store.Options{Network: net})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := ingest.Files(context.Background(), s, []string{filepath.Join(dir, "btc", "blocks")}, ingest.Options{}); err != nil {
		t.Fatalf("the plain world: %v", err)
	}

	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	if _, err := Generate(other, Options{Seed: 3, Scale: 10, Blocks: 300}); err == nil {
		t.Fatal("a directory of other files was written over")
	}
	if entries, _ := os.ReadDir(other); len(entries) != 1 {
		t.Fatalf("the refused directory now holds %d entries", len(entries))
	}
}
