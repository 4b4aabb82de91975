package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/testchain"
)

// etlStore is an Ethereum store of mainnet blocks 17173049 and 17173050,
// ingested from their ethereum-etl CSV export.
func etlStore(t *testing.T) *evmstore.Store {
	return testchain.Ethereum(t, filepath.Join(t.TempDir(), "eth"))
}

// etlExpected reads ethereum-etl's own expected output for the two
// blocks: one JSON object a line.
func etlExpected(t *testing.T, name string) []map[string]any {
	f, err := os.Open("../../testdata/evm/ethereum-etl/test_stream/blocks_17173049_17173050/expected_" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, m)
	}
	return rows
}

// etlText is an ethereum-etl value as text, addresses and hashes in lower
// case (ethereum-etl writes them so), null as "".
func etlText(v any) string {
	if v == nil {
		return ""
	}
	return strings.ToLower(fmt.Sprint(v))
}

func exportEVM(t *testing.T, s *evmstore.Store, table string, f Format) (map[string]int, [][]string) {
	t.Helper()
	var b bytes.Buffer
	c := s.Counts()
	if _, err := EVM(context.Background(), s, table, &b, Options{Format: f, Range: Range{int64(c.First), int64(c.First + c.Blocks - 1)}}); err != nil {
		t.Fatal(err)
	}
	h, rows := readBack(t, f, b.Bytes())
	col := map[string]int{}
	for i, name := range h {
		col[name] = i
	}
	return col, rows
}

// TestEVMAgainstETL exports the blocks, transactions and token transfers
// of two mainnet blocks ingested from ethereum-etl's CSV, in every
// format (token transfers: ERC-20 and ERC-721), and compares them with ethereum-etl's own JSON output for the
// same blocks, column by column where the two share a name; and each
// transaction's fee with its gas at its price.
func TestEVMAgainstETL(t *testing.T) {
	s := etlStore(t)
	type check struct {
		table, etl string
		cols       []string
		keep       func(col map[string]int, row []string) bool
		rename     map[string]string // spur's column: ethereum-etl's field
	}
	for _, c := range []check{
		{table: "blocks", etl: "blocks", cols: []string{"number", "hash", "parent_hash", "miner", "timestamp", "transaction_count"}},
		{table: "transactions", etl: "transactions", cols: []string{"hash", "nonce", "block_number", "block_timestamp", "transaction_index", "from_address",
			"to_address", "transaction_type", "receipt_status", "receipt_gas_used", "receipt_effective_gas_price", "receipt_contract_address"}},
		{table: "transfers", etl: "token_transfers", cols: []string{"block_number", "block_timestamp", "transaction_hash", "log_index", "asset", "from_address", "to_address", "value"},
			keep: func(col map[string]int, row []string) bool {
				return row[col["kind"]] == "token" || row[col["kind"]] == "nft"
			},
			rename: map[string]string{"asset": "token_address"}},
	} {
		want := etlExpected(t, c.etl)
		var first [][]string
		for _, f := range formats {
			col, rows := exportEVM(t, s, c.table, f)
			if first == nil {
				first = rows
			} else {
				sameRows(t, fmt.Sprint(c.table, " as ", f), nil, rows, nil, first)
			}
			var got [][]string
			for _, r := range rows {
				if c.keep == nil || c.keep(col, r) {
					got = append(got, r)
				}
			}
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("%s as %s: %d rows, ethereum-etl %d", c.table, f, len(got), len(want))
			}
			for i, w := range want {
				for _, name := range c.cols {
					field := name
					if r, ok := c.rename[name]; ok {
						field = r
					}
					g := strings.ToLower(got[i][col[name]])
					if g != etlText(w[field]) {
						t.Fatalf("%s as %s, row %d: %s = %q, ethereum-etl %q", c.table, f, i, name, g, etlText(w[field]))
					}
				}
				if c.table == "transactions" {
					gas, _ := new(big.Int).SetString(etlText(w["receipt_gas_used"]), 10)
					price, _ := new(big.Int).SetString(etlText(w["receipt_effective_gas_price"]), 10)
					if fee := gas.Mul(gas, price).String(); got[i][col["fee"]] != fee {
						t.Fatalf("tx %s: fee %s, gas at its price %s", w["hash"], got[i][col["fee"]], fee)
					}
				}
			}
		}
	}
}

