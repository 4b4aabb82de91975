package evmstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/evm"
)

// writer holds an ingest's uncommitted state.
type writer struct {
	s      *Store
	counts Counts // including appended, uncommitted rows
	tip    common.Hash
	batch  *pebble.Batch
	fresh  map[common.Address]uint32 // addresses numbered since the last commit
	cache  map[common.Address]uint32 // committed addresses seen lately
}

const cacheLimit = 1 << 22

func newWriter(s *Store) *writer {
	w := &writer{s: s}
	w.reset()
	return w
}

func (w *writer) reset() {
	w.counts = w.s.counts
	_, w.tip, _ = w.s.Tip()
	if w.batch != nil {
		w.batch.Close()
	}
	w.batch = w.s.db.NewBatch()
	w.fresh = map[common.Address]uint32{}
	if w.cache == nil || len(w.cache) > cacheLimit {
		w.cache = map[common.Address]uint32{}
	}
}

// addrNum returns the number of a, giving it the next one if new.
func (w *writer) addrNum(a common.Address) (uint32, error) {
	if n, ok := w.fresh[a]; ok {
		return n, nil
	}
	if n, ok := w.cache[a]; ok {
		return n, nil
	}
	n, ok, err := w.s.lookupAddr(a)
	if err != nil {
		return 0, err
	}
	if ok {
		w.cache[a] = n
		return n, nil
	}
	if w.counts.Addrs >= uint64(None) {
		return 0, fmt.Errorf("evm store: more than %d addresses", None)
	}
	n = uint32(w.counts.Addrs)
	w.counts.Addrs++
	w.fresh[a] = n
	w.s.addr.AppendRaw(a[:])
	w.batch.Set(append([]byte{keyAddr}, a[:]...), binary.LittleEndian.AppendUint32(nil, n), nil)
	return n, nil
}

func (s *Store) lookupAddr(a common.Address) (uint32, bool, error) {
	v, closer, err := s.db.Get(append([]byte{keyAddr}, a[:]...))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("evm store: index: %w", err)
	}
	defer closer.Close()
	if len(v) != 4 {
		return 0, false, fmt.Errorf("%w: address entry of %d bytes", ErrCorrupt, len(v))
	}
	return binary.LittleEndian.Uint32(v), true, nil
}

func postingKey(a uint32, x uint64) []byte {
	k := make([]byte, 13)
	k[0] = keyPosting
	binary.BigEndian.PutUint32(k[1:], a)
	binary.BigEndian.PutUint64(k[5:], x)
	return k
}

