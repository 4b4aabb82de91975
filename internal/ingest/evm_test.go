package ingest

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
)

// TestEVMCountsOfAFailedRun: an EVM run whose source fails after its first
// block reports the blocks and transactions the store kept: the first
// block when it was committed, none when it was rolled back.
func TestEVMCountsOfAFailedRun(t *testing.T) {
	broken := errors.New("source broken")
	for _, every := range []int{1, 0} {
		es, err := evmstore.Open(filepath.Join(t.TempDir(), "eth"), "eth")
		if err != nil {
			t.Fatal(err)
		}
		src, err := evm.OpenETL("../../testdata/evm/etl-17173049")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		next := func() (*evm.Block, error) {
			if n++; n == 2 {
				return nil, broken
			}
			return src.Next()
		}
		st, err := EVMStream(context.Background(), es, next, Options{CommitEvery: every})
		src.Close()
		var want int64
		if every == 1 {
			want = 1
		}
		_, _, stored := es.Tip()
		if !errors.Is(err, broken) || st.Blocks != want || stored != (want == 1) || want == 1 && st.Txs == 0 || want == 0 && st.Txs != 0 {
			t.Fatalf("commit every %d: %v; reported %d blocks, %d txs; store holds a block: %v", every, err, st.Blocks, st.Txs, stored)
		}
		es.Close()
	}
}

// TestEVMGapNamesItsFile: era1 files whose blocks do not follow one
// another (a file missing from a directory of them) are refused at the
// first block that does not extend the chain, naming the file and offset
// it was read from; the blocks before it are dropped with the rest of the
// run, as any bad block's run is.
func TestEVMGapNamesItsFile(t *testing.T) {
	es, err := evmstore.Open(filepath.Join(t.TempDir(), "sepolia"), "sepolia")
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	const file = "../../testdata/evm/era1/sepolia-00021-b8814b14.era1"
	src, err := evm.OpenEra1([]string{file}, es.ChainID())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n := 0
	next := func() (*evm.Block, error) {
		b, err := src.Next()
		if n++; n == 3 && err == nil {
			// The third block read, its place taken by the fourth.
			if b, err = src.Next(); err == nil && b.Where == "" {
				t.Fatal("an era1 block without its place")
			}
		}
		return b, err
	}
	_, err = EVMStream(context.Background(), es, next, Options{})
	if !errors.Is(err, evmstore.ErrNotNext) || !strings.HasPrefix(err.Error(), file+" offset ") || !strings.Contains(err.Error(), "got block 172035, want 172034") {
		t.Fatalf("%v", err)
	}
	if _, _, stored := es.Tip(); stored {
		t.Fatal("the run's first blocks were kept")
	}
}
