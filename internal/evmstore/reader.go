package evmstore

import "github.com/ethereum/go-ethereum/common"

// Reader is what tracing, screening and reports read of an EVM chain:
// blocks, transactions, transfers and the swap and mixer events made of
// them, addresses with their postings, tokens. *Store, the column store
// on this machine, is one; a store kept elsewhere (on ClickHouse, past one
// machine) would be another, beside it, without a change to the code that
// reads through this. Numbers are dense and in chain order from 0: block
// rows (block numbers less Counts().First), transactions, transfers,
// events, and addresses by first appearance.
type Reader interface {
	Chain() string
	Counts() Counts
	TipRow() (uint64, error)
	Block(r uint64) BlockInfo
	BlockRow(n uint64) (uint64, error)
	BlockRowByHash(h common.Hash) (uint64, error)

	TxNum(h common.Hash) (uint32, error)
	Tx(n uint32) TxInfo
	TxTransfers(n uint32) (first, end uint64)

	Transfer(n uint64) TransferRow
	TransferBlock(n uint64) uint64
	PrefetchTransfer(n uint64)
	Event(n uint64) EventRow

	Address(n uint32) common.Address
	AddrNum(a common.Address) (uint32, error)
	Token(a uint32) (symbol string, decimals uint8, ok bool)
	EachToken(fn func(a uint32, symbol string, decimals uint8)) error
	Postings(a uint32, fn func(x uint64) bool) error
	PostingsBackward(a uint32, fn func(x uint64) bool) error
	NewPostingsReader() (PostingsCursor, error)
}

// PostingsCursor reads the postings of many addresses, one after another
// (see PostingsReader); Close it.
type PostingsCursor interface {
	Postings(a uint32, fn func(x uint64) bool) error
	Close() error
}

var _ Reader = (*Store)(nil)

// ReaderOf returns s as a Reader, and nil (no chain) for a nil s: a nil
// *Store in an interface would not be nil.
func ReaderOf(s *Store) Reader {
	if s == nil {
		return nil
	}
	return s
}
