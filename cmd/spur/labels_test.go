package main

import (
	"compress/bzip2"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/spur-forensics/spur/internal/label"
)

// sanctionsDir decompresses the shipped files names (each stored as
// NAME.bz2) of testdata/sanctions/rel into a temporary directory.
func sanctionsDir(t *testing.T, rel string, names ...string) string {
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
		os.WriteFile(filepath.Join(dir, n), b, 0o644)
	}
	return dir
}

func ofacTestDir(t *testing.T) string {
	return sanctionsDir(t, "ofac_sdn_2025-12", "sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")
}

// TestConsolidatedListImport imports the US consolidated list, whose
// entries' ids give digital currency addresses, and screens one of them
// (Lazarus Group's, which only this source holds in the store); and
// OFAC's non-SDN list, which gives none and says so.
func TestConsolidatedListImport(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	us := sanctionsDir(t, "us_csl", "consolidated-excerpt.csv")
	out := mustRun(t, "labels", "import", "--store", store, "--format", "us-csl-csv", filepath.Join(us, "consolidated-excerpt.csv"))
	if !strings.Contains(out, `imported 634 labels and 533 entities as source "us-csl"`) || !strings.Contains(out, "PROGRAMME") || !strings.Contains(out, "XBT       484") {
		t.Fatalf("import summary:\n%s", out)
	}
	var res []struct {
		Severity string `json:"severity"`
		Labels   []struct {
			Label, Source, Ref string
			Programs           []string
		} `json:"labels"`
	}
	out = mustRun(t, "screen", "--store", store, "--json", "0x098b716b8aaf21512996dc57eb0615e2383e2f96")
	if err := jsonUnmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Severity != "severe" || len(res[0].Labels) != 1 || res[0].Labels[0].Label != "LAZARUS GROUP" ||
		res[0].Labels[0].Source != "us-csl" || res[0].Labels[0].Ref != "27307" || len(res[0].Labels[0].Programs) != 1 || res[0].Labels[0].Programs[0] != "DPRK3" {
		t.Fatalf("screen: %s", out)
	}
	non := sanctionsDir(t, "ofac_non_sdn", "cons_prim.csv", "cons_add.csv", "cons_alt.csv", "cons_comments.csv")
	out = mustRun(t, "labels", "import", "--store", store, "--format", "ofac-non-sdn-csv", non)
	if !strings.Contains(out, `imported 0 labels and 442 entities as source "ofac-non-sdn"`) || !strings.Contains(out, "no digital currency addresses listed") || strings.Contains(out, "CURRENCY") {
		t.Fatalf("non-SDN import:\n%s", out)
	}
}

const ukslExcerpt = "../../testdata/sanctions/uk_sanctions_list/UK_Sanctions_List-excerpt.ods"

// TestUKSanctionsListImport imports the UK Sanctions List spreadsheet:
// Garantex's addresses screen as sanctioned under the UK designation, its
// name is found; a broken spreadsheet is refused and the store keeps what
// it had.
func TestUKSanctionsListImport(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	out := mustRun(t, "labels", "import", "--store", store, ukslExcerpt)
	if !strings.Contains(out, `imported 3 labels and 152 entities as source "uk-sanctions-list" (the list of 2022-11-30)`) ||
		!strings.Contains(out, "The Russia (Sanctions) (EU Exit) Regulations 2019") || !strings.Contains(out, "USDT      1") {
		t.Fatalf("import summary:\n%s", out)
	}
	var res []struct {
		Severity string `json:"severity"`
		Rule     string `json:"rule"`
	}
	out = mustRun(t, "screen", "--store", store, "--json", "0x7ff9cfad3877f21d41da833e2f775db0569ee3d9", "3E6ZCKRrsdPc35chA9Eftp1h3DLW18NFNV")
	if err := jsonUnmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Severity != "severe" || r.Rule != "sanctioned: GARANTEX EUROPE OU (uk-sanctions-list RUS1421)" {
			t.Fatalf("screen: %s", out)
		}
	}
	if len(res) != 2 {
		t.Fatalf("screen: %s", out)
	}
	if out := mustRun(t, "names", "--store", store, "Garantex Europe"); !strings.Contains(out, "uk-sanctions-list RUS1421") ||
		!regexp.MustCompile(`^[\d,]+ match(es)? among \d{1,3}(,\d{3})* listed entries \(\d{1,3}(,\d{3})* names\)`).MatchString(out) {
		t.Fatalf("names:\n%s", out)
	}
	// OFAC lists Garantex's Bitcoin address too: the rule names both lists.
	other := filepath.Join(t.TempDir(), "labels")
	mustRun(t, "labels", "import", "--store", other, ukslExcerpt, ofacTestDir(t))
	res = nil
	if err := jsonUnmarshal(mustRun(t, "screen", "--store", other, "--json", "3Lpoy53K625zVeE47ZasiG5jGkAxJ27kh1"), &res); err != nil || len(res) != 1 ||
		res[0].Rule != "sanctioned: GARANTEX EUROPE OU (ofac-sdn 36025; uk-sanctions-list RUS1421)" {
		t.Fatalf("screen of an address two lists name: %+v %v", res, err)
	}
	var srcs []label.SourceInfo
	before := mustRun(t, "labels", "sources", "--store", store, "--json")
	if err := jsonUnmarshal(before, &srcs); err != nil || len(srcs) != 1 || srcs[0].Dated != "2022-11-30" || srcs[0].Format != "uk-sanctions-list-ods" {
		t.Fatalf("sources: %s", before)
	}
	broken := filepath.Join(t.TempDir(), "list.ods")
	os.WriteFile(broken, []byte("not a spreadsheet"), 0o644)
	if r := run(t, "labels", "import", "--store", store, broken); r.code == 0 || !strings.Contains(r.stderr, broken+": not an OpenDocument spreadsheet") {
		t.Fatalf("broken: exit %d %s", r.code, r.stderr)
	}
	if after := mustRun(t, "labels", "sources", "--store", store, "--json"); after != before {
		t.Fatalf("the store changed:\n%s\n%s", before, after)
	}
	// Labels of another format version are refused: exit 5.
	db, err := pebble.Open(labelsDir(store), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Set([]byte{'v'}, []byte{9, 0, 0, 0}, pebble.Sync)
	db.Close()
	for _, args := range [][]string{{"labels", "sources"}, {"labels", "import", ukslExcerpt}, {"screen", "3Lpoy53K625zVeE47ZasiG5jGkAxJ27kh1"}} {
		if r := run(t, append(args, "--store", store)...); r.code != exitStore || !strings.Contains(r.stderr, "has format version 9; this spur reads version 1") {
			t.Errorf("%v on labels of version 9: exit %d %s", args, r.code, r.stderr)
		}
	}
}

