package btc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
)

// Address is what an output pays to, in the form the store keeps: the
// script type and the payload that, with the network, gives the printed
// address. A `pubkey` output's address is the P2PKH address of its key (the
// form block explorers show), so its Address has type PubKeyHash.
type Address struct {
	Type    ScriptType
	Payload []byte // hash or witness program; for WitnessUnknown the version byte first
}

// ErrNoAddress is returned for scripts that have no address (multisig,
// nulldata, nonstandard).
var ErrNoAddress = errors.New("btc: script has no address")

// ScriptAddress returns the type of an output script and the address it pays
// to. ok is false for scripts without an address. The payload aliases s except
// for `pubkey` scripts, whose key is hashed into a new slice.
func ScriptAddress(s []byte) (t ScriptType, a Address, ok bool) {
	t = Classify(s)
	switch t {
	case PubKeyHash:
		return t, Address{PubKeyHash, s[3:23]}, true
	case ScriptHash:
		return t, Address{ScriptHash, s[2:22]}, true
	case PubKey:
		h := Hash160(s[1 : len(s)-1])
		return t, Address{PubKeyHash, h[:]}, true
	case WitnessV0KeyHash, WitnessV0ScriptHash, WitnessV1Taproot:
		return t, Address{t, s[2:]}, true
	case Anchor:
		return t, Address{Anchor, nil}, true
	case WitnessUnknown:
		p := make([]byte, 0, len(s)-1)
		p = append(p, s[0]-op1+1)
		p = append(p, s[2:]...)
		return t, Address{WitnessUnknown, p}, true
	}
	return t, Address{}, false
}

// String prints the address as Bitcoin Core does on the network.
func (a Address) String(net *Network) string {
	switch a.Type {
	case PubKeyHash:
		return base58.CheckEncode(a.Payload, net.PubKeyHash)
	case ScriptHash:
		return base58.CheckEncode(a.Payload, net.ScriptHash)
	case WitnessV0KeyHash, WitnessV0ScriptHash:
		return segwitAddress(net.Bech32HRP, 0, a.Payload)
	case WitnessV1Taproot:
		return segwitAddress(net.Bech32HRP, 1, a.Payload)
	case Anchor:
		return segwitAddress(net.Bech32HRP, 1, []byte{0x4e, 0x73})
	case WitnessUnknown:
		if len(a.Payload) > 0 {
			return segwitAddress(net.Bech32HRP, int(a.Payload[0]), a.Payload[1:])
		}
	}
	return ""
}

func segwitAddress(hrp string, version int, program []byte) string {
	data, err := bech32.ConvertBits(program, 8, 5, true)
	if err != nil {
		panic("BUG: bech32 conversion of whole bytes failed: " + err.Error())
	}
	data = append([]byte{byte(version)}, data...)
	var s string
	if version == 0 {
		s, err = bech32.Encode(hrp, data)
	} else {
		s, err = bech32.EncodeM(hrp, data)
	}
	if err != nil {
		panic("BUG: bech32 encoding failed: " + err.Error())
	}
	return s
}

// segwitPrefixes are the starts of every network's segwit addresses.
var segwitPrefixes = func() []string {
	var out []string
	for _, n := range networks {
		out = append(out, n.Bech32HRP+"1")
	}
	return out
}()

