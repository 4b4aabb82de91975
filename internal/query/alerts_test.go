package query

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/testchain"
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
	got, err := BlockAlerts(s, ls, 546, func(c string) bool { return c == label.StolenFunds })
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
		{"btc", 546, block, "28204cad1d7fc1d199e8ef4fa22f182de6258a3eaafe1bbe56ebdcacd3069a5f", l(), l(party(1e8))},
		{"btc", 546, block, "6b0f8a73a56c04b519f1883e8aafda643ba61a30bd1439969df21bea5f4e27e2", l(party(1e8)), l(party(25e8))},
		{"btc", 546, block, "3c1d7e82342158e4109df2e0b6348b6e84e403d8b4046d7007663ace63cddb23", l(party(25e8)), l(party(24e8))},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("alerts of block 546:\n got %+v\nwant %+v", got, want)
	}
	// Watching exchanges as well: the shop's side too.
	got, err = BlockAlerts(s, ls, 546, func(c string) bool { return c == label.StolenFunds || c == label.Exchange })
	if err != nil || len(got) != 3 || len(got[1].From) != 2 || got[1].From[1].Address != shop.Address || got[1].From[1].Value != 24e8 ||
		got[1].From[1].Labels[0].Label != "shop" || len(got[2].To) != 2 || got[2].To[0].Address != shop.Address || got[2].To[0].Value != 1e8 {
		t.Fatalf("alerts of block 546 with exchanges watched: %+v %v", got, err)
	}
}
