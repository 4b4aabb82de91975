package label

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// OFAC publishes the SDN list (and the consolidated non-SDN list) in two
// XML forms beside the legacy CSV: SDN.XML, one sdnEntry an entry with its
// names, programmes and ids, and SDN_ADVANCED.XML, in the UN's Advanced
// Sanctions List Standard, where an entry is a DistinctParty whose names,
// features and documents point by number into reference value sets the
// file declares. In both a digital currency address is an id or feature of
// its own ("Digital Currency Address - XBT"), not words in a remark. Both
// are read as streams: the files run to hundreds of megabytes.

// currencyType is the id or feature type OFAC gives a digital currency
// address, with the currency code after it.
var currencyType = regexp.MustCompile(`^Digital Currency Address - ([A-Za-z0-9]+)$`)

// ofacYear takes a year out of a date as SDN.XML writes it ("12 Jan 1984",
// "circa 1984", "1984 to 1986").
var ofacYear = regexp.MustCompile(`\b(1[89]\d\d|20\d\d)\b`)

// ofacSource is the source an OFAC XML file goes to by default: OFAC names
// the consolidated list's files CONSOLIDATED.XML and CONS_ADVANCED.XML
// (zipped, CONSOLIDATED.ZIP and CONS_ADVANCED.ZIP).
func ofacSource(path string) string {
	if strings.HasPrefix(strings.ToLower(filepath.Base(path)), "cons") {
		return "ofac-non-sdn"
	}
	return "ofac-sdn"
}

// openXML opens an XML list, or the one XML file of a zip archive (OFAC
// publishes its XML forms zipped too: SDN_XML.ZIP, SDN_ADVANCED.ZIP); name
// is what errors call it (ARCHIVE:MEMBER for a member).
func openXML(path string) (rc io.ReadCloser, name string, err error) {
	if !strings.EqualFold(filepath.Ext(path), ".zip") {
		f, err := os.Open(path)
		if err != nil {
			return nil, path, fmt.Errorf("label: %w", err)
		}
		return f, path, nil
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, path, fmt.Errorf("%w: %s: not a zip archive (%v)", ErrMalformed, path, err)
	}
	var member *zip.File
	for _, m := range z.File {
		if strings.EqualFold(filepath.Ext(m.Name), ".xml") {
			if member != nil {
				z.Close()
				return nil, path, fmt.Errorf("%w: %s holds more than one XML file (%s, %s)", ErrMalformed, path, member.Name, m.Name)
			}
			member = m
		}
	}
	if member == nil {
		z.Close()
		return nil, path, fmt.Errorf("%w: %s holds no XML file", ErrMalformed, path)
	}
	r, err := member.Open()
	if err != nil {
		z.Close()
		return nil, path, fmt.Errorf("%w: %s:%s: %v", ErrMalformed, path, member.Name, err)
	}
	return zipMember{r, z}, path + ":" + member.Name, nil
}

// zipMember reads an archive's member and closes both.
type zipMember struct {
	io.ReadCloser
	z *zip.ReadCloser
}

func (m zipMember) Close() error {
	m.ReadCloser.Close()
	return m.z.Close()
}

// zipMemberName is the name of a zip archive's one XML file, "" when it
// holds none or several, or is no archive.
func zipMemberName(path string) string {
	rc, name, err := openXML(path)
	if err != nil {
		return ""
	}
	rc.Close()
	_, member, _ := strings.Cut(strings.TrimPrefix(name, path), ":")
	return member
}

// xmlError names the file and line of an XML reader's error.
func xmlError(path string, d *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %s: line %d: %s", ErrMalformed, path, se.Line, se.Msg)
	}
	if err == io.ErrUnexpectedEOF {
		line, _ := d.InputPos()
		return fmt.Errorf("%w: %s: line %d: the file ends inside an element", ErrMalformed, path, line)
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformed, path, err)
}

// nextStart reads up to the next start element; false at the end.
func nextStart(d *xml.Decoder, path string) (xml.StartElement, bool, error) {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return xml.StartElement{}, false, nil
		}
		if err != nil {
			return xml.StartElement{}, false, xmlError(path, d, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se, true, nil
		}
	}
}

