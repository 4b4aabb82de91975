package trace

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"time"

	"github.com/holiman/uint256"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
)

// TraceEVMBackward explains where the value of the start transfers came
// from, on an EVM chain: each transfer's sender's balance just before it is
// rebuilt from the sender's postings as a queue of lots by arrival, and the
// transfer's value is taken from it by the model (fifo: the oldest lots;
// haircut: every lot in proportion; poison: every lot in full); each lot is
// then explained the same way, up to MaxHops (default 10). It stops at
// labelled services and exchange deposit addresses (where the value came
// out of them), at minted value (genesis, rewards, withdrawals, token
// mints: "minted"), and at balances the store cannot explain (its first
// block came later: "unexplained"). Within a swap's transaction, value paid
// out by a pair, router or WETH is explained by what was paid into them.
// The result's destinations are the sources; every link is exact.
func TraceEVMBackward(s evmstore.Reader, starts []EVMStart, o EVMOptions) (*EVMResult, error) {
	if o.Model == "" {
		o.Model = FIFO
	}
	if o.Model != FIFO && o.Model != Haircut && o.Model != Poison {
		return nil, fmt.Errorf("trace: unknown model %q (want fifo, haircut or poison)", o.Model)
	}
	if o.MaxHops == 0 {
		o.MaxHops = 10
	}
	if len(starts) == 0 {
		return nil, fmt.Errorf("trace: nothing to trace from")
	}
	t := &evmTracer{s: s, o: o, zero: evmstore.None, dest: map[string]*EVMDestination{},
		res: &EVMResult{Model: o.Model, Start: map[string]string{}, Decimals: map[string]uint8{"ETH": 18}}}
	if t.o.MinValue == nil {
		t.o.MinValue = new(big.Int)
	}
	if n, err := s.AddrNum(zeroAddress); err == nil {
		t.zero = n
	}
	c := s.Counts()
	swapTx := o.Conduits
	if swapTx == nil {
		swapTx = SwapConduits(s)
	}
	weth := map[uint32]bool{}
	for a := range evm.WrappedNative {
		if n, err := s.AddrNum(a); err == nil {
			weth[n] = true
		}
	}
	type item struct {
		x   uint64
		amt *big.Int
		hop int
	}
	var work []item
	// Starts may explain one another (a theft's later move given with the
	// theft): a start reached from another is explained by its own item,
	// and what reaches it was counted at it (seeded).
	seeded := map[uint64]bool{}
	for _, st := range starts {
		if st.Transfer >= c.Transfers {
			return nil, fmt.Errorf("trace: transfer %d is not in the store", st.Transfer)
		}
		if seeded[st.Transfer] {
			continue
		}
		seeded[st.Transfer] = true
		r := s.Transfer(st.Transfer)
		if r.Tx != evmstore.None {
			t.res.From = append(t.res.From, s.Tx(r.Tx).Hash.Hex())
		}
		name := t.asset(r.Asset)
		prev, _ := new(big.Int).SetString(orZero(t.res.Start[name]), 10)
		t.res.Start[name] = prev.Add(prev, r.Amount.ToBig()).String()
		work = append(work, item{st.Transfer, r.Amount.ToBig(), 0})
	}
	sort.Strings(t.res.From)
	block := func(x uint64) uint64 { return c.First + s.TransferBlock(x) }
	postings, err := s.NewPostingsReader()
	if err != nil {
		return nil, err
	}
	defer postings.Close()
	var ys []uint64 // a window of a sender's postings before the transfer explained
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		if it.amt.Sign() == 0 || it.amt.Cmp(t.o.MinValue) < 0 {
			continue
		}
		r := s.Transfer(it.x)
		asset := t.asset(r.Asset)
		if seeded[it.x] && it.hop > 0 {
			covered := new(big.Int).Set(it.amt)
			if all := r.Amount.ToBig(); covered.Cmp(all) > 0 {
				covered = all
			}
			prev, _ := new(big.Int).SetString(t.res.Start[asset], 10)
			t.res.Start[asset] = prev.Sub(prev, covered).String()
			continue
		}
		t.res.Transfers++
		exact := part{new(big.Int).Set(it.amt), new(big.Int)}
		if !o.Since.IsZero() && it.hop > 0 && time.Unix(int64(s.Block(s.TransferBlock(it.x)).Time), 0).Before(o.Since) {
			// Explained no further back than Since: the sender had it then.
			t.addDest(exact, addrText(s, r.From), "limit", "before "+o.Since.UTC().Format("2006-01-02"), asset, block(it.x))
			continue
		}
		from := r.From
		switch {
		case r.Kind.FromNowhere() || from == evmstore.None || from == t.zero:
			t.addDest(exact, "", "minted", r.Kind.String(), asset, block(it.x))
			continue
		}
		if hot, ok := o.Deposits[from]; ok {
			t.addDest(exact, s.Address(from).Hex(), "exchange", o.HotWallets[hot], asset, block(it.x))
			continue
		}
		if name, ok := o.HotWallets[from]; ok {
			t.addDest(exact, s.Address(from).Hex(), "exchange", name, asset, block(it.x))
			continue
		}
		conduits := swapTx.in(r.Tx)
		isConduit := func(a uint32) bool {
			return conduits != nil && (slices.Contains(conduits, a) || weth[a] || t.isDEX(a))
		}
		if r.Tx != evmstore.None && isConduit(from) {
			// Paid out by a swap: explained by what went into the swap.
			lo, hi := s.TxTransfers(r.Tx)
			var ins []uint64
			total := new(big.Int)
			for y := lo; y < hi; y++ {
				q := s.Transfer(y)
				if q.From != evmstore.None && q.From != t.zero && !isConduit(q.From) && q.To != evmstore.None && isConduit(q.To) {
					ins = append(ins, y)
					total.Add(total, q.Amount.ToBig())
				}
			}
			outs := new(big.Int)
			for y := lo; y < hi; y++ {
				if q := s.Transfer(y); isConduit(q.From) && q.To != evmstore.None && !isConduit(q.To) && q.To != t.zero {
					outs.Add(outs, q.Amount.ToBig())
				}
			}
			if len(ins) == 0 || outs.Sign() == 0 {
				t.addDest(exact, s.Address(from).Hex(), "dex", "", asset, block(it.x))
				continue
			}
			// The share of the swap's output this transfer is, of each
			// input; a leg inside the swap (between its conduits: a router
			// paying a pair), which a trace can only start from, carries
			// all of them, and the share asked for is of the leg itself.
			share := outs
			if isConduit(r.To) {
				share = r.Amount.ToBig()
			}
			for _, y := range ins {
				q := s.Transfer(y)
				v := new(big.Int).Mul(q.Amount.ToBig(), it.amt)
				v.Quo(v, share)
				work = append(work, item{y, v, it.hop + 1})
			}
			continue
		}
		if cat, label, ok := t.service(from); ok && cat != "token" {
			t.addDest(exact, s.Address(from).Hex(), cat, label, asset, block(it.x))
			continue
		}
		if it.hop >= o.MaxHops {
			t.addDest(exact, s.Address(from).Hex(), "limit", "max hops reached", asset, block(it.x))
			continue
		}
		// The sender's balance just before: lots by arrival, in fixed-size
		// integers (a lot never exceeds the transfer it came in by), as a
		// busy sender's history is long and big.Int would allocate for
		// every lot.
		type srcLot struct {
			x   uint64
			amt uint256.Int
		}
		var lots []srcLot
		// The rows are scattered over the column: they are read in
		// windows of postings, each row's load started a few ahead, so
		// that their misses overlap (and a window bounds the memory a
		// sender of millions of transfers takes).
		const ahead, window = 8, 1024
		drain := func() {
			for _, y := range ys[:min(ahead, len(ys))] {
				s.PrefetchTransfer(y)
			}
			for i, y := range ys {
				if i+ahead < len(ys) {
					s.PrefetchTransfer(ys[i+ahead])
				}
				q := s.Transfer(y)
				if q.Asset != r.Asset || q.Kind == evm.KindNFT {
					continue
				}
				if q.To == from && q.From != from {
					lots = append(lots, srcLot{y, q.Amount})
				}
				if q.From == from && q.To != from {
					left := q.Amount
					for !left.IsZero() && len(lots) > 0 {
						if lots[0].amt.Lt(&left) {
							left.Sub(&left, &lots[0].amt)
							lots = lots[1:]
							continue
						}
						lots[0].amt.Sub(&lots[0].amt, &left)
						left.Clear()
						if lots[0].amt.IsZero() {
							lots = lots[1:]
						}
					}
				}
			}
			ys = ys[:0]
		}
		ys = ys[:0]
		err := postings.Postings(from, func(y uint64) bool {
			if y >= it.x {
				return false
			}
			if ys = append(ys, y); len(ys) == window {
				drain()
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		drain()
		held := new(big.Int)
		for _, l := range lots {
			held.Add(held, l.amt.ToBig())
		}
		explained := new(big.Int)
		before := len(work)
		switch o.Model {
		case FIFO:
			// The transfer took the oldest lots; the part asked for is
			// that share of each.
			left := r.Amount.ToBig()
			for _, l := range lots {
				if left.Sign() == 0 {
					break
				}
				n := new(big.Int).Set(left)
				if amt := l.amt.ToBig(); amt.Cmp(n) < 0 {
					n = amt
				}
				left.Sub(left, n)
				v := new(big.Int).Mul(n, it.amt)
				v.Quo(v, r.Amount.ToBig())
				explained.Add(explained, v)
				work = append(work, item{l.x, v, it.hop + 1})
			}
		case Haircut:
			if held.Sign() > 0 {
				for _, l := range lots {
					v := new(big.Int).Mul(l.amt.ToBig(), it.amt)
					v.Quo(v, held)
					explained.Add(explained, v)
					work = append(work, item{l.x, v, it.hop + 1})
				}
			}
		case Poison:
			for _, l := range lots {
				v := l.amt.ToBig()
				explained.Add(explained, v)
				work = append(work, item{l.x, v, it.hop + 1})
			}
		}
		// Integer shares round down: when the lots covered the transfer, the
		// last share takes the few base units left over.
		if covered := held.Cmp(r.Amount.ToBig()) >= 0; covered && len(work) > before && o.Model != Poison {
			rest := new(big.Int).Sub(it.amt, explained)
			work[len(work)-1].amt.Add(work[len(work)-1].amt, rest)
			explained.Add(explained, rest)
		}
		if rest := new(big.Int).Sub(it.amt, explained); rest.Sign() > 0 && o.Model != Poison {
			t.addDest(part{rest, new(big.Int)}, s.Address(from).Hex(), "unexplained", "before the store's first block", asset, block(it.x))
		}
	}
	t.collect()
	return t.res, nil
}

// Conduits are the contracts that swapped in each transaction with swaps:
// pairs of (transaction, contract) in transaction order, eight bytes each.
type Conduits struct{ tx, contract []uint32 }

// SwapConduits reads every event of the store for the contracts that
// swapped in each transaction, for EVMOptions.Conduits: a caller that
// traces backward many times makes it once.
func SwapConduits(s evmstore.Reader) *Conduits {
	c := &Conduits{}
	for n := uint64(0); n < s.Counts().Events; n++ {
		if e := s.Event(n); e.Kind == evm.EventSwap {
			c.tx = append(c.tx, e.Tx)
			c.contract = append(c.contract, e.Contract)
		}
	}
	// Events are stored in chain order, and so by transaction; sorted
	// all the same, as the lookups rely on it.
	if !slices.IsSorted(c.tx) {
		idx := make([]int, len(c.tx))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return c.tx[idx[a]] < c.tx[idx[b]] })
		tx, ct := make([]uint32, len(idx)), make([]uint32, len(idx))
		for i, j := range idx {
			tx[i], ct[i] = c.tx[j], c.contract[j]
		}
		c.tx, c.contract = tx, ct
	}
	return c
}

// Extended returns c with the swaps of the store's events from event from
// on added: those a follow appended since c was made. c is unchanged, so
// traces still reading it are unaffected; extend a Conduits once (the new
// one shares its rows), or build it anew with SwapConduits.
func (c *Conduits) Extended(s evmstore.Reader, from uint64) *Conduits {
	n := &Conduits{tx: c.tx, contract: c.contract}
	for x := from; x < s.Counts().Events; x++ {
		if e := s.Event(x); e.Kind == evm.EventSwap {
			n.tx = append(n.tx, e.Tx)
			n.contract = append(n.contract, e.Contract)
		}
	}
	if !slices.IsSorted(n.tx) {
		return SwapConduits(s)
	}
	return n
}

// in returns the contracts that swapped in transaction tx (nil: none).
func (c *Conduits) in(tx uint32) []uint32 {
	i, found := slices.BinarySearch(c.tx, tx)
	if !found {
		return nil
	}
	j := i
	for j < len(c.tx) && c.tx[j] == tx {
		j++
	}
	return c.contract[i:j]
}

func (t *evmTracer) isDEX(a uint32) bool {
	cat, _, ok := t.service(a)
	return ok && cat == "dex"
}
