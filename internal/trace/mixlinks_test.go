package trace

import (
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testchain"
)

// whirlpoolWorld is mainnet's blocks 0..13 and a block of Whirlpool-shaped
// mixes on top: the thief splits block 1's coinbase into seven premix coins
// and change; five mixes of the 0.5 BTC pool each take some of them with
// honest premix coins (from blocks 2..13's coinbases); the thief's output
// of the fifth is remixed with four fresh premix coins; then the thief
// consolidates its six mix outputs and the remix's, and honest users spend
// theirs:
// two outputs of two tainted mixes together (too few to say anything),
// three with four coins of other kinds (mostly not mix outputs), three of
// one mix alone (one mix says nothing of the others), three of two mixes
// remixed with two fresh premix coins (a remix is no consolidation; nor
// can its outputs be told apart: a later spend of two of them with an
// output of another mix links nothing), three outputs of the thief's remix
// (all from one mix), and three of three mixes with a coin of another kind (a clue, but weaker than the thief's
// seven: the mixes' taint goes to the thief's outputs first).
type whirlpoolWorld struct {
	s        *store.Store
	theft    uint64 // the thief's coinbase output
	consAddr string // where the consolidation pays
	honest   []string
	premix   []string // the honest premix coins' addresses
	mixes    []uint64 // the five mixes, the thief's remix, the sixth mix (tx numbers)
	reused   string   // the thief's address the sixth mix pays again
	// clues are the mix outputs a consolidation links, with their
	// clues' strength: the thief's seven (and the output it remixed), and
	// the weaker clue's three.
	clues map[[2]int]int // {mix, vout} -> strength
}

const (
	denom  = 50_000_000
	premix = denom + 170
)

