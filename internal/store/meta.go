package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/spur-forensics/spur/internal/colfile"
)

// FormatVersion is the version of the on-disk layout this package writes
// and reads. Any change to a file's layout increments it.
const FormatVersion = 3

// Version 2 differs only in META, which lacked SpentSynced: its commits
// synced out.spent every time. It is read, and rewritten as version 3.
const formatVersion2 = 2

const metaMagic = "SPURBTC\x00"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Counts are the sizes of the committed chain: the number of rows of each
// kind. They are all a reader may trust.
type Counts struct {
	Blocks    uint64
	Txs       uint64
	Inputs    uint64
	Outputs   uint64
	Addrs     uint64
	AddrBytes uint64
}

// meta is the content of the META file.
type meta struct {
	Network string
	Counts  Counts
	Tip     [32]byte // hash of the last committed block; zero when empty
	// SpentSynced: the out.spent rows set by the inputs below this number
	// were synced (see Store.replaySpends). Not part of the chain: two
	// stores of one chain may differ in it.
	SpentSynced uint64
}

const (
	metaSize   = 8 + 4 + 16 + 6*8 + 32 + 8 + 4
	metaSizeV2 = metaSize - 8
)

func (m *meta) marshal() []byte {
	b := make([]byte, 0, metaSize)
	b = append(b, metaMagic...)
	b = binary.LittleEndian.AppendUint32(b, FormatVersion)
	var net [16]byte
	copy(net[:], m.Network)
	b = append(b, net[:]...)
	for _, v := range []uint64{m.Counts.Blocks, m.Counts.Txs, m.Counts.Inputs, m.Counts.Outputs, m.Counts.Addrs, m.Counts.AddrBytes} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	b = append(b, m.Tip[:]...)
	b = binary.LittleEndian.AppendUint64(b, m.SpentSynced)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// ErrVersion is returned for a store written in another format version.
var ErrVersion = errors.New("store: unsupported format version")

func unmarshalMeta(path string, b []byte) (*meta, error) {
	if len(b) < 12 || string(b[:8]) != metaMagic {
		return nil, fmt.Errorf("%w: %s is not a spur Bitcoin store META file", ErrCorrupt, path)
	}
	size := metaSize
	switch v := binary.LittleEndian.Uint32(b[8:12]); v {
	case FormatVersion:
	case formatVersion2:
		size = metaSizeV2
	default:
		hint := ""
		if v < formatVersion2 {
			hint = " (ingest the chain into a new store)"
		}
		return nil, fmt.Errorf("%w: %s has format version %d; this spur reads versions %d and %d%s", ErrVersion, path, v, formatVersion2, FormatVersion, hint)
	}
	if len(b) != size {
		return nil, fmt.Errorf("%w: %s: %d bytes, want %d", ErrCorrupt, path, len(b), size)
	}
	if got, want := crc32.Checksum(b[:size-4], castagnoli), binary.LittleEndian.Uint32(b[size-4:]); got != want {
		return nil, fmt.Errorf("%w: %s: checksum %08x, want %08x", ErrCorrupt, path, got, want)
	}
	m := &meta{Network: string(bytes.TrimRight(b[12:28], "\x00"))}
	p := b[28:]
	for _, v := range []*uint64{&m.Counts.Blocks, &m.Counts.Txs, &m.Counts.Inputs, &m.Counts.Outputs, &m.Counts.Addrs, &m.Counts.AddrBytes} {
		*v = binary.LittleEndian.Uint64(p)
		p = p[8:]
	}
	copy(m.Tip[:], p[:32])
	m.SpentSynced = m.Counts.Inputs
	if size == metaSize {
		m.SpentSynced = binary.LittleEndian.Uint64(p[32:])
	}
	return m, nil
}

// writeMeta replaces META atomically: write a temporary file, sync it,
// rename it over META, sync the directory.
func writeMeta(dir string, m *meta) error {
	tmp := filepath.Join(dir, "META.tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if _, err := f.Write(m.marshal()); err != nil {
		f.Close()
		return fmt.Errorf("store: write META: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store: sync META: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "META")); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return colfile.SyncDir(dir)
}

// PeekNetwork returns the network name a store in dir holds, from its META,
// without opening the store.
func PeekNetwork(dir string) (string, error) {
	path := filepath.Join(dir, "META")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	m, err := unmarshalMeta(path, b)
	if err != nil {
		return "", err
	}
	return m.Network, nil
}
