package evmstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/spur-forensics/spur/internal/evm"
)

// ErrNotFound is returned for a hash, address or number the store lacks.
var ErrNotFound = errors.New("not found")

func (s *Store) get(key []byte) (uint32, bool, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("evm store: index: %w", err)
	}
	defer closer.Close()
	if len(v) != 4 {
		return 0, false, fmt.Errorf("%w: index entry of %d bytes", ErrCorrupt, len(v))
	}
	return binary.LittleEndian.Uint32(v), true, nil
}

// TxNum returns the number of the transaction with hash h.
func (s *Store) TxNum(h common.Hash) (uint32, error) {
	n, ok, err := s.get(append([]byte{keyTx}, h[:]...))
	if err == nil && (!ok || uint64(n) >= s.counts.Txs) {
		err = fmt.Errorf("transaction %s: %w", h.Hex(), ErrNotFound)
	}
	return n, err
}

// AddrNum returns the number of address a.
func (s *Store) AddrNum(a common.Address) (uint32, error) {
	n, ok, err := s.lookupAddr(a)
	if err == nil && (!ok || uint64(n) >= s.counts.Addrs) {
		err = fmt.Errorf("address %s: %w", a.Hex(), ErrNotFound)
	}
	return n, err
}

// TipRow returns the row of the last committed block, for "tip" where a
// block is named; ErrNotFound while the store is empty.
func (s *Store) TipRow() (uint64, error) {
	if s.counts.Blocks == 0 {
		return 0, fmt.Errorf("%w: the store holds no block yet", ErrNotFound)
	}
	return s.counts.Blocks - 1, nil
}

// BlockRow returns the row of block number n.
func (s *Store) BlockRow(n uint64) (uint64, error) {
	if n < s.counts.First || n-s.counts.First >= s.counts.Blocks {
		return 0, fmt.Errorf("block %d: %w (the store holds %s)", n, ErrNotFound, s.rangeText())
	}
	return n - s.counts.First, nil
}

// BlockRowByHash returns the row of the block with hash h.
func (s *Store) BlockRowByHash(h common.Hash) (uint64, error) {
	n, ok, err := s.get(append([]byte{keyBlock}, h[:]...))
	if err == nil && (!ok || uint64(n) >= s.counts.Blocks) {
		err = fmt.Errorf("block %s: %w", h.Hex(), ErrNotFound)
	}
	return uint64(n), err
}

func (s *Store) rangeText() string {
	if s.counts.Blocks == 0 {
		return "no blocks"
	}
	return fmt.Sprintf("blocks %d to %d", s.counts.First, s.counts.First+s.counts.Blocks-1)
}

// Address returns address number n.
func (s *Store) Address(n uint32) common.Address { return common.Address(s.addr.Row(uint64(n))) }

// BlockInfo is a stored block.
type BlockInfo struct {
	Number    uint64
	Hash      common.Hash
	Time      uint64
	Miner     uint32
	FirstTx   uint64
	NumTx     uint64
	FirstXfer uint64
	NumXfer   uint64
}

func (s *Store) blockField(row uint64, i int) uint64 {
	return binary.LittleEndian.Uint64(s.blockInfo.Row(row)[i*8:])
}

// Block returns block row r.
func (s *Store) Block(r uint64) BlockInfo {
	b := BlockInfo{Number: s.counts.First + r, Hash: common.Hash(s.blockHash.Row(r)), Time: s.blockField(r, 0),
		Miner: binary.LittleEndian.Uint32(s.blockInfo.Row(r)[44:]), FirstTx: s.blockField(r, 1), FirstXfer: s.blockField(r, 2)}
	endTx, endX := s.counts.Txs, s.counts.Transfers
	if r+1 < s.counts.Blocks {
		endTx, endX = s.blockField(r+1, 1), s.blockField(r+1, 2)
	}
	b.NumTx, b.NumXfer = endTx-b.FirstTx, endX-b.FirstXfer
	return b
}

// TxInfo is a stored transaction.
type TxInfo struct {
	Hash     common.Hash
	Block    uint64 // row
	Index    uint32 // in the block
	From     uint32
	To       uint32 // None for a creation
	Contract uint32 // None unless it created one
	Status   int8
	Type     uint8
	Receipt  bool
	Selector [4]byte
	Nonce    uint64
	GasUsed  uint64
	GasPrice uint64
}

// Tx returns transaction n.
func (s *Store) Tx(n uint32) TxInfo {
	r := s.txInfo.Row(uint64(n))
	t := TxInfo{Hash: common.Hash(s.txHash.Row(uint64(n))), Block: uint64(binary.LittleEndian.Uint32(r)),
		From: binary.LittleEndian.Uint32(r[4:]), To: binary.LittleEndian.Uint32(r[8:]), Contract: binary.LittleEndian.Uint32(r[12:]),
		Status: int8(r[16]), Type: r[17], Receipt: r[18]&1 != 0, Nonce: binary.LittleEndian.Uint64(r[24:]),
		GasUsed: binary.LittleEndian.Uint64(r[32:]), GasPrice: binary.LittleEndian.Uint64(r[40:])}
	copy(t.Selector[:], r[20:24])
	t.Index = uint32(uint64(n) - s.blockField(t.Block, 1))
	return t
}

