package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/hashidx"
)

// PreparedBlock is a decoded block with the work that needs no store state
// already done (script types, addresses, the rows of the columns that are
// the block's alone), so that it can run on other cores while the store
// appends the previous block.
type PreparedBlock struct {
	Block *btc.Block
	Outs  []PreparedOut // every output of the block, in order
	// Buf holds the address bytes the Outs point into.
	Buf []byte
	// Done, when set, is called once the store no longer reads Outs and
	// Buf: AppendBlock may return before (see addrStage), and does not
	// call it when it fails. Block itself is not read after AppendBlock
	// returns.
	Done func()

	// The block's rows of tx.hash, tx.wtxid, tx.info and out.value, which
	// the append copies whole: read field by field from the decoded
	// transactions, on the core that did not decode them, they cost a
	// cache miss a transaction.
	hashes, wtxids, infos, values []byte
	ins, outs                     []uint32 // each tx's first input and output in the block, and the block's counts
	prevKeys                      []uint64 // each input's spent txid's hash in the txid table
	prevIdx                       []uint32 // each input's spent output's index in its tx
	paid                          []uint64 // each tx's outputs' sum
	badTx, badOut                 int      // the first output whose value is out of range (badTx -1: none)
}

// PreparedOut is one output's address: its place in the block's Buf (type
// byte then payload; end 0 for an output without one) and its hash in the
// address table. Small, as the address stage reads these on the other core
// and the next block's Prepare writes them again.
type PreparedOut struct {
	Key        uint64
	start, end int32
}

// addr returns output i's address (nil without one).
func (p *PreparedBlock) addr(i int) []byte {
	o := &p.Outs[i]
	if o.end == 0 {
		return nil
	}
	return p.Buf[o.start:o.end:o.end]
}

// Prepare classifies every output of the block.
func Prepare(b *btc.Block) *PreparedBlock {
	p := new(PreparedBlock)
	p.Prepare(b)
	return p
}

// Prepare classifies every output of b into p, reusing p's memory: nothing
// from p's last block may be in use any more.
func (p *PreparedBlock) Prepare(b *btc.Block) {
	p.Block = b
	p.Outs, p.Buf = p.Outs[:0], p.Buf[:0]
	p.hashes, p.wtxids, p.infos, p.values = p.hashes[:0], p.wtxids[:0], p.infos[:0], p.values[:0]
	p.ins, p.outs, p.paid = p.ins[:0], p.outs[:0], p.paid[:0]
	p.prevKeys, p.prevIdx = p.prevKeys[:0], p.prevIdx[:0]
	p.badTx, p.badOut = -1, -1
	var nin, nout uint32
	for i := range b.Txs {
		tx := &b.Txs[i]
		p.hashes = append(p.hashes, tx.TxID[:]...)
		if tx.Segwit {
			p.wtxids = append(p.wtxids, tx.WTxID[:]...)
		} else {
			p.wtxids = append(p.wtxids, zeroHash[:]...)
		}
		p.infos = binary.LittleEndian.AppendUint32(p.infos, uint32(tx.Size))
		p.infos = binary.LittleEndian.AppendUint32(p.infos, uint32(tx.Weight()))
		p.infos = binary.LittleEndian.AppendUint32(p.infos, uint32(tx.Version))
		p.infos = binary.LittleEndian.AppendUint32(p.infos, tx.LockTime)
		p.ins, p.outs = append(p.ins, nin), append(p.outs, nout)
		for ii := range tx.Inputs {
			p.prevKeys = append(p.prevKeys, hashOfHash(tx.Inputs[ii].PrevTxID[:]))
			p.prevIdx = append(p.prevIdx, tx.Inputs[ii].PrevIndex)
		}
		nin += uint32(len(tx.Inputs))
		nout += uint32(len(tx.Outputs))
		var paid uint64
		for oi, o := range tx.Outputs {
			t, a, ok := btc.ScriptAddress(o.Script)
			var po PreparedOut
			if ok {
				po.start = int32(len(p.Buf))
				p.Buf = append(p.Buf, byte(a.Type))
				p.Buf = append(p.Buf, a.Payload...)
				po.end = int32(len(p.Buf))
				po.Key = hashOfAddr(p.Buf[po.start:po.end])
			}
			p.Outs = append(p.Outs, po)
			if (o.Value < 0 || o.Value >= 1<<valueBits) && p.badTx < 0 {
				p.badTx, p.badOut = i, oi
			}
			paid += uint64(o.Value)
			p.values = binary.LittleEndian.AppendUint64(p.values, uint64(o.Value)|uint64(t)<<valueBits)
		}
		p.paid = append(p.paid, paid)
	}
	p.ins, p.outs = append(p.ins, nin), append(p.outs, nout)
}

