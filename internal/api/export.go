package api

import (
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/spur-forensics/spur/internal/export"
)

// maxExportBlocks bounds the blocks of one export request: it holds a view
// of the store (and an Ethereum follow's commits) while it runs; longer
// ranges go in several requests, or to spur export beside the server.
const maxExportBlocks = 10_000

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
	if rg.To < rg.From || rg.To-rg.From >= maxExportBlocks {
		return "", rg, badRequest("to", "from %d to %d: at most %d blocks a request, from first to last", rg.From, rg.To, maxExportBlocks)
	}
	return f, rg, nil
}

// btcExport writes a Bitcoin table over a range of blocks, as spur export.
func (s *Server) btcExport(w http.ResponseWriter, r *http.Request) error {
	f, rg, err := exportParams(r)
	if err != nil {
		return err
	}
	if !slices.Contains(export.BTCTables, r.PathValue("table")) {
		return badRequest("table", "no table %q on Bitcoin: want %v", r.PathValue("table"), export.BTCTables)
	}
	st := s.btc(r)
	if err := rg.Within(0, st.Height(), "heights"); err != nil {
		return &apiError{http.StatusNotFound, "not_found", err.Error(), "to"}
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
	f, rg, err := exportParams(r)
	if err != nil {
		return err
	}
	if !slices.Contains(export.EVMTables, r.PathValue("table")) {
		return badRequest("table", "no table %q on Ethereum: want %v", r.PathValue("table"), export.EVMTables)
	}
	c := es.Counts()
	if err := rg.Within(int64(c.First), int64(c.First+c.Blocks)-1, "blocks"); err != nil {
		return &apiError{http.StatusNotFound, "not_found", err.Error(), "to"}
	}
	return writeExport(w, f, func(out io.Writer) error {
		_, err := export.EVM(r.Context(), es, r.PathValue("table"), out, export.Options{Format: f, Range: rg})
		return err
	})
}

// writeExport writes an export with its format's content type.
func writeExport(w http.ResponseWriter, f export.Format, write func(io.Writer) error) error {
	w.Header().Set("Content-Type", exportTypes[f])
	return write(w)
}
