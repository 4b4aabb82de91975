package evm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/golang/snappy"
)

const era1File = "../../testdata/evm/era1/sepolia-00021-b8814b14.era1"

const sepoliaID = 11155111

func TestEra1(t *testing.T) {
	e, err := OpenEra1([]string{era1File}, sepoliaID)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var blocks, txs, creations, transfers int
	var prev common.Hash
	for want := uint64(172032); ; want++ {
		b, err := e.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Number != want || blocks > 0 && b.Parent != prev {
			t.Fatalf("block %d (parent %s) where %d after %s was expected", b.Number, b.Parent.Hex(), want, prev.Hex())
		}
		prev = b.Hash
		blocks++
		for _, tx := range b.Txs {
			txs++
			if tx.Contract != nil {
				creations++
				if *tx.Contract != crypto.CreateAddress(tx.From, tx.Nonce) {
					t.Fatal("contract address")
				}
			}
			if !tx.Receipt || tx.GasUsed == 0 || tx.GasUsed > tx.Gas || tx.Status != StatusOK && tx.Status != StatusFailed {
				t.Fatalf("tx %s: %+v", tx.Hash.Hex(), tx)
			}
		}
		transfers += len(b.Transfers())
	}
	// The counts go-ethereum's provenance note gives for this file.
	if blocks != 8192 || txs != 93 || creations != 28 {
		t.Fatalf("%d blocks, %d txs, %d creations; want 8192, 93, 28", blocks, txs, creations)
	}
	if transfers < txs {
		t.Fatalf("%d transfers for %d txs: fees missing", transfers, txs)
	}
	t.Logf("%d transfers", transfers)
}

// A damaged archive names the file and offset; no block past the damage
// is returned as good.
func TestEra1Corrupt(t *testing.T) {
	orig, err := os.ReadFile(era1File)
	if err != nil {
		t.Fatal(err)
	}
	// Find the entries: flip the last byte of the first non-empty receipts
	// entry, and cut the file in the middle of an entry.
	off, firstRcpt := 0, -1
	var rcptSize int
	for off < len(orig) {
		typ := int(orig[off]) | int(orig[off+1])<<8
		size := int(orig[off+2]) | int(orig[off+3])<<8 | int(orig[off+4])<<16 | int(orig[off+5])<<24
		if typ == e2Receipts && size > 40 && firstRcpt < 0 {
			firstRcpt, rcptSize = off, size
		}
		off += 8 + size
	}
	if firstRcpt < 0 {
		t.Fatal("no receipts entry found")
	}
	cases := map[string][]byte{
		"receipts":  func() []byte { b := append([]byte(nil), orig...); b[firstRcpt+8+rcptSize-1] ^= 0xff; return b }(),
		"truncated": orig[:len(orig)/2],
		"receipts root": func() []byte {
			// Decompress the receipts, change a byte of their RLP, compress
			// again: the snappy layer is fine, the root is not.
			raw, err := unsnappy(orig[firstRcpt+8 : firstRcpt+8+rcptSize])
			if err != nil {
				t.Fatal(err)
			}
			// A bit in the logs bloom, which is 256 bytes of zeros here.
			i := bytes.Index(raw, make([]byte, 64))
			if i < 0 {
				t.Fatal("no bloom in the receipts")
			}
			raw[i+10] = 0x01
			var buf bytes.Buffer
			w := snappy.NewBufferedWriter(&buf)
			w.Write(raw)
			w.Close()
			b := append([]byte(nil), orig[:firstRcpt]...)
			hdr := []byte{e2Receipts, 0, 0, 0, 0, 0, 0, 0}
			binary.LittleEndian.PutUint32(hdr[2:], uint32(buf.Len()))
			b = append(append(b, hdr...), buf.Bytes()...)
			return append(b, orig[firstRcpt+8+rcptSize:]...)
		}(),
		"not era1": []byte("blocks.csv\n1,2,3\n"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.era1")
			os.WriteFile(p, data, 0o644)
			e, err := OpenEra1([]string{p}, sepoliaID)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			for err == nil {
				_, err = e.Next()
			}
			if err == io.EOF || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "bad.era1 offset") ||
				name == "receipts root" && !strings.Contains(err.Error(), "receipts root") {
				t.Fatalf("error %v", err)
			}
			t.Log(err)
		})
	}
}

