package api

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
)

// ScreenItem is one address or transaction to screen.
type ScreenItem struct {
	Address string `json:"address,omitempty"`
	Tx      string `json:"tx,omitempty"`
	// RawTx is a Bitcoin transaction given whole, in hex, as a node's
	// mempool has it: a deposit screened before it is in a block.
	RawTx     string `json:"raw_tx,omitempty"`
	Chain     string `json:"chain,omitempty"`
	Direction string `json:"direction,omitempty"` // deposit (default) or withdrawal

	raw      *rawTx // RawTx decoded, when the items are checked; or Tx's, as the node gave it
	fromNode bool   // raw is Tx as the followed node gave it (Config.NodeTx)
}

// Exposure is value exchanged with counterparties of one category: in
// satoshi on Bitcoin, in US dollars on an EVM chain, whose assets differ.
type Exposure struct {
	Category string  `json:"category"`
	Amount   int64   `json:"amount,omitempty"` // satoshi
	USD      float64 `json:"usd,omitempty"`    // EVM: at each transfer's day's close
	Share    float64 `json:"share"`
}

// ScreenResult is the answer for one item.
type ScreenResult struct {
	Item ScreenItem `json:"item"`
	TxID string     `json:"txid,omitempty"` // a raw_tx's
	// FromNode says a tx the store does not hold was screened as the
	// followed node gave it (in its mempool, or in a block not yet stored).
	FromNode bool                `json:"from_node,omitempty"`
	Chain    string              `json:"chain"`
	Labels   []label.Label       `json:"labels"`
	Entity   *query.ScreenEntity `json:"entity"`
	Direct   []Exposure          `json:"direct_exposure"`
	Indirect []Exposure          `json:"indirect_exposure"`
	Severity string              `json:"severity"`
	Rule     string              `json:"rule"`
}

