package names

import (
	"sort"
	"strings"
	"sync"

	"github.com/spur-forensics/spur/internal/label"
)

// Options are the matcher's knobs; docs/names.md explains each.
type Options struct {
	// MinScore drops matches below it. Default 0.80.
	MinScore float64
	// Limit caps the matches returned. Default (0 or less) 10.
	Limit int
	// FuzzyMin is the lowest Jaro-Winkler similarity counted between two
	// different tokens (of at least 4 letters). Default 0.88.
	FuzzyMin float64
}

func (o *Options) defaults() {
	if o.MinScore == 0 {
		o.MinScore = 0.80
	}
	if o.Limit <= 0 {
		o.Limit = 10
	}
	if o.FuzzyMin == 0 {
		o.FuzzyMin = 0.88
	}
}

// Index holds list entries and their names for screening.
type Index struct {
	entries []label.Entity
	party   []string // party key per entry
	names   []name
	byToken map[string][]uint32  // token -> names
	byKey   map[string][]uint32  // skeletons, 4-letter prefixes and suffixes -> names
	byID    map[string][]uint32  // identifiers and crypto addresses -> entries
	parties map[string][]uint32  // party -> entries
	scratch sync.Pool            // *scratch, per query
	df      map[string]int       // names per token
	years   map[string][]int     // party -> birth years on any of its entries
	country map[string][]country // party -> countries on any of its entries
}

// scratch holds per-query counters, reused across queries.
type scratch struct {
	hits, last []uint8
	touched    []uint32
}

type name struct {
	entry  uint32
	text   string
	alias  bool
	weak   bool // a weak alias (label.Entity.WeakAliases)
	tokens []string
	skels  []string // skeleton of each token
	joined string   // tokens without spaces
}

func skeletons(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = skeleton(t)
	}
	return out
}

func idKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// NewIndex indexes the entries' names and aliases.
func NewIndex(entries []label.Entity) *Index {
	x := &Index{entries: entries, byToken: map[string][]uint32{}, byKey: map[string][]uint32{}, byID: map[string][]uint32{}, parties: map[string][]uint32{},
		years: map[string][]int{}, country: map[string][]country{}, df: map[string]int{}}
	x.scratch.New = func() any { return &scratch{} }
	keys := partyKeys(entries)
	for i := range entries {
		e := &entries[i]
		key := keys[i]
		x.party = append(x.party, key)
		x.parties[key] = append(x.parties[key], uint32(i))
		x.years[key] = append(x.years[key], e.BirthYears...)
		for _, c := range e.Countries {
			x.country[key] = append(x.country[key], countries(c)...)
		}
		// The name, its aliases, then its weak aliases, each flagged.
		texts := append(append([]string{e.Name}, e.Aliases...), e.WeakAliases...)
		weak := make([]bool, len(texts))
		for k := len(texts) - len(e.WeakAliases); k < len(texts); k++ {
			weak[k] = true
		}
		for k, t := range texts {
			// "Korea Kwangson Banking Corporation (KKBC)": the name without
			// its parenthesised acronym is a name too.
			if i := strings.IndexByte(t, '('); i > 0 {
				texts = append(texts, strings.TrimSpace(t[:i]))
				weak = append(weak, weak[k])
			}
		}
		for k, text := range texts {
			toks := Tokens(text)
			if len(toks) == 0 {
				continue
			}
			n := uint32(len(x.names))
			x.names = append(x.names, name{entry: uint32(i), text: text, alias: k > 0, weak: weak[k], tokens: toks, skels: skeletons(toks), joined: strings.Join(toks, "")})
			for _, t := range toks {
				x.df[t]++
				x.byToken[t] = appendOnce(x.byToken[t], n)
				for _, k := range fuzzyKeys(t) {
					x.byKey[k] = appendOnce(x.byKey[k], n)
				}
			}
			if len(toks) > 1 {
				x.byToken[x.names[n].joined] = appendOnce(x.byToken[x.names[n].joined], n)
			}
		}
		for _, id := range append(append([]string{}, e.IDs...), e.Crypto...) {
			if k := idKey(id); len(k) >= 5 {
				x.byID[k] = appendOnce(x.byID[k], uint32(i))
			}
		}
	}
	return x
}

