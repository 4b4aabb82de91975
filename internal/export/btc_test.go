package export

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
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
	frames := testchain.MainnetBlocks(t)
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
	// Addresses in the order first seen, with their totals at the tip.
	type addrTotals struct {
		typ                              string
		height                           int
		outputs, unspent, received, sent int64
	}
	totals := map[string]*addrTotals{}
	var order []string
	for h, mb := range chain {
		for _, tx := range mb.Transactions {
			for n := range tx.TxOut {
				o := outs[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(n)}]
				if o.addr == "" {
					continue
				}
				a := totals[o.addr]
				if a == nil {
					typ := o.typ
					if typ == "pubkey" {
						typ = "pubkeyhash" // a key's outputs are under its P2PKH address
					}
					a = &addrTotals{typ: typ, height: h}
					totals[o.addr] = a
					order = append(order, o.addr)
				}
				a.outputs++
				a.received += o.value
				if o.spender != "" {
					a.sent += o.value
				} else {
					a.unspent++
				}
			}
		}
	}
	for _, addr := range order {
		a := totals[addr]
		want["addresses"] = append(want["addresses"], []string{addr, a.typ, i64(int64(a.height)), "", i64(a.outputs), i64(a.unspent),
			i64(a.received), i64(a.sent), i64(a.received - a.sent)})
	}
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
	"addresses":    Columns[BTCAddress](),
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
		at := 2 // the column of the height: the first of blocks, the third of the others
		if table == "blocks" {
			at = 0
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

// TestBTCAddressEntities: with a clustering, each address's entity is
// the clustering's, the addresses a transaction spends from share one,
// and an address first seen after the clustering ran has none (null).
func TestBTCAddressEntities(t *testing.T) {
	s := testchain.Mainnet(t, t.TempDir(), 14131)
	if _, err := cluster.Run(s, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	c, err := cluster.Open(s)
	if err != nil {
		t.Fatal(err)
	}
	raw := mine(t, s) // addresses the clustering has not seen
	_, rows := readBack(t, Parquet, exportBTC(t, s, "addresses", Parquet, Range{0, s.Height()}))
	entity := map[string]string{}
	for _, r := range rows {
		entity[r[0]] = r[3]
	}
	for n, r := range rows {
		a, err := s.AddrNum(mustAddress(t, r[0]))
		if err != nil || int(a) != n {
			t.Fatalf("row %d is address number %d (%v)", n, a, err)
		}
		if e, ok := c.Entity(a); ok != (r[3] != "") || ok && strconv.Itoa(int(e)) != r[3] {
			t.Fatalf("%s: entity %q, the clustering's %d (%v)", r[0], r[3], e, ok)
		}
	}
	chain := btcdBlocks(t, raw)
	outs := map[wire.OutPoint]string{}
	joined := 0
	for h, mb := range chain {
		for _, tx := range mb.Transactions {
			var first string
			for _, in := range tx.TxIn {
				a, ok := outs[in.PreviousOutPoint]
				if !ok || h > 14131 {
					continue
				}
				if first == "" {
					first = a
				} else if entity[a] != entity[first] || entity[a] == "" {
					t.Fatalf("tx %s spends from %s (entity %s) and %s (entity %s)", tx.TxHash(), first, entity[first], a, entity[a])
				} else {
					joined++
				}
			}
			for n, o := range tx.TxOut {
				if _, addr := btcdAddress(t, o.PkScript); addr != "" {
					outs[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(n)}] = addr
				}
			}
		}
	}
	if joined == 0 {
		t.Fatal("no transaction spends from two addresses")
	}
	for _, sc := range scripts() {
		if _, addr := btcdAddress(t, sc); addr != "" && entity[addr] != "" {
			t.Fatalf("%s, new since the clustering, has entity %s", addr, entity[addr])
		}
	}
}

func mustAddress(t *testing.T, text string) btc.Address {
	a, err := btc.ParseAddress(text, btc.Main)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
