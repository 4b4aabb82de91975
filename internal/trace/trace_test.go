package trace

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testchain"
)

func mainnet(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := ingest.Files(context.Background(), s, []string{"../../testdata/btc/blk_0_to_14131.dat.bz2"}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	return s
}

func output(t *testing.T, s *store.Store, txid string, vout uint64) uint64 {
	t.Helper()
	h, _ := btc.ParseHash(txid)
	n, err := s.TxNum(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _, first, _ := s.TxRange(n)
	return first + vout
}

// TestFirstPayment traces the coins of the first payment between two
// people (block 170): the 10 BTC to Hal Finney stay unspent; the 40 BTC of
// change travel on through Satoshi's later payments, and in these fee-free
// early blocks every model but poison accounts for all 40 BTC exactly.
func TestFirstPayment(t *testing.T) {
	s := mainnet(t)
	const tx170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	const tx181 = "a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be" // spends tx170:1
	res, err := Forward(s, []Start{{Output: output(t, s, tx170, 0)}}, Options{Model: FIFO})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Destinations) != 1 || res.Destinations[0].Category != "unspent" || res.Destinations[0].Amount != 10e8 ||
		res.Destinations[0].Address != "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3" {
		t.Fatalf("Hal's 10 BTC: %+v", res.Destinations)
	}
	for _, model := range []string{FIFO, Haircut} {
		res, err := Forward(s, []Start{{Output: output(t, s, tx170, 1)}}, Options{Model: model, MinValue: 1})
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, d := range res.Destinations {
			sum += d.Amount
		}
		if res.Start != 40e8 || sum < 40e8-10 || sum > 40e8 || len(res.Flows) == 0 {
			t.Fatalf("%s: start %d, destinations add up to %d", model, res.Start, sum)
		}
		// The start and every flow name the transaction that carried
		// their taint on, and each transaction of a flow was so named:
		// the flows join up, start to ends (what a drawing needs).
		if len(res.Starts) != 1 || res.Starts[0].SpentBy != tx181 || res.Starts[0].To != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" || res.Starts[0].Amount != 40e8 {
			t.Fatalf("%s: starts %+v", model, res.Starts)
		}
		named, made := map[string]bool{tx181: true}, map[string]bool{}
		for _, f := range res.Flows {
			made[f.Tx] = true
			if f.SpentBy != "" {
				named[f.SpentBy] = true
			}
		}
		for tx := range made {
			if !named[tx] {
				t.Errorf("%s: flows in %s, which no flow says carried them", model, tx)
			}
		}
		for tx := range named {
			if !made[tx] {
				t.Errorf("%s: %s said to carry taint on, with no flow", model, tx)
			}
		}
	}
	// --min-value is the least taint followed: the 10 BTC paid on from the
	// 40, exactly at it, is followed to where it rests, not dropped.
	res, err = Forward(s, []Start{{Output: output(t, s, tx170, 1)}}, Options{Model: FIFO, MinValue: 10e8})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range res.Destinations {
		if d.Address == "1DUDsfc23Dv9sPMEk5RsrtfzCw5ofi5sVW" {
			found = d.Category == "unspent" && d.Amount == 10e8
		}
		if d.Category == "dust" && d.Amount == 10e8 {
			t.Fatalf("taint at --min-value dropped as dust: %+v", res.Destinations)
		}
	}
	if !found {
		t.Fatalf("the 10 BTC at --min-value: %+v", res.Destinations)
	}
	// Poison counts every output of a touched transaction in full.
	res, err = Forward(s, []Start{{Output: output(t, s, tx170, 1)}}, Options{Model: Poison, MaxHops: 3})
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, d := range res.Destinations {
		sum += d.Amount
	}
	if sum < 40e8 {
		t.Fatalf("poison: %d", sum)
	}
	if _, err := Forward(s, []Start{{Output: 0}}, Options{Model: "magic"}); err == nil {
		t.Fatal("unknown model accepted")
	}
}

