package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
)

// chainedBlock builds a block on prev: a coinbase whose script carries tag,
// then txs-1 transactions each spending the one before, every output paying
// a P2PKH address of its own. Different tags give blocks that share no
// txid and no address. The first after the coinbase spends the coinbase,
// or output 0 of tx from, of value fromValue, if from is not zero.
func chainedBlock(t *testing.T, prev btc.Hash, tag uint32, txs int, from btc.Hash, fromValue int64) *btc.Block {
	t.Helper()
	pay := func(i int) []byte {
		s := []byte{0x76, 0xa9, 20}
		s = binary.LittleEndian.AppendUint32(s, tag)
		s = binary.LittleEndian.AppendUint32(s, uint32(i))
		s = append(s, make([]byte, 12)...)
		return append(s, 0x88, 0xac)
	}
	list := make([]btc.Tx, txs)
	v := int64(50_0000_0000)
	if from != (btc.Hash{}) {
		v = fromValue
	}
	for i := range list {
		tx := btc.Tx{Version: 1, Outputs: []btc.TxOut{{Value: v - int64(i)*1000, Script: pay(i)}}}
		switch {
		case i == 0:
			sig := binary.LittleEndian.AppendUint32([]byte{4}, tag)
			tx.Inputs = []btc.TxIn{{PrevIndex: 0xffffffff, ScriptSig: sig, Sequence: 0xffffffff}}
			tx.Outputs[0].Value = 50_0000_0000
		case i == 1 && from != (btc.Hash{}):
			tx.Inputs = []btc.TxIn{{PrevTxID: from, Sequence: 0xffffffff}}
		default:
			tx.Inputs = []btc.TxIn{{PrevTxID: list[i-1].TxID, Sequence: 0xffffffff}}
		}
		d, err := btc.DecodeTx(btc.AppendTx(nil, &tx))
		if err != nil {
			t.Fatal(err)
		}
		tx.TxID = d.TxID
		list[i] = tx
	}
	h := btc.Header{Version: 1, Prev: prev, MerkleRoot: btc.MerkleRoot(list), Time: 1231469665 + tag, Bits: 0x1d00ffff}
	b, err := btc.DecodeBlock(btc.AppendBlock(nil, &h, list))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Blocks appended and rolled back again and again leave dead entries in the
// hash tables: their rows are reused for other keys. Once a table is choked
// with them (no free slot within reach of a new key's home), the store
// rebuilds it at its size from the columns and goes on; the result is the
// store that never saw the rolled-back blocks.
func TestChokedTableIsRebuilt(t *testing.T) {
	base := mainnetBlocks(t)
	s := openTemp(t)
	commitAll(t, s, base)
	first, room := s.txIdx, s.txIdx.Room()
	const txs = 4000
	tag := uint32(1)
	for ; s.txIdx == first; tag++ {
		// Each round leaves about txs dead txids and as many dead
		// addresses: a table of 2^16 slots chokes in about 35.
		if tag > 60 {
			t.Fatalf("txid table never rebuilt in %d rounds", tag-1)
		}
		if err := s.AppendBlock(Prepare(chainedBlock(t, s.TipHash(), tag, txs, btc.Hash{}, 0))); err != nil {
			t.Fatalf("round %d: %v", tag, err)
		}
		if s.txIdx == first {
			if err := s.Rollback(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if s.txIdx.Room() != room {
		t.Fatalf("txid table rebuilt with room for %d rows, was %d: grown, not unchoked", s.txIdx.Room(), room)
	}
	last := chainedBlock(t, s.TipHash(), tag-1, txs, btc.Hash{}, 0)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}

	if got, err := s.Digest(); err != nil || got != cleanDigest(t, append(base, last)) {
		t.Fatalf("digest %s (%v), want the clean store's", got, err)
	}
	// Every txid and address of the kept block is found at its number.
	c := s.Counts()
	for i, tx := range last.Txs {
		if n, err := s.TxNum(tx.TxID); err != nil || n != c.Txs-txs+uint64(i) {
			t.Fatalf("tx %d: number %d (%v), want %d", i, n, err, c.Txs-txs+uint64(i))
		}
	}
	for a := uint32(c.Addrs - txs); a < uint32(c.Addrs); a++ {
		if n, err := s.AddrNum(s.Address(a)); err != nil || n != a {
			t.Fatalf("address %d found as %d (%v)", a, n, err)
		}
	}
}

// A block may repeat the txid of a tx below it (two coinbases alike, as
// Bitcoin had before BIP30) and spend it: its inputs then spend the
// block's own tx, the later, though the spends of earlier outputs are
// found ahead of the append from the table as it stood before the block.
func TestRepeatedTxidSpentInItsBlock(t *testing.T) {
	s := openTemp(t)
	commitAll(t, s, mainnetBlocks(t))
	const txs = 5
	a := chainedBlock(t, s.TipHash(), 7, txs, btc.Hash{}, 0)
	commitAll(t, s, []*btc.Block{a})
	before := s.Counts()
	b := chainedBlock(t, a.Hash, 7, txs, btc.Hash{}, 0) // the same txs again
	if b.Txs[0].TxID != a.Txs[0].TxID || b.Txs[1].Inputs[0].PrevTxID != b.Txs[0].TxID {
		t.Fatal("blocks not as the test needs them")
	}
	appendAll(t, s, []*btc.Block{b})
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	// Input k of block b (its coinbase's is the first) spends output k-1
	// of b, not of a.
	for k := uint64(1); k < txs; k++ {
		if got, want := s.InputSpends(before.Inputs+k), before.Outputs+k-1; got != want {
			t.Fatalf("input %d of block b spends output %d, want %d (block b's)", k, got, want)
		}
		if got, want := s.InputSpends(before.Inputs-txs+k), before.Outputs-txs+k-1; got != want {
			t.Fatalf("input %d of block a spends output %d, want %d", k, got, want)
		}
	}
	if n, err := s.TxNum(a.Txs[0].TxID); err != nil || n != before.Txs {
		t.Fatalf("the repeated txid names tx %d (%v), want the later, %d", n, err, before.Txs)
	}
}

// An append refuses a block whose last tx spends an unknown tx, an output
// its tx does not have, pays an amount out of range or more than it spends;
// the error names the tx, and a rollback leaves the store as it was.
func TestAppendRefusesInconsistentBlocks(t *testing.T) {
	s := openTemp(t)
	commitAll(t, s, mainnetBlocks(t))
	want, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	good := chainedBlock(t, s.TipHash(), 3, 6, btc.Hash{}, 0)
	last := len(good.Txs) - 1
	spent := good.Txs[last-1].Outputs[0].Value
	for _, c := range []struct {
		edit func(tx *btc.Tx)
		is   error
		says string
	}{
		{func(tx *btc.Tx) { tx.Inputs[0].PrevTxID[5] ^= 1 }, ErrNotConnected, "input 0 spends unknown tx"},
		{func(tx *btc.Tx) { tx.Inputs[0].PrevIndex = 5 }, ErrCorrupt, "input 0 spends output 5 of tx"},
		{func(tx *btc.Tx) { tx.Outputs[0].Value = 1 << 60 }, ErrCorrupt, "output 0: value 1152921504606846976 out of range"},
		{func(tx *btc.Tx) { tx.Outputs[0].Value = 1 << 56 }, ErrCorrupt, "output 0: value 72057594037927936 out of range"},
		{func(tx *btc.Tx) { tx.Outputs[0].Value = spent + 1 }, ErrCorrupt, fmt.Sprintf("spends %d but pays %d", spent, spent+1)},
	} {
		txs := slices.Clone(good.Txs)
		tx := txs[last]
		tx.Inputs, tx.Outputs = slices.Clone(tx.Inputs), slices.Clone(tx.Outputs)
		c.edit(&tx)
		d, err := btc.DecodeTx(btc.AppendTx(nil, &tx))
		if err != nil {
			t.Fatal(err)
		}
		txs[last] = *d
		refused(t, s, withTxs(t, good, txs), want, c.is, c.says, d.TxID.String())
	}
	// The block as built is accepted.
	appendAll(t, s, []*btc.Block{good})
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestAppendRefusesOutputPastEnd: an input that spends the output just
// past the last of its tx (vout = the tx's output count) is refused, for a
// tx of an earlier block (found ahead of the append) as for one of the
// same block, rather than linked to the next tx's first output.
func TestAppendRefusesOutputPastEnd(t *testing.T) {
	s := openTemp(t)
	blocks := mainnetBlocks(t)
	commitAll(t, s, blocks)
	want, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	coinbase := blocks[len(blocks)-1].Txs[0] // one output, of 50 BTC
	good := chainedBlock(t, s.TipHash(), 7, 3, coinbase.TxID, coinbase.Outputs[0].Value)
	for _, c := range []struct {
		tx   int // the tx edited: 1 spends the earlier block's coinbase, 2 tx 1
		says string
	}{
		{1, fmt.Sprintf("input 0 spends output 1 of tx %s, which has 1", coinbase.TxID)},
		{2, fmt.Sprintf("input 0 spends output 1 of tx %s, which has 1", good.Txs[1].TxID)},
	} {
		txs := slices.Clone(good.Txs)
		tx := txs[c.tx]
		tx.Inputs = slices.Clone(tx.Inputs)
		tx.Inputs[0].PrevIndex = 1
		d, err := btc.DecodeTx(btc.AppendTx(nil, &tx))
		if err != nil {
			t.Fatal(err)
		}
		txs[c.tx] = *d
		if c.tx == 1 { // tx 2 spends tx 1 by its txid
			tx2 := txs[2]
			tx2.Inputs = slices.Clone(tx2.Inputs)
			tx2.Inputs[0].PrevTxID = d.TxID
			d2, _ := btc.DecodeTx(btc.AppendTx(nil, &tx2))
			txs[2] = *d2
		}
		refused(t, s, withTxs(t, good, txs), want, ErrCorrupt, c.says)
	}
	appendAll(t, s, []*btc.Block{good})
}

// withTxs is block b with txs for its transactions (its merkle root
// made again).
func withTxs(t *testing.T, b *btc.Block, txs []btc.Tx) *btc.Block {
	t.Helper()
	h := b.Header
	h.MerkleRoot = btc.MerkleRoot(txs)
	out, err := btc.DecodeBlock(btc.AppendBlock(nil, &h, txs))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// refused appends b, which the store must refuse with an error that is
// is and says each of says, and rolls it back: the store's digest must
// then be digest again.
func refused(t *testing.T, s *Store, b *btc.Block, digest string, is error, says ...string) {
	t.Helper()
	err := s.AppendBlock(Prepare(b))
	if !errors.Is(err, is) {
		t.Fatalf("got %v, want %v", err, is)
	}
	for _, w := range says {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("got %v, want it to say %q", err, w)
		}
	}
	if err := s.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Digest(); err != nil || got != digest {
		t.Fatalf("after %v: digest %s (%v), want the store as it was", is, got, err)
	}
}
