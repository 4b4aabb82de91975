package trace

import (
	"fmt"
	"maps"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"math/big"
	"sort"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
)

// The account model: on an EVM chain taint lives on (address, asset)
// balances, not on outputs. Transfers are replayed in chain order from the
// first stolen one; every balance that ever holds taint is kept, with its
// clean part (read from the address's earlier postings when it is first
// touched), and each transfer out of it takes taint by the model: FIFO (the
// balance is a queue of lots, oldest spent first), haircut (the tainted
// share of the balance) or poison (everything out of a tainted balance).
//
// Swaps continue the trace in the asset received: within a transaction,
// routers, pairs and WETH are conduits, and what leaves them to anyone else
// carries the tainted share of what entered them. Mixer deposits end the
// exact trace (the deposits are a "mixer" destination); with MixerLinks,
// withdrawals are linked to tainted deposits by public clues (the recipient
// already holds taint by exact links or deposited it, the depositor's
// unusual gas price, a
// withdrawal of the same pool within two blocks, and, looking ahead, a fresh
// recipient that passes the withdrawal on to where a linked withdrawal's
// recipient paid: consolidation) and the trace continues from them as
// heuristic: the value that left the mixer is counted again where it
// ends, with link "heuristic", so the exact and the heuristic pictures are
// each whole. Exchange deposit
// addresses and labelled services end it.

// EVMOptions bound an account-model trace.
type EVMOptions struct {
	Model string // fifo (default), haircut, poison
	// Services classifies labelled addresses (exchange hot wallets, mixer
	// pools, bridges, DEXes...).
	Services Service
	// Deposits maps exchange deposit addresses (cluster.ClusterEVM) to their
	// hot wallet; HotWallets names the exchange of each hot wallet.
	Deposits   map[uint32]uint32
	HotWallets map[uint32]string
	// MixerLinks follows mixer withdrawals linked to tainted deposits.
	MixerLinks bool
	// MinValue drops taint below it (base units) as dust; default 0.
	MinValue *big.Int
	// Until, when set, stops the replay at the last block before it: what
	// is held then is unspent.
	Until time.Time
	// MaxHops bounds a backward trace (default 10).
	MaxHops int
	// MaxFanOut, when set, bounds a forward trace: a transaction in which
	// taint holders pay more addresses than this (a batch payout, an
	// airdrop) is not followed; the taint they send in it ends with them,
	// as "limit".
	MaxFanOut int
	// Since, when set, bounds a backward trace in time: value that moved
	// before it is not explained further ("limit": its sender had it then).
	Since time.Time
	// Conduits, for a backward trace, is SwapConduits of the store, made
	// once by a caller that traces many times; nil: made by the trace.
	Conduits *Conduits
}

var zeroAddress = common.Address{}

// EVMStart is a stolen transfer; all of it is tainted.
type EVMStart struct{ Transfer uint64 }

// EVMFlow is taint moving along one transfer.
type EVMFlow struct {
	Chain  string `json:"chain"`
	Tx     string `json:"tx"`
	From   string `json:"from"`
	To     string `json:"to"`
	Asset  string `json:"asset"`
	Amount string `json:"amount"` // tainted, base units
	Block  uint64 `json:"block"`
	Link   string `json:"link"` // exact or heuristic
	Clue   string `json:"clue,omitempty"`
	// Confidence is how much of the clue's evidence points to the taint's
	// owner (linked withdrawals): 1 for address reuse; for the gas price,
	// the share of the transactions at that price sent by taint holders;
	// for timing, the share of the pool's deposits in the window that
	// are tainted; for a consolidation, the share of the sinks' ether
	// that recipients tied to the taint paid.
	Confidence float64 `json:"confidence,omitempty"`
	Transfer   uint64  `json:"-"` // the transfer's number in the store
}

// EVMDestination is where tainted value ended.
type EVMDestination struct {
	Chain    string `json:"chain"`
	Address  string `json:"address"`
	Category string `json:"category"` // exchange, mixer, bridge, <service category>, unspent, fees
	Label    string `json:"label,omitempty"`
	Asset    string `json:"asset"`
	Amount   string `json:"amount"`
	Block    uint64 `json:"block"` // when the last of it arrived
	Link     string `json:"link"`
	amount   *big.Int
}

