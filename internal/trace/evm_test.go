package trace

import (
	"fmt"
	"maps"
	"math"
	"math/big"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
)

func eth(milli int64) *uint256.Int {
	return new(uint256.Int).Mul(uint256.NewInt(uint64(milli)), uint256.NewInt(1e15))
}

func word(v *uint256.Int) []byte { b := v.Bytes32(); return b[:] }

func hashOf(a common.Address) common.Hash { return common.BytesToHash(a[:]) }

// handStore is an EVM store of the blocks, their failed frames marked as
// ethereum-etl marks them, committed; closed when the test ends.
func handStore(t *testing.T, blocks ...*evm.Block) *evmstore.Store {
	t.Helper()
	s, err := evmstore.Open(filepath.Join(t.TempDir(), "eth"), "eth")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, b := range blocks {
		b.MarkFailed()
		if err := s.AppendBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	return s
}

// handTx appends to b a transaction of value from from to to, with its top
// call, the calls it makes (internal transfers) and its logs; its hash is
// 0xee, its index and b's number.
func handTx(b *evm.Block, from, to common.Address, value *uint256.Int, calls []evm.Trace, logs ...evm.Log) {
	i := uint32(len(b.Txs))
	x := evm.Tx{Hash: common.Hash{0xee, byte(i), byte(b.Number)}, Index: i, From: from, To: &to, Status: evm.StatusOK}
	top := evm.Trace{TxIndex: int32(i), From: from, To: to, Type: "call", CallType: "call", Address: []int{}, Subtraces: len(calls)}
	if value != nil {
		x.Value, top.Value = *value, *value
	}
	b.Txs = append(b.Txs, x)
	b.Traces = append(b.Traces, top)
	for k, c := range calls {
		c.TxIndex, c.Type, c.CallType, c.Address = int32(i), "call", "call", []int{k}
		b.Traces = append(b.Traces, c)
	}
	for _, l := range logs {
		l.TxIndex, l.Index = i, uint32(len(b.Logs))
		b.Logs = append(b.Logs, l)
	}
}

// A hand-built case, every figure worked out by hand. No receipts, so no
// fees. V is robbed of 10 ETH by T. T then:
//   - swaps 4 ETH for 8,000 TKN through the router and WETH (the pair pays T);
//   - deposits 1 ETH twice into a Tornado-style pool;
//   - pays W 0.1 ETH (W is the actor's too);
//   - pays 3 ETH into the deposit address D of exchange "Ex" (hot wallet H).
//
// A relayer R withdraws one note to W: 0.99 ETH to W, 0.01 ETH fee to R;
// W already holds taint, so the withdrawal is linked (address reuse). R
// withdraws the other note to a fresh address F. W pays C 0.99 ETH, and F
// pays C 0.98: F's withdrawal is linked by consolidation.
// FIFO, through exact links: mixer 2, exchange 3, T keeps 0.9 ETH and 8,000
// TKN, C holds 0.1 (W's first lot): the 10 ETH all accounted for. Through
// the links (2 ETH): W keeps 0.1, C holds 0.89 + 0.98, F keeps 0.01 and
// the relayer's two 0.01 are mixer fees.
func TestTraceEVMByHand(t *testing.T) {
	addr := func(n int64) common.Address { return common.BigToAddress(big.NewInt(n)) }
	V, T, W, D, H, R, F, C := addr(0xa1), addr(0xa2), addr(0xa3), addr(0xa4), addr(0xa5), addr(0xa6), addr(0xa7), addr(0xa8)
	router, pair, pool, tkn := addr(0xb1), addr(0xb2), addr(0xb3), addr(0xb4)
	weth := common.HexToAddress("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2")
	b := &evm.Block{Number: 1, Hash: common.Hash{1}, Traces: []evm.Trace{}}
	tx := func(from, to common.Address, value *uint256.Int, calls []evm.Trace, logs ...evm.Log) {
		handTx(b, from, to, value, calls, logs...)
	}
	transfer := func(token, from, to common.Address, v *uint256.Int) evm.Log {
		return evm.Log{Address: token, Topics: []common.Hash{evm.TopicTransfer, hashOf(from), hashOf(to)}, Data: word(v)}
	}
	// The pair and the exchange have money of their own (clean).
	tx(addr(0xc1), pair, eth(1), nil, transfer(tkn, addr(0xc1), pair, eth(1_000_000)))
	tx(addr(0xc2), H, eth(50_000), nil)
	// 1. The theft.
	tx(V, T, eth(10_000), nil)
	// 2. The swap: 4 ETH in, wrapped, 8,000 TKN out of the pair to T.
	four, tkns := eth(4_000), eth(8_000_000)
	swapData := append(append(append(word(new(uint256.Int)), word(four)...), word(tkns)...), word(new(uint256.Int))...)
	tx(T, router, four, []evm.Trace{{From: router, To: weth, Value: *four}},
		evm.Log{Address: weth, Topics: []common.Hash{evm.TopicWETHDeposit, hashOf(router)}, Data: word(four)},
		transfer(weth, router, pair, four), transfer(tkn, pair, T, tkns),
		evm.Log{Address: pair, Topics: []common.Hash{evm.TopicSwapV2, hashOf(router), hashOf(T)}, Data: swapData})
	// 3. Two mixer deposits of 1 ETH.
	for k := 0; k < 2; k++ {
		tx(T, pool, eth(1_000), nil, evm.Log{Address: pool, Topics: []common.Hash{evm.TopicMixDeposit, {byte(k + 1)}}, Data: append(word(uint256.NewInt(uint64(k))), word(uint256.NewInt(1))...)})
	}
	// 4. W gets 0.1 ETH; 5. the exchange deposit, then its sweep.
	tx(T, W, eth(100), nil)
	tx(T, D, eth(3_000), nil)
	tx(D, H, eth(3_000), nil)
	// 6. The relayer withdraws a note to W.
	wdData := append(append(word(new(uint256.Int).SetBytes(W[:])), make([]byte, 32)...), word(eth(10))...)
	tx(R, pool, nil, []evm.Trace{{From: pool, To: W, Value: *eth(990)}, {From: pool, To: R, Value: *eth(10)}},
		evm.Log{Address: pool, Topics: []common.Hash{evm.TopicMixWithdrawal, hashOf(R)}, Data: wdData})
	// Three blocks later (past the timing clue): 7. the other note to F;
	// 8. W and F pay C; 9. so does the exchange, 30 ETH.
	blocks := []*evm.Block{b}
	for n := uint64(2); n <= 4; n++ {
		b = &evm.Block{Number: n, Hash: common.Hash{byte(n)}, Parent: b.Hash, Traces: []evm.Trace{}}
		blocks = append(blocks, b)
	}
	wdData = append(append(word(new(uint256.Int).SetBytes(F[:])), make([]byte, 32)...), word(eth(10))...)
	tx(R, pool, nil, []evm.Trace{{From: pool, To: F, Value: *eth(990)}, {From: pool, To: R, Value: *eth(10)}},
		evm.Log{Address: pool, Topics: []common.Hash{evm.TopicMixWithdrawal, hashOf(R)}, Data: wdData})
	tx(W, C, eth(990), nil)
	tx(F, C, eth(980), nil)
	tx(H, C, eth(30), nil)

	s := handStore(t, blocks...)
	num := func(a common.Address) uint32 {
		n, err := s.AddrNum(a)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	theft, _ := s.TxNum(common.Hash{0xee, 2, 1})
	lo, _ := s.TxTransfers(theft)
	o := EVMOptions{Model: FIFO, MixerLinks: true, HotWallets: map[uint32]string{num(H): "Ex"}, Deposits: map[uint32]uint32{num(D): num(H)},
		Services: func(a uint32) (string, string, bool) {
			switch a {
			case num(H):
				return "exchange", "Ex hot wallet", true
			case num(pool):
				return "mixer", "pool", true
			case num(router):
				return "dex", "router", true
			}
			return "", "", false
		}}
	res, err := TraceEVM(s, []EVMStart{{Transfer: lo}}, o)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range res.Destinations {
		got[d.Category+" "+d.Address+" "+d.Asset+" "+d.Link] = d.Amount
	}
	want := map[string]string{
		"mixer " + pool.Hex() + " ETH exact":              eth(2_000).Dec(),
		"exchange " + D.Hex() + " ETH exact":              eth(3_000).Dec(),
		"unspent " + T.Hex() + " ETH exact":               eth(900).Dec(),
		"unspent " + T.Hex() + " " + tkn.Hex() + " exact": tkns.Dec(),
		"unspent " + C.Hex() + " ETH exact":               eth(100).Dec(),
		"unspent " + W.Hex() + " ETH heuristic":           eth(100).Dec(),
		"unspent " + C.Hex() + " ETH heuristic":           eth(890 + 980).Dec(),
		"unspent " + F.Hex() + " ETH heuristic":           eth(10).Dec(),
		"mixer-fees " + R.Hex() + " ETH heuristic":        eth(20).Dec(),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %s", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("destinations %v", got)
	}
	if res.MixerLinks["address-reuse"] != 1 || res.MixerLinks["consolidation"] != 1 {
		t.Errorf("mixer links %v", res.MixerLinks)
	}
	// The withdrawal to an address that held taint is sure; the
	// consolidation's is as sure as C's ether came from recipients tied
	// to the taint: W, linked, and F, by the clue: 1,970 of the 2,000
	// ETH it received (the exchange's 30 the rest).
	for _, f := range res.Flows {
		if f.Clue == "address-reuse" && f.Link == "heuristic" && f.Confidence != 1 || f.Clue == "consolidation" && math.Abs(f.Confidence-1970.0/2000) > 1e-12 || f.Link == "exact" && f.Confidence != 0 {
			t.Errorf("flow %+v: confidence %v", f, f.Confidence)
		}
	}
	// The addresses holding the taint: T, W, F (the consolidation's
	// link) and C; not the pool, the exchange's deposit, the relayer's
	// fees, nor the router, WETH or the pair the swap went through.
	var holders []string
	for _, h := range res.Holders(HolderConfidence, ServiceAt(s, o.Services)) {
		holders = append(holders, h.Address)
	}
	if want := []string{T.Hex(), W.Hex(), F.Hex(), C.Hex()}; !slices.Equal(holders, want) {
		t.Errorf("holders %v, want %v", holders, want)
	}
	// Traced from the theft and from T's payment to W as well: the
	// payment's 0.1 ETH come out of T's tainted balance, counted once.
	toW, _ := s.TxNum(common.Hash{0xee, 6, 1})
	lw, _ := s.TxTransfers(toW)
	both, err := TraceEVM(s, []EVMStart{{Transfer: lo}, {Transfer: lw}}, o)
	if err != nil {
		t.Fatal(err)
	}
	again := map[string]string{}
	for _, d := range both.Destinations {
		again[d.Category+" "+d.Address+" "+d.Asset+" "+d.Link] = d.Amount
	}
	if both.Start["ETH"] != eth(10_000).Dec() || fmt.Sprint(again) != fmt.Sprint(got) {
		t.Errorf("from the theft and a later move: start %v, destinations %v", both.Start, again)
	}
	// Without the links the withdrawal is not followed.
	o.MixerLinks = false
	res, _ = TraceEVM(s, []EVMStart{{Transfer: lo}}, o)
	for _, d := range res.Destinations {
		if d.Link == "heuristic" {
			t.Errorf("heuristic destination without links: %+v", d)
		}
	}
	// Until a moment before the block: nothing has happened yet.
	o.Until = time.Unix(-1, 0)
	res, _ = TraceEVM(s, []EVMStart{{Transfer: lo}}, o)
	if len(res.Destinations) != 0 || res.Transfers != 0 {
		t.Errorf("until before the theft: %+v", res.Destinations)
	}
	o.Until = time.Time{}
	// Haircut on this case gives the same answer (T's balance is all
	// tainted); poison too.
	for _, m := range []string{Haircut, Poison} {
		o.Model = m
		res, _ = TraceEVM(s, []EVMStart{{Transfer: lo}}, o)
		for _, d := range res.Destinations {
			if d.Category == "exchange" && d.Amount != eth(3_000).Dec() {
				t.Errorf("%s: exchange %s", m, d.Amount)
			}
		}
	}
}

// Backward on the account model, by hand: W is funded by genesis (1 ETH,
// block 1) and by exchange H's withdrawal (5 ETH, block 2), then pays X 4
// ETH. FIFO: 1 ETH minted and 3 ETH from the exchange; haircut: 4/6 of
// each lot; poison: both lots in full.
func TestTraceEVMBackwardByHand(t *testing.T) {
	addr := func(n int64) common.Address { return common.BigToAddress(big.NewInt(n)) }
	W, H, X := addr(0xd1), addr(0xd2), addr(0xd3)
	b1 := &evm.Block{Number: 1, Hash: common.Hash{1}, Time: 1_600_000_000, Traces: []evm.Trace{{TxIndex: evm.NoTx, Type: "genesis", To: W, Value: *eth(1_000), Address: []int{}}}}
	b2 := &evm.Block{Number: 2, Hash: common.Hash{2}, Parent: common.Hash{1}, Time: 1_600_086_400, Traces: []evm.Trace{}}
	for i, p := range [][3]any{{H, W, eth(5_000)}, {W, X, eth(4_000)}} {
		to := p[1].(common.Address)
		b2.Txs = append(b2.Txs, evm.Tx{Hash: common.Hash{0xbb, byte(i)}, Index: uint32(i), From: p[0].(common.Address), To: &to, Value: *p[2].(*uint256.Int), Status: evm.StatusOK})
		b2.Traces = append(b2.Traces, evm.Trace{TxIndex: int32(i), From: p[0].(common.Address), To: to, Value: *p[2].(*uint256.Int), Type: "call", CallType: "call", Address: []int{}})
	}
	s := handStore(t, b1, b2)
	hn, _ := s.AddrNum(H)
	pay, _ := s.TxNum(common.Hash{0xbb, 1})
	lo, _ := s.TxTransfers(pay)
	o := EVMOptions{HotWallets: map[uint32]string{hn: "Ex"}}
	for model, want := range map[string]map[string]string{
		FIFO:    {"minted": eth(1_000).Dec(), "exchange": eth(3_000).Dec()},
		Haircut: {"minted": "666666666666666666", "exchange": "3333333333333333334"}, // the last share takes the wei left by rounding
		Poison:  {"minted": eth(1_000).Dec(), "exchange": eth(5_000).Dec()},
	} {
		o.Model = model
		res, err := TraceEVMBackward(s, []EVMStart{{Transfer: lo}}, o)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, d := range res.Destinations {
			got[d.Category] = d.Amount
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: sources %v, want %v", model, got, want)
		}
	}
	// No further back than block 2's day: W's genesis ether, a day
	// older, is where the explaining stops (W had it then).
	o.Model, o.Since = FIFO, time.Unix(1_600_086_400, 0).Truncate(24*time.Hour)
	res, err := TraceEVMBackward(s, []EVMStart{{Transfer: lo}}, o)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range res.Destinations {
		got[d.Category+" "+d.Label] = d.Amount
	}
	if want := fmt.Sprint(map[string]string{"limit before 2020-09-14": eth(1_000).Dec(), "exchange Ex": eth(3_000).Dec()}); fmt.Sprint(got) != want {
		t.Errorf("since block 2's day: sources %v, want %s", got, want)
	}
	o.Since = time.Time{}
	// From the payment and from W's funding by H as well: the 3 ETH of
	// the payment that came from H are the funding's, explained once.
	fund, _ := s.TxNum(common.Hash{0xbb, 0})
	lf, _ := s.TxTransfers(fund)
	o.Model = FIFO
	res, err = TraceEVMBackward(s, []EVMStart{{Transfer: lo}, {Transfer: lf}}, o)
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]string{}
	for _, d := range res.Destinations {
		got[d.Category] = d.Amount
	}
	if want := fmt.Sprint(map[string]string{"minted": eth(1_000).Dec(), "exchange": eth(5_000).Dec()}); fmt.Sprint(got) != want || res.Start["ETH"] != eth(6_000).Dec() {
		t.Errorf("from a payment and its funding: start %v, sources %v, want %s", res.Start, got, want)
	}
}

// Backward from a leg inside a swap, by hand: T, funded by genesis, swaps
// 4 ETH for 8,000 TKN through a router, which wraps the ETH and pays the
// pair 4 WETH (the leg); the pair pays T the TKN (the payout); router and
// pair are labelled DEXes. From the leg, as from the payout, the value is
// T's 4 ETH, minted: a leg is explained in its own proportion, not scaled
// by the payout (in TKN).
func TestTraceEVMBackwardFromSwapLeg(t *testing.T) {
	addr := func(n int64) common.Address { return common.BigToAddress(big.NewInt(n)) }
	T, router, pair, tkn := addr(0xe1), addr(0xe2), addr(0xe3), addr(0xe4)
	weth := common.HexToAddress("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2")
	transfer := func(token, from, to common.Address, v *uint256.Int) evm.Log {
		return evm.Log{Address: token, Topics: []common.Hash{evm.TopicTransfer, hashOf(from), hashOf(to)}, Data: word(v)}
	}
	four, tkns := eth(4_000), eth(8_000_000)
	swapData := append(append(append(word(new(uint256.Int)), word(four)...), word(tkns)...), word(new(uint256.Int))...)
	b1 := &evm.Block{Number: 1, Hash: common.Hash{1}, Traces: []evm.Trace{{TxIndex: evm.NoTx, Type: "genesis", To: T, Value: *eth(10_000), Address: []int{}}}}
	b := &evm.Block{Number: 2, Hash: common.Hash{2}, Parent: common.Hash{1},
		Txs: []evm.Tx{{Hash: common.Hash{0xcc}, From: T, To: &router, Value: *four, Status: evm.StatusOK}},
		Traces: []evm.Trace{
			{TxIndex: 0, From: T, To: router, Value: *four, Type: "call", CallType: "call", Address: []int{}, Subtraces: 1},
			{TxIndex: 0, From: router, To: weth, Value: *four, Type: "call", CallType: "call", Address: []int{0}},
		},
		Logs: []evm.Log{
			{Address: weth, Topics: []common.Hash{evm.TopicWETHDeposit, hashOf(router)}, Data: word(four)},
			transfer(weth, router, pair, four), transfer(tkn, pair, T, tkns),
			{Address: pair, Topics: []common.Hash{evm.TopicSwapV2, hashOf(router), hashOf(T)}, Data: swapData},
		}}
	for i := range b.Logs {
		b.Logs[i].Index = uint32(i)
	}
	s := handStore(t, b1, b)
	rn, _ := s.AddrNum(router)
	pn, _ := s.AddrNum(pair)
	tx, _ := s.TxNum(common.Hash{0xcc})
	lo, hi := s.TxTransfers(tx)
	var leg, payout uint64
	found := 0
	for x := lo; x < hi; x++ {
		switch r := s.Transfer(x); {
		case r.From == rn && r.To == pn:
			leg, found = x, found+1
		case r.From == pn:
			payout, found = x, found+1
		}
	}
	if found != 2 {
		t.Fatalf("the swap's leg and payout: %d found", found)
	}
	for _, c := range []struct {
		name string
		from uint64
	}{{"the leg", leg}, {"the payout", payout}} {
		// The router and the pair labelled, as a TagPack of DEXes does.
		dex := func(a uint32) (string, string, bool) { return "dex", "", a == rn || a == pn }
		res, err := TraceEVMBackward(s, []EVMStart{{Transfer: c.from}}, EVMOptions{Services: dex})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Destinations) != 1 || res.Destinations[0].Category != "minted" || res.Destinations[0].Amount != four.Dec() || res.Destinations[0].Asset != "ETH" {
			t.Errorf("from %s: %+v, want T's 4 ETH, minted", c.name, res.Destinations)
		}
	}
	// Where the store knows the token, a result gives the decimals of every
	// asset it names: backward, the start's; forward from T's genesis
	// ether, the token swapped into, which no start is in.
	if err := s.SetToken(tkn, "TKN", 6); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	back, err := TraceEVMBackward(s, []EVMStart{{Transfer: payout}}, EVMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := TraceEVM(s, []EVMStart{{Transfer: 0}}, EVMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	swappedInto := false
	for _, d := range fwd.Destinations {
		swappedInto = swappedInto || d.Asset == "TKN"
	}
	if back.Start["TKN"] != tkns.Dec() || back.Decimals["TKN"] != 6 || !swappedInto || fwd.Start["TKN"] != "" || fwd.Decimals["TKN"] != 6 || fwd.Decimals["ETH"] != 18 {
		t.Errorf("decimals: backward %v of %v, forward %v of %v", back.Decimals, back.Start, fwd.Decimals, fwd.Destinations)
	}
}

// The timing clue's confidence is the tainted share of the pool's deposits
// in its window (the withdrawal's block and the two before): here 2 of 5,
// a tainted deposit three blocks back and another pool's not counted.
func TestTimingShare(t *testing.T) {
	tr := &evmTracer{deposits: map[poolBlock]int{{7, 98}: 2, {7, 99}: 1, {7, 100}: 2, {7, 97}: 4, {8, 100}: 9}}
	notes := []mixNote{{block: 98}, {block: 100}, {block: 97}}
	if got := tr.timingShare(7, 100, notes); got != 0.4 {
		t.Errorf("timing share %v, want 0.4", got)
	}
	if got := tr.timingShare(9, 100, notes); got != 0 {
		t.Errorf("a pool without deposits: %v", got)
	}
}

// TestEVMMaxFanOut, by hand: T, holding 1 clean ETH, is paid 10 stolen
// ETH; it pays 3 ETH through a disperse contract M to A, B and C (1 ETH
// each, M's internal calls), and 2 ETH to D. FIFO: the dispersal carries
// T's clean ETH and 2 tainted, which M holds tainted first (a transfer's
// taint goes ahead of its clean part), so A and B are paid the taint.
// With MaxFanOut 2 the dispersal, paying three addresses, is not
// followed: its 2 tainted ETH end with T as limit, and A, B and C are paid
// clean money; with MaxFanOut 3 it is followed.
func TestEVMMaxFanOut(t *testing.T) {
	addr := func(n int64) common.Address { return common.BigToAddress(big.NewInt(n)) }
	V, T, M, A, B, C, D, X := addr(0xa1), addr(0xa2), addr(0xa3), addr(0xa4), addr(0xa5), addr(0xa6), addr(0xa7), addr(0xa8)
	b := &evm.Block{Number: 1, Hash: common.Hash{1}, Traces: []evm.Trace{}}
	tx := func(from, to common.Address, value *uint256.Int, calls ...evm.Trace) {
		i := uint32(len(b.Txs))
		b.Txs = append(b.Txs, evm.Tx{Hash: common.Hash{0xee, byte(i)}, Index: i, From: from, To: &to, Value: *value, Status: evm.StatusOK})
		b.Traces = append(b.Traces, evm.Trace{TxIndex: int32(i), From: from, To: to, Value: *value, Type: "call", CallType: "call", Address: []int{}, Subtraces: len(calls)})
		for k, c := range calls {
			c.TxIndex, c.Type, c.CallType, c.Address = int32(i), "call", "call", []int{k}
			b.Traces = append(b.Traces, c)
		}
	}
	tx(X, T, eth(1_000))
	tx(V, T, eth(10_000)) // the theft
	tx(T, M, eth(3_000), evm.Trace{From: M, To: A, Value: *eth(1_000)}, evm.Trace{From: M, To: B, Value: *eth(1_000)}, evm.Trace{From: M, To: C, Value: *eth(1_000)})
	tx(T, D, eth(2_000))
	s := handStore(t, b)
	theft, _ := s.TxNum(common.Hash{0xee, 1})
	lo, _ := s.TxTransfers(theft)
	dispersal := common.Hash{0xee, 2}.Hex()
	for _, c := range []struct {
		fan  int
		want map[string]string
	}{
		{0, map[string]string{"unspent " + T.Hex(): eth(6_000).Dec(), "unspent " + A.Hex(): eth(1_000).Dec(), "unspent " + B.Hex(): eth(1_000).Dec(), "unspent " + D.Hex(): eth(2_000).Dec()}},
		{3, map[string]string{"unspent " + T.Hex(): eth(6_000).Dec(), "unspent " + A.Hex(): eth(1_000).Dec(), "unspent " + B.Hex(): eth(1_000).Dec(), "unspent " + D.Hex(): eth(2_000).Dec()}},
		{2, map[string]string{"unspent " + T.Hex(): eth(6_000).Dec(), "limit " + T.Hex(): eth(2_000).Dec(), "unspent " + D.Hex(): eth(2_000).Dec()}},
	} {
		res, err := TraceEVM(s, []EVMStart{{Transfer: lo}}, EVMOptions{Model: FIFO, MaxFanOut: c.fan})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, d := range res.Destinations {
			got[d.Category+" "+d.Address] = d.Amount
			if d.Category == "limit" && d.Label != "fan-out: "+dispersal+" pays 3 addresses" {
				t.Errorf("fan-out %d: limit %q", c.fan, d.Label)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("fan-out %d: %v, want %v", c.fan, got, c.want)
		}
		for _, f := range res.Flows {
			if c.fan == 2 && (f.To == M.Hex() || f.From == M.Hex()) {
				t.Errorf("fan-out 2: the dispersal followed: %+v", f)
			}
		}
	}
}

// TestAddressReuseOfExactTaint: a withdrawal to an address the taint
// reached only by a heuristic link (an earlier withdrawal's timing) is no
// reuse of a taint holder's address: the clue would stand on a guess. T,
// robbed into, deposits two 1 ETH notes; a relayer withdraws the first to
// X in the same block (timing), and the second to X again four blocks
// later: that one is not linked.
func TestAddressReuseOfExactTaint(t *testing.T) {
	addr := func(n int64) common.Address { return common.BigToAddress(big.NewInt(n)) }
	V, T, X, R, pool := addr(0xa1), addr(0xa2), addr(0xa3), addr(0xa6), addr(0xb3)
	b := &evm.Block{Number: 1, Hash: common.Hash{1}, Traces: []evm.Trace{}}
	tx := func(from, to common.Address, value *uint256.Int, calls []evm.Trace, logs ...evm.Log) {
		handTx(b, from, to, value, calls, logs...)
	}
	withdraw := func(to common.Address) {
		data := append(append(word(new(uint256.Int).SetBytes(to[:])), make([]byte, 32)...), word(eth(10))...)
		tx(R, pool, nil, []evm.Trace{{From: pool, To: to, Value: *eth(990)}, {From: pool, To: R, Value: *eth(10)}},
			evm.Log{Address: pool, Topics: []common.Hash{evm.TopicMixWithdrawal, hashOf(R)}, Data: data})
	}
	tx(V, T, eth(2_000), nil)
	for k := 0; k < 2; k++ {
		tx(T, pool, eth(1_000), nil, evm.Log{Address: pool, Topics: []common.Hash{evm.TopicMixDeposit, {byte(k + 1)}}, Data: append(word(uint256.NewInt(uint64(k))), word(uint256.NewInt(1))...)})
	}
	withdraw(X)
	blocks := []*evm.Block{b}
	for n := uint64(2); n <= 5; n++ {
		b = &evm.Block{Number: n, Hash: common.Hash{byte(n)}, Parent: b.Hash, Traces: []evm.Trace{}}
		blocks = append(blocks, b)
	}
	withdraw(X)
	s := handStore(t, blocks...)
	pn, err := s.AddrNum(pool)
	if err != nil {
		t.Fatal(err)
	}
	theft, _ := s.TxNum(common.Hash{0xee, 0, 1})
	lo, _ := s.TxTransfers(theft)
	res, err := TraceEVM(s, []EVMStart{{Transfer: lo}}, EVMOptions{Model: FIFO, MixerLinks: true,
		Services: func(a uint32) (string, string, bool) { return "mixer", "pool", a == pn }})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(res.MixerLinks, map[string]int{"timing": 1}) {
		t.Errorf("mixer links %v, want the first withdrawal's timing alone", res.MixerLinks)
	}
}