// ParseAddress parses an address of the network into its type and payload.
// It accepts what Bitcoin Core accepts: base58check P2PKH and P2SH, and
// segwit addresses with bech32 (version 0) or bech32m (versions 1-16)
// checksums, in one case; spaces around it are ignored. A segwit address of
// another network is refused as such. A public key in hex (as a `pubkey`
// output holds it: 33 or 65 bytes) is the P2PKH address its outputs are
// indexed under.
func ParseAddress(s string, net *Network) (Address, error) {
	s = strings.TrimSpace(s) // as pasted from a sheet or a mail
	if len(s) == 66 || len(s) == 130 {
		if key, err := hex.DecodeString(s); err == nil {
			script := append(append([]byte{byte(len(key))}, key...), opCheckSig)
			if t, a, _ := ScriptAddress(script); t == PubKey {
				return a, nil
			}
		}
	}
	lower := strings.ToLower(s)
	for _, p := range segwitPrefixes {
		// Any network's: another's is named as such by parseSegwit.
		if strings.HasPrefix(lower, p) {
			return parseSegwit(s, net)
		}
	}
	payload, version, err := base58.CheckDecode(s)
	if err != nil {
		return Address{}, fmt.Errorf("btc: address %q: %v", s, err)
	}
	if len(payload) != 20 {
		return Address{}, fmt.Errorf("btc: address %q: payload of %d bytes, want 20", s, len(payload))
	}
	switch version {
	case net.PubKeyHash:
		return Address{PubKeyHash, payload}, nil
	case net.ScriptHash:
		return Address{ScriptHash, payload}, nil
	}
	return Address{}, fmt.Errorf("btc: address %q: version byte 0x%02x is not an address of network %s", s, version, net.Name)
}

func parseSegwit(s string, net *Network) (Address, error) {
	hrp, data, enc, err := bech32.DecodeGeneric(s)
	if err != nil {
		return Address{}, fmt.Errorf("btc: address %q: %v", s, err)
	}
	if hrp != net.Bech32HRP {
		return Address{}, fmt.Errorf("btc: address %q: prefix %q is not network %s's %q", s, hrp, net.Name, net.Bech32HRP)
	}
	if len(data) < 1 {
		return Address{}, fmt.Errorf("btc: address %q: no witness version", s)
	}
	version := int(data[0])
	if version > 16 {
		return Address{}, fmt.Errorf("btc: address %q: witness version %d", s, version)
	}
	if version == 0 && enc != bech32.Version0 || version != 0 && enc != bech32.VersionM {
		return Address{}, fmt.Errorf("btc: address %q: wrong checksum kind for witness version %d", s, version)
	}
	prog, err := bech32.ConvertBits(data[1:], 5, 8, false)
	if err != nil {
		return Address{}, fmt.Errorf("btc: address %q: %v", s, err)
	}
	if len(prog) < 2 || len(prog) > 40 {
		return Address{}, fmt.Errorf("btc: address %q: witness program of %d bytes", s, len(prog))
	}
	switch {
	case version == 0 && len(prog) == 20:
		return Address{WitnessV0KeyHash, prog}, nil
	case version == 0 && len(prog) == 32:
		return Address{WitnessV0ScriptHash, prog}, nil
	case version == 0:
		return Address{}, fmt.Errorf("btc: address %q: version 0 program of %d bytes", s, len(prog))
	case version == 1 && len(prog) == 32:
		return Address{WitnessV1Taproot, prog}, nil
	case version == 1 && len(prog) == 2 && prog[0] == 0x4e && prog[1] == 0x73:
		return Address{Anchor, nil}, nil
	}
	return Address{WitnessUnknown, append([]byte{byte(version)}, prog...)}, nil
}

// Script returns the output script that pays to the address. For an
// address of type PubKeyHash it is the P2PKH script.
func (a Address) Script() []byte {
	switch a.Type {
	case PubKeyHash:
		s := append([]byte{opDup, opHash160, 20}, a.Payload...)
		return append(s, opEqualVerify, opCheckSig)
	case ScriptHash:
		s := append([]byte{opHash160, 20}, a.Payload...)
		return append(s, opEqual)
	case WitnessV0KeyHash, WitnessV0ScriptHash:
		return append([]byte{op0, byte(len(a.Payload))}, a.Payload...)
	case WitnessV1Taproot:
		return append([]byte{op1, byte(len(a.Payload))}, a.Payload...)
	case Anchor:
		return []byte{op1, 2, 0x4e, 0x73}
	case WitnessUnknown:
		if len(a.Payload) > 1 {
			return append([]byte{op1 + a.Payload[0] - 1, byte(len(a.Payload) - 1)}, a.Payload[1:]...)
		}
	}
	return nil
}
