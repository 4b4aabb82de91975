package store

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/spur-forensics/spur/internal/btc"
)

// addrBytes returns address number n as stored: type byte then payload.
func (s *Store) addrBytes(n uint64) []byte {
	var start uint64
	if n > 0 {
		start = s.addrEnd.U64(n - 1)
	}
	end := s.addrEnd.U64(n)
	return s.addrData.Bytes(start, end)
}

// Address returns address number n.
func (s *Store) Address(n uint32) btc.Address {
	b := s.addrBytes(uint64(n))
	return btc.Address{Type: btc.ScriptType(b[0]), Payload: b[1:]}
}

// TxNum returns the number of the transaction with that txid.
func (s *Store) TxNum(id btc.Hash) (uint64, error) {
	n, ok := s.findTx(id[:], s.meta.Counts.Txs)
	if !ok {
		return 0, fmt.Errorf("%w: transaction %s", ErrNotFound, id)
	}
	return n, nil
}

// AddrNum returns the number of an address.
func (s *Store) AddrNum(a btc.Address) (uint32, error) {
	key := append([]byte{byte(a.Type)}, a.Payload...)
	n, ok := s.findAddr(key, hashOfAddr(key), s.meta.Counts.Addrs)
	if !ok {
		return 0, fmt.Errorf("%w: address %s", ErrNotFound, a.String(s.net))
	}
	return uint32(n), nil
}

// TxOfOutput returns the tx number holding output o and o's index in it.
func (s *Store) TxOfOutput(o uint64) (tx uint64, vout uint32) {
	n := s.meta.Counts.Txs
	// The last tx whose first output is <= o.
	i := sort.Search(int(n), func(i int) bool { return s.txOut.U64(uint64(i)) > o }) - 1
	for i > 0 && s.txOut.U64(uint64(i)) == s.txOut.U64(uint64(i-1)) {
		i-- // unreachable for real chains: every tx has an output
	}
	return uint64(i), uint32(o - s.txOut.U64(uint64(i)))
}

// Output is one output as the store holds it.
type Output struct {
	Num     uint64
	Value   int64
	Type    btc.ScriptType
	Addr    uint32 // NoAddress without one
	SpentBy uint64 // spending tx number; valid when Spent
	Spent   bool
}

// Output returns output o.
func (s *Store) Output(o uint64) Output {
	v := s.outValue.U64(o)
	out := Output{Num: o, Value: int64(v & (1<<valueBits - 1)), Type: btc.ScriptType(v >> valueBits), Addr: s.outAddr.U32(o)}
	if sp := s.outSpent.U32(o); sp != 0 && uint64(sp-1) < s.meta.Counts.Txs {
		out.Spent, out.SpentBy = true, uint64(sp-1)
	}
	return out
}

// Tx is one transaction's stored fields.
type Tx struct {
	Num       uint64
	TxID      btc.Hash
	WTxID     btc.Hash
	Height    int64
	FirstIn   uint64
	NumIn     uint64
	FirstOut  uint64
	NumOut    uint64
	Fee       int64
	Size      int
	Weight    int
	Version   int32
	LockTime  uint32
	Coinbase  bool
	BlockHash btc.Hash
}

// Tx returns transaction number n.
func (s *Store) Tx(n uint64) (*Tx, error) {
	if n >= s.meta.Counts.Txs {
		return nil, fmt.Errorf("%w: tx number %d", ErrNotFound, n)
	}
	t := &Tx{Num: n, TxID: btc.Hash(s.txHash.Row(n)), Height: int64(s.txHeight.U32(n))}
	t.FirstIn, t.FirstOut = s.txIn.U64(n), s.txOut.U64(n)
	endIn, endOut := s.meta.Counts.Inputs, s.meta.Counts.Outputs
	if n+1 < s.meta.Counts.Txs {
		endIn, endOut = s.txIn.U64(n+1), s.txOut.U64(n+1)
	}
	t.NumIn, t.NumOut = endIn-t.FirstIn, endOut-t.FirstOut
	t.Fee = int64(s.txFee.U64(n))
	info := s.txInfo.Row(n)
	t.Size = int(binary.LittleEndian.Uint32(info[0:]))
	t.Weight = int(binary.LittleEndian.Uint32(info[4:]))
	t.Version = int32(binary.LittleEndian.Uint32(info[8:]))
	t.LockTime = binary.LittleEndian.Uint32(info[12:])
	t.Coinbase = t.NumIn == 1 && s.inOut.U64(t.FirstIn) == NoOutput
	t.BlockHash = btc.Hash(s.blockHash.Row(uint64(t.Height)))
	t.WTxID = btc.Hash(s.txWtxid.Row(n))
	if t.WTxID == zeroHash {
		t.WTxID = t.TxID // not segwit
	}
	return t, nil
}

// InputSpends returns the output number input i spends (NoOutput for a
// coinbase input).
func (s *Store) InputSpends(i uint64) uint64 { return s.inOut.U64(i) }