// TestStartsThatDescend traces every output Satoshi's block-9 address
// received: the 50 BTC of its coinbase and five outputs of change it paid
// itself from them (40, 30, 29, 28 and 18 BTC). Traced as starts of their
// own they would count the same coins again; the trace starts from 50 BTC,
// every model but poison accounts for exactly that, and the address's
// unspent 18 BTC (its balance) arrive once; traced backward, all of it
// comes from the coinbase once. Two starts of one output count once.
func TestStartsThatDescend(t *testing.T) {
	s := mainnet(t)
	a, err := btc.ParseAddress("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", s.Network())
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.AddrNum(a)
	if err != nil {
		t.Fatal(err)
	}
	var starts []Start
	s.Postings(n, func(o uint64) bool { starts = append(starts, Start{Output: o}); return true })
	if len(starts) != 6 {
		t.Fatalf("%d outputs received", len(starts))
	}
	starts = append(starts, starts[0])
	for _, model := range []string{FIFO, Haircut} {
		res, err := Forward(s, starts, Options{Model: model, MinValue: 1})
		if err != nil {
			t.Fatal(err)
		}
		var sum, own int64
		for _, d := range res.Destinations {
			sum += d.Amount
			if d.Address == "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" {
				own += d.Amount
			}
		}
		if res.Start != 50e8 || sum != 50e8 || own != 18e8 || len(res.From) != 6 {
			t.Fatalf("%s: start %d, destinations %d, the address's own %d, from %d outputs", model, res.Start, sum, own, len(res.From))
		}
		// Backward, the six outputs' value comes from the one coinbase.
		back, err := Backward(s, starts, Options{Model: model, MinValue: 1})
		if err != nil {
			t.Fatal(err)
		}
		if back.Start != 50e8 || len(back.Destinations) != 1 || back.Destinations[0].Category != "coinbase" || back.Destinations[0].Amount != 50e8 {
			t.Fatalf("%s backward: start %d, sources %+v", model, back.Start, back.Destinations)
		}
	}
}

// TestStopsAtServices checks that a labelled address ends the trace.
func TestStopsAtServices(t *testing.T) {
	s := mainnet(t)
	hal, _ := btc.ParseAddress("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", btc.Main)
	n, err := s.AddrNum(hal)
	if err != nil {
		t.Fatal(err)
	}
	svc := func(a uint32) (string, string, bool) { return "exchange", "Example", a == n }
	// Block 9's coinbase paid 12cbQ...: starting there, the trace stops at
	// once, at the service.
	res, err := Forward(s, []Start{{Output: output(t, s, "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9", 0)}}, Options{Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Destinations) != 1 || res.Destinations[0].Category != "exchange" || res.TxsVisited != 0 {
		t.Fatalf("%+v", res)
	}
}

// TestBackward explains Hal Finney's 10 BTC: they came from block 9's
// coinbase, mined.
func TestBackward(t *testing.T) {
	s := mainnet(t)
	const tx170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	for _, model := range []string{FIFO, Haircut, Poison} {
		res, err := Backward(s, []Start{{Output: output(t, s, tx170, 0)}}, Options{Model: model})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Destinations) != 1 || res.Destinations[0].Category != "coinbase" || res.Destinations[0].Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" {
			t.Fatalf("%s: %+v", model, res.Destinations)
		}
		if model != Poison && res.Destinations[0].Amount != 10e8 {
			t.Fatalf("%s: %d", model, res.Destinations[0].Amount)
		}
	}
	// Satoshi's later payment (block 181, from the change of block 170)
	// also goes back to block 9's coinbase, through two transactions.
	res, err := Backward(s, []Start{{Output: output(t, s, "a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be", 0)}}, Options{Model: FIFO})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Destinations) != 1 || res.Destinations[0].Category != "coinbase" || res.TxsVisited != 3 {
		t.Fatalf("%+v visited %d", res.Destinations, res.TxsVisited)
	}
	// Each flow runs from an input's address to the address of the output
	// it explains: block 181's payment, then the 40 BTC of change of block
	// 170 that paid it, then that transaction's coinbase input.
	to := map[string]string{}
	for _, f := range res.Flows {
		to[f.Tx] = f.To
	}
	addr := func(txid string, vout uint64) string {
		return s.Address(s.OutAddr(output(t, s, txid, vout))).String(s.Network())
	}
	if len(to) != 2 || to["a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be"] != addr("a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be", 0) ||
		to[tx170] != addr(tx170, 1) {
		t.Errorf("flows' ends: %v", to)
	}
	// No further back than a day: block 170's change (2009-01-12) is
	// explained, block 9's coinbase (2009-01-09) is not; a day before it,
	// the coinbase again; a day after all of them, the start is still
	// explained, by what paid it.
	from181 := []Start{{Output: output(t, s, "a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be", 0)}}
	for since, want := range map[string]string{"2009-01-12": "limit before 2009-01-12 12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S 1000000000", "2009-01-09": "coinbase mined 12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S 1000000000",
		"2009-01-13": "limit before 2009-01-13 12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S 1000000000"} {
		d, _ := time.Parse("2006-01-02", since)
		got, err := Backward(s, from181, Options{Model: FIFO, Since: d})
		if err != nil || len(got.Destinations) != 1 || fmt.Sprint(got.Destinations[0].Category, " ", got.Destinations[0].Label, " ", got.Destinations[0].Address, " ", got.Destinations[0].Amount) != want {
			t.Errorf("since %s: %v %+v, want %s", since, err, got.Destinations, want)
		}
	}
	// Without its flows (screening's way), the same sources.
	bare, err := Backward(s, []Start{{Output: output(t, s, "a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be", 0)}}, Options{Model: FIFO, NoFlows: true})
	if err != nil || len(bare.Flows) != 0 || !reflect.DeepEqual(bare.Destinations, res.Destinations) || bare.TxsVisited != res.TxsVisited {
		t.Errorf("without flows: %v %+v, with: %+v", err, bare, res)
	}
}

