package btc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/spur-forensics/spur/internal/sha256d"
)

// Hash is a double-SHA-256 digest in internal byte order (the reverse of how
// it is printed).
type Hash = chainhash.Hash

// ErrCorrupt marks every decoding failure, so callers can tell bad input from
// other errors with errors.Is.
var ErrCorrupt = errors.New("btc: corrupt data")

// DecodeError says where in the input a decoder stopped.
type DecodeError struct {
	Offset int    // byte offset in the decoded buffer
	What   string // what was being read
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("btc: offset %d: %s: %v", e.Offset, e.What, e.Err)
}

// Unwrap gives ErrCorrupt, which every decoding error is, and its cause.
func (e *DecodeError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

var (
	errShort        = errors.New("unexpected end of data")
	errNonCanonical = errors.New("non-canonical compact size")
	errTooMany      = errors.New("count larger than the remaining bytes allow")
	errFlag         = errors.New("unknown segwit flag")
	errNoWitness    = errors.New("segwit flag set but every witness is empty")
)

// HeaderSize is the size of a serialized block header.
const HeaderSize = 80

// MaxBlockSize is the most bytes a serialized block may take on any network
// (Bitcoin Core's MAX_BLOCK_SERIALIZED_SIZE, btcd's wire.MaxBlockPayload): a
// block file frame that claims more is damage, not a block.
const MaxBlockSize = 4_000_000

// Header is a block header.
type Header struct {
	Version    int32
	Prev       Hash
	MerkleRoot Hash
	Time       uint32
	Bits       uint32
	Nonce      uint32
}

// Block is a decoded block. Its transactions' scripts and witnesses point
// into Raw, so Raw must not be changed while the block is in use.
type Block struct {
	Hash   Hash
	Header Header
	Txs    []Tx
	Raw    []byte // the whole serialized block

	// The backing arrays of the last decode, which Decode reuses: an
	// ingest decodes thousands of blocks a second, and fresh arrays for
	// each would cost more in clearing and collecting than in filling.
	ins   []TxIn
	outs  []TxOut
	spans []txSpan
}

// hashing is the memory a decode hashes in, from a pool: every decode of a
// block or a transaction (a fresh Block too) finds it grown already.
type hashing struct {
	batch   sha256d.Batch
	scratch []byte // the txid serializations of segwit transactions
	level   []byte // a merkle tree level
}

var hashingPool = sync.Pool{New: func() any { return new(hashing) }}

// txSpan is where a transaction's inputs and outputs lie in the block's
// backing arrays.
type txSpan struct{ in, nin, out, nout int }

// Tx is a decoded transaction.
type Tx struct {
	Version  int32
	LockTime uint32
	Inputs   []TxIn
	Outputs  []TxOut
	TxID     Hash // hash of the serialization without witnesses
	WTxID    Hash // hash of the full serialization (equals TxID without witnesses)
	Size     int  // bytes of the full serialization
	BaseSize int  // bytes without the witness data
	Segwit   bool
	Raw      []byte // the full serialization
}

// Weight is the transaction's weight in weight units (BIP141).
func (t *Tx) Weight() int { return t.BaseSize*3 + t.Size }

// VSize is the virtual size, rounded up as Bitcoin Core does.
func (t *Tx) VSize() int { return (t.Weight() + 3) / 4 }

// IsCoinbase reports whether the transaction has the single null input of a
// coinbase.
func (t *Tx) IsCoinbase() bool {
	return len(t.Inputs) == 1 && t.Inputs[0].PrevIndex == 0xffffffff && t.Inputs[0].PrevTxID == (Hash{})
}

// TxIn is a transaction input.
type TxIn struct {
	PrevTxID  Hash
	PrevIndex uint32
	ScriptSig []byte
	Sequence  uint32
	Witness   []byte // the serialized witness stack (item count, then items); nil without one
}

// WitnessItems splits the serialized witness stack into its items.
func (in *TxIn) WitnessItems() [][]byte {
	if len(in.Witness) == 0 {
		return nil
	}
	d := decoder{b: in.Witness, txIdx: -1}
	n := d.count(1)
	items := make([][]byte, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		items = append(items, d.varBytes())
	}
	return items
}

// TxOut is a transaction output.
type TxOut struct {
	Value  int64
	Script []byte
}

// decoder reads from a byte slice and remembers the first error. Every read
// after an error returns zero values, so callers check d.err once.
type decoder struct {
	b     []byte
	off   int
	err   error
	what  string
	txIdx int // index of the transaction being read, -1 outside one
	// legacy reads an empty input list as that, not as the segwit
	// marker (see DecodeRawTx).
	legacy bool
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		what := d.what
		if d.txIdx >= 0 {
			what = fmt.Sprintf("transaction %d", d.txIdx)
		}
		d.err = &DecodeError{Offset: d.off, What: what, Err: err}
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail(errShort)
		return nil
	}
	s := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return s
}

