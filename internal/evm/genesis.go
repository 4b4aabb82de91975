package evm

import (
	"bytes"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// GenesisAlloc returns the allocations of a chain's genesis state as
// genesis traces (ethereum-etl's "genesis" type), for block 0 of a source
// that does not give them: era1 archives and nodes hold the genesis block
// but not the state it begins with, and without it every account funded at
// genesis (mainnet's 8,891) would be seen spending ether it never received.
// The allocations are go-ethereum's, for the chains it ships a genesis of
// (mainnet, Sepolia), and only for the block whose hash is that genesis's;
// nil otherwise (another chain, a dev chain's own genesis). Ordered by
// address.
func GenesisAlloc(chainID uint64, hash common.Hash) []Trace {
	var g *core.Genesis
	switch {
	case chainID == params.MainnetChainConfig.ChainID.Uint64() && hash == params.MainnetGenesisHash:
		g = core.DefaultGenesisBlock()
	case chainID == params.SepoliaChainConfig.ChainID.Uint64() && hash == params.SepoliaGenesisHash:
		g = core.DefaultSepoliaGenesisBlock()
	default:
		return nil
	}
	out := make([]Trace, 0, len(g.Alloc))
	for addr, acct := range g.Alloc {
		if acct.Balance == nil || acct.Balance.Sign() == 0 {
			continue
		}
		v, overflow := uint256.FromBig(acct.Balance)
		if overflow {
			continue // no chain spur knows allocates 2^256 wei
		}
		out = append(out, Trace{TxIndex: -1, To: addr, Value: *v, Type: "genesis"})
	}
	slices.SortFunc(out, func(a, b Trace) int { return bytes.Compare(a.To[:], b.To[:]) })
	return out
}