func newWhirlpoolWorld(t *testing.T) *whirlpoolWorld {
	t.Helper()
	s := testchain.Mainnet(t, t.TempDir(), 15)
	next := byte(0)
	addr := func() []byte { // a fresh P2WPKH script
		next++
		return append([]byte{0x00, 20, 0xab, next}, make([]byte, 18)...)
	}
	text := func(sc []byte) string { _, a, _ := btc.ScriptAddress(sc); return a.String(s.Network()) }
	type coin struct {
		tx   btc.Hash
		vout uint32
	}
	var txs []btc.Tx
	// spend makes a transaction of the coins to outputs of the values,
	// paid to fresh addresses but where reuse gives one.
	var reuse map[int][]byte
	spend := func(in []coin, values ...int64) (btc.Hash, [][]byte) {
		tx := btc.Tx{Version: 1}
		for _, c := range in {
			tx.Inputs = append(tx.Inputs, btc.TxIn{PrevTxID: c.tx, PrevIndex: c.vout, Sequence: 0xffffffff})
		}
		var scripts [][]byte
		for i, v := range values {
			sc := reuse[i]
			if sc == nil {
				sc = addr()
			}
			scripts = append(scripts, sc)
			tx.Outputs = append(tx.Outputs, btc.TxOut{Value: v, Script: sc})
		}
		reuse = nil
		d, err := btc.DecodeTx(btc.AppendTx(nil, &tx))
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, *d)
		return d.TxID, scripts
	}
	cb := func(h int) coin { return coin{s.TxID(uint64(h)), 0} }
	const coinbase = 50_0000_0000
	w := &whirlpoolWorld{s: s, theft: 1}
	t0, t0s := spend([]coin{cb(1)}, premix, premix, premix, premix, premix, premix, premix, premix, coinbase-8*premix-5000)
	w.reused = text(t0s[0])
	var honestPre, honestChange []coin
	for h := 2; h <= 15; h++ {
		id, sc := spend([]coin{cb(h)}, premix, premix, coinbase-2*premix-5000)
		honestPre = append(honestPre, coin{id, 0}, coin{id, 1})
		w.premix = append(w.premix, text(sc[0]), text(sc[1]))
		honestChange = append(honestChange, coin{id, 2})
	}
	// The mixes: the thief's coins first, so that FIFO lays their value
	// on the first outputs, which are not the thief's.
	m1, _ := spend([]coin{{t0, 0}, {t0, 1}, honestPre[0], honestPre[1], honestPre[2]}, denom, denom, denom, denom, denom)
	m2, _ := spend([]coin{{t0, 2}, {t0, 3}, honestPre[3], honestPre[4], honestPre[5]}, denom, denom, denom, denom, denom)
	// The third mix's first input is someone else's.
	m3, _ := spend([]coin{honestPre[6], {t0, 4}, honestPre[7], honestPre[8], honestPre[9]}, denom, denom, denom, denom, denom)
	m4, _ := spend([]coin{{t0, 5}, honestPre[10], honestPre[11], honestPre[12], honestPre[13]}, denom, denom, denom, denom, denom)
	m5, _ := spend([]coin{{t0, 6}, honestPre[16], honestPre[17], honestPre[18], honestPre[19]}, denom, denom, denom, denom, denom)
	r2, _ := spend([]coin{{m5, 2}, honestPre[20], honestPre[21], honestPre[22], honestPre[23]}, denom, denom, denom, denom, denom)
	// The sixth mix pays the thief's coin (its 3rd output) back to the
	// address of its first premix coin.
	reuse = map[int][]byte{3: t0s[0]}
	m6, m6s := spend([]coin{honestPre[24], {t0, 7}, honestPre[25], honestPre[26], honestPre[27]}, denom, denom, denom, denom, denom)
	for _, i := range []int{0, 1, 2, 4} {
		w.honest = append(w.honest, text(m6s[i]))
	}
	// The thief's outputs: m1's 1 and 3, m2's 0 and 4, m3's 2, m4's 3,
	// and r2's 4, which continues m5's 2.
	_, cons := spend([]coin{{m1, 1}, {m1, 3}, {m2, 0}, {m2, 4}, {m3, 2}, {m4, 3}, {r2, 4}}, 7*denom-1000)
	w.consAddr = text(cons[0])
	for _, in := range [][]coin{
		{{m1, 0}, {m4, 4}},
		{{m1, 2}, {m1, 4}, {m2, 2}, honestChange[0], honestChange[1], honestChange[2], honestChange[3]},
		{{m3, 0}, {m3, 1}, {m3, 3}},
		{{m2, 3}, {m3, 4}, {m4, 0}, honestChange[4]},
	} {
		var v int64
		for _, c := range in {
			if slices.ContainsFunc(honestChange[:5], func(h coin) bool { return h.tx == c.tx }) {
				v += coinbase - 2*premix - 5000
			} else {
				v += denom
			}
		}
		_, sc := spend(in, v-1000)
		w.honest = append(w.honest, text(sc[0]))
	}
	remix, rs := spend([]coin{{m2, 1}, {m4, 1}, {m4, 2}, honestPre[14], honestPre[15]}, denom, denom, denom, denom, denom)
	for _, sc := range rs[2:] {
		w.honest = append(w.honest, text(sc))
	}
	// Two outputs of that remix and one of the fifth mix: had the remix's
	// outputs counted as the second or fourth mix's, a clue.
	_, sc := spend([]coin{{remix, 0}, {remix, 1}, {m5, 0}}, 3*denom-1000)
	w.honest = append(w.honest, text(sc[0]))
	// Three outputs of the thief's remix: all from the fifth mix.
	_, sc = spend([]coin{{r2, 0}, {r2, 1}, {r2, 3}}, 3*denom-1000)
	w.honest = append(w.honest, text(sc[0]))
	w.clues = map[[2]int]int{{0, 1}: 7, {0, 3}: 7, {1, 0}: 7, {1, 4}: 7, {2, 2}: 7, {3, 3}: 7, {4, 2}: 7, {5, 4}: 7, {1, 3}: 3, {2, 4}: 3, {3, 0}: 3}
	testchain.Mine(t, s, txs...)
	for _, m := range []btc.Hash{m1, m2, m3, m4, m5, r2, m6} {
		n, err := s.TxNum(m)
		if err != nil {
			t.Fatal(err)
		}
		w.mixes = append(w.mixes, n)
	}
	return w
}