// TransferRow is a stored transfer, addresses and asset by number.
type TransferRow struct {
	Tx     uint32 // None for block-level transfers
	From   uint32 // None for rewards and withdrawals
	To     uint32 // None for the burnt base fee
	Asset  uint32 // None for ETH
	Kind   evm.Kind
	Index  uint32
	Amount uint256.Int
}

// Transfer returns transfer n.
func (s *Store) Transfer(n uint64) TransferRow {
	r := s.xfer.Row(n)
	x := TransferRow{Tx: binary.LittleEndian.Uint32(r), From: binary.LittleEndian.Uint32(r[4:]), To: binary.LittleEndian.Uint32(r[8:]),
		Asset: binary.LittleEndian.Uint32(r[12:]), Kind: evm.Kind(r[16]), Index: binary.LittleEndian.Uint32(r[20:])}
	if r[17]&1 != 0 {
		x.Amount.SetBytes32(s.xferBig.Row(binary.LittleEndian.Uint64(r[24:])))
	} else {
		x.Amount[0] = binary.LittleEndian.Uint64(r[24:])
		x.Amount[1] = binary.LittleEndian.Uint64(r[32:])
	}
	return x
}

// TransferParties returns transfer n's sender and recipient (None for
// none) without the rest of its row: for a pass over every transfer.
func (s *Store) TransferParties(n uint64) (from, to uint32) {
	r := s.xfer.Row(n)
	return binary.LittleEndian.Uint32(r[4:]), binary.LittleEndian.Uint32(r[8:])
}

// PrefetchTransfer starts loading transfer n's row into the cache, for a
// reader about to visit many rows scattered over the column.
func (s *Store) PrefetchTransfer(n uint64) { s.xfer.Prefetch(n) }

// TransferBlock returns the block row of transfer n.
func (s *Store) TransferBlock(n uint64) uint64 {
	if t := binary.LittleEndian.Uint32(s.xfer.Row(n)); t != None {
		return uint64(binary.LittleEndian.Uint32(s.txInfo.Row(uint64(t))))
	}
	return uint64(sort.Search(int(s.counts.Blocks), func(r int) bool { return s.blockField(uint64(r), 2) > n })) - 1
}

// TxTransfers returns the range of transfers of transaction n. A block's
// transfers are in transaction order, block-level ones (None) last.
func (s *Store) TxTransfers(n uint32) (first, end uint64) {
	b := s.Block(s.Tx(n).Block)
	tx := func(i int) uint32 { return binary.LittleEndian.Uint32(s.xfer.Row(b.FirstXfer + uint64(i))) }
	lo := sort.Search(int(b.NumXfer), func(i int) bool { return tx(i) >= n })
	hi := sort.Search(int(b.NumXfer), func(i int) bool { return tx(i) > n })
	return b.FirstXfer + uint64(lo), b.FirstXfer + uint64(hi)
}

// EventRow is a stored derived event.
type EventRow struct {
	Kind     evm.EventKind
	Tx       uint32
	Contract uint32
	Actor    uint32
	In, Out  uint64 // transfer numbers; NoTransfer for none
	Data     common.Hash
}

// NoTransfer marks an event side without a transfer.
const NoTransfer = ^uint64(0)

// Events returns the number of stored events.
func (s *Store) NumEvents() uint64 { return s.counts.Events }

// BlockEvents returns the events of block row r: numbers first to end,
// end excluded. Events of a block's transactions are contiguous and in
// transaction order.
func (s *Store) BlockEvents(r uint64) (first, end uint64) {
	first, end = s.blockField(r, 4), s.counts.Events
	if r+1 < s.counts.Blocks {
		end = s.blockField(r+1, 4)
	}
	return first, end
}

// Event returns event n.
func (s *Store) Event(n uint64) EventRow {
	r := s.event.Row(n)
	return EventRow{Kind: evm.EventKind(r[0]), Tx: binary.LittleEndian.Uint32(r[4:]), Contract: binary.LittleEndian.Uint32(r[8:]),
		Actor: binary.LittleEndian.Uint32(r[12:]), In: binary.LittleEndian.Uint64(r[16:]), Out: binary.LittleEndian.Uint64(r[24:]), Data: common.Hash(r[32:64])}
}

