package cluster

import (
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
)

func coins(t btc.ScriptType, addr0 uint32, values ...int64) []Coin {
	out := make([]Coin, len(values))
	for i, v := range values {
		out[i] = Coin{Value: v, Type: t, Addr: addr0 + uint32(i)}
	}
	return out
}

func repeat(v int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Shapes of real CoinJoins as public descriptions and block explorers show
// them, and of ordinary payments that must not be taken for one.
func TestDetectCoinJoin(t *testing.T) {
	wpkh, tr, pkh := btc.WitnessV0KeyHash, btc.WitnessV1Taproot, btc.PubKeyHash
	wasabi2Outs := []int64{}
	for _, v := range []int64{5000, 6561, 8192, 10000, 13122, 16384, 20000, 32768, 50000, 59049, 65536, 100000, 131072, 177147, 200000, 262144, 500000, 524288, 1000000, 1048576} {
		wasabi2Outs = append(wasabi2Outs, v, v)
	}
	jmOuts := append(repeat(25_000_000, 4), 1_234_567, 7_654_321, 3_333_333)
	cases := []struct {
		name string
		tx   TxShape
		want string
	}{
		{"whirlpool 0.01 pool", TxShape{Inputs: coins(wpkh, 1, 1_000_170, 1_000_000, 1_000_000, 1_000_000, 1_000_170), Outputs: coins(wpkh, 100, repeat(1_000_000, 5)...)}, Whirlpool},
		{"whirlpool tx0", TxShape{Inputs: coins(wpkh, 1, 30_000_000, 2_500_000),
			Outputs: append(append(coins(wpkh, 100, repeat(5_000_170, 6)...), Coin{Value: 0, Type: btc.NullData, Addr: NoAddr}), coins(wpkh, 200, 250_000, 1_248_980)...)}, WhirlpoolTx0},
		{"whirlpool tx0 from one coin, one premix", TxShape{Inputs: coins(wpkh, 1, 3_000_000),
			Outputs: append(append(coins(wpkh, 100, 1_000_170), Coin{Value: 0, Type: btc.NullData, Addr: NoAddr}), coins(wpkh, 200, 50_000, 1_948_000)...)}, WhirlpoolTx0},
		{"payment with an OP_RETURN", TxShape{Inputs: coins(wpkh, 1, 3_000_000),
			Outputs: append(coins(wpkh, 100, 1_000_170), Coin{Value: 0, Type: btc.NullData, Addr: NoAddr}, Coin{Value: 1_990_000, Type: wpkh, Addr: 300})}, ""},
		{"wasabi 1.0", TxShape{Inputs: coins(wpkh, 1, repeat(11_000_000, 60)...), Outputs: coins(wpkh, 100, append(repeat(10_030_000, 50), 20_060_000, 312_345, 401_234)...)}, Wasabi1},
		{"wasabi 2.0", TxShape{Inputs: coins(tr, 1, repeat(1_500_000, 40)...), Outputs: coins(wpkh, 100, wasabi2Outs...)}, Wasabi2},
		{"joinmarket", TxShape{Inputs: coins(wpkh, 1, 30_000_000, 40_000_000, 26_000_000, 29_000_000), Outputs: coins(wpkh, 100, jmOuts...)}, JoinMarket},
		{"joinmarket, three parties and a taker without change", TxShape{Inputs: coins(pkh, 1, 5_000_000, 5_000_000, 5_000_000), Outputs: coins(pkh, 100, 1_000_000, 1_000_000, 1_000_000, 3_999_000, 3_999_500)}, JoinMarket},
		{"generic two-party", TxShape{Inputs: coins(pkh, 1, 5_000_000, 4_000_000), Outputs: coins(pkh, 100, 2_000_000, 2_000_000, 4_990_000)}, Generic},
		{"payment with change", TxShape{Inputs: coins(wpkh, 1, 5_000_000, 3_000_000), Outputs: coins(wpkh, 100, 7_000_000, 998_000)}, ""},
		{"consolidation", TxShape{Inputs: coins(wpkh, 1, repeat(100_000, 30)...), Outputs: coins(wpkh, 100, 2_990_000)}, ""},
		{"exchange batch payout", TxShape{Inputs: coins(wpkh, 1, 90_000_000, 80_000_000), Outputs: coins(pkh, 100, 1_000_000, 2_500_000, 350_000, 12_000_000, 4_200_000, 150_000_000)}, ""},
		{"one owner paying two equal amounts", TxShape{Inputs: []Coin{{10_000_000, wpkh, 7}, {10_000_000, wpkh, 7}}, Outputs: coins(wpkh, 100, 5_000_000, 5_000_000, 9_990_000)}, ""},
		{"dust-equal outputs", TxShape{Inputs: coins(pkh, 1, 5000, 5000), Outputs: coins(pkh, 100, 546, 546, 8000)}, ""},
	}
	for _, c := range cases {
		got := DetectCoinJoin(&c.tx)
		kind := ""
		if got != nil {
			kind = got.Kind
		}
		if kind != c.want {
			t.Errorf("%s: detected %q, want %q", c.name, kind, c.want)
		}
	}
}

// TestCoinJoinBounds: each detector at the edge of what it takes: a Tx0's
// premix a satoshi above its pool's denomination up to 2% and 10,000
// satoshi above it; Wasabi 1's ten equal outputs of about 0.1 BTC, with as
// many inputs; WabiSabi's thirty inputs and thirty outputs.
func TestCoinJoinBounds(t *testing.T) {
	wpkh, tr := btc.WitnessV0KeyHash, btc.WitnessV1Taproot
	tx0 := func(premix int64) TxShape {
		return TxShape{Inputs: coins(wpkh, 1, 3_000_000),
			Outputs: append(append(coins(wpkh, 100, premix), Coin{Value: 0, Type: btc.NullData, Addr: NoAddr}), coins(wpkh, 200, 50_000, 900_000)...)}
	}
	wasabi1 := func(ins, equal int) TxShape {
		return TxShape{Inputs: coins(wpkh, 1, repeat(11_000_000, ins)...), Outputs: coins(wpkh, 100, append(repeat(10_000_000, equal), 312_345)...)}
	}
	var denoms []int64
	for _, v := range []int64{5000, 6561, 8192, 10000, 13122, 16384, 20000, 32768, 50000, 59049, 65536, 100000, 131072, 177147, 200000} {
		denoms = append(denoms, v, v)
	}
	wasabi2 := func(ins, outs int) TxShape {
		return TxShape{Inputs: coins(tr, 1, repeat(1_500_000, ins)...), Outputs: coins(wpkh, 100, denoms[:outs]...)}
	}
	for _, c := range []struct {
		name string
		tx   TxShape
		want string
	}{
		{"tx0 premix at the denomination", tx0(1_000_000), ""},
		{"tx0 premix a satoshi above it", tx0(1_000_001), WhirlpoolTx0},
		{"tx0 premix at the most above it", tx0(1_000_000 + 20_000 + 10_000), WhirlpoolTx0},
		{"tx0 premix a satoshi more", tx0(1_000_000 + 20_000 + 10_001), ""},
		{"wasabi 1, ten equal outputs", wasabi1(10, 10), Wasabi1},
		{"wasabi 1, nine", wasabi1(12, 9), ""},
		{"wasabi 1, fewer inputs than equal outputs", wasabi1(9, 10), ""},
		{"wabisabi, thirty and thirty", wasabi2(30, 30), Wasabi2},
		{"wabisabi, twenty-nine inputs", wasabi2(29, 30), ""},
		{"wabisabi, twenty-nine outputs", wasabi2(30, 29), ""},
	} {
		got := DetectCoinJoin(&c.tx)
		kind := ""
		if got != nil {
			kind = got.Kind
		}
		if kind != c.want && !(c.want == "" && kind == Generic) {
			t.Errorf("%s: %q, want %q", c.name, kind, c.want)
		}
	}
}
