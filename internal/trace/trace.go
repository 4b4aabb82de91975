// Package trace follows money forward under a taint model, from stolen
// value to where it ends: exchange deposits and hot wallets, other labelled
// services, or still unspent. On Bitcoin it follows outputs through the
// transaction graph (this file and backward.go); on EVM chains, balances in
// account order (evm.go).
//
// Models: poison (every output of a tainted transaction is tainted in full),
// haircut (each output carries the tainted share of the transaction's
// inputs), and FIFO (satoshi keep their order through a transaction: inputs
// laid end to end fill the outputs in order, so the taint of each output is
// exact). Transactions are visited in chain order, so each one is processed
// once with every tainted input that will ever reach it. The package reads
// the store and a service classifier; it knows nothing of how labels are
// kept.
package trace

import (
	"container/heap"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"
	"sort"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/store"
)

// Models.
const (
	Poison  = "poison"
	Haircut = "haircut"
	FIFO    = "fifo"
)

// Service says what an address is, if known: its category (exchange,
// mixer, ...) and label. ok is false for an unknown address.
type Service func(addr uint32) (category, label string, ok bool)

// Options bound a trace.
type Options struct {
	Model    string // default haircut
	MaxHops  int    // default 100
	MinValue int64  // taint below it (satoshi) is dropped as dust; default 1000
	MaxTxs   int    // transactions visited at most; default 1,000,000
	// MaxFanOut, when set, is the most outputs a transaction may pay
	// taint to and be followed (forward): past it (an exchange's batch
	// payout, a large CoinJoin followed without links) what reached the
	// transaction ends there, as "limit".
	MaxFanOut int
	// Since, when set, bounds a backward trace in time: an output made
	// before it is not explained further ("limit": its address had the
	// value then).
	Since time.Time
	// NoFlows leaves the flows out of a backward trace's result: a caller
	// that wants only where the value came from (screening) spares their
	// addresses' text.
	NoFlows bool
	// Services classifies addresses; tracing stops at services.
	Services Service
	// Until, when set, is the moment the picture is taken: spends after it
	// are not followed, and what they spent counts as unspent.
	Until time.Time
	// HotWallets are the exchanges' labelled hot wallet addresses: an
	// address whose coins are swept into one is that exchange's deposit
	// address, and tracing stops there.
	HotWallets map[uint32]string
	// MixerLinks ends the exact trace at CoinJoins (their outputs say
	// nothing of who got what) and goes on through the outputs of a mix
	// that a public clue links to its tainted inputs, as "heuristic":
	// a later transaction, itself no CoinJoin, that spends several outputs
	// of the tainted mixes (or of their remixes) together and little else
	// (its maker held them all: the consolidation of mixed coins that
	// public reporting of the 2021 thefts describes before the coins
	// reached exchanges), an output paid to an address the taint
	// reached before, or, in a CoinJoin with change (JoinMarket's, Wasabi
	// 1's), the one change output that the tainted inputs' value less
	// mixed outputs fits.
	MixerLinks bool
}

