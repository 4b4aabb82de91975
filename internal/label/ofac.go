package label

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ErrMalformed marks input that a parser refused; the message names the
// file and line.
var ErrMalformed = errors.New("label: malformed input")

// OFACResult is what an OFAC SDN import found.
type OFACResult struct {
	Labels   []Label
	Entities []Entity
	// PerCurrency counts the digital currency addresses found, per OFAC
	// currency code (an address listed for two entities counts twice).
	PerCurrency map[string]int
	// Invalid lists addresses whose form does not fit their currency (a
	// Bitcoin address that does not parse); they are kept, filed under the
	// chain their form suggests.
	Invalid []string
}

var (
	currencyAddress = regexp.MustCompile(`Digital Currency Address - ([A-Za-z0-9]+) ([^\s;]+)`)
	// A weak alias is quoted, and may itself hold an apostrophe
	// ("a.k.a. 'ABU-'UMAR'."): it ends at a quote followed by the
	// remark's semicolon or closing full stop.
	ofacWeakAlias = regexp.MustCompile(`\b[afn]\.k\.a\.,? '(.+?)'(?:;|\.?\s*$)`)
	ofacDOB       = regexp.MustCompile(`DOB [^;]*?\b(1[89]\d\d|20\d\d)\b`)
	ofacCountry   = regexp.MustCompile(`(?:nationality|citizen|POB [^;]*,) ([A-Z][A-Za-z ,'.-]+?)(?:;|\.$|$)`)
	ofacID        = regexp.MustCompile(`(?:Passport|National ID No\.|Identification Number|Registration Number|IMO|Tax ID No\.|Cedula No\.|Business Registration Number) ([A-Z0-9][A-Za-z0-9-]{3,})`)
)

// readOFACCSV reads one of the legacy SDN CSV files: no header, "-0-" for
// empty fields, and a DOS end-of-file byte after the last line.
func readOFACCSV(path string, fields int, required bool) ([][]string, error) {
	b, err := csvBytes(path)
	if errors.Is(err, os.ErrNotExist) && !required {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b = bytes.TrimRight(b, "\x1a")
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = fields
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(path, err)
		}
		line, _ := r.FieldPos(0)
		if _, err := strconv.Atoi(strings.TrimSpace(rec[0])); err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: entity number %q is not a number", ErrMalformed, path, line, rec[0])
		}
		rows = append(rows, rec)
	}
	if required && len(rows) == 0 {
		return nil, fmt.Errorf("%w: %s: no entries", ErrMalformed, path)
	}
	return rows, nil
}

func ofacField(s string) string {
	if t := strings.TrimSpace(s); t != "-0-" {
		return t
	}
	return ""
}

// ParseOFACSDN reads the legacy OFAC SDN CSV set in dir: sdn.csv (required),
// sdn_comments.csv (remarks that continue past sdn.csv's field), alt.csv
// (aliases) and add.csv (addresses). Every "Digital Currency Address - CUR
// ADDRESS" in an entry's remarks, read across the continuation exactly as
// written, becomes a sanctioned-address label.
func ParseOFACSDN(dir string) (*OFACResult, error) {
	return parseOFAC(dir, "sdn.csv", "sdn_comments.csv", "alt.csv", "add.csv")
}

// ParseOFACNonSDN reads OFAC's consolidated non-SDN list, which has the SDN
// set's layout under other names (cons_prim.csv, cons_comments.csv,
// cons_alt.csv, cons_add.csv).
func ParseOFACNonSDN(dir string) (*OFACResult, error) {
	return parseOFAC(dir, "cons_prim.csv", "cons_comments.csv", "cons_alt.csv", "cons_add.csv")
}

