package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/store"
)

var (
	btcdOnce sync.Once
	btcdPath string
	btcdErr  error
)

// btcdBinary returns a btcd built from the version pinned in go.mod
// (SPUR_BTCD names a prebuilt one).
func btcdBinary(t *testing.T) string {
	t.Helper()
	btcdOnce.Do(func() {
		if p := os.Getenv("SPUR_BTCD"); p != "" {
			btcdPath = p
			return
		}
		dir, err := os.MkdirTemp("", "spur-btcd-")
		if err != nil {
			btcdErr = err
			return
		}
		btcdPath = filepath.Join(dir, "btcd")
		out, err := exec.Command("go", "build", "-o", btcdPath, "github.com/btcsuite/btcd").CombinedOutput()
		if err != nil {
			btcdErr = fmt.Errorf("building btcd: %v\n%s", err, out)
		}
	})
	if btcdErr != nil {
		t.Fatal(btcdErr)
	}
	return btcdPath
}

type btcdNode struct {
	cmd  *exec.Cmd
	rpc  *btc.RPC
	done chan struct{}
}

var rpcListening = regexp.MustCompile(`RPC server listening on (127\.0\.0\.1:\d+)`)

// startBtcd starts a regtest btcd on loopback that mines to miningAddr.
func startBtcd(t *testing.T, miningAddr string) *btcdNode {
	t.Helper()
	bin := btcdBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--regtest", "--datadir="+dir+"/data", "--logdir="+dir+"/logs",
		"--listen=127.0.0.1:0", "--rpclisten=127.0.0.1:0", "--rpcuser=u", "--rpcpass=p", "--notls",
		"--miningaddr="+miningAddr, "--txindex", "--nodnsseed", "--nostalldetect")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &btcdNode{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := rpcListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-n.done
		}
	})
	select {
	case a := <-addr:
		n.rpc, _ = btc.NewRPC("http://"+a, "u", "p", "")
	case <-n.done:
		t.Fatal("btcd exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("btcd did not start")
	}
	for i := 0; ; i++ {
		var count int64
		if err := n.rpc.Call(context.Background(), "getblockcount", &count); err == nil {
			break
		} else if i == 200 {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

func (n *btcdNode) call(t *testing.T, out any, method string, params ...any) {
	t.Helper()
	if err := n.rpc.Call(context.Background(), method, out, params...); err != nil {
		t.Fatal(err)
	}
}

func (n *btcdNode) generate(t *testing.T, blocks int) {
	t.Helper()
	var hashes []string
	n.call(t, &hashes, "generate", blocks)
	if len(hashes) != blocks {
		t.Fatalf("generated %d blocks, want %d", len(hashes), blocks)
	}
}

// sameChain checks that every block of the store is the node's block at that
// height and that the store is at the node's tip.
func sameChain(t *testing.T, s *store.Store, n *btcdNode) {
	t.Helper()
	var count int64
	n.call(t, &count, "getblockcount")
	if s.Height() != count {
		t.Fatalf("store height %d, node %d", s.Height(), count)
	}
	for h := int64(0); h <= count; h++ {
		var want string
		n.call(t, &want, "getblockhash", h)
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
	key, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x42}, 32))
	pkh := btcutil.Hash160(key.PubKey().SerializeCompressed())
	mining, err := btcutil.NewAddressPubKeyHash(pkh, params)
	if err != nil {
		t.Fatal(err)
	}
	segwit, err := btcutil.NewAddressWitnessPubKeyHash(pkh, params)
	if err != nil {
		t.Fatal(err)
	}
	node := startBtcd(t, mining.EncodeAddress())
	node.generate(t, 101)

	// Spend block 1's coinbase to the key's P2WPKH address.
	var h1 string
	node.call(t, &h1, "getblockhash", 1)
	var rawHex string
	node.call(t, &rawHex, "getblock", h1, 0)
	raw, _ := hex.DecodeString(rawHex)
	var b1 wire.MsgBlock
	if err := b1.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	cb := b1.Transactions[0]
	spend := wire.NewMsgTx(2)
	spend.AddTxIn(wire.NewTxIn(wire.NewOutPoint(ptr(cb.TxHash()), 0), nil, nil))
	pay, _ := txscript.PayToAddrScript(segwit)
	const fee = 12345
	spend.AddTxOut(wire.NewTxOut(cb.TxOut[0].Value-fee, pay))
	sig, err := txscript.SignatureScript(spend, 0, cb.TxOut[0].PkScript, txscript.SigHashAll, key, true)
	if err != nil {
		t.Fatal(err)
	}
	spend.TxIn[0].SignatureScript = sig
	var buf bytes.Buffer
	spend.Serialize(&buf)
	var sent string
	node.call(t, &sent, "sendrawtransaction", hex.EncodeToString(buf.Bytes()))
	node.generate(t, 1)

	ctx := context.Background()
	s, err := store.Open(t.TempDir(), store.Options{Network: mustNet(t, "regtest")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := RPC(ctx, s, node.rpc, Options{CommitEvery: 10})
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
	node.call(t, &tip, "getbestblockhash")
	node.call(t, nil, "invalidateblock", tip)
	node.generate(t, 2)
	st, err = RPC(ctx, s, node.rpc, Options{})
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
	if _, err := RPC(ctx, fresh, node.rpc, Options{}); err != nil {
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
		errc <- Follow(fctx, s, node.rpc, 50*time.Millisecond, Options{}, func(st *Stats) { heights <- st.Height })
	}()
	var count int64
	node.call(t, &count, "getblockcount")
	node.generate(t, 3)
	waitHeight(t, heights, count+3)
	node.call(t, &tip, "getbestblockhash")
	node.call(t, nil, "invalidateblock", tip)
	node.generate(t, 2)
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

func ptr[T any](v T) *T { return &v }
