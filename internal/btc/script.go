package btc

import "github.com/btcsuite/btcd/btcutil"

// ScriptType is an output script's type, with Bitcoin Core's names.
type ScriptType uint8

// Script types, in the order Bitcoin Core's Solver tries them. The numeric
// values are stored on disk: append only.
const (
	NonStandard ScriptType = iota
	PubKey
	PubKeyHash
	ScriptHash
	Multisig
	NullData
	WitnessV0KeyHash
	WitnessV0ScriptHash
	WitnessV1Taproot
	Anchor
	WitnessUnknown
	numScriptTypes
)

var scriptTypeNames = [numScriptTypes]string{
	NonStandard:         "nonstandard",
	PubKey:              "pubkey",
	PubKeyHash:          "pubkeyhash",
	ScriptHash:          "scripthash",
	Multisig:            "multisig",
	NullData:            "nulldata",
	WitnessV0KeyHash:    "witness_v0_keyhash",
	WitnessV0ScriptHash: "witness_v0_scripthash",
	WitnessV1Taproot:    "witness_v1_taproot",
	Anchor:              "anchor",
	WitnessUnknown:      "witness_unknown",
}

func (t ScriptType) String() string {
	if t < numScriptTypes {
		return scriptTypeNames[t]
	}
	return "unknown"
}

// ParseScriptType is the inverse of String.
func ParseScriptType(s string) (ScriptType, bool) {
	for i, n := range scriptTypeNames {
		if n == s {
			return ScriptType(i), true
		}
	}
	return 0, false
}

// Opcodes used by the classifier.
const (
	op0             = 0x00
	opPushData1     = 0x4c
	opPushData2     = 0x4d
	opPushData4     = 0x4e
	op1Negate       = 0x4f
	op1             = 0x51
	op16            = 0x60
	opReturn        = 0x6a
	opDup           = 0x76
	opEqual         = 0x87
	opEqualVerify   = 0x88
	opHash160       = 0xa9
	opCheckSig      = 0xac
	opCheckMultisig = 0xae
	opNop10         = 0xb9 // the last opcode (MAX_OPCODE)

	maxScriptSize = 10000
)

// Classify returns the type of an output script as Bitcoin Core's Solver
// names it.
func Classify(s []byte) ScriptType {
	n := len(s)
	// P2SH
	if n == 23 && s[0] == opHash160 && s[1] == 20 && s[22] == opEqual {
		return ScriptHash
	}
	// Witness programs.
	if v, prog, ok := witnessProgram(s); ok {
		switch {
		case v == 0 && len(prog) == 20:
			return WitnessV0KeyHash
		case v == 0 && len(prog) == 32:
			return WitnessV0ScriptHash
		case v == 1 && len(prog) == 32:
			return WitnessV1Taproot
		case v == 1 && len(prog) == 2 && prog[0] == 0x4e && prog[1] == 0x73:
			return Anchor
		case v != 0:
			return WitnessUnknown
		}
		return NonStandard
	}
	// Provably unspendable data carrier: OP_RETURN then only pushes.
	if n >= 1 && s[0] == opReturn && pushOnly(s[1:]) {
		return NullData
	}
	if n == 35 && s[0] == 33 && s[34] == opCheckSig && validPubKeySize(s[1:34]) ||
		n == 67 && s[0] == 65 && s[66] == opCheckSig && validPubKeySize(s[1:66]) {
		return PubKey
	}
	if n == 25 && s[0] == opDup && s[1] == opHash160 && s[2] == 20 && s[23] == opEqualVerify && s[24] == opCheckSig {
		return PubKeyHash
	}
	if isMultisig(s) {
		return Multisig
	}
	return NonStandard
}

// witnessProgram reports whether s is a segwit output: a version opcode then
// a single 2..40-byte push that ends the script.
func witnessProgram(s []byte) (version int, program []byte, ok bool) {
	if len(s) < 4 || len(s) > 42 {
		return 0, nil, false
	}
	if s[0] != op0 && (s[0] < op1 || s[0] > op16) {
		return 0, nil, false
	}
	if int(s[1])+2 != len(s) {
		return 0, nil, false
	}
	if s[0] == op0 {
		return 0, s[2:], true
	}
	return int(s[0]-op1) + 1, s[2:], true
}

