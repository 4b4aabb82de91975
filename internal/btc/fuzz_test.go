package btc

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func FuzzDecodeTx(f *testing.F) {
	blk, err := DecodeBlockNoCheck(readBz2(f, "block_702861.raw.bz2"))
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < len(blk.Txs); i += 250 {
		f.Add(blk.Txs[i].Raw)
	}
	f.Add([]byte{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x6a, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		raw, rawErr := DecodeRawTx(b)
		if err == nil && rawErr != nil {
			t.Fatalf("DecodeTx reads it, DecodeRawTx fails: %v", rawErr)
		}
		if rawErr == nil {
			if re := AppendTx(nil, raw); !bytes.Equal(re, b) {
				t.Fatalf("DecodeRawTx: round trip differs:\n%x\n%x", b, re)
			}
		}
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		if re := AppendTx(nil, tx); !bytes.Equal(re, b) {
			t.Fatalf("round trip differs:\n%x\n%x", b, re)
		}
		if tx.BaseSize > tx.Size || tx.Segwit != (tx.TxID != tx.WTxID) && tx.Segwit && tx.Size != tx.BaseSize {
			t.Fatalf("inconsistent sizes %d/%d", tx.BaseSize, tx.Size)
		}
	})
}

func FuzzDecodeBlock(f *testing.F) {
	for _, b := range framedBlocks(f, "blk_0_to_4.dat.bz2") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := DecodeBlockNoCheck(b)
		if err != nil {
			return
		}
		if re := AppendBlock(nil, &blk.Header, blk.Txs); !bytes.Equal(re, b) {
			t.Fatalf("round trip differs")
		}
		_ = MerkleRoot(blk.Txs)
	})
}

func FuzzScript(f *testing.F) {
	for _, s := range []string{
		"76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac", // pubkeyhash
		"a914748284390f9e263a4b766a75d0633c50426eb87587",     // scripthash
		"51024e73",       // anchor
		"6a0568656c6c6f", // nulldata
		"0014751e76e8199196d454941c45d1b3a323f1433bd6",                                          // witness_v0_keyhash
		"5120" + "103e7c2917eb37935b19ad951dd63925690af67710d97c5b32ba23098190dae6",             // witness_v1_taproot
		"5f20" + "2540f27e90740933c99d4f17ab2dfc6c82951cfb0b8674c83ad179cfbc247b89",             // witness_unknown
		"2102" + "11111111111111111111111111111111111111111111111111111111111111" + "11" + "ac", // pubkey
	} {
		b, err := hex.DecodeString(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		typ, a, ok := ScriptAddress(s)
		if !ok || typ == PubKey {
			return
		}
		// A script with an address is the script that address pays to.
		str := a.String(Main)
		back, err := ParseAddress(str, Main)
		if err != nil {
			t.Fatalf("%x: %s does not parse: %v", s, str, err)
		}
		if !bytes.Equal(back.Script(), s) {
			t.Fatalf("%x: %s pays to %x", s, str, back.Script())
		}
	})
}

// FuzzScan scans bytes as a blk file twice, as any file and as the newest
// of a directory: the blocks found are the same, and the newest file ends
// its scan early (Unfinished) only where any other file is refused.
func FuzzScan(f *testing.F) {
	file := frame(framedBlocks(f, "blk_0_to_4.dat.bz2")[:2]...)
	f.Add(file)
	f.Add(append(bytes.Clone(file), Main.Magic[:3]...))
	f.Add(append(append(bytes.Clone(file), Main.Magic[:]...), 0xff, 0xff, 0, 0, 1, 2))
	f.Add(append(bytes.Clone(file), make([]byte, 100)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 4 || [4]byte(b[:4]) != Main.Magic {
			return // a raw block, not a blk file
		}
		anyFile := NewMemBlockFile("blk00000.dat", b, Main)
		refs, err := anyFile.Scan(Main)
		newest := NewMemBlockFile("blk00000.dat", b, Main)
		newest.Newest = true
		nrefs, nerr := newest.Scan(Main)
		if len(refs) != len(nrefs) {
			t.Fatalf("%d blocks, %d as the newest file", len(refs), len(nrefs))
		}
		for i := range refs {
			if refs[i].Offset != nrefs[i].Offset || refs[i].Hash != nrefs[i].Hash {
				t.Fatalf("block %d differs as the newest file", i)
			}
		}
		switch {
		case err == nil && (nerr != nil || newest.Unfinished >= 0):
			t.Fatalf("a good file, as the newest: unfinished at %d, %v", newest.Unfinished, nerr)
		case newest.Unfinished >= 0 && nerr != nil:
			t.Fatalf("unfinished at %d and an error: %v", newest.Unfinished, nerr)
		case err != nil && nerr == nil && newest.Unfinished < 0:
			t.Fatalf("refused as any file (%v), taken whole as the newest", err)
		}
	})
}
