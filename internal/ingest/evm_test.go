package ingest

import (
	"context"
	"errors"
	"path/filepath"
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
