package label

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestMistyped: addresses of Bitcoin's and EVM's forms whose checksum
// fails are refused; valid ones, other chains' and non-addresses pass.
func TestMistyped(t *testing.T) {
	for _, c := range []struct {
		addr string
		bad  string // a part of the error, "" for none
	}{
		// Valid (BIP173/BIP350 and EIP-55 vectors, Bitcoin Core's forms).
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", ""},
		{"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", ""},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", ""},
		{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", ""},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", ""},
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", ""},
		{"bcrt1qmx6the6qxx04z4wuxg9hkmj84st8ytemwwkryj", ""},
		{"2Mycqojb9y7cZvKfGStLsRsE5T5EGLD69W9", ""},
		{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", ""},
		{"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", ""},
		{"0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", ""},
		// Other chains and non-addresses: not ours to judge.
		{"TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE", ""},
		{"ltc1qg82sdqmqg0h8ntqj2mnx8tnnx4xhfqe9ht3rsm", ""},
		{"tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", ""},
		{"46BeWrHpwXmHDpDEUmZBWZfoQpdc6HaERCNmx1pEYL2rAcuwufPN9rXHHtyUA4QVy66qeFQkn6sfK8aHYjA3jk3o1Bv16em", ""},
		{"zz", ""},
		{"", ""},
		// One character off.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "base58 checksum"},
		{"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz", "base58 checksum"},
		{"2Mycqojb9y7cZvKfGStLsRsE5T5EGLD69W8", "base58 checksum"},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "bech32 checksum"},
		{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T5", "bech32 checksum"},
		{"bcrt1qmx6the6qxx04z4wuxg9hkmj84st8ytemwwkryq", "bech32 checksum"},
		{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "did you mean 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
		// A segwit prefix with no address after it: cut short, in mixed
		// case, or one of BIP173's and BIP350's invalid addresses whose
		// checksum holds (a program of the wrong size, bech32 for v1).
		{"bc1qxyz", "not a Bitcoin segwit address"},
		{"bc1Qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "not a Bitcoin segwit address"},
		{"BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "version 0 program of 16 bytes"},
		{"bc1pw5dgrnzv", "not a Bitcoin segwit address"},
		// Hex that no address is: a txid pasted for an address, an EVM
		// address cut short or run on. 0x and 64 digits may be an Aptos
		// or Sui address.
		{"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "a transaction hash"},
		{"F4184FC596403B9D638783CF57ADFE4C75C605F6356FBC91338530E9831E9E16", "a transaction hash"},
		{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", "0x and 39 hex digits"},
		{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0", "0x and 41 hex digits"},
		{"0x3b30220348101203bb93cd87c0b7634abf0a55a816a08bc0dd29a2bafdcce503", ""},
	} {
		err := Mistyped(c.addr)
		if c.bad == "" && err != nil || c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)) {
			t.Errorf("Mistyped(%q) = %v, want %q", c.addr, err, c.bad)
		}
	}
}

// TestMistypedInvalidAddresses: every invalid address of BIP173 and BIP350
// with a Bitcoin prefix is refused; the others' prefixes are not Bitcoin's.
func TestMistypedInvalidAddresses(t *testing.T) {
	b, err := os.ReadFile("../../testdata/btc/bip173_bip350_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Invalid []string `json:"invalid_address"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range v.Invalid {
		l := strings.ToLower(a)
		ours := strings.HasPrefix(l, "bc1") || strings.HasPrefix(l, "tb1") || strings.HasPrefix(l, "bcrt1")
		if err := Mistyped(a); ours != (err != nil) {
			t.Errorf("Mistyped(%q) = %v", a, err)
		}
		if ours {
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d invalid Bitcoin addresses in the vectors", n)
	}
}

// TestStoreMistyped: a string of a typo's form that a list gives as it is
// (OFAC lists a Monero address in 64 hex digits) is not refused; others of
// its form still are.
func TestStoreMistyped(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	listed := "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320"
	if err := s.Replace(SourceInfo{Source: "test"}, []Label{{Address: listed, Chain: "xmr", Category: "sanctioned", Label: "Test listing", Source: "test"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Mistyped(listed); err != nil {
		t.Errorf("a listed identifier refused: %v", err)
	}
	if err := s.Mistyped(strings.Repeat("ab", 32)); err == nil || !strings.Contains(err.Error(), "transaction hash") {
		t.Errorf("64 hex digits no list names: %v", err)
	}
	if err := s.Mistyped("bc1qxyz"); err == nil {
		t.Error("a segwit address cut short, not listed, passed")
	}
}
