package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/hashidx"
)

// Errors a caller may test for with errors.Is.
var (
	ErrCorrupt      = errors.New("store: corrupt")
	ErrNotFound     = errors.New("store: not found")
	ErrLocked       = errors.New("store: locked by another process")
	ErrNotConnected = errors.New("store: block does not connect to the store's tip")
)

// NoOutput is the spent-output number of a coinbase input.
const NoOutput = ^uint64(0)

// NoAddress is the address number of an output without an address.
const NoAddress = ^uint32(0)

// maxTxs bounds tx numbers: out.spent holds tx number + 1 in 32 bits.
const maxTxs = 1<<32 - 2

// valueBits is how many low bits of an out.value row hold the amount; the
// script type sits in the top byte. 21e14 satoshi needs 51 bits.
const valueBits = 56

// Store is an open Bitcoin column store. It is not safe for concurrent use;
// one process holds a store at a time (a lock file enforces it).
type Store struct {
	dir string
	net *btc.Network
	// tableSyncRows is Options.TableSyncRows.
	tableSyncRows uint64
	lock          *colfile.Lock
	meta          meta // committed state

	blockHash, blockHeader, blockTx, blockAddr *colfile.Column
	txHash, txIn, txOut, txFee, txHeight       *colfile.Column
	txInfo, txWtxid                            *colfile.Column
	inOut                                      *colfile.Column
	outValue, outAddr, outSpent                *colfile.Column
	addrEnd, addrData                          *colfile.Column
	cols                                       []*colfile.Column
	txColumns                                  []*colfile.Column // all but the address stage's (see addrStage)

	// The lookups that are not positional (index.go, postings.go).
	txIdx, blockIdx, addrIdx *hashidx.Table
	post                     *postingIndex

	w *writer // state of the ingest in progress

	live *Live // set while views are served (Store.Live)
	view bool  // a view of a Live store: read only, owns nothing
	// readOnly: opened by OpenReadOnly; owns its files, writes none.
	readOnly bool
}

// Options for Open.
type Options struct {
	// Network is the chain the store holds. A new (or still empty) store
	// takes it; one holding blocks must match. Default btc.Main.
	Network *btc.Network
	// TableSyncRows: a commit syncs a hash table once this many committed
	// rows (or half the rows it covers, if more) are past its last sync,
	// and out.spent once this many inputs (or half those its last sync
	// covered) are, which bounds what an open after a power loss inserts or
	// replays again. Default 4 Mi.
	TableSyncRows uint64
}

