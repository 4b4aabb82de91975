package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
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

// TestTokenAskerWithoutState: a node without the state of the block that
// first moves a token (not an archive node) is asked at its head instead;
// a contract that answers neither is left without, and asked once. A
// block's tokens are asked in one request, and those without state in one
// more.
func TestTokenAskerWithoutState(t *testing.T) {
	tok, other := common.Address{0x70, 0x4e}, common.Address{0x0b}
	calls := map[string]int{}
	requests := 0
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		var reqs []struct {
			ID     int               `json:"id"`
			Params []json.RawMessage `json:"params"`
		}
		json.NewDecoder(r.Body).Decode(&reqs)
		var out []map[string]any
		for _, q := range reqs {
			var call struct {
				To   common.Address `json:"to"`
				Data hexutil.Bytes  `json:"data"`
			}
			var at string
			json.Unmarshal(q.Params[0], &call)
			json.Unmarshal(q.Params[1], &at)
			calls[call.To.Hex()+" "+at]++
			switch {
			case call.To != tok:
				out = append(out, map[string]any{"jsonrpc": "2.0", "id": q.ID, "error": map[string]any{"code": -32000, "message": "execution reverted"}})
			case at != "latest":
				out = append(out, map[string]any{"jsonrpc": "2.0", "id": q.ID, "error": map[string]any{"code": -32000, "message": "missing trie node 1f2e (path ) state 0x1f2e is not available"}})
			case bytes.Equal(call.Data, selSymbol):
				b := make([]byte, 96)
				b[31], b[63] = 32, 3
				copy(b[64:], "OLD")
				out = append(out, map[string]any{"jsonrpc": "2.0", "id": q.ID, "result": hexutil.Bytes(b)})
			default:
				out = append(out, map[string]any{"jsonrpc": "2.0", "id": q.ID, "result": hexutil.Bytes(common.LeftPadBytes([]byte{8}, 32))})
			}
		}
		json.NewEncoder(w).Encode(out)
	}))
	defer node.Close()
	s, err := evmstore.Open(filepath.Join(t.TempDir(), "dev"), "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	transfer := func(token common.Address) evm.Log {
		return evm.Log{Address: token, Topics: []common.Hash{evm.TopicTransfer, common.BytesToHash(other[:]), common.BytesToHash(tok[:])},
			Data: common.LeftPadBytes([]byte{1}, 32)}
	}
	b := &evm.Block{Number: 5, Logs: []evm.Log{transfer(tok), transfer(other), transfer(tok)}}
	a := tokenAsker{node: &evm.RPC{URL: node.URL}, asked: map[common.Address]bool{}, log: slog.New(slog.DiscardHandler)}
	for range 2 {
		if err := a.ask(context.Background(), s, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	n, err := s.AddrNum(tok)
	if err != nil {
		t.Fatal(err)
	}
	if sym, dec, ok := s.Token(n); !ok || sym != "OLD" || dec != 8 {
		t.Errorf("the token asked at the head: %q %d %v", sym, dec, ok)
	}
	if m, err := s.AddrNum(other); err == nil {
		if _, _, ok := s.Token(m); ok {
			t.Error("a contract that answers neither has a token record")
		}
	}
	if calls[tok.Hex()+" 0x5"] != 2 || calls[tok.Hex()+" latest"] != 2 || calls[other.Hex()+" 0x5"] != 2 || len(calls) != 3 || requests != 2 {
		t.Errorf("calls: %v in %d requests", calls, requests)
	}
}
