package btc

import (
	"slices"
	"testing"
)

// TestIsChain: the chain names of Bitcoin Core's and btcd's
// getblockchaininfo match the network they name, and no other.
func TestIsChain(t *testing.T) {
	for _, c := range []struct {
		network string
		yes     []string
	}{
		{"main", []string{"main", "mainnet"}},
		{"test", []string{"test", "testnet3"}},
		{"testnet4", []string{"testnet4"}},
		{"signet", []string{"signet"}},
		{"regtest", []string{"regtest"}},
		{"simnet", []string{"simnet"}},
	} {
		n, err := LookupNetwork(c.network)
		if err != nil {
			t.Fatal(err)
		}
		for _, chain := range []string{"main", "mainnet", "test", "testnet3", "testnet4", "signet", "regtest", "simnet", "", "Main"} {
			if got, want := n.IsChain(chain), slices.Contains(c.yes, chain); got != want {
				t.Errorf("network %s, chain %q: %v, want %v", c.network, chain, got, want)
			}
		}
	}
}
