package label

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"
)

// The counts below come from an independent read of the excerpt: a Python
// csv reader splitting each record's ids at ";" and taking the parts
// "Digital Currency Address - CUR, ADDRESS", each (CUR, ADDRESS) once per
// record.
var wantUSPerCurrency = map[string]int{
	"ARB": 1, "BCH": 7, "BSC": 1, "BSV": 1, "BTG": 1, "DASH": 3, "ETC": 1, "ETH": 63, "LTC": 11,
	"TRX": 6, "USDC": 2, "USDT": 40, "XBT": 484, "XMR": 8, "XRP": 1, "XVG": 1, "ZEC": 3,
}

// TestUSConsolidatedAddresses reads the digital currency addresses of the
// US Consolidated Screening List. The list takes its SDN entries from the
// SDN list, so every address it gives must be one the SDN list's own
// parser finds, with the same currency, entity number, chain and name, and
// programmes the SDN list gives too (it is months younger: Garantex has
// gained one since); and none
// may be taken for an identity document's number.
func TestUSConsolidatedAddresses(t *testing.T) {
	dir := unpack(t, "us_csl", "consolidated-excerpt.csv")
	us, err := ParseUSCSL(filepath.Join(dir, "consolidated-excerpt.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(us.Entities) != 533 {
		t.Errorf("%d entries, want 533", len(us.Entities))
	}
	if !maps.Equal(us.PerCurrency, wantUSPerCurrency) {
		t.Errorf("per currency %v, want %v", us.PerCurrency, wantUSPerCurrency)
	}
	// The Tron address the SDN list files under XBT, as there.
	if want := []string{"XBT TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"}; !slices.Equal(us.Invalid, want) {
		t.Errorf("mismatched %v, want %v", us.Invalid, want)
	}
	sdn, err := ParseOFACSDN(ofacDir(t))
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ ref, cur, addr, chain string }
	inSDN := map[key]Label{}
	for _, l := range sdn.Labels {
		inSDN[key{l.Ref, l.Currency, l.Address, l.Chain}] = l
	}
	for _, l := range us.Labels {
		s, ok := inSDN[key{l.Ref, l.Currency, l.Address, l.Chain}]
		if !ok {
			t.Errorf("%s %s (%s, entity %s) is not the SDN list's", l.Currency, l.Address, l.Chain, l.Ref)
			continue
		}
		if l.Category != Sanctioned || l.Label != s.Label || l.key != s.key || len(l.Programs) == 0 {
			t.Errorf("%s: %+v, the SDN list's %+v", l.Address, l, s)
		}
		for _, p := range l.Programs {
			if !slices.Contains(s.Programs, p) {
				t.Errorf("%s: programme %s, the SDN list's %v", l.Address, p, s.Programs)
			}
		}
	}
	withAddresses := 0
	for _, e := range us.Entities {
		if len(e.Crypto) > 0 {
			withAddresses++
		}
		for _, id := range e.IDs {
			if slices.Contains(e.Crypto, id) {
				t.Errorf("%s: address %s among its identity numbers", e.Name, id)
			}
		}
	}
	if withAddresses != 65 {
		t.Errorf("%d entries with addresses, want 65", withAddresses)
	}
}

