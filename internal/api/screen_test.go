package api

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testchain"
)

func TestSeverityRules(t *testing.T) {
	sanc := []label.Label{{Category: label.Sanctioned, Label: "X", Source: "s"}}
	cases := []struct {
		own              []label.Label
		direct, indirect []Exposure
		want             string
	}{
		{sanc, nil, nil, "severe"},
		{nil, []Exposure{{Category: label.Sanctioned, Share: 0.01}}, nil, "severe"},
		{[]label.Label{{Category: label.StolenFunds}}, nil, nil, "high"},
		{nil, []Exposure{{Category: label.StolenFunds, Share: 0.2}}, nil, "high"},
		{nil, nil, []Exposure{{Category: label.Sanctioned, Share: 0.06}}, "high"},
		{[]label.Label{{Category: label.Mixer}}, nil, []Exposure{{Category: label.Sanctioned, Share: 0.5}}, "high"},
		{nil, nil, []Exposure{{Category: label.Sanctioned, Share: 0.01}}, "medium"},
		{[]label.Label{{Category: label.Mixer}}, nil, nil, "medium"},
		{nil, []Exposure{{Category: label.Mixer, Share: 0.05}}, nil, "low"},
		{[]label.Label{{Category: label.Exchange}}, nil, nil, "low"},
		{[]label.Label{{Category: label.Ransomware}}, nil, nil, "high"},
		{nil, []Exposure{{Category: label.Darknet, Share: 0.15}}, nil, "high"},
		{nil, []Exposure{{Category: label.Darknet, Share: 0.05}}, nil, "low"},
		{nil, nil, []Exposure{{Category: label.Ransomware, Share: 0.01}}, "medium"},
		{[]label.Label{{Category: label.Blocked}}, nil, nil, "medium"},
	}
	for i, c := range cases {
		if got, rule := DefaultRules().Severity(c.own, nil, c.direct, c.indirect); got != c.want {
			t.Errorf("case %d: %s (%s), want %s", i, got, rule, c.want)
		}
	}
}

