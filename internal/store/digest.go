package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"github.com/spur-forensics/spur/internal/colfile"
	"io/fs"
	"path/filepath"
	"sort"

	"github.com/cockroachdb/pebble/v2"
)

// Digest returns a SHA-256 over the store's committed content: META's
// counts and tip, every column's committed rows, and every index entry in
// key order. Two stores with the same digest hold the same chain the same
// way, whatever their files' history (Pebble's own files differ run to run).
func (s *Store) Digest() (string, error) {
	h := sha256.New()
	h.Write([]byte("spur btc store digest v1\x00"))
	m := s.meta
	h.Write(m.marshal())
	cols := append([]*colfile.Column(nil), s.cols...)
	sort.Slice(cols, func(i, j int) bool { return cols[i].Name() < cols[j].Name() })
	rows := s.committedRows()
	for _, c := range cols {
		n := int64(rows[c]) * int64(c.Width())
		h.Write([]byte(c.Base()))
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(n)))
		h.Write(c.Flushed(n))
	}
	it, err := s.db.NewIter(&pebble.IterOptions{})
	if err != nil {
		return "", fmt.Errorf("store: index: %w", err)
	}
	defer it.Close()
	var lb []byte
	for ok := it.First(); ok; ok = it.Next() {
		lb = binary.AppendUvarint(lb[:0], uint64(len(it.Key())))
		h.Write(lb)
		h.Write(it.Key())
		v, err := it.ValueAndErr()
		if err != nil {
			return "", fmt.Errorf("store: index: %w", err)
		}
		lb = binary.AppendUvarint(lb[:0], uint64(len(v)))
		h.Write(lb)
		h.Write(v)
	}
	if err := it.Error(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *Store) committedRows() map[*colfile.Column]uint64 {
	c := s.meta.Counts
	return map[*colfile.Column]uint64{
		s.blockHash: c.Blocks, s.blockHeader: c.Blocks, s.blockTx: c.Blocks, s.blockAddr: c.Blocks,
		s.txHash: c.Txs, s.txIn: c.Txs, s.txOut: c.Txs, s.txFee: c.Txs, s.txHeight: c.Txs, s.txInfo: c.Txs,
		s.inOut: c.Inputs, s.outValue: c.Outputs, s.outAddr: c.Outputs, s.outSpent: c.Outputs,
		s.addrEnd: c.Addrs, s.addrData: c.AddrBytes,
	}
}

// DiskUsage is the store's size on disk by part.
type DiskUsage struct {
	Columns   map[string]int64 // column file -> bytes
	Index     int64            // the Pebble directory
	PerInput  float64          // input columns / inputs
	PerOutput float64          // output columns / outputs
	Hashes    int64            // block.hash and tx.hash
	AddrTable int64            // addr.end and addr.data
	TxColumns int64            // per-tx columns other than tx.hash
	Total     int64
}

// DiskUsage measures the committed store.
func (s *Store) DiskUsage() (DiskUsage, error) {
	u := DiskUsage{Columns: map[string]int64{}}
	rows := s.committedRows()
	for _, c := range s.cols {
		n := int64(rows[c]) * int64(c.Width())
		name := c.Base()
		u.Columns[name] = n
		u.Total += n
		switch name {
		case "block.hash", "tx.hash":
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
	err := filepath.WalkDir(filepath.Join(s.dir, "index"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if info, err := d.Info(); err == nil {
			u.Index += info.Size()
		}
		return nil
	})
	u.Total += u.Index
	return u, err
}
