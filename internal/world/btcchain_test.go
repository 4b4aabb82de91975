package world

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/store"
)

func TestRegtestGenesis(t *testing.T) {
	net, _ := btc.LookupNetwork("regtest")
	if got := btc.BlockHash(RegtestGenesis()); got != net.Genesis {
		t.Fatalf("regtest genesis %s, want %s", got, net.Genesis)
	}
}

// TestChainIngests writes a small chain twice (same seed: same bytes) and
// ingests it, obfuscated with an xor key.
func TestChainIngests(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	o := ChainOptions{Seed: 7, Blocks: 120, TxsPerBlock: 40, FileSize: 256 << 10, XorKey: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	n1, err := WriteChain(a, o)
	if err != nil {
		t.Fatal(err)
	}
	n2, _ := WriteChain(b, o)
	if n1 != n2 {
		t.Fatal("not deterministic")
	}
	fa, _ := btc.OpenBlockPaths([]string{a}, mustNet(t))
	fb, _ := btc.OpenBlockPaths([]string{b}, mustNet(t))
	if len(fa) < 2 || len(fa) != len(fb) {
		t.Fatalf("%d and %d files", len(fa), len(fb))
	}
	for i := range fa {
		x, y := make([]byte, fa[i].Size()), make([]byte, fb[i].Size())
		fa[i].ReadAt(x, 0)
		fb[i].ReadAt(y, 0)
		if !bytes.Equal(x, y) {
			t.Fatalf("file %d differs between runs", i)
		}
	}
	s, err := store.Open(t.TempDir(), store.Options{Network: mustNet(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := ingest.Files(context.Background(), s, []string{a}, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Height != 120 || int(st.Txs) != n1 {
		t.Fatalf("ingested %+v, want %d txs", st, n1)
	}
}

func mustNet(t *testing.T) *btc.Network {
	n, err := btc.LookupNetwork("regtest")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChainRefusesOversizedBlocks: a chain whose blocks would be more than
// a block can be is refused, not written for the ingest to call corrupt.
func TestChainRefusesOversizedBlocks(t *testing.T) {
	_, err := WriteChain(t.TempDir(), ChainOptions{Seed: 1, Blocks: 4, TxsPerBlock: 20000})
	if err == nil || !strings.Contains(err.Error(), "more than a block can be") {
		t.Fatalf("got %v, want a refusal of the block's size", err)
	}
}
