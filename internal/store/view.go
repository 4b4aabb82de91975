package store

import (
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/spur-forensics/spur/internal/btc"
)

// TxView is a transaction as spur prints it (`spur tx`, `spur decode tx`).
// Fields that need the chain are omitted by the decoder.
type TxView struct {
	TxID        string       `json:"txid"`
	Hash        string       `json:"hash"`
	BlockHeight *int64       `json:"block_height,omitempty"`
	BlockHash   string       `json:"block_hash,omitempty"`
	IsCoinbase  bool         `json:"is_coinbase"`
	Fee         *int64       `json:"fee,omitempty"`
	Version     int32        `json:"version"`
	LockTime    uint32       `json:"locktime"`
	Size        int          `json:"size"`
	VSize       int          `json:"vsize"`
	Weight      int          `json:"weight"`
	Inputs      []InputView  `json:"inputs"`
	Outputs     []OutputView `json:"outputs"`
}

// InputView is one input.
type InputView struct {
	PrevTxID string `json:"prev_txid"`
	PrevVout uint32 `json:"prev_vout"`
	Address  string `json:"address,omitempty"`
	Type     string `json:"type,omitempty"`
	Value    *int64 `json:"value,omitempty"`
	Coinbase bool   `json:"coinbase,omitempty"`
}

// OutputView is one output.
type OutputView struct {
	N       uint32     `json:"n"`
	Value   int64      `json:"value"`
	Type    string     `json:"type"`
	Address string     `json:"address,omitempty"`
	Script  string     `json:"script_hex,omitempty"`
	SpentBy *SpentView `json:"spent_by"`
}

// SpentView names the input that spends an output.
type SpentView struct {
	TxID string `json:"txid"`
	Vin  uint32 `json:"vin"`
}

// DecodedTxView describes a decoded transaction without chain context.
func DecodedTxView(tx *btc.Tx, net *btc.Network) *TxView {
	v := &TxView{
		TxID: tx.TxID.String(), Hash: tx.WTxID.String(), IsCoinbase: tx.IsCoinbase(),
		Version: tx.Version, LockTime: tx.LockTime, Size: tx.Size, VSize: tx.VSize(), Weight: tx.Weight(),
		Inputs: make([]InputView, len(tx.Inputs)), Outputs: make([]OutputView, len(tx.Outputs)),
	}
	for i, in := range tx.Inputs {
		v.Inputs[i] = InputView{PrevTxID: in.PrevTxID.String(), PrevVout: in.PrevIndex, Coinbase: v.IsCoinbase}
	}
	for i, o := range tx.Outputs {
		t, a, ok := btc.ScriptAddress(o.Script)
		ov := OutputView{N: uint32(i), Value: o.Value, Type: t.String(), Script: hex.EncodeToString(o.Script)}
		if ok {
			ov.Address = a.String(net)
		}
		v.Outputs[i] = ov
	}
	return v
}

// TxView describes stored transaction n.
func (s *Store) TxView(n uint64) (*TxView, error) {
	t, err := s.Tx(n)
	if err != nil {
		return nil, err
	}
	h, fee := t.Height, t.Fee
	v := &TxView{
		TxID: t.TxID.String(), Hash: t.WTxID.String(), BlockHeight: &h, BlockHash: t.BlockHash.String(),
		IsCoinbase: t.Coinbase, Fee: &fee, Version: t.Version, LockTime: t.LockTime,
		Size: t.Size, VSize: (t.Weight + 3) / 4, Weight: t.Weight,
		Inputs: make([]InputView, t.NumIn), Outputs: make([]OutputView, t.NumOut),
	}
	for i := range t.NumIn {
		o := s.InputSpends(t.FirstIn + i)
		if o == NoOutput {
			v.Inputs[i] = InputView{PrevTxID: btc.Hash{}.String(), PrevVout: 0xffffffff, Coinbase: true}
			continue
		}
		ptx, vout := s.TxOfOutput(o)
		out := s.Output(o)
		val := out.Value
		v.Inputs[i] = InputView{PrevTxID: btc.Hash(s.txHash.Row(ptx)).String(), PrevVout: vout, Type: out.Type.String(), Value: &val, Address: s.addrString(out.Addr)}
	}
	for i := range t.NumOut {
		out := s.Output(t.FirstOut + i)
		ov := OutputView{N: uint32(i), Value: out.Value, Type: out.Type.String(), Address: s.addrString(out.Addr)}
		if out.Spent {
			vin, _ := s.SpendingInput(out.SpentBy, out.Num)
			ov.SpentBy = &SpentView{TxID: btc.Hash(s.txHash.Row(out.SpentBy)).String(), Vin: vin}
		}
		v.Outputs[i] = ov
	}
	return v, nil
}