// partyKeys links entries of several lists that are one party: those that
// carry the same UN reference number, the same OFAC entity number, or the
// same identifier (passport, registration or IMO number of eight characters
// or more, or crypto address). Each party is named by its UN reference
// where it has one, else its OFAC number, else its first entry.
func partyKeys(entries []label.Entity) []string {
	parent := make([]int, len(entries))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	first := map[string]int{}
	link := func(i int, k string) {
		if j, ok := first[k]; ok {
			if a, b := find(i), find(j); a != b {
				parent[max(a, b)] = min(a, b)
			}
		} else {
			first[k] = i
		}
	}
	// An identifier links only where it is nearly unique: the lists reuse
	// some numbers (a state registry's, a shared vessel IMO) across many
	// entries, which must not make them one party.
	idKeys := func(e *label.Entity) []string {
		var out []string
		for _, id := range append(append([]string{}, e.IDs...), e.Crypto...) {
			if k := idKey(id); len(k) >= 8 && strings.ContainsAny(k, "0123456789") {
				out = append(out, "id:"+k)
			}
		}
		return out
	}
	idCount := map[string]int{}
	for i := range entries {
		for _, k := range idKeys(&entries[i]) {
			idCount[k]++
		}
	}
	for i := range entries {
		e := &entries[i]
		if e.UNRef != "" {
			link(i, "un:"+e.UNRef)
		}
		if e.OFACRef != "" {
			link(i, "ofac:"+e.OFACRef)
		}
		for _, k := range idKeys(e) {
			if idCount[k] <= 4 {
				link(i, k)
			}
		}
	}
	best := map[int]string{}
	rank := func(k string) int {
		switch {
		case strings.HasPrefix(k, "un:"):
			return 0
		case strings.HasPrefix(k, "ofac:"):
			return 1
		}
		return 2
	}
	for i, e := range entries {
		k := e.Source + ":" + e.ID
		switch {
		case e.UNRef != "":
			k = "un:" + e.UNRef
		case e.OFACRef != "":
			k = "ofac:" + e.OFACRef
		}
		r := find(i)
		if cur, ok := best[r]; !ok || rank(k) < rank(cur) || rank(k) == rank(cur) && k < cur {
			best[r] = k
		}
	}
	keys := make([]string, len(entries))
	for i := range entries {
		keys[i] = best[find(i)]
	}
	return keys
}

func appendOnce(list []uint32, v uint32) []uint32 {
	if n := len(list); n > 0 && list[n-1] == v {
		return list
	}
	return append(list, v)
}

// fuzzyKeys are the keys under which a token is also found: its skeleton,
// and for longer tokens its first and last four letters (a typo rarely hits
// both ends).
func fuzzyKeys(t string) []string {
	var keys []string
	if s := skeleton(t); len(s) >= 3 {
		keys = append(keys, "s:"+s)
	}
	if len(t) >= 6 {
		keys = append(keys, "p:"+t[:4], "x:"+t[len(t)-4:])
	}
	return keys
}

// Size returns the number of entries and names indexed.
func (x *Index) Size() (entries, names int) { return len(x.entries), len(x.names) }

// Query is one name to screen, with what else is known of the party.
type Query struct {
	Name      string `json:"name"`
	Type      string `json:"type,omitempty"` // individual (person), entity (organization), vessel, aircraft
	Country   string `json:"country,omitempty"`
	BirthYear int    `json:"birth_year,omitempty"`
	ID        string `json:"id,omitempty"`
}

// Match is one listed party that matches.
type Match struct {
	Score       float64      `json:"score"`
	Party       string       `json:"party"`
	Name        string       `json:"name"`
	Type        string       `json:"type"`
	Entries     []EntryRef   `json:"entries"`
	Explanation *Explanation `json:"explanation"`
	entry       uint32
}

