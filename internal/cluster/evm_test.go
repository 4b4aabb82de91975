package cluster

import (
	"math/big"
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