// writer holds what an ingest needs between commits: the postings of the
// outputs appended since the last commit, the commit in flight, and the
// goroutine that numbers addresses.
type writer struct {
	s         *Store
	postings  []posting // written by the address stage
	spare     []posting // the postings of the last commit, for reuse
	spends    []uint64  // findSpends' answer, reused from block to block
	values    []uint64  // the out.value rows of spends, likewise
	addrCands []uint64  // the address stage's candidate rows, one per output with an address
	addrs     addrStage

	// A commit writes its postings in the background while appends go on;
	// inflight delivers its result and inflightMeta is what it commits.
	inflight      chan error
	inflightMeta  meta
	inflightPairs []posting // the postings the commit in flight writes
	// tablesSynced is closed once the hash tables that commit syncs are
	// synced; a rebuild waits for it before it replaces a table.
	tablesSynced chan struct{}
}

func newWriter(s *Store) *writer { return &writer{s: s} }

// reset drops the uncommitted postings and a failure of the address stage;
// the stage must be drained.
func (w *writer) reset() {
	w.postings = w.postings[:0]
	w.addrs.err = nil
	w.addrs.failed.Store(false)
}

// An append runs in two stages on two goroutines, which share no column:
// AppendBlock stores the block, its transactions, inputs (finding the
// outputs they spend) and outputs' values, then hands the block to the
// address stage, which finds or numbers each output's address (out.addr,
// addr.*, block.addr, the postings) while the next block is appended. They
// meet at every commit, rollback and close (drain). On a long chain the two
// take comparable time, each mostly in its hash-table lookups.
type addrStage struct {
	jobs    chan addrJob
	pending sync.WaitGroup // jobs handed over and not done
	failed  atomic.Bool    // err is set: appends stop
	err     error          // the stage's first error; read after a drain
	bytes   atomic.Int64   // column bytes appended since the last commit
}

type addrJob struct {
	p    *PreparedBlock
	nOut uint64 // the block's first output
}

// handAddrs queues block p, whose first output is nOut, for the address
// stage, starting the stage on first use.
func (s *Store) handAddrs(p *PreparedBlock, nOut uint64) {
	a := &s.w.addrs
	if a.jobs == nil {
		a.jobs = make(chan addrJob, 16)
		go func() {
			for j := range a.jobs {
				s.numberAddrs(j)
			}
		}()
	}
	a.pending.Add(1)
	a.jobs <- addrJob{p: p, nOut: nOut}
}

// drainAddrs waits until the address stage has done every block handed to
// it, and returns its error, if any.
func (s *Store) drainAddrs() error {
	if s.w == nil {
		return nil
	}
	s.w.addrs.pending.Wait()
	return s.w.addrs.err
}

// stopAddrs drains the address stage and ends its goroutine.
func (s *Store) stopAddrs() {
	if s.w == nil || s.w.addrs.jobs == nil {
		return
	}
	s.drainAddrs()
	close(s.w.addrs.jobs)
	s.w.addrs.jobs = nil
}

// numberAddrs is the address stage of one block.
func (s *Store) numberAddrs(j addrJob) {
	a := &s.w.addrs
	defer a.pending.Done()
	if j.p.Done != nil {
		defer j.p.Done()
	}
	if a.failed.Load() {
		return // the blocks after a failure are rolled back
	}
	if err := s.appendAddrs(j.p, j.nOut); err != nil {
		a.err = err
		a.failed.Store(true)
	}
}

// noCandidate marks an output whose address the table names no row for.
const noCandidate = ^uint64(0)

