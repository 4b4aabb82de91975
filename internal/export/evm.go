package export

import (
	"context"
	"fmt"
	"io"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
)

// EVMTables are an EVM chain's tables, in the order the docs give them.
var EVMTables = []string{"blocks", "transactions", "transfers", "events", "addresses", "balances"}

// Columns of the EVM tables take ethereum-etl's names where it has one.
// Amounts are decimal strings in base units: they do not fit 64 bits.

// EVMBlock is a row of an EVM chain's blocks table.
type EVMBlock struct {
	Number           int64   `parquet:"number"`
	Hash             string  `parquet:"hash"`
	ParentHash       *string `parquet:"parent_hash,optional"`
	Timestamp        int64   `parquet:"timestamp"`
	Miner            string  `parquet:"miner"`
	TransactionCount int64   `parquet:"transaction_count"`
	TransferCount    int64   `parquet:"transfer_count"`
}

// EVMTx is a row of an EVM chain's transactions table. The receipt's
// fields are null for a transaction stored without its receipt.
type EVMTx struct {
	Hash             string  `parquet:"hash"`
	Nonce            int64   `parquet:"nonce"`
	BlockNumber      int64   `parquet:"block_number"`
	BlockTimestamp   int64   `parquet:"block_timestamp"`
	TransactionIndex int64   `parquet:"transaction_index"`
	FromAddress      string  `parquet:"from_address"`
	ToAddress        *string `parquet:"to_address,optional"` // null for a creation
	TransactionType  int32   `parquet:"transaction_type"`
	ReceiptStatus    *int32  `parquet:"receipt_status,optional"`
	ReceiptGasUsed   *int64  `parquet:"receipt_gas_used,optional"`
	GasPrice         string  `parquet:"receipt_effective_gas_price"`
	ContractAddress  *string `parquet:"receipt_contract_address,optional"`
	Fee              *string `parquet:"fee,optional"` // wei: gas at its price, and a blob fee
}

// EVMTransfer is a row of an EVM chain's transfers table: native ETH
// (calls, internal calls, fees, burns, rewards, withdrawals) and tokens.
type EVMTransfer struct {
	BlockNumber     int64   `parquet:"block_number"`
	BlockTimestamp  int64   `parquet:"block_timestamp"`
	TransactionHash *string `parquet:"transaction_hash,optional"` // null for block-level transfers
	Kind            string  `parquet:"kind,dict"`
	LogIndex        *int64  `parquet:"log_index,optional"` // tokens only
	Asset           string  `parquet:"asset,dict"`         // "ETH" or the token's address
	Symbol          *string `parquet:"symbol,dict,optional"`
	Decimals        *int32  `parquet:"decimals,optional"`
	FromAddress     *string `parquet:"from_address,optional"`
	ToAddress       *string `parquet:"to_address,optional"`
	Value           string  `parquet:"value"`
}

// EVMEvent is a row of an EVM chain's events table: the swaps and mixer
// deposits and withdrawals spur derived at ingest, with the transfers in
// and out that make them.
type EVMEvent struct {
	BlockNumber     int64   `parquet:"block_number"`
	TransactionHash string  `parquet:"transaction_hash"`
	Kind            string  `parquet:"kind,dict"`
	Contract        string  `parquet:"contract,dict"`
	Actor           string  `parquet:"actor"`
	InAsset         *string `parquet:"in_asset,dict,optional"`
	InSymbol        *string `parquet:"in_symbol,dict,optional"`
	InValue         *string `parquet:"in_value,optional"`
	OutAsset        *string `parquet:"out_asset,dict,optional"`
	OutSymbol       *string `parquet:"out_symbol,dict,optional"`
	OutValue        *string `parquet:"out_value,optional"`
	Data            *string `parquet:"data,optional"`
}

