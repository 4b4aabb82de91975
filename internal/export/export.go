// Package export writes the store's tables for other tools (DuckDB,
// pandas, Spark, ClickHouse): one row per block, transaction, output,
// input, address, transfer or event, as CSV, JSON Lines or Parquet. Rows carry the
// chains' own identifiers (txids, addresses as Bitcoin Core and EIP-55
// print them), not the store's dense numbers, so that exports of two
// stores, or of a store and a node, join on them.
//
// A table is a Go struct type whose `parquet` tags name the columns; the
// Parquet writer (parquet-go) takes the schema from the tags, and the CSV
// and JSON writers here read the same tags, so the three formats have the
// same columns in the same order. A nil pointer field is an empty CSV
// cell, a JSON null and a Parquet null.
package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/spur-forensics/spur/internal/buildinfo"
)

// Format is an export's file format.
type Format string

const (
	CSV     Format = "csv"
	JSON    Format = "json" // JSON Lines: one object a line
	Parquet Format = "parquet"
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case CSV, JSON, Parquet:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: want csv, json or parquet", s)
}

// Range is the blocks an export covers, both ends included: heights on
// Bitcoin, block numbers on an EVM chain.
type Range struct{ From, To int64 }

// Options says how to export.
type Options struct {
	Format   Format
	Range    Range
	Progress func(blocks int64) // told of the blocks written, as they are, if not nil
	// EVMEntity names the entity of an EVM address (by number) for the
	// addresses table, its first address (cluster.EVMClusters); nil, the
	// column is null.
	EVMEntity func(a uint32) string
}

// Within refuses a range that is not in first..last (what names the
// blocks' numbers: heights, say).
func (r Range) Within(first, last int64, what string) error {
	switch {
	case last < first:
		return fmt.Errorf("%w: the store holds no blocks", ErrRange)
	case r.From < first || r.To > last || r.From > last || r.To < first:
		return fmt.Errorf("%w: %s %d to %d asked, the store holds %d to %d", ErrRange, what, r.From, r.To, first, last)
	case r.From > r.To:
		return fmt.Errorf("%w: the range starts at %d, after its end %d", ErrRange, r.From, r.To)
	}
	return nil
}

// ErrRange is a block range the store does not hold.
var ErrRange = errors.New("blocks out of range")

// ErrTable is a table a chain does not have.
var ErrTable = errors.New("no table")

// rowGroup is the most rows of a Parquet row group (DuckDB writes 122,880).
// A row group is held in memory until it is whole: bounded, an export's
// memory does not grow with the table.
const rowGroup = 128 << 10

// chunkWork is about how much work (transactions, say: see rows) a worker
// takes at a time, and chunkBlocks the most blocks.
const chunkWork, chunkBlocks = 4096, 4096

// Discard makes the rows and drops them: the baseline of spur bench export
// and the Go benchmarks, the reading of the store alone. Not a format
// ParseFormat gives.
const Discard Format = "discard"

// column is one field of a table's struct: its name and index.
type column struct {
	name  string
	index int
}

// columnsOf lists T's columns in field order, named by their parquet tags.
func columnsOf[T any]() []column {
	t := reflect.TypeFor[T]()
	cols := make([]column, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("parquet"), ",")
		if name == "" || name == "-" {
			continue
		}
		cols = append(cols, column{name, i})
	}
	return cols
}

// Columns returns the column names of a table.
func Columns[T any]() []string {
	var names []string
	for _, c := range columnsOf[T]() {
		names = append(names, c.name)
	}
	return names
}

// text formats a field for CSV and JSON; ok is false for a nil pointer (no
// value).
func text(v reflect.Value) (s string, ok bool) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", false
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), true
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), true
	}
	panic("export: no text form for " + v.Type().String())
}

// encodeCSV returns rows as CSV lines (no header).
func encodeCSV[T any](cols []column, rows []T) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	rec := make([]string, len(cols))
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		for j, col := range cols {
			rec[j], _ = text(v.Field(col.index))
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// encodeJSON returns rows as JSON Lines.
func encodeJSON[T any](cols []column, rows []T) []byte {
	var b []byte
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		b = append(b, '{')
		for k, col := range cols {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, col.name)
			b = append(b, ':')
			f := v.Field(col.index)
			s, ok := text(f)
			switch {
			case !ok:
				b = append(b, "null"...)
			case reflect.Indirect(f).Kind() == reflect.String:
				b = appendJSONString(b, s)
			default: // numbers and booleans as they print
				b = append(b, s...)
			}
		}
		b = append(b, '}', '\n')
	}
	return b
}

