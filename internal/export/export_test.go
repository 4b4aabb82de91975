package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// readBack reads an export in any of its formats as its header and rows
// of text, a null as "". Parquet files are read with Apache Arrow's
// reader, independent of the writer.
func readBack(t *testing.T, f Format, b []byte) (header []string, rows [][]string) {
	t.Helper()
	switch f {
	case CSV:
		all, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return all[0], all[1:]
	case JSON:
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		for d.More() {
			// Decode in the file's key order, to check the order too.
			var keys []string
			var row []string
			tok, err := d.Token()
			if err != nil || tok != json.Delim('{') {
				t.Fatalf("a line starts with %v (%v)", tok, err)
			}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					t.Fatal(err)
				}
				var v any
				if err := d.Decode(&v); err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k.(string))
				switch v := v.(type) {
				case nil:
					row = append(row, "")
				case string:
					row = append(row, v)
				default:
					row = append(row, fmt.Sprint(v))
				}
			}
			if _, err := d.Token(); err != nil {
				t.Fatal(err)
			}
			if header == nil {
				header = keys
			} else if !reflect.DeepEqual(keys, header) {
				t.Fatalf("keys %v after %v", keys, header)
			}
			rows = append(rows, row)
		}
		return header, rows
	}
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(b), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	rows = make([][]string, tbl.NumRows())
	for i := range rows {
		rows[i] = make([]string, tbl.NumCols())
	}
	for c := range int(tbl.NumCols()) {
		header = append(header, tbl.Schema().Field(c).Name)
		r := 0
		for _, a := range tbl.Column(c).Data().Chunks() {
			for i := range a.Len() {
				if !a.IsNull(i) {
					rows[r][c] = a.ValueStr(i)
				}
				r++
			}
		}
	}
	return header, rows
}

