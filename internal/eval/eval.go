// Package eval compares what spur derived from a synthetic world with the
// world's truth.json: one row per metric, with the value, what truth says
// (where a count), the target and whether it is met. Only this package reads
// truth.json.
package eval

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
	"github.com/spur-forensics/spur/internal/world"
)

// Row is one line of the eval table.
type Row struct {
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Truth  float64 `json:"truth,omitempty"`
	Target string  `json:"target,omitempty"`
	OK     *bool   `json:"ok,omitempty"`
}

func check(ok bool) *bool { return &ok }

// pairwise scores a clustering against the true owners over the pairs of
// addresses: a pair is predicted when both share an entity, real when both
// share an owner.
type pairwise struct {
	both     map[[2]int64]int64 // (entity, owner) -> addresses
	byE, byO map[int64]int64
}

func (p *pairwise) add(entity, owner int64) {
	if p.both == nil {
		p.both, p.byE, p.byO = map[[2]int64]int64{}, map[int64]int64{}, map[int64]int64{}
	}
	p.both[[2]int64{entity, owner}]++
	p.byE[entity]++
	p.byO[owner]++
}

// score returns pairwise precision (1 with no predicted pair) and recall.
func (p *pairwise) score() (precision, recall float64) {
	c2 := func(k int64) float64 { return float64(k) * float64(k-1) / 2 }
	var tp, pred, real float64
	for _, k := range p.both {
		tp += c2(k)
	}
	for _, k := range p.byE {
		pred += c2(k)
	}
	for _, k := range p.byO {
		real += c2(k)
	}
	precision = 1
	if pred > 0 {
		precision = tp / pred
	}
	if real > 0 {
		recall = tp / real
	}
	return precision, recall
}

// ReadTruth reads a world's truth.json.
func ReadTruth(path string) (*world.Truth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	var t world.Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("eval: %s: %w", path, err)
	}
	return &t, nil
}

// World checks the store against the world's own statistics.
func World(s *store.Store, t *world.Truth) []Row {
	cnt := s.Counts()
	txs, _ := t.Stats["txs"].(float64)
	addrs := float64(len(t.Addresses))
	return []Row{
		{Metric: "btc transactions ingested", Value: float64(cnt.Txs), Truth: txs, Target: "= truth", OK: check(float64(cnt.Txs) == txs)},
		// The regtest genesis block pays an address no one in the world owns.
		{Metric: "btc addresses seen (truth: owned, plus genesis)", Value: float64(cnt.Addrs), Truth: addrs + 1, Target: "= truth", OK: check(float64(cnt.Addrs) == addrs+1)},
		{Metric: "coinjoins in the world", Value: float64(len(t.CoinJoins))},
		{Metric: "incidents", Value: float64(len(t.Incidents))},
	}
}

// Clustering measures pairwise precision and recall of spur's entities
// against the true owners, over the addresses both know.
func Clustering(s *store.Store, c *cluster.Clusters, t *world.Truth) ([]Row, error) {
	net := s.Network()
	var pw pairwise
	n := 0
	for text, owner := range t.Addresses {
		a, err := btc.ParseAddress(text, net)
		if err != nil {
			return nil, fmt.Errorf("eval: truth address %s: %w", text, err)
		}
		num, err := s.AddrNum(a)
		if err != nil {
			continue // never paid on chain
		}
		e, ok := c.Entity(num)
		if !ok {
			continue
		}
		pw.add(int64(e), int64(owner))
		n++
	}
	precision, recall := pw.score()
	return []Row{
		{Metric: "clustering: addresses evaluated", Value: float64(n)},
		{Metric: "clustering: entities (spur / truth owners)", Value: float64(len(pw.byE)), Truth: float64(len(pw.byO))},
		{Metric: "clustering: pairwise precision", Value: precision, Target: ">= 0.99", OK: check(precision >= 0.99)},
		{Metric: "clustering: pairwise recall", Value: recall},
	}, nil
}

// CoinJoins measures the CoinJoin detectors against the world's CoinJoins.
func CoinJoins(s *store.Store, t *world.Truth) []Row {
	var shape cluster.TxShape
	var tp, detected float64
	for n := uint64(0); n < s.Counts().Txs; n++ {
		if !cluster.Shape(s, n, &shape) {
			continue
		}
		if cluster.DetectCoinJoin(&shape) == nil {
			continue
		}
		detected++
		if _, ok := t.CoinJoins[s.TxID(n).String()]; ok {
			tp++
		}
	}
	real := float64(len(t.CoinJoins))
	precision, recall := 1.0, 0.0
	if detected > 0 {
		precision = tp / detected
	}
	if real > 0 {
		recall = tp / real
	}
	return []Row{
		{Metric: "coinjoin detection: detected / in truth", Value: detected, Truth: real},
		{Metric: "coinjoin detection: precision", Value: precision, Target: ">= 0.95", OK: check(precision >= 0.95)},
		{Metric: "coinjoin detection: recall", Value: recall, Target: ">= 0.95", OK: check(recall >= 0.95)},
	}
}

