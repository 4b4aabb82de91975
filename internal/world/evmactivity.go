package world

import (
	"bytes"
	"math/big"
	"sort"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
)

// Gas used by each kind of call, as mainnet receipts show them (typical
// values; the exact figure does not matter to tracing).
const (
	gasTransfer   = 21000
	gasToken      = 52000
	gasSwap       = 125000
	gasMixDeposit = 1_050_000
	gasMixWithdr  = 360_000
	gasWrap       = 45000
)

func (e *evmWorld) user() int { return e.rng.IntN(len(e.users)) }

// userAddr returns one of user u's addresses; reuse is the percentage of
// payments that go to an address already used.
func (e *evmWorld) userAddr(u int) common.Address {
	as := e.users[u]
	if len(as) > 0 && e.rng.IntN(100) < 80 {
		return as[e.rng.IntN(len(as))]
	}
	a := e.addr(e.userIDs[u], "user", len(as))
	e.users[u] = append(as, a)
	return a
}

// active returns the addresses of user u a wallet spends from: its first
// (funded at genesis) and its sixteen newest. Scanning them all would grow
// with the world.
func (e *evmWorld) active(u int) []common.Address {
	as := e.users[u]
	if len(as) <= 17 {
		return as
	}
	return append([]common.Address{as[0]}, as[len(as)-16:]...)
}

// richAddr returns an active address of user u holding at least v plus gas.
func (e *evmWorld) richAddr(u int, v *big.Int, gas uint64) (common.Address, bool) {
	for _, a := range e.active(u) {
		if e.canPay(a, v, gas) {
			return a, true
		}
	}
	return common.Address{}, false
}

func (e *evmWorld) payETH() {
	u, v := e.user(), e.user()
	amt := ethWei(0.01 + e.rng.ExpFloat64()*0.8)
	from, ok := e.richAddr(u, amt, gasTransfer)
	if !ok {
		return
	}
	to := e.userAddr(v)
	e.send(&evmTx{from: from, to: &to, value: amt, gasUsed: gasTransfer, status: 1})
	e.counts["evm_payments"]++
}

func (e *evmWorld) payToken() {
	t := evmTokens[e.rng.IntN(len(evmTokens))]
	usd := 20 + e.rng.ExpFloat64()*800
	amt := units(usd/e.price(t.symbol), t.decimals)
	// A few tries to find a holder with enough (a third of users hold
	// each token); holders found empty are dropped from the list.
	hs := e.holders[t.addr]
	for range 6 {
		if len(hs) == 0 {
			break
		}
		i := e.rng.IntN(len(hs))
		a := hs[i]
		b := e.tokOf(t.addr, a)
		if b.Sign() == 0 {
			hs[i] = hs[len(hs)-1]
			hs = hs[:len(hs)-1]
			continue
		}
		if b.Cmp(amt) >= 0 && e.canPay(a, new(big.Int), gasToken) {
			to := e.userAddr(e.user())
			tok := t.addr
			e.holders[t.addr] = hs
			e.send(&evmTx{from: a, to: &tok, gasUsed: gasToken, selector: "a9059cbb", status: 1, logs: []evmLog{transferLog(t.addr, a, to, amt)}})
			e.counts["evm_token_payments"]++
			return
		}
	}
	e.holders[t.addr] = hs
}

// deposit: a user pays ETH into its deposit address at an exchange.
func (e *evmWorld) depositExchange() {
	u, x := e.user(), e.rng.IntN(len(e.exchHot))
	amt := ethWei(0.05 + e.rng.ExpFloat64()*2)
	from, ok := e.richAddr(u, amt, gasTransfer)
	if !ok {
		return
	}
	dep := e.depositAddr(x, u)
	e.send(&evmTx{from: from, to: &dep, value: amt, gasUsed: gasTransfer, status: 1})
	e.counts["evm_deposits"]++
}

func (e *evmWorld) depositAddr(x, u int) common.Address {
	d, ok := e.exchDep[x][u]
	if !ok {
		d = e.addr(e.exchIDs[x], "deposit", len(e.exchDep[x])+1)
		e.exchDep[x][u] = d
		e.depositOf[d] = x
	}
	return d
}

