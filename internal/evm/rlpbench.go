package evm

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
)

// GethRLP encodes a block the way a node stores it (RLP header, body and
// receipts, go-ethereum's types), for benchmarks that time go-ethereum's
// decoding of the same blocks spur ingests. Signatures are placeholders:
// RLP decoding does not check them.
func GethRLP(b *Block) (header, body, receipts []byte, err error) {
	txs := make([]*types.Transaction, len(b.Txs))
	rs := make(types.Receipts, len(b.Txs))
	var cum uint64
	logsOf := map[uint32][]*types.Log{}
	for i := range b.Logs {
		l := &b.Logs[i]
		logsOf[l.TxIndex] = append(logsOf[l.TxIndex], &types.Log{Address: l.Address, Topics: l.Topics, Data: l.Data})
	}
	for i, t := range b.Txs {
		var data []byte
		if t.Selector != ([4]byte{}) {
			data = t.Selector[:]
		}
		txs[i] = types.NewTx(&types.LegacyTx{Nonce: t.Nonce, GasPrice: t.GasPrice.ToBig(), Gas: t.Gas, To: t.To, Value: t.Value.ToBig(), Data: data,
			V: big.NewInt(27), R: big.NewInt(1), S: big.NewInt(1)})
		cum += t.GasUsed
		status := types.ReceiptStatusSuccessful
		if t.Status == StatusFailed {
			status = types.ReceiptStatusFailed
		}
		r := &types.Receipt{Status: status, CumulativeGasUsed: cum, Logs: logsOf[t.Index]}
		r.Bloom = types.CreateBloom(r)
		rs[i] = r
	}
	h := &types.Header{ParentHash: b.Parent, Coinbase: b.Miner, Number: new(big.Int).SetUint64(b.Number), Time: b.Time, GasUsed: cum,
		TxHash: types.DeriveSha(types.Transactions(txs), trie.NewStackTrie(nil)), ReceiptHash: types.DeriveSha(rs, trie.NewStackTrie(nil)),
		Difficulty: big.NewInt(1), UncleHash: types.EmptyUncleHash, Root: common.Hash{}}
	if b.BaseFee != nil {
		h.BaseFee = b.BaseFee.ToBig()
	}
	if header, err = rlp.EncodeToBytes(h); err != nil {
		return
	}
	if body, err = rlp.EncodeToBytes(&types.Body{Transactions: txs}); err != nil {
		return
	}
	receipts, err = rlp.EncodeToBytes(rs)
	return
}

// GethDecode decodes what GethRLP made with go-ethereum's types and hashes
// every transaction: the baseline's work per block.
func GethDecode(header, body, receipts []byte) (txs int, err error) {
	var h types.Header
	if err = rlp.DecodeBytes(header, &h); err != nil {
		return
	}
	var bd types.Body
	if err = rlp.DecodeBytes(body, &bd); err != nil {
		return
	}
	var rs types.Receipts
	if err = rlp.DecodeBytes(receipts, &rs); err != nil {
		return
	}
	for _, t := range bd.Transactions {
		t.Hash()
	}
	h.Hash()
	return len(bd.Transactions), nil
}
