package api

import (
	"bytes"
	"context"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/graph"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/names"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/report"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
)

//go:embed web
var webFS embed.FS

//go:embed openapi.json
var openAPI []byte

// Config sets up a server. Zero values take the defaults in brackets.
type Config struct {
	Store *store.Store // the Bitcoin store (required)
	// Live, when an ingest in the same process grows Store, gives each
	// request a view of the latest commit; Store is then not read.
	Live *store.Live
	// NodeHeight, when following a node, is its tip at the last poll (-1
	// before the first); /metrics reports the ingest lag from it.
	NodeHeight func() int64
	// NodeUp, when following a node, says whether its last poll was
	// answered: 1, or 0; -1 before the first.
	NodeUp func() int
	// NodeTx, when a Bitcoin node is followed, asks it for a transaction
	// the store does not hold (getrawtransaction: one in its mempool): a
	// tx to screen that is in no stored block yet is screened on it.
	NodeTx func(ctx context.Context, txid btc.Hash) ([]byte, error)
	// Mempool, when a follow reads the node's mempool (spur serve
	// --mempool), is the number of transactions of its last read (-1
	// before the first).
	Mempool  func() int64
	Labels   *label.Store      // labels, lists, incidents, keys (required)
	Clusters *cluster.Clusters // nil before spur cluster has run; replaced by ClusteringChanged
	EVM      *evmstore.Store   // the Ethereum store, if any: reports then cover both chains
	// Webhook, when alerts are posted (spur serve --alert-webhook), counts
	// them for /metrics: taken by the receiver, refused, lost, queued.
	Webhook func() (taken, refused, lost, queued int64)
	// EVMLive, when a follow in the same process grows EVM, makes each
	// request hold off its commits (evmstore.Store.Read) while it reads;
	// EVMNodeHeight and EVMNodeUp are then that node's, as NodeHeight and
	// NodeUp are the Bitcoin node's.
	EVMLive       bool
	EVMNodeHeight func() int64
	EVMNodeUp     func() int
	NoAuth        bool         // serve /v1 without API keys (tests, loopback demos)
	Rate          float64      // requests per second per key [20]
	Burst         int          // bucket size per key [40]
	MaxBody       int64        // request body bytes [4 MiB]
	MaxBatch      int          // items per screening request [1000]
	Logger        *slog.Logger // nil: silent
	Rules         Rules        // severity rules [DefaultRules]
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	lim     *limiter
	metrics *metrics
	routes  []string
	// names is the name index of the imported lists, built at the first
	// name screen after the server starts or the labels change.
	namesMu sync.Mutex
	names   *names.Index
	// rules are the severity rules in force: cfg.Rules, until SetRules.
	rules atomic.Pointer[Rules]
	// lc is what screening keeps of the labels, made again when they
	// change (LabelsChanged): a request that began before keeps to the
	// old one.
	lc atomic.Pointer[labelCaches]
	// lcMu orders the replacements of lc (LabelsChanged,
	// ClusteringChanged), each made from the one before.
	lcMu sync.Mutex
	// evmScr is what screening on the Ethereum store reads, made at the
	// first screen and again (extended) when the store has grown.
	evmScrMu sync.Mutex
	evmScr   atomic.Pointer[evmScreening]
	// evmEnt is the Ethereum store's entities alerts by_entity made last,
	// from evmPass, both held under evmEntMu.
	evmEntMu sync.Mutex
	evmEnt   *evmEntityCache
	evmPass  cluster.EVMPass
}

type viewKey struct{}

// btc is the Bitcoin store a request reads: its view of a live store, or
// the store.
func (s *Server) btc(r *http.Request) *store.Store {
	if v, ok := r.Context().Value(viewKey{}).(*store.Store); ok {
		return v
	}
	return s.cfg.Store
}

