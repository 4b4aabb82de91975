package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/hashidx"
)

// ErrReadOnly reports a write to a store opened with OpenReadOnly, or a
// store that cannot be opened so because it needs a repair only a writable
// open makes.
var ErrReadOnly = errors.New("store: read-only")

// OpenReadOnly opens the store in dir for queries without writing a byte of
// it: a store on a read-only file system (an evidence copy, a snapshot), or
// one that must stay as it is. It takes the store's lock shared (where the
// lock file is there to take), so no ingest runs while it reads. Rows and
// postings past the commit are ignored rather than cut; a store a crash
// left with work for the next open to redo (spends to replay, table rows
// to insert again, a table or postings to make again) is refused: open it
// once where it can be written.
func OpenReadOnly(dir string, opts Options) (*Store, error) {
	if opts.Network == nil {
		opts.Network = btc.Main
	}
	metaPath := filepath.Join(dir, "META")
	if _, err := os.Stat(metaPath); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s holds no store (no META)", ErrNotFound, dir)
	}
	// The lock before META: a follower sharing its lock between blocks
	// (Share) may commit until the lock is held.
	lock, err := colfile.ShareDir(dir, ErrLocked)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, net: opts.Network, readOnly: true, lock: lock}
	fail := func(err error) (*Store, error) {
		s.Close()
		return nil, err
	}
	b, err := os.ReadFile(metaPath)
	if err != nil {
		return fail(fmt.Errorf("store: %w", err))
	}
	m, err := unmarshalMeta(metaPath, b)
	if err != nil {
		return fail(err)
	}
	if m.Network != opts.Network.Name {
		return fail(fmt.Errorf("store: %s holds network %s, not %s", dir, m.Network, opts.Network.Name))
	}
	s.meta = *m
	repair := func(what string) (*Store, error) {
		return fail(fmt.Errorf("%w: %s was not closed cleanly (%s); open it once where it can be written, which repairs it", ErrReadOnly, dir, what))
	}
	if m.SpentSynced < m.Counts.Inputs {
		return repair("spends to replay")
	}
	if err := s.openColumns(func(name string, width int) (*colfile.Column, error) {
		// At least a page: an empty column has nothing to map.
		return colfile.OpenReader(filepath.Join(dir, name), width, 1)
	}); err != nil {
		return fail(err)
	}
	if err := s.checkSizes(); err != nil {
		return fail(err)
	}
	for _, x := range s.hashIndexes(m.Counts) {
		t, err := hashidx.OpenReadOnly(filepath.Join(dir, x.name))
		if err != nil {
			if errors.Is(err, hashidx.ErrMissing) {
				return repair(x.name + " to build again")
			}
			return fail(err)
		}
		*x.t = t
		if t.Covered() < x.rows {
			return repair(x.name + " rows to insert again")
		}
	}
	if err := s.openPostings(m.Counts.Outputs); err != nil {
		if errors.Is(err, errPostingsGap) {
			return repair("postings to make again")
		}
		return fail(err)
	}
	return s, nil
}
