// Package evmstore is spur's embedded column store for one EVM chain.
//
// The unit is the transfer (native ETH from transactions, internal calls,
// self-destructs, rewards, withdrawals and fees; ERC-20 from Transfer logs).
// Blocks, transactions, transfers, addresses and derived events are columns
// of fixed-width rows (internal/colfile), numbered densely in chain order;
// Pebble holds what is not positional: tx hash -> tx number, block hash ->
// block, address -> address number, and each address's transfers (its
// postings). The byte layout is in docs/format/evm-store.md.
//
// Commit order makes crashes safe: new column rows are written and synced,
// then one Pebble batch holding the new index entries and the committed
// counts is synced. Pebble applies a batch whole or not at all, so on open
// the counts it holds are the truth and column rows past them are cut off.
// Unwinding a reorg deletes the index entries and lowers the counts in one
// batch, then cuts the columns.
package evmstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/colfile"
)

// FormatVersion is the version of the on-disk layout.
const FormatVersion = 1

const metaMagic = "SPUREVM\x00"

// Errors a caller can tell apart.
var (
	ErrCorrupt = errors.New("evm store: corrupt")
	ErrVersion = errors.New("evm store: unsupported format version")
	ErrLocked  = errors.New("evm store: in use by another process")
	ErrChain   = errors.New("evm store: wrong chain")
	ErrNotNext = errors.New("evm store: block does not extend the stored chain")
)

// None marks an absent number (no address, no transaction, ETH as asset).
const None = ^uint32(0)

// Counts are the committed sizes: the number of rows of each kind, and the
// number of the first block.
type Counts struct {
	First     uint64 // number of the first stored block
	Blocks    uint64
	Txs       uint64
	Transfers uint64
	Big       uint64 // amounts wider than 128 bits
	Addrs     uint64
	Events    uint64
}

// Chains spur knows by name, with their chain ids.
var Chains = map[string]uint64{"eth": 1, "sepolia": 11155111, "holesky": 17000, "dev": 1337}

// Store is an open EVM chain store; not safe for concurrent use.
type Store struct {
	dir     string
	chain   string
	chainID uint64
	lock    *colfile.Lock
	db      *pebble.DB
	counts  Counts // committed

	blockHash, blockInfo *colfile.Column
	txHash, txInfo       *colfile.Column
	xfer, xferBig        *colfile.Column
	addr                 *colfile.Column
	event                *colfile.Column
	cols                 []*colfile.Column

	w        *writer
	readOnly bool // opened by OpenReadOnly: writes nothing
	// mu lets readers in the writer's process (a server following a node)
	// hold off what changes committed rows: Commit and Unwind. Appends
	// touch only what is pending, which readers never see.
	mu sync.RWMutex
	// tokens keeps Token's answers (uint32 -> tokenInfo) of a read-only
	// store, whose index does not change: traces and screens ask for a
	// token's symbol at every transfer.
	tokens sync.Map
}

type tokenInfo struct {
	symbol   string
	decimals uint8
	ok       bool
}

// Row widths.
const (
	blockInfoSize = 48 // time, first tx, first transfer, first address, first event u64; first big amount, miner u32
	txInfoSize    = 48
	xferSize      = 40
	eventSize     = 64
)

// Dir is where the store of chain lives under a spur store directory.
func Dir(storeDir, chain string) string { return filepath.Join(storeDir, "evm", chain) }