// New returns a server for the store.
func New(cfg Config) *Server {
	if cfg.Rate == 0 {
		cfg.Rate = 20
	}
	if cfg.Burst == 0 {
		cfg.Burst = 40
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 4 << 20
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 1000
	}
	if cfg.Rules == nil {
		cfg.Rules = DefaultRules()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), lim: newLimiter(cfg.Rate, cfg.Burst), metrics: newMetrics()}
	s.lc.Store(s.newLabelCaches(cfg.Clusters))
	s.rules.Store(&cfg.Rules)
	// The investigation page: static files, no build step, not part of
	// the API (it calls the API from the browser).
	ui, _ := fs.Sub(webFS, "web")
	s.mux.Handle("GET /ui/", http.StripPrefix("/ui/", http.FileServerFS(ui)))
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusFound) })
	s.handle("GET /healthz", false, s.healthz)
	s.handle("GET /metrics", false, s.serveMetrics)
	s.handle("GET /openapi.json", false, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write(openAPI)
		return err
	})
	s.handle("GET /v1/btc/addresses/{address}", true, s.withBTC(s.address))
	s.handle("GET /v1/btc/txs/{hash}", true, s.withBTC(s.tx))
	s.handle("GET /v1/btc/blocks/{id}", true, s.withBTC(s.block))
	s.handle("GET /v1/eth/addresses/{address}", true, s.ethAddress)
	s.handle("GET /v1/eth/txs/{hash}", true, s.ethTx)
	s.handle("GET /v1/eth/blocks/{id}", true, s.ethBlock)
	s.handle("GET /v1/btc/export/{table}", true, s.withBTC(s.btcExport))
	s.handle("GET /v1/eth/export/{table}", true, s.ethExport)
	s.handle("GET /v1/btc/alerts", true, s.withBTC(s.btcAlerts))
	s.handle("GET /v1/eth/alerts", true, s.ethAlerts)
	s.handle("GET /v1/entities/{id}", true, s.withBTC(s.entity))
	s.handle("POST /v1/screen", true, s.screen)
	s.handle("POST /v1/names/screen", true, s.namesScreen)
	s.handle("POST /v1/trace", true, s.trace)
	s.handle("GET /v1/incidents", true, s.incidents)
	s.handle("GET /v1/sources", true, s.sources)
	// Reports need the Bitcoin store only for incidents with a part there.
	s.handle("GET /v1/reports/actor/{name}", true, s.actorReport)
	s.handle("GET /v1/reports/incident/{id}", true, s.incidentReport)
	// Anything else under /v1 gets an error a client can read, not the
	// mux's plain text (a method the route does not take included).
	s.mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		if methods := s.methodsOf(r.URL.Path); len(methods) > 0 {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": &apiError{http.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("%s takes %s, not %s", r.URL.Path, strings.Join(methods, " or "), r.Method), ""}})
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"error": &apiError{http.StatusNotFound, "not_found",
			fmt.Sprintf("no endpoint %s %s (see /openapi.json)", r.Method, r.URL.Path), ""}})
	})
	return s
}

// methodsOf lists the methods of the routes whose pattern path matches,
// a {name} matching any one non-empty segment.
func (s *Server) methodsOf(path string) []string {
	var methods []string
	segs := strings.Split(path, "/")
	for _, route := range s.routes {
		method, pattern, _ := strings.Cut(route, " ")
		want := strings.Split(pattern, "/")
		if len(want) != len(segs) {
			continue
		}
		match := true
		for i, w := range want {
			if strings.HasPrefix(w, "{") && segs[i] != "" || w == segs[i] {
				continue
			}
			match = false
			break
		}
		if match && !slices.Contains(methods, method) {
			methods = append(methods, method)
		}
	}
	return methods
}

// errNoBTC answers a request that needs the Bitcoin store of a server
// that has none (one serving labels, or an EVM chain, alone).
var errNoBTC = &apiError{http.StatusNotFound, "not_found", "this server holds no Bitcoin store (spur ingest btc)", ""}

// withBTC answers errNoBTC for a handler that needs the Bitcoin store.
func (s *Server) withBTC(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.btc(r) == nil {
			return errNoBTC
		}
		return h(w, r)
	}
}

// Routes lists the routes served, as "METHOD /path".
func (s *Server) Routes() []string { return s.routes }

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// apiError is an error with its HTTP status and the request field at fault.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func badRequest(field, format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "bad_request", fmt.Sprintf(format, args...), field}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// handle registers a route with metrics, errors as JSON, and (for /v1)
// API keys and rate limits.
func (s *Server) handle(pattern string, protected bool, h func(http.ResponseWriter, *http.Request) error) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		err := func() error {
			if protected {
				key, err := s.authorize(r)
				if err != nil {
					return err
				}
				if ok, wait := s.lim.allow(key, time.Now()); !ok {
					sw.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
					return &apiError{http.StatusTooManyRequests, "rate_limited", "too many requests for this key; retry later", ""}
				}
			}
			r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBody)
			ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
			defer cancel()
			if s.cfg.Live != nil {
				// A view never waits for the ingest (only an unwind
				// waits for the views).
				v, release := s.cfg.Live.Acquire()
				defer release()
				ctx = context.WithValue(ctx, viewKey{}, v)
			}
			if s.cfg.EVMLive && s.cfg.EVM != nil {
				// The Ethereum follow's commits (a block's, at the
				// tip: milliseconds) wait for the request, and it for
				// them.
				defer s.cfg.EVM.Read()()
			}
			return h(sw, r.WithContext(ctx))
		}()
		if err != nil {
			var ae *apiError
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &ae):
			case errors.As(err, &mbe):
				ae = &apiError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", s.cfg.MaxBody), ""}
			case errors.Is(err, store.ErrNotFound), errors.Is(err, evmstore.ErrNotFound):
				ae = &apiError{http.StatusNotFound, "not_found", err.Error(), ""}
			case errors.Is(err, query.ErrBadRef), errors.Is(err, btc.ErrCorrupt):
				ae = &apiError{http.StatusBadRequest, "bad_request", err.Error(), ""}
			case errors.Is(err, cluster.ErrNoClustering):
				ae = &apiError{http.StatusConflict, "not_clustered", err.Error(), ""}
			default:
				s.cfg.Logger.Error("request failed", "route", pattern, "err", err)
				ae = &apiError{http.StatusInternalServerError, "internal", "internal error", ""}
			}
			if sw.written {
				// Failed half way (the client went away, say): the status
				// is sent; only the metrics and the log learn of it.
				sw.status = ae.Status
			} else {
				writeJSON(sw, ae.Status, map[string]any{"error": ae})
			}
		}
		s.metrics.observe(pattern, sw.status, time.Since(start))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status  int
	written bool // the header has gone out: an error can no longer replace the response
}

