package world

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
)

// The Bitcoin side of the dprk-2021 scenario: seven thefts in 2021 on the
// dates and shapes public reporting gives (WORLD-FACTS.md section 3; the
// Liquid theft on 2021-08-19 with its 107 BTC; the others anonymous), each
// laundered as reported: peel chains, Whirlpool Tx0 and mixes, consolidation
// of the mixed coins, deposits at several exchanges, part left unspent.
var dprkIncidents = []struct {
	id, victim, date string
	btc              int64 // BTC stolen, whole coins
}{
	{"dprk-2021-1", "investment firm A", "2021-03-05", 150},
	{"dprk-2021-2", "Coinvault", "2021-04-19", 200},
	{"dprk-2021-3", "investment firm B", "2021-05-12", 990},
	{"dprk-2021-4", "Bitharbor", "2021-05-17", 80},
	{"dprk-2021-5", "Liquid Global", "2021-08-19", 107},
	{"dprk-2021-6", "Kettle Exchange", "2021-10-08", 120},
	{"dprk-2021-7", "Northgate", "2021-11-05", 60},
}

type incidentRun struct {
	inc    *Incident
	height int // of the theft
	stage  int
	coins  []coin // the thief's coins of this incident, not yet laundered
	inMix  int    // coins of this incident waiting in the pool
	victim *wallet
	thief  *wallet // the actor's coins from this incident (same owner as the others)
	// bridged are the BTC the swap service paid out for this incident's
	// ETH, with the block they arrived in.
	bridged []bridgedCoin
}

type bridgedCoin struct {
	c      coin
	height int
}

// bridgeOrder is a payout the swap service owes on the Bitcoin side.
type bridgeOrder struct {
	at    time.Time
	run   int // incident
	sat   int64
	ethTx string
}

type scenario struct {
	w    *world
	runs []*incidentRun
}

