package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/cespare/xxhash/v2"

	"github.com/spur-forensics/spur/internal/hashidx"
)

// The three lookups that are not positional are hash tables over the
// columns that hold their keys (package hashidx): txid to tx number
// (tx.hidx over tx.hash), block hash to height (block.hidx over block.hash)
// and address to address number (addr.hidx over addr.end and addr.data).
// Postings are runs (postings.go). All of them are derived from the
// columns, so none is synced at every commit: a table records how many rows
// its last sync covered, and Open inserts the rest again.

type posting struct {
	addr uint32
	out  uint64
}

// A txid or block hash is a hash already: its first 8 bytes serve. An
// address's payload may be short (witness programs), so it is hashed whole.
func hashOfHash(h []byte) uint64 { return binary.LittleEndian.Uint64(h) }
func hashOfAddr(a []byte) uint64 { return xxhash.Sum64(a) }

func (s *Store) txRowHash(n uint64) uint64    { return hashOfHash(s.txHash.Row(n)) }
func (s *Store) blockRowHash(n uint64) uint64 { return hashOfHash(s.blockHash.Row(n)) }
func (s *Store) addrRowHash(n uint64) uint64  { return hashOfAddr(s.addrBytes(n)) }

// findTx returns the last tx below limit with that txid.
func (s *Store) findTx(id []byte, limit uint64) (uint64, bool) {
	return s.txIdx.Lookup(hashOfHash(id), limit, s.txIs(id))
}

// spentTx is findTx for the tx an input spends, which a valid chain has
// below limit: a lone candidate in the table is taken without reading its
// txid from tx.hash, a cache miss per input on a long chain. An input of an
// invalid chain that spends a tx it does not hold is still refused, but for
// about one chance in 2^32, or when the tx was in blocks since unwound (its
// dead entry names the row a later tx took: hashidx.LookupPresent).
func (s *Store) spentTx(id []byte, limit uint64) (uint64, bool) {
	return s.txIdx.LookupPresent(hashOfHash(id), limit, s.txIs(id))
}

func (s *Store) txIs(id []byte) func(n uint64) bool {
	return func(n uint64) bool { return bytes.Equal(s.txHash.Row(n), id) }
}

func (s *Store) findBlock(h []byte, limit uint64) (uint64, bool) {
	return s.blockIdx.Lookup(hashOfHash(h), limit, func(n uint64) bool { return bytes.Equal(s.blockHash.Row(n), h) })
}

// findAddr takes the address as stored (type byte then payload) and its
// hash.
func (s *Store) findAddr(a []byte, h, limit uint64) (uint64, bool) {
	return s.addrIdx.Lookup(h, limit, func(n uint64) bool { return bytes.Equal(s.addrBytes(n), a) })
}

// findOrAddAddr returns the number of address a (as stored, with its hash
// h) among the addresses below n, or adds it to the table as number n. The
// caller appends the new address's row.
func (s *Store) findOrAddAddr(a []byte, h, n uint64) (got uint64, added bool, err error) {
	match := func(m uint64) bool { return bytes.Equal(s.addrBytes(m), a) }
	err = s.put(&s.addrIdx, s.addrRowHash, n, n+1, func(t *hashidx.Table) (ok bool) {
		got, added, ok = t.LookupOrInsert(h, n, match)
		return ok
	})
	return got, added, err
}

// insert adds row n (rows counting it, the column holding it) to *t.
func (s *Store) insert(t **hashidx.Table, hashOf func(uint64) uint64, h, n, rows uint64) error {
	return s.put(t, hashOf, rows, rows, func(t *hashidx.Table) bool { return t.Insert(h, n, rows) })
}

// put runs add, which puts a row in *t and reports false when it found no
// slot, so that *t holds rows rows after it. It first replaces *t by a
// larger table if that many would make it full, and when add finds no slot
// (a table choked with dead entries) rebuilds it at its size, which drops
// them, and runs add again. The column holds the keys of rows 0 to have-1.
// Views keep reading a replaced table (it holds every row they see) until
// they are released.
func (s *Store) put(t **hashidx.Table, hashOf func(uint64) uint64, have, rows uint64, add func(*hashidx.Table) bool) error {
	if (*t).Full(rows) {
		if err := s.rebuild(t, have, 2*rows, hashOf); err != nil {
			return err
		}
	}
	if add(*t) {
		return nil
	}
	if err := s.rebuild(t, have, (*t).Room(), hashOf); err != nil {
		return err
	}
	if !add(*t) {
		return fmt.Errorf("BUG: store: %s: no slot after a rebuild", (*t).Path())
	}
	return nil
}

// rebuild replaces *t by a table with room for room rows built from rows
// 0 to rows-1; views keep the old one until they are released.
func (s *Store) rebuild(t **hashidx.Table, rows, room uint64, hashOf func(uint64) uint64) error {
	if s.w != nil && s.w.tablesSynced != nil {
		<-s.w.tablesSynced // the commit in flight may be syncing *t
	}
	nt, err := (*t).Grow(rows, room, hashOf)
	if err != nil {
		return err
	}
	s.retire((*t).Close)
	*t = nt
	return nil
}

