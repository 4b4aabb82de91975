package trace

import (
	"container/heap"
	"fmt"
	"sort"
	"time"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/store"
)

// txMaxQueue pops the highest tx number first: a backward trace reaches a
// transaction only after every later one that spends its outputs.
type txMaxQueue struct{ txQueue }

func (q txMaxQueue) Less(i, j int) bool { return q.txQueue[i] > q.txQueue[j] }

// Backward traces where the value of the starts came from: each tainted
// output is explained by the inputs of the transaction that made it (FIFO:
// by position; haircut: by value share; poison: every input in full),
// back to coinbases ("mined"), services, or the hop limit. The result's
// destinations are the sources. With MixerLinks a CoinJoin ends it too (as
// the source "mixer"): which of a mix's inputs paid an output is not known,
// and laying its outputs on its inputs by position or share would make
// sources of the mix's other participants.
func Backward(s store.Reader, starts []Start, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	net := s.Network()
	addrText := func(a uint32) string {
		if a == store.NoAddress {
			return ""
		}
		return s.Address(a).String(net)
	}
	res := &Result{Model: opts.Model}
	tainted := map[uint64]*taint{}
	queued := map[uint64]bool{}
	var q txMaxQueue
	dest := map[[2]string]*Destination{}
	arrive := func(o uint64, t *taint, category, label string) {
		a := addrText(s.OutAddr(o))
		k := [2]string{a, category}
		d := dest[k]
		if d == nil {
			d = &Destination{Chain: "btc", Address: a, Category: category, Label: label, Asset: "BTC", Link: "exact"}
			dest[k] = d
		}
		d.Amount += t.amount
	}
	// settle decides where an output's explained value comes from.
	settle := func(o uint64, t *taint, start bool) {
		if a := s.OutAddr(o); !start && opts.Services != nil && a != store.NoAddress {
			if cat, label, ok := opts.Services(a); ok {
				arrive(o, t, cat, label)
				return
			}
		}
		if t.hop >= opts.MaxHops {
			arrive(o, t, "limit", "max hops reached")
			return
		}
		n, _ := s.TxOfOutput(o)
		if !start && !opts.Since.IsZero() {
			if hdr, err := s.Header(s.TxHeight(n)); err == nil && time.Unix(int64(hdr.Time), 0).Before(opts.Since) {
				arrive(o, t, "limit", "before "+opts.Since.UTC().Format("2006-01-02"))
				return
			}
		}
		if prev := tainted[o]; prev != nil {
			prev.amount += t.amount
			prev.ranges = append(prev.ranges, t.ranges...)
			prev.hop = min(prev.hop, t.hop)
		} else {
			tainted[o] = t
		}
		if !queued[n] {
			queued[n] = true
			heap.Push(&q, n)
		}
	}
	// Starts may descend from one another (an address's change paid back
	// to itself): what the trace explains of a start is covered by the
	// start's own taint, counted once (as forward).
	seeded := map[uint64]int64{}
	cnt := s.Counts()
	for _, st := range starts {
		if st.Output >= cnt.Outputs {
			return nil, fmt.Errorf("%w: output %d", store.ErrNotFound, st.Output)
		}
		if _, dup := seeded[st.Output]; dup {
			continue
		}
		v, _ := s.OutValue(st.Output)
		amt := st.Amount
		if amt <= 0 || amt > v {
			amt = v
		}
		seeded[st.Output] = amt
		tx, vout := s.TxOfOutput(st.Output)
		res.From = append(res.From, fmt.Sprintf("%s:%d", s.TxID(tx), vout))
		res.Start += amt
		settle(st.Output, &taint{amount: amt, ranges: []interval{{lo: 0, hi: amt}}}, true)
	}
	var shape cluster.TxShape
	for q.Len() > 0 {
		n := heap.Pop(&q).(uint64)
		res.TxsVisited++
		if res.TxsVisited > opts.MaxTxs {
			return nil, fmt.Errorf("trace: more than %d transactions visited; narrow the trace (--max-hops, --min-value)", opts.MaxTxs)
		}
		firstIn, numIn, firstOut, numOut := s.TxRange(n)
		// The explained output ranges, laid out over the transaction's
		// outputs end to end.
		var ranges []interval
		var taintOut, totalOut int64
		hop := 0
		var off int64
		explained, most := uint64(0), int64(-1) // the output that holds the most of the value explained
		for o := firstOut; o < firstOut+numOut; o++ {
			v, _ := s.OutValue(o)
			if t := tainted[o]; t != nil {
				taintOut += t.amount
				if t.amount > most {
					explained, most = o, t.amount
				}
				hop = max(hop, t.hop+1)
				for _, r := range t.ranges {
					ranges = append(ranges, interval{lo: off + r.lo, hi: off + r.hi})
				}
				delete(tainted, o)
			}
			off += v
			totalOut += v
		}
		if taintOut == 0 {
			continue
		}
		if s.InputSpends(firstIn) == store.NoOutput {
			// A coinbase: the value was mined (with the block's fees).
			t := &taint{amount: taintOut}
			arrive(firstOut, t, "coinbase", "mined")
			continue
		}
		if opts.MixerLinks && (numIn >= 2 || numOut >= 3) && cluster.Shape(s, n, &shape) {
			if cj := cluster.DetectCoinJoin(&shape); cj != nil && cj.Kind != cluster.WhirlpoolTx0 {
				// A source of its own, named by its txid.
				txid := s.TxID(n).String()
				k := [2]string{txid, "mixer"}
				if dest[k] == nil {
					dest[k] = &Destination{Chain: "btc", Category: "mixer", Label: cj.Kind + " CoinJoin " + txid, Asset: "BTC", Link: "exact"}
				}
				dest[k].Amount += taintOut
				continue
			}
		}
		txid := s.TxID(n).String()
		to := ""
		if !opts.NoFlows {
			to = addrText(s.OutAddr(explained))
		}
		var totalIn int64 // haircut's denominator
		for i := firstIn; opts.Model == Haircut && i < firstIn+numIn; i++ {
			v, _ := s.OutValue(s.InputSpends(i))
			totalIn += v
		}
		var inOff int64
		for i := firstIn; i < firstIn+numIn; i++ {
			p := s.InputSpends(i)
			v, _ := s.OutValue(p)
			lo, hi := inOff, inOff+v
			inOff = hi
			t := &taint{hop: hop}
			switch opts.Model {
			case Poison:
				t.amount = v
				t.ranges = []interval{{lo: 0, hi: v}}
			case Haircut:
				// Every satoshi out is paid by the inputs in proportion
				// to their values (the fee too, which explains nothing).
				t.amount = Share(v, taintOut, totalIn)
				t.ranges = []interval{{lo: 0, hi: t.amount}}
			case FIFO:
				for _, r := range ranges {
					a, b := max(r.lo, lo), min(r.hi, hi)
					if a < b {
						t.ranges = append(t.ranges, interval{lo: a - lo, hi: b - lo})
						t.amount += b - a
					}
				}
			}
			if t.amount < opts.MinValue {
				continue
			}
			if !opts.NoFlows {
				res.Flows = append(res.Flows, Flow{Chain: "btc", Tx: txid, From: addrText(s.OutAddr(p)), To: to, Asset: "BTC", Amount: t.amount, Hop: hop, Link: "exact"})
			}
			if own, ok := seeded[p]; ok {
				covered, rest := beyondStart(t, own)
				res.Start -= covered
				if rest.amount == 0 {
					continue
				}
				t = rest
			}
			settle(p, t, false)
		}
	}
	for _, d := range dest {
		if res.Start > 0 {
			d.Share = float64(d.Amount) / float64(res.Start)
		}
		res.Destinations = append(res.Destinations, *d)
	}
	sort.Slice(res.Destinations, func(i, j int) bool {
		a, b := res.Destinations[i], res.Destinations[j]
		return a.Amount > b.Amount || a.Amount == b.Amount && a.Address < b.Address
	})
	return res, nil
}