// EntryRef names a list entry behind a match.
type EntryRef struct {
	Source   string   `json:"source"`
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Programs []string `json:"programs,omitempty"`
}

// Explanation says why a match scored as it did.
type Explanation struct {
	MatchedName    string      `json:"matched_name"`
	Alias          bool        `json:"alias"`
	WeakAlias      bool        `json:"weak_alias,omitempty"` // one of the broad a.k.a.s OFAC gives in remarks
	Tokens         []TokenPair `json:"tokens"`
	UnmatchedQuery []string    `json:"unmatched_query_tokens"`
	UnmatchedName  []string    `json:"unmatched_name_tokens"`
	NameScore      float64     `json:"name_score"`
	Fields         []string    `json:"fields,omitempty"` // e.g. "birth year 1958 agrees"
	ByID           string      `json:"by_id,omitempty"`
}

// TokenPair is one query token matched to one name token.
type TokenPair struct {
	Query      string  `json:"query"`
	Name       string  `json:"name"`
	Similarity float64 `json:"similarity"`
	How        string  `json:"how"` // exact, variant, skeleton, fuzzy, joined
}

// weight is a token's weight in the score: short tokens and tokens common
// on the lists (Muhammad, Kim, Company) weigh less, so that sharing them
// proves less.
func (x *Index) weight(t string) float64 {
	w := 1.0
	if len(t) <= 2 {
		w = 0.5
	}
	if genericOrgWords[t] {
		w = 0.3
	}
	switch df := x.df[t]; {
	case df > 500:
		w *= 0.8
	case df > 50:
		w *= 0.9
	}
	return w
}

// genericOrgWords say what kind of body an organisation is, not which:
// "Lazarus" names LAZARUS GROUP, and a query without "Group" should find it.
// They weigh little, where legal forms are dropped.
var genericOrgWords = map[string]bool{"group": true, "holding": true, "holdings": true}

// tokenSim compares two normalised tokens, given their skeletons.
func tokenSim(a, b, sa, sb string, fuzzyMin float64) (float64, string) {
	if a == b {
		return 1, "exact"
	}
	if len(sa) >= 3 && sa == sb {
		return 0.92, "skeleton"
	}
	if len(a) >= 4 && len(b) >= 4 && (a[0] == b[0] || min(len(a), len(b)) >= 7) {
		if s := jaroWinkler(a, b); s >= fuzzyMin {
			return s * 0.95, "fuzzy"
		}
	}
	// One typo: in short tokens only where the first letters agree (Jong
	// and Tong are different names).
	if min(len(a), len(b)) >= 2 && (a[0] == b[0] || min(len(a), len(b)) >= 6) && editDistance1(a, b) {
		return 0.85, "fuzzy"
	}
	return 0, ""
}

