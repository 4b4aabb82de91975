package label

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ListResult is what a sanctions list import found: the listed parties,
// counted by programme or regime, and the digital currency addresses the
// list gives for them as sanctioned-address labels, counted by currency,
// with those whose form does not fit their currency (as OFACResult).
type ListResult struct {
	Entities    []Entity
	PerProgram  map[string]int
	Labels      []Label
	PerCurrency map[string]int
	Invalid     []string
	// Dated is the day the list says it was made or last updated,
	// YYYY-MM-DD, where it says so in a form read here.
	Dated string
}

// listDate reads a list's date as one of the layouts given, as YYYY-MM-DD;
// "" when it fits none.
func listDate(s string, layouts ...string) string {
	for _, l := range layouts {
		if d, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return d.Format(time.DateOnly)
		}
	}
	return ""
}

func newListResult() *ListResult {
	return &ListResult{PerProgram: map[string]int{}, PerCurrency: map[string]int{}}
}

// listCurrencyAddress is a digital currency address as the consolidated
// lists write one in free text: "Digital Currency Address - XBT, 1abc" in
// the US list's ids, "Digital Currency Address: ETH 0xabc" in the UK
// list's other information.
var listCurrencyAddress = regexp.MustCompile(`Digital Currency Address\s*[-:]\s*([A-Za-z0-9]+)[\s,]+([^\s;,]+)`)

// addAddresses labels the digital currency addresses text gives for entry
// e, each once under each currency it is listed for (an address may be
// listed for ETH and USDT alike); seen holds the pairs labelled already
// (the UK list repeats an entry's information on every row of its names
// and addresses).
func (res *ListResult) addAddresses(e *Entity, text, ref string, programs []string, seen map[string]bool) {
	for _, m := range listCurrencyAddress.FindAllStringSubmatch(text, -1) {
		cur, raw := strings.ToUpper(m[1]), strings.TrimRight(m[2], ".")
		if seen[cur+" "+raw] {
			continue
		}
		seen[cur+" "+raw] = true
		if !slices.Contains(e.Crypto, raw) {
			e.Crypto = append(e.Crypto, raw)
		}
		l, fits := listedAddress(cur, raw, e.Name, ref, programs)
		if !fits {
			res.Invalid = append(res.Invalid, cur+" "+raw)
		}
		res.Labels = append(res.Labels, l)
		res.PerCurrency[cur]++
	}
}

func appendUnique(list []string, v string) []string {
	if v == "" {
		return list
	}
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return list
		}
	}
	return append(list, v)
}

func appendYear(list []int, s string) []int {
	s = strings.TrimSpace(s)
	y, err := strconv.Atoi(s)
	if err != nil || y < 1800 || y > 2100 {
		return list
	}
	for _, x := range list {
		if x == y {
			return list
		}
	}
	return append(list, y)
}

var yearIn = regexp.MustCompile(`\b(1[89]\d\d|20\d\d)\b`)

// csvTable reads a whole CSV file with a header row into rows keyed by
// column name; errors name the file and line.
type csvTable struct {
	path  string
	col   map[string]int
	rows  [][]string
	lines []int
	pre   [][]string // the records before the header
}

// csvBytes reads a CSV file whole, less the UTF-8 byte order mark that
// spreadsheet programs write before the header.
func csvBytes(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), nil
}

func readCSVTable(path string, sep rune, skip int, required ...string) (*csvTable, error) {
	b, err := csvBytes(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma = sep
	r.FieldsPerRecord = -1
	t := &csvTable{path: path, col: map[string]int{}}
	for i := 0; i < skip; i++ {
		rec, err := r.Read()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: %v", ErrMalformed, path, i+1, err)
		}
		t.pre = append(t.pre, rec)
	}
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: header: %v", ErrMalformed, path, err)
	}
	for i, h := range head {
		t.col[strings.TrimSpace(h)] = i
	}
	for _, c := range required {
		if _, ok := t.col[c]; !ok {
			return nil, fmt.Errorf("%w: %s: header lacks column %q", ErrMalformed, path, c)
		}
	}
	r.FieldsPerRecord = len(head)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(path, err)
		}
		line, _ := r.FieldPos(0)
		t.rows = append(t.rows, rec)
		t.lines = append(t.lines, line)
	}
	return t, nil
}

func (t *csvTable) get(row []string, name string) string {
	if i, ok := t.col[name]; ok && i < len(row) {
		return strings.TrimSpace(row[i])
	}
	return ""
}

