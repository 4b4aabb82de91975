package evmstore

import (
	"cmp"
	"context"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/spur-forensics/spur/internal/evm"
)

// Views use ethereum-etl's field names where one exists. Amounts are
// decimal strings in base units (wei, token units).

// TransferView is one transfer.
type TransferView struct {
	Kind            string  `json:"kind"`
	TransactionHash string  `json:"transaction_hash,omitempty"`
	BlockNumber     uint64  `json:"block_number"`
	LogIndex        *uint32 `json:"log_index,omitempty"`
	Asset           string  `json:"asset"` // "ETH" or the token's address
	Symbol          string  `json:"symbol,omitempty"`
	Decimals        *uint8  `json:"decimals,omitempty"`
	FromAddress     string  `json:"from_address,omitempty"`
	ToAddress       string  `json:"to_address,omitempty"`
	Value           string  `json:"value"`
}

// EventView is a derived event.
type EventView struct {
	Kind     string        `json:"kind"`
	Contract string        `json:"contract"`
	Actor    string        `json:"actor"`
	In       *TransferView `json:"in,omitempty"`
	Out      *TransferView `json:"out,omitempty"`
	Data     string        `json:"data,omitempty"`
}

// TxView is a transaction as spur prints it.
type TxView struct {
	Hash             string         `json:"hash"`
	Nonce            uint64         `json:"nonce"`
	BlockNumber      uint64         `json:"block_number"`
	BlockHash        string         `json:"block_hash"`
	BlockTimestamp   uint64         `json:"block_timestamp"`
	TransactionIndex uint32         `json:"transaction_index"`
	FromAddress      string         `json:"from_address"`
	ToAddress        string         `json:"to_address,omitempty"`
	TransactionType  uint8          `json:"transaction_type"`
	ReceiptStatus    *int8          `json:"receipt_status,omitempty"`
	ReceiptGasUsed   *uint64        `json:"receipt_gas_used,omitempty"`
	GasPrice         string         `json:"receipt_effective_gas_price"`
	ContractAddress  string         `json:"receipt_contract_address,omitempty"`
	Fee              string         `json:"fee,omitempty"`
	Transfers        []TransferView `json:"transfers"`
	Events           []EventView    `json:"events,omitempty"`
}

func (s *Store) addrText(n uint32) string {
	if n == None {
		return ""
	}
	return s.Address(n).Hex()
}

// TransferView describes transfer n.
func (s *Store) TransferView(n uint64) TransferView {
	x := s.Transfer(n)
	v := TransferView{Kind: x.Kind.String(), BlockNumber: s.counts.First + s.TransferBlock(n), Asset: "ETH", Symbol: "ETH",
		FromAddress: s.addrText(x.From), ToAddress: s.addrText(x.To), Value: x.Amount.Dec()}
	if x.Tx != None {
		v.TransactionHash = common.Hash(s.txHash.Row(uint64(x.Tx))).Hex()
	}
	eighteen := uint8(18)
	v.Decimals = &eighteen
	if !x.Kind.Native() {
		idx := x.Index
		v.LogIndex = &idx
		v.Asset = s.addrText(x.Asset)
		v.Symbol, v.Decimals = "", nil
		if sym, dec, ok := s.Token(x.Asset); ok {
			v.Symbol, v.Decimals = sym, &dec
		}
	}
	return v
}

// TxView describes transaction n with its transfers and events.
func (s *Store) TxView(n uint32) *TxView {
	t := s.Tx(n)
	b := s.Block(t.Block)
	v := &TxView{Hash: t.Hash.Hex(), Nonce: t.Nonce, BlockNumber: b.Number, BlockHash: b.Hash.Hex(), BlockTimestamp: b.Time,
		TransactionIndex: t.Index, FromAddress: s.addrText(t.From), ToAddress: s.addrText(t.To), TransactionType: t.Type,
		GasPrice: fmt.Sprint(t.GasPrice), ContractAddress: s.addrText(t.Contract), Transfers: []TransferView{}}
	lo, hi := s.TxTransfers(n)
	// The fee is what the fee and burn transfers took: gas at its
	// price, and a blob transaction's blob fee, which the row's gas
	// fields do not give.
	var fee uint256.Int
	for x := lo; x < hi; x++ {
		v.Transfers = append(v.Transfers, s.TransferView(x))
		if r := s.Transfer(x); r.Kind == evm.KindFee || r.Kind == evm.KindBurn {
			fee.Add(&fee, &r.Amount)
		}
	}
	if t.Receipt {
		gu := t.GasUsed
		v.ReceiptGasUsed = &gu
		v.Fee = fee.Dec()
		if t.Status >= 0 {
			st := t.Status
			v.ReceiptStatus = &st
		}
	}
	first, end := s.BlockEvents(t.Block)
	for e := first; e < end; e++ {
		if ev := s.Event(e); ev.Tx == n {
			v.Events = append(v.Events, s.EventView(ev))
		}
	}
	return v
}

