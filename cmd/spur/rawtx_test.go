package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"

	"github.com/spur-forensics/spur/internal/testnode"
)

// TestScreenRawTx screens a deposit while it is in a btcd node's mempool,
// given whole (--raw-tx, and @FILE): its coin is a labelled address's, so
// it is high; once mined and ingested, --tx gives the same answer; a
// transaction whose parent is not in the store, or that does not decode, is
// refused.
func TestScreenRawTx(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	node, key, mining, deposit, dir := btcdStore(t)
	rpc := []string{"--rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p"}
	importLabel(t, dir, "thief", mining.EncodeAddress()+",btc,stolen-funds,Test theft")
	pay, _ := txscript.PayToAddrScript(deposit)
	spend := node.SpendCoinbase(t, 1, key, pay, 10_000)
	var b bytes.Buffer
	spend.Serialize(&b)
	raw := hex.EncodeToString(b.Bytes())
	file := filepath.Join(t.TempDir(), "deposit.hex")
	os.WriteFile(file, []byte(raw+"\n"), 0o644)

	before := mustRun(t, "screen", "--store", dir, "--json", "--raw-tx", raw)
	var got []screenResult
	if err := jsonUnmarshal(before, &got); err != nil || len(got) != 1 || got[0].Tx != spend.TxHash().String() || got[0].Severity != "high" ||
		len(got[0].Direct) != 1 || got[0].Direct[0].Category != "stolen-funds" || got[0].Direct[0].Amount != 50e8 {
		t.Fatalf("the deposit in the mempool: %s %v", before, err)
	}
	if fromFile := mustRun(t, "screen", "--store", dir, "--json", "--raw-tx", "@"+file); fromFile != before {
		t.Fatalf("--raw-tx @FILE:\n%s\nwant\n%s", fromFile, before)
	}
	if out := mustRun(t, "screen", "--store", dir, "--raw-tx", raw); !strings.Contains(out, spend.TxHash().String()) || !strings.Contains(out, "high") ||
		!strings.HasSuffix(out, "\nas of btc block 101 ("+node.Block(t, 101).BlockHash().String()+")\n") {
		t.Fatalf("as text:\n%s", out)
	}
	// By its txid: not in the store (exit 3), unless the node is asked
	// (--rpc), which gives it whole: the same answer, from_node.
	txid := spend.TxHash().String()
	if r := run(t, "screen", "--store", dir, "--tx", txid); r.code != exitNotFound {
		t.Fatalf("--tx of the mempool without --rpc: exit %d %s", r.code, r.stderr)
	}
	var fromNode []screenResult
	if err := jsonUnmarshal(mustRun(t, append([]string{"screen", "--store", dir, "--json", "--tx", txid}, rpc...)...), &fromNode); err != nil || len(fromNode) != 1 || !fromNode[0].FromNode {
		t.Fatalf("--tx of the mempool with --rpc: %+v %v", fromNode, err)
	}
	fromNode[0].FromNode = false
	if !reflect.DeepEqual(fromNode, got) {
		t.Fatalf("--tx of the mempool with --rpc: %+v, given whole %+v", fromNode, got)
	}
	// One neither holds is not found; a node that does not answer says so.
	if r := run(t, append([]string{"screen", "--store", dir, "--tx", strings.Repeat("ab", 32)}, rpc...)...); r.code != exitNotFound {
		t.Fatalf("--tx neither stored nor the node's: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "screen", "--store", dir, "--tx", txid, "--rpc", "http://127.0.0.1:1", "--rpc-user", "u", "--rpc-pass", "p"); r.code != exitFailure || !strings.Contains(r.stderr, "--tx "+txid+": ") || !strings.Contains(r.stderr, "did not answer") {
		t.Fatalf("--tx with a node that does not answer: exit %d %s", r.code, r.stderr)
	}
	// And over the API of a server following the node.
	srv := startServe(t, "--store", dir, "--no-auth", "--follow-rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p")
	var api struct {
		Results []struct {
			FromNode bool   `json:"from_node"`
			Severity string `json:"severity"`
			Direct   []struct {
				Category string `json:"category"`
				Amount   int64  `json:"amount"`
			} `json:"direct_exposure"`
		} `json:"results"`
	}
	resp, err := http.Post(srv.base+"/v1/screen", "application/json", strings.NewReader(`{"items":[{"tx":"`+txid+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&api)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(api.Results) != 1 || !api.Results[0].FromNode || api.Results[0].Severity != "high" || len(api.Results[0].Direct) != 1 || api.Results[0].Direct[0].Amount != 50e8 {
		t.Fatalf("POST /v1/screen of the mempool's deposit: %d %+v", resp.StatusCode, api)
	}
	srv.cmd.Process.Kill()
	<-srv.done
	node.Generate(t, 1)
	mustRun(t, append([]string{"ingest", "btc", "--network", "regtest", "--store", dir, "-q"}, rpc...)...)
	if mined := mustRun(t, "screen", "--store", dir, "--json", "--tx", txid); mined != before {
		t.Fatalf("mined, by its txid:\n%s\nwhole, before:\n%s", mined, before)
	}
	// Stored now: the node is not asked.
	if mined := mustRun(t, append([]string{"screen", "--store", dir, "--json", "--tx", txid}, rpc...)...); mined != before {
		t.Fatalf("mined, by its txid, with --rpc:\n%s\nwhole, before:\n%s", mined, before)
	}

	// A child of the deposit in the mempool, and its own child: the
	// second spends a coin the store does not hold yet (exit 3, naming
	// it); a hex that does not decode is a usage error.
	depositKey, _ := testnode.Key(0x43, &chaincfg.RegressionNetParams)
	child := node.Spend(t, []testnode.Coin{{Tx: spend, Vout: 0, Key: depositKey}}, pay, 10_000)
	grandchild := node.Spend(t, []testnode.Coin{{Tx: child, Vout: 0, Key: depositKey}}, pay, 10_000)
	b.Reset()
	grandchild.Serialize(&b)
	if r := run(t, "screen", "--store", dir, "--raw-tx", hex.EncodeToString(b.Bytes())); r.code != exitNotFound || !strings.Contains(r.stderr, "input 0 spends "+child.TxHash().String()+":0") {
		t.Fatalf("a coin not in the store: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, append([]string{"screen", "--store", dir, "--tx", grandchild.TxHash().String()}, rpc...)...); r.code != exitNotFound || !strings.Contains(r.stderr, "input 0 spends "+child.TxHash().String()+":0") {
		t.Fatalf("a coin not in the store, by the node: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "screen", "--store", dir, "--raw-tx", raw[:50]); r.code != exitUsage || !strings.Contains(r.stderr, "--raw-tx "+raw[:12]) {
		t.Fatalf("a transaction cut short: exit %d %s", r.code, r.stderr)
	}
}

// TestFollowMempool watches a btcd node's mempool with --mempool, by
// spur follow btc and by spur serve --follow-rpc: a spend of the labelled
// address's coin is alerted while in the mempool (height -1, mempool
// true), once, and again with its block; the server reports the mempool's
// size on /metrics.
func TestFollowMempool(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	node, key, mining, deposit, dir := btcdStore(t)
	rpc := []string{"--rpc-user", "u", "--rpc-pass", "p"}
	importLabel(t, dir, "thief", mining.EncodeAddress()+",btc,stolen-funds,Test theft")
	follow := append([]string{"follow", "btc", "--network", "regtest", "--store", dir, "--interval", "50ms", "--rpc", node.URL}, rpc...)
	serve := append([]string{"serve", "--store", dir, "--listen", "127.0.0.1:0", "--no-auth", "--interval", "50ms", "--follow-rpc", node.URL}, rpc...)
	for _, bad := range [][]string{append(follow, "--mempool"), append(serve, "--mempool"), {"serve", "--store", dir, "--follow-evm", "http://127.0.0.1:1", "--alert", "stolen-funds", "--mempool"}} {
		if r := run(t, bad...); r.code != exitUsage || !strings.Contains(r.stderr, "mempool") || !strings.Contains(r.stderr, "--alert") {
			t.Fatalf("%v: exit %d %s", bad, r.code, r.stderr)
		}
	}
	type party struct {
		Address string `json:"address"`
		Value   int64  `json:"value"`
	}
	pay, _ := txscript.PayToAddrScript(deposit)
	for i, args := range [][]string{append(follow, "--json"), serve} {
		cmd, stdout, stderr := startSpur(t, append(args, "--alert", "stolen-funds", "--mempool")...)
		next := alertStream[party](t, stdout, stderr)
		// Coinbases 1 and 2 pay the labelled address; each run spends one.
		spend := node.SpendCoinbase(t, int64(1+i), key, pay, 10_000)
		a := next()
		if a.TxID != spend.TxHash().String() || !a.Mempool || a.Height != -1 || len(a.From) != 1 || a.From[0].Address != mining.EncodeAddress() || a.From[0].Value != 50e8 {
			t.Fatalf("%s: the spend in the mempool: %+v", args[0], a)
		}
		if args[0] == "serve" {
			waitMetric(t, stderr, `spur_mempool_transactions{chain="btc"} 1`)
		}
		node.Generate(t, 1)
		// The block's: its coinbase (to the labelled address), then the
		// spend, no longer in the mempool.
		height := int64(102 + i)
		for _, want := range []string{"", spend.TxHash().String()} {
			a := next()
			if a.Mempool || a.Height != height || want != "" && a.TxID != want {
				t.Fatalf("%s: the block's alert: %+v, want %q at %d", args[0], a, want, height)
			}
		}
		if args[0] == "serve" {
			waitMetric(t, stderr, `spur_mempool_transactions{chain="btc"} 0`)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
}

// waitMetric waits for a server started by startSpur, its address read
// from its log, to give line in /metrics.
func waitMetric(t *testing.T, log fmt.Stringer, line string) {
	t.Helper()
	re := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)
	var metrics string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		m := re.FindStringSubmatch(log.String())
		if m == nil {
			continue
		}
		resp, err := http.Get(m[1] + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if metrics = string(b); strings.Contains(metrics, line+"\n") {
			return
		}
	}
	t.Fatalf("/metrics lacks %q:\n%s\n%s", line, metrics, log)
}

// TestServeMempoolByEntity watches the mempool by entity from spur serve:
// the mining address and a deposit address spent together are one entity,
// the deposit address alone labelled; the mining address's next spend is
// alerted from the mempool by its entity, the label carried by the member.
func TestServeMempoolByEntity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	node, key, mining, deposit, dir := btcdStore(t)
	depositKey, _ := testnode.Key(0x43, &chaincfg.RegressionNetParams)
	toDeposit, _ := txscript.PayToAddrScript(deposit)
	toMining, _ := txscript.PayToAddrScript(mining)
	// Block 1's coinbase to the deposit address; then that coin and block
	// 2's coinbase spent together: one owner.
	paid := node.SpendCoinbase(t, 1, key, toDeposit, 10_000)
	node.Generate(t, 1)
	node.Spend(t, []testnode.Coin{{Tx: paid, Vout: 0, Key: depositKey}, {Tx: node.Block(t, 2).Transactions[0], Key: key}}, toMining, 10_000)
	node.Generate(t, 1)
	mustRun(t, "ingest", "btc", "--network", "regtest", "--store", dir, "--rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p", "-q")
	mustRun(t, "cluster", "--store", dir)
	importLabel(t, dir, "list", deposit.EncodeAddress()+",btc,sanctioned,Test listing")
	type party struct {
		Address string    `json:"address"`
		Entity  *entityOf `json:"entity"`
	}
	_, stdout, stderr := startSpur(t, "serve", "--store", dir, "--listen", "127.0.0.1:0", "--no-auth", "--interval", "50ms",
		"--follow-rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p", "--alert", "sanctioned", "--by-entity", "--mempool")
	next := alertStream[party](t, stdout, stderr)
	waitMetric(t, stderr, `spur_mempool_transactions{chain="btc"} 0`)
	spend := node.SpendCoinbase(t, 3, key, toMining, 10_000)
	a := next()
	if a.TxID != spend.TxHash().String() || !a.Mempool || len(a.From) != 1 || a.From[0].Address != mining.EncodeAddress() ||
		a.From[0].Entity == nil || a.From[0].Entity.Size < 2 || len(a.From[0].Entity.Labels) != 1 || a.From[0].Entity.Labels[0].Via != deposit.EncodeAddress() {
		t.Fatalf("the mining address's spend, by its entity, from the mempool: %+v", a)
	}
}

// TestAlertsMempool reads a btcd node's mempool once with spur alerts
// --mempool: the labelled address's spend, in no block yet, is told; a
// node that does not answer is exit 1; the flags that cannot go with it
// are usage errors.
func TestAlertsMempool(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	node, key, mining, deposit, dir := btcdStore(t)
	importLabel(t, dir, "thief", mining.EncodeAddress()+",btc,stolen-funds,Test theft")
	rpc := []string{"--rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p"}
	alerts := append([]string{"alerts", "--store", dir, "--alert", "stolen-funds"}, rpc...)
	for _, bad := range [][]string{
		alerts, // --rpc without --mempool
		{"alerts", "--store", dir, "--alert", "stolen-funds", "--mempool"}, // no node
		append(alerts, "--mempool", "--from", "1"),
		append(alerts, "--mempool", "--chain", "eth"),
	} {
		if r := run(t, bad...); r.code != exitUsage {
			t.Errorf("%v: exit %d %s", bad, r.code, r.stderr)
		}
	}
	pay, _ := txscript.PayToAddrScript(deposit)
	spend := node.SpendCoinbase(t, 1, key, pay, 10_000)
	node.SpendCoinbase(t, 2, key, pay, 10_000) // a second, of the same address
	r := run(t, append(alerts, "--mempool", "--json")...)
	type party struct {
		Address string `json:"address"`
		Value   int64  `json:"value"`
	}
	as := decodeAlerts[party](t, r.stdout)
	if r.code != 0 || len(as) != 2 || !strings.Contains(r.stderr, "2 transactions of the 2 in the node's mempool") {
		t.Fatalf("exit %d, %d alerts: %s", r.code, len(as), r.stderr)
	}
	for _, a := range as {
		if !a.Mempool || a.Height != -1 || len(a.From) != 1 || a.From[0].Address != mining.EncodeAddress() || a.From[0].Value != 50e8 {
			t.Errorf("a mempool alert: %+v", a)
		}
	}
	if as[0].TxID != spend.TxHash().String() && as[1].TxID != spend.TxHash().String() {
		t.Errorf("the spend not among the alerts: %+v", as)
	}
	if r := run(t, "alerts", "--store", dir, "--alert", "stolen-funds", "--mempool", "--rpc", "http://127.0.0.1:1", "--rpc-user", "u", "--rpc-pass", "p"); r.code != exitFailure || !strings.Contains(r.stderr, "mempool not read") {
		t.Errorf("a node that does not answer: exit %d %s", r.code, r.stderr)
	}
}
