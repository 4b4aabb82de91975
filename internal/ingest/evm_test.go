package ingest

import (
	"context"
	"errors"
	"io"
	"maps"
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

// TestDAOForkMoves: at the DAO fork's block of a source that does not give
// its moves, each drained account's ether as the store has it goes to the
// refund contract, and they hold nothing after; a source that gives them
// (ethereum-etl's daofork traces) is taken as it is. The fork here is at
// block 3 (mainnet's, 1,920,000, is go-ethereum's: TestDAOForkOfMainnet).
func TestDAOForkMoves(t *testing.T) {
	d1, d2, d3, x := common.Address{0xd1}, common.Address{0xd2}, common.Address{0xd3}, common.Address{0xee}
	refund := common.Address{0xbf}
	daoFork = func(chainID uint64) (uint64, []common.Address, common.Address, bool) {
		return 3, []common.Address{d1, d2, d3}, refund, chainID == 1
	}
	defer func() { daoFork = evm.DAOFork }()
	chain := func(fork []evm.Trace) []*evm.Block {
		bs := []*evm.Block{{Number: 0, Hash: common.Hash{1}, Traces: []evm.Trace{
			{TxIndex: -1, Type: "genesis", To: d1, Value: *uint256.NewInt(100)},
			{TxIndex: -1, Type: "genesis", To: d2, Value: *uint256.NewInt(50)},
			{TxIndex: -1, Type: "genesis", To: x, Value: *uint256.NewInt(1000)},
		}}}
		// d2 pays 20 and x pays d1 5 in block 1, and 999 of a token
		// (which stays with d1); block 2 is empty.
		token, v := common.Address{0x70}, uint256.NewInt(999)
		bs = append(bs, &evm.Block{Number: 1, Hash: common.Hash{2}, Parent: common.Hash{1}, Txs: []evm.Tx{
			{Hash: common.Hash{0xa1}, Index: 0, From: d2, To: &x, Value: *uint256.NewInt(20), Status: evm.StatusOK},
			{Hash: common.Hash{0xa2}, Index: 1, From: x, To: &d1, Value: *uint256.NewInt(5), Status: evm.StatusOK},
		}, Logs: []evm.Log{{TxIndex: 1, Address: token, Topics: []common.Hash{evm.TopicTransfer, common.BytesToHash(x[:]), common.BytesToHash(d1[:])}, Data: v.PaddedBytes(32)}},
		}, &evm.Block{Number: 2, Hash: common.Hash{3}, Parent: common.Hash{2}},
			&evm.Block{Number: 3, Hash: common.Hash{4}, Parent: common.Hash{3}, Rewards: fork},
			&evm.Block{Number: 4, Hash: common.Hash{5}, Parent: common.Hash{4}})
		return bs
	}
	ingest := func(name string, bs []*evm.Block, opts Options) *evmstore.Store {
		es, err := evmstore.Open(filepath.Join(t.TempDir(), name), name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { es.Close() })
		i := 0
		next := func() (*evm.Block, error) {
			if i == len(bs) {
				return nil, io.EOF
			}
			i++
			return bs[i-1], nil
		}
		if _, err := EVMStream(context.Background(), es, next, opts); err != nil {
			t.Fatal(err)
		}
		return es
	}
	moves := func(es *evmstore.Store) map[common.Address]uint64 {
		out := map[common.Address]uint64{}
		for n := uint64(0); n < es.Counts().Transfers; n++ {
			if tr := es.Transfer(n); tr.Kind == evm.KindDAOFork {
				if es.Address(tr.To) != refund || es.TransferBlock(n) != 3 {
					t.Errorf("a DAO fork move to %s in block row %d", es.Address(tr.To).Hex(), es.TransferBlock(n))
				}
				out[es.Address(tr.From)] += tr.Amount.Uint64()
			}
		}
		return out
	}
	balance := func(es *evmstore.Store, a common.Address) uint64 {
		b, err := es.EtherBalance(a)
		if err != nil {
			t.Fatal(err)
		}
		return b.Uint64()
	}
	// Committed block by block, and all at once (the moves commit the
	// blocks before them first).
	for _, opts := range []Options{{CommitEvery: 1}, {}} {
		es := ingest("eth", chain(nil), opts)
		if got := moves(es); !maps.Equal(got, map[common.Address]uint64{d1: 105, d2: 30}) {
			t.Fatalf("moves %v", got)
		}
		if balance(es, d1) != 0 || balance(es, d2) != 0 || balance(es, refund) != 135 || balance(es, x) != 1015 {
			t.Fatalf("after the fork: d1 %d, d2 %d, refund %d, x %d", balance(es, d1), balance(es, d2), balance(es, refund), balance(es, x))
		}
	}
	// A source's own moves are kept, not made again; another chain has no
	// fork.
	given := []evm.Trace{{TxIndex: -1, Type: "daofork", From: d1, To: refund, Value: *uint256.NewInt(7)}}
	if got := moves(ingest("eth", chain(given), Options{})); !maps.Equal(got, map[common.Address]uint64{d1: 7}) {
		t.Fatalf("a source's own moves: %v", got)
	}
	if got := moves(ingest("sepolia", chain(nil), Options{})); len(got) != 0 {
		t.Fatalf("moves on another chain: %v", got)
	}
}

// TestDAOForkOfMainnet: mainnet's fork is go-ethereum's: block 1,920,000,
// 116 accounts (the DAO and its child DAOs, with their extra balance
// accounts) drained to the refund contract; Ethereum Classic (61) and
// Sepolia took none.
func TestDAOForkOfMainnet(t *testing.T) {
	at, drain, refund, ok := evm.DAOFork(1)
	if !ok || at != 1_920_000 || len(drain) != 116 || refund != common.HexToAddress("0xbf4ed7b27f1d666546e30d74d50d173d20bca754") ||
		drain[0] != common.HexToAddress("0xd4fe7bc31cedb7bfb8a345f31e668033056b2728") {
		t.Fatalf("mainnet: %v %d %d accounts %s", ok, at, len(drain), refund.Hex())
	}
	for _, id := range []uint64{61, 11155111, 1337} {
		if _, _, _, ok := evm.DAOFork(id); ok {
			t.Errorf("chain %d has a DAO fork", id)
		}
	}
}
