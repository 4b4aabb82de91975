package names

import (
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/spur-forensics/spur/internal/label"
)

// Recall is how often the right party came first (and within the first
// three) for a set of queries.
type Recall struct {
	Queries int      `json:"queries"`
	At1     float64  `json:"recall_at_1"`
	At3     float64  `json:"recall_at_3"`
	Misses  []string `json:"misses,omitempty"` // a few queries that missed, for inspection
}

// CrossList queries each entry of from that carries a UN reference number
// present in un by its names and aliases, against an index of the UN list
// alone, and measures how often that UN entry ranks first (and in the first
// three) for the best of its names.
func CrossList(from, un []label.Entity) Recall {
	x := NewIndex(un)
	refs := map[string]bool{}
	for _, e := range un {
		refs[e.UNRef] = true
	}
	var r Recall
	hit1, hit3 := 0, 0
	for _, e := range from {
		if e.UNRef == "" || !refs[e.UNRef] {
			continue
		}
		r.Queries++
		best := 99 // the best rank of the right entry over the entry's names
		for _, name := range append([]string{e.Name}, e.Aliases...) {
			ms := x.Screen(Query{Name: name}, Options{MinScore: 0.5, Limit: 3})
			for i, m := range ms {
				if m.Party == x.party[x.parties["un:"+e.UNRef][0]] {
					best = min(best, i)
					break
				}
			}
		}
		if best == 0 {
			hit1++
		}
		if best < 3 {
			hit3++
		}
		if best != 0 && len(r.Misses) < 10 {
			r.Misses = append(r.Misses, e.Name+" ("+e.UNRef+")")
		}
	}
	if r.Queries > 0 {
		r.At1, r.At3 = float64(hit1)/float64(r.Queries), float64(hit3)/float64(r.Queries)
	}
	return r
}

// Perturbation kinds.
var perturbations = []string{"typo", "drop-token", "swap-tokens", "join-tokens", "legal-form", "romanisation"}

// romanSwaps are spelling variants to substitute in perturbed queries.
var romanSwaps = map[string]string{
	"park": "pak", "pak": "park", "lee": "ri", "ri": "lee", "choe": "choi", "choi": "choe", "jong": "jeong", "kim": "gim",
	"mohammed": "muhammad", "muhammad": "mohammed", "mohamed": "mohammad", "ahmed": "ahmad", "ahmad": "ahmed", "hussein": "husayn",
	"hassan": "hasan", "yusuf": "youssef", "abdul": "abdel", "sergey": "sergei", "sergei": "sergey", "aleksandr": "alexander",
	"alexander": "aleksandr", "dmitry": "dmitri", "yuri": "yury", "evgeny": "yevgeny", "omar": "umar", "osama": "usama",
}

// perturb makes a query from a listed name by one kind of change, or ""
// when the kind does not apply to the name.
func perturb(name, kind, typ string, rng *rand.Rand) string {
	toks := strings.Fields(strings.NewReplacer(",", " ", ".", " ").Replace(name))
	switch kind {
	case "typo":
		var long []int
		for i, t := range toks {
			if len([]rune(t)) >= 5 {
				long = append(long, i)
			}
		}
		if len(long) == 0 {
			return ""
		}
		i := long[rng.IntN(len(long))]
		t := []rune(toks[i])
		if len(t) < 4 {
			return ""
		}
		p := 1 + rng.IntN(len(t)-2)
		switch rng.IntN(3) {
		case 0: // swap neighbours
			t[p], t[p+1] = t[p+1], t[p]
		case 1: // drop a letter
			t = append(t[:p], t[p+1:]...)
		default: // double a letter
			t = append(t[:p+1], t[p:]...)
		}
		toks[i] = string(t)
	case "drop-token":
		// Drop a meaningful token (not a legal form), of a name that keeps
		// at least three.
		var idx []int
		for i, t := range toks {
			if len(Tokens(t)) > 0 {
				idx = append(idx, i)
			}
		}
		if len(idx) < 4 {
			return ""
		}
		i := idx[rng.IntN(len(idx))]
		toks = append(toks[:i], toks[i+1:]...)
	case "swap-tokens":
		if len(toks) < 2 {
			return ""
		}
		toks[0], toks[len(toks)-1] = toks[len(toks)-1], toks[0]
	case "join-tokens":
		// Join two neighbouring meaningful tokens.
		var idx []int
		for i := 0; i+1 < len(toks); i++ {
			if len(Tokens(toks[i])) > 0 && len(Tokens(toks[i+1])) > 0 {
				idx = append(idx, i)
			}
		}
		if len(toks) < 3 || len(idx) == 0 {
			return ""
		}
		i := idx[rng.IntN(len(idx))]
		toks = append(append(toks[:i:i], toks[i]+toks[i+1]), toks[i+2:]...)
	case "legal-form":
		if typ != "entity" {
			return ""
		}
		forms := []string{"CO., LTD", "COMPANY LIMITED", "LLC", "JSC", "CORPORATION", "LTD"}
		last := strings.ToUpper(toks[len(toks)-1])
		for _, f := range []string{"LTD", "LIMITED", "LLC", "JSC", "CORP", "CORPORATION", "CO", "COMPANY", "INC"} {
			if last == f {
				toks = toks[:len(toks)-1]
				break
			}
		}
		if len(toks) == 0 {
			return ""
		}
		toks = append(toks, forms[rng.IntN(len(forms))])
	case "romanisation":
		changed := false
		for i, t := range toks {
			if v, ok := romanSwaps[strings.ToLower(t)]; ok {
				toks[i], changed = v, true
			}
		}
		if !changed {
			return ""
		}
	}
	return strings.Join(toks, " ")
}