// EVMAddress is a row of an EVM chain's addresses table: each address
// whose first transfer is in the blocks exported, in the order of those
// transfers, with what spur address gives of it as of the store's tip
// (whatever blocks are exported).
type EVMAddress struct {
	Address        string `parquet:"address"`
	FirstSeenBlock int64  `parquet:"first_seen_block"`
	LastSeenBlock  int64  `parquet:"last_seen_block"`
	TransferCount  int64  `parquet:"transfer_count"`
	// Entity is its entity by the heuristics asked for (spur export
	// --deposits, ...), named by its first address as spur entity --chain
	// names it; null when none were.
	Entity *string `parquet:"entity,optional"`
}

// EVMBalance is a row of an EVM chain's balances table: an address of the
// addresses table and what it received, sent and holds of one asset, ETH
// or a token (NFTs aside), as spur address gives its balances.
type EVMBalance struct {
	Address   string  `parquet:"address"`
	Asset     string  `parquet:"asset,dict"` // "ETH" or the token's address
	Symbol    *string `parquet:"symbol,dict,optional"`
	Decimals  *int32  `parquet:"decimals,optional"`
	Received  string  `parquet:"received"`
	Sent      string  `parquet:"sent"`
	Balance   string  `parquet:"balance"` // negative when the store starts after the address was funded
	Transfers int64   `parquet:"transfers"`
}

