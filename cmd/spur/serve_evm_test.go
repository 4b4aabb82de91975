package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/spur-forensics/spur/internal/testnode"
)

// TestServeFollowsEVMNode runs spur serve --follow-evm against a real geth:
// an exchange's deposit address, paid by a sanctioned contract (listed
// before it was deployed, so first on chain after screening began),
// screens low before the payment's block and severe once the server has
// followed the node past it, as does the payment itself. A node of another
// chain than --evm-chain is refused before anything is made.
func TestServeFollowsEVMNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a geth node")
	}
	g := testnode.StartGeth(t)
	dir := filepath.Join(t.TempDir(), "store")

	// Another chain than the node's: refused, no store made.
	if r := run(t, "serve", "--store", dir, "--listen", "127.0.0.1:0", "--follow-evm", g.URL); r.code != exitBadInput || !strings.Contains(r.stderr, "chain id 1337") {
		t.Fatalf("--evm-chain eth against a dev node: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused follow made %s: %v", dir, err)
	}

	// The contract the dev account's next transaction but one makes.
	var nonce hexutil.Uint64
	g.Call("eth_getTransactionCount", &nonce, g.Dev, "pending")
	fwd := crypto.CreateAddress(g.Dev, uint64(nonce)+1)
	list := filepath.Join(t.TempDir(), "list.csv")
	os.WriteFile(list, []byte("address,chain,category,label,actor,source\n"+fwd.Hex()+",eth,sanctioned,Test SDN entry,,test\n"+
		g.Dev.Hex()+",eth,exchange,Test exchange hot wallet,,test\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, "--format", "csv", list)
	prices := filepath.Join(t.TempDir(), "prices.csv")
	now := time.Now().UTC()
	p := "date,asset,usd\n"
	for _, d := range []time.Time{now.AddDate(0, 0, -1), now, now.AddDate(0, 0, 1)} {
		p += d.Format("2006-01-02") + ",ETH,2000\n" + d.Format("2006-01-02") + ",TST,2\n"
	}
	os.WriteFile(prices, []byte(p), 0o644)
	mustRun(t, "prices", "import", "--store", dir, prices)

	srv := startServe(t, "--store", dir, "--no-auth", "--rate", "1000000", "--burst", "1000000",
		"--follow-evm", g.URL, "--evm-chain", "dev", "--interval", "50ms", "--alert", "exchange")
	type exposure struct {
		Category string  `json:"category"`
		USD      float64 `json:"usd"`
	}
	type screened struct {
		Results []struct {
			Severity string     `json:"severity"`
			Direct   []exposure `json:"direct_exposure"`
		} `json:"results"`
	}
	screen := func(item string) screened {
		t.Helper()
		resp, err := http.Post(srv.base+"/v1/screen", "application/json", strings.NewReader(`{"items":[`+item+`]}`))
		if err != nil {
			t.Fatalf("%v\nspur serve said:\n%s", err, srv.said())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out screened
		if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || len(out.Results) != 1 {
			t.Fatalf("screen %s: %d %s", item, resp.StatusCode, b)
		}
		return out
	}
	// tip is the number of the server's latest Ethereum block, -1 before
	// the first.
	tip := func() int64 {
		resp, err := http.Get(srv.base + "/v1/eth/blocks/tip")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b struct {
			Number int64 `json:"number"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&b) != nil {
			return -1
		}
		return b.Number
	}
	waitTip := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); tip() < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the server did not reach block %d\nspur serve said:\n%s", n, srv.said())
			}
		}
	}

	deposit := common.Address{0xde, 0x90, 0x51, 0x7e}
	item := fmt.Sprintf(`{"address":%q,"chain":"eth"}`, deposit.Hex())
	if got := screen(item); got.Results[0].Severity != "low" || len(got.Results[0].Direct) != 0 {
		t.Fatalf("a deposit address before it is paid: %+v", got)
	}
	// An address on chain, which the server screens on what it knows of
	// the chain so far (the contract not yet in it).
	other := common.Address{0x07}
	_, r := g.Send(&other, big.NewInt(1e17), nil, 0)
	n, _ := new(big.Int).SetString(strings.TrimPrefix(r.BlockNumber, "0x"), 16)
	waitTip(n.Int64())
	if got := screen(fmt.Sprintf(`{"address":%q,"chain":"eth"}`, other.Hex())); got.Results[0].Severity != "low" {
		t.Fatalf("an address the dev account paid: %+v", got)
	}
	var code struct {
		Contracts map[string]struct{ Bytecode string }
	}
	b, err := os.ReadFile("../../testdata/evm/contracts/Test.json")
	if err != nil || json.Unmarshal(b, &code) != nil {
		t.Fatalf("the test contracts: %v", err)
	}
	if _, r := g.Send(nil, big.NewInt(0), common.FromHex(code.Contracts["Forwarder"].Bytecode), 0); r.ContractAddress == nil || *r.ContractAddress != fwd {
		t.Fatalf("the forwarder is at %v, not %s", r.ContractAddress, fwd.Hex())
	}
	call := append(crypto.Keccak256([]byte("forward(address)"))[:4], common.LeftPadBytes(deposit[:], 32)...)
	h, r := g.Send(&fwd, big.NewInt(3e18), call, 0)
	n, _ = new(big.Int).SetString(strings.TrimPrefix(r.BlockNumber, "0x"), 16)
	waitTip(n.Int64())
	// Health and metrics say how far the store is behind the node.
	resp, err := http.Get(srv.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		EVM struct {
			Chain      string `json:"chain"`
			Number     int64  `json:"number"`
			NodeHeight int64  `json:"node_height"`
			Lag        *int64 `json:"lag_blocks"`
			NodeUp     bool   `json:"node_up"`
		} `json:"evm"`
	}
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if e := health.EVM; e.Chain != "dev" || e.Number < n.Int64() || e.NodeHeight < n.Int64() || e.Lag == nil || !e.NodeUp {
		t.Errorf("healthz: %+v", health)
	}
	resp, err = http.Get(srv.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`spur_node_up{chain="dev"} 1`, `spur_store_height{chain="dev"} `, `spur_ingest_lag_blocks{chain="dev"} `} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}
	for _, it := range []string{item, fmt.Sprintf(`{"tx":%q,"direction":"deposit"}`, h.Hex())} {
		got := screen(it)
		res := got.Results[0]
		if res.Severity != "severe" || !slices.ContainsFunc(res.Direct, func(x exposure) bool { return x.Category == "sanctioned" && x.USD == 6000 }) {
			t.Errorf("%s once its payment by a sanctioned address is followed: %+v", it, got)
		}
	}

	// A reorganisation: the node drops the payment's block and makes
	// another at its height (geth may mine the dropped payment again, in a
	// later block). The server unwinds and follows; the deposit screens as
	// the node's chain now has it.
	g.Call("debug_setHead", nil, fmt.Sprintf("0x%x", n.Int64()-1))
	g.Send(&common.Address{0x08}, big.NewInt(1e16), nil, 0)
	var latest struct {
		Hash common.Hash `json:"hash"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		g.Call("eth_getBlockByNumber", &latest, "latest", false)
		resp, err := http.Get(srv.base + "/v1/eth/blocks/tip")
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Hash common.Hash `json:"hash"`
		}
		json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		if b.Hash == latest.Hash {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not follow the reorganisation to %s\nspur serve said:\n%s", latest.Hash.Hex(), srv.said())
		}
	}
	var again *testnode.Receipt
	g.Call("eth_getTransactionReceipt", &again, h)
	res := screen(item).Results[0]
	if paid := again != nil; paid != (res.Severity == "severe") {
		t.Errorf("after the reorganisation (the payment in the node's chain: %v) the deposit screens %+v", paid, res)
	}
	if !strings.Contains(srv.said(), "unwound=1") && !strings.Contains(srv.said(), "reorg") {
		t.Errorf("the server did not say it unwound:\n%s", srv.said())
	}

	// (Screening an address on chain makes what screening keeps anew, at
	// the new tip; what follows extends it.)
	screen(fmt.Sprintf(`{"address":%q,"chain":"eth"}`, other.Hex()))
	// A token first deployed and moved while the server follows: its
	// decimals, which the follow asks the node for (symbol(), decimals()),
	// value it (250 TST at $2, from the exchange's hot wallet).
	_, r = g.Send(nil, big.NewInt(0), append(common.FromHex(code.Contracts["Token"].Bytecode), common.LeftPadBytes(big.NewInt(1e12).Bytes(), 32)...), 0)
	tok := *r.ContractAddress
	deposit2 := common.Address{0xde, 0x92}
	_, r = g.Send(&tok, big.NewInt(0), append(crypto.Keccak256([]byte("transfer(address,uint256)"))[:4], append(common.LeftPadBytes(deposit2[:], 32), common.LeftPadBytes(big.NewInt(250e6).Bytes(), 32)...)...), 0)
	n, _ = new(big.Int).SetString(strings.TrimPrefix(r.BlockNumber, "0x"), 16)
	waitTip(n.Int64())
	if res := screen(fmt.Sprintf(`{"address":%q,"chain":"eth"}`, deposit2.Hex())).Results[0]; len(res.Direct) != 1 || res.Direct[0].Category != "exchange" || res.Direct[0].USD != 500 {
		t.Errorf("a deposit of 250 TST from the exchange's hot wallet: %+v", res)
	}
	// With --alert exchange, the server told the hot wallet's payment (its
	// label Ethereum's, on the dev chain it follows, as screening reads it).
	told := func(out string) bool {
		for d := json.NewDecoder(strings.NewReader(out)); ; {
			var a struct {
				Chain string `json:"chain"`
				From  []struct{ Address, Asset, Symbol, Value string }
			}
			if d.Decode(&a) != nil {
				return false
			}
			for _, f := range a.From {
				if a.Chain == "dev" && f.Address == g.Dev.Hex() && f.Asset == tok.Hex() && f.Symbol == "TST" && f.Value == "250000000" {
					return true
				}
			}
		}
	}
	if !eventually(func() bool { return told(srv.out.String()) }) {
		t.Errorf("no alert of the hot wallet's 250 TST; the server printed:\n%s", srv.out.String())
	}

	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.done:
		if srv.err != nil {
			t.Fatalf("spur serve on SIGTERM: %v\n%s", srv.err, srv.said())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("spur serve did not stop on SIGTERM")
	}
	// Every block the server added had its alerts: all that spur alerts
	// finds over the chain it kept (the server told, besides, those of
	// the block it unwound).
	txids := func(out string) map[string]bool {
		m := map[string]bool{}
		for d := json.NewDecoder(strings.NewReader(out)); ; {
			var a struct {
				TxID string `json:"txid"`
			}
			if d.Decode(&a) != nil {
				return m
			}
			m[a.TxID] = true
		}
	}
	served := txids(srv.out.String())
	kept := txids(mustRun(t, "alerts", "--chain", "dev", "--store", dir, "--alert", "exchange", "--json", "-q"))
	if len(kept) == 0 {
		t.Fatalf("spur alerts over the served chain: %d transactions", len(kept))
	}
	for tx := range kept {
		if !served[tx] {
			t.Errorf("the server did not tell %s, which spur alerts finds", tx)
		}
	}
}

// TestQueriesBesideEVMFollow: queries read a store that spur follow evm
// keeps, finding each block it commits; another writer and a server
// without --follow-evm are refused beside it, naming it.
func TestQueriesBesideEVMFollow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a geth node")
	}
	g := testnode.StartGeth(t)
	dir := filepath.Join(t.TempDir(), "store")
	follow := exec.Command(spurBin, "follow", "evm", "--store", dir, "--chain", "dev", "--rpc", g.URL, "--interval", "50ms")
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { follow.Process.Kill(); follow.Wait() }()
	pid := strconv.Itoa(follow.Process.Pid)
	for i := 0; ; i++ {
		if b, _ := os.ReadFile(filepath.Join(dir, "evm", "dev", "LOCK")); strings.TrimSpace(string(b)) == pid+" shares" {
			break
		}
		if i == 400 {
			t.Fatal("the follow does not let queries in")
		}
		time.Sleep(25 * time.Millisecond)
	}
	h, _ := g.Send(&common.Address{0xc2}, big.NewInt(7e17), nil, 0)
	for i := 0; ; i++ {
		r := run(t, "tx", h.Hex(), "--chain", "dev", "--store", dir, "--json")
		if r.code == exitOK {
			if !strings.Contains(r.stdout, "700000000000000000") {
				t.Fatalf("the payment beside a follow: %s", r.stdout)
			}
			break
		}
		if r.code != exitNotFound || i == 400 {
			t.Fatalf("tx beside a follow: exit %d: %s", r.code, r.stderr)
		}
		time.Sleep(25 * time.Millisecond)
	}
	want := "pid " + pid + ": spur follow evm)"
	if r := run(t, "ingest", "evm", "--store", dir, "--chain", "dev", "--rpc", g.URL); r.code != exitStore || !strings.Contains(r.stderr, want) {
		t.Fatalf("an ingest beside a follow: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "serve", "--store", dir, "--evm-chain", "dev", "--no-auth", "--listen", "127.0.0.1:0"); r.code != exitStore || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "--follow-evm instead") {
		t.Fatalf("a server beside a follow: exit %d: %s", r.code, r.stderr)
	}
}

// TestFollowEVMAlerts follows a real geth with --alert: a payment from the
// account labelled stolen-funds is told as its block comes, its recipient,
// labelled only as an exchange, not; then as text.
func TestFollowEVMAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a geth node")
	}
	g := testnode.StartGeth(t)
	dir := filepath.Join(t.TempDir(), "store")
	shop := common.Address{0xc2}
	list := filepath.Join(t.TempDir(), "thief.csv")
	os.WriteFile(list, []byte("address,chain,category,label\n"+g.Dev.Hex()+",dev,stolen-funds,Test theft\n"+shop.Hex()+",dev,exchange,Test shop\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, list)
	// The alerts posted to a webhook too, unsigned without a secret.
	posted := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Spur-Signature-256") == "" {
			posted <- string(b)
		}
	}))
	defer hook.Close()
	follow, stdout, stderr := startSpur(t, "follow", "evm", "--store", dir, "--chain", "dev", "--rpc", g.URL, "--interval", "50ms", "--alert", "stolen-funds", "--json", "--alert-webhook", hook.URL)
	type alert struct {
		TxID   string `json:"txid"`
		Height uint64 `json:"height"`
		From   []struct {
			Address, Asset, Symbol, Value string
			Decimals                      *uint8
			Labels                        []struct{ Category, Label string }
		} `json:"from"`
		To []json.RawMessage `json:"to"`
	}
	alerts := make(chan alert, 10)
	go func() {
		d := json.NewDecoder(stdout)
		for {
			var a alert
			if d.Decode(&a) != nil {
				close(alerts)
				return
			}
			if a.TxID != "" {
				alerts <- a
			}
		}
	}()
	h, rc := g.Send(&shop, big.NewInt(7e17), nil, 0)
	select {
	case a := <-alerts:
		f := a.From
		if a.TxID != h.Hex() || strconv.FormatUint(a.Height, 16) != strings.TrimPrefix(rc.BlockNumber, "0x") || len(f) != 1 || f[0].Address != g.Dev.Hex() ||
			f[0].Asset != "ETH" || f[0].Value != "700000000000000000" || *f[0].Decimals != 18 || f[0].Labels[0].Label != "Test theft" || len(a.To) != 0 {
			t.Fatalf("the payment's alert: %+v (tx %s in block %s)", a, h.Hex(), rc.BlockNumber)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no alert in 30 s:\n%s", stderr)
	}
	select {
	case b := <-posted:
		var a alert
		if json.Unmarshal([]byte(b), &a) != nil || a.TxID != h.Hex() || len(a.From) != 1 {
			t.Fatalf("the webhook took %s", b)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the webhook took nothing in 30 s:\n%s", stderr)
	}
	follow.Process.Kill()
	follow.Wait()

	// A payment ingested while no follower runs: the next follower with
	// the webhook posts its alert (the store's outbox says which blocks
	// were queued).
	missed, _ := g.Send(&shop, big.NewInt(3e17), nil, 0)
	mustRun(t, "ingest", "evm", "--store", dir, "--chain", "dev", "--rpc", g.URL, "-q")
	again, _, againErr := startSpur(t, "follow", "evm", "--store", dir, "--chain", "dev", "--rpc", g.URL, "--interval", "50ms", "--alert", "stolen-funds", "--alert-webhook", hook.URL)
	// The first alert may come again (killed between its delivery and its
	// record: at least once), then the missed one.
	for got := ""; got != missed.Hex(); {
		select {
		case b := <-posted:
			var a alert
			if json.Unmarshal([]byte(b), &a) != nil || a.TxID != missed.Hex() && a.TxID != h.Hex() {
				t.Fatalf("the webhook took %s, want the alert of %s", b, missed.Hex())
			}
			got = a.TxID
		case <-time.After(30 * time.Second):
			t.Fatalf("the missed block's alert not posted in 30 s:\n%s", againErr)
		}
	}
	again.Process.Kill()
	again.Wait()

	text := exec.Command(spurBin, "follow", "evm", "--store", dir, "--chain", "dev", "--rpc", g.URL, "--interval", "50ms", "--alert", "stolen-funds,exchange")
	out := &testnode.Log{}
	text.Stdout, text.Stderr = out, stderr
	if err := text.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { text.Process.Kill(); text.Wait() })
	h, _ = g.Send(&shop, big.NewInt(25e16), nil, 0)
	want := "tx " + h.Hex() + "\n  from " + g.Dev.Hex() + "  0.25 ETH  stolen-funds: Test theft (csv:thief)\n  to   " + shop.Hex() + "  0.25 ETH  exchange: Test shop (csv:thief)\n"
	for i := 0; !strings.HasSuffix(out.String(), want); i++ {
		if i == 600 {
			t.Fatalf("spur follow evm --alert as text said:\n%s\nwant the end:\n%s\n%s", out, want, stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFollowEVMAlertsByEntity follows a geth node with --by-entity
// --deposits: a contract that forwards what it is paid to a listed
// exchange's hot wallet is its deposit address, joined to it by the
// entities made at the very sync of its first payment, so the payment
// into it is told by the hot wallet's label; the flags are checked.
func TestFollowEVMAlertsByEntity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a geth node")
	}
	g := testnode.StartGeth(t)
	dir := filepath.Join(t.TempDir(), "store")
	hot := common.Address{0xe1}
	importLabel(t, dir, "hot", hot.Hex()+",dev,exchange,Test exchange hot wallet")
	importLabel(t, dir, "listing", hot.Hex()+",dev,sanctioned,Test listing")
	follow := []string{"follow", "evm", "--store", dir, "--chain", "dev", "--rpc", g.URL, "--interval", "50ms"}
	for _, bad := range [][]string{{"--by-entity", "--deposits"}, {"--alert", "sanctioned", "--by-entity"}, {"--alert", "sanctioned", "--deposits"}} {
		if r := run(t, append(follow, bad...)...); r.code != exitUsage {
			t.Errorf("spur follow evm %v: exit %d %s", bad, r.code, r.stderr)
		}
	}
	var code struct {
		Contracts map[string]struct{ Bytecode string }
	}
	b, err := os.ReadFile("../../testdata/evm/contracts/Test.json")
	if err != nil || json.Unmarshal(b, &code) != nil {
		t.Fatalf("the test contracts: %v", err)
	}
	_, r := g.Send(nil, big.NewInt(0), common.FromHex(code.Contracts["Forwarder"].Bytecode), 0)
	if r.ContractAddress == nil {
		t.Fatal("no forwarder")
	}
	deposit := *r.ContractAddress
	followCmd, stdout, stderr := startSpur(t, append(follow, "--alert", "sanctioned", "--by-entity", "--deposits", "--json")...)
	type party = evmParty
	next := alertStream[party](t, stdout, stderr)
	call := append(crypto.Keccak256([]byte("forward(address)"))[:4], common.LeftPadBytes(hot[:], 32)...)
	h, _ := g.Send(&deposit, big.NewInt(2e17), call, 0)
	a := next()
	var dep *party
	for i, p := range a.To {
		if p.Address == deposit.Hex() {
			dep = &a.To[i]
		}
	}
	if a.TxID != h.Hex() || dep == nil || dep.Entity == nil || dep.Entity.Size != 2 || len(dep.Entity.Labels) != 1 || dep.Entity.Labels[0].Via != hot.Hex() {
		t.Fatalf("the payment into the deposit address: %+v", a)
	}
	var ent struct {
		Entity string `json:"entity"`
	}
	if err := jsonUnmarshal(mustRun(t, "entity", deposit.Hex(), "--chain", "dev", "--store", dir, "--deposits", "--json"), &ent); err != nil || ent.Entity != dep.Entity.ID {
		t.Fatalf("the alert names entity %s, spur entity %+v (%v)", dep.Entity.ID, ent, err)
	}
	followCmd.Process.Signal(os.Interrupt)
	followCmd.Wait()

	// A server following the node alike.
	serve := []string{"--store", dir, "--no-auth", "--follow-evm", g.URL, "--evm-chain", "dev", "--interval", "50ms", "--alert", "sanctioned"}
	for _, bad := range [][]string{{"--by-entity"}, {"--deposits"}} {
		if r := run(t, append(append([]string{"serve", "--listen", "127.0.0.1:0"}, serve...), bad...)...); r.code != exitUsage {
			t.Errorf("spur serve %v: exit %d %s", bad, r.code, r.stderr)
		}
	}
	srv := startServe(t, append(serve, "--by-entity", "--deposits")...)
	h, _ = g.Send(&deposit, big.NewInt(1e17), call, 0)
	if !eventually(func() bool {
		for d := json.NewDecoder(strings.NewReader(srv.out.String())); d.Decode(&a) == nil; {
			if a.TxID == h.Hex() {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("the server told nothing of %s:\n%s\n%s", h.Hex(), srv.out.String(), srv.said())
	}
	found := false
	for _, p := range a.To {
		found = found || p.Address == deposit.Hex() && p.Entity != nil && p.Entity.Size == 2
	}
	if !found {
		t.Fatalf("the server's alert: %+v", a)
	}
}
