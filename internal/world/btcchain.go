package world

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/spur-forensics/spur/internal/btc"
)

// genesisTx is the coinbase of Bitcoin's genesis block, which regtest shares.
const genesisTx = "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000"

// RegtestGenesis returns the serialized regtest genesis block.
func RegtestGenesis() []byte {
	tx, _ := hex.DecodeString(genesisTx)
	dtx, err := btc.DecodeTx(tx)
	if err != nil {
		panic("BUG: genesis tx: " + err.Error())
	}
	h := btc.Header{Version: 1, MerkleRoot: dtx.TxID, Time: 1296688602, Bits: 0x207fffff, Nonce: 2}
	return append(btc.AppendCompact(btc.AppendHeader(nil, &h), 1), tx...)
}

// ChainOptions shape a synthetic Bitcoin chain.
type ChainOptions struct {
	Seed        uint64
	Blocks      int // blocks after genesis
	TxsPerBlock int // besides the coinbase
	// FileSize caps each blk file, as Bitcoin Core's 128 MiB. Default 128 MiB.
	FileSize int
	// XorKey, when set, obfuscates the files as Bitcoin Core 28+ does.
	XorKey []byte
	// MaxUTXOs bounds the pool of spendable outputs the generator keeps, so
	// its memory stays flat however long the chain. Default 1<<20.
	MaxUTXOs int
}

type utxo struct {
	txid  btc.Hash
	vout  uint32
	value int64
	kind  uint8
}

// Script kinds in the mix, weighted roughly as on the 2021-2024 chain.
const (
	kindWPKH = iota
	kindPKH
	kindSH
	kindTR
	kindWSH
	numKinds
)

var kindWeights = [numKinds]int{45, 25, 15, 10, 5}

// WriteChain writes a regtest chain into dir as blk*.dat files (and xor.dat)
// and returns the number of transactions written.
func WriteChain(dir string, o ChainOptions) (int, error) {
	if o.FileSize == 0 {
		o.FileSize = 128 << 20
	}
	if o.MaxUTXOs == 0 {
		o.MaxUTXOs = 1 << 20
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	if o.XorKey != nil {
		if err := os.WriteFile(filepath.Join(dir, "xor.dat"), o.XorKey, 0o644); err != nil {
			return 0, err
		}
	}
	g := &gen{rng: rand.New(rand.NewPCG(o.Seed, 0x5b0)), o: o, dir: dir}
	net, _ := btc.LookupNetwork("regtest")
	g.magic = net.Magic
	genesis := RegtestGenesis()
	if err := g.writeBlock(genesis); err != nil {
		return 0, err
	}
	prev := btc.BlockHash(genesis)
	ntx := 1
	t := uint32(1600000000)
	for h := 1; h <= o.Blocks; h++ {
		txs := g.block(h)
		ntx += len(txs)
		hdr := btc.Header{Version: 0x20000000, Prev: prev, MerkleRoot: btc.MerkleRoot(txs), Time: t, Bits: 0x207fffff, Nonce: uint32(h)}
		t += 600
		raw := btc.AppendBlock(nil, &hdr, txs)
		if err := g.writeBlock(raw); err != nil {
			return 0, err
		}
		prev = btc.BlockHash(raw)
	}
	return ntx, g.close()
}

type gen struct {
	rng   *rand.Rand
	o     ChainOptions
	dir   string
	magic [4]byte
	pool  []utxo
	reuse [][]byte // recently paid scripts, for address reuse
	f     *os.File
	fileN int
	off   int64
	buf   []byte
}

func (g *gen) writeBlock(raw []byte) error {
	if len(raw) > btc.MaxBlockSize {
		return fmt.Errorf("world: a block of %d bytes is more than a block can be (%d bytes): fewer transactions per block", len(raw), btc.MaxBlockSize)
	}
	if g.f == nil || g.off+int64(len(raw))+8 > int64(g.o.FileSize) {
		if g.f != nil {
			if err := g.f.Close(); err != nil {
				return err
			}
			g.fileN++
		}
		f, err := os.Create(filepath.Join(g.dir, fmt.Sprintf("blk%05d.dat", g.fileN)))
		if err != nil {
			return err
		}
		g.f, g.off = f, 0
	}
	g.buf = append(g.buf[:0], g.magic[:]...)
	g.buf = binary.LittleEndian.AppendUint32(g.buf, uint32(len(raw)))
	g.buf = append(g.buf, raw...)
	if k := g.o.XorKey; k != nil {
		for i := range g.buf {
			g.buf[i] ^= k[(g.off+int64(i))%int64(len(k))]
		}
	}
	if _, err := g.f.Write(g.buf); err != nil {
		return err
	}
	g.off += int64(len(g.buf))
	return nil
}

func (g *gen) close() error {
	if g.f != nil {
		return g.f.Close()
	}
	return nil
}

func (g *gen) bytes(n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], g.rng.Uint64())
	}
	return b[:n:n]
}

func (g *gen) kind() uint8 {
	r := g.rng.IntN(100)
	for k, w := range kindWeights {
		if r < w {
			return uint8(k)
		}
		r -= w
	}
	return kindWPKH
}

