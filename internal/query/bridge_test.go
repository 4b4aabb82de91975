package query

import (
	"testing"
	"time"
)

// A deposit worth $100,000 at $50,000 a BTC wants a 2 BTC payout; the
// closest one within the window and the tolerance wins, and once used it
// is not matched again.
func TestMatchPayout(t *testing.T) {
	t0 := time.Date(2021, 8, 19, 0, 0, 0, 0, time.UTC)
	p := []BTCPayout{
		{Output: 1, Value: 199_000_000, Time: t0.Add(-time.Hour)},     // before the deposit
		{Output: 2, Value: 150_000_000, Time: t0.Add(time.Hour)},      // too far off in value
		{Output: 3, Value: 199_000_000, Time: t0.Add(2 * time.Hour)},  // 0.5% off: the match
		{Output: 4, Value: 201_500_000, Time: t0.Add(3 * time.Hour)},  // 0.75% off
		{Output: 5, Value: 200_000_000, Time: t0.Add(30 * time.Hour)}, // out of the window
	}
	used := map[int]bool{}
	if i := MatchPayout(p, used, t0, 100_000, 50_000, 0.02, 12*time.Hour); i != 2 {
		t.Fatalf("matched %d, want 2", i)
	}
	used[2] = true
	if i := MatchPayout(p, used, t0, 100_000, 50_000, 0.02, 12*time.Hour); i != 3 {
		t.Fatalf("second match %d, want 3", i)
	}
	used[3] = true
	if i := MatchPayout(p, used, t0, 100_000, 50_000, 0.02, 12*time.Hour); i != -1 {
		t.Fatalf("third match %d, want none", i)
	}
	if i := MatchPayout(p, map[int]bool{}, t0, 100_000, 0, 0.02, 0); i != -1 {
		t.Fatal("matched without a BTC price")
	}
}
