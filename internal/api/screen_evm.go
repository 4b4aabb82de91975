package api

import (
	"errors"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/trace"
)

// evmScreening is what screening on the Ethereum store reads for every
// request, made once per server and extended as a follow grows the store:
// the riskiest category of each labelled address of the store, by address
// number, the decimals of its assets, and the contracts that swapped in
// each transaction (for the backward traces). A made one is never changed.
type evmScreening struct {
	counts   evmstore.Counts // the store's when made
	tip      common.Hash     // and its tip's hash (a reorganisation may keep the counts)
	cats     map[uint32]string
	decimals map[string]int
	conduits *trace.Conduits
}

func (s *Server) evmScreen() (*evmScreening, error) {
	es := s.cfg.EVM
	now := es.Counts()
	_, tip, _ := es.Tip()
	if e := s.evmScr.Load(); e != nil && e.counts == now && e.tip == tip {
		return e, nil
	}
	s.evmScrMu.Lock()
	defer s.evmScrMu.Unlock()
	old := s.evmScr.Load()
	if old != nil && old.counts == now && old.tip == tip {
		return old, nil
	}
	var e *evmScreening
	var err error
	if old != nil && s.grew(old, now) {
		e, err = s.extendEVMScreening(old, now)
	} else {
		e, err = s.newEVMScreening(now)
	}
	if err != nil {
		return nil, err
	}
	e.tip = tip
	s.evmScr.Store(e)
	return e, nil
}

// grew says whether the store holds everything it held when was was made,
// with blocks added: was's tip still stored, as it was (an unwind since
// may have replaced it, and reused the numbers of what it took away).
func (s *Server) grew(was *evmScreening, now evmstore.Counts) bool {
	c := was.counts
	if c.Blocks == 0 || now.First != c.First || now.Blocks < c.Blocks || now.Txs < c.Txs || now.Transfers < c.Transfers ||
		now.Addrs < c.Addrs || now.Events < c.Events || now.Big < c.Big {
		return false
	}
	return s.cfg.EVM.Block(c.Blocks-1).Hash == was.tip
}

