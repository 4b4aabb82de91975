package label

import (
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/testdir"
	"golang.org/x/sys/unix"
)

// unpack decompresses the shipped files names (each stored as NAME.bz2)
// of testdata/sanctions/rel into a temporary directory, which it returns.
func unpack(t testing.TB, rel string, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		f, err := os.Open(filepath.Join("../../testdata/sanctions", rel, n+".bz2"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(bzip2.NewReader(f))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// ofacDir decompresses the shipped SDN CSV set into a temporary directory.
func ofacDir(t testing.TB) string {
	return unpack(t, "ofac_sdn_2025-12", "sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")
}

// The counts below come from an independent read of the same files: a
// Python csv reader joining each entry's sdn.csv remarks with its
// sdn_comments.csv continuation verbatim, and the regular expression
// "Digital Currency Address - (\w+) ([^\s;]+)".
var wantPerCurrency = map[string]int{
	"XBT": 519, "USDT": 93, "ETH": 77, "TRX": 29, "LTC": 11, "XMR": 8, "BCH": 7, "ZEC": 3, "DASH": 3,
	"USDC": 2, "BTG": 1, "ETC": 1, "BSV": 1, "XVG": 1, "XRP": 1, "ARB": 1, "BSC": 1, "SOL": 1,
}

func TestOFACSDN(t *testing.T) {
	res, err := ParseOFACSDN(ofacDir(t))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for cur, n := range wantPerCurrency {
		if res.PerCurrency[cur] != n {
			t.Errorf("%s: %d addresses, want %d", cur, res.PerCurrency[cur], n)
		}
		total += n
	}
	if len(res.Labels) != total || len(res.PerCurrency) != len(wantPerCurrency) {
		t.Fatalf("%d labels in %d currencies, want %d in %d", len(res.Labels), len(res.PerCurrency), total, len(wantPerCurrency))
	}
	find := func(addr string) *Label {
		for i := range res.Labels {
			if strings.EqualFold(res.Labels[i].Address, addr) {
				return &res.Labels[i]
			}
		}
		return nil
	}
	if len(res.Entities) != 18494 {
		t.Fatalf("%d entities, want 18494", len(res.Entities))
	}
	// The list marks one Tron address as XBT; it is kept, filed as Tron.
	if len(res.Invalid) != 1 || res.Invalid[0] != "XBT TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq" {
		t.Fatalf("addresses that do not fit their currency: %v", res.Invalid)
	}
	if l := find("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"); l == nil || l.Chain != ChainTRX || l.Currency != "XBT" {
		t.Fatalf("the Tron address listed as XBT: %+v", l)
	}
	// Tether on the Omni layer, held by Bitcoin addresses: filed as Bitcoin.
	for _, a := range []string{"16iWn2J1McqjToYLHSsAyS6En3QA8YQ91H", "3LtcaPbCj87CwJHnRX3vh7c2y9RZQqeSy8"} {
		if l := find(a); l == nil || l.Chain != ChainBTC || l.Currency != "USDT" {
			t.Errorf("USDT on Omni %s: %+v", a, l)
		}
	}
	if l := find("0xfec8a60023265364d066a1212fde3930f6ae8da7"); l == nil || l.Chain != ChainETH {
		t.Errorf("USDT on Ethereum: %+v", l)
	}
	// Addresses whose remark continues in sdn_comments.csv, cut inside the
	// phrase, at a space, and inside the address.
	for _, a := range []string{"0x8576acc5c05d6ce88f4e49bf65bdf0c62f91353c", "194xmrZA53UBsZau2PnJLdmVVW9m5feeS", "1GqChmWqGtsaLrGbHfgdrV5Nkvahtjjuxr"} {
		if find(a) == nil {
			t.Errorf("%s (continued in sdn_comments.csv) not found", a)
		}
	}
	// Weak aliases, which the list gives in remarks ("a.k.a. 'HIDDEN
	// COBRA'"), not in alt.csv: 4,336 on 2,563 entries, counted
	// independently by splitting the remarks (with their continuations) at
	// ".k.a. '". One spans sdn.csv and sdn_comments.csv ("WHOIS HACKIN" +
	// "G TEAM"); one holds an apostrophe.
	weak, withWeak := 0, 0
	byID := map[string]*Entity{}
	for i := range res.Entities {
		e := &res.Entities[i]
		byID[e.ID] = e
		weak += len(e.WeakAliases)
		if len(e.WeakAliases) > 0 {
			withWeak++
		}
	}
	if weak != 4336 || withWeak != 2563 {
		t.Errorf("%d weak aliases on %d entries, want 4336 on 2563", weak, withWeak)
	}
	for id, want := range map[string][]string{
		"27307": {"HIDDEN COBRA", "OFFICE 91", "GUARDIANS OF PEACE", "THE NEW ROMANTIC CYBER ARMY TEAM", "WHOIS HACKING TEAM", "RED DOT", "TEMP.HERMIT", "GROUP 77", "ZINC", "APT-C-26", "APPLEWORM"},
		"27308": {"STARDUST CHOLLIMA", "APT 38", "APT38"},
		"3754":  {"ABU-'UMAR"},
	} {
		if e := byID[id]; e == nil || !slices.Equal(e.WeakAliases, want) {
			t.Errorf("entry %s: weak aliases %q, want %q", id, e.WeakAliases, want)
		}
	}
	// EVM addresses print EIP-55, whatever case the list used.
	l := find("0x098B716B8Aaf21512996dC57EB0615e2383E2f96")
	if l == nil || l.Address != "0x098B716B8Aaf21512996dC57EB0615e2383E2f96" || l.Label != "LAZARUS GROUP" || l.Chain != ChainETH || l.Category != Sanctioned || l.Programs[0] != "DPRK3" || l.Ref != "27307" {
		t.Fatalf("Lazarus Group's Ronin address: %+v", l)
	}
}

// Run from the database and with the in-memory set of labelled keys, which
// must follow every import.
func TestStoreReplaceAndLookup(t *testing.T) {
	t.Run("database", func(t *testing.T) { testReplaceAndLookup(t, false) })
	t.Run("cached keys", func(t *testing.T) { testReplaceAndLookup(t, true) })
}

// mineOnDisk returns the directory of labels holding importMine's, closed.
func mineOnDisk(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "labels")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	importMine(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// importMine imports, as source "mine", a CSV file labelling the Ronin
// bridge exploiter's address.
func importMine(t *testing.T, s *Store) {
	t.Helper()
	csvPath := filepath.Join(t.TempDir(), "l.csv")
	os.WriteFile(csvPath, []byte("address,chain,category,label,actor,source\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,eth,stolen-funds,Ronin Bridge Exploiter,Lazarus Group,https://example.org\n"), 0o644)
	mine, err := ParseCSV(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Replace(SourceInfo{Source: "mine", Format: "csv"}, mine, nil); err != nil {
		t.Fatal(err)
	}
}

func testReplaceAndLookup(t *testing.T, cached bool) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if cached {
		if err := s.CacheKeys(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := ParseOFACSDN(ofacDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Replace(SourceInfo{Source: "ofac-sdn", Format: "ofac-sdn-csv"}, res.Labels, res.Entities); err != nil {
		t.Fatal(err)
	}
	importMine(t, s)
	// Any case finds both sources' labels.
	got, err := s.Lookup("0X098B716B8AAF21512996DC57EB0615E2383E2F96")
	if err != nil || len(got) != 2 {
		t.Fatalf("lookup: %v %v", got, err)
	}
	last := res.Labels[len(res.Labels)-1].Address
	if got, _ := s.Lookup(last); len(got) == 0 {
		t.Fatalf("%s: no label", last)
	}
	// Re-importing a source replaces only that source.
	if err := s.Replace(SourceInfo{Source: "ofac-sdn", Format: "ofac-sdn-csv"}, res.Labels[:10], nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Lookup(last); len(got) != 0 {
		t.Fatalf("%s: label survived its re-import: %+v", last, got)
	}
	got, _ = s.Lookup("0x098b716b8aaf21512996dc57eb0615e2383e2f96")
	if len(got) != 1 || got[0].Source != "mine" || got[0].Actor != "Lazarus Group" {
		t.Fatalf("after re-import: %+v", got)
	}
	n := 0
	s.List(Filter{Source: "ofac-sdn"}, func(Label) error { n++; return nil })
	if n != 10 {
		t.Fatalf("%d ofac labels after re-import, want 10", n)
	}
	if e, _ := s.Entity("ofac-sdn", "27307"); e != nil {
		t.Fatal("entities of the old import survived")
	}
}

func TestMalformed(t *testing.T) {
	dir := ofacDir(t)
	b, _ := os.ReadFile(filepath.Join(dir, "sdn.csv"))
	lines := strings.SplitAfter(string(b), "\n")
	lines[99] = "36,\"broken\n"
	os.WriteFile(filepath.Join(dir, "sdn.csv"), []byte(strings.Join(lines, "")), 0o644)
	_, err := ParseOFACSDN(dir)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "sdn.csv: line 100") {
		t.Fatalf("want a malformed error at sdn.csv line 100, got %v", err)
	}
	tp := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(tp, []byte("title: x\ncategory: exchange\ntags:\n  - address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n    label: ok\n  - label: no address\n"), 0o644)
	if _, err := ParseTagPack(tp); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "line 6") {
		t.Fatalf("tagpack without address: %v", err)
	}
	os.WriteFile(tp, []byte("title: x\ncategory: exchange\ncurrency: BTC\ntags:\n  - address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb\n    label: bad checksum\n"), 0o644)
	if _, err := ParseTagPack(tp); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "line 5") {
		t.Fatalf("tagpack with a bad address: %v", err)
	}
	// An ActorPack given as a TagPack says what it is.
	os.WriteFile(tp, []byte("title: Actors\ncreator: someone\nactors:\n  - id: kettle\n    label: Kettle Exchange\n    uri: https://example.org\n    categories: [exchange]\n"), 0o644)
	if _, err := ParseTagPack(tp); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "a GraphSense ActorPack") {
		t.Fatalf("an actor pack: %v", err)
	}
}

func TestTagPack(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tp.yaml")
	os.WriteFile(p, []byte(`title: Exchanges
creator: spur tests
currency: BTC
category: exchange
source: https://example.org/exchanges
confidence: web_crawl
lastmod: 2021-04-21
tags:
  - address: BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4
    label: Example Exchange hot wallet
  - address: 0xDe0B295669a9FD93d5F28D9Ec85E40f4cb697BAe
    currency: ETH
    label: Example Fund
    category: organization
    actor: example-fund
    confidence: 90
`), 0o644)
	res, err := ParseTagPack(p)
	if err != nil {
		t.Fatal(err)
	}
	ls := res.Labels
	if len(ls) != 2 {
		t.Fatalf("%d labels", len(ls))
	}
	if l := ls[0]; l.Address != "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4" || l.Category != "exchange" || l.Chain != ChainBTC || l.Confidence != 0.5 || l.URL != "https://example.org/exchanges" {
		t.Fatalf("inherited header fields: %+v", l)
	}
	if l := ls[1]; l.Address != "0xde0B295669a9FD93d5F28D9Ec85E40f4cb697BAe" || l.Category != "organization" || l.Chain != ChainETH || l.Actor != "example-fund" || l.Confidence != 0.9 {
		t.Fatalf("tag's own fields: %+v", l)
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("address,chain,category,label,actor,source\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,btc,exchange,x,,\n"))
	f.Add([]byte("address,chain,category,label,actor,source\n\"unterminated\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.csv")
		os.WriteFile(p, b, 0o644)
		ls, err := ParseCSV(p)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		for _, l := range ls {
			if l.Address == "" || l.Category == "" {
				t.Fatalf("accepted an empty field: %+v", l)
			}
		}
	})
}

func FuzzParseTagPack(f *testing.F) {
	f.Add([]byte("category: exchange\ntags:\n  - address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n    label: x\n"))
	f.Add([]byte("tags: 3\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.yaml")
		os.WriteFile(p, b, 0o644)
		res, err := ParseTagPack(p)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if err != nil {
			return
		}
		for _, l := range res.Labels {
			if l.Address == "" || l.Label == "" || l.Category == "" {
				t.Fatalf("accepted an empty field: %+v", l)
			}
		}
	})
}

func TestUN(t *testing.T) {
	f, err := os.Open("../../testdata/sanctions/un_csl/UN_consolidated.xml.bz2")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(bzip2.NewReader(f))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "un.xml")
	os.WriteFile(p, b, 0o644)
	res, err := ParseUN(p)
	if err != nil {
		t.Fatal(err)
	}
	// Counted independently with grep over the file.
	if len(res.Entities) != 730+273 || res.PerListType["DPRK"] != 155 || res.PerListType["Iran"] != 121 {
		t.Fatalf("%d entries, %d DPRK, %d Iran", len(res.Entities), res.PerListType["DPRK"], res.PerListType["Iran"])
	}
	var adf *Entity
	for i := range res.Entities {
		if res.Entities[i].ID == "CDe.001" {
			adf = &res.Entities[i]
		}
	}
	if adf == nil || adf.Name != "ADF" || adf.Type != "entity" || len(adf.Aliases) != 4 || adf.Aliases[0] != "Allied Democratic Forces" {
		t.Fatalf("CDe.001: %+v", adf)
	}
	// Names in their original script are aliases too: 378 entries carry
	// one, and 380 then have a name in Arabic or Cyrillic script (counted
	// with Python's XML parser over the file).
	original := 0
	for _, e := range res.Entities {
		for _, a := range e.Aliases {
			if strings.ContainsFunc(a, func(r rune) bool { return unicode.In(r, unicode.Arabic, unicode.Cyrillic) }) {
				original++
				break
			}
		}
		if e.ID == "IQi.001" && !slices.Contains(e.Aliases, "صدام حسين التكريتي") {
			t.Errorf("IQi.001: aliases %q", e.Aliases)
		}
	}
	if original != 380 {
		t.Errorf("%d entries with a name in Arabic or Cyrillic script, want 380", original)
	}
	// Cut short, the file is refused with a line.
	os.WriteFile(p, b[:len(b)/2], 0o644)
	if _, err := ParseUN(p); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "line") {
		t.Fatalf("truncated list: %v", err)
	}
}

