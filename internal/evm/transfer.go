package evm

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
	"golang.org/x/crypto/sha3"
)

// Kind says where a transfer comes from.
type Kind uint8

// Transfer kinds. Native kinds move ETH; Token moves an ERC-20 amount; NFT
// is an ERC-721 Transfer (the amount is the token id; it moves no balance).
const (
	KindCall       Kind = 1  // a transaction's own value
	KindInternal   Kind = 2  // value of a call made by a contract
	KindCreate     Kind = 3  // value sent with a contract creation
	KindSuicide    Kind = 4  // a self-destructing contract's balance paid out
	KindReward     Kind = 5  // block or uncle reward
	KindWithdrawal Kind = 6  // beacon-chain withdrawal
	KindFee        Kind = 7  // the part of the fee paid to the block's miner
	KindBurn       Kind = 8  // the base fee and any blob fee, burnt (to the zero address)
	KindToken      Kind = 9  // ERC-20 Transfer log
	KindNFT        Kind = 10 // ERC-721 Transfer log
	KindGenesis    Kind = 11 // a genesis allocation
	KindWrap       Kind = 12 // WETH minted for ETH (WETH9's Deposit log), from the zero address
	KindUnwrap     Kind = 13 // WETH burnt for ETH (WETH9's Withdrawal log), to the zero address
	// KindDAOFork is the DAO fork's move of a DAO account's ether to the
	// refund contract (mainnet block 1,920,000), a change of state no
	// transaction made: ethereum-etl's "daofork" traces.
	KindDAOFork Kind = 14
)

// WrappedNative are the WETH9 contracts whose Deposit and Withdrawal logs
// mint and burn the token: they emit no Transfer for it, so without these
// a WETH balance would not add up.
var WrappedNative = map[common.Address]bool{
	common.HexToAddress("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"): true, // mainnet
}

var kindNames = [...]string{"", "call", "internal", "create", "suicide", "reward", "withdrawal", "fee", "burn", "token", "nft", "genesis", "wrap", "unwrap", "daofork"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Native reports whether the kind moves ETH.
func (k Kind) Native() bool {
	return k >= KindCall && k <= KindBurn || k == KindGenesis || k == KindDAOFork
}

// FromNowhere reports whether the kind creates ETH (no sender).
func (k Kind) FromNowhere() bool { return k == KindReward || k == KindWithdrawal || k == KindGenesis }

// NoTx marks a transfer that belongs to the block, not to a transaction.
const NoTx = -1

// Transfer is one movement of value: the unit spur stores and traces.
type Transfer struct {
	TxIndex int32 // NoTx for rewards and withdrawals
	Kind    Kind
	Index   uint32         // log index for token kinds; position in the block's transfers otherwise
	Asset   common.Address // token contract; zero for ETH
	From    common.Address
	To      common.Address
	Amount  uint256.Int
}

// Keccak256 of an event signature: its topic 0.
func eventTopic(sig string) common.Hash {
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte(sig))
	return common.BytesToHash(h.Sum(nil))
}

// Event topics spur decodes.
var (
	TopicTransfer       = eventTopic("Transfer(address,address,uint256)")
	TopicSwapV2         = eventTopic("Swap(address,uint256,uint256,uint256,uint256,address)")
	TopicSwapV3         = eventTopic("Swap(address,address,int256,int256,uint160,uint128,int24)")
	TopicMixDeposit     = eventTopic("Deposit(bytes32,uint32,uint256)")
	TopicMixWithdrawal  = eventTopic("Withdrawal(address,bytes32,address,uint256)")
	TopicWETHDeposit    = eventTopic("Deposit(address,uint256)")
	TopicWETHWithdrawal = eventTopic("Withdrawal(address,uint256)")
)

// TokenTransfer decodes an ERC-20 or ERC-721 Transfer log the way
// ethereum-etl does: topics and 32-byte data words together must be four
// words (signature, from, to, value). ok is false for any other log.
// nft is set when the value is an indexed topic (ERC-721's token id).
func TokenTransfer(l *Log) (from, to common.Address, value uint256.Int, nft, ok bool) {
	if len(l.Topics) == 0 || l.Topics[0] != TopicTransfer || len(l.Data)%32 != 0 {
		return
	}
	words := make([][]byte, 0, 4)
	for _, t := range l.Topics {
		words = append(words, t[:])
	}
	for i := 0; i < len(l.Data); i += 32 {
		words = append(words, l.Data[i:i+32])
	}
	if len(words) != 4 {
		return
	}
	from = common.BytesToAddress(words[1][12:])
	to = common.BytesToAddress(words[2][12:])
	value.SetBytes32(words[3])
	return from, to, value, len(l.Topics) == 4, true
}

