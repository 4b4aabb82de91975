package store

import "github.com/spur-forensics/spur/internal/btc"

// Reader is what tracing, screening and reports read of a Bitcoin chain:
// transactions with their inputs and outputs and the spends linking them,
// addresses with their postings, block headers. *Store, the column store
// on this machine, is one; a store kept elsewhere (on ClickHouse, past one
// machine) would be another, beside it, without a change to the code that
// reads through this. Numbers are dense and in chain order from 0:
// transactions, inputs, outputs, and addresses by first appearance.
type Reader interface {
	Network() *btc.Network
	Counts() Counts
	Height() int64
	TipHash() btc.Hash
	Header(h int64) (btc.Header, error)
	BlockByHash(h btc.Hash) (int64, error)

	TxNum(id btc.Hash) (uint64, error)
	TxID(n uint64) btc.Hash
	TxHeight(n uint64) int64
	TxRange(n uint64) (firstIn, numIn, firstOut, numOut uint64)
	TxVersion(n uint64) (int32, uint32)
	TxOfOutput(o uint64) (tx uint64, vout uint32)

	InputSpends(i uint64) uint64
	Output(o uint64) Output
	OutAddr(o uint64) uint32
	OutValue(o uint64) (int64, btc.ScriptType)

	Address(n uint32) btc.Address
	AddrNum(a btc.Address) (uint32, error)
	Postings(a uint32, fn func(o uint64) bool) error
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