// EVMResult is an account-model trace.
type EVMResult struct {
	Model        string            `json:"model"`
	From         []string          `json:"from"`
	Start        map[string]string `json:"start"`    // asset -> amount stolen
	Decimals     map[string]uint8  `json:"decimals"` // asset -> decimals, where known
	Flows        []EVMFlow         `json:"flows"`
	Destinations []EVMDestination  `json:"destinations"`
	// MixerLinks are the withdrawals linked to tainted deposits, by clue.
	MixerLinks map[string]int `json:"mixer_links,omitempty"`
	Transfers  int            `json:"transfers_replayed"`
	// passesThrough says whether an address is a contract taint passes
	// through (a DEX pair or router, WETH) or a mixer pool: no one's
	// holdings (Holders).
	passesThrough func(addr string) bool
}

// part is taint by link kind.
type part struct{ exact, heur *big.Int }

func newPart() part { return part{new(big.Int), new(big.Int)} }

func (p part) sum() *big.Int { return new(big.Int).Add(p.exact, p.heur) }

func (p part) zero() bool { return p.exact.Sign() == 0 && p.heur.Sign() == 0 }

// lot is a piece of a FIFO balance.
type lot struct {
	amount *big.Int
	heur   bool // tainted through a heuristic link
	taint  bool
}

type holding struct{ addr, asset uint32 }

// account is a tracked balance.
type account struct {
	lots    []lot    // FIFO
	total   *big.Int // haircut, poison
	tainted part     // haircut, poison
}

type evmTracer struct {
	s      evmstore.Reader
	zero   uint32 // the zero address: where mints come from and burns go
	o      EVMOptions
	acct   map[holding]*account
	res    *EVMResult
	dest   map[string]*EVMDestination
	notes  map[uint32][]mixNote // pool -> tainted deposits not yet linked
	prices *map[uint64][]uint32 // gas price -> senders of the transactions paying it (the gas-price clue), shared by the replays
	// deposits counts each pool's deposits by block (the timing clue's
	// anonymity set).
	deposits map[poolBlock]int
	// holds has the addresses that held taint: true for those that held
	// it by exact links (a withdrawal to one reuses its address), false
	// for those only heuristic links reached.
	holds map[uint32]bool
	// linked are the withdrawal transactions linked to tainted deposits;
	// consolidated those the consolidation clue links (found by the
	// previous replay), each with its confidence (-1: linked by another
	// clue before).
	linked       map[uint32]bool
	consolidated map[uint32]float64
	// carried is, by asset, the taint start transfers took from holders
	// already tainted (a theft's later move traced with it): counted at
	// the start it came from, not again.
	carried map[string]*big.Int
}

// poolBlock is a mixer pool's block.
type poolBlock struct {
	pool  uint32
	block uint64
}

type mixNote struct {
	taint    part
	amount   *big.Int
	depositr uint32
	price    uint64
	block    uint64
	tx       uint32
}

// AssetName names asset a of the store as traces do: ETH for ether (None),
// else the token's symbol, else its contract's address.
func AssetName(s evmstore.Reader, a uint32) string {
	name, _, _ := assetInfo(s, a)
	return name
}

// assetInfo is AssetName with the asset's decimals, where the store knows
// them.
func assetInfo(s evmstore.Reader, a uint32) (name string, decimals uint8, known bool) {
	if a == evmstore.None {
		return "ETH", 18, true
	}
	sym, d, ok := s.Token(a)
	if ok && sym != "" {
		return sym, d, true
	}
	return s.Address(a).Hex(), d, ok
}

// asset names asset a as AssetName does and notes its decimals in the
// result, where the store knows them, so that every amount of the result
// (a start, a flow, a destination in an asset swapped into) reads in whole
// units.
func (t *evmTracer) asset(a uint32) string {
	name, d, ok := assetInfo(t.s, a)
	if ok {
		t.res.Decimals[name] = d
	}
	return name
}

