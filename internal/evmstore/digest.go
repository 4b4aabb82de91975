package evmstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble/v2"
)

// Digest hashes the committed state: the counts, every column's committed
// rows and every index entry. Two stores with the same blocks have the same
// digest however they were built (in one run, resumed, after a crash, or
// after an unwind and re-ingest).
func (s *Store) Digest() (string, error) {
	h := sha256.New()
	h.Write([]byte("spur evm store digest v1\x00"))
	h.Write(s.counts.marshal())
	rows := s.rowsOf(s.counts)
	cols := append(s.cols[:0:0], s.cols...)
	sort.Slice(cols, func(i, j int) bool { return cols[i].Name() < cols[j].Name() })
	for _, c := range cols {
		n := int64(rows[c]) * int64(c.Width())
		h.Write([]byte(c.Base()))
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(n)))
		if n > 0 {
			h.Write(c.Bytes(0, uint64(n)))
		}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{})
	if err != nil {
		return "", fmt.Errorf("evm store: index: %w", err)
	}
	defer it.Close()
	var lb []byte
	for ok := it.First(); ok; ok = it.Next() {
		lb = binary.AppendUvarint(lb[:0], uint64(len(it.Key())))
		h.Write(lb)
		h.Write(it.Key())
		v := it.Value()
		lb = binary.AppendUvarint(lb[:0], uint64(len(v)))
		h.Write(lb)
		h.Write(v)
	}
	if err := it.Error(); err != nil {
		return "", fmt.Errorf("evm store: index: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// DiskUsage is the committed bytes per column file.
func (s *Store) DiskUsage() map[string]int64 {
	out := map[string]int64{}
	for c, n := range s.rowsOf(s.counts) {
		out[c.Base()] = int64(n) * int64(c.Width())
	}
	return out
}
