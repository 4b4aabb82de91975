package btc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
)

type bech32Vectors struct {
	ValidAddress []struct {
		Address      string `json:"address"`
		ScriptPubKey string `json:"scriptpubkey"`
	} `json:"valid_address"`
	InvalidAddress []string `json:"invalid_address"`
}

// TestBIP173BIP350Vectors checks segwit address parsing and printing against
// the BIP173/BIP350 reference vectors.
func TestBIP173BIP350Vectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testdata, "bip173_bip350_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v bech32Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	nets := []*Network{networks["main"], networks["test"], networks["regtest"]}
	netFor := func(addr string) *Network {
		for _, n := range nets {
			if strings.HasPrefix(strings.ToLower(addr), n.Bech32HRP+"1") {
				return n
			}
		}
		return nil
	}
	if len(v.ValidAddress) == 0 || len(v.InvalidAddress) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range v.ValidAddress {
		net := netFor(c.Address)
		if net == nil {
			t.Fatalf("no network for %s", c.Address)
		}
		a, err := ParseAddress(c.Address, net)
		if err != nil {
			t.Fatalf("%s: %v", c.Address, err)
		}
		script, _ := hex.DecodeString(c.ScriptPubKey)
		if !bytes.Equal(a.Script(), script) {
			t.Fatalf("%s: script %x, want %s", c.Address, a.Script(), c.ScriptPubKey)
		}
		typ, a2, ok := ScriptAddress(script)
		if !ok {
			t.Fatalf("%s: script %x has no address (type %s)", c.Address, script, typ)
		}
		if got := a2.String(net); got != strings.ToLower(c.Address) {
			t.Fatalf("printed %s, want %s", got, strings.ToLower(c.Address))
		}
	}
	for _, s := range v.InvalidAddress {
		for _, n := range nets {
			if a, err := ParseAddress(s, n); err == nil {
				t.Fatalf("%s accepted on %s as %v", s, n.Name, a)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		script string
		typ    ScriptType
		addr   string
	}{
		{"76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac", PubKeyHash, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},
		{"a914748284390f9e263a4b766a75d0633c50426eb87587", ScriptHash, "3CK4fEwbMP7heJarmU4eqA3sMbVJyEnU3V"},
		{"4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac", PubKey, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},
		{"0014751e76e8199196d454941c45d1b3a323f1433bd6", WitnessV0KeyHash, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		{"51024e73", Anchor, "bc1pfeessrawgf"},
		{"6a0b68656c6c6f20776f726c64", NullData, ""},
		{"6a", NullData, ""},
		{"6aff", NonStandard, ""},
		{"5121" + "02" + strings.Repeat("11", 32) + "21" + "03" + strings.Repeat("22", 32) + "52ae", Multisig, ""},
		{"5121" + "02" + strings.Repeat("11", 32) + "21" + "03" + strings.Repeat("22", 32) + "51ae", NonStandard, ""},
		{"5321" + "02" + strings.Repeat("11", 32) + "21" + "03" + strings.Repeat("22", 32) + "52ae", NonStandard, ""},
		{"5121" + "05" + strings.Repeat("11", 32) + "51ae", NonStandard, ""},
		{"5221" + "02" + strings.Repeat("11", 32) + "21" + "03" + strings.Repeat("22", 32) + "52ae", Multisig, ""},
		// A hybrid key (header 6 or 7, 65 bytes: CPubKey::ValidSize takes
		// it) is a pubkey output; its P2PKH address hashes it as it is
		// (btcutil's Hash160 and base58check). A header 5 is none.
		{"41" + "06" + strings.Repeat("11", 64) + "ac", PubKey, "1JaeyCz1CrnrjCpibAwZAL6F9Bv4BnGvkF"},
		{"41" + "07" + strings.Repeat("22", 64) + "ac", PubKey, "1QJpuPwkm8XAvbamsPhW5PWA1ULAqeuWGd"},
		{"41" + "05" + strings.Repeat("11", 64) + "ac", NonStandard, ""},
		// Multisig counts as Core's GetScriptNumber reads them: OP_N, or a
		// minimal push of a minimal number; 1 pushed as data is neither.
		{"0101" + "21" + "02" + strings.Repeat("11", 32) + "51ae", NonStandard, ""},
		// A witness program is 2 to 40 bytes (BIP141); Core's
		// IsWitnessProgram takes scripts of 4 to 42.
		{"510101", NonStandard, ""},
		{"5128" + strings.Repeat("00", 40), WitnessUnknown, "bc1pqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq2f6xj9"},
		{"5129" + strings.Repeat("00", 41), NonStandard, ""},
		{"0010" + strings.Repeat("00", 16), NonStandard, ""},
		{"5210" + strings.Repeat("00", 16), WitnessUnknown, "bc1zqqqqqqqqqqqqqqqqqqqqqqqqqqr3t3q4"},
		{"", NonStandard, ""},
	}
	for _, c := range cases {
		s, _ := hex.DecodeString(c.script)
		typ, a, ok := ScriptAddress(s)
		if typ != c.typ {
			t.Errorf("%s: type %s, want %s", c.script, typ, c.typ)
			continue
		}
		if ok != (c.addr != "") {
			t.Errorf("%s: has address %v", c.script, ok)
			continue
		}
		if !ok {
			continue
		}
		// (The witness_unknown addresses are btcd's bech32.EncodeM's.)
		if a.String(Main) != c.addr {
			t.Errorf("%s: address %s, want %s", c.script, a.String(Main), c.addr)
		}
		if c.typ == WitnessUnknown {
			back, err := ParseAddress(a.String(Main), Main)
			if err != nil || !bytes.Equal(back.Script(), s) {
				t.Errorf("%s: %s does not parse back: %v", c.script, a.String(Main), err)
			}
		}
	}
}

// TestParseAddressAsPasted: spaces around an address are ignored, and a
// segwit address of another network is named as such rather than read as
// base58.
func TestParseAddressAsPasted(t *testing.T) {
	for _, s := range []string{" 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\t\n", "  bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 "} {
		a, err := ParseAddress(s, Main)
		if err != nil || a.String(Main) != strings.TrimSpace(s) {
			t.Errorf("%q: %v, %v", s, a, err)
		}
	}
	regtest, _ := LookupNetwork("regtest")
	for _, c := range []struct {
		addr string
		net  *Network
		want string
	}{
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", Main, `prefix "tb" is not network main's "bc"`},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", regtest, `prefix "bc" is not network regtest's "bcrt"`},
	} {
		if _, err := ParseAddress(c.addr, c.net); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s on %s: %v, want %q", c.addr, c.net.Name, err, c.want)
		}
	}
}

// TestParsePubKey: a public key in hex, as a `pubkey` output holds it, is
// the P2PKH address of that encoding (compressed and uncompressed keys have
// different ones), as btcutil derives it; other 33- and 65-byte strings are
// not keys.
func TestParsePubKey(t *testing.T) {
	for _, k := range []string{
		"0411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3", // block 9's
		"0211db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5c",                                                                 // a compressed key, the same x
	} {
		b, _ := hex.DecodeString(k)
		pk, err := btcutil.NewAddressPubKey(b, &chaincfg.MainNetParams)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseAddress(k, Main)
		if err != nil || a.Type != PubKeyHash || a.String(Main) != pk.AddressPubKeyHash().EncodeAddress() {
			t.Errorf("%s: %v %v, btcutil %s", k, a, err, pk.AddressPubKeyHash().EncodeAddress())
		}
	}
	if a, _ := ParseAddress("0411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3", Main); a.String(Main) != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" {
		t.Errorf("block 9's key: %s", a.String(Main))
	}
	for _, s := range []string{
		"0511db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5c", // no key starts 05
		"0211db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3",
	} {
		if _, err := ParseAddress(s, Main); err == nil {
			t.Errorf("%s taken for a key", s)
		}
	}
}