// TestConsolidationLinks checks the clue itself: the thief's consolidation
// and the weaker one link their mix outputs, with their strengths; two
// outputs, outputs of one mix, a transaction mostly of other coins and a
// remix link nothing; outputs already known are not given again.
func TestConsolidationLinks(t *testing.T) {
	w := newWhirlpoolWorld(t)
	// Each link's confidence is the share of its consolidation's inputs
	// that are the mixes' outputs: the thief's seven of seven, the
	// weaker clue's three of four.
	want := map[uint64]link{}
	for k, v := range w.clues {
		_, _, first, _ := w.s.TxRange(w.mixes[k[0]])
		want[first+uint64(k[1])] = link{"consolidation", v, map[int]float64{7: 1, 3: 0.75}[v]}
	}
	mixes := append(slices.Clone(w.mixes[:5]), w.mixes[6])
	got := consolidationLinks(w.s, mixes, nil, time.Time{})
	if !maps.Equal(got, want) {
		t.Fatalf("links %v, want %v", got, want)
	}
	known := maps.Clone(got)
	if again := consolidationLinks(w.s, mixes, known, time.Time{}); len(again) != 0 {
		t.Fatalf("known links given again: %v", again)
	}
	// The sixth mix's output paid to the thief's first premix address.
	a, _ := btc.ParseAddress(w.reused, w.s.Network())
	reusedAddr, _ := w.s.AddrNum(a)
	_, _, m6, _ := w.s.TxRange(w.mixes[6])
	if got := reuseLinks(w.s, mixes, map[uint32]uint64{reusedAddr: w.theft}, nil); !maps.Equal(got, map[uint64]link{m6 + 3: {"address-reuse", math.MaxInt32, 1}}) {
		t.Fatalf("address reuse: %v", got)
	}
	if got := reuseLinks(w.s, mixes, map[uint32]uint64{reusedAddr: w.theft}, map[uint64]link{m6 + 3: {}}); len(got) != 0 {
		t.Fatalf("a known link given again: %v", got)
	}
	// An output is no reuse of the address that it alone reached; with
	// others, it is.
	if got := reuseLinks(w.s, mixes, map[uint32]uint64{reusedAddr: m6 + 3}, nil); len(got) != 0 {
		t.Fatalf("an address reached by the mix output alone: %v", got)
	}
	if got := reuseLinks(w.s, mixes, map[uint32]uint64{reusedAddr: store.NoOutput}, nil); len(got) != 1 {
		t.Fatalf("an address reached by several outputs: %v", got)
	}
	// The addresses a pass reached are the thief's, but for labelled
	// services, whose addresses many pay.
	for _, service := range []bool{false, true} {
		opts := Options{Model: FIFO, MixerLinks: true, MinValue: 1}
		opts.defaults()
		if service {
			opts.Services = func(a uint32) (string, string, bool) { return "exchange", "hot wallet", a == reusedAddr }
		}
		_, _, paid, err := forward(w.s, []Start{{Output: w.theft}}, opts, map[uint64]link{})
		if _, reached := paid[reusedAddr]; err != nil || reached == service {
			t.Fatalf("the thief's premix address, a service %v: reached %v (%v)", service, reached, err)
		}
	}
	// By the end of a day before the block: no clue yet.
	if early := consolidationLinks(w.s, mixes, nil, time.Unix(1231472000-86400, 0)); len(early) != 0 {
		t.Fatalf("links before the consolidation was made: %v", early)
	}
}