// script returns an output script of the kind: a fresh one, or one paid
// before (about one output in five reuses an address).
func (g *gen) script(kind uint8) []byte {
	if len(g.reuse) > 0 && g.rng.IntN(5) == 0 {
		return g.reuse[g.rng.IntN(len(g.reuse))]
	}
	var s []byte
	switch kind {
	case kindWPKH:
		s = append([]byte{0x00, 20}, g.bytes(20)...)
	case kindPKH:
		s = append(append([]byte{0x76, 0xa9, 20}, g.bytes(20)...), 0x88, 0xac)
	case kindSH:
		s = append(append([]byte{0xa9, 20}, g.bytes(20)...), 0x87)
	case kindTR:
		s = append([]byte{0x51, 32}, g.bytes(32)...)
	default:
		s = append([]byte{0x00, 32}, g.bytes(32)...)
	}
	if len(g.reuse) < 4096 {
		g.reuse = append(g.reuse, s)
	} else {
		g.reuse[g.rng.IntN(len(g.reuse))] = s
	}
	return s
}

func kindOf(s []byte) uint8 {
	switch btc.Classify(s) {
	case btc.PubKeyHash:
		return kindPKH
	case btc.ScriptHash:
		return kindSH
	case btc.WitnessV1Taproot:
		return kindTR
	case btc.WitnessV0ScriptHash:
		return kindWSH
	}
	return kindWPKH
}

// spendData returns a scriptSig and witness of realistic size for the kind.
func (g *gen) spendData(kind uint8) (sig, wit []byte) {
	push := func(dst []byte, n int) []byte { return append(append(dst, byte(n)), g.bytes(n)...) }
	switch kind {
	case kindPKH:
		return push(push(nil, 72), 33), nil
	case kindSH: // P2SH-P2WPKH
		return push(nil, 22), push(push([]byte{2}, 72), 33)
	case kindTR:
		return nil, push([]byte{1}, 64)
	case kindWSH: // 2-of-3 multisig
		w := []byte{4, 0}
		w = push(push(w, 72), 72)
		return nil, push(w, 105)
	}
	return nil, push(push([]byte{2}, 72), 33)
}

func (g *gen) block(height int) []btc.Tx {
	txs := make([]btc.Tx, 0, g.o.TxsPerBlock+1)
	var fees int64
	var body []btc.Tx
	for range g.o.TxsPerBlock {
		if len(g.pool) == 0 {
			break
		}
		nin := 1 + g.rng.IntN(3)
		if g.rng.IntN(50) == 0 {
			nin = 5 + g.rng.IntN(20) // consolidations
		}
		tx := btc.Tx{Version: 2}
		var in int64
		for i := 0; i < nin && len(g.pool) > 0; i++ {
			k := g.rng.IntN(len(g.pool))
			u := g.pool[k]
			g.pool[k] = g.pool[len(g.pool)-1]
			g.pool = g.pool[:len(g.pool)-1]
			sig, wit := g.spendData(u.kind)
			tx.Inputs = append(tx.Inputs, btc.TxIn{PrevTxID: u.txid, PrevIndex: u.vout, ScriptSig: sig, Witness: wit, Sequence: 0xfffffffd})
			in += u.value
		}
		fee := int64(200 + g.rng.IntN(3000))
		if in <= fee+1092 {
			fee = 0
		}
		pay := (in - fee) * int64(10+g.rng.IntN(80)) / 100
		outs := []int64{pay, in - fee - pay}
		if g.rng.IntN(10) == 0 {
			outs = append(outs, outs[1]/2)
			outs[1] -= outs[2]
		}
		for _, v := range outs {
			tx.Outputs = append(tx.Outputs, btc.TxOut{Value: v, Script: g.script(g.kind())})
		}
		fees += fee
		body = append(body, g.finish(tx))
	}
	// The coinbase: BIP34 height push, the subsidy plus fees.
	cbSig := binary.LittleEndian.AppendUint32([]byte{4}, uint32(height))
	cb := btc.Tx{Version: 2, Inputs: []btc.TxIn{{PrevIndex: 0xffffffff, ScriptSig: cbSig, Sequence: 0xffffffff}}}
	// While the pool is too small to fill blocks, the coinbase pays many
	// outputs (a mining pool's payout), so blocks reach full size early.
	nout := 1
	if len(g.pool) < 2*g.o.TxsPerBlock {
		nout = max(g.o.TxsPerBlock, 1)
	}
	reward := 50e8 + fees
	for i := range nout {
		v := reward / int64(nout)
		if i == 0 {
			v += reward % int64(nout)
		}
		cb.Outputs = append(cb.Outputs, btc.TxOut{Value: v, Script: g.script(g.kind())})
	}
	txs = append(txs, g.finish(cb))
	txs = append(txs, body...)
	// New outputs join the pool (bounded: old ones are dropped at random).
	for i := range txs {
		for v, o := range txs[i].Outputs {
			if o.Value < 1092 {
				continue
			}
			u := utxo{txid: txs[i].TxID, vout: uint32(v), value: o.Value, kind: kindOf(o.Script)}
			if len(g.pool) < g.o.MaxUTXOs {
				g.pool = append(g.pool, u)
			} else {
				g.pool[g.rng.IntN(len(g.pool))] = u
			}
		}
	}
	return txs
}

// finish serializes the transaction and decodes it back, which fills in
// its hashes and sizes.
func (g *gen) finish(tx btc.Tx) btc.Tx {
	raw := btc.AppendTx(nil, &tx)
	d, err := btc.DecodeTx(raw)
	if err != nil {
		panic("BUG: generated tx does not decode: " + err.Error())
	}
	return *d
}
