package evmstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/spur-forensics/spur/internal/colfile"
)

// ErrReadOnly reports a write to a store opened with OpenReadOnly.
var ErrReadOnly = errors.New("evm store: read-only")

// OpenReadOnly opens the store of chain in dir for queries without writing
// a byte of it: a store on a read-only file system (an evidence copy, a
// snapshot). It takes the store's lock shared where the lock file is
// there, so that no ingest runs while it reads; rows past the committed
// counts are ignored rather than cut.
func OpenReadOnly(dir, chain string) (*Store, error) {
	id, ok := Chains[chain]
	if !ok {
		return nil, fmt.Errorf("%w: unknown chain %q (known: eth, sepolia, holesky, dev)", ErrChain, chain)
	}
	s := &Store{dir: dir, chain: chain, chainID: id, readOnly: true}
	fail := func(err error) (*Store, error) {
		s.Close()
		return nil, err
	}
	var err error
	if s.lock, err = colfile.ShareDir(dir, ErrLocked); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "META")); err != nil {
		return fail(fmt.Errorf("%w: %s holds no store (no META)", ErrNotFound, dir))
	}
	if err := s.openMeta(); err != nil {
		return fail(err)
	}
	for _, c := range s.columns() {
		col, err := colfile.OpenReader(filepath.Join(dir, c.name), c.width, 1) // at least a page: an empty column has nothing to map
		if err != nil {
			return fail(err)
		}
		*c.col = col
		s.cols = append(s.cols, col)
	}
	// A reader (a query, a server screening addresses) reads postings at
	// random: a block cache of its own, larger than Pebble's 8 MiB
	// default, keeps a server's from being read and decoded again and
	// again. It fills only as far as it is read.
	cache := pebble.NewCache(readerCache)
	s.db, err = pebble.Open(filepath.Join(dir, "index"), &pebble.Options{Logger: colfile.DBLogger{Dir: filepath.Join(dir, "index")}, ReadOnly: true, FS: unlockedFS{vfs.Default}, Cache: cache})
	cache.Unref()
	if err != nil {
		return fail(fmt.Errorf("evm store: index (read-only): %w", err))
	}
	if err := s.loadCounts(); err != nil {
		return fail(err)
	}
	for col, n := range s.rowsOf(s.counts) {
		if col.FileRows() < n {
			return fail(fmt.Errorf("%w: %s has %d rows, the index says %d are committed", ErrCorrupt, col.Name(), col.FileRows(), n))
		}
	}
	return s, nil
}

// readerCache is the index's block cache of a store opened for reading.
const readerCache = 256 << 20

// unlockedFS is the file system without the index's lock file, which a
// read-only file system cannot create; the store's own lock stands for it.
type unlockedFS struct{ vfs.FS }

func (unlockedFS) Lock(string) (io.Closer, error) { return io.NopCloser(nil), nil }