// addCrypto files the address an entry lists under currency cur.
func (res *OFACResult) addCrypto(e *Entity, cur, raw string) {
	cur, raw = strings.ToUpper(cur), strings.TrimSpace(raw)
	if raw == "" {
		return
	}
	e.Crypto = appendUnique(e.Crypto, raw)
	l, fits := listedAddress(cur, raw, e.Name, e.ID, e.Programs)
	if !fits {
		res.Invalid = append(res.Invalid, cur+" "+raw)
	}
	res.Labels = append(res.Labels, l)
	res.PerCurrency[cur]++
}

// sdnXMLEntry is an sdnEntry of SDN.XML.
type sdnXMLEntry struct {
	UID      string   `xml:"uid"`
	First    string   `xml:"firstName"`
	Last     string   `xml:"lastName"`
	Type     string   `xml:"sdnType"`
	Remarks  string   `xml:"remarks"`
	Programs []string `xml:"programList>program"`
	IDs      []struct {
		Type   string `xml:"idType"`
		Number string `xml:"idNumber"`
	} `xml:"idList>id"`
	AKAs []struct {
		Category string `xml:"category"`
		First    string `xml:"firstName"`
		Last     string `xml:"lastName"`
	} `xml:"akaList>aka"`
	Addresses []struct {
		Lines   []string `xml:"address1"`
		Lines2  []string `xml:"address2"`
		Lines3  []string `xml:"address3"`
		City    string   `xml:"city"`
		State   string   `xml:"stateOrProvince"`
		Postal  string   `xml:"postalCode"`
		Country string   `xml:"country"`
	} `xml:"addressList>address"`
	Births        []string `xml:"dateOfBirthList>dateOfBirthItem>dateOfBirth"`
	Nationalities []string `xml:"nationalityList>nationality>country"`
	Citizenships  []string `xml:"citizenshipList>citizenship>country"`
}

// sdnName writes a name as the CSV form does: "LAST, First" for a person.
func sdnName(first, last string) string {
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" || last == "" {
		return first + last
	}
	return last + ", " + first
}

// ParseOFACXML reads OFAC's SDN.XML (or CONSOLIDATED.XML, the same form):
// each sdnEntry an entity under its uid (the CSV's entity number), and
// each id of type "Digital Currency Address - CUR" a sanctioned-address
// label, as ParseOFACSDN makes them from the CSV's remarks. Weak a.k.a.s
// (category "weak") are weak aliases.
func ParseOFACXML(path string) (*OFACResult, string, error) {
	f, path, err := openXML(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	res := &OFACResult{PerCurrency: map[string]int{}}
	root, dated := false, ""
	for {
		se, ok, err := nextStart(d, path)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			break
		}
		switch se.Name.Local {
		case "sdnList":
			root = true
		case "Publish_Date":
			var s string
			if err := d.DecodeElement(&s, &se); err != nil {
				return nil, "", xmlError(path, d, err)
			}
			dated = listDate(s, "01/02/2006", "1/2/2006", time.DateOnly)
		case "sdnEntry":
			if !root {
				return nil, "", fmt.Errorf("%w: %s: an sdnEntry outside an sdnList", ErrMalformed, path)
			}
			line, _ := d.InputPos()
			var x sdnXMLEntry
			if err := d.DecodeElement(&x, &se); err != nil {
				return nil, "", xmlError(path, d, err)
			}
			e := Entity{ID: strings.TrimSpace(x.UID), Name: sdnName(x.First, x.Last), Type: strings.ToLower(strings.TrimSpace(x.Type)), Remarks: strings.TrimSpace(x.Remarks)}
			if e.ID == "" || e.Name == "" {
				return nil, "", fmt.Errorf("%w: %s: line %d: an sdnEntry without a uid or a last name", ErrMalformed, path, line)
			}
			if e.Type == "" {
				e.Type = "entity"
			}
			e.OFACRef = e.ID
			for _, p := range x.Programs {
				e.Programs = appendUnique(e.Programs, strings.TrimSpace(p))
			}
			for _, a := range x.AKAs {
				n := sdnName(a.First, a.Last)
				if strings.EqualFold(strings.TrimSpace(a.Category), "weak") {
					e.WeakAliases = appendUnique(e.WeakAliases, n)
				} else {
					e.Aliases = appendUnique(e.Aliases, n)
				}
			}
			for _, a := range x.Addresses {
				var parts []string
				for _, p := range slices.Concat(a.Lines, a.Lines2, a.Lines3, []string{a.City, a.State, a.Postal, a.Country}) {
					if p = strings.TrimSpace(p); p != "" {
						parts = append(parts, p)
					}
				}
				if len(parts) > 0 {
					e.Addresses = append(e.Addresses, strings.Join(parts, ", "))
				}
				e.Countries = appendUnique(e.Countries, strings.TrimSpace(a.Country))
			}
			for _, b := range x.Births {
				for _, m := range ofacYear.FindAllString(b, -1) {
					e.BirthYears = appendYear(e.BirthYears, m)
				}
			}
			for _, c := range slices.Concat(x.Nationalities, x.Citizenships) {
				e.Countries = appendUnique(e.Countries, strings.TrimSpace(c))
			}
			var crypto [][2]string
			for _, id := range x.IDs {
				typ, num := strings.TrimSpace(id.Type), strings.TrimSpace(id.Number)
				if m := currencyType.FindStringSubmatch(typ); m != nil {
					crypto = append(crypto, [2]string{m[1], num})
					continue
				}
				if m := ofacID.FindStringSubmatch(typ + " " + num); m != nil {
					e.IDs = appendUnique(e.IDs, m[1])
				}
			}
			if m := unRef.FindStringSubmatch(e.Remarks); m != nil {
				e.UNRef = m[1]
			}
			for _, c := range crypto {
				res.addCrypto(&e, c[0], c[1])
			}
			res.Entities = append(res.Entities, e)
		}
	}
	if !root {
		return nil, "", fmt.Errorf("%w: %s: not OFAC's SDN.XML (no sdnList element)", ErrMalformed, path)
	}
	return res, dated, nil
}

