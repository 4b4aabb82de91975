package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func readCSV(t *testing.T, text string) []map[string]string {
	t.Helper()
	all, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, r := range all[1:] {
		m := map[string]string{}
		for i, name := range all[0] {
			m[name] = r[i]
		}
		rows = append(rows, m)
	}
	return rows
}

// TestExport: `spur export` of both chains' tables, to standard output
// and to a file, in each format, agrees with `spur tx`; bad tables,
// formats and ranges are refused with the right exit code and leave an
// older file at --out as it was; so does a write that fails midway.
func TestExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "300", "-q")
	mustRun(t, "ingest", "evm", "--chain", "eth", "--store", dir, "--etl", filepath.Join("..", "..", "testdata", "evm", "etl-17173049"), "-q")

	// Block 170: the first payment from one person to another.
	outs := readCSV(t, mustRun(t, "export", "outputs", "--store", dir, "--from", "170", "--to", "170", "-q"))
	var tx struct {
		TxID    string `json:"txid"`
		Outputs []struct {
			Value   int64  `json:"value"`
			Address string `json:"address"`
			SpentBy *struct {
				TxID string `json:"txid"`
			} `json:"spent_by"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "--store", dir, "--json")), &tx); err != nil {
		t.Fatal(err)
	}
	var got []map[string]string
	for _, o := range outs {
		if o["txid"] == tx.TxID {
			got = append(got, o)
		}
	}
	if len(outs) != 3 || len(got) != len(tx.Outputs) {
		t.Fatalf("block 170's outputs: %v", outs)
	}
	for i, o := range tx.Outputs {
		spent := ""
		if o.SpentBy != nil {
			spent = o.SpentBy.TxID
		}
		if got[i]["address"] != o.Address || got[i]["value"] != strconv.FormatInt(o.Value, 10) || got[i]["spent_by_txid"] != spent {
			t.Fatalf("output %d: %v, spur tx %+v", i, got[i], o)
		}
	}

	// Flags before the table; JSON Lines by --json; a file by --out, and
	// standard output by --out -.
	lines := strings.Split(strings.TrimSpace(mustRun(t, "export", "--store", dir, "--json", "blocks", "-q", "-o", "-")), "\n")
	if len(lines) != 301 || !strings.HasPrefix(lines[300], `{"height":300,"hash":"`) {
		t.Fatalf("%d lines, last %s", len(lines), lines[len(lines)-1])
	}
	file := filepath.Join(t.TempDir(), "inputs.parquet")
	r := run(t, "export", "inputs", "--store", dir, "--format", "parquet", "--out", file)
	data, err := os.ReadFile(file)
	if r.code != 0 || err != nil || !bytes.HasPrefix(data, []byte("PAR1")) || !bytes.HasSuffix(data, []byte("PAR1")) {
		t.Fatalf("exit %d %s, %v", r.code, r.stderr, err)
	}
	inputs := len(readCSV(t, mustRun(t, "export", "inputs", "--store", dir, "-q")))
	if inputs <= 301 || !strings.Contains(r.stderr, strconv.Itoa(inputs)+" btc rows of inputs, blocks 0 to 300, to "+file) {
		t.Fatalf("summary: %s", r.stderr)
	}

	// Beside a server of the store (serving to the test's end), as any
	// query.
	startServe(t, "--store", dir, "--no-auth")
	if got := mustRun(t, "export", "outputs", "--store", dir, "--from", "170", "--to", "170", "-q"); len(readCSV(t, got)) != len(outs) {
		t.Fatalf("beside a server:\n%s", got)
	}
	if got := mustRun(t, "export", "transfers", "--chain", "eth", "--store", dir, "--to", "17173049", "-q"); !strings.Contains(got, "\n17173049,") {
		t.Fatalf("Ethereum beside a server:\n%.300s", got)
	}

	// Addresses with their totals, as `spur address` gives them.
	for _, a := range readCSV(t, mustRun(t, "export", "addresses", "--store", dir, "--from", "170", "--to", "170", "-q")) {
		var v struct {
			Received int64 `json:"received"`
			Balance  int64 `json:"balance"`
		}
		json.Unmarshal([]byte(mustRun(t, "address", a["address"], "--store", dir, "--json")), &v)
		if a["received"] != strconv.FormatInt(v.Received, 10) || a["balance"] != strconv.FormatInt(v.Balance, 10) || a["entity"] != "" {
			t.Fatalf("%v, spur address %+v", a, v)
		}
	}

	// An EVM chain: its transfers as `spur tx --chain eth` gives them.
	const ethTx = "0xeb107a40ba73a50c79a9f2026e902d758d1c5e5e211f7a7db1b294f88f118dd0"
	var etx struct {
		Transfers []map[string]any `json:"transfers"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "tx", ethTx, "--chain", "eth", "--store", dir, "--json")), &etx); err != nil {
		t.Fatal(err)
	}
	var mine []map[string]string
	for _, x := range readCSV(t, mustRun(t, "export", "transfers", "--chain", "eth", "--store", dir, "--to", "17173049", "-q")) {
		if x["transaction_hash"] == ethTx {
			mine = append(mine, x)
		}
	}
	if len(mine) != len(etx.Transfers) || len(mine) < 3 {
		t.Fatalf("%d transfers exported, spur tx %d", len(mine), len(etx.Transfers))
	}
	for i, want := range etx.Transfers {
		for _, k := range []string{"kind", "asset", "symbol", "decimals", "log_index", "from_address", "to_address", "value"} {
			w := ""
			if want[k] != nil {
				w = fmt.Sprint(want[k])
			}
			if mine[i][k] != w {
				t.Fatalf("transfer %d: %s = %q, spur tx %q", i, k, mine[i][k], w)
			}
		}
	}

	// EVM addresses and their balances, as `spur address --chain eth`
	// gives them (a few from each end of the table).
	ethAddrs := readCSV(t, mustRun(t, "export", "addresses", "--chain", "eth", "--store", dir, "-q"))
	bals := readCSV(t, mustRun(t, "export", "balances", "--chain", "eth", "--store", dir, "-q"))
	if len(ethAddrs) < 100 {
		t.Fatalf("%d EVM addresses", len(ethAddrs))
	}
	for _, a := range slices.Concat(ethAddrs[:3], ethAddrs[len(ethAddrs)-3:]) {
		var v struct {
			TransferCount  int `json:"transfer_count"`
			FirstSeenBlock int `json:"first_seen_block"`
			LastSeenBlock  int `json:"last_seen_block"`
			Balances       []map[string]any
		}
		json.Unmarshal([]byte(mustRun(t, "address", a["address"], "--chain", "eth", "--store", dir, "--json")), &v)
		if a["transfer_count"] != fmt.Sprint(v.TransferCount) || a["first_seen_block"] != fmt.Sprint(v.FirstSeenBlock) || a["last_seen_block"] != fmt.Sprint(v.LastSeenBlock) {
			t.Fatalf("%v, spur address %+v", a, v)
		}
		var mine []map[string]string
		for _, b := range bals {
			if b["address"] == a["address"] {
				mine = append(mine, b)
			}
		}
		if len(mine) != len(v.Balances) {
			t.Fatalf("%s: %d balances exported, spur address %d", a["address"], len(mine), len(v.Balances))
		}
		for i, want := range v.Balances {
			for _, k := range []string{"asset", "symbol", "decimals", "received", "sent", "balance", "transfers"} {
				if w := fmt.Sprint(want[k]); want[k] != nil && mine[i][k] != w || want[k] == nil && mine[i][k] != "" {
					t.Fatalf("%s balance %d: %s = %q, spur address %v", a["address"], i, k, mine[i][k], want[k])
				}
			}
		}
	}

	// spur bench export: each format against the rows alone, the same rows.
	var bench []struct {
		Name        string  `json:"name"`
		Rows        int64   `json:"rows"`
		BytesPerRow float64 `json:"bytes_per_row"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "bench", "export", "--store", dir, "--table", "inputs", "--runs", "1", "--json")), &bench); err != nil {
		t.Fatal(err)
	}
	if len(bench) != 4 || bench[0].BytesPerRow != 0 || !strings.HasPrefix(bench[0].Name, "baseline") {
		t.Fatalf("bench export: %+v", bench)
	}
	for _, b := range bench {
		if b.Rows != int64(inputs) || b.Name != bench[0].Name && b.BytesPerRow < 10 {
			t.Fatalf("bench export: %+v (%d inputs)", b, inputs)
		}
	}
	for _, args := range [][]string{{"--runs", "0"}, {"--table", "transfers"}, {"--chain", "doge"}} {
		if r := run(t, append([]string{"bench", "export", "--store", dir}, args...)...); r.code != exitUsage {
			t.Fatalf("bench export %v: exit %d, %s", args, r.code, r.stderr)
		}
	}

	// Refusals: nothing written, an older file left as it was.
	old := filepath.Join(t.TempDir(), "old.csv")
	os.WriteFile(old, []byte("old\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"export", "transfers", "--store", dir}, exitUsage, `no table "transfers" on btc: want blocks, transactions, outputs, inputs, addresses (an EVM chain's table: --chain eth)`},
		{[]string{"export", "outputs", "--chain", "eth", "--store", dir}, exitUsage, `no table "outputs" on eth: want blocks, transactions, transfers, events, addresses, balances (a Bitcoin table: --chain btc)`},
		{[]string{"export", "balances", "--store", dir}, exitUsage, `no table "balances" on btc: want blocks, transactions, outputs, inputs, addresses (an EVM chain's table: --chain eth)`},
		{[]string{"export", "blocks", "--store", dir, "--format", "xlsx"}, exitUsage, "csv, json or parquet"},
		{[]string{"export", "blocks", "--store", dir, "--json", "--format", "csv"}, exitUsage, "--json and --format csv"},
		{[]string{"export", "blocks", "--store", dir, "--from", "9", "--to", "8"}, exitUsage, "--from 9 is after --to 8"},
		{[]string{"export", "blocks"}, exitUsage, "--store DIR is required"},
		{[]string{"export", "blocks", "--store", dir, "--to", "301"}, exitNotFound, "heights 0 to 301 asked, the store holds 0 to 300"},
		{[]string{"export", "blocks", "--chain", "eth", "--store", dir, "--from", "1"}, exitNotFound, "the store holds 17173049 to 17173050"},
		{[]string{"export", "blocks", "--chain", "sepolia", "--store", dir}, exitNotFound, "holds no sepolia store"},
	} {
		r := run(t, append(c.args, "--out", old)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Fatalf("spur %s: exit %d, %s", strings.Join(c.args, " "), r.code, r.stderr)
		}
	}

	// A named pipe (as /dev/null) is written, not replaced by a file; a
	// directory is refused.
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	rd, err := os.OpenFile(fifo, os.O_RDWR, 0) // a reader that never blocks the writer's open
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	want := mustRun(t, "export", "blocks", "--store", dir, "--to", "20", "-q") // fits the pipe's buffer
	mustRun(t, "export", "blocks", "--store", dir, "--to", "20", "-q", "--out", fifo)
	rd.SetReadDeadline(time.Now().Add(2 * time.Second))
	piped := make([]byte, 2*len(want))
	n, _ := io.ReadAtLeast(rd, piped, len(want))
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 || string(piped[:n]) != want {
		t.Fatalf("the pipe: %v %v, %d bytes of %d", fi.Mode(), err, n, len(want))
	}
	if r := run(t, "export", "blocks", "--store", dir, "--out", t.TempDir()); r.code != 1 || !strings.Contains(r.stderr, "is a directory") {
		t.Fatalf("--out a directory: exit %d, %s", r.code, r.stderr)
	}

	// A file size limit that stops the write midway.
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Fatal("prlimit (util-linux) is needed")
	}
	cmd := exec.Command("prlimit", "--fsize=16384", "--", spurBin, "export", "outputs", "--store", dir, "--out", old, "-q")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "file too large") {
		t.Fatalf("a write past the limit: %v, %s", err, stderr.String())
	}
	if b, _ := os.ReadFile(old); string(b) != "old\n" {
		t.Fatalf("the older file now holds %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(old), ".*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}
