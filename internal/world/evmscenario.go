package world

import (
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// The EVM side of dprk-2021. Public reporting puts 58% of 2021's ~$395M in
// ETH, 22% in ERC-20 tokens and 20% in BTC (Chainalysis, WORLD-FACTS 3), so
// each incident's ETH and token loot is sized from the whole scenario's BTC
// value at theft-day prices. The weights spread it over the incidents; the
// Liquid theft (incident 5) carries the most tokens, as reported. Laundering
// follows the reports: tokens swapped to ETH on a DEX, the ETH split and
// put through the 100/10/1 ETH Tornado pools (about 70% of it), withdrawn to
// fresh addresses, consolidated, then paid into exchange deposit addresses
// and a swap service, part left where it is.
var (
	evmETHWeights   = []float64{0.05, 0.10, 0.30, 0.05, 0.15, 0.20, 0.15}
	evmTokenWeights = []float64{0.05, 0.05, 0.15, 0.05, 0.45, 0.15, 0.10}
	evmTokenSets    = [][]string{{"USDT"}, {"USDC", "LINK"}, {"USDT", "UNI"}, {"USDC"}, {"USDT", "USDC", "LINK", "UNI", "AAVE"}, {"USDT", "AAVE"}, {"USDC", "UNI"}}
)

const mixShare = 0.70 // of an incident's ETH (after swaps) that goes through the mixer

type evmRun struct {
	inc     *Incident
	idx     int
	block   uint64 // of the theft
	stage   int
	victim  common.Address
	thief0  common.Address
	splits  []common.Address
	outs    []common.Address // withdrawal recipients
	cons    []common.Address
	notes   []tornadoNote
	quick   []tornadoNote // withdrawn in the next block: a timing clue
	ethWei  *big.Int
	tokens  map[int]*big.Int
	wait    uint64
	price   *big.Int // the actor's distinctive gas price
	nextOut int
}

// cashOut pays num/den of what an address can spend to a destination.
type cashOut struct {
	to       common.Address
	kind     string
	dest     string
	num, den int64
}

type evmScenario struct {
	e      *evmWorld
	runs   []*evmRun
	thief  int // entity id
	bridge common.Address
}

func (e *evmWorld) newEVMScenario(sc *scenario, blockTime time.Duration, start time.Time) *evmScenario {
	es := &evmScenario{e: e, thief: e.w.thief.id, bridge: e.bridge}
	var btcUSD float64
	for _, d := range dprkIncidents {
		p, _ := PriceOn("BTC", d.date)
		btcUSD += float64(d.btc) * p
	}
	ethUSD, tokUSD := btcUSD*58/20, btcUSD*22/20
	for i, d := range dprkIncidents {
		run := sc.runs[i]
		t, _ := time.Parse("2006-01-02", d.date)
		r := &evmRun{inc: run.inc, idx: i, block: uint64(t.Add(9*time.Hour).Sub(start) / blockTime), tokens: map[int]*big.Int{}}
		r.victim = e.victimAddr(run.victim.id, d.victim)
		r.thief0 = e.addr(es.thief, fmt.Sprintf("dprk-%d", i), 0)
		ethP, _ := PriceOn("ETH", d.date)
		r.ethWei = ethWei(ethUSD * evmETHWeights[i] / ethP)
		set := evmTokenSets[i]
		for _, sym := range set {
			ti := tokenIndex(sym)
			p, _ := PriceOn(sym, d.date)
			r.tokens[ti] = units(tokUSD*evmTokenWeights[i]/float64(len(set))/p, evmTokens[ti].decimals)
		}
		// The actor pays a gas price of its own: a public clue.
		r.price = big.NewInt(int64(93_123_456_789 + i))
		r.inc.EVM = &IncidentEVM{Chain: "eth", VictimAddresses: []string{r.victim.Hex()}, Stolen: map[string]string{}, Destinations: map[string]string{}, DestinationsExact: map[string]string{}, BridgedBTC: map[string]int64{}}
		es.runs = append(es.runs, r)
	}
	return es
}

// victimAddr is the victim's EVM hot wallet: an exchange's own, or one for
// the victim entity.
func (e *evmWorld) victimAddr(entity int, name string) common.Address {
	for x, id := range e.exchIDs {
		if id == entity {
			return e.exchHot[x]
		}
	}
	return e.addr(entity, "victim", 0)
}

// allocations the victims need at genesis: the ETH and tokens to be stolen.
func (es *evmScenario) needs() (eth map[common.Address]*big.Int, tok map[common.Address]map[int]*big.Int) {
	eth, tok = map[common.Address]*big.Int{}, map[common.Address]map[int]*big.Int{}
	for _, r := range es.runs {
		if eth[r.victim] == nil {
			eth[r.victim] = new(big.Int)
			tok[r.victim] = map[int]*big.Int{}
		}
		eth[r.victim].Add(eth[r.victim], new(big.Int).Add(r.ethWei, ethWei(50)))
		for ti, v := range r.tokens {
			if tok[r.victim][ti] == nil {
				tok[r.victim][ti] = new(big.Int)
			}
			tok[r.victim][ti].Add(tok[r.victim][ti], v)
		}
	}
	return eth, tok
}

func (r *evmRun) step(tx *evmTx, from, to common.Address, asset string, v *big.Int, kind, clue string) {
	r.inc.Steps = append(r.inc.Steps, Step{Chain: "eth", Tx: tx.hash.Hex(), From: from.Hex(), To: to.Hex(), Kind: kind, Asset: asset, Value: v.String(), Clue: clue})
}

func addDest(m map[string]string, k string, v *big.Int) {
	cur, _ := new(big.Int).SetString(orDefault(m[k], "0"), 10)
	m[k] = cur.Add(cur, v).String()
}

// block advances every incident by one step of its laundering.
func (es *evmScenario) block() {
	e := es.e
	for _, r := range es.runs {
		es.quickWithdrawals(r)
		if e.number < r.block || e.number < r.wait {
			continue
		}
		switch r.stage {
		case 0: // the theft
			tx := e.send(&evmTx{from: r.victim, to: &r.thief0, value: r.ethWei, gasUsed: gasTransfer, status: 1})
			r.inc.EVM.TheftTxs = append(r.inc.EVM.TheftTxs, tx.hash.Hex())
			r.inc.EVM.Stolen["ETH"] = r.ethWei.String()
			r.step(tx, r.victim, r.thief0, "ETH", r.ethWei, "theft", "")
			usd := float64(new(big.Int).Div(r.ethWei, big.NewInt(1e12)).Int64()) / 1e6 * e.price("ETH")
			for ti := range evmTokens {
				v := r.tokens[ti]
				if v == nil {
					continue
				}
				t := evmTokens[ti]
				tk := t.addr
				tx := e.send(&evmTx{from: r.victim, to: &tk, gasUsed: gasToken, selector: "a9059cbb", status: 1, logs: []evmLog{transferLog(t.addr, r.victim, r.thief0, v)}})
				r.inc.EVM.TheftTxs = append(r.inc.EVM.TheftTxs, tx.hash.Hex())
				r.inc.EVM.Stolen[t.symbol] = v.String()
				r.step(tx, r.victim, r.thief0, t.symbol, v, "theft", "")
				f, _ := new(big.Float).Quo(new(big.Float).SetInt(v), new(big.Float).SetInt(pow10(t.decimals))).Float64()
				usd += f * e.price(t.symbol)
			}
			r.inc.EVM.StolenUSD = usd
			r.stage, r.wait = 1, e.number+1
		case 1: // tokens to ETH on the DEX, in slices of about $1.5M
			done := true
			for ti := range evmTokens {
				b := e.tokOf(evmTokens[ti].addr, r.thief0)
				if b.Sign() == 0 {
					continue
				}
				done = false
				slice := units(1_500_000/e.price(evmTokens[ti].symbol), evmTokens[ti].decimals)
				if slice.Cmp(b) > 0 {
					slice = new(big.Int).Set(b)
				}
				if tx := e.swapTokenForETH(r.thief0, ti, slice); tx != nil {
					r.step(tx, r.thief0, e.pairs[evmTokens[ti].addr], evmTokens[ti].symbol, slice, "swap", "")
				}
			}
			if done {
				r.stage = 2
			}
		case 2: // split the ETH over fresh addresses for the mixer
			total := new(big.Int).Sub(e.ethOf(r.thief0), ethWei(1))
			mix, _ := new(big.Float).Mul(new(big.Float).SetInt(total), big.NewFloat(mixShare)).Int(nil)
			part := new(big.Int).Div(mix, big.NewInt(4))
			for k := range 4 {
				a := e.addr(es.thief, fmt.Sprintf("dprk-%d-split", r.idx), k)
				if !e.canPayAt(r.thief0, part, gasTransfer, r.price) {
					break
				}
				tx := e.send(&evmTx{from: r.thief0, to: &a, value: part, gasUsed: gasTransfer, status: 1, price: r.price})
				r.step(tx, r.thief0, a, "ETH", part, "peel", "")
				r.splits = append(r.splits, a)
			}
			r.stage, r.wait = 3, e.number+1
		case 3: // deposits: 100, then 10, then 1 ETH notes, a dozen a block
			n := 0
			for _, a := range r.splits {
				for pool := 3; pool >= 1 && n < 12; pool-- {
					for n < 12 && e.canPayAt(a, e.denom(pool), gasMixDeposit, r.price) {
						tx, c := e.mixDeposit(a, pool, r.price)
						note := tornadoNote{pool: pool, commitment: c, owner: -1, at: e.number}
						if pool == 3 && e.rng.IntN(10) == 0 {
							r.quick = append(r.quick, note)
						} else {
							r.notes = append(r.notes, note)
						}
						r.step(tx, a, tornado[pool].addr, "ETH", e.denom(pool), "mix-in", "")
						addDest(r.inc.EVM.DestinationsExact, "mixer", e.denom(pool))
						n++
					}
				}
			}
			if n == 0 {
				r.stage, r.wait = 4, e.number+uint64(3+e.rng.IntN(6))
			}
		case 4: // withdrawals to fresh addresses, most through relayers
			for k := 0; k < 12 && r.nextOut < len(r.notes); k++ {
				note := r.notes[r.nextOut]
				// A relayer's withdrawal to a fresh address is linked by
				// the consolidation that follows (stage 5), once another
				// withdrawal paid into the same address is linked.
				clue := "consolidation"
				var to common.Address
				var rel *common.Address
				var price *big.Int
				switch x := e.rng.IntN(100); {
				case x < 15: // back to an address that deposited
					clue, to = "address-reuse", r.splits[e.rng.IntN(len(r.splits))]
				case x < 35: // the recipient withdraws itself, with the actor's gas price
					clue, to, price = "gas-price", e.addr(es.thief, fmt.Sprintf("dprk-%d-out", r.idx), len(r.outs)), r.price
				default:
					to = e.addr(es.thief, fmt.Sprintf("dprk-%d-out", r.idx), len(r.outs))
					rr := e.relayers[e.rng.IntN(len(e.relayers))]
					rel = &rr
				}
				if rel == nil && !e.canPay(to, new(big.Int), gasMixWithdr) {
					// A fresh address needs gas first: the actor funds it.
					gas := e.fee(gasMixWithdr * 2)
					if price != nil {
						gas = new(big.Int).Mul(big.NewInt(gasMixWithdr*2), price)
					}
					if !e.canPayAt(r.thief0, gas, gasTransfer, r.price) {
						rr := e.relayers[0]
						rel, clue, price = &rr, "consolidation", nil
					} else {
						tx := e.send(&evmTx{from: r.thief0, to: &to, value: gas, gasUsed: gasTransfer, status: 1, price: r.price})
						r.step(tx, r.thief0, to, "ETH", gas, "peel", "")
					}
				}
				tx := e.mixWithdraw(note.pool, to, rel, price)
				if tx == nil {
					break
				}
				r.step(tx, tornado[note.pool].addr, to, "ETH", tx.calls[0].value, "mix-out", clue)
				if len(tx.calls) > 1 {
					addDest(r.inc.EVM.Destinations, "mixer-fees", tx.calls[1].value)
				}
				r.outs = append(r.outs, to)
				r.nextOut++
			}
			if r.nextOut == len(r.notes) {
				r.stage, r.wait = 5, e.number+2
			}
		case 5: // consolidate the withdrawn coins in two addresses
			r.cons = []common.Address{e.addr(es.thief, fmt.Sprintf("dprk-%d-cons", r.idx), 0), e.addr(es.thief, fmt.Sprintf("dprk-%d-cons", r.idx), 1)}
			seen := map[common.Address]bool{}
			for i, a := range r.outs {
				if seen[a] {
					continue
				}
				seen[a] = true
				fee := new(big.Int).Mul(big.NewInt(gasTransfer), e.gasPrice())
				v := new(big.Int).Sub(e.ethOf(a), fee)
				if v.Sign() <= 0 {
					continue
				}
				to := r.cons[i%2]
				tx := e.send(&evmTx{from: a, to: &to, value: v, gasUsed: gasTransfer, status: 1})
				r.step(tx, a, to, "ETH", v, "consolidation", "")
			}
			r.stage, r.wait = 6, e.number+3
		case 6: // cash out: a swap service (bridge to BTC) and exchanges
			x := r.idx % len(e.exchHot)
			for i, a := range append([]common.Address{r.thief0}, r.cons...) {
				xi := (x + i) % len(e.exchHot)
				dep := e.depositAddr(xi, -1000-r.idx*10-i)
				exch := "exchange:" + e.w.truth.Entities[e.exchIDs[xi]].Name
				// The unmixed rest: half to an exchange. Each mixed
				// consolidation: half to the swap service, then two
				// thirds of what is left to an exchange; the rest stays.
				plan := []cashOut{{dep, "deposit", exch, 1, 2}}
				if i > 0 {
					plan = []cashOut{{es.bridge, "bridge", "bridge", 1, 2}, {dep, "deposit", exch, 2, 3}}
				}
				for _, p := range plan {
					spendable := new(big.Int).Sub(e.ethOf(a), new(big.Int).Mul(e.fee(gasTransfer), big.NewInt(3)))
					if spendable.Sign() <= 0 {
						break
					}
					v := new(big.Int).Div(new(big.Int).Mul(spendable, big.NewInt(p.num)), big.NewInt(p.den))
					to := p.to
					tx := e.send(&evmTx{from: a, to: &to, value: v, gasUsed: gasTransfer, status: 1})
					r.step(tx, a, to, "ETH", v, p.kind, "")
					addDest(r.inc.EVM.Destinations, p.dest, v)
					if i == 0 { // the unmixed rest, paid straight from the theft address
						addDest(r.inc.EVM.DestinationsExact, p.dest, v)
					}
					if p.kind == "bridge" {
						// The service pays out in BTC, at the day's prices
						// less 0.5%, within a few hours.
						eth, _ := new(big.Float).Quo(new(big.Float).SetInt(v), big.NewFloat(1e18)).Float64()
						sat := int64(eth * e.price("ETH") / e.price("BTC") * 0.995 * 1e8)
						e.w.orders = append(e.w.orders, bridgeOrder{at: e.time.Add(time.Duration(1+e.rng.IntN(4)) * time.Hour), run: r.idx, sat: sat, ethTx: tx.hash.Hex()})
					}
				}
			}
			r.stage = 7
		}
	}
}

// quickWithdrawals takes out, one block after their deposit and through a
// relayer, the notes the actor withdraws at once: the deposit and the
// withdrawal are linked by their timing (a 100 ETH note in and out within a
// block or two, in a pool with a few dozen deposits a day).
func (es *evmScenario) quickWithdrawals(r *evmRun) {
	e := es.e
	keep := r.quick[:0]
	for _, note := range r.quick {
		if e.number <= note.at {
			keep = append(keep, note)
			continue
		}
		to := e.addr(es.thief, fmt.Sprintf("dprk-%d-out", r.idx), len(r.outs))
		rel := e.relayers[e.rng.IntN(len(e.relayers))]
		tx := e.mixWithdraw(note.pool, to, &rel, nil)
		if tx == nil {
			keep = append(keep, note)
			continue
		}
		r.step(tx, tornado[note.pool].addr, to, "ETH", tx.calls[0].value, "mix-out", "timing")
		if len(tx.calls) > 1 {
			addDest(r.inc.EVM.Destinations, "mixer-fees", tx.calls[1].value)
		}
		r.outs = append(r.outs, to)
	}
	r.quick = keep
}

// finish records what stays on the actor's addresses and the gas spent.
func (es *evmScenario) finish() {
	e := es.e
	for _, r := range es.runs {
		if r.stage == 0 {
			continue
		}
		rest := new(big.Int)
		seen := map[common.Address]bool{}
		for _, a := range append(append(append([]common.Address{r.thief0}, r.splits...), r.outs...), r.cons...) {
			if !seen[a] {
				seen[a] = true
				rest.Add(rest, e.ethOf(a))
			}
		}
		r.inc.EVM.Destinations["unspent"] = rest.String()
		exact := new(big.Int)
		for _, a := range append([]common.Address{r.thief0}, r.splits...) {
			exact.Add(exact, e.ethOf(a))
		}
		r.inc.EVM.DestinationsExact["unspent"] = exact.String()
	}
}