// advRef is one value of a reference value set of SDN_ADVANCED.XML.
type advRef struct {
	ID          string `xml:"ID,attr"`
	PartyTypeID string `xml:"PartyTypeID,attr"`
	Text        string `xml:",chardata"`
}

// advRefs are the reference value sets the advanced form's parties point
// into by number; the numbers are the file's, not fixed.
type advRefs struct {
	AliasType     []advRef `xml:"AliasTypeValues>AliasType"`
	Country       []advRef `xml:"CountryValues>Country"`
	FeatureType   []advRef `xml:"FeatureTypeValues>FeatureType"`
	IDRegDocType  []advRef `xml:"IDRegDocTypeValues>IDRegDocType"`
	NamePartType  []advRef `xml:"NamePartTypeValues>NamePartType"`
	PartySubType  []advRef `xml:"PartySubTypeValues>PartySubType"`
	PartyType     []advRef `xml:"PartyTypeValues>PartyType"`
	SanctionsType []advRef `xml:"SanctionsTypeValues>SanctionsType"`
}

type advParty struct {
	line     int
	FixedRef string `xml:"FixedRef,attr"`
	Comment  string `xml:"Comment"`
	Profiles []struct {
		ID         string `xml:"ID,attr"`
		SubTypeID  string `xml:"PartySubTypeID,attr"`
		Identities []struct {
			ID      string `xml:"ID,attr"`
			Aliases []struct {
				Primary    bool   `xml:"Primary,attr"`
				LowQuality bool   `xml:"LowQuality,attr"`
				TypeID     string `xml:"AliasTypeID,attr"`
				Names      []struct {
					Parts []struct {
						GroupID string `xml:"NamePartGroupID,attr"`
						Value   string `xml:",chardata"`
					} `xml:"DocumentedNamePart>NamePartValue"`
				} `xml:"DocumentedName"`
			} `xml:"Alias"`
			Groups []struct {
				ID     string `xml:"ID,attr"`
				TypeID string `xml:"NamePartTypeID,attr"`
			} `xml:"NamePartGroups>MasterNamePartGroup>NamePartGroup"`
		} `xml:"Identity"`
		Features []struct {
			TypeID   string `xml:"FeatureTypeID,attr"`
			Versions []struct {
				Details   []string `xml:"VersionDetail"`
				Years     []string `xml:"DatePeriod>Start>From>Year"`
				EndYears  []string `xml:"DatePeriod>End>To>Year"`
				Locations []struct {
					ID string `xml:"LocationID,attr"`
				} `xml:"VersionLocation"`
			} `xml:"FeatureVersion"`
		} `xml:"Feature"`
	} `xml:"Profile"`
}

type advDate struct{ Year, Month, Day int }

