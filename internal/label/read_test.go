package label

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestRead: a file is read in the format given or told from it, under the
// format's default source or the one given; a format that is not one, a
// file that tells none, --chain on a list that has its own, and a file with
// nothing in it are refused.
func TestRead(t *testing.T) {
	write := tempWriter(t)
	tags := write("exchanges.csv", "address,chain,category,label,actor,source\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,eth,stolen-funds,Ronin Bridge Exploiter,Lazarus Group,https://example.org\n")
	f, err := Read(tags, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != "csv" || f.Source != "csv:exchanges" || len(f.Labels) != 1 || !reflect.DeepEqual(f.Counts, map[string]int{"eth": 1}) {
		t.Fatalf("read: %+v", f)
	}
	if f, err := Read(tags, ReadOptions{Format: "csv", Source: "mine"}); err != nil || f.Source != "mine" {
		t.Fatalf("with a source: %+v %v", f, err)
	}
	empty := write("empty.csv", "address,chain,category,label,actor,source\n")
	for _, c := range []struct {
		path string
		o    ReadOptions
		want error
	}{
		{tags, ReadOptions{Format: "xls"}, ErrFormat},
		{write("notes.txt", "address\n"), ReadOptions{}, ErrFormat},
		{tags, ReadOptions{Format: "csv", Chain: "bsc"}, ErrFormat},
		{empty, ReadOptions{}, ErrMalformed},
		{filepath.Join(t.TempDir(), "gone.csv"), ReadOptions{Format: "csv"}, nil},
	} {
		if _, err := Read(c.path, c.o); err == nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s %+v: %v, want %v", filepath.Base(c.path), c.o, err, c.want)
		}
	}
	if f, err := Read(empty, ReadOptions{AllowEmpty: true}); err != nil || !f.Empty() {
		t.Fatalf("empty, allowed: %+v %v", f, err)
	}
}

// TestDiff: what a new file adds and removes against what its source held,
// addresses by their normal form, entries by id, sorted; an address kept
// whose label says otherwise, relabelled.
func TestDiff(t *testing.T) {
	_, kept, err := Normalize(ChainETH, "0x098b716b8aaf21512996dc57eb0615e2383e2f96")
	if err != nil {
		t.Fatal(err)
	}
	held := &Content{
		Addresses: map[string]string{kept: "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "gone": "gone"},
		Entries:   map[string]string{"1": "A", "2": "B"},
		Said:      map[string][]string{kept: {labelSaid(Label{Category: Exchange, Label: "Desk"})}},
	}
	f := &File{
		Labels:   []Label{{Chain: ChainETH, Address: "0x098b716b8aaf21512996dc57eb0615e2383e2f96", Category: Sanctioned, Label: "Desk"}, {Chain: ChainETH, Address: "0x8589427373d6d84e98730d7795d8f6f8731fda16"}},
		Entities: []Entity{{ID: "2", Name: "B"}, {ID: "3", Name: "C"}},
	}
	ch := held.Diff(f, "the list of 2026-01-01")
	want := &Changes{Since: "the list of 2026-01-01", AddressesAdded: []string{"0x8589427373d6d84e98730d7795d8f6f8731fda16"}, AddressesRemoved: []string{"gone"},
		Relabelled: []string{"0x098b716b8aaf21512996dc57eb0615e2383e2f96"}, EntriesAdded: []EntryRef{{"3", "C"}}, EntriesRemoved: []EntryRef{{"1", "A"}}}
	if !reflect.DeepEqual(ch, want) || ch.None() {
		t.Fatalf("diff %+v, want %+v", ch, want)
	}
	if !(&Content{}).Diff(&File{}, "").None() {
		t.Fatal("nothing against nothing is a change")
	}
}

// TestWriteCSV: labels written as CSV read back as they were, a label with
// commas and quotes in it too.
func TestWriteCSV(t *testing.T) {
	in := []Label{
		{Address: "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", Chain: ChainETH, Category: StolenFunds, Label: `Ronin theft, "exploiter": 173,600 ETH`, Actor: "Lazarus Group", URL: "https://example.org/a"},
		{Address: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", Chain: ChainBTC, Category: StolenFunds, Label: "x"},
	}
	p := filepath.Join(t.TempDir(), "l.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(f, in); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := ParseCSV(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("read back %d labels, want %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Address != b.Address || a.Chain != b.Chain || a.Category != b.Category || a.Label != b.Label || a.Actor != b.Actor || a.URL != b.URL {
			t.Errorf("label %d: read back %+v, want %+v", i, b, a)
		}
	}
	if f, _ := Read(p, ReadOptions{}); f == nil || f.Format != "csv" {
		t.Errorf("a written CSV is not told as spur's: %+v", f)
	}
}