func (w *statusWriter) WriteHeader(code int) {
	w.status, w.written = code, true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

// authorize checks the API key (Authorization: Bearer KEY, or X-API-Key)
// and returns its name, the rate limit's key.
func (s *Server) authorize(r *http.Request) (string, error) {
	if s.cfg.NoAuth {
		return "anonymous", nil
	}
	key := r.Header.Get("X-API-Key")
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		key = strings.TrimPrefix(a, "Bearer ")
	}
	if key == "" {
		return "", &apiError{http.StatusUnauthorized, "unauthorized", "an API key is required (Authorization: Bearer KEY); create one with spur keys create", ""}
	}
	name, ok := s.cfg.Labels.KeyName(HashKey(key))
	if !ok {
		return "", &apiError{http.StatusUnauthorized, "unauthorized", "unknown API key", ""}
	}
	return name, nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	out := map[string]any{"ok": true}
	if st := s.btc(r); st != nil {
		out["network"], out["height"], out["tip"] = st.Network().Name, st.Height(), st.TipHash().String()
		// Following a node: what the metrics give, for a check that reads
		// JSON.
		for k, v := range followed(st.Height(), s.cfg.NodeHeight, s.cfg.NodeUp) {
			out[k] = v
		}
	}
	if es := s.cfg.EVM; es != nil {
		e := map[string]any{"chain": es.Chain()}
		if n, h, ok := es.Tip(); ok {
			e["number"], e["hash"] = n, h.Hex()
			for k, v := range followed(int64(n), s.cfg.EVMNodeHeight, s.cfg.EVMNodeUp) {
				e[k] = v
			}
		}
		out["evm"] = e
	}
	return writeJSON(w, 200, out)
}

