package btc

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire"
)

// TestCoreVectors decodes the transactions of Bitcoin Core's test vectors
// (the taproot spends its functional tests dump, tx_valid.json,
// tx_invalid.json and sighash.json, as btcd ships them) and classifies
// their scripts, each checked against btcd: random versions, empty and
// random scripts, witness programs of future versions.
func TestCoreVectors(t *testing.T) {
	types := map[ScriptType]int{}
	classify := func(where string, script []byte) {
		compareScript(t, where, script)
		types[Classify(script)]++
	}
	decoded, refused := 0, 0
	check := func(where, txHex string) {
		raw, err := hex.DecodeString(txHex)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		tx, err := DecodeTx(raw)
		var ref wire.MsgTx
		refErr := ref.Deserialize(bytes.NewReader(raw))
		if (err == nil) != (refErr == nil) {
			t.Fatalf("%s: spur says %v, btcd %v", where, err, refErr)
		}
		if err != nil {
			refused++
			return
		}
		decoded++
		compareTx(t, tx, &ref)
		if raw, err := DecodeRawTx(raw); err != nil || raw.WTxID != tx.WTxID {
			t.Fatalf("%s: DecodeRawTx reads it otherwise (%v)", where, err)
		}
		for _, o := range tx.Outputs {
			types[Classify(o.Script)]++
		}
	}

	// One line per file of btcd's data/taproot-ref: the spending
	// transaction and the outputs it spends, serialised.
	f, err := os.Open(filepath.Join(testdata, "taproot_ref.jsonl.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(bzip2.NewReader(f))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v struct {
			Name     string
			Tx       string
			Prevouts []string
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		check(v.Name, v.Tx)
		for i, p := range v.Prevouts {
			raw, _ := hex.DecodeString(p)
			var o wire.TxOut
			if err := wire.ReadTxOut(bytes.NewReader(raw), 0, 0, &o); err != nil {
				t.Fatalf("%s prevout %d: %v", v.Name, i, err)
			}
			classify(v.Name, o.PkScript)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	// Core's JSON vectors: arrays whose comments are one string. In
	// tx_valid and tx_invalid the transaction is the second element; in
	// sighash the first, then a script.
	rows := func(name string) [][]any {
		var r [][]any
		if err := json.Unmarshal(readBz2(t, name), &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	for _, name := range []string{"tx_valid.json.bz2", "tx_invalid.json.bz2"} {
		for i, r := range rows(name) {
			if len(r) == 3 {
				check(name+" row "+strconv.Itoa(i), r[1].(string))
			}
		}
	}
	for i, r := range rows("sighash.json.bz2") {
		if len(r) != 5 {
			continue
		}
		where := "sighash.json.bz2 row " + strconv.Itoa(i)
		check(where, r[0].(string))
		script, err := hex.DecodeString(r[1].(string))
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		classify(where, script)
	}

	t.Logf("%d transactions decoded, %d refused; script types %v", decoded, refused, types)
	if decoded < 3400 {
		t.Fatalf("only %d transactions decoded", decoded)
	}
	// The vectors hold no bare multisig output and no anchor
	// (TestClassify has those).
	for typ := range numScriptTypes {
		if typ != Multisig && typ != Anchor && types[typ] == 0 {
			t.Errorf("no %s script among the vectors", typ)
		}
	}
}

// TestDecodeRawTxReadings checks DecodeRawTx's choice between the segwit
// and the legacy reading of bytes that begin with an empty input list,
// each against btcd's decoding in that reading.
func TestDecodeRawTxReadings(t *testing.T) {
	// Both readings of these 66 bytes take all of them. With the marker:
	// one input (its txid's byte 7 is 0x2f, the legacy reading's script
	// length), one output with script s, a one-item witness. Without:
	// no inputs, one output whose 47-byte script runs to the lock time.
	ambiguous := func(s byte) []byte {
		b := []byte{1, 0, 0, 0, 0, 1, 1}
		txid := bytes.Repeat([]byte{0x51}, 32)
		txid[7] = 0x2f
		b = append(b, txid...)
		b = append(b, 0x51, 0x51, 0x51, 0x51, 0, 0x51, 0x51, 0x51, 0x51) // index, empty scriptSig, sequence
		b = append(b, 1)                                                 // one output
		b = append(b, bytes.Repeat([]byte{0x51}, 8)...)                  // its value
		b = append(b, 1, s)                                              // its script
		b = append(b, 1, 1, 0x51)                                        // the witness: one item, 0x51
		return append(b, 0, 0, 0, 0)                                     // lock time
	}
	cases := []struct {
		name   string
		raw    []byte
		segwit bool // the reading DecodeRawTx must take
		marker bool // the segwit reading takes all the bytes
	}{
		// The segwit reading's output script (OP_1) parses: it wins.
		{"both parse", ambiguous(0x51), true, true},
		// Its script 0xff is no opcode; the legacy reading's parses (the
		// 0xff is pushed data there).
		{"only legacy parses", ambiguous(0xff), false, true},
		// No input, one OP_RETURN output: the marker reading fails.
		{"legacy only", []byte{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x6a, 0, 0, 0, 0}, false, false},
	}
	for _, c := range cases {
		tx, err := DecodeRawTx(c.raw)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var ref wire.MsgTx
		read := ref.Deserialize
		if !c.segwit {
			read = ref.DeserializeNoWitness
		}
		if err := read(bytes.NewReader(c.raw)); err != nil {
			t.Fatalf("%s: btcd: %v", c.name, err)
		}
		compareTx(t, tx, &ref)
		if _, err := DecodeTx(c.raw); (err == nil) != c.marker {
			t.Fatalf("%s: DecodeTx error %v", c.name, err)
		}
	}
	// Neither reading: the segwit reading's error, with its offset.
	_, err := DecodeRawTx([]byte{1, 0, 0, 0, 0, 2})
	if err == nil || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("error %v", err)
	}
}