// Postings calls fn with each transfer of address a, in chain order, until
// fn returns false.
func (s *Store) Postings(a uint32, fn func(x uint64) bool) error {
	lo := postingKey(a, 0)
	hi := postingKey(a+1, 0)
	if a == None-1 {
		hi = []byte{keyPosting + 1}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("evm store: index: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		x := binary.BigEndian.Uint64(it.Key()[5:])
		if x >= s.counts.Transfers {
			break
		}
		if !fn(x) {
			break
		}
	}
	return it.Error()
}

// A PostingsReader reads the postings of many addresses through one index
// iterator, as a backward trace does for every sender it explains: making
// an iterator costs more than a seek. Not for concurrent use.
type PostingsReader struct {
	s   *Store
	it  *pebble.Iterator
	key [13]byte
}

// NewPostingsReader returns a reader of postings; Close it.
func (s *Store) NewPostingsReader() (PostingsCursor, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{keyPosting}, UpperBound: []byte{keyPosting + 1}})
	if err != nil {
		return nil, fmt.Errorf("evm store: index: %w", err)
	}
	return &PostingsReader{s: s, it: it}, nil
}

// Postings is Store.Postings through the reader's iterator.
func (p *PostingsReader) Postings(a uint32, fn func(x uint64) bool) error {
	p.key[0] = keyPosting
	binary.BigEndian.PutUint32(p.key[1:], a)
	binary.BigEndian.PutUint64(p.key[5:], 0)
	for ok := p.it.SeekGE(p.key[:]); ok; ok = p.it.Next() {
		k := p.it.Key()
		if len(k) != 13 || binary.BigEndian.Uint32(k[1:]) != a {
			break
		}
		x := binary.BigEndian.Uint64(k[5:])
		if x >= p.s.counts.Transfers {
			break
		}
		if !fn(x) {
			break
		}
	}
	return p.it.Error()
}

// Close releases the reader's iterator.
func (p *PostingsReader) Close() error { return p.it.Close() }

// PostingsBackward calls fn with each transfer of address a, newest first,
// until fn returns false: the latest of a busy address without reading
// the rest.
func (s *Store) PostingsBackward(a uint32, fn func(x uint64) bool) error {
	lo := postingKey(a, 0)
	hi := postingKey(a, s.counts.Transfers)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("evm store: index: %w", err)
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		if !fn(binary.BigEndian.Uint64(it.Key()[5:])) {
			break
		}
	}
	return it.Error()
}

// Token returns a token's symbol and decimals when known.
func (s *Store) Token(a uint32) (symbol string, decimals uint8, ok bool) {
	if s.readOnly {
		if v, hit := s.tokens.Load(a); hit {
			t := v.(tokenInfo)
			return t.symbol, t.decimals, t.ok
		}
	}
	symbol, decimals, ok = s.token(a)
	if s.readOnly {
		s.tokens.Store(a, tokenInfo{symbol, decimals, ok})
	}
	return symbol, decimals, ok
}

func (s *Store) token(a uint32) (symbol string, decimals uint8, ok bool) {
	v, closer, err := s.db.Get(binary.BigEndian.AppendUint32([]byte{keyToken}, a))
	if err != nil {
		return "", 0, false
	}
	defer closer.Close()
	if len(v) < 1 {
		return "", 0, false
	}
	return string(v[1:]), v[0], true
}

// EachToken calls fn with every token whose symbol and decimals are known,
// in address-number order.
func (s *Store) EachToken(fn func(a uint32, symbol string, decimals uint8)) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{keyToken}, UpperBound: []byte{keyToken + 1}})
	if err != nil {
		return fmt.Errorf("evm store: index: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != 5 || len(v) < 1 {
			continue
		}
		if a := binary.BigEndian.Uint32(k[1:]); uint64(a) < s.counts.Addrs {
			fn(a, string(v[1:]), v[0])
		}
	}
	return it.Error()
}

// firstParent is the parent hash of the first stored block, where the store
// kept it (stores made before it was kept lack it).
func (s *Store) firstParent() (common.Hash, bool) {
	v, closer, err := s.db.Get([]byte{keyParent})
	if err != nil {
		return common.Hash{}, false
	}
	defer closer.Close()
	if len(v) != len(common.Hash{}) {
		return common.Hash{}, false
	}
	return common.Hash(v), true
}

// EtherBalance returns what address a holds in ether as the committed
// transfers have it: what it received less what it paid (0 if it paid
// more, as a store that does not begin at genesis may show, or if the
// store does not know it).
func (s *Store) EtherBalance(a common.Address) (bal uint256.Int, err error) {
	n, err := s.AddrNum(a)
	if errors.Is(err, ErrNotFound) {
		return bal, nil
	}
	if err != nil {
		return bal, err
	}
	var in, out uint256.Int
	err = s.Postings(n, func(x uint64) bool {
		t := s.Transfer(x)
		if t.Asset != None {
			return true
		}
		if t.To == n {
			in.Add(&in, &t.Amount)
		}
		if t.From == n {
			out.Add(&out, &t.Amount)
		}
		return true
	})
	if err == nil && in.Gt(&out) {
		bal.Sub(&in, &out)
	}
	return bal, err
}
