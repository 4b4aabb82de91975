package evm

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// EventKind names a derived event.
type EventKind uint8

// Derived events: what a trace follows across assets and through mixers.
const (
	EventSwap          EventKind = 1 // DEX swap (Uniswap V2 or V3 Swap log)
	EventMixDeposit    EventKind = 2 // Tornado-style Deposit(commitment, leafIndex, timestamp)
	EventMixWithdrawal EventKind = 3 // Tornado-style Withdrawal(to, nullifierHash, relayer, fee)
)

var eventNames = [...]string{"", "swap", "mix-deposit", "mix-withdrawal"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event is a derived event, linked to the transfers it consists of.
type Event struct {
	Kind     EventKind
	TxIndex  int32
	LogIndex uint32
	Contract common.Address // pool or mixer
	// Actor: the swap's recipient, the depositor (the transaction's sender),
	// or the withdrawal's recipient.
	Actor common.Address
	// In and Out index the block's transfers (as Transfers lists them), -1
	// for none: what went into the contract and what came out.
	In, Out int
	Data    common.Hash // the deposit's commitment or the withdrawal's nullifier hash
}

// Events derives swaps and mixer deposits and withdrawals from the block's
// logs, linking each to the transfers xs (the block's Transfers) that carry
// its value. A swap's input is the token transfer into the pool and its
// output the transfer out of it, each before the Swap log in the same
// transaction and of the amount the log states.
func Events(b *Block, xs []Transfer) []Event {
	var out []Event
	failed := map[uint32]bool{}
	for _, t := range b.Txs {
		if t.Status == StatusFailed {
			failed[t.Index] = true
		}
	}
	for i := range b.Logs {
		l := &b.Logs[i]
		if len(l.Topics) == 0 || failed[l.TxIndex] {
			continue
		}
		ti := int32(l.TxIndex)
		words := len(l.Data) / 32
		word := func(k int) []byte { return l.Data[k*32 : k*32+32] }
		switch l.Topics[0] {
		case TopicSwapV2:
			if len(l.Topics) != 3 || words != 4 {
				continue
			}
			var a [4]uint256.Int
			for k := range a {
				a[k].SetBytes32(word(k))
			}
			in, outAmt := &a[0], &a[2]
			if in.IsZero() {
				in = &a[1]
			}
			if outAmt.IsZero() {
				outAmt = &a[3]
			}
			e := Event{Kind: EventSwap, TxIndex: ti, LogIndex: l.Index, Contract: l.Address, Actor: common.BytesToAddress(l.Topics[2][12:])}
			e.In = findToken(xs, ti, l.Index, func(x *Transfer) bool { return x.To == l.Address && x.Amount.Eq(in) })
			e.Out = findToken(xs, ti, l.Index, func(x *Transfer) bool { return x.From == l.Address && x.Amount.Eq(outAmt) })
			out = append(out, e)
		case TopicSwapV3:
			if len(l.Topics) != 3 || words != 5 {
				continue
			}
			var a0, a1 uint256.Int
			a0.SetBytes32(word(0))
			a1.SetBytes32(word(1))
			// Positive: paid into the pool; negative (two's complement): paid out.
			in, outAmt := &a0, new(uint256.Int).Neg(&a1)
			if a0.Sign() < 0 {
				in, outAmt = &a1, new(uint256.Int).Neg(&a0)
			}
			e := Event{Kind: EventSwap, TxIndex: ti, LogIndex: l.Index, Contract: l.Address, Actor: common.BytesToAddress(l.Topics[2][12:])}
			e.In = findToken(xs, ti, l.Index, func(x *Transfer) bool { return x.To == l.Address && x.Amount.Eq(in) })
			e.Out = findToken(xs, ti, l.Index, func(x *Transfer) bool { return x.From == l.Address && x.Amount.Eq(outAmt) })
			out = append(out, e)
		case TopicMixDeposit:
			if len(l.Topics) != 2 || words != 2 {
				continue
			}
			e := Event{Kind: EventMixDeposit, TxIndex: ti, LogIndex: l.Index, Contract: l.Address, Actor: b.Txs[ti].From, Data: l.Topics[1], Out: -1}
			e.In = findAny(xs, ti, func(x *Transfer) bool {
				return x.To == l.Address && (x.Kind.Native() && x.Kind != KindFee || x.Kind == KindToken)
			})
			out = append(out, e)
		case TopicMixWithdrawal:
			if len(l.Topics) != 2 || words != 3 {
				continue
			}
			to := common.BytesToAddress(word(0)[12:])
			e := Event{Kind: EventMixWithdrawal, TxIndex: ti, LogIndex: l.Index, Contract: l.Address, Actor: to, Data: common.BytesToHash(word(1)), In: -1}
			e.Out = findAny(xs, ti, func(x *Transfer) bool {
				return x.From == l.Address && x.To == to && (x.Kind.Native() || x.Kind == KindToken)
			})
			out = append(out, e)
		}
	}
	return out
}

// findToken returns the last token transfer of transaction ti before log
// index before that matches, or -1.
func findToken(xs []Transfer, ti int32, before uint32, match func(*Transfer) bool) int {
	best := -1
	for i := range xs {
		x := &xs[i]
		if x.TxIndex == ti && x.Kind == KindToken && x.Index < before && match(x) {
			best = i
		}
	}
	return best
}

// findAny returns the first transfer of transaction ti that matches, or -1.
func findAny(xs []Transfer, ti int32, match func(*Transfer) bool) int {
	for i := range xs {
		if xs[i].TxIndex == ti && match(&xs[i]) {
			return i
		}
	}
	return -1
}
