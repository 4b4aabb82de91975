package btc

import "encoding/binary"

// AppendCompact appends v as a canonical CompactSize integer.
func AppendCompact(dst []byte, v uint64) []byte {
	switch {
	case v < 0xfd:
		return append(dst, byte(v))
	case v <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(dst, 0xfd), uint16(v))
	case v <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(dst, 0xfe), uint32(v))
	}
	return binary.LittleEndian.AppendUint64(append(dst, 0xff), v)
}

// AppendHeader appends the 80-byte serialization of h.
func AppendHeader(dst []byte, h *Header) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.Version))
	dst = append(dst, h.Prev[:]...)
	dst = append(dst, h.MerkleRoot[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, h.Time)
	dst = binary.LittleEndian.AppendUint32(dst, h.Bits)
	return binary.LittleEndian.AppendUint32(dst, h.Nonce)
}

// AppendTx appends the serialization of tx, with witnesses if any input has
// one (BIP144).
func AppendTx(dst []byte, tx *Tx) []byte {
	witness := false
	for i := range tx.Inputs {
		if len(tx.Inputs[i].Witness) > 0 {
			witness = true
			break
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(tx.Version))
	if witness {
		dst = append(dst, 0, 1)
	}
	dst = AppendCompact(dst, uint64(len(tx.Inputs)))
	for i := range tx.Inputs {
		in := &tx.Inputs[i]
		dst = append(dst, in.PrevTxID[:]...)
		dst = binary.LittleEndian.AppendUint32(dst, in.PrevIndex)
		dst = AppendCompact(dst, uint64(len(in.ScriptSig)))
		dst = append(dst, in.ScriptSig...)
		dst = binary.LittleEndian.AppendUint32(dst, in.Sequence)
	}
	dst = AppendCompact(dst, uint64(len(tx.Outputs)))
	for i := range tx.Outputs {
		out := &tx.Outputs[i]
		dst = binary.LittleEndian.AppendUint64(dst, uint64(out.Value))
		dst = AppendCompact(dst, uint64(len(out.Script)))
		dst = append(dst, out.Script...)
	}
	if witness {
		for i := range tx.Inputs {
			if w := tx.Inputs[i].Witness; len(w) > 0 {
				dst = append(dst, w...)
			} else {
				dst = append(dst, 0)
			}
		}
	}
	return binary.LittleEndian.AppendUint32(dst, tx.LockTime)
}

// AppendBlock appends the serialization of a block: header, transaction
// count, transactions.
func AppendBlock(dst []byte, h *Header, txs []Tx) []byte {
	dst = AppendHeader(dst, h)
	dst = AppendCompact(dst, uint64(len(txs)))
	for i := range txs {
		dst = AppendTx(dst, &txs[i])
	}
	return dst
}
