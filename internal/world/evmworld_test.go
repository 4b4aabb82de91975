package world

import (
	"bytes"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
)

// The EVM side read back through spur's own ethereum-etl reader: it
// ingests whole, no balance ever goes negative, and every laundering step
// of truth.json is on the chain as the kind of transaction it claims.
func TestEVMWorld(t *testing.T) {
	dir := t.TempDir()
	truth, err := Generate(dir, Options{Seed: 3, Scale: 60, Blocks: 320, Scenario: "dprk-2021"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := evm.OpenETL(filepath.Join(dir, "evm"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if len(src.Tokens) != 6 {
		t.Fatalf("%d tokens in tokens.csv", len(src.Tokens))
	}
	s, err := evmstore.Open(filepath.Join(t.TempDir(), "eth"), "eth")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type key struct {
		addr, asset common.Address
	}
	bal := map[key]*big.Int{}
	move := func(k key, v *big.Int) {
		if bal[k] == nil {
			bal[k] = new(big.Int)
		}
		bal[k].Add(bal[k], v)
	}
	kinds := map[evm.Kind]int{}
	for {
		b, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range b.Transfers() {
			kinds[x.Kind]++
			if x.Kind == evm.KindNFT {
				t.Fatal("an NFT in a world without them")
			}
			v := x.Amount.ToBig()
			if !x.Kind.FromNowhere() && x.From != (common.Address{}) { // the zero address mints
				k := key{x.From, x.Asset}
				move(k, new(big.Int).Neg(v))
				if bal[k].Sign() < 0 {
					t.Fatalf("block %d: %s goes below zero in %s (%s)", b.Number, x.From.Hex(), x.Asset.Hex(), x.Kind)
				}
			}
			if x.Kind != evm.KindBurn {
				move(key{x.To, x.Asset}, v)
			}
		}
		if err := s.AppendBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []evm.Kind{evm.KindGenesis, evm.KindCall, evm.KindInternal, evm.KindToken, evm.KindFee, evm.KindBurn, evm.KindReward} {
		if kinds[k] == 0 {
			t.Errorf("no %s transfers", k)
		}
	}

	// Every EVM step is on the chain, as what it claims to be.
	events := map[uint32][]evmstore.EventRow{}
	for n := uint64(0); n < s.NumEvents(); n++ {
		e := s.Event(n)
		events[e.Tx] = append(events[e.Tx], e)
	}
	steps := 0
	for _, inc := range truth.Incidents {
		if inc.EVM == nil || len(inc.EVM.TheftTxs) == 0 {
			t.Fatalf("%s has no EVM theft", inc.ID)
		}
		for _, st := range inc.Steps {
			if st.Chain != "eth" {
				continue
			}
			steps++
			n, err := s.TxNum(common.HexToHash(st.Tx))
			if err != nil {
				t.Fatalf("%s step %s: %v", inc.ID, st.Kind, err)
			}
			want := map[string]evm.EventKind{"swap": evm.EventSwap, "mix-in": evm.EventMixDeposit, "mix-out": evm.EventMixWithdrawal}[st.Kind]
			if want == 0 {
				continue
			}
			found := false
			for _, e := range events[n] {
				if e.Kind == want {
					found = true
					if want == evm.EventMixWithdrawal && s.Address(e.Actor).Hex() != st.To {
						t.Errorf("%s: withdrawal to %s, truth says %s", st.Tx, s.Address(e.Actor).Hex(), st.To)
					}
					if want != evm.EventMixWithdrawal && e.In == evmstore.NoTransfer {
						t.Errorf("%s: %s without its input transfer", st.Tx, st.Kind)
					}
				}
			}
			if !found {
				t.Errorf("%s step %s %s: no %s event", inc.ID, st.Kind, st.Tx, want)
			}
		}
	}
	if steps < 100 {
		t.Fatalf("only %d EVM steps", steps)
	}
	// Every ETH payment into the swap service is paid out in BTC on the
	// Bitcoin side, linked to it.
	for _, inc := range truth.Incidents {
		in, out := map[string]bool{}, 0
		for _, st := range inc.Steps {
			if st.Chain == "eth" && st.Kind == "bridge" {
				in[st.Tx] = true
			}
		}
		for _, st := range inc.Steps {
			if st.Kind == "bridge-out" {
				out++
				if st.Chain != "btc" || !in[st.Link] || st.Amount <= 0 {
					t.Errorf("%s: bridge-out %s links %q", inc.ID, st.Tx, st.Link)
				}
			}
		}
		if out != len(in) || out == 0 {
			t.Errorf("%s: %d bridge deposits, %d payouts", inc.ID, len(in), out)
		}
	}
}

// Same seed, same bytes.
func TestEVMWorldDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if _, err := Generate(d, Options{Seed: 9, Scale: 30, Blocks: 300, Scenario: "dprk-2021"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"blocks.csv", "transactions.csv", "logs.csv", "token_transfers.csv", "traces.csv", "tokens.csv"} {
		x, _ := os.ReadFile(filepath.Join(a, "evm", f))
		y, _ := os.ReadFile(filepath.Join(b, "evm", f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Fatalf("%s differs between two runs of the same seed", f)
		}
	}
}
