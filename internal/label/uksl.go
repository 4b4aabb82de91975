package label

import (
	"fmt"
	"slices"
	"strings"
)

// The UK Sanctions List (the FCDO's list of every designation under the
// Sanctions and Anti-Money Laundering Act 2018, the UK's one list since
// OFSI's consolidated list closed) as the FCDO publishes it in an
// OpenDocument spreadsheet: a "[Report for: DATE]" line, a header, then
// one row per name of each designation (Unique ID) and per address, phone
// number or other value that has several, each row repeating the rest.
var ukslRequired = []string{"Unique ID", "Name 6", "Name type", "Regime Name", "Individual, Entity, Ship"}

// ParseUKSanctionsList reads the UK Sanctions List spreadsheet (.ods). Each
// designation becomes an entity under its Unique ID, with the primary name
// as its name, the variations and aliases (a "Low quality a.k.a" as a weak
// alias) and the name in non-Latin script as aliases, its regime as
// programme; the digital currency addresses its other information gives
// become sanctioned-address labels under that id and regime.
func ParseUKSanctionsList(path string) (*ListResult, error) {
	var col map[string]int
	headerRow := 0
	res := newListResult()
	index := map[string]int{}
	primary := map[int]bool{}
	others := map[int][]string{}
	err := odsRows(path, func(row int, cells []string) error {
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(cells) {
				return strings.TrimSpace(cells[i])
			}
			return ""
		}
		if col == nil {
			// "[Report for: 30-Nov-2022]" before the header dates the list.
			if d, ok := strings.CutPrefix(cells[0], "[Report for:"); ok && res.Dated == "" {
				res.Dated = listDate(strings.TrimSuffix(strings.TrimSpace(d), "]"), "02-Jan-2006", "2-Jan-2006")
			}
			if !slices.ContainsFunc(cells, func(c string) bool { return strings.TrimSpace(c) == "Unique ID" }) {
				if row >= 10 {
					return fmt.Errorf("%w: %s: no header row (with \"Unique ID\") in the first %d rows", ErrMalformed, path, row)
				}
				return nil
			}
			col, headerRow = map[string]int{}, row
			for i, h := range cells {
				col[strings.TrimSpace(h)] = i
			}
			for _, c := range ukslRequired {
				if _, ok := col[c]; !ok {
					return fmt.Errorf("%w: %s: row %d: the header lacks column %q", ErrMalformed, path, row, c)
				}
			}
			return nil
		}
		id := get("Unique ID")
		if id == "" {
			return fmt.Errorf("%w: %s: row %d: no Unique ID", ErrMalformed, path, row)
		}
		k, ok := index[id]
		if !ok {
			typ := strings.ToLower(get("Individual, Entity, Ship"))
			switch typ {
			case "individual", "entity":
			case "ship":
				typ = "vessel"
			default:
				return fmt.Errorf("%w: %s: row %d: %q is not an individual, entity or ship", ErrMalformed, path, row, get("Individual, Entity, Ship"))
			}
			res.Entities = append(res.Entities, Entity{ID: id, Type: typ})
			k = len(res.Entities) - 1
			index[id] = k
		}
		e := &res.Entities[k]
		primary[k] = addUKName(e, primary[k], ukName(get), strings.EqualFold(get("Name type"), "primary name"), strings.HasPrefix(strings.ToLower(get("Alias strength")), "low quality"))
		if n := get("Name non-latin script"); n != "" {
			e.Aliases = appendUnique(e.Aliases, n)
		}
		other := get("Other Information")
		if !slices.Contains(others[k], other) {
			others[k] = append(others[k], other)
		}
		if e.Remarks == "" {
			e.Remarks = other
		}
		if ref := get("UN Reference Number"); ref != "" {
			e.UNRef = ref
		} else if m := unRef.FindStringSubmatch(other); m != nil && e.UNRef == "" {
			e.UNRef = m[1]
		}
		e.Programs = appendUnique(e.Programs, get("Regime Name"))
		for _, y := range yearIn.FindAllString(get("D.O.B"), -1) {
			e.BirthYears = appendYear(e.BirthYears, y)
		}
		for _, c := range []string{"Nationality(/ies)", "Country of birth", "Address Country"} {
			for _, v := range strings.Split(get(c), "|") {
				e.Countries = appendUnique(e.Countries, strings.TrimSpace(v))
			}
		}
		for _, c := range []string{"Passport number", "National Identifier number", "Business registration number (s)", "IMO number"} {
			for _, v := range strings.Split(get(c), "|") {
				e.IDs = appendUnique(e.IDs, strings.TrimSpace(v))
			}
		}
		if a := ukslAddress(get); a != "" {
			e.Addresses = appendUnique(e.Addresses, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if col == nil {
		return nil, fmt.Errorf("%w: %s: no header row (with \"Unique ID\")", ErrMalformed, path)
	}
	if len(res.Entities) == 0 {
		return nil, fmt.Errorf("%w: %s: no designations after the header (row %d)", ErrMalformed, path, headerRow)
	}
	for _, e := range res.Entities {
		if e.Name == "" {
			return nil, fmt.Errorf("%w: %s: designation %s has no name", ErrMalformed, path, e.ID)
		}
	}
	res.labelEntries(others)
	return res, nil
}

// ukslAddress joins a row's address lines, postal code and country.
func ukslAddress(get func(string) string) string {
	var parts []string
	for _, c := range []string{"Address Line 1", "Address Line 2", "Address Line 3", "Address Line 4", "Address Line 5", "Address Line 6", "Address Postal Code", "Address Country"} {
		if v := get(c); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, ", ")
}
