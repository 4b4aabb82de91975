package names

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// stopWords are dropped from names: legal forms, honorifics, articles.
var stopWords = set(
	// legal forms
	"co", "company", "companies", "ltd", "limited", "llc", "inc", "incorporated", "corp", "corporation",
	"plc", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "ab", "as", "oy", "kg", "lp", "llp",
	"jsc", "ojsc", "pjsc", "cjsc", "oao", "zao", "ooo", "pao", "ao", "tov", "fze", "fzco", "fzc", "fzllc", "est", "establishment",
	"pte", "pty", "sdn", "bhd", "tbk", "de", "cv", "the", "liability",
	// Russian legal forms, transliterated as the lists write them
	"obshchestvo", "ogranichennoy", "ogranichennoi", "otvetstvennostyu", "otvetstvennostiu",
	"aktsionernoe", "zakrytoe", "otkrytoe", "publichnoe", "s",
	// honorifics and titles
	"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "sheikh", "shaykh", "haji", "hajji", "mullah", "maulana", "general", "gen", "col", "colonel",
	// articles and particles of Arabic names
	"al", "el", "ul",
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// variants maps romanisation variants seen on the lists to one spelling:
// Korean surnames and syllables, Arabic and Russian given names.
var variants = map[string]string{}

func init() {
	groups := [][]string{
		// Korean (McCune-Reischauer, Revised Romanisation, common spellings)
		{"ri", "lee", "yi", "rhee", "li", "rhi"},
		{"pak", "park", "bak", "paik"},
		{"choe", "choi", "chwe", "choy"},
		{"kim", "gim"},
		{"jong", "jeong", "chong", "chung", "jung"},
		{"kang", "gang"},
		{"o", "oh"},
		{"jang", "chang"},
		{"ryu", "yu", "yoo", "ryoo"},
		{"han", "hahn"},
		{"ju", "joo", "chu"},
		{"yun", "yoon"},
		{"sin", "shin"},
		{"hyon", "hyun", "hyeon"},
		{"chol", "cheol", "chul"},
		{"myong", "myung", "myeong"},
		{"yong", "young", "yeong"},
		{"kwang", "gwang"},
		{"kyong", "kyung", "gyeong", "kyeong"},
		{"un", "eun"},
		{"son", "sohn"},
		{"paek", "baek"},
		{"ryong", "ryeong", "ryung"},
		{"chon", "jeon", "chun", "jun"},
		{"thae", "tae"},
		{"su", "soo"},
		{"bom", "beom", "pom"},
		{"gil", "kil"},
		{"dok", "deok", "tok"},
		{"hui", "hee", "hwi"},
		{"sok", "seok", "suk"},
		{"song", "seong", "sung"},
		// Arabic
		{"muhammad", "mohammed", "mohamed", "muhammed", "mohammad", "mohamad", "muhamad", "mohd", "mohamud", "mahomed"},
		{"ahmad", "ahmed", "ahmet"},
		{"husayn", "hussein", "husain", "hussain", "hosein", "hossein", "husein", "hussien"},
		{"hasan", "hassan", "hasen"},
		{"abdullah", "abdallah", "abdulla", "abdalla"},
		{"abd", "abdul", "abdel", "abdol", "abdal"},
		{"yusuf", "yousef", "youssef", "yousuf", "yusef", "yousif", "yosef"},
		{"mustafa", "mustapha", "mostafa", "moustafa"},
		{"khalid", "khaled"},
		{"umar", "omar", "omer"},
		{"usama", "osama", "ussama"},
		{"ibrahim", "ebrahim", "ibraheem"},
		{"said", "saeed", "sayed", "sayyid", "saiid", "seyed", "seyyed"},
		{"abu", "abou", "abo"},
		{"bin", "ben", "ibn"},
		{"qasim", "kassem", "qassem", "kasim", "qasem"},
		{"jafar", "jaafar", "jaffar"},
		{"abbas", "abas"},
		{"mahmud", "mahmoud", "mahmood"},
		{"yasin", "yassin", "yaseen"},
		{"nasir", "nasser", "naser", "nassir"},
		{"ismail", "ismael", "esmail"},
		{"yunus", "younis", "younes", "yunis"},
		{"hamid", "hamed"},
		{"rahman", "rehman", "rakhman"},
		// Russian and other Cyrillic transliterations
		{"aleksandr", "alexander", "aleksander", "alexandr", "oleksandr"},
		{"sergei", "sergey", "serguei", "sergiy", "serhiy"},
		{"dmitri", "dmitry", "dmitriy", "dmytro"},
		{"yuri", "yury", "yuriy", "iurii", "yurii"},
		{"evgeni", "evgeny", "yevgeny", "evgeniy", "yevgeniy", "evgenii", "yevhen"},
		{"andrei", "andrey", "andriy", "andrii"},
		{"alexei", "aleksei", "alexey", "aleksey", "oleksiy"},
		{"nikolai", "nikolay", "mykola"},
		{"mikhail", "mikhael", "mykhailo"},
		{"vladimir", "volodymyr", "wladimir"},
		{"viktor", "victor"},
		{"igor", "ihor"},
		{"oleg", "oleh"},
		{"vasili", "vasily", "vasiliy", "vasyl"},
		{"grigori", "grigory", "grigoriy", "hryhoriy"},
		{"yevgenia", "evgenia", "yevgeniya"},
		{"arkadi", "arkady", "arkadiy"},
		{"anatoli", "anatoly", "anatoliy"},
		{"gennadi", "gennady", "gennadiy"},
		{"valeri", "valery", "valeriy"},
	}
	for _, g := range groups {
		for _, v := range g {
			variants[v] = g[0]
		}
	}
}

// foldRune maps letters that do not decompose to ASCII.
var foldRune = map[rune]string{'ß': "ss", 'ø': "o", 'æ': "ae", 'œ': "oe", 'đ': "d", 'ł': "l", 'ı': "i", 'þ': "th", 'ð': "d"}

// Tokens normalises a name into its tokens: accents removed, case folded,
// punctuation split (apostrophes joined), legal forms, honorifics and
// articles dropped, romanisation variants mapped to one spelling.
func Tokens(name string) []string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(name)) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == '\'' || r == '’' || r == '`' || r == '‘':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if s, ok := foldRune[r]; ok {
				b.WriteString(s)
			} else {
				b.WriteRune(r)
			}
		default:
			b.WriteByte(' ')
		}
	}
	var out []string
	for _, t := range strings.Fields(b.String()) {
		if stopWords[t] || len(t) >= 6 && nearLongStopWord(t) {
			continue
		}
		if v, ok := variants[t]; ok {
			t = v
		}
		out = append(out, t)
	}
	return out
}

