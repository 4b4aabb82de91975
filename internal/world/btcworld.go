package world

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/progress"
)

//go:embed prices/daily_usd_2021.csv
var prices2021 string

// Options shape a world.
type Options struct {
	Seed  uint64
	Scale int // users; the background grows with it (default 200)
	// Blocks spread over 2021 (default 52*Scale/10, at least 300).
	Blocks   int
	Scenario string // "dprk-2021" or ""
	// XorKey obfuscates the blk files as Bitcoin Core 28+ does.
	XorKey []byte
	// Context, when set, stops the generation (Ctrl-C) between blocks.
	Context context.Context
	// Progress, when set, gets a progress bar of the blocks written.
	Progress io.Writer
}

// stopped reports the context's error, if it has ended.
func (o *Options) stopped() error {
	if o.Context == nil {
		return nil
	}
	return o.Context.Err()
}

// Entity kinds in truth.json.
const (
	KindUser     = "user"
	KindExchange = "exchange"
	KindPool     = "mining-pool"
	KindMixer    = "mixer"
	KindActor    = "actor"
	KindDEX      = "dex"
	KindToken    = "token"
	KindService  = "service"
	KindBridge   = "bridge"
)

// TruthEntity is an owner of addresses.
type TruthEntity struct {
	ID   int    `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Step is one laundering step of an incident.
type Step struct {
	Chain  string `json:"chain"`
	Tx     string `json:"tx"`
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int64  `json:"amount"` // satoshi (Bitcoin steps)
	Kind   string `json:"kind"`   // theft, peel, swap, mix-in, mix-out, consolidation, deposit, bridge
	// EVM steps: the asset ("ETH" or a token symbol) and the amount in its
	// base units, as a decimal string.
	Asset string `json:"asset,omitempty"`
	Value string `json:"value,omitempty"`
	// Mix-out steps: the public clue that links the withdrawal to the
	// incident's deposits (address-reuse, gas-price, timing, consolidation),
	// or "none".
	Clue string `json:"clue,omitempty"`
	// Bridge-out steps: the EVM transaction that paid the service.
	Link string `json:"link,omitempty"`
}

// Incident is a theft of the scenario with where its money went.
type Incident struct {
	ID           string           `json:"id"`
	Victim       string           `json:"victim"`
	Date         string           `json:"date"`
	Actor        string           `json:"actor"`
	Chain        string           `json:"chain"`
	TheftTxs     []string         `json:"theft_txs"` // txid:vout of the stolen outputs
	Stolen       int64            `json:"stolen"`    // satoshi
	Steps        []Step           `json:"steps"`
	Destinations map[string]int64 `json:"destinations"` // "exchange:NAME", "unspent", "fees"
	// The EVM side: what was taken (asset -> base units), from which
	// addresses by which transactions, its USD value on the day, and where
	// the ETH went (destination -> wei).
	EVM *IncidentEVM `json:"evm,omitempty"`
}

// IncidentEVM is an incident's part on the EVM chain.
type IncidentEVM struct {
	Chain           string            `json:"chain"`
	VictimAddresses []string          `json:"victim_addresses"`
	TheftTxs        []string          `json:"theft_txs"`
	Stolen          map[string]string `json:"stolen"`
	StolenUSD       float64           `json:"stolen_usd"`
	Destinations    map[string]string `json:"destinations"` // "exchange:NAME", "bridge", "unspent", "fees", "mixer-fees"
	// DestinationsExact is where the ETH went that never entered the mixer,
	// with what entered it as "mixer": what a trace through exact links
	// alone can and should find ("exchange:NAME", "unspent", "mixer").
	DestinationsExact map[string]string `json:"destinations_exact"`
	// BridgedBTC is where the BTC went that the swap service paid out for
	// the ETH bridged (satoshi by "exchange:NAME", "unspent"); the Bitcoin
	// theft's own destinations stay in the incident's Destinations.
	BridgedBTC map[string]int64 `json:"bridged_btc,omitempty"`
}

// Truth is truth.json: what really happened in the world.
type Truth struct {
	Version  int           `json:"version"`
	Seed     uint64        `json:"seed"`
	Network  string        `json:"network"`
	Entities []TruthEntity `json:"entities"`
	// Addresses (Bitcoin) and EVMAddresses (EIP-55) map to entity ids.
	// Generate leaves both nil in the Truth it returns: it streams them
	// into truth.json, where they are the last two members.
	Addresses    map[string]int    `json:"addresses,omitempty"`
	EVMAddresses map[string]int    `json:"evm_addresses,omitempty"`
	CoinJoins    map[string]string `json:"coinjoins"` // txid -> kind
	Incidents    []*Incident       `json:"incidents"`
	Stats        map[string]any    `json:"stats"`

	mixerFeeAddr    string
	addrs, evmAddrs *ownerLog // the addresses' owners while generating
}

type coin struct {
	txid  btc.Hash
	vout  uint32
	value int64
	kind  uint8
	addr  string
}

type wallet struct {
	id      int
	coins   []coin
	addrs   []string // for reuse
	noRemix bool     // its mixed coins come back to it at once
}

type world struct {
	g         *gen
	rng       *rand.Rand
	o         Options
	truth     Truth
	wallets   []*wallet
	users     []*wallet
	exch      []*exchange
	pool      *wallet
	mixer     *wallet
	thief     *wallet
	bridge    *wallet       // the swap service: ETH in on the EVM chain, BTC out here
	bridgeHot []byte        // its hot wallet's script
	orders    []bridgeOrder // its payouts to make, in time order
	mature    [][]coin      // coinbase coins by the height they mature
	txs       []btc.Tx
	height    int
	time      time.Time
	net       *btc.Network
	counts    map[string]int
	fees      int64 // left to the miner by this block's transactions
	pools     []*mixPool
}

// mixPool is one Whirlpool pool: its denomination, Tx0 fee, and the coins
// waiting to be mixed with their owners.
type mixPool struct {
	denom, premix, fee int64
	queue              []coin
	owners             []*wallet
}

type exchange struct {
	w        *wallet
	name     string
	hot      string
	deposits []coin
}

func (w *world) newEntity(kind, name string) *wallet {
	id := len(w.truth.Entities)
	w.truth.Entities = append(w.truth.Entities, TruthEntity{id, kind, name})
	wl := &wallet{id: id}
	w.wallets = append(w.wallets, wl)
	return wl
}

// taprootActive is when Taproot's rules applied on mainnet (block 709,632).
var taprootActive = time.Date(2021, 11, 14, 0, 0, 0, 0, time.UTC)

// kindFor picks a script kind as 2021 wallets did: mostly segwit v0, some
// legacy and P2SH-wrapped, a little taproot after its November activation.
func (w *world) kindFor() uint8 {
	r := w.rng.IntN(100)
	switch {
	case r < 55:
		return kindWPKH
	case r < 75:
		return kindPKH
	case r < 93:
		return kindSH
	case r < 97:
		return kindWSH
	}
	if !w.time.Before(taprootActive) {
		return kindTR
	}
	return kindWPKH
}

// address returns a script paying wl: a fresh one, or (reuse percent of
// the time) one it used before.
func (w *world) address(wl *wallet, reuse int) []byte {
	if len(wl.addrs) > 0 && w.rng.IntN(100) < reuse {
		a, _ := btc.ParseAddress(wl.addrs[w.rng.IntN(len(wl.addrs))], w.net)
		return a.Script()
	}
	var s []byte
	switch w.kindFor() {
	case kindWPKH:
		s = append([]byte{0x00, 20}, w.g.bytes(20)...)
	case kindPKH:
		s = append(append([]byte{0x76, 0xa9, 20}, w.g.bytes(20)...), 0x88, 0xac)
	case kindSH:
		s = append(append([]byte{0xa9, 20}, w.g.bytes(20)...), 0x87)
	case kindTR:
		s = append([]byte{0x51, 32}, w.g.bytes(32)...)
	default:
		s = append([]byte{0x00, 32}, w.g.bytes(32)...)
	}
	_, a, _ := btc.ScriptAddress(s)
	text := a.String(w.net)
	w.truth.addrs.add(text, wl.id)
	if len(wl.addrs) < 64 {
		wl.addrs = append(wl.addrs, text)
	} else {
		wl.addrs[w.rng.IntN(len(wl.addrs))] = text
	}
	return s
}

func (w *world) addrOf(s []byte) string {
	_, a, ok := btc.ScriptAddress(s)
	if !ok {
		return ""
	}
	return a.String(w.net)
}

// spend builds a transaction from coins (removed from their wallets by the
// caller) to outputs; the coins of the outputs go to the given wallets.
func (w *world) spend(in []coin, outs []btc.TxOut, owners []*wallet) btc.Tx {
	tx := btc.Tx{Version: 2, LockTime: uint32(w.height)}
	for _, c := range in {
		sig, wit := w.g.spendData(c.kind)
		tx.Inputs = append(tx.Inputs, btc.TxIn{PrevTxID: c.txid, PrevIndex: c.vout, ScriptSig: sig, Witness: wit, Sequence: 0xfffffffd})
	}
	tx.Outputs = outs
	tx = w.g.finish(tx)
	w.fees += total(in) - outSum(&tx)
	for i, o := range tx.Outputs {
		if owners[i] == nil || o.Value == 0 {
			continue
		}
		owners[i].coins = append(owners[i].coins, coin{tx.TxID, uint32(i), o.Value, kindOf(o.Script), w.addrOf(o.Script)})
	}
	w.txs = append(w.txs, tx)
	return tx
}

// take removes up to n coins worth at least v from wl (largest first
// after a random start), or nil if it cannot pay.
func (w *world) take(wl *wallet, v int64, n int) []coin {
	return w.takeOrdered(wl, v, n, false)
}

// takeOrdered is take, smallest coins first when small is set (a wallet
// that consolidates as it pays).
func (w *world) takeOrdered(wl *wallet, v int64, n int, small bool) []coin {
	if len(wl.coins) == 0 {
		return nil
	}
	sort.Slice(wl.coins, func(i, j int) bool {
		if small {
			return wl.coins[i].value < wl.coins[j].value
		}
		return wl.coins[i].value > wl.coins[j].value
	})
	var got []coin
	var sum int64
	i := 0
	// Smallest first takes at least n coins (or all there are), and more
	// up to ten until they cover v: a wallet consolidating as it pays.
	more := func() bool {
		if small {
			return (len(got) < n || sum < v) && len(got) < 10
		}
		return len(got) < n && sum < v
	}
	for ; i < len(wl.coins) && more(); i++ {
		got = append(got, wl.coins[i])
		sum += wl.coins[i].value
	}
	if sum < v {
		return nil
	}
	wl.coins = append(wl.coins[:0], wl.coins[i:]...)
	return got
}

func total(cs []coin) (v int64) {
	for _, c := range cs {
		v += c.value
	}
	return v
}

func (w *world) fee() int64 { return int64(500 + w.rng.IntN(4000)) }

// pay sends v from payer to the script to makes (called only once the
// payer can pay, so that no address is handed out and never paid), with
// change to the payer.
func (w *world) pay(payer *wallet, makeTo func() []byte, owner *wallet, v int64) (btc.Tx, bool) {
	fee := w.fee()
	// Coin selection: a quarter of payments consolidate (two to four of the
	// smallest coins, or more until v is covered), the rest spend the
	// largest; one in ten sends whole coins without change. Knobs: the
	// mainnet shares are a gap in the sources.
	r := w.rng.IntN(100)
	var in []coin
	if r < 25 {
		in = w.takeOrdered(payer, v+fee, 2+w.rng.IntN(3), true)
	}
	if in == nil {
		in = w.take(payer, v+fee, 1+w.rng.IntN(3))
	}
	if in == nil {
		return btc.Tx{}, false
	}
	if r >= 90 {
		v = total(in) - fee
	}
	outs := []btc.TxOut{{Value: v, Script: makeTo()}}
	owners := []*wallet{owner}
	if change := total(in) - v - fee; change > 1000 {
		outs = append(outs, btc.TxOut{Value: change, Script: w.address(payer, 30)})
		owners = append(owners, payer)
		if w.rng.IntN(2) == 0 {
			outs[0], outs[1] = outs[1], outs[0]
			owners[0], owners[1] = owners[1], owners[0]
		}
	}
	return w.spend(in, outs, owners), true
}

// worldFiles are what Generate writes in its directory.
var worldFiles = []string{"btc", "evm", "labels", "incidents.yaml", "prices.csv", "truth.json"}

// clearWorld readies dir for a world: a new or empty directory, or one
// holding a world (its truth.json), whose files are removed first, so that
// no blk file or xor.dat of a larger or obfuscated world stays among the
// new one's. Any other directory with files in it is refused: it is not
// spur's to write over.
func clearWorld(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "truth.json")); err != nil {
		return fmt.Errorf("world: %s holds files and no world (no truth.json): give a new or empty directory", dir)
	}
	for _, f := range worldFiles {
		if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("world: %w", err)
		}
	}
	return nil
}

// Generate writes a world into dir: btc/blocks, labels/, incidents.yaml,
// prices.csv and truth.json. dir must be new, empty, or hold a world, which
// is replaced.
func Generate(dir string, o Options) (*Truth, error) {
	if o.Scale <= 0 {
		o.Scale = 200
	}
	if o.Blocks <= 0 {
		o.Blocks = max(300, 52*o.Scale/10)
	}
	// Options are checked before the world already there is cleared: a
	// mistake must not cost it.
	if o.Scenario != "" && o.Scenario != "dprk-2021" {
		return nil, fmt.Errorf("world: unknown scenario %q (want dprk-2021)", o.Scenario)
	}
	if err := clearWorld(dir); err != nil {
		return nil, err
	}
	blocksDir := filepath.Join(dir, "btc", "blocks")
	if err := os.MkdirAll(blocksDir, 0o755); err != nil {
		return nil, err
	}
	if o.XorKey != nil {
		if err := os.WriteFile(filepath.Join(blocksDir, "xor.dat"), o.XorKey, 0o644); err != nil {
			return nil, err
		}
	}
	net, _ := btc.LookupNetwork("regtest")
	w := &world{
		g:   &gen{rng: rand.New(rand.NewPCG(o.Seed, 0x77)), o: ChainOptions{FileSize: 128 << 20, XorKey: o.XorKey}, dir: blocksDir, magic: net.Magic},
		rng: rand.New(rand.NewPCG(o.Seed, 0x5eed)), o: o, net: net,
		truth:  Truth{Version: 1, Seed: o.Seed, Network: "regtest", CoinJoins: map[string]string{}},
		time:   time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
		counts: map[string]int{},
	}
	var err error
	if w.truth.addrs, err = newOwnerLog(dir, "truth-addresses"); err != nil {
		return nil, err
	}
	defer w.truth.addrs.close()
	if w.truth.evmAddrs, err = newOwnerLog(dir, "truth-evm-addresses"); err != nil {
		return nil, err
	}
	defer w.truth.evmAddrs.close()
	for i := range o.Scale {
		w.users = append(w.users, w.newEntity(KindUser, fmt.Sprintf("user %d", i)))
	}
	for _, name := range []string{"Coinvault", "Bitharbor", "Satoshi Square", "Kettle Exchange", "Northgate"} {
		e := &exchange{w: w.newEntity(KindExchange, name), name: name}
		e.hot = w.addrOf(w.address(e.w, 0))
		w.exch = append(w.exch, e)
	}
	w.pool = w.newEntity(KindPool, "Slush Peak Pool")
	w.pools = []*mixPool{{denom: 1_000_000, premix: 1_000_170, fee: 50_000}, {denom: 50_000_000, premix: 50_000_170, fee: 2_500_000}}
	w.mixer = w.newEntity(KindMixer, "Whirlpool coordinator")
	mixerFeeAddr := w.address(w.mixer, 0)
	w.truth.mixerFeeAddr = w.addrOf(mixerFeeAddr)
	if err := w.g.writeBlock(RegtestGenesis()); err != nil {
		return nil, err
	}
	prev := btc.BlockHash(RegtestGenesis())
	step := 365 * 24 * time.Hour / time.Duration(o.Blocks)
	var scen *scenario
	if o.Scenario == "dprk-2021" {
		w.thief = w.newEntity(KindActor, "Lazarus Group")
		scen = newScenario(w)
	}
	// The EVM chain first: the swap service's Bitcoin payouts for the ETH
	// paid into it happen on the Bitcoin side, below.
	w.bridge = w.newEntity(KindBridge, "Swapline (ETH-BTC swap service)")
	w.bridgeHot = w.address(w.bridge, 0)
	if err := w.genEVM(dir, scen); err != nil {
		return nil, err
	}
	sort.SliceStable(w.orders, func(i, j int) bool { return w.orders[i].at.Before(w.orders[j].at) })
	poolAddr := w.address(w.pool, 0)
	bar := progress.New(o.Progress, "bitcoin blocks", int64(o.Blocks))
	for h := 1; h <= o.Blocks; h++ {
		if err := o.stopped(); err != nil {
			return nil, err
		}
		w.height, w.time = h, w.time.Add(step)
		w.txs, w.fees = w.txs[:0], 0
		w.background(mixerFeeAddr)
		if scen != nil {
			scen.block()
		}
		// The coinbase pays the pool the subsidy and the fees.
		fees := w.fees
		cb := w.g.finish(btc.Tx{Version: 2, Inputs: []btc.TxIn{{PrevIndex: 0xffffffff, ScriptSig: []byte{4, byte(h), byte(h >> 8), byte(h >> 16), byte(h >> 24)}, Sequence: 0xffffffff}},
			Outputs: []btc.TxOut{{Value: 50e8 + fees, Script: poolAddr}}})
		w.mature = append(w.mature, []coin{{cb.TxID, 0, cb.Outputs[0].Value, kindOf(poolAddr), w.addrOf(poolAddr)}})
		if h > 100 {
			w.pool.coins = append(w.pool.coins, w.mature[h-101]...)
			w.mature[h-101] = nil
		}
		txs := append([]btc.Tx{cb}, w.txs...)
		hdr := btc.Header{Version: 0x20000000, Prev: prev, MerkleRoot: btc.MerkleRoot(txs), Time: uint32(w.time.Unix()), Bits: 0x207fffff, Nonce: uint32(h)}
		raw := btc.AppendBlock(nil, &hdr, txs)
		if err := w.g.writeBlock(raw); err != nil {
			return nil, err
		}
		prev = btc.BlockHash(raw)
		w.counts["txs"] += len(txs)
		bar.Add(1, int64(len(txs)), int64(len(raw)))
	}
	bar.Done()
	if err := w.g.close(); err != nil {
		return nil, err
	}
	if scen != nil {
		scen.finish()
	}
	w.truth.Stats = map[string]any{"blocks": o.Blocks + 1, "txs": w.counts["txs"] + 1, "addresses": w.truth.addrs.n,
		"entities": len(w.truth.Entities), "coinjoins": len(w.truth.CoinJoins), "tx0s": w.counts["tx0"], "sweeps": w.counts["sweep"],
		"withdrawal_batches": w.counts["withdrawal"], "payments": w.counts["payment"], "deposits": w.counts["deposit"],
		"evm_blocks": w.counts["evm_blocks"], "evm_txs": w.counts["evm_txs"], "evm_addresses": w.truth.evmAddrs.n,
		"evm_swaps": w.counts["evm_swaps"], "evm_mix_deposits": w.counts["evm_mix_deposits"], "evm_mix_withdrawals": w.counts["evm_mix_withdrawals"],
		"evm_sweeps": w.counts["evm_sweeps"]}
	if err := w.writeFiles(dir); err != nil {
		return nil, err
	}
	return &w.truth, nil
}

func outSum(tx *btc.Tx) (v int64) {
	for _, o := range tx.Outputs {
		v += o.Value
	}
	return v
}

func (w *world) user() *wallet { return w.users[w.rng.IntN(len(w.users))] }

// richUser returns a user holding at least v, or nil.
func (w *world) richUser(v int64) *wallet {
	for range 20 {
		u := w.user()
		if total(u.coins) >= v {
			return u
		}
	}
	return nil
}

// background makes one block's honest activity: payments between users,
// deposits to exchanges and their sweeps into hot wallets, batched
// withdrawals, mining pool payouts, and Whirlpool Tx0s and mixes.
func (w *world) background(mixerFee []byte) {
	s := w.o.Scale
	if w.height%10 == 0 && len(w.pool.coins) > 0 {
		// Pool payout to many miners.
		in := w.take(w.pool, 1, 3)
		n := 10 + w.rng.IntN(20)
		fee := w.fee()
		each := (total(in) - fee) / int64(n)
		var outs []btc.TxOut
		var owners []*wallet
		for range n {
			u := w.user()
			outs = append(outs, btc.TxOut{Value: each, Script: w.address(u, 20)})
			owners = append(owners, u)
		}
		w.spend(in, outs, owners)
		w.counts["payout"]++
	}
	for range s/15 + 1 {
		p := w.user()
		if len(p.coins) == 0 {
			continue
		}
		q := w.user()
		v := p.coins[w.rng.IntN(len(p.coins))].value * int64(5+w.rng.IntN(60)) / 100
		if v < 5000 {
			continue
		}
		if _, ok := w.pay(p, func() []byte { return w.address(q, 25) }, q, v); ok {
			w.counts["payment"]++
		}
	}
	for range s/30 + 1 {
		p := w.user()
		if len(p.coins) == 0 {
			continue
		}
		e := w.exch[w.rng.IntN(len(w.exch))]
		v := p.coins[0].value * int64(20+w.rng.IntN(70)) / 100
		if v < 10000 {
			continue
		}
		w.deposit(p, e, v)
	}
	for _, e := range w.exch {
		// Every six blocks the exchange sweeps what its deposit addresses
		// received, 40 inputs a sweep at most; however many deposits came
		// in, none waits longer than that.
		for w.height%6 == 0 && len(e.deposits) >= 2 {
			n := min(len(e.deposits), 40)
			in := e.deposits[:n]
			e.deposits = e.deposits[n:]
			hot, _ := btc.ParseAddress(e.hot, w.net)
			w.spend(in, []btc.TxOut{{Value: total(in) - w.fee(), Script: hot.Script()}}, []*wallet{e.w})
			w.counts["sweep"]++
		}
		if len(e.deposits) == 0 {
			e.deposits = nil // let the swept backing array go
		}
		if w.height%4 == 1 && total(e.w.coins) > 1e8 {
			n := 3 + w.rng.IntN(12)
			in := w.take(e.w, 1, 2)
			fee := w.fee()
			budget := (total(in) - fee) / 2
			var outs []btc.TxOut
			var owners []*wallet
			for range n {
				u := w.user()
				outs = append(outs, btc.TxOut{Value: budget / int64(n), Script: w.address(u, 20)})
				owners = append(owners, u)
			}
			hot, _ := btc.ParseAddress(e.hot, w.net)
			outs = append(outs, btc.TxOut{Value: total(in) - fee - budget/int64(n)*int64(n), Script: hot.Script()})
			owners = append(owners, e.w)
			w.spend(in, outs, owners)
			w.counts["withdrawal"]++
		}
	}
	// Whirlpool: a Tx0 now and then, and a mix whenever a pool has five coins.
	if w.height%2 == 0 {
		pool := w.pools[0]
		if u := w.richUser(6 * pool.premix); u != nil {
			w.tx0(u, pool, 2+w.rng.IntN(4), mixerFee)
		}
	}
	for _, pool := range w.pools {
		for len(pool.queue) >= 5 {
			w.mix(pool)
		}
	}
}

// deposit pays v from p to a fresh deposit address of exchange e.
func (w *world) deposit(p *wallet, e *exchange, v int64) (btc.Tx, bool) {
	var script []byte
	tx, ok := w.pay(p, func() []byte { script = w.address(e.w, 0); return script }, nil, v)
	if !ok {
		return tx, false
	}
	for i, o := range tx.Outputs {
		if string(o.Script) == string(script) {
			e.deposits = append(e.deposits, coin{tx.TxID, uint32(i), o.Value, kindOf(o.Script), w.addrOf(o.Script)})
		}
	}
	w.counts["deposit"]++
	return tx, true
}

// tx0 enters n coins of the pool's premix value from u, paying the
// coordinator's fee, with an OP_RETURN and change, as Samourai's Tx0 does.
func (w *world) tx0(u *wallet, pool *mixPool, n int, mixerFee []byte) (btc.Tx, bool) {
	fee := w.fee()
	need := int64(n)*pool.premix + pool.fee + fee
	in := w.take(u, need, 3)
	if in == nil {
		return btc.Tx{}, false
	}
	var outs []btc.TxOut
	var owners []*wallet
	for range n {
		outs = append(outs, btc.TxOut{Value: pool.premix, Script: w.address(u, 0)})
		owners = append(owners, nil)
	}
	outs = append(outs, btc.TxOut{Value: pool.fee, Script: mixerFee}, btc.TxOut{Value: 0, Script: append([]byte{0x6a, 46}, w.g.bytes(46)...)})
	owners = append(owners, w.mixer, nil)
	if change := total(in) - need; change > 1000 {
		outs = append(outs, btc.TxOut{Value: change, Script: w.address(u, 10)})
		owners = append(owners, u)
	}
	tx := w.spend(in, outs, owners)
	for i := range n {
		pool.queue = append(pool.queue, coin{tx.TxID, uint32(i), pool.premix, kindOf(outs[i].Script), w.addrOf(outs[i].Script)})
		pool.owners = append(pool.owners, u)
	}
	w.truth.CoinJoins[tx.TxID.String()] = "whirlpool-tx0"
	w.counts["tx0"]++
	return tx, true
}

// mix joins five queued coins of a pool (from different owners where the
// queue allows) into five outputs of the denomination; about half the
// outputs stay in the pool to be remixed.
func (w *world) mix(pool *mixPool) btc.Tx {
	var pick []int
	seen := map[*wallet]bool{}
	for i := range pool.queue {
		if len(pick) < 5 && !seen[pool.owners[i]] {
			pick = append(pick, i)
			seen[pool.owners[i]] = true
		}
	}
	for i := 0; len(pick) < 5; i++ {
		if !contains(pick, i) {
			pick = append(pick, i)
		}
	}
	var in []coin
	var owners []*wallet
	for _, i := range pick {
		in = append(in, pool.queue[i])
		owners = append(owners, pool.owners[i])
	}
	sort.Sort(sort.Reverse(sort.IntSlice(pick)))
	for _, i := range pick {
		pool.queue = append(pool.queue[:i], pool.queue[i+1:]...)
		pool.owners = append(pool.owners[:i], pool.owners[i+1:]...)
	}
	var outs []btc.TxOut
	for _, o := range owners {
		outs = append(outs, btc.TxOut{Value: pool.denom, Script: w.address(o, 0)})
	}
	w.rng.Shuffle(len(outs), func(i, j int) { outs[i], outs[j] = outs[j], outs[i]; owners[i], owners[j] = owners[j], owners[i] })
	// Remixed outputs go back to the queue instead of their owners' wallets.
	remix := make([]*wallet, len(owners))
	copy(remix, owners)
	for i := range remix {
		if w.rng.IntN(2) == 0 && !owners[i].noRemix {
			remix[i] = nil
		}
	}
	tx := w.spend(in, outs, remix)
	for i := range outs {
		if remix[i] == nil {
			pool.queue = append(pool.queue, coin{tx.TxID, uint32(i), pool.denom, kindOf(outs[i].Script), w.addrOf(outs[i].Script)})
			pool.owners = append(pool.owners, owners[i])
		}
	}
	w.truth.CoinJoins[tx.TxID.String()] = "whirlpool"
	w.counts["mix"]++
	return tx
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