// opt gives a non-empty string's address, nil for an empty one.
func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// EVM writes a table of an EVM store over the range's block numbers to w
// and returns how many rows it wrote.
func EVM(ctx context.Context, s *evmstore.Store, table string, w io.Writer, o Options) (int64, error) {
	c := s.Counts()
	if err := o.Range.Within(int64(c.First), int64(c.First+c.Blocks)-1, "blocks"); err != nil {
		return 0, err
	}
	units := o.Range.To - o.Range.From + 1
	row := func(i int64) uint64 { return uint64(o.Range.From+i) - c.First }
	work := func(i int64) int64 { b := s.Block(row(i)); return int64(1 + b.NumTx + b.NumXfer) }
	switch table {
	case "blocks":
		return rows(ctx, w, o.Format, units, work, func(i int64, buf []EVMBlock) ([]EVMBlock, error) {
			v := s.BlockView(row(i), 0, 0)
			return append(buf, EVMBlock{Number: int64(v.Number), Hash: v.Hash, ParentHash: opt(v.ParentHash), Timestamp: int64(v.Timestamp),
				Miner: v.Miner, TransactionCount: int64(v.TransactionCount), TransferCount: int64(v.TransferCount)}), nil
		}, o.Progress)
	case "transactions":
		return rows(ctx, w, o.Format, units, work, func(i int64, buf []EVMTx) ([]EVMTx, error) {
			b := s.Block(row(i))
			// A transaction's fee is what its fee and burn transfers took.
			fees := make([]uint256.Int, b.NumTx)
			for x := b.FirstXfer; x < b.FirstXfer+b.NumXfer; x++ {
				if r := s.Transfer(x); (r.Kind == evm.KindFee || r.Kind == evm.KindBurn) && r.Tx != evmstore.None {
					f := &fees[uint64(r.Tx)-b.FirstTx]
					f.Add(f, &r.Amount)
				}
			}
			hex := newHexMemo(s)
			for k := range b.NumTx {
				t := s.Tx(uint32(b.FirstTx + k))
				r := EVMTx{Hash: t.Hash.Hex(), Nonce: int64(t.Nonce), BlockNumber: int64(b.Number), BlockTimestamp: int64(b.Time),
					TransactionIndex: int64(t.Index), FromAddress: hex.text(t.From), TransactionType: int32(t.Type),
					GasPrice: fmt.Sprint(t.GasPrice), ToAddress: opt(hex.text(t.To)), ContractAddress: opt(hex.text(t.Contract))}
				if t.Receipt {
					gas, fee := int64(t.GasUsed), fees[k].Dec()
					r.ReceiptGasUsed, r.Fee = &gas, &fee
					if t.Status >= 0 {
						st := int32(t.Status)
						r.ReceiptStatus = &st
					}
				}
				buf = append(buf, r)
			}
			return buf, nil
		}, o.Progress)
	case "transfers":
		return rows(ctx, w, o.Format, units, work, func(i int64, buf []EVMTransfer) ([]EVMTransfer, error) {
			b := s.Block(row(i))
			hex := newHexMemo(s)
			for x := b.FirstXfer; x < b.FirstXfer+b.NumXfer; x++ {
				t := s.Transfer(x)
				asset, symbol, decimals := hex.asset(&t)
				r := EVMTransfer{BlockNumber: int64(b.Number), BlockTimestamp: int64(b.Time), Kind: t.Kind.String(), Asset: asset, Symbol: symbol,
					Decimals: decimals, FromAddress: opt(hex.text(t.From)), ToAddress: opt(hex.text(t.To)), Value: t.Amount.Dec()}
				if t.Tx != evmstore.None {
					r.TransactionHash = opt(s.Tx(t.Tx).Hash.Hex())
				}
				if !t.Kind.Native() {
					li := int64(t.Index)
					r.LogIndex = &li
				}
				buf = append(buf, r)
			}
			return buf, nil
		}, o.Progress)
	case "events":
		return rows(ctx, w, o.Format, units, work, func(i int64, buf []EVMEvent) ([]EVMEvent, error) {
			first, end := s.BlockEvents(row(i))
			hex := newHexMemo(s)
			for e := first; e < end; e++ {
				ev := s.Event(e)
				r := EVMEvent{BlockNumber: o.Range.From + i, TransactionHash: s.Tx(ev.Tx).Hash.Hex(), Kind: ev.Kind.String(),
					Contract: hex.text(ev.Contract), Actor: hex.text(ev.Actor)}
				if ev.Data != (common.Hash{}) {
					r.Data = opt(ev.Data.Hex())
				}
				side := func(x uint64) (asset, symbol, value *string) {
					t := s.Transfer(x)
					a, sym, _ := hex.asset(&t)
					return &a, sym, opt(t.Amount.Dec())
				}
				if ev.In != evmstore.NoTransfer {
					r.InAsset, r.InSymbol, r.InValue = side(ev.In)
				}
				if ev.Out != evmstore.NoTransfer {
					r.OutAsset, r.OutSymbol, r.OutValue = side(ev.Out)
				}
				buf = append(buf, r)
			}
			return buf, nil
		}, o.Progress)
	case "addresses", "balances":
		f, err := firstTransfers(ctx, s, row(0), row(units-1))
		if err != nil {
			return 0, err
		}
		if table == "addresses" {
			return rows(ctx, w, o.Format, units, work, func(i int64, buf []EVMAddress) ([]EVMAddress, error) {
				err := f.newAddresses(ctx, row(i), func(a uint32, v *evmstore.AddressView) {
					r := EVMAddress{Address: v.Address, FirstSeenBlock: int64(v.FirstSeenBlock), LastSeenBlock: int64(v.LastSeenBlock),
						TransferCount: int64(v.TransferCount)}
					if o.EVMEntity != nil {
						r.Entity = opt(o.EVMEntity(a))
					}
					buf = append(buf, r)
				})
				return buf, err
			}, o.Progress)
		}
		return rows(ctx, w, o.Format, units, work, func(i int64, buf []EVMBalance) ([]EVMBalance, error) {
			err := f.newAddresses(ctx, row(i), func(_ uint32, v *evmstore.AddressView) {
				for _, b := range v.Balances {
					r := EVMBalance{Address: v.Address, Asset: b.Asset, Symbol: opt(b.Symbol), Received: b.Received, Sent: b.Sent,
						Balance: b.Balance, Transfers: int64(b.Transfers)}
					if b.Decimals != nil {
						d := int32(*b.Decimals)
						r.Decimals = &d
					}
					buf = append(buf, r)
				}
			})
			return buf, err
		}, o.Progress)
	}
	return 0, fmt.Errorf("%w %q: an EVM chain has %v", ErrTable, table, EVMTables)
}

// firsts tells which transfers of a range are their addresses' first.
type firsts struct {
	s *evmstore.Store
	// block is, by address number, the row of the block of the address's
	// first transfer (noBlock: none up to the range's end); nil when the
	// range is short beside the chain before it, and its addresses' first
	// postings are looked up instead.
	block []uint32
}

const noBlock = ^uint32(0)