type advLocation struct {
	ID        string `xml:"ID,attr"`
	Countries []struct {
		ID string `xml:"CountryID,attr"`
	} `xml:"LocationCountry"`
	Parts []string `xml:"LocationPart>LocationPartValue>Value"`
}

type advDocument struct {
	IdentityID string `xml:"IdentityID,attr"`
	TypeID     string `xml:"IDRegDocTypeID,attr"`
	Number     string `xml:"IDRegistrationNo"`
}

type advEntry struct {
	ProfileID string `xml:"ProfileID,attr"`
	Measures  []struct {
		TypeID  string `xml:"SanctionsTypeID,attr"`
		Comment string `xml:"Comment"`
	} `xml:"SanctionsMeasure"`
}

// ParseOFACAdvancedXML reads OFAC's SDN_ADVANCED.XML (or CONS_ADVANCED.XML):
// each DistinctParty an entity under its FixedRef (the CSV's entity
// number), named by its primary alias, with the programmes its sanctions
// entries give; each feature of type "Digital Currency Address - CUR" a
// sanctioned-address label, as ParseOFACSDN makes them from the CSV.
func ParseOFACAdvancedXML(path string) (*OFACResult, string, error) {
	f, path, err := openXML(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	var (
		root      bool
		dated     string
		refs      advRefs
		parties   []advParty
		locations = map[string]advLocation{}
		documents = map[string][]advDocument{} // by identity
		entries   = map[string][]advEntry{}    // by profile
	)
	for {
		se, ok, err := nextStart(d, path)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			break
		}
		if se.Name.Local == "Sanctions" {
			root = true
			continue
		}
		if !root {
			continue
		}
		line, _ := d.InputPos()
		var v any
		switch se.Name.Local {
		case "DateOfIssue":
			v = new(advDate)
		case "ReferenceValueSets":
			v = &refs
		case "Location":
			v = new(advLocation)
		case "IDRegDocument":
			v = new(advDocument)
		case "DistinctParty":
			parties = append(parties, advParty{line: line})
			v = &parties[len(parties)-1]
		case "SanctionsEntry":
			v = new(advEntry)
		default:
			continue
		}
		if err := d.DecodeElement(v, &se); err != nil {
			return nil, "", xmlError(path, d, err)
		}
		switch x := v.(type) {
		case *advDate:
			dated = listDate(fmt.Sprintf("%04d-%02d-%02d", x.Year, x.Month, x.Day), time.DateOnly)
		case *advLocation:
			locations[x.ID] = *x
		case *advDocument:
			documents[x.IdentityID] = append(documents[x.IdentityID], *x)
		case *advEntry:
			entries[x.ProfileID] = append(entries[x.ProfileID], *x)
		}
	}
	if !root {
		return nil, "", fmt.Errorf("%w: %s: not OFAC's SDN_ADVANCED.XML (no Sanctions element)", ErrMalformed, path)
	}
	res := &OFACResult{PerCurrency: map[string]int{}}
	for i := range parties {
		e, crypto, err := refs.entity(&parties[i], locations, documents, entries)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %s: line %d: %v", ErrMalformed, path, parties[i].line, err)
		}
		for _, c := range crypto {
			res.addCrypto(&e, c[0], c[1])
		}
		res.Entities = append(res.Entities, e)
	}
	return res, dated, nil
}

// lookup finds the value numbered id in a reference value set.
func lookup(set []advRef, id, what string) (advRef, error) {
	for _, r := range set {
		if r.ID == id {
			return r, nil
		}
	}
	return advRef{}, fmt.Errorf("%s %q is not among the file's reference values", what, id)
}

