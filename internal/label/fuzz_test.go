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

// FuzzRead feeds every format of a single file (the lists, the explorers'
// and Forta's labels, TagPacks, ActorPacks, spur's CSV), incidents and
// prices: whatever a file holds, what it reads or a refusal of malformed
// input, never a panic. The seeds are the heads of the real files shipped.
func FuzzRead(f *testing.F) {
	formats := []struct{ format, ext string }{
		{"eu-csv", ".csv"}, {"uk-csv", ".csv"}, {"us-csl-csv", ".csv"},
		{"etherscan-json", ".json"}, {"etherscan-csv", ".csv"}, {"forta-csv", ".csv"},
		{"tagpack", ".yaml"}, {"actorpack", ".yaml"}, {"csv", ".csv"},
		{"incidents", ".yaml"}, {"prices", ".csv"},
	}
	head := func(b []byte, lines int) []byte {
		for i, c := range b {
			if c == '\n' {
				if lines--; lines == 0 {
					return b[:i+1]
				}
			}
		}
		return b
	}
	for _, seed := range []struct {
		format string
		b      []byte
	}{
		{"eu-csv", mustRead(f, filepath.Join(unpack(f, "eu_csl", "eu_csl.csv"), "eu_csl.csv"))},
		{"uk-csv", mustRead(f, filepath.Join(unpack(f, "uk_csl", "ConList.csv"), "ConList.csv"))},
		{"us-csl-csv", mustRead(f, filepath.Join(unpack(f, "us_csl", "consolidated-excerpt.csv"), "consolidated-excerpt.csv"))},
		{"etherscan-json", mustRead(f, "../../testdata/labels/etherscan-labels/data/bscscan/accounts/heist.json")},
		{"etherscan-csv", mustRead(f, "../../testdata/labels/etherscan-labels/data/bscscan/accounts/heist.csv")},
		{"forta-csv", mustRead(f, "../../testdata/labels/forta-labelled-datasets/labels/1/phishing_scams.csv")},
		{"tagpack", mustRead(f, "../../testdata/labels/graphsense-tagpacks/packs/address/lazarus.yaml")},
		{"actorpack", mustRead(f, "../../testdata/labels/graphsense-tagpacks/actors/vasps_proof_of_reserves.yaml")},
		{"csv", []byte("address,chain,category,label,actor,source\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,btc,stolen-funds,x,,\n")},
		{"incidents", []byte("incidents:\n- id: a\n  victim: v\n  date: 2021-08-19\n  chain: btc\n  theft_txs: [f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16]\n")},
		{"prices", []byte("date,asset,usd\n2021-08-19,BTC,46000.5\n")},
	} {
		for j, fm := range formats {
			if fm.format == seed.format {
				f.Add(byte(j), head(seed.b, 4))
			}
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, which byte, b []byte) {
		fm := formats[int(which)%len(formats)]
		p := filepath.Join(dir, "in"+fm.ext)
		os.WriteFile(p, b, 0o644)
		var err error
		switch fm.format {
		case "incidents":
			_, err = ParseIncidents(p)
		case "prices":
			_, err = ParsePrices(p, "")
		default:
			var res *File
			if res, err = Read(p, ReadOptions{Format: fm.format, AllowEmpty: true}); err == nil {
				for _, l := range res.Labels {
					if l.Address == "" || l.Chain == "" || l.Category == "" {
						t.Fatalf("%s: a label without address, chain or category: %+v", fm.format, l)
					}
				}
			}
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: an error of another kind: %v", fm.format, err)
		}
	})
}

func mustRead(f *testing.F, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzParseOFACXML feeds both XML forms: a list or a refusal, never a
// panic, and every entry named and numbered.
func FuzzParseOFACXML(f *testing.F) {
	for _, name := range []string{"SDN.XML", "SDN_ADVANCED.XML"} {
		b, err := os.ReadFile(filepath.Join("../../testdata/sanctions/ofac_xml", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<Sanctions><DistinctParties><DistinctParty FixedRef="1"><Profile/></DistinctParty></DistinctParties></Sanctions>`))
	f.Add([]byte(`<sdnList><sdnEntry><uid>1</uid><lastName>A</lastName><idList><id><idType>Digital Currency Address - XBT</idType><idNumber>1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa</idNumber></id></idList></sdnEntry></sdnList>`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "list.xml")
		os.WriteFile(p, b, 0o644)
		for _, parse := range []func(string) (*OFACResult, string, error){ParseOFACXML, ParseOFACAdvancedXML} {
			res, _, err := parse(p)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				continue
			}
			for _, e := range res.Entities {
				if e.Name == "" || e.ID == "" {
					t.Fatalf("entity without name or id: %+v", e)
				}
			}
			for _, l := range res.Labels {
				if l.Address == "" || l.Category != Sanctioned {
					t.Fatalf("bad label %+v", l)
				}
			}
		}
	})
}
