package eval

import (
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/world"
)

// EVMWorld checks the EVM store against the world's counts and measures the
// shape of its activity from the store alone.
func EVMWorld(s *evmstore.Store, t *world.Truth) []Row {
	c := s.Counts()
	txs, _ := t.Stats["evm_txs"].(float64)
	blocks, _ := t.Stats["evm_blocks"].(float64)
	rows := []Row{
		{Metric: "evm blocks ingested", Value: float64(c.Blocks), Truth: blocks, Target: "= truth", OK: check(float64(c.Blocks) == blocks)},
		{Metric: "evm transactions ingested", Value: float64(c.Txs), Truth: txs, Target: "= truth", OK: check(float64(c.Txs) == txs)},
	}
	// Realism from the store: what share of transactions are plain ETH
	// payments, token transfers, swaps; how many mixer withdrawals go
	// through a relayer (someone else sends the transaction).
	var plain, token, swaps, wd, relayed float64
	for n := uint32(0); uint64(n) < c.Txs; n++ {
		lo, hi := s.TxTransfers(n)
		kinds := map[evm.Kind]int{}
		for x := lo; x < hi; x++ {
			kinds[s.Transfer(x).Kind]++
		}
		switch {
		case kinds[evm.KindCall] == 1 && len(kinds) <= 3 && kinds[evm.KindToken] == 0 && kinds[evm.KindInternal] == 0:
			plain++
		case kinds[evm.KindToken] == 1 && kinds[evm.KindCall] == 0 && kinds[evm.KindInternal] == 0:
			token++
		}
	}
	for n := uint64(0); n < c.Events; n++ {
		e := s.Event(n)
		switch e.Kind {
		case evm.EventSwap:
			swaps++
		case evm.EventMixWithdrawal:
			wd++
			if s.Tx(e.Tx).From != e.Actor {
				relayed++
			}
		}
	}
	all := float64(c.Txs)
	if all == 0 {
		return rows
	}
	share := func(v float64) float64 { return v / all }
	rows = append(rows,
		Row{Metric: "evm realism: plain ETH payments / txs", Value: share(plain), Target: "0.20..0.50", OK: check(share(plain) >= 0.20 && share(plain) <= 0.50)},
		Row{Metric: "evm realism: single token transfers / txs", Value: share(token), Target: "0.10..0.40", OK: check(share(token) >= 0.10 && share(token) <= 0.40)},
		Row{Metric: "evm realism: DEX swaps / txs", Value: share(swaps), Target: "0.02..0.35", OK: check(share(swaps) >= 0.02 && share(swaps) <= 0.35)},
	)
	if wd > 0 {
		rows = append(rows, Row{Metric: "evm realism: mixer withdrawals through a relayer", Value: relayed / wd, Target: "0.60..0.95", OK: check(relayed/wd >= 0.60 && relayed/wd <= 0.95)})
	}
	return rows
}

// EVMClustering scores the account-chain heuristics against the owners in
// truth: deposit addresses found (precision: the hot wallet's owner owns
// it; recall: of the exchanges' addresses that are not hot wallets), and
// pairwise precision and recall of the entities.
func EVMClustering(s *evmstore.Store, c *cluster.EVMClusters, t *world.Truth) []Row {
	owner := map[uint32]int{}
	for text, o := range t.EVMAddresses {
		a, err := evmstore.ParseAddress(text)
		if err != nil {
			continue
		}
		if n, err := s.AddrNum(a); err == nil {
			owner[n] = o
		}
	}
	kind := map[int]string{}
	for _, e := range t.Entities {
		kind[e.ID] = e.Kind
	}
	hot := map[uint32]bool{}
	for _, h := range c.Deposits {
		hot[h] = true
	}
	var good float64
	for d, h := range c.Deposits {
		if o, ok := owner[d]; ok && o == owner[h] {
			good++
		}
	}
	var exchAddrs float64
	for n, o := range owner {
		if kind[o] == world.KindExchange && !hot[n] {
			exchAddrs++
		}
	}
	dp, dr := 1.0, 0.0
	if len(c.Deposits) > 0 {
		dp = good / float64(len(c.Deposits))
	}
	if exchAddrs > 0 {
		dr = good / exchAddrs
	}
	// Pairwise over the addresses truth knows.
	type pair struct{ e, o int64 }
	both, byE, byO := map[pair]int64{}, map[int64]int64{}, map[int64]int64{}
	for n, o := range owner {
		e := int64(c.Entity(n))
		both[pair{e, int64(o)}]++
		byE[e]++
		byO[int64(o)]++
	}
	c2 := func(k int64) float64 { return float64(k) * float64(k-1) / 2 }
	var tp, pred, real float64
	for _, k := range both {
		tp += c2(k)
	}
	for _, k := range byE {
		pred += c2(k)
	}
	for _, k := range byO {
		real += c2(k)
	}
	pp, pr := 1.0, 0.0
	if pred > 0 {
		pp = tp / pred
	}
	if real > 0 {
		pr = tp / real
	}
	return []Row{
		{Metric: "evm deposit addresses found", Value: float64(len(c.Deposits)), Truth: exchAddrs},
		{Metric: "evm deposit addresses: precision", Value: dp, Target: ">= 0.95", OK: check(dp >= 0.95)},
		{Metric: "evm deposit addresses: recall", Value: dr, Target: ">= 0.80", OK: check(dr >= 0.80)},
		{Metric: "evm clustering (deposits + reuse): pairwise precision", Value: pp, Target: ">= 0.95", OK: check(pp >= 0.95)},
		{Metric: "evm clustering (deposits + reuse): pairwise recall", Value: pr},
	}
}

// EVMBridgeDeposits scores the bridge deposits found (transfers into
// labelled bridges, by transaction hash) against the incidents' bridge
// steps in truth.
func EVMBridgeDeposits(found map[string]bool, t *world.Truth) []Row {
	want := map[string]bool{}
	for _, inc := range t.Incidents {
		for _, st := range inc.Steps {
			if st.Chain == "eth" && st.Kind == "bridge" {
				want[st.Tx] = true
			}
		}
	}
	hit := 0.0
	for tx := range want {
		if found[tx] {
			hit++
		}
	}
	recall := 1.0
	if len(want) > 0 {
		recall = hit / float64(len(want))
	}
	return []Row{
		{Metric: "evm bridge deposits found (all / the incidents')", Value: float64(len(found)), Truth: float64(len(want))},
		{Metric: "evm bridge deposits: recall of the incidents'", Value: recall, Target: "= 1", OK: check(recall == 1)},
	}
}