func (s *Store) appendAddrs(p *PreparedBlock, nOut uint64) error {
	nAddr := s.addrEnd.Rows()
	before := s.addrData.PendingBytes() + s.addrEnd.PendingBytes() + s.outAddr.PendingBytes()
	s.blockAddr.AppendU64(nAddr)
	// This stage is the slower of the two on a long chain, and its time
	// is mostly cache misses on the table: start them all at once (and
	// the reads of its pages, when it is mostly out of memory).
	s.addrIdx.BeginBatch()
	for i := range p.Outs {
		if p.Outs[i].end > 0 {
			s.addrIdx.Prefetch(p.Outs[i].Key)
		}
	}
	// Then, for the addresses seen before, what confirming them reads:
	// the ends of their rows, then their bytes. cands has an entry for
	// every output with an address: the row the table names for it, or
	// noCandidate.
	cands := s.w.addrCands[:0]
	for i := range p.Outs {
		if p.Outs[i].end > 0 {
			n, ok := s.addrIdx.Candidate(p.Outs[i].Key, nAddr)
			if !ok {
				cands = append(cands, noCandidate)
				continue
			}
			s.addrEnd.Prefetch(n)
			if n > 0 {
				s.addrEnd.Prefetch(n - 1)
			}
			cands = append(cands, n)
		}
	}
	for _, n := range cands {
		if n != noCandidate && n > 0 {
			s.addrData.Prefetch(s.addrEnd.U64(n - 1))
		}
	}
	// The candidates confirmed in a pass of their own, whose loads depend
	// on nothing else, so that their misses overlap. A confirmed one is
	// the address (addresses are unique in the table); the others, and
	// addresses without a candidate (new, or first seen in this block),
	// are looked up or added below.
	k := 0
	for i := range p.Outs {
		if a := p.addr(i); a != nil {
			if n := cands[k]; n != noCandidate && !bytes.Equal(s.addrBytes(n), a) {
				cands[k] = noCandidate
			}
			k++
		}
	}
	s.w.addrCands = cands
	k = 0
	for i := range p.Outs {
		a := NoAddress
		if addr := p.addr(i); addr != nil {
			n := cands[k]
			k++
			if n == noCandidate {
				var added bool
				var err error
				n, added, err = s.findOrAddAddr(addr, p.Outs[i].Key, nAddr)
				if err != nil {
					return err
				}
				if added {
					if n >= uint64(NoAddress) {
						return fmt.Errorf("store: more than %d addresses", NoAddress-1)
					}
					nAddr++
					s.addrData.AppendRaw(addr)
					s.addrEnd.AppendU64(s.addrData.Rows())
				}
			}
			a = uint32(n)
			s.w.postings = append(s.w.postings, posting{a, nOut})
		}
		s.outAddr.AppendU32(a)
		nOut++
	}
	after := s.addrData.PendingBytes() + s.addrEnd.PendingBytes() + s.outAddr.PendingBytes()
	s.w.addrs.bytes.Add(int64(after-before) + 8)
	return nil
}

