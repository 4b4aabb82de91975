package api

import (
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/graph/graphtest"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
)

type fixture struct {
	srv *httptest.Server
	key string
	api *Server
	ls  *label.Store
}

// newFixture serves mainnet blocks 0..14131, clustered, with the OFAC SDN
// list and one CSV label that sanctions block 9's miner.
func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	dir := t.TempDir()
	s, err := store.Open(filepath.Join(dir, "btc"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := ingest.Files(context.Background(), s, []string{"../../testdata/btc/blk_0_to_14131.dat.bz2"}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Run(s, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	c, err := cluster.Open(s)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := label.Open(filepath.Join(dir, "labels"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.Close() })
	sdn := t.TempDir()
	for _, n := range []string{"sdn", "add", "alt", "sdn_comments"} {
		f, _ := os.Open("../../testdata/sanctions/ofac_sdn_2025-12/" + n + ".csv.bz2")
		b, _ := io.ReadAll(bzip2.NewReader(f))
		f.Close()
		os.WriteFile(filepath.Join(sdn, n+".csv"), b, 0o644)
	}
	res, err := label.ParseOFACSDN(sdn)
	if err != nil {
		t.Fatal(err)
	}
	ls.Replace(label.SourceInfo{Source: "ofac-sdn"}, res.Labels, res.Entities)
	csv := filepath.Join(t.TempDir(), "l.csv")
	os.WriteFile(csv, []byte("address,chain,category,label,actor,source\n12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S,btc,sanctioned,Test listing,,test\n"), 0o644)
	mine, _ := label.ParseCSV(csv)
	ls.Replace(label.SourceInfo{Source: "test"}, mine, nil)
	key, hash := NewKey()
	ls.PutKey("tests", hash)
	cfg.Store, cfg.Labels, cfg.Clusters = s, ls, c
	a := New(cfg)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &fixture{srv, key, a, ls}
}

func (f *fixture) do(t *testing.T, method, path, body string, auth bool) (int, map[string]any) {
	t.Helper()
	code, _, b := f.raw(t, method, path, body, auth)
	var out map[string]any
	json.Unmarshal(b, &out)
	return code, out
}

// raw makes a request and returns its status, content type and body.
func (f *fixture) raw(t *testing.T, method, path, body string, auth bool) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if auth {
		req.Header.Set("Authorization", "Bearer "+f.key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func TestAPI(t *testing.T) {
	f := newFixture(t, Config{})
	code, body := f.do(t, "GET", "/healthz", "", false)
	if code != 200 || body["height"].(float64) != 14131 {
		t.Fatalf("healthz: %d %v", code, body)
	}
	code, body = f.do(t, "GET", "/v1/btc/txs/f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "", true)
	if code != 200 || body["block_height"].(float64) != 170 || body["fee"].(float64) != 0 {
		t.Fatalf("tx: %d %v", code, body)
	}
	code, body = f.do(t, "GET", "/v1/btc/addresses/12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S?limit=2", "", true)
	if code != 200 || body["balance"].(float64) != 18e8 || len(body["txs"].([]any)) != 2 {
		t.Fatalf("address: %d %v", code, body)
	}
	code, body = f.do(t, "GET", "/v1/btc/blocks/170", "", true)
	if code != 200 || body["tx_count"].(float64) != 2 {
		t.Fatalf("block: %d %v", code, body)
	}
	code, body = f.do(t, "GET", "/v1/btc/blocks/tip", "", true)
	if code != 200 || body["height"].(float64) != 14131 {
		t.Fatalf("block tip: %d %v, want height 14131", code, body)
	}
	if code, body = f.do(t, "GET", "/v1/btc/blocks/latest", "", true); code != 200 || body["height"].(float64) != 14131 {
		t.Fatalf("block latest: %d %v, want height 14131", code, body)
	}
	code, body = f.do(t, "GET", "/v1/entities/9", "", true)
	if code != 200 || body["id"].(float64) != 9 {
		t.Fatalf("entity: %d %v", code, body)
	}
	// Screening: the sanctioned address itself, a transaction it paid, and
	// an EVM address from the SDN list.
	code, body = f.do(t, "POST", "/v1/screen", `{"items":[{"address":"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"},
		{"tx":"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16","direction":"deposit"},
		{"address":"0x098b716b8aaf21512996dc57eb0615e2383e2f96"},
		{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},
		{"address":" 12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S\n"}]}`, true)
	if code != 200 {
		t.Fatalf("screen: %d %v", code, body)
	}
	res := body["results"].([]any)
	sev := func(i int) string { return res[i].(map[string]any)["severity"].(string) }
	// The last is the first as pasted with spaces around it: as severe.
	if sev(0) != "severe" || sev(1) != "severe" || sev(2) != "severe" || sev(3) != "low" || sev(4) != "severe" {
		t.Fatalf("severities %s %s %s %s %s: %v", sev(0), sev(1), sev(2), sev(3), sev(4), res)
	}
	if rule := res[1].(map[string]any)["rule"].(string); !strings.Contains(rule, "direct exposure to sanctioned") {
		t.Fatalf("deposit rule: %s", rule)
	}
	// As of the chain's tip, for the record.
	if asOf, _ := body["as_of"].(map[string]any); len(asOf) != 1 || asOf["btc"].(map[string]any)["height"] != float64(14131) ||
		asOf["btc"].(map[string]any)["tip"] != "00000000b3e750f37fdb42e1018799a9f44b546d393b130b369590a072430a1c" {
		t.Fatalf("as_of: %v", body["as_of"])
	}
	code, body = f.do(t, "POST", "/v1/names/screen", `{"queries":[{"name":"Lazarus Group"},{"name":"Nobody Here At All"}]}`, true)
	if code != 200 {
		t.Fatalf("names: %d %v", code, body)
	}
	nres := body["results"].([]any)
	if m := nres[0].(map[string]any)["matches"].([]any); len(m) == 0 || m[0].(map[string]any)["score"].(float64) != 1 {
		t.Fatalf("names: %v", nres)
	}
	code, body = f.do(t, "POST", "/v1/trace", `{"from":["f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0"],"model":"fifo"}`, true)
	if code != 200 || body["start_amount"].(float64) != 10e8 {
		t.Fatalf("trace: %d %v", code, body)
	}
	if asOf, _ := body["as_of"].(map[string]any); len(asOf) != 1 || asOf["btc"].(map[string]any)["height"] != float64(14131) {
		t.Fatalf("trace as_of: %v", body["as_of"])
	}
	// Backward: Satoshi's 40 BTC of change in block 170 came from block
	// 9's coinbase.
	code, body = f.do(t, "POST", "/v1/trace", `{"from":["f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:1"],"direction":"backward"}`, true)
	if d, _ := body["destinations"].([]any); code != 200 || len(d) != 1 || d[0].(map[string]any)["category"] != "coinbase" || d[0].(map[string]any)["amount"].(float64) != 40e8 {
		t.Fatalf("backward trace: %d %v", code, body)
	}
	// No further back than 2009-01-10: block 9's coinbase paid before.
	code, body = f.do(t, "POST", "/v1/trace", `{"from":["f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:1"],"direction":"backward","since":"2009-01-10"}`, true)
	if d, _ := body["destinations"].([]any); code != 200 || len(d) != 1 || d[0].(map[string]any)["category"] != "limit" || d[0].(map[string]any)["label"] != "before 2009-01-10" {
		t.Fatalf("backward trace since: %d %v", code, body)
	}
	// The picture at the end of 2009-01-11: the 40 BTC of change, spent on
	// the 12th, unspent then.
	code, body = f.do(t, "POST", "/v1/trace", `{"from":["f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:1"],"until":"2009-01-11"}`, true)
	if d, _ := body["destinations"].([]any); code != 200 || len(d) != 1 || d[0].(map[string]any)["category"] != "unspent" || d[0].(map[string]any)["amount"].(float64) != 40e8 {
		t.Fatalf("trace until: %d %v", code, body)
	}
	code, _ = f.do(t, "GET", "/v1/incidents", "", true)
	if code != 200 {
		t.Fatalf("incidents: %d", code)
	}
	// The label sources screening answers against.
	code, body = f.do(t, "GET", "/v1/sources", "", true)
	srcs, _ := body["sources"].([]any)
	var names []string
	for _, x := range srcs {
		names = append(names, x.(map[string]any)["source"].(string))
	}
	if code != 200 || strings.Join(names, " ") != "ofac-sdn test" || srcs[0].(map[string]any)["entities"].(float64) != 18494 {
		t.Fatalf("sources: %d %v", code, body)
	}
	if code, _ = f.do(t, "GET", "/v1/sources", "", false); code != 401 {
		t.Fatalf("sources without a key: %d", code)
	}
}

// POST /v1/trace with format dot, graphml or svg answers with the graph, as spur
// trace --format does: Satoshi's 40 BTC of change in block 170, spent in
// block 181, and backward to block 9's coinbase.
func TestTraceGraph(t *testing.T) {
	f := newFixture(t, Config{})
	const tx170, tx181 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be"
	code, ctype, b := f.raw(t, "POST", "/v1/trace", `{"from":["`+tx170+`:1"],"format":"dot","max_hops":1}`, true)
	if code != 200 || ctype != "text/vnd.graphviz; charset=utf-8" {
		t.Fatalf("dot: %d %s %s", code, ctype, b)
	}
	g := graphtest.ParseDOT(t, string(b))
	found := false
	for _, e := range g.Edges {
		found = found || e.From == "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" && e.To == "tx "+tx181 && strings.HasPrefix(e.Attrs["tooltip"], "40 BTC in 1 tx")
	}
	// Block 181 paid 10 BTC on and 30 back to the start's address, where
	// max_hops ends the trace.
	if !found || g.Nodes["12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"]["label"] != `12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S\nstart · limit: max hops reached` ||
		g.Nodes["1DUDsfc23Dv9sPMEk5RsrtfzCw5ofi5sVW"]["label"] != `1DUDsfc23Dv9sPMEk5RsrtfzCw5ofi5sVW\nunspent` || len(g.Edges) != 3 {
		t.Errorf("dot: the start's 40 BTC into block 181's payment: %+v", g)
	}
	// The same graph as GraphML: its nodes and edges, the amount in base
	// units.
	code, ctype, b = f.raw(t, "POST", "/v1/trace", `{"from":["`+tx170+`:1"],"format":"graphml","max_hops":1}`, true)
	if code != 200 || ctype != "application/graphml+xml" {
		t.Fatalf("graphml: %d %s %s", code, ctype, b)
	}
	gml := graphtest.ParseGraphML(t, string(b))
	found = false
	for _, e := range gml.Edges {
		found = found || e.From == "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" && e.To == "tx "+tx181 && e.Attrs["amount"] == "4000000000"
	}
	if !found || len(gml.Edges) != len(g.Edges) || len(gml.Nodes) != len(g.Nodes) || gml.Nodes["1DUDsfc23Dv9sPMEk5RsrtfzCw5ofi5sVW"]["category"] != "unspent" {
		t.Errorf("graphml: %+v", gml)
	}
	code, ctype, b = f.raw(t, "POST", "/v1/trace", `{"from":["`+tx170+`:1"],"format":"svg","direction":"backward"}`, true)
	if code != 200 || ctype != "image/svg+xml" || xml.Unmarshal(b, new(struct{})) != nil || !bytes.Contains(b, []byte("coinbase")) {
		t.Fatalf("svg: %d %s %.300s", code, ctype, b)
	}
	g = graphtest.ParseDOT(t, string(func() []byte {
		_, _, b := f.raw(t, "POST", "/v1/trace", `{"chain":"btc","from":["`+tx170+`:1"],"format":"dot","direction":"backward"}`, true)
		return b
	}()))
	if n := g.Nodes["12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"]; n == nil || !strings.Contains(n["label"], "coinbase") {
		t.Errorf("backward dot: block 9's address as the coinbase source: %+v", g.Nodes)
	}
}

// goTerms finds a Go type in a message: "struct {", "[]api.ScreenItem".
var goTerms = regexp.MustCompile(`struct \{|\[\]|\bapi\.[A-Z]`)

func TestAPIErrors(t *testing.T) {
	f := newFixture(t, Config{Rate: 1, Burst: 70})
	cases := []struct {
		method, path, body string
		auth               bool
		code               int
		field              string
	}{
		{"GET", "/v1/btc/blocks/1", "", false, 401, ""},
		{"GET", "/v1/btc/txs/zz", "", true, 400, "hash"},
		{"GET", "/v1/btc/txs/" + strings.Repeat("ab", 32), "", true, 404, ""},
		{"GET", "/v1/btc/addresses/1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "", true, 404, ""},
		{"GET", "/v1/btc/addresses/notanaddress", "", true, 400, "address"},
		{"GET", "/v1/btc/blocks/170?limit=-1", "", true, 400, "limit"},
		{"GET", "/v1/btc/blocks/newest", "", true, 400, "id"},
		{"GET", "/v1/btc/blocks/" + strings.Repeat("zz", 32), "", true, 400, "id"},
		{"GET", "/v1/btc/blocks/" + strings.Repeat("ab", 32), "", true, 404, ""},
		{"GET", "/v1/reports/actor/Lazarus%20Group?year=2021&model=taint", "", true, 400, "model"},
		{"GET", "/v1/reports/actor/Lazarus%20Group?year=2021&format=pdf", "", true, 400, "format"},
		{"GET", "/v1/reports/incident/x?model=taint", "", true, 400, "model"},
		{"GET", "/v1/reports/actor/Lazarus%20Group", "", true, 400, "year"},
		{"POST", "/v1/screen", `{"items":[]}`, true, 400, "items"},
		{"POST", "/v1/screen", `{"items":[{"address":"x","tx":"y"}]}`, true, 400, "items[0]"},
		{"POST", "/v1/screen", `{"items":[{"address":"  "}]}`, true, 400, "items[0]"},
		{"POST", "/v1/screen", `{"items":[{"address":"x","direction":"sideways"}]}`, true, 400, "items[0].direction"},
		{"POST", "/v1/screen", `{"itemz":[]}`, true, 400, "itemz"},
		{"POST", "/v1/screen", `{"items":[{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},{"address":"0x098b716b8aaf21512996dc57eb0615e2383e2f96","chain":"btc"}]}`, true, 400, "items[1].address"},
		{"POST", "/v1/screen", `{"items":[{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa","chain":"eth"}]}`, true, 400, "items[0].address"},
		{"POST", "/v1/screen", `{"items":[{"address":"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx","chain":"btc"}]}`, true, 400, "items[0].address"},
		// A checksum that fails, with or without a chain: a typo, not
		// an unknown address to screen clean.
		{"POST", "/v1/screen", `{"items":[{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"}]}`, true, 400, "items[0].address"},
		{"POST", "/v1/screen", `{"items":[{"address":"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5","chain":"btc"}]}`, true, 400, "items[0].address"},
		{"POST", "/v1/screen", `{"items":[{"address":"0x098B716B8Aaf21512996dC57EB0615e2383e2f96"}]}`, true, 400, "items[0].address"},
		// A txid given as an address: not screened clean.
		{"POST", "/v1/screen", `{"items":[{"address":"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"}]}`, true, 400, "items[0].address"},
		// A bad or unknown tx of a batch is named by its place.
		{"POST", "/v1/screen", `{"items":[{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},{"tx":"zz"}]}`, true, 400, "items[1].tx"},
		{"POST", "/v1/screen", `{"items":[{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},{"tx":"` + strings.Repeat("ab", 32) + `"}]}`, true, 404, "items[1].tx"},
		{"POST", "/v1/screen", `{"items":`, true, 400, ""},
		// One value a body: a second, or anything after it, is refused.
		{"POST", "/v1/screen", `{"items":[{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}]} x`, true, 400, ""},
		{"POST", "/v1/screen", `{"items":[{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}]}{}`, true, 400, ""},
		// An unknown table is named before the range is asked for.
		{"GET", "/v1/btc/export/nothing", "", true, 400, "table"},
		// JSON of the wrong shape is named in JSON's terms, not Go's.
		{"POST", "/v1/screen", `[]`, true, 400, ""},
		{"POST", "/v1/screen", `{"items":"x"}`, true, 400, "items"},
		{"POST", "/v1/trace", `{"from":["x"],"max_hops":1.5}`, true, 400, "max_hops"},
		{"POST", "/v1/names/screen", `{"queries":[{"type":"person"}]}`, true, 400, "queries[0].name"},
		{"POST", "/v1/names/screen", `{"queries":[{"name":"Kim"}],"limit":-1}`, true, 400, "limit"},
		{"POST", "/v1/names/screen", `{"queries":[{"name":"Kim"}],"min_score":2}`, true, 400, "min_score"},
		{"POST", "/v1/trace", `{"from":["x"],"model":"magic"}`, true, 400, "model"},
		{"POST", "/v1/trace", `{"from":["x"],"direction":"sideways"}`, true, 400, "direction"},
		{"POST", "/v1/trace", `{"from":["x"],"format":"png"}`, true, 400, "format"},
		{"POST", "/v1/trace", `{"from":["x"],"max_fanout":-1}`, true, 400, "max_fanout"},
		{"POST", "/v1/trace", `{"from":["x"],"chain":"eth","direction":"backward","max_fanout":5}`, true, 400, "max_fanout"},
		{"POST", "/v1/trace", `{"from":["x"],"direction":"backward","max_fanout":5}`, true, 400, "max_fanout"},
		{"POST", "/v1/trace", `{"from":["x"],"cross":true}`, true, 400, "cross"},
		{"POST", "/v1/trace", `{"from":["x"],"until":"tomorrow"}`, true, 400, "until"},
		{"POST", "/v1/trace", `{"from":["x"],"since":"2021-01-01"}`, true, 400, "since"},
		{"POST", "/v1/trace", `{"from":["x"],"direction":"backward","since":"01/01/2021"}`, true, 400, "since"},
		{"POST", "/v1/trace", `{"from":["x"],"chain":"eth","direction":"backward","cross":true}`, true, 400, "cross"},
		{"GET", "/v1/nothing", "", true, 404, ""},
		{"POST", "/v1/btc/txs/" + strings.Repeat("ab", 32), "{}", true, 405, ""},
		{"GET", "/v1/btc/txs/", "", true, 404, ""},
		{"GET", "/v1/btc/blocks/-5", "", true, 400, "id"},
		{"POST", "/v1/trace", `{"from":["x"],"format":"labels","direction":"backward"}`, true, 400, "format"},
		{"POST", "/v1/trace", `{"from":["x"],"min_confidence":0.5}`, true, 400, "min_confidence"},
		{"POST", "/v1/trace", `{"from":["x"],"format":"labels","min_confidence":2}`, true, 400, "min_confidence"},
		{"POST", "/v1/trace", `{"from":["x"],"max_hops":1001}`, true, 400, "max_hops"},
		{"POST", "/v1/trace", `{"from":["x"],"min_value":-1}`, true, 400, "min_value"},
	}
	for _, c := range cases {
		code, body := f.do(t, c.method, c.path, c.body, c.auth)
		e, _ := body["error"].(map[string]any)
		if code != c.code || e == nil || e["message"] == "" {
			t.Errorf("%s %s %s: %d %v, want %d", c.method, c.path, c.body, code, body, c.code)
			continue
		}
		if c.field != "" && e["field"] != c.field {
			t.Errorf("%s %s: field %v, want %s", c.method, c.path, e["field"], c.field)
		}
		if m, _ := e["message"].(string); goTerms.MatchString(m) {
			t.Errorf("%s %s %s: a message in Go's terms: %s", c.method, c.path, c.body, m)
		}
	}
	// Whitespace after the value is no second value.
	if code, got := f.do(t, "POST", "/v1/screen", "{\"items\":[{\"address\":\"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\"}]}\r\n", true); code != 200 {
		t.Errorf("a body ending in a newline: %d %v", code, got)
	}
	// An unknown field is answered with the fields the body takes, those
	// of the objects in its arrays too (where it was, JSON's decoder does
	// not say).
	for body, want := range map[string]string{
		`{"addresses":["x"]}`:      `unknown field "addresses": the body takes items (each: address, tx, raw_tx, chain, direction)`,
		`{"items":[{"addr":"x"}]}`: `unknown field "addr": the body takes items (each: address, tx, raw_tx, chain, direction)`,
	} {
		if _, got := f.do(t, "POST", "/v1/screen", body, true); got["error"].(map[string]any)["message"] != want {
			t.Errorf("POST /v1/screen %s: %v", body, got)
		}
	}
	if _, got := f.do(t, "POST", "/v1/names/screen", `{"name":"Kim"}`, true); got["error"].(map[string]any)["message"] != `unknown field "name": the body takes queries (each: name, type, country, birth_year, id), min_score, limit` {
		t.Errorf("POST /v1/names/screen with a name: %v", got)
	}
	// A method a route does not take: 405, with the ones it does.
	req, _ := http.NewRequest("DELETE", f.srv.URL+"/v1/screen", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("DELETE /v1/screen: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	// A batch over 1,000 items.
	items := strings.Repeat(`{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},`, 1001)
	if code, _ := f.do(t, "POST", "/v1/screen", `{"items":[`+strings.TrimSuffix(items, ",")+`]}`, true); code != 400 {
		t.Errorf("1,001 items: %d", code)
	}
	// A body over 4 MiB.
	big := `{"items":[{"address":"` + strings.Repeat("a", 5<<20) + `"}]}`
	if code, _ := f.do(t, "POST", "/v1/screen", big, true); code != 413 {
		t.Errorf("5 MiB body: %d", code)
	}
	// The rate limit: the bucket of 70 empties.
	limited := false
	for range 80 {
		if code, _ := f.do(t, "GET", "/v1/btc/blocks/0", "", true); code == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("no 429 after a burst")
	}
	// Metrics count what happened.
	resp, err = http.Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(b, []byte(`spur_requests_total{route="GET /v1/btc/blocks/{id}",code="429"}`)) || !bytes.Contains(b, []byte("spur_store_height")) {
		t.Errorf("metrics:\n%s", b)
	}
}

// TestOpenAPIInSync checks that /openapi.json documents exactly the routes
// served.
func TestOpenAPIInSync(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	s := New(Config{})
	served := map[string]bool{}
	for _, r := range s.Routes() {
		method, path, _ := strings.Cut(r, " ")
		served[strings.ToLower(method)+" "+path] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is served but not in openapi.json", r)
		}
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if !served[m+" "+path] {
				t.Errorf("openapi.json documents %s %s, which is not served", m, path)
			}
		}
	}
}

// TestFollowed: a node above the store's tip is a lag; one below it (a
// node syncing anew, which the store waits for) is said to be behind, by
// how much; one not yet heard from says nothing.
func TestFollowed(t *testing.T) {
	at := func(h int64) func() int64 { return func() int64 { return h } }
	up := func() int { return 1 }
	for _, c := range []struct {
		node int64
		want string
	}{
		{105, "map[lag_blocks:5 node_height:105 node_up:true]"},
		{100, "map[lag_blocks:0 node_height:100 node_up:true]"},
		{40, "map[lag_blocks:0 node_behind_blocks:60 node_height:40 node_up:true]"},
		{-1, "map[node_up:true]"},
	} {
		if got := fmt.Sprint(followed(100, at(c.node), up)); got != c.want {
			t.Errorf("node at %d: %s, want %s", c.node, got, c.want)
		}
	}
}

// TestLabelsChangedWhileScreening: labels replaced while the server
// screens (an import it applied) are screened with once LabelsChanged has
// run, exposures and names too; requests in flight meanwhile are answered
// (and, under the race detector, touch nothing they should not).
func TestLabelsChangedWhileScreening(t *testing.T) {
	f := newFixture(t, Config{Rate: 1e9, Burst: 1 << 30}) // requests as fast as they go
	const hal = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"      // paid by the listed 12cbQLTF...
	screen := `{"items":[{"address":"` + hal + `"}]}`
	names := `{"queries":[{"name":"Test Theft Ring"}]}`
	if _, body := f.do(t, "POST", "/v1/screen", screen, true); !strings.Contains(fmt.Sprint(body), "sanctioned") {
		t.Fatalf("before: %v", body)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, c := range [][2]string{{"/v1/screen", screen}, {"/v1/names/screen", names}} {
					if code, body := f.do(t, "POST", c[0], c[1], true); code != 200 {
						t.Errorf("%s while the labels change: %d %v", c[0], code, body)
						return
					}
				}
			}
		}()
	}
	csv := filepath.Join(t.TempDir(), "l.csv")
	for i := range 20 {
		// The test source: the listing, then a theft and a listed ring.
		body := "address,chain,category,label,actor,source\n12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S,btc,sanctioned,Test listing,,test\n"
		var ents []label.Entity
		if i%2 == 1 {
			body = "address,chain,category,label,actor,source\n12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S,btc,stolen-funds,Test theft,,test\n1DCbY2GYVaAMCBpuBNN5GVg3a47pNK1wdi,btc,stolen-funds,Test theft 2,,test\n"
			ents = []label.Entity{{ID: "1", Name: "TEST THEFT RING", Type: "entity"}}
		}
		os.WriteFile(csv, []byte(body), 0o644)
		ls, err := label.ParseCSV(csv)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.ls.Replace(label.SourceInfo{Source: "test"}, ls, ents); err != nil {
			t.Fatal(err)
		}
		f.api.LabelsChanged()
	}
	close(stop)
	wg.Wait()
	_, body := f.do(t, "POST", "/v1/screen", screen, true)
	if got := fmt.Sprint(body); !strings.Contains(got, "stolen-funds") || strings.Contains(got, "sanctioned") {
		t.Fatalf("after the change: %v", body)
	}
	if _, body := f.do(t, "POST", "/v1/names/screen", names, true); !strings.Contains(fmt.Sprint(body), "TEST THEFT RING") {
		t.Fatalf("names after the change: %v", body)
	}
	// An address labelled only now (1DCb..., which paid 1KAD... in block
	// 546) is seen in the exposures of those it paid.
	_, body = f.do(t, "POST", "/v1/screen", `{"items":[{"address":"1KAD5EnzzLtrSo2Da2G4zzD7uZrjk8zRAv"}]}`, true)
	if got := fmt.Sprint(body["results"]); !strings.Contains(got, "direct_exposure:[map[amount:2.5e+09 category:stolen-funds") {
		t.Fatalf("the exposure to an address labelled since the start: %v", got)
	}
}

// TestAlerts asks the transactions that moved the coins of the address the
// fixture lists as sanctioned (block 9's reward, spent in blocks 170 to
// 248): each with what the address spent and got back, as its postings
// (GET /v1/btc/addresses) give them; the range asked and the bad ones.
func TestAlerts(t *testing.T) {
	f := newFixture(t, Config{Rate: 1000, Burst: 1000})
	type party struct {
		Address string `json:"address"`
		Value   int64  `json:"value"`
	}
	var got struct {
		From, To int64
		Alerts   []struct {
			Height int64   `json:"height"`
			TxID   string  `json:"txid"`
			From   []party `json:"from"`
			To     []party `json:"to"`
		} `json:"alerts"`
	}
	code, _, b := f.raw(t, "GET", "/v1/btc/alerts?categories=Sanctioned&from=0&to=999", "", true)
	if code != 200 || json.Unmarshal(b, &got) != nil || got.From != 0 || got.To != 999 {
		t.Fatalf("alerts: %d %s", code, b)
	}
	// txsPage is the address's (or an entity's) transactions.
	type txsPage struct {
		Txs []struct {
			TxID     string `json:"txid"`
			Height   int64  `json:"block_height"`
			Received int64  `json:"received"`
			Sent     int64  `json:"sent"`
		} `json:"txs"`
	}
	var addr txsPage
	code, _, b = f.raw(t, "GET", "/v1/btc/addresses/12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S?txs=1&limit=100", "", true)
	if code != 200 || json.Unmarshal(b, &addr) != nil || len(addr.Txs) < 5 {
		t.Fatalf("the address: %d %s", code, b)
	}
	if len(got.Alerts) != len(addr.Txs) {
		t.Fatalf("%d alerts, the address has %d transactions", len(got.Alerts), len(addr.Txs))
	}
	for i, a := range got.Alerts {
		x := addr.Txs[len(addr.Txs)-1-i] // newest first
		var sent, received int64
		for _, p := range a.From {
			sent += p.Value
		}
		for _, p := range a.To {
			received += p.Value
		}
		if a.TxID != x.TxID || a.Height != x.Height || sent != x.Sent || received != x.Received {
			t.Errorf("alert %d: %+v; the address's transaction: %+v", i, a, x)
		}
	}
	// to defaults to from + 999 within the store; one block alone.
	code, _, b = f.raw(t, "GET", "/v1/btc/alerts?categories=sanctioned&from=13500", "", true)
	if code != 200 || json.Unmarshal(b, &got) != nil || got.From != 13500 || got.To != 14131 || len(got.Alerts) != 0 {
		t.Fatalf("alerts from 13500: %d %s", code, b)
	}
	// A poller at the tip: the block after it is not there yet.
	code, _, b = f.raw(t, "GET", "/v1/btc/alerts?categories=sanctioned&from=14132", "", true)
	if code != 200 || json.Unmarshal(b, &got) != nil || got.From != 14132 || got.To != 14131 || len(got.Alerts) != 0 {
		t.Fatalf("alerts from the block after the tip: %d %s", code, b)
	}
	code, _, b = f.raw(t, "GET", "/v1/btc/alerts?categories=sanctioned&from=170&to=170", "", true)
	if code != 200 || json.Unmarshal(b, &got) != nil || len(got.Alerts) != 1 || got.Alerts[0].TxID != "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16" {
		t.Fatalf("alerts of block 170: %d %s", code, b)
	}
	// A day (that of block 170): its first and last blocks, the one
	// before it the day before and the one after the day after.
	code, _, b = f.raw(t, "GET", "/v1/btc/alerts?categories=sanctioned&from=2009-01-12&to=2009-01-12", "", true)
	if code != 200 || json.Unmarshal(b, &got) != nil || got.From > 170 || got.To < 170 || len(got.Alerts) == 0 {
		t.Fatalf("alerts of 2009-01-12: %d %s", code, b)
	}
	dayOf := func(h int64) string {
		t.Helper()
		_, v := f.do(t, "GET", fmt.Sprintf("/v1/btc/blocks/%d", h), "", true)
		return time.Unix(int64(v["time"].(float64)), 0).UTC().Format(time.DateOnly)
	}
	if dayOf(got.From) != "2009-01-12" || dayOf(got.To) != "2009-01-12" || dayOf(got.From-1) != "2009-01-11" || dayOf(got.To+1) != "2009-01-13" {
		t.Errorf("alerts of 2009-01-12 over blocks %d to %d", got.From, got.To)
	}
	for _, a := range got.Alerts {
		if dayOf(a.Height) != "2009-01-12" {
			t.Errorf("alerts of 2009-01-12: one of block %d", a.Height)
		}
	}
	// By entity: 1Guko8... alone labelled (stolen-funds), one of 70
	// addresses spent together in blocks 9261 to 11666; every transaction
	// of its entity in blocks 9261 to 10260 is told, each side's sum the
	// entity's, as its transactions list them.
	theft := label.Label{Address: "1Guko8sGncHxkFiMESyNpeFQ288YLP664R", Chain: label.ChainBTC, Category: label.StolenFunds, Label: "one of many", Source: "case"}
	if err := f.ls.Replace(label.SourceInfo{Source: "case"}, []label.Label{theft}, nil); err != nil {
		t.Fatal(err)
	}
	type entityParty struct {
		Value  int64 `json:"value"`
		Entity struct {
			ID     uint32 `json:"id"`
			Size   int    `json:"size"`
			Labels []struct {
				Via string `json:"via"`
			} `json:"labels"`
		} `json:"entity"`
	}
	var byEntity struct {
		Alerts []struct {
			TxID     string `json:"txid"`
			From, To []entityParty
		} `json:"alerts"`
	}
	code, _, b = f.raw(t, "GET", "/v1/btc/alerts?categories=stolen-funds&from=9261&to=10260&by_entity=true", "", true)
	if code != 200 || json.Unmarshal(b, &byEntity) != nil || len(byEntity.Alerts) < 10 {
		t.Fatalf("alerts by entity: %d, %d alerts %.300s", code, len(byEntity.Alerts), b)
	}
	e := byEntity.Alerts[0].To[0].Entity
	if len(byEntity.Alerts[0].From) > 0 {
		e = byEntity.Alerts[0].From[0].Entity
	}
	var etxs txsPage
	code, _, b = f.raw(t, "GET", fmt.Sprintf("/v1/entities/%d?txs=1&limit=10000", e.ID), "", true)
	if code != 200 || json.Unmarshal(b, &etxs) != nil || e.Size != 70 || len(e.Labels) != 1 || e.Labels[0].Via != theft.Address {
		t.Fatalf("entity %+v: %d %.300s", e, code, b)
	}
	want := map[string][2]int64{}
	for _, x := range etxs.Txs {
		if x.Height >= 9261 && x.Height <= 10260 {
			want[x.TxID] = [2]int64{x.Sent, x.Received}
		}
	}
	got2 := map[string][2]int64{}
	for _, a := range byEntity.Alerts {
		var sums [2]int64
		for i, side := range [][]entityParty{a.From, a.To} {
			for _, p := range side {
				if p.Entity.ID != e.ID {
					t.Errorf("alert %s: a party of entity %d, not %d", a.TxID, p.Entity.ID, e.ID)
				}
				sums[i] += p.Value
			}
		}
		got2[a.TxID] = sums
	}
	if !maps.Equal(got2, want) {
		t.Errorf("alerts by entity %d: %d transactions, its own list %d in blocks 9261 to 10260\n got %v\nwant %v", e.ID, len(got2), len(want), got2, want)
	}
	// Before spur cluster has run: a conflict, as the entity endpoint's.
	clusters := f.api.Clusters()
	f.api.ClusteringChanged(nil)
	if code, body := f.do(t, "GET", "/v1/btc/alerts?categories=stolen-funds&from=9261&by_entity=true", "", true); code != 409 {
		t.Errorf("alerts by entity with no clustering: %d %v", code, body)
	}
	f.api.ClusteringChanged(clusters)
	for path, want := range map[string]struct {
		code  int
		field string
	}{
		"/v1/btc/alerts?categories=sanctioned&from=0&by_entity=yes":       {400, "by_entity"},
		"/v1/btc/alerts?categories=sanctioned&from=0&heuristics=deposits": {400, "heuristics"},
		"/v1/eth/alerts?categories=sanctioned&from=0&by_entity=1":         {404, ""},
		"/v1/btc/alerts?categories=sanctioned&from=2031-01-01":            {404, "from"},
		"/v1/btc/alerts?categories=sanctioned&from=yesterday":             {400, "from"},
		"/v1/btc/alerts?from=0":                                           {400, "categories"},
		"/v1/btc/alerts?categories=sanctioned":                            {400, "from"},
		"/v1/btc/alerts?categories=sanctioned&from=0&to=1000":             {400, "to"},
		"/v1/btc/alerts?categories=sanctioned&from=10&to=9":               {400, "to"},
		"/v1/btc/alerts?categories=sanctioned&from=20000":                 {404, "from"},
		"/v1/btc/alerts?categories=sanctioned&from=14000&to=14200":        {404, "from"},
		"/v1/eth/alerts?categories=sanctioned&from=0":                     {404, ""},
	} {
		code, body := f.do(t, "GET", path, "", true)
		e, _ := body["error"].(map[string]any)
		if code != want.code || e == nil || want.field != "" && e["field"] != want.field {
			t.Errorf("GET %s: %d %v, want %d naming %q", path, code, body, want.code, want.field)
		}
	}
}