// Open opens the store in dir, creating it if needed, and undoes anything a
// crash left past the committed counts.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Network == nil {
		opts.Network = btc.Main
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if opts.TableSyncRows == 0 {
		opts.TableSyncRows = 4 << 20
	}
	s := &Store{dir: dir, net: opts.Network, tableSyncRows: opts.TableSyncRows}
	lock, err := colfile.LockDir(dir, ErrLocked)
	if err != nil {
		return nil, err
	}
	s.lock = lock

	metaPath := filepath.Join(dir, "META")
	b, err := os.ReadFile(metaPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !colfile.IsLockFile(e.Name()) && e.Name() != "META.tmp" {
				s.Close()
				return nil, fmt.Errorf("%w: %s has files but no META; not a spur store, or its META was lost", ErrCorrupt, dir)
			}
		}
		s.meta = meta{Network: opts.Network.Name}
		if err := writeMeta(dir, &s.meta); err != nil {
			s.Close()
			return nil, err
		}
	case err != nil:
		s.Close()
		return nil, fmt.Errorf("store: %w", err)
	default:
		m, err := unmarshalMeta(metaPath, b)
		if err != nil {
			s.Close()
			return nil, err
		}
		if m.Network != opts.Network.Name && m.Counts.Blocks == 0 {
			// Nothing committed yet (say a first ingest that failed on
			// its input): the store takes the network asked for now.
			m.Network = opts.Network.Name
			if err := writeMeta(dir, m); err != nil {
				s.Close()
				return nil, err
			}
		}
		if m.Network != opts.Network.Name {
			s.Close()
			return nil, fmt.Errorf("store: %s holds network %s, not %s", dir, m.Network, opts.Network.Name)
		}
		s.meta = *m
	}

	if err := s.openColumns(func(name string, width int) (*colfile.Column, error) {
		return colfile.Open(filepath.Join(dir, name), width)
	}); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.checkSizes(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.undoPastCommit(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.replaySpends(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.openIndexes(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.openPostings(s.meta.Counts.Outputs); err != nil {
		s.Close()
		return nil, err
	}
	s.w = newWriter(s)
	return s, nil
}

// openColumns opens every column with open, in the order of s.cols.
func (s *Store) openColumns(open func(name string, width int) (*colfile.Column, error)) error {
	for _, c := range s.columnFields() {
		col, err := open(c.name, c.width)
		if err != nil {
			return err
		}
		*c.col = col
		s.cols = append(s.cols, col)
	}
	s.outSpent.SetLazy()
	// The columns an ingest writes and does not read back (tx.hash only
	// when a table grows, or confirms one of several candidates).
	for _, c := range []*colfile.Column{s.txHash, s.txWtxid, s.txIn, s.txHeight, s.txInfo, s.txFee, s.inOut, s.outAddr} {
		c.SetCold()
	}
	for _, c := range s.cols {
		if c != s.blockAddr && c != s.outAddr && c != s.addrEnd && c != s.addrData {
			s.txColumns = append(s.txColumns, c)
		}
	}
	return nil
}

// colField returns the field that holds s.cols[i].
func (s *Store) colField(i int) **colfile.Column { return s.columnFields()[i].col }

type columnField struct {
	col   **colfile.Column
	name  string
	width int
	rows  func(Counts) uint64 // the column's rows in a store of these counts
}

func blocks(c Counts) uint64    { return c.Blocks }
func txs(c Counts) uint64       { return c.Txs }
func inputs(c Counts) uint64    { return c.Inputs }
func outputs(c Counts) uint64   { return c.Outputs }
func addrs(c Counts) uint64     { return c.Addrs }
func addrBytes(c Counts) uint64 { return c.AddrBytes }

// columnFields lists the columns: field, file name, row width, rows.
func (s *Store) columnFields() []columnField {
	return []columnField{
		{&s.blockHash, "block.hash", 32, blocks}, {&s.blockHeader, "block.header", btc.HeaderSize, blocks},
		{&s.blockTx, "block.tx", 8, blocks}, {&s.blockAddr, "block.addr", 8, blocks},
		{&s.txHash, "tx.hash", 32, txs}, {&s.txWtxid, "tx.wtxid", 32, txs},
		{&s.txIn, "tx.in", 8, txs}, {&s.txOut, "tx.out", 8, txs},
		{&s.txFee, "tx.fee", 8, txs}, {&s.txHeight, "tx.height", 4, txs}, {&s.txInfo, "tx.info", 16, txs},
		{&s.inOut, "in.out", 8, inputs},
		{&s.outValue, "out.value", 8, outputs}, {&s.outAddr, "out.addr", 4, outputs}, {&s.outSpent, "out.spent", 4, outputs},
		{&s.addrEnd, "addr.end", 8, addrs}, {&s.addrData, "addr.data", 1, addrBytes},
	}
}

// checkSizes refuses a store whose column files are shorter than META says:
// that is damage no crash of spur can cause. But out.spent, synced now and
// then (spent.go), may after a power loss lack the rows appended since its
// last sync, which the open makes again.
func (s *Store) checkSizes() error {
	c := s.meta.Counts
	for _, n := range s.colRows(c) {
		if n.col != s.outSpent && n.col.FileRows() < n.rows {
			return fmt.Errorf("%w: %s has %d rows, META commits %d", ErrCorrupt, n.col.Name(), n.col.FileRows(), n.rows)
		}
	}
	if want := s.spentSyncedOutputs(); s.outSpent.FileRows() < want {
		return fmt.Errorf("%w: %s has %d rows, its last sync covered %d", ErrCorrupt, s.outSpent.Name(), s.outSpent.FileRows(), want)
	}
	return nil
}

// undoPastCommit removes everything past the committed counts: it clears
// spends made by uncommitted inputs (read from the column tails), clips the
// postings, then truncates every column. It is idempotent, so a crash inside it is undone by the next
// open.
func (s *Store) undoPastCommit() error {
	c := s.meta.Counts
	if s.outSpent.FileRows() < c.Outputs {
		// A power loss took appended rows of out.spent: they are zero
		// but for spends, which replaySpends sets again.
		if err := s.outSpent.Truncate(c.Outputs); err != nil {
			return err
		}
	}
	// Spends marked by inputs past the commit.
	changed := false
	for i := c.Inputs; i < s.inOut.FileRows(); i++ {
		o := s.inOut.U64(i)
		if o == NoOutput || o >= c.Outputs {
			continue
		}
		if sp := s.outSpent.U32(o); sp != 0 && uint64(sp-1) >= c.Txs {
			s.outSpent.SetU32(o, 0)
			changed = true
		}
	}
	if changed {
		if err := s.outSpent.Flush(); err != nil {
			return err
		}
	}
	// Postings of outputs past the commit. (The hash tables need nothing:
	// rows past the commit are not in them for lookups.)
	if s.post != nil {
		if err := s.post.clip(c.Outputs); err != nil {
			return err
		}
	}
	for _, n := range s.colRows(c) {
		col := n.col
		if col.Size() != int64(n.rows)*int64(col.Width()) {
			if err := col.Truncate(n.rows); err != nil {
				return err
			}
		} else {
			col.DropPending()
		}
	}
	return nil
}

// Close releases the store. Uncommitted appends are dropped.
func (s *Store) Close() error {
	if s.view {
		return nil
	}
	if s.live != nil {
		s.live.Close()
	}
	first := s.wait()
	s.stopAddrs()
	// Only a store that opened (s.w is set last) records what its tables
	// and out.spent cover: after a refused open they may lack rows.
	if s.w != nil && first == nil {
		first = syncTables(s.indexesBehind(true))
	}
	if s.w != nil && first == nil && s.meta.SpentSynced < s.meta.Counts.Inputs {
		first = s.syncSpends()
	}
	s.closeIndexes()
	if s.post != nil {
		s.post.close()
	}
	for _, c := range s.cols {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.cols, s.txColumns = nil, nil
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return first
}

// errShared reports a write to a store that shares its lock (Share).
var errShared = errors.New("store: written while shared with readers (Unshare first)")

// Share lets other processes' queries (OpenReadOnly) read the store until
// Unshare: it waits for the commit in flight, makes the tables and
// out.spent cover every committed row, as Close does, so that a reader
// finds nothing to repair, and shares the lock. Appends, commits and
// unwinds are refused until Unshare. A follower shares while it waits for
// the node's next block, and after a block when readers wait.
func (s *Store) Share() error {
	if s.readOnly || s.view || s.w == nil || s.lock.Shared() {
		return nil
	}
	if err := s.settle(); err != nil {
		return err
	}
	return s.lock.Share()
}

// settle waits for the commit in flight and makes the tables and out.spent
// cover every committed row, so that a reader finds nothing to repair.
func (s *Store) settle() error {
	if err := s.wait(); err != nil {
		return err
	}
	if s.Pending() > 0 || s.liveCounts() != s.meta.Counts {
		return errors.New("store: shared with uncommitted appends (commit first)")
	}
	if err := syncTables(s.indexesBehind(true)); err != nil {
		return err
	}
	if s.meta.SpentSynced < s.meta.Counts.Inputs {
		return s.syncSpends()
	}
	return nil
}

// Unshare takes the store back from its readers (Share) for writing,
// waiting while their queries run; waiting is called once if that takes
// more than a second.
func (s *Store) Unshare(ctx context.Context, waiting func()) error {
	if s.lock == nil {
		return nil
	}
	return s.lock.Take(ctx, waiting)
}

// ReadersWaiting says whether queries of other processes wait for the
// store to Share.
func (s *Store) ReadersWaiting() bool { return s.lock.ReadersWaiting() }

// LetReadersIn shares the store with the queries that wait for it, if any,
// and takes it back once they are in and done: a writer calls it between
// two commits.
func (s *Store) LetReadersIn(ctx context.Context, waiting func()) error {
	if s.readOnly || s.view || s.w == nil || s.lock.Shared() || !s.ReadersWaiting() {
		return nil
	}
	if err := s.settle(); err != nil {
		return err
	}
	return s.lock.LetIn(ctx, waiting)
}

// Network returns the store's network.
func (s *Store) Network() *btc.Network { return s.net }

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Counts returns the committed counts.
func (s *Store) Counts() Counts { return s.meta.Counts }

// Height returns the height of the committed tip, -1 when empty.
func (s *Store) Height() int64 { return int64(s.meta.Counts.Blocks) - 1 }

// TipHash returns the hash of the committed tip.
func (s *Store) TipHash() btc.Hash { return btc.Hash(s.meta.Tip) }

// BlockHashAt returns the hash of the block at height h.
func (s *Store) BlockHashAt(h int64) (btc.Hash, error) {
	if h < 0 || uint64(h) >= s.meta.Counts.Blocks {
		return btc.Hash{}, fmt.Errorf("%w: no block at height %d (tip is %d)", ErrNotFound, h, s.Height())
	}
	return btc.Hash(s.blockHash.Row(uint64(h))), nil
}

// countsAt returns the counts of a chain cut after height h.
func (s *Store) countsAt(h int64) Counts {
	n := uint64(h + 1)
	if n == 0 {
		return Counts{}
	}
	if n >= s.blockTx.Rows() {
		return s.liveCounts()
	}
	c := Counts{Blocks: n, Txs: s.blockTx.U64(n), Addrs: s.blockAddr.U64(n)}
	c.Inputs = s.txIn.U64(c.Txs)
	c.Outputs = s.txOut.U64(c.Txs)
	if c.Addrs > 0 {
		c.AddrBytes = s.addrEnd.U64(c.Addrs - 1)
	}
	return c
}

// txCounts counts the blocks, transactions, inputs and outputs appended,
// committed or not, from the columns of the transaction stage alone (the
// address stage may be appending to the others).
func (s *Store) txCounts() Counts {
	return Counts{Blocks: s.blockHash.Rows(), Txs: s.txHash.Rows(), Inputs: s.inOut.Rows(), Outputs: s.outValue.Rows()}
}

// liveCounts counts every row appended, committed or not. The address
// stage must be drained.
func (s *Store) liveCounts() Counts {
	return Counts{
		Blocks: s.blockHash.Rows(), Txs: s.txHash.Rows(), Inputs: s.inOut.Rows(),
		Outputs: s.outValue.Rows(), Addrs: s.addrEnd.Rows(), AddrBytes: s.addrData.Rows(),
	}
}

// Unwind removes the blocks above height h, leaving the store as if it had
// never seen them. It commits first if an ingest is in progress.
func (s *Store) Unwind(h int64) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if s.lock.Shared() {
		return errShared
	}
	if h >= s.Height() {
		return nil
	}
	if h < -1 {
		h = -1
	}
	if err := s.Commit(); err != nil {
		return err
	}
	if s.live != nil {
		// Views read rows the unwind truncates: wait for them.
		s.live.mu.Lock()
		defer s.live.mu.Unlock()
	}
	m := s.meta
	m.Counts = s.countsAt(h)
	m.SpentSynced = min(m.SpentSynced, m.Counts.Inputs)
	if err := s.uncoverIndexes(m.Counts); err != nil {
		return err
	}
	m.Tip = [32]byte{}
	if h >= 0 {
		copy(m.Tip[:], s.blockHash.Row(uint64(h)))
	}
	if err := writeMeta(s.dir, &m); err != nil {
		return err
	}
	s.meta = m
	s.w.reset()
	if err := s.undoPastCommit(); err != nil {
		return err
	}
	for _, r := range s.post.takeRetired() {
		r.close() // no view runs during an unwind
	}
	if s.live != nil {
		s.live.publish()
	}
	return nil
}

var zeroHash [32]byte

// retire runs free (an unmapping) once no view can be using what it frees:
// at once without views.
func (s *Store) retire(free func() error) {
	if s.live != nil {
		s.live.retire(free)
		return
	}
	free()
}
