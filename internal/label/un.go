package label

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// unParty is an INDIVIDUAL or ENTITY of the UN consolidated list.
type unParty struct {
	DataID    string   `xml:"DATAID"`
	First     string   `xml:"FIRST_NAME"`
	Second    string   `xml:"SECOND_NAME"`
	Third     string   `xml:"THIRD_NAME"`
	Fourth    string   `xml:"FOURTH_NAME"`
	Original  string   `xml:"NAME_ORIGINAL_SCRIPT"`
	ListType  string   `xml:"UN_LIST_TYPE"`
	Reference string   `xml:"REFERENCE_NUMBER"`
	ListedOn  string   `xml:"LISTED_ON"`
	Comments  string   `xml:"COMMENTS1"`
	Aliases   []unName `xml:"INDIVIDUAL_ALIAS"`
	EAliases  []unName `xml:"ENTITY_ALIAS"`
	Addresses []unAddr `xml:"INDIVIDUAL_ADDRESS"`
	EAddrs    []unAddr `xml:"ENTITY_ADDRESS"`
	Births    []struct {
		Year string `xml:"YEAR"`
		Date string `xml:"DATE"`
		From string `xml:"FROM_YEAR"`
		To   string `xml:"TO_YEAR"`
	} `xml:"INDIVIDUAL_DATE_OF_BIRTH"`
	Nationality []string `xml:"NATIONALITY>VALUE"`
	Documents   []struct {
		Number string `xml:"NUMBER"`
	} `xml:"INDIVIDUAL_DOCUMENT"`
}

type unName struct {
	Quality string `xml:"QUALITY"`
	Name    string `xml:"ALIAS_NAME"`
}

type unAddr struct {
	Street  string `xml:"STREET"`
	City    string `xml:"CITY"`
	State   string `xml:"STATE_PROVINCE"`
	Country string `xml:"COUNTRY"`
}

// UNResult is what a UN list import found.
type UNResult struct {
	Entities    []Entity
	PerListType map[string]int // entries per sanctions regime (DPRK, Iran, ...)
	Dated       string         // the day the list was generated (dateGenerated), YYYY-MM-DD
}

// ParseUN reads the UN Security Council consolidated list (XML). Its
// entries carry no crypto addresses; they are kept as entities for name
// screening, with the regime (UN_LIST_TYPE) as their programme and the UN
// reference number as their id.
func ParseUN(path string) (*UNResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	res := &UNResult{PerListType: map[string]int{}}
	root := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("%w: %s: line %d: %s", ErrMalformed, path, se.Line, se.Msg)
			}
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, path, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "CONSOLIDATED_LIST":
			root = true
			for _, a := range se.Attr {
				if a.Name.Local == "dateGenerated" && len(a.Value) >= 10 {
					res.Dated = listDate(a.Value[:10], time.DateOnly)
				}
			}
		case "INDIVIDUAL", "ENTITY":
			line, _ := d.InputPos()
			var p unParty
			if err := d.DecodeElement(&p, &se); err != nil {
				return nil, fmt.Errorf("%w: %s: line %d: %v", ErrMalformed, path, line, err)
			}
			var names []string
			for _, n := range []string{p.First, p.Second, p.Third, p.Fourth} {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
			if len(names) == 0 || strings.TrimSpace(p.Reference) == "" {
				return nil, fmt.Errorf("%w: %s: line %d: %s without a name or reference number", ErrMalformed, path, line, strings.ToLower(se.Name.Local))
			}
			e := Entity{ID: strings.TrimSpace(p.Reference), Name: strings.Join(names, " "), Type: "individual", Programs: []string{strings.TrimSpace(p.ListType)}, Remarks: strings.TrimSpace(p.Comments)}
			if se.Name.Local == "ENTITY" {
				e.Type = "entity"
			}
			for _, a := range append(p.Aliases, p.EAliases...) {
				if n := strings.TrimSpace(a.Name); n != "" {
					e.Aliases = append(e.Aliases, n)
				}
			}
			// The name in its original script (Arabic, Cyrillic), as a
			// party's own papers write it: a name to screen by too.
			if n := strings.TrimSpace(p.Original); n != "" {
				e.Aliases = appendUnique(e.Aliases, n)
			}
			for _, a := range append(p.Addresses, p.EAddrs...) {
				var parts []string
				for _, x := range []string{a.Street, a.City, a.State, a.Country} {
					if x = strings.TrimSpace(x); x != "" {
						parts = append(parts, x)
					}
				}
				if len(parts) > 0 {
					e.Addresses = append(e.Addresses, strings.Join(parts, ", "))
				}
			}
			e.UNRef = e.ID
			for _, b := range p.Births {
				for _, y := range []string{b.Year, b.From, b.To} {
					e.BirthYears = appendYear(e.BirthYears, y)
				}
				if len(b.Date) >= 4 {
					e.BirthYears = appendYear(e.BirthYears, b.Date[:4])
				}
			}
			for _, n := range p.Nationality {
				e.Countries = appendUnique(e.Countries, strings.TrimSpace(n))
			}
			for _, a := range append(p.Addresses, p.EAddrs...) {
				e.Countries = appendUnique(e.Countries, strings.TrimSpace(a.Country))
			}
			for _, d := range p.Documents {
				e.IDs = appendUnique(e.IDs, strings.TrimSpace(d.Number))
			}
			res.Entities = append(res.Entities, e)
			res.PerListType[e.Programs[0]]++
		}
	}
	if !root {
		return nil, fmt.Errorf("%w: %s: not a UN consolidated list (no CONSOLIDATED_LIST element)", ErrMalformed, path)
	}
	return res, nil
}
