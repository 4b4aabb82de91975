package names

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// countryNames maps the names the lists (and people) give the countries of
// sanctioned parties, once normalised (countryText), to one name each: the
// lists write North Korea "Democratic People's Republic of Korea", "Korea,
// North", "KOREA, DEMOCRATIC PEOPLE'S REPUBLIC OF" and "North Korea". A name
// not in the table stands for itself.
var countryNames = func() map[string]string {
	m := map[string]string{}
	for canon, names := range map[string][]string{
		"north korea":          {"dprk", "kp", "prk", "korea north", "democratic people s republic of korea", "korea democratic people s republic of", "korea dpr"},
		"south korea":          {"kr", "kor", "korea south", "republic of korea", "korea republic of"},
		"russia":               {"ru", "rus", "russian federation", "russia ussr", "ussr now russian federation"},
		"iran":                 {"ir", "irn", "iran islamic republic of", "islamic republic of iran"},
		"syria":                {"sy", "syr", "syrian arab republic"},
		"myanmar":              {"mm", "mmr", "burma"},
		"dr congo":             {"cd", "cod", "drc", "zaire", "democratic republic of the congo", "democratic republic of congo", "congo democratic republic", "congo democratic republic of", "congo democratic republic of the", "congo democratic republic of was zaire"},
		"congo":                {"cg", "cog", "republic of the congo", "congo republic of the", "congo republic of", "congo brazzaville"},
		"united kingdom":       {"uk", "gb", "gbr", "great britain", "britain", "united kingdom of great britain and northern ireland"},
		"united states":        {"us", "usa", "united states of america"},
		"united arab emirates": {"uae", "ae", "are"},
		"china":                {"cn", "chn", "prc", "people s republic of china"},
		"turkey":               {"tr", "tur", "turkiye"},
		"venezuela":            {"ve", "ven", "venezuela bolivarian republic of", "bolivarian republic of venezuela"},
		"moldova":              {"md", "mda", "moldova republic of", "republic of moldova"},
		"north macedonia":      {"mk", "mkd", "macedonia", "north macedonia the republic of", "republic of north macedonia", "the former yugoslav republic of macedonia"},
		"tanzania":             {"tz", "tza", "tanzania united republic of", "united republic of tanzania"},
		"palestine":            {"ps", "pse", "palestinian", "palestinian territories", "occupied palestinian territories", "palestinian territory occupied", "state of palestine"},
		"vietnam":              {"vn", "vnm", "viet nam"},
		"laos":                 {"la", "lao", "lao pdr", "lao people s democratic republic"},
		"bolivia":              {"bo", "bol", "bolivia plurinational state of"},
		"czechia":              {"cz", "cze", "czech republic"},
		"cote d ivoire":        {"ci", "civ", "ivory coast"},
		"libya":                {"ly", "lby", "libyan arab jamahiriya"},
		"guinea bissau":        {"gw", "gnb"},
		"guinea":               {"gn", "gin", "republic of guinea"},
		"equatorial guinea":    {"gq", "gnq"},
		"niger":                {"ne", "ner"},
		"nigeria":              {"ng", "nga"},
		"dominica":             {"dm", "dma"},
		"dominican republic":   {"do", "dom"},
		"belarus":              {"by", "blr"},
		"ukraine":              {"ua", "ukr"},
		"cuba":                 {"cu", "cub"},
		"iraq":                 {"iq", "irq"},
		"afghanistan":          {"af", "afg"},
		"lebanon":              {"lb", "lbn"},
		"yemen":                {"ye", "yem"},
		"sudan":                {"sd", "sdn"},
		"south sudan":          {"ss", "ssd"},
	} {
		m[canon] = canon
		for _, n := range names {
			m[n] = canon
		}
	}
	return m
}()

// countryNumbered splits the UK list's "(1) Russia (2) Ukraine".
var countryNumbered = regexp.MustCompile(`\(\d+\)`)

// countryText normalises a country's name: accents and punctuation gone,
// lower case, words single-spaced.
func countryText(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// country is one country a value names: its normalised text and the name
// the table gives it (the text itself when the table lacks it).
type country struct{ text, canon string }

// countries names the countries a list's or a query's value gives: one, or
// several where the UK list numbers them ("(1) Russia (2) Ukraine").
func countries(v string) []country {
	var out []country
	for _, part := range countryNumbered.Split(v, -1) {
		if t := countryText(part); t != "" {
			c, ok := countryNames[t]
			if !ok {
				c = t
			}
			out = append(out, country{t, c})
		}
	}
	return out
}

// sameCountry reports whether a query's country is one of a party's: the
// same country, however each names it; a name the table does not know
// ("Korea") agrees with a party's country whose name holds it as words.
// A known one never agrees by its words alone: Sudan is not South Sudan.
func sameCountry(query, party []country) bool {
	for _, q := range query {
		_, known := countryNames[q.text]
		for _, p := range party {
			if known && p.canon == q.canon || !known && (p.canon == q.text || strings.Contains(" "+p.text+" ", " "+q.text+" ")) {
				return true
			}
		}
	}
	return false
}