// TraceEVM follows the stolen transfers forward.
func TraceEVM(s evmstore.Reader, starts []EVMStart, o EVMOptions) (*EVMResult, error) {
	if o.Model == "" {
		o.Model = FIFO
	}
	if o.Model != FIFO && o.Model != Haircut && o.Model != Poison {
		return nil, fmt.Errorf("trace: unknown model %q (want fifo, haircut or poison)", o.Model)
	}
	if o.MinValue == nil {
		o.MinValue = new(big.Int)
	}
	if len(starts) == 0 {
		return nil, fmt.Errorf("trace: nothing to trace from")
	}
	res := &EVMResult{Model: o.Model, Start: map[string]string{}, Decimals: map[string]uint8{"ETH": 18}}
	start := map[uint64]bool{}
	first := starts[0].Transfer
	c := s.Counts()
	for _, st := range starts {
		if st.Transfer >= c.Transfers {
			return nil, fmt.Errorf("trace: transfer %d is not in the store", st.Transfer)
		}
		if start[st.Transfer] {
			continue // given twice: counted once
		}
		start[st.Transfer] = true
		first = min(first, st.Transfer)
		x := s.Transfer(st.Transfer)
		if x.Tx != evmstore.None {
			res.From = append(res.From, s.Tx(x.Tx).Hash.Hex())
		}
		name, d, ok := assetInfo(s, x.Asset)
		if ok {
			res.Decimals[name] = d
		}
		prev, _ := new(big.Int).SetString(orZero(res.Start[name]), 10)
		res.Start[name] = prev.Add(prev, x.Amount.ToBig()).String()
	}
	sort.Strings(res.From)
	// Swaps by transaction; mixer pools (contracts with mixer events).
	swapsOf := map[uint32][]evmstore.EventRow{}
	withdrawalOf := map[uint32]evmstore.EventRow{}
	pools := map[uint32]bool{}
	conduits := map[uint32]bool{}
	deposits := map[poolBlock]int{}
	for n := uint64(0); n < c.Events; n++ {
		e := s.Event(n)
		switch e.Kind {
		case evm.EventSwap:
			swapsOf[e.Tx] = append(swapsOf[e.Tx], e)
			conduits[e.Contract] = true
		case evm.EventMixDeposit:
			pools[e.Contract] = true
			deposits[poolBlock{e.Contract, c.First + s.Tx(e.Tx).Block}]++
		case evm.EventMixWithdrawal:
			pools[e.Contract] = true
			withdrawalOf[e.Tx] = e
		}
	}
	for a := range evm.WrappedNative {
		if n, err := s.AddrNum(a); err == nil {
			conduits[n] = true
		}
	}
	if o.Services != nil {
		// Labelled DEX routers are conduits too.
		for n := uint32(0); uint64(n) < c.Addrs; n++ {
			if cat, _, ok := o.Services(n); ok && cat == "dex" {
				conduits[n] = true
			}
		}
	}
	res.passesThrough = func(addr string) bool {
		n, ok := addrNum(s, addr)
		return ok && (conduits[n] || pools[n])
	}

	end := c.Transfers
	if !o.Until.IsZero() {
		r := sort.Search(int(c.Blocks), func(r int) bool { return time.Unix(int64(s.Block(uint64(r)).Time), 0).After(o.Until) })
		if uint64(r) < c.Blocks {
			end = s.Block(uint64(r)).FirstXfer
		}
	}
	var prices map[uint64][]uint32
	run := func(consolidated map[uint32]float64) *evmTracer {
		r := *res
		r.MixerLinks = map[string]int{}
		t := &evmTracer{s: s, o: o, zero: evmstore.None, acct: map[holding]*account{}, dest: map[string]*EVMDestination{}, notes: map[uint32][]mixNote{}, deposits: deposits,
			holds: map[uint32]bool{}, res: &r, linked: map[uint32]bool{}, consolidated: consolidated, prices: &prices, carried: map[string]*big.Int{}}
		if n, err := s.AddrNum(zeroAddress); err == nil {
			t.zero = n
		}
		// Replay the transfers transaction by transaction.
		for x := first; x < end; {
			tx := s.Transfer(x).Tx
			next := x + 1
			for next < end && tx != evmstore.None && s.Transfer(next).Tx == tx {
				next++
			}
			t.replayTx(x, next, tx, start, swapsOf[tx], conduits, pools, withdrawalOf)
			x = next
		}
		return t
	}
	t := run(nil)
	if o.MixerLinks {
		// The consolidation clue looks ahead: replay again with the
		// withdrawals it links, until no more are found.
		for range 4 {
			more, err := t.consolidations(withdrawalOf, pools, conduits, end)
			if err != nil {
				return nil, err
			}
			if len(more) == len(t.consolidated) {
				break
			}
			t = run(more)
		}
	}
	// What is still held is unspent.
	for h, a := range t.acct {
		p := t.held(a)
		t.addDest(p, s.Address(h.addr).Hex(), "unspent", "", t.asset(h.asset), s.Counts().First+s.Counts().Blocks-1)
	}
	// The stolen amounts less what one start carried from another.
	started := map[string]string{}
	for name, v := range res.Start {
		x, _ := new(big.Int).SetString(v, 10)
		if c := t.carried[name]; c != nil {
			x.Sub(x, c)
		}
		started[name] = x.String()
	}
	t.res.Start = started
	t.collect()
	return t.res, nil
}