// ParseEU reads the EU consolidated financial sanctions list (CSV,
// semicolon-separated, one row per name, address, birth date, identity
// document and citizenship of each entry), grouping rows by entry. Entries
// carry the UN reference number where the UN lists them too.
func ParseEU(path string) (*ListResult, error) {
	t, err := readCSVTable(path, ';', 0, "Entity_LogicalId", "NameAlias_WholeName", "Entity_SubjectType", "Entity_UnitedNationId")
	if err != nil {
		return nil, err
	}
	res := newListResult()
	if len(t.rows) > 0 {
		res.Dated = listDate(t.get(t.rows[0], "fileGenerationDate"), "02/01/2006")
	}
	index := map[string]int{}
	for i, r := range t.rows {
		id := t.get(r, "Entity_LogicalId")
		if id == "" {
			return nil, fmt.Errorf("%w: %s: line %d: no Entity_LogicalId", ErrMalformed, path, t.lines[i])
		}
		k, ok := index[id]
		if !ok {
			typ := "entity"
			if st := t.get(r, "Entity_SubjectType"); st == "P" || st == "person" {
				typ = "individual"
			}
			res.Entities = append(res.Entities, Entity{ID: id, Type: typ, UNRef: t.get(r, "Entity_UnitedNationId"), Remarks: t.get(r, "Entity_Remark")})
			k = len(res.Entities) - 1
			index[id] = k
		}
		e := &res.Entities[k]
		if n := t.get(r, "NameAlias_WholeName"); n != "" {
			if e.Name == "" {
				e.Name = n
			} else if !strings.EqualFold(n, e.Name) {
				e.Aliases = appendUnique(e.Aliases, n)
			}
		}
		e.Programs = appendUnique(e.Programs, t.get(r, "Entity_Regulation_Programme"))
		e.BirthYears = appendYear(e.BirthYears, t.get(r, "BirthDate_Year"))
		for _, c := range []string{"Citizenship_CountryDescription", "BirthDate_CountryDescription", "Address_CountryDescription"} {
			e.Countries = appendUnique(e.Countries, t.get(r, c))
		}
		e.IDs = appendUnique(e.IDs, t.get(r, "Identification_Number"))
		if a := t.get(r, "Address_Street"); a != "" {
			e.Addresses = appendUnique(e.Addresses, strings.Join(nonEmpty(a, t.get(r, "Address_City"), t.get(r, "Address_CountryDescription")), ", "))
		}
	}
	for i := range res.Entities {
		e := &res.Entities[i]
		preferLatin(e)
		for _, p := range e.Programs {
			res.PerProgram[p]++
		}
	}
	return res, nil
}

// preferLatin makes an entity's name one in Latin script where its first
// is in another (the EU file gives some parties' Russian, Ukrainian or
// Arabic name first) and an alias is in Latin script: the name others are
// shown, the other script's kept as an alias.
func preferLatin(e *Entity) {
	if latin(e.Name) {
		return
	}
	for i, a := range e.Aliases {
		if latin(a) {
			e.Aliases[i] = e.Name
			e.Name = a
			return
		}
	}
}

// latin reports a name whose letters are all of the Latin script.
func latin(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLetter(r) && !unicode.In(r, unicode.Latin) })
}

