package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
)

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints aligned columns for people.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) *table { return &table{tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)} }

func (t *table) row(cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(t.tw, strings.Join(parts, "\t"))
}

func (t *table) flush() { t.tw.Flush() }

// btcAmount prints satoshi as BTC with all eight decimals, exactly.
func btcAmount(sat int64) string {
	neg := sat < 0
	if neg {
		sat = -sat
	}
	s := fmt.Sprintf("%d.%08d", sat/1e8, sat%1e8)
	if neg {
		s = "-" + s
	}
	return s
}

// counted says n things, in the singular for one: "1 label", "2,500 labels".
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(int64(n)) + " " + many
}

// thousands groups digits for readability.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// tuneGC sets the GC's target percentage and soft memory limit, unless the
// user set GOGC or GOMEMLIMIT.
func tuneGC(percent int, limit int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(percent)
	debug.SetMemoryLimit(limit)
}

// stdinLines reads a list from standard input, one item a line, blank lines
// and # comments skipped.
func stdinLines() ([]string, error) {
	var out []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("standard input: %w", err)
	}
	return out, nil
}

// pageNote ends a page of a paged list: how many more there are and the
// --offset that shows them, or, for an offset past the end, that there is
// nothing there.
func pageNote(offset, shown, total int, what string) {
	switch {
	case offset+shown < total:
		fmt.Printf("\n%d more; use --offset %d\n", total-offset-shown, offset+shown)
	case shown == 0 && offset > 0 && offset >= total:
		fmt.Printf("\nnothing at --offset %d: %s %d in all\n", offset, what, total)
	}
}