func (s *Store) addrString(a uint32) string {
	if a == NoAddress {
		return ""
	}
	return s.Address(a).String(s.net)
}

// AddressView is an address's summary and, when asked, its transactions.
type AddressView struct {
	Address         string          `json:"address"`
	Type            string          `json:"type"`
	TxCount         int             `json:"tx_count"`
	Received        int64           `json:"received"`
	Sent            int64           `json:"sent"`
	Balance         int64           `json:"balance"`
	Outputs         int             `json:"outputs"`
	Unspent         int             `json:"unspent_outputs"`
	FirstSeenHeight int64           `json:"first_seen_height"`
	LastSeenHeight  int64           `json:"last_seen_height"`
	Txs             []AddressTxView `json:"txs,omitempty"`
	Offset          int             `json:"offset,omitempty"`
	Limit           int             `json:"limit,omitempty"`
}

// AddressTxView is one transaction touching an address, with what it paid to
// and spent from the address.
type AddressTxView struct {
	TxID        string `json:"txid"`
	BlockHeight int64  `json:"block_height"`
	Received    int64  `json:"received"`
	Sent        int64  `json:"sent"`
}

// AddressView summarises an address; with limit > 0 it lists its
// transactions newest first, skipping offset.
func (s *Store) AddressView(addr string, offset, limit int) (*AddressView, error) {
	a, err := btc.ParseAddress(addr, s.net)
	if err != nil {
		return nil, err
	}
	n, err := s.AddrNum(a)
	if err != nil {
		return nil, err
	}
	v := &AddressView{Address: a.String(s.net), Type: a.Type.String(), FirstSeenHeight: -1, LastSeenHeight: -1}
	type flow struct{ recv, sent int64 }
	txs := map[uint64]*flow{}
	get := func(t uint64) *flow {
		f := txs[t]
		if f == nil {
			f = &flow{}
			txs[t] = f
		}
		return f
	}
	err = s.Postings(n, func(o uint64) bool {
		out := s.Output(o)
		t, _ := s.TxOfOutput(o)
		v.Outputs++
		v.Received += out.Value
		get(t).recv += out.Value
		if out.Spent {
			v.Sent += out.Value
			get(out.SpentBy).sent += out.Value
		} else {
			v.Unspent++
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	v.Balance = v.Received - v.Sent
	v.TxCount = len(txs)
	nums := make([]uint64, 0, len(txs))
	for t := range txs {
		nums = append(nums, t)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] > nums[j] })
	if len(nums) > 0 {
		v.LastSeenHeight = int64(s.txHeight.U32(nums[0]))
		v.FirstSeenHeight = int64(s.txHeight.U32(nums[len(nums)-1]))
	}
	if limit > 0 {
		v.Offset, v.Limit = offset, limit
		v.Txs = []AddressTxView{}
		for i := offset; i < len(nums) && i < offset+limit; i++ {
			t := nums[i]
			v.Txs = append(v.Txs, AddressTxView{
				TxID: btc.Hash(s.txHash.Row(t)).String(), BlockHeight: int64(s.txHeight.U32(t)),
				Received: txs[t].recv, Sent: txs[t].sent,
			})
		}
	}
	return v, nil
}

// BlockView is a block's header fields and (paged) txids.
type BlockView struct {
	Height     int64    `json:"height"`
	Hash       string   `json:"hash"`
	Prev       string   `json:"previousblockhash"`
	MerkleRoot string   `json:"merkleroot"`
	Version    int32    `json:"version"`
	Time       uint32   `json:"time"`
	Bits       string   `json:"bits"`
	Nonce      uint32   `json:"nonce"`
	Size       int      `json:"size"`
	TxCount    uint64   `json:"tx_count"`
	TxIDs      []string `json:"txids"`
	Offset     int      `json:"offset"`
	Limit      int      `json:"limit"`
}

// BlockView describes the block at height h, listing limit txids from
// offset.
func (s *Store) BlockView(h int64, offset, limit int) (*BlockView, error) {
	b, err := s.Block(h)
	if err != nil {
		return nil, err
	}
	v := &BlockView{
		Height: h, Hash: b.Hash.String(), Prev: b.Header.Prev.String(), MerkleRoot: b.Header.MerkleRoot.String(),
		Version: b.Header.Version, Time: b.Header.Time, Bits: fmt.Sprintf("%08x", b.Header.Bits), Nonce: b.Header.Nonce,
		Size: b.Size, TxCount: b.NumTx, TxIDs: []string{}, Offset: offset, Limit: limit,
	}
	for i := uint64(offset); i < b.NumTx && i < uint64(offset+limit); i++ {
		v.TxIDs = append(v.TxIDs, btc.Hash(s.txHash.Row(b.FirstTx+i)).String())
	}
	return v, nil
}