// Flow is one tainted amount moving along one output.
type Flow struct {
	Chain  string `json:"chain"`
	Tx     string `json:"tx"`
	From   string `json:"from"`
	To     string `json:"to"`
	Asset  string `json:"asset"`
	Amount int64  `json:"amount"`
	Hop    int    `json:"hop"`
	Link   string `json:"link"`
	// CoinJoin names the kind of CoinJoin the transaction is (whirlpool,
	// wasabi2, ..., whirlpool-tx0 for the way into Whirlpool), if it is one.
	CoinJoin string `json:"coinjoin,omitempty"`
	// Clue is what links a CoinJoin's output to the taint (MixerLinks),
	// and Confidence how much of the evidence points to the taint's
	// owner: 1 for an address the taint reached before and for the one
	// change output that fits; for a consolidation, the share of its
	// inputs that are outputs of the tainted mixes.
	Clue       string  `json:"clue,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	// SpentBy is the transaction that carried this output's taint on
	// (forward), when the trace followed it.
	SpentBy string `json:"spent_by,omitempty"`
	out     uint64 // the output (forward)
	mixed   int64  // of Amount, what came positionally out of a CoinJoin
}

// Destination is where tainted value ended.
type Destination struct {
	Chain    string  `json:"chain"`
	Address  string  `json:"address"`
	Category string  `json:"category"` // exchange, mixer, ..., unspent, dust, limit
	Label    string  `json:"label,omitempty"`
	Asset    string  `json:"asset"`
	Amount   int64   `json:"amount"`
	Share    float64 `json:"share"`
	Mixed    int64   `json:"mixed"` // of Amount, what passed through a CoinJoin on the way
	Link     string  `json:"link"`
	// Time is when the last of it arrived (unix seconds, block time).
	Time int64 `json:"time"`
}

// Result is a trace.
type Result struct {
	Model        string        `json:"model"`
	From         []string      `json:"from"`
	Start        int64         `json:"start_amount"`
	Flows        []Flow        `json:"flows"`
	Destinations []Destination `json:"destinations"`
	TxsVisited   int           `json:"txs_visited"`
	// MixerLinks counts the CoinJoin outputs that carried taint on, by
	// the clue that linked them (MixerLinks set).
	MixerLinks map[string]int `json:"mixer_links,omitempty"`
	// Starts are the start outputs (forward), each as a flow of hop 0 to
	// its address, with the transaction that spent it: what a drawing of
	// the trace begins with.
	Starts []Flow `json:"-"`
}

// interval is a tainted range [lo, hi) of satoshi within an output, and
// whether those satoshi went through a CoinJoin and came out of it by a
// heuristic link.
type interval struct {
	lo, hi int64
	mixed  bool
	linked bool
}

// taint is the taint an output carries: an amount (of which mixed went
// through a CoinJoin, and linked came out of one by a heuristic link), and
// for FIFO its ranges.
type taint struct {
	amount int64
	mixed  int64
	linked int64
	ranges []interval
	hop    int
}

// beyondStart splits the taint t that reaches a start output, whose own
// taint covers its first own satoshi, into what the start covers already
// (counted at the start) and the rest, which goes on as taint of its own.
func beyondStart(t *taint, own int64) (covered int64, rest *taint) {
	rest = &taint{hop: t.hop}
	for _, r := range t.ranges {
		if r.hi <= own {
			continue
		}
		r.lo = max(r.lo, own)
		rest.ranges = append(rest.ranges, r)
		rest.amount += r.hi - r.lo
		if r.mixed {
			rest.mixed += r.hi - r.lo
		}
		if r.linked {
			rest.linked += r.hi - r.lo
		}
	}
	return t.amount - rest.amount, rest
}

type txQueue []uint64

func (q txQueue) Len() int           { return len(q) }
func (q txQueue) Less(i, j int) bool { return q[i] < q[j] }
func (q txQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *txQueue) Push(x any)        { *q = append(*q, x.(uint64)) }
func (q *txQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Start is where a trace begins: an output and how much of it is tainted
// (all of it when Amount is 0).
type Start struct {
	Output uint64
	Amount int64
}

// DefaultMinValue is the least amount (satoshi) a trace follows when
// Options.MinValue is left zero: smaller parts are left where they are.
const DefaultMinValue = 1000

// defaults fills in the options left zero and checks the model.
func (opts *Options) defaults() error {
	if opts.Model == "" {
		opts.Model = Haircut
	}
	if opts.Model != Poison && opts.Model != Haircut && opts.Model != FIFO {
		return fmt.Errorf("trace: unknown model %q (want poison, haircut or fifo)", opts.Model)
	}
	if opts.MaxHops == 0 {
		opts.MaxHops = 100
	}
	if opts.MinValue == 0 {
		opts.MinValue = DefaultMinValue
	}
	if opts.MaxTxs == 0 {
		opts.MaxTxs = 1_000_000
	}
	return nil
}

// Forward traces the starts forward.
func Forward(s store.Reader, starts []Start, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if !opts.MixerLinks {
		res, _, _, err := forward(s, starts, opts, nil)
		return res, err
	}
	// Links found on one pass may taint mixes the pass before did not
	// reach; trace again until no new link is found.
	links := map[uint64]link{}
	for round := 1; ; round++ {
		res, mixes, paid, err := forward(s, starts, opts, links)
		if err != nil {
			return nil, err
		}
		found := reuseLinks(s, mixes, paid, links)
		for o, l := range consolidationLinks(s, mixes, links, opts.Until) {
			if _, ok := found[o]; !ok {
				found[o] = l
			}
		}
		if len(found) == 0 || round == maxLinkRounds {
			return res, nil
		}
		maps.Copy(links, found)
	}
}

// maxLinkRounds bounds the passes of a trace with mixer links.
const maxLinkRounds = 8

// A link ties a mix output to the taint by a clue; of a mix's outputs
// linked, the strongest take its taint first.
type link struct {
	clue     string
	strength int
	share    float64 // the confidence: how much of the evidence is the taint's
}

// forward is one pass of Forward, with the CoinJoin outputs linked so far
// (opts.MixerLinks); it also gives the CoinJoins the taint entered and,
// with MixerLinks, the addresses it reached.
func forward(s store.Reader, starts []Start, opts Options, links map[uint64]link) (*Result, []uint64, map[uint32]uint64, error) {
	net := s.Network()
	addrText := func(a uint32) string {
		if a == store.NoAddress {
			return ""
		}
		return s.Address(a).String(net)
	}
	res := &Result{Model: opts.Model}
	if opts.MixerLinks {
		res.MixerLinks = map[string]int{}
	}
	var mixes []uint64
	// paid are the addresses the taint reached, labelled services aside,
	// whose addresses many pay (for the address-reuse clue).
	// Each maps to the output that reached it, or to NoOutput once several
	// did (an output is no reuse of the address it alone reached).
	paid := map[uint32]uint64{}
	// spentAfter says whether tx n came after opts.Until.
	spentAfter := func(n uint64) bool {
		if opts.Until.IsZero() {
			return false
		}
		hdr, err := s.Header(s.TxHeight(n))
		return err == nil && time.Unix(int64(hdr.Time), 0).After(opts.Until)
	}
	tainted := map[uint64]*taint{} // output -> taint
	spentBy := map[uint64]uint64{} // output -> the transaction that carries its taint on
	queued := map[uint64]bool{}
	var q txQueue
	dest := map[[3]string]*Destination{}
	// add counts amount (of which mixed went through a CoinJoin, and
	// linked came by a heuristic link) at a destination, the linked part
	// apart, at the time of tx.
	add := func(addr, category, label string, amount, mixed, linked int64, tx uint64) {
		var when int64
		if hdr, err := s.Header(s.TxHeight(tx)); err == nil {
			when = int64(hdr.Time)
		}
		for _, part := range [2]struct {
			link          string
			amount, mixed int64
		}{{"exact", amount - linked, max(mixed-linked, 0)}, {"heuristic", linked, min(mixed, linked)}} {
			if part.amount <= 0 {
				continue
			}
			k := [3]string{addr, category, part.link}
			d := dest[k]
			if d == nil {
				d = &Destination{Chain: "btc", Address: addr, Category: category, Label: label, Asset: "BTC", Link: part.link}
				dest[k] = d
			}
			d.Amount += part.amount
			d.Mixed += part.mixed
			d.Time = max(d.Time, when)
		}
	}
	arrive := func(o uint64, t *taint, category, label string) {
		tx, _ := s.TxOfOutput(o)
		add(addrText(s.OutAddr(o)), category, label, t.amount, t.mixed, t.linked, tx)
	}
	// settle decides what happens to a tainted output: it stops at a
	// service or a deposit address, stays unspent, or queues its spender.
	settle := func(o uint64, t *taint) {
		out := s.Output(o)
		if opts.Services != nil && out.Addr != store.NoAddress {
			if cat, label, ok := opts.Services(out.Addr); ok {
				arrive(o, t, cat, label)
				return
			}
		}
		if opts.MixerLinks && out.Addr != store.NoAddress {
			if r, ok := paid[out.Addr]; !ok || r == o {
				paid[out.Addr] = o
			} else {
				paid[out.Addr] = store.NoOutput
			}
		}
		if !out.Spent || spentAfter(out.SpentBy) {
			arrive(o, t, "unspent", "")
			return
		}
		if ex, ok := depositOf(s, out.SpentBy, opts.HotWallets); ok {
			arrive(o, t, "exchange", ex+" deposit")
			return
		}
		if t.hop >= opts.MaxHops {
			arrive(o, t, "limit", "max hops reached")
			return
		}
		tainted[o] = t
		spentBy[o] = out.SpentBy
		if !queued[out.SpentBy] {
			queued[out.SpentBy] = true
			heap.Push(&q, out.SpentBy)
		}
	}
	// Starts may descend from one another (an address's change paid back
	// to itself, a theft's later moves): a start the trace reaches keeps
	// the larger of its own taint and what reaches it, and what reaches it
	// was counted at the start it came from, not again (seeded).
	seeded := map[uint64]int64{}
	for _, st := range starts {
		cnt := s.Counts()
		if st.Output >= cnt.Outputs {
			return nil, nil, nil, fmt.Errorf("%w: output %d", store.ErrNotFound, st.Output)
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
		res.Starts = append(res.Starts, Flow{Chain: "btc", Tx: s.TxID(tx).String(), To: addrText(s.OutAddr(st.Output)), Asset: "BTC", Amount: amt, Link: "exact", out: st.Output})
		settle(st.Output, &taint{amount: amt, ranges: []interval{{0, amt, false, false}}})
	}
	// reach passes taint t on along output o of transaction txid, as a
	// flow, unless it is dust.
	reach := func(o uint64, t *taint, txid, from, cjKind string, l link) {
		if t.amount < opts.MinValue {
			if t.amount > 0 {
				arrive(o, t, "dust", "below --min-value")
			}
			return
		}
		to := addrText(s.OutAddr(o))
		if exact := t.amount - t.linked; exact > 0 {
			res.Flows = append(res.Flows, Flow{Chain: "btc", Tx: txid, From: from, To: to, Asset: "BTC", Amount: exact, Hop: t.hop, Link: "exact", CoinJoin: cjKind, out: o, mixed: max(t.mixed-t.linked, 0)})
		}
		if t.linked > 0 {
			res.Flows = append(res.Flows, Flow{Chain: "btc", Tx: txid, From: from, To: to, Asset: "BTC", Amount: t.linked, Hop: t.hop, Link: "heuristic", CoinJoin: cjKind, Clue: l.clue, Confidence: l.share, out: o, mixed: min(t.mixed, t.linked)})
		}
		if own, ok := seeded[o]; ok {
			// A start reached: settled when the trace began, with its
			// own taint; it grows only by what reaches it beyond.
			covered, rest := beyondStart(t, own)
			res.Start -= covered
			if rest.amount == 0 {
				return
			}
			if cur := tainted[o]; cur != nil {
				// Its spender, queued, takes both.
				cur.amount += rest.amount
				cur.mixed += rest.mixed
				cur.linked += rest.linked
				cur.ranges = append(cur.ranges, rest.ranges...)
				return
			}
			t = rest
		}
		settle(o, t)
	}
	var shape cluster.TxShape
	for q.Len() > 0 {
		n := heap.Pop(&q).(uint64)
		res.TxsVisited++
		if res.TxsVisited > opts.MaxTxs {
			return nil, nil, nil, fmt.Errorf("trace: more than %d transactions visited; narrow the trace (--max-hops, --min-value)", opts.MaxTxs)
		}
		firstIn, numIn, firstOut, numOut := s.TxRange(n)
		var totalIn, taintIn, mixedIn, linkedIn int64
		var taintedValue int64 // the whole value of the inputs the taint is in
		firstTainted := store.NoOutput
		hop := 0
		// Inputs laid end to end, with their tainted ranges at their offsets.
		var ranges []interval
		var offset int64
		for i := firstIn; i < firstIn+numIn; i++ {
			o := s.InputSpends(i)
			if o == store.NoOutput {
				continue
			}
			v, _ := s.OutValue(o)
			if t := tainted[o]; t != nil {
				if firstTainted == store.NoOutput {
					firstTainted = o
				}
				taintIn += t.amount
				taintedValue += v
				mixedIn += t.mixed
				linkedIn += t.linked
				hop = max(hop, t.hop+1)
				for _, r := range t.ranges {
					ranges = append(ranges, interval{offset + r.lo, offset + r.hi, r.mixed, r.linked})
				}
				delete(tainted, o)
			}
			offset += v
			totalIn += v
		}
		if taintIn == 0 {
			continue
		}
		// Everything a CoinJoin pays out has been mixed. A Whirlpool Tx0 is
		// the way in, not a mix: its premix outputs are mixed by the mixes
		// they enter.
		coinjoin, cjKind := false, ""
		if numIn >= 2 || numOut >= 3 {
			if cluster.Shape(s, n, &shape) {
				if cj := cluster.DetectCoinJoin(&shape); cj != nil {
					cjKind = cj.Kind
					coinjoin = cj.Kind != cluster.WhirlpoolTx0
				}
			}
		}
		txid := s.TxID(n).String()
		// A flow comes from the transaction's first input; out of a
		// CoinJoin, whose first input is most likely someone else's, from
		// its first tainted one.
		from := ""
		if f := s.InputSpends(firstIn); cjKind != "" {
			from = addrText(s.OutAddr(firstTainted))
		} else if f != store.NoOutput {
			from = addrText(s.OutAddr(f))
		}
		if coinjoin && opts.MixerLinks {
			var totalOut int64
			for o := firstOut; o < firstOut+numOut; o++ {
				v, _ := s.OutValue(o)
				totalOut += v
			}
			mixes = append(mixes, n)
			// The change clue, on the mix's shape as DetectCoinJoin saw it,
			// for this pass's tainted inputs.
			mixLinks := links
			if i, ok := changeOutput(&shape, cjKind, taintedValue); ok {
				if _, known := links[firstOut+uint64(i)]; !known {
					mixLinks = map[uint64]link{firstOut + uint64(i): {"change", math.MaxInt32 - 1, 1}}
					for o := firstOut; o < firstOut+numOut; o++ {
						if l, ok := links[o]; ok {
							mixLinks[o] = l
						}
					}
				}
			}
			demix(s, n, taintIn, linkedIn, totalIn-totalOut, totalIn, hop, mixLinks, res, func(o uint64, t *taint, l link) { reach(o, t, txid, from, cjKind, l) },
				func(category, label string, amount, linked int64) {
					add("", category, label, amount, amount, linked, n)
				})
			continue
		}
		type pay struct {
			o uint64
			t *taint
		}
		var pays []pay
		var outOff int64
		for o := firstOut; o < firstOut+numOut; o++ {
			v, typ := s.OutValue(o)
			lo, hi := outOff, outOff+v
			outOff = hi
			if typ == btc.NullData || v == 0 {
				continue
			}
			t := &taint{hop: hop}
			switch opts.Model {
			case Poison:
				m := mixedIn > 0 || coinjoin
				t.amount = v
				t.ranges = []interval{{0, v, m, linkedIn > 0}}
				if m {
					t.mixed = v
				}
				if linkedIn > 0 {
					t.linked = v
				}
			case Haircut:
				t.amount = Share(v, taintIn, totalIn)
				t.mixed = Share(t.amount, mixedIn, taintIn)
				if coinjoin {
					t.mixed = t.amount
				}
				t.linked = Share(t.amount, linkedIn, taintIn)
				t.ranges = []interval{{0, t.amount, t.mixed > 0, t.linked > 0}}
			case FIFO:
				for _, r := range ranges {
					a, b := max(r.lo, lo), min(r.hi, hi)
					if a < b {
						m := r.mixed || coinjoin
						t.ranges = append(t.ranges, interval{a - lo, b - lo, m, r.linked})
						t.amount += b - a
						if m {
							t.mixed += b - a
						}
						if r.linked {
							t.linked += b - a
						}
					}
				}
			}
			if t.amount > 0 {
				pays = append(pays, pay{o, t})
			}
		}
		if opts.MaxFanOut > 0 && len(pays) > opts.MaxFanOut {
			mixed := mixedIn
			if coinjoin {
				mixed = taintIn
			}
			add("", "limit", fmt.Sprintf("fan-out: %s pays %d outputs", txid, len(pays)), taintIn, mixed, linkedIn, n)
			continue
		}
		for _, p := range pays {
			reach(p.o, p.t, txid, from, cjKind, link{})
		}
		totalOut := outOff // the outputs laid end to end
		// The fee takes its share of the taint: under FIFO the satoshi laid
		// past the last output, under haircut the tainted share of the fee.
		if totalIn > totalOut && opts.Model != Poison {
			var fee, feeLinked int64
			if opts.Model == FIFO {
				for _, r := range ranges {
					if a, b := max(r.lo, totalOut), min(r.hi, totalIn); a < b {
						fee += b - a
						if r.linked {
							feeLinked += b - a
						}
					}
				}
			} else {
				fee = Share(totalIn-totalOut, taintIn, totalIn)
				feeLinked = Share(fee, linkedIn, taintIn)
			}
			add("", "fees", "paid to miners", fee, 0, feeLinked, n)
		}
	}
	txids := map[uint64]string{}
	for _, fs := range [][]Flow{res.Starts, res.Flows} {
		for i := range fs {
			n, ok := spentBy[fs[i].out]
			if !ok {
				continue
			}
			if txids[n] == "" {
				txids[n] = s.TxID(n).String()
			}
			fs[i].SpentBy = txids[n]
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
		return a.Amount > b.Amount || a.Amount == b.Amount && (a.Address < b.Address || a.Address == b.Address && a.Link < b.Link)
	})
	return res, mixes, paid, nil
}

// demix passes the taint of CoinJoin n on: the fee takes the tainted
// inputs' share of it, and the rest fills the outputs linked to them
// (links), the strongest first, each up to its value, as heuristic; what
// is left stays in the mix (category mixer), where the exact trace ends.
func demix(s store.Reader, n uint64, taintIn, linkedIn, fee, totalIn int64, hop int, links map[uint64]link, res *Result, reach func(uint64, *taint, link), end func(category, label string, amount, linked int64)) {
	// The linked part of what ends here is the linked inputs' share of it.
	f := Share(fee, taintIn, totalIn)
	if f > 0 {
		end("fees", "paid to miners", f, Share(f, linkedIn, taintIn))
	}
	left := taintIn - f
	_, _, firstOut, numOut := s.TxRange(n)
	var linked []uint64
	for o := firstOut; o < firstOut+numOut; o++ {
		if _, ok := links[o]; ok {
			linked = append(linked, o)
		}
	}
	// A mix's outputs linked by several clues: those of the strongest
	// first (address reuse, then the consolidation that spends the most
	// of the tainted mixes' outputs).
	sort.SliceStable(linked, func(i, j int) bool { return links[linked[i]].strength > links[linked[j]].strength })
	for _, o := range linked {
		if left == 0 {
			break
		}
		v, _ := s.OutValue(o)
		a := min(v, left)
		left -= a
		l := links[o]
		res.MixerLinks[l.clue]++
		reach(o, &taint{amount: a, mixed: a, linked: a, ranges: []interval{{0, a, true, true}}, hop: hop}, l)
	}
	if left > 0 {
		end("mixer", "CoinJoin: outputs not linked", left, Share(left, linkedIn, taintIn))
	}
}

// changeOutput finds, in a CoinJoin with change (JoinMarket's, Wasabi
// 1's), the change output of the participant whose inputs are worth paid:
// each participant takes at most one output of each mixed value (a value
// two or more outputs have) and gets back the rest, less its fees, as one
// output of a value no other output has. The change is the one such output
// c for which paid - c is a sum of distinct mixed values to within the
// fees (1% of that sum and 10,000 satoshi, either way: JoinMarket's makers
// earn theirs); when two outputs fit, or the inputs fit the mixed values
// with no change at all, nothing is told. i is the output's index.
// WabiSabi's mixes (Wasabi 2) are passed over: their outputs are of
// standard values, most of them unique, so no change stands out.
func changeOutput(tx *cluster.TxShape, kind string, paid int64) (i int, ok bool) {
	if kind == cluster.Wasabi2 {
		return 0, false
	}
	count := map[int64]int{}
	for _, o := range tx.Outputs {
		if o.Type != btc.NullData && o.Value >= 1000 {
			count[o.Value]++
		}
	}
	var mixed []int64
	for v, c := range count {
		if c >= 2 {
			mixed = append(mixed, v)
		}
	}
	if len(mixed) == 0 || len(mixed) > 8 {
		return 0, false
	}
	// fits reports whether rest is a sum of distinct mixed values, to
	// within the fees.
	fits := func(rest int64) bool {
		for set := 1; set < 1<<len(mixed); set++ {
			var m int64
			for k, v := range mixed {
				if set&(1<<k) != 0 {
					m += v
				}
			}
			if d := rest - m; d >= -(m/100+10_000) && d <= m/100+10_000 {
				return true
			}
		}
		return false
	}
	if fits(paid) {
		return 0, false // no change needed
	}
	found := -1
	for k, o := range tx.Outputs {
		if count[o.Value] != 1 || o.Value >= paid || !fits(paid-o.Value) {
			continue
		}
		if found >= 0 {
			return 0, false // two fit: nothing told
		}
		found = k
	}
	if found < 0 {
		return 0, false
	}
	return found, true
}

// reuseLinks finds the outputs of the tainted mixes paid to an address the
// taint reached before (paid): whoever mixed coins back to an address of
// theirs gave the output away. Known outputs are not given again.
func reuseLinks(s store.Reader, mixes []uint64, paid map[uint32]uint64, known map[uint64]link) map[uint64]link {
	found := map[uint64]link{}
	for _, n := range mixes {
		_, _, firstOut, numOut := s.TxRange(n)
		for o := firstOut; o < firstOut+numOut; o++ {
			if _, ok := known[o]; ok {
				continue
			}
			if r, reached := paid[s.OutAddr(o)]; reached && r != o {
				found[o] = link{"address-reuse", math.MaxInt32, 1}
			}
		}
	}
	return found
}

// consolidationLinks finds the outputs of the tainted mixes that a later
// consolidation links to their tainted inputs: a transaction, no CoinJoin
// itself and made by the picture's end (until), that spends outputs of at
// least two of the mixes, three or more in all, and more of those than of
// anything else. A mix output remixed (spent by a CoinJoin whose inputs
// hold no other output of the mixes, so that its outputs can only continue
// that one) counts by the remix's outputs, up to remixDepth remixes on: a
// consolidation of one of those links it and the outputs remixed on the
// way. It gives each output the strength of its clue, the number of the
// mixes' outputs its consolidation spends; known outputs are not given
// again.
func consolidationLinks(s store.Reader, mixes []uint64, known map[uint64]link, until time.Time) map[uint64]link {
	type cand struct {
		mix uint64   // the tainted mix it comes from
		via []uint64 // the mix's outputs remixed on the way to it
	}
	cands := map[uint64]cand{}
	var frontier []uint64
	for _, n := range mixes {
		_, _, firstOut, numOut := s.TxRange(n)
		for o := firstOut; o < firstOut+numOut; o++ {
			cands[o] = cand{mix: n}
			frontier = append(frontier, o)
		}
	}
	var shape cluster.TxShape
	coinjoin := map[uint64]bool{} // transactions asked, and whether they are CoinJoins
	isCoinJoin := func(tx uint64) bool {
		cj, ok := coinjoin[tx]
		if !ok {
			cj = cluster.Shape(s, tx, &shape) && cluster.DetectCoinJoin(&shape) != nil
			coinjoin[tx] = cj
		}
		return cj
	}
	madeBy := func(tx uint64) bool {
		if until.IsZero() {
			return true
		}
		hdr, err := s.Header(s.TxHeight(tx))
		return err == nil && !time.Unix(int64(hdr.Time), 0).After(until)
	}
	for depth := 0; depth < remixDepth && len(frontier) > 0 && len(cands) < maxRemixCands; depth++ {
		remixes := map[uint64]uint64{} // remix -> the candidate it spends
		for _, o := range frontier {
			if out := s.Output(o); out.Spent && isCoinJoin(out.SpentBy) {
				remixes[out.SpentBy] = o
			}
		}
		// Each remix is judged by the candidates found before this
		// depth, so that the order the remixes are taken in does not count.
		added := map[uint64]cand{}
		for r, from := range remixes {
			firstIn, numIn, firstOut, numOut := s.TxRange(r)
			held := 0
			for i := firstIn; i < firstIn+numIn; i++ {
				if _, ok := cands[s.InputSpends(i)]; ok {
					held++
				}
			}
			if held != 1 {
				continue // which of them an output continues is unknown
			}
			c := cands[from]
			for o := firstOut; o < firstOut+numOut; o++ {
				if _, ok := cands[o]; !ok {
					added[o] = cand{c.mix, append(slices.Clip(c.via), from)}
				}
			}
		}
		frontier = frontier[:0]
		for o, c := range added {
			cands[o] = c
			frontier = append(frontier, o)
		}
		slices.Sort(frontier)
	}
	by := map[uint64][]uint64{} // spender -> the candidates it spends
	for o := range cands {
		if out := s.Output(o); out.Spent {
			by[out.SpentBy] = append(by[out.SpentBy], o)
		}
	}
	found := map[uint64]link{}
	for tx, outs := range by {
		if len(outs) < 3 {
			continue
		}
		distinct := map[uint64]bool{}
		for _, o := range outs {
			distinct[cands[o].mix] = true
		}
		_, numIn, _, _ := s.TxRange(tx)
		if len(distinct) < 2 || 2*len(outs) <= int(numIn) || !madeBy(tx) || isCoinJoin(tx) {
			continue
		}
		for _, o := range outs {
			for _, l := range append(slices.Clip(cands[o].via), o) {
				if _, ok := known[l]; !ok && len(outs) > found[l].strength {
					found[l] = link{"consolidation", len(outs), float64(len(outs)) / float64(numIn)}
				}
			}
		}
	}
	return found
}

// remixDepth bounds the remixes a mix output is followed through to a
// consolidation; maxRemixCands stops going deeper once so many outputs are
// candidates (a trace that reaches thousands of mixes, each remixed on).
const (
	remixDepth    = 3
	maxRemixCands = 1 << 20
)

// depositOf reports whether transaction n sweeps into a labelled hot wallet,
// which makes the addresses it spends deposit addresses of that exchange.
func depositOf(s store.Reader, n uint64, hot map[uint32]string) (string, bool) {
	if len(hot) == 0 {
		return "", false
	}
	_, _, firstOut, numOut := s.TxRange(n)
	for o := firstOut; o < firstOut+numOut; o++ {
		if ex, ok := hot[s.OutAddr(o)]; ok {
			// A withdrawal from the hot wallet pays change to it too: only a
			// transaction that does not spend from the hot wallet is a sweep.
			firstIn, numIn, _, _ := s.TxRange(n)
			for i := firstIn; i < firstIn+numIn; i++ {
				if p := s.InputSpends(i); p != store.NoOutput {
					if _, isHot := hot[s.OutAddr(p)]; isHot {
						return "", false
					}
				}
			}
			return ex, true
		}
	}
	return "", false
}

// Share is a*b/c rounded down, exactly: the part of b that a part a of c
// carries (haircut's shares). Floating point is a satoshi over the exact
// share about one time in fifty at amounts of a thousand BTC and more,
// which would make the parts of a taint add up to more than it. 0 when c
// is not positive.
func Share(a, b, c int64) int64 {
	if a <= 0 || b <= 0 || c <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) { // a*b/c is 2^64 or more: a and b are no parts of c
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}
