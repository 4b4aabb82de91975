package world

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/progress"
)

// genEVM writes the EVM chain of the world under dir/evm, with the same
// users, exchanges and (for dprk-2021) incidents as the Bitcoin side.
func (w *world) genEVM(dir string, sc *scenario) error {
	e := &evmWorld{w: w, rng: rand.New(rand.NewPCG(w.o.Seed, 0xe7e7)), dir: dir,
		eth: map[common.Address]*big.Int{}, tok: map[common.Address]map[common.Address]*big.Int{},
		nonce: map[common.Address]uint64{}, pairs: map[common.Address]common.Address{}, leaf: map[common.Address]int{},
		counts: map[string]int{}, addrSeen: map[common.Address]bool{}, holders: map[common.Address][]common.Address{}, userOwned: map[common.Address]bool{}, depositOf: map[common.Address]int{}, dirtySet: map[common.Address]bool{}}
	if err := e.open(); err != nil {
		return err
	}
	blocks := 2 * w.o.Blocks
	start := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	blockTime := 365 * 24 * time.Hour / time.Duration(blocks)
	e.time = start

	// Who is who. Users are the Bitcoin side's users; a few services exist
	// only here.
	for _, u := range w.users {
		e.userIDs = append(e.userIDs, u.id)
		e.users = append(e.users, nil)
	}
	for _, x := range w.exch {
		e.exchIDs = append(e.exchIDs, x.w.id)
		e.exchHot = append(e.exchHot, e.addr(x.w.id, "hot", 0))
		e.exchDep = append(e.exchDep, map[int]common.Address{})
		e.dirty = append(e.dirty, nil)
	}
	pool := w.newEntity(KindPool, "Ethermine Peak")
	e.miner = e.addr(pool.id, "miner", 0)
	dex := w.newEntity(KindDEX, "Uniswap V2")
	e.own(routerAddr, dex.id)
	lp := w.newEntity(KindUser, "liquidity provider")
	lpAddr := e.addr(lp.id, "lp", 0)
	for _, t := range evmTokens {
		pair := common.BytesToAddress(keccak([]byte("pair"), t.addr[:], wethAddr[:]).Bytes()[12:])
		e.pairs[t.addr] = pair
		e.own(pair, dex.id)
	}
	weth := w.newEntity(KindToken, "WETH9")
	e.own(wethAddr, weth.id)
	mixer := w.newEntity(KindMixer, "Tornado Cash")
	for _, p := range tornado {
		e.own(p.addr, mixer.id)
	}
	for i := range 3 {
		rel := w.newEntity(KindService, fmt.Sprintf("Tornado relayer %d", i+1))
		e.relayers = append(e.relayers, e.addr(rel.id, "relayer", 0))
	}
	e.bridge = e.addr(w.bridge.id, "bridge", 0)
	issuers := map[int]common.Address{}
	for i, t := range evmTokens {
		is := w.newEntity(KindService, t.name+" issuer")
		issuers[i] = e.addr(is.id, "issuer", 0)
		e.own(t.addr, is.id)
	}
	var es *evmScenario
	if sc != nil {
		es = e.newEVMScenario(sc, blockTime, start)
	}

	// Genesis: allocations, as ethereum-etl reports them (trace_type genesis).
	alloc := map[common.Address]*big.Int{lpAddr: ethWei(2_000_000)}
	for _, h := range e.exchHot {
		alloc[h] = ethWei(20_000)
	}
	for _, r := range e.relayers {
		alloc[r] = ethWei(200)
	}
	for u := range e.users {
		alloc[e.userAddr(u)] = ethWei(2 + e.rng.ExpFloat64()*25)
	}
	for _, is := range issuers {
		alloc[is] = ethWei(100)
	}
	var victimTok map[common.Address]map[int]*big.Int
	if es != nil {
		var victimETH map[common.Address]*big.Int
		victimETH, victimTok = es.needs()
		for a, v := range victimETH {
			if alloc[a] == nil {
				alloc[a] = new(big.Int)
			}
			alloc[a].Add(alloc[a], v)
		}
	}
	for _, a := range sortedAddrs(alloc) {
		e.balance(a).Set(alloc[a])
		e.tracesW.Write([]string{"0", "", "", "", lowerHex(a), alloc[a].String(), "", "", "genesis", "", "", "", "", "0", "", "", "1", ""})
	}
	if err := e.closeBlock(); err != nil {
		return err
	}

	// Block 1: tokens minted to their issuers, handed out to users,
	// exchanges, victims and the liquidity provider; WETH wrapped and the
	// pairs funded.
	e.time = e.time.Add(blockTime)
	e.tip, e.baseFee = e.dayTip(), e.dayBaseFee()
	lpWETH := ethWei(1_000_000)
	e.send(&evmTx{from: lpAddr, to: &wethAddr, value: lpWETH, gasUsed: gasWrap, selector: "d0e30db0", status: 1,
		logs: []evmLog{{wethAddr, []common.Hash{tWETHIn, common.BytesToHash(lpAddr[:])}, common.BigToHash(lpWETH).Bytes()}}})
	for i, t := range evmTokens {
		supply := units(5e9/e.price(t.symbol), t.decimals)
		is := issuers[i]
		tk := t.addr
		e.send(&evmTx{from: is, to: &tk, gasUsed: gasToken, selector: "40c10f19", status: 1, logs: []evmLog{transferLog(t.addr, common.Address{}, is, supply)}})
		give := func(to common.Address, usd float64) {
			e.send(&evmTx{from: is, to: &tk, gasUsed: gasToken, selector: "a9059cbb", status: 1, logs: []evmLog{transferLog(t.addr, is, to, units(usd/e.price(t.symbol), t.decimals))}})
		}
		give(lpAddr, 1e9)
		for _, h := range e.exchHot {
			give(h, 5e6)
		}
		for u := range e.users {
			if e.rng.IntN(3) == 0 {
				give(e.userAddr(u), 100+e.rng.ExpFloat64()*3000)
			}
		}
		if victimTok != nil {
			for _, v := range sortedAddrs(victimTok) {
				if amt := victimTok[v][i]; amt != nil {
					e.send(&evmTx{from: is, to: &tk, gasUsed: gasToken, selector: "a9059cbb", status: 1, logs: []evmLog{transferLog(t.addr, is, v, amt)}})
				}
			}
		}
		pair := e.pairs[t.addr]
		e.send(&evmTx{from: lpAddr, to: &tk, gasUsed: gasToken, selector: "a9059cbb", status: 1, logs: []evmLog{transferLog(t.addr, lpAddr, pair, units(8e8/e.price(t.symbol), t.decimals))}})
		w := wethAddr
		e.send(&evmTx{from: lpAddr, to: &w, gasUsed: gasToken, selector: "a9059cbb", status: 1, logs: []evmLog{transferLog(wethAddr, lpAddr, pair, ethWei(180_000))}})
	}
	if err := e.closeBlock(); err != nil {
		return err
	}

	bar := progress.New(w.o.Progress, "ethereum blocks", int64(blocks))
	bar.Add(1, 0, 0)
	defer bar.Done()
	for n := 2; n <= blocks; n++ {
		if err := w.o.stopped(); err != nil {
			e.close()
			return err
		}
		bar.Add(1, 0, 0)
		e.time = e.time.Add(blockTime)
		e.tip, e.baseFee = e.dayTip(), e.dayBaseFee()
		e.background()
		if es != nil {
			es.block()
		}
		if err := e.closeBlock(); err != nil {
			return err
		}
	}
	if es != nil {
		es.finish()
	}
	if err := e.close(); err != nil {
		return err
	}
	for k, v := range e.counts {
		w.counts[k] = v
	}
	return e.writeLabels(dir, lpAddr, issuers)
}

