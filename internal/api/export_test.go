package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/export"
)

// TestExport: /v1/btc/export and /v1/eth/export answer what spur export
// writes, in each format with its content type; a bad table, format or
// range is a 400 naming the field, blocks the store does not hold a 404.
func TestExport(t *testing.T) {
	es := ethStore(t)
	f := newFixture(t, Config{EVM: es})
	st := f.api.cfg.Store
	for _, c := range []struct {
		format, ctype string
	}{{"", "text/csv; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"}, {"json", "application/x-ndjson"}, {"parquet", "application/vnd.apache.parquet"}} {
		code, ctype, body := f.raw(t, "GET", "/v1/btc/export/outputs?from=160&to=180&format="+c.format, "", true)
		var want bytes.Buffer
		format := export.Format(c.format)
		if format == "" {
			format = export.CSV
		}
		if _, err := export.BTC(context.Background(), st, "outputs", &want, export.Options{Format: format, Range: export.Range{From: 160, To: 180}}); err != nil {
			t.Fatal(err)
		}
		if code != 200 || ctype != c.ctype || !bytes.Equal(body, want.Bytes()) {
			t.Fatalf("format %q: %d %q, %d bytes, spur export's %d", c.format, code, ctype, len(body), want.Len())
		}
	}
	for _, table := range []string{"transfers", "addresses", "balances"} {
		code, ctype, body := f.raw(t, "GET", "/v1/eth/export/"+table+"?from=17173049&to=17173050&format=json", "", true)
		var want bytes.Buffer
		if _, err := export.EVM(context.Background(), es, table, &want, export.Options{Format: export.JSON, Range: export.Range{From: 17173049, To: 17173050}}); err != nil {
			t.Fatal(err)
		}
		if code != 200 || ctype != "application/x-ndjson" || !bytes.Equal(body, want.Bytes()) || bytes.Count(body, []byte("\n")) < 100 {
			t.Fatalf("eth %s: %d %q %.200s", table, code, ctype, body)
		}
	}
	for _, c := range []struct {
		path  string
		code  int
		field string
		msg   string
	}{
		{"/v1/btc/export/transfers?from=0&to=1", 400, "table", ""},
		{"/v1/eth/export/outputs?from=17173049&to=17173049", 400, "table", ""},
		{"/v1/btc/export/blocks?from=0&to=1&format=xlsx", 400, "format", ""},
		{"/v1/btc/export/blocks?to=1", 400, "from", ""},
		{"/v1/btc/export/blocks?from=0", 400, "to", ""},
		{"/v1/btc/export/blocks?from=-1&to=1", 400, "from", ""},
		{"/v1/btc/export/blocks?from=5&to=4", 400, "to", "to 4 is before from 5"},
		{"/v1/btc/export/blocks?from=0&to=10000", 400, "to", "at most 10000 blocks a request"},
		{"/v1/btc/export/blocks?from=14000&to=14200", 404, "to", ""},
		{"/v1/eth/export/blocks?from=1&to=2", 404, "to", ""},
	} {
		code, _, body := f.raw(t, "GET", c.path, "", true)
		var v struct {
			Error struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if code != c.code || json.Unmarshal(body, &v) != nil || v.Error.Field != c.field || !strings.Contains(v.Error.Message, c.msg) {
			t.Errorf("%s: %d %s", c.path, code, body)
		}
	}
	// Ranges that hold too much to export within a request's time.
	defer func(w uint64) { maxExportWork = w }(maxExportWork)
	maxExportWork = 1000
	for path, what := range map[string]string{
		"/v1/btc/export/blocks?from=0&to=9999":            "hold 10092 transactions: at most 1000",
		"/v1/eth/export/blocks?from=17173049&to=17173050": "transfers: at most 1000",
	} {
		if code, _, body := f.raw(t, "GET", path, "", true); code != 400 || !bytes.Contains(body, []byte(what)) {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	if code, _, _ := f.raw(t, "GET", "/v1/btc/export/blocks?from=0&to=100", "", true); code != 200 {
		t.Errorf("101 transactions: %d", code)
	}
	maxExportWork = 2_000_000
	if code, _, _ := f.raw(t, "GET", "/v1/btc/export/blocks?from=0&to=1", "", false); code != 401 {
		t.Errorf("without a key: %d", code)
	}
	// A server of Bitcoin alone has no Ethereum tables.
	g := newFixture(t, Config{})
	if code, _, body := g.raw(t, "GET", "/v1/eth/export/blocks?from=0&to=1", "", true); code != 404 {
		t.Errorf("no Ethereum store: %d %s", code, body)
	}
}

// An export that fails after it has begun breaks the connection, so that
// the client does not take a table cut short for a whole one; one that
// fails before is an error answer.
func TestExportCutShort(t *testing.T) {
	boom := errors.New("boom")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := writeExport(w, export.CSV, func(out io.Writer) error {
			if r.URL.Path == "/late" {
				out.Write(bytes.Repeat([]byte("row\n"), 1<<16))
			}
			return boom
		})
		if err != nil {
			http.Error(w, err.Error(), 500)
		}
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/late")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a cut-short export read as whole")
	}
	resp, err = http.Get(srv.URL + "/early")
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("an export failing before it begins: %v %v", resp, err)
	}
	resp.Body.Close()
}