// Reserve makes room in the hash tables for this many more txs and
// addresses, as an ingest that knows roughly what is coming may ask, so
// that the tables are not rebuilt again and again as they fill. It also
// tells them what is coming (hashidx.Table.SetBulk) until the store closes.
func (s *Store) Reserve(txs, addrs uint64) error {
	if err := s.wait(); err != nil {
		return err
	}
	live := s.liveCounts()
	for _, r := range []struct {
		t      **hashidx.Table
		hashOf func(uint64) uint64
		rows   uint64
		more   uint64
	}{{&s.txIdx, s.txRowHash, live.Txs, txs}, {&s.addrIdx, s.addrRowHash, live.Addrs, addrs}} {
		if r.rows+r.more <= (*r.t).Room() {
			continue
		}
		if err := s.rebuild(r.t, r.rows, r.rows+r.more, r.hashOf); err != nil {
			return err
		}
	}
	together := s.TableBytes()
	s.txIdx.SetBulk(txs, together)
	s.addrIdx.SetBulk(addrs, together)
	// Fresh, a table's first inserts land all over it, each on a page the
	// kernel must first clear: the first second of a long ingest went to
	// that, on the address stage alone, the other core idle. Cleared now,
	// on every core, before the blocks come.
	for _, t := range []*hashidx.Table{s.txIdx, s.addrIdx} {
		t.Populate(runtime.GOMAXPROCS(0))
	}
	return nil
}

// TableBytes is the size of the txid and address tables, which an ingest
// reads at random for every input and output.
func (s *Store) TableBytes() int64 { return s.txIdx.Bytes() + s.addrIdx.Bytes() }

// hashIndex is one table with the column of its keys.
type hashIndex struct {
	t      **hashidx.Table
	name   string
	key    func(n uint64) []byte // row n's key
	hashOf func(key []byte) uint64
	rows   uint64 // at the counts asked for
}

// hashIndexes lists the tables, each with its rows at counts c.
func (s *Store) hashIndexes(c Counts) []hashIndex {
	return []hashIndex{
		{&s.txIdx, "tx.hidx", s.txHash.Row, hashOfHash, c.Txs},
		{&s.blockIdx, "block.hidx", s.blockHash.Row, hashOfHash, c.Blocks},
		{&s.addrIdx, "addr.hidx", s.addrBytes, hashOfAddr, c.Addrs},
	}
}

// rowHash returns row n's hash.
func (x *hashIndex) rowHash(n uint64) uint64 { return x.hashOf(x.key(n)) }

// find returns the last row below limit with row n's key.
func (x *hashIndex) find(n, limit uint64) (uint64, bool) {
	k := x.key(n)
	return (*x.t).Lookup(x.hashOf(k), limit, func(m uint64) bool { return bytes.Equal(x.key(m), k) })
}

// openIndexes opens the hash tables and inserts the committed rows their
// last sync did not cover.
func (s *Store) openIndexes() error {
	for _, x := range s.hashIndexes(s.meta.Counts) {
		x := x
		t, err := hashidx.Open(filepath.Join(s.dir, x.name), x.rows)
		if err != nil {
			return err
		}
		*x.t = t
		for n := min(t.Covered(), x.rows); n < x.rows; n++ {
			if got, ok := x.find(n, n+1); ok && got == n {
				continue
			}
			if err := s.insert(x.t, x.rowHash, x.rowHash(n), n, x.rows); err != nil {
				return err
			}
		}
	}
	return nil
}

// tableSync is a table and the rows a sync of it is to cover.
type tableSync struct {
	t    *hashidx.Table
	rows uint64
}

// indexesBehind lists the tables that have fallen far enough behind the
// commit to need a sync (all that are behind with force), so that a crash
// costs at most a fraction of the chain's rows to insert again.
func (s *Store) indexesBehind(force bool) []tableSync {
	var due []tableSync
	for _, x := range s.hashIndexes(s.meta.Counts) {
		t := *x.t
		if t == nil || x.rows == t.Covered() {
			continue
		}
		if force || x.rows-t.Covered() >= max(s.tableSyncRows, t.Covered()/2) {
			due = append(due, tableSync{t, x.rows})
		}
	}
	return due
}

// syncTables syncs each table up to its rows. Inserts may go on meanwhile:
// they never change the slot of a row below a table's rows.
func syncTables(due []tableSync) error {
	for _, d := range due {
		if err := d.t.Sync(d.rows); err != nil {
			return err
		}
	}
	return nil
}

// uncoverIndexes lowers what each table's header says it covers to the
// counts an unwind leaves, before the unwind commits: the rows appended
// after it reuse the unwound numbers for other keys.
func (s *Store) uncoverIndexes(c Counts) error {
	for _, x := range s.hashIndexes(c) {
		if err := (*x.t).Uncover(x.rows); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) closeIndexes() {
	for _, x := range s.hashIndexes(s.meta.Counts) {
		if *x.t != nil {
			(*x.t).CloseForGood()
			*x.t = nil
		}
	}
}
