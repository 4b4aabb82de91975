package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// coreTx is a transaction as Bitcoin Core's getblock (verbosity 2) and
// getrawtransaction (verbose) give it.
type coreTx struct {
	TxID     string `json:"txid"`
	Hash     string `json:"hash"`
	Version  int32  `json:"version"`
	Size     int    `json:"size"`
	VSize    int    `json:"vsize"`
	LockTime uint32 `json:"locktime"`
	Hex      string `json:"hex"`
	Vin      []struct {
		Coinbase string `json:"coinbase"`
		TxID     string `json:"txid"`
		Vout     uint32 `json:"vout"`
	} `json:"vin"`
	Vout []struct {
		Value        json.Number `json:"value"`
		N            uint32      `json:"n"`
		ScriptPubKey struct {
			Hex       string   `json:"hex"`
			Type      string   `json:"type"`
			Addresses []string `json:"addresses"`
		} `json:"scriptPubKey"`
	} `json:"vout"`
}

// coreBlock is a block as getblock (verbosity 2) gives it.
type coreBlock struct {
	Hash       string      `json:"hash"`
	Height     int64       `json:"height"`
	Version    int32       `json:"version"`
	Prev       string      `json:"previousblockhash"`
	MerkleRoot string      `json:"merkleroot"`
	Time       uint32      `json:"time"`
	Bits       string      `json:"bits"`
	Nonce      uint32      `json:"nonce"`
	Size       int         `json:"size"`
	NTx        int         `json:"nTx"`
	Tx         []coreTx    `json:"tx"`
	Weight     json.Number `json:"weight"`
}

// satoshi reads a BTC amount as Core prints it, exactly.
func satoshi(t *testing.T, v json.Number) int64 {
	t.Helper()
	r, ok := new(big.Rat).SetString(string(v))
	if !ok {
		t.Fatalf("amount %q", v)
	}
	r.Mul(r, big.NewRat(100_000_000, 1))
	if !r.IsInt() {
		t.Fatalf("amount %q is not whole satoshi", v)
	}
	return r.Num().Int64()
}

// sameAsCore compares spur decode's JSON of a transaction with Core's.
func sameAsCore(t *testing.T, got map[string]any, want coreTx) {
	t.Helper()
	num := func(k string) int64 { f, _ := got[k].(float64); return int64(f) }
	if got["txid"] != want.TxID || got["hash"] != want.Hash || num("version") != int64(want.Version) || num("size") != int64(want.Size) ||
		num("vsize") != int64(want.VSize) || num("locktime") != int64(want.LockTime) {
		t.Fatalf("tx %s: spur %v", want.TxID, got)
	}
	ins, _ := got["inputs"].([]any)
	if len(ins) != len(want.Vin) {
		t.Fatalf("tx %s: %d inputs, Core %d", want.TxID, len(ins), len(want.Vin))
	}
	for i, w := range want.Vin {
		in := ins[i].(map[string]any)
		prev, vout := w.TxID, float64(w.Vout)
		if w.Coinbase != "" {
			prev, vout = strings.Repeat("0", 64), 0xffffffff
		}
		if in["prev_txid"] != prev || in["prev_vout"] != vout || (in["coinbase"] == true) != (w.Coinbase != "") {
			t.Fatalf("tx %s input %d: spur %v, Core %+v", want.TxID, i, in, w)
		}
	}
	outs, _ := got["outputs"].([]any)
	if len(outs) != len(want.Vout) {
		t.Fatalf("tx %s: %d outputs, Core %d", want.TxID, len(outs), len(want.Vout))
	}
	for i, w := range want.Vout {
		o := outs[i].(map[string]any)
		addr := ""
		if len(w.ScriptPubKey.Addresses) == 1 {
			addr = w.ScriptPubKey.Addresses[0]
		}
		gotAddr, _ := o["address"].(string)
		if o["n"] != float64(w.N) || int64(o["value"].(float64)) != satoshi(t, w.Value) || o["type"] != w.ScriptPubKey.Type ||
			o["script_hex"] != w.ScriptPubKey.Hex || gotAddr != addr {
			t.Fatalf("tx %s output %d: spur %v, Core %+v", want.TxID, i, o, w)
		}
	}
}

// TestDecodeAgainstBitcoinCore: spur decode gives what Bitcoin Core's own
// RPC gave for mainnet blocks 0, 1 and 50000..50002 and three
// transactions (recorded answers, testdata/btc/bitcoin-core-rpc): each
// transaction's txid, wtxid, sizes, inputs, and outputs with their values,
// types, scripts and addresses; each block, rebuilt from Core's header
// fields and transactions, with Core's hash, size and merkle root. (These
// blocks are older than segwit: block 702861's witnesses are checked
// against btcd.)
func TestDecodeAgainstBitcoinCore(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "btc", "bitcoin-core-rpc")
	files, err := filepath.Glob(filepath.Join(dir, "rpc_response_*.json"))
	if err != nil || len(files) != 8 {
		t.Fatalf("%d recorded answers (%v)", len(files), err)
	}
	read := func(path string, v any) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	decode := func(args ...string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(mustRun(t, append([]string{"decode"}, args...)...)), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	txs, blocks := 0, 0
	for _, f := range files {
		if strings.Contains(f, "getrawtransaction") {
			var tx coreTx
			read(f, &tx)
			sameAsCore(t, decode("tx", tx.Hex, "--json"), tx)
			txs++
			continue
		}
		var b coreBlock
		read(f, &b)
		// The block's bytes: the header from Core's fields, the
		// transaction count, the transactions.
		raw := binary.LittleEndian.AppendUint32(nil, uint32(b.Version))
		for _, h := range []string{b.Prev, b.MerkleRoot} {
			var hash chainhash.Hash
			if h != "" { // the genesis block has no previousblockhash
				if err := chainhash.Decode(&hash, h); err != nil {
					t.Fatal(err)
				}
			}
			raw = append(raw, hash[:]...)
		}
		bits, err := hex.DecodeString(b.Bits)
		if err != nil || len(bits) != 4 {
			t.Fatalf("bits %q", b.Bits)
		}
		raw = binary.LittleEndian.AppendUint32(raw, b.Time)
		raw = binary.LittleEndian.AppendUint32(raw, binary.BigEndian.Uint32(bits))
		raw = binary.LittleEndian.AppendUint32(raw, b.Nonce)
		raw = append(raw, byte(len(b.Tx))) // under 253: one byte
		for _, tx := range b.Tx {
			h, err := hex.DecodeString(tx.Hex)
			if err != nil {
				t.Fatal(err)
			}
			raw = append(raw, h...)
		}
		got := decode("block", hex.EncodeToString(raw), "--json")
		if got["hash"] != b.Hash || got["merkleroot"] != b.MerkleRoot || got["bits"] != b.Bits || got["size"] != float64(b.Size) ||
			len(b.Tx) != b.NTx || len(got["tx"].([]any)) != b.NTx {
			t.Fatalf("block %d: spur %v", b.Height, got)
		}
		for i, tx := range b.Tx {
			sameAsCore(t, got["tx"].([]any)[i].(map[string]any), tx)
			txs++
		}
		blocks++
	}
	if blocks != 5 || txs != 10 {
		t.Fatalf("%d blocks and %d transactions compared", blocks, txs)
	}
}