// skeleton is a rough phonetic key for romanisation variants the table does
// not list: common digraphs folded, doubled letters collapsed, vowels after
// the first letter dropped. Keys shorter than three letters are not used.
var skeletonFolds = strings.NewReplacer("kh", "h", "ph", "f", "ck", "k", "q", "k", "w", "v", "y", "i", "dzh", "j", "zh", "j", "ts", "c", "tch", "ch", "sch", "sh", "ou", "u")

func skeleton(t string) string {
	t = skeletonFolds.Replace(t)
	var b []byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		if i > 0 && c == t[i-1] {
			continue
		}
		if i > 0 && strings.IndexByte("aeiou", c) >= 0 {
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// jaroWinkler is the Jaro-Winkler similarity of two strings.
func jaroWinkler(a, b string) float64 {
	if a == b {
		return 1
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	window := max(la, lb)/2 - 1
	if window < 0 {
		window = 0
	}
	ma := make([]bool, la)
	mb := make([]bool, lb)
	matches := 0
	for i := 0; i < la; i++ {
		lo, hi := max(0, i-window), min(lb, i+window+1)
		for j := lo; j < hi; j++ {
			if !mb[j] && a[i] == b[j] {
				ma[i], mb[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	trans, k := 0, 0
	for i := 0; i < la; i++ {
		if !ma[i] {
			continue
		}
		for !mb[k] {
			k++
		}
		if a[i] != b[k] {
			trans++
		}
		k++
	}
	m := float64(matches)
	jaro := (m/float64(la) + m/float64(lb) + (m-float64(trans)/2)/m) / 3
	prefix := 0
	for prefix < min(4, la, lb) && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

// editDistance1 reports whether a and b differ by one insertion, deletion,
// substitution or swap of neighbours.
func editDistance1(a, b string) bool {
	la, lb := len(a), len(b)
	if la > lb {
		a, b, la, lb = b, a, lb, la
	}
	if lb-la > 1 {
		return false
	}
	i := 0
	for i < la && a[i] == b[i] {
		i++
	}
	if i == la {
		return lb-la == 1
	}
	if la == lb {
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:] // swap
	}
	return a[i:] == b[i+1:] // insertion
}

// longStopWords are the legal-form words long enough that a one-letter
// typo in them ("LIMIED") is still recognisably the word.
var longStopWords = func() []string {
	var out []string
	for w := range stopWords {
		if len(w) >= 6 {
			out = append(out, w)
		}
	}
	return out
}()

func nearLongStopWord(t string) bool {
	for _, w := range longStopWords {
		if t[0] == w[0] && editDistance1(t, w) {
			return true
		}
	}
	return false
}