// followed is what a followed node's height and answers say beside the
// store's tip: node_height, lag_blocks, node_up, each once known, and
// node_behind_blocks while the node is below the tip (syncing anew, say:
// the store waits for it).
func followed(tip int64, height func() int64, up func() int) map[string]any {
	out := map[string]any{}
	if height != nil {
		if nh := height(); nh >= 0 {
			out["node_height"], out["lag_blocks"] = nh, max(nh-tip, 0)
			if nh < tip {
				out["node_behind_blocks"] = tip - nh
			}
		}
	}
	if up != nil {
		if u := up(); u >= 0 {
			out["node_up"] = u == 1
		}
	}
	return out
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest(name, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

// page reads the limit (default def, at most max) and offset parameters.
func page(r *http.Request, def, max int) (limit, offset int, err error) {
	if limit, err = intParam(r, "limit", def, 0, max); err != nil {
		return 0, 0, err
	}
	offset, err = intParam(r, "offset", 0, 0, 1<<30)
	return limit, offset, err
}

func (s *Server) address(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := page(r, 0, 1000)
	if err != nil {
		return err
	}
	addr := r.PathValue("address")
	if _, err := btc.ParseAddress(addr, s.btc(r).Network()); err != nil {
		return badRequest("address", "%v", err)
	}
	v, err := s.btc(r).AddressView(addr, offset, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, v)
}

func (s *Server) tx(w http.ResponseWriter, r *http.Request) error {
	h, err := btc.ParseHash(r.PathValue("hash"))
	if err != nil {
		return badRequest("hash", "%v", err)
	}
	st := s.btc(r)
	n, err := st.TxNum(h)
	if err != nil {
		return err
	}
	v, err := st.TxView(n)
	if err != nil {
		return err
	}
	var shape cluster.TxShape
	var cj *cluster.CoinJoin
	if cluster.Shape(st, n, &shape) {
		cj = cluster.DetectCoinJoin(&shape)
	}
	return writeJSON(w, 200, struct {
		*store.TxView
		CoinJoin *cluster.CoinJoin `json:"coinjoin"`
	}{v, cj})
}

func (s *Server) block(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := page(r, 100, 10000)
	if err != nil {
		return err
	}
	h, err := query.BlockHeight(s.btc(r), r.PathValue("id"))
	if errors.Is(err, query.ErrBadRef) {
		return badRequest("id", "%v", err)
	}
	if err != nil {
		return err
	}
	v, err := s.btc(r).BlockView(h, offset, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, v)
}

func (s *Server) entity(w http.ResponseWriter, r *http.Request) error {
	clusters := s.Clusters()
	if clusters == nil {
		return cluster.ErrNoClustering
	}
	limit, err := intParam(r, "limit", 100, 1, 10000)
	if err != nil {
		return err
	}
	offset, err := intParam(r, "offset", 0, 0, 1<<30)
	if err != nil {
		return err
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 32)
	if err != nil {
		return badRequest("id", "entity id %q is not a number", r.PathValue("id"))
	}
	if r.URL.Query().Get("txs") != "" {
		txs, more, err := query.EntityTxs(s.btc(r), clusters, uint32(id), offset, limit)
		if err != nil {
			return err
		}
		return writeJSON(w, 200, map[string]any{"id": id, "txs": txs, "offset": offset, "limit": limit, "more": more})
	}
	v, err := query.Entity(s.btc(r), clusters, s.cfg.Labels, uint32(id), offset, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, v)
}

// reportParams reads a report's model (fifo by default) and format (json
// or html).
func reportParams(r *http.Request) (model, format string, err error) {
	model = r.URL.Query().Get("model")
	if model == "" {
		model = trace.FIFO
	}
	if model != trace.FIFO && model != trace.Haircut && model != trace.Poison {
		return "", "", badRequest("model", "model: want fifo, haircut or poison")
	}
	format = r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "html" && format != "csv" {
		return "", "", badRequest("format", "format: want json, html or csv")
	}
	return model, format, nil
}

func (s *Server) actorReport(w http.ResponseWriter, r *http.Request) error {
	year, err := intParam(r, "year", 0, 2009, 2100)
	if err != nil || year == 0 {
		return badRequest("year", "year is required, 2009..2100")
	}
	model, format, err := reportParams(r)
	if err != nil {
		return err
	}
	rep, err := report.ForActor(store.ReaderOf(s.btc(r)), evmstore.ReaderOf(s.cfg.EVM), s.cfg.Labels, r.PathValue("name"), year, model)
	if err != nil {
		return err
	}
	return writeReport(w, format, rep)
}

// writeReport writes a report as the page (format html), CSV or JSON.
func writeReport(w http.ResponseWriter, format string, rep interface {
	HTML() string
	CSV() string
}) error {
	switch format {
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, err := io.WriteString(w, rep.HTML())
		return err
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		_, err := io.WriteString(w, rep.CSV())
		return err
	}
	return writeJSON(w, 200, rep)
}

func (s *Server) incidentReport(w http.ResponseWriter, r *http.Request) error {
	model, format, err := reportParams(r)
	if err != nil {
		return err
	}
	incs, err := s.cfg.Labels.Incidents()
	if err != nil {
		return err
	}
	for _, inc := range incs {
		if inc.ID != r.PathValue("id") {
			continue
		}
		rep, err := report.ForIncident(store.ReaderOf(s.btc(r)), evmstore.ReaderOf(s.cfg.EVM), s.cfg.Labels, inc, model)
		if err != nil {
			return err
		}
		return writeReport(w, format, rep)
	}
	return &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("incident %q (spur incident import)", r.PathValue("id")), "id"}
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request) error {
	incs, err := s.cfg.Labels.Incidents()
	if err != nil {
		return err
	}
	if incs == nil {
		incs = []label.Incident{}
	}
	return writeJSON(w, 200, map[string]any{"incidents": incs})
}

// sources lists the imported label sources, each with the day its list
// says it is of: what screening answers against.
func (s *Server) sources(w http.ResponseWriter, r *http.Request) error {
	srcs, err := s.cfg.Labels.Sources()
	if err != nil {
		return err
	}
	if srcs == nil {
		srcs = []label.SourceInfo{}
	}
	return writeJSON(w, 200, map[string]any{"sources": srcs})
}

func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json", ""}
	}
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return badRequest("", "the body: want %s, got %s", jsonKind(te.Type), jsonValue(te.Value))
			}
			return badRequest(te.Field, "field %s: want %s, got %s", te.Field, jsonKind(te.Type), jsonValue(te.Value))
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return badRequest(strings.Trim(f, `"`), "unknown field %s: the body takes %s", f, jsonFields(reflect.TypeOf(v)))
		}
		return badRequest("", "body is not valid JSON: %v", err)
	}
	// One JSON value: what follows it would be read by no one.
	end := d.InputOffset()
	if _, err := d.Token(); err != io.EOF {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return err
		}
		return badRequest("", "body is not valid JSON: more follows the value that ends at offset %d", end)
	}
	return nil
}

// jsonFields names the fields a body of type t takes, and those of the
// objects its arrays hold ("items (each: address, tx, chain, direction)"):
// where in the body an unknown field was, encoding/json does not say.
func jsonFields(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if e := f.Type; e.Kind() == reflect.Slice && e.Elem().Kind() == reflect.Struct {
			name += " (each: " + jsonFields(e.Elem()) + ")"
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}

// jsonKind names what JSON value a Go type is read from, for an error
// message: "an array", not "[]api.ScreenItem".
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}