func (d *decoder) u8() byte {
	s := d.take(1)
	if s == nil {
		return 0
	}
	return s[0]
}

func (d *decoder) u32() uint32 {
	s := d.take(4)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(s)
}

func (d *decoder) u64() uint64 {
	s := d.take(8)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(s)
}

func (d *decoder) hash() (h Hash) {
	copy(h[:], d.take(32))
	return h
}

// compact reads a CompactSize integer, refusing non-canonical encodings as
// Bitcoin Core does.
func (d *decoder) compact() uint64 {
	switch p := d.u8(); p {
	case 0xfd:
		s := d.take(2)
		if s == nil {
			return 0
		}
		v := uint64(binary.LittleEndian.Uint16(s))
		if v < 0xfd {
			d.fail(errNonCanonical)
		}
		return v
	case 0xfe:
		v := uint64(d.u32())
		if d.err == nil && v <= 0xffff {
			d.fail(errNonCanonical)
		}
		return v
	case 0xff:
		v := d.u64()
		if d.err == nil && v <= 0xffffffff {
			d.fail(errNonCanonical)
		}
		return v
	default:
		return uint64(p)
	}
}

// count reads a CompactSize count of items at least minSize bytes each and
// refuses counts the remaining bytes cannot hold, so corrupt data cannot make
// the decoder allocate without bound.
func (d *decoder) count(minSize int) uint64 {
	n := d.compact()
	if d.err == nil && n > uint64(len(d.b)-d.off)/uint64(minSize) {
		d.fail(errTooMany)
		return 0
	}
	return n
}

func (d *decoder) varBytes() []byte {
	n := d.count(1)
	return d.take(int(n))
}

// DecodeHeader decodes an 80-byte block header.
func DecodeHeader(b []byte) (Header, error) {
	d := decoder{b: b, what: "block header", txIdx: -1}
	h := d.header()
	return h, d.err
}

func (d *decoder) header() Header {
	var h Header
	h.Version = int32(d.u32())
	h.Prev = d.hash()
	h.MerkleRoot = d.hash()
	h.Time = d.u32()
	h.Bits = d.u32()
	h.Nonce = d.u32()
	return h
}

// BlockHash returns the hash of an 80-byte serialized header.
func BlockHash(header []byte) Hash {
	return chainhash.DoubleHashH(header[:HeaderSize])
}

// DecodeBlock decodes a serialized block, hashes its transactions and checks
// its merkle root. The whole of b must be the block. The returned block keeps
// references into b.
func DecodeBlock(b []byte) (*Block, error) {
	blk := new(Block)
	if err := blk.Decode(b); err != nil {
		return nil, err
	}
	return blk, nil
}