// TestOpenReadOnly: the labels open for reading without their lock file and
// without changing a file, as on a read-only file system, and find what
// the writable store holds.
func TestOpenReadOnly(t *testing.T) {
	dir := mineOnDisk(t)
	os.Remove(filepath.Join(dir, "LOCK")) // a copy may come without it
	before := testdir.State(t, dir)
	r, err := openReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Lookup("0x098b716b8aaf21512996dc57eb0615e2383e2f96")
	if err != nil || len(got) != 1 || got[0].Actor != "Lazarus Group" {
		t.Fatalf("lookup read-only: %+v %v", got, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := testdir.State(t, dir); after != before {
		t.Fatalf("the read-only open changed the labels:\n%s\nwant\n%s", after, before)
	}
}

// TestCSVAsSpreadsheetsWriteIt: a labels CSV saved by a spreadsheet program
// (a byte order mark, CRLF line ends, columns in its own order and others
// beside them) reads as the canonical one; a header without a required
// column is refused with its line; prices with a byte order mark read too.
func TestCSVAsSpreadsheetsWriteIt(t *testing.T) {
	write := tempWriter(t)
	canon, err := ParseCSV(write("canon.csv", "address,chain,category,label,actor,source\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,eth,stolen-funds,Ronin Bridge Exploiter,Lazarus Group,https://example.org\n"))
	if err != nil {
		t.Fatal(err)
	}
	sheet, err := ParseCSV(write("sheet.csv", "\xef\xbb\xbfLabel,Notes,Address,Category,Actor,Source\r\nRonin Bridge Exploiter,seen 2022-03-29,0x098b716b8aaf21512996dc57eb0615e2383e2f96,stolen-funds,Lazarus Group,https://example.org\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(canon) != 1 || len(sheet) != 1 || !reflect.DeepEqual(canon[0], sheet[0]) {
		t.Fatalf("from a spreadsheet %+v, want %+v", sheet, canon)
	}
	// A spreadsheet of a European locale separates with semicolons; a
	// tab-separated export, with tabs.
	for name, body := range map[string]string{
		"semicolon.csv": "Label;Address;Category;Actor;Source\r\nRonin Bridge Exploiter;0x098b716b8aaf21512996dc57eb0615e2383e2f96;stolen-funds;Lazarus Group;https://example.org\r\n",
		"tab.csv":       "address\tcategory\tlabel\tactor\tsource\n0x098b716b8aaf21512996dc57eb0615e2383e2f96\tstolen-funds\tRonin Bridge Exploiter\tLazarus Group\thttps://example.org\n",
	} {
		got, err := ParseCSV(write(name, body))
		if err != nil || len(got) != 1 || !reflect.DeepEqual(canon[0], got[0]) {
			t.Fatalf("%s: %+v %v, want %+v", name, got, err, canon)
		}
	}
	for body, want := range map[string]string{
		"label,addr\nx,1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n":                        "no address column",
		"address,label\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,x\n":                     "no category column",
		"address,category,address\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,exchange,x\n": `column "address" twice`,
		"address,category\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n":                    "line 2",
		// A Litecoin address tells no chain spur knows by its form.
		"address,category\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,exchange\nLbonesGyyeUDpQqtZQMmBUPJSEg4jHhUvb,gambling\n": `line 3: address "LbonesGyyeUDpQqtZQMmBUPJSEg4jHhUvb": its form does not tell its chain`,
	} {
		if _, err := ParseCSV(write("bad.csv", body)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
	pf, err := ParsePrices(write("prices.csv", "\xef\xbb\xbfdate,asset,usd\r\n2021-08-19,BTC,46717.58\r\n2021-08-19,eth,3180.5\r\n"), "")
	if err != nil || pf.Prices["BTC"]["2021-08-19"] != 46717.58 || pf.Prices["ETH"]["2021-08-19"] != 3180.5 || pf.Format != "spur" {
		t.Fatalf("prices with a byte order mark, and a symbol in lower case: %+v %v", pf, err)
	}
}

// TestPriceExports reads one asset's daily prices as Yahoo Finance and
// CoinGecko export them: Yahoo's close of each day (its "null" days
// skipped), CoinGecko's price at 00:00 UTC as the close of the day before;
// the asset from --asset, else from the file's name.
func TestPriceExports(t *testing.T) {
	write := tempWriter(t)
	// Yahoo's BTC-USD history, as its download writes it; the closes are
	// those of daily_usd.csv (Yahoo's), 2014-09-17 and 18.
	yahoo := write("BTC-USD.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n"+
		"2014-09-17,465.864014,468.174011,452.421997,457.334015,457.334015,21056800\n"+
		"2014-09-18,456.859985,456.859985,413.104004,424.440002,424.440002,34483200\n"+
		"2014-09-19,null,null,null,null,null,null\n")
	pf, err := ParsePrices(yahoo, "")
	if err != nil {
		t.Fatal(err)
	}
	if pf.Format != "yahoo" || pf.Asset != "BTC" || !pf.Named || len(pf.Prices["BTC"]) != 2 || pf.Prices["BTC"]["2014-09-18"] != 424.440002 {
		t.Errorf("yahoo: %+v", pf)
	}
	gecko := write("eth-usd-max.csv", "snapped_at,price,market_cap,total_volume\n"+
		"2021-08-19 00:00:00 UTC,3019.6516,353155567431.37,28044521917.95\n"+
		"2021-08-20 00:00:00 UTC,3180.5,372142237925.18,25211286254.94\n")
	if pf, err = ParsePrices(gecko, "weth"); err != nil {
		t.Fatal(err)
	}
	if pf.Format != "coingecko" || pf.Asset != "WETH" || pf.Named || pf.Prices["WETH"]["2021-08-19"] != 3180.5 || pf.Prices["WETH"]["2021-08-18"] != 3019.6516 {
		t.Errorf("coingecko: %+v", pf)
	}
	for body, want := range map[string]string{
		"snapped_at,price,market_cap,total_volume\n2021-08-19,3019.65,1,1\n":   "line 2: snapped_at",
		"Date,Open,High,Low,Close,Adj Close,Volume\n2014-09-17,1,1,1,-5,1,1\n": "line 2: price",
		"Date,Open,High,Low,Close,Adj Close,Volume\n17/09/2014,1,1,1,5,1,1\n":  "line 2: date",
		"time,close\n2014-09-17,5\n":                                           "want the header",
	} {
		if _, err := ParsePrices(write("XMR-USD.csv", body), ""); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
	if _, err := ParsePrices(write("prices.csv", "date,asset,usd\n2021-08-19,BTC,1\n"), "BTC"); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "--asset") {
		t.Errorf("--asset with a file of many: %v", err)
	}
	if _, err := ParsePrices(write("history (1).csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2014-09-17,1,1,1,5,1,1\n"), ""); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "give --asset") {
		t.Errorf("a name that says no asset: %v", err)
	}
}

// TestIncidentChains: an incident's chain is named as spur names chains,
// and one on an EVM chain alone has its theft there, as its evm part.
func TestIncidentChains(t *testing.T) {
	p := filepath.Join(t.TempDir(), "incidents.yaml")
	os.WriteFile(p, []byte(`incidents:
  - id: ronin
    victim: Ronin Bridge
    date: 2022-03-23
    actor: Lazarus Group
    chain: Ethereum
    theft_txs: [0xc28fad5e8d5e0ce6a2eaf67b6687be5d58113e16be590824d6cfa1a94467d0b7]
  - id: both
    date: 2021-08-19
    chain: BTC
    theft_txs: [c39e0759ee06ae0ca9db70f42b7ffc84e8f73d428cc0805150175ac23520543a]
    evm: {chain: ETH, theft_txs: [0x3b30220348101203bb93cd87c0b7634abf0a55a816a08bc0dd29a2bafdcce503]}
`), 0o644)
	incs, err := ParseIncidents(p)
	if err != nil {
		t.Fatal(err)
	}
	if r := incs[0]; r.Chain != ChainETH || len(r.TheftTxs) != 0 || r.EVM == nil || r.EVM.Chain != ChainETH || len(r.EVM.TheftTxs) != 1 {
		t.Errorf("an incident on Ethereum alone: %+v %+v", r, r.EVM)
	}
	if r := incs[1]; r.Chain != ChainBTC || len(r.TheftTxs) != 1 || r.EVM == nil || r.EVM.Chain != ChainETH {
		t.Errorf("an incident on both chains: %+v %+v", r, r.EVM)
	}
	// As lists give them: the chains with theft transactions, and all of
	// those transactions.
	if a, b := incs[0], incs[1]; fmt.Sprint(a.Chains(), a.TheftTxCount(), b.Chains(), b.TheftTxCount()) != "[eth] 1 [btc eth] 2" {
		t.Errorf("chains and theft transactions: %v %d, %v %d", a.Chains(), a.TheftTxCount(), b.Chains(), b.TheftTxCount())
	}
	const txid = "c39e0759ee06ae0ca9db70f42b7ffc84e8f73d428cc0805150175ac23520543a"
	for _, c := range []struct{ body, want string }{
		{"theft_txs: [" + txid + "]\n    evm: {chain: bitcoin, theft_txs: [0x" + txid + "]}", "the evm part needs an EVM chain"},
		{"theft_txs: [aa]", `theft tx "aa": want a txid`},
		{"theft_txs: [" + txid + ":x]", "or txid:vout"},
		{"theft_txs: [0x" + txid + "]", "want a txid"},
		{"chain: eth\n    theft_txs: [" + txid + "]", "want a transaction hash (0x"},
		{"theft_txs: [" + txid + "]\n    evm: {chain: eth, theft_txs: [0x" + txid + "], victim_addresses: [0xabc]}", `victim address "0xabc"`},
		{"theft_txs: []", "needs an id and theft_txs"},
	} {
		os.WriteFile(p, []byte("incidents:\n  - id: x\n    date: 2021-01-01\n    "+c.body+"\n"), 0o644)
		if _, err := ParseIncidents(p); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "line 2: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.body, err)
		}
	}
	// Well formed: txid:vout, and an EVM part with victims.
	os.WriteFile(p, []byte("incidents:\n  - id: x\n    date: 2021-01-01\n    theft_txs: ["+txid+":1]\n    evm: {chain: eth, theft_txs: [0x"+txid+"], victim_addresses: [0x098B716B8Aaf21512996dC57EB0615e2383E2f96]}\n"), 0o644)
	if _, err := ParseIncidents(p); err != nil {
		t.Error(err)
	}
}

// TestWrappedPrices: WETH and WBTC, without prices of their own, are
// valued as the coins they are redeemable for; a price of their own wins,
// and other tokens have none.
func TestWrappedPrices(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutPrices(map[string]map[string]float64{"ETH": {"2021-08-19": 3180.5}, "BTC": {"2021-08-19": 45002}}); err != nil {
		t.Fatal(err)
	}
	for asset, want := range map[string]float64{"WETH": 3180.5, "WBTC": 45002, "ETH": 3180.5} {
		if p, ok := s.Price(asset, "2021-08-19"); !ok || p != want {
			t.Errorf("%s: %v %v, want %v", asset, p, ok, want)
		}
	}
	if _, ok := s.Price("LINK", "2021-08-19"); ok {
		t.Error("a price for LINK, which has none")
	}
	if _, ok := s.Price("WETH", "2021-08-20"); ok {
		t.Error("a price for WETH on a day ETH has none")
	}
	s.PutPrices(map[string]map[string]float64{"WBTC": {"2021-08-19": 44990}, "STETH": {"2021-08-19": 3170}})
	if p, _ := s.Price("WBTC", "2021-08-19"); p != 44990 {
		t.Errorf("WBTC's own price: %v", p)
	}
	// A token's mixed-case symbol finds its price, imported in upper case.
	if p, ok := s.Price("stETH", "2021-08-19"); !ok || p != 3170 {
		t.Errorf("stETH: %v %v", p, ok)
	}
	// Prices read before are not kept past an import that replaces them.
	s.PutPrices(map[string]map[string]float64{"ETH": {"2021-08-20": 3290}})
	if p, ok := s.Price("ETH", "2021-08-20"); !ok || p != 3290 {
		t.Errorf("ETH after a new import: %v %v", p, ok)
	}
	if _, ok := s.Price("ETH", "2021-08-19"); ok {
		t.Error("ETH's price of a day its new import leaves out")
	}
}

// TestGraphSenseTagPacks reads TagPacks of GraphSense's public repository
// and its tool's tests as they are written: header fields for every tag,
// tags with neither category nor abuse, tags on GraphSense's entities
// rather than addresses, and headers included from a file above the packs.
func TestGraphSenseTagPacks(t *testing.T) {
	dir := "../../testdata/labels/graphsense-tagpacks/packs"
	read := func(p string) *TagPackResult {
		t.Helper()
		res, err := ParseTagPack(p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := read(filepath.Join(dir, "blender_io.yaml"))
	if len(res.Labels) != 45 || len(res.Skipped) != 0 {
		t.Fatalf("blender_io: %d labels, %d skipped", len(res.Labels), len(res.Skipped))
	}
	if l := res.Labels[12]; l.Address != "15PggTG7YhJKiE6B16vkKzA1YDTZipXEX4" || l.Category != Mixer || l.Label != "Blender.io" || l.Actor != "blenderio" || l.Confidence != 1 || l.Chain != ChainBTC ||
		l.URL != "https://home.treasury.gov/policy-issues/financial-sanctions/recent-actions/20220506" {
		t.Errorf("blender_io tag 13: %+v", l)
	}
	res = read(filepath.Join(dir, "address", "lazarus.yaml"))
	if len(res.Labels) != 20 || res.Labels[19].Category != Sanctioned || res.Labels[19].Label != "Jiadong Li" || res.Labels[19].Confidence != 0.6 {
		t.Errorf("lazarus: %d labels, last %+v", len(res.Labels), res.Labels[len(res.Labels)-1])
	}
	res = read(filepath.Join(dir, "address", "hacks.yaml"))
	cats := map[string]string{}
	for _, l := range res.Labels {
		cats[l.Address] = l.Category
	}
	for addr, want := range map[string]string{
		"1JoktQJhCzuCQkt3GnQ8Xddcq4mUgNyXEa": Exchange,
		"1Lgnzb1p9YE3uKwGpspMQZ1NcAD1EMxzSh": "gambling",
		"1HVi6re6zDr5c5v9Sk2mmL9u7svEHfiBt4": StolenFunds, // abuse service_hack
		"1KuNvyWFqc5wBSWUCyJLDgv12vequwMMCS": Other,       // no category, no abuse
	} {
		if cats[addr] != want {
			t.Errorf("hacks: %s is %q, want %q", addr, cats[addr], want)
		}
	}
	if len(res.Labels) != 24 || res.Labels[0].Confidence != 0.5 {
		t.Errorf("hacks: %d labels, confidence %v", len(res.Labels), res.Labels[0].Confidence)
	}
	res = read(filepath.Join(dir, "entity", "ransomware.yaml"))
	if len(res.Labels) != 0 || len(res.Skipped) != 128 || res.Skipped[0] != "line 11: entity 143255812" {
		t.Errorf("entity pack: %d labels, %d skipped, first %q", len(res.Labels), len(res.Skipped), res.Skipped)
	}

	inc := "../../testdata/labels/graphsense-tagpack-tool/yaml_inclusion/2021/01"
	for _, name := range []string{"20210101.yaml", "20210102.yaml"} { // "!include ./header.yaml", "!include header.yaml"
		res := read(filepath.Join(inc, name))
		if len(res.Labels) != 1 {
			t.Fatalf("%s: %d labels", name, len(res.Labels))
		}
		if l := res.Labels[0]; l.Label != "BadHack" || l.Category != Scam || l.Confidence != 0.9 || l.URL != "https://cryptosec.org" || l.Chain != ChainBTC {
			t.Errorf("%s: header not included: %+v", name, l)
		}
	}
}

// TestTagPackConcepts: a tag's category may come from its concepts (or the
// header's), the riskiest of them; tags on transactions are skipped; an
// include that names no file is refused with its line.
func TestTagPackConcepts(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte(`title: concepts
creator: spur tests
currency: BTC
label: a service
concepts: [exchange]
tags:
- address: 1FfmbHfnpaZjKFvyi1okTjJJusN455paPH
- address: 1P3ZfGFLezzYGg9k5SVzQmnjyh7nrUmF2y
  concepts: [organization, mixing_service]
- address: 1Kuf2Rd8mDyAViwBozGTNYnvWL8uYFrkVo
  concepts: [organization]
- tx_hash: ab8ec0ecad4b1c6b57b1a76f9e4bd2c4d5bdd6e3c1a3e1a16b6b3c8a9d16a7c1
  label: a payment
`), 0o644)
	res, err := ParseTagPack(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Labels) != 3 || res.Labels[0].Category != Exchange || res.Labels[1].Category != Mixer || res.Labels[2].Category != "organization" {
		t.Errorf("concepts: %+v", res.Labels)
	}
	if len(res.Skipped) != 1 || !strings.HasPrefix(res.Skipped[0], "line 12: tx_hash ab8e") {
		t.Errorf("skipped: %q", res.Skipped)
	}
	// Chains as people write them.
	os.WriteFile(p, []byte("label: x\ncategory: exchange\ncurrency: Bitcoin\ntags:\n- address: 1FfmbHfnpaZjKFvyi1okTjJJusN455paPH\n- address: 0x00000000219ab540356cBB839Cbe05303d7705Fa\n  network: Ethereum\n"), 0o644)
	if res, err := ParseTagPack(p); err != nil || len(res.Labels) != 2 || res.Labels[0].Chain != ChainBTC || res.Labels[1].Chain != ChainETH {
		t.Errorf("currency Bitcoin, network Ethereum: %+v %v", res, err)
	}
	csvPath := filepath.Join(t.TempDir(), "c.csv")
	os.WriteFile(csvPath, []byte("address,chain,category\n1FfmbHfnpaZjKFvyi1okTjJJusN455paPH,Bitcoin,exchange\n0x00000000219ab540356cBB839Cbe05303d7705Fa,ETH,exchange\n"), 0o644)
	if ls, err := ParseCSV(csvPath); err != nil || len(ls) != 2 || ls[0].Chain != ChainBTC || ls[1].Chain != ChainETH {
		t.Errorf("a CSV's chains Bitcoin and ETH: %+v %v", ls, err)
	}
	os.WriteFile(p, []byte("header: !include ./nowhere.yaml\ntags:\n- address: 1FfmbHfnpaZjKFvyi1okTjJJusN455paPH\n  label: x\n"), 0o644)
	if _, err := ParseTagPack(p); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "nowhere.yaml") {
		t.Errorf("missing include: %v", err)
	}
	os.WriteFile(p, []byte("tags:\n- address: 1FfmbHfnpaZjKFvyi1okTjJJusN455paPH\n"), 0o644)
	if _, err := ParseTagPack(p); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "label") {
		t.Errorf("no label: %v", err)
	}
}

// tempWriter returns a function that writes a file of the given name and
// body into a directory of the test's, and returns its path.
func tempWriter(t *testing.T) func(name, body string) string {
	dir := t.TempDir()
	return func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// TestNoRoom: an import the disk has no room for is refused before Pebble
// writes it (which would end the process mid-way), naming the room it
// needs, with the labels as they were; with room it goes in.
func TestNoRoom(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := ParseOFACSDN(ofacDir(t))
	if err != nil {
		t.Fatal(err)
	}
	importMine(t, s)
	defer func(f func(string) (uint64, error)) { colfile.DiskFree = f }(colfile.DiskFree)
	colfile.DiskFree = func(string) (uint64, error) { return 8 << 20, nil }
	err = s.Replace(SourceInfo{Source: "ofac-sdn", Format: "ofac-sdn-csv"}, res.Labels, res.Entities)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "8.0 MiB free") || !strings.Contains(err.Error(), "nothing changed") {
		t.Fatalf("an import without room: %v", err)
	}
	if got, _ := s.Lookup("0x098b716b8aaf21512996dc57eb0615e2383e2f96"); len(got) != 1 || got[0].Source != "mine" {
		t.Fatalf("the labels after an import without room: %+v", got)
	}
	colfile.DiskFree = func(string) (uint64, error) { return 64 << 20, nil }
	if err := s.Replace(SourceInfo{Source: "ofac-sdn", Format: "ofac-sdn-csv"}, res.Labels, res.Entities); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Lookup("0x098b716b8aaf21512996dc57eb0615e2383e2f96"); len(got) != 2 {
		t.Fatalf("the labels after an import with room: %+v", got)
	}
}

// TestOpenNoRoom: labels whose log the disk has no room to flush are not
// opened for writing (Pebble would retry the flush without end): an import
// is refused, naming the room, and a reader reads them as they are,
// without their lock; with room they open as before, nothing lost.
func TestOpenNoRoom(t *testing.T) {
	dir := mineOnDisk(t)
	defer func(f func(string) (uint64, error)) { colfile.DiskFree = f }(colfile.DiskFree)
	colfile.DiskFree = func(string) (uint64, error) { return 512 << 10, nil }
	if _, err := Open(dir); !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "0.5 MiB free") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("opened for writing without room: %v", err)
	}
	r, err := OpenToRead(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Lookup("0x098b716b8aaf21512996dc57eb0615e2383e2f96"); !r.readOnly || len(got) != 1 || got[0].Source != "mine" {
		t.Fatalf("read without room: read-only %v, %+v", r.readOnly, got)
	}
	// Read-only, it holds nothing: another may open them.
	colfile.DiskFree = func(string) (uint64, error) { return 64 << 20, nil }
	w, err := Open(dir)
	if err != nil {
		t.Fatalf("opened for writing beside a reader, with room: %v", err)
	}
	if got, _ := w.Lookup("0x098b716b8aaf21512996dc57eb0615e2383e2f96"); w.readOnly || len(got) != 1 {
		t.Fatalf("with room: read-only %v, %+v", w.readOnly, got)
	}
	w.Close()
	r.Close()
	// A directory with no labels is not read as labels.
	colfile.DiskFree = func(string) (uint64, error) { return 512 << 10, nil }
	if _, err := OpenToRead(filepath.Join(t.TempDir(), "none")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("no labels, no room: %v", err)
	}
}

// TestOpenReadOnlyMedium: labels on a file system mounted read-only (an
// evidence copy) open, read-only, for a server too, however little room it
// says it has (a read-only medium often says none).
func TestOpenReadOnlyMedium(t *testing.T) {
	dir := mineOnDisk(t)
	ro := t.TempDir()
	if out, err := exec.Command("mount", "--bind", dir, ro).CombinedOutput(); err != nil {
		t.Skipf("cannot mount here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", ro).Run() })
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", ro).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only here: %v %s", err, out)
	}
	defer func(f func(string) (uint64, error)) { colfile.DiskFree = f }(colfile.DiskFree)
	colfile.DiskFree = func(string) (uint64, error) { return 0, nil }
	r, err := Open(ro)
	if err != nil {
		t.Fatalf("labels on a read-only medium with no room: %v", err)
	}
	defer r.Close()
	if got, _ := r.Lookup("0x098b716b8aaf21512996dc57eb0615e2383e2f96"); !r.readOnly || len(got) != 1 {
		t.Fatalf("read-only %v, %+v", r.readOnly, got)
	}
}

