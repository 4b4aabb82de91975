package evm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"sort"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/golang/snappy"
	"github.com/holiman/uint256"
)

// e2store entry types of era1 files.
const (
	e2Version     = 0x3265
	e2Header      = 0x03
	e2Body        = 0x04
	e2Receipts    = 0x05
	e2TotalDiff   = 0x06
	e2Accumulator = 0x07
	e2BlockIndex  = 0x3266
)

// Era1 reads era1 archives (pre-merge history: per block a snappy-framed
// RLP header, body and receipts in an e2store file) in block order. Each
// block's transactions root and receipts root are checked against its
// header. Senders are recovered from signatures. Era1 files carry no
// internal calls, so a block from them has no traces: internal transfers
// are not seen. Mining rewards are credited by the chain's rules
// (MiningRewards) for the chains mined with proof of work.
type Era1 struct {
	paths   []string
	i       int
	f       *os.File
	r       *bufio.Reader
	off     int64 // of the next entry in the open file
	size    int64 // the open file's
	signer  types.Signer
	chainID uint64
	path    string
	snappy  *snappy.Reader
	src     bytes.Reader
	buf     bytes.Buffer
}

// OpenEra1 reads the given era1 files or directories of them, in name
// order, for the chain with chainID (for sender recovery).
func OpenEra1(paths []string, chainID uint64) (*Era1, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("evm: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		m, _ := filepath.Glob(filepath.Join(p, "*.era1"))
		sort.Strings(m)
		files = append(files, m...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no .era1 files in %v", ErrInput, paths)
	}
	return &Era1{paths: files, i: -1, signer: types.LatestSignerForChainID(new(big.Int).SetUint64(chainID)), chainID: chainID}, nil
}

// Close closes the open file.
func (e *Era1) Close() {
	if e.f != nil {
		e.f.Close()
		e.f = nil
	}
}

func (e *Era1) errorf(off int64, format string, args ...any) error {
	return fmt.Errorf("%w: %s offset %d: %s", ErrInput, e.path, off, fmt.Sprintf(format, args...))
}

// entry reads the next e2store entry; io.EOF at the end of the last file.
func (e *Era1) entry() (typ uint16, data []byte, off int64, err error) {
	for {
		if e.f == nil {
			e.i++
			if e.i >= len(e.paths) {
				return 0, nil, 0, io.EOF
			}
			e.path = e.paths[e.i]
			if e.f, err = os.Open(e.path); err != nil {
				return 0, nil, 0, fmt.Errorf("evm: %w", err)
			}
			st, err := e.f.Stat()
			if err != nil {
				return 0, nil, 0, fmt.Errorf("evm: %w", err)
			}
			e.r = bufio.NewReaderSize(e.f, 1<<20)
			e.off, e.size = 0, st.Size()
		}
		var hdr [8]byte
		off = e.off
		n, err := io.ReadFull(e.r, hdr[:])
		if err == io.EOF {
			e.Close()
			continue
		}
		if err != nil {
			return 0, nil, off, e.errorf(off, "truncated entry header (%d of 8 bytes)", n)
		}
		typ = binary.LittleEndian.Uint16(hdr[:])
		size := binary.LittleEndian.Uint32(hdr[2:])
		if hdr[6] != 0 || hdr[7] != 0 {
			return 0, nil, off, e.errorf(off, "entry header's reserved bytes are not zero; not an e2store file")
		}
		if off == 0 && typ != e2Version {
			return 0, nil, off, e.errorf(off, "does not start with an e2store version entry; not an era1 file")
		}
		if size > 1<<28 {
			return 0, nil, off, e.errorf(off, "entry of %d bytes", size)
		}
		// A damaged length is found out before it is allocated.
		if left := e.size - off - 8; int64(size) > left {
			return 0, nil, off, e.errorf(off, "truncated entry: %d of %d bytes", max(left, 0), size)
		}
		data = make([]byte, size)
		if n, err := io.ReadFull(e.r, data); err != nil {
			return 0, nil, off, e.errorf(off, "truncated entry: %d of %d bytes", n, size)
		}
		e.off += 8 + int64(size)
		return typ, data, off, nil
	}
}

// unsnappy decompresses one entry with the file's reader: a new snappy
// reader allocates two 64 KiB buffers, which for three small entries per
// block was most of the work.
func (e *Era1) unsnappy(b []byte) ([]byte, error) {
	if e.snappy == nil {
		e.snappy = snappy.NewReader(nil)
	}
	e.src.Reset(b)
	e.snappy.Reset(&e.src)
	e.buf.Reset()
	if _, err := e.buf.ReadFrom(e.snappy); err != nil {
		return nil, err
	}
	return bytes.Clone(e.buf.Bytes()), nil
}

// Next returns the next block, or io.EOF after the last.
func (e *Era1) Next() (*Block, error) {
	hdr, body, rcpt, off, err := e.NextRaw()
	if err != nil {
		return nil, err
	}
	return e.block(hdr, body, rcpt, off)
}

// NextRaw returns the next block's RLP header, body and receipts, as stored
// (decompressed), and the offset of its header entry; io.EOF after the last.
func (e *Era1) NextRaw() (hdrRLP, bodyRLP, rcptRLP []byte, hdrOff int64, err error) {
	for {
		typ, data, off, err := e.entry()
		if err != nil {
			if err == io.EOF && hdrRLP != nil {
				return nil, nil, nil, 0, e.errorf(e.off, "file ends inside a block")
			}
			return nil, nil, nil, 0, err
		}
		switch typ {
		case e2Header:
			if hdrRLP != nil {
				return nil, nil, nil, 0, e.errorf(off, "header without body and receipts before it")
			}
			if hdrRLP, err = e.unsnappy(data); err != nil {
				return nil, nil, nil, 0, e.errorf(off, "header: snappy: %v", err)
			}
			hdrOff = off
		case e2Body:
			if hdrRLP == nil || bodyRLP != nil {
				return nil, nil, nil, 0, e.errorf(off, "body out of place")
			}
			if bodyRLP, err = e.unsnappy(data); err != nil {
				return nil, nil, nil, 0, e.errorf(off, "body: snappy: %v", err)
			}
		case e2Receipts:
			if bodyRLP == nil {
				return nil, nil, nil, 0, e.errorf(off, "receipts out of place")
			}
			if rcptRLP, err = e.unsnappy(data); err != nil {
				return nil, nil, nil, 0, e.errorf(off, "receipts: snappy: %v", err)
			}
			return hdrRLP, bodyRLP, rcptRLP, hdrOff, nil
		}
	}
}

// sender recovers tx's sender. An unprotected legacy transaction is
// recovered as Frontier recovered it: without Homestead's bar on signatures
// in the upper half of the curve's order (EIP-2), which mainnet's blocks
// before Homestead may hold. Nothing is lost by it: the sender is the same
// under both rules, and the block's transactions root has already vouched
// for every transaction.
func sender(s types.Signer, tx *types.Transaction) (common.Address, error) {
	if tx.Type() == types.LegacyTxType && !tx.Protected() {
		return types.FrontierSigner{}.Sender(tx)
	}
	return types.Sender(s, tx)
}

// block decodes one block with go-ethereum's types and checks its roots.
func (e *Era1) block(hdrRLP, bodyRLP, rcptRLP []byte, off int64) (*Block, error) {
	var h types.Header
	if err := rlp.DecodeBytes(hdrRLP, &h); err != nil {
		return nil, e.errorf(off, "header: %v", err)
	}
	var body types.Body
	if err := rlp.DecodeBytes(bodyRLP, &body); err != nil {
		return nil, e.errorf(off, "block %d body: %v", h.Number, err)
	}
	var rs types.Receipts
	if err := rlp.DecodeBytes(rcptRLP, &rs); err != nil {
		return nil, e.errorf(off, "block %d receipts: %v", h.Number, err)
	}
	if got := types.DeriveSha(types.Transactions(body.Transactions), trie.NewStackTrie(nil)); got != h.TxHash {
		return nil, e.errorf(off, "block %d: transactions root %s, header says %s", h.Number, got.Hex(), h.TxHash.Hex())
	}
	if got := types.DeriveSha(rs, trie.NewStackTrie(nil)); got != h.ReceiptHash {
		return nil, e.errorf(off, "block %d: receipts root %s, header says %s", h.Number, got.Hex(), h.ReceiptHash.Hex())
	}
	if len(rs) != len(body.Transactions) {
		return nil, e.errorf(off, "block %d: %d receipts for %d transactions", h.Number, len(rs), len(body.Transactions))
	}
	b := &Block{Number: h.Number.Uint64(), Hash: h.Hash(), Parent: h.ParentHash, Time: h.Time, Miner: h.Coinbase, Where: fmt.Sprintf("%s offset %d", e.path, off),
		Rewards: MiningRewards(e.chainID, &h, body.Uncles)}
	if h.BaseFee != nil {
		v, _ := uint256.FromBig(h.BaseFee)
		b.BaseFee = v
	}
	var prevGas uint64
	var logIndex uint32
	for i, tx := range body.Transactions {
		from, err := sender(e.signer, tx)
		if err != nil {
			return nil, e.errorf(off, "block %d tx %d: sender: %v", b.Number, i, err)
		}
		r := rs[i]
		t := Tx{Hash: tx.Hash(), Index: uint32(i), Nonce: tx.Nonce(), From: from, To: tx.To(), Gas: tx.Gas(), Type: tx.Type(),
			Receipt: true, GasUsed: r.CumulativeGasUsed - prevGas, Status: StatusUnknown}
		prevGas = r.CumulativeGasUsed
		t.Value.SetFromBig(tx.Value())
		price := tx.GasPrice()
		if h.BaseFee != nil {
			tip, _ := tx.EffectiveGasTip(h.BaseFee)
			price = new(big.Int).Add(tip, h.BaseFee)
		}
		t.GasPrice.SetFromBig(price)
		if len(r.PostState) == 0 { // Byzantium and later: a status, not a state root
			t.Status = int8(r.Status)
		}
		if len(tx.Data()) >= 4 {
			copy(t.Selector[:], tx.Data())
		}
		if tx.To() == nil {
			c := crypto.CreateAddress(from, tx.Nonce())
			t.Contract = &c
		}
		b.Txs = append(b.Txs, t)
		for _, l := range r.Logs {
			b.Logs = append(b.Logs, Log{TxIndex: uint32(i), Index: logIndex, Address: l.Address, Topics: l.Topics, Data: l.Data})
			logIndex++
		}
	}
	return b, nil
}