// scoreName scores query tokens against a name's tokens: a Dice-like
// measure, twice the weight of what matched over the weight of both sides,
// so that a token missing on either side costs.
func (x *Index) scoreName(q, qs []string, n *name, fuzzyMin float64) (float64, *Explanation) {
	weight := x.weight
	ex := &Explanation{MatchedName: n.text, Alias: n.alias, WeakAlias: n.weak, Tokens: []TokenPair{}, UnmatchedQuery: []string{}, UnmatchedName: []string{}}
	if strings.Join(q, "") == n.joined {
		// The same letters, split differently or not at all.
		if len(q) == len(n.tokens) {
			for i, t := range n.tokens {
				ex.Tokens = append(ex.Tokens, TokenPair{q[i], t, 1, "exact"})
			}
		} else {
			ex.Tokens = append(ex.Tokens, TokenPair{strings.Join(q, " "), strings.Join(n.tokens, " "), 1, "joined"})
		}
		ex.NameScore = 1
		return 1, ex
	}
	type cand struct {
		i, j int
		s    float64
		how  string
	}
	var cands []cand
	for i, a := range q {
		for j, b := range n.tokens {
			if s, how := tokenSim(a, b, qs[i], n.skels[j], fuzzyMin); s > 0 {
				cands = append(cands, cand{i, j, s, how})
			}
		}
	}
	sort.Slice(cands, func(x, y int) bool {
		if cands[x].s != cands[y].s {
			return cands[x].s > cands[y].s
		}
		return cands[x].i < cands[y].i || cands[x].i == cands[y].i && cands[x].j < cands[y].j
	})
	usedQ := make([]bool, len(q))
	usedN := make([]bool, len(n.tokens))
	var matched float64
	for _, c := range cands {
		if usedQ[c.i] || usedN[c.j] {
			continue
		}
		usedQ[c.i], usedN[c.j] = true, true
		w := (weight(q[c.i]) + weight(n.tokens[c.j])) / 2
		matched += 2 * w * c.s
		ex.Tokens = append(ex.Tokens, TokenPair{q[c.i], n.tokens[c.j], round(c.s), c.how})
	}
	// Joined or split tokens: two adjacent unmatched tokens on one side
	// that spell one unmatched token on the other.
	joinPass := func(a []string, usedA []bool, b []string, usedB []bool, aIsQuery bool) {
		for i := 0; i+1 < len(a); i++ {
			if usedA[i] || usedA[i+1] {
				continue
			}
			joined := a[i] + a[i+1]
			for j, t := range b {
				if usedB[j] || len(joined) < len(t)-2 || len(joined) > len(t)+2 || joined[0] != t[0] {
					continue
				}
				if joined == t || jaroWinkler(joined, t) >= 0.93 || skeleton(joined) == skeleton(t) {
					usedA[i], usedA[i+1], usedB[j] = true, true, true
					matched += weight(a[i]) + weight(a[i+1])/2 + weight(t)/2
					p := TokenPair{a[i] + " " + a[i+1], t, 1, "joined"}
					if !aIsQuery {
						p = TokenPair{t, a[i] + " " + a[i+1], 1, "joined"}
					}
					ex.Tokens = append(ex.Tokens, p)
					break
				}
			}
		}
	}
	joinPass(q, usedQ, n.tokens, usedN, true)
	joinPass(n.tokens, usedN, q, usedQ, false)
	var total float64
	for i, t := range q {
		total += weight(t)
		if !usedQ[i] {
			ex.UnmatchedQuery = append(ex.UnmatchedQuery, t)
		}
	}
	for j, t := range n.tokens {
		total += weight(t)
		if !usedN[j] {
			ex.UnmatchedName = append(ex.UnmatchedName, t)
		}
	}
	s := matched / total
	if s > 1 {
		s = 1
	}
	ex.NameScore = round(s)
	return s, ex
}

func round(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }

func typeOf(t string) string {
	switch strings.ToLower(t) {
	case "individual", "person":
		return "individual"
	case "vessel", "ship":
		return "vessel"
	case "aircraft":
		return "aircraft"
	case "":
		return ""
	}
	return "entity"
}

