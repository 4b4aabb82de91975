package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// pendingIndex collects the index entries of the blocks appended since the
// last commit, with copies of their key bytes so that it can be written
// while the columns move on. At commit the entries are sorted, written as
// one sstable and ingested into Pebble whole: far cheaper than inserting
// millions of keys through Pebble's memtable, and just as atomic.
type pendingIndex struct {
	arena    []byte // key bytes (after the prefix byte) and values
	txs      []entry
	addrs    []entry
	blocks   []entry
	postings []posting
}

// entry is one key: its first 8 bytes after the prefix byte (big-endian,
// so that comparing prefixes orders keys), where the rest lives in the
// arena, the number it maps to, and its value's place in the arena (val-1;
// 0 for an empty value).
type entry struct {
	prefix uint64
	off    uint32
	n      uint32 // key length in the arena
	num    uint32
	val    uint32
	vn     uint32 // value length
}

type posting struct {
	addr uint32
	out  uint64
}

// newPendingIndex returns an empty index sized like prev, so that a
// steady ingest does not regrow its buffers every commit.
func newPendingIndex(prev *pendingIndex) *pendingIndex {
	if prev == nil {
		return &pendingIndex{}
	}
	return &pendingIndex{
		arena:    make([]byte, 0, len(prev.arena)),
		txs:      make([]entry, 0, len(prev.txs)),
		addrs:    make([]entry, 0, len(prev.addrs)),
		blocks:   make([]entry, 0, len(prev.blocks)),
		postings: make([]posting, 0, len(prev.postings)),
	}
}

func (p *pendingIndex) empty() bool {
	return len(p.blocks)+len(p.txs)+len(p.addrs)+len(p.postings) == 0
}

func prefix8(b []byte) uint64 {
	var x [8]byte
	copy(x[:], b)
	return binary.BigEndian.Uint64(x[:])
}

func (p *pendingIndex) add(list *[]entry, key []byte, num uint32, val []byte) {
	e := entry{prefix: prefix8(key), off: uint32(len(p.arena)), n: uint32(len(key)), num: num}
	p.arena = append(p.arena, key...)
	if val != nil {
		e.val = uint32(len(p.arena)) + 1
		e.vn = uint32(len(val))
		p.arena = append(p.arena, val...)
	}
	*list = append(*list, e)
}

func (p *pendingIndex) key(e *entry) []byte { return p.arena[e.off : e.off+e.n] }

func (p *pendingIndex) value(e *entry) []byte {
	if e.val == 0 {
		return nil
	}
	return p.arena[e.val-1 : e.val-1+e.vn]
}

// sort orders entries by key, then number. Keys are hashes or start with
// one, so a radix sort on the 8-byte prefix does nearly all the work; runs
// of equal prefixes are then finished by comparing whole keys.
func (p *pendingIndex) sort(list []entry) {
	radixSort(list)
	for i := 0; i < len(list); {
		j := i + 1
		for j < len(list) && list[j].prefix == list[i].prefix {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(list[i:j], func(x, y entry) int {
				if c := bytes.Compare(p.key(&x), p.key(&y)); c != 0 {
					return c
				}
				return cmp.Compare(x.num, y.num)
			})
		}
		i = j
	}
}

// radixSort sorts entries by prefix, least significant byte first; it is
// stable, so entries with equal prefixes keep their (number) order.
func radixSort(list []entry) {
	if len(list) < 256 {
		slices.SortStableFunc(list, func(x, y entry) int { return cmp.Compare(x.prefix, y.prefix) })
		return
	}
	src, dst := list, make([]entry, len(list))
	for shift := uint(0); shift < 64; shift += 8 {
		var count [257]int
		for i := range src {
			count[int(byte(src[i].prefix>>shift))+1]++
		}
		if count[int(byte(src[0].prefix>>shift))+1] == len(src) {
			continue // every entry has the same byte here
		}
		for i := 1; i < 257; i++ {
			count[i] += count[i-1]
		}
		for i := range src {
			b := byte(src[i].prefix >> shift)
			dst[count[b]] = src[i]
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &list[0] {
		copy(list, src)
	}
}

// smallIndex is the most entries a commit writes through Pebble's memtable
// (and its log) rather than as an sstable of its own. Following the tip
// commits every block: one sstable per block, each spanning the whole key
// space of hashes, would pile up in level 0 and make Pebble compact
// hundreds of megabytes per block, while the memtable gathers many blocks
// into one flush. Bulk commits are far larger and go as sstables.
const smallIndex = 1 << 17

// writeIndex sorts the entries, writes them as an sstable in key order
// ('a' addresses, 'b' blocks, 'p' postings, 't' txs) and ingests it, or,
// for a small commit, writes them as one synced batch. It reads nothing
// but p, so it may run beside further appends.
func writeIndex(db *pebble.DB, opts *pebble.Options, dir string, p *pendingIndex) error {
	if p.empty() {
		return nil
	}
	if len(p.addrs)+len(p.blocks)+len(p.postings)+len(p.txs) <= smallIndex {
		b := db.NewBatch()
		defer b.Close()
		err := putIndex(p, func(k, v []byte) error { return b.Set(k, v, nil) })
		if err == nil {
			err = b.Commit(pebble.Sync)
		}
		if err != nil {
			return fmt.Errorf("store: index: %w", err)
		}
		return nil
	}
	path := filepath.Join(dir, "index-ingest.sst")
	os.Remove(path)
	f, err := vfs.Default.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("store: index: %w", err)
	}
	wo := opts.MakeWriterOptions(0, db.TableFormat())
	wo.Compression = sstable.NoCompression
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(f), wo)
	err = putIndex(p, w.Set)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("store: index: writing %s: %w", path, err)
	}
	if err := db.Ingest(context.Background(), []string{path}); err != nil {
		os.Remove(path)
		return fmt.Errorf("store: index: ingesting %s: %w", path, err)
	}
	return nil
}

// putIndex passes p's entries to set in key order.
func putIndex(p *pendingIndex, set func(k, v []byte) error) error {
	var key []byte
	var err error
	put := func(k, v []byte) {
		if err == nil {
			err = set(k, v)
		}
	}
	var num [4]byte
	p.sort(p.addrs)
	for i := range p.addrs {
		e := &p.addrs[i]
		binary.BigEndian.PutUint32(num[:], e.num)
		put(addrKey(key[:0], p.key(e)), num[:])
	}
	p.sort(p.blocks)
	for i := range p.blocks {
		e := &p.blocks[i]
		binary.BigEndian.PutUint32(num[:], e.num)
		put(blockKey(key[:0], p.key(e)), num[:])
	}
	// Outputs arrive in order, so a stable sort by address leaves each
	// address's outputs sorted.
	slices.SortStableFunc(p.postings, func(x, y posting) int { return cmp.Compare(x.addr, y.addr) })
	for _, q := range p.postings {
		put(postingKey(key[:0], q.addr, q.out), nil)
	}
	p.sort(p.txs)
	for i := range p.txs {
		e := &p.txs[i]
		if i+1 < len(p.txs) && bytes.Equal(p.key(e), p.key(&p.txs[i+1])) {
			continue // a duplicated txid: the later tx's entry names the earlier
		}
		put(txKey(key[:0], p.key(e)), p.value(e))
	}
	return err
}