// jsonValue names the kind of JSON value encoding/json found ("array",
// "number 1.5", ...) with its article.
func jsonValue(v string) string {
	switch {
	case v == "array", v == "object":
		return "an " + v
	case v == "string", v == "bool", v == "number", strings.HasPrefix(v, "number "):
		return "a " + v
	}
	return v
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Chain      string   `json:"chain"`
		From       []string `json:"from"`
		Model      string   `json:"model"`
		MaxHops    int      `json:"max_hops"`
		MinValue   int64    `json:"min_value"`
		MaxFanOut  int      `json:"max_fanout"`
		MixerLinks bool     `json:"mixer_links"`
		Direction  string   `json:"direction"`
		Format     string   `json:"format"`
		Cross      bool     `json:"cross"`
		Until      string   `json:"until"` // YYYY-MM-DD: the picture at the end of that day
		Since      string   `json:"since"` // YYYY-MM-DD: backward, explained no further back
		// MinConfidence bounds the heuristic links of format labels.
		MinConfidence *float64 `json:"min_confidence"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	switch req.Format {
	case "", "json", "dot", "svg", "graphml", "labels":
	default:
		return badRequest("format", "format: want json, dot, svg, graphml or labels")
	}
	backward := false
	switch req.Direction {
	case "", "forward":
	case "backward":
		backward = true
	default:
		return badRequest("direction", "direction: want forward or backward")
	}
	if req.Format == "labels" && backward {
		return badRequest("format", "format labels: where a forward trace's taint is held, not a backward trace's sources")
	}
	minConf := trace.HolderConfidence
	if req.MinConfidence != nil {
		if req.Format != "labels" || *req.MinConfidence < 0 || *req.MinConfidence > 1 {
			return badRequest("min_confidence", "min_confidence: 0 to 1, bounding the heuristic links of format labels")
		}
		minConf = *req.MinConfidence
	}
	if len(req.From) == 0 || len(req.From) > 100 {
		return badRequest("from", "from: give 1 to 100 references")
	}
	if req.Model == "" {
		req.Model = trace.FIFO
	}
	if req.Model != trace.FIFO && req.Model != trace.Haircut && req.Model != trace.Poison {
		return badRequest("model", "model: want fifo, haircut or poison")
	}
	if req.MaxHops < 0 || req.MaxHops > 1000 {
		return badRequest("max_hops", "max_hops must be 0..1000")
	}
	if req.MinValue < 0 {
		return badRequest("min_value", "min_value must not be negative")
	}
	if req.MaxFanOut < 0 || req.MaxFanOut > 0 && backward {
		return badRequest("max_fanout", "max_fanout: a bound of forward traces, 0 or more")
	}
	if req.Cross && (req.Chain == "" || req.Chain == "btc" || backward) {
		return badRequest("cross", "cross: carries a forward trace on an EVM chain over its bridges to Bitcoin")
	}
	var until, since time.Time
	if req.Until != "" {
		d, err := time.Parse("2006-01-02", req.Until)
		if err != nil {
			return badRequest("until", "until: want a date YYYY-MM-DD")
		}
		until = d.Add(24*time.Hour - time.Second) // the whole day, as spur trace --until
	}
	if req.Since != "" {
		d, err := time.Parse("2006-01-02", req.Since)
		if err != nil || !backward {
			return badRequest("since", "since: a date YYYY-MM-DD bounding a backward trace")
		}
		since = d
	}
	switch req.Chain {
	case "", "btc":
		if s.btc(r) == nil {
			return errNoBTC
		}
	case "eth":
		// The account model, as spur trace --chain eth.
		es, err := s.evm()
		if err != nil {
			return err
		}
		starts, err := query.EVMStarts(es, s.cfg.Labels, req.From)
		if err != nil {
			return err
		}
		o, err := query.EVMTraceOptions(es, s.cfg.Labels, req.Model, req.MixerLinks)
		if err != nil {
			return err
		}
		o.Until, o.Since, o.MaxHops, o.MaxFanOut = until, since, req.MaxHops, req.MaxFanOut // the hops bound a backward trace
		run := trace.TraceEVM
		if backward {
			run = trace.TraceEVMBackward
		}
		res, err := run(es, starts, o)
		if err != nil {
			return badRequest("from", "%v", err)
		}
		// Over the bridges to Bitcoin, as spur trace --cross.
		var crossed *query.Crossing
		if req.Cross {
			if s.btc(r) == nil {
				return errNoBTC
			}
			if crossed, err = query.CrossToBTC(s.btc(r), es, s.cfg.Labels, res, req.Model); err != nil {
				return err
			}
		}
		if req.Format == "labels" {
			service := trace.ServiceAt(es, o.Services)
			return s.writeHolders(w, res.Holders(minConf, service), req.From, res.Model, query.TokenDecimals(es))
		}
		startDay := query.EVMStartDay(es, starts)
		if slices.Contains(graph.Formats, req.Format) {
			return writeGraph(w, graph.FromEVMTrace(es, s.cfg.Labels, res, backward, graph.Title(res.Model, backward, req.From), crossed, startDay), req.Format)
		}
		// USD at each flow's day, as the page shows on the edges.
		dec := query.TokenDecimals(es)
		type usdFlow struct {
			trace.EVMFlow
			USD float64 `json:"usd"`
		}
		flows := make([]usdFlow, len(res.Flows))
		for i, f := range res.Flows {
			flows[i] = usdFlow{f, query.EVMUSD(s.cfg.Labels, dec, f.Asset, f.Amount, query.EVMBlockDay(es, f.Block))}
		}
		dests, now := query.EVMDestinations(es, s.cfg.Labels, dec, res, startDay)
		// Each chain read as of its tip: Bitcoin's too when the trace
		// crossed onto it.
		var btcRead store.Reader
		if crossed != nil {
			btcRead = store.ReaderOf(s.btc(r))
		}
		return writeJSON(w, 200, struct {
			*trace.EVMResult
			NowDay       string                 `json:"now_day,omitempty"`
			Flows        []usdFlow              `json:"flows"`
			Destinations []query.EVMDestination `json:"destinations"`
			Crossed      *query.Crossing        `json:"crossed,omitempty"`
			AsOf         map[string]ChainTip    `json:"as_of"`
		}{res, now, flows, dests, crossed, query.AsOf(btcRead, es)})
	default:
		return badRequest("chain", "chain: want btc or eth")
	}
	starts, day, err := query.ResolveRefs(s.btc(r), s.cfg.Labels, req.From)
	if err != nil {
		return err
	}
	opts := trace.Options{Model: req.Model, MaxHops: req.MaxHops, MinValue: req.MinValue, MaxFanOut: req.MaxFanOut, MaxTxs: 200_000, MixerLinks: req.MixerLinks, Until: until, Since: since}
	if opts.Services, opts.HotWallets, err = query.Services(s.btc(r), s.cfg.Labels); err != nil {
		return err
	}
	run := trace.Forward
	if backward {
		run = trace.Backward
	}
	res, err := run(s.btc(r), starts, opts)
	if err != nil {
		return badRequest("from", "%v", err)
	}
	if req.Format == "labels" {
		return s.writeHolders(w, res.Holders(minConf), req.From, res.Model, map[string]int{"BTC": 8})
	}
	// USD at the start day's close (spur prices import), as spur trace.
	price, havePrice := s.cfg.Labels.Price("BTC", day)
	if slices.Contains(graph.Formats, req.Format) {
		var usd func(int64) float64
		if havePrice {
			usd = func(sat int64) float64 { return float64(sat) / 1e8 * price }
		}
		return writeGraph(w, graph.FromBTC(res, backward, graph.Title(res.Model, backward, req.From), usd), req.Format)
	}
	type usdFlow struct {
		trace.Flow
		USD float64 `json:"usd"`
	}
	flows := make([]usdFlow, len(res.Flows))
	for i, f := range res.Flows {
		flows[i] = usdFlow{f, float64(int64(float64(f.Amount)/1e8*price*100+0.5)) / 100}
	}
	dests, now, err := query.BTCDestinations(s.btc(r), query.Loaded(s.Clusters()), s.cfg.Labels, res, day)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, struct {
		*trace.Result
		NowDay       string                 `json:"now_day,omitempty"`
		Flows        []usdFlow              `json:"flows"`
		Destinations []query.BTCDestination `json:"destinations"`
		AsOf         map[string]ChainTip    `json:"as_of"`
	}{res, now, flows, dests, query.AsOf(store.ReaderOf(s.btc(r)), nil)})
}

// writeHolders answers the addresses holding a trace's taint as the label
// CSV spur trace --format labels writes.
func (s *Server) writeHolders(w http.ResponseWriter, hs []trace.Holder, refs []string, model string, decimals map[string]int) error {
	ls, err := query.HolderLabels(hs, s.cfg.Labels, refs, model, decimals)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := label.WriteCSV(&b, ls); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(200)
	_, err = w.Write(b.Bytes())
	return err
}

// writeGraph answers with a trace's graph in one of graph.Formats.
func writeGraph(w http.ResponseWriter, g *graph.Graph, format string) error {
	var b bytes.Buffer
	if err := g.Write(&b, format); err != nil {
		return err
	}
	w.Header().Set("Content-Type", graph.ContentType(format))
	w.WriteHeader(200)
	_, err := w.Write(b.Bytes())
	return err
}

func (s *Server) namesScreen(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Queries  []names.Query `json:"queries"`
		MinScore float64       `json:"min_score"`
		Limit    int           `json:"limit"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if len(req.Queries) == 0 || len(req.Queries) > s.cfg.MaxBatch {
		return badRequest("queries", "queries: give 1 to %d", s.cfg.MaxBatch)
	}
	if req.MinScore < 0 || req.MinScore > 1 {
		return badRequest("min_score", "min_score must be in [0,1]")
	}
	if req.Limit < 0 || req.Limit > 100 {
		return badRequest("limit", "limit must be 0..100 (0: 10)")
	}
	for i, q := range req.Queries {
		if q.Name == "" && q.ID == "" {
			return badRequest(fmt.Sprintf("queries[%d].name", i), "query %d has neither a name nor an id", i)
		}
	}
	x, err := s.nameIndex()
	if err != nil {
		return err
	}
	type result struct {
		Query   names.Query   `json:"query"`
		Matches []names.Match `json:"matches"`
	}
	// Queries of a batch are screened on every core.
	out := make([]result, len(req.Queries))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = result{req.Queries[i], x.Screen(req.Queries[i], names.Options{MinScore: req.MinScore, Limit: req.Limit})}
			}
		}()
	}
	for i := range req.Queries {
		next <- i
	}
	close(next)
	wg.Wait()
	return writeJSON(w, 200, map[string]any{"results": out})
}