// entity makes the entity of a party, and the (currency, address) pairs
// its features list.
func (refs *advRefs) entity(p *advParty, locations map[string]advLocation, documents map[string][]advDocument, entries map[string][]advEntry) (Entity, [][2]string, error) {
	e := Entity{ID: strings.TrimSpace(p.FixedRef), Remarks: strings.TrimSpace(p.Comment)}
	if e.ID == "" || len(p.Profiles) == 0 {
		return e, nil, fmt.Errorf("a DistinctParty without a FixedRef or a Profile")
	}
	e.OFACRef = e.ID
	if m := unRef.FindStringSubmatch(e.Remarks); m != nil {
		e.UNRef = m[1]
	}
	var crypto [][2]string
	for _, prof := range p.Profiles {
		sub, err := lookup(refs.PartySubType, prof.SubTypeID, "party subtype")
		if err != nil {
			return e, nil, fmt.Errorf("party %s: %v", e.ID, err)
		}
		typ := sub.Text
		if typ == "Unknown" {
			t, err := lookup(refs.PartyType, sub.PartyTypeID, "party type")
			if err != nil {
				return e, nil, fmt.Errorf("party %s: %v", e.ID, err)
			}
			typ = t.Text
		}
		if e.Type == "" {
			e.Type = strings.ToLower(strings.TrimSpace(typ))
		}
		for _, id := range prof.Identities {
			groups := map[string]string{}
			for _, g := range id.Groups {
				t, err := lookup(refs.NamePartType, g.TypeID, "name part type")
				if err != nil {
					return e, nil, fmt.Errorf("party %s: %v", e.ID, err)
				}
				groups[g.ID] = t.Text
			}
			for _, a := range id.Aliases {
				for i, dn := range a.Names {
					var last string
					var rest []string
					for _, part := range dn.Parts {
						typ, ok := groups[part.GroupID]
						if !ok {
							return e, nil, fmt.Errorf("party %s: name part group %q is not its identity's", e.ID, part.GroupID)
						}
						if v := strings.TrimSpace(part.Value); v != "" && typ == "Last Name" {
							last = strings.TrimSpace(last + " " + v)
						} else if v != "" {
							rest = append(rest, v)
						}
					}
					name := sdnName(strings.Join(rest, " "), last)
					switch {
					case name == "":
					case a.Primary && i == 0 && e.Name == "":
						e.Name = name
					case a.LowQuality:
						e.WeakAliases = appendUnique(e.WeakAliases, name)
					default:
						e.Aliases = appendUnique(e.Aliases, name)
					}
				}
			}
			for _, doc := range documents[id.ID] {
				t, err := lookup(refs.IDRegDocType, doc.TypeID, "document type")
				if err != nil {
					return e, nil, fmt.Errorf("party %s: %v", e.ID, err)
				}
				if m := ofacID.FindStringSubmatch(t.Text + " " + strings.TrimSpace(doc.Number)); m != nil {
					e.IDs = appendUnique(e.IDs, m[1])
				}
			}
		}
		for _, ft := range prof.Features {
			t, err := lookup(refs.FeatureType, ft.TypeID, "feature type")
			if err != nil {
				return e, nil, fmt.Errorf("party %s: %v", e.ID, err)
			}
			m := currencyType.FindStringSubmatch(strings.TrimSpace(t.Text))
			for _, v := range ft.Versions {
				for _, detail := range v.Details {
					if m != nil {
						crypto = append(crypto, [2]string{m[1], detail})
					}
				}
				for _, y := range slices.Concat(v.Years, v.EndYears) {
					if t.Text == "Birthdate" {
						e.BirthYears = appendYear(e.BirthYears, y)
					}
				}
				for _, vl := range v.Locations {
					loc, ok := locations[vl.ID]
					if !ok {
						return e, nil, fmt.Errorf("party %s: location %q is not among the file's Locations", e.ID, vl.ID)
					}
					var country string
					for _, c := range loc.Countries {
						r, err := lookup(refs.Country, c.ID, "country")
						if err != nil {
							return e, nil, fmt.Errorf("party %s: %v", e.ID, err)
						}
						country = strings.TrimSpace(r.Text)
						e.Countries = appendUnique(e.Countries, country)
					}
					if t.Text == "Location" {
						var parts []string
						for _, p := range append(slices.Clone(loc.Parts), country) {
							if p = strings.TrimSpace(p); p != "" {
								parts = append(parts, p)
							}
						}
						if len(parts) > 0 {
							e.Addresses = append(e.Addresses, strings.Join(parts, ", "))
						}
					}
				}
			}
		}
		for _, se := range entries[prof.ID] {
			for _, m := range se.Measures {
				t, err := lookup(refs.SanctionsType, m.TypeID, "sanctions type")
				if err != nil {
					return e, nil, fmt.Errorf("party %s: %v", e.ID, err)
				}
				if t.Text == "Program" {
					e.Programs = appendUnique(e.Programs, strings.TrimSpace(m.Comment))
				}
			}
		}
	}
	if e.Name == "" {
		return e, nil, fmt.Errorf("party %s has no primary name", e.ID)
	}
	return e, crypto, nil
}