// SpendingInput returns which input of tx spends output o.
func (s *Store) SpendingInput(tx uint64, o uint64) (vin uint32, ok bool) {
	first := s.txIn.U64(tx)
	end := s.meta.Counts.Inputs
	if tx+1 < s.meta.Counts.Txs {
		end = s.txIn.U64(tx + 1)
	}
	for i := first; i < end; i++ {
		if s.inOut.U64(i) == o {
			return uint32(i - first), true
		}
	}
	return 0, false
}

// Block is one block's stored fields.
type Block struct {
	Height  int64
	Hash    btc.Hash
	Header  btc.Header
	FirstTx uint64
	NumTx   uint64
	Size    int
}

// Header returns the header of the block at height h.
func (s *Store) Header(h int64) (btc.Header, error) {
	if h < 0 || uint64(h) >= s.meta.Counts.Blocks {
		return btc.Header{}, fmt.Errorf("%w: no block at height %d (tip is %d)", ErrNotFound, h, s.Height())
	}
	hdr, err := btc.DecodeHeader(s.blockHeader.Row(uint64(h)))
	if err != nil {
		return hdr, fmt.Errorf("%w: block %d header: %v", ErrCorrupt, h, err)
	}
	return hdr, nil
}

// Block returns the block at height h.
func (s *Store) Block(h int64) (*Block, error) {
	if h < 0 || uint64(h) >= s.meta.Counts.Blocks {
		return nil, fmt.Errorf("%w: no block at height %d (tip is %d)", ErrNotFound, h, s.Height())
	}
	n := uint64(h)
	b := &Block{Height: h, Hash: btc.Hash(s.blockHash.Row(n))}
	hdr, err := btc.DecodeHeader(s.blockHeader.Row(n))
	if err != nil {
		return nil, fmt.Errorf("%w: block %d header: %v", ErrCorrupt, h, err)
	}
	b.Header = hdr
	b.FirstTx, b.NumTx = s.BlockTxs(h)
	b.Size = btc.HeaderSize + len(btc.AppendCompact(nil, b.NumTx))
	for t := b.FirstTx; t < b.FirstTx+b.NumTx; t++ {
		b.Size += int(binary.LittleEndian.Uint32(s.txInfo.Row(t)))
	}
	return b, nil
}

// BlockTxs returns the number of the first transaction of the block at
// height h, which must be in the store, and how many it has: cheap column
// reads, where Block also sums the transactions' sizes.
func (s *Store) BlockTxs(h int64) (first, n uint64) {
	first, end := s.blockTx.U64(uint64(h)), s.meta.Counts.Txs
	if uint64(h)+1 < s.meta.Counts.Blocks {
		end = s.blockTx.U64(uint64(h) + 1)
	}
	return first, end - first
}

// BlockByHash returns the height of a block of the store's chain.
func (s *Store) BlockByHash(h btc.Hash) (int64, error) {
	n, ok := s.findBlock(h[:], s.meta.Counts.Blocks)
	if !ok {
		return 0, fmt.Errorf("%w: block %s is not in the store's chain", ErrNotFound, h)
	}
	return int64(n), nil
}

// Postings calls fn with each output paid to address a, in chain order,
// until fn returns false.
func (s *Store) Postings(a uint32, fn func(o uint64) bool) error {
	s.post.lookup(a, s.meta.Counts.Outputs, fn)
	return nil
}

// TxRange returns the first input and output numbers of tx n and how many
// of each it has; cheap column reads, for passes over the whole chain.
func (s *Store) TxRange(n uint64) (firstIn, numIn, firstOut, numOut uint64) {
	firstIn, firstOut = s.txIn.U64(n), s.txOut.U64(n)
	endIn, endOut := s.meta.Counts.Inputs, s.meta.Counts.Outputs
	if n+1 < s.meta.Counts.Txs {
		endIn, endOut = s.txIn.U64(n+1), s.txOut.U64(n+1)
	}
	return firstIn, endIn - firstIn, firstOut, endOut - firstOut
}

// OutAddr returns the address number output o pays (NoAddress for none).
func (s *Store) OutAddr(o uint64) uint32 { return s.outAddr.U32(o) }

// OutValue returns output o's value and script type.
func (s *Store) OutValue(o uint64) (int64, btc.ScriptType) {
	v := s.outValue.U64(o)
	return int64(v & (1<<valueBits - 1)), btc.ScriptType(v >> valueBits)
}

// TxVersion returns tx n's version and lock time.
func (s *Store) TxVersion(n uint64) (int32, uint32) {
	info := s.txInfo.Row(n)
	return int32(binary.LittleEndian.Uint32(info[8:])), binary.LittleEndian.Uint32(info[12:])
}

// TxFee returns tx n's fee in satoshi (0 for a coinbase).
func (s *Store) TxFee(n uint64) int64 { return int64(s.txFee.U64(n)) }

// TxHeight returns the height of tx n's block.
func (s *Store) TxHeight(n uint64) int64 { return int64(s.txHeight.U32(n)) }

// TxID returns tx n's txid.
func (s *Store) TxID(n uint64) btc.Hash { return btc.Hash(s.txHash.Row(n)) }

// BlockFirstAddr returns the number of the first address first seen in the
// block at height h: addresses numbered from it on are new in that block.
func (s *Store) BlockFirstAddr(h int64) uint32 { return uint32(s.blockAddr.U64(uint64(h))) }
