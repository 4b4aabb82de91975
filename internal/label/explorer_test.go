package label

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

const labelsData = "../../testdata/labels"

func countCategories(ls []Label) map[string]int {
	c := map[string]int{}
	for _, l := range ls {
		c[l.Category]++
	}
	return c
}

// TestEtherscanLabels reads the etherscan-labels project's two shapes on
// real files: Optimism's combined account labels, whose scrape holds two
// keys that are not addresses ("" and "genesis", skipped and reported),
// and BscScan's heist list, one slug's file. The expected counts come from
// an independent read of the files (Python's json module, each entry's
// riskiest slug).
func TestEtherscanLabels(t *testing.T) {
	p := filepath.Join(labelsData, "etherscan-labels/data/optimism/combined/combinedAccountLabels.json")
	if c := ChainOfPath(p); c != "optimism" {
		t.Fatalf("chain of %s: %q", p, c)
	}
	res, err := ParseEtherscan(p, "optimism")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{Other: 456, Exchange: 1, Bridge: 3, DEX: 2, StolenFunds: 3, Scam: 3}
	if got := countCategories(res.Labels); !maps.Equal(got, want) {
		t.Errorf("categories %v, want %v", got, want)
	}
	if strings.Join(res.Skipped, "|") != "|genesis" {
		t.Errorf("skipped %q", res.Skipped)
	}
	for _, l := range res.Labels {
		if l.Chain != "optimism" || l.Label == "" || strings.ToLower(l.Address) != l.key {
			t.Fatalf("%+v", l)
		}
	}

	p = filepath.Join(labelsData, "etherscan-labels/data/bscscan/accounts/heist.json")
	if c := ChainOfPath(p); c != "bsc" {
		t.Fatalf("chain of %s: %q", p, c)
	}
	res, err = ParseEtherscan(p, "bsc")
	if err != nil {
		t.Fatal(err)
	}
	if got := countCategories(res.Labels); len(res.Labels) != 57 || got[StolenFunds] != 57 {
		t.Errorf("heist list: %v", got)
	}
	found := false
	ankr := common.HexToAddress("0xf3a465c9fa6663ff50794c698f600faa4b05c777").Hex() // EIP-55, by go-ethereum
	for _, l := range res.Labels {
		found = found || l.Address == ankr && l.Label == "Ankr Exploiter"
	}
	if !found {
		t.Error("Ankr Exploiter not labelled as written, EIP-55")
	}

	// Bad input: a syntax error named by line and column; an entry of
	// another shape named by its key.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{\n  \"0xf3a465c9fa6663ff50794c698f600faa4b05c777\": \"A\",\n  \"0x4714\" \"B\"\n}\n"), 0o644)
	if _, err := ParseEtherscan(bad, "eth"); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "line 3, column") {
		t.Errorf("syntax error: %v", err)
	}
	os.WriteFile(bad, []byte(`{"0xf3a465c9fa6663ff50794c698f600faa4b05c777": 7}`), 0o644)
	if _, err := ParseEtherscan(bad, "eth"); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `entry "0xf3a465c9fa6663ff50794c698f600faa4b05c777"`) {
		t.Errorf("entry of another shape: %v", err)
	}
}

// TestFortaLabels reads excerpts of Forta's three datasets (their
// PROVENANCE says which rows) and the one Optimism contract. The expected
// counts come from an independent read (Python's csv module, one label per
// address, category and tag).
func TestFortaLabels(t *testing.T) {
	dir := filepath.Join(labelsData, "forta-labelled-datasets/labels/1")
	for _, c := range []struct {
		file string
		want map[string]int
	}{
		{"etherscan_malicious_labels.csv", map[string]int{StolenFunds: 210, Scam: 153}},
		{"phishing_scams.csv", map[string]int{Scam: 135}},
		{"malicious_smart_contracts.csv", map[string]int{StolenFunds: 212, Scam: 58, "malicious-contract": 12}},
	} {
		p := filepath.Join(dir, c.file)
		if ch := ChainOfPath(p); ch != ChainETH {
			t.Fatalf("chain of %s: %q", p, ch)
		}
		res, err := ParseForta(p, ChainETH)
		if err != nil {
			t.Fatal(err)
		}
		if got := countCategories(res.Labels); !maps.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.file, got, c.want)
		}
	}
	p := filepath.Join(labelsData, "forta-labelled-datasets/labels/10/malicious_smart_contracts.csv")
	if ch := ChainOfPath(p); ch != "optimism" {
		t.Fatalf("chain of %s: %q", p, ch)
	}
	res, err := ParseForta(p, "optimism")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Labels) != 2 || res.Labels[0].Label != "Wintermute Exploiter Multisig" || res.Labels[1].Label != "Wintermute/OP Exploiter" ||
		res.Labels[0].Category != StolenFunds || res.Labels[1].Chain != "optimism" {
		t.Errorf("%+v", res.Labels)
	}

	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("banned_address,wallet_tag,data_source\n0x80d7bb18521acbef32d7906502ebe94928690e93,X,etherscan-phish-hack-list\n0x80d7,Y,etherscan-phish-hack-list\n"), 0o644)
	if _, err := ParseForta(bad, ChainETH); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("a bad address: %v", err)
	}
	os.WriteFile(bad, []byte("addr,tag\n0x80d7bb18521acbef32d7906502ebe94928690e93,X\n"), 0o644)
	if _, err := ParseForta(bad, ChainETH); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "none of Forta's datasets") {
		t.Errorf("another header: %v", err)
	}
}

