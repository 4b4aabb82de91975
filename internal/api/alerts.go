package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
)

// maxAlertBlocks bounds one alerts request: a client that polls asks from
// the block after the last one answered, and gets at most this many.
const maxAlertBlocks = 1_000

// alertParams reads categories (required), from (required) and to (the
// tip by default, and at most maxAlertBlocks on from), each a block or a
// day (YYYY-MM-DD, UTC; query.DayBlock); first and last are the store's
// blocks, timeOf their times. From may be the block after the tip, to
// then the tip: nothing yet.
func alertParams(r *http.Request, first, last int64, timeOf func(int64) int64) (watch func(string) bool, from, to int64, err error) {
	q := r.URL.Query()
	cats := map[string]bool{}
	for _, c := range strings.Split(q.Get("categories"), ",") {
		if c = label.Category(c); c != "" {
			cats[c] = true
		}
	}
	if len(cats) == 0 {
		return nil, 0, 0, badRequest("categories", "categories: give one or more, comma-separated (sanctioned,stolen-funds)")
	}
	// block reads a block or a day; a day with no block is past the store.
	block := func(name string, end bool) (int64, error) {
		v := q.Get(name)
		if day, err := time.Parse(time.DateOnly, v); err == nil {
			if b, ok := query.DayBlock(day, end, first, last, timeOf); ok {
				return b, nil
			}
			return 0, &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("%s %s: the store holds no block of that day (its blocks are %d to %d)", name, v, first, last), name}
		}
		b, err := strconv.ParseInt(v, 10, 64)
		if err != nil || b < 0 {
			return 0, badRequest(name, "%s: a block height or number, or a day (YYYY-MM-DD), is required", name)
		}
		return b, nil
	}
	if from, err = block("from", false); err != nil {
		return nil, 0, 0, err
	}
	to = min(last, from+maxAlertBlocks-1)
	if q.Get("to") != "" {
		if to, err = block("to", true); err != nil {
			return nil, 0, 0, err
		}
		if to-from >= maxAlertBlocks {
			return nil, 0, 0, badRequest("to", "from %d to %d: at most %d blocks a request", from, to, maxAlertBlocks)
		}
	}
	switch {
	case to < from && q.Get("to") != "":
		return nil, 0, 0, badRequest("to", "to %d is before from %d", to, from)
	case from == last+1 && q.Get("to") == "":
		// A poller asking for the block after the tip: none yet (to is
		// from - 1, and the next poll asks from the same block).
	case from < first || from > last || to > last:
		return nil, 0, 0, &apiError{http.StatusNotFound, "not_found", "the store holds blocks " + strconv.FormatInt(first, 10) + " to " + strconv.FormatInt(last, 10), "from"}
	}
	return func(c string) bool { return cats[c] }, from, to, nil
}

// byEntityParam reads by_entity: true or false (the default).
func byEntityParam(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("by_entity")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("by_entity", "by_entity %q: true or false", v)
	}
	return b, nil
}