// EventView describes an event.
func (s *Store) EventView(e EventRow) EventView {
	v := EventView{Kind: e.Kind.String(), Contract: s.addrText(e.Contract), Actor: s.addrText(e.Actor)}
	if e.Data != (common.Hash{}) {
		v.Data = e.Data.Hex()
	}
	if e.In != NoTransfer {
		t := s.TransferView(e.In)
		v.In = &t
	}
	if e.Out != NoTransfer {
		t := s.TransferView(e.Out)
		v.Out = &t
	}
	return v
}

// BalanceView is an address's position in one asset.
type BalanceView struct {
	Asset    string `json:"asset"`
	Symbol   string `json:"symbol,omitempty"`
	Decimals *uint8 `json:"decimals,omitempty"`
	Received string `json:"received"`
	Sent     string `json:"sent"`
	// Balance is received minus sent over the stored blocks; it can be
	// negative when the store starts after the address's first funding.
	Balance   string `json:"balance"`
	Transfers int    `json:"transfers"`
}

// AddressView is an address's balances per asset and, paged, its transfers.
type AddressView struct {
	Address        string         `json:"address"`
	TransferCount  int            `json:"transfer_count"`
	FirstSeenBlock uint64         `json:"first_seen_block"`
	LastSeenBlock  uint64         `json:"last_seen_block"`
	Balances       []BalanceView  `json:"balances"`
	Transfers      []TransferView `json:"transfers,omitempty"`
	Offset         int            `json:"offset,omitempty"`
	Limit          int            `json:"limit,omitempty"`
}

// ParseAddress reads a 0x address; a mixed-case address must carry a valid
// EIP-55 checksum.
func ParseAddress(s string) (common.Address, error) {
	if !common.IsHexAddress(s) || !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return common.Address{}, fmt.Errorf("%q is not a 0x-prefixed 20-byte hex address", s)
	}
	a := common.HexToAddress(s)
	body := s[2:]
	if body != strings.ToLower(body) && body != strings.ToUpper(body) && a.Hex() != "0x"+body {
		return common.Address{}, fmt.Errorf("%q has a bad EIP-55 checksum (did you mean %s?)", s, a.Hex())
	}
	return a, nil
}

// AddressView summarises address text; with limit > 0 it lists its
// transfers newest first, skipping offset.
func (s *Store) AddressView(text string, offset, limit int) (*AddressView, error) {
	a, err := ParseAddress(text)
	if err != nil {
		return nil, err
	}
	n, err := s.AddrNum(a)
	if err != nil {
		return nil, err
	}
	var xs []uint64 // its transfers, kept only to list a page of them
	var each func(x uint64)
	if limit > 0 {
		each = func(x uint64) { xs = append(xs, x) }
	}
	v, err := s.summary(context.Background(), n, s.Postings, each)
	if err != nil {
		return nil, err
	}
	if limit > 0 {
		v.Offset, v.Limit = offset, limit
		v.Transfers = []TransferView{}
		for i := len(xs) - 1 - offset; i >= 0 && i > len(xs)-1-offset-limit; i-- {
			v.Transfers = append(v.Transfers, s.TransferView(xs[i]))
		}
	}
	return v, nil
}

// Summary is AddressView of address number n without its transfers, its
// postings read through c. It stops with ctx's error when ctx is done: a
// busy contract's history runs to millions of transfers.
func (s *Store) Summary(ctx context.Context, c PostingsCursor, n uint32) (*AddressView, error) {
	return s.summary(ctx, n, c.Postings, nil)
}