// PerturbResult is the perturbation benchmark per entity type and kind.
type PerturbResult struct {
	ByType map[string]*Recall `json:"by_type"`
	ByKind map[string]*Recall `json:"by_kind"`
	All    Recall             `json:"all"`
}

// Perturb builds perturbed queries from the entries' own names (a sample
// of at most n entries, deterministic for the seed) and measures recall@1
// of the entry's party at the default threshold.
func Perturb(entries []label.Entity, n int, seed uint64) PerturbResult {
	x := NewIndex(entries)
	rng := rand.New(rand.NewPCG(seed, 17))
	idx := rng.Perm(len(entries))
	res := PerturbResult{ByType: map[string]*Recall{}, ByKind: map[string]*Recall{}}
	hits := map[*Recall][2]int{}
	add := func(r *Recall, ok1, ok3 bool, q string) {
		h := hits[r]
		r.Queries++
		if ok1 {
			h[0]++
		} else if len(r.Misses) < 10 {
			r.Misses = append(r.Misses, q)
		}
		if ok3 {
			h[1]++
		}
		hits[r] = h
	}
	for _, i := range idx[:min(n, len(idx))] {
		e := &entries[i]
		typ := typeOf(e.Type)
		for _, kind := range perturbations {
			q := perturb(e.Name, kind, typ, rng)
			if q == "" {
				continue
			}
			ms := x.Screen(Query{Name: q}, Options{Limit: 3})
			// Parties tied at the top score are indistinguishable: the right
			// one among them counts as first.
			ok1, ok3 := false, false
			for _, m := range ms {
				ok1 = ok1 || m.Score == ms[0].Score && m.Party == x.party[i]
				ok3 = ok3 || m.Party == x.party[i]
			}
			if res.ByType[typ] == nil {
				res.ByType[typ] = &Recall{}
			}
			if res.ByKind[kind] == nil {
				res.ByKind[kind] = &Recall{}
			}
			add(res.ByType[typ], ok1, ok3, q)
			add(res.ByKind[kind], ok1, ok3, q)
			add(&res.All, ok1, ok3, q)
		}
	}
	for r, h := range hits {
		if r.Queries > 0 {
			r.At1, r.At3 = float64(h[0])/float64(r.Queries), float64(h[1])/float64(r.Queries)
		}
	}
	return res
}

// Common given names and surnames of several regions, for people who are
// not on the lists.
var (
	commonFirst = []string{"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
		"David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy",
		"Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Paul", "Ashley", "Wei", "Fang", "Hiroshi", "Yuki", "Olga",
		"Hans", "Pierre", "Giulia", "Carlos", "Lucia", "Priya", "Rahul", "Fatima", "Ingrid", "Lars", "Sofia", "Mateo", "Chloe"}
	commonLast = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
		"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Thompson", "White",
		"Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "Wright", "Scott", "Mueller", "Schmidt", "Rossi",
		"Dubois", "Tanaka", "Suzuki", "Wang", "Zhang", "Nguyen", "Kowalski", "Novak", "Jensen", "Larsen", "Silva", "Santos", "Patel"}
)

// FalsePositives screens n names built from common given names and
// surnames that are not themselves on the lists, and returns the share
// that matched anything at the default threshold.
func FalsePositives(entries []label.Entity, n int, seed uint64) (rate float64, tried int, examples []string) {
	x := NewIndex(entries)
	listed := map[string]bool{}
	for i := range x.names {
		listed[x.names[i].joined] = true
	}
	rng := rand.New(rand.NewPCG(seed, 23))
	hits := 0
	for tried < n {
		q := commonFirst[rng.IntN(len(commonFirst))] + " " + commonLast[rng.IntN(len(commonLast))]
		if listed[strings.Join(Tokens(q), "")] {
			continue
		}
		tried++
		if ms := x.Screen(Query{Name: q}, Options{}); len(ms) > 0 {
			hits++
			if len(examples) < 10 {
				examples = append(examples, q+" -> "+ms[0].Name)
			}
		}
	}
	return float64(hits) / float64(tried), tried, examples
}

// Latency screens each query once and returns the p50 and p99 times.
func Latency(x *Index, queries []string) (p50, p99 time.Duration) {
	var ds []time.Duration
	for _, q := range queries {
		t := time.Now()
		x.Screen(Query{Name: q}, Options{})
		ds = append(ds, time.Since(t))
	}
	if len(ds) == 0 {
		return 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[len(ds)*99/100]
}