// btcAlerts answers the transactions of blocks from..to that move money
// from or to an address labelled in the categories, as spur alerts.
func (s *Server) btcAlerts(w http.ResponseWriter, r *http.Request) error {
	st := s.btc(r)
	watch, from, to, err := alertParams(r, 0, st.Height(), func(h int64) int64 {
		hd, _ := st.Header(h)
		return int64(hd.Time)
	})
	if err != nil {
		return err
	}
	byEntity, err := byEntityParam(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Has("heuristics") {
		return badRequest("heuristics", "heuristics make an EVM chain's entities; Bitcoin's are the clustering's (spur cluster)")
	}
	clusters := s.Clusters()
	if byEntity && clusters == nil {
		return cluster.ErrNoClustering
	}
	out := []query.Alert{}
	if s.cfg.Labels == nil {
		return writeJSON(w, 200, map[string]any{"from": from, "to": to, "alerts": out})
	}
	a, err := query.NewAlerts(st, s.cfg.Labels, watch)
	if err != nil {
		return err
	}
	if byEntity {
		if err := a.WithEntities(clusters); err != nil {
			return err
		}
	}
	for h := from; h <= to; h++ {
		if err := r.Context().Err(); err != nil {
			return err
		}
		got, err := a.Block(h)
		if err != nil {
			return err
		}
		out = append(out, got...)
	}
	return writeJSON(w, 200, map[string]any{"from": from, "to": to, "alerts": out})
}

// ethAlerts is btcAlerts on the Ethereum store.
func (s *Server) ethAlerts(w http.ResponseWriter, r *http.Request) error {
	es, err := s.evm()
	if err != nil {
		return err
	}
	c := es.Counts()
	if c.Blocks == 0 {
		return &apiError{http.StatusNotFound, "not_found", "the Ethereum store holds no block yet", "from"}
	}
	watch, from, to, err := alertParams(r, int64(c.First), int64(c.First+c.Blocks)-1, func(n int64) int64 { return int64(es.Block(uint64(n) - c.First).Time) })
	if err != nil {
		return err
	}
	byEntity, err := byEntityParam(r)
	if err != nil {
		return err
	}
	opts, err := heuristicsParam(r, byEntity)
	if err != nil {
		return err
	}
	out := []query.EVMAlert{}
	if s.cfg.Labels == nil {
		return writeJSON(w, 200, map[string]any{"from": from, "to": to, "alerts": out})
	}
	var ents *query.EVMEntities
	if byEntity {
		ec, err := s.evmEntities(es, opts)
		if err != nil {
			return err
		}
		if ents, err = query.NewEVMEntities(es, s.cfg.Labels, es.Chain(), ec, watch); err != nil {
			return err
		}
	}
	for n := from; n <= to; n++ {
		if err := r.Context().Err(); err != nil {
			return err
		}
		got, err := query.EVMBlockAlerts(es, s.cfg.Labels, es.Chain(), uint64(n)-c.First, watch, ents)
		if err != nil {
			return err
		}
		out = append(out, got...)
	}
	return writeJSON(w, 200, map[string]any{"from": from, "to": to, "alerts": out})
}

// heuristicsParam reads heuristics, the account-chain heuristics an EVM
// chain's entities are made by for by_entity (comma-separated: deposits,
// deposit-reuse, airdrop; deposits by default), as spur alerts --chain
// eth --by-entity takes them as flags.
func heuristicsParam(r *http.Request, byEntity bool) (cluster.EVMOptions, error) {
	var o cluster.EVMOptions
	v := r.URL.Query().Get("heuristics")
	if v != "" && !byEntity {
		return o, badRequest("heuristics", "heuristics make the entities of by_entity=true")
	}
	if !byEntity {
		return o, nil
	}
	if v == "" {
		v = "deposits"
	}
	for _, h := range strings.Split(v, ",") {
		switch strings.TrimSpace(h) {
		case "deposits":
			o.Deposits = true
		case "deposit-reuse":
			o.DepositReuse = true
		case "airdrop":
			o.Airdrop = true
		default:
			return o, badRequest("heuristics", "heuristics: %q is none of deposits, deposit-reuse, airdrop", h)
		}
	}
	return o, nil
}

// evmEntityCache is an EVM chain's entities as by_entity made them last,
// with what they were made from: the store's transfers and addresses,
// the heuristics and the hot wallets the labels name.
type evmEntityCache struct {
	key string
	c   *cluster.EVMClusters
}

// evmEntities makes es's entities by the heuristics o, as spur entity
// --chain does, or gives those made last if nothing they were made from
// has changed since: a poller asks again every few seconds, and the store
// grows by a block at a time, whose transfers alone the server's pass
// then reads (cluster.EVMPass).
func (s *Server) evmEntities(es *evmstore.Store, o cluster.EVMOptions) (*cluster.EVMClusters, error) {
	hot, err := query.EVMHotWallets(es, s.cfg.Labels)
	if err != nil {
		return nil, err
	}
	o.Hot = map[uint32]bool{}
	nums := make([]uint32, 0, len(hot))
	for a := range hot {
		o.Hot[a] = true
		nums = append(nums, a)
	}
	slices.Sort(nums)
	c := es.Counts()
	_, tip, _ := es.Tip()
	key := fmt.Sprint(c.Transfers, c.Addrs, tip, o.Deposits, o.DepositReuse, o.Airdrop, nums)
	s.evmEntMu.Lock()
	defer s.evmEntMu.Unlock()
	if s.evmEnt != nil && s.evmEnt.key == key {
		return s.evmEnt.c, nil
	}
	ec := s.evmPass.Cluster(es, o)
	s.evmEnt = &evmEntityCache{key, ec}
	return ec, nil
}