func nonEmpty(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

var unRef = regexp.MustCompile(`\(UN Ref\):\s*([A-Za-z]+\.[0-9]+)`)

// ParseUK reads the UK (OFSI) consolidated list CSV: a "Last Updated" line,
// a header, then one row per name of each group (Group ID). The digital
// currency addresses in a group's other information become
// sanctioned-address labels under its Group ID and regime.
func ParseUK(path string) (*ListResult, error) {
	t, err := readCSVTable(path, ',', 1, "Name 6", "Name 1", "Group Type", "Group ID", "Regime", "Alias Type")
	if err != nil {
		return nil, err
	}
	res := newListResult()
	if len(t.pre) > 0 && len(t.pre[0]) > 1 && strings.EqualFold(strings.TrimSpace(t.pre[0][0]), "Last Updated") {
		res.Dated = listDate(t.pre[0][1], "02/01/2006")
	}
	index := map[string]int{}
	primary := map[int]bool{}
	others := map[int][]string{} // each entry's other information, as its rows give it
	for i, r := range t.rows {
		id := t.get(r, "Group ID")
		if id == "" {
			return nil, fmt.Errorf("%w: %s: line %d: no Group ID", ErrMalformed, path, t.lines[i])
		}
		k, ok := index[id]
		if !ok {
			typ := strings.ToLower(t.get(r, "Group Type"))
			switch typ {
			case "individual":
			case "ship":
				typ = "vessel"
			default:
				typ = "entity"
			}
			res.Entities = append(res.Entities, Entity{ID: id, Type: typ})
			k = len(res.Entities) - 1
			index[id] = k
		}
		e := &res.Entities[k]
		primary[k] = addUKName(e, primary[k], ukName(func(c string) string { return t.get(r, c) }), t.get(r, "Alias Type") == "Primary name", false)
		// The name in its own script (Cyrillic, Arabic, Persian, ...):
		// a name to screen by too.
		if n := t.get(r, "Name Non-Latin Script"); n != "" {
			e.Aliases = appendUnique(e.Aliases, n)
		}
		other := t.get(r, "Other Information")
		if !slices.Contains(others[k], other) {
			others[k] = append(others[k], other)
		}
		if m := unRef.FindStringSubmatch(other); m != nil {
			e.UNRef = m[1]
		}
		if e.Remarks == "" {
			e.Remarks = other
		}
		e.Programs = appendUnique(e.Programs, t.get(r, "Regime"))
		if y := yearIn.FindString(t.get(r, "DOB")); y != "" {
			e.BirthYears = appendYear(e.BirthYears, y)
		}
		for _, c := range []string{"Nationality", "Country of Birth", "Country"} {
			e.Countries = appendUnique(e.Countries, t.get(r, c))
		}
		for _, c := range []string{"Passport Number", "National Identification Number"} {
			e.IDs = appendUnique(e.IDs, t.get(r, c))
		}
	}
	res.labelEntries(others)
	return res, nil
}

// labelEntries counts each entry under its programmes and labels the
// digital currency addresses that the other information of its rows gives
// (others, by entry), under its id: once its primary name is known, from
// whichever row it came.
func (res *ListResult) labelEntries(others map[int][]string) {
	for k := range res.Entities {
		e := &res.Entities[k]
		for _, p := range e.Programs {
			res.PerProgram[p]++
		}
		seen := map[string]bool{}
		for _, o := range others[k] {
			res.addAddresses(e, o, e.ID, e.Programs, seen)
		}
	}
}

// ukName is a UK list row's name: Name 1 to Name 6 (given names, then the
// surname or an entity's whole name) joined.
func ukName(get func(string) string) string {
	var parts []string
	for _, c := range []string{"Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Name 6"} {
		if v := get(c); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " ")
}

// addUKName files the name of one of entry e's rows: the row marked
// primary gives the name (the first row's stands until one does;
// hasPrimary says whether one has, and the result whether one has now),
// the others are aliases, weak ones apart.
func addUKName(e *Entity, hasPrimary bool, name string, primary, weak bool) bool {
	switch {
	case name == "":
	case e.Name == "":
		e.Name, hasPrimary = name, primary
	case primary && !hasPrimary:
		e.Aliases = appendUnique(e.Aliases, e.Name)
		e.Name, hasPrimary = name, true
	case strings.EqualFold(name, e.Name):
	case weak:
		e.WeakAliases = appendUnique(e.WeakAliases, name)
	default:
		e.Aliases = appendUnique(e.Aliases, name)
	}
	return hasPrimary
}

// ParseUSCSL reads the US Consolidated Screening List CSV (one row per
// entry, alternate names separated by semicolons), from Treasury, Commerce
// and State lists alike; the source list is the programme. The digital
// currency addresses among an entry's ids become sanctioned-address labels
// with its OFAC programmes and entity number (the list's own id for an
// entry OFAC does not list).
func ParseUSCSL(path string) (*ListResult, error) {
	t, err := readCSVTable(path, ',', 0, "_id", "source", "type", "name", "alt_names")
	if err != nil {
		return nil, err
	}
	res := newListResult()
	for i, r := range t.rows {
		e := Entity{ID: t.get(r, "_id"), Name: t.get(r, "name"), Type: strings.ToLower(t.get(r, "type")), Remarks: t.get(r, "remarks")}
		if e.ID == "" || e.Name == "" {
			return nil, fmt.Errorf("%w: %s: line %d: an entry needs an _id and a name", ErrMalformed, path, t.lines[i])
		}
		if e.Type == "" {
			e.Type = "entity"
		}
		src := t.get(r, "source")
		if j := strings.Index(src, " ("); j > 0 {
			src = src[:j]
		}
		if strings.HasPrefix(src, "Specially Designated Nationals") || strings.HasPrefix(src, "Sectoral Sanctions") || strings.HasPrefix(src, "Non-SDN") {
			e.OFACRef = t.get(r, "entity_number")
		}
		e.Programs = appendUnique(e.Programs, src)
		for _, a := range strings.Split(t.get(r, "alt_names"), ";") {
			e.Aliases = appendUnique(e.Aliases, strings.TrimSpace(a))
		}
		for _, y := range yearIn.FindAllString(t.get(r, "dates_of_birth"), -1) {
			e.BirthYears = appendYear(e.BirthYears, y)
		}
		for _, c := range []string{"nationalities", "citizenships"} {
			for _, v := range strings.Split(t.get(r, c), ";") {
				e.Countries = appendUnique(e.Countries, strings.TrimSpace(v))
			}
		}
		ids := t.get(r, "ids")
		for _, v := range strings.Split(ids, ";") {
			if kind, num, ok := strings.Cut(v, ","); ok && !strings.Contains(kind, "Digital Currency Address") {
				e.IDs = appendUnique(e.IDs, strings.TrimSpace(num))
			}
		}
		ref := e.OFACRef
		if ref == "" {
			ref = e.ID
		}
		var programs []string
		for _, p := range strings.Split(t.get(r, "programs"), ";") {
			programs = appendUnique(programs, strings.TrimSpace(p))
		}
		res.addAddresses(&e, ids, ref, programs, map[string]bool{})
		if m := unRef.FindStringSubmatch(e.Remarks); m != nil {
			e.UNRef = m[1]
		}
		res.Entities = append(res.Entities, e)
		res.PerProgram[src]++
	}
	return res, nil
}

// csvError reports a CSV reading error with the file and the line where
// the bad record starts.
func csvError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s: line %d: %v", ErrMalformed, path, pe.StartLine, pe.Err)
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformed, path, err)
}