// nameIndex builds the name index from the imported lists on first use.
func (s *Server) nameIndex() (*names.Index, error) {
	s.namesMu.Lock()
	defer s.namesMu.Unlock()
	if s.names == nil {
		var es []label.Entity
		if err := s.cfg.Labels.Entities("", func(e label.Entity) error { es = append(es, e); return nil }); err != nil {
			return nil, err
		}
		s.names = names.NewIndex(es)
	}
	return s.names, nil
}

// labelCaches is what screening keeps of the labels and the clustering
// while they stay as they are.
type labelCaches struct {
	// clusters is the clustering (nil before spur cluster has run): a
	// request reads the entities of the caches it took, and so the
	// entities' categories cached beside them.
	clusters *cluster.Clusters
	// labelled holds the store's address numbers that carry a label (nil:
	// unknown, look every address up).
	labelled map[uint32]struct{}
	// labelledBelow is the address count when labelled was made: newer
	// addresses (a live store's) are looked up.
	labelledBelow uint32
	// entityCat caches each entity's most severe category (uint32 -> string),
	// entities each large entity's screening summary (uint32 ->
	// *query.ScreenEntity).
	entityCat, entities sync.Map
	// kept holds busy addresses' exposures (exposureKey -> exposurePair),
	// keptN counts them.
	kept  sync.Map
	keptN atomic.Int64
}

