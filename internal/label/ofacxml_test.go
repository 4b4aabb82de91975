package label

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// No OFAC XML file is kept here; the tests write the December 2025 SDN
// list's CSV set (real) in both XML forms, as OFAC lays them out, and
// read it back: every label and entry must come out as the CSV's own
// reader makes them.

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// splitName undoes "LAST, First", as SDN.XML keeps a person's names apart.
func splitName(e Entity, name string) (first, last string) {
	if e.Type == "individual" {
		if l, f, ok := strings.Cut(name, ", "); ok {
			return f, l
		}
	}
	return "", name
}

// listedCrypto is what an entry's remarks list, currency and address, as
// the CSV reader reads them.
func listedCrypto(e Entity) [][2]string {
	var out [][2]string
	for _, m := range currencyAddress.FindAllStringSubmatch(e.Remarks, -1) {
		if raw := strings.TrimRight(m[2], ".,"); raw != "" {
			out = append(out, [2]string{m[1], raw})
		}
	}
	return out
}

// writeSDNXML writes entries as SDN.XML.
func writeSDNXML(t testing.TB, path string, ents []Entity, ns string) {
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" standalone=\"yes\"?>\n<sdnList xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=%q>\n", ns)
	fmt.Fprintf(&b, "  <publshInformation>\n    <Publish_Date>12/24/2025</Publish_Date>\n    <Record_Count>%d</Record_Count>\n  </publshInformation>\n", len(ents))
	uid := 100000
	for _, e := range ents {
		first, last := splitName(e, e.Name)
		fmt.Fprintf(&b, "  <sdnEntry>\n    <uid>%s</uid>\n", e.ID)
		if first != "" {
			fmt.Fprintf(&b, "    <firstName>%s</firstName>\n", esc(first))
		}
		fmt.Fprintf(&b, "    <lastName>%s</lastName>\n    <sdnType>%s</sdnType>\n", esc(last), strings.ToUpper(e.Type[:1])+e.Type[1:])
		if e.Remarks != "" {
			fmt.Fprintf(&b, "    <remarks>%s</remarks>\n", esc(e.Remarks))
		}
		b.WriteString("    <programList>\n")
		for _, p := range e.Programs {
			fmt.Fprintf(&b, "      <program>%s</program>\n", esc(p))
		}
		b.WriteString("    </programList>\n")
		if c := listedCrypto(e); len(c) > 0 {
			b.WriteString("    <idList>\n")
			for _, x := range c {
				uid++
				fmt.Fprintf(&b, "      <id>\n        <uid>%d</uid>\n        <idType>Digital Currency Address - %s</idType>\n        <idNumber>%s</idNumber>\n      </id>\n", uid, x[0], esc(x[1]))
			}
			b.WriteString("    </idList>\n")
		}
		if len(e.Aliases)+len(e.WeakAliases) > 0 {
			b.WriteString("    <akaList>\n")
			for i, a := range slices.Concat(e.Aliases, e.WeakAliases) {
				uid++
				cat := "strong"
				if i >= len(e.Aliases) {
					cat = "weak"
				}
				first, last := splitName(e, a)
				fmt.Fprintf(&b, "      <aka>\n        <uid>%d</uid>\n        <type>a.k.a.</type>\n        <category>%s</category>\n", uid, cat)
				if first != "" {
					fmt.Fprintf(&b, "        <firstName>%s</firstName>\n", esc(first))
				}
				fmt.Fprintf(&b, "        <lastName>%s</lastName>\n      </aka>\n", esc(last))
			}
			b.WriteString("    </akaList>\n")
		}
		b.WriteString("  </sdnEntry>\n")
	}
	b.WriteString("</sdnList>\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeAdvancedXML writes entries as SDN_ADVANCED.XML, its reference
// values numbered as the file pleases (here from 9000 up, in an order of
// their own), as a reader must look every number up.
func writeAdvancedXML(t testing.TB, path string, ents []Entity, ns string) {
	next := 9000
	ids := map[string]int{}
	id := func(set, v string) int {
		k := set + "\x00" + v
		if _, ok := ids[k]; !ok {
			next += 7
			ids[k] = next
		}
		return ids[k]
	}
	var parties, entries strings.Builder
	fixed := 500000
	for _, e := range ents {
		fixed++
		identity, profile := fixed*10+1, fixed*10+2
		partyType := strings.ToUpper(e.Type[:1]) + e.Type[1:]
		sub := id("PartySubType", "Unknown "+partyType)
		if e.Type == "vessel" || e.Type == "aircraft" {
			sub = id("PartySubType", partyType)
		}
		fmt.Fprintf(&parties, "    <DistinctParty FixedRef=%q>\n      <Comment>%s</Comment>\n      <Profile ID=\"%d\" PartySubTypeID=\"%d\">\n", e.ID, esc(e.Remarks), profile, sub)
		fmt.Fprintf(&parties, "        <Identity ID=\"%d\" FixedRef=%q Primary=\"true\" False=\"false\">\n", identity, e.ID)
		groups := map[string]int{}
		group := func(typ string) int {
			if _, ok := groups[typ]; !ok {
				groups[typ] = identity*10 + len(groups)
			}
			return groups[typ]
		}
		alias := func(name string, primary, weak bool) {
			typ := "A.K.A."
			if primary {
				typ = "Name"
			}
			fmt.Fprintf(&parties, "          <Alias FixedRef=%q AliasTypeID=\"%d\" Primary=\"%t\" LowQuality=\"%t\">\n            <DocumentedName ID=\"%d\" FixedRef=%q DocNameStatusID=\"1\">\n", e.ID, id("AliasType", typ), primary, weak, next, e.ID)
			first, last := splitName(e, name)
			parts := [][2]string{{"Entity Name", last}}
			switch e.Type {
			case "individual":
				parts = [][2]string{{"Last Name", last}}
				if first != "" {
					parts = append(parts, [2]string{"First Name", first})
				}
			case "vessel", "aircraft":
				parts = [][2]string{{strings.ToUpper(e.Type[:1]) + e.Type[1:] + " Name", last}}
			}
			for _, p := range parts {
				fmt.Fprintf(&parties, "              <DocumentedNamePart>\n                <NamePartValue NamePartGroupID=\"%d\" ScriptID=\"215\" ScriptStatusID=\"1\" Acronym=\"false\">%s</NamePartValue>\n              </DocumentedNamePart>\n", group(p[0]), esc(p[1]))
			}
			parties.WriteString("            </DocumentedName>\n          </Alias>\n")
		}
		alias(e.Name, true, false)
		for _, a := range e.Aliases {
			alias(a, false, false)
		}
		for _, a := range e.WeakAliases {
			alias(a, false, true)
		}
		parties.WriteString("          <NamePartGroups>\n")
		for typ, g := range groups {
			fmt.Fprintf(&parties, "            <MasterNamePartGroup>\n              <NamePartGroup ID=\"%d\" NamePartTypeID=\"%d\" />\n            </MasterNamePartGroup>\n", g, id("NamePartType", typ))
		}
		parties.WriteString("          </NamePartGroups>\n        </Identity>\n")
		// Dates of birth (the first year of each, as the CSV's reader
		// takes them) and of establishment, features with a date period.
		dates := map[string][]string{}
		for _, m := range ofacDOB.FindAllStringSubmatch(e.Remarks, -1) {
			dates["Birthdate"] = append(dates["Birthdate"], m[1])
		}
		for _, m := range regexp.MustCompile(`Organization Established Date [^;]*?\b(1[89]\d\d|20\d\d)\b`).FindAllStringSubmatch(e.Remarks, -1) {
			dates["Organization Established Date"] = append(dates["Organization Established Date"], m[1])
		}
		for typ, years := range dates {
			for _, y := range years {
				fmt.Fprintf(&parties, "        <Feature ID=\"%d\" FeatureTypeID=\"%d\">\n          <FeatureVersion ID=\"%d\" ReliabilityID=\"1\">\n            <DatePeriod CalendarTypeID=\"1\">\n              <Start><From><Year>%s</Year></From><To><Year>%s</Year></To></Start>\n              <End><From><Year>%s</Year></From><To><Year>%s</Year></To></End>\n            </DatePeriod>\n          </FeatureVersion>\n        </Feature>\n",
					next, id("FeatureType", typ), next, y, y, y, y)
			}
		}
		for i, c := range listedCrypto(e) {
			fmt.Fprintf(&parties, "        <Feature ID=\"%d\" FeatureTypeID=\"%d\">\n          <FeatureVersion ID=\"%d\" ReliabilityID=\"1\">\n            <Comment />\n            <VersionDetail DetailTypeID=\"1432\">%s</VersionDetail>\n          </FeatureVersion>\n          <IdentityReference IdentityID=\"%d\" IdentityFeatureLinkTypeID=\"1\" />\n        </Feature>\n",
				profile*100+i, id("FeatureType", "Digital Currency Address - "+c[0]), profile*100+i, esc(c[1]), identity)
		}
		parties.WriteString("      </Profile>\n    </DistinctParty>\n")
		fmt.Fprintf(&entries, "    <SanctionsEntry ID=\"%d\" ProfileID=\"%d\" ListID=\"%d\">\n      <SanctionsMeasure ID=\"%d\" SanctionsTypeID=\"%d\">\n        <Comment>Block</Comment>\n      </SanctionsMeasure>\n", fixed, profile, id("List", "SDN List"), fixed*3, id("SanctionsType", "Block"))
		for i, p := range e.Programs {
			fmt.Fprintf(&entries, "      <SanctionsMeasure ID=\"%d\" SanctionsTypeID=\"%d\">\n        <Comment>%s</Comment>\n      </SanctionsMeasure>\n", fixed*3+1+i, id("SanctionsType", "Program"), esc(p))
		}
		entries.WriteString("    </SanctionsEntry>\n")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Sanctions xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=%q>\n", ns)
	b.WriteString("  <DateOfIssue>\n    <Year>2025</Year>\n    <Month>12</Month>\n    <Day>24</Day>\n  </DateOfIssue>\n  <ReferenceValueSets>\n")
	sets := map[string][]string{}
	for k := range ids {
		set, _, _ := strings.Cut(k, "\x00")
		sets[set] = append(sets[set], k)
	}
	for _, set := range slices.Sorted(maps.Keys(sets)) {
		fmt.Fprintf(&b, "    <%sValues>\n", set)
		for _, k := range sets[set] {
			_, v, _ := strings.Cut(k, "\x00")
			switch {
			case set == "PartySubType" && strings.HasPrefix(v, "Unknown "):
				fmt.Fprintf(&b, "      <PartySubType ID=\"%d\" PartyTypeID=\"%d\">Unknown</PartySubType>\n", ids[k], id("PartyType", strings.TrimPrefix(v, "Unknown ")))
			case set == "PartySubType":
				fmt.Fprintf(&b, "      <PartySubType ID=\"%d\" PartyTypeID=\"%d\">%s</PartySubType>\n", ids[k], id("PartyType", v), v)
			default:
				fmt.Fprintf(&b, "      <%s ID=\"%d\">%s</%s>\n", set, ids[k], esc(v), set)
			}
		}
		fmt.Fprintf(&b, "    </%sValues>\n", set)
	}
	// PartyType values a subtype named after the loop above began.
	b.WriteString("    <PartyTypeValues>\n")
	for k, v := range ids {
		if set, name, _ := strings.Cut(k, "\x00"); set == "PartyType" {
			fmt.Fprintf(&b, "      <PartyType ID=\"%d\">%s</PartyType>\n", v, name)
		}
	}
	b.WriteString("    </PartyTypeValues>\n  </ReferenceValueSets>\n  <Locations />\n  <IDRegDocuments />\n  <DistinctParties>\n")
	b.WriteString(parties.String())
	b.WriteString("  </DistinctParties>\n  <ProfileRelationships />\n  <SanctionsEntries>\n")
	b.WriteString(entries.String())
	b.WriteString("  </SanctionsEntries>\n</Sanctions>\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sameEntity compares what the XML forms carry of an entry; birth says
// whether the form was written with the dates of birth.
func sameEntity(a, b Entity, birth bool) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Type == b.Type && a.OFACRef == b.OFACRef &&
		slices.Equal(a.Programs, b.Programs) && slices.Equal(a.Aliases, b.Aliases) &&
		slices.Equal(a.WeakAliases, b.WeakAliases) && slices.Equal(a.Crypto, b.Crypto) && (!birth || slices.Equal(a.BirthYears, b.BirthYears))
}

// TestOFACXMLAgreesWithCSV reads the SDN list in both XML forms, under the
// namespaces OFAC has published them with, against the CSV's reading.
func TestOFACXMLAgreesWithCSV(t *testing.T) {
	want, err := ParseOFACSDN(ofacDir(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The older namespaces on the list's first 300 entries.
	forms := []struct {
		name, ns string
		n        int
		write    func(testing.TB, string, []Entity, string)
		parse    func(string) (*OFACResult, string, error)
	}{
		{"SDN.XML", "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML", len(want.Entities), writeSDNXML, ParseOFACXML},
		{"sdn.xml", "http://tempuri.org/sdnList.xsd", 300, writeSDNXML, ParseOFACXML},
		{"SDN_ADVANCED.XML", "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML", len(want.Entities), writeAdvancedXML, ParseOFACAdvancedXML},
		{"sdn_advanced.xml", "http://www.un.org/sanctions/1.0", 300, writeAdvancedXML, ParseOFACAdvancedXML},
	}
	for _, form := range forms {
		path := filepath.Join(dir, form.name)
		ents := want.Entities[:form.n]
		form.write(t, path, ents, form.ns)
		got, dated, err := form.parse(path)
		if err != nil {
			t.Fatalf("%s: %v", form.name, err)
		}
		if dated != "2025-12-24" {
			t.Errorf("%s: dated %q", form.name, dated)
		}
		if len(got.Entities) != len(ents) {
			t.Fatalf("%s: %d entries, want %d", form.name, len(got.Entities), len(ents))
		}
		bad := 0
		for i := range ents {
			if !sameEntity(got.Entities[i], ents[i], strings.Contains(strings.ToLower(form.name), "advanced")) && bad < 5 {
				bad++
				t.Errorf("%s: entry\n %+v\nwant\n %+v", form.name, got.Entities[i], ents[i])
			}
		}
		format := "ofac-xml"
		if strings.Contains(strings.ToLower(form.name), "advanced") {
			format = "ofac-advanced-xml"
		}
		f, err := Read(path, ReadOptions{})
		if err != nil || f.Format != format || f.Source != "ofac-sdn" || f.Dated != "2025-12-24" || len(f.Labels) != len(got.Labels) {
			t.Errorf("%s: read as %+v, %v", form.name, f, err)
		}
		if form.n < len(want.Entities) {
			continue
		}
		if !reflect.DeepEqual(got.Labels, want.Labels) {
			t.Errorf("%s: %d labels differ from the CSV's %d", form.name, len(got.Labels), len(want.Labels))
		}
		if !reflect.DeepEqual(got.PerCurrency, wantPerCurrency) || !slices.Equal(got.Invalid, want.Invalid) {
			t.Errorf("%s: per currency %v, invalid %v; want %v, %v", form.name, got.PerCurrency, got.Invalid, wantPerCurrency, want.Invalid)
		}
	}
	// The consolidated list's files go to its own source.
	path := filepath.Join(dir, "CONS_ADVANCED.XML")
	writeAdvancedXML(t, path, want.Entities[:3], forms[2].ns)
	if f, err := Read(path, ReadOptions{}); err != nil || f.Source != "ofac-non-sdn" {
		t.Errorf("CONS_ADVANCED.XML: %v, %v", f, err)
	}
}

// sample reads one of the two entries of the December 2025 list (24918
// and 27307) as OFAC's XML forms give what the CSV keeps in remarks: birth
// dates, nationality, passport, address, a weak alias, a digital currency
// address (testdata/sanctions/ofac_xml).
func sample(t *testing.T, name string) string {
	b, err := os.ReadFile(filepath.Join("../../testdata/sanctions/ofac_xml", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOFACXMLDetails reads what each XML form gives of an entry beyond
// its names: the same two entries from either form.
func TestOFACXMLDetails(t *testing.T) {
	want := []Entity{
		{ID: "24918", Name: "PARK, Jin Hyok", Type: "individual", Programs: []string{"DPRK3"}, Aliases: []string{"PAK, Jin Hek"},
			BirthYears: []int{1984}, Countries: []string{"Korea, North"}, IDs: []string{"290333974"}, OFACRef: "24918"},
		{ID: "27307", Name: "LAZARUS GROUP", Type: "entity", Programs: []string{"DPRK3"}, WeakAliases: []string{"HIDDEN COBRA"},
			Addresses: []string{"Potonggang District, Pyongyang, Korea, North"}, Countries: []string{"Korea, North"}, OFACRef: "27307",
			Crypto: []string{"0x098B716B8Aaf21512996dC57EB0615e2383E2f96"}},
	}
	for _, name := range []string{"SDN.XML", "SDN_ADVANCED.XML"} {
		path := filepath.Join("../../testdata/sanctions/ofac_xml", name)
		f, err := Read(path, ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := f.Entities
		if name == "SDN.XML" {
			// SDN.XML lists every alias; the sample gives two.
			want[0].Aliases = []string{"PAK, Jin Hek", "KIM, Hyon Woo"}
		} else {
			want[0].Aliases = []string{"PAK, Jin Hek"}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
		if f.Dated != "2025-12-24" || len(f.Labels) != 1 || f.Counts["ETH"] != 1 {
			t.Fatalf("%s: dated %q, labels %+v, counts %v", name, f.Dated, f.Labels, f.Counts)
		}
		if l := f.Labels[0]; l.Chain != ChainETH || l.Category != Sanctioned || l.Label != "LAZARUS GROUP" || l.Ref != "27307" || !slices.Equal(l.Programs, []string{"DPRK3"}) || l.Currency != "ETH" {
			t.Errorf("%s: label %+v", name, l)
		}
	}
}

// TestOFACXMLRefused: a cut file, a number the file does not declare, a
// party without its number and a file of another list are refused with
// the file and line.
func TestOFACXMLRefused(t *testing.T) {
	dir := t.TempDir()
	sdnXMLSample, advancedXMLSample := sample(t, "SDN.XML"), sample(t, "SDN_ADVANCED.XML")
	cases := []struct {
		name, text, want string
		parse            func(string) (*OFACResult, string, error)
	}{
		{"cut.xml", advancedXMLSample[:len(advancedXMLSample)/2], "cut.xml: line ", ParseOFACAdvancedXML},
		{"cut-sdn.xml", sdnXMLSample[:len(sdnXMLSample)*2/3], "cut-sdn.xml: line ", ParseOFACXML},
		{"feature.xml", strings.Replace(advancedXMLSample, `FeatureTypeID="345"`, `FeatureTypeID="346"`, 1), `feature.xml: line 68: party 27307: feature type "346" is not among the file's reference values`, ParseOFACAdvancedXML},
		{"location.xml", strings.Replace(advancedXMLSample, `<VersionLocation LocationID="701" />`, `<VersionLocation LocationID="702" />`, 1), `party 27307: location "702" is not among the file's Locations`, ParseOFACAdvancedXML},
		{"noname.xml", strings.Replace(advancedXMLSample, `AliasTypeID="1403" Primary="true" LowQuality="false">
            <DocumentedName ID="3"`, `AliasTypeID="1403" Primary="false" LowQuality="false">
            <DocumentedName ID="3"`, 1), "party 27307 has no primary name", ParseOFACAdvancedXML},
		{"nouid.xml", strings.Replace(sdnXMLSample, "<uid>27307</uid>", "", 1), "nouid.xml: line 21: an sdnEntry without a uid", ParseOFACXML},
		{"un.xml", `<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:00"><INDIVIDUALS/></CONSOLIDATED_LIST>`, "not OFAC's SDN.XML (no sdnList element)", ParseOFACXML},
		{"un2.xml", `<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:00"><INDIVIDUALS/></CONSOLIDATED_LIST>`, "not OFAC's SDN_ADVANCED.XML (no Sanctions element)", ParseOFACAdvancedXML},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := c.parse(path)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// BenchmarkParseOFAC reads the December 2025 SDN list in each form: the
// CSV set (the baseline) and the two XML forms written from it.
// go test -run XXX -bench ParseOFAC -benchtime 5x ./internal/label/
func BenchmarkParseOFAC(b *testing.B) {
	dir := ofacDir(b)
	want, err := ParseOFACSDN(dir)
	if err != nil {
		b.Fatal(err)
	}
	size := func(paths ...string) (n int64) {
		for _, p := range paths {
			st, err := os.Stat(p)
			if err != nil {
				b.Fatal(err)
			}
			n += st.Size()
		}
		return n
	}
	xmlPath, advPath := filepath.Join(dir, "SDN.XML"), filepath.Join(dir, "SDN_ADVANCED.XML")
	writeSDNXML(b, xmlPath, want.Entities, "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML")
	writeAdvancedXML(b, advPath, want.Entities, "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML")
	forms := []struct {
		name  string
		bytes int64
		parse func() (*OFACResult, error)
	}{
		{"csv", size(filepath.Join(dir, "sdn.csv"), filepath.Join(dir, "sdn_comments.csv"), filepath.Join(dir, "alt.csv"), filepath.Join(dir, "add.csv")), func() (*OFACResult, error) { return ParseOFACSDN(dir) }},
		{"xml", size(xmlPath), func() (*OFACResult, error) { r, _, err := ParseOFACXML(xmlPath); return r, err }},
		{"advanced-xml", size(advPath), func() (*OFACResult, error) { r, _, err := ParseOFACAdvancedXML(advPath); return r, err }},
	}
	for _, form := range forms {
		b.Run(form.name, func(b *testing.B) {
			b.SetBytes(form.bytes)
			for b.Loop() {
				res, err := form.parse()
				if err != nil || len(res.Labels) != len(want.Labels) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(want.Entities)), "ns/entry")
		})
	}
}

// writeZip writes an archive of the files given (name, content).
func writeZip(t *testing.T, path string, files ...string) {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for i := 0; i+1 < len(files); i += 2 {
		w, err := z.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[i+1]))
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOFACXMLZipped reads the XML forms as OFAC also publishes them,
// zipped (SDN_XML.ZIP, SDN_ADVANCED.ZIP): the same entries, the format
// told from the member; an archive of none or two XML files, or no
// archive, is refused naming it, and a cut member names its line.
func TestOFACXMLZipped(t *testing.T) {
	dir := t.TempDir()
	for zipName, member := range map[string]string{"SDN_XML.ZIP": "SDN.XML", "SDN_ADVANCED.ZIP": "SDN_ADVANCED.XML", "CONS_ADVANCED.ZIP": "CONS_ADVANCED.XML"} {
		sampleName := member
		if member == "CONS_ADVANCED.XML" {
			sampleName = "SDN_ADVANCED.XML"
		}
		text := sample(t, sampleName)
		path := filepath.Join(dir, zipName)
		writeZip(t, path, "readme.txt", "OFAC", member, text)
		plain, err := Read(filepath.Join("../../testdata/sanctions/ofac_xml", sampleName), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := Read(path, ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", zipName, err)
		}
		source := map[bool]string{true: "ofac-non-sdn", false: "ofac-sdn"}[strings.HasPrefix(zipName, "CONS")]
		if f.Format != plain.Format || f.Source != source || f.Dated != plain.Dated || !reflect.DeepEqual(f.Entities, plain.Entities) || !reflect.DeepEqual(f.Labels, plain.Labels) {
			t.Errorf("%s: read as %s %s %s, %d entries; the plain file %s %s, %d", zipName, f.Format, f.Source, f.Dated, len(f.Entities), plain.Format, plain.Dated, len(plain.Entities))
		}
	}
	text := sample(t, "SDN.XML")
	cases := map[string]func(string){
		"two.zip":  func(p string) { writeZip(t, p, "a.xml", text, "b.xml", text) },
		"none.zip": func(p string) { writeZip(t, p, "a.txt", "x") },
		"not.zip":  func(p string) { os.WriteFile(p, []byte(text), 0o644) },
		"cut.zip":  func(p string) { writeZip(t, p, "SDN.XML", text[:len(text)/2]) },
	}
	want := map[string]string{"two.zip": "holds more than one XML file", "none.zip": "holds no XML file", "not.zip": "not a zip archive", "cut.zip": "cut.zip:SDN.XML: line "}
	for name, make := range cases {
		path := filepath.Join(dir, name)
		make(path)
		_, err := Read(path, ReadOptions{Format: "ofac-xml"})
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want[name]) {
			t.Errorf("%s: %v, want %q", name, err, want[name])
		}
	}
	if f := DetectFormat(filepath.Join(dir, "none.zip")); f != "" {
		t.Errorf("a zip of no list told as %q", f)
	}
}