// appendJSONString appends s as a JSON string. Hashes, addresses and
// amounts need no escaping and are copied as they are; anything else
// (a token's symbol) goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// part is the rows of a chunk of blocks, or their text.
type part[T any] struct {
	rows   []T
	text   []byte
	blocks int64
	err    error
}

// rows writes the rows of blocks 0 to units-1 to w: next appends the rows
// of block i to buf and returns it. Workers, one a core, make the rows of
// chunks of blocks (and, for CSV and JSON, their text) at once; the
// chunks are written in order. A chunk is blocks of about chunkWork work,
// as work, a cheap guess of the cost of a block's rows, tells it (a block
// of 3,000 transactions is a chunk, as are a thousand blocks of one). next
// and work must be safe to call from several goroutines. progress, if not
// nil, is told of each chunk's blocks as they are written. It returns the
// rows written, and stops, with ctx's error, when ctx is done; no call of
// next runs once it has returned.
func rows[T any](ctx context.Context, w io.Writer, f Format, units int64, work func(i int64) int64, next func(i int64, buf []T) ([]T, error), progress func(blocks int64)) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cols := columnsOf[T]()
	build := func(start, end int64) part[T] {
		p := part[T]{blocks: end - start}
		for i := start; i < end && p.err == nil; i++ {
			if p.err = ctx.Err(); p.err == nil {
				p.rows, p.err = next(i, p.rows)
			}
		}
		switch {
		case p.err != nil:
		case f == CSV:
			p.text, p.err = encodeCSV(cols, p.rows)
		case f == JSON:
			p.text = encodeJSON(cols, p.rows)
		}
		return p
	}
	// The parts in order, each made by a goroutine of its own, at most
	// workers at a time and twice that many made and not yet written.
	workers := runtime.GOMAXPROCS(0)
	parts := make(chan chan part[T], workers)
	go func() {
		defer close(parts)
		running := make(chan struct{}, workers)
		for start, end := int64(0), int64(0); start < units; start = end {
			for w := int64(0); end < units && w < chunkWork && end-start < chunkBlocks; end++ {
				w += work(end)
			}
			select {
			case running <- struct{}{}:
			case <-ctx.Done():
				return
			}
			c := make(chan part[T], 1)
			parts <- c // the writer, or its drain once it stops, takes every part sent
			go func(start, end int64) {
				defer func() { <-running }()
				c <- build(start, end)
			}(start, end)
		}
	}()
	// drain lets the goroutines above end when the writer stops early.
	defer func() {
		cancel()
		for c := range parts {
			<-c
		}
	}()

	var pw *parquet.GenericWriter[T]
	bw := bufio.NewWriterSize(w, 1<<16)
	switch f {
	case Parquet:
		version, commit := buildinfo.Module()
		pw = parquet.NewGenericWriter[T](w, parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(rowGroup), parquet.CreatedBy("spur", version, commit))
	case CSV:
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.name
		}
		cw := csv.NewWriter(bw)
		cw.Write(names)
		if cw.Flush(); cw.Error() != nil {
			return 0, cw.Error()
		}
	}
	var n int64
	for c := range parts {
		var p part[T]
		select {
		case p = <-c:
		case <-ctx.Done():
			<-c // its goroutine reads the store, which may close once this returns
			return n, ctx.Err()
		}
		if p.err != nil {
			return n, p.err
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var err error
		switch f {
		case Parquet:
			_, err = pw.Write(p.rows)
		case CSV, JSON:
			_, err = bw.Write(p.text)
		}
		if err != nil {
			return n, err
		}
		n += int64(len(p.rows))
		if progress != nil {
			progress(p.blocks)
		}
	}
	if err := ctx.Err(); err != nil {
		return n, err
	}
	if pw != nil {
		if err := pw.Close(); err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}
