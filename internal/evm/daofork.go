package evm

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/params"
)

// DAOFork gives the DAO fork of a chain: the block at which its
// irregular state change moved the ether of the DAO and its child DAOs
// (go-ethereum's drain list, 116 accounts) to the refund contract, and
// those accounts; ok is false for a chain without it. Only mainnet took
// the fork (Ethereum Classic, which did not, has another chain id).
func DAOFork(chainID uint64) (block uint64, drain []common.Address, refund common.Address, ok bool) {
	c := params.MainnetChainConfig
	if chainID != c.ChainID.Uint64() || c.DAOForkBlock == nil || !c.DAOForkSupport {
		return 0, nil, common.Address{}, false
	}
	return c.DAOForkBlock.Uint64(), params.DAODrainList(), params.DAORefundContract, true
}
