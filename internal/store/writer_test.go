package store

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
)

// mainnetBlocks decodes the mainnet blocks 0..4 shipped in testdata.
func mainnetBlocks(t *testing.T) []*btc.Block {
	return decodeBlocks(t, "../../testdata/btc/blk_0_to_4.dat.bz2", 5)
}

// decodeBlocks decodes the first n blocks of the block file at path.
func decodeBlocks(t *testing.T, path string, n int) []*btc.Block {
	t.Helper()
	files, err := btc.OpenBlockPaths([]string{path}, btc.Main)
	if err != nil {
		t.Fatal(err)
	}
	defer files[0].Close()
	refs, err := files[0].Scan(btc.Main)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) < n {
		t.Fatalf("%s holds %d blocks, want %d", path, len(refs), n)
	}
	var blocks []*btc.Block
	for _, ref := range refs[:n] {
		raw, err := ref.Read(nil)
		if err == nil {
			var b *btc.Block
			if b, err = btc.DecodeBlock(bytes.Clone(raw)); err == nil {
				blocks = append(blocks, b)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return blocks
}

// openTemp opens a new store in a temporary directory, closed when the
// test ends.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// appendAll appends the blocks to s.
func appendAll(t *testing.T, s *Store, blocks []*btc.Block) {
	t.Helper()
	for _, b := range blocks {
		if err := s.AppendBlock(Prepare(b)); err != nil {
			t.Fatal(err)
		}
	}
}

// commitAll appends the blocks to s and commits them.
func commitAll(t *testing.T, s *Store, blocks []*btc.Block) {
	t.Helper()
	appendAll(t, s, blocks)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
}

// cleanDigest is the digest of a new store holding the blocks.
func cleanDigest(t *testing.T, blocks []*btc.Block) string {
	t.Helper()
	s := openTemp(t)
	commitAll(t, s, blocks)
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A failure in the address stage, which runs behind AppendBlock, stops the
// next append with its error; a rollback then drops every block since the
// commit, and the store goes on as if they had never come.
func TestAddressStageFailure(t *testing.T) {
	blocks := mainnetBlocks(t)
	s := openTemp(t)
	commitAll(t, s, blocks[:3])
	appendAll(t, s, blocks[3:4])
	// The stage fails on block 3.
	injected := errors.New("injected failure")
	s.drainAddrs()
	s.w.addrs.err = injected
	s.w.addrs.failed.Store(true)
	if err := s.AppendBlock(Prepare(blocks[4])); !errors.Is(err, injected) {
		t.Fatalf("append after a failed address stage: %v", err)
	}
	if err := s.Commit(); !errors.Is(err, injected) {
		t.Fatalf("commit after a failed address stage: %v", err)
	}
	if err := s.Rollback(); err != nil {
		t.Fatal(err)
	}
	if s.Height() != 2 {
		t.Fatalf("height %d after the rollback", s.Height())
	}
	commitAll(t, s, blocks[3:])
	if got, err := s.Digest(); err != nil || got != cleanDigest(t, blocks) {
		t.Fatalf("digest %s (%v), want the clean store's", got, err)
	}
}
