package evm

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/params"
)

// TestGenesisAlloc: mainnet's genesis allocations are its 72,009,990.49948
// ether (the supply at genesis, as block explorers give it) over 8,891 of
// the 8,893 accounts of its genesis (two hold nothing), in address order;
// a hash that is not the chain's genesis (a dev chain's, another chain's)
// gets none.
func TestGenesisAlloc(t *testing.T) {
	a := GenesisAlloc(1, params.MainnetGenesisHash)
	sum := new(big.Int)
	for i, tr := range a {
		if tr.Type != "genesis" || tr.TxIndex != -1 || tr.Value.IsZero() {
			t.Fatalf("allocation %d: %+v", i, tr)
		}
		if i > 0 && string(a[i-1].To[:]) >= string(tr.To[:]) {
			t.Fatalf("allocations out of order at %d", i)
		}
		sum.Add(sum, tr.Value.ToBig())
	}
	want, _ := new(big.Int).SetString("72009990499480000000000000", 10)
	if len(a) != 8891 || sum.Cmp(want) != 0 || len(core.DefaultGenesisBlock().Alloc) != 8893 {
		t.Fatalf("%d allocations of %v wei, want 8891 of %v", len(a), sum, want)
	}
	for _, c := range []struct {
		chain uint64
		hash  common.Hash
	}{
		{1, params.SepoliaGenesisHash},
		{11155111, params.MainnetGenesisHash},
		{1337, common.HexToHash("0x01")},
		{17000, common.HexToHash("0xb5f7f912443c940f21fd611f12828d75b534364ed9e95ca4e307729a4661bde4")},
	} {
		if got := GenesisAlloc(c.chain, c.hash); got != nil {
			t.Errorf("chain %d, block %s: %d allocations", c.chain, c.hash, len(got))
		}
	}
}
