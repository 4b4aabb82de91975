package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
)

// Digest returns a SHA-256 over the store's committed content: META's
// counts and tip and every column's committed rows. The indexes are derived
// from the columns, and laid out by their history (a table's slots, the
// postings' runs), so Digest checks them against the columns instead: every
// committed tx, block and address must be found by its key, and every
// address's postings must be its outputs. Two stores with the same digest
// hold the same chain the same way.
func (s *Store) Digest() (string, error) {
	if err := s.CheckIndexes(); err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte("spur btc store digest v3\x00"))
	m := s.meta
	m.SpentSynced = 0 // history, not content
	h.Write(m.marshal())
	cols := s.colRows(s.meta.Counts)
	sort.Slice(cols, func(i, j int) bool { return cols[i].col.Name() < cols[j].col.Name() })
	for _, c := range cols {
		n := int64(c.rows) * int64(c.col.Width())
		h.Write([]byte(c.col.Base()))
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(n)))
		h.Write(c.col.Flushed(n))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CheckIndexes verifies the hash tables and the postings against the
// columns: every committed row is found by its key, and each address's
// postings are exactly its outputs, in order.
func (s *Store) CheckIndexes() error {
	for _, x := range s.hashIndexes(s.meta.Counts) {
		for n := range x.rows {
			got, ok := x.find(n, x.rows)
			if !ok || got < n {
				return fmt.Errorf("%w: %s: row %d is not found by its key", ErrCorrupt, x.name, n)
			}
			if got != n && !bytes.Equal(x.key(got), x.key(n)) {
				return fmt.Errorf("%w: %s: row %d is found as row %d", ErrCorrupt, x.name, n, got)
			}
		}
	}
	// Postings: the runs cover the outputs from 0 without gap or overlap,
	// each run's live pairs ascend strictly and name outputs of its range
	// that pay the pair's address, and there are as many pairs as outputs
	// paying an address. So the pairs are exactly those outputs, once each.
	// (One pass over each run and over out.addr: no memory that grows with
	// the chain.)
	c := s.meta.Counts
	var pairs, next uint64
	for _, r := range s.post.runs() {
		if r.lo != next {
			return fmt.Errorf("%w: postings: run %s starts at output %d, not %d", ErrCorrupt, r.path, r.lo, next)
		}
		next = r.hi
		if !r.bodyOK() {
			return fmt.Errorf("%w: postings: run %s: the body does not match its checksum", ErrCorrupt, r.path)
		}
		havePrev := false
		var pa uint32
		var po uint64
		for i := range r.addrs {
			a, o := r.addrs[i], r.outs[i]
			if o >= r.hi || o >= c.Outputs {
				continue // dead
			}
			if o < r.lo || havePrev && (a < pa || a == pa && o <= po) || s.outAddr.U32(o) != a {
				return fmt.Errorf("%w: postings: run %s: pair %d (address %d, output %d) is out of order or wrong", ErrCorrupt, r.path, i, a, o)
			}
			pa, po, havePrev = a, o, true
			pairs++
		}
	}
	if next < c.Outputs {
		return fmt.Errorf("%w: postings: runs end at output %d of %d", ErrCorrupt, next, c.Outputs)
	}
	var want uint64
	for o := range c.Outputs {
		if s.outAddr.U32(o) != NoAddress {
			want++
		}
	}
	if pairs != want {
		return fmt.Errorf("%w: postings: %d pairs for %d outputs paying an address", ErrCorrupt, pairs, want)
	}
	return nil
}

// DiskUsage is the store's size on disk by part.
type DiskUsage struct {
	Columns   map[string]int64 // column file -> bytes
	Index     int64            // hash tables and postings runs
	PerInput  float64          // input columns / inputs
	PerOutput float64          // output columns / outputs
	Hashes    int64            // block.hash, tx.hash and tx.wtxid
	AddrTable int64            // addr.end and addr.data
	TxColumns int64            // per-tx columns other than tx.hash
	Total     int64
}

// DiskUsage measures the committed store.
func (s *Store) DiskUsage() (DiskUsage, error) {
	u := DiskUsage{Columns: map[string]int64{}}
	for _, cr := range s.colRows(s.meta.Counts) {
		c := cr.col
		n := int64(cr.rows) * int64(c.Width())
		name := c.Base()
		u.Columns[name] = n
		u.Total += n
		switch name {
		case "block.hash", "tx.hash", "tx.wtxid":
			u.Hashes += n
		case "addr.end", "addr.data":
			u.AddrTable += n
		case "tx.in", "tx.out", "tx.fee", "tx.height", "tx.info":
			u.TxColumns += n
		}
	}
	cnt := s.meta.Counts
	if cnt.Inputs > 0 {
		u.PerInput = float64(u.Columns["in.out"]) / float64(cnt.Inputs)
	}
	if cnt.Outputs > 0 {
		u.PerOutput = float64(u.Columns["out.value"]+u.Columns["out.addr"]+u.Columns["out.spent"]) / float64(cnt.Outputs)
	}
	for _, x := range s.hashIndexes(s.meta.Counts) {
		u.Index += (*x.t).Size()
	}
	u.Index += s.post.size()
	u.Total += u.Index
	return u, nil
}
