package btc

import (
	"encoding/binary"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
)

// btcd's test file 277647.utxostore holds the outputs block 277647 spends:
// txid, output index, length, then btcd's compressed UTXO entry (a VLQ
// header, a compressed amount and a compressed script). These helpers follow
// btcd's blockchain/compress.go format.

func readVLQ(b []byte) (uint64, int) {
	var n uint64
	for i, c := range b {
		n = n<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			return n, i + 1
		}
		n++
	}
	return 0, len(b)
}

func decompressAmount(x uint64) uint64 {
	if x == 0 {
		return 0
	}
	x--
	e := x % 10
	x /= 10
	var n uint64
	if e < 9 {
		d := x%9 + 1
		x /= 9
		n = x*10 + d
	} else {
		n = x + 1
	}
	for ; e > 0; e-- {
		n *= 10
	}
	return n
}

func decompressScript(t *testing.T, b []byte) ([]byte, int) {
	code, n := readVLQ(b)
	b = b[n:]
	switch code {
	case 0:
		return append(append([]byte{opDup, opHash160, 20}, b[:20]...), opEqualVerify, opCheckSig), n + 20
	case 1:
		return append(append([]byte{opHash160, 20}, b[:20]...), opEqual), n + 20
	case 2, 3:
		return append(append([]byte{33, byte(code)}, b[:32]...), opCheckSig), n + 32
	case 4, 5:
		key, err := btcec.ParsePubKey(append([]byte{byte(code - 2)}, b[:32]...))
		if err != nil {
			t.Fatal(err)
		}
		return append(append([]byte{65}, key.SerializeUncompressed()...), opCheckSig), n + 32
	}
	size := int(code - 6)
	return append([]byte(nil), b[:size]...), n + size
}

type spentOutput struct {
	value  int64
	script []byte
}

func loadUtxoStore(t *testing.T) map[[36]byte]spentOutput {
	raw := readBz2(t, "277647.utxostore.bz2")
	m := map[[36]byte]spentOutput{}
	for len(raw) > 0 {
		var key [36]byte
		copy(key[:], raw[:36])
		size := int(binary.LittleEndian.Uint32(raw[36:40]))
		entry := raw[40 : 40+size]
		raw = raw[40+size:]
		_, n := readVLQ(entry) // height and coinbase flag
		amount, k := readVLQ(entry[n:])
		script, _ := decompressScript(t, entry[n+k:])
		m[key] = spentOutput{int64(decompressAmount(amount)), script}
	}
	return m
}

// TestBlock277647Spends resolves every input of mainnet block 277647 against
// the outputs it spends: each spent script's type and address must agree
// with btcd, and the fees must add up to what the coinbase claims above the
// 25 BTC subsidy.
func TestBlock277647Spends(t *testing.T) {
	spent := loadUtxoStore(t)
	blk, err := DecodeBlock(framedBlocks(t, "277647.dat.bz2")[0])
	if err != nil {
		t.Fatal(err)
	}
	var fees int64
	resolved := 0
	for i := range blk.Txs {
		tx := &blk.Txs[i]
		if tx.IsCoinbase() {
			continue
		}
		var in, out int64
		for _, txin := range tx.Inputs {
			var key [36]byte
			copy(key[:], txin.PrevTxID[:])
			binary.LittleEndian.PutUint32(key[32:], txin.PrevIndex)
			o, ok := spent[key]
			if !ok {
				t.Fatalf("tx %s spends %s:%d, not in the utxo file", tx.TxID, txin.PrevTxID, txin.PrevIndex)
			}
			in += o.value
			resolved++
			typ, a, ok := ScriptAddress(o.script)
			class, addrs, _, _ := txscript.ExtractPkScriptAddrs(o.script, &chaincfg.MainNetParams)
			if typ.String() != class.String() {
				t.Fatalf("spent script %x: %s, btcd %s", o.script, typ, class)
			}
			if ok && a.String(Main) != addrs[0].EncodeAddress() {
				t.Fatalf("spent script %x: %s, btcd %s", o.script, a.String(Main), addrs[0].EncodeAddress())
			}
		}
		for _, o := range tx.Outputs {
			out += o.Value
		}
		if in < out {
			t.Fatalf("tx %s pays %d from %d", tx.TxID, out, in)
		}
		fees += in - out
	}
	var claimed int64
	for _, o := range blk.Txs[0].Outputs {
		claimed += o.Value
	}
	if resolved != 733-1 {
		t.Fatalf("resolved %d inputs, want 732", resolved)
	}
	if claimed != 25e8+fees {
		t.Fatalf("coinbase claims %d, subsidy plus fees is %d", claimed, 25e8+fees)
	}
}