// writeLabels writes the public knowledge of the EVM side as a TagPack:
// exchange hot wallets, the DEX router and pairs, WETH, the mixer pools,
// the swap service. Deposit addresses and relayers are not labelled.
func (e *evmWorld) writeLabels(dir string, lp common.Address, issuers map[int]common.Address) error {
	var tp strings.Builder
	tp.WriteString("title: Services of the synthetic world (Ethereum)\ncreator: spur gen\ndescription: public knowledge of exchanges, DEXes, mixers and swap services\nlastmod: 2022-01-01\ncurrency: ETH\nconfidence: service_data\ntags:\n")
	tag := func(a common.Address, label, category, actor string) {
		fmt.Fprintf(&tp, "  - address: %s\n    label: %q\n    category: %s\n", a.Hex(), label, category)
		if actor != "" {
			fmt.Fprintf(&tp, "    actor: %s\n", actor)
		}
	}
	for x, h := range e.exchHot {
		name := e.w.truth.Entities[e.exchIDs[x]].Name
		tag(h, name+" hot wallet", "exchange", strings.ToLower(strings.ReplaceAll(name, " ", "-")))
	}
	tag(routerAddr, "Uniswap V2: Router 2", "dex", "uniswap")
	for _, t := range evmTokens {
		tag(e.pairs[t.addr], "Uniswap V2: "+t.symbol+"/WETH pair", "dex", "uniswap")
		tag(t.addr, t.name+" ("+t.symbol+") token contract", "token", "")
	}
	tag(wethAddr, "Wrapped Ether (WETH9)", "token", "")
	for _, p := range tornado {
		tag(p.addr, "Tornado Cash "+p.denom+" ETH pool", "mixer", "tornado-cash")
	}
	tag(e.bridge, "Swapline ETH-BTC swap service deposit address", "bridge", "swapline")
	tag(e.miner, "Ethermine Peak mining pool", "mining-pool", "")
	if err := os.MkdirAll(filepath.Join(dir, "labels"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "labels", "services-eth.yaml"), []byte(tp.String()), 0o644)
}