// Transfers lists the block's value transfers in a fixed order: for each
// transaction its native transfers (from the traces when the block has them,
// else its own value), its token transfers (by log index) and its fee; then
// rewards and withdrawals. Failed frames move nothing and are left out.
func (b *Block) Transfers() []Transfer {
	var out []Transfer
	add := func(t Transfer) {
		t.Index = uint32(len(out))
		out = append(out, t)
	}
	tracesOf := map[int32][]*Trace{}
	var rewards []*Trace
	for i := range b.Traces {
		t := &b.Traces[i]
		if t.TxIndex == NoTx {
			rewards = append(rewards, t)
		} else {
			tracesOf[t.TxIndex] = append(tracesOf[t.TxIndex], t)
		}
	}
	logsOf := map[uint32][]*Log{}
	for i := range b.Logs {
		logsOf[b.Logs[i].TxIndex] = append(logsOf[b.Logs[i].TxIndex], &b.Logs[i])
	}
	for i := range b.Txs {
		tx := &b.Txs[i]
		ti := int32(tx.Index)
		if b.Traces != nil {
			for _, t := range tracesOf[ti] {
				if k, ok := nativeKind(t); ok {
					add(Transfer{TxIndex: ti, Kind: k, From: t.From, To: t.To, Amount: t.Value})
				}
			}
		} else if tx.Status != StatusFailed && !tx.Value.IsZero() {
			k, to := KindCall, common.Address{}
			switch {
			case tx.To != nil:
				to = *tx.To
			case tx.Contract != nil:
				k, to = KindCreate, *tx.Contract
			}
			add(Transfer{TxIndex: ti, Kind: k, From: tx.From, To: to, Amount: tx.Value})
		}
		if tx.Status != StatusFailed {
			for _, l := range logsOf[tx.Index] {
				if from, to, v, nft, ok := TokenTransfer(l); ok {
					k := KindToken
					if nft {
						k = KindNFT
					}
					out = append(out, Transfer{TxIndex: ti, Kind: k, Index: l.Index, Asset: l.Address, From: from, To: to, Amount: v})
				} else if WrappedNative[l.Address] && len(l.Topics) == 2 && len(l.Data) == 32 {
					var v uint256.Int
					v.SetBytes32(l.Data)
					who := common.BytesToAddress(l.Topics[1][12:])
					switch l.Topics[0] {
					case TopicWETHDeposit:
						out = append(out, Transfer{TxIndex: ti, Kind: KindWrap, Index: l.Index, Asset: l.Address, To: who, Amount: v})
					case TopicWETHWithdrawal:
						out = append(out, Transfer{TxIndex: ti, Kind: KindUnwrap, Index: l.Index, Asset: l.Address, From: who, Amount: v})
					}
				}
			}
		}
		if tx.Receipt && tx.GasUsed > 0 {
			var fee, burn uint256.Int
			fee.Mul(uint256.NewInt(tx.GasUsed), &tx.GasPrice)
			if b.BaseFee != nil {
				burn.Mul(uint256.NewInt(tx.GasUsed), b.BaseFee)
				if burn.Gt(&fee) {
					burn = fee
				}
				fee.Sub(&fee, &burn)
			}
			if tx.BlobGasUsed > 0 {
				var blob uint256.Int
				blob.Mul(uint256.NewInt(tx.BlobGasUsed), &tx.BlobGasPrice)
				burn.Add(&burn, &blob)
			}
			if !fee.IsZero() {
				add(Transfer{TxIndex: ti, Kind: KindFee, From: tx.From, To: b.Miner, Amount: fee})
			}
			if !burn.IsZero() {
				add(Transfer{TxIndex: ti, Kind: KindBurn, From: tx.From, Amount: burn})
			}
		}
	}
	for i := range b.Rewards {
		rewards = append(rewards, &b.Rewards[i])
	}
	for _, t := range rewards {
		if t.Type == "daofork" {
			if !t.Value.IsZero() {
				add(Transfer{TxIndex: NoTx, Kind: KindDAOFork, From: t.From, To: t.To, Amount: t.Value})
			}
			continue
		}
		if !t.Failed && !t.Value.IsZero() {
			k := KindReward
			if t.Type == "genesis" {
				k = KindGenesis
			}
			add(Transfer{TxIndex: NoTx, Kind: k, To: t.To, Amount: t.Value})
		}
	}
	for _, w := range b.Withdrawals {
		var v uint256.Int
		v.Mul(uint256.NewInt(w.Gwei), uint256.NewInt(1e9))
		if !v.IsZero() {
			add(Transfer{TxIndex: NoTx, Kind: KindWithdrawal, To: w.Address, Amount: v})
		}
	}
	return out
}

// nativeKind says whether a frame moved ETH, and as what.
func nativeKind(t *Trace) (Kind, bool) {
	if t.Failed || t.Value.IsZero() {
		return 0, false
	}
	switch t.Type {
	case "call":
		// delegatecall and callcode run other code in the caller's own
		// account; the value they carry does not leave it.
		if t.CallType != "" && t.CallType != "call" {
			return 0, false
		}
		if len(t.Address) == 0 {
			return KindCall, true
		}
		return KindInternal, true
	case "create", "create2":
		return KindCreate, true
	case "suicide":
		return KindSuicide, true
	}
	return 0, false
}