// AppendBlock adds a block on top of the store's tip. It is not durable
// until Commit. An error leaves the store's committed state untouched; the
// caller should Rollback (or close the store) after one.
func (s *Store) AppendBlock(p *PreparedBlock) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if s.lock.Shared() {
		return errShared
	}
	if s.w.addrs.failed.Load() {
		return s.drainAddrs()
	}
	b := p.Block
	live := s.txCounts()
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
	s.blockHash.AppendRaw(b.Hash[:])
	if err := s.insert(&s.blockIdx, s.blockRowHash, hashOfHash(b.Hash[:]), height, height+1); err != nil {
		return err
	}
	s.blockHeader.AppendRaw(b.Raw[:btc.HeaderSize])
	s.blockTx.AppendU64(live.Txs)
	// The txid lookups of the inputs below, and the inserts of the block's
	// txids, miss the cache on a long chain: start them all at once (as the
	// address stage does).
	s.txIdx.BeginBatch()
	for ti := range b.Txs {
		s.txIdx.Prefetch(hashOfHash(p.hashes[32*ti:]))
	}
	for _, key := range p.prevKeys {
		s.txIdx.Prefetch(key)
	}

	spends, values := s.findSpends(p, live)

	// The rows that are the block's alone, whole; each tx's inputs then
	// read the rows of the outputs they spend, this block's too.
	s.txHash.AppendRaw(p.hashes)
	s.txWtxid.AppendRaw(p.wtxids)
	s.txInfo.AppendRaw(p.infos)
	ntx := len(b.Txs)
	for ti := range ntx {
		s.txIn.AppendU64(live.Inputs + uint64(p.ins[ti]))
		s.txOut.AppendU64(live.Outputs + uint64(p.outs[ti]))
		s.txHeight.AppendU32(uint32(height))
	}
	s.outValue.AppendRaw(p.values)
	s.outSpent.AppendZeros(4 * int(p.outs[ntx]))

	dup := false // a txid of this block is in the table below it
	for ti := range ntx {
		txn := live.Txs + uint64(ti)
		var in uint64
		coinbase := ti == 0 && b.Txs[0].IsCoinbase()
		for k := p.ins[ti]; k < p.ins[ti+1]; k++ {
			if coinbase {
				s.inOut.AppendU64(NoOutput)
				continue
			}
			o, v := spends[k], values[k]
			if o == NoOutput || dup {
				tx, ii := &b.Txs[ti], k-p.ins[ti]
				txin := &tx.Inputs[ii]
				prev, ok := s.spentTx(txin.PrevTxID[:], txn)
				if !ok {
					return fmt.Errorf("%w: block %s: tx %s input %d spends unknown tx %s", ErrNotConnected, b.Hash, tx.TxID, ii, txin.PrevTxID)
				}
				first, end := s.txOut.U64(prev), s.txOut.U64(prev+1)
				if uint64(txin.PrevIndex) >= end-first {
					return fmt.Errorf("%w: block %s: tx %s input %d spends output %d of tx %s, which has %d", ErrCorrupt, b.Hash, tx.TxID, ii, txin.PrevIndex, txin.PrevTxID, end-first)
				}
				o = first + uint64(txin.PrevIndex)
				v = s.outValue.U64(o)
			}
			in += v & (1<<valueBits - 1)
			s.outSpent.SetU32(o, uint32(txn)+1)
			s.inOut.AppendU64(o)
		}
		if ti == p.badTx {
			tx := &b.Txs[ti]
			return fmt.Errorf("%w: block %s: tx %s output %d: value %d out of range", ErrCorrupt, b.Hash, tx.TxID, p.badOut, tx.Outputs[p.badOut].Value)
		}
		var fee uint64
		if out := p.paid[ti]; !coinbase {
			if in < out {
				return fmt.Errorf("%w: block %s: tx %s spends %d but pays %d", ErrCorrupt, b.Hash, b.Txs[ti].TxID, in, out)
			}
			fee = in - out
		}
		s.txFee.AppendU64(fee)
		txid := p.hashes[32*ti : 32*ti+32]
		// A repeated txid (two pairs of coinbases, BIP30) needs nothing
		// more: lookups take the later tx, and after an unwind of it the
		// earlier one again.
		seen := false
		if err := s.put(&s.txIdx, s.txRowHash, txn+1, txn+1, func(t *hashidx.Table) (ok bool) {
			ok, seen = t.InsertSeeing(hashOfHash(txid), txn, txn+1)
			return ok
		}); err != nil {
			return err
		}
		// The spends found ahead took no account of this block's txids;
		// they stand unless one of them shares a tag with an earlier tx
		// (two coinbases with one txid, as before BIP30, or a tag alike).
		dup = dup || seen
	}
	s.handAddrs(p, live.Outputs)
	return nil
}

// findSpends returns, for every input of block p (whose first tx, input
// and output are live's counts), the output it spends when that is an
// output of an earlier block, NoOutput otherwise (a coinbase, an output of
// this block, or an error the append reports), and that output's out.value
// row (0 for NoOutput). It finds them in passes, each prefetching what the
// next reads (table slots, then tx.out rows, then out.value rows), so that
// their cache misses overlap rather than come one after another as the
// append goes.
func (s *Store) findSpends(p *PreparedBlock, live Counts) (spends, values []uint64) {
	b := p.Block
	sp := s.w.spends[:0]
	first := 0 // the first input that is not a coinbase's
	if b.Txs[0].IsCoinbase() {
		first = len(b.Txs[0].Inputs)
		for range first {
			sp = append(sp, NoOutput)
		}
	}
	ti := 0
	for k := first; k < len(p.prevKeys); k++ {
		// A lone candidate is taken as it is; several are confirmed
		// against the input's txid.
		prev, ok := s.txIdx.LookupPresent(p.prevKeys[k], live.Txs, func(n uint64) bool {
			for p.ins[ti+1] <= uint32(k) {
				ti++
			}
			return bytes.Equal(s.txHash.Row(n), b.Txs[ti].Inputs[uint32(k)-p.ins[ti]].PrevTxID[:])
		})
		if !ok {
			prev = NoOutput
		} else {
			s.txOut.Prefetch(prev)
		}
		sp = append(sp, prev)
	}
	for k, prev := range sp {
		if prev == NoOutput {
			continue
		}
		start, end := s.txOut.U64(prev), live.Outputs
		if prev+1 < live.Txs {
			end = s.txOut.U64(prev + 1)
		}
		sp[k] = NoOutput
		if idx := uint64(p.prevIdx[k]); idx < end-start {
			sp[k] = start + idx
			s.outValue.Prefetch(sp[k])
		}
	}
	// The spent values, in a pass of loads that depend on nothing else,
	// so that their misses overlap.
	vs := s.w.values[:0]
	for _, o := range sp {
		var v uint64
		if o != NoOutput {
			v = s.outValue.U64(o)
		}
		vs = append(vs, v)
	}
	s.w.spends, s.w.values = sp, vs
	return sp, vs
}

