package api

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/testchain"
)

// ethStore is an Ethereum store holding the two shipped mainnet blocks.
func ethStore(t *testing.T) *evmstore.Store {
	return testchain.Ethereum(t, filepath.Join(t.TempDir(), "eth"))
}

// The Ethereum lookups answer what spur tx|address|block --chain eth
// prints, with the same field names; bad input is a 400 naming the field.
func TestEthLookups(t *testing.T) {
	f := newFixture(t, Config{EVM: ethStore(t)})
	code, v := f.do(t, "GET", "/v1/eth/txs/0xec7cc4df1ff542793053335700f18d59c3f870e1e4820a42d558c76db832bd14", "", true)
	if code != 200 || v["block_number"].(float64) != 17173049 || len(v["transfers"].([]any)) < 4 || len(v["events"].([]any)) != 1 {
		t.Fatalf("tx: %d %v", code, v)
	}
	code, v = f.do(t, "GET", "/v1/eth/addresses/0x64a018b23b4D7A077DfFA6723462Bc722861c5aD?limit=5", "", true)
	if code != 200 || v["address"] != "0x64a018b23b4D7A077DfFA6723462Bc722861c5aD" || len(v["transfers"].([]any)) == 0 {
		t.Fatalf("address: %d %v", code, v)
	}
	code, v = f.do(t, "GET", "/v1/eth/blocks/17173050?limit=2", "", true)
	if code != 200 || len(v["transactions"].([]any)) != 2 || v["transaction_count"].(float64) != 182 {
		t.Fatalf("block: %d %v", code, v)
	}
	code, v = f.do(t, "GET", "/v1/eth/blocks/tip", "", true)
	if code != 200 || v["number"] != 17173050.0 {
		t.Fatalf("block tip: %d %v", code, v["number"])
	}
	// As JSON-RPC names blocks: "latest", and numbers in hex.
	for id, want := range map[string]float64{"latest": 17173050, "0x1060a39": 17173049, "0x1060A3A": 17173050} {
		if code, v := f.do(t, "GET", "/v1/eth/blocks/"+id, "", true); code != 200 || v["number"] != want {
			t.Errorf("block %s: %d %v, want %v", id, code, v["number"], want)
		}
	}
	for path, field := range map[string]string{
		"/v1/eth/txs/0x1234": "hash",
		"/v1/eth/addresses/0x64a018b23b4D7A077DfFA6723462Bc722861c5AD": "address", // bad EIP-55
		"/v1/eth/blocks/banana": "id",
		"/v1/eth/blocks/0xzz":   "id",
	} {
		code, v := f.do(t, "GET", path, "", true)
		e, _ := v["error"].(map[string]any)
		if code != 400 || e["field"] != field {
			t.Errorf("%s: %d %v", path, code, v)
		}
	}
	if code, _ := f.do(t, "GET", "/v1/eth/txs/0x"+strings.Repeat("ab", 32), "", true); code != 404 {
		t.Errorf("unknown tx: %d", code)
	}
	if code, _ := f.do(t, "GET", "/v1/eth/blocks/1", "", true); code != 404 {
		t.Errorf("block before the store: %d", code)
	}
	// A server without an Ethereum store says so.
	g := newFixture(t, Config{})
	if code, v := g.do(t, "GET", "/v1/eth/blocks/1", "", true); code != 404 || !strings.Contains(v["error"].(map[string]any)["message"].(string), "no Ethereum store") {
		t.Errorf("no store: %d %v", code, v)
	}
}

// POST /v1/trace with chain eth runs the account-model trace.
func TestEthTrace(t *testing.T) {
	f := newFixture(t, Config{EVM: ethStore(t)})
	code, v := f.do(t, "POST", "/v1/trace", `{"chain":"eth","from":["0xec7cc4df1ff542793053335700f18d59c3f870e1e4820a42d558c76db832bd14"]}`, true)
	if code != 200 || v["model"] != "fifo" || len(v["flows"].([]any)) == 0 || v["start"].(map[string]any)["ETH"] != "7400000000000000000" {
		t.Fatalf("trace: %d %v", code, v)
	}
	// Backward, the same transaction's 7.4 ETH explained: all of it came
	// from one exchange's address (forward, it scatters over many places).
	code, v = f.do(t, "POST", "/v1/trace", `{"chain":"eth","direction":"backward","from":["0xec7cc4df1ff542793053335700f18d59c3f870e1e4820a42d558c76db832bd14"]}`, true)
	var eth []map[string]any
	for _, d := range v["destinations"].([]any) {
		if d := d.(map[string]any); d["asset"] == "ETH" {
			eth = append(eth, d)
		}
	}
	if code != 200 || len(eth) != 1 || eth[0]["category"] != "exchange" || eth[0]["amount"] != "7400000000000000000" {
		t.Fatalf("backward trace: %d %v", code, v)
	}
	for body, field := range map[string]string{
		`{"chain":"sol","from":["x"]}`: "chain",
		`{"chain":"eth","from":[]}`:    "from",
	} {
		code, v := f.do(t, "POST", "/v1/trace", body, true)
		if e, _ := v["error"].(map[string]any); code != 400 || e["field"] != field {
			t.Errorf("%s: %d %v", body, code, v)
		}
	}
	if code, _ := f.do(t, "POST", "/v1/trace", `{"chain":"eth","from":["nope"]}`, true); code != 400 {
		t.Errorf("bad reference: %d", code)
	}
}

// TestEthAlerts: the swap of block 17173049 whose sender is labelled
// stolen-funds, with its two WETH transfers summed, as spur alerts --chain
// eth gives it; the store's first block on its own.
func TestEthAlerts(t *testing.T) {
	f := newFixture(t, Config{EVM: ethStore(t)})
	if err := f.ls.Replace(label.SourceInfo{Source: "thief"}, []label.Label{{Address: "0x5DFF3Fb682E0C4064c4Ac3890a64c6C14a473d0D", Chain: label.ChainETH, Category: label.StolenFunds, Label: "swapper", Source: "thief"}}, nil); err != nil {
		t.Fatal(err)
	}
	var got struct {
		From, To int64
		Alerts   []struct {
			TxID string `json:"txid"`
			From []struct{ Asset, Value string }
		}
	}
	code, _, b := f.raw(t, "GET", "/v1/eth/alerts?categories=stolen-funds&from=17173049&to=17173049", "", true)
	if code != 200 || json.Unmarshal(b, &got) != nil || got.From != 17173049 || got.To != 17173049 {
		t.Fatalf("alerts: %d %s", code, b)
	}
	found := false
	for _, a := range got.Alerts {
		if a.TxID == "0xda46ac19eb2e326349727fc79e339c813e2eda40cbb406cb06ad85a98844e856" {
			found = len(a.From) == 1 && a.From[0].Asset == "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2" && a.From[0].Value == "839384280398975810"
		}
	}
	if !found {
		t.Fatalf("the swap's alert is missing or wrong: %s", b)
	}
	if code, _ := f.do(t, "GET", "/v1/eth/alerts?categories=stolen-funds&from=17173048", "", true); code != 404 {
		t.Errorf("alerts from before the store: %d", code)
	}
}
