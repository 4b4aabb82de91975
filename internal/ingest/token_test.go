package ingest

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// TestDecodeSymbol reads symbol()'s answers as tokens give them: an ABI
// string, and the 32 bytes of early tokens (MKR's, as its contract at
// 0x9f8F72aA9304c8B593d555F12eF6589cC3A579A2 returns it); anything else is
// no symbol.
func TestDecodeSymbol(t *testing.T) {
	abi := func(s string) []byte {
		b := make([]byte, 64+(len(s)+31)/32*32)
		b[31] = 32
		b[63] = byte(len(s))
		copy(b[64:], s)
		return b
	}
	for _, c := range []struct {
		in   []byte
		want string
		ok   bool
	}{
		{abi("USDT"), "USDT", true},
		{abi("stETH"), "stETH", true},
		{common.FromHex("0x4d4b520000000000000000000000000000000000000000000000000000000000"), "MKR", true},
		{nil, "", false},
		{make([]byte, 32), "", false},                         // all zeros
		{abi(strings.Repeat("A", 33)), "", false},             // too long for a symbol
		{abi("A\x01B"), "", false},                            // not printable
		{append(abi("USDT")[:31], 0xff), "", false},           // 32 bytes that are no text
		{append([]byte{0xff}, abi("USDT")[1:]...), "", false}, // offset past the end
	} {
		got, ok := decodeSymbol(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("decodeSymbol(%x) = %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if d, ok := decodeDecimals(common.LeftPadBytes([]byte{18}, 32)); !ok || d != 18 {
		t.Errorf("decimals 18: %d %v", d, ok)
	}
	if _, ok := decodeDecimals(common.LeftPadBytes([]byte{1, 0}, 32)); ok {
		t.Error("decimals 256 taken")
	}
}
