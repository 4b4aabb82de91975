package evmstore

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/evm"
)

const export = "../../testdata/evm/etl-17173049"

// blocks reads the two real mainnet blocks of the test export.
func blocks(t *testing.T) []*evm.Block {
	t.Helper()
	e, err := evm.OpenETL(export)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var out []*evm.Block
	for {
		b, err := e.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, "eth")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ingest(t *testing.T, s *Store, bs []*evm.Block) {
	t.Helper()
	for _, b := range bs {
		if err := s.AppendBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
}

func digest(t *testing.T, s *Store) string {
	t.Helper()
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// What the store gives back is what the decoder made: every transfer of
// every transaction, field by field, with addresses and amounts exact.
func TestRoundTrip(t *testing.T) {
	bs := blocks(t)
	dir := t.TempDir()
	s := open(t, dir)
	ingest(t, s, bs)
	s.Close()
	s = open(t, dir) // read back from disk
	defer s.Close()

	var want []evm.Transfer
	var wantTx int
	for _, b := range bs {
		want = append(want, b.Transfers()...)
		wantTx += len(b.Txs)
	}
	c := s.Counts()
	if c.Blocks != 2 || c.First != 17173049 || c.Txs != uint64(wantTx) || c.Transfers != uint64(len(want)) {
		t.Fatalf("counts %+v; want 2 blocks from 17173049, %d txs, %d transfers", c, wantTx, len(want))
	}
	addr := func(n uint32) common.Address {
		if n == None {
			return common.Address{}
		}
		return s.Address(n)
	}
	for i, w := range want {
		g := s.Transfer(uint64(i))
		if g.Kind != w.Kind || addr(g.From) != w.From || addr(g.To) != w.To || addr(g.Asset) != w.Asset || !g.Amount.Eq(&w.Amount) {
			t.Fatalf("transfer %d: got %+v, want %+v", i, g, w)
		}
	}
	for _, b := range bs {
		for _, tx := range b.Txs {
			n, err := s.TxNum(tx.Hash)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Tx(n)
			if got.Hash != tx.Hash || s.Address(got.From) != tx.From || got.Index != tx.Index || got.GasUsed != tx.GasUsed || got.Status != tx.Status {
				t.Fatalf("tx %s: got %+v", tx.Hash.Hex(), got)
			}
		}
	}
	// A known Uniswap swap: 7.4 WETH in, the token out, linked to transfers.
	n, err := s.TxNum(common.HexToHash("0xec7cc4df1ff542793053335700f18d59c3f870e1e4820a42d558c76db832bd14"))
	if err != nil {
		t.Fatal(err)
	}
	v := s.TxView(n)
	if len(v.Events) != 1 || v.Events[0].Kind != "swap" || v.Events[0].In == nil || v.Events[0].Out == nil ||
		v.Events[0].In.Value != "7400000000000000000" || v.Events[0].In.Asset != "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2" ||
		v.Events[0].Out.Value != "151553041876899159101915312117" {
		t.Fatalf("events %+v", v.Events)
	}
	// WETH moved in the store equals WETH moved in logs.csv, summed here
	// independently of the decoder.
	weth, _ := s.AddrNum(common.HexToAddress("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"))
	var got uint256.Int
	for x := uint64(0); x < c.Transfers; x++ {
		if r := s.Transfer(x); r.Asset == weth && r.Kind == evm.KindToken {
			got.Add(&got, &r.Amount)
		}
	}
	f, err := os.Open(filepath.Join(export, "logs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantSum := new(big.Int)
	for _, r := range recs[1:] { // log_index,transaction_hash,transaction_index,block_number,address,data,topics
		if r[4] == "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2" && strings.HasPrefix(r[6], "0xddf252ad") && strings.Count(r[6], ",") == 2 {
			v, _ := new(big.Int).SetString(r[5][2:], 16)
			wantSum.Add(wantSum, v)
		}
	}
	if got.ToBig().Cmp(wantSum) != 0 || wantSum.Sign() == 0 {
		t.Fatalf("WETH moved %s, logs say %s", got.Dec(), wantSum)
	}
	av, err := s.AddressView("0x64a018b23b4D7A077DfFA6723462Bc722861c5aD", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if av.TransferCount == 0 || len(av.Balances) < 2 || av.Balances[0].Asset != "ETH" {
		t.Fatalf("address view %+v", av)
	}
	if _, err := s.AddressView("0x64a018b23b4D7A077DfFA6723462Bc722861c5AD", 0, 0); err == nil {
		t.Fatal("bad EIP-55 checksum accepted")
	}
	if _, err := s.TxNum(common.Hash{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown tx: %v", err)
	}
}

// Blocks appended in two runs, or after an unwind, give the same store.
func TestResumeAndUnwind(t *testing.T) {
	bs := blocks(t)
	one := open(t, t.TempDir())
	ingest(t, one, bs)
	whole := digest(t, one)
	// The first block's parent is no stored block, and still shows.
	if got := one.BlockView(0, 0, 0).ParentHash; got != bs[0].Parent.Hex() || bs[0].Parent == (common.Hash{}) {
		t.Fatalf("first block's parent %q, want %s", got, bs[0].Parent.Hex())
	}
	if got := one.BlockView(1, 0, 0).ParentHash; got != bs[0].Hash.Hex() {
		t.Fatalf("second block's parent %q, want %s", got, bs[0].Hash.Hex())
	}

	first := open(t, t.TempDir())
	ingest(t, first, bs[:1])
	justFirst := digest(t, first)
	ingest(t, first, bs[1:])
	if d := digest(t, first); d != whole {
		t.Fatal("two runs differ from one")
	}
	if err := one.Unwind(bs[1].Number); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, one); d != justFirst {
		t.Fatal("unwound store differs from one holding the first block")
	}
	if _, err := one.TxNum(bs[1].Txs[0].Hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unwound tx still found: %v", err)
	}
	ingest(t, one, bs[1:])
	if d := digest(t, one); d != whole {
		t.Fatal("re-ingest after unwind differs")
	}
	if err := one.Unwind(0); err != nil {
		t.Fatal(err)
	}
	if c := one.Counts(); c != (Counts{}) {
		t.Fatalf("unwind to nothing left %+v", c)
	}
	if h, ok := one.firstParent(); ok {
		t.Fatalf("unwound to nothing, the store keeps a first parent %s", h.Hex())
	}
	one.Close()
	first.Close()
}

// TestNoRoomToCommit: a commit the disk has no room for is refused before
// anything of it is written, naming what it needs, as is an open for
// writing; the store is as committed, and takes the blocks once there is
// room.
func TestNoRoomToCommit(t *testing.T) {
	bs := blocks(t)
	dir := t.TempDir()
	s := open(t, dir)
	ingest(t, s, bs[:1])
	want := digest(t, s)
	defer func(f func(string) (uint64, error)) { colfile.DiskFree = f }(colfile.DiskFree)
	colfile.DiskFree = func(string) (uint64, error) { return 3 << 20, nil }
	if err := s.AppendBlock(bs[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "3.0 MiB free") {
		t.Fatalf("a commit without room: %v", err)
	}
	s.Close()
	// Nor is it opened for writing on a full disk: its index's open
	// flushes its log, which Pebble would retry without end.
	colfile.DiskFree = func(string) (uint64, error) { return 512 << 10, nil }
	if _, err := Open(dir, "eth"); !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), filepath.Join(dir, "index")) {
		t.Fatalf("opened for writing without room: %v", err)
	}
	colfile.DiskFree = func(string) (uint64, error) { return 1 << 30, nil }
	s = open(t, dir)
	defer s.Close()
	if d := digest(t, s); d != want {
		t.Fatal("the store after a commit without room differs from the committed one")
	}
	ingest(t, s, bs[1:])
}

// A crash after the columns were written but before the index batch: the
// next open cuts the columns back and the store is as committed.
func TestCrashBeforeIndex(t *testing.T) {
	bs := blocks(t)
	dir := t.TempDir()
	s := open(t, dir)
	ingest(t, s, bs[:1])
	want := digest(t, s)
	if err := s.AppendBlock(bs[1]); err != nil {
		t.Fatal(err)
	}
	for _, c := range s.cols {
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	s.Close() // no index batch: as if killed here
	s = open(t, dir)
	defer s.Close()
	if d := digest(t, s); d != want {
		t.Fatal("store after the crash differs from the committed one")
	}
	ingest(t, s, bs[1:])
}

func TestRefusals(t *testing.T) {
	bs := blocks(t)
	dir := t.TempDir()
	s := open(t, dir)
	ingest(t, s, bs[:1])
	want := digest(t, s)

	// Not the next block; then a block whose parent is not the tip.
	if err := s.AppendBlock(bs[0]); !errors.Is(err, ErrNotNext) {
		t.Fatalf("same block again: %v", err)
	}
	fork := *bs[1]
	fork.Parent = common.Hash{9}
	if err := s.AppendBlock(&fork); !errors.Is(err, ErrNotNext) {
		t.Fatalf("fork: %v", err)
	}
	huge := *bs[1]
	huge.Txs = append([]evm.Tx(nil), bs[1].Txs...)
	huge.Txs[3].GasPrice.Lsh(uint256.NewInt(1), 70)
	if err := s.AppendBlock(&huge); err == nil {
		t.Fatal("gas price over 64 bits accepted")
	}
	s.Rollback()
	if d := digest(t, s); d != want {
		t.Fatal("refused blocks changed the store")
	}
	ingest(t, s, bs[1:])
	if _, err := Open(dir, "eth"); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("second open: %v", err)
	}
	s.Close()

	if _, err := Open(dir, "sepolia"); !errors.Is(err, ErrChain) {
		t.Fatalf("other chain: %v", err)
	}
	if _, err := Open(t.TempDir(), "nochain"); !errors.Is(err, ErrChain) {
		t.Fatalf("unknown chain: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "META"))
	b[8] = 99
	os.WriteFile(filepath.Join(dir, "META"), b, 0o644)
	if _, err := Open(dir, "eth"); !errors.Is(err, ErrVersion) {
		t.Fatalf("other version: %v", err)
	}
}

// Amounts wider than 128 bits go to their own column and come back exact.
func TestBigAmounts(t *testing.T) {
	var big, small uint256.Int
	big.Lsh(uint256.NewInt(3), 200)
	small.SetUint64(5)
	tok := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	word := func(v *uint256.Int) []byte { b := v.Bytes32(); return b[:] }
	from, to := common.HexToAddress("0x01"), common.HexToAddress("0x02")
	b := &evm.Block{Number: 5, Hash: common.Hash{5}, Parent: common.Hash{4}, Txs: []evm.Tx{{Hash: common.Hash{0xaa}, From: from, Status: evm.StatusOK}}}
	for i, v := range []*uint256.Int{&big, &small} {
		b.Logs = append(b.Logs, evm.Log{Index: uint32(i), Address: tok, Topics: []common.Hash{evm.TopicTransfer, common.BytesToHash(from[:]), common.BytesToHash(to[:])}, Data: word(v)})
	}
	s := open(t, t.TempDir())
	defer s.Close()
	ingest(t, s, []*evm.Block{b})
	if c := s.Counts(); c.Transfers != 2 || c.Big != 1 {
		t.Fatalf("counts %+v", c)
	}
	if g := s.Transfer(0); !g.Amount.Eq(&big) {
		t.Fatalf("big amount came back as %s", g.Amount.Dec())
	}
	if g := s.Transfer(1); !g.Amount.Eq(&small) {
		t.Fatalf("small amount came back as %s", g.Amount.Dec())
	}
	// Token metadata: set, committed, listed.
	if err := s.SetToken(tok, "TKN", 6); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	var got []string
	s.EachToken(func(a uint32, sym string, d uint8) {
		got = append(got, s.Address(a).Hex()+" "+sym+" "+string(rune('0'+d)))
	})
	if len(got) != 1 || got[0] != tok.Hex()+" TKN 6" {
		t.Fatalf("tokens %v", got)
	}
}

// TestBlobFee: a transaction's fee, as its view gives it, includes a blob
// transaction's blob fee, which its gas fields do not.
func TestBlobFee(t *testing.T) {
	from, to, miner := common.HexToAddress("0x01"), common.HexToAddress("0x02"), common.HexToAddress("0x03")
	tx := evm.Tx{Hash: common.Hash{0xbb}, From: from, To: &to, Type: 3, Status: evm.StatusOK, Receipt: true, GasUsed: 21000, BlobGasUsed: 131072}
	tx.GasPrice.SetUint64(10)
	tx.BlobGasPrice.SetUint64(3)
	b := &evm.Block{Number: 5, Hash: common.Hash{5}, Parent: common.Hash{4}, Miner: miner, BaseFee: uint256.NewInt(7), Txs: []evm.Tx{tx}}
	s := open(t, t.TempDir())
	defer s.Close()
	ingest(t, s, []*evm.Block{b})
	if v := s.TxView(0); v.Fee != fmt.Sprint(21000*10+131072*3) {
		t.Fatalf("fee %s, want %d", v.Fee, 21000*10+131072*3)
	}
}

// TestPostingsBackward: an address's postings newest first are its
// postings in chain order reversed, for every address of the real blocks,
// and a stop ends them.
func TestPostingsBackward(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ingest(t, s, blocks(t))
	many := 0
	for a := uint32(0); a < uint32(s.Counts().Addrs); a++ {
		var fwd, back []uint64
		if err := s.Postings(a, func(x uint64) bool { fwd = append(fwd, x); return true }); err != nil {
			t.Fatal(err)
		}
		if err := s.PostingsBackward(a, func(x uint64) bool { back = append(back, x); return true }); err != nil {
			t.Fatal(err)
		}
		slices.Reverse(back)
		if !slices.Equal(fwd, back) {
			t.Fatalf("address %d: forward %v, backward reversed %v", a, fwd, back)
		}
		if len(fwd) > 2 {
			many++
			var two []uint64
			s.PostingsBackward(a, func(x uint64) bool { two = append(two, x); return len(two) < 2 })
			if len(two) != 2 || two[0] != fwd[len(fwd)-1] || two[1] != fwd[len(fwd)-2] {
				t.Fatalf("address %d: the latest two %v of %v", a, two, fwd)
			}
		}
	}
	if many == 0 {
		t.Fatal("no address with more than two postings")
	}
	// One reader for every address, in the order a trace may ask (any),
	// stopped early or not: the same postings.
	r, err := s.NewPostingsReader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for a := int64(s.Counts().Addrs); a >= 0; a-- {
		for _, stop := range []int{1, -1} {
			var want, got []uint64
			s.Postings(uint32(a), func(x uint64) bool { want = append(want, x); return len(want) != stop })
			if err := r.Postings(uint32(a), func(x uint64) bool { got = append(got, x); return len(got) != stop }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(want, got) {
				t.Fatalf("address %d through a reader: %v, want %v", a, got, want)
			}
		}
	}
}

// TestCompactIndex: a context already ended stops a compaction with its
// error; a compaction changes nothing the index holds (the digest, the
// lookups).
func TestCompactIndex(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	bs := blocks(t)
	for _, b := range bs {
		ingest(t, s, []*evm.Block{b}) // a commit a block: several tables
	}
	before := digest(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CompactIndex(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("an ended context: %v", err)
	}
	if err := s.CompactIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := digest(t, s); after != before {
		t.Fatalf("digest %s after compacting, %s before", after, before)
	}
	if n, err := s.TxNum(bs[1].Txs[0].Hash); err != nil || s.Tx(n).Hash != bs[1].Txs[0].Hash {
		t.Fatalf("a lookup after compacting: %v", err)
	}
}

// Summary is AddressView without the transfers, and stops when its
// context is done.
func TestSummary(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ingest(t, s, blocks(t))
	c, err := s.NewPostingsReader()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	busiest, most := uint32(0), 0
	for a := range uint32(s.Counts().Addrs) {
		v, err := s.Summary(context.Background(), c, a)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.AddressView(s.Address(a).Hex(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(v, want) {
			t.Fatalf("address %d: Summary %+v, AddressView %+v", a, v, want)
		}
		if v.TransferCount > most {
			busiest, most = a, v.TransferCount
		}
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if v, err := s.Summary(done, c, busiest); !errors.Is(err, context.Canceled) || v != nil {
		t.Fatalf("cancelled: %+v, %v", v, err)
	}
	// It stops at once, not at the end of the history.
	read := 0
	if _, err := s.summary(done, busiest, s.Postings, func(uint64) { read++ }); !errors.Is(err, context.Canceled) || read != 0 || most < 2 {
		t.Fatalf("cancelled: %d of %d transfers read, %v", read, most, err)
	}
}
