package cluster

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
)

func addrN(n int) common.Address { return common.BigToAddress(big.NewInt(int64(0x1000 + n))) }

func tokenLog(idx uint32, tx uint32, token, from, to common.Address, v int64) evm.Log {
	return evm.Log{TxIndex: tx, Index: idx, Address: token, Topics: []common.Hash{evm.TopicTransfer, common.BytesToHash(from[:]), common.BytesToHash(to[:])},
		Data: common.BigToHash(big.NewInt(v)).Bytes()}
}

// A distributor airdrops a token to 25 addresses; three of them pass all of
// it to one collector, the others keep it or pay different people. An
// exchange hot wallet receives sweeps from deposit addresses, each paid by
// its customer's two addresses.
func TestClusterEVM(t *testing.T) {
	token := addrN(999)
	dist, collector, hot := addrN(1), addrN(2), addrN(3)
	b := &evm.Block{Number: 1, Hash: common.Hash{1}}
	tx := func(from common.Address, to common.Address, value int64, logs ...evm.Log) {
		i := uint32(len(b.Txs))
		t := evm.Tx{Hash: common.Hash{byte(i), byte(i >> 8), 7}, Index: i, From: from, To: &to, Status: evm.StatusOK}
		t.Value.SetUint64(uint64(value))
		for _, l := range logs {
			l.TxIndex, l.Index = i, uint32(len(b.Logs))
			b.Logs = append(b.Logs, l)
		}
		b.Txs = append(b.Txs, t)
	}
	for r := 0; r < 25; r++ {
		tx(dist, token, 0, tokenLog(0, 0, token, dist, addrN(100+r), 50))
	}
	for r := 0; r < 3; r++ {
		tx(addrN(100+r), token, 0, tokenLog(0, 0, token, addrN(100+r), collector, 50))
	}
	tx(addrN(110), token, 0, tokenLog(0, 0, token, addrN(110), addrN(500), 50)) // one claimant alone
	// Deposits: customer c has two addresses paying its deposit address.
	for c := 0; c < 12; c++ {
		dep := addrN(300 + c)
		tx(addrN(200+2*c), dep, 1000)
		tx(addrN(201+2*c), dep, 1000)
		tx(dep, hot, 1900)
	}
	s, err := evmstore.Open(filepath.Join(t.TempDir(), "eth"), "eth")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendBlock(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	num := func(a common.Address) uint32 {
		n, err := s.AddrNum(a)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	same := func(c *EVMClusters, a, b common.Address) bool { return c.Entity(num(a)) == c.Entity(num(b)) }

	none := ClusterEVM(s, EVMOptions{})
	if none.Merges != 0 {
		t.Fatal("merges with no heuristic asked for")
	}
	c := ClusterEVM(s, EVMOptions{Airdrop: true})
	for r := 0; r < 3; r++ {
		if !same(c, addrN(100+r), collector) {
			t.Errorf("claimant %d not with the collector", r)
		}
	}
	if same(c, addrN(110), addrN(500)) || same(c, addrN(103), collector) || same(c, dist, collector) || c.AirdropMerges != 3 {
		t.Errorf("airdrop heuristic merged too much: %d merges", c.AirdropMerges)
	}
	// No label: the hot wallet is inferred from its twelve forwarders.
	d := ClusterEVM(s, EVMOptions{Deposits: true, DepositReuse: true})
	if len(d.Deposits) != 12 || d.Deposits[num(addrN(305))] != num(hot) {
		t.Fatalf("deposits %v", d.Deposits)
	}
	if !same(d, addrN(200), addrN(201)) || same(d, addrN(200), addrN(202)) || !same(d, addrN(300), hot) || same(d, addrN(200), hot) {
		t.Error("deposit heuristics joined the wrong addresses")
	}
	if d.ReuseMerges != 12 {
		t.Errorf("%d deposit-reuse merges, want 12", d.ReuseMerges)
	}
	// With a labelled hot wallet elsewhere, these forwarders are not deposits.
	e := ClusterEVM(s, EVMOptions{Deposits: true, Hot: map[uint32]bool{num(collector): true}})
	if len(e.Deposits) != 3 {
		t.Errorf("%d deposits to the labelled wallet, want the 3 claimants", len(e.Deposits))
	}
}

// An EVMPass taken up block by block makes the entities a pass over the
// whole store makes: as the store grows, after it unwinds a block the pass
// had read, and with another block in its place.
func TestEVMPassIncremental(t *testing.T) {
	token, dist, hot := addrN(999), addrN(1), addrN(3)
	s, err := evmstore.Open(filepath.Join(t.TempDir(), "eth"), "eth")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Block k: an airdrop to 25 addresses (k = 1), three claimants passing
	// it to a collector, customers paying deposit addresses and these
	// sweeping to the hot wallet; variant 1 of a block has other parties.
	block := func(k int, variant byte) *evm.Block {
		b := &evm.Block{Number: uint64(k), Hash: common.Hash{byte(k), variant}}
		if k > 1 {
			b.Parent = common.Hash{byte(k - 1)}
		}
		tx := func(from, to common.Address, value int64, logs ...evm.Log) {
			i := uint32(len(b.Txs))
			t := evm.Tx{Hash: common.Hash{byte(i), byte(k), variant, 7}, Index: i, From: from, To: &to, Status: evm.StatusOK}
			t.Value.SetUint64(uint64(value))
			for _, l := range logs {
				l.TxIndex, l.Index = i, uint32(len(b.Logs))
				b.Logs = append(b.Logs, l)
			}
			b.Txs = append(b.Txs, t)
		}
		if k == 1 {
			for r := 0; r < 25; r++ {
				tx(dist, token, 0, tokenLog(0, 0, token, dist, addrN(100+r), 50))
			}
		}
		for r := 0; r < 3; r++ {
			claimant := addrN(100 + 3*(k-1) + r + int(variant))
			tx(claimant, token, 0, tokenLog(0, 0, token, claimant, addrN(10+int(variant)), 50))
		}
		for c := 0; c < 6; c++ {
			dep := addrN(300 + 10*k + c + int(variant))
			tx(addrN(200+2*c+int(variant)), dep, 1000)
			tx(addrN(201+2*c), dep, 1000)
			tx(dep, hot, 1900)
		}
		return b
	}
	add := func(b *evm.Block) {
		t.Helper()
		if err := s.AppendBlock(b); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	var p EVMPass
	o := EVMOptions{Deposits: true, DepositReuse: true, Airdrop: true}
	for k := 1; k <= 3; k++ {
		add(block(k, 0))
		if k == 1 {
			h, err := s.AddrNum(hot)
			if err != nil {
				t.Fatal(err)
			}
			o.Hot = map[uint32]bool{h: true} // labelled
		}
		checkPass(t, fmt.Sprintf("block %d", k), &p, s, o)
	}
	if err := s.Unwind(3); err != nil {
		t.Fatal(err)
	}
	add(block(3, 1)) // as many transfers as the first block 3, others
	checkPass(t, "block 3 replaced", &p, s, o)
	if err := s.Unwind(3); err != nil {
		t.Fatal(err)
	}
	checkPass(t, "block 3 unwound", &p, s, o)
	add(block(3, 0))
	checkPass(t, "block 3 again", &p, s, o)
	// A heuristic a pass did not collect for starts it over.
	var q EVMPass
	q.Cluster(s, EVMOptions{Deposits: true, DepositReuse: true})
	checkPass(t, "the airdrop asked of a pass without it", &q, s, o)
	var r EVMPass
	r.Cluster(s, EVMOptions{Airdrop: true})
	checkPass(t, "deposit reuse asked of a pass without it", &r, s, o)
}

// checkPass checks that p makes of s the entities a whole pass makes, by
// each heuristic.
func checkPass(t *testing.T, when string, p *EVMPass, s evmstore.Reader, o EVMOptions) {
	t.Helper()
	got, want := p.Cluster(s, o), ClusterEVM(s, o)
	if got.Merges != want.Merges || got.AirdropMerges != want.AirdropMerges || got.ReuseMerges != want.ReuseMerges || len(got.Deposits) != len(want.Deposits) {
		t.Fatalf("%s: merges %d/%d/%d, deposits %d; a whole pass %d/%d/%d, %d", when, got.Merges, got.AirdropMerges, got.ReuseMerges, len(got.Deposits),
			want.Merges, want.AirdropMerges, want.ReuseMerges, len(want.Deposits))
	}
	for a := range uint32(s.Counts().Addrs) {
		if got.Entity(a) != want.Entity(a) || got.Deposits[a] != want.Deposits[a] {
			t.Fatalf("%s: address %d in entity %d (deposit of %d), a whole pass says %d (%d)", when, a, got.Entity(a), got.Deposits[a], want.Entity(a), want.Deposits[a])
		}
	}
	if want.AirdropMerges == 0 || want.ReuseMerges == 0 || len(want.Deposits) == 0 {
		t.Fatalf("%s: a heuristic merged nothing: %d/%d/%d", when, want.Merges, want.AirdropMerges, want.ReuseMerges)
	}
}

// BenchmarkEVMEntities makes the entities of a store of 500 blocks of 400
// transfers each (200,000: customers paying 4,000 deposit addresses that
// sweep to five hot wallets, and payments among 20,000 addresses), by the
// deposit and deposit-reuse heuristics, as a follower does at each sync:
// a pass over every transfer (ClusterEVM, the baseline), against an
// EVMPass that has read them before (what a sync past one new block costs,
// less that block's transfers).
func BenchmarkEVMEntities(b *testing.B) {
	s, err := evmstore.Open(filepath.Join(b.TempDir(), "eth"), "eth")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const blocks, txs = 500, 400
	for k := range blocks {
		blk := &evm.Block{Number: uint64(k + 1), Hash: common.Hash{byte(k), byte(k >> 8), 1}, Parent: common.Hash{byte(k - 1), byte((k - 1) >> 8), 1}}
		for i := range txs {
			from, to := addrN(10_000+rng.IntN(20_000)), addrN(10_000+rng.IntN(20_000))
			switch i % 4 {
			case 0: // a customer pays its deposit address
				to = addrN(50_000 + rng.IntN(4_000))
			case 1: // a deposit address sweeps to its exchange
				d := rng.IntN(4_000)
				from, to = addrN(50_000+d), addrN(d%5)
			}
			tx := evm.Tx{Hash: common.Hash{byte(i), byte(i >> 8), byte(k), byte(k >> 8)}, Index: uint32(i), From: from, To: &to, Status: evm.StatusOK}
			tx.Value.SetUint64(1000)
			blk.Txs = append(blk.Txs, tx)
		}
		if err := s.AppendBlock(blk); err != nil {
			b.Fatal(err)
		}
		if k%100 == 99 {
			if err := s.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	o := EVMOptions{Deposits: true, DepositReuse: true}
	b.Run("whole-pass", func(b *testing.B) {
		for b.Loop() {
			ClusterEVM(s, o)
		}
	})
	b.Run("pass-kept", func(b *testing.B) {
		var p EVMPass
		p.Cluster(s, o)
		for b.Loop() {
			p.Cluster(s, o)
		}
	})
	b.Logf("%d transfers, %d addresses", s.Counts().Transfers, s.Counts().Addrs)
}
