package btc

import (
	"bytes"
	"compress/bzip2"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

const testdata = "../../testdata/btc"

func readBz2(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// framedBlocks splits a blk*.dat image into its blocks.
func framedBlocks(t testing.TB, name string) [][]byte {
	t.Helper()
	f := NewMemBlockFile(name, readBz2(t, name), Main)
	refs, err := f.Scan(Main)
	if err != nil {
		t.Fatal(err)
	}
	blocks := make([][]byte, len(refs))
	for i, r := range refs {
		if blocks[i], err = r.Read(nil); err != nil {
			t.Fatal(err)
		}
	}
	return blocks
}

// btcdClass maps btcd's classification onto Bitcoin Core's where the two
// agree by definition. btcd knows no `anchor` type and limits `nulldata`
// to one push of at most 80 bytes, so those are compared separately.
func compareScript(t *testing.T, where string, script []byte) {
	t.Helper()
	typ, addr, ok := ScriptAddress(script)
	class, addrs, _, _ := txscript.ExtractPkScriptAddrs(script, &chaincfg.MainNetParams)
	want := class.String()
	switch {
	case typ == Anchor || typ == NullData && class == txscript.NonStandardTy:
		return
	case typ == WitnessUnknown && class == txscript.NonStandardTy:
		compareWitnessUnknown(t, where, script, addr)
		return
	case typ == Multisig && class == txscript.NonStandardTy:
		// btcd refuses keys that do not parse as curve points; Core only
		// checks their size.
		return
	}
	if typ.String() != want {
		t.Fatalf("%s: script %x: type %s, btcd says %s", where, script, typ, want)
	}
	if !ok {
		return
	}
	if len(addrs) != 1 {
		t.Fatalf("%s: btcd gives %d addresses for %s", where, len(addrs), typ)
	}
	got := addr.String(Main)
	if want := addrs[0].EncodeAddress(); got != want {
		t.Fatalf("%s: address %s, btcd says %s", where, got, want)
	}
}

// compareWitnessUnknown checks a witness program of a future version, which
// btcd's classifier calls nonstandard, against btcd's reading of the
// program and its bech32m encoding.
func compareWitnessUnknown(t *testing.T, where string, script []byte, addr Address) {
	t.Helper()
	version, program, err := txscript.ExtractWitnessProgramInfo(script)
	if err != nil || version == 0 {
		t.Fatalf("%s: script %x: witness_unknown, btcd reads no witness program of version 1-16 (%v)", where, script, err)
	}
	data, err := bech32.ConvertBits(program, 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	want, err := bech32.EncodeM("bc", append([]byte{byte(version)}, data...))
	if err != nil {
		t.Fatal(err)
	}
	if got := addr.String(Main); got != want {
		t.Fatalf("%s: address %s, btcd's bech32m %s", where, got, want)
	}
}

func compareBlock(t *testing.T, raw []byte) *Block {
	t.Helper()
	blk, err := DecodeBlock(raw)
	if err != nil {
		t.Fatal(err)
	}
	var ref wire.MsgBlock
	if err := ref.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	if blk.Hash != ref.BlockHash() {
		t.Fatalf("block hash %s, btcd %s", blk.Hash, ref.BlockHash())
	}
	if blk.Header.Prev != ref.Header.PrevBlock || blk.Header.Bits != ref.Header.Bits || blk.Header.Time != uint32(ref.Header.Timestamp.Unix()) {
		t.Fatalf("block %s: header differs from btcd", blk.Hash)
	}
	if len(blk.Txs) != len(ref.Transactions) {
		t.Fatalf("block %s: %d txs, btcd %d", blk.Hash, len(blk.Txs), len(ref.Transactions))
	}
	for i, rtx := range ref.Transactions {
		compareTx(t, &blk.Txs[i], rtx)
	}
	return blk
}

// compareTx checks a decoded transaction field by field against btcd's
// decoding of the same bytes, and its re-encoding against those bytes.
func compareTx(t *testing.T, tx *Tx, rtx *wire.MsgTx) {
	t.Helper()
	if tx.TxID != rtx.TxHash() || tx.WTxID != rtx.WitnessHash() {
		t.Fatalf("tx %s: wtxid %s, btcd %s %s", tx.TxID, tx.WTxID, rtx.TxHash(), rtx.WitnessHash())
	}
	if tx.Size != rtx.SerializeSize() || tx.BaseSize != rtx.SerializeSizeStripped() {
		t.Fatalf("tx %s: sizes %d/%d, btcd %d/%d", tx.TxID, tx.Size, tx.BaseSize, rtx.SerializeSize(), rtx.SerializeSizeStripped())
	}
	if tx.Version != rtx.Version || tx.LockTime != rtx.LockTime || len(tx.Inputs) != len(rtx.TxIn) || len(tx.Outputs) != len(rtx.TxOut) {
		t.Fatalf("tx %s differs from btcd", tx.TxID)
	}
	for j, rin := range rtx.TxIn {
		in := &tx.Inputs[j]
		if in.PrevTxID != rin.PreviousOutPoint.Hash || in.PrevIndex != rin.PreviousOutPoint.Index ||
			in.Sequence != rin.Sequence || !bytes.Equal(in.ScriptSig, rin.SignatureScript) {
			t.Fatalf("tx %s input %d differs from btcd", tx.TxID, j)
		}
		items := in.WitnessItems()
		if len(items) != len(rin.Witness) {
			t.Fatalf("tx %s input %d: %d witness items, btcd %d", tx.TxID, j, len(items), len(rin.Witness))
		}
		for k := range items {
			if !bytes.Equal(items[k], rin.Witness[k]) {
				t.Fatalf("tx %s input %d witness %d differs", tx.TxID, j, k)
			}
		}
	}
	for j, rout := range rtx.TxOut {
		out := &tx.Outputs[j]
		if out.Value != rout.Value || !bytes.Equal(out.Script, rout.PkScript) {
			t.Fatalf("tx %s output %d differs from btcd", tx.TxID, j)
		}
		compareScript(t, tx.TxID.String(), out.Script)
	}
	if re := AppendTx(nil, tx); !bytes.Equal(re, tx.Raw) {
		t.Fatalf("tx %s: re-encoding differs", tx.TxID)
	}
}

// TestMainnet14132Blocks decodes every block of mainnet heights 0..14131 and
// checks each against btcd.
func TestMainnet14132Blocks(t *testing.T) {
	blocks := framedBlocks(t, "blk_0_to_14131.dat.bz2")
	if len(blocks) != 14132 {
		t.Fatalf("%d blocks, want 14132", len(blocks))
	}
	txs := 0
	var prev Hash
	for h, raw := range blocks {
		blk := compareBlock(t, raw)
		if blk.Header.Prev != prev {
			t.Fatalf("height %d: prev %s, want %s", h, blk.Header.Prev, prev)
		}
		prev = blk.Hash
		txs += len(blk.Txs)
	}
	if txs != 14247 {
		t.Fatalf("%d txs, want 14247", txs)
	}
	if blocks := framedBlocks(t, "blk_0_to_14131.dat.bz2"); BlockHash(blocks[0]) != Main.Genesis {
		t.Fatal("first block is not the genesis block")
	}
}

func TestSegwitBlock702861(t *testing.T) {
	blk := compareBlock(t, readBz2(t, "block_702861.raw.bz2"))
	if len(blk.Txs) != 2500 {
		t.Fatalf("%d txs, want 2500", len(blk.Txs))
	}
	if got := blk.Hash.String(); got != "000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae" {
		t.Fatalf("hash %s", got)
	}
	seen := map[ScriptType]int{}
	segwit := 0
	for i := range blk.Txs {
		if blk.Txs[i].Segwit {
			segwit++
		}
		for _, o := range blk.Txs[i].Outputs {
			seen[Classify(o.Script)]++
		}
	}
	if segwit == 0 || seen[WitnessV0KeyHash] == 0 || seen[ScriptHash] == 0 || seen[PubKeyHash] == 0 {
		t.Fatalf("expected segwit txs and several script types, got %d segwit, %v", segwit, seen)
	}
}

func TestBlock277647(t *testing.T) {
	blocks := framedBlocks(t, "277647.dat.bz2")
	blk := compareBlock(t, blocks[0])
	ins := 0
	for i := range blk.Txs {
		ins += len(blk.Txs[i].Inputs)
	}
	if len(blk.Txs) != 213 || ins != 733 {
		t.Fatalf("%d txs %d inputs, want 213 and 733", len(blk.Txs), ins)
	}
}

func TestMerkleRootMismatch(t *testing.T) {
	raw := bytes.Clone(framedBlocks(t, "blk_0_to_4.dat.bz2")[1])
	raw[40] ^= 1 // inside the merkle root
	_, err := DecodeBlock(raw)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("want corruption error, got %v", err)
	}
}

// TestTruncated cuts a real segwit block and one of its transactions at every
// length: each cut must fail cleanly.
func TestTruncated(t *testing.T) {
	raw := readBz2(t, "block_702861.raw.bz2")
	blk, err := DecodeBlockNoCheck(raw)
	if err != nil {
		t.Fatal(err)
	}
	var segwitTx []byte
	for i := range blk.Txs {
		if blk.Txs[i].Segwit {
			segwitTx = blk.Txs[i].Raw
			break
		}
	}
	for n := 0; n < len(segwitTx); n++ {
		if _, err := DecodeTx(segwitTx[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("tx cut at %d: want corruption error, got %v", n, err)
		}
	}
	for n := 0; n < len(raw); n += len(raw)/400 + 1 {
		if _, err := DecodeBlockNoCheck(raw[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("block cut at %d: want corruption error, got %v", n, err)
		}
	}
	var de *DecodeError
	_, err = DecodeBlockNoCheck(raw[:1000])
	if !errors.As(err, &de) || de.Offset == 0 {
		t.Fatalf("want a DecodeError with an offset, got %v", err)
	}
}

func TestBlockFileErrors(t *testing.T) {
	chain := readBz2(t, "blk_0_to_4.dat.bz2")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"truncated", chain[:len(chain)-10]},
		{"wrongmagic", append(append([]byte{}, chain...), 0xfa, 0xbf, 0xb5, 0xda, 1, 0, 0, 0)},
		{"stray", append(append([]byte{}, chain...), 1, 2, 3)},
		// Zeros, then a stray byte past the first 64 KiB checked.
		{"latestray", append(append(append([]byte{}, chain...), make([]byte, 100_000)...), 7, 0, 0)},
	}
	for _, c := range cases {
		p := write(c.name+".dat", c.data)
		files, err := OpenBlockPaths([]string{p}, Main)
		if err != nil {
			t.Fatal(err)
		}
		_, err = files[0].Scan(Main)
		files[0].Close()
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: want corruption error, got %v", c.name, err)
		}
		if !bytes.Contains([]byte(err.Error()), []byte(p)) || !bytes.Contains([]byte(err.Error()), []byte("offset")) {
			t.Fatalf("%s: error does not name the file and offset: %v", c.name, err)
		}
	}
	// Zero padding after the last block is Bitcoin Core's pre-allocation.
	for _, pad := range []int{4096, 200_000} {
		p := write("padded.dat", append(append([]byte{}, chain...), make([]byte, pad)...))
		files, _ := OpenBlockPaths([]string{p}, Main)
		refs, err := files[0].Scan(Main)
		files[0].Close()
		if err != nil || len(refs) != 5 {
			t.Fatalf("file padded with %d zeros: %d blocks, %v", pad, len(refs), err)
		}
	}
}

func TestXorKey(t *testing.T) {
	chain := readBz2(t, "blk_0_to_4.dat.bz2")
	key := []byte{0x13, 0x57, 0x9b, 0xdf, 0x24, 0x68, 0xac, 0xe0}
	dir := t.TempDir()
	obf := make([]byte, len(chain))
	for i := range chain {
		obf[i] = chain[i] ^ key[i%8]
	}
	os.WriteFile(filepath.Join(dir, "blk00000.dat"), obf, 0o644)
	os.WriteFile(filepath.Join(dir, "xor.dat"), key, 0o644)
	files, err := OpenBlockPaths([]string{dir}, Main)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := files[0].Scan(Main)
	if err != nil || len(refs) != 5 {
		t.Fatalf("%d blocks, %v", len(refs), err)
	}
	raw, err := refs[4].Read(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeBlock(raw); err != nil {
		t.Fatal(err)
	}
	if refs[0].Hash != Main.Genesis {
		t.Fatal("genesis hash wrong after removing the xor key")
	}
}

func TestNetworksAgreeWithBtcd(t *testing.T) {
	for name, p := range map[string]*chaincfg.Params{"main": &chaincfg.MainNetParams, "test": &chaincfg.TestNet3Params,
		"regtest": &chaincfg.RegressionNetParams, "signet": &chaincfg.SigNetParams, "simnet": &chaincfg.SimNetParams} {
		n, err := LookupNetwork(name)
		if err != nil {
			t.Fatal(err)
		}
		var magic [4]byte
		magic[0], magic[1], magic[2], magic[3] = byte(p.Net), byte(p.Net>>8), byte(p.Net>>16), byte(p.Net>>24)
		if n.Genesis != *p.GenesisHash || n.PubKeyHash != p.PubKeyHashAddrID || n.ScriptHash != p.ScriptHashAddrID ||
			n.Bech32HRP != p.Bech32HRPSegwit || n.Magic != magic {
			t.Errorf("network %s differs from btcd's parameters", name)
		}
	}
}

func TestDecodeTxHex(t *testing.T) {
	// The first transaction between two people (block 170).
	const raw = "0100000001c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704000000004847304402204e45e16932b8af514961a1d3a1a25fdf3f4f7732e9d624c6c61548ab5fb8cd410220181522ec8eca07de4860a4acdd12909d831cc56cbbac4622082221a8768d1d0901ffffffff0200ca9a3b00000000434104ae1a62fe09c5f51b13905f07f06b99a2f7159b2225f374cd378d71302fa28414e7aab37397f554a7df5f142c21c1b7303b8a0626f1baded5c72a704f7e6cd84cac00286bee0000000043410411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3ac00000000"
	b, _ := hex.DecodeString(raw)
	tx, err := DecodeTx(b)
	if err != nil {
		t.Fatal(err)
	}
	if tx.TxID.String() != "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16" {
		t.Fatalf("txid %s", tx.TxID)
	}
	_, a, _ := ScriptAddress(tx.Outputs[0].Script)
	if a.String(Main) != "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3" {
		t.Fatalf("address %s", a.String(Main))
	}
}

// TestDecodeReusesBlock decodes blocks of very different sizes, and a
// corrupt one, into one Block in turn: each result must equal a fresh
// decode of the same bytes, whatever the Block held before.
func TestDecodeReusesBlock(t *testing.T) {
	big := readBz2(t, "block_702861.raw.bz2")
	mid := framedBlocks(t, "277647.dat.bz2")[0]
	small := framedBlocks(t, "blk_0_to_4.dat.bz2")[1]
	bad := bytes.Clone(big)
	bad[40] ^= 1 // inside the merkle root
	var blk Block
	for i, raw := range [][]byte{small, big, mid, small, bad, big, mid} {
		err := blk.Decode(raw)
		want, werr := DecodeBlock(raw)
		if (err == nil) != (werr == nil) {
			t.Fatalf("step %d: reused decode says %v, fresh one %v", i, err, werr)
		}
		if err != nil {
			continue
		}
		if blk.Hash != want.Hash || blk.Header != want.Header || len(blk.Txs) != len(want.Txs) {
			t.Fatalf("step %d: block %s with %d txs, want %s with %d", i, blk.Hash, len(blk.Txs), want.Hash, len(want.Txs))
		}
		for j := range want.Txs {
			if !reflect.DeepEqual(blk.Txs[j], want.Txs[j]) {
				t.Fatalf("step %d: tx %d differs from a fresh decode", i, j)
			}
		}
	}
}

// TestCompactSizeBounds: a CompactSize in more bytes than its value needs
// is refused, as Bitcoin Core's ReadCompactSize refuses it; each width's
// smallest value is read.
func TestCompactSizeBounds(t *testing.T) {
	for _, c := range []struct {
		hex string
		v   uint64 // 0: refused
	}{
		{"fc", 252},
		{"fdfc00", 0},
		{"fdfd00", 253},
		{"fdffff", 65535},
		{"feffff0000", 0},
		{"fe00000100", 65536},
		{"feffffffff", 1<<32 - 1},
		{"ffffffffff00000000", 0},
		{"ff0000000001000000", 1 << 32},
	} {
		b, _ := hex.DecodeString(c.hex)
		d := decoder{b: b, txIdx: -1}
		v := d.compact()
		if c.v == 0 {
			if !errors.Is(d.err, errNonCanonical) {
				t.Errorf("%s: read %d, %v; want it refused", c.hex, v, d.err)
			}
		} else if d.err != nil || v != c.v {
			t.Errorf("%s: read %d, %v; want %d", c.hex, v, d.err, c.v)
		}
	}
}

// TestSegwitFlag: after the segwit marker (an empty input list) the flag
// must be 1 (BIP144); any other is refused, 0 as much as 2.
func TestSegwitFlag(t *testing.T) {
	for _, flag := range []string{"00", "02", "ff"} {
		// version 2, marker, flag, one input, one output, locktime.
		raw := "02000000" + "00" + flag + "01" + strings.Repeat("00", 36) + "00" + "ffffffff" + "01" + "0000000000000000" + "00" + "00000000"
		b, _ := hex.DecodeString(raw)
		if _, err := DecodeTx(b); !errors.Is(err, errFlag) {
			t.Errorf("flag %s: %v", flag, err)
		}
	}
}
