package cluster

import (
	"github.com/spur-forensics/spur/internal/btc"
)

// TxShape is what the CoinJoin detectors look at: a transaction's inputs
// (value, address, type) and outputs (value, type), version and lock time.
type TxShape struct {
	Version  int32
	LockTime uint32
	Inputs   []Coin
	Outputs  []Coin
}

// Coin is one input (the output it spends) or output.
type Coin struct {
	Value int64
	Type  btc.ScriptType
	Addr  uint32 // address number; NoAddr without one
}

// NoAddr is the address number of a coin without an address.
const NoAddr = ^uint32(0)

// CoinJoin is a detection: the kind of CoinJoin and how sure the detector is.
type CoinJoin struct {
	Kind       string  `json:"kind"`
	Confidence float64 `json:"confidence"`
}

// CoinJoin kinds.
const (
	Whirlpool    = "whirlpool"
	WhirlpoolTx0 = "whirlpool-tx0"
	Wasabi1      = "wasabi-1"
	Wasabi2      = "wasabi-2"
	JoinMarket   = "joinmarket"
	Generic      = "generic"
)

// Whirlpool's pool denominations, in satoshi.
var whirlpoolPools = []int64{100_000, 1_000_000, 5_000_000, 50_000_000}

// DetectCoinJoin returns the CoinJoin kind of a transaction, or nil. The
// specific detectors run first; the generic rule (after BlockSci) catches
// the rest.
func DetectCoinJoin(tx *TxShape) *CoinJoin {
	if len(tx.Outputs) < 2 {
		return nil
	}
	// A Tx0 is often made from one coin.
	if c := whirlpoolTx0(tx); c != nil {
		return c
	}
	if len(tx.Inputs) < 2 {
		return nil
	}
	for _, d := range []func(*TxShape) *CoinJoin{whirlpool, wasabi2, wasabi1, joinMarket, generic} {
		if c := d(tx); c != nil {
			return c
		}
	}
	return nil
}

// mostCommon returns the most frequent output value (ignoring nulldata and
// dust) and how often it occurs; ties go to the larger value.
func mostCommon(outs []Coin) (value int64, count int) {
	n := map[int64]int{}
	for _, o := range outs {
		if o.Type == btc.NullData || o.Value < 1000 {
			continue
		}
		n[o.Value]++
	}
	for v, c := range n {
		if c > count || c == count && v > value {
			value, count = v, c
		}
	}
	return value, count
}

func distinctInputAddrs(tx *TxShape) int {
	seen := map[uint32]bool{}
	for _, in := range tx.Inputs {
		if in.Addr != NoAddr {
			seen[in.Addr] = true
		}
	}
	return len(seen)
}

// whirlpool: a Whirlpool mix has exactly five inputs and five outputs, all
// outputs of one pool denomination, each input worth at least that.
func whirlpool(tx *TxShape) *CoinJoin {
	if len(tx.Inputs) != 5 || len(tx.Outputs) != 5 {
		return nil
	}
	v := tx.Outputs[0].Value
	pool := false
	for _, p := range whirlpoolPools {
		pool = pool || v == p
	}
	if !pool {
		return nil
	}
	for _, o := range tx.Outputs {
		if o.Value != v {
			return nil
		}
	}
	for _, in := range tx.Inputs {
		if in.Value < v {
			return nil
		}
	}
	return &CoinJoin{Whirlpool, 0.99}
}

// Whirlpool's Tx0 fees per pool (the 0.5 BTC pool's was later lowered).
var whirlpoolFees = []int64{5_000, 50_000, 250_000, 2_500_000, 1_750_000}

