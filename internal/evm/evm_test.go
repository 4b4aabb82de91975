package evm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

const etlData = "../../testdata/evm/ethereum-etl/"

func TestTopics(t *testing.T) {
	// Published topic hashes of the events spur decodes.
	for got, want := range map[common.Hash]string{
		TopicTransfer:      "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
		TopicSwapV2:        "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822",
		TopicSwapV3:        "0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67",
		TopicMixDeposit:    "0xa945e51eec50ab98c161376f0db4cf2aeba3ec92755fe2fcd388bdbbb80ff196",
		TopicMixWithdrawal: "0xe9e508bad6d4c3227e881ca19068f099da81b5164dd6d62b2eaf1e8bc6c34931",
	} {
		if got.Hex() != want {
			t.Errorf("topic %s, want %s", got.Hex(), want)
		}
	}
}

// readCSV returns the rows of a CSV file as maps by column name.
func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// readJSONL returns the objects of a JSON-lines file, values as strings.
func readJSONL(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		d := json.NewDecoder(strings.NewReader(sc.Text()))
		d.UseNumber()
		var raw map[string]any
		if err := d.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for k, v := range raw {
			switch v := v.(type) {
			case nil:
				m[k] = ""
			case []any:
				var parts []string
				for _, p := range v {
					if _, ok := p.(map[string]any); ok {
						j, _ := json.Marshal(p)
						parts = append(parts, string(j))
					} else {
						parts = append(parts, fmt.Sprint(p))
					}
				}
				m[k] = strings.Join(parts, ",")
			default:
				m[k] = fmt.Sprint(v)
			}
			if m[k] == "None" {
				m[k] = ""
			}
		}
		out = append(out, m)
	}
	return out
}

// writeCSV writes rows as an ethereum-etl CSV file with the given columns.
func writeCSV(t *testing.T, path string, cols []string, rows []map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write(cols)
	for _, r := range rows {
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = r[c]
		}
		w.Write(rec)
	}
	w.Flush()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

type tokenRow struct{ token, from, to, value, tx, logIndex string }

func tokenRows(rows []map[string]string) []tokenRow {
	var out []tokenRow
	for _, r := range rows {
		out = append(out, tokenRow{r["token_address"], r["from_address"], r["to_address"], r["value"], r["transaction_hash"], r["log_index"]})
	}
	return out
}