// TestShare: haircut's shares are exact, rounded down (math/big's), where
// floating point would be a satoshi over (the first case) about one time
// in fifty.
func TestShare(t *testing.T) {
	if got := Share(960530611965644, 1357015013903226, 1876590775666789); got != 694586416310124 {
		t.Fatalf("share %d, want 694586416310124", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		c := r.Int64N(2_100_000_000_000_000) + 1
		a, b := r.Int64N(c+1), r.Int64N(c+1)
		want := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		want.Quo(want, big.NewInt(c))
		if got := Share(a, b, c); got != want.Int64() {
			t.Fatalf("Share(%d, %d, %d) = %d, want %s", a, b, c, got, want)
		}
	}
	if Share(5, 7, 0) != 0 || Share(0, 7, 9) != 0 || Share(1<<62, 1<<62, 1<<40) != math.MaxInt64 {
		t.Fatal("share at its edges")
	}
}

// TestMaxFanOut: block 1's 50 BTC are split into 30 and 20 BTC; the 30
// are paid out in a batch of ten 3 BTC outputs, the 20 in two of 10 BTC.
// With MaxFanOut 5 the batch is not followed: its 30 BTC end there as
// "limit", naming it; the two-output spend is followed to its outputs.
func TestMaxFanOut(t *testing.T) {
	s := testchain.Mainnet(t, t.TempDir(), 2)
	next := byte(0)
	pay := func(in btc.Hash, vout uint32, values ...int64) btc.Tx {
		tx := btc.Tx{Version: 1, Inputs: []btc.TxIn{{PrevTxID: in, PrevIndex: vout, Sequence: 0xffffffff}}}
		for _, v := range values {
			next++
			tx.Outputs = append(tx.Outputs, btc.TxOut{Value: v, Script: append([]byte{0x00, 20, 0xcd, next}, make([]byte, 18)...)})
		}
		d, err := btc.DecodeTx(btc.AppendTx(nil, &tx))
		if err != nil {
			t.Fatal(err)
		}
		return *d
	}
	split := pay(s.TxID(1), 0, 30e8, 20e8)
	batch := pay(split.TxID, 0, 3e8, 3e8, 3e8, 3e8, 3e8, 3e8, 3e8, 3e8, 3e8, 3e8)
	two := pay(split.TxID, 1, 10e8, 10e8)
	testchain.Mine(t, s, split, batch, two)
	for _, model := range []string{FIFO, Haircut, Poison} {
		for _, fan := range []int{0, 5, 10} {
			res, err := Forward(s, []Start{{Output: 1}}, Options{Model: model, MaxFanOut: fan})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, d := range res.Destinations {
				got[d.Category+" "+d.Label] += d.Amount
			}
			want := map[string]int64{"unspent ": 50e8}
			if fan == 5 {
				want = map[string]int64{"unspent ": 20e8, "limit fan-out: " + batch.TxID.String() + " pays 10 outputs": 30e8}
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s, fan-out %d: %v, want %v", model, fan, got, want)
			}
		}
	}
}