// summary makes n's view from its postings, read by postings; each, if
// not nil, is given every transfer.
func (s *Store) summary(ctx context.Context, n uint32, postings func(a uint32, fn func(x uint64) bool) error, each func(x uint64)) (*AddressView, error) {
	v := &AddressView{Address: s.Address(n).Hex(), Balances: []BalanceView{}}
	type pos struct {
		recv, sent uint256.Int
		n          int
	}
	byAsset := map[uint32]*pos{}
	first, last := NoTransfer, NoTransfer
	var stopped error
	err := postings(n, func(x uint64) bool {
		if v.TransferCount%(1<<16) == 0 {
			if stopped = ctx.Err(); stopped != nil {
				return false
			}
		}
		if each != nil {
			each(x)
		}
		if first == NoTransfer {
			first = x
		}
		last = x
		v.TransferCount++
		t := s.Transfer(x)
		if t.Kind == evm.KindNFT { // its amount is a token id
			return true
		}
		p := byAsset[t.Asset]
		if p == nil {
			p = &pos{}
			byAsset[t.Asset] = p
		}
		p.n++
		if t.To == n {
			p.recv.Add(&p.recv, &t.Amount)
		}
		if t.From == n {
			p.sent.Add(&p.sent, &t.Amount)
		}
		return true
	})
	if err = cmp.Or(err, stopped); err != nil {
		return nil, err
	}
	if first != NoTransfer {
		v.FirstSeenBlock = s.counts.First + s.TransferBlock(first)
		v.LastSeenBlock = s.counts.First + s.TransferBlock(last)
	}
	assets := make([]uint32, 0, len(byAsset))
	for a := range byAsset {
		assets = append(assets, a)
	}
	sort.Slice(assets, func(i, j int) bool { return assets[i] == None || assets[j] != None && assets[i] < assets[j] })
	for _, as := range assets {
		p := byAsset[as]
		bal := new(big.Int).Sub(p.recv.ToBig(), p.sent.ToBig())
		bv := BalanceView{Asset: "ETH", Symbol: "ETH", Received: p.recv.Dec(), Sent: p.sent.Dec(), Balance: bal.String(), Transfers: p.n}
		eighteen := uint8(18)
		bv.Decimals = &eighteen
		if as != None {
			bv.Asset, bv.Symbol, bv.Decimals = s.addrText(as), "", nil
			if sym, dec, ok := s.Token(as); ok {
				bv.Symbol, bv.Decimals = sym, &dec
			}
		}
		v.Balances = append(v.Balances, bv)
	}
	return v, nil
}

// BlockView is a block and, paged, its transaction hashes.
type BlockView struct {
	Number           uint64   `json:"number"`
	Hash             string   `json:"hash"`
	ParentHash       string   `json:"parent_hash,omitempty"` // empty for the first block of a store made before it was kept
	Timestamp        uint64   `json:"timestamp"`
	Miner            string   `json:"miner"`
	TransactionCount uint64   `json:"transaction_count"`
	TransferCount    uint64   `json:"transfer_count"`
	Transactions     []string `json:"transactions"`
	Offset           int      `json:"offset"`
	Limit            int      `json:"limit"`
}

// BlockView describes block row r, listing limit transaction hashes from
// offset.
func (s *Store) BlockView(r uint64, offset, limit int) *BlockView {
	b := s.Block(r)
	v := &BlockView{Number: b.Number, Hash: b.Hash.Hex(), Timestamp: b.Time, Miner: s.addrText(b.Miner),
		TransactionCount: b.NumTx, TransferCount: b.NumXfer, Transactions: []string{}, Offset: offset, Limit: limit}
	if r > 0 {
		v.ParentHash = common.Hash(s.blockHash.Row(r - 1)).Hex()
	} else if h, ok := s.firstParent(); ok {
		v.ParentHash = h.Hex()
	}
	for i := uint64(offset); i < b.NumTx && i < uint64(offset+limit); i++ {
		v.Transactions = append(v.Transactions, common.Hash(s.txHash.Row(b.FirstTx+i)).Hex())
	}
	return v
}
