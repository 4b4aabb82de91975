package names

import (
	"testing"

	"github.com/spur-forensics/spur/internal/label"
)

// TestSameCountry: a country agrees however the lists or a query name it
// (the lists' own spellings of North Korea, Russia, Iran, Myanmar, the
// Congo), the UK list's numbered countries each count, and a country is not
// another whose name holds it (Niger is not Nigeria, Sudan not South Sudan,
// Guinea not Equatorial Guinea); a name the table lacks agrees by its words.
func TestSameCountry(t *testing.T) {
	for _, c := range []struct {
		query string
		party []string
		want  bool
	}{
		{"North Korea", []string{"Democratic People's Republic of Korea"}, true},
		{"DPRK", []string{"KOREA, DEMOCRATIC PEOPLE'S REPUBLIC OF"}, true},
		{"Korea, North", []string{"North Korea"}, true},
		{"KP", []string{"Korea, North"}, true},
		{"South Korea", []string{"Democratic People's Republic of Korea"}, false},
		{"Korea", []string{"Democratic People's Republic of Korea"}, true},
		{"Russia", []string{"RUSSIAN FEDERATION"}, true},
		{"Russian Federation", []string{"(1) Cyprus (2) Russia"}, true},
		{"Cyprus", []string{"(1) Cyprus (2) Russia"}, true},
		{"Iran", []string{"IRAN (ISLAMIC REPUBLIC OF)"}, true},
		{"Burma", []string{"MYANMAR"}, true},
		{"DRC", []string{"CONGO, Democratic Republic of (was Zaire)"}, true},
		{"Congo", []string{"Democratic Republic of the Congo"}, false},
		{"Côte d'Ivoire", []string{"Ivory Coast"}, true},
		{"UK", []string{"United Kingdom of Great Britain and Northern Ireland"}, true},
		{"Niger", []string{"Nigeria"}, false},
		{"Sudan", []string{"South Sudan"}, false},
		{"Guinea", []string{"Equatorial Guinea", "Guinea-Bissau"}, false},
		{"Guinea", []string{"GUINEA"}, true},
		{"Syria", []string{"Iran", "Lebanon"}, false},
	} {
		var party []country
		for _, p := range c.party {
			party = append(party, countries(p)...)
		}
		if got := sameCountry(countries(c.query), party); got != c.want {
			t.Errorf("sameCountry(%q, %q) = %v, want %v", c.query, c.party, got, c.want)
		}
	}
}

// TestCountryInScreen: the screen scores a country as sameCountry says.
func TestCountryInScreen(t *testing.T) {
	x := NewIndex([]label.Entity{{Source: "un", ID: "KPi.016", Name: "JANG BOM SU", Type: "individual", Countries: []string{"Democratic People's Republic of Korea"}}})
	for country, want := range map[string]string{"North Korea": "country agrees", "Nigeria": "country disagrees"} {
		m := x.Screen(Query{Name: "Jang Bom Su", Country: country}, Options{})
		if len(m) != 1 || len(m[0].Explanation.Fields) != 1 || m[0].Explanation.Fields[0] != want {
			t.Errorf("%s: %+v", country, m)
		}
	}
}