// AppendBlock appends b, which must be the block after the stored tip (any
// block when the store is empty). Nothing is durable before Commit.
func (s *Store) AppendBlock(b *evm.Block) error {
	if s.readOnly {
		return ErrReadOnly
	}
	w := s.w
	c := &w.counts
	if c.Blocks > 0 {
		if want := c.First + c.Blocks; b.Number != want {
			return fmt.Errorf("%w: got block %d, want %d", ErrNotNext, b.Number, want)
		}
		if b.Parent != w.tip {
			return fmt.Errorf("%w: block %d's parent %s is not the stored block %d %s (a reorg)", ErrNotNext, b.Number, b.Parent.Hex(), b.Number-1, w.tip.Hex())
		}
	} else {
		c.First = b.Number
		// Its parent is no stored block's hash: kept so that it shows.
		w.batch.Set([]byte{keyParent}, b.Parent[:], nil)
	}
	xs := b.Transfers()
	if c.Txs+uint64(len(b.Txs)) >= uint64(None) {
		return fmt.Errorf("evm store: more than %d transactions", None)
	}
	// Check everything that can fail before the first append, so that a
	// refused block leaves the columns as they were.
	for i := range b.Txs {
		if !b.Txs[i].GasPrice.IsUint64() {
			return fmt.Errorf("evm store: block %d tx %s: gas price %s wei does not fit 64 bits", b.Number, b.Txs[i].Hash.Hex(), b.Txs[i].GasPrice.Dec())
		}
	}
	evs := evm.Events(b, xs)

	row := c.Blocks
	info := make([]byte, 0, blockInfoSize)
	for _, v := range []uint64{b.Time, c.Txs, c.Transfers, c.Addrs, c.Events} {
		info = binary.LittleEndian.AppendUint64(info, v)
	}
	info = binary.LittleEndian.AppendUint32(info, uint32(c.Big))
	miner, err := w.addrNum(b.Miner)
	if err != nil {
		return err
	}
	info = binary.LittleEndian.AppendUint32(info, miner)
	s.blockHash.AppendRaw(b.Hash[:])
	s.blockInfo.AppendRaw(info)
	w.batch.Set(append([]byte{keyBlock}, b.Hash[:]...), binary.LittleEndian.AppendUint32(nil, uint32(row)), nil)

	firstTx := c.Txs
	var tb [txInfoSize]byte
	for i := range b.Txs {
		t := &b.Txs[i]
		to, contract := None, None
		from, err := w.addrNum(t.From)
		if err != nil {
			return err
		}
		if t.To != nil {
			if to, err = w.addrNum(*t.To); err != nil {
				return err
			}
		}
		if t.Contract != nil {
			if contract, err = w.addrNum(*t.Contract); err != nil {
				return err
			}
		}
		binary.LittleEndian.PutUint32(tb[0:], uint32(row))
		binary.LittleEndian.PutUint32(tb[4:], from)
		binary.LittleEndian.PutUint32(tb[8:], to)
		binary.LittleEndian.PutUint32(tb[12:], contract)
		tb[16] = byte(t.Status)
		tb[17] = t.Type
		tb[18] = 0
		if t.Receipt {
			tb[18] = 1
		}
		tb[19] = 0
		copy(tb[20:24], t.Selector[:])
		binary.LittleEndian.PutUint64(tb[24:], t.Nonce)
		binary.LittleEndian.PutUint64(tb[32:], t.GasUsed)
		binary.LittleEndian.PutUint64(tb[40:], t.GasPrice.Uint64())
		s.txHash.AppendRaw(t.Hash[:])
		s.txInfo.AppendRaw(tb[:])
		w.batch.Set(append([]byte{keyTx}, t.Hash[:]...), binary.LittleEndian.AppendUint32(nil, uint32(c.Txs)), nil)
		c.Txs++
	}

	firstXfer := c.Transfers
	var xb [xferSize]byte
	for i := range xs {
		x := &xs[i]
		tx := None
		if x.TxIndex != evm.NoTx {
			tx = uint32(firstTx) + uint32(x.TxIndex)
		}
		from, to, asset := None, None, None
		var err error
		// Rewards and withdrawals come from nowhere and the base fee goes
		// nowhere; a token's zero address is a real party (mints, burns).
		if !x.Kind.FromNowhere() {
			if from, err = w.addrNum(x.From); err != nil {
				return err
			}
		}
		if x.Kind != evm.KindBurn {
			if to, err = w.addrNum(x.To); err != nil {
				return err
			}
		}
		if !x.Kind.Native() {
			if asset, err = w.addrNum(x.Asset); err != nil {
				return err
			}
		}
		binary.LittleEndian.PutUint32(xb[0:], tx)
		binary.LittleEndian.PutUint32(xb[4:], from)
		binary.LittleEndian.PutUint32(xb[8:], to)
		binary.LittleEndian.PutUint32(xb[12:], asset)
		xb[16] = byte(x.Kind)
		xb[17] = 0
		binary.LittleEndian.PutUint32(xb[20:], x.Index)
		clear(xb[24:])
		if x.Amount.BitLen() > 128 {
			xb[17] = 1
			binary.LittleEndian.PutUint64(xb[24:], c.Big)
			be := x.Amount.Bytes32()
			s.xferBig.AppendRaw(be[:])
			c.Big++
		} else {
			binary.LittleEndian.PutUint64(xb[24:], x.Amount[0])
			binary.LittleEndian.PutUint64(xb[32:], x.Amount[1])
		}
		s.xfer.AppendRaw(xb[:])
		n := c.Transfers
		if from != None {
			w.batch.Set(postingKey(from, n), nil, nil)
		}
		if to != None && to != from {
			w.batch.Set(postingKey(to, n), nil, nil)
		}
		c.Transfers++
	}

	var eb [eventSize]byte
	for i := range evs {
		e := &evs[i]
		contract, err := w.addrNum(e.Contract)
		if err != nil {
			return err
		}
		actor, err := w.addrNum(e.Actor)
		if err != nil {
			return err
		}
		clear(eb[:])
		eb[0] = byte(e.Kind)
		binary.LittleEndian.PutUint32(eb[4:], uint32(firstTx)+uint32(e.TxIndex))
		binary.LittleEndian.PutUint32(eb[8:], contract)
		binary.LittleEndian.PutUint32(eb[12:], actor)
		in, out := ^uint64(0), ^uint64(0)
		if e.In >= 0 {
			in = firstXfer + uint64(e.In)
		}
		if e.Out >= 0 {
			out = firstXfer + uint64(e.Out)
		}
		binary.LittleEndian.PutUint64(eb[16:], in)
		binary.LittleEndian.PutUint64(eb[24:], out)
		copy(eb[32:], e.Data[:])
		s.event.AppendRaw(eb[:])
		c.Events++
	}
	c.Blocks++
	w.tip = b.Hash
	return nil
}