// sameRows fails the test unless got equals want, naming the first
// difference.
func sameRows(t *testing.T, what string, gotHeader []string, got [][]string, wantHeader []string, want [][]string) {
	t.Helper()
	if !reflect.DeepEqual(gotHeader, wantHeader) {
		t.Fatalf("%s: columns %v, want %v", what, gotHeader, wantHeader)
	}
	for i := range min(len(got), len(want)) {
		for c := range wantHeader {
			if got[i][c] != want[i][c] {
				t.Fatalf("%s: row %d, %s = %q, want %q\n got %v\nwant %v", what, i, wantHeader[c], got[i][c], want[i][c], got[i], want[i])
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
}

var formats = []Format{CSV, JSON, Parquet}

// one is the work of a block of one row.
func one(int64) int64 { return 1 }

func TestParseFormat(t *testing.T) {
	for _, f := range formats {
		if g, err := ParseFormat(string(f)); err != nil || g != f {
			t.Fatalf("%s: %v %v", f, g, err)
		}
	}
	if _, err := ParseFormat("xlsx"); err == nil || !strings.Contains(err.Error(), "csv, json or parquet") {
		t.Fatalf("xlsx: %v", err)
	}
}

// An empty table still has its columns: a CSV header, a Parquet schema.
func TestEmpty(t *testing.T) {
	for _, f := range formats {
		var b bytes.Buffer
		n, err := rows(context.Background(), &b, f, 20, one, func(i int64, buf []BTCOutput) ([]BTCOutput, error) { return buf, nil }, nil)
		if err != nil || n != 0 {
			t.Fatal(n, err)
		}
		h, r := readBack(t, f, b.Bytes())
		if len(r) != 0 || f != JSON && !reflect.DeepEqual(h, Columns[BTCOutput]()) {
			t.Fatalf("%s: %v %v", f, h, r)
		}
	}
}

// A failing block or a done context stops the export with the error,
// before the rest is written.
func TestStops(t *testing.T) {
	boom := errors.New("boom")
	var b bytes.Buffer
	_, err := rows(context.Background(), &b, CSV, 100, one, func(i int64, buf []BTCBlock) ([]BTCBlock, error) {
		if i == 43 {
			return buf, boom
		}
		return append(buf, BTCBlock{Height: i}), nil
	}, nil)
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	for _, f := range formats {
		ctx, cancel := context.WithCancel(context.Background())
		var done int64
		n, err := rows(ctx, &b, f, 1000, func(int64) int64 { return chunkWork / 4 }, func(i int64, buf []BTCBlock) ([]BTCBlock, error) {
			return append(buf, BTCBlock{Height: i}), nil
		}, func(blocks int64) {
			if done += blocks; done >= 16 {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) || done >= 1000 || n != done {
			t.Fatal(f, err, done, n)
		}
	}
	// A context done before a slow block is made: no block is made once
	// rows has returned (the store it reads may be closed then).
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		var running, after atomic.Int64
		var returned atomic.Bool
		_, err := rows(ctx, &b, CSV, 64, func(int64) int64 { return chunkWork }, func(i int64, buf []BTCBlock) ([]BTCBlock, error) {
			running.Add(1)
			defer running.Add(-1)
			if i == 0 { // the first block, the writer waiting for it
				cancel()
				time.Sleep(20 * time.Millisecond)
			}
			if returned.Load() {
				after.Add(1)
			}
			return append(buf, BTCBlock{Height: i}), nil
		}, nil)
		returned.Store(true)
		if !errors.Is(err, context.Canceled) || running.Load() != 0 {
			t.Fatalf("%v, %d blocks being made after rows returned", err, running.Load())
		}
		time.Sleep(5 * time.Millisecond)
		if after.Load() != 0 {
			t.Fatalf("%d blocks made after rows returned", after.Load())
		}
	}
	// And a chunk's blocks after the context is done are not made.
	ctx, cancel := context.WithCancel(context.Background())
	made := 0
	if _, err := rows(ctx, &b, CSV, 100, one, func(i int64, buf []BTCBlock) ([]BTCBlock, error) {
		made++
		cancel()
		return buf, nil
	}, nil); !errors.Is(err, context.Canceled) || made != 1 {
		t.Fatalf("%v; %d blocks of a one-chunk export made after it was cancelled at the first", err, made)
	}
}

// Rows come out in block order in every format, however the workers
// share the blocks, and progress counts every block once.
func TestOrder(t *testing.T) {
	const blocks, per = 101, 997
	for _, f := range append(formats, Discard) {
		var b bytes.Buffer
		var told int64
		n, err := rows(context.Background(), &b, f, blocks, func(i int64) int64 { return per }, func(i int64, buf []BTCBlock) ([]BTCBlock, error) {
			for k := range int64(per) {
				buf = append(buf, BTCBlock{Height: i*per + k, Hash: fmt.Sprint("h", k), Bits: "1d00ffff"})
			}
			return buf, nil
		}, func(n int64) { told += n })
		if err != nil || n != blocks*per || told != blocks {
			t.Fatal(f, n, err, told)
		}
		if f == Discard {
			if b.Len() != 0 {
				t.Fatal("discard wrote")
			}
			continue
		}
		_, r := readBack(t, f, b.Bytes())
		if len(r) != blocks*per {
			t.Fatalf("%s: %d rows", f, len(r))
		}
		for i, row := range r {
			if row[0] != fmt.Sprint(i) {
				t.Fatalf("%s: row %d is %v", f, i, row)
			}
		}
	}
}

func TestRangeChecks(t *testing.T) {
	for _, c := range []struct {
		r           Range
		first, last int64
		ok          bool
	}{
		{Range{0, 5}, 0, 5, true}, {Range{2, 2}, 0, 5, true}, {Range{0, 6}, 0, 5, false}, {Range{-1, 2}, 0, 5, false},
		{Range{3, 2}, 0, 5, false}, {Range{9, 9}, 10, 20, false}, {Range{0, 0}, 0, -1, false},
	} {
		err := c.r.Within(c.first, c.last, "blocks")
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrRange) {
			t.Fatalf("%+v in %d..%d: %v", c.r, c.first, c.last, err)
		}
	}
}

// Strings in JSON Lines are what encoding/json makes of them, escaped
// where they need it.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "ETH", `a"b`, `a\b`, "tab\there", "ünï", "<&>", "\x7f", "\x00"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	}
}

// TestFormatDoc: docs/format/export.md gives every table's columns, in
// their order, and no others.
func TestFormatDoc(t *testing.T) {
	b, err := os.ReadFile("../../docs/format/export.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"Bitcoin blocks": Columns[BTCBlock](), "Bitcoin transactions": Columns[BTCTx](), "Bitcoin outputs": Columns[BTCOutput](),
		"Bitcoin inputs": Columns[BTCInput](), "Bitcoin addresses": Columns[BTCAddress](),
		"EVM chains blocks": Columns[EVMBlock](), "EVM chains transactions": Columns[EVMTx](), "EVM chains transfers": Columns[EVMTransfer](),
		"EVM chains events": Columns[EVMEvent](), "EVM chains addresses": Columns[EVMAddress](), "EVM chains balances": Columns[EVMBalance](),
	}
	got := map[string][]string{}
	var chain, table string
	name := regexp.MustCompile("`([a-z_]+)`")
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			chain, table = strings.TrimPrefix(line, "## "), ""
		case strings.HasPrefix(line, "### "):
			table = chain + " " + strings.TrimPrefix(line, "### ")
		case table != "" && strings.HasPrefix(line, "| `"):
			cell := strings.Split(line, "|")[1]
			for _, m := range name.FindAllStringSubmatch(cell, -1) {
				got[table] = append(got[table], m[1])
			}
		}
	}
	for table, cols := range want {
		if !slices.Equal(got[table], cols) {
			t.Errorf("%s: the docs give %v, the table has %v", table, got[table], cols)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the docs give tables %v", slices.Collect(maps.Keys(got)))
	}
}

// A Parquet file's row groups hold at most rowGroup rows, so that the
// writer holds no more than that in memory.
func TestRowGroups(t *testing.T) {
	var b bytes.Buffer
	const blocks, per = 300, 1000
	if _, err := rows(context.Background(), &b, Parquet, blocks, func(int64) int64 { return per }, func(i int64, buf []BTCBlock) ([]BTCBlock, error) {
		for k := range int64(per) {
			buf = append(buf, BTCBlock{Height: i*per + k})
		}
		return buf, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := file.NewParquetReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if by := f.MetaData().GetCreatedBy(); !strings.HasPrefix(by, "spur version ") {
		t.Errorf("created_by %q", by)
	}
	var total int64
	for g := range f.NumRowGroups() {
		n := f.RowGroup(g).NumRows()
		if n > rowGroup {
			t.Fatalf("row group %d holds %d rows", g, n)
		}
		total += n
	}
	if total != blocks*per || f.NumRowGroups() != (blocks*per+rowGroup-1)/rowGroup {
		t.Fatalf("%d rows in %d row groups", total, f.NumRowGroups())
	}
}
