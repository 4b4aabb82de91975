// Package evm reads account-model (EVM) chains: blocks, transactions,
// receipts' logs and internal calls, from a node's JSON-RPC, era1 archives or
// an ethereum-etl CSV export, into one Block shape; and turns a block into
// value transfers (native ETH and ERC-20) and the derived events spur
// traces through (DEX swaps, mixer deposits and withdrawals).
//
// It knows nothing of the store. Addresses and hashes are go-ethereum's
// common types (Hex() prints EIP-55); amounts are uint256 in base units.
package evm

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// Block is one block with what spur needs of its transactions.
type Block struct {
	Number  uint64
	Hash    common.Hash
	Parent  common.Hash
	Time    uint64 // unix seconds
	Miner   common.Address
	BaseFee *uint256.Int // nil before London
	Txs     []Tx
	Logs    []Log   // every log of the block, in log index order
	Traces  []Trace // nil when the source has no internal calls
	// Rewards are a proof-of-work block's mining rewards where the source
	// gives no reward traces (era1): MiningRewards by the chain's rules.
	Rewards     []Trace
	Withdrawals []Withdrawal
	// Where names where the block was read, for errors about it: a file
	// and its offset or line; empty for a node's block.
	Where string
}

// Tx is a transaction with its receipt's outcome.
type Tx struct {
	Hash     common.Hash
	Index    uint32
	Nonce    uint64
	From     common.Address
	To       *common.Address // nil for contract creation
	Value    uint256.Int
	Gas      uint64
	GasPrice uint256.Int // the effective price when the receipt gives it
	Type     uint8
	Selector [4]byte // first four bytes of the input, zero if shorter
	// From the receipt, when Receipt is set. Status is StatusUnknown
	// without a receipt and for receipts before Byzantium.
	Receipt  bool
	Status   int8
	GasUsed  uint64
	Contract *common.Address // created contract
	// A blob transaction's (EIP-4844) blob gas and its price, from the
	// receipt: that fee is paid by the sender and burnt whole.
	BlobGasUsed  uint64
	BlobGasPrice uint256.Int
}

// Receipt outcomes.
const (
	StatusUnknown int8 = -1
	StatusFailed  int8 = 0
	StatusOK      int8 = 1
)

// Log is one event log.
type Log struct {
	TxIndex uint32
	Index   uint32 // log index within the block
	Address common.Address
	Topics  []common.Hash
	Data    []byte
}

// Trace is one call frame, flattened as ethereum-etl flattens them.
type Trace struct {
	TxIndex    int32 // -1 for block-level traces (rewards)
	From       common.Address
	To         common.Address
	Value      uint256.Int
	Type       string // call, create, suicide, reward
	CallType   string // call, callcode, delegatecall, staticcall
	RewardType string // block, uncle
	Gas        uint64
	GasUsed    uint64
	Subtraces  int
	Address    []int // position in the call tree; empty for the top frame
	Error      string
	// Failed is set when this frame or one of its callers failed, or the
	// transaction reverted: its value did not move.
	Failed bool
}

// Withdrawal is a beacon-chain withdrawal credited in the block.
type Withdrawal struct {
	Index     uint64
	Validator uint64
	Address   common.Address
	Gwei      uint64
}

// MarkFailed sets Failed on frames whose own error, a caller's error, or
// the transaction's failed status undid them (ethereum-etl's trace status).
// Traces must be in ethereum-etl's order: each frame before its callees.
func (b *Block) MarkFailed() {
	failedTx := map[int32]bool{}
	for _, t := range b.Txs {
		if t.Status == StatusFailed {
			failedTx[int32(t.Index)] = true
		}
	}
	type key struct {
		tx   int32
		path string
	}
	failed := map[key]bool{}
	for i := range b.Traces {
		t := &b.Traces[i]
		f := t.Error != "" || failedTx[t.TxIndex]
		if !f && len(t.Address) > 0 {
			f = failed[key{t.TxIndex, pathKey(t.Address[:len(t.Address)-1])}]
		}
		t.Failed = f
		if f && t.Type != "reward" {
			failed[key{t.TxIndex, pathKey(t.Address)}] = true
		}
	}
}

func pathKey(p []int) string {
	b := make([]byte, 0, len(p)*2)
	for _, v := range p {
		b = append(b, byte(v>>8), byte(v))
	}
	return string(b)
}