// Decode is DecodeBlock into blk, reusing the memory of blk's earlier
// transactions, inputs and outputs: nothing from blk's last decode may be
// in use any more.
func (blk *Block) Decode(b []byte) error {
	h := hashingPool.Get().(*hashing)
	defer hashingPool.Put(h)
	if err := blk.decode(b, h); err != nil {
		return err
	}
	root := merkleRoot(blk.Txs, h)
	if root != blk.Header.MerkleRoot {
		return fmt.Errorf("%w: block %s: merkle root %s, header says %s", ErrCorrupt, blk.Hash, root, blk.Header.MerkleRoot)
	}
	return nil
}

// DecodeBlockNoCheck decodes and hashes like DecodeBlock but does not check
// the merkle root.
func DecodeBlockNoCheck(b []byte) (*Block, error) {
	blk := new(Block)
	h := hashingPool.Get().(*hashing)
	defer hashingPool.Put(h)
	if err := blk.decode(b, h); err != nil {
		return nil, err
	}
	return blk, nil
}

// decode is DecodeBlockNoCheck into blk, hashing in h.
func (blk *Block) decode(b []byte, h *hashing) error {
	d := decoder{b: b, what: "block header", txIdx: -1}
	blk.Raw = b
	blk.Header = d.header()
	if d.err != nil {
		return d.err
	}
	blk.Hash = BlockHash(b)
	d.what = "transaction count"
	// The smallest transaction is 60 bytes (version, one input, no output,
	// lock time); counting 10 bytes is a loose bound that still stops a
	// corrupt count from allocating gigabytes.
	ntx := d.count(10)
	if d.err != nil {
		return d.err
	}
	if ntx == 0 {
		return &DecodeError{Offset: d.off, What: "transaction count", Err: errors.New("block has no transactions")}
	}
	blk.Txs = resize(blk.Txs, int(ntx))
	blk.spans = resize(blk.spans, int(ntx))
	// One backing array each for all inputs and outputs of the block: count
	// them on the fly and slice at the end.
	ins, outs := blk.ins[:0], blk.outs[:0]
	h.batch.Grow(2 * int(ntx)) // a txid and at most a wtxid each
	h.scratch = h.scratch[:0]
	if cap(ins) == 0 {
		ins = make([]TxIn, 0, ntx*2)
		outs = make([]TxOut, 0, ntx*2)
	}
	for i := range blk.Txs {
		d.txIdx = i
		tx := &blk.Txs[i]
		*tx = Tx{}
		sp := txSpan{in: len(ins), out: len(outs)}
		ins, outs = d.tx(tx, ins, outs, h)
		if d.err != nil {
			blk.ins, blk.outs = ins, outs
			h.batch.Reset()
			return d.err
		}
		sp.nin, sp.nout = len(ins)-sp.in, len(outs)-sp.out
		blk.spans[i] = sp
	}
	blk.ins, blk.outs = ins, outs
	d.txIdx = -1
	// The txids and wtxids, two transactions at a time.
	h.batch.Run()
	for i := range blk.Txs {
		if tx := &blk.Txs[i]; !tx.Segwit {
			tx.WTxID = tx.TxID
		}
	}
	if d.off != len(b) {
		return &DecodeError{Offset: d.off, What: "block", Err: fmt.Errorf("%d bytes after the last transaction", len(b)-d.off)}
	}
	for i := range blk.Txs {
		sp := blk.spans[i]
		blk.Txs[i].Inputs = ins[sp.in : sp.in+sp.nin : sp.in+sp.nin]
		blk.Txs[i].Outputs = outs[sp.out : sp.out+sp.nout : sp.out+sp.nout]
	}
	return nil
}

// resize returns s with length n, reusing its array when it is large enough.
func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// DecodeTx decodes one serialized transaction; the whole of b must be it.
// An empty input list is the segwit marker, as in a block.
func DecodeTx(b []byte) (*Tx, error) {
	return decodeTx(b, false)
}

