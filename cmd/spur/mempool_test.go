package main

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
)

// TestMempoolRetried reads a node's mempool as spur follow --mempool does,
// from a node that drops the connection when first asked for a
// transaction: no alert then, and the read says so; the transaction asked
// for again at the next poll and alerted; one the node says it does not have is not asked for
// again while the mempool lists it.
func TestMempoolRetried(t *testing.T) {
	dir := btcOnly(t)
	var blk struct {
		TxIDs []string `json:"txids"`
	}
	if err := jsonUnmarshal(mustRun(t, "block", "1", "--store", dir, "--json"), &blk); err != nil {
		t.Fatal(err)
	}
	var cb struct {
		Outputs []struct {
			Address string `json:"address"`
		} `json:"outputs"`
	}
	if err := jsonUnmarshal(mustRun(t, "tx", blk.TxIDs[0], "--store", dir, "--json"), &cb); err != nil {
		t.Fatal(err)
	}
	importLabel(t, dir, "thief", cb.Outputs[0].Address+",btc,stolen-funds,Test theft")
	// Block 1's coinbase spent, in the mempool; and a transaction the node
	// lists but cannot give.
	prev, _ := btc.ParseHash(blk.TxIDs[0])
	raw := btc.AppendTx(nil, &btc.Tx{Version: 1, Inputs: []btc.TxIn{{PrevTxID: prev, Sequence: 0xffffffff}}, Outputs: []btc.TxOut{{Value: 49e8, Script: []byte{0x51}}}})
	spend, err := btc.DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	gone := btc.Hash{7}
	var mu sync.Mutex
	asked := map[string]int{}
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Method string `json:"method"`
			Params []any  `json:"params"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		reply := func(result any, rpcErr any) {
			json.NewEncoder(w).Encode(map[string]any{"result": result, "error": rpcErr, "id": 1})
		}
		switch req.Method {
		case "getrawmempool":
			reply([]string{spend.TxID.String(), gone.String()}, nil)
		case "getrawtransaction":
			mu.Lock()
			id, _ := req.Params[0].(string)
			asked[id]++
			n := asked[id]
			mu.Unlock()
			switch {
			case id == gone.String():
				w.WriteHeader(http.StatusInternalServerError)
				reply(nil, map[string]any{"code": -5, "message": "No such mempool or blockchain transaction"})
			case n == 1: // the connection dropped: no answer
				c, _, _ := w.(http.Hijacker).Hijack()
				c.Close()
			default:
				reply(hex.EncodeToString(raw), nil)
			}
		}
	}))
	defer node.Close()
	rpc, err := btc.NewRPC(node.URL, "u", "p", "")
	if err != nil {
		t.Fatal(err)
	}
	main, _ := btc.LookupNetwork("main")
	s, err := store.Open(btcDir(dir), store.Options{Network: main})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := os.Create(filepath.Join(t.TempDir(), "alerts"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	stdout := os.Stdout
	os.Stdout = out
	defer func() { os.Stdout = stdout }()
	watch, _ := alertCategories("stolen-funds", dir)
	poll := mempoolPoll(t.Context(), s, rpc, mempool{
		labels:   func(f func(*label.Store) error) error { return withAlertLabels(dir, f) },
		clusters: func() (cluster.Reader, error) { return nil, nil },
		watch:    watch,
		out:      alertOut{json: true},
	})
	alerts := func() []alertOf[struct{ Address string }] {
		b, _ := os.ReadFile(out.Name())
		return decodeAlerts[struct{ Address string }](t, string(b))
	}
	// The first read says what the node did not give.
	if n, err := poll(); n != 0 || err == nil || !strings.Contains(err.Error(), "the node did not answer for 1 transaction of the mempool") {
		t.Fatalf("the first poll: %d alerted, %v", n, err)
	}
	if as := alerts(); len(as) != 0 {
		t.Fatalf("alerted with no answer from the node: %+v", as)
	}
	if n, err := poll(); n != 1 || err != nil {
		t.Fatalf("the second poll: %d alerted, %v", n, err)
	}
	if as := alerts(); len(as) != 1 || as[0].TxID != spend.TxID.String() || !as[0].Mempool || len(as[0].From) != 1 || as[0].From[0].Address != cb.Outputs[0].Address {
		t.Fatalf("the second poll: %+v", as)
	}
	if n, err := poll(); n != 0 || err != nil {
		t.Fatalf("the third poll: %d alerted, %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(alerts()) != 1 || asked[spend.TxID.String()] != 2 || asked[gone.String()] != 1 {
		t.Fatalf("asked %v; %d alerts", asked, len(alerts()))
	}
}
