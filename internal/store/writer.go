package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/spur-forensics/spur/internal/btc"
)

// PreparedBlock is a decoded block with the per-output work that needs no
// store state already done (script types, addresses, hashes), so that it can
// run on other cores while the store appends the previous block.
type PreparedBlock struct {
	Block *btc.Block
	Outs  []PreparedOut // every output of the block, in order
	// Buf holds the address bytes the Outs point into.
	Buf []byte
}

// PreparedOut is one output's script type and address (type byte then
// payload; nil without an address).
type PreparedOut struct {
	Type btc.ScriptType
	Addr []byte
	Key  uint64 // maphash of Addr, the address cache key
}

var addrSeed = maphash.MakeSeed()

// Prepare classifies every output of the block.
func Prepare(b *btc.Block) *PreparedBlock {
	n := 0
	for i := range b.Txs {
		n += len(b.Txs[i].Outputs)
	}
	p := &PreparedBlock{Block: b, Outs: make([]PreparedOut, 0, n), Buf: make([]byte, 0, n*22)}
	type span struct{ start, end int }
	spans := make([]span, 0, n)
	for i := range b.Txs {
		for _, o := range b.Txs[i].Outputs {
			t, a, ok := btc.ScriptAddress(o.Script)
			po := PreparedOut{Type: t}
			sp := span{-1, -1}
			if ok {
				sp.start = len(p.Buf)
				p.Buf = append(p.Buf, byte(a.Type))
				p.Buf = append(p.Buf, a.Payload...)
				sp.end = len(p.Buf)
			}
			p.Outs = append(p.Outs, po)
			spans = append(spans, sp)
		}
	}
	// Buf no longer moves: point the outputs into it.
	for i, sp := range spans {
		if sp.start >= 0 {
			p.Outs[i].Addr = p.Buf[sp.start:sp.end:sp.end]
			p.Outs[i].Key = maphash.Bytes(addrSeed, p.Outs[i].Addr)
		}
	}
	return p
}

// writer holds what an ingest needs between blocks: the open index batch
// and the caches that spare most index lookups.
type writer struct {
	s   *Store
	idx *pendingIndex
	key []byte
	val []byte

	// A commit writes its index in the background while appends go on;
	// inflight delivers its result and inflightMeta is what it commits.
	inflight     chan error
	inflightMeta meta

	// txs maps the first 8 bytes of a txid to its tx number; addrs maps the
	// maphash of an address to its number. Hits are verified against the
	// columns, so a collision costs a lookup, never a wrong answer. Each
	// cache has two generations: new entries go to the young one, and when
	// it is full the old one is dropped, so the most recent entries (which
	// most spends refer to) stay. While complete is true the caches hold every
	// tx and address of the store and a miss needs no index lookup.
	txs, txsOld     map[uint64]uint32
	txsExact        map[btc.Hash]uint32 // txs whose cache slot another txid holds
	addrs, addrsOld map[uint64]uint32
	addrsEx         map[string]uint32
	complete        bool
	limit           int
}

func newWriter(s *Store, limit int) *writer {
	w := &writer{s: s, limit: limit}
	w.reset()
	return w
}

// reset drops the caches and the uncommitted batch.
func (w *writer) reset() {
	w.idx = &pendingIndex{}
	w.txs, w.txsOld = make(map[uint64]uint32), nil
	w.txsExact = make(map[btc.Hash]uint32)
	w.addrs, w.addrsOld = make(map[uint64]uint32), nil
	w.addrsEx = make(map[string]uint32)
	w.complete = w.s.meta.Counts.Txs == 0
}

func (w *writer) lookupTx(id *btc.Hash) (uint32, bool, error) {
	s := w.s
	k := binary.LittleEndian.Uint64(id[:8])
	if n, ok := w.txs[k]; ok && bytes.Equal(s.txHash.Row(uint64(n)), id[:]) {
		return n, true, nil
	}
	if n, ok := w.txsOld[k]; ok && bytes.Equal(s.txHash.Row(uint64(n)), id[:]) {
		return n, true, nil
	}
	if n, ok := w.txsExact[*id]; ok {
		return n, true, nil
	}
	if w.complete {
		return 0, false, nil
	}
	return s.lookupTxIndex(id[:])
}

func (w *writer) addTx(id *btc.Hash, n uint32) {
	k := binary.LittleEndian.Uint64(id[:8])
	if old, ok := w.txs[k]; ok && !bytes.Equal(w.s.txHash.Row(uint64(old)), id[:]) {
		w.txsExact[*id] = n
		return
	}
	w.txs[k] = n
}