func (s *Server) screen(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Items []ScreenItem `json:"items"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	st := s.btc(r)
	out, err := s.screenAll(r.Context(), store.ReaderOf(st), req.Items)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, map[string]any{"results": out, "as_of": s.asOf(st)})
}

// ChainTip is a chain as of the block a request read it at.
type ChainTip = query.ChainTip

// AsOf is asOf for Screen: the chains of the server's stores as of their
// tips.
func (s *Server) AsOf() map[string]ChainTip { return s.asOf(s.cfg.Store) }

// asOf gives each chain a request reads as of its tip, Bitcoin's in st,
// the view the request holds (the Ethereum store's commits wait for the
// request): what a screening decision was made on, for the record.
func (s *Server) asOf(st *store.Store) map[string]ChainTip {
	var es evmstore.Reader
	if s.cfg.EVM != nil {
		es = s.cfg.EVM
	}
	return query.AsOf(store.ReaderOf(st), es)
}

// Screen screens items as POST /v1/screen does, against the server's
// Bitcoin store (nil: on their labels alone), for a caller in the same
// process (spur screen). An error names the item at fault; StatusOf tells
// a mistake in the items (400) from an item the store does not hold (404)
// and a node asked for one that did not answer (503).
func (s *Server) Screen(items []ScreenItem) ([]ScreenResult, error) {
	return s.screenAll(context.Background(), store.ReaderOf(s.cfg.Store), items)
}

// StatusOf is the HTTP status an error of the API's would be answered
// with: 400 for a bad request, 404 for what the store does not hold, 500
// for anything else.
func StatusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusInternalServerError
}

// FieldOf returns the request field an error of Screen names ("items[3].tx"),
// or "" for none.
func FieldOf(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Field
	}
	return ""
}

// screenAll checks every item, then screens them on every core; the
// answer keeps the items' order and, if items fail, reports the first.
func (s *Server) screenAll(ctx context.Context, st store.Reader, items []ScreenItem) ([]ScreenResult, error) {
	if len(items) == 0 || len(items) > s.cfg.MaxBatch {
		return nil, badRequest("items", "items: give 1 to %d", s.cfg.MaxBatch)
	}
	for i := range items {
		it := &items[i]
		field := fmt.Sprintf("items[%d]", i)
		// As pasted: spaces around an address or txid are not part of it
		// (and one of spaces alone is none).
		it.Address, it.Tx, it.RawTx = strings.TrimSpace(it.Address), strings.TrimSpace(it.Tx), strings.TrimSpace(it.RawTx)
		if given := btoi(it.Address != "") + btoi(it.Tx != "") + btoi(it.RawTx != ""); given != 1 {
			return nil, badRequest(field, "%s: give an address, a tx or a raw_tx", field)
		}
		if it.RawTx != "" {
			if it.Chain != "" && it.Chain != label.ChainBTC {
				return nil, badRequest(field+".chain", "%s.chain: a raw_tx is a Bitcoin transaction", field)
			}
			if st == nil {
				return nil, &apiError{http.StatusNotFound, "not_found", field + ".raw_tx: " + errNoBTC.Message, field + ".raw_tx"}
			}
			var err error
			if it.raw, err = decodeRawTx(st, field+".raw_tx", it.RawTx); err != nil {
				return nil, err
			}
		}
		if it.Direction == "" {
			it.Direction = "deposit"
		}
		if it.Direction != "deposit" && it.Direction != "withdrawal" {
			return nil, badRequest(field+".direction", "%s.direction: want deposit or withdrawal", field)
		}
		// An address that cannot be on the chain named with it is a
		// mistake in the request, not an unknown address. Addresses of
		// other chains (ltc, xmr, ...) are screened on their labels.
		if it.Tx != "" && evmTx(*it) {
			// An Ethereum transaction: 0x and 64 hex digits.
			it.Chain = label.ChainETH
			if _, err := hash32(field+".tx", it.Tx); err != nil {
				return nil, badRequest(field+".tx", "%s.tx: %q is not an Ethereum transaction hash (0x and 64 hex digits)", field, it.Tx)
			}
			if s.cfg.EVM == nil {
				return nil, &apiError{http.StatusNotFound, "not_found", field + ".tx: this server holds no Ethereum store (spur ingest evm --chain eth)", field + ".tx"}
			}
		} else if it.Tx != "" {
			h, err := btc.ParseHash(it.Tx)
			if err != nil {
				return nil, badRequest(field+".tx", "%s.tx: %v", field, err)
			}
			if st == nil {
				return nil, &apiError{http.StatusNotFound, "not_found", field + ".tx: " + errNoBTC.Message, field + ".tx"}
			}
			if err := s.fromNode(ctx, st, field+".tx", h, it); err != nil {
				return nil, err
			}
		}
		if it.Address != "" {
			// A Bitcoin or EVM address that fails its checksum would be
			// screened as some other chain's, on its labels, and pass.
			if err := s.cfg.Labels.Mistyped(it.Address); err != nil {
				return nil, badRequest(field+".address", "%s.address: %v", field, err)
			}
		}
		switch {
		case it.Address == "":
		case it.Chain == label.ChainBTC && st != nil:
			if _, err := btc.ParseAddress(it.Address, st.Network()); err != nil {
				return nil, badRequest(field+".address", "%s.address: not a Bitcoin address of network %s", field, st.Network().Name)
			}
		case it.Chain == label.ChainETH && !label.IsEVMAddress(it.Address):
			return nil, badRequest(field+".address", "%s.address: not an EVM address (0x and 40 hex digits)", field)
		}
	}
	out := make([]ScreenResult, len(items))
	errs := make([]error, len(items))
	var next atomic.Int64
	work := func() {
		for i := int(next.Add(1) - 1); i < len(items); i = int(next.Add(1) - 1) {
			res, err := s.screenItem(st, items[i])
			if err != nil {
				errs[i] = err
				continue
			}
			out[i] = *res
		}
	}
	if len(items) == 1 {
		work() // most requests: a goroutine would only add its wake-up
	} else {
		var wg sync.WaitGroup
		for range min(runtime.GOMAXPROCS(0), len(items)) {
			wg.Go(work)
		}
		wg.Wait()
	}
	for i, err := range errs {
		if err != nil {
			// Named, so that a client knows which of up to 1,000 items.
			field := fmt.Sprintf("items[%d].address", i)
			if items[i].Tx != "" {
				field = fmt.Sprintf("items[%d].tx", i)
			}
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, evmstore.ErrNotFound) {
				return nil, &apiError{http.StatusNotFound, "not_found", field + ": " + err.Error(), field}
			}
			return nil, err
		}
	}
	return out, nil
}

func (s *Server) screenItem(st store.Reader, it ScreenItem) (*ScreenResult, error) {
	res := &ScreenResult{Item: it, Labels: []label.Label{}, Direct: []Exposure{}, Indirect: []Exposure{}}
	if it.Address != "" {
		res.Chain = it.Chain
		if res.Chain == "" {
			res.Chain = label.GuessChain(it.Address)
		}
		ls, err := s.cfg.Labels.Lookup(it.Address)
		if err != nil {
			return nil, err
		}
		if ls != nil {
			res.Labels = ls
		}
		if res.Chain == label.ChainETH && s.cfg.EVM != nil {
			// Kept like a Bitcoin address's, as of the Ethereum store's
			// tip, told from them by its 0x.
			var tip btc.Hash
			if row, err := s.cfg.EVM.TipRow(); err == nil {
				tip = btc.Hash(s.cfg.EVM.Block(row).Hash)
			}
			key := exposureKey{strings.ToLower(it.Address), tip}
			if res.Direct, res.Indirect, err = s.keptExposures(key, func() ([]Exposure, []Exposure, error) { return s.evmExposures(it.Address) }); err != nil {
				return nil, err
			}
		}
		// Without the chain (a server of labels, or of an EVM chain,
		// alone) a Bitcoin address is screened on its labels.
		if res.Chain == label.ChainBTC && st != nil {
			if s.Clusters() != nil {
				if res.Entity, err = s.addressEntity(st, it.Address); err != nil {
					return nil, err
				}
			}
			if res.Direct, res.Indirect, err = s.exposures(st, it.Address); err != nil {
				return nil, err
			}
		}
	} else if it.raw != nil {
		res.Chain, res.FromNode = label.ChainBTC, it.fromNode
		if it.RawTx != "" {
			res.TxID = it.raw.tx.TxID.String()
		}
		var err error
		if res.Direct, err = s.rawTxExposure(st, it.raw, it.Direction); err != nil {
			return nil, err
		}
		if it.Direction == "deposit" {
			res.Indirect = s.rawTxIndirectExposure(st, it.raw)
		}
	} else if evmTx(it) {
		res.Chain = label.ChainETH
		var err error
		if res.Direct, res.Indirect, err = s.evmTxExposures(it.Tx, it.Direction); err != nil {
			return nil, err
		}
	} else {
		res.Chain = label.ChainBTC
		h, err := btc.ParseHash(it.Tx)
		if err != nil {
			return nil, badRequest("tx", "%v", err)
		}
		n, err := st.TxNum(h)
		if err != nil {
			return nil, err
		}
		if res.Direct, err = s.txExposure(st, n, it.Direction); err != nil {
			return nil, err
		}
		if it.Direction == "deposit" {
			res.Indirect = s.txIndirectExposure(st, n)
		}
	}
	res.Severity, res.Rule = s.rules.Load().Severity(res.Labels, res.Entity, res.Direct, res.Indirect)
	return res, nil
}

// exposureKey names an address's exposures as of a commit: the tip's hash
// (a count could come back after a reorganisation with other blocks).
type exposureKey struct {
	addr string
	tip  btc.Hash
}

type exposurePair struct{ direct, indirect []Exposure }

// slowExposure is how long an address's exposures must take to compute
// for the server to keep them: busy addresses (hot wallets, pools) read
// thousands of outputs and trace far back, and would set the tail latency.
const slowExposure = 2 * time.Millisecond

// maxKeptExposures bounds the kept answers; past it they are dropped.
const maxKeptExposures = 4096

// exposures returns an address's direct and indirect exposure, keeping
// the answer for a busy address until the store's next commit.
func (s *Server) exposures(st store.Reader, addr string) (direct, indirect []Exposure, err error) {
	return s.keptExposures(exposureKey{addr, st.TipHash()}, func() (direct, indirect []Exposure, err error) {
		if direct, err = s.addressExposure(st, addr); err != nil {
			return nil, nil, err
		}
		if indirect, err = s.indirectExposure(st, addr); err != nil {
			return nil, nil, err
		}
		return direct, indirect, nil
	})
}

// keptExposures answers from the kept exposures of key, else computes them
// and keeps them if that took slowExposure or more.
func (s *Server) keptExposures(key exposureKey, compute func() (direct, indirect []Exposure, err error)) (direct, indirect []Exposure, err error) {
	lc := s.lc.Load()
	if v, ok := lc.kept.Load(key); ok {
		p := v.(exposurePair)
		return p.direct, p.indirect, nil
	}
	start := time.Now()
	if direct, indirect, err = compute(); err != nil {
		return nil, nil, err
	}
	if time.Since(start) >= slowExposure {
		if lc.keptN.Add(1) > maxKeptExposures {
			lc.kept.Clear()
			lc.keptN.Store(1)
		}
		lc.kept.Store(key, exposurePair{direct, indirect})
	}
	return direct, indirect, nil
}

// addressEntity is query.AddressEntity with the members' labels found
// through the labelled set, and a large entity's answer kept: the labels
// and the clustering change only with new caches (LabelsChanged,
// ClusteringChanged).
func (s *Server) addressEntity(st store.Reader, addr string) (*query.ScreenEntity, error) {
	n, ok, err := query.AddressNumber(st, addr)
	if !ok {
		return nil, err
	}
	lc := s.lc.Load()
	if lc.clusters == nil {
		return nil, nil
	}
	e, ok := lc.clusters.Entity(n)
	if !ok {
		return nil, nil
	}
	if v, ok := lc.entities.Load(e); ok {
		return v.(*query.ScreenEntity), nil
	}
	var maybe func(uint32) bool
	if lc.labelled != nil {
		maybe = func(m uint32) bool {
			_, ok := lc.labelled[m]
			return ok || m >= lc.labelledBelow
		}
	}
	v, err := query.AddressNumEntity(st, lc.clusters, s.cfg.Labels, n, maybe)
	if err == nil && v != nil && v.Size >= 16 {
		lc.entities.Store(e, v)
	}
	return v, err
}

// category returns the risk category of an address from its labels or its
// entity's, "" when none.
func (s *Server) category(st store.Reader, a uint32) (string, error) {
	best, err := s.ownCategory(st, a)
	lc := s.lc.Load()
	if err != nil || best != "" || lc.clusters == nil {
		return best, err
	}
	e, ok := lc.clusters.Entity(a)
	if !ok {
		return "", nil
	}
	// A large entity's category is read once per labels and clustering:
	// new ones come with new caches.
	if c, ok := lc.entityCat.Load(e); ok {
		return c.(string), nil
	}
	members := lc.clusters.Members(e)
	for _, m := range members {
		c, err := s.ownCategory(st, m)
		if err != nil {
			return "", err
		}
		best = bestCategory(best, []label.Label{{Category: c}})
	}
	if len(members) >= 16 {
		// Small entities are cheap to read again; caching only the large
		// ones bounds the cache by their number.
		lc.entityCat.Store(e, best)
	}
	return best, nil
}

// ownCategory is the most severe category of the labels on address a
// itself; the set of labelled address numbers answers for the others
// without formatting the address.
func (s *Server) ownCategory(st store.Reader, a uint32) (string, error) {
	if lc := s.lc.Load(); lc.labelled != nil && a < lc.labelledBelow {
		if _, ok := lc.labelled[a]; !ok {
			return "", nil
		}
	}
	ls, err := s.cfg.Labels.LookupKey(st.Address(a).String(st.Network()))
	if err != nil {
		return "", err
	}
	return bestCategory("", ls), nil
}

// bestCategory returns the most severe of best and the labels' categories.
func bestCategory(best string, ls []label.Label) string {
	for _, l := range ls {
		if l.Category != "" && (label.RiskRank(l.Category) > label.RiskRank(best) || best == "") {
			best = l.Category
		}
	}
	return best
}

// txExposure splits a transaction's counterparties by category: for a
// deposit the addresses its inputs spend, for a withdrawal those it pays.
func (s *Server) txExposure(st store.Reader, n uint64, direction string) ([]Exposure, error) {
	firstIn, numIn, firstOut, numOut := st.TxRange(n)
	var outs []uint64
	if direction == "withdrawal" {
		for o := firstOut; o < firstOut+numOut; o++ {
			outs = append(outs, o)
		}
	} else {
		for i := firstIn; i < firstIn+numIn; i++ {
			if o := st.InputSpends(i); o != store.NoOutput {
				outs = append(outs, o)
			}
		}
	}
	return s.outputsExposure(st, outs)
}

// outputsExposure splits the value of stored outputs by the risk category
// of the addresses holding them.
func (s *Server) outputsExposure(st store.Reader, outs []uint64) ([]Exposure, error) {
	amounts := map[string]int64{}
	var total int64
	for _, o := range outs {
		v, _ := st.OutValue(o)
		total += v
		if a := st.OutAddr(o); a != store.NoAddress {
			cat, err := s.category(st, a)
			if err != nil {
				return nil, err
			}
			if cat != "" {
				amounts[cat] += v
			}
		}
	}
	return exposures(amounts, total), nil
}

// rawTx is a Bitcoin transaction given whole (raw_tx), perhaps in no
// block yet, with the stored outputs its inputs spend.
type rawTx struct {
	tx    *btc.Tx
	prevs []uint64 // output numbers, in input order
}

// decodeRawTx decodes a raw_tx and finds the outputs it spends: a 400
// naming field for one that does not decode or spends no coins, a 404 for
// an input whose coin the store does not hold (its parent not yet in a
// block, or of a block not yet ingested).
func decodeRawTx(st store.Reader, field, h string) (*rawTx, error) {
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, badRequest(field, "%s: not hex: %v", field, err)
	}
	return rawTxOf(st, field, b)
}

// fromNode screens a tx item the store does not hold as the followed node
// gives it (Config.NodeTx): a deposit seen in the node's mempool, asked
// for by its txid. Without a node, or one that has no such transaction,
// the item is left to be the 404 it was; a node that does not answer is a
// 503.
func (s *Server) fromNode(ctx context.Context, st store.Reader, field string, h btc.Hash, it *ScreenItem) error {
	if s.cfg.NodeTx == nil {
		return nil
	}
	if _, err := st.TxNum(h); !errors.Is(err, store.ErrNotFound) {
		return nil // stored (or a store that fails, which the screen says)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := s.cfg.NodeTx(ctx, h)
	if rpcErr := (*btc.RPCError)(nil); errors.As(err, &rpcErr) {
		return nil // the node has no such transaction either
	}
	if err != nil {
		// Not answered (down, refusing, too slow): saying "not found"
		// would pass for an answer.
		return &apiError{http.StatusServiceUnavailable, "node_unavailable", fmt.Sprintf("%s: %s is not in the store, and the node asked for it did not answer: %v", field, h, err), field}
	}
	raw, err := rawTxOf(st, field, b)
	if err != nil {
		return err
	}
	if raw.tx.TxID != h {
		return fmt.Errorf("%s: the node gave transaction %s for %s", field, raw.tx.TxID, h)
	}
	it.raw, it.fromNode = raw, true
	return nil
}

// rawTxOf is decodeRawTx of the transaction's bytes.
func rawTxOf(st store.Reader, field string, b []byte) (*rawTx, error) {
	tx, err := btc.DecodeTx(b)
	if err != nil {
		return nil, badRequest(field, "%s: %v", field, err)
	}
	if tx.IsCoinbase() {
		return nil, badRequest(field, "%s: a coinbase spends no coins to screen", field)
	}
	raw := &rawTx{tx: tx}
	for i, in := range tx.Inputs {
		n, err := st.TxNum(in.PrevTxID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("%s: input %d spends %s:%d, of a transaction the store does not hold (not yet in a block, or of a block not yet ingested)", field, i, in.PrevTxID, in.PrevIndex), field}
		}
		if err != nil {
			return nil, err
		}
		_, _, firstOut, numOut := st.TxRange(n)
		if uint64(in.PrevIndex) >= numOut {
			return nil, badRequest(field, "%s: input %d spends output %d of %s, which has %d", field, i, in.PrevIndex, in.PrevTxID, numOut)
		}
		raw.prevs = append(raw.prevs, firstOut+uint64(in.PrevIndex))
	}
	return raw, nil
}

// rawTxExposure is txExposure for a raw_tx: for a deposit the stored
// coins its inputs spend, for a withdrawal the addresses it pays (by their
// labels, and their entity's when the store has seen them).
func (s *Server) rawTxExposure(st store.Reader, raw *rawTx, direction string) ([]Exposure, error) {
	if direction != "withdrawal" {
		return s.outputsExposure(st, raw.prevs)
	}
	amounts := map[string]int64{}
	var total int64
	for _, o := range raw.tx.Outputs {
		total += o.Value
		_, a, ok := btc.ScriptAddress(o.Script)
		if !ok {
			continue
		}
		var cat string
		if n, err := st.AddrNum(a); err == nil {
			if cat, err = s.category(st, n); err != nil {
				return nil, err
			}
		} else {
			ls, err := s.cfg.Labels.Lookup(a.String(st.Network()))
			if err != nil {
				return nil, err
			}
			cat = bestCategory("", ls)
		}
		if cat != "" {
			amounts[cat] += o.Value
		}
	}
	return exposures(amounts, total), nil
}

// rawTxIndirectExposure is txIndirectExposure for a raw_tx, which is in no
// block the trace can start from: the coins it spends are its first hop. A
// coin of a labelled address (or entity) is that source; the others are
// traced back from the part its outputs take (FIFO: the fee is the inputs'
// last satoshi), three transactions more, so that a transaction answers
// the same whole or by its txid once in a block. A CoinJoin deposit is a
// mixer's whole.
func (s *Server) rawTxIndirectExposure(st store.Reader, raw *rawTx) []Exposure {
	var shape cluster.TxShape
	shape.Version, shape.LockTime = raw.tx.Version, raw.tx.LockTime
	var inTotal, outTotal int64
	for _, p := range raw.prevs {
		v, t := st.OutValue(p)
		shape.Inputs = append(shape.Inputs, cluster.Coin{Value: v, Type: t, Addr: st.OutAddr(p)})
		inTotal += v
	}
	for _, o := range raw.tx.Outputs {
		t, _, _ := btc.ScriptAddress(o.Script)
		shape.Outputs = append(shape.Outputs, cluster.Coin{Value: o.Value, Type: t, Addr: cluster.NoAddr})
		outTotal += o.Value
	}
	if len(shape.Inputs) >= 2 || len(shape.Outputs) >= 3 {
		if cj := cluster.DetectCoinJoin(&shape); cj != nil && cj.Kind != cluster.WhirlpoolTx0 {
			return exposures(map[string]int64{"mixer": outTotal}, outTotal)
		}
	}
	amounts := map[string]int64{}
	var starts []trace.Start
	left := outTotal // FIFO: the outputs take the inputs' first satoshi
	for _, p := range raw.prevs {
		v, _ := st.OutValue(p)
		take := min(v, max(left, 0))
		left -= take
		if take < trace.DefaultMinValue {
			continue // left where it is, as the trace leaves a part so small
		}
		if a := st.OutAddr(p); a != store.NoAddress {
			if cat, err := s.category(st, a); err == nil && cat != "" {
				amounts[cat] += take
				continue
			}
		}
		starts = append(starts, trace.Start{Output: p, Amount: take})
	}
	// The transaction itself is the stored one's first hop: one fewer to
	// go, and one fewer to visit.
	if _, ok := s.traceSources(st, starts, store.NoAddress, 1, amounts); !ok {
		return []Exposure{} // too wide to answer in line, as for a txid
	}
	return exposures(amounts, outTotal)
}

// addressExposure looks at what paid an address: each output it received
// is attributed to the categories of its funding transaction's inputs, in
// proportion to their values. At most the 1,000 latest outputs are read.
func (s *Server) addressExposure(st store.Reader, addr string) ([]Exposure, error) {
	a, err := btc.ParseAddress(addr, st.Network())
	if err != nil {
		return nil, nil
	}
	n, err := st.AddrNum(a)
	if err != nil {
		return nil, nil // never on chain: nothing received
	}
	var outs []uint64
	if err := st.Postings(n, func(o uint64) bool { outs = append(outs, o); return true }); err != nil {
		return nil, err
	}
	if len(outs) > 1000 {
		outs = outs[len(outs)-1000:]
	}
	amounts := map[string]int64{}
	var total int64
	var shape cluster.TxShape
	for _, o := range outs {
		v, _ := st.OutValue(o)
		total += v
		tx, _ := st.TxOfOutput(o)
		firstIn, numIn, _, _ := st.TxRange(tx)
		// An output a CoinJoin paid came from the mix, not from whichever
		// participant's labelled coin sat beside it.
		if numIn >= 2 && cluster.Shape(st, tx, &shape) {
			if cj := cluster.DetectCoinJoin(&shape); cj != nil && cj.Kind != cluster.WhirlpoolTx0 {
				amounts["mixer"] += v
				continue
			}
		}
		var inTotal int64
		byCat := map[string]int64{}
		for i := firstIn; i < firstIn+numIn; i++ {
			p := st.InputSpends(i)
			if p == store.NoOutput {
				continue
			}
			pv, _ := st.OutValue(p)
			inTotal += pv
			if pa := st.OutAddr(p); pa != store.NoAddress && pa != n {
				cat, err := s.category(st, pa)
				if err != nil {
					return nil, err
				}
				if cat != "" {
					byCat[cat] += pv
				}
			}
		}
		for cat, pv := range byCat {
			amounts[cat] += trace.Share(v, pv, inTotal)
		}
	}
	return exposures(amounts, total), nil
}

// IndirectHops is how far back indirect exposure looks.
const IndirectHops = 4

// maxIndirectTxs bounds the transactions an indirect exposure's trace
// visits: past it, the exposure is left empty rather than answered late.
const maxIndirectTxs = 20_000

// indirectExposure traces the value an address received backward, FIFO,
// up to IndirectHops transactions, and splits it by the risk category of
// the labelled addresses it came from. At most the 100 latest received
// outputs are traced.
func (s *Server) indirectExposure(st store.Reader, addr string) ([]Exposure, error) {
	a, err := btc.ParseAddress(addr, st.Network())
	if err != nil {
		return nil, nil
	}
	n, err := st.AddrNum(a)
	if err != nil {
		return []Exposure{}, nil
	}
	var starts []trace.Start
	if err := st.Postings(n, func(o uint64) bool { starts = append(starts, trace.Start{Output: o}); return true }); err != nil {
		return nil, err
	}
	if len(starts) > 100 {
		starts = starts[len(starts)-100:]
	}
	return s.backwardExposure(st, starts, n), nil
}

// backwardExposure traces starts backward, FIFO, up to IndirectHops
// transactions, and splits their value by the risk category of the
// labelled addresses (or entities) it came from; the screened address self
// (store.NoAddress for a transaction) is no source of its own.
func (s *Server) backwardExposure(st store.Reader, starts []trace.Start, self uint32) []Exposure {
	amounts := map[string]int64{}
	start, ok := s.traceSources(st, starts, self, 0, amounts)
	if !ok {
		return []Exposure{} // too wide to answer in line: no indirect figure
	}
	return exposures(amounts, start)
}

// traceSources traces starts backward, FIFO, up to IndirectHops - skip
// transactions (a trace that began skip transactions later), and adds
// the value each risk category of labelled addresses (or entities) gave
// into amounts; self is no source. It returns the value traced, and false
// when the trace visits more than it may in line. A CoinJoin on the way is
// a source of its own (mixer): which of its inputs paid an output is not
// known, and FIFO's answer would make a source of whoever sat at the same
// place in the mix.
func (s *Server) traceSources(st store.Reader, starts []trace.Start, self uint32, skip int, amounts map[string]int64) (int64, bool) {
	risky := func(x uint32) (string, string, bool) {
		if x == self {
			return "", "", false
		}
		cat, err := s.category(st, x)
		return cat, "", err == nil && cat != ""
	}
	res, err := trace.Backward(st, starts, trace.Options{Model: trace.FIFO, MaxHops: IndirectHops - skip, Services: risky, MaxTxs: maxIndirectTxs - skip, MixerLinks: true, NoFlows: true})
	if err != nil {
		return 0, false
	}
	for _, d := range res.Destinations {
		switch d.Category {
		case "coinbase", "limit", "dust":
		default:
			amounts[d.Category] += d.Amount
		}
	}
	return res.Start, true
}

// txIndirectExposure traces a deposit's value backward, FIFO, from its
// outputs through the transaction itself and up to IndirectHops
// transactions in all, and splits it by the risk category of the
// labelled addresses it came from: where the coins an exchange is paid
// were a few transactions before.
func (s *Server) txIndirectExposure(st store.Reader, n uint64) []Exposure {
	_, _, firstOut, numOut := st.TxRange(n)
	var starts []trace.Start
	for o := firstOut; o < firstOut+numOut; o++ {
		starts = append(starts, trace.Start{Output: o})
	}
	return s.backwardExposure(st, starts, store.NoAddress)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func exposures(amounts map[string]int64, total int64) []Exposure {
	out := []Exposure{}
	for cat, v := range amounts {
		e := Exposure{Category: cat, Amount: v}
		if total > 0 {
			e.Share = float64(v) / float64(total)
		}
		out = append(out, e)
	}
	sortExposures(out)
	return out
}

// sortExposures orders exposures largest first (by satoshi, or by dollars),
// then by category.
func sortExposures(out []Exposure) {
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Amount != b.Amount {
			return a.Amount > b.Amount
		}
		if a.USD != b.USD {
			return a.USD > b.USD
		}
		return a.Category < b.Category
	})
}
