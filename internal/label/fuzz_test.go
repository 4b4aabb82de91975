package label

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseOFAC(f *testing.F) {
	f.Add([]byte("36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"Digital Currency Address - XBT 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa.\"\r\n\x1a"))
	f.Add([]byte("x,\"broken\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		os.WriteFile(filepath.Join(dir, "sdn.csv"), b, 0o644)
		res, err := ParseOFACSDN(dir)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, l := range res.Labels {
			if l.Address == "" || l.Category != Sanctioned {
				t.Fatalf("bad label %+v", l)
			}
		}
	})
}

func FuzzParseUN(f *testing.F) {
	f.Add([]byte(`<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>A</FIRST_NAME><REFERENCE_NUMBER>KPi.1</REFERENCE_NUMBER><UN_LIST_TYPE>DPRK</UN_LIST_TYPE></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>`))
	f.Add([]byte(`<CONSOLIDATED_LIST><ENTITY>`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "un.xml")
		os.WriteFile(p, b, 0o644)
		res, err := ParseUN(p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, e := range res.Entities {
			if e.Name == "" || e.ID == "" {
				t.Fatalf("entity without name or id: %+v", e)
			}
		}
	})
}

// FuzzParseUKSanctionsList feeds the spreadsheet's content.xml: whatever
// it holds, a list or a refusal naming the file, never a panic.
func FuzzParseUKSanctionsList(f *testing.F) {
	const head = `<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table>`
	f.Add(head + odsRow("Unique ID", "Name 6", "Name type", "Regime Name", "Individual, Entity, Ship", "Other Information") +
		odsRow("X1", "A", "Primary name", "R", "Entity", "Digital Currency Address: XBT 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa") + "</table:table></office:spreadsheet></office:body></office:document-content>")
	f.Add(head + `<table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="9"/>`)
	f.Fuzz(func(t *testing.T, content string) {
		p := writeODS(t, odsMime, content)
		res, err := ParseUKSanctionsList(p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), p) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		for _, e := range res.Entities {
			if e.Name == "" || e.ID == "" {
				t.Fatalf("entity without name or id: %+v", e)
			}
		}
	})
}

// TestListsMalformed refuses broken EU, UK and US files with file and line.
func TestListsMalformed(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name  string
		data  string
		parse func(string) (*ListResult, error)
		want  string
	}{
		{"eu.csv", "Entity_LogicalId;NameAlias_WholeName;Entity_SubjectType;Entity_UnitedNationId\n1;A;P;\n2;\"B;E;\n", ParseEU, "line 3"},
		{"eu2.csv", "Entity_LogicalId;Name\n1;A\n", ParseEU, "lacks column"},
		{"uk.csv", "Last Updated,25/01/2024\nName 6,Name 1,Group Type,Group ID,Regime,Alias Type\nX,Y,Individual,,DPRK,Primary name\n", ParseUK, "line 3"},
		{"us.csv", "_id,source,type,name,alt_names\n1,SDN,Individual,A,\n2,SDN,Individual,\"B,\n", ParseUSCSL, "line 3"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		os.WriteFile(p, []byte(c.data), 0o644)
		_, err := c.parse(p)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.name) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