// TestCategoryNames maps the names of GraphSense's taxonomy and
// Etherscan's slugs, in the cases and separators they are written in.
func TestCategoryNames(t *testing.T) {
	for in, want := range map[string]string{
		"mixing_service": Mixer, "Sanction": Sanctioned, "service_hack": StolenFunds, "ofac-sanctions-lists": Sanctioned,
		"phish-hack": Scam, "ponzi_scheme": Scam, "ransomware": Ransomware, "market": Darknet, "defi_dex": DEX,
		"exchange": Exchange, "user": "user", " Wallet Service ": "wallet-service", "": "",
	} {
		if got := Category(in); got != want {
			t.Errorf("Category(%q) = %q, want %q", in, got, want)
		}
	}
	if !(RiskRank(Sanctioned) > RiskRank(StolenFunds) && RiskRank(StolenFunds) > RiskRank(Mixer) && RiskRank(Scam) > RiskRank(Exchange) &&
		RiskRank(Exchange) > RiskRank(Blocked) && RiskRank(Blocked) == 0 && RiskRank("sushiswap") == 0) {
		t.Error("risk ranks out of order")
	}
}

// TestTagPackAbuse reads a TagPack as GraphSense writes them: the risk in
// the header's abuse field, a category that names the kind of holder
// ("user"), and tags without a category of their own.
func TestTagPackAbuse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pack.yaml")
	os.WriteFile(p, []byte(`title: Lazarus Group
creator: an analyst
currency: BTC
category: user
abuse: sanction
confidence: 60
lastmod: 2021-11-12
source: https://home.treasury.gov/
tags:
- address: 1FfmbHfnpaZjKFvyi1okTjJJusN455paPH
  label: LAZARUS GROUP
- address: 1P3ZfGFLezzYGg9k5SVzQmnjyh7nrUmF2y
  label: a ransom address
  abuse: ransomware
- address: 1Kuf2Rd8mDyAViwBozGTNYnvWL8uYFrkVo
  label: a service
  abuse: ""
  category: mixing_service
`), 0o644)
	res, err := ParseTagPack(p)
	if err != nil {
		t.Fatal(err)
	}
	ls := res.Labels
	if len(ls) != 3 || ls[0].Category != Sanctioned || ls[1].Category != Ransomware || ls[2].Category != Sanctioned || ls[0].Confidence != 0.6 {
		t.Errorf("%+v", ls)
	}
	// Neither category nor abuse nor concepts: "other", as GraphSense's
	// schema makes all three optional.
	os.WriteFile(p, []byte("title: x\nlabel: y\ntags:\n- address: 1FfmbHfnpaZjKFvyi1okTjJJusN455paPH\n"), 0o644)
	if res, err := ParseTagPack(p); err != nil || len(res.Labels) != 1 || res.Labels[0].Category != Other {
		t.Errorf("no category: %+v %v", res, err)
	}
}

// TestEtherscanCSV: the etherscan-labels project's CSV of a label gives the
// labels its JSON gives (BscScan's heist list, both as scraped), and its
// token lists (Arbiscan's phish-hack tokens) read by their own columns.
func TestEtherscanCSV(t *testing.T) {
	dir := "../../testdata/labels/etherscan-labels/data"
	fromJSON, err := ParseEtherscan(filepath.Join(dir, "bscscan", "accounts", "heist.json"), "bsc")
	if err != nil {
		t.Fatal(err)
	}
	fromCSV, err := ParseEtherscanCSV(filepath.Join(dir, "bscscan", "accounts", "heist.csv"), "bsc")
	if err != nil {
		t.Fatal(err)
	}
	key := func(ls []Label) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Chain+" "+l.Address+" "+l.Category+" "+l.Label)
		}
		slices.Sort(out)
		return out
	}
	if len(fromCSV.Labels) != 57 || !slices.Equal(key(fromCSV.Labels), key(fromJSON.Labels)) {
		t.Errorf("heist.csv gives %d labels, not heist.json's %d:\n%q\n%q", len(fromCSV.Labels), len(fromJSON.Labels), key(fromCSV.Labels), key(fromJSON.Labels))
	}
	tokens, err := ParseEtherscanCSV(filepath.Join(dir, "arbiscan", "tokens", "phish-hack.csv"), "arbitrum")
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens.Labels) != 76 || len(tokens.Skipped) != 0 {
		t.Fatalf("phish-hack tokens: %d labels, skipped %q", len(tokens.Labels), tokens.Skipped)
	}
	if l := tokens.Labels[0]; l.Address != common.HexToAddress("0x6da56ec88da8345ecaf5d2497617d2ad345943f1").Hex() || l.Category != Scam || l.Label != "arbis-claim.xyz (Visit https://arbis-claim...)" {
		t.Errorf("first token: %+v", l)
	}
	p := filepath.Join(t.TempDir(), "heist.csv")
	os.WriteFile(p, []byte(",Address,Balance\n0,0xde0b295669a9fd93d5f28d9ec85e40f4cb697bae,1 ETH\n"), 0o644)
	if _, err := ParseEtherscanCSV(p, "eth"); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `"Name Tag"`) {
		t.Errorf("no name column: %v", err)
	}
}
