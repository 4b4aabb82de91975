package api

import (
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/spur-forensics/spur/internal/export"
)

// maxExportBlocks and maxExportWork bound one export request, in blocks
// and in transactions (Bitcoin) or transfers (Ethereum): it holds a view of
// the store (and an Ethereum follow's commits) while it runs, and must end
// well within the request's 30 seconds; longer ranges go in several
// requests, or to spur export beside the server.
const maxExportBlocks = 10_000

var maxExportWork uint64 = 2_000_000 // a variable for the tests

// exportTypes are the formats' content types.
var exportTypes = map[export.Format]string{
	export.CSV:     "text/csv; charset=utf-8",
	export.JSON:    "application/x-ndjson",
	export.Parquet: "application/vnd.apache.parquet",
}

// exportParams reads format, from and to; both ends are required.
func exportParams(r *http.Request) (export.Format, export.Range, error) {
	q := r.URL.Query()
	f := export.CSV
	if v := q.Get("format"); v != "" {
		var err error
		if f, err = export.ParseFormat(v); err != nil {
			return "", export.Range{}, badRequest("format", "format: %v", err)
		}
	}
	var rg export.Range
	for _, p := range []struct {
		name string
		v    *int64
	}{{"from", &rg.From}, {"to", &rg.To}} {
		n, err := strconv.ParseInt(q.Get(p.name), 10, 64)
		if err != nil || n < 0 {
			return "", rg, badRequest(p.name, "%s: a block height or number is required", p.name)
		}
		*p.v = n
	}
	switch {
	case rg.To < rg.From:
		return "", rg, badRequest("to", "to %d is before from %d", rg.To, rg.From)
	case rg.To-rg.From >= maxExportBlocks:
		return "", rg, badRequest("to", "from %d to %d: at most %d blocks a request", rg.From, rg.To, maxExportBlocks)
	}
	return f, rg, nil
}

// btcExport writes a Bitcoin table over a range of blocks, as spur export.
func (s *Server) btcExport(w http.ResponseWriter, r *http.Request) error {
	if !slices.Contains(export.BTCTables, r.PathValue("table")) {
		return badRequest("table", "no table %q on Bitcoin: want %v", r.PathValue("table"), export.BTCTables)
	}
	f, rg, err := exportParams(r)
	if err != nil {
		return err
	}
	st := s.btc(r)
	if err := rg.Within(0, st.Height(), "heights"); err != nil {
		return &apiError{http.StatusNotFound, "not_found", err.Error(), "to"}
	}
	first, _ := st.BlockTxs(rg.From)
	last, n := st.BlockTxs(rg.To)
	if err := tooMuch(last+n-first, "transactions"); err != nil {
		return err
	}
	return writeExport(w, f, func(out io.Writer) error {
		_, err := export.BTC(r.Context(), st, r.PathValue("table"), out, export.Options{Format: f, Range: rg})
		return err
	})
}

// ethExport writes an Ethereum table over a range of blocks, as spur
// export --chain eth.
func (s *Server) ethExport(w http.ResponseWriter, r *http.Request) error {
	es, err := s.evm()
	if err != nil {
		return err
	}
	if !slices.Contains(export.EVMTables, r.PathValue("table")) {
		return badRequest("table", "no table %q on Ethereum: want %v", r.PathValue("table"), export.EVMTables)
	}
	f, rg, err := exportParams(r)
	if err != nil {
		return err
	}
	c := es.Counts()
	if err := rg.Within(int64(c.First), int64(c.First+c.Blocks)-1, "blocks"); err != nil {
		return &apiError{http.StatusNotFound, "not_found", err.Error(), "to"}
	}
	first, last := es.Block(uint64(rg.From)-c.First), es.Block(uint64(rg.To)-c.First)
	if err := tooMuch(last.FirstXfer+last.NumXfer-first.FirstXfer, "transfers"); err != nil {
		return err
	}
	return writeExport(w, f, func(out io.Writer) error {
		_, err := export.EVM(r.Context(), es, r.PathValue("table"), out, export.Options{Format: f, Range: rg})
		return err
	})
}

// tooMuch refuses a range of more than maxExportWork transactions or
// transfers.
func tooMuch(n uint64, what string) error {
	if n > maxExportWork {
		return badRequest("to", "the blocks asked hold %d %s: at most %d a request", n, what, maxExportWork)
	}
	return nil
}

// writeExport writes an export with its format's content type. An export
// that fails once it has begun (the request's time ran out) breaks the
// connection: a table cut short must not arrive as a whole one.
func writeExport(w http.ResponseWriter, f export.Format, write func(io.Writer) error) error {
	w.Header().Set("Content-Type", exportTypes[f])
	cw := &countWriter{w: w}
	err := write(cw)
	if err != nil && cw.n > 0 {
		panic(http.ErrAbortHandler)
	}
	return err
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
