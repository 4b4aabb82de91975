// Package export writes the store's tables for other tools (DuckDB,
// pandas, Spark, ClickHouse): one row per block, transaction, output,
// input, transfer or event, as CSV, JSON Lines or Parquet. Rows carry the
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
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
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

// batch is how many rows are buffered before they are written.
const batch = 4096

// sink takes the rows of one table.
type sink[T any] interface {
	write(rows []T) error
	close() error
}

func newSink[T any](w io.Writer, f Format) sink[T] {
	switch f {
	case Parquet:
		return &parquetSink[T]{w: parquet.NewGenericWriter[T](w,
			parquet.Compression(&parquet.Zstd),
			parquet.CreatedBy("spur", "", ""))}
	case JSON:
		return &jsonSink[T]{w: bufio.NewWriterSize(w, 1<<16), cols: columnsOf[T]()}
	}
	cols := columnsOf[T]()
	return &csvSink[T]{w: csv.NewWriter(w), cols: cols}
}

type parquetSink[T any] struct{ w *parquet.GenericWriter[T] }

func (p *parquetSink[T]) write(rows []T) error {
	_, err := p.w.Write(rows)
	return err
}

func (p *parquetSink[T]) close() error { return p.w.Close() }

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

// text formats a field for CSV; ok is false for a nil pointer (no value).
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

type csvSink[T any] struct {
	w       *csv.Writer
	cols    []column
	started bool
	rec     []string
}

func (c *csvSink[T]) write(rows []T) error {
	if !c.started {
		c.started = true
		c.rec = make([]string, len(c.cols))
		for i, col := range c.cols {
			c.rec[i] = col.name
		}
		if err := c.w.Write(c.rec); err != nil {
			return err
		}
	}
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		for j, col := range c.cols {
			c.rec[j], _ = text(v.Field(col.index))
		}
		if err := c.w.Write(c.rec); err != nil {
			return err
		}
	}
	return nil
}

func (c *csvSink[T]) close() error {
	if !c.started { // a table with no rows still has its header
		if err := c.write(nil); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

type jsonSink[T any] struct {
	w    *bufio.Writer
	cols []column
	line []byte
}

func (j *jsonSink[T]) write(rows []T) error {
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		b := append(j.line[:0], '{')
		for k, col := range j.cols {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, col.name)
			b = append(b, ':')
			f := v.Field(col.index)
			s, ok := text(f)
			switch {
			case !ok:
				b = append(b, "null"...)
			case reflect.Indirect(f).Kind() == reflect.String:
				q, err := json.Marshal(s)
				if err != nil {
					return err
				}
				b = append(b, q...)
			default: // numbers and booleans as they print
				b = append(b, s...)
			}
		}
		b = append(b, '}', '\n')
		j.line = b
		if _, err := j.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (j *jsonSink[T]) close() error { return j.w.Flush() }

// rows writes the rows that next gives, batch by batch, to a sink: next
// appends the rows of unit i (a block) to buf and returns it. progress,
// if not nil, is called after each unit. It returns the rows written.
// It stops, with ctx's error, when ctx is done.
func rows[T any](ctx context.Context, w io.Writer, f Format, units int64, next func(i int64, buf []T) ([]T, error), progress func()) (int64, error) {
	s := newSink[T](w, f)
	var n int64
	buf := make([]T, 0, batch)
	for i := range units {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var err error
		if buf, err = next(i, buf); err != nil {
			return n, err
		}
		if len(buf) >= batch || i == units-1 {
			if err := s.write(buf); err != nil {
				return n, err
			}
			n += int64(len(buf))
			buf = buf[:0]
		}
		if progress != nil {
			progress()
		}
	}
	return n, s.close()
}
