package label

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestPendingImports: an import queued while another process holds the
// labels is not applied until a holder applies the queue, or the importer
// itself once they are let go: WaitApplied says it is queued until then;
// the queue is applied oldest first, with the labels' keys as Replace
// makes them. One that cannot be applied is set aside with its error,
// which WaitApplied returns; the rest go in.
func TestPendingImports(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "labels")
	res, err := ParseOFACSDN(ofacDir(t))
	if err != nil {
		t.Fatal(err)
	}
	first, err := QueueReplace(dir, SourceInfo{Source: "ofac-sdn", Format: "ofac-sdn-csv"}, res.Labels[:5], nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitApplied(dir, first, 100*time.Millisecond); !errors.Is(err, ErrNotApplied) {
		t.Fatalf("with no holder to apply it: %v", err)
	}
	// Queued after: the whole list replaces the five.
	second, err := QueueReplace(dir, SourceInfo{Source: "ofac-sdn", Format: "ofac-sdn-csv"}, res.Labels, res.Entities)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := QueueReplace(dir, SourceInfo{Source: "bad\x00name"}, res.Labels[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	// No one holds the labels now: the importer waiting applies the queue
	// itself.
	if err := WaitApplied(dir, second, 5*time.Second); err != nil {
		t.Fatalf("with the labels let go: %v", err)
	}
	if err := WaitApplied(dir, first, time.Second); err != nil {
		t.Fatalf("the first: %v", err)
	}
	if err := WaitApplied(dir, bad, time.Second); err == nil || !strings.Contains(err.Error(), "bad source name") {
		t.Fatalf("a queued import that cannot go in: %v", err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(strings.TrimSuffix(bad, ".json") + ".failed"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the failed import, said, is still in the queue: %v", err)
	}
	srcs, err := s.Sources()
	if err != nil || len(srcs) != 1 || srcs[0].Labels != len(res.Labels) {
		t.Fatalf("sources after the queue: %+v %v", srcs, err)
	}
	// Every address is found as a direct import files it (its key made
	// again from chain and address).
	direct, err := Open(filepath.Join(t.TempDir(), "direct"))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if err := direct.Replace(SourceInfo{Source: "ofac-sdn", Format: "ofac-sdn-csv"}, res.Labels, res.Entities); err != nil {
		t.Fatal(err)
	}
	for _, l := range res.Labels {
		got, _ := s.Lookup(l.Address)
		want, _ := direct.Lookup(l.Address)
		if len(got) == 0 || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s (%s): %+v after the queue, %+v imported directly", l.Address, l.Chain, got, want)
		}
	}
	if s.Pending() {
		t.Fatal("the queue is not empty")
	}
	// Incidents and prices queue the same way, an empty import too; a kind
	// this version does not know is set aside, said.
	for _, q := range []func() (string, error){
		func() (string, error) { return QueueIncidents(dir, nil) },
		func() (string, error) {
			return QueuePrices(dir, map[string]map[string]float64{"BTC": {"2021-08-10": 45000}})
		},
	} {
		p, err := q()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyPending(); err != nil {
			t.Fatal(err)
		}
		if err := WaitApplied(dir, p, time.Second); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	if usd, ok := s.Price("BTC", "2021-08-10"); !ok || usd != 45000 {
		t.Fatalf("the queued price: %v %v", usd, ok)
	}
	future := filepath.Join(pendingDir(dir), "99999999999999999999-1.json")
	os.WriteFile(future, []byte(`{"kind": "sighting"}`), 0o644)
	if _, err := s.ApplyPending(); err != nil {
		t.Fatal(err)
	}
	if err := WaitApplied(dir, future, time.Second); err == nil || !strings.Contains(err.Error(), `"sighting", which this version does not know`) {
		t.Fatalf("a queued import of an unknown kind: %v", err)
	}
	// What an importer stopped midway left is removed once stale; one
	// being written is not.
	pd := pendingDir(dir)
	old, fresh := filepath.Join(pd, ".1-1.json.tmp"), filepath.Join(pd, ".2-2.json.tmp")
	os.WriteFile(old, []byte("{"), 0o644)
	os.WriteFile(fresh, []byte("{"), 0o644)
	os.Chtimes(old, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	if _, err := s.ApplyPending(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a stale half-written import stays: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("one being written was removed: %v", err)
	}
}