// TestListChanges: a list imported again says what changed since the
// last import: the OFAC SDN list less LAZARUS GROUP's entry (as on a
// delisting), then whole again (a designation), its eight Ethereum
// addresses and the entry going and coming back; the same list once more
// changes nothing.
func TestListChanges(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	full := ofacTestDir(t)
	less := ofacTestDir(t)
	b, err := os.ReadFile(filepath.Join(less, "sdn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if !strings.HasPrefix(line, "27307,") {
			kept = append(kept, line)
		}
	}
	os.WriteFile(filepath.Join(less, "sdn.csv"), []byte(strings.Join(kept, "")), 0o644)
	if out := mustRun(t, "labels", "import", "--store", store, less); strings.Contains(out, "since") {
		t.Fatalf("a first import with changes:\n%s", out)
	}
	type change struct {
		Since            string
		AddressesAdded   []string                    `json:"addresses_added"`
		AddressesRemoved []string                    `json:"addresses_removed"`
		EntriesAdded     []struct{ ID, Name string } `json:"entries_added"`
		EntriesRemoved   []struct{ ID, Name string } `json:"entries_removed"`
	}
	var doc struct {
		Changes change `json:"changes"`
	}
	if err := jsonUnmarshal(mustRun(t, "labels", "import", "--store", store, full, "--json"), &doc); err != nil {
		t.Fatal(err)
	}
	ch := doc.Changes
	if !strings.HasPrefix(ch.Since, "the import of ") || len(ch.AddressesAdded) != 8 || !slices.Contains(ch.AddressesAdded, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96") ||
		len(ch.EntriesAdded) != 1 || ch.EntriesAdded[0].ID != "27307" || ch.EntriesAdded[0].Name != "LAZARUS GROUP" || len(ch.EntriesRemoved) != 0 {
		t.Fatalf("the designation: %+v", ch)
	}
	out := mustRun(t, "labels", "import", "--store", store, less)
	if !strings.Contains(out, "0 addresses added, 8 removed; 0 entries added, 1 removed") || !strings.Contains(out, "  - 0x098B716B8Aaf21512996dC57EB0615e2383E2f96") ||
		!strings.Contains(out, "  - entry 27307 LAZARUS GROUP") {
		t.Fatalf("the delisting:\n%s", out)
	}
	if out := mustRun(t, "labels", "import", "--store", store, less); !strings.Contains(out, "no change since the import of ") {
		t.Fatalf("the same list again:\n%s", out)
	}
}

// TestLabelsRelabelled imports a list again with one address put in
// another category and one renamed: each is said relabelled, the others
// not; the same list once more changes nothing.
func TestLabelsRelabelled(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	list := filepath.Join(t.TempDir(), "list.csv")
	write := func(rows ...string) {
		os.WriteFile(list, []byte("address,chain,category,label,actor\n"+strings.Join(rows, "\n")+"\n"), 0o644)
	}
	a := "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
	b := "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"
	c := "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
	write(a+",btc,exchange,Shop,", b+",eth,exchange,Desk,", b+",eth,exchange,Desk,", c+",btc,mixer,Mix,")
	mustRun(t, "labels", "import", "--store", store, "--source", "list", list)
	// a now sanctioned, b's address in lower case and its duplicate gone
	// (the same label), c renamed.
	write(a+",btc,sanctioned,Shop,", strings.ToLower(b)+",eth,exchange,Desk,", c+",btc,mixer,Mix two,")
	var doc struct {
		Changes struct {
			Added      []string `json:"addresses_added"`
			Removed    []string `json:"addresses_removed"`
			Relabelled []string `json:"relabelled"`
		} `json:"changes"`
	}
	if err := jsonUnmarshal(mustRun(t, "labels", "import", "--store", store, "--source", "list", list, "--json"), &doc); err != nil ||
		len(doc.Changes.Added)+len(doc.Changes.Removed) != 0 || !slices.Equal(doc.Changes.Relabelled, []string{c, a}) {
		t.Fatalf("relabelled: %+v %v", doc.Changes, err)
	}
	write(a+",btc,exchange,Shop,", b+",eth,exchange,Desk,", c+",btc,mixer,Mix,")
	if out := mustRun(t, "labels", "import", "--store", store, "--source", "list", list); !strings.Contains(out, "0 addresses added, 0 removed, 2 relabelled; 0 entries added, 0 removed") ||
		!strings.Contains(out, "  ~ "+a+"\n") || !strings.Contains(out, "  ~ "+c+"\n") || strings.Contains(out, "~ "+b) {
		t.Fatalf("relabelled back:\n%s", out)
	}
	if out := mustRun(t, "labels", "import", "--store", store, "--source", "list", list); !strings.Contains(out, "no change since the import of ") {
		t.Fatalf("the same list again:\n%s", out)
	}
}

func TestLabelsImportAndScreen(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	ofac := ofacTestDir(t)
	out := mustRun(t, "labels", "import", "--store", store, "--format", "ofac-sdn-csv", ofac)
	if !strings.Contains(out, "imported 760 labels and 18,494 entities") || !strings.Contains(out, "XBT       519") {
		t.Fatalf("import summary:\n%s", out)
	}
	if out := mustRun(t, "labels", "sources", "--store", store); !regexp.MustCompile(`\n\S+ +ofac-sdn-csv +760 +18,494 +0 `).MatchString(out) {
		t.Fatalf("labels sources:\n%s", out)
	}
	// A label with no name of its own is shown by its category alone.
	ltc := filepath.Join(t.TempDir(), "ltc.csv")
	os.WriteFile(ltc, []byte("address,chain,category,label\nLbonesGyyeUDpQqtZQMmBUPJSEg4jHhUvb,ltc,gambling,\n"), 0o644)
	ltcStore := filepath.Join(t.TempDir(), "ltc")
	mustRun(t, "labels", "import", "--store", ltcStore, ltc)
	if out := mustRun(t, "screen", "--store", ltcStore, "LbonesGyyeUDpQqtZQMmBUPJSEg4jHhUvb"); !regexp.MustCompile(`\nLbonesGyyeUDpQqtZQMmBUPJSEg4jHhUvb +ltc +low +no rule matched +gambling +-\n`).MatchString(out) {
		t.Fatalf("screen of a label without a name:\n%s", out)
	}
	var res []struct {
		Address  string `json:"address"`
		Chain    string `json:"chain"`
		Severity string `json:"severity"`
		Labels   []struct {
			Label    string `json:"label"`
			Category string `json:"category"`
		} `json:"labels"`
	}
	out = mustRun(t, "screen", "--store", store, "--json", "0X098B716B8AAF21512996DC57EB0615E2383E2F96", "194xmrZA53UBsZau2PnJLdmVVW9m5feeS", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
	if err := jsonUnmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Address != "0x098B716B8Aaf21512996dC57EB0615e2383E2f96" || res[0].Severity != "severe" || res[0].Labels[0].Label != "LAZARUS GROUP" ||
		res[1].Severity != "severe" || res[1].Chain != "btc" || res[2].Severity != "low" || len(res[2].Labels) != 0 {
		t.Fatalf("screen: %s", out)
	}
	// A list on standard input ("-"), with a comment and a blank line.
	cmd := exec.Command(spurBin, "screen", "--store", store, "--json", "-")
	cmd.Stdin = strings.NewReader("# to screen\n0X098B716B8AAF21512996DC57EB0615E2383E2F96\n\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n")
	got, err := cmd.Output()
	var fromStdin []struct{ Severity string }
	if err != nil || jsonUnmarshal(string(got), &fromStdin) != nil || len(fromStdin) != 2 || fromStdin[0].Severity != "severe" || fromStdin[1].Severity != "low" {
		t.Fatalf("screen -: %v %s", err, got)
	}
	cmd = exec.Command(spurBin, "screen", "--store", store, "-")
	cmd.Stdin = strings.NewReader("# nothing\n")
	if msg, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != exitUsage || !strings.Contains(string(msg), "standard input held no addresses") {
		t.Fatalf("screen - of nothing: %v %s", err, msg)
	}
	// Filters match in any case; a value no label has is named, with the
	// values the labels have.
	var ethSanctioned []struct{ Address string }
	if err := jsonUnmarshal(mustRun(t, "labels", "list", "--store", store, "--category", "sanctioned", "--chain", "eth", "--json"), &ethSanctioned); err != nil || len(ethSanctioned) < 2 {
		t.Fatalf("labels list --json: %d labels, %v", len(ethSanctioned), err)
	}
	// The table says how many --limit left out.
	if out := mustRun(t, "labels", "list", "--store", store, "--category", "SANCTIONED", "--chain", "ETH", "--limit", "1"); !strings.Contains(out, "sanctioned") ||
		!strings.HasSuffix(out, fmt.Sprintf("\n%s more (--limit 0 lists them all)\n", thousands(int64(len(ethSanctioned)-1)))) {
		t.Fatalf("labels list in upper case:\n%s", out)
	}
	// A category as another source names it is spur's.
	if out := mustRun(t, "labels", "list", "--store", store, "--category", "sanction", "--limit", "1"); !strings.Contains(out, "sanctioned") {
		t.Fatalf("labels list of GraphSense's sanction:\n%s", out)
	}
	if r := run(t, "labels", "list", "--store", store, "--category", "sanctionned"); r.code != 0 || strings.Contains(r.stdout, "ofac") ||
		!strings.Contains(r.stderr, `no label has category "sanctionned"; the labels have: sanctioned`) {
		t.Fatalf("labels list of a category no label has: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A file with no labels would empty its source: refused unless asked
	// for; a source that shrinks by more than half is noted.
	two := filepath.Join(t.TempDir(), "two.csv")
	os.WriteFile(two, []byte("address,chain,category,label,actor,source\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,btc,exchange,A,,t\n12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S,btc,exchange,B,,t\n1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3,btc,exchange,C,,t\n"), 0o644)
	mustRun(t, "labels", "import", "--store", store, "--format", "csv", "--source", "shrinks", two)
	none := filepath.Join(t.TempDir(), "none.csv")
	os.WriteFile(none, []byte("address,chain,category,label,actor,source\n"), 0o644)
	if r := run(t, "labels", "import", "--store", store, "--format", "csv", "--source", "shrinks", none); r.code != exitBadInput || !strings.Contains(r.stderr, "--allow-empty") {
		t.Fatalf("empty import: exit %d %s", r.code, r.stderr)
	}
	if out := mustRun(t, "labels", "list", "--store", store, "--source", "shrinks"); strings.Count(out, "exchange") != 3 {
		t.Fatalf("a refused empty import changed the source:\n%s", out)
	}
	os.WriteFile(two, []byte("address,chain,category,label,actor,source\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,btc,exchange,A,,t\n"), 0o644)
	if r := run(t, "labels", "import", "--store", store, "--format", "csv", "--source", "shrinks", two); r.code != 0 || !strings.Contains(r.stderr, `source "shrinks" had 3 labels and now has 1`) {
		t.Fatalf("shrinking import: exit %d %s", r.code, r.stderr)
	}
	mustRun(t, "labels", "import", "--store", store, "--format", "csv", "--source", "shrinks", "--allow-empty", none)
	// One character off is a typo to fix, not an unknown address to pass.
	if r := run(t, "screen", "--store", store, "194xmrZA53UBsZau2PnJLdmVVW9m5feeT"); r.code != exitUsage || !strings.Contains(r.stderr, "checksum") {
		t.Fatalf("screen of a mistyped address: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "screen", "--store", store, " "); r.code != exitUsage {
		t.Fatalf("screen of an empty address: exit %d %s", r.code, r.stderr)
	}

	// Actors are found by name, in any case.
	if out := mustRun(t, "actor", "lazarus group", "--store", store); !strings.Contains(out, "8 labels on 8 addresses") {
		t.Fatalf("actor:\n%s", out)
	}
	if r := run(t, "actor", "Nobody At All", "--store", store); r.code != exitNotFound {
		t.Fatalf("unknown actor: exit %d", r.code)
	}
	if r := run(t, "actor", " ", "--store", store); r.code != exitUsage || !strings.Contains(r.stderr, "give an actor's name") {
		t.Fatalf("no name: exit %d %s", r.code, r.stderr)
	}
	// Part of a name: not found, with the names that contain it.
	if r := run(t, "actor", "lazarus", "--store", store); r.code != exitNotFound || !strings.Contains(r.stderr, "names that contain it: LAZARUS GROUP") {
		t.Fatalf("part of an actor's name: exit %d %s", r.code, r.stderr)
	}
	// A TagPack adds a source; a malformed one is refused and changes nothing.
	tp := filepath.Join(t.TempDir(), "exchanges.yaml")
	os.WriteFile(tp, []byte("title: x\ncategory: exchange\ncurrency: BTC\ntags:\n  - address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n    label: Genesis\n"), 0o644)
	mustRun(t, "labels", "import", "--store", store, "--format", "tagpack", tp)
	before := mustRun(t, "labels", "list", "--store", store, "--json")
	os.WriteFile(tp, []byte("title: x\ncategory: exchange\ntags:\n  - label: no address\n"), 0o644)
	r := run(t, "labels", "import", "--store", store, "--format", "tagpack", tp)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "exchanges.yaml: line 4") {
		t.Fatalf("malformed tagpack: exit %d: %s", r.code, r.stderr)
	}
	if after := mustRun(t, "labels", "list", "--store", store, "--json"); after != before {
		t.Fatal("a refused import changed the labels")
	}
	if r := run(t, "labels", "import", "--store", store, "--format", "xml", tp); r.code != exitUsage {
		t.Fatalf("unknown format: exit %d", r.code)
	}
	out = mustRun(t, "labels", "list", "--store", store, "--category", "exchange")
	if !strings.Contains(out, "Genesis") || strings.Contains(out, "LAZARUS") {
		t.Fatalf("filtered list:\n%s", out)
	}
}

func TestNames(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	mustRun(t, "labels", "import", "--store", store, "--format", "ofac-sdn-csv", ofacTestDir(t))
	var res struct {
		Matches []struct {
			Score   float64 `json:"score"`
			Name    string  `json:"name"`
			Entries []struct {
				Source string `json:"source"`
				ID     string `json:"id"`
			} `json:"entries"`
		} `json:"matches"`
	}
	if err := jsonUnmarshal(mustRun(t, "names", "Lazarus Group", "--store", store, "--json"), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) == 0 || res.Matches[0].Score != 1 || res.Matches[0].Entries[0].ID != "27307" {
		t.Fatalf("exact name: %+v", res.Matches)
	}
	// A weak alias, which OFAC gives in the entry's remarks, finds the
	// party and says so; so does the table.
	var weak struct {
		Matches []struct {
			Name        string `json:"name"`
			Explanation struct {
				MatchedName string `json:"matched_name"`
				WeakAlias   bool   `json:"weak_alias"`
			} `json:"explanation"`
		} `json:"matches"`
	}
	if err := jsonUnmarshal(mustRun(t, "names", "hidden cobra", "--store", store, "--json"), &weak); err != nil {
		t.Fatal(err)
	}
	if len(weak.Matches) == 0 || weak.Matches[0].Name != "LAZARUS GROUP" || weak.Matches[0].Explanation.MatchedName != "HIDDEN COBRA" || !weak.Matches[0].Explanation.WeakAlias {
		t.Fatalf("weak alias: %+v", weak.Matches)
	}
	if out := mustRun(t, "names", "Stardust Chollima", "--store", store); !strings.Contains(out, "STARDUST CHOLLIMA (weak alias)") {
		t.Fatalf("weak alias, table:\n%s", out)
	}
	// The actor by an alias: the party's labels; an alias of a party
	// without any is named as such.
	incidents := filepath.Join(t.TempDir(), "incidents.yaml")
	os.WriteFile(incidents, []byte("incidents:\n  - id: ronin\n    victim: Ronin Bridge\n    date: 2022-03-23\n    actor: Lazarus Group\n    chain: eth\n"+
		"    theft_txs: [0xc28fad5e8d5e0ce6a2eaf67b6687be5d58113e16be590824d6cfa1a94467d0b7]\n"), 0o644)
	mustRun(t, "incident", "import", "--store", store, incidents)
	var actor struct {
		AliasOf []string `json:"alias_of"`
		Labels  []struct {
			Label string `json:"label"`
		} `json:"labels"`
		Incidents []struct {
			ID string `json:"id"`
		} `json:"incidents"`
	}
	if err := jsonUnmarshal(mustRun(t, "actor", "Hidden Cobra", "--store", store, "--json"), &actor); err != nil {
		t.Fatal(err)
	}
	if len(actor.AliasOf) != 1 || actor.AliasOf[0] != "LAZARUS GROUP (ofac-sdn 27307)" || len(actor.Labels) != 8 || actor.Labels[0].Label != "LAZARUS GROUP" ||
		len(actor.Incidents) != 1 || actor.Incidents[0].ID != "ronin" {
		t.Fatalf("actor by alias: %+v", actor)
	}
	if r := run(t, "actor", "APT38", "--store", store); r.code != exitNotFound || !strings.Contains(r.stderr, "an alias of BLUENOROFF (ofac-sdn 27308)") {
		t.Fatalf("actor by the alias of a party without labels: exit %d %s", r.code, r.stderr)
	}
	// Names on standard input ("-"), with a comment and a blank line: each
	// name's best match, or none.
	cmd := exec.Command(spurBin, "names", "-", "--store", store)
	cmd.Stdin = strings.NewReader("# customers\nHidden Cobra\n\nJohn Q Nobody\n")
	got, err := cmd.Output()
	if err != nil || !strings.HasPrefix(string(got), "1 of 2 names match a listed party\n") || !regexp.MustCompile(`(?m)^Hidden Cobra +1\.000 +LAZARUS GROUP +ofac-sdn 27307 +HIDDEN COBRA \(weak alias\)$`).Match(got) ||
		!regexp.MustCompile(`(?m)^John Q Nobody +- +- +- +-$`).Match(got) {
		t.Fatalf("names from standard input: %v\n%s", err, got)
	}
	jsonUnmarshal(mustRun(t, "names", "--id", "0X098B716B8AAF21512996DC57EB0615E2383E2F96", "--store", store, "--json"), &res)
	if len(res.Matches) != 1 || res.Matches[0].Name != "LAZARUS GROUP" {
		t.Fatalf("by crypto address: %+v", res.Matches)
	}
	if r := run(t, "names", "--store", store); r.code != exitUsage {
		t.Fatalf("no query: exit %d", r.code)
	}
	if r := run(t, "names", "x", "--type", "planet", "--store", store); r.code != exitUsage {
		t.Fatalf("bad type: exit %d", r.code)
	}
	for _, limit := range []string{"0", "-1"} {
		if r := run(t, "names", "Kim", "--limit", limit, "--store", store); r.code != exitUsage {
			t.Fatalf("--limit %s: exit %d %s", limit, r.code, r.stderr)
		}
	}
}

// TestFormatDetected imports without --format: the format is told from the
// path (an OFAC directory, an extension, a CSV's header), said on standard
// error; a path that tells nothing is a usage error.
func TestFormatDetected(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	semicolons := filepath.Join(t.TempDir(), "mine.csv")
	os.WriteFile(semicolons, []byte("Address;Category;Label\r\n1BoatSLRHtKNngkdXEeobR76b53LETtpyT;scam;from a spreadsheet\r\n"), 0o644)
	for path, format := range map[string]string{
		semicolons:     "csv",
		ofacTestDir(t): "ofac-sdn-csv",
		"../../testdata/labels/etherscan-labels/data/bscscan/accounts/heist.json":                        "etherscan-json",
		"../../testdata/labels/forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv":          "forta-csv",
		"../../testdata/labels/etherscan-labels/data/arbiscan/tokens/phish-hack.csv":                     "etherscan-csv",
		filepath.Join(sanctionsDir(t, "us_csl", "consolidated-excerpt.csv"), "consolidated-excerpt.csv"): "us-csl-csv",
		filepath.Join(sanctionsDir(t, "uk_csl", "ConList.csv"), "ConList.csv"):                           "uk-csv",
		ukslExcerpt: "uk-sanctions-list-ods",
	} {
		if r := run(t, "labels", "import", "--store", store, path); r.code != 0 || !strings.Contains(r.stderr, "read as --format "+format) {
			t.Fatalf("%s: exit %d\n%s", path, r.code, r.stderr)
		}
	}
	odd := filepath.Join(t.TempDir(), "prices.csv")
	os.WriteFile(odd, []byte("date,asset,usd\n2021-01-01,BTC,29000\n"), 0o644)
	if r := run(t, "labels", "import", "--store", store, odd); r.code != exitUsage || !strings.Contains(r.stderr, "cannot tell the format") {
		t.Fatalf("a file of no label format: exit %d %s", r.code, r.stderr)
	}
	// A file that is not there is said to be missing, not of no format.
	if r := run(t, "labels", "import", "--store", store, odd+".gone"); r.code != exitFailure || !strings.Contains(r.stderr, "no such file") {
		t.Fatalf("a missing file: exit %d %s", r.code, r.stderr)
	}
}

// TestExplorerLabelsImport imports explorer and Forta labels from the
// shipped real files, their chains taken from the directories they are in,
// and screens them: the label rules grade a heist address high and a
// phishing address medium, as the API's rules do.
func TestExplorerLabelsImport(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	heist := "../../testdata/labels/etherscan-labels/data/bscscan/accounts/heist.json"
	out := mustRun(t, "labels", "import", "--store", store, "--format", "etherscan-json", heist)
	if !strings.Contains(out, `imported 57 labels and 0 entities as source "etherscan:bsc:heist"`) || !strings.Contains(out, "stolen-funds  57") {
		t.Fatalf("heist import:\n%s", out)
	}
	r := run(t, "labels", "import", "--store", store, "--format", "etherscan-json", "../../testdata/labels/etherscan-labels/data/optimism/combined/combinedAccountLabels.json")
	if r.code != 0 || !strings.Contains(r.stdout, `as source "etherscan:optimism:combinedAccountLabels"`) || !strings.Contains(r.stderr, `skipped 2 entries whose key is not an address: "", "genesis"`) {
		t.Fatalf("optimism import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	forta := "../../testdata/labels/forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv"
	if out := mustRun(t, "labels", "import", "--store", store, "--format", "forta-csv", "--chain", "eth", forta); !strings.Contains(out, `as source "forta:eth:etherscan_malicious_labels"`) {
		t.Fatalf("forta import:\n%s", out)
	}
	var res []struct{ Severity, Rule, Chain string }
	out = mustRun(t, "screen", "--store", store, "--json", "0xf3a465c9fa6663ff50794c698f600faa4b05c777", "0x80d7bb18521acbef32d7906502ebe94928690e93", "0x1111111111111111111111111111111111111111")
	if err := jsonUnmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Severity != "high" || !strings.HasPrefix(res[0].Rule, "stolen-funds: Ankr Exploiter (etherscan:bsc:heist") ||
		res[1].Severity != "medium" || !strings.HasPrefix(res[1].Rule, "scam: Fake_Phishing1772") || res[2].Severity != "low" {
		t.Fatalf("screen: %s", out)
	}
	// --chain is for these formats only.
	if r := run(t, "labels", "import", "--store", store, "--format", "csv", "--chain", "eth", heist); r.code != exitUsage {
		t.Fatalf("--chain with csv: exit %d\n%s", r.code, r.stderr)
	}
}

// TestLabelsImportMany imports several files at once (a shell glob), each
// as its own source; a bad file among them, or two that would be one
// source, change nothing.
func TestLabelsImportMany(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	heist := "../../testdata/labels/etherscan-labels/data/bscscan/accounts/heist.json"
	forta := "../../testdata/labels/forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv"
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("address,chain,category\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb,btc,exchange\n"), 0o644)
	dup := filepath.Join(t.TempDir(), "bscscan", "heist.json")
	os.MkdirAll(filepath.Dir(dup), 0o755)
	b, _ := os.ReadFile(heist)
	os.WriteFile(dup, b, 0o644)
	for _, args := range [][]string{{heist, forta, bad}, {heist, dup}, {heist, forta, "--source", "x"}} {
		if r := run(t, append([]string{"labels", "import", "--store", store}, args...)...); r.code == 0 {
			t.Fatalf("labels import %v: exit 0", args)
		}
		if _, err := os.Stat(store); err == nil {
			if out := mustRun(t, "labels", "sources", "--store", store); strings.Contains(out, "etherscan") {
				t.Fatalf("labels import %v failed but imported:\n%s", args, out)
			}
		}
	}
	var res []struct {
		Source string `json:"source"`
		Labels int    `json:"labels"`
	}
	if err := jsonUnmarshal(mustRun(t, "labels", "import", "--store", store, "--json", heist, forta), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Source != "etherscan:bsc:heist" || res[0].Labels != 57 || res[1].Source != "forta:eth:etherscan_malicious_labels" {
		t.Fatalf("two files: %+v", res)
	}
}

// TestLabelsImportTagPackDirectory imports a directory of GraphSense's
// TagPacks as GraphSense reads its repository: each pack below it is a
// source named by its path there, a pack of entities alone is passed over
// with a note, and the labels screen as their categories say.
func TestLabelsImportTagPackDirectory(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	packs := "../../testdata/labels/graphsense-tagpacks/packs"
	r := run(t, "labels", "import", "--store", store, "--json", packs)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var res []struct {
		Source string `json:"source"`
		Labels int    `json:"labels"`
	}
	if err := jsonUnmarshal(r.stdout, &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, x := range res {
		got[x.Source] = x.Labels
	}
	if len(got) != 3 || got["tagpack:blender_io"] != 45 || got["tagpack:address/lazarus"] != 20 || got["tagpack:address/hacks"] != 24 {
		t.Fatalf("sources: %+v", res)
	}
	if !strings.Contains(r.stderr, "ransomware.yaml holds no tags on addresses (128") || !strings.Contains(r.stderr, "directory of TagPacks (4)") {
		t.Errorf("notes: %s", r.stderr)
	}
	out := mustRun(t, "screen", "--store", store, "--json", "1HVi6re6zDr5c5v9Sk2mmL9u7svEHfiBt4", "3BazbaTP8ELJUEfPBV9z5HXEdgBziV9p7W", "1KuNvyWFqc5wBSWUCyJLDgv12vequwMMCS")
	for _, want := range []string{`"severity": "high"`, `"severity": "medium"`, `"category": "other"`} {
		if !strings.Contains(out, want) {
			t.Errorf("screen: no %s in\n%s", want, out)
		}
	}
	// The actor by the labels' name as by the actor the pack gives them.
	for _, name := range []string{"Blender.io", "blenderio"} {
		if out := mustRun(t, "actor", name, "--store", store); !strings.Contains(out, "45 labels on 45 addresses") {
			t.Errorf("actor %s:\n%s", name, out)
		}
	}
	if r := run(t, "actor", "bitcoinica", "--store", store); r.code != exitNotFound || !strings.Contains(r.stderr, "Bitcoinica hack; Bitcoinica.com") {
		t.Errorf("actor bitcoinica: exit %d: %s", r.code, r.stderr)
	}
	// A repository's own hidden directories hold no packs.
	repo := t.TempDir()
	os.MkdirAll(filepath.Join(repo, ".github", "workflows"), 0o755)
	os.WriteFile(filepath.Join(repo, ".github", "workflows", "validate.yml"), []byte("name: validate\non: push\njobs: {}\n"), 0o644)
	b, _ := os.ReadFile(filepath.Join(packs, "blender_io.yaml"))
	os.WriteFile(filepath.Join(repo, "blender_io.yaml"), b, 0o644)
	if r := run(t, "labels", "import", "--store", filepath.Join(t.TempDir(), "s"), repo); r.code != 0 || !strings.Contains(r.stdout, `source "tagpack:blender_io"`) {
		t.Errorf("a repository with .github: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	// The entity pack alone is refused, saying why.
	r = run(t, "labels", "import", "--store", store, filepath.Join(packs, "entity", "ransomware.yaml"))
	if r.code != exitBadInput || !strings.Contains(r.stderr, "its 128 tags are on transactions or GraphSense entities") {
		t.Errorf("entity pack alone: exit %d: %s", r.code, r.stderr)
	}
	// A directory holding no packs is refused; --source cannot name many.
	if r := run(t, "labels", "import", "--store", store, "--format", "tagpack", t.TempDir()); r.code != exitBadInput || !strings.Contains(r.stderr, "holds no TagPacks") {
		t.Errorf("empty directory: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "labels", "import", "--store", store, "--source", "x", packs); r.code != exitUsage {
		t.Errorf("--source with a directory: exit %d: %s", r.code, r.stderr)
	}
}

// TestPricesImportExports imports one asset's prices per file as Yahoo
// Finance and CoinGecko export them, the asset from the file's name or
// --asset; files are all read before any is imported.
func TestPricesImportExports(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	yahoo := write("BTC-USD.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2021-08-18,1,1,1,44801.18,1,1\n2021-08-19,1,1,1,46717.58,1,1\n")
	gecko := write("chainlink.csv", "snapped_at,price,market_cap,total_volume\n2021-08-20 00:00:00 UTC,25.5,1,1\n")
	var got struct{ Days map[string]int }
	r := run(t, "prices", "import", "--store", store, "--json", yahoo)
	if r.code != 0 || jsonUnmarshal(r.stdout, &got) != nil || got.Days["BTC"] != 2 || !strings.Contains(r.stderr, "read as BTC's prices (yahoo)") {
		t.Fatalf("yahoo: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "prices", "import", "--store", store, gecko); r.code != exitBadInput || !strings.Contains(r.stderr, "give --asset") {
		t.Errorf("a file whose name says no asset: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "prices", "import", "--store", store, "--asset", "LINK", gecko, yahoo); r.code != exitUsage {
		t.Errorf("--asset with two files: exit %d %s", r.code, r.stderr)
	}
	bad := write("ETH-USD.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2021-08-19,1,1,1,oops,1,1\n")
	if r := run(t, "prices", "import", "--store", store, yahoo, bad); r.code != exitBadInput || !strings.Contains(r.stderr, "ETH-USD.csv: line 2: price") {
		t.Errorf("a bad file among good ones: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "prices", "import", "--store", store, "--json", "--asset", "link", gecko); r.code != 0 || !strings.Contains(r.stdout, `"LINK": 1`) {
		t.Errorf("--asset: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestScreenAsTheAPI: spur screen answers as POST /v1/screen does, the same
// items giving the same severity, rule and exposures: an address paid from
// a labelled one (direct and indirect exposure), a transaction spending a
// labelled address's coins (deposit), and a mistyped txid or one the store
// does not hold.
func TestScreenAsTheAPI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "230", "-q")
	list := filepath.Join(t.TempDir(), "l.csv")
	// Satoshi's block-9 address, labelled stolen: Hal Finney was paid from it.
	os.WriteFile(list, []byte("address,category,label\n12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S,stolen-funds,Test theft\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, "--format", "csv", list)
	const hal, halTx = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	// Block 221's transaction spends the coins of 1LzBzVqEeuQyjD..., which
	// Satoshi's address paid it at block 182: two transactions back, not
	// directly.
	const later = "298ca2045d174f8a158961806ffc4ef96fad02d71a6b84d9fa0491813a776160"
	type result struct {
		Severity string `json:"severity"`
		Rule     string `json:"rule"`
		Direct   []struct {
			Category string  `json:"category"`
			Share    float64 `json:"share"`
		} `json:"direct_exposure"`
		Indirect []struct {
			Category string  `json:"category"`
			Share    float64 `json:"share"`
		} `json:"indirect_exposure"`
	}
	var cli []result
	if err := jsonUnmarshal(mustRun(t, "screen", "--store", dir, "--json", hal, "--tx", halTx+","+later), &cli); err != nil {
		t.Fatal(err)
	}
	if len(cli) != 3 || cli[0].Severity != "high" || len(cli[0].Direct) != 1 || cli[0].Direct[0].Category != "stolen-funds" || cli[0].Direct[0].Share != 1 ||
		len(cli[0].Indirect) == 0 || cli[1].Severity != "high" || cli[1].Rule != "direct exposure to stolen-funds: 100.0%" {
		t.Fatalf("spur screen: %+v", cli)
	}
	// The later deposit: nothing direct, all of it stolen two back.
	if c := cli[2]; c.Severity != "high" || len(c.Direct) != 0 || len(c.Indirect) != 1 || c.Indirect[0].Category != "stolen-funds" || c.Indirect[0].Share != 1 {
		t.Fatalf("a deposit three transactions from the theft: %+v", c)
	}
	var withdrawal []result
	if err := jsonUnmarshal(mustRun(t, "screen", "--store", dir, "--json", "--tx", later, "--direction", "withdrawal"), &withdrawal); err != nil || len(withdrawal) != 1 || withdrawal[0].Severity != "low" || len(withdrawal[0].Indirect) != 0 {
		t.Fatalf("the same as a withdrawal: %+v %v", withdrawal, err)
	}
	srv := startServe(t, "--store", dir, "--no-auth")
	resp, err := http.Post(srv.base+"/v1/screen", "application/json", strings.NewReader(`{"items":[{"address":"`+hal+`"},{"tx":"`+halTx+`"},{"tx":"`+later+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var viaAPI struct{ Results []result }
	err = json.NewDecoder(resp.Body).Decode(&viaAPI)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaAPI.Results, cli) {
		t.Errorf("the API %+v, spur screen %+v", viaAPI.Results, cli)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.done
	if r := run(t, "screen", "--store", dir, halTx); r.code != exitUsage || !strings.Contains(r.stderr, "--tx") {
		t.Errorf("a txid as an address: exit %d %s", r.code, r.stderr)
	}
	// Errors name the item as given on the command line, not as the API
	// names its place in a request.
	if r := run(t, "screen", "--store", dir, "--tx", halTx[:60]); r.code != exitUsage || !strings.Contains(r.stderr, "--tx "+halTx[:60]+": ") || strings.Contains(r.stderr, "items[") {
		t.Errorf("a txid cut short: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "screen", "--store", dir, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "--tx", strings.Repeat("ab", 32)); r.code != exitNotFound || !strings.Contains(r.stderr, "--tx "+strings.Repeat("ab", 32)+": ") || strings.Contains(r.stderr, "items[") {
		t.Errorf("a txid the store lacks: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "screen", "--store", dir, "--tx", "0x"+strings.Repeat("ab", 32)); r.code != exitNotFound || !strings.Contains(r.stderr, "this store holds no Ethereum chain") {
		t.Errorf("an Ethereum transaction where the store holds no Ethereum: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "screen", "--store", dir, "bc1qxyz"); r.code != exitUsage || !strings.Contains(r.stderr, "not a Bitcoin segwit address") {
		t.Errorf("a segwit address cut short: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "screen", "--store", dir, "--tx", halTx, "--direction", "sideways"); r.code != exitUsage {
		t.Errorf("--direction sideways: exit %d %s", r.code, r.stderr)
	}
}

// TestActorPacks: a TagPack repository's ActorPacks are imported with its
// packs (GraphSense's own: an excerpt of its curated pack, contexts and
// all, and its proof-of-reserves pack, whose header gives the category);
// spur actor
// finds an actor by its id, label or an alias, with the labels whose tags
// name it by id; a malformed ActorPack is refused with its line, changing
// nothing.
func TestActorPacks(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	r := run(t, "labels", "import", "--store", store, "--json", "../../testdata/labels/graphsense-tagpacks")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var srcs []label.SourceInfo
	if err := jsonUnmarshal(mustRun(t, "labels", "sources", "--store", store, "--json"), &srcs); err != nil {
		t.Fatal(err)
	}
	actors := map[string]int{}
	for _, s := range srcs {
		actors[s.Source] = s.Actors
	}
	if len(srcs) != 5 || actors["actorpack:actors/graphsense.actorpack"] != 13 || actors["actorpack:actors/vasps_proof_of_reserves"] != 8 {
		t.Fatalf("sources: %+v", srcs)
	}
	// The header's category is every actor's that gives none.
	if out := mustRun(t, "actor", "okx", "--store", store); !strings.Contains(out, "actor okx (old okex, okb cryptocurrency) (okx, actorpack:actors/vasps_proof_of_reserves): exchange; jurisdictions BS, SC") {
		t.Fatalf("actor okx:\n%s", out)
	}
	var got struct {
		Labels []label.Label `json:"labels"`
		Actors []label.Actor `json:"actors"`
	}
	if err := jsonUnmarshal(mustRun(t, "actor", "1COIN", "--store", store, "--json"), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Actors) != 1 || got.Actors[0].Label != "1Coin" || !reflect.DeepEqual(got.Actors[0].Jurisdictions, []string{"CA"}) || got.Actors[0].LastMod != "2023-02-17" || len(got.Labels) != 0 {
		t.Fatalf("actor 1COIN: %+v", got)
	}

	// An actor a pack's tags name by id, asked for by an alias.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "services.actorpack.yaml"), []byte("title: Services\ncreator: tests\nlastmod: 2023-05-02\nactors:\n"+
		"  - id: kettle_exchange\n    uri: kettle.example\n    label: Kettle Exchange\n    aliases: [Kettle Ltd]\n    jurisdictions: [SC]\n    categories: [exchange]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "deposits.yaml"), []byte("title: Deposits\ncreator: tests\ncategory: exchange\ncurrency: BTC\nactor: kettle_exchange\ntags:\n"+
		"  - address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n    label: hot wallet\n  - address: 12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX\n    label: deposit\n"), 0o644)
	mustRun(t, "labels", "import", "--store", store, dir)
	out := mustRun(t, "actor", "kettle ltd", "--store", store)
	for _, want := range []string{"2 labels on 2 addresses", "actor Kettle Exchange (kettle_exchange, actorpack:services.actorpack): exchange; jurisdictions SC", "hot wallet"} {
		if !strings.Contains(out, want) {
			t.Fatalf("actor kettle ltd: no %q in\n%s", want, out)
		}
	}
	var listed []label.Label
	if err := jsonUnmarshal(mustRun(t, "labels", "list", "--store", store, "--actor", "Kettle Exchange", "--json"), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("labels list --actor by the actor's label: %+v (%v)", listed, err)
	}

	before := mustRun(t, "labels", "sources", "--store", store, "--json")
	bad := filepath.Join(dir, "bad.actorpack.yaml")
	os.WriteFile(bad, []byte("title: Bad\ncreator: tests\nactors:\n  - id: x\n    uri: x.example\n    label: X\n    categories: [exchange]\n    jurisdictions: [Seychelles]\n"), 0o644)
	if r := run(t, "labels", "import", "--store", store, bad); r.code != exitBadInput || !strings.Contains(r.stderr, "bad.actorpack.yaml: line 4: actor \"x\": jurisdiction \"Seychelles\"") {
		t.Fatalf("a malformed actor pack: exit %d: %s", r.code, r.stderr)
	}
	if after := mustRun(t, "labels", "sources", "--store", store, "--json"); after != before {
		t.Fatalf("a refused import changed the sources:\n%s", after)
	}
}

// TestOFACXMLImport imports OFAC's XML forms, told by their root element:
// Lazarus Group's address screens as sanctioned under its SDN entry, its
// weak alias and a person of the list are found by name; the other form
// of the same entries changes nothing; a cut file is refused with its line
// and the store keeps what it had.
func TestOFACXMLImport(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	const dir = "../../testdata/sanctions/ofac_xml/"
	r := run(t, "labels", "import", "--store", store, dir+"SDN_ADVANCED.XML")
	if r.code != 0 || !strings.Contains(r.stdout, `imported 1 label and 2 entities as source "ofac-sdn" (the list of 2025-12-24)`) ||
		!regexp.MustCompile(`(?m)^ETH +1$`).MatchString(r.stdout) || !strings.Contains(r.stderr, "ofac-advanced-xml") {
		t.Fatalf("import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res []struct {
		Severity string `json:"severity"`
		Rule     string `json:"rule"`
		Labels   []struct {
			Programs []string
		} `json:"labels"`
	}
	out := mustRun(t, "screen", "--store", store, "--json", "0x098b716b8aaf21512996dc57eb0615e2383e2f96")
	if err := jsonUnmarshal(out, &res); err != nil || len(res) != 1 || res[0].Severity != "severe" || res[0].Rule != "sanctioned: LAZARUS GROUP (ofac-sdn 27307)" ||
		len(res[0].Labels) != 1 || !slices.Equal(res[0].Labels[0].Programs, []string{"DPRK3"}) {
		t.Fatalf("screen: %s %v", out, err)
	}
	for q, want := range map[string]string{"Hidden Cobra": "ofac-sdn 27307", "Park Jin Hyok": "ofac-sdn 24918"} {
		if out := mustRun(t, "names", "--store", store, q); !strings.Contains(out, want) {
			t.Errorf("names %q:\n%s", q, out)
		}
	}
	if out := mustRun(t, "labels", "import", "--store", store, dir+"SDN.XML"); !strings.Contains(out, "no change since") {
		t.Fatalf("the other form:\n%s", out)
	}
	before := mustRun(t, "labels", "sources", "--store", store, "--json")
	b, err := os.ReadFile(dir + "SDN_ADVANCED.XML")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "sdn_advanced.xml")
	os.WriteFile(cut, b[:len(b)/2], 0o644)
	if r := run(t, "labels", "import", "--store", store, cut); r.code == 0 || !strings.Contains(r.stderr, cut+": line ") {
		t.Fatalf("cut file: exit %d %s", r.code, r.stderr)
	}
	if after := mustRun(t, "labels", "sources", "--store", store, "--json"); after != before {
		t.Fatalf("the store changed:\n%s\n%s", before, after)
	}
}