func newScenario(w *world) *scenario {
	sc := &scenario{w: w}
	for _, d := range dprkIncidents {
		inc := &Incident{ID: d.id, Victim: d.victim, Date: d.date, Actor: "Lazarus Group", Chain: "btc", Destinations: map[string]int64{}}
		w.truth.Incidents = append(w.truth.Incidents, inc)
		// A victim that is not one of the exchanges holds its coins in a
		// hot wallet of its own.
		var victim *wallet
		for _, e := range w.exch {
			if e.name == d.victim {
				victim = e.w
			}
		}
		if victim == nil {
			victim = w.newEntity(KindUser, d.victim)
		}
		t, _ := time.Parse("2006-01-02", d.date)
		// The first block of the theft's day or after: block h is mined at
		// h steps past the year's start.
		h := int(math.Ceil(float64(w.o.Blocks) * t.Sub(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / (365 * 24)))
		thief := &wallet{id: w.thief.id, noRemix: true}
		sc.runs = append(sc.runs, &incidentRun{inc: inc, height: max(h, 120), victim: victim, thief: thief})
	}
	return sc
}

func (r *incidentRun) stolenBTC() int64 {
	for _, d := range dprkIncidents {
		if d.id == r.inc.ID {
			return d.btc
		}
	}
	return 0
}

func (r *incidentRun) step(w *world, tx btc.Tx, from string, out int, kind string) {
	o := tx.Outputs[out]
	r.inc.Steps = append(r.inc.Steps, Step{Chain: "btc", Tx: tx.TxID.String(), From: from, To: w.addrOf(o.Script), Amount: o.Value, Kind: kind})
}

// block advances every incident by one stage when its time has come.
func (sc *scenario) block() {
	w := sc.w
	sc.bridgePayouts()
	for _, r := range sc.runs {
		if w.height < r.height {
			continue
		}
		switch {
		case r.stage == 0:
			// The victim is funded the way it was: the pool pays its hot
			// wallet (a customer's large deposit), then the thief empties it.
			v := r.stolenBTC() * 1e8
			src := w.take(w.pool, v+10_000, 50)
			if src == nil {
				continue // not enough mined yet; try next block
			}
			hot := w.address(r.victim, 0)
			w.spend(src, []btc.TxOut{{Value: total(src) - 5000, Script: hot}}, []*wallet{r.victim})
			in := w.take(r.victim, v, 5)
			thiefAddr := w.address(r.thief, 0)
			fee := w.fee()
			outs := []btc.TxOut{{Value: v - fee, Script: thiefAddr}}
			owners := []*wallet{nil}
			if change := total(in) - v; change > 1000 {
				outs = append(outs, btc.TxOut{Value: change, Script: w.address(r.victim, 0)})
				owners = append(owners, r.victim)
			}
			tx := w.spend(in, outs, owners)
			r.coins = []coin{{tx.TxID, 0, v - fee, kindOf(thiefAddr), w.addrOf(thiefAddr)}}
			r.inc.TheftTxs = []string{tx.TxID.String() + ":0"} // the thief's output
			r.inc.Stolen = v - fee
			r.inc.Date = w.time.Format("2006-01-02")
			r.step(w, tx, w.addrOf(hot), 0, "theft")
			r.stage = 1
		case r.stage >= 1 && r.stage <= 4:
			// Peel chain: split chunks off to fresh addresses of the thief.
			c := r.coins[len(r.coins)-1]
			r.coins = r.coins[:len(r.coins)-1]
			chunk := c.value * int64(20+w.rng.IntN(15)) / 100
			fee := w.fee()
			a, b := w.address(r.thief, 0), w.address(r.thief, 0)
			tx := w.spend([]coin{c}, []btc.TxOut{{Value: chunk, Script: a}, {Value: c.value - chunk - fee, Script: b}}, []*wallet{nil, nil})
			r.step(w, tx, c.addr, 0, "peel")
			r.step(w, tx, c.addr, 1, "peel")
			r.coins = append(r.coins, coin{tx.TxID, 0, chunk, kindOf(a), w.addrOf(a)}, coin{tx.TxID, 1, c.value - chunk - fee, kindOf(b), w.addrOf(b)})
			r.stage++
		case r.stage == 5:
			// Mix most peeled chunks through the 0.5 BTC pool.
			pool := w.pools[1]
			var keep []coin
			for i, c := range r.coins {
				n := int(c.value / (pool.premix + 200_000))
				if i == len(r.coins)-1 || n < 1 {
					keep = append(keep, c)
					continue
				}
				n = min(n, 60)
				fee := w.fee()
				need := int64(n)*pool.premix + pool.fee + fee
				if need > c.value {
					keep = append(keep, c)
					continue
				}
				var outs []btc.TxOut
				for range n {
					outs = append(outs, btc.TxOut{Value: pool.premix, Script: w.address(r.thief, 0)})
				}
				mixerFee, _ := btc.ParseAddress(w.truth.mixerFeeAddr, w.net)
				outs = append(outs, btc.TxOut{Value: pool.fee, Script: mixerFee.Script()}, btc.TxOut{Value: 0, Script: append([]byte{0x6a, 46}, w.g.bytes(46)...)})
				change := w.address(r.thief, 0)
				outs = append(outs, btc.TxOut{Value: c.value - need, Script: change})
				owners := make([]*wallet, len(outs))
				tx := w.spend([]coin{c}, outs, owners)
				w.truth.CoinJoins[tx.TxID.String()] = "whirlpool-tx0"
				for i := range n {
					pool.queue = append(pool.queue, coin{tx.TxID, uint32(i), pool.premix, kindOf(outs[i].Script), w.addrOf(outs[i].Script)})
					pool.owners = append(pool.owners, r.thief)
					r.step(w, tx, c.addr, i, "mix-in")
				}
				keep = append(keep, coin{tx.TxID, uint32(len(outs) - 1), c.value - need, kindOf(change), w.addrOf(change)})
				r.inMix += n
				// Honest users join the pool too, so the thief's coins mix
				// with others'.
				for range n * 3 / 2 {
					if u := w.richUser(2 * pool.premix); u != nil {
						w.tx0(u, pool, 1, mixerFee.Script())
					}
				}
			}
			r.coins = keep
			r.stage++
		case r.stage >= 6 && r.stage < 12:
			r.stage++ // let the mixes run
		case r.stage == 12:
			// Consolidate the thief's postmix coins, then pay them into
			// deposit addresses at three exchanges; keep the last peel
			// unspent.
			post := r.thief.coins
			r.thief.coins = nil
			for _, c := range post {
				r.inc.Steps = append(r.inc.Steps, Step{Chain: "btc", Tx: c.txid.String(), From: "", To: c.addr, Amount: c.value, Kind: "mix-out"})
			}
			if len(post) > 0 {
				to := w.address(r.thief, 0)
				tx := w.spend(post, []btc.TxOut{{Value: total(post) - w.fee(), Script: to}}, []*wallet{nil})
				r.step(w, tx, post[0].addr, 0, "consolidation")
				cons := coin{tx.TxID, 0, tx.Outputs[0].Value, kindOf(to), w.addrOf(to)}
				left := cons
				for k := 0; k < 3; k++ {
					e := w.exch[(k+len(r.inc.ID))%len(w.exch)]
					v := left.value / int64(3-k)
					if k == 2 {
						v = left.value - w.fee()
					}
					dep := w.address(e.w, 0)
					fee := w.fee()
					outs := []btc.TxOut{{Value: v - fee, Script: dep}}
					var change []byte
					if k < 2 {
						change = w.address(r.thief, 0)
						outs = append(outs, btc.TxOut{Value: left.value - v, Script: change})
					}
					dtx := w.spend([]coin{left}, outs, make([]*wallet, len(outs)))
					e.deposits = append(e.deposits, coin{dtx.TxID, 0, v - fee, kindOf(dep), w.addrOf(dep)})
					r.step(w, dtx, left.addr, 0, "deposit")
					r.inc.Destinations["exchange:"+e.name] += v - fee
					if k < 2 {
						left = coin{dtx.TxID, 1, left.value - v, kindOf(change), w.addrOf(change)}
					}
				}
			}
			for _, c := range r.coins {
				r.inc.Destinations["unspent"] += c.value
			}
			r.stage++
		}
	}
}

// bridgePayouts makes the swap service's payouts that are due: from its
// hot wallet (topped up by the pool, as an exchange buys coins) to a fresh
// address of the actor; three blocks later the actor pays half of each into
// an exchange deposit address and keeps the rest.
func (sc *scenario) bridgePayouts() {
	w := sc.w
	for len(w.orders) > 0 && !w.orders[0].at.After(w.time) {
		o := w.orders[0]
		if total(w.bridge.coins) < o.sat+100_000 {
			src := w.take(w.pool, o.sat*2+200_000, 50)
			if src == nil {
				return // not enough mined yet; try next block
			}
			w.spend(src, []btc.TxOut{{Value: total(src) - 5000, Script: w.bridgeHot}}, []*wallet{w.bridge})
		}
		in := w.take(w.bridge, o.sat+w.fee()+1000, 20)
		if in == nil {
			return
		}
		r := sc.runs[o.run]
		to := w.address(r.thief, 0)
		fee := w.fee()
		outs := []btc.TxOut{{Value: o.sat, Script: to}}
		owners := []*wallet{nil}
		if change := total(in) - o.sat - fee; change > 1000 {
			outs = append(outs, btc.TxOut{Value: change, Script: w.bridgeHot})
			owners = append(owners, w.bridge)
		}
		tx := w.spend(in, outs, owners)
		r.inc.Steps = append(r.inc.Steps, Step{Chain: "btc", Tx: tx.TxID.String(), From: in[0].addr, To: w.addrOf(to), Amount: o.sat, Kind: "bridge-out", Link: o.ethTx})
		r.bridged = append(r.bridged, bridgedCoin{coin{tx.TxID, 0, o.sat, kindOf(to), w.addrOf(to)}, w.height})
		w.orders = w.orders[1:]
	}
	for _, r := range sc.runs {
		keep := r.bridged[:0]
		for _, b := range r.bridged {
			if w.height < b.height+3 {
				keep = append(keep, b)
				continue
			}
			c := b.c
			e := w.exch[(len(r.inc.Steps)+int(c.value))%len(w.exch)]
			dep := w.address(e.w, 0)
			half := c.value / 2
			fee := w.fee()
			change := w.address(r.thief, 0)
			tx := w.spend([]coin{c}, []btc.TxOut{{Value: half, Script: dep}, {Value: c.value - half - fee, Script: change}}, []*wallet{nil, nil})
			e.deposits = append(e.deposits, coin{tx.TxID, 0, half, kindOf(dep), w.addrOf(dep)})
			r.step(w, tx, c.addr, 0, "deposit")
			r.inc.EVM.BridgedBTC["exchange:"+e.name] += half
			r.inc.EVM.BridgedBTC["unspent"] += c.value - half - fee
		}
		r.bridged = keep
	}
}

func (sc *scenario) finish() {
	for _, r := range sc.runs {
		for _, b := range r.bridged {
			r.inc.EVM.BridgedBTC["unspent"] += b.c.value
		}
		if r.stage == 0 {
			r.inc.Destinations["not stolen: the world is too short"] = 0
		}
	}
}

// writeFiles writes the labels, incidents, prices and truth.
func (w *world) writeFiles(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "labels"), 0o755); err != nil {
		return err
	}
	var tp strings.Builder
	tp.WriteString("title: Services of the synthetic world\ncreator: spur gen\ndescription: public knowledge of exchanges, mining pools and mixers\nlastmod: 2022-01-01\ncurrency: BTC\nconfidence: service_data\ntags:\n")
	for _, e := range w.exch {
		fmt.Fprintf(&tp, "  - address: %s\n    label: %s hot wallet\n    category: exchange\n    actor: %s\n", e.hot, e.name, strings.ToLower(strings.ReplaceAll(e.name, " ", "-")))
	}
	fmt.Fprintf(&tp, "  - address: %s\n    label: Whirlpool coordinator fee address\n    category: mixer\n", w.truth.mixerFeeAddr)
	if w.bridgeHot != nil {
		fmt.Fprintf(&tp, "  - address: %s\n    label: Swapline ETH-BTC swap service hot wallet\n    category: bridge\n    actor: swapline\n", w.addrOf(w.bridgeHot))
	}
	if err := os.WriteFile(filepath.Join(dir, "labels", "services.yaml"), []byte(tp.String()), 0o644); err != nil {
		return err
	}
	var inc strings.Builder
	inc.WriteString("# Incidents as public reporting gives them to an investigator.\nincidents:\n")
	for _, i := range w.truth.Incidents {
		if len(i.TheftTxs) == 0 {
			continue
		}
		fmt.Fprintf(&inc, "  - id: %s\n    victim: %q\n    date: %s\n    actor: Lazarus Group\n    chain: btc\n    theft_txs:\n", i.ID, i.Victim, i.Date)
		for _, t := range i.TheftTxs {
			fmt.Fprintf(&inc, "      - %s\n", t)
		}
		if i.EVM != nil && len(i.EVM.TheftTxs) > 0 {
			fmt.Fprintf(&inc, "    evm:\n      chain: %s\n      victim_addresses:\n", i.EVM.Chain)
			for _, a := range i.EVM.VictimAddresses {
				fmt.Fprintf(&inc, "        - %s\n", a)
			}
			inc.WriteString("      theft_txs:\n")
			for _, t := range i.EVM.TheftTxs {
				fmt.Fprintf(&inc, "        - %s\n", t)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "incidents.yaml"), []byte(inc.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "prices.csv"), []byte(prices2021), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "truth.json"))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := w.truth.write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PriceOn returns the USD close of an asset on a day from the shipped
// 2021 prices.
func PriceOn(asset, day string) (float64, bool) {
	pricesOnce.Do(func() {
		prices = map[string]float64{}
		for _, line := range strings.Split(prices2021, "\n") {
			f := strings.Split(strings.TrimSpace(line), ",")
			if len(f) != 3 {
				continue
			}
			if v, err := strconv.ParseFloat(f[2], 64); err == nil {
				prices[f[0]+","+f[1]] = v
			}
		}
	})
	v, ok := prices[day+","+asset]
	return v, ok
}

var (
	pricesOnce sync.Once
	prices     map[string]float64 // "day,asset" -> USD
)
