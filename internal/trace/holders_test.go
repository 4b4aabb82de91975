package trace

import (
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/evm"
)

// TestHolders: the addresses holding the thief's coins in the Whirlpool
// world are the theft's, its Tx0's outputs (premix coins and change), and,
// with the mixer links, the mix outputs its consolidation links and the
// consolidation's address (paid by them, as sure); never an honest user's,
// though FIFO lays the thief's coins on the mixes' first outputs; a bound
// above a link's confidence leaves the linked ones out.
func TestHolders(t *testing.T) {
	w := newWhirlpoolWorld(t)
	addrOf := func(o uint64) string { return w.s.Address(w.s.OutAddr(o)).String(w.s.Network()) }
	tx0 := w.s.Output(w.theft).SpentBy
	own := []string{addrOf(w.theft)} // the thief's addresses before the mixes
	_, _, first, n := w.s.TxRange(tx0)
	for o := first; o < first+n; o++ {
		own = append(own, addrOf(o))
	}
	var linked []string // the mix outputs the consolidation links
	for k, strength := range w.clues {
		if strength == 7 {
			_, _, first, _ := w.s.TxRange(w.mixes[k[0]])
			linked = append(linked, addrOf(first+uint64(k[1])))
		}
	}
	honest := slices.Concat(w.honest, w.premix)
	for _, c := range []struct {
		mixerLinks bool
		min        float64
		want       int // holders
	}{{true, 0.8, len(own) + len(linked) + 1}, {true, 1, len(own) + len(linked) + 1}, {true, 1.01, len(own)}, {false, 0.8, len(own)}} {
		res, err := Forward(w.s, []Start{{Output: w.theft}}, Options{Model: FIFO, MixerLinks: c.mixerLinks, MinValue: 1})
		if err != nil {
			t.Fatal(err)
		}
		hs := res.Holders(c.min)
		got := map[string]Holder{}
		for _, h := range hs {
			got[h.Address] = h
			if slices.Contains(honest, h.Address) {
				t.Errorf("links %v, bound %v: an honest address holds the taint: %+v", c.mixerLinks, c.min, h)
			}
		}
		if len(hs) != c.want || len(got) != len(hs) {
			t.Errorf("links %v, bound %v: %d holders, want %d: %+v", c.mixerLinks, c.min, len(hs), c.want, hs)
		}
		for _, a := range own {
			if h := got[a]; h.Link != "exact" || h.Confidence != 1 || h.Amounts["BTC"] == nil || h.Amounts["BTC"].Sign() <= 0 {
				t.Errorf("links %v: the thief's %s: %+v", c.mixerLinks, a, h)
			}
		}
		if c.want == len(own) {
			continue
		}
		for _, a := range linked {
			if h := got[a]; h.Link != "heuristic" || h.Clue != "consolidation" || h.Confidence != 1 || h.Amounts["BTC"].Int64() > denom {
				t.Errorf("a linked mix output %s: %+v", a, h)
			}
		}
		if h := got[w.consAddr]; h.Link != "heuristic" || h.Clue != "" || h.Confidence != 1 {
			t.Errorf("the consolidation's address: %+v", h)
		}
	}
}

// TestHoldersServices: an address the trace ended at as a service (the
// consolidation's, an exchange deposit here) holds nothing for the thief.
func TestHoldersServices(t *testing.T) {
	w := newWhirlpoolWorld(t)
	cons, err := w.s.AddrNum(mustAddr(t, w))
	if err != nil {
		t.Fatal(err)
	}
	services := func(a uint32) (string, string, bool) { return "exchange", "an exchange", a == cons }
	res, err := Forward(w.s, []Start{{Output: w.theft}}, Options{Model: FIFO, MixerLinks: true, MinValue: 1, Services: services})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Holders(0.8) {
		if h.Address == w.consAddr {
			t.Fatalf("the exchange deposit holds the taint: %+v", h)
		}
	}
}