// Tracing traces every incident of the truth forward from its stolen
// outputs with each model, and measures how much of what truth says reached
// each exchange the trace finds there: the sum over exchanges of the smaller
// of traced and true amounts, over the true total. Each model runs with and
// without mixer links (through the CoinJoin outputs a consolidation links).
func Tracing(s *store.Store, t *world.Truth, base trace.Options) ([]Row, error) {
	var rows []Row
	for _, run := range []struct {
		model string
		links bool
	}{{trace.FIFO, false}, {trace.Haircut, false}, {trace.FIFO, true}, {trace.Haircut, true}} {
		model, name := run.model, run.model
		if run.links {
			name += ", mixer links"
		}
		var found, truthTotal, reached float64
		incidents := 0
		// The mix outputs linked (tx, address), and how many of them are
		// the incident's own (its steps' mix-out), and of those, how many
		// truth has.
		var linked, linkedOwn, own int
		// The addresses holding the taint (--format labels), and how many
		// of them truth gives the incident's actor.
		var holders, holdersOwn int
		for _, inc := range t.Incidents {
			var starts []trace.Start
			for _, ref := range inc.TheftTxs {
				id, vs, ok := strings.Cut(ref, ":")
				if !ok {
					continue
				}
				h, err := btc.ParseHash(id)
				if err != nil {
					return nil, fmt.Errorf("eval: incident %s: %w", inc.ID, err)
				}
				n, err := s.TxNum(h)
				if err != nil {
					return nil, fmt.Errorf("eval: incident %s: %w", inc.ID, err)
				}
				vout, _ := strconv.Atoi(vs)
				_, _, firstOut, _ := s.TxRange(n)
				starts = append(starts, trace.Start{Output: firstOut + uint64(vout)})
			}
			if len(starts) == 0 {
				continue
			}
			incidents++
			opts := base
			opts.Model, opts.MixerLinks = model, run.links
			res, err := trace.Forward(s, starts, opts)
			if err != nil {
				return nil, err
			}
			if run.links {
				outs := map[[2]string]bool{}
				for _, st := range inc.Steps {
					if st.Chain == "btc" && st.Kind == "mix-out" {
						outs[[2]string{st.Tx, st.To}] = true
					}
				}
				seen := map[[2]string]bool{}
				for _, f := range res.Flows {
					if k := [2]string{f.Tx, f.To}; f.Clue != "" && !seen[k] {
						seen[k] = true
						linked++
						if outs[k] {
							linkedOwn++
						}
					}
				}
				own += len(outs)
				for _, h := range res.Holders(trace.HolderConfidence) {
					holders++
					if e, ok := t.Addresses[h.Address]; ok && e < len(t.Entities) && t.Entities[e].Name == inc.Actor {
						holdersOwn++
					}
				}
			}
			traced := map[string]float64{}
			for _, d := range res.Destinations {
				if d.Category == "exchange" {
					traced["exchange:"+strings.TrimSuffix(d.Label, " deposit")] += float64(d.Amount)
					reached += float64(d.Amount)
				}
			}
			for k, v := range inc.Destinations {
				if strings.HasPrefix(k, "exchange:") {
					truthTotal += float64(v)
					found += min(float64(v), traced[k])
				}
			}
		}
		share := 0.0
		if truthTotal > 0 {
			share = found / truthTotal
		}
		atExch := Row{Metric: "tracing (" + name + "): value at exchanges / truth", Value: reached / max(truthTotal, 1)}
		foundRow := Row{Metric: "tracing (" + name + "): true exchange deposits found at the right exchange", Value: share}
		if run.links && model == trace.FIFO {
			// Through the mixes by their outputs' links, FIFO should find
			// where the money went as truth has it.
			atExch.Target, atExch.OK = "within 5%", check(atExch.Value >= 0.95 && atExch.Value <= 1.05)
			foundRow.Target, foundRow.OK = ">= 0.9", check(share >= 0.9)
		}
		rows = append(rows, Row{Metric: "tracing (" + name + "): incidents traced", Value: float64(incidents), Truth: float64(len(t.Incidents))}, atExch, foundRow)
		if run.links {
			prec := Row{Metric: "tracing (" + name + "): mix outputs linked: precision", Value: float64(linkedOwn) / float64(max(linked, 1))}
			if model == trace.FIFO {
				prec.Target, prec.OK = ">= 0.95", check(prec.Value >= 0.95)
			}
			held := Row{Metric: "tracing (" + name + "): addresses holding the taint (--format labels): the actor's share", Value: float64(holdersOwn) / float64(max(holders, 1))}
			if model == trace.FIFO {
				held.Target, held.OK = ">= 0.99", check(held.Value >= 0.99)
			}
			rows = append(rows, prec,
				Row{Metric: "tracing (" + name + "): mix outputs linked: recall", Value: float64(linkedOwn) / float64(max(own, 1)), Truth: float64(own)},
				Row{Metric: "tracing (" + name + "): addresses holding the taint (--format labels)", Value: float64(holders)}, held)
		}
	}
	return rows, nil
}