// TestUKConsolidatedAddresses reads the UK list's one entry with digital
// currency addresses (Garantex, in its other information, repeated on the
// rows of each of its addresses), each labelled once; and OFAC's
// non-SDN list, in the SDN set's layout, which gives none.
func TestUKConsolidatedAddresses(t *testing.T) {
	dir := unpack(t, "uk_csl", "ConList.csv")
	uk, err := ParseUK(filepath.Join(dir, "ConList.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"XBT":  "btc 3Lpoy53K625zVeE47ZasiG5jGkAxJ27kh1",
		"ETH":  "eth 0x7FF9cFad3877F21d41Da833E2F775dB0569eE3D9",
		"USDT": "btc 3E6ZCKRrsdPc35chA9Eftp1h3DLW18NFNV",
	}
	got := map[string]string{}
	for _, l := range uk.Labels {
		got[l.Currency] = l.Chain + " " + l.Address
		if l.Label != "GARANTEX EUROPE OU" || l.Ref != "15329" || !slices.Equal(l.Programs, []string{"Russia"}) || l.Category != Sanctioned {
			t.Errorf("%+v", l)
		}
	}
	if len(uk.Labels) != 3 || !maps.Equal(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
	// Names in their own script are aliases: 2,473 groups then have a
	// name with a letter of another script than Latin, all but one from
	// the Name Non-Latin Script column (counted with Python's csv and
	// unicodedata modules over the file).
	nonLatin := 0
	for _, e := range uk.Entities {
		if slices.ContainsFunc(e.Aliases, func(a string) bool { return !latin(a) }) {
			nonLatin++
		}
		if e.ID == "15890" && !slices.Contains(e.Aliases, "ЗАДАЧИН Андрей Андреевич") {
			t.Errorf("15890: aliases %q", e.Aliases)
		}
	}
	if nonLatin != 2473 {
		t.Errorf("%d groups with a name in a non-Latin script, want 2473", nonLatin)
	}

	non, err := ParseOFACNonSDN(unpack(t, "ofac_non_sdn", "cons_prim.csv", "cons_add.csv", "cons_alt.csv", "cons_comments.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(non.Entities) != 442 || len(non.Labels) != 0 {
		t.Errorf("non-SDN: %d entries, %d labels; want 442, 0", len(non.Entities), len(non.Labels))
	}
}

// TestEUNamesInLatin: the EU file gives some parties' names in Cyrillic or
// Arabic first; the name spur shows is one in Latin script where the party
// has one, the other kept as an alias.
func TestEUNamesInLatin(t *testing.T) {
	eu, err := ParseEU(filepath.Join(unpack(t, "eu_csl", "eu_csl.csv"), "eu_csl.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eu.Entities {
		if !latin(e.Name) && slices.ContainsFunc(e.Aliases, latin) {
			t.Errorf("%s: name %q, a Latin alias among %q", e.ID, e.Name, e.Aliases)
		}
		if e.ID == "6304" && (!latin(e.Name) || !slices.Contains(e.Aliases, "علي مملوك")) {
			t.Errorf("6304: %q %q", e.Name, e.Aliases)
		}
	}
}

// TestListDates: each list that says when it was made is dated by it, as
// the files give it: the UN list's dateGenerated, the EU file's
// fileGenerationDate, the UK OFSI file's "Last Updated" line and the UK
// Sanctions List's "[Report for: ...]"; a form not read is no date.
func TestListDates(t *testing.T) {
	un, err := ParseUN(filepath.Join(unpack(t, "un_csl", "UN_consolidated.xml"), "UN_consolidated.xml"))
	if err != nil {
		t.Fatal(err)
	}
	eu, err := ParseEU(filepath.Join(unpack(t, "eu_csl", "eu_csl.csv"), "eu_csl.csv"))
	if err != nil {
		t.Fatal(err)
	}
	uk, err := ParseUK(filepath.Join(unpack(t, "uk_csl", "ConList.csv"), "ConList.csv"))
	if err != nil {
		t.Fatal(err)
	}
	uksl, err := ParseUKSanctionsList(ukslExcerpt)
	if err != nil {
		t.Fatal(err)
	}
	for list, got := range map[string][2]string{"un": {un.Dated, "2026-02-27"}, "eu": {eu.Dated, "2024-01-24"}, "uk": {uk.Dated, "2024-01-25"}, "uk-sanctions-list": {uksl.Dated, "2022-11-30"}} {
		if got[0] != got[1] {
			t.Errorf("%s dated %q, want %s", list, got[0], got[1])
		}
	}
	for s, want := range map[string]string{"25/01/2024": "2024-01-25", " 30-Nov-2022 ": "2022-11-30", "31/02/2024": "", "yesterday": "", "": ""} {
		if got := listDate(s, "02/01/2006", "02-Jan-2006"); got != want {
			t.Errorf("listDate(%q) = %q, want %q", s, got, want)
		}
	}
}