func parseOFAC(dir, primName, commentsName, altName, addName string) (*OFACResult, error) {
	sdn, err := readOFACCSV(filepath.Join(dir, primName), 12, true)
	if err != nil {
		return nil, err
	}
	comments, err := readOFACCSV(filepath.Join(dir, commentsName), 2, false)
	if err != nil {
		return nil, err
	}
	alts, err := readOFACCSV(filepath.Join(dir, altName), 5, false)
	if err != nil {
		return nil, err
	}
	adds, err := readOFACCSV(filepath.Join(dir, addName), 6, false)
	if err != nil {
		return nil, err
	}
	more := map[string]string{}
	for _, c := range comments {
		more[strings.TrimSpace(c[0])] += c[1]
	}
	aliases := map[string][]string{}
	for _, a := range alts {
		if name := ofacField(a[3]); name != "" {
			aliases[strings.TrimSpace(a[0])] = append(aliases[strings.TrimSpace(a[0])], name)
		}
	}
	addresses := map[string][]string{}
	for _, a := range adds {
		var parts []string
		for _, f := range a[2:5] {
			if v := ofacField(f); v != "" {
				parts = append(parts, v)
			}
		}
		if len(parts) > 0 {
			addresses[strings.TrimSpace(a[0])] = append(addresses[strings.TrimSpace(a[0])], strings.Join(parts, ", "))
		}
	}
	res := &OFACResult{PerCurrency: map[string]int{}}
	for _, r := range sdn {
		id := strings.TrimSpace(r[0])
		remarks := r[11]
		if strings.TrimSpace(remarks) == "-0-" {
			remarks = ""
		}
		// The continuation is appended exactly: an address or a word may be
		// cut anywhere, including at a space.
		remarks += more[id]
		var programs []string
		if p := ofacField(r[3]); p != "" {
			for _, x := range strings.Split(p, "] [") {
				programs = append(programs, strings.Trim(x, "[] "))
			}
		}
		e := Entity{ID: id, Name: ofacField(r[1]), Type: ofacField(r[2]), Programs: programs,
			Aliases: aliases[id], Addresses: addresses[id], Remarks: strings.TrimSpace(remarks)}
		if e.Type == "" {
			e.Type = "entity"
		}
		e.OFACRef = id
		for _, m := range ofacWeakAlias.FindAllStringSubmatch(remarks, -1) {
			if a := strings.TrimSpace(m[1]); a != "" && !slices.Contains(e.Aliases, a) {
				e.WeakAliases = appendUnique(e.WeakAliases, a)
			}
		}
		for _, m := range ofacDOB.FindAllStringSubmatch(remarks, -1) {
			e.BirthYears = appendYear(e.BirthYears, m[1])
		}
		for _, m := range ofacCountry.FindAllStringSubmatch(remarks, -1) {
			e.Countries = appendUnique(e.Countries, strings.TrimSpace(m[1]))
		}
		for _, m := range ofacID.FindAllStringSubmatch(remarks, -1) {
			e.IDs = appendUnique(e.IDs, m[1])
		}
		if m := unRef.FindStringSubmatch(remarks); m != nil {
			e.UNRef = m[1]
		}
		for _, m := range currencyAddress.FindAllStringSubmatch(remarks, -1) {
			e.Crypto = appendUnique(e.Crypto, strings.TrimRight(m[2], ".,"))
		}
		// An address is what the remark gives after the currency, less a
		// closing full stop; nothing left is no address.
		res.Entities = append(res.Entities, e)
		for _, m := range currencyAddress.FindAllStringSubmatch(remarks, -1) {
			cur, raw := strings.ToUpper(m[1]), strings.TrimRight(m[2], ".,")
			if raw == "" {
				continue
			}
			l, fits := listedAddress(cur, raw, e.Name, id, programs)
			if !fits {
				res.Invalid = append(res.Invalid, cur+" "+raw)
			}
			res.Labels = append(res.Labels, l)
			res.PerCurrency[cur]++
		}
	}
	return res, nil
}

// listedAddress makes the sanctioned-address label of raw, an address a
// list gives under currency cur (an OFAC code: XBT, ETH, USDT, ...) for the
// party it names, with the list's reference and programmes. fits is false when its form does
// not fit cur (the SDN list has a Tron address marked XBT, the
// consolidated lists cut some addresses short): it is kept, filed under
// the chain its form suggests, or as written.
func listedAddress(cur, raw, name, ref string, programs []string) (l Label, fits bool) {
	chain := chainOfCurrency(cur, raw)
	l = Label{Address: raw, Chain: chain, Category: Sanctioned, Label: name, Currency: cur, Ref: ref, Programs: programs, Confidence: 1}
	display, key, err := Normalize(chain, raw)
	if fits = err == nil; !fits {
		if g := GuessChain(raw); g != "" {
			l.Chain = g
		}
		if display, key, err = Normalize(l.Chain, raw); err != nil {
			display, key = raw, raw
		}
	}
	l.Address, l.key = display, key
	return l, fits
}