// newLabelCaches reads the labelled addresses of the store afresh.
func (s *Server) newLabelCaches(clusters *cluster.Clusters) *labelCaches {
	c := &labelCaches{clusters: clusters}
	if s.cfg.Labels == nil {
		return c
	}
	if err := s.cfg.Labels.CacheKeys(); err != nil {
		// Lookups still work, from the database.
		s.cfg.Logger.Warn("labels: cannot cache the labelled addresses", "err", err)
	} else if s.cfg.Store != nil {
		st, release := s.cfg.Store, func() {}
		if s.cfg.Live != nil {
			st, release = s.cfg.Live.Acquire()
		}
		c.labelled = labelledAddrs(st, s.cfg.Labels, s.cfg.Logger)
		c.labelledBelow = uint32(st.Counts().Addrs)
		release()
	}
	return c
}

// SetRules puts rules in force for the screens that begin after it (a
// rules file read again while the server runs).
func (s *Server) SetRules(rules Rules) { s.rules.Store(&rules) }

// LabelsChanged takes into screening the labels imported into the
// server's label store while it runs (label.Store.ApplyPending): what it
// kept of the old ones is made again.
func (s *Server) LabelsChanged() {
	s.lcMu.Lock()
	s.lc.Store(s.newLabelCaches(s.lc.Load().clusters))
	s.lcMu.Unlock()
	s.evmScr.Store(nil)
	s.namesMu.Lock()
	s.names = nil
	s.namesMu.Unlock()
}

// ClusteringChanged puts clustering c in force for the requests that
// begin after it (spur serve --cluster re-clusters after each sync, and a
// spur cluster run beside the server writes a new one): what screening
// kept of the entities, and the exposures read through them, is dropped;
// the labelled addresses are kept.
func (s *Server) ClusteringChanged(c *cluster.Clusters) {
	s.lcMu.Lock()
	defer s.lcMu.Unlock()
	old := s.lc.Load()
	s.lc.Store(&labelCaches{clusters: c, labelled: old.labelled, labelledBelow: old.labelledBelow})
}

// Clusters is the clustering in force (nil before spur cluster has run).
func (s *Server) Clusters() *cluster.Clusters { return s.lc.Load().clusters }

// metrics counts requests and their latency per route and status, and
// prints them in Prometheus' text format.
type metrics struct {
	mu    sync.Mutex
	count map[[2]string]int64
	secs  map[string]float64
	n     map[string]int64
}