// DecodeRawTx reads a transaction as Bitcoin Core's decoderawtransaction
// does: both with the segwit marker and, since the marker's bytes also
// begin a transaction with no inputs (one not yet funded), without it.
// When only one reading takes all of b, that one; when both do, the segwit
// one, unless only the other's scripts all parse. When neither does, the
// segwit reading's error.
func DecodeRawTx(b []byte) (*Tx, error) {
	ext, err := decodeTx(b, false)
	leg, legErr := decodeTx(b, true)
	switch {
	case err != nil && legErr != nil:
		return nil, err
	case err != nil:
		return leg, nil
	case legErr != nil:
		return ext, nil
	case !scriptsParse(ext) && scriptsParse(leg):
		return leg, nil
	}
	return ext, nil
}

// scriptsParse mirrors Bitcoin Core's CheckTxScriptsSanity: every output
// script, and every input script of a transaction that is not a coinbase,
// parses into known opcodes and is at most 10,000 bytes.
func scriptsParse(tx *Tx) bool {
	ok := func(s []byte) bool { return len(s) <= maxScriptSize && validOps(s) }
	if !tx.IsCoinbase() {
		for _, in := range tx.Inputs {
			if !ok(in.ScriptSig) {
				return false
			}
		}
	}
	for _, o := range tx.Outputs {
		if !ok(o.Script) {
			return false
		}
	}
	return true
}