func (w *writer) lookupAddr(a []byte, key uint64) (uint32, bool, error) {
	s := w.s
	if n, ok := w.addrs[key]; ok && bytes.Equal(s.addrBytes(uint64(n)), a) {
		return n, true, nil
	}
	if n, ok := w.addrsOld[key]; ok && bytes.Equal(s.addrBytes(uint64(n)), a) {
		return n, true, nil
	}
	if len(w.addrsEx) > 0 {
		if n, ok := w.addrsEx[string(a)]; ok {
			return n, true, nil
		}
	}
	if w.complete {
		return 0, false, nil
	}
	v, closer, err := s.db.Get(addrKey(w.key[:0], a))
	if err == pebble.ErrNotFound {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: index: %w", err)
	}
	n := binary.BigEndian.Uint32(v)
	closer.Close()
	w.addrs[key] = n
	return n, true, nil
}

func (w *writer) addAddr(a []byte, key uint64, n uint32) {
	if old, ok := w.addrs[key]; ok && !bytes.Equal(w.s.addrBytes(uint64(old)), a) {
		w.addrsEx[string(a)] = n
		return
	}
	w.addrs[key] = n
}

// AppendBlock adds a block on top of the store's tip. It is not durable
// until Commit. An error leaves the store's committed state untouched; the
// caller should Rollback (or close the store) after one.
func (s *Store) AppendBlock(p *PreparedBlock) error {
	w := s.w
	b := p.Block
	live := s.liveCounts()
	height := live.Blocks
	if height == 0 {
		if b.Hash != s.net.Genesis {
			return fmt.Errorf("%w: first block %s is not network %s's genesis %s", ErrNotConnected, b.Hash, s.net.Name, s.net.Genesis)
		}
	} else if tip := s.blockHash.Row(height - 1); !bytes.Equal(tip, b.Header.Prev[:]) {
		return fmt.Errorf("%w: block %s has parent %s, store tip at height %d is %s", ErrNotConnected, b.Hash, b.Header.Prev, height-1, btc.Hash(tip))
	}
	if live.Txs+uint64(len(b.Txs)) > maxTxs {
		return fmt.Errorf("store: more than %d transactions", uint64(maxTxs))
	}
	w.idx.add(&w.idx.blocks, b.Hash[:], uint32(height), nil)
	s.blockHash.AppendRaw(b.Hash[:])
	s.blockHeader.AppendRaw(b.Raw[:btc.HeaderSize])
	s.blockTx.AppendU64(live.Txs)
	s.blockAddr.AppendU64(live.Addrs)

	outIdx := 0
	nIn, nOut, nAddr := live.Inputs, live.Outputs, live.Addrs
	for ti := range b.Txs {
		tx := &b.Txs[ti]
		txn := live.Txs + uint64(ti)
		s.txHash.AppendRaw(tx.TxID[:])
		s.txIn.AppendU64(nIn)
		s.txOut.AppendU64(nOut)
		s.txHeight.AppendU32(uint32(height))
		var info [16]byte
		binary.LittleEndian.PutUint32(info[0:], uint32(tx.Size))
		binary.LittleEndian.PutUint32(info[4:], uint32(tx.Weight()))
		binary.LittleEndian.PutUint32(info[8:], uint32(tx.Version))
		binary.LittleEndian.PutUint32(info[12:], tx.LockTime)
		s.txInfo.AppendRaw(info[:])

		var in, out uint64
		coinbase := ti == 0 && tx.IsCoinbase()
		for ii := range tx.Inputs {
			if coinbase {
				s.inOut.AppendU64(NoOutput)
				continue
			}
			txin := &tx.Inputs[ii]
			prev, ok, err := w.lookupTx(&txin.PrevTxID)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: block %s: tx %s input %d spends unknown tx %s", ErrNotConnected, b.Hash, tx.TxID, ii, txin.PrevTxID)
			}
			first := s.txOut.U64(uint64(prev))
			if uint64(txin.PrevIndex) >= s.txOut.U64(uint64(prev)+1)-first {
				return fmt.Errorf("%w: block %s: tx %s input %d spends output %d of tx %s, which has %d", ErrCorrupt, b.Hash, tx.TxID, ii, txin.PrevIndex, txin.PrevTxID, s.txOut.U64(uint64(prev)+1)-first)
			}
			o := first + uint64(txin.PrevIndex)
			in += s.outValue.U64(o) & (1<<valueBits - 1)
			s.outSpent.SetU32(o, uint32(txn)+1)
			s.inOut.AppendU64(o)
		}
		nIn += uint64(len(tx.Inputs))

		for oi := range tx.Outputs {
			po := &p.Outs[outIdx]
			outIdx++
			v := tx.Outputs[oi].Value
			if v < 0 || v >= 1<<valueBits {
				return fmt.Errorf("%w: block %s: tx %s output %d: value %d out of range", ErrCorrupt, b.Hash, tx.TxID, oi, v)
			}
			out += uint64(v)
			s.outValue.AppendU64(uint64(v) | uint64(po.Type)<<valueBits)
			s.outSpent.AppendU32(0)
			a := NoAddress
			if po.Addr != nil {
				n, ok, err := w.lookupAddr(po.Addr, po.Key)
				if err != nil {
					return err
				}
				if !ok {
					if nAddr >= uint64(NoAddress) {
						return fmt.Errorf("store: more than %d addresses", NoAddress-1)
					}
					n = uint32(nAddr)
					nAddr++
					s.addrData.AppendRaw(po.Addr)
					s.addrEnd.AppendU64(s.addrData.Rows())
					w.addAddr(po.Addr, po.Key, n)
					w.idx.add(&w.idx.addrs, po.Addr, n, nil)
				}
				a = n
				w.idx.postings = append(w.idx.postings, posting{a, nOut})
			}
			s.outAddr.AppendU32(a)
			nOut++
		}
		var fee uint64
		if !coinbase {
			if in < out {
				return fmt.Errorf("%w: block %s: tx %s spends %d but pays %d", ErrCorrupt, b.Hash, tx.TxID, in, out)
			}
			fee = in - out
		}
		s.txFee.AppendU64(fee)
		var wtxid []byte
		if tx.Segwit {
			wtxid = tx.WTxID[:]
		}
		// Only coinbases can repeat a txid (BIP30, before BIP34).
		var dupOf uint32
		var dup bool
		if coinbase {
			var err error
			if dupOf, dup, err = w.lookupTx(&tx.TxID); err != nil {
				return err
			}
		}
		w.val = txValue(w.val[:0], uint32(txn), wtxid, dupOf, dup)
		w.idx.add(&w.idx.txs, tx.TxID[:], uint32(txn), w.val)
		w.addTx(&tx.TxID, uint32(txn))
	}
	return nil
}

