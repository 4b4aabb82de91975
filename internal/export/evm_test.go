package export

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

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

// exportEVM exports a table of the whole store and reads it back: the
// column numbers by name, and the rows.
func exportEVM(t *testing.T, s *evmstore.Store, table string, f Format) (map[string]int, [][]string) {
	t.Helper()
	c := s.Counts()
	h, rows := exportTable(t, s, table, f, Range{int64(c.First), int64(c.First + c.Blocks - 1)})
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
	// A context done stops the addresses, by either way.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	defer func(f func(before, in uint64) bool) { scan = f }(scan)
	for _, pass := range []bool{true, false} {
		scan = func(before, in uint64) bool { return pass }
		if _, err := EVM(done, s, "balances", &b, Options{Format: CSV, Range: Range{17173049, 17173050}}); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled (pass %v): %v", pass, err)
		}
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

// The addresses and balances tables against sums made here from the
// transfers table (not from the postings the export reads): each address
// at its first transfer, sender before recipient; its first and last
// block and its transfers; and, NFTs aside, what it received and sent of
// each asset, ETH first, then tokens as the store numbers them. A range
// gives the addresses whose first transfer it holds, with the same totals.
func TestEVMAddresses(t *testing.T) {
	s := etlStore(t)
	col, xs := exportEVM(t, s, "transfers", CSV)
	type position struct {
		recv, sent big.Int
		n          int
	}
	type address struct {
		text        string
		first, last string
		n           int
		assets      map[string]*position
	}
	var order []*address
	byText := map[string]*address{}
	for _, x := range xs {
		parties := []string{x[col["from_address"]], x[col["to_address"]]}
		if parties[0] == parties[1] {
			parties = parties[:1]
		}
		for _, p := range parties {
			if p == "" {
				continue
			}
			a := byText[p]
			if a == nil {
				a = &address{text: p, first: x[col["block_number"]], assets: map[string]*position{}}
				byText[p] = a
				order = append(order, a)
			}
			a.last = x[col["block_number"]]
			a.n++
			if x[col["kind"]] == "nft" {
				continue
			}
			pos := a.assets[x[col["asset"]]]
			if pos == nil {
				pos = &position{}
				a.assets[x[col["asset"]]] = pos
			}
			pos.n++
			v, ok := new(big.Int).SetString(x[col["value"]], 10)
			if !ok {
				t.Fatalf("value %q", x[col["value"]])
			}
			if p == x[col["to_address"]] {
				pos.recv.Add(&pos.recv, v)
			}
			if p == x[col["from_address"]] {
				pos.sent.Add(&pos.sent, v)
			}
		}
	}
	// Tokens in the order the store numbers them.
	num := func(asset string) uint32 {
		if asset == "ETH" {
			return 0
		}
		n, err := s.AddrNum(common.HexToAddress(asset))
		if err != nil {
			t.Fatal(asset, err)
		}
		return n + 1
	}
	want := func(from string) (addrs, bals [][]string) {
		for _, a := range order {
			if a.first < from {
				continue
			}
			addrs = append(addrs, []string{a.text, a.first, a.last, fmt.Sprint(a.n), ""}) // no entity without heuristics
			assets := slices.Collect(maps.Keys(a.assets))
			slices.SortFunc(assets, func(x, y string) int { return cmp.Compare(num(x), num(y)) })
			for _, as := range assets {
				p := a.assets[as]
				sym, dec := "", ""
				if as == "ETH" {
					sym, dec = "ETH", "18"
				} else if n, err := s.AddrNum(common.HexToAddress(as)); err == nil {
					if sy, d, ok := s.Token(n); ok {
						sym, dec = sy, fmt.Sprint(d)
					}
				}
				bals = append(bals, []string{a.text, as, sym, dec, p.recv.String(), p.sent.String(),
					new(big.Int).Sub(&p.recv, &p.sent).String(), fmt.Sprint(p.n)})
			}
		}
		return addrs, bals
	}
	// Each way of finding an address's first transfer: one pass over the
	// transfers, and the index.
	defer func(f func(before, in uint64) bool) { scan = f }(scan)
	for _, pass := range []bool{true, false} {
		scan = func(before, in uint64) bool { return pass }
		wantAddrs, wantBals := want("")
		if len(wantAddrs) < 100 || len(wantBals) <= len(wantAddrs) {
			t.Fatalf("%d addresses, %d balances: too few to tell", len(wantAddrs), len(wantBals))
		}
		for _, f := range formats {
			h, rows := exportTable(t, s, "addresses", f, Range{17173049, 17173050})
			sameRows(t, fmt.Sprint("addresses as ", f, " pass ", pass), h, rows, Columns[EVMAddress](), wantAddrs)
			h, rows = exportTable(t, s, "balances", f, Range{17173049, 17173050})
			sameRows(t, fmt.Sprint("balances as ", f, " pass ", pass), h, rows, Columns[EVMBalance](), wantBals)
		}
		// The second block alone: the addresses new in it, totals of both.
		wantAddrs, wantBals = want("17173050")
		if len(wantAddrs) == 0 || len(wantAddrs) == len(order) {
			t.Fatalf("%d of %d addresses new in the second block", len(wantAddrs), len(order))
		}
		h, rows := exportTable(t, s, "addresses", CSV, Range{17173050, 17173050})
		sameRows(t, fmt.Sprint("addresses of the second block, pass ", pass), h, rows, Columns[EVMAddress](), wantAddrs)
		h, rows = exportTable(t, s, "balances", CSV, Range{17173050, 17173050})
		sameRows(t, fmt.Sprint("balances of the second block, pass ", pass), h, rows, Columns[EVMBalance](), wantBals)
	}
}

// A range takes one pass over the transfers up to its end when what comes
// before it is at most 128 times as long.
func TestScanOrLookUp(t *testing.T) {
	for _, c := range []struct {
		before, in uint64
		want       bool
	}{{0, 0, true}, {0, 5, true}, {1280, 10, true}, {1281, 10, false}, {1, 0, false}} {
		if scan(c.before, c.in) != c.want {
			t.Errorf("%d before, %d in: scan %v", c.before, c.in, !c.want)
		}
	}
}

// exportTable exports a table over range r and reads it back: the header
// and the rows.
func exportTable(t *testing.T, s *evmstore.Store, table string, f Format, r Range) ([]string, [][]string) {
	t.Helper()
	var b bytes.Buffer
	if _, err := EVM(context.Background(), s, table, &b, Options{Format: f, Range: r}); err != nil {
		t.Fatal(err)
	}
	return readBack(t, f, b.Bytes())
}

// An address whose first transfer is to itself has one row, its transfer
// counted once, what it received and sent both.
func TestEVMSelfTransfer(t *testing.T) {
	defer func(f func(before, in uint64) bool) { scan = f }(scan)
	tok, a, b := common.HexToAddress("0xaa"), common.HexToAddress("0x01"), common.HexToAddress("0x02")
	log := func(i uint32, from, to common.Address, v uint64) evm.Log {
		amount := uint256.NewInt(v).Bytes32()
		return evm.Log{Index: i, Address: tok, Topics: []common.Hash{evm.TopicTransfer, common.BytesToHash(from[:]), common.BytesToHash(to[:])}, Data: amount[:]}
	}
	blk := &evm.Block{Number: 5, Hash: common.Hash{5}, Parent: common.Hash{4}, Txs: []evm.Tx{{Hash: common.Hash{0xaa}, From: a, Status: evm.StatusOK}},
		Logs: []evm.Log{log(0, a, a, 5), log(1, a, b, 3)}}
	s, err := evmstore.Open(t.TempDir(), "eth")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendBlock(blk); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, pass := range []bool{true, false} {
		scan = func(before, in uint64) bool { return pass }
		h, rows := exportTable(t, s, "addresses", CSV, Range{5, 5})
		sameRows(t, "addresses", h, rows, Columns[EVMAddress](), [][]string{{a.Hex(), "5", "5", "2", ""}, {b.Hex(), "5", "5", "1", ""}})
		h, rows = exportTable(t, s, "balances", CSV, Range{5, 5})
		sameRows(t, "balances", h, rows, Columns[EVMBalance](), [][]string{{a.Hex(), tok.Hex(), "", "", "5", "8", "-3", "2"}, {b.Hex(), tok.Hex(), "", "", "3", "0", "3", "1"}})
	}
}