// The events table gives each derived event once, with the transfers
// in and out that make it, as `spur tx` shows them.
func TestEVMEvents(t *testing.T) {
	s := etlStore(t)
	col, rows := exportEVM(t, s, "events", CSV)
	var want [][]string
	c := s.Counts()
	for n := range uint32(c.Txs) {
		v := s.TxView(n)
		for _, e := range v.Events {
			r := []string{fmt.Sprint(v.BlockNumber), v.Hash, e.Kind, e.Contract, e.Actor, "", "", "", "", "", "", e.Data}
			if e.In != nil {
				r[5], r[6], r[7] = e.In.Asset, e.In.Symbol, e.In.Value
			}
			if e.Out != nil {
				r[8], r[9], r[10] = e.Out.Asset, e.Out.Symbol, e.Out.Value
			}
			want = append(want, r)
		}
	}
	if len(want) == 0 {
		t.Fatal("no events in the two blocks")
	}
	names := make([]string, len(col))
	for n, i := range col {
		names[i] = n
	}
	sameRows(t, "events", names, rows, Columns[EVMEvent](), want)
}

func TestEVMErrors(t *testing.T) {
	s := etlStore(t)
	var b bytes.Buffer
	for _, c := range []struct {
		table string
		r     Range
		want  error
	}{
		{"outputs", Range{17173049, 17173050}, ErrTable},
		{"blocks", Range{17173048, 17173050}, ErrRange},
		{"blocks", Range{17173049, 17173051}, ErrRange},
		{"blocks", Range{0, 0}, ErrRange},
	} {
		if _, err := EVM(context.Background(), s, c.table, &b, Options{Format: CSV, Range: c.r}); !errors.Is(err, c.want) {
			t.Fatalf("%s %+v: %v", c.table, c.r, err)
		}
	}
	if b.Len() != 0 {
		t.Fatalf("wrote %q before refusing", b.String())
	}
	// One block of two.
	var one bytes.Buffer
	if n, err := EVM(context.Background(), s, "blocks", &one, Options{Format: CSV, Range: Range{17173050, 17173050}}); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if _, rows := readBack(t, CSV, one.Bytes()); len(rows) != 1 || rows[0][0] != "17173050" || !slices.Contains(Columns[EVMBlock](), "parent_hash") {
		t.Fatal(rows)
	}
}

// tokenStub names addresses by their numbers and knows two tokens, one
// without a symbol.
type tokenStub struct{ evmstore.Reader }

func (tokenStub) Address(n uint32) common.Address { return common.BigToAddress(big.NewInt(int64(n))) }
func (tokenStub) Token(a uint32) (string, uint8, bool) {
	switch a {
	case 7:
		return "TKN", 6, true
	case 8:
		return "", 0, true
	}
	return "", 0, false
}

// What a transfer moves: ETH with 18 decimals; a token by its address,
// with what the store knows of it (an empty symbol is null).
func TestAsset(t *testing.T) {
	h := newHexMemo(tokenStub{})
	str := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	num := func(p *int32) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprint(*p)
	}
	for _, c := range []struct {
		row  evmstore.TransferRow
		want string
	}{
		{evmstore.TransferRow{Kind: evm.KindCall, Asset: evmstore.None}, "ETH ETH 18"},
		{evmstore.TransferRow{Kind: evm.KindToken, Asset: 7}, "0x0000000000000000000000000000000000000007 TKN 6"},
		{evmstore.TransferRow{Kind: evm.KindToken, Asset: 8}, "0x0000000000000000000000000000000000000008 null 0"},
		{evmstore.TransferRow{Kind: evm.KindNFT, Asset: 9}, "0x0000000000000000000000000000000000000009 null null"},
	} {
		a, sym, dec := h.asset(&c.row)
		if got := a + " " + str(sym) + " " + num(dec); got != c.want {
			t.Errorf("%+v: %s, want %s", c.row, got, c.want)
		}
	}
	if h.text(evmstore.None) != "" || h.text(7) != "0x0000000000000000000000000000000000000007" {
		t.Error("address text")
	}
}