// Screen returns the listed parties that match the query, best first.
func (x *Index) Screen(q Query, opts Options) []Match {
	opts.defaults()
	qCountry := countries(q.Country) // compared with each candidate's
	best := map[string]*Match{}      // by party
	consider := func(m *Match) {
		if cur, ok := best[m.Party]; !ok || m.Score > cur.Score {
			best[m.Party] = m
		}
	}
	// An exact identifier or crypto address decides alone.
	if k := idKey(q.ID); len(k) >= 5 {
		for _, e := range x.byID[k] {
			consider(&Match{Score: 1, Party: x.party[e], entry: e, Explanation: &Explanation{MatchedName: x.entries[e].Name, ByID: q.ID, Tokens: []TokenPair{}, UnmatchedQuery: []string{}, UnmatchedName: []string{}}})
		}
	}
	qt := Tokens(q.Name)
	qs := skeletons(qt)
	if len(qt) > 0 {
		// Candidates: names hit by enough query tokens, through the token
		// or one of its fuzzy keys. Each query token counts once per name.
		sc := x.scratch.Get().(*scratch)
		defer x.scratch.Put(sc)
		if len(sc.hits) < len(x.names) {
			sc.hits, sc.last = make([]uint8, len(x.names)), make([]uint8, len(x.names))
		}
		for _, n := range sc.touched {
			sc.hits[n], sc.last[n] = 0, 0
		}
		sc.touched = sc.touched[:0]
		for ti, t := range qt {
			mark := func(list []uint32) {
				for _, n := range list {
					if sc.last[n] == uint8(ti+1) {
						continue
					}
					if sc.hits[n] == 0 {
						sc.touched = append(sc.touched, n)
					}
					sc.last[n] = uint8(ti + 1)
					if sc.hits[n] < 255 {
						sc.hits[n]++
					}
				}
			}
			mark(x.byToken[t])
			for _, k := range fuzzyKeys(t) {
				mark(x.byKey[k])
			}
		}
		need := 1
		if len(qt) >= 3 {
			need = len(qt) - 1
		} else if len(qt) == 2 {
			need = 1
		}
		var cand []uint32
		for _, n := range sc.touched {
			h := int(sc.hits[n])
			if h >= need || h*2 >= len(x.names[n].tokens) && h >= 1 && len(qt) <= 2 {
				cand = append(cand, n)
			}
		}
		for _, n := range x.byToken[strings.Join(qt, "")] {
			if int(sc.hits[n]) < need {
				cand = append(cand, n)
			}
		}
		qType := typeOf(q.Type)
		for _, n := range cand {
			nm := &x.names[n]
			e := &x.entries[nm.entry]
			party := x.party[nm.entry]
			s, ex := x.scoreName(qt, qs, nm, opts.FuzzyMin)
			if s < opts.MinScore-0.2 {
				continue
			}
			// A weak alias is broad (a nickname, a common name): it
			// matches only whole, every token as it is written, so that
			// it finds the party by it without making near names hits.
			if nm.weak && s < 1 {
				continue
			}
			// Other fields adjust the score.
			if qType != "" && typeOf(e.Type) != qType {
				s -= 0.15
				ex.Fields = append(ex.Fields, "type "+q.Type+" differs from "+e.Type)
			}
			if years := x.years[party]; q.BirthYear != 0 && len(years) > 0 {
				agree := false
				for _, y := range years {
					agree = agree || y >= q.BirthYear-1 && y <= q.BirthYear+1
				}
				if agree {
					s += 0.05
					ex.Fields = append(ex.Fields, "birth year agrees")
				} else {
					s -= 0.2
					ex.Fields = append(ex.Fields, "birth year disagrees")
				}
			}
			if pc := x.country[party]; len(qCountry) > 0 && len(pc) > 0 {
				if sameCountry(qCountry, pc) {
					s += 0.03
					ex.Fields = append(ex.Fields, "country agrees")
				} else {
					s -= 0.05
					ex.Fields = append(ex.Fields, "country disagrees")
				}
			}
			s = min(max(s, 0), 1)
			if s < opts.MinScore {
				continue
			}
			consider(&Match{Score: round(s), Party: party, entry: nm.entry, Explanation: ex})
		}
	}
	out := make([]Match, 0, len(best))
	for _, m := range best {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Party < out[j].Party
	})
	if len(out) > opts.Limit {
		out = out[:opts.Limit]
	}
	for i := range out {
		x.fill(&out[i])
	}
	return out
}

// fill adds the party's entries from every list.
func (x *Index) fill(m *Match) {
	e := &x.entries[m.entry]
	m.Name, m.Type = e.Name, typeOf(e.Type)
	for _, i := range x.parties[m.Party] {
		o := &x.entries[i]
		m.Entries = append(m.Entries, EntryRef{o.Source, o.ID, o.Name, o.Programs})
	}
}
