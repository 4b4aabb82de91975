package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testnode"
)

// sameChain checks that every block of the store is the node's block at that
// height and that the store is at the node's tip.
func sameChain(t *testing.T, s *store.Store, n *testnode.Btcd) {
	t.Helper()
	var count int64
	n.Call(t, &count, "getblockcount")
	if s.Height() != count {
		t.Fatalf("store height %d, node %d", s.Height(), count)
	}
	for h := int64(0); h <= count; h++ {
		var want string
		n.Call(t, &want, "getblockhash", h)
		got, err := s.BlockHashAt(h)
		if err != nil || got.String() != want {
			t.Fatalf("height %d: store %s, node %s (%v)", h, got, want, err)
		}
	}
}

// TestBtcdNode ingests from a real btcd over JSON-RPC: mined blocks, a
// signed spend of a coinbase to a segwit address, a reorganisation made
// with invalidateblock, and following the tip.
func TestBtcdNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	params := &chaincfg.RegressionNetParams
	key, mining := testnode.Key(0x42, params)
	segwit, err := btcutil.NewAddressWitnessPubKeyHash(mining.Hash160()[:], params)
	if err != nil {
		t.Fatal(err)
	}
	node := testnode.StartBtcd(t, mining.EncodeAddress())
	node.Generate(t, 101)

	// Spend block 1's coinbase to the key's P2WPKH address.
	cb := node.Block(t, 1).Transactions[0]
	pay, _ := txscript.PayToAddrScript(segwit)
	const fee = 12345
	spend := node.SpendCoinbase(t, 1, key, pay, fee)
	node.Generate(t, 1)

	ctx := context.Background()
	s, err := store.Open(t.TempDir(), store.Options{Network: mustNet(t, "regtest")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := RPC(ctx, s, node.RPC, Options{CommitEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != 103 {
		t.Fatalf("ingested %d blocks, want 103", st.Blocks)
	}
	sameChain(t, s, node)

	n, err := s.TxNum(spend.TxHash())
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.TxView(n)
	if err != nil {
		t.Fatal(err)
	}
	if *v.BlockHeight != 102 || *v.Fee != fee || *v.Inputs[0].Value != cb.TxOut[0].Value || v.Inputs[0].Address != mining.EncodeAddress() ||
		v.Outputs[0].Address != segwit.EncodeAddress() || v.Outputs[0].Type != "witness_v0_keyhash" || !strings.HasPrefix(v.Outputs[0].Address, "bcrt1q") {
		t.Fatalf("spend as stored: %+v", v)
	}
	cbn, _ := s.TxNum(cb.TxHash())
	cv, _ := s.TxView(cbn)
	if cv.Outputs[0].SpentBy == nil || cv.Outputs[0].SpentBy.TxID != spend.TxHash().String() {
		t.Fatalf("coinbase output not linked to its spend: %+v", cv.Outputs[0])
	}
	av, err := s.AddressView(segwit.EncodeAddress(), 0, 0)
	if err != nil || av.Balance != cb.TxOut[0].Value-fee {
		t.Fatalf("segwit address: %+v %v", av, err)
	}

	// Reorg: drop the tip and mine a longer branch.
	var tip string
	node.Call(t, &tip, "getbestblockhash")
	node.Call(t, nil, "invalidateblock", tip)
	node.Generate(t, 2)
	st, err = RPC(ctx, s, node.RPC, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Unwound != 1 || st.Blocks != 2 {
		t.Fatalf("reorg: unwound %d, added %d", st.Unwound, st.Blocks)
	}
	sameChain(t, s, node)
	fresh, err := store.Open(t.TempDir(), store.Options{Network: mustNet(t, "regtest")})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := RPC(ctx, fresh, node.RPC, Options{}); err != nil {
		t.Fatal(err)
	}
	if digest(t, fresh) != digest(t, s) {
		t.Fatal("store after the reorg differs from a fresh ingest of the node's chain")
	}

	// Follow: new blocks and another reorg arrive while following.
	fctx, cancel := context.WithCancel(ctx)
	heights := make(chan int64, 100)
	errc := make(chan error, 1)
	go func() {
		errc <- Follow(fctx, s, node.RPC, 50*time.Millisecond, Options{}, func(st *Stats) { heights <- st.Height })
	}()
	var count int64
	node.Call(t, &count, "getblockcount")
	node.Generate(t, 3)
	waitHeight(t, heights, count+3)
	node.Call(t, &tip, "getbestblockhash")
	node.Call(t, nil, "invalidateblock", tip)
	node.Generate(t, 2)
	waitHeight(t, heights, count+4)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	sameChain(t, s, node)
}

func waitHeight(t *testing.T, heights chan int64, want int64) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case h := <-heights:
			if h == want {
				return
			}
		case <-deadline:
			t.Fatalf("follow did not reach height %d", want)
		}
	}
}

func mustNet(t *testing.T, name string) *btc.Network {
	n, err := btc.LookupNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
