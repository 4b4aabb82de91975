package testnode

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/evm"
)

// GethBinary returns a geth built from the go-ethereum version pinned in
// go.mod (SPUR_GETH names a prebuilt one).
func GethBinary(t testing.TB) string {
	return Binary(t, "SPUR_GETH", "github.com/ethereum/go-ethereum", "github.com/ethereum/go-ethereum/cmd/geth")
}

// Geth is a geth --dev node on loopback: chain id 1337 (spur's dev chain),
// in memory, sealing a block for each transaction, with one funded
// account.
type Geth struct {
	t   testing.TB
	URL string
	RPC *evm.RPC
	Dev common.Address // the funded account, unlocked
}

// StartGeth starts a geth --dev node and stops it when the test ends.
func StartGeth(t testing.TB) *Geth {
	t.Helper()
	cmd := exec.Command(GethBinary(t), "--dev", "--dev.period", "0", "--cache", "256", "--nat", "none",
		"--http", "--http.addr", "127.0.0.1", "--http.port", "0", "--http.api", "eth,net,web3,debug,txpool,dev",
		"--ipcdisable", "--nodiscover", "--maxpeers", "0", "--port", "0", "--verbosity", "3")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	re := regexp.MustCompile(`HTTP server started\s+endpoint=(127\.0\.0\.1:\d+)`)
	found := make(chan string, 1)
	var logTail []string
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logTail = append(logTail, sc.Text())
			if len(logTail) > 30 {
				logTail = logTail[1:]
			}
			mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-found:
	case <-time.After(60 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("geth did not start:\n%s", strings.Join(logTail, "\n"))
	}
	g := &Geth{t: t, URL: "http://" + addr}
	g.RPC = &evm.RPC{URL: g.URL}
	var accts []common.Address
	for i := 0; ; i++ {
		err := g.RPC.Batch(context.Background(), []evm.Call{{Method: "eth_accounts", Result: &accts}})
		if err == nil && len(accts) > 0 {
			break
		}
		if i > 100 {
			t.Fatalf("geth's dev account: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.Dev = accts[0]
	return g
}

// Call makes one JSON-RPC call, failing the test on an error.
func (g *Geth) Call(method string, result any, params ...any) {
	g.t.Helper()
	if err := g.RPC.Batch(context.Background(), []evm.Call{{Method: method, Params: params, Result: result}}); err != nil {
		g.t.Fatalf("%s: %v", method, err)
	}
}

// Receipt is the part of a transaction's receipt tests look at.
type Receipt struct {
	Status          string          `json:"status"`
	BlockNumber     string          `json:"blockNumber"`
	ContractAddress *common.Address `json:"contractAddress"`
}

// Send sends a transaction from the dev account (to nil: a contract
// creation; gas 0: estimated) and waits for its receipt.
func (g *Geth) Send(to *common.Address, wei *big.Int, data []byte, gas uint64) (common.Hash, Receipt) {
	g.t.Helper()
	tx := map[string]any{"from": g.Dev, "value": "0x" + wei.Text(16)}
	if to != nil {
		tx["to"] = *to
	}
	if len(data) > 0 {
		tx["data"] = "0x" + hex.EncodeToString(data)
	}
	if gas > 0 {
		tx["gas"] = fmt.Sprintf("0x%x", gas)
	}
	var h common.Hash
	g.Call("eth_sendTransaction", &h, tx)
	for i := 0; i < 2400; i++ { // up to a minute on a loaded machine
		if i == 200 {
			// geth --dev seals a block when a transaction or a withdrawal
			// arrives; a transaction that came before the sealer listened
			// waits for the next. Queue a withdrawal of nothing to an
			// address the test does not look at, which seals one.
			g.t.Logf("no receipt for %s after 5 s: a withdrawal to seal a block", h.Hex())
			w := map[string]any{"index": "0x0", "validatorIndex": "0x0", "address": "0x00000000000000000000000000000000000000f1", "amount": "0x0"}
			g.Call("dev_addWithdrawal", nil, w)
		}
		var r *Receipt
		err := g.RPC.Batch(context.Background(), []evm.Call{{Method: "eth_getTransactionReceipt", Params: []any{h}, Result: &r}})
		if err != nil && !strings.Contains(err.Error(), "indexing is in progress") {
			g.t.Fatal(err)
		}
		if r != nil {
			return h, *r
		}
		time.Sleep(25 * time.Millisecond)
	}
	g.t.Fatalf("no receipt for %s", h.Hex())
	return h, Receipt{}
}