func compareTokens(t *testing.T, got, want []tokenRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d token transfers, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("transfer %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func lower(a common.Address) string { return strings.ToLower(a.Hex()) }

// Token transfers from real mainnet logs, as ethereum-etl extracts them,
// through the CSV export reader: blocks 17173049-17173050, 291 transfers.
func TestETLTokenTransfers(t *testing.T) {
	src := etlData + "test_stream/blocks_17173049_17173050/"
	dir := t.TempDir()
	blocks := readJSONL(t, src+"expected_blocks.json")
	writeCSV(t, filepath.Join(dir, "blocks.csv"), []string{"number", "hash", "parent_hash", "miner", "timestamp", "base_fee_per_gas", "withdrawals"}, blocks)
	txs := readJSONL(t, src+"expected_transactions.json")
	writeCSV(t, filepath.Join(dir, "transactions.csv"), []string{"hash", "nonce", "block_number", "transaction_index", "from_address", "to_address", "value", "gas", "gas_price", "input", "transaction_type",
		"receipt_gas_used", "receipt_status", "receipt_effective_gas_price", "receipt_contract_address"}, txs)
	writeCSV(t, filepath.Join(dir, "logs.csv"), []string{"log_index", "transaction_hash", "transaction_index", "block_number", "address", "data", "topics"}, readJSONL(t, src+"expected_logs.json"))

	e, err := OpenETL(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var got []tokenRow
	var fees, burns, calls int
	var burnt uint256.Int
	for n := 0; ; n++ {
		b, err := e.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.BaseFee == nil || len(b.Withdrawals) == 0 {
			t.Fatalf("block %d: base fee or withdrawals missing", b.Number)
		}
		for _, tr := range b.Transfers() {
			switch tr.Kind {
			case KindToken, KindNFT:
				got = append(got, tokenRow{lower(tr.Asset), lower(tr.From), lower(tr.To), tr.Amount.Dec(), b.Txs[tr.TxIndex].Hash.Hex(), strconv.Itoa(int(tr.Index))})
			case KindFee:
				fees++
			case KindBurn:
				burns++
				burnt.Add(&burnt, &tr.Amount)
			case KindCall:
				calls++
			}
		}
	}
	compareTokens(t, got, tokenRows(readJSONL(t, src+"expected_token_transfers.json")))
	// Every transaction burns its gas times the base fee (post-London).
	var want uint256.Int
	nonzero := 0
	for _, tx := range txs {
		gu, _ := strconv.ParseUint(tx["receipt_gas_used"], 10, 64)
		for _, b := range blocks {
			if b["number"] == tx["block_number"] {
				var bf uint256.Int
				bf.SetFromDecimal(b["base_fee_per_gas"])
				bf.Mul(&bf, uint256.NewInt(gu))
				want.Add(&want, &bf)
			}
		}
		if tx["value"] != "0" && tx["receipt_status"] == "1" {
			nonzero++
		}
	}
	if burns != len(txs) || !burnt.Eq(&want) {
		t.Errorf("%d burns of %s wei, want %d of %s", burns, burnt.Dec(), len(txs), want.Dec())
	}
	if calls != nonzero {
		t.Errorf("%d value transfers, want %d", calls, nonzero)
	}
	if fees == 0 {
		t.Error("no priority fees")
	}
}

// Token transfers from a node's log objects (eth_getFilterLogs).
func TestRPCLogTokenTransfers(t *testing.T) {
	src := etlData + "test_export_token_transfers_job/block_with_transfers/"
	b, err := os.ReadFile(src + "web3_response.eth_getFilterLogs_0x0.json")
	if err != nil {
		t.Fatal(err)
	}
	var resp struct{ Result []RPCLog }
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	var got []tokenRow
	for _, rl := range resp.Result {
		l := rl.Log()
		if from, to, v, _, ok := TokenTransfer(&l); ok {
			got = append(got, tokenRow{lower(l.Address), lower(from), lower(to), v.Dec(), rl.TransactionHash.Hex(), strconv.Itoa(int(l.Index))})
		}
	}
	compareTokens(t, got, tokenRows(readCSV(t, src+"expected_token_transfers.csv")))
}

// Token transfers from ethereum-etl's logs.csv, one of whose logs is not a
// Transfer and must be skipped.
func TestCSVLogTokenTransfers(t *testing.T) {
	src := etlData + "test_extract_token_transfers_job/logs/"
	var got []tokenRow
	for _, r := range readCSV(t, src+"logs.csv") {
		l := Log{Address: common.HexToAddress(r["address"]), Data: common.FromHex(r["data"])}
		for _, w := range strings.Split(r["topics"], ",") {
			l.Topics = append(l.Topics, common.HexToHash(w))
		}
		if from, to, v, _, ok := TokenTransfer(&l); ok {
			got = append(got, tokenRow{lower(l.Address), lower(from), lower(to), v.Dec(), r["transaction_hash"], r["log_index"]})
		}
	}
	compareTokens(t, got, tokenRows(readCSV(t, src+"expected_token_transfers.csv")))
}

func traceFields(tr *Trace, withStatus bool) []string {
	addr := func(a common.Address) string {
		if a == (common.Address{}) {
			return ""
		}
		return lower(a)
	}
	val := tr.Value.Dec()
	if tr.Type == "suicide" && tr.Value.IsZero() && tr.From == (common.Address{}) {
		val = "" // the legacy callTracer gives a self-destruct no fields
	}
	var path []string
	for _, p := range tr.Address {
		path = append(path, strconv.Itoa(p))
	}
	f := []string{addr(tr.From), addr(tr.To), val, tr.Type, tr.CallType, tr.RewardType, strconv.Itoa(tr.Subtraces), strings.Join(path, ","), strings.ToLower(tr.Error)}
	if withStatus {
		s := "1"
		if tr.Failed {
			s = "0"
		}
		f = append(f, s)
	}
	return f
}

func wantTraceFields(r map[string]string, withStatus bool) []string {
	f := []string{r["from_address"], r["to_address"], r["value"], r["trace_type"], r["call_type"], r["reward_type"], r["subtraces"], r["trace_address"], strings.ToLower(r["error"])}
	if withStatus {
		f = append(f, r["status"])
	}
	return f
}

// geth's callTracer output flattened as ethereum-etl flattens it.
func TestGethTraces(t *testing.T) {
	dirs, _ := filepath.Glob(etlData + "test_extract_geth_traces_job/*")
	if len(dirs) != 5 {
		t.Fatalf("%d cases", len(dirs))
	}
	for _, d := range dirs {
		t.Run(filepath.Base(d), func(t *testing.T) {
			b, err := os.ReadFile(d + "/geth_traces.json")
			if err != nil {
				t.Fatal(err)
			}
			var in struct {
				TransactionTraces []CallFrame `json:"transaction_traces"`
			}
			if err := json.Unmarshal(b, &in); err != nil {
				t.Fatal(err)
			}
			var got []Trace
			for i := range in.TransactionTraces {
				got = append(got, FlattenCallFrames(int32(i), &in.TransactionTraces[i])...)
			}
			want := readCSV(t, d+"/expected_traces.csv")
			if len(got) != len(want) {
				t.Fatalf("%d traces, want %d", len(got), len(want))
			}
			for i := range want {
				g, w := traceFields(&got[i], false), wantTraceFields(want[i], false)
				if fmt.Sprint(g) != fmt.Sprint(w) || strconv.Itoa(int(got[i].TxIndex)) != want[i]["transaction_index"] {
					t.Errorf("trace %d:\n got %q\nwant %q", i, g, w)
				}
			}
		})
	}
}

// trace_block output mapped as ethereum-etl maps it, with its status.
func TestParityTraces(t *testing.T) {
	dirs, _ := filepath.Glob(etlData + "test_export_traces_job/*")
	if len(dirs) != 5 {
		t.Fatalf("%d cases", len(dirs))
	}
	for _, d := range dirs {
		t.Run(filepath.Base(d), func(t *testing.T) {
			files, _ := filepath.Glob(d + "/web3_response.trace_block_*.json")
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			var resp struct{ Result []ParityTrace }
			if err := json.Unmarshal(b, &resp); err != nil {
				t.Fatal(err)
			}
			blk := &Block{}
			for i := range resp.Result {
				blk.Traces = append(blk.Traces, resp.Result[i].Trace())
			}
			blk.MarkFailed()
			want := readCSV(t, d+"/expected_traces.csv")
			if len(blk.Traces) != len(want) {
				t.Fatalf("%d traces, want %d", len(blk.Traces), len(want))
			}
			for i := range want {
				g, w := traceFields(&blk.Traces[i], true), wantTraceFields(want[i], true)
				if fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("trace %d:\n got %q\nwant %q", i, g, w)
				}
			}
		})
	}
}

// The traces CSV read back: failed frames move nothing, delegatecalls and
// callcodes move nothing, rewards and self-destructs do.
func TestETLTracesTransfers(t *testing.T) {
	dir := t.TempDir()
	var blocks, txs, traces []map[string]string
	for _, c := range []string{"block_with_subtraces", "block_with_create", "block_with_error", "block_with_suicide"} {
		rows := readCSV(t, etlData+"test_export_traces_job/"+c+"/expected_traces.csv")
		n := rows[0]["block_number"]
		blocks = append(blocks, map[string]string{"number": n, "hash": "0x" + strings.Repeat("11", 32), "parent_hash": "0x" + strings.Repeat("22", 32), "miner": "0x" + strings.Repeat("33", 20), "timestamp": "1"})
		seen := map[string]bool{}
		for _, r := range rows {
			traces = append(traces, r)
			if h := r["transaction_hash"]; h != "" && !seen[h] {
				seen[h] = true
				txs = append(txs, map[string]string{"hash": h, "block_number": n, "transaction_index": r["transaction_index"], "from_address": r["from_address"], "to_address": r["to_address"], "value": "0", "gas": "0", "gas_price": "0"})
			}
		}
	}
	writeCSV(t, filepath.Join(dir, "blocks.csv"), []string{"number", "hash", "parent_hash", "miner", "timestamp"}, blocks)
	writeCSV(t, filepath.Join(dir, "transactions.csv"), []string{"hash", "block_number", "transaction_index", "from_address", "to_address", "value", "gas", "gas_price"}, txs)
	cols := []string{"block_number", "transaction_hash", "transaction_index", "from_address", "to_address", "value", "input", "output", "trace_type", "call_type", "reward_type", "gas", "gas_used", "subtraces", "trace_address", "error", "status", "trace_id"}
	writeCSV(t, filepath.Join(dir, "traces.csv"), cols, traces)
	e, err := OpenETL(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got := map[Kind]int{}
	var moved uint256.Int
	for {
		b, err := e.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range b.Transfers() {
			got[tr.Kind]++
			moved.Add(&moved, &tr.Amount)
		}
	}
	// From the expected outputs by hand: subtraces: one call of 100 ETH (its
	// callcode moves nothing), one of 0.43719498 ETH, a 5 ETH reward; create:
	// a 64.6555299 ETH call, a reward; error: the out-of-gas call moves
	// nothing, the 1.1 ETH call does, a reward; suicide: 0.05 ETH paid out,
	// a reward.
	want := map[Kind]int{KindCall: 4, KindReward: 4, KindSuicide: 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("kinds %v, want %v", got, want)
	}
	t.Logf("moved %s wei", moved.Dec())
}

func TestETLWithdrawals(t *testing.T) {
	src := etlData + "test_export_blocks_job/blocks_with_transactions_and_withdrawals/"
	dir := t.TempDir()
	for _, f := range []string{"blocks", "transactions"} {
		b, err := os.ReadFile(src + "expected_" + f + ".csv")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f+".csv"), b, 0o644)
	}
	e, err := OpenETL(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	want := readJSONL(t, src+"expected_blocks.json")
	for i := 0; ; i++ {
		b, err := e.Next()
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d blocks, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var raw []struct {
			Amount uint64 `json:"amount"`
		}
		json.Unmarshal([]byte("["+want[i]["withdrawals"]+"]"), &raw)
		var wantSum, gotSum uint64
		for _, w := range raw {
			wantSum += w.Amount
		}
		n := 0
		for _, tr := range b.Transfers() {
			if tr.Kind == KindWithdrawal {
				n++
				gotSum += tr.Amount.Uint64() / 1e9
			}
		}
		if n != len(raw) || gotSum != wantSum || strconv.Itoa(len(b.Txs)) != want[i]["transaction_count"] {
			t.Errorf("block %d: %d withdrawals of %d gwei, %d txs; want %d of %d, %s", b.Number, n, gotSum, len(b.Txs), len(raw), wantSum, want[i]["transaction_count"])
		}
	}
}

// Bad exports: each error names the file, the line and the field.
func TestETLBadInput(t *testing.T) {
	good := map[string]string{
		"blocks.csv":       "number,hash,parent_hash,miner,timestamp\n1,0x" + strings.Repeat("11", 32) + ",0x" + strings.Repeat("22", 32) + ",0x" + strings.Repeat("33", 20) + ",100\n",
		"transactions.csv": "hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price\n0x" + strings.Repeat("44", 32) + ",1,0,0x" + strings.Repeat("55", 20) + ",0x" + strings.Repeat("66", 20) + ",7,21000,1\n",
	}
	cases := []struct {
		name, file, content, want string
	}{
		{"missing column", "blocks.csv", "number,hash\n", "blocks.csv line 1: no column \"parent_hash\""},
		{"bad value", "transactions.csv", strings.Replace(good["transactions.csv"], ",7,", ",-7,", 1), "transactions.csv line 2: field value"},
		{"bad address", "transactions.csv", strings.Replace(good["transactions.csv"], "0x5555", "0xzz55", 1), "transactions.csv line 2: field from_address"},
		{"short row", "transactions.csv", good["transactions.csv"] + "0x00,1\n", "transactions.csv"},
		{"orphan rows", "transactions.csv", strings.Replace(good["transactions.csv"], ",1,0,", ",9,0,", 1), "block 9 is not in the blocks files"},
		{"bad index", "transactions.csv", strings.Replace(good["transactions.csv"], ",1,0,", ",1,3,", 1), "field transaction_index"},
		{"no transactions", "transactions.csv", "", "has no transactions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, s := range good {
				if f == c.file {
					s = c.content
				}
				if s == "" {
					continue
				}
				os.WriteFile(filepath.Join(dir, f), []byte(s), 0o644)
			}
			e, err := OpenETL(dir)
			if err == nil {
				defer e.Close()
				for err == nil {
					_, err = e.Next()
				}
			}
			if err == io.EOF || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestBlobFees: a blob transaction's blob fee (EIP-4844) is burnt from its
// sender with the rest of its fee, read from a node's receipt (go-ethereum's
// own answer to eth_getBlockReceipts for a block with one) and from
// ethereum-etl's receipt columns.
func TestBlobFees(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/evm/go-ethereum/eth_getBlockReceipts-block-with-blob-tx.json")
	if err != nil {
		t.Fatal(err)
	}
	var rs []rpcReceipt
	if err := json.Unmarshal(raw, &rs); err != nil {
		t.Fatal(err)
	}
	to := common.HexToAddress("0x0d3ab14bbad3d99f4203bd7a11acb94882050e7e")
	b := &Block{Number: 6, BaseFee: uint256.NewInt(7), Miner: common.HexToAddress("0x01"),
		Txs: []Tx{{Hash: common.HexToHash("0x80348f994fb5f3b05bd2e5f58bbdc73485e449c028612a2c0680f9ac6ff70add"), From: common.HexToAddress("0x703c4b2bd70c169f5717101caee543299fc946c7"), To: &to, Type: 3}}}
	if err := b.applyReceipts(rs); err != nil {
		t.Fatal(err)
	}
	// 21,000 gas at 0x1b0a08c4 wei, 7 of it burnt; 0x20000 blob gas at 1 wei, burnt.
	paid := func(b *Block) (fee, burn uint64) {
		for _, tr := range b.Transfers() {
			switch tr.Kind {
			case KindFee:
				fee += tr.Amount.Uint64()
			case KindBurn:
				burn += tr.Amount.Uint64()
			}
		}
		return fee, burn
	}
	if fee, burn := paid(b); fee != 21000*(0x1b0a08c4-7) || burn != 21000*7+0x20000 {
		t.Fatalf("node receipt: fee %d, burnt %d; want %d and %d", fee, burn, 21000*(0x1b0a08c4-7), 21000*7+0x20000)
	}

	// The real export of mainnet blocks 17173049-50 (before Dencun), with
	// the blob columns ethereum-etl writes since then given for its first
	// transaction.
	src := "../../testdata/evm/etl-17173049/"
	dir := t.TempDir()
	for _, f := range []string{"blocks.csv", "logs.csv"} {
		b, err := os.ReadFile(src + f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	f, err := os.Open(src + "transactions.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	rows[0] = append(rows[0], "receipt_blob_gas_used", "receipt_blob_gas_price")
	rows[1] = append(rows[1], "393216", "3")
	for i := 2; i < len(rows); i++ {
		rows[i] = append(rows[i], "", "")
	}
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	w.WriteAll(rows)
	os.WriteFile(filepath.Join(dir, "transactions.csv"), out.Bytes(), 0o644)
	plain, err := OpenETL(src)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	blob, err := OpenETL(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer blob.Close()
	b0, err := plain.Next()
	if err != nil {
		t.Fatal(err)
	}
	b1, err := blob.Next()
	if err != nil {
		t.Fatal(err)
	}
	fee0, burn0 := paid(b0)
	fee1, burn1 := paid(b1)
	if fee1 != fee0 || burn1 != burn0+393216*3 || b1.Txs[0].BlobGasUsed != 393216 || b1.Txs[1].BlobGasUsed != 0 {
		t.Fatalf("export: fee %d, burnt %d, against %d and %d without the blob columns", fee1, burn1, fee0, burn0)
	}
}

// TestETLGzip: an export kept compressed (.csv.gz files) reads as the
// plain one; a damaged one is an error naming its file.
func TestETLGzip(t *testing.T) {
	src := "../../testdata/evm/etl-17173049/"
	dir := t.TempDir()
	for _, f := range []string{"blocks.csv", "transactions.csv", "logs.csv"} {
		b, err := os.ReadFile(src + f)
		if err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(b)
		w.Close()
		os.WriteFile(filepath.Join(dir, f+".gz"), z.Bytes(), 0o644)
	}
	read := func(dir string) []string {
		e, err := OpenETL(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		var out []string
		for {
			b, err := e.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range b.Transfers() {
				out = append(out, fmt.Sprintf("%d %d %v %s %s %s %s", b.Number, x.TxIndex, x.Kind, x.From.Hex(), x.To.Hex(), x.Asset.Hex(), x.Amount.Dec()))
			}
		}
	}
	plain, zipped := read(src), read(dir)
	if len(plain) < 1000 || strings.Join(plain, "\n") != strings.Join(zipped, "\n") {
		t.Fatalf("%d transfers from the gzipped export, %d from the plain one", len(zipped), len(plain))
	}
	os.WriteFile(filepath.Join(dir, "blocks.csv.gz"), []byte("not gzip"), 0o644)
	if _, err := OpenETL(dir); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "blocks.csv.gz") {
		t.Fatalf("a damaged gzip file: %v", err)
	}
}

// TestDAOForkTraces: ethereum-etl's "daofork" traces (the DAO fork moving
// each DAO account's ether to the refund contract at block 1,920,000, no
// transaction making it) move value from the account to the contract,
// where a reward would only have credited the contract.
func TestDAOForkTraces(t *testing.T) {
	dao, refund := common.HexToAddress("0xd4fe7bc31cedb7bfb8a345f31e668033056b2728"), common.HexToAddress("0xbf4ed7b27f1d666546e30d74d50d173d20bca754")
	var v uint256.Int
	v.SetFromDecimal("3000000000000000000")
	b := &Block{Number: 1920000, Traces: []Trace{{TxIndex: NoTx, Type: "daofork", From: dao, To: refund, Value: v}, {TxIndex: NoTx, Type: "reward", RewardType: "block", To: refund, Value: v}}}
	xs := b.Transfers()
	if len(xs) != 2 || xs[0].Kind != KindDAOFork || xs[0].From != dao || xs[0].To != refund || !xs[0].Amount.Eq(&v) || !xs[0].Kind.Native() || xs[0].Kind.FromNowhere() || xs[0].Kind.String() != "daofork" || xs[1].Kind != KindReward {
		t.Fatalf("transfers %+v", xs)
	}
}

// TestTransfersOfOddData: what a block's transfers make of data no valid
// chain has but a source may give: a failed transaction's Transfer log
// (receipts drop a reverted transaction's logs) moves no token; a call
// frame without a call type (an export's empty call_type) moves its value,
// as a call does; a gas price below the base fee (an export's price
// column at odds with its blocks') burns at most the fee and pays the
// miner nothing.
func TestTransfersOfOddData(t *testing.T) {
	from, to, token := common.Address{0x01}, common.Address{0x02}, common.Address{0x03}
	v := *uint256.NewInt(5)
	b := &Block{Number: 1, Miner: common.Address{0x0c}, BaseFee: uint256.NewInt(10),
		Txs: []Tx{
			{Index: 0, From: from, To: &to, Status: StatusFailed, Receipt: true, GasUsed: 0},
			{Index: 1, From: from, To: &to, Status: StatusOK, Receipt: true, GasUsed: 100, GasPrice: *uint256.NewInt(4)},
		},
		Logs: []Log{{TxIndex: 0, Index: 0, Address: token, Topics: []common.Hash{TopicTransfer, common.BytesToHash(from[:]), common.BytesToHash(to[:])}, Data: v.PaddedBytes(32)}},
		Traces: []Trace{
			{TxIndex: 1, From: from, To: to, Value: v, Type: "call"},
		},
	}
	var kinds []string
	for _, tr := range b.Transfers() {
		kinds = append(kinds, fmt.Sprintf("%d:%s:%s", tr.TxIndex, tr.Kind, tr.Amount.Dec()))
	}
	if got, want := strings.Join(kinds, " "), "1:call:5 1:burn:400"; got != want {
		t.Fatalf("transfers %s, want %s", got, want)
	}
}