// Pending reports how many bytes await Commit: column data and index
// entries (the batch is held in memory until then).
func (s *Store) Pending() int {
	var n int
	if s.w.batch != nil {
		n = s.w.batch.Len()
	}
	for _, c := range s.cols {
		n += c.PendingBytes()
	}
	return n
}

// Uncommitted says whether anything was appended since the last commit.
func (s *Store) Uncommitted() bool {
	if s.w.batch != nil && !s.w.batch.Empty() {
		return true
	}
	for _, c := range s.cols {
		if c.PendingBytes() > 0 {
			return true
		}
	}
	return false
}

// SetToken records a token's symbol and decimals (from a token list or
// ethereum-etl's tokens.csv); it is written with the next Commit.
func (s *Store) SetToken(token common.Address, symbol string, decimals uint8) error {
	n, err := s.w.addrNum(token)
	if err != nil {
		return err
	}
	k := binary.BigEndian.AppendUint32([]byte{keyToken}, n)
	return s.w.batch.Set(k, append([]byte{decimals}, symbol...), nil)
}

// Commit makes every appended block durable: column rows first, then the
// index entries with the new counts in one synced batch.
func (s *Store) Commit() error {
	if !s.Uncommitted() {
		// Nothing to commit; the index may be closed, by a LetReadersIn
		// stopped while readers held the store.
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.w
	if err := s.roomToCommit(); err != nil {
		return err
	}
	errs := make([]error, len(s.cols))
	var wg sync.WaitGroup
	for i, c := range s.cols {
		if c.PendingBytes() == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Flush()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	w.batch.Set([]byte{keyCounts}, w.counts.marshal(), nil)
	if err := w.batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("evm store: index: %w", err)
	}
	s.counts = w.counts
	for a, n := range w.fresh {
		w.cache[a] = n
	}
	w.reset()
	return nil
}

// roomToCommit refuses a commit the disk has no room for, before anything
// of it is written: the columns' pending rows and the index batch
// (colfile.PebbleBatchRoom).
func (s *Store) roomToCommit() error {
	need := colfile.PebbleBatchRoom(s.w.batch.Len())
	for _, c := range s.cols {
		need += uint64(c.PendingBytes())
	}
	if err := colfile.RoomFor(s.dir, need); err != nil {
		return fmt.Errorf("evm store: %s: %w", s.dir, err)
	}
	return nil
}

// Rollback drops everything appended since the last Commit.
func (s *Store) Rollback() error {
	for _, c := range s.cols {
		c.DropPending()
	}
	s.w.reset()
	return nil
}
