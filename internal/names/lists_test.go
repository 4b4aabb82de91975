package names

import (
	"compress/bzip2"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spur-forensics/spur/internal/label"
)

func unpack(t testing.TB, rel, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("../../testdata/sanctions", rel+".bz2"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func withSource(es []label.Entity, src string) []label.Entity {
	for i := range es {
		es[i].Source = src
	}
	return es
}

type lists struct{ un, eu, uk []label.Entity }

func loadLists(t testing.TB) lists {
	un, err := label.ParseUN(unpack(t, "un_csl/UN_consolidated.xml", "un.xml"))
	if err != nil {
		t.Fatal(err)
	}
	eu, err := label.ParseEU(unpack(t, "eu_csl/eu_csl.csv", "eu.csv"))
	if err != nil {
		t.Fatal(err)
	}
	uk, err := label.ParseUK(unpack(t, "uk_csl/ConList.csv", "uk.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return lists{withSource(un.Entities, "un"), withSource(eu.Entities, "eu"), withSource(uk.Entities, "uk")}
}

// TestCrossList queries the EU and UK entries that carry a UN reference
// number against the UN list alone: the UN entry must come first.
func TestCrossList(t *testing.T) {
	l := loadLists(t)
	for _, c := range []struct {
		name string
		from []label.Entity
		min  float64
	}{{"EU->UN", l.eu, 0.95}, {"UK->UN", l.uk, 0.95}} {
		r := CrossList(c.from, l.un)
		t.Logf("%s: %d queries, recall@1 %.3f, recall@3 %.3f; misses %v", c.name, r.Queries, r.At1, r.At3, r.Misses)
		if r.Queries < 50 || r.At1 < c.min {
			t.Errorf("%s: recall@1 %.3f over %d queries, want >= %.2f", c.name, r.At1, r.Queries, c.min)
		}
	}
}

// TestPartiesStaySmall guards the linking of entries into parties: a
// shared number must not chain unrelated entries together.
func TestPartiesStaySmall(t *testing.T) {
	l := loadLists(t)
	all := append(append(append([]label.Entity{}, l.un...), l.eu...), l.uk...)
	x := NewIndex(all)
	largest, linked := 0, 0
	for _, es := range x.parties {
		largest = max(largest, len(es))
		if len(es) > 1 {
			linked++
		}
	}
	t.Logf("%d parties of several entries; the largest has %d", linked, largest)
	if largest > 6 || linked < 500 {
		t.Fatalf("%d linked parties, largest %d entries", linked, largest)
	}
}

func TestPerturbationsAndFalsePositives(t *testing.T) {
	l := loadLists(t)
	for _, list := range []struct {
		name    string
		entries []label.Entity
	}{{"UN", l.un}, {"EU", l.eu}, {"UK", l.uk}} {
		p := Perturb(list.entries, 200, 1)
		for k, r := range p.ByKind {
			t.Logf("%s %-13s %4d queries, recall@1 %.3f; misses %v", list.name, k, r.Queries, r.At1, r.Misses[:min(3, len(r.Misses))])
		}
		if p.All.At1 < 0.9 {
			t.Errorf("%s: perturbed recall@1 %.3f, want >= 0.9", list.name, p.All.At1)
		}
	}
	all := append(append(append([]label.Entity{}, l.un...), l.eu...), l.uk...)
	rate, n, ex := FalsePositives(all, 1000, 1)
	t.Logf("false positives: %.3f of %d (%v)", rate, n, ex)
	if rate > 0.02 {
		t.Errorf("false-positive rate %.3f, want <= 0.02", rate)
	}
}
