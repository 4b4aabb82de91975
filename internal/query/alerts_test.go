package query

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testchain"
	"github.com/spur-forensics/spur/internal/world"
)

// TestBlockAlerts reads mainnet block 546, whose last three transactions
// move coins of 1KAD5EnzzLtrSo2Da2G4zzD7uZrjk8zRAv back and forth (two
// of its outputs spent at once, two paid at once): each side's value is
// the address's sum, and a label of a category not watched (1DZTz..., on
// the other side of two) raises nothing until it is.
func TestBlockAlerts(t *testing.T) {
	s := testchain.Mainnet(t, filepath.Join(t.TempDir(), "btc"), 546)
	ls, err := label.Open(filepath.Join(t.TempDir(), "labels"))
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	thief := label.Label{Address: "1KAD5EnzzLtrSo2Da2G4zzD7uZrjk8zRAv", Chain: label.ChainBTC, Category: label.StolenFunds, Label: "theft", Source: "test"}
	shop := label.Label{Address: "1DZTzaBHUDM7T3QvUKBz4qXMRpkg8jsfB5", Chain: label.ChainBTC, Category: label.Exchange, Label: "shop", Source: "test"}
	if err := ls.Replace(label.SourceInfo{Source: "test"}, []label.Label{thief, shop}, nil); err != nil {
		t.Fatal(err)
	}
	alerts := func(watch func(string) bool) ([]Alert, error) {
		t.Helper()
		w, err := NewAlerts(s, ls, watch)
		if err != nil {
			t.Fatal(err)
		}
		return w.Block(546)
	}
	got, err := alerts(func(c string) bool { return c == label.StolenFunds })
	if err != nil {
		t.Fatal(err)
	}
	l := func(p ...AlertParty) []AlertParty { return append([]AlertParty{}, p...) }
	party := func(v int64) AlertParty {
		stored, _ := ls.Lookup(thief.Address)
		var kept []label.Label
		for _, x := range stored {
			if x.Category == label.StolenFunds {
				kept = append(kept, x)
			}
		}
		return AlertParty{Address: thief.Address, Value: v, Labels: kept}
	}
	const block = "000000005a4ded781e667e06ceefafb71410b511fe0d5adc3e5a27ecbec34ae6"
	want := []Alert{
		{"btc", 546, block, "28204cad1d7fc1d199e8ef4fa22f182de6258a3eaafe1bbe56ebdcacd3069a5f", l(), l(party(1e8)), false},
		{"btc", 546, block, "6b0f8a73a56c04b519f1883e8aafda643ba61a30bd1439969df21bea5f4e27e2", l(party(1e8)), l(party(25e8)), false},
		{"btc", 546, block, "3c1d7e82342158e4109df2e0b6348b6e84e403d8b4046d7007663ace63cddb23", l(party(25e8)), l(party(24e8)), false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("alerts of block 546:\n got %+v\nwant %+v", got, want)
	}
	// Watching exchanges as well: the shop's side too.
	got, err = alerts(func(c string) bool { return c == label.StolenFunds || c == label.Exchange })
	if err != nil || len(got) != 3 || len(got[1].From) != 2 || got[1].From[1].Address != shop.Address || got[1].From[1].Value != 24e8 ||
		got[1].From[1].Labels[0].Label != "shop" || len(got[2].To) != 2 || got[2].To[0].Address != shop.Address || got[2].To[0].Value != 1e8 {
		t.Fatalf("alerts of block 546 with exchanges watched: %+v %v", got, err)
	}
	// The shop alone labelled: a transaction it only pays from (6b0f8a...),
	// one it is only paid in (3c1d7e...), one both.
	if err := ls.Replace(label.SourceInfo{Source: "test"}, []label.Label{shop}, nil); err != nil {
		t.Fatal(err)
	}
	if err := ls.CacheKeys(); err != nil {
		t.Fatal(err)
	}
	got, err = alerts(func(c string) bool { return c == label.Exchange })
	var shape []string
	for _, a := range got {
		shape = append(shape, fmt.Sprintf("%s from %d to %d", a.TxID[:6], len(a.From), len(a.To)))
	}
	if want := []string{"28204c from 1 to 1", "6b0f8a from 1 to 0", "3c1d7e from 0 to 1"}; err != nil || !reflect.DeepEqual(shape, want) {
		t.Fatalf("alerts of block 546 with the shop alone labelled: %v %v, want %v", shape, err, want)
	}

	// Taking entities: 6b0f8a spends the thief's and the shop's coins
	// together, so the clustering puts them in one entity, and the
	// thief's side of each transaction is told too, by the shop's label,
	// though the thief has none of its own.
	if _, err := cluster.Run(s, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	c, err := cluster.Open(s)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewAlerts(s, ls, func(c string) bool { return c == label.Exchange })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WithEntities(c); err != nil {
		t.Fatal(err)
	}
	got, err = w.Block(546)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := s.AddrNum(mustAddress(t, thief.Address))
	e, _ := c.Entity(n)
	stored, _ := ls.Lookup(shop.Address)
	ent := &ScreenEntity{ID: e, Size: len(c.Members(e)), Labels: []EntityLabel{{stored[0], shop.Address}}}
	thiefParty := func(v int64) AlertParty {
		return AlertParty{Address: thief.Address, Value: v, Labels: []label.Label{}, Entity: ent}
	}
	shopParty := func(v int64) AlertParty {
		return AlertParty{Address: shop.Address, Value: v, Labels: stored, Entity: ent}
	}
	// 28204c spends a third member's coins (1DCbY2..., co-spent with the
	// shop's there) besides the shop's.
	other := AlertParty{Address: "1DCbY2GYVaAMCBpuBNN5GVg3a47pNK1wdi", Value: 24e8, Labels: []label.Label{}, Entity: ent}
	want = []Alert{
		{"btc", 546, block, "28204cad1d7fc1d199e8ef4fa22f182de6258a3eaafe1bbe56ebdcacd3069a5f", l(shopParty(1e8), other), l(thiefParty(1e8), shopParty(24e8)), false},
		{"btc", 546, block, "6b0f8a73a56c04b519f1883e8aafda643ba61a30bd1439969df21bea5f4e27e2", l(thiefParty(1e8), shopParty(24e8)), l(thiefParty(25e8)), false},
		{"btc", 546, block, "3c1d7e82342158e4109df2e0b6348b6e84e403d8b4046d7007663ace63cddb23", l(thiefParty(25e8)), l(shopParty(1e8), thiefParty(24e8)), false},
	}
	if len(stored) != 1 || ent.Size < 3 || !reflect.DeepEqual(got, want) {
		t.Fatalf("alerts of block 546 by entity:\n got %s\nwant %s", jsonText(got), jsonText(want))
	}
	// The same transactions as in a node's mempool, whole (their coins
	// in the store): the same parties, no block; the others none.
	blk, err := btc.DecodeBlock(testchain.MainnetBlocks(t)[546])
	if err != nil {
		t.Fatal(err)
	}
	var fromMempool []Alert
	for i := range blk.Txs {
		a, err := w.Mempool(&blk.Txs[i])
		if err != nil {
			t.Fatal(err)
		}
		if a != nil {
			if !a.Mempool || a.Height != -1 || a.BlockHash != "" {
				t.Fatalf("a mempool alert: %+v", a)
			}
			a.Height, a.BlockHash, a.Mempool = 546, block, false
			fromMempool = append(fromMempool, *a)
		}
	}
	if !reflect.DeepEqual(fromMempool, want) {
		t.Fatalf("block 546's transactions as in the mempool:\n got %s\nwant %s", jsonText(fromMempool), jsonText(want))
	}
	// A payment to an address the chain has not seen, labelled: told by
	// its label (it has no entity yet).
	fresh := mustAddress(t, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
	if _, err := s.AddrNum(fresh); err == nil {
		t.Fatal("the fresh address is on chain")
	}
	if err := ls.Replace(label.SourceInfo{Source: "fresh"}, []label.Label{{Address: fresh.String(s.Network()), Chain: label.ChainBTC, Category: label.Exchange, Label: "fresh"}}, nil); err != nil {
		t.Fatal(err)
	}
	pay := btc.Tx{Version: 1, Inputs: []btc.TxIn{{PrevTxID: blk.Txs[0].TxID, Sequence: 0xffffffff}}, Outputs: []btc.TxOut{{Value: 50e8, Script: fresh.Script()}}}
	payTx, _ := btc.DecodeTx(btc.AppendTx(nil, &pay))
	if a, err := w.Mempool(payTx); err != nil || a == nil || len(a.From) != 0 || len(a.To) != 1 || a.To[0].Address != fresh.String(s.Network()) || a.To[0].Value != 50e8 || a.To[0].Entity != nil || a.To[0].Labels[0].Label != "fresh" {
		t.Fatalf("a payment to a labelled address not on chain: %+v %v", a, err)
	}
	// Without the shop's label the entity raises nothing.
	if err := ls.Replace(label.SourceInfo{Source: "test"}, []label.Label{thief}, nil); err != nil {
		t.Fatal(err)
	}
	if err := ls.CacheKeys(); err != nil {
		t.Fatal(err)
	}
	w, _ = NewAlerts(s, ls, func(c string) bool { return c == label.Exchange })
	if err := w.WithEntities(c); err != nil {
		t.Fatal(err)
	}
	if got, err := w.Block(546); err != nil || len(got) != 0 {
		t.Fatalf("alerts of block 546 by entity with no exchange labelled: %+v %v", got, err)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func mustAddress(t *testing.T, s string) btc.Address {
	t.Helper()
	a, err := btc.ParseAddress(s, btc.Main)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEVMBlockAlerts reads mainnet block 17173049 (from its ethereum-etl
// export): a swap whose sender sold WETH twice and got a token twice is
// told with each asset's sum on each side, fees and burns apart; an NFT
// mint of five tokens with each token id; a label of another chain (BNB
// Chain's, on the router the swap paid) raises nothing.
func TestEVMBlockAlerts(t *testing.T) {
	s := testchain.Ethereum(t, filepath.Join(t.TempDir(), "eth"))
	ls, err := label.Open(filepath.Join(t.TempDir(), "labels"))
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	const swapper, minter = "0x5DFF3Fb682E0C4064c4Ac3890a64c6C14a473d0D", "0x3813Ba8de772451B5459559011540F5BFc19432d"
	if err := ls.Replace(label.SourceInfo{Source: "test"}, []label.Label{
		{Address: swapper, Chain: label.ChainETH, Category: label.StolenFunds, Label: "swapper", Source: "test"},
		{Address: minter, Chain: label.ChainETH, Category: label.Sanctioned, Label: "minter", Source: "test"},
		{Address: "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D", Chain: "bsc", Category: label.StolenFunds, Label: "router on bsc", Source: "test"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := EVMBlockAlerts(s, ls, label.ChainETH, 0, func(c string) bool { return c == label.StolenFunds || c == label.Sanctioned }, nil)
	if err != nil {
		t.Fatal(err)
	}
	byTx := map[string]EVMAlert{}
	for _, a := range got {
		if a.Height != 17173049 || a.Chain != "eth" {
			t.Fatalf("an alert of another block: %+v", a)
		}
		for _, p := range append(append([]EVMAlertParty{}, a.From...), a.To...) {
			if p.Address != swapper && p.Address != minter {
				t.Fatalf("%s: a party not labelled so: %+v", a.TxID, p)
			}
		}
		byTx[a.TxID] = a
	}
	type side struct{ asset, value string }
	sides := func(ps []EVMAlertParty) []side {
		var out []side
		for _, p := range ps {
			out = append(out, side{p.Asset, p.Value})
		}
		return out
	}
	const weth, token, nft = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xb02edbcCaE654c8C4665681828731951804771cE", "0xB5f75C61052cd174c43b4187cA9333A5300d765F"
	swap := byTx["0xda46ac19eb2e326349727fc79e339c813e2eda40cbb406cb06ad85a98844e856"]
	if !reflect.DeepEqual(sides(swap.From), []side{{weth, "839384280398975810"}}) || !reflect.DeepEqual(sides(swap.To), []side{{token, "143442052442765"}}) {
		t.Fatalf("the swap's alert: %+v", swap)
	}
	mint := byTx["0xf9ce089241db57d1fd65743b14f60f36e065ec27f7ad1bd7a45b8c990f87b64e"]
	if !reflect.DeepEqual(sides(mint.From), []side{{"ETH", "10000000000000000"}}) ||
		!reflect.DeepEqual(sides(mint.To), []side{{nft, "894"}, {nft, "895"}, {nft, "896"}, {nft, "897"}, {nft, "898"}}) || !mint.To[0].NFT || mint.From[0].NFT {
		t.Fatalf("the mint's alert: %+v", mint)
	}
}

// BenchmarkBlockAlerts times the alerts of a synthetic chain's blocks (up
// to 300 transactions each; the first output of every hundredth labelled, half of
// those in a watched category) against reading each transaction's view,
// which a watch that looked at every transaction's addresses would: what
// watching adds to each block a follower adds.
func BenchmarkBlockAlerts(b *testing.B) {
	dir := b.TempDir()
	if _, err := world.WriteChain(dir, world.ChainOptions{Seed: 9, Blocks: 40, TxsPerBlock: 300}); err != nil {
		b.Fatal(err)
	}
	net, _ := btc.LookupNetwork("regtest")
	s, err := store.Open(b.TempDir(), store.Options{Network: net})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := ingest.Files(context.Background(), s, []string{dir}, ingest.Options{}); err != nil {
		b.Fatal(err)
	}
	ls, err := label.Open(filepath.Join(b.TempDir(), "labels"))
	if err != nil {
		b.Fatal(err)
	}
	defer ls.Close()
	var labels []label.Label
	for h := int64(1); h <= s.Height(); h++ {
		first, n := s.BlockTxs(h)
		for tx := first; tx < first+n; tx += 100 {
			v, _ := s.TxView(tx)
			if o := v.Outputs[0]; o.Address != "" {
				cat := label.StolenFunds
				if tx%200 == 0 {
					cat = label.Exchange
				}
				labels = append(labels, label.Label{Address: o.Address, Chain: label.ChainBTC, Category: cat, Source: "bench"})
			}
		}
	}
	if err := ls.Replace(label.SourceInfo{Source: "bench"}, labels, nil); err != nil {
		b.Fatal(err)
	}
	if err := ls.CacheKeys(); err != nil {
		b.Fatal(err)
	}
	watch := func(c string) bool { return c == label.StolenFunds }
	txs := s.Counts().Txs
	b.Run("views", func(b *testing.B) {
		for b.Loop() {
			for tx := uint64(0); tx < txs; tx++ {
				if _, err := s.TxView(tx); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(txs), "ns/tx")
	})
	if _, err := cluster.Run(s, cluster.Options{}); err != nil {
		b.Fatal(err)
	}
	c, err := cluster.Open(s)
	if err != nil {
		b.Fatal(err)
	}
	// by-entity also looks up the entity of every address of every
	// transaction, and tells the transactions of the labelled addresses'
	// entities.
	for _, byEntity := range []bool{false, true} {
		b.Run(map[bool]string{false: "alerts", true: "by-entity"}[byEntity], func(b *testing.B) {
			n := 0
			for b.Loop() {
				w, err := NewAlerts(s, ls, watch)
				if err != nil {
					b.Fatal(err)
				}
				if byEntity {
					if err := w.WithEntities(c); err != nil {
						b.Fatal(err)
					}
				}
				for h := int64(0); h <= s.Height(); h++ {
					a, err := w.Block(h)
					if err != nil {
						b.Fatal(err)
					}
					n += len(a)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(txs), "ns/tx")
			b.ReportMetric(float64(n)/float64(b.N), "alerts")
		})
	}
}

// TestDayBlock: a day's first and last blocks, looked for from the ends,
// with block times that do not always rise (as Bitcoin's may not), and
// days outside the blocks.
func TestDayBlock(t *testing.T) {
	day := time.Date(2021, 8, 19, 0, 0, 0, 0, time.UTC)
	s := day.Unix()
	// Blocks 10..17: the day before, then the day with one block stamped
	// a little before midnight among them, then the day after.
	times := map[int64]int64{10: s - 7200, 11: s - 60, 12: s + 30, 13: s - 10, 14: s + 40000, 15: s + 86399, 16: s + 86400, 17: s + 90000}
	timeOf := func(b int64) int64 { return times[b] }
	if b, ok := DayBlock(day, false, 10, 17, timeOf); !ok || b != 12 {
		t.Errorf("the 19th's first block: %d %v, want 12", b, ok)
	}
	if b, ok := DayBlock(day, true, 10, 17, timeOf); !ok || b != 15 {
		t.Errorf("the 19th's last block: %d %v, want 15", b, ok)
	}
	if b, ok := DayBlock(day.AddDate(0, 0, -1), true, 10, 17, timeOf); !ok || b != 13 {
		t.Errorf("the 18th's last block: %d %v, want 13 (stamped before midnight after 12)", b, ok)
	}
	if b, ok := DayBlock(day.AddDate(0, 0, 1), false, 10, 17, timeOf); !ok || b != 16 {
		t.Errorf("the 20th's first block: %d %v, want 16", b, ok)
	}
	if _, ok := DayBlock(day.AddDate(0, 0, 2), false, 10, 17, timeOf); ok {
		t.Error("a day after the last block has a first block")
	}
	if _, ok := DayBlock(day.AddDate(0, 0, -2), true, 10, 17, timeOf); ok {
		t.Error("a day before the first block has a last block")
	}
}