// An entry whose length field claims more than the file holds is refused
// before anything that size is allocated.
func TestEra1LengthPastTheEnd(t *testing.T) {
	orig, err := os.ReadFile(era1File)
	if err != nil {
		t.Fatal(err)
	}
	// The version entry, then a header entry claiming 200 MiB.
	size := 8 + int(binary.LittleEndian.Uint32(orig[2:]))
	b := append([]byte(nil), orig[:size]...)
	b = append(b, e2Header, 0, 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[size+2:], 200<<20)
	b = append(b, make([]byte, 100)...)
	p := filepath.Join(t.TempDir(), "long.era1")
	os.WriteFile(p, b, 0o644)
	e, err := OpenEra1([]string{p}, sepoliaID)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = e.Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), fmt.Sprintf("long.era1 offset %d: truncated entry: 100 of 209715200 bytes", size)) {
		t.Fatalf("error %v", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Fatalf("allocated %d bytes to find that out", got)
	}
}

func unsnappy(b []byte) ([]byte, error) {
	return io.ReadAll(snappy.NewReader(bytes.NewReader(b)))
}

// TestEra1FrontierSignature reads a block whose transaction is signed as
// only Frontier allowed (s in the upper half of the curve's order, as
// mainnet's blocks before Homestead may hold): its sender is recovered, where
// Homestead's rules, which go-ethereum's signers apply to every unprotected
// transaction, refuse it.
func TestEra1FrontierSignature(t *testing.T) {
	key, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	if err != nil {
		t.Fatal(err)
	}
	to := common.HexToAddress("0x5df9b87991262f6ba471f09758cde1c0fc1de734")
	low, err := types.SignTx(types.NewTx(&types.LegacyTx{Nonce: 0, GasPrice: big.NewInt(50e9), Gas: 21000, To: &to, Value: big.NewInt(31337)}), types.HomesteadSigner{}, key)
	if err != nil {
		t.Fatal(err)
	}
	v, r, s := low.RawSignatureValues()
	high := types.NewTx(&types.LegacyTx{Nonce: 0, GasPrice: big.NewInt(50e9), Gas: 21000, To: &to, Value: big.NewInt(31337),
		V: new(big.Int).Sub(big.NewInt(55), v), R: r, S: new(big.Int).Sub(crypto.S256().Params().N, s)})
	if _, err := types.Sender(types.LatestSignerForChainID(big.NewInt(1)), high); err == nil {
		t.Fatal("Homestead's rules took the high-s signature; the test proves nothing")
	}
	receipt := &types.Receipt{PostState: common.HexToHash("0x01").Bytes(), CumulativeGasUsed: 21000, Logs: []*types.Log{}}
	receipt.Bloom = types.CreateBloom(receipt)
	txs, receipts := types.Transactions{high}, types.Receipts{receipt}
	header := &types.Header{Number: big.NewInt(46147), ParentHash: common.HexToHash("0x01"), Coinbase: to, Difficulty: big.NewInt(1),
		GasLimit: 21000, GasUsed: 21000, Time: 1438918233, UncleHash: types.EmptyUncleHash, Root: common.HexToHash("0x02"),
		TxHash: types.DeriveSha(txs, trie.NewStackTrie(nil)), ReceiptHash: types.DeriveSha(receipts, trie.NewStackTrie(nil))}
	var file bytes.Buffer
	entry := func(typ uint16, v any) {
		var data []byte
		if v != nil {
			raw, err := rlp.EncodeToBytes(v)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			w := snappy.NewBufferedWriter(&b)
			w.Write(raw)
			w.Close()
			data = b.Bytes()
		}
		var h [8]byte
		binary.LittleEndian.PutUint16(h[:], typ)
		binary.LittleEndian.PutUint32(h[2:], uint32(len(data)))
		file.Write(h[:])
		file.Write(data)
	}
	entry(0x3265, nil)
	entry(0x03, header)
	entry(0x04, &types.Body{Transactions: txs})
	entry(0x05, receipts)
	path := filepath.Join(t.TempDir(), "mainnet-00005-00000000.era1")
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := OpenEra1([]string{path}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	b, err := e.Next()
	if err != nil {
		t.Fatal(err)
	}
	if want := crypto.PubkeyToAddress(key.PublicKey); len(b.Txs) != 1 || b.Txs[0].From != want || b.Txs[0].Hash != high.Hash() {
		t.Fatalf("block %d: %+v, want one tx from %s", b.Number, b.Txs, want.Hex())
	}
}