func mustAddr(t *testing.T, w *whirlpoolWorld) btc.Address {
	a, err := btc.ParseAddress(w.consAddr, w.s.Network())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEVMHolders: on an account chain, a withdrawal linked by its timing
// or gas price makes no holder, nor does whom its taker pays, nor a later
// withdrawal to the same address linked by its reuse; one linked by a
// consolidation does, and whom it pays, as sure; a withdrawal to an
// address the taint reached before adds to it; a service the taint passes
// through (a DEX's pool) and the places it ended at (an exchange deposit,
// the mixer) hold nothing; the bound leaves out links less sure.
func TestEVMHolders(t *testing.T) {
	flow := func(from, to, amount, link, clue string, conf float64) EVMFlow {
		return EVMFlow{Chain: "eth", From: from, To: to, Asset: "ETH", Amount: amount, Link: link, Clue: clue, Confidence: conf}
	}
	res := &EVMResult{
		Flows: []EVMFlow{
			flow("victim", "thief", "100", "exact", "", 0),
			flow("thief", "pool", "40", "exact", "", 0),
			flow("pool", "thief", "30", "exact", "", 0),
			flow("thief", "thief2", "50", "exact", "", 0),
			flow("thief2", "mixer", "50", "exact", "", 0),
			flow("mixer", "timed", "10", "heuristic", "timing", 1),
			flow("timed", "friend", "10", "heuristic", "", 0),
			flow("mixer", "timed", "10", "heuristic", "address-reuse", 1),
			flow("mixer", "thief2", "10", "heuristic", "address-reuse", 1),
			flow("thief2", "next", "10", "heuristic", "", 0),
			flow("mixer", "consolidated", "10", "heuristic", "consolidation", 0.6),
			flow("consolidated", "next2", "10", "heuristic", "", 0),
			flow("thief", "deposit", "20", "exact", "", 0),
		},
		Destinations: []EVMDestination{
			{Address: "mixer", Category: "mixer"}, {Address: "deposit", Category: "exchange"},
			{Address: "thief", Category: "unspent"}, {Address: "next", Category: "unspent"},
		},
	}
	service := func(a string) bool { return a == "pool" }
	for _, c := range []struct {
		min  float64
		want []string
	}{
		{0.8, []string{"thief", "thief2", "next"}},
		{0.5, []string{"thief", "thief2", "next", "consolidated", "next2"}},
	} {
		var got []string
		for _, h := range res.Holders(c.min, service) {
			got = append(got, h.Address)
			if h.Address == "thief" && h.Amounts["ETH"].String() != "130" || h.Address == "thief2" && (h.Amounts["ETH"].String() != "60" || h.Link != "exact") {
				t.Errorf("%s's taint: %+v", h.Address, h)
			}
			if h.Address == "next2" && (h.Link != "heuristic" || h.Clue != "" || h.Confidence != 0.6) {
				t.Errorf("paid by a linked address: %+v", h)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("bound %v: holders %v, want %v", c.min, got, c.want)
		}
	}
}

// TestEVMHoldersPassThrough: a DEX pair no label names, paid the stolen
// tokens straight by the thief in a swap, holds none of the taint: the
// thief, paid the swap's WETH, does.
func TestEVMHoldersPassThrough(t *testing.T) {
	addr := func(n int64) common.Address { return common.BigToAddress(big.NewInt(n)) }
	V, T, pair, tkn := addr(0xa1), addr(0xa2), addr(0xb2), addr(0xb4)
	weth := common.HexToAddress("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2")
	b := &evm.Block{Number: 1, Hash: common.Hash{1}, Traces: []evm.Trace{}}
	tx := func(from, to common.Address, logs ...evm.Log) { handTx(b, from, to, nil, nil, logs...) }
	transfer := func(token, from, to common.Address, v *uint256.Int) evm.Log {
		return evm.Log{Address: token, Topics: []common.Hash{evm.TopicTransfer, hashOf(from), hashOf(to)}, Data: word(v)}
	}
	// The pair's own reserves, clean.
	tx(addr(0xc1), pair, transfer(weth, addr(0xc1), pair, eth(100_000)), transfer(tkn, addr(0xc1), pair, eth(1_000_000)))
	tx(V, tkn, transfer(tkn, V, T, eth(1_000)))
	in, out := eth(1_000), eth(5)
	swap := append(append(append(word(in), word(new(uint256.Int))...), word(new(uint256.Int))...), word(out)...)
	tx(T, pair, transfer(tkn, T, pair, in), transfer(weth, pair, T, out),
		evm.Log{Address: pair, Topics: []common.Hash{evm.TopicSwapV2, hashOf(T), hashOf(T)}, Data: swap})
	s := handStore(t, b)
	theft, _ := s.TxNum(common.Hash{0xee, 1, 1})
	lo, _ := s.TxTransfers(theft)
	res, err := TraceEVM(s, []EVMStart{{Transfer: lo}}, EVMOptions{Model: FIFO})
	if err != nil {
		t.Fatal(err)
	}
	reached := false
	for _, f := range res.Flows {
		reached = reached || f.To == pair.Hex()
	}
	var holders []string
	for _, h := range res.Holders(HolderConfidence, nil) {
		holders = append(holders, h.Address)
	}
	if !reached || !slices.Equal(holders, []string{T.Hex()}) {
		t.Errorf("the taint reached the pair: %v; holders %v, want the thief's alone", reached, holders)
	}
}