// whirlpoolTx0: a Tx0 splits coins into premix outputs of a pool
// denomination plus a small miner-fee allowance, pays the coordinator's fee,
// and carries an OP_RETURN. Its inputs share an owner, but its premix outputs
// enter the pool: it is marked, not merged.
func whirlpoolTx0(tx *TxShape) *CoinJoin {
	hasNullData, hasFee := false, false
	for _, o := range tx.Outputs {
		hasNullData = hasNullData || o.Type == btc.NullData
		for _, f := range whirlpoolFees {
			hasFee = hasFee || o.Value == f
		}
	}
	if !hasNullData || !hasFee {
		return nil
	}
	for _, o := range tx.Outputs {
		for _, p := range whirlpoolPools {
			if o.Value > p && o.Value <= p+p/50+10_000 {
				return &CoinJoin{WhirlpoolTx0, 0.9}
			}
		}
	}
	return nil
}

// wasabi1: ZeroLink's Wasabi 1.x mixes about 0.1 BTC denominations among
// many participants (dozens of equal outputs), with segwit v0 inputs and
// outputs.
func wasabi1(tx *TxShape) *CoinJoin {
	v, n := mostCommon(tx.Outputs)
	if n < 10 || v < 9_000_000 || v > 11_000_000 || len(tx.Inputs) < n {
		return nil
	}
	for _, o := range tx.Outputs {
		if o.Type != btc.WitnessV0KeyHash {
			return nil
		}
	}
	return &CoinJoin{Wasabi1, 0.95}
}

// wasabiDenominations reports whether v is one of WabiSabi's standard
// denominations: powers of two, of three, and 1-2-5 series of powers of ten
// (and their doubles and triples), from 5,000 satoshi.
func wasabiDenomination(v int64) bool {
	if v < 5000 {
		return false
	}
	for _, base := range []int64{1, 3} {
		for d := base; d <= v; d *= 2 {
			if d == v {
				return true
			}
		}
	}
	for p := int64(1); p <= v; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if p*m == v {
				return true
			}
		}
	}
	for d := int64(1); d <= v; d *= 3 {
		if d == v || 2*d == v {
			return true
		}
	}
	return false
}

// wasabi2: WabiSabi rounds have many inputs and outputs, all P2WPKH or
// P2TR, most outputs of standard denominations.
func wasabi2(tx *TxShape) *CoinJoin {
	if len(tx.Inputs) < 30 || len(tx.Outputs) < 30 {
		return nil
	}
	std := 0
	for _, o := range tx.Outputs {
		if o.Type != btc.WitnessV0KeyHash && o.Type != btc.WitnessV1Taproot {
			return nil
		}
		if wasabiDenomination(o.Value) {
			std++
		}
	}
	for _, in := range tx.Inputs {
		if in.Type != btc.WitnessV0KeyHash && in.Type != btc.WitnessV1Taproot {
			return nil
		}
	}
	if std*10 < len(tx.Outputs)*7 {
		return nil
	}
	return &CoinJoin{Wasabi2, 0.95}
}

// joinMarket: n makers and a taker each get one output of the CoinJoin
// amount and (all but perhaps the taker) one change output; at least n
// distinct input addresses.
func joinMarket(tx *TxShape) *CoinJoin {
	v, n := mostCommon(tx.Outputs)
	if n < 3 || v < 10_000 {
		return nil
	}
	outs := len(tx.Outputs)
	if outs < 2*n-1 || outs > 2*n {
		return nil
	}
	if distinctInputAddrs(tx) < n {
		return nil
	}
	return &CoinJoin{JoinMarket, 0.8}
}

// generic follows BlockSci's CoinJoin rule: at least two inputs and three
// outputs; the participants (half the outputs, rounded up) number no more
// than the inputs and their distinct addresses; the most common output value
// occurs once per participant and is not a dust amount.
func generic(tx *TxShape) *CoinJoin {
	if len(tx.Inputs) < 2 || len(tx.Outputs) < 3 {
		return nil
	}
	participants := (len(tx.Outputs) + 1) / 2
	if participants > len(tx.Inputs) || participants > distinctInputAddrs(tx) {
		return nil
	}
	v, n := mostCommon(tx.Outputs)
	if n != participants || v == 546 || v == 2730 {
		return nil
	}
	return &CoinJoin{Generic, 0.6}
}