// Pending reports how many bytes of column data await Commit.
func (s *Store) Pending() int {
	n := int(s.w.addrs.bytes.Load())
	for _, c := range s.txColumns {
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

// CommitAsync starts a commit of every appended block: the columns' new
// rows are written and synced, the postings run is sorted, written and
// merged, and META is replaced after them, all in the background. Appends may go on meanwhile.
// The next commit, and every read of committed state, waits for it.
func (s *Store) CommitAsync() error {
	if s.readOnly {
		return nil // nothing appended
	}
	if s.lock.Shared() {
		return errShared
	}
	if err := s.wait(); err != nil {
		return err
	}
	live := s.liveCounts()
	if live == s.meta.Counts {
		return nil
	}
	for _, c := range s.cols {
		c.StartFlush()
	}
	s.w.addrs.bytes.Store(0)
	m := s.meta
	m.Counts = live
	copy(m.Tip[:], s.blockHash.Row(live.Blocks-1))
	syncSpent := s.spentDue(live.Inputs)
	if syncSpent {
		m.SpentSynced = live.Inputs
	}
	w := s.w
	pairs, lo, hi := w.postings, s.meta.Counts.Outputs, live.Outputs
	w.postings, w.spare = w.spare[:0], nil
	// Tables far behind are synced beside the columns: on a long chain
	// that writes much of a large table, which must not stall the appends.
	synced := make(chan struct{})
	var syncErr error
	if due := s.indexesBehind(false); len(due) > 0 {
		go func() {
			defer close(synced)
			syncErr = syncTables(due)
		}()
	} else {
		close(synced)
	}
	done := make(chan error, 1)
	w.inflight, w.inflightMeta, w.tablesSynced, w.inflightPairs = done, m, synced, pairs
	go func() {
		err := s.writeColumns(syncSpent)
		if err == nil && hi > lo {
			err = s.post.add(lo, hi, pairs)
		}
		if err == nil {
			err = writeMeta(s.dir, &m)
		}
		<-synced
		done <- errors.Join(err, syncErr)
	}()
	return nil
}

// writeColumns writes and syncs the rows handed to the flush in every
// column at once (the files are independent, so their syncs overlap), then
// the rewritten out.spent rows; it syncs out.spent only with syncSpent
// (spent.go).
func (s *Store) writeColumns(syncSpent bool) error {
	errs := make([]error, len(s.cols))
	var wg sync.WaitGroup
	for i, c := range s.cols {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.WriteAppends()
		}()
	}
	wg.Wait()
	if err := firstOf(errs, "columns"); err != nil {
		return err
	}
	if err := s.outSpent.WriteUpdates(); err != nil || !syncSpent {
		return err
	}
	return s.outSpent.Sync()
}

// firstOf returns the first error of errs, saying how many of the others
// failed too: a full disk fails every column's write alike, and one line
// says it.
func firstOf(errs []error, what string) error {
	var first error
	more := 0
	for _, err := range errs {
		switch {
		case err == nil:
		case first == nil:
			first = err
		default:
			more++
		}
	}
	if more > 0 {
		return fmt.Errorf("%w (and %d more %s)", first, more, what)
	}
	return first
}

// wait finishes the commit in flight, if any, after draining the address
// stage (whose error it returns too: the commit in flight is of earlier
// blocks, and stands).
func (s *Store) wait() error {
	w := s.w
	if w == nil {
		return nil
	}
	aerr := s.drainAddrs()
	if w.inflight == nil {
		return aerr
	}
	err := <-w.inflight
	w.inflight, w.tablesSynced = nil, nil
	w.spare = w.inflightPairs[:0]
	w.inflightPairs = nil
	for _, c := range s.cols {
		err = errors.Join(err, c.FinishFlush())
	}
	if err != nil {
		return errors.Join(aerr, err)
	}
	s.meta = w.inflightMeta
	for _, r := range s.post.takeRetired() {
		s.retire(r.close)
	}
	return errors.Join(aerr, s.committed())
}

// Rollback drops everything appended since the last Commit.
func (s *Store) Rollback() error {
	if s.lock.Shared() {
		return nil // nothing appended since Share committed
	}
	s.drainAddrs() // an error there was returned by the append or commit that met it
	s.w.reset()
	werr := s.wait()
	if werr != nil {
		return errors.Join(werr, s.undoPastCommit())
	}
	return s.undoPastCommit()
}