func newMetrics() *metrics {
	return &metrics{count: map[[2]string]int64{}, secs: map[string]float64{}, n: map[string]int64{}}
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count[[2]string{route, strconv.Itoa(status)}]++
	m.secs[route] += d.Seconds()
	m.n[route]++
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	m := s.metrics
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteString("# HELP spur_requests_total HTTP requests by route and status.\n# TYPE spur_requests_total counter\n")
	keys := make([][2]string, 0, len(m.count))
	for k := range m.count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "spur_requests_total{route=%q,code=%q} %d\n", k[0], k[1], m.count[k])
	}
	b.WriteString("# HELP spur_request_seconds Time spent answering, by route.\n# TYPE spur_request_seconds summary\n")
	routes := make([]string, 0, len(m.n))
	for r := range m.n {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		fmt.Fprintf(&b, "spur_request_seconds_sum{route=%q} %g\nspur_request_seconds_count{route=%q} %d\n", r, m.secs[r], r, m.n[r])
	}
	// Each chain's tip, and where a node is followed its height, the lag
	// and whether it answers (the height and lag are those of its last
	// answer: node_up says whether it still answers).
	var height, nodeHeight, lag, up []string
	chain := func(name string, tip int64, nh func() int64, nu func() int) {
		height = append(height, fmt.Sprintf("spur_store_height{chain=%q} %d\n", name, tip))
		if nh != nil {
			if h := nh(); h >= 0 {
				nodeHeight = append(nodeHeight, fmt.Sprintf("spur_node_height{chain=%q} %d\n", name, h))
				lag = append(lag, fmt.Sprintf("spur_ingest_lag_blocks{chain=%q} %d\n", name, max(h-tip, 0)))
			}
		}
		if nu != nil {
			if u := nu(); u >= 0 {
				up = append(up, fmt.Sprintf("spur_node_up{chain=%q} %d\n", name, u))
			}
		}
	}
	if st := s.btc(r); st != nil {
		chain("btc", st.Height(), s.cfg.NodeHeight, s.cfg.NodeUp)
	}
	if es := s.cfg.EVM; es != nil {
		if n, _, ok := es.Tip(); ok {
			chain(es.Chain(), int64(n), s.cfg.EVMNodeHeight, s.cfg.EVMNodeUp)
		}
	}
	if s.cfg.Mempool != nil {
		if n := s.cfg.Mempool(); n >= 0 {
			fmt.Fprintf(&b, "# HELP spur_mempool_transactions Transactions in the followed node's mempool at its last read.\n# TYPE spur_mempool_transactions gauge\nspur_mempool_transactions{chain=\"btc\"} %d\n", n)
		}
	}
	if s.cfg.Webhook != nil {
		taken, refused, lost, queued := s.cfg.Webhook()
		for _, c := range []struct {
			name, help string
			n          int64
		}{
			{"spur_alert_webhook_delivered_total", "Alerts the webhook's receiver took.", taken},
			{"spur_alert_webhook_refused_total", "Alerts the webhook's receiver refused (not sent again).", refused},
			{"spur_alert_webhook_lost_total", "Alerts dropped undelivered (a follower's outbox keeps what a stop leaves: none).", lost},
		} {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", c.name, c.help, c.name, c.name, c.n)
		}
		fmt.Fprintf(&b, "# HELP spur_alert_webhook_queued Alerts waiting in the followers' outboxes for the webhook's receiver.\n# TYPE spur_alert_webhook_queued gauge\nspur_alert_webhook_queued %d\n", queued)
	}
	for _, f := range []struct {
		name, help string
		samples    []string
	}{
		{"spur_store_height", "Height (block number) of each store's tip.", height},
		{"spur_node_height", "Height of the followed node's tip at its last poll.", nodeHeight},
		{"spur_ingest_lag_blocks", "Blocks the followed node has that the store has not yet committed.", lag},
		{"spur_node_up", "Whether the followed node answered the last poll.", up},
	} {
		if len(f.samples) > 0 {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s", f.name, f.help, f.name, strings.Join(f.samples, ""))
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, err := w.Write([]byte(b.String()))
	return err
}

// labelledAddrs finds the store's address numbers of every labelled key
// that is a Bitcoin address of its network (keys are canonical, as Lookup
// files them): few, and what lets a trace through thousands of addresses
// check each one without printing it. nil if a number cannot be read.
func labelledAddrs(st store.Reader, labels *label.Store, log *slog.Logger) map[uint32]struct{} {
	out := map[uint32]struct{}{}
	var failed error
	labels.EachCachedKey(func(key string) {
		a, err := btc.ParseAddress(key, st.Network())
		if err != nil || failed != nil {
			return // not an address of this network
		}
		n, err := st.AddrNum(a)
		switch {
		case err == nil:
			out[n] = struct{}{}
		case !errors.Is(err, store.ErrNotFound):
			failed = err
		}
	})
	if failed != nil {
		// Without the whole set every address is looked up.
		log.Warn("labels: cannot read the labelled addresses", "err", failed)
		return nil
	}
	return out
}

// The Ethereum store's lookups, as spur tx|address|block --chain eth.
func (s *Server) evm() (*evmstore.Store, error) {
	if s.cfg.EVM == nil {
		return nil, &apiError{http.StatusNotFound, "not_found", "this server holds no Ethereum store (spur ingest evm --chain eth)", ""}
	}
	return s.cfg.EVM, nil
}

// hash32 reads a 0x-prefixed 32-byte hash from the request field named.
func hash32(field, v string) (common.Hash, error) {
	if len(v) != 66 || !strings.HasPrefix(v, "0x") {
		return common.Hash{}, badRequest(field, "%q is not a 0x-prefixed 32-byte hash", v)
	}
	b, err := hex.DecodeString(v[2:])
	if err != nil {
		return common.Hash{}, badRequest(field, "%q is not hex", v)
	}
	return common.BytesToHash(b), nil
}

func (s *Server) ethAddress(w http.ResponseWriter, r *http.Request) error {
	es, err := s.evm()
	if err != nil {
		return err
	}
	limit, offset, err := page(r, 0, 1000)
	if err != nil {
		return err
	}
	addr := r.PathValue("address")
	if _, err := evmstore.ParseAddress(addr); err != nil {
		return badRequest("address", "%v", err)
	}
	v, err := es.AddressView(addr, offset, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, v)
}

func (s *Server) ethTx(w http.ResponseWriter, r *http.Request) error {
	es, err := s.evm()
	if err != nil {
		return err
	}
	h, err := hash32("hash", r.PathValue("hash"))
	if err != nil {
		return err
	}
	n, err := es.TxNum(h)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, es.TxView(n))
}

func (s *Server) ethBlock(w http.ResponseWriter, r *http.Request) error {
	es, err := s.evm()
	if err != nil {
		return err
	}
	limit, offset, err := page(r, 100, 10000)
	if err != nil {
		return err
	}
	row, err := query.EVMBlockRow(es, r.PathValue("id"))
	if errors.Is(err, query.ErrBadRef) {
		return badRequest("id", "%v", err)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, 200, es.BlockView(row, offset, limit))
}