func TestRulesFile(t *testing.T) {
	rs, err := ParseRules("r.yaml", []byte("rules:\n  - {severity: high, when: label, category: mixing_service}\n  - {severity: medium, when: indirect, category: Mixer, min_share: 0.5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	mixer := []label.Label{{Category: label.Mixer, Label: "M", Source: "s"}}
	if got, _ := rs.Severity(mixer, nil, nil, nil); got != "high" {
		t.Errorf("mixer label under custom rules: %s", got)
	}
	if got, _ := rs.Severity(nil, nil, nil, []Exposure{{Category: label.Mixer, Share: 0.4}}); got != "low" {
		t.Errorf("40%% indirect mixer exposure under a 50%% rule: %s", got)
	}
	if got, rule := rs.Severity(nil, nil, nil, []Exposure{{Category: label.Mixer, Share: 0.6}}); got != "medium" || !strings.Contains(rule, "60.0%") {
		t.Errorf("60%% indirect mixer exposure: %s (%s)", got, rule)
	}
	// Sanctioned is not in these rules: nothing matches.
	if got, rule := rs.Severity([]label.Label{{Category: label.Sanctioned}}, nil, nil, nil); got != "low" || rule != "no rule matched" {
		t.Errorf("%s (%s)", got, rule)
	}

	bad := []struct{ text, want string }{
		{"", "empty file"},
		{"other: 1\n", "field other not found"},
		{"rules:\n  - {severity: high, when: label, category: mixer}\n  - {severity: sever, when: label, category: mixer}\n", "line 3: rule 2: severity"},
		{"rules:\n  - {severity: high, when: labels, category: mixer}\n", "line 2: rule 1: when"},
		{"rules:\n  - {severity: high, when: label, category: mixer, min_share: 0.1}\n", "min_share: only for direct"},
		{"rules:\n  - {severity: high, when: direct, category: mixer, min_share: 10}\n", "min_share: 10; want 0 to 1"},
		{"rules:\n  - {severity: high, when: direct}\n", "category: missing"},
		{"rules:\n  - {severity: high, when: direct, category: mixer, share: 1}\n", "field share not found"},
		{"rules: [\n", "r.yaml"},
	}
	for _, c := range bad {
		_, err := ParseRules("r.yaml", []byte(c.text))
		if !errors.Is(err, ErrRules) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "r.yaml") {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}

// TestSeverityAtItsBounds: a rule's min_share is reached at the share
// itself; an exposure of no share matches no rule, not even one without a
// min_share; a share too small for a tenth of a percent says so.
func TestSeverityAtItsBounds(t *testing.T) {
	tenth := 0.1
	rs := Rules{
		{Severity: "high", When: "direct", Category: "stolen-funds", MinShare: &tenth},
		{Severity: "medium", When: "indirect", Category: "mixer", MinShare: &tenth},
		{Severity: "medium", When: "direct", Category: "scam"},
	}
	for _, c := range []struct {
		direct, indirect []Exposure
		severity, why    string
	}{
		{[]Exposure{{Category: "stolen-funds", Share: 0.1}}, nil, "high", "direct exposure to stolen-funds: 10.0%"},
		{[]Exposure{{Category: "stolen-funds", Share: 0.0999}}, nil, "low", "no rule matched"},
		{nil, []Exposure{{Category: "mixer", Share: 0.1}}, "medium", "indirect exposure to mixer within 4 hops: 10.0%"},
		{nil, []Exposure{{Category: "mixer", Share: 0.0999}}, "low", "no rule matched"},
		{[]Exposure{{Category: "scam", Share: 0}}, nil, "low", "no rule matched"},
		{[]Exposure{{Category: "scam", Share: 0.0004}}, nil, "medium", "direct exposure to scam: under 0.1%"},
		{[]Exposure{{Category: "scam", Share: 0.0005}}, nil, "medium", "direct exposure to scam: 0.1%"},
	} {
		sev, why := rs.Severity(nil, nil, c.direct, c.indirect)
		if sev != c.severity || why != c.why {
			t.Errorf("%+v %+v: %s (%s), want %s (%s)", c.direct, c.indirect, sev, why, c.severity, c.why)
		}
	}
}

// TestExposuresOrdered: exposures come largest first, by satoshi, then by
// dollars, then by category, each with its share of the whole.
func TestExposuresOrdered(t *testing.T) {
	got := exposures(map[string]int64{"mixer": 5, "scam": 10, "exchange": 10, "sanctioned": 25}, 50)
	want := "sanctioned 25 0.50, exchange 10 0.20, scam 10 0.20, mixer 5 0.10"
	var parts []string
	for _, e := range got {
		parts = append(parts, fmt.Sprintf("%s %d %.2f", e.Category, e.Amount, e.Share))
	}
	if s := strings.Join(parts, ", "); s != want {
		t.Fatalf("exposures %s, want %s", s, want)
	}
	usd := []Exposure{{Category: "scam", USD: 5}, {Category: "mixer", USD: 9}, {Category: "exchange", USD: 9}}
	sortExposures(usd)
	if usd[0].Category != "exchange" || usd[1].Category != "mixer" || usd[2].Category != "scam" {
		t.Fatalf("by dollars: %+v", usd)
	}
	if got := exposures(map[string]int64{"scam": 3}, 0); len(got) != 1 || got[0].Share != 0 {
		t.Fatalf("of nothing received: %+v", got)
	}
}

// TestAddressExposureLatestOutputs: an address's exposure looks at the
// 1,000 latest outputs it received, not at older ones: here a payment
// from a sanctioned address (block 1's miner), then a thousand from an
// unlabelled one (block 2's); the sanctioned payment, older, is not seen.
func TestAddressExposureLatestOutputs(t *testing.T) {
	dir := t.TempDir()
	s := testchain.Mainnet(t, filepath.Join(dir, "btc"), 4)
	// Mainnet's blocks 0..4 hold a coinbase each, of one output to a
	// miner of its own: tx n, output n.
	// Block 1's miner pays z and z2 once each; then block 2's pays z a
	// thousand times, and block 3's pays z2 999 times.
	script := func(b byte) []byte {
		s := append([]byte{0x76, 0xa9, 20, b}, make([]byte, 19)...)
		return append(s, 0x88, 0xac)
	}
	z, z2 := script(0xee), script(0xef)
	pay := func(from uint64, to ...[]byte) btc.Tx {
		v, _ := s.OutValue(from)
		tx := btc.Tx{Version: 1, Inputs: []btc.TxIn{{PrevTxID: s.TxID(from), Sequence: 0xffffffff}}}
		for _, sc := range to {
			tx.Outputs = append(tx.Outputs, btc.TxOut{Value: v / int64(len(to)+1), Script: sc})
		}
		return tx
	}
	times := func(n int, sc []byte) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = sc
		}
		return out
	}
	testchain.Mine(t, s, pay(1, z, z2), pay(2, times(1000, z)...), pay(3, times(999, z2)...))
	ls := labelMiner1(t, s, filepath.Join(dir, "labels"), "sanctioned")
	srv := New(Config{Store: s, Labels: ls})
	text := func(sc []byte) string { _, a, _ := btc.ScriptAddress(sc); return a.String(s.Network()) }
	got, err := srv.addressExposure(s, text(z))
	if err != nil || len(got) != 0 {
		t.Fatalf("exposure of z: %+v %v; want none (the sanctioned payment is older than its 1,000 latest)", got, err)
	}
	got, err = srv.addressExposure(s, text(z2))
	if err != nil || len(got) != 1 || got[0].Category != "sanctioned" {
		t.Fatalf("exposure of z2: %+v %v; want the sanctioned payment, among its 1,000 latest", got, err)
	}
}

// TestDepositAfterAMix: a deposit paid from a Whirlpool mix's output has
// the mix as its indirect source (mixer), not the premix coin that sat at
// the same place in the mix (here, one of a labelled thief's): which
// input paid an output is not known.
func TestDepositAfterAMix(t *testing.T) {
	dir := t.TempDir()
	s := testchain.Mainnet(t, filepath.Join(dir, "btc"), 5)
	const denom, premix = 50_000_000, 50_000_170
	b := &chainTxs{version: 1}
	tx, in := b.tx, spendOf
	// Blocks 1..5's miners each enter a premix coin; block 1's first.
	var mixIns []btc.TxIn
	for h := uint64(1); h <= 5; h++ {
		mixIns = append(mixIns, in(tx([]btc.TxIn{in(s.TxID(h), 0)}, premix, 50_0000_0000-premix-1000), 0))
	}
	mix := tx(mixIns, denom, denom, denom, denom, denom)
	deposit := tx([]btc.TxIn{in(mix, 0)}, denom-1000)
	testchain.Mine(t, s, b.txs...)
	ls := labelMiner1(t, s, filepath.Join(dir, "labels"), "stolen-funds")
	out, err := New(Config{Store: s, Labels: ls}).Screen([]ScreenItem{{Tx: deposit.String(), Direction: "deposit"}})
	if err != nil {
		t.Fatal(err)
	}
	r := out[0]
	if len(r.Indirect) != 1 || r.Indirect[0].Category != "mixer" || r.Indirect[0].Amount != denom-1000 || r.Severity != "medium" {
		t.Fatalf("a deposit from a mix output: indirect %+v, severity %s (%s)", r.Indirect, r.Severity, r.Rule)
	}
	// The address the mix paid (another participant's, four places after
	// the thief's coin): its direct source is the mix too, not a fifth of
	// it stolen funds.
	_, _, firstOut, _ := s.TxRange(s.Counts().Txs - 2) // the mix
	postmix := s.Address(s.OutAddr(firstOut + 4)).String(s.Network())
	out, err = New(Config{Store: s, Labels: ls}).Screen([]ScreenItem{{Address: postmix}})
	if err != nil {
		t.Fatal(err)
	}
	if r := out[0]; len(r.Direct) != 1 || r.Direct[0].Category != "mixer" || r.Direct[0].Amount != denom || r.Severity != "medium" {
		t.Fatalf("a mix's output address: direct %+v, indirect %+v, severity %s (%s)", r.Direct, r.Indirect, r.Severity, r.Rule)
	}
}

// chainTxs builds transactions to mine on a test chain (testchain.Mine),
// each output paid to a script of its own.
type chainTxs struct {
	version int32
	txs     []btc.Tx
}

// synthScript is a P2WPKH script of a made-up key numbered b.
func synthScript(b byte) []byte { return append([]byte{0x00, 20, 0xcd, b}, make([]byte, 18)...) }

// tx adds a transaction spending ins and paying values, and returns its
// txid.
func (c *chainTxs) tx(ins []btc.TxIn, values ...int64) btc.Hash {
	x := btc.Tx{Version: c.version, Inputs: ins}
	for _, v := range values {
		x.Outputs = append(x.Outputs, btc.TxOut{Value: v, Script: synthScript(byte(len(c.txs)*16 + len(x.Outputs)))})
	}
	c.txs = append(c.txs, x)
	d, _ := btc.DecodeTx(btc.AppendTx(nil, &x))
	return d.TxID
}

// spendOf is an input spending output vout of transaction id.
func spendOf(id btc.Hash, vout uint32) btc.TxIn {
	return btc.TxIn{PrevTxID: id, PrevIndex: vout, Sequence: 0xffffffff}
}

// labelMiner1 opens labels in dir giving block 1's miner (the address its
// coinbase pays) the category, closed when the test ends.
func labelMiner1(t *testing.T, s *store.Store, dir, category string) *label.Store {
	t.Helper()
	ls, err := label.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.Close() })
	miner1 := s.Address(s.OutAddr(1)).String(s.Network())
	if err := ls.Replace(label.SourceInfo{Source: "test"}, []label.Label{{Address: miner1, Chain: "btc", Category: category, Label: "block 1's miner"}}, nil); err != nil {
		t.Fatal(err)
	}
	return ls
}