// Pending reports how many bytes of column data await Commit.
func (s *Store) Pending() int {
	n := 0
	for _, c := range s.cols {
		n += c.PendingBytes()
	}
	return n
}

// Commit makes every appended block durable, in the order the package doc
// gives, and returns when it is.
func (s *Store) Commit() error {
	if err := s.CommitAsync(); err != nil {
		return err
	}
	return s.wait()
}

// CommitAsync starts a commit of every appended block: the columns are
// written and synced now; the index is sorted, written and ingested in the
// background, and META is replaced after it. Appends may go on meanwhile.
// The next commit, and every read of committed state, waits for it.
func (s *Store) CommitAsync() error {
	if err := s.wait(); err != nil {
		return err
	}
	live := s.liveCounts()
	if live == s.meta.Counts {
		return nil
	}
	if err := s.flushColumns(); err != nil {
		return err
	}
	m := s.meta
	m.Counts = live
	copy(m.Tip[:], s.blockHash.Row(live.Blocks-1))
	w := s.w
	idx := w.idx
	w.idx = newPendingIndex(idx)
	done := make(chan error, 1)
	w.inflight, w.inflightMeta = done, m
	go func() {
		err := writeIndex(s.db, s.dbOpts, s.dir, idx)
		if err == nil {
			err = writeMeta(s.dir, &m)
		}
		done <- err
	}()
	// Keep memory flat on long chains: drop the old generation. Its
	// entries were committed before the commit this one waited for, so the
	// index holds them.
	if len(w.txs) > w.limit {
		w.txsOld, w.txs = w.txs, make(map[uint64]uint32, len(w.txs))
		w.complete = false
	}
	if len(w.addrs) > w.limit {
		w.addrsOld, w.addrs = w.addrs, make(map[uint64]uint32, len(w.addrs))
		w.complete = false
	}
	return nil
}

// flushColumns writes and syncs every column's new rows at once (the files
// are independent, so their syncs overlap), then the rewritten out.spent rows.
func (s *Store) flushColumns() error {
	errs := make([]error, len(s.cols))
	var wg sync.WaitGroup
	for i, c := range s.cols {
		if c.PendingBytes() == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.FlushAppends()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return s.outSpent.FlushUpdates()
}

// wait finishes the commit in flight, if any.
func (s *Store) wait() error {
	w := s.w
	if w == nil || w.inflight == nil {
		return nil
	}
	err := <-w.inflight
	w.inflight = nil
	if err != nil {
		return err
	}
	s.meta = w.inflightMeta
	return s.committed()
}

// Rollback drops everything appended since the last Commit.
func (s *Store) Rollback() error {
	werr := s.wait()
	s.w.reset()
	if werr != nil {
		return errors.Join(werr, s.undoPastCommit())
	}
	return s.undoPastCommit()
}
