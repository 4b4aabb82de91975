package store

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
)

// mainnetBlocks decodes the mainnet blocks 0..4 shipped in testdata.
func mainnetBlocks(t *testing.T) []*btc.Block {
	t.Helper()
	files, err := btc.OpenBlockPaths([]string{"../../testdata/btc/blk_0_to_4.dat.bz2"}, btc.Main)
	if err != nil {
		t.Fatal(err)
	}
	defer files[0].Close()
	refs, err := files[0].Scan(btc.Main)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*btc.Block
	for _, ref := range refs {
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

// A failure in the address stage, which runs behind AppendBlock, stops the
// next append with its error; a rollback then drops every block since the
// commit, and the store goes on as if they had never come.
func TestAddressStageFailure(t *testing.T) {
	blocks := mainnetBlocks(t)
	open := func() *Store {
		s, err := Open(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	appendAll := func(s *Store, bs []*btc.Block) {
		for _, b := range bs {
			if err := s.AppendBlock(Prepare(b)); err != nil {
				t.Fatal(err)
			}
		}
	}
	clean := open()
	appendAll(clean, blocks)
	if err := clean.Commit(); err != nil {
		t.Fatal(err)
	}

	s := open()
	appendAll(s, blocks[:3])
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	appendAll(s, blocks[3:4])
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
	appendAll(s, blocks[3:])
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	want, err := clean.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Digest(); err != nil || got != want {
		t.Fatalf("digest %s (%v), want %s", got, err, want)
	}
}
