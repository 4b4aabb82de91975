package evm

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus"
	"github.com/ethereum/go-ethereum/consensus/ethash"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// powChains are the chains whose blocks before the merge were mined with
// proof of work, by chain id: their blocks paid the miner (and the miners
// of the uncles they include) by the chain's rules, credits no transaction
// and no era1 archive records.
var powChains = map[uint64]*params.ChainConfig{1: params.MainnetChainConfig, 11155111: params.SepoliaChainConfig}

// MiningRewards returns the credits a proof-of-work block of the chain
// paid (reward traces, as trace_block gives them): nothing for a block of
// proof of stake (difficulty 0) or of another chain, nor for the genesis
// block, which no one mined (its state is its allocations). The rules are
// go-ethereum's own: its ethash engine credits them, to a state that only
// records what it is given.
func MiningRewards(chainID uint64, h *types.Header, uncles []*types.Header) []Trace {
	cfg, ok := powChains[chainID]
	if !ok || h.Difficulty == nil || h.Difficulty.Sign() == 0 || h.Number == nil || h.Number.Sign() == 0 {
		return nil
	}
	st := &creditLog{}
	ethash.NewFaker().Finalize(chainOf{cfg: cfg}, h, st, &types.Body{Uncles: uncles})
	return st.credits
}

// creditLog is the state the engine credits rewards to; it does nothing
// else (its other methods are never called).
type creditLog struct {
	vm.StateDB
	credits []Trace
}

func (c *creditLog) AddBalance(a common.Address, v *uint256.Int, why tracing.BalanceChangeReason) uint256.Int {
	kind := "block"
	if why == tracing.BalanceIncreaseRewardMineUncle {
		kind = "uncle"
	}
	c.credits = append(c.credits, Trace{TxIndex: NoTx, To: a, Value: *v, Type: "reward", RewardType: kind})
	return uint256.Int{}
}

// chainOf gives the engine the chain's rules, the one thing it asks.
type chainOf struct {
	consensus.ChainHeaderReader
	cfg *params.ChainConfig
}

func (c chainOf) Config() *params.ChainConfig { return c.cfg }
