package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"golang.org/x/crypto/sha3"

	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/testnode"
)

func selector(sig string) []byte {
	k := sha3.NewLegacyKeccak256()
	k.Write([]byte(sig))
	return k.Sum(nil)[:4]
}

func word(v any) []byte {
	var w [32]byte
	switch v := v.(type) {
	case common.Address:
		copy(w[12:], v[:])
	case *big.Int:
		v.FillBytes(w[:])
	}
	return w[:]
}

func calldata(sig string, args ...any) []byte {
	b := selector(sig)
	for _, a := range args {
		b = append(b, word(a)...)
	}
	return b
}

func contractCode(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/evm/contracts/Test.json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Contracts map[string]struct{ Bytecode string }
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return common.FromHex(c.Contracts[name].Bytecode)
}

func eth(x float64) *big.Int {
	v, _ := new(big.Float).Mul(big.NewFloat(x), big.NewFloat(1e18)).Int(nil)
	return v
}

type xfer struct {
	kind, from, to, asset, amount string
}

// The geth test: a real node, real transactions of every kind spur reads,
// ingested over JSON-RPC and checked transfer by transfer; then a reorg
// followed; then a node of another chain refused.
func TestGethIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a geth node")
	}
	g := testnode.StartGeth(t)
	a := common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	b := common.HexToAddress("0x0000000000000000000000000000000000000b0b")
	want := map[common.Hash][]xfer{}
	dev := g.Dev.Hex()
	ethAmt := func(x float64) string { return eth(x).String() }

	h, _ := g.Send(&a, eth(1), nil, 0)
	want[h] = []xfer{{"call", dev, a.Hex(), "ETH", ethAmt(1)}}

	h, r := g.Send(nil, big.NewInt(0), contractCode(t, "Forwarder"), 0)
	fwd := *r.ContractAddress
	want[h] = nil

	h, _ = g.Send(&fwd, eth(2), calldata("forward(address)", b), 0)
	want[h] = []xfer{{"call", dev, fwd.Hex(), "ETH", ethAmt(2)}, {"internal", fwd.Hex(), b.Hex(), "ETH", ethAmt(2)}}

	h, _ = g.Send(&fwd, eth(3), calldata("split(address,address)", a, b), 0)
	want[h] = []xfer{{"call", dev, fwd.Hex(), "ETH", ethAmt(3)}, {"internal", fwd.Hex(), a.Hex(), "ETH", ethAmt(1.5)}, {"internal", fwd.Hex(), b.Hex(), "ETH", ethAmt(1.5)}}

	h, r = g.Send(&fwd, eth(1), calldata("forwardThenRevert(address)", b), 200000)
	if r.Status != "0x0" {
		t.Fatalf("the reverting call succeeded: %+v", r)
	}
	want[h] = nil // reverted: nothing moves but the fee

	supply := big.NewInt(1_000_000_000_000)
	h, r = g.Send(nil, big.NewInt(0), append(contractCode(t, "Token"), word(supply)...), 0)
	tok := *r.ContractAddress
	want[h] = []xfer{{"token", common.Address{}.Hex(), dev, tok.Hex(), supply.String()}}

	h, _ = g.Send(&tok, big.NewInt(0), calldata("transfer(address,uint256)", b, big.NewInt(250_000_000)), 0)
	want[h] = []xfer{{"token", dev, b.Hex(), tok.Hex(), "250000000"}}
	lastTokenTx := h

	dir := t.TempDir()
	s, err := evmstore.Open(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Genesis and one block per transaction; geth --dev may add empty ones,
	// even while the ingest runs (a withdrawal queued by send seals one).
	var before, after hexutil.Uint64
	g.Call("eth_blockNumber", &before)
	st, err := EVMRPC(context.Background(), s, g.RPC, 0, 0, Options{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	g.Call("eth_blockNumber", &after)
	if st.Blocks < 8 || uint64(st.Blocks-1) < uint64(before) || uint64(st.Blocks-1) > uint64(after) {
		t.Fatalf("%d blocks ingested, node head %d before and %d after", st.Blocks, before, after)
	}
	for h, w := range want {
		n, err := s.TxNum(h)
		if err != nil {
			t.Fatal(err)
		}
		v := s.TxView(n)
		var got []xfer
		fees := 0
		for _, x := range v.Transfers {
			if x.Kind == "fee" || x.Kind == "burn" {
				fees++
				continue
			}
			got = append(got, xfer{x.Kind, x.FromAddress, x.ToAddress, x.Asset, x.Value})
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("tx %s:\n got %v\nwant %v", h.Hex(), got, w)
		}
		if fees == 0 || v.Fee == "" || v.Fee == "0" {
			t.Errorf("tx %s: no fee (%q)", h.Hex(), v.Fee)
		}
	}
	// The token's symbol and decimals, which the node gives only when asked
	// (symbol() and decimals()).
	if n, err := s.AddrNum(tok); err != nil {
		t.Fatal(err)
	} else if sym, dec, ok := s.Token(n); !ok || sym != "TST" || dec != 6 {
		t.Errorf("the token: %q %d %v, want TST 6", sym, dec, ok)
	}
	// Balances: b got 2 + 1.5 ETH and 250 TST; the dev account's transfers
	// (payments, fees, burnt base fees) explain its balance exactly.
	av, err := s.AddressView(b.Hex(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(av.Balances) != 2 || av.Balances[0].Balance != ethAmt(3.5) || av.Balances[1].Balance != "250000000" || av.Balances[1].Asset != tok.Hex() {
		t.Fatalf("balances of b: %+v", av.Balances)
	}
	var devBal string
	g.Call("eth_getBalance", &devBal, g.Dev, "latest")
	dv, err := s.AddressView(dev, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var alloc string // the dev account's genesis allocation
	g.Call("eth_getBalance", &alloc, g.Dev, "0x0")
	// (The dev account also mines, so it receives the priority fees.)
	delta, _ := new(big.Int).SetString(dv.Balances[0].Balance, 10)
	start, _ := new(big.Int).SetString(strings.TrimPrefix(alloc, "0x"), 16)
	now, _ := new(big.Int).SetString(strings.TrimPrefix(devBal, "0x"), 16)
	if new(big.Int).Add(start, delta).Cmp(now) != 0 {
		t.Errorf("dev account: genesis %s + net transfers %s != balance now %s", start, delta, now)
	}

	// A reorg: cut the node back below the last token transfer and mine a
	// different block at its height. Following unwinds and re-ingests.
	n, _ := s.TxNum(lastTokenTx)
	height := s.Block(s.Tx(n).Block).Number
	g.Call("debug_setHead", nil, fmt.Sprintf("0x%x", height-1))
	// A new transaction makes a new block at that height; geth may put the
	// dropped token transfer back in its pool and mine it again, in a
	// different block.
	c := common.HexToAddress("0x000000000000000000000000000000000000c0de")
	h2, _ := g.Send(&c, eth(0.5), nil, 0)
	st2, err := EVMRPC(context.Background(), s, g.RPC, 0, 0, Options{CommitEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st2.Unwound < 1 || st2.Blocks < 1 {
		t.Fatalf("follow after the reorg: %+v", st2)
	}
	var again *struct {
		BlockHash common.Hash `json:"blockHash"`
	}
	g.Call("eth_getTransactionReceipt", &again, lastTokenTx)
	if n, err := s.TxNum(lastTokenTx); again == nil && !errors.Is(err, evmstore.ErrNotFound) {
		t.Fatalf("the reorged-out tx is still there: %v", err)
	} else if again != nil && (err != nil || s.Block(s.Tx(n).Block).Hash != again.BlockHash) {
		t.Fatalf("the re-mined tx is not in its new block: %v", err)
	}
	if _, err := s.TxNum(h2); err != nil {
		t.Fatal(err)
	}
	// The followed store equals a fresh ingest of the node's chain.
	fresh, err := evmstore.Open(t.TempDir(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := EVMRPC(context.Background(), fresh, g.RPC, 0, 0, Options{}); err != nil {
		t.Fatal(err)
	}
	d1, _ := s.Digest()
	d2, _ := fresh.Digest()
	if d1 != d2 {
		t.Fatal("store after the reorg differs from a fresh ingest")
	}

	// A node of another chain is refused, and the store is untouched.
	other, err := evmstore.Open(t.TempDir(), "eth")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := EVMRPC(context.Background(), other, g.RPC, 0, 0, Options{}); !errors.Is(err, evmstore.ErrChain) {
		t.Fatalf("chain id 1337 into an eth store: %v", err)
	}
	if other.Counts() != (evmstore.Counts{}) {
		t.Fatal("refused node wrote to the store")
	}
	// A method the node lacks is named as such.
	noTrace := &evm.RPC{URL: g.URL, Traces: "trace_block"}
	if _, err := noTrace.Block(context.Background(), 1); !errors.Is(err, evm.ErrNoMethod) || !strings.Contains(err.Error(), "trace_block") {
		t.Fatalf("trace_block on geth: %v", err)
	}
}

// forward sends a JSON-RPC request's body on to the node at url and its
// answer back, as a proxy in front of the node.
func forward(w http.ResponseWriter, url string, body []byte) {
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// TestGethFollowThroughOutage: a follower whose node does not answer when
// it starts, or stops answering (as in a restart: connections dropped),
// waits it out, logged once each time, and takes the blocks mined
// meanwhile once the node answers again; a node that comes back on another
// chain stops it.
func TestGethFollowThroughOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a geth node")
	}
	g := testnode.StartGeth(t)
	var down, otherChain atomic.Bool
	var forkedTip atomic.Value // the block number, in hex, that the other chain has another block at
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		body, _ := io.ReadAll(r.Body)
		var calls []struct { // spur sends its calls in batches
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params []any           `json:"params"`
		}
		if otherChain.Load() && json.Unmarshal(body, &calls) == nil && len(calls) == 1 {
			// Another chain that shares the store's blocks but its tip,
			// as Ethereum Classic shares Ethereum's below their fork.
			switch c := calls[0]; {
			case c.Method == "eth_chainId":
				fmt.Fprintf(w, `[{"jsonrpc":"2.0","id":%s,"result":"0x1"}]`, c.ID)
				return
			case c.Method == "eth_getBlockByNumber" && len(c.Params) > 0 && c.Params[0] == forkedTip.Load():
				fmt.Fprintf(w, `[{"jsonrpc":"2.0","id":%s,"result":{"hash":"0x%064x"}}]`, c.ID, 1)
				return
			}
		}
		forward(w, g.URL, body)
	}))
	defer proxy.Close()
	node := &evm.RPC{URL: proxy.URL, Retries: 1, Backoff: time.Millisecond}

	s, err := evmstore.Open(t.TempDir(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var log bytes.Buffer // written by the follower's goroutine, read once it ended
	ups := make(chan bool, 1000)
	heights := make(chan int64, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	down.Store(true) // down when the follow starts
	go func() {
		opts := Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), NodeUp: func(up bool) { ups <- up }}
		done <- EVMFollow(ctx, s, node, 10*time.Millisecond, opts, func(*EVMStats) {
			n, _, _ := s.Tip()
			heights <- int64(n)
		})
	}()
	wait := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for !ok() {
			select {
			case err := <-done:
				t.Fatalf("the follower stopped while waiting for %s: %v", what, err)
			case <-deadline:
				t.Fatalf("no %s in 60 s", what)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	seen := func(want bool) func() bool {
		return func() bool {
			for {
				select {
				case up := <-ups:
					if up == want {
						return true
					}
				default:
					return false
				}
			}
		}
	}
	wait("the outage at the start noticed", seen(false))
	down.Store(false)
	wait("first answer", seen(true))
	down.Store(true)
	wait("outage noticed", seen(false))
	// Blocks mined while the follower cannot see the node.
	h, _ := g.Send(&common.Address{0xc0}, eth(0.25), nil, 0)
	var head hexutil.Uint64
	g.Call("eth_blockNumber", &head)
	down.Store(false)
	wait("the blocks mined meanwhile", func() bool {
		for {
			select {
			case n := <-heights:
				if n >= int64(head) {
					return true
				}
			default:
				return false
			}
		}
	})
	if _, err := s.TxNum(h); err != nil {
		t.Fatalf("the transaction mined during the outage: %v", err)
	}
	// Restarted on another chain: the follower stops rather than unwind
	// the store onto it.
	for len(ups) > 0 { // what the last outage left
		<-ups
	}
	down.Store(true)
	wait("the second outage noticed", seen(false))
	tip, tipHash, _ := s.Tip()
	forkedTip.Store(fmt.Sprintf("0x%x", tip))
	otherChain.Store(true)
	down.Store(false)
	select {
	case err := <-done:
		if !errors.Is(err, evmstore.ErrChain) {
			t.Fatalf("the follower of a node on another chain ended with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the follower goes on with a node on another chain")
	}
	if n, h, _ := s.Tip(); n != tip || h != tipHash {
		t.Fatalf("the store's tip %d (%s) unwound to %d (%s) onto another chain", tip, tipHash, n, h)
	}
	if w, a := strings.Count(log.String(), "does not answer"), strings.Count(log.String(), "answers again"); w != 3 || a != 2 {
		t.Fatalf("%d outages and %d recoveries logged, want 3 and 2:\n%s", w, a, log.String())
	}
}

// TestGethQueriesBesideFollow: queries of other processes read a store
// that an EVM follow keeps (one that lets them in): while one reads, the
// follower commits nothing, and a query that comes meanwhile waits behind
// it; once the first ends, the waiting query is let in, and the follower
// commits the node's new block, which later queries find; another writer
// is refused all the while. (A lock is per open
// file, so the readers of this process stand for other processes.)
func TestGethQueriesBesideFollow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a geth node")
	}
	defer func(w time.Duration) { colfile.ReaderWait = w }(colfile.ReaderWait)
	colfile.ReaderWait = 10 * time.Second
	g := testnode.StartGeth(t)
	node := &evm.RPC{URL: g.URL}
	dir := t.TempDir()
	s, err := evmstore.Open(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- EVMFollow(ctx, s, node, 20*time.Millisecond, Options{LetQueriesIn: true}, nil) }()
	for i := 0; ; i++ {
		if b, _ := os.ReadFile(dir + "/LOCK"); strings.HasSuffix(string(b), " shares\n") {
			break
		}
		if i == 1000 {
			t.Fatal("the follower does not let queries in")
		}
		time.Sleep(5 * time.Millisecond)
	}
	read := func() *evmstore.Store {
		t.Helper()
		r, err := evmstore.OpenReadOnly(dir, "dev")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	found := func(r *evmstore.Store, h common.Hash) bool {
		_, err := r.TxNum(h)
		if err != nil && !errors.Is(err, evmstore.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	r := read()
	size := func() int64 {
		st, _ := os.Stat(dir + "/block.hash")
		return st.Size()
	}
	before := size()
	h, _ := g.Send(&common.Address{0xc1}, eth(0.5), nil, 0)
	time.Sleep(300 * time.Millisecond)
	if size() != before || found(r, h) {
		t.Fatal("the follower wrote while a query read")
	}
	if w, err := evmstore.Open(dir, "dev"); !errors.Is(err, evmstore.ErrLocked) {
		if w != nil {
			w.Close()
		}
		t.Fatalf("another writer beside the follower: %v", err)
	}
	// A query that comes now waits behind the follower, which wants the
	// store back; once the query in it ends, the waiting one is let in,
	// and later ones find the new block.
	late := make(chan error, 1)
	go func() {
		r, err := evmstore.OpenReadOnly(dir, "dev")
		if err == nil {
			r.Close()
		}
		late <- err
	}()
	select {
	case <-late:
		t.Fatal("a query went in ahead of the follower waiting for the store")
	case <-time.After(100 * time.Millisecond):
	}
	r.Close()
	select {
	case err := <-late:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the query that waited was not let in")
	}
	for i := 0; ; i++ {
		r := read()
		ok := found(r, h)
		r.Close()
		if ok {
			break
		}
		if i == 1000 {
			t.Fatal("the follower's new block is not found")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestGethNodeBehindStore: an EVM follower whose node falls behind the
// store (geth's head is its genesis until a snap sync of a fresh data
// directory ends) unwinds nothing and waits for it, logged once each way,
// then takes the node's new blocks.
func TestGethNodeBehindStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a geth node")
	}
	g := testnode.StartGeth(t)
	var behindAt atomic.Int64 // the head the node claims; -1: its own
	behindAt.Store(-1)
	var polls atomic.Int64      // eth_blockNumber calls answered while behind
	var nodeHeight atomic.Int64 // as the follower last told it (a server's /healthz)
	var forkAt atomic.Int64     // the head of a shorter chain off the store's, the block there another; -1: none
	forkAt.Store(-1)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var calls []struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params []any           `json:"params"`
		}
		if at := behindAt.Load(); at >= 0 && json.Unmarshal(body, &calls) == nil && len(calls) == 1 {
			switch c := calls[0]; c.Method {
			case "eth_blockNumber":
				polls.Add(1)
				fmt.Fprintf(w, `[{"jsonrpc":"2.0","id":%s,"result":"0x%x"}]`, c.ID, at)
				return
			case "eth_getBlockByNumber":
				if n, ok := c.Params[0].(string); ok {
					if v, err := hexutil.DecodeUint64(n); err == nil && int64(v) > at {
						fmt.Fprintf(w, `[{"jsonrpc":"2.0","id":%s,"result":null}]`, c.ID)
						return
					}
				}
			}
		}
		if at := forkAt.Load(); at >= 0 && json.Unmarshal(body, &calls) == nil && len(calls) == 1 {
			switch c := calls[0]; c.Method {
			case "eth_blockNumber":
				fmt.Fprintf(w, `[{"jsonrpc":"2.0","id":%s,"result":"0x%x"}]`, c.ID, at)
				return
			case "eth_getBlockByNumber":
				n, _ := c.Params[0].(string)
				if v, err := hexutil.DecodeUint64(n); err == nil && int64(v) >= at && c.Params[1] == false {
					result := "null"
					if int64(v) == at {
						result = fmt.Sprintf(`{"hash":"0x%064x"}`, 1)
					}
					fmt.Fprintf(w, `[{"jsonrpc":"2.0","id":%s,"result":%s}]`, c.ID, result)
					return
				}
			}
		}
		forward(w, g.URL, body)
	}))
	defer proxy.Close()
	for range 3 {
		g.Send(&common.Address{0xc1}, eth(0.1), nil, 0)
	}
	var head hexutil.Uint64
	g.Call("eth_blockNumber", &head)
	s, err := evmstore.Open(t.TempDir(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var log testnode.Log // written by the follower's goroutine
	synced := make(chan *EVMStats, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		opts := Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), NodeHeight: nodeHeight.Store}
		done <- EVMFollow(ctx, s, &evm.RPC{URL: proxy.URL}, 10*time.Millisecond, opts, func(st *EVMStats) { synced <- st })
	}()
	waitSync := func(what string, ok func(*EVMStats) bool) {
		t.Helper()
		var seen []string // the syncs seen meanwhile, for a failure's message
		for deadline := time.After(60 * time.Second); ; {
			select {
			case st := <-synced:
				if ok(st) {
					return
				}
				n, _, _ := s.Tip()
				seen = append(seen, fmt.Sprintf("%+v (tip %d)", *st, n))
			case err := <-done:
				t.Fatalf("the follower stopped before %s: %v", what, err)
			case <-deadline:
				n, _, _ := s.Tip()
				var node hexutil.Uint64
				g.Call("eth_blockNumber", &node)
				t.Fatalf("no %s in 60 s: the store's tip %d, the node's head %d; syncs meanwhile: %s; the follower's log:\n%s", what, n, node, strings.Join(seen, ", "), log.String())
			}
		}
	}
	waitSync("the node's head", func(*EVMStats) bool { n, _, _ := s.Tip(); return n >= uint64(head) })
	tip, tipHash, _ := s.Tip()
	behindAt.Store(1)
	for polls.Load() < 5 {
		select {
		case st := <-synced:
			t.Fatalf("a sync with the node behind: %+v", st)
		case err := <-done:
			t.Fatalf("the follower stopped while the node was behind: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if n, h, _ := s.Tip(); n != tip || h != tipHash {
		t.Fatalf("the store's tip %d went to %d (%s) while the node was behind", tip, n, h)
	}
	if h := nodeHeight.Load(); h != 1 {
		t.Fatalf("the node's height told while it was behind: %d, want 1", h)
	}
	behindAt.Store(-1)
	h, _ := g.Send(&common.Address{0xc1}, eth(0.2), nil, 0)
	waitSync("the block mined after", func(st *EVMStats) bool { _, err := s.TxNum(h); return err == nil && st.Unwound == 0 })
	// A head below the store's tip that is not on the store's chain is the
	// node's fork choice (a later block dropped for an earlier slot's),
	// followed at once: the store unwinds to where the chains part.
	tip, _, _ = s.Tip()
	forkAt.Store(int64(tip) - 1)
	// Followed, and still on it: a sync that read the node's head before
	// the shorter chain was offered unwinds as much but takes the node's
	// blocks again at once, and then no sync would follow the offer's end.
	waitSync("the shorter chain followed", func(st *EVMStats) bool { n, _, _ := s.Tip(); return st.Unwound == 2 && n < tip })
	forkAt.Store(-1)
	waitSync("the node's chain again", func(st *EVMStats) bool { n, _, _ := s.Tip(); return n >= tip })
	if _, err := s.TxNum(h); err != nil {
		t.Fatalf("the block mined after, taken again: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, c := strings.Count(log.String(), "the node is behind the store"), strings.Count(log.String(), "the node caught up"); b != 1 || c != 1 {
		t.Fatalf("%d falls behind and %d catch-ups logged, want 1 and 1:\n%s", b, c, log.String())
	}
}
