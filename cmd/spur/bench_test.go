package main

import "testing"

// TestGarbagePercent checks the GOGC the ingest bench's timings run under:
// about 256 MiB of garbage on the blocks it holds, and never more than Go's
// default of 100 (a heap that doubles) nor less than 1.
func TestGarbagePercent(t *testing.T) {
	for _, c := range []struct{ live, garbage, want int }{
		{3 << 20, 256 << 20, 100},  // the shipped sample: the default
		{512 << 20, 256 << 20, 50}, // twice the garbage
		{3723 << 20, 256 << 20, 6}, // the largest chain
		{1 << 40, 256 << 20, 1},    // never 0, which would collect without end
		{0, 256 << 20, 100},        // nothing held
	} {
		if got := garbagePercent(c.live, c.garbage); got != c.want {
			t.Errorf("garbagePercent(%d, %d) = %d, want %d", c.live, c.garbage, got, c.want)
		}
	}
}