// TestMixerLinks traces a theft through Whirlpool mixes: without links
// FIFO lays the thief's value on whatever outputs come first; with them the
// exact trace ends at the mixes and goes on through the outputs the
// thief's consolidation links, to the satoshi, and through no output that
// honest spends of the same mixes touch.
func TestMixerLinks(t *testing.T) {
	w := newWhirlpoolWorld(t)
	const change = 50_0000_0000 - 8*premix - 5000
	for _, model := range []string{FIFO, Haircut} {
		res, err := Forward(w.s, []Start{{Output: w.theft}}, Options{Model: model, MixerLinks: true, MinValue: 1})
		if err != nil {
			t.Fatal(err)
		}
		got := map[[3]string]int64{}
		var sum int64
		for _, d := range res.Destinations {
			got[[3]string{d.Category, d.Address, d.Link}] += d.Amount
			sum += d.Amount
			for _, h := range w.honest {
				if d.Address == h {
					t.Errorf("%s: honest spend of mix outputs tainted: %+v", model, d)
				}
			}
		}
		// Each mix's fee (170 sat an input) takes the thief's inputs'
		// share: 340, 340, 170, 170, 170 and 170; the remix's (680 sat, paid
		// by its premix coins) 135 of the thief's 0.5 BTC, which leaves
		// the remix's output 135 sat short of whole. The consolidation's
		// 1,000 sat fee then takes under FIFO the 865 laid past its
		// output, under haircut its tainted share, rounded down (999), as
		// is the output's (7 * denom - 1,135): a satoshi lost.
		want := map[[3]string]int64{
			{"unspent", w.consAddr, "heuristic"}: 7*denom - 1000,
			{"unspent", w.reused, "heuristic"}:   denom,
			{"fees", "", "heuristic"}:            865 + 135,
			{"fees", "", "exact"}:                5000 + 340 + 340 + 170 + 170 + 170 + 170,
		}
		lost := int64(0)
		if model == Haircut {
			want[[3]string{"unspent", w.consAddr, "heuristic"}] = 7*denom - 1135
			want[[3]string{"fees", "", "heuristic"}] = 999 + 135
			lost = 1
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %v = %d, want %d (all: %v)", model, k, got[k], v, got)
			}
		}
		if !maps.Equal(res.MixerLinks, map[string]int{"consolidation": 8, "address-reuse": 1}) || sum != res.Start-lost || res.Start != 50_0000_0000 {
			t.Errorf("%s: %d outputs linked, destinations %d of %d: %v", model, res.MixerLinks["consolidation"], sum, res.Start, got)
		}
		var changeAt int64
		for k, v := range got {
			if k[0] == "unspent" && k[2] == "exact" {
				changeAt += v
			}
		}
		if changeAt != change {
			t.Errorf("%s: the thief's unmixed change %d, want %d", model, changeAt, change)
		}
		for _, f := range res.Flows {
			if f.CoinJoin == "whirlpool" && (f.Link != "heuristic" || f.Clue != "consolidation" && f.To != w.reused || f.To == w.reused && f.Clue != "address-reuse" || slices.Contains(w.premix, f.From)) {
				t.Errorf("%s: a mix's flow %+v not heuristic", model, f)
			}
			// Each linked flow says how sure its link is: the thief's
			// consolidation is all mix outputs; an address reused, sure.
			if f.Link == "heuristic" && f.Clue != "" && f.Confidence != 1 || f.Clue == "" && f.Confidence != 0 {
				t.Errorf("%s: flow %+v: confidence %v", model, f, f.Confidence)
			}
		}
	}
	// A part of the coinbase, 2.2 BTC: FIFO lays it on the first four
	// premix coins and 19,999,320 sat of the fifth; the last mix's fee
	// takes 67 sat of that, and its linked output carries the rest, less
	// than its value.
	res, err := Forward(w.s, []Start{{Output: w.theft, Amount: 2.2e8}}, Options{Model: FIFO, MixerLinks: true, MinValue: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := map[[3]string]int64{}
	for _, d := range res.Destinations {
		got[[3]string{d.Category, d.Address, d.Link}] += d.Amount
	}
	want := map[[3]string]int64{{"unspent", w.consAddr, "heuristic"}: 2e8 + 19_999_253, {"fees", "", "exact"}: 340 + 340 + 67}
	if len(got) != len(want) || got[[3]string{"unspent", w.consAddr, "heuristic"}] != 2e8+19_999_253 || got[[3]string{"fees", "", "exact"}] != 747 {
		t.Errorf("2.2 BTC of it: %v, want %v", got, want)
	}
	// 1 BTC of it enters the first mix alone: the consolidation spends two
	// outputs of one tainted mix, which links nothing, and the taint stays
	// in the mix but for the fee's share.
	res, err = Forward(w.s, []Start{{Output: w.theft, Amount: 1e8}}, Options{Model: FIFO, MixerLinks: true, MinValue: 1})
	if err != nil {
		t.Fatal(err)
	}
	got = map[[3]string]int64{}
	for _, d := range res.Destinations {
		got[[3]string{d.Category, d.Address, d.Link}] += d.Amount
	}
	if len(got) != 2 || got[[3]string{"mixer", "", "exact"}] != 1e8-339 || got[[3]string{"fees", "", "exact"}] != 339 || res.MixerLinks["consolidation"] != 0 {
		t.Errorf("1 BTC of it: %v, %v", got, res.MixerLinks)
	}
	// Without links FIFO follows the mixes' first outputs: honest spends.
	res, err = Forward(w.s, []Start{{Output: w.theft}}, Options{Model: FIFO, MinValue: 1})
	if err != nil {
		t.Fatal(err)
	}
	honest := false
	for _, d := range res.Destinations {
		if d.Link != "exact" {
			t.Errorf("a destination of a trace without links: %+v", d)
		}
		for _, h := range w.honest {
			honest = honest || d.Address == h
		}
	}
	if !honest || res.MixerLinks != nil {
		t.Errorf("a trace without links: %+v", res.Destinations)
	}
}

// TestBackwardEndsAtMixes: backward from the thief's consolidation, the
// trace with mixer links ends at the mixes (a source "mixer" for each),
// where without them it lays the consolidation's value on the mixes'
// inputs by position, other people's premix coins among them.
func TestBackwardEndsAtMixes(t *testing.T) {
	w := newWhirlpoolWorld(t)
	a, err := btc.ParseAddress(w.consAddr, w.s.Network())
	if err != nil {
		t.Fatal(err)
	}
	n, err := w.s.AddrNum(a)
	if err != nil {
		t.Fatal(err)
	}
	var starts []Start
	w.s.Postings(n, func(o uint64) bool { starts = append(starts, Start{Output: o}); return true })
	res, err := Backward(w.s, starts, Options{Model: FIFO, MixerLinks: true, MinValue: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	var sum int64
	for _, d := range res.Destinations {
		got[d.Category+" "+d.Label] += d.Amount
		sum += d.Amount
	}
	// The consolidation's 7 * denom - 1000 explained: 0.5 BTC from each
	// of the first four mixes' outputs it spends (two each of the first
	// two), and the rest from the remix, laid out last.
	want := map[string]int64{}
	for _, m := range []int{0, 0, 1, 1, 2, 3} {
		want["mixer whirlpool CoinJoin "+w.s.TxID(w.mixes[m]).String()] += denom
	}
	want["mixer whirlpool CoinJoin "+w.s.TxID(w.mixes[5]).String()] = denom - 1000
	if !maps.Equal(got, want) || sum != res.Start {
		t.Fatalf("sources %v, want %v", got, want)
	}
	// Without links the trace goes on through the mixes to premix coins.
	res, err = Backward(w.s, starts, Options{Model: FIFO, MinValue: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Destinations {
		if d.Category == "mixer" {
			t.Fatalf("a mix as a source without links: %+v", d)
		}
	}
}

// TestChangeOutput: the change clue on CoinJoin shapes. JoinMarket's three
// participants of 0.5 BTC: the taker's 1.2 BTC come back as 0.5 and
// 0.6999 (its fees paid), a maker's 0.8 as 0.5 and 0.30001 (its fee
// earned). Wasabi 1's levels of 0.1 and 0.2 BTC: 0.35 BTC come back as
// one of each and 0.0495. Nothing is told when two outputs fit, when the
// inputs fit the mixed outputs with no change, or of a mix of too many
// values, or of WabiSabi's.
func TestChangeOutput(t *testing.T) {
	shape := func(values ...int64) *cluster.TxShape {
		tx := &cluster.TxShape{}
		for _, v := range values {
			tx.Outputs = append(tx.Outputs, cluster.Coin{Value: v, Type: btc.WitnessV0KeyHash})
		}
		return tx
	}
	jm := shape(50_000_000, 50_000_000, 50_000_000, 69_990_000, 30_001_000, 250_001_000)
	many := shape()
	for v := int64(1); v <= 9; v++ {
		many.Outputs = append(many.Outputs, cluster.Coin{Value: v * 10_000_000}, cluster.Coin{Value: v * 10_000_000})
	}
	many.Outputs = append(many.Outputs, cluster.Coin{Value: 5_000_000})
	for _, c := range []struct {
		name string
		tx   *cluster.TxShape
		paid int64
		i    int
		ok   bool
	}{
		{"the taker", jm, 120_000_000, 3, true},
		{"a maker", jm, 80_000_000, 4, true},
		{"another maker", jm, 300_000_000, 5, true},
		{"no one's", jm, 200_000_000, 0, false},
		{"two fit", shape(50_000_000, 50_000_000, 69_990_000, 69_980_000), 120_000_000, 0, false},
		{"no change", jm, 50_010_000, 0, false},
		{"Wasabi 1's levels", shape(10_000_000, 10_000_000, 10_000_000, 20_000_000, 20_000_000, 4_950_000, 6_120_000), 35_000_000, 5, true},
		{"too many values", many, 15_000_000, 0, false},
		{"no change, though an output fits", shape(10_000_000, 10_000_000, 10_000_000, 20_000_000, 20_000_000, 9_950_000), 30_000_000, 0, false},
	} {
		if i, ok := changeOutput(c.tx, cluster.JoinMarket, c.paid); i != c.i || ok != c.ok {
			t.Errorf("%s: output %d %v, want %d %v", c.name, i, ok, c.i, c.ok)
		}
	}
	if _, ok := changeOutput(jm, cluster.Wasabi2, 120_000_000); ok {
		t.Error("a WabiSabi mix's change told")
	}
}

// TestChangeLink traces a theft into a JoinMarket CoinJoin: with mixer
// links the thief's change comes out of it, as heuristic, to where the
// thief sends it; the rest stays in the mix. The thief takes 1.2 BTC of
// block 1's coinbase into the mix with two makers' 0.8 and 3 BTC (blocks
// 2 and 3); the mix pays 0.5 BTC to each, and their change: 0.6999, 0.30001
// and 2.50001 BTC (8,000 satoshi of fee); the thief spends its change on.
func TestChangeLink(t *testing.T) {
	s := testchain.Mainnet(t, t.TempDir(), 15)
	next := byte(0)
	addr := func() []byte {
		next++
		return append([]byte{0x00, 20, 0xcd, next}, make([]byte, 18)...)
	}
	var txs []btc.Tx
	spend := func(in []btc.TxIn, values ...int64) (btc.Hash, [][]byte) {
		tx := btc.Tx{Version: 1, Inputs: in}
		var scripts [][]byte
		for _, v := range values {
			sc := addr()
			scripts = append(scripts, sc)
			tx.Outputs = append(tx.Outputs, btc.TxOut{Value: v, Script: sc})
		}
		d, err := btc.DecodeTx(btc.AppendTx(nil, &tx))
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, *d)
		return d.TxID, scripts
	}
	in := func(tx btc.Hash, vout uint32) btc.TxIn {
		return btc.TxIn{PrevTxID: tx, PrevIndex: vout, Sequence: 0xffffffff}
	}
	const coinbase = 50_0000_0000
	thief, _ := spend([]btc.TxIn{in(s.TxID(1), 0)}, 120_000_000, coinbase-120_000_000-1000)
	makerA, _ := spend([]btc.TxIn{in(s.TxID(2), 0)}, 80_000_000, coinbase-80_000_000-1000)
	makerB, _ := spend([]btc.TxIn{in(s.TxID(3), 0)}, 300_000_000, coinbase-300_000_000-1000)
	mix, _ := spend([]btc.TxIn{in(makerA, 0), in(thief, 0), in(makerB, 0)}, 50_000_000, 50_000_000, 50_000_000, 69_990_000, 30_001_000, 250_001_000)
	_, on := spend([]btc.TxIn{in(mix, 3)}, 69_980_000)
	testchain.Mine(t, s, txs...)
	text := func(sc []byte) string { _, a, _ := btc.ScriptAddress(sc); return a.String(s.Network()) }
	start, err := s.TxNum(thief)
	if err != nil {
		t.Fatal(err)
	}
	_, _, out, _ := s.TxRange(start)
	res, err := Forward(s, []Start{{Output: out}}, Options{Model: FIFO, MixerLinks: true, MinValue: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The mix's fee takes the thief's share (8,000 * 1.2 / 5.0 = 1,920);
	// the change its 0.6999 BTC; the rest stays in the mix.
	got := map[string]int64{}
	var sum int64
	for _, d := range res.Destinations {
		got[d.Category+" "+d.Address+" "+d.Link] += d.Amount
		sum += d.Amount
	}
	want := map[string]int64{
		"fees  exact":                           1_920,
		"mixer  exact":                          120_000_000 - 1_920 - 69_990_000,
		"fees  heuristic":                       10_000,
		"unspent " + text(on[0]) + " heuristic": 69_980_000,
	}
	if !maps.Equal(got, want) || sum != 120_000_000 || res.MixerLinks["change"] != 1 {
		t.Fatalf("destinations %v (sum %d), links %v; want %v", got, sum, res.MixerLinks, want)
	}
	linked := 0
	for _, f := range res.Flows {
		if f.Clue == "change" {
			linked++
			if f.Link != "heuristic" || f.Confidence != 1 || f.Amount != 69_990_000 {
				t.Errorf("the change's flow: %+v", f)
			}
		}
	}
	if linked != 1 {
		t.Errorf("%d flows by the change clue", linked)
	}
	// Without links FIFO lays the thief's 1.2 BTC, second in, past the
	// first maker's 0.8: 0.2 on the second 0.5 BTC output, 0.5 on the
	// third, 0.5 on the change, which the thief spends on (its 10,000
	// satoshi fee FIFO lays past the 0.5: none of it tainted).
	res, err = Forward(s, []Start{{Output: out}}, Options{Model: FIFO, MinValue: 1})
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]int64{}
	for _, d := range res.Destinations {
		if d.Link != "exact" {
			t.Errorf("without links: %+v", d)
		}
		if d.Category == "unspent" {
			got[d.Address] = d.Amount
		}
	}
	if len(got) != 3 || got[text(on[0])] != 50_000_000 || res.MixerLinks != nil {
		t.Errorf("without links: %v", got)
	}
}