// collect puts the destinations with something in them in the result, in
// a fixed order: category, address, asset, link.
func (t *evmTracer) collect() {
	for _, d := range t.dest {
		if d.amount.Sign() == 0 {
			continue
		}
		d.Amount = d.amount.String()
		t.res.Destinations = append(t.res.Destinations, *d)
	}
	sort.Slice(t.res.Destinations, func(i, j int) bool {
		a, b := t.res.Destinations[i], t.res.Destinations[j]
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		if a.Address != b.Address {
			return a.Address < b.Address
		}
		if a.Asset != b.Asset {
			return a.Asset < b.Asset
		}
		return a.Link < b.Link
	})
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func (t *evmTracer) service(a uint32) (string, string, bool) {
	if t.o.Services == nil || a == evmstore.None {
		return "", "", false
	}
	return t.o.Services(a)
}

// replayTx replays the transfers [lo, hi) of one transaction (or of the
// block-level ones).
func (t *evmTracer) replayTx(lo, hi uint64, tx uint32, start map[uint64]bool, swaps []evmstore.EventRow, conduits, pools map[uint32]bool, withdrawals map[uint32]evmstore.EventRow) {
	s := t.s
	t.res.Transfers += int(hi - lo)
	// Conduits in this transaction: taint in, taint out in proportion.
	conduitIn, conduitAll := newPart(), new(big.Int)
	isConduit := func(a uint32) bool { return conduits[a] && len(swaps) > 0 }
	var link *mixNote
	var clue string
	var conf float64
	recipient := evmstore.None
	if w, ok := withdrawals[tx]; ok && t.o.MixerLinks {
		link, clue, conf = t.linkWithdrawal(w, tx)
		recipient = w.Actor
		if link != nil {
			t.linked[tx] = true
		}
	}
	fanOut := ""
	if t.o.MaxFanOut > 0 && tx != evmstore.None {
		if n := t.paidByHolders(lo, hi); n > t.o.MaxFanOut {
			fanOut = fmt.Sprintf("fan-out: %s pays %d addresses", s.Tx(tx).Hash.Hex(), n)
		}
	}
	// Two passes: first everything that is not paid out by a conduit, then
	// what conduits pay out.
	for pass := 0; pass < 2; pass++ {
		for x := lo; x < hi; x++ {
			r := s.Transfer(x)
			if r.Kind == evm.KindNFT {
				continue
			}
			fromConduit := r.From != evmstore.None && isConduit(r.From)
			if (pass == 0) == fromConduit {
				continue
			}
			amount := r.Amount.ToBig()
			var moved part
			switch {
			case start[x]:
				// All of it stolen, exactly: what its sender's tainted
				// holding gives it, and the rest anew.
				if taken := t.take(holding{r.From, r.Asset}, amount, r.Kind).sum(); taken.Sign() > 0 {
					name := t.asset(r.Asset)
					if t.carried[name] == nil {
						t.carried[name] = new(big.Int)
					}
					t.carried[name].Add(t.carried[name], taken)
				}
				moved = part{new(big.Int).Set(amount), new(big.Int)}
			case fromConduit:
				moved = newPart()
				if conduitAll.Sign() > 0 && !conduitIn.zero() {
					moved.exact = scale(amount, conduitIn.exact, conduitAll)
					moved.heur = scale(amount, conduitIn.heur, conduitAll)
				}
			case link != nil && pools[r.From]:
				// A linked withdrawal: the pool pays the recipient (and a
				// relayer's fee); taint follows the note's share.
				moved = newPart()
				share := link.taint.sum()
				moved.heur = scale(amount, share, link.amount)
			default:
				moved = t.take(holding{r.From, r.Asset}, amount, r.Kind)
				if fanOut != "" && !moved.zero() && r.Kind != evm.KindFee && r.Kind != evm.KindBurn {
					// The taint ends with its holder; the payment goes on
					// as clean money (a followed balance's total takes it).
					t.addDest(moved, addrText(s, r.From), "limit", fanOut, t.asset(r.Asset), s.Counts().First+s.TransferBlock(x))
					moved = newPart()
				}
			}
			if r.To != evmstore.None && isConduit(r.To) && !fromConduit {
				if r.From == evmstore.None || r.From == t.zero {
					continue // WETH minted to a router: the ETH paid in already counted
				}
				conduitIn.exact.Add(conduitIn.exact, moved.exact)
				conduitIn.heur.Add(conduitIn.heur, moved.heur)
				conduitAll.Add(conduitAll, amount)
				if !moved.zero() {
					t.flow(x, r, moved, "", 0)
				}
				continue
			}
			if fromConduit && r.To != evmstore.None && isConduit(r.To) {
				continue
			}
			if !moved.zero() {
				c, cf := "", 0.0
				if link != nil && pools[r.From] {
					c, cf = clue, conf
				}
				t.flow(x, r, moved, c, cf)
			}
			if link != nil && pools[r.From] && r.To != recipient {
				// The relayer's fee out of a linked withdrawal.
				t.addDest(moved, addrText(s, r.To), "mixer-fees", "", t.asset(r.Asset), s.Counts().First+s.TransferBlock(x))
				continue
			}
			t.arrive(x, r, amount, moved, pools, tx)
		}
	}
}

// paidByHolders counts the addresses that one transaction's transfers
// [lo, hi) pay out of tainted balances and that pass none of it on within
// it (fees aside): a batch payout's fan-out, whether the holder pays each
// address itself or through a contract that disperses its payment. It is
// the transaction's shape, counted before its replay (under FIFO a
// holder's first payments may carry none of its taint).
func (t *evmTracer) paidByHolders(lo, hi uint64) int {
	reached, passes := map[uint32]bool{}, map[uint32]bool{}
	for x := lo; x < hi; x++ {
		r := t.s.Transfer(x)
		if r.Kind == evm.KindNFT || r.Kind == evm.KindFee || r.Kind == evm.KindBurn || r.From == evmstore.None || r.To == evmstore.None || r.To == r.From {
			continue
		}
		holds := reached[r.From]
		if a := t.acct[holding{r.From, r.Asset}]; !holds && a != nil {
			holds = !t.held(a).zero()
		}
		if holds {
			passes[r.From] = reached[r.From]
			reached[r.To] = true
		}
	}
	n := 0
	for a := range reached {
		if !passes[a] {
			n++
		}
	}
	return n
}

// scale returns amount * num / den.
func scale(amount, num, den *big.Int) *big.Int {
	if den.Sign() == 0 {
		return new(big.Int)
	}
	v := new(big.Int).Mul(amount, num)
	v.Quo(v, den)
	if v.Cmp(amount) > 0 {
		v.Set(amount)
	}
	return v
}

func (t *evmTracer) flow(x uint64, r evmstore.TransferRow, p part, clue string, conf float64) {
	s := t.s
	if r.To == t.zero || r.From == t.zero {
		return // mints and burns are not moves between parties
	}
	f := func(v *big.Int, link string) {
		if v.Sign() == 0 {
			return
		}
		fl := EVMFlow{Chain: s.Chain(), From: addrText(s, r.From), To: addrText(s, r.To), Asset: t.asset(r.Asset), Amount: v.String(),
			Block: s.Counts().First + s.TransferBlock(x), Link: link, Clue: clue, Transfer: x}
		if link == "heuristic" {
			fl.Confidence = conf
		}
		if r.Tx != evmstore.None {
			fl.Tx = s.Tx(r.Tx).Hash.Hex()
		}
		t.res.Flows = append(t.res.Flows, fl)
	}
	f(p.exact, "exact")
	f(p.heur, "heuristic")
}

func addrText(s evmstore.Reader, a uint32) string {
	if a == evmstore.None {
		return ""
	}
	return s.Address(a).Hex()
}

// arrive credits a transfer's taint to where it went.
func (t *evmTracer) arrive(x uint64, r evmstore.TransferRow, amount *big.Int, moved part, pools map[uint32]bool, tx uint32) {
	s := t.s
	if moved.zero() && (r.To == evmstore.None || t.acct[holding{r.To, r.Asset}] == nil) {
		return // clean money to a balance nobody follows
	}
	block := s.Counts().First + s.TransferBlock(x)
	asset := t.asset(r.Asset)
	switch {
	case r.Kind == evm.KindFee || r.Kind == evm.KindBurn:
		t.addDest(moved, "", "fees", "", asset, block)
		return
	case r.To == evmstore.None || r.To == t.zero:
		return // burnt: a token burn, or WETH unwrapped (its ETH goes on separately)
	}
	to := s.Address(r.To).Hex()
	if hot, ok := t.o.Deposits[r.To]; ok {
		t.addDest(moved, to, "exchange", t.o.HotWallets[hot], asset, block)
		return
	}
	if name, ok := t.o.HotWallets[r.To]; ok {
		t.addDest(moved, to, "exchange", name, asset, block)
		return
	}
	if pools[r.To] {
		// The mixer ends the trace through exact links; what linked
		// withdrawals carry on is counted again, as heuristic, where it ends.
		_, label, _ := t.service(r.To)
		t.addDest(moved, to, "mixer", label, asset, block)
		if !moved.zero() {
			info := s.Tx(tx)
			t.notes[r.To] = append(t.notes[r.To], mixNote{taint: moved, amount: new(big.Int).Set(amount), depositr: r.From, price: info.GasPrice, block: block, tx: tx})
		}
		return
	}
	if cat, label, ok := t.service(r.To); ok && cat != "dex" && cat != "token" {
		t.addDest(moved, to, cat, label, asset, block)
		return
	}
	// An ordinary address: its balance takes the transfer.
	h := holding{r.To, r.Asset}
	a := t.acct[h]
	if a == nil {
		if moved.zero() {
			return // an untracked balance receiving clean money: nothing to do
		}
		a = t.open(h, x)
	}
	t.credit(a, amount, moved)
	if !moved.zero() {
		t.holds[r.To] = t.holds[r.To] || moved.exact.Sign() > 0
	}
}

func (t *evmTracer) addDest(p part, addr, cat, label, asset string, block uint64) {
	add := func(v *big.Int, link string) {
		if v.Sign() == 0 || v.Cmp(t.o.MinValue) < 0 {
			return
		}
		k := cat + "|" + addr + "|" + asset + "|" + link
		d := t.dest[k]
		if d == nil {
			d = &EVMDestination{Chain: t.s.Chain(), Address: addr, Category: cat, Label: label, Asset: asset, Link: link, amount: new(big.Int)}
			t.dest[k] = d
		}
		d.amount.Add(d.amount, v)
		d.Block = max(d.Block, block)
	}
	add(p.exact, "exact")
	add(p.heur, "heuristic")
}

// open starts tracking a balance with what it held before transfer x.
func (t *evmTracer) open(h holding, x uint64) *account {
	s := t.s
	bal := new(big.Int)
	s.Postings(h.addr, func(y uint64) bool {
		if y >= x {
			return false
		}
		r := s.Transfer(y)
		if r.Asset != h.asset || r.Kind == evm.KindNFT {
			return true
		}
		if r.To == h.addr {
			bal.Add(bal, r.Amount.ToBig())
		}
		if r.From == h.addr {
			bal.Sub(bal, r.Amount.ToBig())
		}
		return true
	})
	if bal.Sign() < 0 {
		bal.SetInt64(0) // the store starts after the address was funded
	}
	a := &account{total: new(big.Int).Set(bal), tainted: newPart()}
	if bal.Sign() > 0 {
		a.lots = append(a.lots, lot{amount: bal})
	}
	t.acct[h] = a
	return a
}

func (t *evmTracer) credit(a *account, amount *big.Int, moved part) {
	a.total.Add(a.total, amount)
	a.tainted.exact.Add(a.tainted.exact, moved.exact)
	a.tainted.heur.Add(a.tainted.heur, moved.heur)
	clean := new(big.Int).Sub(amount, moved.sum())
	if moved.exact.Sign() > 0 {
		a.lots = append(a.lots, lot{amount: new(big.Int).Set(moved.exact), taint: true})
	}
	if moved.heur.Sign() > 0 {
		a.lots = append(a.lots, lot{amount: new(big.Int).Set(moved.heur), taint: true, heur: true})
	}
	if clean.Sign() > 0 {
		a.lots = append(a.lots, lot{amount: clean})
	}
}

// take removes amount from a tracked balance and returns the taint it
// carries under the model; an untracked balance carries none.
func (t *evmTracer) take(h holding, amount *big.Int, kind evm.Kind) part {
	a := t.acct[h]
	if a == nil || h.addr == evmstore.None || h.addr == t.zero {
		return newPart()
	}
	out := newPart()
	switch t.o.Model {
	case FIFO:
		left := new(big.Int).Set(amount)
		for left.Sign() > 0 && len(a.lots) > 0 {
			l := &a.lots[0]
			n := new(big.Int).Set(left)
			if l.amount.Cmp(n) < 0 {
				n.Set(l.amount)
			}
			if l.taint {
				if l.heur {
					out.heur.Add(out.heur, n)
				} else {
					out.exact.Add(out.exact, n)
				}
			}
			l.amount.Sub(l.amount, n)
			left.Sub(left, n)
			if l.amount.Sign() == 0 {
				a.lots = a.lots[1:]
			}
		}
	case Haircut:
		if a.total.Sign() > 0 {
			out.exact = scale(amount, a.tainted.exact, a.total)
			out.heur = scale(amount, a.tainted.heur, a.total)
		}
	case Poison:
		if !a.tainted.zero() {
			if a.tainted.heur.Sign() > 0 && a.tainted.exact.Sign() == 0 {
				out.heur.Set(amount)
			} else {
				out.exact.Set(amount)
			}
		}
	}
	a.total.Sub(a.total, amount)
	if a.total.Sign() < 0 {
		a.total.SetInt64(0)
	}
	if t.o.Model != Poison {
		a.tainted.exact.Sub(a.tainted.exact, out.exact)
		a.tainted.heur.Sub(a.tainted.heur, out.heur)
		if a.tainted.exact.Sign() < 0 {
			a.tainted.exact.SetInt64(0)
		}
		if a.tainted.heur.Sign() < 0 {
			a.tainted.heur.SetInt64(0)
		}
	}
	return out
}

// held is the taint a balance still holds.
func (t *evmTracer) held(a *account) part {
	if t.o.Model == FIFO {
		p := newPart()
		for _, l := range a.lots {
			if l.taint {
				if l.heur {
					p.heur.Add(p.heur, l.amount)
				} else {
					p.exact.Add(p.exact, l.amount)
				}
			}
		}
		return p
	}
	if t.o.Model == Poison {
		if a.tainted.zero() {
			return newPart()
		}
		return part{new(big.Int).Set(a.total), new(big.Int)}
	}
	return a.tainted
}

// linkWithdrawal picks the tainted deposit note a mixer withdrawal is
// linked to, by the strongest public clue, or nil.
func (t *evmTracer) linkWithdrawal(w evmstore.EventRow, tx uint32) (*mixNote, string, float64) {
	ns := t.notes[w.Contract]
	if len(ns) == 0 {
		return nil, "", 0
	}
	s := t.s
	info := s.Tx(tx)
	block := s.Counts().First + s.Tx(tx).Block
	pick := -1
	clue := ""
	conf := 0.0
	for i, n := range ns {
		switch {
		case t.holds[w.Actor] || w.Actor == n.depositr:
			pick, clue, conf = i, "address-reuse", 1
		case info.From == w.Actor && info.GasPrice == n.price:
			if share := t.priceShare(n.price); share >= 0.5 {
				pick, clue, conf = i, "gas-price", share
			}
		}
		if pick < 0 && block <= n.block+2 {
			pick, clue, conf = i, "timing", t.timingShare(w.Contract, block, ns)
		}
		if pick >= 0 {
			break
		}
	}
	if share, ok := t.consolidated[tx]; pick < 0 && ok {
		pick, clue, conf = 0, "consolidation", max(share, 0)
	}
	if pick < 0 {
		return nil, "", 0
	}
	n := ns[pick]
	t.notes[w.Contract] = append(ns[:pick:pick], ns[pick+1:]...)
	t.res.MixerLinks[clue]++
	return &n, clue, conf
}

// timingShare is the timing clue's confidence for a withdrawal from pool
// at block: of the pool's deposits in the window the clue looks at (the
// two blocks before, and its own), the share that are tainted notes not
// yet linked.
func (t *evmTracer) timingShare(pool uint32, block uint64, ns []mixNote) float64 {
	all, tainted := 0, 0
	for b := block - min(block, 2); b <= block; b++ {
		all += t.deposits[poolBlock{pool, b}]
	}
	for _, n := range ns {
		if n.block+2 >= block && n.block <= block {
			tainted++
		}
	}
	if all == 0 {
		return 0
	}
	return min(1, float64(tainted)/float64(all))
}

// consolidations returns the withdrawals linked so far and those the
// consolidation clue adds: a withdrawal to a fresh address (funded by
// withdrawals, and by at most a tenth as much from elsewhere, for gas) that
// passes at least nine tenths of it on to an address where a linked
// withdrawal's recipient also paid (not a pool or a labelled service:
// only the actor pays there). Launderers gather their withdrawals in a
// few addresses before cashing out; the clue names them all once one is
// known. Withdrawals past end are not considered. Each link's confidence
// is the share of the sinks' ether that recipients linked (before, or by
// the clue) paid, each sink weighed by what the recipient paid it.
func (t *evmTracer) consolidations(withdrawals map[uint32]evmstore.EventRow, pools, conduits map[uint32]bool, end uint64) (map[uint32]float64, error) {
	s := t.s
	out := map[uint32]float64{}
	for tx := range t.linked {
		out[tx] = -1
	}
	maps.Copy(out, t.consolidated)
	// Where the linked withdrawals' recipients paid ETH on.
	sinks := map[uint32]bool{}
	recipients := map[uint32]bool{}
	for tx := range t.linked {
		recipients[withdrawals[tx].Actor] = true
	}
	for r := range recipients {
		err := s.Postings(r, func(x uint64) bool {
			if x >= end {
				return false
			}
			tr := s.Transfer(x)
			if tr.From == r && tr.Asset == evmstore.None && tr.To != evmstore.None && tr.To != r && t.plainAddress(tr.To, pools, conduits) &&
				(tr.Kind == evm.KindCall || tr.Kind == evm.KindInternal) {
				sinks[tr.To] = true
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	if len(sinks) == 0 {
		return out, nil
	}
	// Recipients of other withdrawals who pass them on to a sink: found
	// among those who paid a sink, which are few. Of each sink's ether,
	// what the linked recipients paid.
	payers := map[uint32]bool{}
	inAll, fromTied := map[uint32]float64{}, map[uint32]float64{}
	for c := range sinks {
		in, fromLinked := new(big.Int), new(big.Int)
		err := s.Postings(c, func(x uint64) bool {
			if x >= end {
				return false
			}
			if tr := s.Transfer(x); tr.To == c && tr.From != evmstore.None {
				payers[tr.From] = true
				if tr.Asset == evmstore.None && (tr.Kind == evm.KindCall || tr.Kind == evm.KindInternal) {
					in.Add(in, tr.Amount.ToBig())
					if recipients[tr.From] {
						fromLinked.Add(fromLinked, tr.Amount.ToBig())
					}
				}
			}
			return true
		})
		inAll[c], _ = new(big.Float).SetInt(in).Float64()
		fromTied[c], _ = new(big.Float).SetInt(fromLinked).Float64()
		if err != nil {
			return nil, err
		}
	}
	byRecipient := map[uint32][]uint32{}
	for tx, w := range withdrawals {
		if _, ok := out[tx]; !ok && payers[w.Actor] && !recipients[w.Actor] {
			byRecipient[w.Actor] = append(byRecipient[w.Actor], tx)
		}
	}
	// A recipient the clue links ties what it paid the sinks to the taint
	// too; each link's confidence is the share of the sinks' ether so tied
	// (recipients linked before and by this clue), each sink weighed by
	// what the recipient paid it.
	type tied struct {
		txs  []uint32
		pays map[uint32]float64 // sink -> paid
		sent float64
	}
	var found []tied
	for r, txs := range byRecipient {
		fromPools, other, toSinks := new(big.Int), new(big.Int), new(big.Int)
		pays, sent := map[uint32]float64{}, 0.0
		err := s.Postings(r, func(x uint64) bool {
			if x >= end {
				return false
			}
			tr := s.Transfer(x)
			if tr.Asset != evmstore.None || tr.Kind == evm.KindFee || tr.Kind == evm.KindBurn {
				return true
			}
			switch {
			case tr.To == r && tr.From != evmstore.None && pools[tr.From]:
				fromPools.Add(fromPools, tr.Amount.ToBig())
			case tr.To == r:
				other.Add(other, tr.Amount.ToBig())
			case tr.From == r && sinks[tr.To]:
				toSinks.Add(toSinks, tr.Amount.ToBig())
				v, _ := new(big.Float).SetInt(tr.Amount.ToBig()).Float64()
				sent += v
				pays[tr.To] += v
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		if fromPools.Sign() == 0 {
			continue
		}
		tenth := new(big.Int).Div(fromPools, big.NewInt(10))
		if other.Cmp(tenth) <= 0 && toSinks.Cmp(new(big.Int).Sub(fromPools, tenth)) >= 0 {
			found = append(found, tied{txs, pays, sent})
			for c, v := range pays {
				fromTied[c] += v
			}
		}
	}
	for _, f := range found {
		var weighed float64
		for c, v := range f.pays {
			if inAll[c] > 0 {
				weighed += v * min(1, fromTied[c]/inAll[c])
			}
		}
		for _, tx := range f.txs {
			out[tx] = weighed / f.sent
		}
	}
	return out, nil
}

// plainAddress says whether a is an address only its owner pays by
// choice: not a mixer pool, a conduit (WETH, a DEX pair or router), a
// labelled service or an exchange's hot wallet.
func (t *evmTracer) plainAddress(a uint32, pools, conduits map[uint32]bool) bool {
	if pools[a] || conduits[a] || a == t.zero {
		return false
	}
	if _, ok := t.o.HotWallets[a]; ok {
		return false
	}
	if _, _, ok := t.service(a); ok {
		return false
	}
	return true
}

// priceShare is the share of the transactions paying exactly gas price p
// that addresses holding taint sent: a price marks its payer (wallet
// software that sets its own odd price, not the day's going rate) when
// they sent most of them, and the share is the clue's confidence.
func (t *evmTracer) priceShare(p uint64) float64 {
	if *t.prices == nil {
		*t.prices = map[uint64][]uint32{}
		for n := uint32(0); uint64(n) < t.s.Counts().Txs; n++ {
			tx := t.s.Tx(n)
			(*t.prices)[tx.GasPrice] = append((*t.prices)[tx.GasPrice], tx.From)
		}
	}
	senders := (*t.prices)[p]
	held := 0
	for _, a := range senders {
		if _, ok := t.holds[a]; ok {
			held++
		}
	}
	if len(senders) == 0 {
		return 0
	}
	return float64(held) / float64(len(senders))
}