// sweep: the exchange moves what sits on its deposit addresses to its hot
// wallet, less the gas (the pattern that tells deposit addresses apart).
func (e *evmWorld) sweep(x int) {
	hot := e.exchHot[x]
	// Only the deposit addresses paid since the last sweep can have
	// anything to sweep: visiting them alone keeps sweeps linear.
	dirty := e.dirty[x]
	e.dirty[x] = nil
	for _, d := range dirty {
		delete(e.dirtySet, d)
		fee := e.fee(gasTransfer)
		b := e.ethOf(d)
		if b.Cmp(new(big.Int).Mul(fee, big.NewInt(20))) < 0 {
			continue
		}
		e.send(&evmTx{from: d, to: &hot, value: new(big.Int).Sub(b, fee), gasUsed: gasTransfer, status: 1})
		e.counts["evm_sweeps"]++
	}
}

func sortAddrs(as []common.Address) {
	sort.Slice(as, func(i, j int) bool { return bytes.Compare(as[i][:], as[j][:]) < 0 })
}

func (e *evmWorld) withdrawExchange() {
	x := e.rng.IntN(len(e.exchHot))
	amt := ethWei(0.05 + e.rng.ExpFloat64()*2)
	if !e.canPay(e.exchHot[x], amt, gasTransfer) {
		return
	}
	to := e.userAddr(e.user())
	e.send(&evmTx{from: e.exchHot[x], to: &to, value: amt, gasUsed: gasTransfer, status: 1})
	e.counts["evm_withdrawals"]++
}

