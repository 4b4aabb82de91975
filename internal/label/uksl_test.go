package label

import (
	"archive/zip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const ukslExcerpt = "../../testdata/sanctions/uk_sanctions_list/UK_Sanctions_List-excerpt.ods"

// ukslContent returns the excerpt's content.xml.
func ukslContent(t *testing.T) string {
	t.Helper()
	z, err := zip.OpenReader(ukslExcerpt)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, f := range z.File {
		if f.Name == "content.xml" {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatal("no content.xml")
	return ""
}

// writeODS writes a spreadsheet archive of the given mimetype and content.xml.
func writeODS(t *testing.T, mime, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "list.ods")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	for name, body := range map[string]string{"mimetype": mime, "content.xml": content} {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// odsRow is a spreadsheet row of the values, a cell each.
func odsRow(values ...string) string {
	r := "<table:table-row>"
	for _, v := range values {
		r += "<table:table-cell><text:p>" + v + "</text:p></table:table-cell>"
	}
	return r + "</table:table-row>"
}

// TestUKSanctionsList reads the excerpt of the FCDO's real spreadsheet: its
// designations, checked against a reading of the same XML by regular
// expression, and the parties and addresses it lists, as the list gives
// them.
func TestUKSanctionsList(t *testing.T) {
	res, err := ParseUKSanctionsList(ukslExcerpt)
	if err != nil {
		t.Fatal(err)
	}
	// Every row's Unique ID, the second cell, read another way: each
	// designation is one entity, in the list's order.
	rows := regexp.MustCompile(`<table:table-row[^>]*>(.*?)</table:table-row>`).FindAllStringSubmatch(ukslContent(t), -1)
	cell := regexp.MustCompile(`<table:table-cell[^>]*?(?:/>|>(.*?)</table:table-cell>)`)
	var ids []string
	for _, r := range rows[3:] { // the report line, an empty row, the header
		c := cell.FindAllStringSubmatch(r[1], 3)
		id := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(c[1][1], "")
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(rows) != 2091 || len(ids) != 152 || len(res.Entities) != len(ids) {
		t.Fatalf("%d rows, %d designations; parsed %d", len(rows), len(ids), len(res.Entities))
	}
	types := map[string]int{}
	byID := map[string]Entity{}
	for i, e := range res.Entities {
		if e.ID != ids[i] {
			t.Fatalf("entity %d is %s, the list's %s", i, e.ID, ids[i])
		}
		types[e.Type]++
		byID[e.ID] = e
	}
	if types["individual"] != 126 || types["entity"] != 24 || types["vessel"] != 2 {
		t.Fatalf("types %v", types)
	}

	g := byID["RUS1421"]
	if g.Name != "GARANTEX EUROPE OU" || g.Type != "entity" || !slices.Contains(g.Aliases, "ГАРАНТЕКС") ||
		!slices.Equal(g.Programs, []string{"The Russia (Sanctions) (EU Exit) Regulations 2019"}) ||
		!slices.Equal(g.IDs, []string{"Business Registration Number 14850239 (Estonia)"}) || len(g.Addresses) != 2 {
		t.Fatalf("Garantex: %+v", g)
	}
	want := []struct{ chain, addr, cur string }{
		{ChainBTC, "3Lpoy53K625zVeE47ZasiG5jGkAxJ27kh1", "XBT"},
		{ChainETH, "0x7FF9cFad3877F21d41Da833E2F775dB0569eE3D9", "ETH"},
		{ChainBTC, "3E6ZCKRrsdPc35chA9Eftp1h3DLW18NFNV", "USDT"}, // Tether on the Omni layer
	}
	if len(res.Labels) != len(want) || len(res.Invalid) != 0 || res.PerCurrency["XBT"] != 1 {
		t.Fatalf("labels %+v, invalid %v", res.Labels, res.Invalid)
	}
	for i, w := range want {
		l := res.Labels[i]
		if l.Chain != w.chain || l.Address != w.addr || l.Currency != w.cur || l.Category != Sanctioned || l.Label != g.Name || l.Ref != "RUS1421" || !slices.Equal(l.Programs, g.Programs) {
			t.Fatalf("label %d: %+v, want %+v", i, l, w)
		}
	}

	// A UN designation: its UN reference, every name, the address rows.
	a := byID["AFG0001"]
	if a.Name != "HAJI KHAIRULLAH HAJI SATTAR MONEY EXCHANGE" || a.UNRef != "TAe.010" || !slices.Contains(a.Aliases, "Haji Khairullah Money Exchange") ||
		!slices.Contains(a.Addresses, "Branch Office 2, Peshawar, Khyber Paktunkhwa Province, Pakistan") || !slices.Contains(a.Countries, "Pakistan") {
		t.Fatalf("AFG0001: %+v", a)
	}
	// "Low quality a.k.a" names are weak aliases; birth years from D.O.B.
	n := byID["AFG0101"]
	if n.Name != "NAJIBULLAH MUHAMMAD JUMA" || !slices.Equal(n.WeakAliases, []string{"Najib Ullah"}) || slices.Contains(n.Aliases, "Najib Ullah") ||
		!slices.Equal(n.BirthYears, []int{1958}) || n.UNRef != "TAi.132" {
		t.Fatalf("AFG0101: %+v", n)
	}
	// A ship: its IMO number, its former names.
	s := byID["DPR0078"]
	if s.Type != "vessel" || s.Name != "Jie Shun" || !slices.Contains(s.IDs, "8518780") || !slices.Contains(s.Aliases, "Velox") {
		t.Fatalf("DPR0078: %+v", s)
	}
}

// TestUKSanctionsListBadInput: what is not the list is refused with the
// file, and the row or XML line where it can tell.
func TestUKSanctionsListBadInput(t *testing.T) {
	content := ukslContent(t)
	text := filepath.Join(t.TempDir(), "list.ods")
	os.WriteFile(text, []byte("Unique ID,Name 6\n"), 0o644)
	raw, err := os.ReadFile(ukslExcerpt)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.ods")
	os.WriteFile(cut, raw[:len(raw)/2], 0o644)
	firstRow := strings.Index(content, "<table:table-row")
	for _, c := range []struct {
		name, path, want string
	}{
		{"not a zip", text, "not an OpenDocument spreadsheet"},
		{"cut short", cut, "not an OpenDocument spreadsheet"},
		{"a text document", writeODS(t, "application/vnd.oasis.opendocument.text", content), `mimetype "application/vnd.oasis.opendocument.text"`},
		{"no header", writeODS(t, odsMime, strings.ReplaceAll(content, ">Unique ID<", ">Id<")), `no header row (with "Unique ID") in the first 10 rows`},
		{"a column missing", writeODS(t, odsMime, strings.Replace(content, ">Regime Name<", ">Regime<", 1)), `row 3: the header lacks column "Regime Name"`},
		{"a row without its id", writeODS(t, odsMime, strings.Replace(content, ">AFG0001<", "><", 1)), "row 4: no Unique ID"},
		{"an unknown kind", writeODS(t, odsMime, strings.Replace(content, ">Entity<", ">Aircraft<", 1)), `row 4: "Aircraft" is not an individual, entity or ship`},
		{"broken XML", writeODS(t, odsMime, content[:firstRow+len(content[firstRow:])/2]), "content.xml line"},
		{"a cell of two megabytes", writeODS(t, odsMime, content[:firstRow]+odsRow("Unique ID", strings.Repeat("x", 2<<20))+"</table:table></office:spreadsheet></office:body></office:document-content>"), "a cell of more than 1048576 bytes"},
		{"a header alone", writeODS(t, odsMime, content[:firstRow]+odsRow("Unique ID", "Name 6", "Name type", "Regime Name", "Individual, Entity, Ship")+"</table:table></office:spreadsheet></office:body></office:document-content>"), "no designations after the header (row 1)"},
		{"two rows, no header", writeODS(t, odsMime, content[:firstRow]+odsRow("a")+odsRow("b")+"</table:table></office:spreadsheet></office:body></office:document-content>"), `no header row (with "Unique ID")`},
		{"a designation without a name", writeODS(t, odsMime, content[:firstRow]+odsRow("Unique ID", "Name 6", "Name type", "Regime Name", "Individual, Entity, Ship")+odsRow("X1", "", "Primary name", "R", "Entity")+"</table:table></office:spreadsheet></office:body></office:document-content>"), "designation X1 has no name"},
		{"no sheet", writeODS(t, odsMime, `<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>`), "no sheet"},
		{"a row repeated past a sheet's size", writeODS(t, odsMime, strings.Replace(content, "<table:table-row ", `<table:table-row table:number-rows-repeated="2000000000" `, 1)), "more than 1048576 rows with something in them"},
	} {
		_, err := ParseUKSanctionsList(c.path)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestODSCells: repeated cells and rows, spaces, tabs, line breaks and
// paragraphs read as a spreadsheet shows them; notes and a table inside a
// cell are not a cell's text.
func TestODSCells(t *testing.T) {
	content := `<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:t="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:x="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>` +
		`<t:table t:name="one">` +
		`<t:table-row><t:table-cell><x:p>a<x:s x:c="3"/>b<x:tab/>c</x:p><x:p>d<x:line-break/>e &amp; <x:span>f</x:span></x:p></t:table-cell><t:table-cell t:number-columns-repeated="2"><x:p>r</x:p></t:table-cell><t:table-cell t:number-columns-repeated="16000"/></t:table-row>` +
		`<t:table-row t:number-rows-repeated="5"><t:table-cell t:number-columns-repeated="16384"/></t:table-row>` +
		`<t:table-row t:number-rows-repeated="2"><t:table-cell><office:annotation><x:p>a note</x:p></office:annotation><x:p>twice</x:p></t:table-cell></t:table-row>` +
		`<t:table-row><t:table-cell><x:p>outer</x:p><t:table><t:table-row><t:table-cell><x:p>inner</x:p></t:table-cell></t:table-row></t:table></t:table-cell><t:table-cell><x:p>next</x:p></t:table-cell></t:table-row>` +
		`</t:table><t:table t:name="two"><t:table-row><t:table-cell><x:p>other sheet</x:p></t:table-cell></t:table-row></t:table>` +
		`</office:spreadsheet></office:body></office:document-content>`
	var got []string
	var rows []int
	err := odsRows(writeODS(t, odsMime, content), func(row int, cells []string) error {
		got = append(got, strings.Join(cells, "|"))
		rows = append(rows, row)
		return nil
	})
	want := []string{"a   b\tc\nd\ne & f|r|r", "twice", "twice", "outer|next"}
	if err != nil || !slices.Equal(got, want) || !slices.Equal(rows, []int{1, 7, 8, 9}) {
		t.Fatalf("%q at rows %v (%v), want %q at 1, 7, 8, 9", got, rows, err, want)
	}
}