func decodeTx(b []byte, legacy bool) (*Tx, error) {
	d := decoder{b: b, what: "transaction", txIdx: -1, legacy: legacy}
	tx := &Tx{}
	h := hashingPool.Get().(*hashing)
	defer hashingPool.Put(h)
	h.scratch = h.scratch[:0]
	ins, outs := d.tx(tx, nil, nil, h)
	h.batch.Run()
	if !tx.Segwit {
		tx.WTxID = tx.TxID
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.off != len(b) {
		return nil, &DecodeError{Offset: d.off, What: "transaction", Err: fmt.Errorf("%d bytes after the transaction", len(b)-d.off)}
	}
	tx.Inputs, tx.Outputs = ins, outs
	return tx, nil
}

// tx decodes one transaction at the decoder's offset, appending its inputs
// and outputs to ins and outs (tx.Inputs and tx.Outputs are left for the
// caller to slice). A segwit transaction's txid serialization is appended to
// h.scratch. Its hashes are queued in h.batch: the txid, and the wtxid of a
// segwit transaction (the caller sets a legacy one's to its txid).
func (d *decoder) tx(tx *Tx, ins []TxIn, outs []TxOut, h *hashing) ([]TxIn, []TxOut) {
	start := d.off
	tx.Version = int32(d.u32())
	nin := d.count(41)
	if d.err != nil {
		return ins, outs
	}
	var flag byte
	bodyStart := start + 4 // first byte after version (and segwit marker and flag)
	if nin == 0 && !d.legacy {
		// BIP144: an empty input list is the segwit marker; the flag follows.
		flag = d.u8()
		if d.err != nil {
			return ins, outs
		}
		if flag != 1 {
			d.fail(errFlag)
			return ins, outs
		}
		bodyStart = d.off
		nin = d.count(41)
	}
	firstIn := len(ins)
	b := d.b
	for i := uint64(0); i < nin && d.err == nil; i++ {
		// The common input whole, when its script's length takes one
		// byte and all of it is there; any other the field readers take,
		// and they name where it goes wrong.
		if off := d.off; off+41 <= len(b) && b[off+36] < 0xfd {
			script := off + 37
			if end := script + int(b[off+36]) + 4; end <= len(b) {
				ins = append(ins, TxIn{
					PrevTxID:  Hash(b[off : off+32]),
					PrevIndex: binary.LittleEndian.Uint32(b[off+32:]),
					ScriptSig: b[script : end-4 : end-4],
					Sequence:  binary.LittleEndian.Uint32(b[end-4:]),
				})
				d.off = end
				continue
			}
		}
		var in TxIn
		in.PrevTxID = d.hash()
		in.PrevIndex = d.u32()
		in.ScriptSig = d.varBytes()
		in.Sequence = d.u32()
		ins = append(ins, in)
	}
	nout := d.count(9)
	for i := uint64(0); i < nout && d.err == nil; i++ {
		if off := d.off; off+9 <= len(b) && b[off+8] < 0xfd {
			if end := off + 9 + int(b[off+8]); end <= len(b) {
				outs = append(outs, TxOut{Value: int64(binary.LittleEndian.Uint64(b[off:])), Script: b[off+9 : end : end]})
				d.off = end
				continue
			}
		}
		var out TxOut
		out.Value = int64(d.u64())
		out.Script = d.varBytes()
		outs = append(outs, out)
	}
	bodyEnd := d.off
	if d.err != nil {
		return ins, outs
	}
	if flag == 1 {
		any := false
		for i := firstIn; i < len(ins) && d.err == nil; i++ {
			ws := d.off
			n := d.count(1)
			for j := uint64(0); j < n && d.err == nil; j++ {
				d.varBytes()
			}
			if n > 0 {
				any = true
				ins[i].Witness = d.b[ws:d.off:d.off]
			}
		}
		if d.err == nil && !any {
			// Bitcoin Core refuses a superfluous witness record.
			d.fail(errNoWitness)
		}
	}
	tx.LockTime = d.u32()
	if d.err != nil {
		return ins, outs
	}
	tx.Raw = d.b[start:d.off:d.off]
	tx.Size = d.off - start
	if flag == 1 {
		tx.Segwit = true
		// txid covers version | inputs and outputs | lock time. An
		// earlier transaction's copy stays where it is, in this array
		// or, if append moves it, the old one.
		if cap(h.scratch) < len(d.b) && len(h.scratch) == 0 {
			// All of the block's copies fit in its size: grown once,
			// not by doubling.
			h.scratch = make([]byte, 0, len(d.b))
		}
		n := len(h.scratch)
		h.scratch = append(h.scratch, d.b[start:start+4]...)
		h.scratch = append(h.scratch, d.b[bodyStart:bodyEnd]...)
		h.scratch = append(h.scratch, d.b[d.off-4:d.off]...)
		end := len(h.scratch)
		tx.BaseSize = end - n
		h.batch.Add(h.scratch[n:end:end], (*[32]byte)(&tx.TxID))
		h.batch.Add(tx.Raw, (*[32]byte)(&tx.WTxID))
	} else {
		tx.BaseSize = tx.Size
		h.batch.Add(tx.Raw, (*[32]byte)(&tx.TxID))
	}
	return ins, outs
}

// MerkleRoot computes the merkle root of the transactions' txids, duplicating
// the last hash of an odd level as Bitcoin does.
func MerkleRoot(txs []Tx) Hash {
	h := hashingPool.Get().(*hashing)
	defer hashingPool.Put(h)
	return merkleRoot(txs, h)
}

// merkleRoot is MerkleRoot working in buf, which it returns for reuse, with
// hashes: each level's nodes are hashed together, over the level below in
// place (node i over the pair at 2i).
func merkleRoot(txs []Tx, h *hashing) Hash {
	if len(txs) == 0 {
		return Hash{}
	}
	n := len(txs)
	h.level = resize(h.level, 32*(n+1)) // room for the duplicate of an odd level
	buf := h.level
	for i := range txs {
		copy(buf[32*i:], txs[i].TxID[:])
	}
	for n > 1 {
		if n%2 == 1 {
			copy(buf[32*n:32*n+32], buf[32*(n-1):32*n])
			n++
		}
		for i := 0; i < n/2; i++ {
			h.batch.Add(buf[64*i:64*i+64], (*[32]byte)(buf[32*i:32*i+32]))
		}
		h.batch.Run()
		n /= 2
	}
	return Hash(buf[:32])
}
