package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/spur-forensics/spur/internal/colfile"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	"github.com/spur-forensics/spur/internal/btc"
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
	dir    string
	net    *btc.Network
	lock   *os.File
	db     *pebble.DB
	dbOpts *pebble.Options
	meta   meta // committed state

	blockHash, blockHeader, blockTx, blockAddr *colfile.Column
	txHash, txIn, txOut, txFee, txHeight       *colfile.Column
	txInfo                                     *colfile.Column
	inOut                                      *colfile.Column
	outValue, outAddr, outSpent                *colfile.Column
	addrEnd, addrData                          *colfile.Column
	cols                                       []*colfile.Column

	w *writer // state of the ingest in progress

	live *Live // set while views are served (Store.Live)
	view bool  // a view of a Live store: read only, owns nothing
}

// Options for Open.
type Options struct {
	// Network is the chain the store holds. A new (or still empty) store
	// takes it; one holding blocks must match. Default btc.Main.
	Network *btc.Network
	// CacheEntries bounds each of the in-memory txid and address caches that
	// speed up ingest. Default 8 Mi entries (about 200 MB each at most).
	CacheEntries int
}

// Open opens the store in dir, creating it if needed, and undoes anything a
// crash left past the committed counts.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Network == nil {
		opts.Network = btc.Main
	}
	if opts.CacheEntries == 0 {
		opts.CacheEntries = 8 << 20
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{dir: dir, net: opts.Network}
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
			if e.Name() != "LOCK" && e.Name() != "META.tmp" {
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
	s.dbOpts = indexOptions()
	// The block cache holds the bloom filters and index blocks that lookups
	// of older txids and addresses touch.
	cache := pebble.NewCache(256 << 20)
	s.dbOpts.Cache = cache
	s.db, err = pebble.Open(filepath.Join(dir, "index"), s.dbOpts)
	cache.Unref()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: index: %w", err)
	}
	if err := s.checkSizes(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.undoPastCommit(); err != nil {
		s.Close()
		return nil, err
	}
	s.w = newWriter(s, opts.CacheEntries)
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
	return nil
}

// colField returns the field that holds s.cols[i].
func (s *Store) colField(i int) **colfile.Column { return s.columnFields()[i].col }

type columnField struct {
	col   **colfile.Column
	name  string
	width int
}

// columnFields lists the columns: field, file name, row width.
func (s *Store) columnFields() []columnField {
	return []columnField{
		{&s.blockHash, "block.hash", 32}, {&s.blockHeader, "block.header", btc.HeaderSize},
		{&s.blockTx, "block.tx", 8}, {&s.blockAddr, "block.addr", 8},
		{&s.txHash, "tx.hash", 32}, {&s.txIn, "tx.in", 8}, {&s.txOut, "tx.out", 8},
		{&s.txFee, "tx.fee", 8}, {&s.txHeight, "tx.height", 4}, {&s.txInfo, "tx.info", 16},
		{&s.inOut, "in.out", 8},
		{&s.outValue, "out.value", 8}, {&s.outAddr, "out.addr", 4}, {&s.outSpent, "out.spent", 4},
		{&s.addrEnd, "addr.end", 8}, {&s.addrData, "addr.data", 1},
	}
}

// checkSizes refuses a store whose column files are shorter than META says:
// that is damage no crash of spur can cause.
func (s *Store) checkSizes() error {
	c := s.meta.Counts
	need := []struct {
		col  *colfile.Column
		rows uint64
	}{
		{s.blockHash, c.Blocks}, {s.blockHeader, c.Blocks}, {s.blockTx, c.Blocks}, {s.blockAddr, c.Blocks},
		{s.txHash, c.Txs}, {s.txIn, c.Txs}, {s.txOut, c.Txs}, {s.txFee, c.Txs}, {s.txHeight, c.Txs}, {s.txInfo, c.Txs},
		{s.inOut, c.Inputs}, {s.outValue, c.Outputs}, {s.outAddr, c.Outputs}, {s.outSpent, c.Outputs},
		{s.addrEnd, c.Addrs}, {s.addrData, c.AddrBytes},
	}
	for _, n := range need {
		if n.col.FileRows() < n.rows {
			return fmt.Errorf("%w: %s has %d rows, META commits %d", ErrCorrupt, n.col.Name(), n.col.FileRows(), n.rows)
		}
	}
	return nil
}

// undoPastCommit removes everything past the committed counts: it clears
// spends made by uncommitted inputs, deletes index entries of uncommitted
// txs, addresses and outputs (read from the column tails), then truncates
// every column. It is idempotent, so a crash inside it is undone by the next
// open.
func (s *Store) undoPastCommit() error {
	c := s.meta.Counts
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
		if err := s.outSpent.FlushUpdates(); err != nil {
			return err
		}
	}
	// Index entries made for rows past the commit.
	b := s.db.NewBatch()
	defer b.Close()
	for h := c.Blocks; h < s.blockHash.FileRows(); h++ {
		b.Delete(blockKey(nil, s.blockHash.Row(h)), nil)
	}
	for t := c.Txs; t < s.txHash.FileRows(); t++ {
		key := txKey(nil, s.txHash.Row(t))
		// A duplicated txid hands its key back to the earlier tx.
		if v, closer, err := s.db.Get(key); err == nil {
			n, _, dupOf, dup, perr := parseTxValue(v)
			closer.Close()
			if perr == nil && uint64(n) == t && dup && uint64(dupOf) < c.Txs {
				b.Set(key, txValue(nil, dupOf, nil, 0, false), nil)
				continue
			}
		}
		b.Delete(key, nil)
	}
	dataRows := s.addrData.FileRows()
	for a := c.Addrs; a < s.addrEnd.FileRows(); a++ {
		start := c.AddrBytes
		if a > 0 {
			start = s.addrEnd.U64(a - 1)
		}
		end := s.addrEnd.U64(a)
		if start > end || end > dataRows {
			break
		}
		b.Delete(addrKey(nil, s.addrData.Flushed(int64(end))[start:end]), nil)
	}
	n := min(s.outAddr.FileRows(), s.outValue.FileRows())
	for o := c.Outputs; o < n; o++ {
		if a := s.outAddr.U32(o); a != NoAddress {
			b.Delete(postingKey(nil, a, o), nil)
		}
	}
	if !b.Empty() {
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("store: index: %w", err)
		}
	}
	rows := map[*colfile.Column]uint64{
		s.blockHash: c.Blocks, s.blockHeader: c.Blocks, s.blockTx: c.Blocks, s.blockAddr: c.Blocks,
		s.txHash: c.Txs, s.txIn: c.Txs, s.txOut: c.Txs, s.txFee: c.Txs, s.txHeight: c.Txs, s.txInfo: c.Txs,
		s.inOut: c.Inputs, s.outValue: c.Outputs, s.outAddr: c.Outputs, s.outSpent: c.Outputs,
		s.addrEnd: c.Addrs, s.addrData: c.AddrBytes,
	}
	for _, col := range s.cols {
		if col.Size() != int64(rows[col])*int64(col.Width()) {
			if err := col.Truncate(rows[col]); err != nil {
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
	for _, c := range s.cols {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.cols = nil
	if s.db != nil {
		if err := s.db.Close(); err != nil && first == nil {
			first = err
		}
		s.db = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return first
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

// liveCounts counts every row appended, committed or not.
func (s *Store) liveCounts() Counts {
	return Counts{
		Blocks: s.blockHash.Rows(), Txs: s.txHash.Rows(), Inputs: s.inOut.Rows(),
		Outputs: s.outValue.Rows(), Addrs: s.addrEnd.Rows(), AddrBytes: s.addrData.Rows(),
	}
}

// Unwind removes the blocks above height h, leaving the store as if it had
// never seen them. It commits first if an ingest is in progress.
func (s *Store) Unwind(h int64) error {
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
	if s.live != nil {
		s.live.publish()
	}
	return nil
}

// Index keys. Numbers are big-endian so keys sort by number.
const (
	prefixTx      = 't' // 't' txid(32) -> txValue
	prefixAddr    = 'a' // 'a' type(1) payload -> addrnum(4)
	prefixPosting = 'p' // 'p' addrnum(4) outnum(8) -> empty
	prefixBlock   = 'b' // 'b' block hash(32) -> height(4)
)

func blockKey(dst, hash []byte) []byte {
	return append(append(dst, prefixBlock), hash...)
}

func txKey(dst, txid []byte) []byte {
	dst = append(dst, prefixTx)
	return append(dst, txid...)
}

// A tx key's value: the tx number (4), a flags byte, then the wtxid (32) if
// flagWtxid, then the number of an earlier tx with the same txid (4) if
// flagDup. Bitcoin has two such pairs of coinbases (BIP30); the later one
// wins, as it did in the UTXO set, and unwinding it restores the earlier.
const (
	flagWtxid = 1
	flagDup   = 2
)

func txValue(dst []byte, n uint32, wtxid []byte, dupOf uint32, dup bool) []byte {
	dst = binary.BigEndian.AppendUint32(dst, n)
	var flags byte
	if wtxid != nil {
		flags |= flagWtxid
	}
	if dup {
		flags |= flagDup
	}
	dst = append(dst, flags)
	dst = append(dst, wtxid...)
	if dup {
		dst = binary.BigEndian.AppendUint32(dst, dupOf)
	}
	return dst
}

// parseTxValue returns the tx number, the wtxid (nil without one) and the
// earlier tx with the same txid, if any.
func parseTxValue(v []byte) (n uint32, wtxid []byte, dupOf uint32, dup bool, err error) {
	if len(v) < 5 {
		return 0, nil, 0, false, fmt.Errorf("%w: tx index value of %d bytes", ErrCorrupt, len(v))
	}
	n, flags, rest := binary.BigEndian.Uint32(v), v[4], v[5:]
	if flags&flagWtxid != 0 {
		if len(rest) < 32 {
			return 0, nil, 0, false, fmt.Errorf("%w: tx index value of %d bytes", ErrCorrupt, len(v))
		}
		wtxid, rest = rest[:32], rest[32:]
	}
	if flags&flagDup != 0 {
		if len(rest) < 4 {
			return 0, nil, 0, false, fmt.Errorf("%w: tx index value of %d bytes", ErrCorrupt, len(v))
		}
		dupOf, dup = binary.BigEndian.Uint32(rest), true
	}
	return n, wtxid, dupOf, dup, nil
}

// addrKey takes the address as stored: type byte then payload.
func addrKey(dst, addr []byte) []byte {
	dst = append(dst, prefixAddr)
	return append(dst, addr...)
}

func postingKey(dst []byte, a uint32, o uint64) []byte {
	dst = append(dst, prefixPosting)
	dst = binary.BigEndian.AppendUint32(dst, a)
	return binary.BigEndian.AppendUint64(dst, o)
}

// indexOptions tunes Pebble for spur's index: keys are mostly hashes and
// numbers, which do not compress, and arrive in large batches.
func indexOptions() *pebble.Options {
	o := &pebble.Options{Logger: quietLogger{}, MemTableSize: 64 << 20, L0CompactionThreshold: 4, L0StopWritesThreshold: 64,
		CompactionConcurrencyRange: func() (int, int) { return 1, 2 }}
	o.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	// Bloom filters let a lookup of a txid or address skip every table that
	// lacks it: most lookups during ingest are of keys in one table only.
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		o.Levels[i].FilterType = pebble.TableFilter
	}
	return o
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("store: index: "+format, args...))
}