// validPubKeySize mirrors CPubKey::ValidSize: the header byte fixes the size.
func validPubKeySize(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	switch k[0] {
	case 2, 3:
		return len(k) == 33
	case 4, 6, 7:
		return len(k) == 65
	}
	return false
}

// scriptOp reads one operation at s[i:]: it returns the opcode, the data
// pushed (if any), the offset of the next operation, and false if the script
// ends inside the operation.
func scriptOp(s []byte, i int) (op byte, data []byte, next int, ok bool) {
	if i >= len(s) {
		return 0, nil, i, false
	}
	op = s[i]
	i++
	var n int
	switch {
	case op < opPushData1:
		n = int(op)
	case op == opPushData1:
		if i+1 > len(s) {
			return op, nil, i, false
		}
		n = int(s[i])
		i++
	case op == opPushData2:
		if i+2 > len(s) {
			return op, nil, i, false
		}
		n = int(s[i]) | int(s[i+1])<<8
		i += 2
	case op == opPushData4:
		if i+4 > len(s) {
			return op, nil, i, false
		}
		n = int(uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24)
		i += 4
	default:
		return op, nil, i, true
	}
	if n < 0 || n > len(s)-i {
		return op, nil, i, false
	}
	return op, s[i : i+n], i + n, true
}

// pushOnly mirrors CScript::IsPushOnly: every operation parses and is a push
// (any opcode up to OP_16, which includes OP_RESERVED as Core does).
func pushOnly(s []byte) bool { return opsUpTo(s, op16) }

// validOps mirrors CScript::HasValidOps: every operation parses and is one
// of the opcodes Bitcoin defines (up to OP_NOP10).
func validOps(s []byte) bool { return opsUpTo(s, opNop10) }

// opsUpTo reports whether every operation of s parses and has an opcode of
// at most last.
func opsUpTo(s []byte, last byte) bool {
	for i := 0; i < len(s); {
		op, _, next, ok := scriptOp(s, i)
		if !ok || op > last {
			return false
		}
		i = next
	}
	return true
}

// smallNumber mirrors Bitcoin Core's GetScriptNumber for multisig counts: an
// OP_0..OP_16 opcode, or a minimal push of a minimally encoded number.
func smallNumber(op byte, data []byte, min, max int) (int, bool) {
	var v int
	switch {
	case op == op0:
		v = 0
	case op >= op1 && op <= op16:
		v = int(op-op1) + 1
	case op == op1Negate:
		v = -1
	case op <= opPushData4:
		// Minimal push rules (CheckMinimalPush) for a number push.
		if len(data) == 0 || len(data) > 4 {
			return 0, false
		}
		if len(data) == 1 && (data[0] >= 1 && data[0] <= 16 || data[0] == 0x81) {
			return 0, false // should have been OP_N
		}
		if op != byte(len(data)) {
			return 0, false // should have been a direct push
		}
		// Minimal number encoding (CScriptNum with fRequireMinimal).
		if data[len(data)-1]&0x7f == 0 && (len(data) == 1 || data[len(data)-2]&0x80 == 0) {
			return 0, false
		}
		for i, b := range data {
			v |= int(b) << (8 * i)
		}
		if data[len(data)-1]&0x80 != 0 {
			v &^= 0x80 << (8 * (len(data) - 1))
			v = -v
		}
	default:
		return 0, false
	}
	if v < min || v > max {
		return 0, false
	}
	return v, true
}

// isMultisig mirrors Bitcoin Core's MatchMultisig: m, keys, n,
// OP_CHECKMULTISIG with n equal to the number of keys.
func isMultisig(s []byte) bool {
	if len(s) < 1 || s[len(s)-1] != opCheckMultisig {
		return false
	}
	op, data, i, ok := scriptOp(s, 0)
	if !ok {
		return false
	}
	m, ok := smallNumber(op, data, 1, 20)
	if !ok {
		return false
	}
	keys := 0
	for {
		op, data, i, ok = scriptOp(s, i)
		if !ok || !validPubKeySize(data) || op > opPushData4 {
			break
		}
		keys++
	}
	if !ok {
		return false
	}
	n, ok := smallNumber(op, data, m, 20)
	if !ok || n != keys {
		return false
	}
	return i+1 == len(s)
}

// Hash160 is RIPEMD-160 of SHA-256, as in P2PKH addresses.
func Hash160(b []byte) [20]byte {
	return [20]byte(btcutil.Hash160(b))
}
