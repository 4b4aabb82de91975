package ingest

import (
	"context"
	"errors"
	"io"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"

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

// TestEra1Genesis: the first era1 archive of Sepolia, whose block 0 comes
// without the state it begins with, is ingested with its genesis
// allocations, go-ethereum's: the genesis they make is the archive's own
// block 0 (its hash), and each funded account receives its allocation
// there, once, and nothing else (no mining reward); no other block gets
// any.
func TestEra1Genesis(t *testing.T) {
	g := core.DefaultSepoliaGenesisBlock()
	for _, f := range []string{"sepolia-00000-643a00f7.era1", "sepolia-00021-b8814b14.era1"} {
		es, err := evmstore.Open(filepath.Join(t.TempDir(), "sepolia"), "sepolia")
		if err != nil {
			t.Fatal(err)
		}
		defer es.Close()
		src, err := evm.OpenEra1([]string{"../../testdata/evm/era1/" + f}, es.ChainID())
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if _, err := EVMStream(context.Background(), es, src.Next, Options{}); err != nil {
			t.Fatal(err)
		}
		want := map[common.Address]*big.Int{}
		if es.Counts().First == 0 {
			if h := es.Block(0).Hash; h != g.ToBlock().Hash() {
				t.Fatalf("the archive's block 0 is %s, go-ethereum's Sepolia genesis %s", h, g.ToBlock().Hash())
			}
			for a, acct := range g.Alloc {
				if acct.Balance.Sign() > 0 {
					want[a] = acct.Balance
				}
			}
		}
		got := map[common.Address]*big.Int{}
		for n := range es.Counts().Transfers {
			x := es.Transfer(n)
			if x.Kind != evm.KindGenesis {
				if es.Block(es.TransferBlock(n)).Number == 0 {
					t.Fatalf("%s: block 0, which no one mined, pays %+v", f, x)
				}
				continue
			}
			if b := es.Block(es.TransferBlock(n)).Number; b != 0 {
				t.Fatalf("%s: a genesis allocation in block %d", f, b)
			}
			a := es.Address(x.To)
			if got[a] != nil {
				t.Fatalf("%s: %s allocated twice", f, a)
			}
			got[a] = x.Amount.ToBig()
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d genesis allocations, want %d", f, len(got), len(want))
		}
		for a, v := range want {
			if got[a] == nil || got[a].Cmp(v) != 0 {
				t.Fatalf("%s: %s allocated %v, want %v", f, a, got[a], v)
			}
		}
		if len(want) > 0 {
			v, err := es.AddressView("0xa2A6d93439144FFE4D27c9E088dCD8b783946263", 0, 0)
			if err != nil || len(v.Balances) != 1 || v.Balances[0].Balance != "1000000000000000000000000" {
				t.Fatalf("a genesis account's balance: %+v %v", v, err)
			}
		}
	}
}

// TestGenesisTracesKept: a block 0 whose source gives its genesis
// allocations (ethereum-etl's genesis traces) gets them as given, not
// go-ethereum's besides.
func TestGenesisTracesKept(t *testing.T) {
	es, err := evmstore.Open(filepath.Join(t.TempDir(), "sepolia"), "sepolia")
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	b := &evm.Block{Number: 0, Hash: params.SepoliaGenesisHash, Traces: []evm.Trace{{TxIndex: -1, Type: "genesis", To: common.Address{0xaa}, Value: *uint256.NewInt(5)}}}
	sent := false
	next := func() (*evm.Block, error) {
		if sent {
			return nil, io.EOF
		}
		sent = true
		return b, nil
	}
	if _, err := EVMStream(context.Background(), es, next, Options{}); err != nil {
		t.Fatal(err)
	}
	if n := es.Counts().Transfers; n != 1 || es.Address(es.Transfer(0).To) != (common.Address{0xaa}) {
		t.Fatalf("%d transfers in block 0", n)
	}
}
