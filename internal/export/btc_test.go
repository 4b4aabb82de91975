package export

import (
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testchain"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Public keys that are curve points (G and 2G), for scripts btcd
// classifies only when their keys parse.
var (
	keyG  = mustHex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
	key2G = mustHex("02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5")
	h20   = bytes.Repeat([]byte{0x11}, 20)
	h32   = bytes.Repeat([]byte{0x22}, 32)
	// Bitcoin Core's pay-to-anchor output (which btcd does not know).
	anchor = []byte{0x51, 0x02, 0x4e, 0x73}
)

// scripts covers every output type with an address and some without.
func scripts() [][]byte {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return [][]byte{
		cat([]byte{0x00, 0x14}, h20),                                           // witness_v0_keyhash
		cat([]byte{0x00, 0x20}, h32),                                           // witness_v0_scripthash
		cat([]byte{0x51, 0x20}, h32),                                           // witness_v1_taproot
		cat([]byte{0xa9, 0x14}, h20, []byte{0x87}),                             // scripthash
		cat([]byte{0x76, 0xa9, 0x14}, h20, []byte{0x88, 0xac}),                 // pubkeyhash
		cat([]byte{0x21}, keyG, []byte{0xac}),                                  // pubkey
		cat([]byte{0x51, 0x21}, keyG, []byte{0x21}, key2G, []byte{0x52, 0xae}), // multisig
		{0x6a, 0x04, 0xde, 0xad, 0xbe, 0xef},                                   // nulldata
		anchor,
		{0x51}, // nonstandard
	}
}

// mine adds two blocks to a store of mainnet's first blocks: a segwit
// transaction spending block 1's coinbase to every script type, and
// transactions spending some of its outputs in the same block and the
// next. It returns the blocks as serialized.
func mine(t *testing.T, s *store.Store) [][]byte {
	block1 := mustHex("982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e") // txid, byte-reversed
	var prev btc.Hash
	copy(prev[:], block1)
	fan := btc.Tx{Version: 2, Inputs: []btc.TxIn{{PrevTxID: prev, ScriptSig: nil, Sequence: 0xfffffffd,
		Witness: []byte{2, 3, 1, 2, 3, 33}}}}
	fan.Inputs[0].Witness = append(fan.Inputs[0].Witness, keyG...)
	for i, sc := range scripts() {
		fan.Outputs = append(fan.Outputs, btc.TxOut{Value: int64(1_0000_0000 + i), Script: sc})
	}
	fanTx := decoded(t, fan)
	spend := func(vout uint32, value int64, by btc.Hash) btc.Tx {
		return btc.Tx{Version: 1, Inputs: []btc.TxIn{{PrevTxID: by, PrevIndex: vout, ScriptSig: []byte{0x51}, Sequence: 0xffffffff}},
			Outputs: []btc.TxOut{{Value: value, Script: scripts()[4]}}}
	}
	a := decoded(t, spend(4, 9000_0000, fanTx.TxID))
	raw1 := testchain.Mine(t, s, fan, *a)
	raw2 := testchain.Mine(t, s, spend(0, 5000_0000, fanTx.TxID), spend(0, 100, a.TxID))
	return [][]byte{raw1, raw2}
}

func decoded(t *testing.T, tx btc.Tx) *btc.Tx {
	d, err := btc.DecodeTx(btc.AppendTx(nil, &tx))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// btcdBlocks decodes mainnet's blocks 0..14131 and more raw blocks with
// btcd.
func btcdBlocks(t *testing.T, more [][]byte) []*wire.MsgBlock {
	f, err := os.Open("../../testdata/btc/blk_0_to_14131.dat.bz2")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for len(raw) >= 8 && bytes.Equal(raw[:4], btc.Main.Magic[:]) {
		size := int(raw[4]) | int(raw[5])<<8 | int(raw[6])<<16 | int(raw[7])<<24
		frames, raw = append(frames, raw[8:8+size]), raw[8+size:]
	}
	var blocks []*wire.MsgBlock
	for _, b := range append(frames, more...) {
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		if n := len(blocks); n > 0 && mb.Header.PrevBlock != blocks[n-1].BlockHash() {
			t.Fatalf("block %d does not follow %d", n, n-1)
		}
		blocks = append(blocks, &mb)
	}
	return blocks
}

// btcdAddress is an output's type and address as btcd gives them: a
// pubkey output under the P2PKH address of its key, as spur shows it.
func btcdAddress(t *testing.T, script []byte) (typ, addr string) {
	if bytes.Equal(script, anchor) {
		return "anchor", "bc1pfeessrawgf" // btcd does not know it; Bitcoin Core's address
	}
	class, addrs, _, err := txscript.ExtractPkScriptAddrs(script, &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	if class == txscript.MultiSigTy || class == txscript.NullDataTy || len(addrs) != 1 {
		return class.String(), ""
	}
	if pk, ok := addrs[0].(*btcutil.AddressPubKey); ok {
		return class.String(), pk.AddressPubKeyHash().EncodeAddress()
	}
	return class.String(), addrs[0].EncodeAddress()
}

// expectBTC makes each Bitcoin table of a chain from btcd's decoding.
func expectBTC(t *testing.T, chain []*wire.MsgBlock) map[string][][]string {
	type out struct {
		value      int64
		typ, addr  string
		height     int
		spender    string
		vin        int
		spentAtHgt int
	}
	outs := map[wire.OutPoint]*out{}
	for h, mb := range chain {
		for _, tx := range mb.Transactions {
			id := tx.TxHash()
			for vin, in := range tx.TxIn {
				if o := outs[in.PreviousOutPoint]; o != nil {
					o.spender, o.vin, o.spentAtHgt = id.String(), vin, h
				}
			}
			for n, o := range tx.TxOut {
				typ, addr := btcdAddress(t, o.PkScript)
				outs[wire.OutPoint{Hash: id, Index: uint32(n)}] = &out{value: o.Value, typ: typ, addr: addr, height: h}
			}
		}
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	want := map[string][][]string{}
	for h, mb := range chain {
		hd := mb.Header
		want["blocks"] = append(want["blocks"], []string{i64(int64(h)), mb.BlockHash().String(), hd.PrevBlock.String(), hd.MerkleRoot.String(),
			i64(int64(hd.Version)), i64(hd.Timestamp.Unix()), fmt.Sprintf("%08x", hd.Bits), i64(int64(hd.Nonce)),
			i64(int64(mb.SerializeSize())), i64(int64(len(mb.Transactions)))})
		for k, tx := range mb.Transactions {
			id := tx.TxHash().String()
			cb := blockchain.IsCoinBaseTx(tx)
			var in, outv int64
			for vin, i := range tx.TxIn {
				row := []string{id, i64(int64(vin)), i64(int64(h)), i.PreviousOutPoint.Hash.String(), i64(int64(i.PreviousOutPoint.Index)), "", "", "", ""}
				if !cb {
					o := outs[i.PreviousOutPoint]
					in += o.value
					row[5], row[6], row[7], row[8] = i64(int64(o.height)), i64(o.value), o.typ, o.addr
				}
				want["inputs"] = append(want["inputs"], row)
			}
			for n, o := range tx.TxOut {
				outv += o.Value
				e := outs[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(n)}]
				row := []string{id, i64(int64(n)), i64(int64(h)), i64(o.Value), e.typ, e.addr, "", "", ""}
				if e.spender != "" {
					row[6], row[7], row[8] = e.spender, i64(int64(e.vin)), i64(int64(e.spentAtHgt))
				}
				want["outputs"] = append(want["outputs"], row)
			}
			fee := in - outv
			if cb {
				fee = 0
			}
			weight := int64(tx.SerializeSizeStripped()*3 + tx.SerializeSize())
			want["transactions"] = append(want["transactions"], []string{id, tx.WitnessHash().String(), i64(int64(h)), i64(hd.Timestamp.Unix()),
				i64(int64(k)), strconv.FormatBool(cb), i64(int64(len(tx.TxIn))), i64(int64(len(tx.TxOut))), i64(in), i64(outv), i64(fee),
				i64(int64(tx.SerializeSize())), i64((weight + 3) / 4), i64(weight), i64(int64(tx.Version)), i64(int64(tx.LockTime))})
		}
	}
	return want
}

func exportBTC(t *testing.T, s *store.Store, table string, f Format, r Range) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := BTC(context.Background(), s, table, &b, Options{Format: f, Range: r})
	if err != nil {
		t.Fatal(err)
	}
	if _, rows := readBack(t, f, b.Bytes()); int64(len(rows)) != n {
		t.Fatalf("%s: %d rows said, %d written", table, n, len(rows))
	}
	return b.Bytes()
}

var btcColumns = map[string][]string{
	"blocks":       Columns[BTCBlock](),
	"transactions": Columns[BTCTx](),
	"outputs":      Columns[BTCOutput](),
	"inputs":       Columns[BTCInput](),
}

// TestBTCAgainstBtcd exports every table of mainnet's blocks 0..14131 and
// two blocks of every script type on top, in every format, and compares
// each row with what btcd's decoder and address extraction give for the
// same blocks.
func TestBTCAgainstBtcd(t *testing.T) {
	s := testchain.Mainnet(t, t.TempDir(), 14131)
	want := expectBTC(t, btcdBlocks(t, mine(t, s)))
	if len(want["blocks"]) != 14134 || len(want["outputs"]) < 14247+len(scripts()) {
		t.Fatalf("%d blocks, %d outputs", len(want["blocks"]), len(want["outputs"]))
	}
	for _, table := range BTCTables {
		for _, f := range formats {
			h, rows := readBack(t, f, exportBTC(t, s, table, f, Range{0, s.Height()}))
			sameRows(t, fmt.Sprint(table, " as ", f), h, rows, btcColumns[table], want[table])
		}
	}
	// A range: the rows of its blocks, whatever the other blocks hold.
	for _, table := range BTCTables {
		h, rows := readBack(t, CSV, exportBTC(t, s, table, CSV, Range{170, 14133}))
		var sub [][]string
		at := 0 // height is the first column of blocks, the third of the others
		if table != "blocks" {
			at = 2
		}
		for _, r := range want[table] {
			if n, _ := strconv.Atoi(r[at]); n >= 170 {
				sub = append(sub, r)
			}
		}
		sameRows(t, table+" from 170", h, rows, btcColumns[table], sub)
	}
}

func TestBTCErrors(t *testing.T) {
	s := testchain.Mainnet(t, t.TempDir(), 10)
	var b bytes.Buffer
	if _, err := BTC(context.Background(), s, "transfers", &b, Options{Format: CSV, Range: Range{0, 10}}); !errors.Is(err, ErrTable) {
		t.Fatal(err)
	}
	if _, err := BTC(context.Background(), s, "blocks", &b, Options{Format: CSV, Range: Range{0, 11}}); !errors.Is(err, ErrRange) {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Fatalf("wrote %q before refusing", b.String())
	}
}
