package report

import (
	"context"
	"encoding/xml"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/ingest"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
	"github.com/spur-forensics/spur/internal/world"
)

// TestActorReport reports the dprk-2021 actor's year in a small world.
func TestActorReport(t *testing.T) {
	w := t.TempDir()
	if _, err := world.Generate(w, world.Options{Seed: 2, Scale: 60, Blocks: 320, Scenario: "dprk-2021"}); err != nil {
		t.Fatal(err)
	}
	net, _ := btc.LookupNetwork("regtest")
	dir := t.TempDir()
	s, err := store.Open(filepath.Join(dir, "btc"), store.Options{Network: net})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := ingest.Files(context.Background(), s, []string{filepath.Join(w, "btc", "blocks")}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	ls, err := label.Open(filepath.Join(dir, "labels"))
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	tags, err := label.ParseTagPack(filepath.Join(w, "labels", "services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ls.Replace(label.SourceInfo{Source: "world"}, tags.Labels, nil)
	incs, err := label.ParseIncidents(filepath.Join(w, "incidents.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ls.PutIncidents(incs)
	prices, err := label.ParsePrices(filepath.Join(w, "prices.csv"), "")
	if err != nil {
		t.Fatal(err)
	}
	ls.PutPrices(prices.Prices)

	a, err := ForActor(s, nil, ls, "lazarus group", 2021, trace.FIFO)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Incidents) != len(incs) || a.StolenUSD < 1e6 || a.AssetMix["BTC"] != 1 || a.MixedShare <= 0 || a.MixedShare > 1 {
		t.Fatalf("report: %d incidents, $%.0f, mix %v, mixed %.2f", len(a.Incidents), a.StolenUSD, a.AssetMix, a.MixedShare)
	}
	var share float64
	for _, d := range a.Destinations {
		share += d.Share
	}
	if share < 0.98 || share > 1.01 {
		t.Fatalf("destination shares add up to %.3f", share)
	}
	// What is still unspent, at the price table's last close too.
	last := ""
	for d := range prices.Prices["BTC"] {
		last = max(last, d)
	}
	var unspentNow float64
	for _, r := range a.Incidents {
		if r.PriceUSD <= 0 || r.CashedOut+r.Unspent > r.Stolen {
			t.Fatalf("incident %+v", r)
		}
		if want := usd(r.Unspent, prices.Prices["BTC"][last]); r.NowDay != last || r.UnspentUSDNow != want {
			t.Errorf("incident %s: unspent $%.2f at %s's close, want $%.2f at %s's", r.ID, r.UnspentUSDNow, r.NowDay, want, last)
		}
		unspentNow += r.UnspentUSDNow
	}
	if a.NowDay != last || math.Abs(a.UnspentUSDNow-unspentNow) > 0.01 || a.UnspentUSD <= 0 || !strings.Contains(a.Markdown(), "Still unspent: "+money(a.UnspentUSD)+" at theft-day prices, worth "+money(a.UnspentUSDNow)+" at the latest closes ("+last+")") {
		t.Errorf("actor's unspent: $%.2f, now $%.2f at %s; %s", a.UnspentUSD, a.UnspentUSDNow, a.NowDay, a.Markdown()[:300])
	}
	// An incident's page draws its path: the trace as spur trace --format
	// svg draws it, well formed, from the theft's address to where the
	// value ended.
	inc, err := ForIncident(s, nil, ls, incs[0], trace.FIFO)
	if err != nil {
		t.Fatal(err)
	}
	h := inc.HTML()
	if a.Incidents[0].drawings != nil {
		t.Error("an actor's report keeps its incidents' traces")
	}
	i, j := strings.Index(h, `<div class="path"><svg xmlns`)+len(`<div class="path">`), strings.LastIndex(h, "</svg>")
	if !strings.Contains(h, "<h2>The laundering path</h2>") || i < len(`<div class="path">`) || j < i || xml.Unmarshal([]byte(h[i:j+len("</svg>")]), new(struct{})) != nil ||
		!strings.Contains(h[i:], "start") || !strings.Contains(h[i:], `class="node"`) {
		t.Errorf("incident page without its path: %.300s", h[max(i, 0):])
	}
	if md := a.Markdown(); !strings.Contains(md, "| date | incident |") {
		t.Fatal(md)
	}
	if h := a.HTML(); !strings.Contains(h, "<svg") || !strings.Contains(h, "<table>") || strings.Contains(h, "**") {
		t.Fatal("html report lacks its chart or table")
	}
	if _, err := ForActor(s, nil, ls, "nobody", 2021, trace.FIFO); err == nil {
		t.Fatal("report for an actor without incidents")
	}
	// How each was made: the spur, the chain as of its tip, the method,
	// the label sources; said once for an actor's incidents, last.
	for _, p := range []*Provenance{a.Provenance, inc.Provenance} {
		if p == nil || p.Spur == "" || len(p.Chains) != 1 || p.Chains[0] != (ChainAt{"btc", "regtest", s.Height(), s.TipHash().String()}) ||
			!strings.HasPrefix(p.Method, "fifo taint forward") || len(p.Sources) != 1 || p.Sources[0].Source != "world" || p.Sources[0].Labels != len(tags.Labels) {
			t.Fatalf("provenance %+v", p)
		}
	}
	if a.Incidents[0].Provenance != nil {
		t.Error("an actor's incidents each say how the report was made")
	}
	for _, md := range []string{a.Markdown(), inc.Markdown()} {
		if i := strings.Index(md, "\n## How this report was made\n\n- spur "+a.Provenance.Spur+"\n- Bitcoin regtest as of block "+fmt.Sprint(s.Height())+" ("+s.TipHash().String()+")\n- method: fifo taint"); i < 0 || !strings.HasSuffix(md, fmt.Sprintf("- labels: world (%d labels)\n", len(tags.Labels))) {
			t.Errorf("markdown's provenance:\n%s", md[max(0, len(md)-800):])
		}
	}
	if h := inc.HTML(); strings.LastIndex(h, "How this report was made") < strings.LastIndex(h, "</svg>") {
		t.Error("the page says how the report was made before its charts end")
	}
	// An alias a sanctions list gives the actor stands for it.
	ls.Replace(label.SourceInfo{Source: "ofac-sdn"}, nil, []label.Entity{{Source: "ofac-sdn", ID: "27307", Name: "LAZARUS GROUP", WeakAliases: []string{"HIDDEN COBRA"}}})
	b, err := ForActor(s, nil, ls, "Hidden Cobra", 2021, trace.FIFO)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Incidents) != len(incs) || b.StolenUSD != a.StolenUSD || len(b.AliasOf) != 1 || !strings.Contains(b.Markdown(), "Hidden Cobra is an alias of LAZARUS GROUP (ofac-sdn 27307)") {
		t.Fatalf("report by an alias: %d incidents, $%.0f, alias of %v", len(b.Incidents), b.StolenUSD, b.AliasOf)
	}
}

// The Sankey draws one band per flow, each as wide as its share of the
// height the nodes share, and labels every node with its total.
func TestSankey(t *testing.T) {
	svg := sankey("t", map[[2]string]float64{
		{"Bitcoin", "unspent"}:              100,
		{"Bitcoin", "exchange: A"}:          300,
		{"Ethereum (ETH, tokens)", "mixer"}: 600,
		{"Ethereum (ETH, tokens)", "nope"}:  0,
	})
	if n := strings.Count(svg, "<path"); n != 3 {
		t.Fatalf("%d bands, want 3", n)
	}
	for _, want := range []string{"Bitcoin $400", "Ethereum (ETH, tokens) $600", "exchange: A $300", "mixer $600", `stroke-width="`} {
		if !strings.Contains(svg, want) {
			t.Errorf("no %q in the chart", want)
		}
	}
	if sankey("t", nil) != "" {
		t.Error("a chart of nothing")
	}
	// Long labels have room on both sides, and the places' labels, many
	// of them small, stay a line apart.
	flows := map[[2]string]float64{{"Ethereum (ETH, tokens)", "exchange: Satoshi Square (via bridge)"}: 1e6}
	for i := range 6 {
		flows[[2]string{"Ethereum (ETH, tokens)", fmt.Sprintf("tiny %d", i)}] = 1
	}
	svg = sankey("t", flows)
	src := regexp.MustCompile(`<text x="(\d+)" y="[\d.]+" font-size="12" text-anchor="end">Ethereum \(ETH, tokens\) \$1,000,006</text>`).FindStringSubmatch(svg)
	width := regexp.MustCompile(`^<svg [^>]*width="(\d+)"`).FindStringSubmatch(svg)
	var ys []float64
	for _, m := range regexp.MustCompile(`<text x="\d+" y="([\d.]+)" font-size="12">`).FindAllStringSubmatch(svg, -1) {
		y, _ := strconv.ParseFloat(m[1], 64)
		ys = append(ys, y)
	}
	if src == nil || width == nil || len(ys) != 7 {
		t.Fatalf("labels: %s", svg)
	}
	if x, _ := strconv.Atoi(src[1]); x < 7*len("Ethereum (ETH, tokens) $1,000,006") {
		t.Errorf("the source's label ends at %d: no room for it", x)
	}
	if w, _ := strconv.Atoi(width[1]); w < 7*len("exchange: Satoshi Square (via bridge) $1,000,000")+350 {
		t.Errorf("width %d: no room for the places' labels", w)
	}
	for i := 1; i < len(ys); i++ {
		if ys[i]-ys[i-1] < 13 {
			t.Errorf("labels %d and %d %.1f px apart", i-1, i, ys[i]-ys[i-1])
		}
	}
}

// The timeline stacks each month's places in one bar each.
func TestTimeChart(t *testing.T) {
	svg := timeChart("t", []TimePoint{{"2021-08", "exchange", 100}, {"2021-08", "unspent", 50}, {"2021-09", "bridge", 25}})
	if n := strings.Count(svg, `class="bar"`); n != 3 {
		t.Fatalf("%d bars, want 3", n)
	}
	for _, want := range []string{"2021-08", "2021-09", "exchange: $100", "$150"} {
		if !strings.Contains(svg, want) {
			t.Errorf("no %q", want)
		}
	}
	if timeChart("t", nil) != "" {
		t.Error("a chart of nothing")
	}
}

// TestPipesInCells: a place or victim holding a pipe (a label may) stays in
// its table cell, in Markdown (escaped) and in HTML.
func TestPipesInCells(t *testing.T) {
	r := &Incident{ID: "x", Victim: "Pipe | Co", Date: "2021-01-01", Stolen: 1e8,
		Destinations: []Destination{{Place: "exchange: A|B", Amount: 1e8, Share: 1}}}
	md := r.Markdown()
	if !strings.Contains(md, `| exchange: A\|B | 1.00000000 |`) {
		t.Errorf("markdown:\n%s", md)
	}
	h := r.HTML()
	if !strings.Contains(h, "<td>exchange: A|B</td><td>1.00000000</td>") {
		t.Errorf("html:\n%s", h)
	}
	if got := mdCells(`| a \| b | c |`); len(got) != 2 || strings.TrimSpace(got[0]) != "a | b" || strings.TrimSpace(got[1]) != "c" {
		t.Errorf("cells %q", got)
	}
}

// TestCSV: a row for each place of each part, Bitcoin's with its amount,
// an EVM part's without; a place holding a comma or a quote stays one cell.
func TestCSV(t *testing.T) {
	r := &Incident{ID: "x", Victim: `Acme, "the" Co`, Date: "2021-01-01", Actor: "A", Asset: "BTC", Stolen: 3e8,
		Destinations: []Destination{{Place: "exchange: A, B", Amount: 2e8, USD: 20.5, Share: 2.0 / 3}, {Place: "unspent", Amount: 1e8, USD: 10.25, Share: 1.0 / 3}},
		EVM:          &EVMPart{Chain: "eth", Destinations: []Destination{{Place: "mixer", USD: 7, Share: 1}}}}
	want := "incident,victim,date,actor,chain,place,amount,usd,share\n" +
		`x,"Acme, ""the"" Co",2021-01-01,A,btc,"exchange: A, B",200000000,20.50,0.666667` + "\n" +
		`x,"Acme, ""the"" Co",2021-01-01,A,btc,unspent,100000000,10.25,0.333333` + "\n" +
		`x,"Acme, ""the"" Co",2021-01-01,A,eth,mixer,,7.00,1.000000` + "\n"
	if got := r.CSV(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// An incident on Ethereum alone has no Bitcoin rows; an actor's CSV
	// is its incidents' rows under one header.
	e := &Incident{ID: "y", Chain: "eth", EVM: &EVMPart{Chain: "eth", Destinations: []Destination{{Place: "unspent", USD: 1, Share: 1}}}}
	a := &Actor{Incidents: []*Incident{r, e}}
	if got := a.CSV(); got != want+"y,,,,eth,unspent,,1.00,1.000000\n" {
		t.Fatalf("actor:\n%s", got)
	}
}

// A bar chart's labels have room however long, and a bar takes its
// place's colour whatever its label says: an Ethereum part's exchange is
// red, its unspent grey, as on Bitcoin.
func TestBarChart(t *testing.T) {
	long := "Ethereum: exchange: Satoshi Square (via bridge)"
	svg := barChart("t", []bar{{"unspent", "unspent", 2}, {long, "exchange: Satoshi Square (via bridge)", 1}, {"Ethereum: unspent (via bridge)", "unspent (via bridge)", 1}, {"2021-03-05 A", "", 1}}, money)
	left := 16 + 7*len(long)
	if !strings.Contains(svg, fmt.Sprintf(`<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`, left-8, 32+26+15, long)) ||
		!strings.Contains(svg, fmt.Sprintf(`width="%d"`, left+490)) {
		t.Errorf("a long label's room: %s", svg)
	}
	var fills []string
	for _, m := range regexp.MustCompile(`fill="(#[0-9a-f]{6})"`).FindAllStringSubmatch(svg, -1) {
		fills = append(fills, m[1])
	}
	if want := []string{"#7f8c8d", "#c0392b", "#7f8c8d", "#2980b9"}; !slices.Equal(fills, want) {
		t.Errorf("colours %v, want %v", fills, want)
	}
}