// TestFlushFails: a flush the file system refuses, as the open for writing
// of labels with an unflushed log makes one (a file size limit of 64 KiB
// here, where the UN list's table is larger), ends the process with exit
// code 1 and a message naming the database, at once rather than never
// (Pebble retries the flush without end); the labels open as they were
// once the writes go through.
func TestFlushFails(t *testing.T) {
	dir := os.Getenv("SPUR_TEST_FLUSH_DIR")
	if dir != "" {
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: 64 << 10, Max: unix.RLIM_INFINITY}); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir)
		t.Fatalf("opened: %v", err)
	}
	dir = filepath.Join(t.TempDir(), "labels")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	un, err := ParseUN(filepath.Join(unpack(t, "un_csl", "UN_consolidated.xml"), "UN_consolidated.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Replace(SourceInfo{Source: "un", Format: "un-xml"}, nil, un.Entities); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFlushFails$")
	cmd.Env = append(os.Environ(), "SPUR_TEST_FLUSH_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("the open still waits for its flush after a minute")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.HasPrefix(stderr.String(), "spur: database "+dir+": ") ||
		!strings.Contains(stderr.String(), "file too large (it stays as its last commit left it)\n") {
		t.Fatalf("exit %v\n%s\n%s", err, stderr.String(), stdout.String())
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	if err := s.Entities("un", func(Entity) error { n++; return nil }); err != nil || n != len(un.Entities) {
		t.Fatalf("after the failed flush: %d of %d entities (%v)", n, len(un.Entities), err)
	}
}

// TestFormatVersion: a new database is given the format version; one of
// another version is refused, for writing and for reading, and left as it
// was.
func TestFormatVersion(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "labels")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, closer, err := s.db.Get(versionKey)
	if err != nil || string(v) != "\x01\x00\x00\x00" {
		t.Fatalf("version %x %v", v, err)
	}
	closer.Close()
	s.db.Set(versionKey, []byte{2, 0, 0, 0}, nil)
	s.Close()
	for name, open := range map[string]func(string) (*Store, error){"Open": Open, "openReadOnly": openReadOnly} {
		if _, err := open(dir); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), dir+" has format version 2; this spur reads version 1") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