// TestRawTx screens transactions given whole (raw_tx), as a deposit is
// before it is in a block: each of a chain of them answers as it does by
// its txid once mined (direct and indirect exposure, either direction),
// through a labelled coin, a transaction of several inputs with a fee, a
// Whirlpool mix and a deposit paid from it; one not yet mined is screened
// on the coins it spends; bad ones are refused naming the item.
func TestRawTx(t *testing.T) {
	dir := t.TempDir()
	s := testchain.Mainnet(t, filepath.Join(dir, "btc"), 7)
	b := &chainTxs{version: 2}
	tx, in, script := b.tx, spendOf, synthScript
	// Block 1's miner (labelled) pays X, Y, V and U; X and block 2's
	// coinbase pay Z; Z and U are deposited, less a fee.
	t1 := tx([]btc.TxIn{in(s.TxID(1), 0)}, 20e8, 15e8, 10e8, 5e8-2000)
	t2 := tx([]btc.TxIn{in(t1, 0), in(s.TxID(2), 0)}, 45e8, 25e8-3000)
	dep := tx([]btc.TxIn{in(t2, 0), in(t1, 3)}, 45e8, 5e8-2000-5000)
	// V passed on four times: the third is within reach of the label, the
	// fourth one transaction beyond.
	chain := []btc.Hash{t1}
	for k := range 4 {
		chain = append(chain, tx([]btc.TxIn{in(chain[k], map[bool]uint32{true: 2, false: 0}[k == 0])}, 10e8-int64(k+1)*1000))
	}
	// Block 7's coinbase and Y deposited with most of Y as the fee: Y's
	// part (500 sat) is too small to follow.
	dust := tx([]btc.TxIn{in(s.TxID(7), 0), in(t1, 1)}, 50e8+500)
	// A Whirlpool mix of blocks 3..6's coins and W, and a deposit of one
	// of its outputs.
	const denom, premix = 50_000_000, 50_000_170
	var mixIns []btc.TxIn
	for h := uint64(3); h <= 6; h++ {
		mixIns = append(mixIns, in(tx([]btc.TxIn{in(s.TxID(h), 0)}, premix, 50_0000_0000-premix-1000), 0))
	}
	mixIns = append(mixIns, in(tx([]btc.TxIn{in(t2, 1)}, premix, 25e8-3000-premix-1000), 0))
	mix := tx(mixIns, denom, denom, denom, denom, denom)
	mixDep := tx([]btc.TxIn{in(mix, 4)}, denom-1000)
	testchain.Mine(t, s, b.txs...)
	ls := labelMiner1(t, s, filepath.Join(dir, "labels"), "stolen-funds")
	// Y's address itself listed too: the dust deposit's 500 sat of it are
	// still too small to count.
	_, y, _ := btc.ScriptAddress(b.txs[0].Outputs[1].Script)
	if err := ls.Replace(label.SourceInfo{Source: "y"}, []label.Label{{Address: y.String(s.Network()), Chain: "btc", Category: "stolen-funds", Label: "Y"}}, nil); err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Store: s, Labels: ls})
	rawOf := map[btc.Hash]string{}
	for i := range b.txs {
		raw := btc.AppendTx(nil, &b.txs[i])
		d, _ := btc.DecodeTx(raw)
		rawOf[d.TxID] = hex.EncodeToString(raw)
	}
	for _, id := range []btc.Hash{t1, t2, dep, chain[3], chain[4], dust, mix, mixDep} {
		for _, dir := range []string{"deposit", "withdrawal"} {
			out, err := srv.Screen([]ScreenItem{{Tx: id.String(), Direction: dir}, {RawTx: rawOf[id], Direction: dir}})
			if err != nil {
				t.Fatalf("%s %s: %v", id, dir, err)
			}
			a, b := out[0], out[1]
			if !reflect.DeepEqual(a.Direct, b.Direct) || !reflect.DeepEqual(a.Indirect, b.Indirect) || a.Severity != b.Severity || a.Rule != b.Rule || b.Chain != "btc" || b.TxID != id.String() || a.TxID != "" {
				t.Errorf("%s as a %s: by txid direct %+v indirect %+v (%s), whole direct %+v indirect %+v (%s)", id, dir, a.Direct, a.Indirect, a.Severity, b.Direct, b.Indirect, b.Severity)
			}
		}
	}
	// The chain's answers themselves: the deposit's coins came from the
	// labelled miner in part (FIFO: Z's first 20 BTC, X's, and what the
	// outputs take of U), the mix deposit from the mix alone; V's third
	// pass reaches the label, its fourth not; Y's 500 sat are not followed.
	out, _ := srv.Screen([]ScreenItem{{RawTx: rawOf[dep]}, {RawTx: rawOf[mixDep]}, {RawTx: rawOf[chain[3]]}, {RawTx: rawOf[chain[4]]}, {RawTx: rawOf[dust]}})
	if r := out[0]; len(r.Indirect) != 1 || r.Indirect[0].Category != "stolen-funds" || r.Indirect[0].Amount != 20e8+5e8-2000-5000 || r.Severity != "high" {
		t.Errorf("the deposit: indirect %+v, %s (%s)", r.Indirect, r.Severity, r.Rule)
	}
	if r := out[1]; len(r.Indirect) != 1 || r.Indirect[0].Category != "mixer" || r.Severity != "medium" {
		t.Errorf("the mix deposit: indirect %+v, %s", r.Indirect, r.Severity)
	}
	if r := out[2]; len(r.Indirect) != 1 || r.Indirect[0].Category != "stolen-funds" || r.Indirect[0].Amount != 10e8-3000 {
		t.Errorf("three passes on: indirect %+v", r.Indirect)
	}
	if r := out[3]; len(r.Indirect) != 0 || len(out[4].Indirect) != 0 {
		t.Errorf("four passes on: indirect %+v; the dust: %+v", r.Indirect, out[4].Indirect)
	}

	// Not mined: Y's coin deposited again (a conflict a node would refuse,
	// still the coins it shows): block 1's miner's, through one transaction.
	fresh := btc.Tx{Version: 2, Inputs: []btc.TxIn{in(t1, 1)}, Outputs: []btc.TxOut{{Value: 15e8 - 1000, Script: script(0xee)}}}
	freshHex := hex.EncodeToString(btc.AppendTx(nil, &fresh))
	out, err := srv.Screen([]ScreenItem{{RawTx: freshHex}})
	if err != nil {
		t.Fatal(err)
	}
	if r := out[0]; len(r.Indirect) != 1 || r.Indirect[0].Category != "stolen-funds" || r.Indirect[0].Amount != 15e8-1000 || r.Severity != "high" {
		t.Errorf("a deposit not in a block: indirect %+v, %s", r.Indirect, r.Severity)
	}
	unknown := fresh
	unknown.Inputs = []btc.TxIn{in(btc.Hash{1, 2, 3}, 0)}
	beyond := fresh
	beyond.Inputs = []btc.TxIn{in(t1, 7)}
	coinbase := btc.Tx{Version: 1, Inputs: []btc.TxIn{{PrevIndex: 0xffffffff, ScriptSig: []byte{1, 1}, Sequence: 0xffffffff}}, Outputs: fresh.Outputs}
	for _, c := range []struct {
		item   ScreenItem
		status int
		says   string
	}{
		{ScreenItem{RawTx: "zz"}, 400, "items[0].raw_tx: not hex"},
		{ScreenItem{RawTx: freshHex[:40]}, 400, "items[0].raw_tx: "},
		{ScreenItem{RawTx: hex.EncodeToString(btc.AppendTx(nil, &unknown))}, 404, "items[0].raw_tx: input 0 spends 0000"},
		{ScreenItem{RawTx: hex.EncodeToString(btc.AppendTx(nil, &beyond))}, 400, "which has 4"},
		{ScreenItem{RawTx: hex.EncodeToString(btc.AppendTx(nil, &coinbase))}, 400, "a coinbase spends no coins"},
		{ScreenItem{RawTx: freshHex, Chain: "eth"}, 400, "items[0].chain"},
		{ScreenItem{RawTx: freshHex, Tx: t1.String()}, 400, "give an address, a tx or a raw_tx"},
	} {
		_, err := srv.Screen([]ScreenItem{c.item})
		if StatusOf(err) != c.status || err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%+v: %d %v, want %d %q", c.item, StatusOf(err), err, c.status, c.says)
		}
	}
	if _, err := New(Config{Labels: ls}).Screen([]ScreenItem{{RawTx: freshHex}}); StatusOf(err) != 404 {
		t.Errorf("a raw_tx without a Bitcoin store: %v", err)
	}

	// By its txid, with a node to ask (NodeTx): screened as given whole,
	// from_node; one the node lacks too is the 404 it was; a node that
	// answers with another transaction is not believed.
	decoded, _ := btc.DecodeTx(btc.AppendTx(nil, &fresh))
	freshID := decoded.TxID
	node := map[btc.Hash][]byte{freshID: btc.AppendTx(nil, &fresh), {9}: btc.AppendTx(nil, &fresh)}
	withNode := New(Config{Store: s, Labels: ls, NodeTx: func(_ context.Context, id btc.Hash) ([]byte, error) {
		if b, ok := node[id]; ok {
			return b, nil
		}
		if id == (btc.Hash{8}) {
			return nil, errors.New("btc: rpc getrawtransaction: cannot reach node at 127.0.0.1:1")
		}
		return nil, &btc.RPCError{Code: -5, Message: "No such mempool or blockchain transaction"}
	}})
	whole, err := withNode.Screen([]ScreenItem{{RawTx: freshHex}, {Tx: freshID.String()}})
	if err != nil {
		t.Fatal(err)
	}
	if r := whole[1]; !r.FromNode || whole[0].FromNode || r.TxID != "" || r.Severity != whole[0].Severity || !reflect.DeepEqual(r.Direct, whole[0].Direct) || !reflect.DeepEqual(r.Indirect, whole[0].Indirect) {
		t.Errorf("by its txid from the node: %+v; given whole: %+v", r, whole[0])
	}
	if stored, err := withNode.Screen([]ScreenItem{{Tx: t1.String()}}); err != nil || stored[0].FromNode {
		t.Errorf("a stored transaction: %+v %v", stored, err)
	}
	if _, err := withNode.Screen([]ScreenItem{{Tx: btc.Hash{7}.String()}}); StatusOf(err) != 404 || FieldOf(err) != "items[0].tx" {
		t.Errorf("a transaction neither stored nor the node's: %v", err)
	}
	if _, err := withNode.Screen([]ScreenItem{{Tx: btc.Hash{9}.String()}}); StatusOf(err) != 500 || !strings.Contains(err.Error(), "the node gave transaction "+freshID.String()) {
		t.Errorf("a node answering with another transaction: %v", err)
	}
	// A node that does not answer: not a "not found".
	if _, err := withNode.Screen([]ScreenItem{{Tx: btc.Hash{8}.String()}}); StatusOf(err) != 503 || FieldOf(err) != "items[0].tx" || !strings.Contains(err.Error(), "did not answer: btc: rpc getrawtransaction: cannot reach node") {
		t.Errorf("a node that does not answer: %d %v", StatusOf(err), err)
	}
}
