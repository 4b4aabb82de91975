package query

import (
	"math/big"
	"testing"
)

// TestUnits: amounts in base units written with their decimals.
func TestUnits(t *testing.T) {
	for _, c := range []struct {
		v    string
		d    int
		keep bool
		want string
	}{
		{"2466660841", 8, true, "24.66660841"},
		{"3423999620", 8, true, "34.23999620"},
		{"100000000", 8, true, "1.00000000"},
		{"5", 8, true, "0.00000005"},
		{"11178384015900603748264", 18, false, "11178.384015900603748264"},
		{"1000000000000000000", 18, false, "1"},
		{"4713404071995", 6, false, "4713404.071995"},
		{"123", 0, false, "123"},
		{"-1500000", 6, false, "-1.5"},
	} {
		v, _ := new(big.Int).SetString(c.v, 10)
		if got := units(v, c.d, c.keep); got != c.want {
			t.Errorf("units(%s, %d, %v) = %s, want %s", c.v, c.d, c.keep, got, c.want)
		}
	}
}
