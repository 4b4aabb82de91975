package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
)

// out.spent is synced only now and then. A power loss may take everything
// written to it since the last sync: the store opens with the spends of
// the later inputs set again, the same store as before the loss. A clean
// close syncs it.
func TestSpendsAfterPowerLoss(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{TableSyncRows: 3000})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	for _, b := range mainnetBlocks(t) {
		commitAll(t, s, []*btc.Block{b})
	}
	// Blocks whose first spend is of the block before's last output: a
	// spend of an older output in every commit, and many of new ones.
	var from btc.Hash
	var value int64
	for tag := uint32(1); tag <= 14; tag++ {
		b := chainedBlock(t, s.TipHash(), tag, 1000, from, value)
		commitAll(t, s, []*btc.Block{b})
		last := b.Txs[len(b.Txs)-1]
		from, value = last.TxID, last.Outputs[0].Value
	}
	c, k := s.Counts(), s.meta.SpentSynced
	if k == 0 || k >= c.Inputs {
		t.Fatalf("out.spent synced for %d of %d inputs: want some, not all", k, c.Inputs)
	}
	want, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}

	// The disk as the last sync left it: out.spent as long as the outputs
	// then, none of the later spends in it.
	lost := t.TempDir()
	copyDir(t, dir, lost)
	tk := uint64(sort.Search(int(c.Txs), func(i int) bool { return s.txIn.U64(uint64(i)) >= k }))
	rows := s.txOut.U64(tk)
	spent := slices.Clone(s.outSpent.Flushed(int64(4 * rows)))
	zeroed := 0
	for i := k; i < c.Inputs; i++ {
		if o := s.inOut.U64(i); o != NoOutput && o < rows {
			binary.LittleEndian.PutUint32(spent[4*o:], 0)
			zeroed++
		}
	}
	if zeroed == 0 {
		t.Fatal("no spend of an older output after the last sync")
	}
	if err := os.WriteFile(filepath.Join(lost, "out.spent"), spent, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(lost, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got, err := l.Digest(); err != nil || got != want {
		t.Fatalf("reopened after the loss: digest %s (%v), want %s", got, err, want)
	}
	if l.meta.SpentSynced != c.Inputs {
		t.Fatalf("after the replay out.spent is synced for %d inputs, want %d", l.meta.SpentSynced, c.Inputs)
	}

	// A row the last sync covered missing is damage, not a power loss.
	damaged := t.TempDir()
	copyDir(t, dir, damaged)
	if err := os.Truncate(filepath.Join(damaged, "out.spent"), int64(4*(rows-1))); err != nil {
		t.Fatal(err)
	}
	metaBefore, _ := os.ReadFile(filepath.Join(damaged, "META"))
	if d, err := Open(damaged, Options{}); !errors.Is(err, ErrCorrupt) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("out.spent shorter than its last sync: %v", err)
	}
	// The refused open changed nothing: its META does not now claim the
	// spends synced.
	if metaAfter, _ := os.ReadFile(filepath.Join(damaged, "META")); !bytes.Equal(metaAfter, metaBefore) {
		t.Fatal("a refused open rewrote META")
	}

	s.Close()
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if s.meta.SpentSynced != c.Inputs {
		t.Fatalf("after a close out.spent is synced for %d inputs, want %d", s.meta.SpentSynced, c.Inputs)
	}
}

// copyDir copies the files of a store directory, postings included.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == from {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.Mkdir(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(filepath.Join(to, rel), b, 0o644)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