// quote is what a constant-price pool pays for amount of asset in: the
// day's USD prices and Uniswap V2's 0.3% fee.
func (e *evmWorld) quote(in *big.Int, inSym string, inDec int, outSym string, outDec int) *big.Int {
	usd := new(big.Float).Quo(new(big.Float).SetInt(in), new(big.Float).SetInt(pow10(inDec)))
	usd.Mul(usd, big.NewFloat(e.price(inSym)*0.997))
	out := new(big.Float).Quo(usd, big.NewFloat(e.price(outSym)))
	out.Mul(out, new(big.Float).SetInt(pow10(outDec)))
	v, _ := out.Int(nil)
	return v
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// swapTokenForETH: swapExactTokensForETH through the router: the token into
// the pair, WETH out of it to the router, unwrapped, ETH to the user.
func (e *evmWorld) swapTokenForETH(from common.Address, ti int, in *big.Int) *evmTx {
	t := evmTokens[ti]
	pair := e.pairs[t.addr]
	out := e.quote(in, t.symbol, t.decimals, "ETH", 18)
	if e.tokOf(wethAddr, pair).Cmp(out) < 0 || e.tokOf(t.addr, from).Cmp(in) < 0 || !e.canPay(from, new(big.Int), gasSwap) {
		return nil
	}
	r := routerAddr
	swap := evmLog{pair, []common.Hash{tSwap, common.BytesToHash(routerAddr[:]), common.BytesToHash(routerAddr[:])},
		append(append(append(common.BigToHash(in).Bytes(), make([]byte, 32)...), make([]byte, 32)...), common.BigToHash(out).Bytes()...)}
	return e.send(&evmTx{from: from, to: &r, gasUsed: gasSwap, selector: "18cbafe5", status: 1,
		logs: []evmLog{transferLog(t.addr, from, pair, in), transferLog(wethAddr, pair, routerAddr, out), swap,
			{wethAddr, []common.Hash{tWETHOut, common.BytesToHash(routerAddr[:])}, common.BigToHash(out).Bytes()}},
		calls: []evmCall{{wethAddr, routerAddr, out}, {routerAddr, from, out}}})
}

// swapETHForToken: swapExactETHForTokens: ETH wrapped by the router, WETH
// into the pair, the token out to the user.
func (e *evmWorld) swapETHForToken(from common.Address, ti int, in *big.Int) *evmTx {
	t := evmTokens[ti]
	pair := e.pairs[t.addr]
	out := e.quote(in, "ETH", 18, t.symbol, t.decimals)
	if e.tokOf(t.addr, pair).Cmp(out) < 0 || !e.canPay(from, in, gasSwap) {
		return nil
	}
	r := routerAddr
	swap := evmLog{pair, []common.Hash{tSwap, common.BytesToHash(routerAddr[:]), common.BytesToHash(from[:])},
		append(append(append(make([]byte, 32), common.BigToHash(in).Bytes()...), common.BigToHash(out).Bytes()...), make([]byte, 32)...)}
	return e.send(&evmTx{from: from, to: &r, value: in, gasUsed: gasSwap, selector: "7ff36ab5", status: 1,
		calls: []evmCall{{routerAddr, wethAddr, in}},
		logs: []evmLog{{wethAddr, []common.Hash{tWETHIn, common.BytesToHash(routerAddr[:])}, common.BigToHash(in).Bytes()},
			transferLog(wethAddr, routerAddr, pair, in), transferLog(t.addr, pair, from, out), swap}})
}

func (e *evmWorld) backgroundSwap() {
	u := e.user()
	ti := e.rng.IntN(len(evmTokens))
	t := evmTokens[ti]
	if e.rng.IntN(2) == 0 {
		in := ethWei(0.05 + e.rng.ExpFloat64()*1.5)
		if from, ok := e.richAddr(u, in, gasSwap); ok && e.swapETHForToken(from, ti, in) != nil {
			e.counts["evm_swaps"]++
		}
		return
	}
	for _, a := range e.active(u) {
		if b := e.tokOf(t.addr, a); b.Sign() > 0 {
			in := new(big.Int).Div(b, big.NewInt(int64(1+e.rng.IntN(3))))
			if e.swapTokenForETH(a, ti, in) != nil {
				e.counts["evm_swaps"]++
			}
			return
		}
	}
}

func (e *evmWorld) denom(pool int) *big.Int {
	v, _ := strconv.ParseFloat(tornado[pool].denom, 64)
	return ethWei(v)
}

// mixDeposit: deposit(commitment) with the pool's denomination.
func (e *evmWorld) mixDeposit(from common.Address, pool int, price *big.Int) (*evmTx, common.Hash) {
	d := e.denom(pool)
	p := tornado[pool].addr
	leaf := e.leaf[p]
	e.leaf[p] = leaf + 1
	commitment := keccak([]byte("commitment"), p[:], big.NewInt(int64(leaf)).Bytes(), big.NewInt(int64(e.w.o.Seed)).Bytes())
	data := append(common.BigToHash(big.NewInt(int64(leaf))).Bytes(), common.BigToHash(big.NewInt(e.time.Unix())).Bytes()...)
	tx := e.send(&evmTx{from: from, to: &p, value: d, gasUsed: gasMixDeposit, selector: "b214faa5", status: 1, price: price,
		logs: []evmLog{{p, []common.Hash{tDeposit, commitment}, data}}})
	e.counts["evm_mix_deposits"]++
	return tx, commitment
}

// mixWithdraw: withdraw(proof, ...) sent by a relayer (who takes a fee) or
// by the recipient itself; the pool pays both by internal calls.
func (e *evmWorld) mixWithdraw(pool int, to common.Address, relayer *common.Address, price *big.Int) *evmTx {
	d := e.denom(pool)
	p := tornado[pool].addr
	fee := new(big.Int)
	sender := to
	if relayer != nil {
		// Relayer fees: a median of 0.024-0.063 ETH by pool in 2021
		// (WORLD-FACTS 2c); here a share of the denomination plus gas.
		fee = new(big.Int).Add(new(big.Int).Div(d, big.NewInt(300)), e.fee(gasMixWithdr))
		sender = *relayer
	}
	if !e.canPayAt(sender, new(big.Int), gasMixWithdr, price) || e.ethOf(p).Cmp(d) < 0 {
		return nil
	}
	nullifier := keccak([]byte("nullifier"), p[:], big.NewInt(int64(e.counts["evm_mix_withdrawals"])).Bytes(), big.NewInt(int64(e.w.o.Seed)).Bytes())
	rel := common.Address{}
	if relayer != nil {
		rel = *relayer
	}
	data := append(append(common.BytesToHash(to[:]).Bytes(), nullifier[:]...), common.BigToHash(fee).Bytes()...)
	calls := []evmCall{{p, to, new(big.Int).Sub(d, fee)}}
	if fee.Sign() > 0 {
		calls = append(calls, evmCall{p, rel, fee})
	}
	tx := e.send(&evmTx{from: sender, to: &p, gasUsed: gasMixWithdr, selector: "21a0adb6", status: 1, price: price,
		logs: []evmLog{{p, []common.Hash{tWithdrawal, common.BytesToHash(rel[:])}, data}}, calls: calls})
	e.counts["evm_mix_withdrawals"]++
	return tx
}

// backgroundMix: users deposit into the pools and withdraw later to fresh
// addresses, mostly through relayers (68-89% in 2021, WORLD-FACTS 2c).
func (e *evmWorld) backgroundMix() {
	// Pool shares of 2021's deposits: 11,147 / 26,146 / 20,807 / 15,531.
	r := e.rng.IntN(73631)
	pool := 0
	for i, c := range []int{11147, 26146, 20807, 15531} {
		if r < c {
			pool = i
			break
		}
		r -= c
	}
	if pool == 3 && e.rng.IntN(4) != 0 { // 100 ETH is beyond most users of a small world
		pool = 2
	}
	u := e.user()
	if from, ok := e.richAddr(u, e.denom(pool), gasMixDeposit); ok {
		_, c := e.mixDeposit(from, pool, nil)
		e.notes = append(e.notes, tornadoNote{pool: pool, commitment: c, owner: u, at: e.number})
	}
}

func (e *evmWorld) backgroundWithdraw() {
	if len(e.notes) == 0 {
		return
	}
	i := e.rng.IntN(len(e.notes))
	n := e.notes[i]
	if e.number < n.at+uint64(2+e.rng.IntN(50)) {
		return
	}
	// A quarter withdraw themselves, to an address of theirs that can pay
	// the gas; the rest through a relayer, to a fresh address.
	var rel *common.Address
	to, self := e.richAddr(n.owner, new(big.Int), gasMixWithdr)
	if !self || e.rng.IntN(100) < 75 {
		to = e.addr(e.userIDs[n.owner], "user", len(e.users[n.owner]))
		e.users[n.owner] = append(e.users[n.owner], to)
		r := e.relayers[e.rng.IntN(len(e.relayers))]
		rel = &r
	}
	if e.mixWithdraw(n.pool, to, rel, nil) != nil {
		// Order does not matter (notes are drawn at random): swap-remove.
		e.notes[i] = e.notes[len(e.notes)-1]
		e.notes = e.notes[:len(e.notes)-1]
	}
}

// background is one block's ordinary activity. The mix of kinds follows
// WORLD-FACTS 2c where it has figures (plain EOA-to-EOA ETH transfers, which
// include exchange deposits, sweeps and withdrawals, about a third of
// transactions; token transfers about a quarter; Uniswap a large share) and
// is a documented knob elsewhere.
func (e *evmWorld) background() {
	n := max(3, len(e.users)/8)
	for range n {
		switch r := e.rng.IntN(100); {
		case r < 14:
			e.payETH()
		case r < 42:
			e.payToken()
		case r < 54:
			e.depositExchange()
		case r < 60:
			e.withdrawExchange()
		case r < 90:
			e.backgroundSwap()
		case r < 95:
			e.backgroundMix()
		default:
			e.backgroundWithdraw()
		}
	}
	if e.number%6 == 0 {
		for x := range e.exchHot {
			e.sweep(x)
		}
	}
}

// dayTip is the priority fee (or, before London, the gas price) of the day:
// 2021's gas prices ran from about 30 to 200 gwei.
func (e *evmWorld) dayTip() *big.Int {
	day := e.time.YearDay()
	gwei := 40 + 60*float64((day*7919)%101)/100
	if e.time.After(londonTime) {
		return big.NewInt(int64(2e9))
	}
	return big.NewInt(int64(gwei * 1e9))
}

func (e *evmWorld) dayBaseFee() *big.Int {
	if !e.time.After(londonTime) {
		return nil
	}
	day := e.time.YearDay()
	return big.NewInt(int64((30 + 90*float64((day*104729)%97)/96) * 1e9))
}