func (s *Server) newEVMScreening(now evmstore.Counts) (*evmScreening, error) {
	es := s.cfg.EVM
	e := &evmScreening{counts: now, cats: map[uint32]string{}}
	err := query.EVMLabels(s.cfg.Labels, es.Chain(), func(l label.Label) error {
		a, err := evmstore.ParseAddress(l.Address)
		if err != nil {
			return nil
		}
		n, err := es.AddrNum(a)
		if errors.Is(err, evmstore.ErrNotFound) || err == nil && uint64(n) >= now.Addrs {
			return nil // never on this chain (as of now)
		}
		if err != nil {
			return err
		}
		e.cats[n] = bestCategory(e.cats[n], []label.Label{l})
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.decimals = query.TokenDecimals(es)
	e.conduits = trace.SwapConduits(es)
	return e, nil
}

// extendEVMScreening adds what a follow appended since old was made: the
// labels of the addresses first seen since, the decimals of the tokens
// moved since (a follow records a token as it first moves), the swaps of
// the events since.
func (s *Server) extendEVMScreening(old *evmScreening, now evmstore.Counts) (*evmScreening, error) {
	es := s.cfg.EVM
	e := &evmScreening{counts: now, cats: maps.Clone(old.cats), decimals: old.decimals,
		conduits: old.conduits.Extended(es, old.counts.Events)}
	seen, cloned := map[uint32]bool{}, false
	for x := old.counts.Transfers; x < now.Transfers; x++ {
		a := es.Transfer(x).Asset
		if a == evmstore.None || seen[a] {
			continue
		}
		seen[a] = true
		if _, known := e.decimals[es.Address(a).Hex()]; known {
			continue
		}
		if sym, d, ok := es.Token(a); ok {
			if !cloned {
				e.decimals, cloned = maps.Clone(old.decimals), true // old's is read by requests in flight
			}
			query.AddTokenDecimals(e.decimals, es, a, sym, d)
		}
	}
	for n := old.counts.Addrs; n < now.Addrs; n++ {
		ls, err := s.cfg.Labels.Lookup(es.Address(uint32(n)).Hex())
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			if l.Chain == label.ChainETH {
				e.cats[uint32(n)] = bestCategory(e.cats[uint32(n)], []label.Label{l})
			}
		}
	}
	return e, nil
}

// evmReceived returns the latest transfers of value address n received
// from others, at most limit, oldest first.
func evmReceived(es evmstore.Reader, n uint32, limit int) ([]uint64, error) {
	var in []uint64
	err := es.PostingsBackward(n, func(x uint64) bool {
		t := es.Transfer(x)
		if t.To == n && t.From != n && query.ValueKind(t.Kind) {
			in = append(in, x)
		}
		return len(in) < limit
	})
	slices.Reverse(in)
	return in, err
}

// evmUSD values an amount of an asset at the close of the day of a block
// row; false without a price.
func (s *Server) evmUSD(es evmstore.Reader, e *evmScreening, asset string, amount *big.Int, row uint64) (float64, bool) {
	day := time.Unix(int64(es.Block(row).Time), 0).UTC().Format("2006-01-02")
	return query.EVMValue(s.cfg.Labels, e.decimals, asset, amount, day)
}

// evmExposures is an Ethereum address's direct and indirect exposure, in
// US dollars at the close of each transfer's day (value of an asset the
// imported prices do not price is left out of both sides of a share):
// direct, what its senders are, over the 1,000 latest transfers of value it
// received from others; indirect, the value of the 100 latest traced
// backward, FIFO on account balances, up to IndirectHops transfers, split
// by the risk category of the labelled addresses it came from.
func (s *Server) evmExposures(addr string) (direct, indirect []Exposure, err error) {
	es := s.cfg.EVM
	a, err := evmstore.ParseAddress(addr)
	if err != nil {
		return []Exposure{}, []Exposure{}, nil
	}
	n, err := es.AddrNum(a)
	if errors.Is(err, evmstore.ErrNotFound) {
		return []Exposure{}, []Exposure{}, nil // never on chain: nothing received
	}
	if err != nil {
		return nil, nil, err
	}
	e, err := s.evmScreen()
	if err != nil {
		return nil, nil, err
	}
	in, err := evmReceived(es, n, 1000)
	if err != nil {
		return nil, nil, err
	}
	amounts := map[string]float64{}
	var total float64
	usd := make([]float64, len(in)) // each one's value, 0 unpriced
	for i, x := range in {
		t := es.Transfer(x)
		v, ok := s.evmUSD(es, e, trace.AssetName(es, t.Asset), t.Amount.ToBig(), es.TransferBlock(x))
		if !ok {
			continue
		}
		usd[i] = v
		total += v
		if cat := e.cats[t.From]; cat != "" {
			amounts[cat] += v
		}
	}
	direct = usdExposures(amounts, total)

	if len(in) > 100 {
		in, usd = in[len(in)-100:], usd[len(usd)-100:]
	}
	indirect = []Exposure{}
	if len(in) == 0 {
		return direct, indirect, nil
	}
	starts := make([]trace.EVMStart, len(in))
	var startUSD float64
	for i, x := range in {
		starts[i] = trace.EVMStart{Transfer: x}
		startUSD += usd[i]
	}
	risky := func(x uint32) (string, string, bool) {
		if x == n {
			return "", "", false
		}
		cat := e.cats[x]
		return cat, "", cat != ""
	}
	res, err := trace.TraceEVMBackward(es, starts, trace.EVMOptions{Model: trace.FIFO, MaxHops: IndirectHops, Services: risky, Conduits: e.conduits})
	if err != nil {
		return direct, indirect, nil // nothing to answer in line
	}
	return direct, s.usdOfSources(es, e, res, startUSD), nil
}

// usdExposures orders exposures in US dollars, largest first.
func usdExposures(amounts map[string]float64, total float64) []Exposure {
	out := []Exposure{}
	for cat, v := range amounts {
		x := Exposure{Category: cat, USD: v}
		if total > 0 {
			x.Share = min(v/total, 1)
		}
		out = append(out, x)
	}
	sortExposures(out)
	return out
}

// evmTx says whether a transaction item is an Ethereum one: named so, or
// written as Ethereum writes hashes (0x first; Bitcoin's txids have none).
func evmTx(it ScreenItem) bool {
	return it.Chain == label.ChainETH || it.Chain == "" && strings.HasPrefix(it.Tx, "0x")
}

// evmTxExposures is an Ethereum transaction's exposure, in dollars at its
// day's close: for a deposit, direct by the senders of the value it moved
// (ETH, tokens, internal calls) and indirect by that value traced backward
// up to IndirectHops transfers; for a withdrawal, direct by its
// recipients.
func (s *Server) evmTxExposures(id, direction string) (direct, indirect []Exposure, err error) {
	es := s.cfg.EVM
	h, err := hash32("tx", id)
	if err != nil {
		return nil, nil, err
	}
	n, err := es.TxNum(h)
	if err != nil {
		return nil, nil, err
	}
	e, err := s.evmScreen()
	if err != nil {
		return nil, nil, err
	}
	lo, hi := es.TxTransfers(n)
	row := uint64(es.Tx(n).Block)
	amounts := map[string]float64{}
	var total float64
	var starts []trace.EVMStart
	for x := lo; x < hi; x++ {
		t := es.Transfer(x)
		if !query.ValueKind(t.Kind) || t.From == t.To {
			continue
		}
		starts = append(starts, trace.EVMStart{Transfer: x})
		v, ok := s.evmUSD(es, e, trace.AssetName(es, t.Asset), t.Amount.ToBig(), row)
		if !ok {
			continue
		}
		total += v
		party := t.From
		if direction == "withdrawal" {
			party = t.To
		}
		if cat := e.cats[party]; cat != "" {
			amounts[cat] += v
		}
	}
	direct, indirect = usdExposures(amounts, total), []Exposure{}
	if direction != "deposit" || len(starts) == 0 {
		return direct, indirect, nil
	}
	risky := func(x uint32) (string, string, bool) {
		cat := e.cats[x]
		return cat, "", cat != ""
	}
	res, err := trace.TraceEVMBackward(es, starts, trace.EVMOptions{Model: trace.FIFO, MaxHops: IndirectHops, Services: risky, Conduits: e.conduits})
	if err != nil {
		return direct, indirect, nil
	}
	return direct, s.usdOfSources(es, e, res, total), nil
}

// usdOfSources sums a backward trace's sources by risk category, in
// dollars at each source's day, as shares of total.
func (s *Server) usdOfSources(es evmstore.Reader, e *evmScreening, res *trace.EVMResult, total float64) []Exposure {
	by := map[string]float64{}
	for _, d := range res.Destinations {
		switch d.Category {
		case "minted", "unexplained", "limit", "dust", "unspent", "fees":
			continue
		}
		v, ok := new(big.Int).SetString(d.Amount, 10)
		if !ok {
			continue
		}
		row, err := es.BlockRow(d.Block)
		if err != nil {
			continue
		}
		if usd, ok := s.evmUSD(es, e, d.Asset, v, row); ok {
			by[d.Category] += usd
		}
	}
	return usdExposures(by, total)
}