// Open opens (creating if needed) the store of chain in dir.
func Open(dir, chain string) (*Store, error) {
	id, ok := Chains[chain]
	if !ok {
		return nil, fmt.Errorf("%w: unknown chain %q (known: eth, sepolia, holesky, dev)", ErrChain, chain)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("evm store: %w", err)
	}
	s := &Store{dir: dir, chain: chain, chainID: id}
	lock, err := colfile.LockDir(dir, ErrLocked)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if err := s.openMeta(); err != nil {
		s.Close()
		return nil, err
	}
	for _, c := range s.columns() {
		col, err := colfile.Open(filepath.Join(dir, c.name), c.width)
		if err != nil {
			s.Close()
			return nil, err
		}
		*c.col = col
		s.cols = append(s.cols, col)
	}
	if err := s.openIndex(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loadCounts(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.cutColumns(); err != nil {
		s.Close()
		return nil, err
	}
	s.w = newWriter(s)
	return s, nil
}

// openIndex opens the index for writing.
func (s *Store) openIndex() error {
	// The reader's block cache: a server following a node screens through
	// this store (it fills only as far as the index is read).
	cache := pebble.NewCache(readerCache)
	defer cache.Unref()
	dir := filepath.Join(s.dir, "index")
	if err := colfile.RoomFor(s.dir, colfile.PebbleOpenRoom(dir)); err != nil {
		return fmt.Errorf("evm store: index %s: %w; nothing changed", dir, err)
	}
	log := colfile.DBLogger{Dir: dir}
	db, err := pebble.Open(dir, &pebble.Options{Logger: log, EventListener: &pebble.EventListener{BackgroundError: log.BackgroundError}, Cache: cache})
	if err != nil {
		return fmt.Errorf("evm store: index: %w", err)
	}
	s.db = db
	return nil
}

// OfferShare makes the store one that lets other processes' queries in
// when they wait for it (LetReadersIn): from then on a query that finds it
// writing waits instead of failing. A follower without readers of its own
// does so.
func (s *Store) OfferShare() { s.lock.Offer() }

// LetReadersIn lets in the queries of other processes that wait for the
// store, if any, and takes it back once they are done. Between commits
// only. The index is closed meanwhile (its compactions would replace its
// files under the readers) and opened again after.
func (s *Store) LetReadersIn(ctx context.Context, waiting func()) error {
	if s.readOnly || !s.lock.ReadersWaiting() {
		return nil
	}
	if s.Uncommitted() {
		return errors.New("evm store: shared with uncommitted appends (commit first)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.batch.Close()
	s.w.batch = nil
	err := s.db.Close()
	s.db = nil
	if err != nil {
		return fmt.Errorf("evm store: index: %w", err)
	}
	if err := s.lock.LetIn(ctx, waiting); err != nil {
		return err
	}
	if err := s.openIndex(); err != nil {
		return err
	}
	s.w.reset()
	return nil
}

// column is a column file's name, its row width and the field it opens into.
type column struct {
	name  string
	width int
	col   **colfile.Column
}

// columns lists every column of the store.
func (s *Store) columns() []column {
	return []column{
		{"block.hash", 32, &s.blockHash}, {"block.info", blockInfoSize, &s.blockInfo},
		{"tx.hash", 32, &s.txHash}, {"tx.info", txInfoSize, &s.txInfo},
		{"xfer.main", xferSize, &s.xfer}, {"xfer.big", 32, &s.xferBig},
		{"addr.data", 20, &s.addr}, {"event.main", eventSize, &s.event},
	}
}

// META: magic, version u32, chain name [16], chain id u64, crc32c.
const metaSize = 8 + 4 + 16 + 8 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *Store) openMeta() error {
	path := filepath.Join(s.dir, "META")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(s.dir)
		for _, e := range entries {
			if !colfile.IsLockFile(e.Name()) && e.Name() != "META.tmp" {
				return fmt.Errorf("%w: %s has files but no META", ErrCorrupt, s.dir)
			}
		}
		m := make([]byte, 0, metaSize)
		m = append(m, metaMagic...)
		m = binary.LittleEndian.AppendUint32(m, FormatVersion)
		var name [16]byte
		copy(name[:], s.chain)
		m = append(m, name[:]...)
		m = binary.LittleEndian.AppendUint64(m, s.chainID)
		m = binary.LittleEndian.AppendUint32(m, crc32.Checksum(m, castagnoli))
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, m, 0o644); err != nil {
			return fmt.Errorf("evm store: %w", err)
		}
		f, err := os.Open(tmp)
		if err == nil {
			err = f.Sync()
			f.Close()
		}
		if err != nil {
			return fmt.Errorf("evm store: sync %s: %w", tmp, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("evm store: %w", err)
		}
		return colfile.SyncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("evm store: %w", err)
	}
	if len(b) < 12 || string(b[:8]) != metaMagic {
		return fmt.Errorf("%w: %s is not a spur EVM store META file", ErrCorrupt, path)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != FormatVersion {
		return fmt.Errorf("%w: %s has format version %d; this spur reads version %d", ErrVersion, path, v, FormatVersion)
	}
	if len(b) != metaSize || crc32.Checksum(b[:metaSize-4], castagnoli) != binary.LittleEndian.Uint32(b[metaSize-4:]) {
		return fmt.Errorf("%w: %s: bad size or checksum", ErrCorrupt, path)
	}
	if name := string(bytes.TrimRight(b[12:28], "\x00")); name != s.chain {
		return fmt.Errorf("%w: %s holds chain %s, not %s", ErrChain, s.dir, name, s.chain)
	}
	return nil
}

// Index keys. Counts live under one key, written in the same batch as the
// entries they cover.
const (
	keyCounts  = 'm'
	keyTx      = 't' // + tx hash -> tx number u32
	keyBlock   = 'b' // + block hash -> block row u32
	keyAddr    = 'a' // + address -> address number u32
	keyPosting = 'p' // + address number u32 BE + transfer number u64 BE -> empty
	keyToken   = 'k' // + address number u32 BE -> decimals u8, symbol
	keyParent  = 'P' // the first stored block's parent hash (32)
)

func (c *Counts) marshal() []byte {
	b := []byte{}
	for _, v := range []uint64{c.First, c.Blocks, c.Txs, c.Transfers, c.Big, c.Addrs, c.Events} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func (s *Store) loadCounts() error {
	v, closer, err := s.db.Get([]byte{keyCounts})
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("evm store: index: %w", err)
	}
	defer closer.Close()
	if len(v) != 7*8 {
		return fmt.Errorf("%w: counts entry of %d bytes", ErrCorrupt, len(v))
	}
	for i, p := range []*uint64{&s.counts.First, &s.counts.Blocks, &s.counts.Txs, &s.counts.Transfers, &s.counts.Big, &s.counts.Addrs, &s.counts.Events} {
		*p = binary.LittleEndian.Uint64(v[i*8:])
	}
	return nil
}

// rowsOf gives each column's committed row count.
func (s *Store) rowsOf(c Counts) map[*colfile.Column]uint64 {
	return map[*colfile.Column]uint64{
		s.blockHash: c.Blocks, s.blockInfo: c.Blocks, s.txHash: c.Txs, s.txInfo: c.Txs,
		s.xfer: c.Transfers, s.xferBig: c.Big, s.addr: c.Addrs, s.event: c.Events,
	}
}

// cutColumns truncates every column to the committed counts, refusing
// columns shorter than them (damage no crash of spur can cause).
func (s *Store) cutColumns() error {
	for col, n := range s.rowsOf(s.counts) {
		if col.FileRows() < n {
			return fmt.Errorf("%w: %s has %d rows, the index says %d are committed", ErrCorrupt, col.Name(), col.FileRows(), n)
		}
		if col.Size() != int64(n)*int64(col.Width()) {
			if err := col.Truncate(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close releases the store; uncommitted appends are dropped.
func (s *Store) Close() error {
	var errs []error
	if s.db != nil {
		errs = append(errs, s.db.Close())
		s.db = nil
	}
	for _, c := range s.cols {
		errs = append(errs, c.Close())
	}
	s.cols = nil
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return errors.Join(errs...)
}

// Chain is the chain's name; ChainID its id.
func (s *Store) Chain() string   { return s.chain }
func (s *Store) ChainID() uint64 { return s.chainID }
func (s *Store) Dir() string     { return s.dir }

// Counts returns the committed counts.
func (s *Store) Counts() Counts { return s.counts }

// Next is the number of the block the store expects next; ok is false while
// the store is empty (any block may come first).
func (s *Store) Next() (n uint64, ok bool) {
	if s.counts.Blocks == 0 {
		return 0, false
	}
	return s.counts.First + s.counts.Blocks, true
}

// Tip returns the number and hash of the last committed block.
func (s *Store) Tip() (uint64, common.Hash, bool) {
	if s.counts.Blocks == 0 {
		return 0, common.Hash{}, false
	}
	r := s.counts.Blocks - 1
	return s.counts.First + r, common.Hash(s.blockHash.Row(r)), true
}

// Read holds off commits and unwinds until the func it returns is called:
// what a reader in the process of a writer (a server following a node)
// calls around each request, so that it reads one committed state.
func (s *Store) Read() (release func()) {
	s.mu.RLock()
	return s.mu.RUnlock
}

// CompactIndex compacts the whole index into its last level: after a bulk
// load, lookups and postings then read one table each instead of one per
// level and per unsorted table, which a trace or a screen does thousands of
// times (BENCHMARKS.md, "Ethereum addresses and transactions"). It
// rewrites the index, not what it holds, and stops early when ctx ends.
func (s *Store) CompactIndex(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if err := s.db.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
		return fmt.Errorf("evm store: index: %w", err)
	}
	return nil
}

// Unwind removes every block from number n on (a reorg's fork point plus
// one): one synced batch deletes their index entries and lowers the counts,
// then the columns are cut. A crash in between is finished by the next Open.
func (s *Store) Unwind(n uint64) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if err := s.Rollback(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	if c.Blocks == 0 || n >= c.First+c.Blocks {
		return nil
	}
	if n < c.First {
		n = c.First
	}
	r := n - c.First
	nc := Counts{First: c.First, Blocks: r, Txs: s.blockField(r, 1), Transfers: s.blockField(r, 2), Addrs: s.blockField(r, 3),
		Events: s.blockField(r, 4), Big: uint64(binary.LittleEndian.Uint32(s.blockInfo.Row(r)[40:]))}
	b := s.db.NewBatch()
	defer b.Close()
	if r == 0 {
		nc = Counts{}
		b.Delete([]byte{keyParent}, nil)
	}
	for i := r; i < c.Blocks; i++ {
		b.Delete(append([]byte{keyBlock}, s.blockHash.Row(i)...), nil)
	}
	for t := nc.Txs; t < c.Txs; t++ {
		b.Delete(append([]byte{keyTx}, s.txHash.Row(t)...), nil)
	}
	for x := nc.Transfers; x < c.Transfers; x++ {
		row := s.Transfer(x)
		if row.From != None {
			b.Delete(postingKey(row.From, x), nil)
		}
		if row.To != None {
			b.Delete(postingKey(row.To, x), nil)
		}
	}
	for a := nc.Addrs; a < c.Addrs; a++ {
		b.Delete(append([]byte{keyAddr}, s.addr.Row(a)...), nil)
		b.Delete(binary.BigEndian.AppendUint32([]byte{keyToken}, uint32(a)), nil)
	}
	b.Set([]byte{keyCounts}, nc.marshal(), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("evm store: index: %w", err)
	}
	s.counts = nc
	s.w.cache = map[common.Address]uint32{}
	s.w.reset()
	return s.cutColumns()
}
