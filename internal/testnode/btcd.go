// Package testnode gives tests real nodes: Binary builds a node from the
// version pinned in go.mod (btcd, geth), StartBtcd runs a regtest btcd and
// StartGeth a geth --dev node, on loopback, stopped when the test ends;
// Log keeps what a node's follower or a child process writes while the
// test reads it. Only tests import it.
package testnode

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
)

type built struct {
	once sync.Once
	path string
	err  error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*built{}
)

// Binary returns the command pkg built from the version of module pinned
// in go.mod, kept in the user cache directory under that version (a node
// takes minutes to build the first time); the environment variable env, if
// set, names a prebuilt one instead.
func Binary(t testing.TB, env, module, pkg string) string {
	t.Helper()
	buildsMu.Lock()
	b := builds[pkg]
	if b == nil {
		b = &built{}
		builds[pkg] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() {
		if p := os.Getenv(env); p != "" {
			b.path = p
			return
		}
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", module).Output()
		if err != nil {
			b.err = fmt.Errorf("go list -m %s: %v", module, err)
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		b.path = filepath.Join(cache, "spur-test", filepath.Base(pkg)+"-"+strings.TrimSpace(string(out)))
		if _, err := os.Stat(b.path); err == nil {
			return
		}
		if out, err := exec.Command("go", "build", "-o", b.path, pkg).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Btcd is a running regtest btcd.
type Btcd struct {
	RPC  *btc.RPC // user "u", password "p"
	URL  string   // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	done chan struct{}
}

var rpcListening = regexp.MustCompile(`RPC server listening on (127\.0\.0\.1:\d+)`)

// StartBtcd starts a regtest btcd on loopback that mines to miningAddr.
func StartBtcd(t testing.TB, miningAddr string) *Btcd {
	t.Helper()
	bin := Binary(t, "SPUR_BTCD", "github.com/btcsuite/btcd", "github.com/btcsuite/btcd")
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
	n := &Btcd{cmd: cmd, done: make(chan struct{})}
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
		n.URL = "http://" + a
		n.RPC, _ = btc.NewRPC(n.URL, "u", "p", "")
	case <-n.done:
		t.Fatal("btcd exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("btcd did not start")
	}
	for i := 0; ; i++ {
		var count int64
		if err := n.RPC.Call(context.Background(), "getblockcount", &count); err == nil {
			break
		} else if i == 200 {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

// Call calls an RPC method, failing the test on error.
func (n *Btcd) Call(t testing.TB, out any, method string, params ...any) {
	t.Helper()
	if err := n.RPC.Call(context.Background(), method, out, params...); err != nil {
		t.Fatal(err)
	}
}

// Generate mines blocks.
func (n *Btcd) Generate(t testing.TB, blocks int) {
	t.Helper()
	var hashes []string
	n.Call(t, &hashes, "generate", blocks)
	if len(hashes) != blocks {
		t.Fatalf("generated %d blocks, want %d", len(hashes), blocks)
	}
}

// Block returns the block at height h, decoded by btcd.
func (n *Btcd) Block(t testing.TB, h int64) *wire.MsgBlock {
	t.Helper()
	var hash, rawHex string
	n.Call(t, &hash, "getblockhash", h)
	n.Call(t, &rawHex, "getblock", hash, 0)
	raw, _ := hex.DecodeString(rawHex)
	var b wire.MsgBlock
	if err := b.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return &b
}

// SpendCoinbase sends, to the mempool, a tx spending the coinbase of the
// block at height h (paid to key's compressed P2PKH address, as StartBtcd's
// miningAddr) to the script pay, less fee. It returns the tx.
func (n *Btcd) SpendCoinbase(t testing.TB, h int64, key *btcec.PrivateKey, pay []byte, fee int64) *wire.MsgTx {
	t.Helper()
	cb := n.Block(t, h).Transactions[0]
	return n.Spend(t, []Coin{{cb, 0, key}}, pay, fee)
}

// A Coin is output Vout of Tx, paid to Key's compressed P2PKH address.
type Coin struct {
	Tx   *wire.MsgTx
	Vout uint32
	Key  *btcec.PrivateKey
}

// Spend sends, to the mempool, a tx spending the coins together, each
// signed by its key, to the script pay, less fee. It returns the tx.
func (n *Btcd) Spend(t testing.TB, coins []Coin, pay []byte, fee int64) *wire.MsgTx {
	t.Helper()
	return n.SpendTo(t, coins, pay, 1, fee)
}

// SpendTo is Spend paying outs outputs to pay, the coins' value less fee
// split evenly (the first taking what the split leaves).
func (n *Btcd) SpendTo(t testing.TB, coins []Coin, pay []byte, outs int, fee int64) *wire.MsgTx {
	t.Helper()
	spend := wire.NewMsgTx(2)
	total := -fee
	for _, c := range coins {
		id := c.Tx.TxHash()
		spend.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&id, c.Vout), nil, nil))
		total += c.Tx.TxOut[c.Vout].Value
	}
	for i := range outs {
		v := total / int64(outs)
		if i == 0 {
			v += total % int64(outs)
		}
		spend.AddTxOut(wire.NewTxOut(v, pay))
	}
	for i, c := range coins {
		sig, err := txscript.SignatureScript(spend, i, c.Tx.TxOut[c.Vout].PkScript, txscript.SigHashAll, c.Key, true)
		if err != nil {
			t.Fatal(err)
		}
		spend.TxIn[i].SignatureScript = sig
	}
	var buf bytes.Buffer
	spend.Serialize(&buf)
	var sent string
	n.Call(t, &sent, "sendrawtransaction", hex.EncodeToString(buf.Bytes()))
	return spend
}

// Key returns the private key with every byte b and its compressed P2PKH
// address on params.
func Key(b byte, params *chaincfg.Params) (*btcec.PrivateKey, *btcutil.AddressPubKeyHash) {
	key, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{b}, 32))
	a, err := btcutil.NewAddressPubKeyHash(btcutil.Hash160(key.PubKey().SerializeCompressed()), params)
	if err != nil {
		panic(err)
	}
	return key, a
}