// scan says whether one pass over the before transfers ahead of a range
// and the in transfers of it beats looking up the first posting of each
// address the range's transfers name: the pass reads 8 bytes a transfer in
// order (about 4.5 ns a transfer), a lookup seeks the index (about 2.7 µs
// of CPU). On the scale-2000 world the two took the same time at about 150
// transfers before for each in.
var scan = func(before, in uint64) bool { return before <= 128*in }

// firstTransfers prepares to tell, for block rows from to to, which
// transfers are an address's first: by one pass over the transfers up to
// the range's end when it is long enough beside what comes before it, else
// by the index.
func firstTransfers(ctx context.Context, s *evmstore.Store, from, to uint64) (*firsts, error) {
	f := &firsts{s: s}
	start, last := s.Block(from).FirstXfer, s.Block(to)
	if !scan(start, last.FirstXfer+last.NumXfer-start) {
		return f, nil
	}
	f.block = make([]uint32, s.Counts().Addrs)
	for i := range f.block {
		f.block[i] = noBlock
	}
	for r := uint64(0); r <= to; r++ {
		if r%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		b := s.Block(r)
		for x := b.FirstXfer; x < b.FirstXfer+b.NumXfer; x++ {
			sender, recipient := s.TransferParties(x)
			for _, a := range [2]uint32{sender, recipient} {
				if a != evmstore.None && f.block[a] == noBlock {
					f.block[a] = uint32(r)
				}
			}
		}
	}
	return f, nil
}

// newAddresses calls fn with the summary of each address whose first
// transfer is in block row r, in the order of those transfers (a
// transfer's sender before its recipient). Each address of a range is
// found once, at its first transfer, whichever worker reads that block.
func (f *firsts) newAddresses(ctx context.Context, r uint64, fn func(a uint32, v *evmstore.AddressView)) error {
	s := f.s
	b := s.Block(r)
	if b.NumXfer == 0 {
		return nil
	}
	c, err := s.NewPostingsReader()
	if err != nil {
		return err
	}
	defer c.Close()
	seen := map[uint32]bool{} // the block's addresses, at their first transfer in it
	for x := b.FirstXfer; x < b.FirstXfer+b.NumXfer; x++ {
		from, to := s.TransferParties(x)
		for _, a := range [2]uint32{from, to} {
			if a == evmstore.None || seen[a] {
				continue
			}
			seen[a] = true
			if f.block != nil {
				if f.block[a] != uint32(r) {
					continue
				}
			} else {
				first := evmstore.NoTransfer
				if err := c.Postings(a, func(y uint64) bool { first = y; return false }); err != nil {
					return err
				}
				if first != x {
					continue
				}
			}
			v, err := s.Summary(ctx, c, a)
			if err != nil {
				return err
			}
			fn(a, v)
		}
	}
	return nil
}

// hexMemo gives addresses' EIP-55 text, each made once a block: the
// checksum, a Keccak hash, is most of the cost of an EVM row, and a block
// names its miner, its tokens and its busy contracts many times over.
type hexMemo struct {
	s evmstore.Reader
	m map[uint32]string
}

func newHexMemo(s evmstore.Reader) *hexMemo { return &hexMemo{s, map[uint32]string{}} }

// text is address a's text, "" for none.
func (h *hexMemo) text(a uint32) string {
	if a == evmstore.None {
		return ""
	}
	t, ok := h.m[a]
	if !ok {
		t = h.s.Address(a).Hex()
		h.m[a] = t
	}
	return t
}

// asset is what a transfer moves, as spur tx shows it: ETH (18
// decimals), or the token's address with its symbol and decimals when the
// store knows them.
func (h *hexMemo) asset(t *evmstore.TransferRow) (asset string, symbol *string, decimals *int32) {
	if t.Kind.Native() {
		eth, eighteen := "ETH", int32(18)
		return eth, &eth, &eighteen
	}
	if sym, dec, ok := h.s.Token(t.Asset); ok {
		d := int32(dec)
		return h.text(t.Asset), opt(sym), &d
	}
	return h.text(t.Asset), nil, nil
}
