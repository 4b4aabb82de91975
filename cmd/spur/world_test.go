package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/eval"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/graph/graphtest"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/webhook"
)

// TestGenIngestEval runs the whole chain on a small world: generate,
// ingest (with an xor key), cluster, import its labels, evaluate.
func TestGenIngestEval(t *testing.T) {
	w := filepath.Join(t.TempDir(), "world")
	store := filepath.Join(t.TempDir(), "store")
	mustRun(t, "gen", "--out", w, "--scale", "200", "--blocks", "330", "--seed", "5", "--xor", "0102030405060708")
	if _, err := os.Stat(filepath.Join(w, "btc", "blocks", "xor.dat")); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "ingest", "btc", "--network", "regtest", "--store", store, "--blocks", filepath.Join(w, "btc", "blocks"), "-q")
	mustRun(t, "cluster", "--network", "regtest", "--store", store)
	// Without the world's labels the traces run past the deposits: eval
	// says what to import.
	if r := run(t, "eval", "--world", w, "--store", store, "--json"); r.code != 0 || !strings.Contains(r.stderr, "note: no exchange hot wallet is labelled") || !strings.Contains(r.stderr, filepath.Join(w, "labels", "services.yaml")) {
		t.Fatalf("eval without labels: exit %d %s", r.code, r.stderr)
	}
	mustRun(t, "labels", "import", "--store", store, "--format", "tagpack", filepath.Join(w, "labels", "services.yaml"))
	var imported struct {
		Imported int      `json:"imported"`
		IDs      []string `json:"ids"`
	}
	if err := jsonUnmarshal(mustRun(t, "incident", "import", "--store", store, filepath.Join(w, "incidents.yaml"), "--json"), &imported); err != nil || imported.Imported != 7 || len(imported.IDs) != 7 {
		t.Fatalf("incident import: %+v %v", imported, err)
	}
	var prices struct {
		Days map[string]int `json:"days"`
	}
	if err := jsonUnmarshal(mustRun(t, "prices", "import", "--store", store, filepath.Join(w, "prices.csv"), "--json"), &prices); err != nil || prices.Days["BTC"] == 0 || prices.Days["ETH"] != prices.Days["BTC"] {
		t.Fatalf("prices import: %+v %v", prices, err)
	}
	mustRun(t, "labels", "import", "--store", store, "--format", "tagpack", filepath.Join(w, "labels", "services-eth.yaml"))
	mustRun(t, "ingest", "evm", "--chain", "eth", "--store", store, "--etl", filepath.Join(w, "evm"), "-q")
	var cl struct {
		Deposits int `json:"deposit_addresses"`
		Reuse    int `json:"deposit_reuse_merges"`
	}
	// It only reads the chain: it runs beside a query (or a server)
	// that holds it.
	reader, err := evmstore.OpenReadOnly(filepath.Join(store, "evm", "eth"), "eth")
	if err != nil {
		t.Fatal(err)
	}
	if err := jsonUnmarshal(mustRun(t, "cluster", "--chain", "eth", "--store", store, "--deposits", "--deposit-reuse", "--json"), &cl); err != nil {
		t.Fatal(err)
	}
	reader.Close()
	if cl.Deposits < 100 || cl.Reuse == 0 {
		t.Fatalf("EVM clustering: %+v", cl)
	}
	if r := run(t, "cluster", "--chain", "eth", "--store", store); r.code != exitUsage {
		t.Fatalf("EVM clustering without heuristics: exit %d", r.code)
	}
	var tr struct {
		Model        string  `json:"model"`
		Start        int64   `json:"start_amount"`
		StartUSD     float64 `json:"start_usd"`
		Destinations []struct {
			Category string `json:"category"`
			Address  string `json:"address"`
			Amount   int64  `json:"amount"`
		} `json:"destinations"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--store", store, "--from", "incident:dprk-2021-5", "--format", "json"), &tr); err != nil {
		t.Fatal(err)
	}
	var atExchanges, fees, total int64
	for _, d := range tr.Destinations {
		total += d.Amount
		switch d.Category {
		case "exchange":
			atExchanges += d.Amount
		case "fees":
			fees += d.Amount
		}
	}
	// FIFO accounts for every satoshi: the fees the thief's transactions
	// paid are a destination too.
	if tr.Model != "fifo" || tr.Start < 100e8 || tr.StartUSD < 4e6 || atExchanges == 0 || fees == 0 || total != tr.Start {
		t.Fatalf("trace of the Liquid theft: start %d ($%.0f), at exchanges %d, fees %d, total %d", tr.Start, tr.StartUSD, atExchanges, fees, total)
	}
	// Through the mixes by the consolidation's links: what reached each
	// exchange and what is unspent, as truth has it; the linked part is
	// heuristic.
	var linked struct {
		Start        int64  `json:"start_amount"`
		PriceDay     string `json:"price_day"`
		NowDay       string `json:"now_day"`
		Destinations []struct {
			Address    string  `json:"address"`
			Category   string  `json:"category"`
			Label      string  `json:"label"`
			Amount     int64   `json:"amount"`
			Link       string  `json:"link"`
			Time       int64   `json:"time"`
			Entity     *uint32 `json:"entity"`
			USD        float64 `json:"usd"`
			USDStart   float64 `json:"usd_start"`
			USDArrival float64 `json:"usd_arrival"`
			USDNow     float64 `json:"usd_now"`
		} `json:"destinations"`
		MixerLinks map[string]int `json:"mixer_links"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--store", store, "incident:dprk-2021-5", "--mixer-links", "--json"), &linked); err != nil {
		t.Fatal(err)
	}
	// Each destination in USD at the theft's day, at its arrival's and at
	// the price table's last day, as the world's prices give them; with
	// its address's entity, as spur entity gives it.
	closes := map[string]float64{} // BTC's, by day
	last := ""
	pf, err := os.Open(filepath.Join(w, "prices.csv"))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := csv.NewReader(pf).ReadAll()
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range pr[1:] {
		if r[1] == "BTC" {
			closes[r[0]], _ = strconv.ParseFloat(r[2], 64)
			last = max(last, r[0])
		}
	}
	value := func(sat int64, day string) float64 { return math.Round(float64(sat)/1e8*closes[day]*100) / 100 }
	if linked.PriceDay != "2021-08-19" || linked.NowDay != last {
		t.Errorf("trace's days: price %q, now %q (want %s)", linked.PriceDay, linked.NowDay, last)
	}
	entities := 0
	for _, d := range linked.Destinations {
		arrival := time.Unix(d.Time, 0).UTC().Format("2006-01-02")
		if math.Abs(d.USDStart-value(d.Amount, "2021-08-19")) > 0.011 || d.USD != d.USDStart || math.Abs(d.USDArrival-value(d.Amount, arrival)) > 0.011 || math.Abs(d.USDNow-value(d.Amount, last)) > 0.011 {
			t.Errorf("destination %s: $%.2f at the start, $%.2f at arrival (%s), $%.2f now", d.Address, d.USDStart, d.USDArrival, arrival, d.USDNow)
		}
		if d.Address == "" || d.Entity == nil {
			if (d.Address == "") != (d.Entity == nil) {
				t.Errorf("destination %q: entity %v", d.Address, d.Entity)
			}
			continue
		}
		var ent struct {
			ID uint32 `json:"id"`
		}
		if entities++; entities <= 3 {
			if err := jsonUnmarshal(mustRun(t, "entity", d.Address, "--store", store, "--json", "--limit", "1"), &ent); err != nil || ent.ID != *d.Entity {
				t.Errorf("destination %s: entity %d, spur entity says %d (%v)", d.Address, *d.Entity, ent.ID, err)
			}
		}
	}
	if entities == 0 {
		t.Error("no destination with an entity")
	}
	truth, err := eval.ReadTruth(filepath.Join(w, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, heur := map[string]int64{}, int64(0)
	for _, d := range linked.Destinations {
		switch d.Category {
		case "exchange":
			got["exchange:"+strings.TrimSuffix(d.Label, " deposit")] += d.Amount
		case "unspent":
			got["unspent"] += d.Amount
		}
		if d.Link == "heuristic" {
			heur += d.Amount
		}
	}
	for _, inc := range truth.Incidents {
		if inc.ID == "dprk-2021-5" && !maps.Equal(got, inc.Destinations) {
			t.Errorf("trace of the Liquid theft with mixer links: %v, truth %v", got, inc.Destinations)
		}
	}
	if linked.MixerLinks["consolidation"] == 0 || heur == 0 || heur >= linked.Start {
		t.Errorf("trace with mixer links: %v, %d of %d heuristic", linked.MixerLinks, heur, linked.Start)
	}
	if out := mustRun(t, "trace", "--store", store, "incident:dprk-2021-5", "--mixer-links"); !regexp.MustCompile(`(?m)^LINK +CATEGORY`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^heuristic +exchange +.* deposit +1 +[\d.]+ +[\d.]+% +\$[\d,]+$`).MatchString(out) || !strings.Contains(out, "CoinJoin outputs linked, by clue: consolidation") ||
		!regexp.MustCompile(`\n\nas of btc block \d+ \([0-9a-f]{64}\)\n$`).MatchString(out) {
		t.Errorf("trace with mixer links, as text:\n%s", out)
	}
	// As CSV, each flow with its link and clue.
	flows, err := csv.NewReader(strings.NewReader(mustRun(t, "trace", "--store", store, "incident:dprk-2021-5", "--mixer-links", "--format", "csv"))).ReadAll()
	if err != nil || len(flows) < 2 || strings.Join(flows[0], ",") != "chain,tx,from,to,asset,amount,usd,hop,link,clue,confidence" {
		t.Fatalf("trace as CSV: %v %v", err, flows[:min(len(flows), 2)])
	}
	clued := 0
	for _, r := range flows[1:] {
		if r[9] == "consolidation" && r[8] == "heuristic" {
			clued++
			if c, err := strconv.ParseFloat(r[10], 64); err != nil || c <= 0.5 || c > 1 {
				t.Errorf("CSV flow %v: confidence %q", r, r[10])
			}
		}
	}
	if clued != linked.MixerLinks["consolidation"] {
		t.Errorf("CSV flows with the consolidation clue: %d, links %d", clued, linked.MixerLinks["consolidation"])
	}
	// As labels: the addresses holding the thief's coins, each the
	// thief's as truth has it, which spur labels import takes.
	holders := func(args ...string) (rows [][]string, precision float64) {
		rows, err := csv.NewReader(strings.NewReader(mustRun(t, append([]string{"trace", "--store", store, "--mixer-links", "--format", "labels"}, args...)...))).ReadAll()
		if err != nil || len(rows) < 2 || strings.Join(rows[0], ",") != "address,chain,category,label,actor,source" {
			t.Fatalf("trace %v as labels: %v %v", args, err, rows)
		}
		thiefs := 0
		for _, r := range rows[1:] {
			owner, ok := truth.Addresses[r[0]]
			if r[1] != "btc" {
				owner, ok = truth.EVMAddresses[r[0]]
			}
			if ok && truth.Entities[owner].Name == "Lazarus Group" {
				thiefs++
			}
			if r[2] != "stolen-funds" || r[4] != "Lazarus Group" || !strings.Contains(r[3], "(incident "+args[0][len("incident:"):]+"): ") {
				t.Errorf("trace %v as labels: %v", args, r)
			}
		}
		return rows[1:], float64(thiefs) / float64(len(rows)-1)
	}
	held, precision := holders("incident:dprk-2021-5")
	clueRows := 0
	for _, r := range held {
		if strings.Contains(r[3], "linked by a clue (consolidation)") {
			clueRows++
		}
	}
	if precision != 1 || clueRows == 0 || clueRows == len(held) {
		t.Errorf("Bitcoin holders: %d, %d linked by the consolidation, precision %.3f", len(held), clueRows, precision)
	}
	if rows, precision := holders("incident:dprk-2021-1", "--chain", "eth"); precision < 0.9 || len(rows) < 10 {
		t.Errorf("Ethereum holders: %d, precision %.3f", len(rows), precision)
	} else {
		checkEVMAlerts(t, store, rows)
		checkEVMEntityAlerts(t, store)
	}
	thiefCSV := filepath.Join(t.TempDir(), "thief.csv")
	os.WriteFile(thiefCSV, []byte(mustRun(t, "trace", "--store", store, "incident:dprk-2021-5", "--mixer-links", "--format", "labels")), 0o644)
	if out := mustRun(t, "labels", "import", "--store", store, "--format", "csv", "--source", "thief", thiefCSV); !strings.Contains(out, fmt.Sprintf("imported %d labels", len(held))) {
		t.Errorf("the holders imported: %s", out)
	}
	// Listed back as CSV, they are the rows imported.
	listed, err := csv.NewReader(strings.NewReader(mustRun(t, "labels", "list", "--store", store, "--source", "thief", "--csv"))).ReadAll()
	if err != nil || len(listed) != len(held)+1 || strings.Join(listed[0], ",") != "address,chain,category,label,actor,source" {
		t.Fatalf("labels list --csv: %v, %d rows", err, len(listed))
	}
	rowKey := func(r []string) string { return strings.Join(r, "\x00") }
	heldRows := map[string]bool{}
	for _, r := range held {
		heldRows[rowKey(r)] = true
	}
	for _, r := range listed[1:] {
		if !heldRows[rowKey(r)] {
			t.Errorf("labels list --csv gives a row not imported: %v", r)
		}
	}
	checkAlerts(t, store, held)
	checkEntityAlerts(t, store)
	for _, bad := range [][]string{{"--direction", "backward"}, {"--min-confidence", "1.5"}} {
		if r := run(t, append([]string{"trace", "--store", store, "incident:dprk-2021-5", "--format", "labels"}, bad...)...); r.code != exitUsage {
			t.Errorf("--format labels %v: exit %d %s", bad, r.code, r.stderr)
		}
	}
	if r := run(t, "trace", "--store", store, "incident:dprk-2021-5", "--min-confidence", "0.5"); r.code != exitUsage {
		t.Errorf("--min-confidence without --format labels: exit %d", r.code)
	}
	// As a graph: Graphviz's DOT (read back by gonum's parser), each
	// exchange deposit paid, through the transactions drawn, what the
	// trace says it received; and an SVG.
	g := graphtest.ParseDOT(t, mustRun(t, "trace", "--store", store, "incident:dprk-2021-5", "--mixer-links", "--format", "dot"))
	into := map[string]int64{}
	for _, e := range g.Edges {
		if _, ok := g.Nodes[e.From]; !ok {
			t.Fatalf("DOT edge from an undeclared node %q", e.From)
		}
		btc, _, _ := strings.Cut(e.Attrs["tooltip"], " BTC")
		whole, frac, _ := strings.Cut(btc, ".")
		sat, err := strconv.ParseInt(whole+(frac + "00000000")[:8], 10, 64)
		if err != nil {
			t.Fatalf("DOT edge tooltip %q: %v", e.Attrs["tooltip"], err)
		}
		into[e.To] += sat
	}
	deposits := map[string]int64{}
	for _, d := range linked.Destinations {
		if d.Category == "exchange" {
			deposits[d.Address] += d.Amount
			if l := g.Nodes[d.Address]["label"]; !strings.HasSuffix(l, `\nexchange: `+d.Label) {
				t.Errorf("DOT node of deposit %s: label %q", d.Address, l)
			}
		}
	}
	if len(deposits) == 0 {
		t.Fatal("no exchange deposits in the linked trace")
	}
	for a, v := range deposits {
		if into[a] != v {
			t.Errorf("DOT: deposit %s paid %d sat, the trace says %d", a, into[a], v)
		}
	}
	// As GraphML: the same nodes and edges, each deposit paid what the
	// trace says, in base units.
	gml := graphtest.ParseGraphML(t, mustRun(t, "trace", "--store", store, "incident:dprk-2021-5", "--mixer-links", "--format", "graphml"))
	if len(gml.Nodes) != len(g.Nodes) || len(gml.Edges) != len(g.Edges) {
		t.Errorf("GraphML: %d nodes, %d edges; DOT %d, %d", len(gml.Nodes), len(gml.Edges), len(g.Nodes), len(g.Edges))
	}
	gmlInto := map[string]int64{}
	for _, e := range gml.Edges {
		if _, ok := g.Nodes[e.From]; !ok || e.Attrs["asset"] != "BTC" {
			t.Fatalf("GraphML edge %s -> %s: %v", e.From, e.To, e.Attrs)
		}
		sat, err := strconv.ParseInt(e.Attrs["amount"], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		gmlInto[e.To] += sat
	}
	for a, v := range deposits {
		if gmlInto[a] != v || gml.Nodes[a]["category"] != "exchange" {
			t.Errorf("GraphML: deposit %s paid %d sat (%v), the trace says %d", a, gmlInto[a], gml.Nodes[a], v)
		}
	}
	svg := mustRun(t, "trace", "--store", store, "incident:dprk-2021-5", "--mixer-links", "--format", "svg")
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil || !strings.Contains(svg, "fifo trace forward from incident:dprk-2021-5") || strings.Count(svg, `<g class="node">`) < len(deposits) {
		t.Errorf("trace as SVG: %v\n%.500s", err, svg)
	}
	// Backward, from a deposit, to the coinbases: a graph as well.
	for a := range deposits {
		g := graphtest.ParseDOT(t, mustRun(t, "trace", "--store", store, "--from", a, "--direction", "backward", "--format", "dot", "--max-hops", "3"))
		if _, ok := g.Nodes[a]; !ok || len(g.Edges) == 0 || !strings.HasPrefix(g.Attrs["label"], "fifo trace backward from "+a) {
			t.Errorf("backward graph from %s: %d edges, caption %q", a, len(g.Edges), g.Attrs["label"])
		}
		break
	}
	// On Ethereum, the same for its deposits, by asset.
	var ethTrace struct {
		NowDay       string `json:"now_day"`
		Destinations []struct {
			Address, Category, Asset, Amount string
			USD                              float64 `json:"usd"`
			USDStart                         float64 `json:"usd_start"`
			USDArrival                       float64 `json:"usd_arrival"`
			USDNow                           float64 `json:"usd_now"`
		} `json:"destinations"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:dprk-2021-5", "--json"), &ethTrace); err != nil {
		t.Fatal(err)
	}
	eg := graphtest.ParseDOT(t, mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:dprk-2021-5", "--format", "dot"))
	// The thief pays one address a transaction (swaps, deposits, hops):
	// no bound on the fan-out stops any of it.
	if a, b := mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:dprk-2021-5", "--json"), mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:dprk-2021-5", "--max-fanout", "1", "--json"); a != b {
		t.Errorf("--max-fanout 1 changed the Ethereum trace")
	}
	checked := 0
	ethCloses := map[string]float64{}
	for _, r := range pr[1:] {
		if r[1] == "ETH" {
			ethCloses[r[0]], _ = strconv.ParseFloat(r[2], 64)
		}
	}
	for _, d := range ethTrace.Destinations {
		if d.Asset == "ETH" {
			wei, _ := new(big.Float).SetString(d.Amount)
			eth, _ := wei.Quo(wei, big.NewFloat(1e18)).Float64()
			if now := eth * ethCloses[last]; math.Abs(d.USDNow-now) > 1e-6*now+0.01 || d.USD != d.USDArrival || math.Abs(d.USDStart-eth*ethCloses["2021-08-19"]) > 1e-6*now+0.01 {
				t.Errorf("ETH destination %s: $%f now (want %f), $%f at arrival, $%f at the start", d.Address, d.USDNow, now, d.USDArrival, d.USDStart)
			}
		}
		if d.Category != "exchange" {
			continue
		}
		if _, ok := eg.Nodes[d.Address]; !ok {
			t.Errorf("ETH graph lacks deposit %s", d.Address)
		}
		checked++
	}
	if checked == 0 || len(eg.Edges) == 0 {
		t.Errorf("ETH graph: %d deposits, %d edges", checked, len(eg.Edges))
	}
	// Backward from a deposit address the theft reached, the sources add
	// up to what it received: exactly under FIFO, within rounding under
	// haircut (each input explains its share of the outputs, not of the
	// fee too).
	for _, d := range tr.Destinations {
		if d.Category != "exchange" {
			continue
		}
		for _, model := range []string{"fifo", "haircut"} {
			var back struct {
				Start        int64 `json:"start_amount"`
				Destinations []struct {
					Amount int64 `json:"amount"`
				} `json:"destinations"`
			}
			if err := jsonUnmarshal(mustRun(t, "trace", "--store", store, "--from", d.Address, "--direction", "backward", "--model", model, "--min-value", "1", "--format", "json"), &back); err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, x := range back.Destinations {
				sum += x.Amount
			}
			if sum > back.Start || sum < back.Start-back.Start/10000 || model == "fifo" && sum != back.Start {
				t.Fatalf("%s backward from %s: start %d, sources %d", model, d.Address, back.Start, sum)
			}
		}
		break
	}
	// The picture at a date: before the thief moved the coins, all of them
	// are still unspent where the theft put them.
	var early struct {
		Start        int64 `json:"start_amount"`
		Destinations []struct {
			Category string `json:"category"`
			Amount   int64  `json:"amount"`
		} `json:"destinations"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--store", store, "--from", "incident:dprk-2021-5", "--until", "2021-01-02", "--format", "json"), &early); err != nil {
		t.Fatal(err)
	}
	if len(early.Destinations) != 1 || early.Destinations[0].Category != "unspent" || early.Destinations[0].Amount != early.Start {
		t.Fatalf("trace --until before the laundering: %+v", early)
	}
	// Across the bridge: the Liquid ETH that reached the swap service goes
	// on as BTC.
	var crossed struct {
		Destinations []struct {
			Category string  `json:"category"`
			USDNow   float64 `json:"usd_now"`
		} `json:"destinations"`
		Crossed *struct {
			Matched int `json:"matched"`
			Links   []struct {
				DepositTx     string `json:"deposit_tx"`
				Bridge        string `json:"bridge"`
				Payout        string `json:"payout"`
				PayoutAddress string `json:"payout_address"`
				Amount        int64  `json:"amount"`
			} `json:"links"`
			Trace struct {
				From         []string `json:"from"`
				Start        int64    `json:"start_amount"`
				Destinations []struct {
					Category string `json:"category"`
					Amount   int64  `json:"amount"`
				} `json:"destinations"`
			} `json:"btc_trace"`
		} `json:"crossed"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:dprk-2021-5", "--mixer-links", "--cross", "--format", "json"), &crossed); err != nil {
		t.Fatal(err)
	}
	if crossed.Crossed == nil || crossed.Crossed.Matched == 0 || len(crossed.Crossed.Trace.Destinations) == 0 || len(crossed.Crossed.Links) != crossed.Crossed.Matched {
		t.Fatalf("--cross: %+v", crossed.Crossed)
	}
	// The links are the Bitcoin trace's starts.
	var bridged int64
	var payouts []string
	for _, l := range crossed.Crossed.Links {
		bridged += l.Amount
		payouts = append(payouts, l.Payout)
	}
	if bridged != crossed.Crossed.Trace.Start || !slices.Equal(payouts, crossed.Crossed.Trace.From) {
		t.Errorf("--cross: links of %d sat to %v, the Bitcoin trace from %d sat at %v", bridged, payouts, crossed.Crossed.Trace.Start, crossed.Crossed.Trace.From)
	}
	// Drawn, each bridge deposit pays its Bitcoin payout's address (a
	// heuristic link, of the payout's tainted part), and the Bitcoin trace
	// goes on from there.
	xg := graphtest.ParseDOT(t, mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:dprk-2021-5", "--mixer-links", "--cross", "--format", "dot"))
	for _, l := range crossed.Crossed.Links {
		found := false
		for _, e := range xg.Edges {
			if e.From == l.Bridge && e.To == l.PayoutAddress {
				found = strings.HasPrefix(e.Attrs["tooltip"], strings.TrimRight(strings.TrimRight(fmt.Sprintf("%d.%08d", l.Amount/1e8, l.Amount%1e8), "0"), ".")+" BTC") && e.Attrs["style"] == "dashed"
			}
		}
		if !found || !strings.Contains(xg.Nodes[l.Bridge]["label"], "bridge: ") {
			t.Errorf("graph of the crossing: no edge %s -> %s of %d sat", l.Bridge, l.PayoutAddress, l.Amount)
		}
	}
	if !strings.Contains(xg.Attrs["label"], "carried over to Bitcoin at "+fmt.Sprint(crossed.Crossed.Matched)+" bridge payouts matched") {
		t.Errorf("graph of the crossing: caption %q", xg.Attrs["label"])
	}
	// The deposit's transaction shows it, by the bridge's label, also
	// while a server holds the labels.
	deposit := crossed.Crossed.Links[0]
	bridgeEvent := func() bool {
		var tx struct {
			Events []struct {
				Kind     string `json:"kind"`
				Contract string `json:"contract"`
			} `json:"events"`
		}
		if err := jsonUnmarshal(mustRun(t, "tx", "--chain", "eth", "--store", store, deposit.DepositTx, "--json"), &tx); err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(tx.Events, func(e struct {
			Kind     string `json:"kind"`
			Contract string `json:"contract"`
		}) bool {
			return e.Kind == "bridge-deposit" && strings.EqualFold(e.Contract, deposit.Bridge)
		})
	}
	if !bridgeEvent() {
		t.Errorf("spur tx %s: no bridge-deposit into %s", deposit.DepositTx, deposit.Bridge)
	}
	srv := startServe(t, "--store", store, "--no-auth")
	if !bridgeEvent() {
		t.Errorf("spur tx %s beside a server: no bridge-deposit into %s", deposit.DepositTx, deposit.Bridge)
	}
	// The API gives the addresses holding the taint as the CLI does.
	for _, chain := range []string{"btc", "eth"} {
		inc := map[string]string{"btc": "incident:dprk-2021-5", "eth": "incident:dprk-2021-1"}[chain]
		resp, err := http.Post(srv.base+"/v1/trace", "application/json", strings.NewReader(`{"chain":"`+chain+`","from":["`+inc+`"],"mixer_links":true,"format":"labels"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if cli := mustRun(t, "trace", "--store", store, "--chain", chain, inc, "--mixer-links", "--format", "labels"); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || string(body) != cli {
			t.Errorf("POST /v1/trace format labels on %s: %d %s\n%.300s\nCLI:\n%.300s", chain, resp.StatusCode, resp.Header.Get("Content-Type"), body, cli)
		}
	}
	srv.cmd.Process.Kill()
	<-srv.done
	// An actor's Bitcoin entities, for people: a list of numbers.
	var svc []struct {
		Address string `json:"address"`
	}
	if err := jsonUnmarshal(mustRun(t, "labels", "list", "--store", store, "--chain", "btc", "--category", "exchange", "--json"), &svc); err != nil || len(svc) < 2 {
		t.Fatalf("exchange labels: %v (%d)", err, len(svc))
	}
	tp := filepath.Join(t.TempDir(), "actor.yaml")
	os.WriteFile(tp, []byte("title: t\ncategory: exchange\ncurrency: BTC\nactor: Test Actor\ntags:\n  - address: "+svc[0].Address+"\n    label: a\n  - address: "+svc[len(svc)-1].Address+"\n    label: b\n"), 0o644)
	mustRun(t, "labels", "import", "--store", store, "--format", "tagpack", tp)
	if out := mustRun(t, "actor", "test actor", "--store", store); !regexp.MustCompile(`^test actor: 2 labels on 2 addresses, Bitcoin entities \d+(, \d+)*\n`).MatchString(out) {
		t.Fatalf("actor text:\n%s", out)
	}
	// For people, the links by clue are a sorted list, not a Go map.
	text := mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:dprk-2021-5", "--mixer-links")
	if !regexp.MustCompile(`(?m)^mixer withdrawals linked, by clue: [a-z-]+ \d+(, [a-z-]+ \d+)*$`).MatchString(text) {
		t.Fatalf("trace --mixer-links text has no list of links by clue:\n%s", text)
	}
	// The stolen assets listed apart, counts as people write them.
	if !regexp.MustCompile(`^fifo forward trace; stolen: \S+ \S+(, \S+ \S+)*; \d{1,3}(,\d{3})* transfers replayed, \d{1,3}(,\d{3})* flows\n`).MatchString(text) {
		t.Fatalf("trace text's first line:\n%.300s", text)
	}
	// Dollars as people write them, in both tables.
	if m := regexp.MustCompile(`(?m)^exact +mixer .* (\$\S+)$`).FindAllStringSubmatch(text, -1); len(m) < 2 || !regexp.MustCompile(`^\$\d{1,3}(,\d{3})*$`).MatchString(m[0][1]) || !regexp.MustCompile(`^\$\d{1,3}(,\d{3})*$`).MatchString(m[len(m)-1][1]) {
		t.Fatalf("trace text's dollars: %q\n%s", m, text)
	}
	// From the thief's address on Ethereum (every transfer it received in
	// transactions others sent): the theft's own transfers, not the swaps'
	// proceeds of its own transactions again.
	var inc, thief struct {
		Start map[string]string `json:"start"`
		Flows []struct {
			To string `json:"to"`
		} `json:"flows"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:dprk-2021-5", "--format", "json"), &inc); err != nil || len(inc.Flows) == 0 {
		t.Fatalf("trace of the Liquid theft on Ethereum: %v", err)
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", inc.Flows[0].To, "--format", "json"), &thief); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(thief.Start) != fmt.Sprint(inc.Start) {
		t.Fatalf("from the thief's address %s: start %v, the theft's %v", inc.Flows[0].To, thief.Start, inc.Start)
	}
	// Backward on Ethereum from the ETH theft: the victim's hot wallet was
	// funded at genesis.
	var back struct {
		Destinations []struct {
			Category string `json:"category"`
		} `json:"destinations"`
	}
	incs := mustRun(t, "incident", "list", "--store", store, "--json")
	var list []struct {
		ID       string   `json:"id"`
		TheftTxs []string `json:"theft_txs"`
		EVM      *struct {
			TheftTxs []string `json:"theft_txs"`
		} `json:"evm"`
	}
	if err := jsonUnmarshal(incs, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0].EVM == nil {
		t.Fatalf("incidents: %s", incs)
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--chain", "eth", "--direction", "backward", "--store", store, "--from", list[0].EVM.TheftTxs[0], "--format", "json"), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Destinations) == 0 || back.Destinations[0].Category != "minted" && back.Destinations[0].Category != "exchange" {
		t.Fatalf("backward from the ETH theft: %+v", back)
	}
	if r := run(t, "trace", "--store", store, "--from", "incident:nope"); r.code != exitNotFound {
		t.Fatalf("unknown incident: exit %d", r.code)
	}
	// The store's summary says what it holds beside Bitcoin.
	if out := mustRun(t, "store", "info", "--store", store); !strings.Contains(out, "also held:\n  the eth chain (spur store info --chain eth)\n") || !regexp.MustCompile(`labels and [\d,]+ listed entries from \d+ sources, \d+ incidents`).MatchString(out) {
		t.Fatalf("store info:\n%s", out)
	}
	// A REF given as an argument is one given with --from.
	if a, b := mustRun(t, "trace", "--store", store, "incident:dprk-2021-5", "--format", "json"), mustRun(t, "trace", "--store", store, "--from", "incident:dprk-2021-5", "--format", "json"); a != b {
		t.Fatal("trace REF and trace --from REF differ")
	}
	// An incident on Ethereum alone, written as an analyst writes one
	// ("chain: Ethereum" and its theft there): traced and reported on
	// Ethereum; a Bitcoin trace of it says where its theft is.
	ethOnly := filepath.Join(t.TempDir(), "eth-only.yaml")
	os.WriteFile(ethOnly, []byte("incidents:\n  - id: eth-only\n    victim: Someone\n    date: 2021-08-19\n    actor: Test Actor\n    chain: Ethereum\n"+
		"    theft_txs: ["+list[0].EVM.TheftTxs[0]+"]\n"), 0o644)
	mustRun(t, "incident", "import", "--store", store, ethOnly)
	if r := run(t, "trace", "--store", store, "--from", "incident:eth-only"); r.code != exitNotFound || !strings.Contains(r.stderr, "its theft is on eth (--chain eth)") {
		t.Fatalf("Bitcoin trace of an Ethereum incident: exit %d %s", r.code, r.stderr)
	}
	mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:eth-only")
	// One incident added from flags is one imported from a file: the
	// Liquid theft again, on both chains, under another id.
	var liquid []string
	for _, i := range list {
		if i.ID == "dprk-2021-5" {
			liquid = i.TheftTxs
		}
	}
	add := []string{"incident", "add", "--store", store, "--id", "again", "--date", "2021-08-19", "--victim", "Liquid Global", "--actor", "Test Actor",
		"--theft-tx", strings.Join(liquid, ","), "--evm-theft-tx", list[0].EVM.TheftTxs[0]}
	if out := mustRun(t, add...); out != "added incident again (2021-08-19, btc)\n" {
		t.Errorf("incident add: %q", out)
	}
	if a, b := mustRun(t, "trace", "--store", store, "incident:again", "--json"), mustRun(t, "trace", "--store", store, "incident:dprk-2021-5", "--json"); len(liquid) == 0 || a != b {
		t.Errorf("trace of the incident added: %.300s\nof the one imported: %.300s", a, b)
	}
	mustRun(t, "trace", "--chain", "eth", "--store", store, "incident:again")
	// The actor's incidents, listed with their chains.
	if out := mustRun(t, "actor", "Test Actor", "--store", store); !regexp.MustCompile(`(?m)^again +2021-08-19 +Liquid Global +btc, eth$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^eth-only +2021-08-19 +Someone +eth$`).MatchString(out) || !strings.Contains(out, "2 incidents") {
		t.Errorf("spur actor of the incidents' actor:\n%s", out)
	}
	before := mustRun(t, "incident", "list", "--store", store)
	for _, bad := range [][]string{
		{"--id", "bad", "--date", "2021-08-19", "--theft-tx", "abc"},
		{"--id", "bad", "--date", "19/08/2021", "--theft-tx", liquid[0]},
		{"--id", "bad", "--date", "2021-08-19"},
		{"--date", "2021-08-19", "--theft-tx", liquid[0]},
		{"--id", "bad", "--date", "2021-08-19", "--chain", "eth", "--theft-tx", liquid[0]},
		{"--id", "bad", "--date", "2021-08-19", "--theft-tx", liquid[0], "--evm-victim", "0x12"},
	} {
		if r := run(t, append([]string{"incident", "add", "--store", store}, bad...)...); r.code != exitUsage {
			t.Errorf("incident add %v: exit %d %s", bad, r.code, r.stderr)
		}
	}
	if after := mustRun(t, "incident", "list", "--store", store); after != before {
		t.Errorf("refused adds changed the incidents:\n%s\n%s", before, after)
	}
	if md := mustRun(t, "report", "incident", "eth-only", "--store", store); !strings.Contains(md, "Chain: eth.") || strings.Contains(md, "BTC") || !strings.Contains(md, "| where | USD at theft | share |") {
		t.Fatalf("report of an Ethereum incident:\n%s", md)
	}
	// An incident on both chains has a part for each, headed by its name.
	if md := mustRun(t, "report", "incident", "dprk-2021-5", "--store", store); !strings.Contains(md, "\n## Bitcoin\n") || !strings.Contains(md, "\n## Ethereum\n") {
		t.Fatalf("report of an incident on both chains:\n%s", md)
	}
	if page := mustRun(t, "report", "incident", "dprk-2021-5", "--store", store, "--format", "html"); !strings.Contains(page, ">Bitcoin: unspent</text>") || !strings.Contains(page, ">Ethereum: unspent</text>") {
		t.Fatalf("the chart of an incident on both chains names each bar's chain:\n%.2000s", page)
	}
	// What rests on heuristic links is a part of what was stolen, never
	// more (what reached a bridge by a mixer's heuristic link is not
	// counted again at the bridge's payout).
	var actorRep struct {
		HeuristicShare float64 `json:"heuristic_share"`
		UnspentUSD     float64 `json:"unspent_usd"`
		UnspentUSDNow  float64 `json:"unspent_usd_now"`
		NowDay         string  `json:"now_day"`
		Incidents      []struct {
			ID            string  `json:"id"`
			UnspentUSDNow float64 `json:"unspent_usd_now"`
			EVM           *struct {
				StolenUSD     float64 `json:"stolen_usd"`
				HeuristicUSD  float64 `json:"heuristic_usd"`
				UnspentUSDNow float64 `json:"unspent_usd_now"`
				NowDay        string  `json:"now_day"`
			} `json:"evm"`
		} `json:"incidents"`
	}
	if err := jsonUnmarshal(mustRun(t, "report", "actor", "Lazarus Group", "--year", "2021", "--store", store, "--format", "json"), &actorRep); err != nil {
		t.Fatal(err)
	}
	// The CSV form: a row for each place of each incident's parts, as the
	// JSON has them.
	var repDests struct {
		Incidents []struct {
			ID           string `json:"id"`
			Destinations []struct {
				Place  string  `json:"place"`
				Amount int64   `json:"amount"`
				USD    float64 `json:"usd"`
			} `json:"destinations"`
			EVM *struct {
				Chain        string `json:"chain"`
				Destinations []struct {
					Place string  `json:"place"`
					USD   float64 `json:"usd"`
				} `json:"destinations"`
			} `json:"evm"`
		} `json:"incidents"`
	}
	if err := jsonUnmarshal(mustRun(t, "report", "actor", "Lazarus Group", "--year", "2021", "--store", store, "--json"), &repDests); err != nil {
		t.Fatal(err)
	}
	var wantCSV []string
	for _, r := range repDests.Incidents {
		for _, d := range r.Destinations {
			wantCSV = append(wantCSV, fmt.Sprintf("%s btc %s %d %.2f", r.ID, d.Place, d.Amount, d.USD))
		}
		if r.EVM != nil {
			for _, d := range r.EVM.Destinations {
				wantCSV = append(wantCSV, fmt.Sprintf("%s %s %s  %.2f", r.ID, r.EVM.Chain, d.Place, d.USD))
			}
		}
	}
	var gotCSV []string
	for _, r := range readCSV(t, mustRun(t, "report", "actor", "Lazarus Group", "--year", "2021", "--store", store, "--format", "csv")) {
		gotCSV = append(gotCSV, fmt.Sprintf("%s %s %s %s %s", r["incident"], r["chain"], r["place"], r["amount"], r["usd"]))
	}
	if len(wantCSV) < 7*4 || !slices.Equal(gotCSV, wantCSV) {
		t.Errorf("the actor's report as CSV:\n%s\nas JSON:\n%s", strings.Join(gotCSV, "\n"), strings.Join(wantCSV, "\n"))
	}
	if actorRep.HeuristicShare <= 0 || actorRep.HeuristicShare > 1 {
		t.Errorf("heuristic share of the actor's report %.3f", actorRep.HeuristicShare)
	}
	// What is still unspent is also valued at the latest closes: on both
	// chains, the sum of the incidents'.
	var unspentNow float64
	evmUnspent := 0
	for _, r := range actorRep.Incidents {
		if r.EVM != nil && r.EVM.HeuristicUSD > r.EVM.StolenUSD*1.0001 {
			t.Errorf("incident %s: $%.0f on heuristic links of $%.0f stolen", r.ID, r.EVM.HeuristicUSD, r.EVM.StolenUSD)
		}
		unspentNow += r.UnspentUSDNow
		if r.EVM != nil {
			unspentNow += r.EVM.UnspentUSDNow
			if r.EVM.NowDay != last {
				t.Errorf("incident %s: the EVM part's now is %q, want %s", r.ID, r.EVM.NowDay, last)
			}
			if r.EVM.UnspentUSDNow > 0 {
				evmUnspent++
			}
		}
	}
	// Each linked withdrawal says how sure its clue is.
	var linkedEth struct {
		Flows []struct {
			Clue       string  `json:"clue"`
			Link       string  `json:"link"`
			Confidence float64 `json:"confidence"`
		} `json:"flows"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:dprk-2021-5", "--mixer-links", "--json"), &linkedEth); err != nil {
		t.Fatal(err)
	}
	byClue := map[string]int{}
	for _, f := range linkedEth.Flows {
		if f.Clue == "" || f.Link != "heuristic" {
			continue
		}
		byClue[f.Clue]++
		ok := map[string]bool{"address-reuse": f.Confidence == 1, "gas-price": f.Confidence >= 0.5 && f.Confidence <= 1,
			"timing": f.Confidence > 0 && f.Confidence <= 1, "consolidation": f.Confidence > 0 && f.Confidence <= 1}[f.Clue]
		if !ok {
			t.Errorf("a %s link's confidence %v", f.Clue, f.Confidence)
		}
	}
	if byClue["timing"] == 0 || byClue["address-reuse"] == 0 {
		t.Errorf("linked withdrawals by clue: %v", byClue)
	}
	// The Liquid theft's EVM part: what its trace leaves unspent on
	// Ethereum and, past the bridge, on Bitcoin, each at its last close.
	var liquidNow float64
	for _, d := range crossed.Destinations {
		if d.Category == "unspent" {
			liquidNow += d.USDNow
		}
	}
	var bridgedUnspent int64
	for _, d := range crossed.Crossed.Trace.Destinations {
		if d.Category == "unspent" {
			bridgedUnspent += d.Amount
		}
	}
	liquidNow += math.Round(float64(bridgedUnspent)/1e8*closes[last]*100) / 100
	for _, r := range actorRep.Incidents {
		if r.ID == "dprk-2021-5" && (r.EVM == nil || math.Abs(r.EVM.UnspentUSDNow-liquidNow) > 0.05+1e-9*liquidNow || bridgedUnspent == 0) {
			t.Errorf("the Liquid theft's EVM part unspent now: report %+v, its trace $%.2f (%d sat past the bridge)", r.EVM, liquidNow, bridgedUnspent)
		}
	}
	if actorRep.NowDay != last || math.Abs(actorRep.UnspentUSDNow-unspentNow) > 0.05 || evmUnspent == 0 || actorRep.UnspentUSDNow <= 0 ||
		actorRep.UnspentUSDNow < 0.5*actorRep.UnspentUSD || actorRep.UnspentUSDNow > 2*actorRep.UnspentUSD {
		t.Errorf("actor's unspent now: $%.0f at %s (incidents' $%.0f, %d EVM parts), $%.0f at theft", actorRep.UnspentUSDNow, actorRep.NowDay, unspentNow, evmUnspent, actorRep.UnspentUSD)
	}
	var rows []struct {
		Metric string  `json:"metric"`
		Value  float64 `json:"value"`
		OK     *bool   `json:"ok"`
	}
	evalRun := run(t, "eval", "--world", w, "--store", store, "--json")
	if evalRun.code != 0 || strings.Contains(evalRun.stderr, "note: no exchange") {
		t.Fatalf("eval: exit %d %s", evalRun.code, evalRun.stderr)
	}
	if err := jsonUnmarshal(evalRun.stdout, &rows); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"btc transactions ingested": true, "clustering: pairwise precision": true, "coinjoin detection: precision": true, "coinjoin detection: recall": true,
		"evm transactions ingested": true, "evm deposit addresses: precision": true, "evm deposit addresses: recall": true, "evm clustering (deposits + reuse): pairwise precision": true,
		"evm bridge deposits: recall of the incidents'": true,
		"evm tracing (fifo): exact links: precision":    true, "evm tracing (fifo): exact links: recall": true,
		// The actor report's bars.
		"report (fifo): total USD stolen / truth": true, "report (fifo): BTC share of the stolen USD": true, "report (fifo): ETH share": true,
		"report (fifo): token share": true, "report (fifo): share through mixers": true,
		"report (fifo): at exchanges / truth": true, "report (fifo): still unspent / truth": true,
		// Through Whirlpool by the consolidation's links.
		"tracing (fifo, mixer links): value at exchanges / truth": true, "tracing (fifo, mixer links): true exchange deposits found at the right exchange": true,
		"tracing (fifo, mixer links): mix outputs linked: precision": true,
		// The addresses a trace labels as holding the taint.
		"tracing (fifo, mixer links): addresses holding the taint (--format labels): the actor's share": true,
		"evm tracing (fifo): addresses holding the taint (--format labels): the actor's share":          true}
	realism := 0
	for _, r := range rows {
		if strings.HasPrefix(r.Metric, "report") || strings.Contains(r.Metric, "mixer withdrawals linked") {
			t.Logf("%s: %v", r.Metric, r.Value)
		}
		if strings.HasPrefix(r.Metric, "realism:") || strings.HasPrefix(r.Metric, "evm realism:") {
			t.Logf("%s: %v", r.Metric, r.Value)
			if r.OK != nil {
				realism++
				if !*r.OK {
					t.Errorf("%s: %v, outside its band", r.Metric, r.Value)
				}
			}
		}
		if want[r.Metric] {
			if r.OK == nil || !*r.OK {
				t.Errorf("%s: %v, target missed", r.Metric, r.Value)
			}
			delete(want, r.Metric)
		}
	}
	if len(want) > 0 || realism < 10 {
		t.Fatalf("rows missing: %v (%d realism checks)", want, realism)
	}
	if r := run(t, "gen", "--out", w, "--scenario", "dprk-2099"); r.code != exitUsage {
		t.Fatalf("unknown scenario: exit %d %s", r.code, r.stderr)
	}
	// The world there is as it was.
	for _, f := range []string{"truth.json", "prices.csv", "incidents.yaml", filepath.Join("labels", "services.yaml")} {
		if _, err := os.Stat(filepath.Join(w, f)); err != nil {
			t.Fatalf("after a refused gen: %v", err)
		}
	}
	for _, bad := range [][]string{{"--scale", "0"}, {"--scale", "-1"}, {"--blocks", "-5"}} {
		if r := run(t, append([]string{"gen", "--out", filepath.Join(t.TempDir(), "w")}, bad...)...); r.code != exitUsage {
			t.Errorf("gen %s: exit %d %s", strings.Join(bad, " "), r.code, r.stderr)
		}
	}
	screenEthereum(t, store, filepath.Join(w, "prices.csv"))
}

// screenEthereum screens Ethereum addresses of the Liquid theft once the
// thief's address is labelled stolen-funds, as the victim would report it:
// one the thief paid directly has a direct exposure to stolen funds (in
// dollars, at each transfer's day) and is graded by it, and an exchange
// deposit at the end of the trace has an indirect exposure; the API
// answers the same.
func screenEthereum(t *testing.T, store, pricesCSV string) {
	var inc struct {
		Flows []struct {
			Tx   string `json:"tx"`
			From string `json:"from"`
			To   string `json:"to"`
		} `json:"flows"`
		Destinations []struct {
			Category string `json:"category"`
			Address  string `json:"address"`
		} `json:"destinations"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--chain", "eth", "--store", store, "--from", "incident:dprk-2021-5", "--format", "json"), &inc); err != nil || len(inc.Flows) == 0 {
		t.Fatalf("trace of the Liquid theft on Ethereum: %v", err)
	}
	thief := inc.Flows[0].To
	list := filepath.Join(t.TempDir(), "thief.csv")
	os.WriteFile(list, []byte("address,category,label\n"+thief+",stolen-funds,Liquid theft\n"), 0o644)
	mustRun(t, "labels", "import", "--store", store, "--format", "csv", list)
	type result struct {
		Address  string `json:"address"`
		Labels   []any  `json:"labels"`
		Severity string `json:"severity"`
		Rule     string `json:"rule"`
		Direct   []struct {
			Category string  `json:"category"`
			USD      float64 `json:"usd"`
			Share    float64 `json:"share"`
		} `json:"direct_exposure"`
		Indirect []struct {
			Category string  `json:"category"`
			USD      float64 `json:"usd"`
			Share    float64 `json:"share"`
		} `json:"indirect_exposure"`
	}
	var items []string
	for _, f := range inc.Flows {
		if f.From == thief && f.To != "" && f.To != thief && !slices.Contains(items, f.To) {
			items = append(items, f.To)
		}
	}
	var deposit string
	for _, d := range inc.Destinations {
		if d.Category == "exchange" && d.Address != "" {
			deposit = d.Address
		}
	}
	if len(items) == 0 || deposit == "" {
		t.Fatalf("the thief's payees %v, a deposit %q", items, deposit)
	}
	var got []result
	if err := jsonUnmarshal(mustRun(t, append([]string{"screen", "--store", store, "--json", deposit}, items...)...), &got); err != nil {
		t.Fatal(err)
	}
	if d := got[0]; len(d.Indirect) == 0 || d.Indirect[0].USD <= 0 || d.Indirect[0].Share <= 0 || d.Indirect[0].Share > 1 {
		t.Errorf("the exchange deposit %s: %+v", deposit, d)
	}
	paid := 0
	for _, r := range got[1:] {
		if len(r.Labels) > 0 {
			continue // a DEX's pair or router, graded by its own label
		}
		paid++
		found := false
		for _, e := range r.Direct {
			found = found || e.Category == "stolen-funds" && e.USD > 0 && e.Share > 0 && e.Share <= 1
		}
		// The world's thief pays fresh addresses a little ether for gas,
		// which then withdraw from the mixer: a small direct share of
		// stolen funds, graded by the rules with the rest.
		if !found || r.Severity == "low" {
			t.Errorf("%s, paid by the thief: %+v", r.Address, r)
		}
	}
	if paid == 0 {
		t.Errorf("the thief paid no unlabelled address: %+v", got)
	}
	// The first payee's direct exposure to the thief, worked out apart
	// from spur's screening: its transfers as spur address lists them,
	// each valued at its block's day's close from the world's prices file.
	for _, r := range got[1:] {
		if len(r.Labels) == 0 {
			want := payeeExposure(t, store, pricesCSV, r.Address, thief)
			var have float64
			for _, e := range r.Direct {
				if e.Category == "stolen-funds" {
					have = e.USD
				}
			}
			if want <= 0 || math.Abs(have-want) > 1e-6*want {
				t.Errorf("%s's direct exposure to the thief: $%f, worked out apart $%f", r.Address, have, want)
			}
			break
		}
	}
	// The transaction that paid the deposit address, screened as the
	// exchange's deposit: its value traced back to the theft.
	depositTx := ""
	for _, f := range inc.Flows {
		if f.To == deposit && f.Tx != "" {
			depositTx = f.Tx
		}
	}
	var txs []result
	if err := jsonUnmarshal(mustRun(t, "screen", "--store", store, "--json", "--tx", depositTx), &txs); err != nil {
		t.Fatal(err)
	}
	if len(txs) != 1 || len(txs[0].Indirect) == 0 || txs[0].Indirect[0].USD <= 0 || txs[0].Severity == "low" {
		t.Errorf("the deposit transaction %s: %+v", depositTx, txs)
	}
	if r := run(t, "screen", "--store", store, "--tx", "0x"+strings.Repeat("ab", 32)); r.code != exitNotFound {
		t.Errorf("an Ethereum transaction the store lacks: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "screen", "--store", store, "--tx", "0xabc"); r.code != exitUsage || !strings.Contains(r.stderr, "not an Ethereum transaction hash") {
		t.Errorf("an Ethereum hash cut short: exit %d %s", r.code, r.stderr)
	}
	srv := startServe(t, "--store", store, "--no-auth")
	defer func() { srv.cmd.Process.Signal(syscall.SIGTERM); <-srv.done }()
	body, _ := json.Marshal(map[string]any{"items": []map[string]string{{"address": deposit}, {"tx": depositTx}}})
	resp, err := http.Post(srv.base+"/v1/screen", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var viaAPI struct{ Results []result }
	err = json.NewDecoder(resp.Body).Decode(&viaAPI)
	resp.Body.Close()
	if err != nil || len(viaAPI.Results) != 2 || !reflect.DeepEqual(viaAPI.Results[0].Indirect, got[0].Indirect) || viaAPI.Results[0].Severity != got[0].Severity ||
		!reflect.DeepEqual(viaAPI.Results[1], txs[0]) {
		t.Errorf("the API on the deposit: %+v %v; spur screen: %+v %+v", viaAPI.Results, err, got[0], txs)
	}
	// Backward from the deposit, a hop deep: the API as the CLI.
	var cliBack, apiBack struct {
		Destinations json.RawMessage `json:"destinations"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--chain", "eth", "--store", store, depositTx, "--direction", "backward", "--max-hops", "1", "--json"), &cliBack); err != nil {
		t.Fatal(err)
	}
	body, _ = json.Marshal(map[string]any{"chain": "eth", "from": []string{depositTx}, "direction": "backward", "max_hops": 1})
	resp, err = http.Post(srv.base+"/v1/trace", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&apiBack)
	resp.Body.Close()
	if err != nil || !bytes.Equal(apiBack.Destinations, cliBack.Destinations) || !bytes.Contains(cliBack.Destinations, []byte(`"limit"`)) {
		t.Errorf("backward a hop deep: the API's %s, spur trace's %s (%v)", apiBack.Destinations, cliBack.Destinations, err)
	}
	// A bound on the fan-out, taken on Ethereum too: the thief pays one
	// address a transaction, so it stops nothing.
	var plain, bounded struct {
		Destinations json.RawMessage `json:"destinations"`
	}
	for i, req := range []map[string]any{{"chain": "eth", "from": []string{"incident:dprk-2021-5"}}, {"chain": "eth", "from": []string{"incident:dprk-2021-5"}, "max_fanout": 1}} {
		body, _ = json.Marshal(req)
		resp, err = http.Post(srv.base+"/v1/trace", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode([]any{&plain, &bounded}[i])
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("the API's Ethereum trace %v: %d %v", req, resp.StatusCode, err)
		}
	}
	if len(plain.Destinations) == 0 || !bytes.Equal(plain.Destinations, bounded.Destinations) {
		t.Errorf("max_fanout 1 changed the API's Ethereum trace")
	}
	// The trace over the bridge, as spur trace --cross gives it.
	type crossing struct {
		Crossed *struct {
			Matched int             `json:"matched"`
			Links   json.RawMessage `json:"links"`
		} `json:"crossed"`
		AsOf map[string]query.ChainTip `json:"as_of"`
	}
	var cli, viaAPITrace crossing
	if err := jsonUnmarshal(mustRun(t, "trace", "--chain", "eth", "--store", store, "incident:dprk-2021-5", "--mixer-links", "--cross", "--json"), &cli); err != nil || cli.Crossed == nil {
		t.Fatalf("trace --cross: %v %+v", err, cli)
	}
	body, _ = json.Marshal(map[string]any{"chain": "eth", "from": []string{"incident:dprk-2021-5"}, "mixer_links": true, "cross": true})
	resp, err = http.Post(srv.base+"/v1/trace", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&viaAPITrace)
	resp.Body.Close()
	if err != nil || viaAPITrace.Crossed == nil || viaAPITrace.Crossed.Matched != cli.Crossed.Matched || !bytes.Equal(viaAPITrace.Crossed.Links, cli.Crossed.Links) {
		t.Errorf("the API's trace over the bridge: %v %+v; spur trace: %+v", err, viaAPITrace.Crossed, cli.Crossed)
	}
	// Both read the two chains as of the same tips, which they say.
	if len(cli.AsOf) != 2 || cli.AsOf["btc"].Tip == "" || cli.AsOf["eth"].Tip == "" || !maps.Equal(cli.AsOf, viaAPITrace.AsOf) {
		t.Errorf("the trace over the bridge as of %v; the API's as of %v", cli.AsOf, viaAPITrace.AsOf)
	}
}

// payeeExposure works out, from spur address's listing and a prices file,
// the dollars an Ethereum address received from another in transfers of
// value (calls, internal calls, tokens, creations), each at its block's
// day's close (a wrapped coin without a price of its own at its coin's).
func payeeExposure(t *testing.T, store, pricesCSV, addr, from string) float64 {
	t.Helper()
	prices := map[string]float64{}
	f, err := os.Open(pricesCSV)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%s: %v", pricesCSV, err)
	}
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			t.Fatalf("%s: %v", pricesCSV, err)
		}
		prices[strings.ToUpper(r[1])+" "+r[0]] = v
	}
	var list struct {
		Transfers []struct {
			Kind     string `json:"kind"`
			Block    uint64 `json:"block_number"`
			Symbol   string `json:"symbol"`
			Decimals int    `json:"decimals"`
			From     string `json:"from_address"`
			To       string `json:"to_address"`
			Value    string `json:"value"`
		} `json:"transfers"`
	}
	if err := jsonUnmarshal(mustRun(t, "address", "--chain", "eth", "--store", store, addr, "--txs", "--limit", "1000", "--json"), &list); err != nil {
		t.Fatal(err)
	}
	days := map[uint64]string{}
	var usd float64
	for _, x := range list.Transfers {
		if !strings.EqualFold(x.To, addr) || !strings.EqualFold(x.From, from) || !slices.Contains([]string{"call", "internal", "token", "create"}, x.Kind) {
			continue
		}
		if days[x.Block] == "" {
			var blk struct {
				Timestamp int64 `json:"timestamp"`
			}
			if err := jsonUnmarshal(mustRun(t, "block", "--chain", "eth", "--store", store, fmt.Sprint(x.Block), "--json"), &blk); err != nil {
				t.Fatal(err)
			}
			days[x.Block] = time.Unix(blk.Timestamp, 0).UTC().Format("2006-01-02")
		}
		sym := strings.ToUpper(x.Symbol)
		p, ok := prices[sym+" "+days[x.Block]]
		if !ok && strings.HasPrefix(sym, "W") {
			p, ok = prices[sym[1:]+" "+days[x.Block]] // WETH at ETH's close
		}
		if !ok {
			continue
		}
		v, _ := new(big.Float).SetString(x.Value)
		f, _ := v.Quo(v, new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(x.Decimals)), nil))).Float64()
		usd += f * p
	}
	return usd
}

// checkAlerts checks that spur alerts finds every transaction that moved
// the coins of the holders imported as stolen-funds labels, with each
// labelled party's sum: as the exported inputs and outputs of the whole
// chain give them.
func checkAlerts(t *testing.T, store string, held [][]string) {
	t.Helper()
	holding := map[string]bool{}
	for _, r := range held {
		holding[r[0]] = true
	}
	want := btcExportSums(t, store, holding)
	type party struct {
		Address string `json:"address"`
		Value   int64  `json:"value"`
	}
	alerted := map[string]map[string]int64{}
	atHeight, first := map[int64]int{}, int64(math.MaxInt64)
	for _, a := range decodeAlerts[party](t, mustRun(t, "alerts", "--store", store, "--alert", "stolen-funds", "--json", "-q")) {
		g := map[string]int64{}
		for i, ps := range [][]party{a.From, a.To} {
			for _, p := range ps {
				g[[]string{"inputs ", "outputs "}[i]+p.Address] = p.Value
			}
		}
		alerted[a.TxID] = g
		atHeight[a.Height]++
		first = min(first, a.Height)
	}
	if len(alerted) != len(want) || len(alerted) < 100 {
		t.Errorf("spur alerts: %d transactions, the exports %d", len(alerted), len(want))
	}
	for txid, w := range want {
		if g := alerted[txid]; !maps.Equal(g, w) {
			t.Errorf("spur alerts, tx %s: %v, the exports %v", txid, g, w)
			break
		}
	}
	// Posted to a webhook, every one, signed; a receiver that refuses them
	// fails the command.
	var mu sync.Mutex
	var posted []string
	refuse := false
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if refuse || r.Header.Get("X-Spur-Signature-256") != webhook.Sign([]byte("k"), b) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		posted = append(posted, string(b))
	}))
	defer hook.Close()
	env := []string{"SPUR_WEBHOOK_SECRET=k"}
	if r := runEnv(t, env, "alerts", "--store", store, "--alert", "stolen-funds", "--alert-webhook", hook.URL, "--json"); r.code != 0 ||
		len(posted) != len(alerted) || !strings.HasSuffix(r.stderr, counted(len(alerted), "alert", "alerts")+" posted\n") {
		t.Errorf("spur alerts --alert-webhook: exit %d, %d posted of %d\n%s", r.code, len(posted), len(alerted), r.stderr)
	} else {
		for _, b := range posted {
			var a struct {
				TxID string `json:"txid"`
			}
			if json.Unmarshal([]byte(b), &a) != nil || alerted[a.TxID] == nil {
				t.Fatalf("spur alerts --alert-webhook posted %s", b)
			}
		}
	}
	refuse = true
	if r := runEnv(t, env, "alerts", "--store", store, "--alert", "stolen-funds", "--alert-webhook", hook.URL); r.code != exitFailure || !strings.Contains(r.stderr, " refused, 0 not delivered") {
		t.Errorf("spur alerts --alert-webhook to a receiver that refuses: exit %d\n%s", r.code, r.stderr)
	}
	// A range: the first block with alerts alone; a range the store does
	// not hold, refused.
	h := strconv.FormatInt(first, 10)
	r := run(t, "alerts", "--store", store, "--alert", "stolen-funds", "--from", h, "--to", h)
	if r.code != 0 || strings.Count(r.stdout, "alert: block "+h+", tx ") != atHeight[first] || strings.Count(r.stdout, "alert: ") != atHeight[first] ||
		!strings.HasSuffix(r.stderr, counted(atHeight[first], "transaction", "transactions")+" in blocks "+h+" to "+h+"\n") {
		t.Errorf("spur alerts --from %s --to %s (%d alerts there): exit %d\n%s%s", h, h, atHeight[first], r.code, r.stdout, r.stderr)
	}
	// A day: the blocks whose time is on it, as spur block gives their
	// times.
	dayOf := map[int64]string{}
	for height := range atHeight {
		var blk struct {
			Time int64 `json:"time"`
		}
		if err := jsonUnmarshal(mustRun(t, "block", strconv.FormatInt(height, 10), "--store", store, "--json"), &blk); err != nil {
			t.Fatal(err)
		}
		dayOf[height] = time.Unix(blk.Time, 0).UTC().Format(time.DateOnly)
	}
	day, onDay := dayOf[first], 0
	for height, n := range atHeight {
		if dayOf[height] == day {
			onDay += n
		}
	}
	r = run(t, "alerts", "--store", store, "--alert", "stolen-funds", "--from", day, "--to", day, "-q")
	if r.code != 0 || strings.Count(r.stdout, "alert: ") != onDay {
		t.Errorf("spur alerts --from %s --to %s (%d alerts that day): exit %d\n%s%s", day, day, onDay, r.code, r.stdout, r.stderr)
	}
	for _, m := range regexp.MustCompile(`alert: block (\d+),`).FindAllStringSubmatch(r.stdout, -1) {
		if height, _ := strconv.ParseInt(m[1], 10, 64); dayOf[height] != day {
			t.Errorf("spur alerts --from %s --to %s: an alert of block %d, of %s", day, day, height, dayOf[height])
		}
	}
	for _, bad := range [][]string{{"--from", h, "--to", "1"}, {"--to", "99999999"}, {}, {"--from", "2100-01-01"}, {"--from", "yesterday"}} {
		args := append([]string{"alerts", "--store", store}, bad...)
		if len(bad) > 0 {
			args = append(args, "--alert", "stolen-funds")
		}
		if r := run(t, args...); r.code == 0 {
			t.Errorf("spur %v: exit 0", args)
		}
	}
}

// btcExportSums gives, for each transaction that spends from or pays to
// an address of in, what each such address spent ("inputs ADDR") and
// received ("outputs ADDR") in it, as the exported inputs and outputs of
// the whole chain give them.
func btcExportSums(t *testing.T, store string, in map[string]bool) map[string]map[string]int64 {
	t.Helper()
	out := map[string]map[string]int64{}
	for table, addrCol := range map[string]int{"inputs": 8, "outputs": 5} {
		rows, err := csv.NewReader(strings.NewReader(mustRun(t, "export", table, "--store", store, "-q"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		valueCol := map[string]int{"inputs": 6, "outputs": 3}[table]
		for _, r := range rows[1:] {
			if in[r[addrCol]] {
				v, _ := strconv.ParseInt(r[valueCol], 10, 64)
				if out[r[0]] == nil {
					out[r[0]] = map[string]int64{}
				}
				out[r[0]][table+" "+r[addrCol]] += v
			}
		}
	}
	return out
}

// importLabel imports one label, a row of spur's label CSV (address,
// chain, category, label), as source.
func importLabel(t testing.TB, store, source, row string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), source+".csv")
	os.WriteFile(path, []byte("address,chain,category,label\n"+row+"\n"), 0o644)
	mustRun(t, "labels", "import", "--store", store, "--format", "csv", "--source", source, path)
}

// setOf is the set of items.
func setOf(items []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range items {
		m[x] = true
	}
	return m
}

// checkEntityAlerts labels one address of the world's largest entity and
// checks that spur alerts --by-entity finds every transaction that moved
// any member's coins, each member's sum on each side, as the exports give
// them (the members as spur entity lists them), and without --by-entity
// the labelled member's alone.
func checkEntityAlerts(t *testing.T, store string) {
	t.Helper()
	var cl struct {
		Largest uint32 `json:"largest_entity_id"`
		Size    int    `json:"largest_entity_size"`
	}
	if err := jsonUnmarshal(mustRun(t, "cluster", "--store", store, "--json"), &cl); err != nil || cl.Size < 3 {
		t.Fatalf("spur cluster: %+v %v", cl, err)
	}
	var ent struct {
		Addresses []string `json:"addresses"`
	}
	if err := jsonUnmarshal(mustRun(t, "entity", strconv.FormatUint(uint64(cl.Largest), 10), "--store", store, "--json", "--limit", "100000"), &ent); err != nil || len(ent.Addresses) != cl.Size {
		t.Fatalf("spur entity %d: %d addresses, %v; spur cluster says %d", cl.Largest, len(ent.Addresses), err, cl.Size)
	}
	one := ent.Addresses[len(ent.Addresses)/2]
	importLabel(t, store, "one", one+",btc,scam,one of many")
	members := setOf(ent.Addresses)
	type party struct {
		Address string `json:"address"`
		Value   int64  `json:"value"`
		Labels  []struct {
			Label string `json:"label"`
		} `json:"labels"`
		Entity *struct {
			ID     uint32 `json:"id"`
			Size   int    `json:"size"`
			Labels []struct {
				Label string `json:"label"`
				Via   string `json:"via"`
			} `json:"labels"`
		} `json:"entity"`
	}
	got := func(args ...string) map[string]map[string]int64 {
		out := map[string]map[string]int64{}
		for _, a := range decodeAlerts[party](t, mustRun(t, append([]string{"alerts", "--store", store, "--alert", "scam", "--json", "-q"}, args...)...)) {
			out[a.TxID] = map[string]int64{}
			for i, ps := range [][]party{a.From, a.To} {
				for _, p := range ps {
					out[a.TxID][[]string{"inputs ", "outputs "}[i]+p.Address] = p.Value
					own := len(p.Labels) == 1 && p.Labels[0].Label == "one of many"
					if len(args) > 0 && (p.Entity == nil || p.Entity.ID != cl.Largest || p.Entity.Size != cl.Size || len(p.Entity.Labels) != 1 || p.Entity.Labels[0].Via != one || own != (p.Address == one) || len(p.Labels) > 1) {
						t.Fatalf("spur alerts %v, tx %s: party %+v (entity %+v), want entity %d of %d labelled at %s", args, a.TxID, p, p.Entity, cl.Largest, cl.Size, one)
					}
				}
			}
		}
		return out
	}
	for _, c := range []struct {
		args []string
		of   map[string]bool
	}{{nil, map[string]bool{one: true}}, {[]string{"--by-entity"}, members}} {
		w, g := btcExportSums(t, store, c.of), got(c.args...)
		if len(g) != len(w) || len(w) < 2 {
			t.Errorf("spur alerts --alert scam %v: %d transactions, the exports %d", c.args, len(g), len(w))
		}
		for txid := range w {
			if !maps.Equal(g[txid], w[txid]) {
				t.Errorf("spur alerts --alert scam %v, tx %s: %v, the exports %v", c.args, txid, g[txid], w[txid])
				break
			}
		}
	}
	// As text: a side of many parties (the entity's coins spent together)
	// is said by its first ten and a count.
	if out := mustRun(t, "alerts", "--store", store, "--alert", "scam", "--by-entity", "-q"); !regexp.MustCompile(`\n  from [^\n]+\n(  from [^.][^\n]+\n){9}  from \.\.\. and \d+ more addresses \(--json lists them all\)\n`).MatchString(out) {
		t.Errorf("spur alerts --by-entity as text, a consolidation:\n%.3000s", out)
	}
	// As text: a member other than the labelled one is said by the entity.
	if out := mustRun(t, "alerts", "--store", store, "--alert", "scam", "--by-entity", "-q"); !strings.Contains(out, fmt.Sprintf("entity %d of %d addresses: scam: one of many (one) at %s", cl.Largest, cl.Size, one)) {
		t.Errorf("spur alerts --by-entity as text:\n%s", out)
	} else if strings.Contains(out, " "+one+"  ") {
		// The labelled member itself is said by its own label alone.
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, " "+one+"  ") && (strings.Contains(line, "entity") || !strings.HasSuffix(line, "BTC  scam: one of many (one)")) {
				t.Errorf("spur alerts --by-entity as text, the labelled member: %q", line)
			}
		}
	} else {
		t.Errorf("spur alerts --by-entity as text: no line of %s\n%s", one, out)
	}
	if r := run(t, "alerts", "--store", store, "--alert", "scam", "--by-entity", "--chain", "eth"); r.code != exitUsage || !strings.Contains(r.stderr, "--by-entity") {
		t.Errorf("spur alerts --by-entity --chain eth: exit %d %s", r.code, r.stderr)
	}
}

// checkEVMAlerts imports the Ethereum holders as stolen-funds labels and
// checks that spur alerts --chain eth finds every transaction whose
// transfers moved an asset from or to them, fees and burns apart, with
// each labelled party's sum of each asset: as the exported transfers give
// them.
func checkEVMAlerts(t *testing.T, store string, held [][]string) {
	t.Helper()
	csvPath := filepath.Join(t.TempDir(), "eth-thief.csv")
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"address", "chain", "category", "label", "actor", "source"})
	w.WriteAll(held)
	os.WriteFile(csvPath, []byte(b.String()), 0o644)
	mustRun(t, "labels", "import", "--store", store, "--format", "csv", "--source", "eth-thief", csvPath)
	holding := map[string]bool{}
	for _, r := range held {
		holding[r[0]] = true
	}
	evmAlertsAgree(t, store, holding, "--alert", "stolen-funds")
}

// checkEVMEntityAlerts labels an exchange's hot wallet alone and checks
// that spur alerts --chain eth --by-entity --deposits finds every
// transaction of the hot wallet and of each deposit address the heuristic
// joins to it (the members as spur entity --chain eth --deposits lists
// them), each party's sums as the exported transfers give them.
func checkEVMEntityAlerts(t *testing.T, store string) {
	t.Helper()
	hot := ""
	if rows, err := csv.NewReader(strings.NewReader(mustRun(t, "labels", "list", "--store", store, "--chain", "eth", "--category", "exchange", "--csv"))).ReadAll(); err == nil && len(rows) > 1 {
		hot = rows[1][0]
	}
	var ent struct {
		Entity  string   `json:"entity"`
		Size    int      `json:"size"`
		Members []string `json:"members"`
	}
	if err := jsonUnmarshal(mustRun(t, "entity", hot, "--chain", "eth", "--store", store, "--deposits", "--json", "--limit", "100000"), &ent); err != nil || ent.Size < 10 || len(ent.Members) != ent.Size {
		t.Fatalf("spur entity %s --chain eth --deposits: %d members of %d, %v", hot, len(ent.Members), ent.Size, err)
	}
	importLabel(t, store, "designated", hot+",eth,scam,designated exchange")
	members := setOf(ent.Members)
	alone := evmAlertsAgree(t, store, map[string]bool{hot: true}, "--alert", "scam")
	all := evmAlertsAgree(t, store, members, "--alert", "scam", "--by-entity", "--deposits")
	if len(all) <= len(alone) {
		t.Errorf("spur alerts --chain eth --by-entity --deposits: %d parties, %d without", len(all), len(alone))
	}
	for _, p := range all {
		if e := p.Entity; e == nil || e.ID != ent.Entity || e.Size != ent.Size || len(e.Labels) != 1 || e.Labels[0].Via != hot {
			t.Fatalf("spur alerts --chain eth --by-entity: party %+v (entity %+v), want entity %s of %d labelled at %s", p, e, ent.Entity, ent.Size, hot)
		}
	}
	// The API's the same, the entities made by the server (deposits, its
	// default heuristic) and kept while the store stays as it is.
	cli := decodeAlerts[evmParty](t, mustRun(t, "alerts", "--chain", "eth", "--store", store, "--json", "-q", "--alert", "scam", "--by-entity", "--deposits"))
	srv := startServe(t, "--store", store, "--no-auth")
	defer func() { srv.cmd.Process.Kill(); <-srv.done }()
	get := func(q string) (int, []byte) {
		resp, err := http.Get(srv.base + "/v1/eth/alerts?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// Each heuristic's entities against spur alerts': the entities made
	// for one are not those of another.
	for _, h := range []string{"deposits", "airdrop"} {
		var api []json.RawMessage
		for from := cli[0].Height; from <= cli[len(cli)-1].Height; from += 1000 {
			code, b := get(fmt.Sprintf("categories=scam&by_entity=true&heuristics=%s&from=%d&to=%d", h, from, min(from+999, cli[len(cli)-1].Height)))
			var page struct{ Alerts []json.RawMessage }
			if code != 200 || json.Unmarshal(b, &page) != nil {
				t.Fatalf("GET /v1/eth/alerts by_entity: %d %.300s", code, b)
			}
			api = append(api, page.Alerts...)
		}
		var cliRaw []json.RawMessage
		for d := json.NewDecoder(strings.NewReader(mustRun(t, "alerts", "--chain", "eth", "--store", store, "--json", "-q", "--alert", "scam", "--by-entity", "--"+h, "--from", strconv.FormatInt(cli[0].Height, 10), "--to", strconv.FormatInt(cli[len(cli)-1].Height, 10)))); ; {
			var m json.RawMessage
			if d.Decode(&m) != nil {
				break
			}
			cliRaw = append(cliRaw, m)
		}
		if len(api) != len(cliRaw) || h == "deposits" && len(api) != len(cli) {
			t.Fatalf("GET /v1/eth/alerts by_entity, heuristics %s: %d alerts, spur alerts %d", h, len(api), len(cliRaw))
		}
		for i := range api {
			var a, b any
			json.Unmarshal(api[i], &a)
			json.Unmarshal(cliRaw[i], &b)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("heuristics %s, alert %d: the API's\n%s\nspur alerts'\n%s", h, i, api[i], cliRaw[i])
			}
		}
	}
	for q, want := range map[string]int{"by_entity=true&heuristics=nope": 400, "heuristics=deposits": 400, "by_entity=true&heuristics=deposit-reuse,airdrop": 200} {
		if code, b := get(fmt.Sprintf("categories=scam&from=%d&to=%d&%s", cli[0].Height, cli[0].Height, q)); code != want {
			t.Errorf("GET /v1/eth/alerts?%s: %d %s, want %d", q, code, b, want)
		}
	}
	// The addresses table with the same entities: the hot wallet's
	// members name it, no other address does; without a heuristic, none.
	for _, heur := range []bool{true, false} {
		args := []string{"export", "addresses", "--chain", "eth", "--store", store, "-q"}
		if heur {
			args = append(args, "--deposits")
		}
		rows, err := csv.NewReader(strings.NewReader(mustRun(t, args...))).ReadAll()
		if err != nil || len(rows) < 2 || rows[0][4] != "entity" {
			t.Fatalf("spur %v: %v, %d rows", args, err, len(rows))
		}
		in := 0
		for _, r := range rows[1:] {
			switch {
			case !heur && r[4] != "":
				t.Fatalf("spur %v: %v has an entity", args, r)
			case heur && members[r[0]] != (r[4] == ent.Entity), heur && r[4] == "":
				t.Fatalf("spur %v: %v; the hot wallet's entity %s", args, r, ent.Entity)
			}
			if members[r[0]] {
				in++
			}
		}
		if in != ent.Size {
			t.Errorf("spur %v: %d of the entity's %d members", args, in, ent.Size)
		}
	}
	for _, bad := range [][]string{{"export", "balances", "--chain", "eth", "--deposits"}, {"export", "addresses", "--deposits"}} {
		if r := run(t, append(bad, "--store", store)...); r.code != exitUsage {
			t.Errorf("spur %v: exit %d %s", bad, r.code, r.stderr)
		}
	}
	for _, bad := range [][]string{{"--by-entity"}, {"--deposits"}, {"--by-entity", "--deposit-reuse", "--chain", "btc"}} {
		args := append([]string{"alerts", "--store", store, "--alert", "scam"}, bad...)
		if !slices.Contains(bad, "--chain") {
			args = append(args, "--chain", "eth")
		}
		if r := run(t, args...); r.code != exitUsage {
			t.Errorf("spur %v: exit %d %s", args, r.code, r.stderr)
		}
	}
}

// evmParty is an EVM alert's party as spur alerts --json prints it.
type evmParty struct {
	Address, Asset, Value string
	Entity                *struct {
		ID     string `json:"id"`
		Size   int    `json:"size"`
		Labels []struct {
			Via string `json:"via"`
		} `json:"labels"`
	} `json:"entity"`
}

// evmAlertsAgree checks that spur alerts --chain eth with args finds
// every transaction whose transfers moved an asset from or to an address
// of holding, fees and burns apart, with each such party's sum of each
// asset, as the exported transfers give them; it returns the parties.
func evmAlertsAgree(t *testing.T, store string, holding map[string]bool, args ...string) []evmParty {
	t.Helper()
	want := map[string]map[string]*big.Int{} // tx -> side, address, asset -> sum
	add := func(tx, key, v string) {
		if want[tx] == nil {
			want[tx] = map[string]*big.Int{}
		}
		if want[tx][key] == nil {
			want[tx][key] = new(big.Int)
		}
		n, _ := new(big.Int).SetString(v, 10)
		want[tx][key].Add(want[tx][key], n)
	}
	rows, err := csv.NewReader(strings.NewReader(mustRun(t, "export", "transfers", "--chain", "eth", "--store", store, "-q"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] { // block_number,block_timestamp,transaction_hash,kind,log_index,asset,symbol,decimals,from_address,to_address,value
		if r[2] == "" || r[3] == "fee" || r[3] == "burn" {
			continue
		}
		if holding[r[8]] {
			add(r[2], "from "+r[8]+" "+r[5], r[10])
		}
		if holding[r[9]] {
			add(r[2], "to "+r[9]+" "+r[5], r[10])
		}
	}
	got := map[string]map[string]*big.Int{}
	var parties []evmParty
	for _, a := range decodeAlerts[evmParty](t, mustRun(t, append([]string{"alerts", "--chain", "eth", "--store", store, "--json", "-q"}, args...)...)) {
		got[a.TxID] = map[string]*big.Int{}
		for side, ps := range map[string][]evmParty{"from": a.From, "to": a.To} {
			parties = append(parties, ps...)
			for _, p := range ps {
				n, _ := new(big.Int).SetString(p.Value, 10)
				got[a.TxID][side+" "+p.Address+" "+p.Asset] = n
			}
		}
	}
	if len(got) != len(want) || len(got) < 10 {
		t.Errorf("spur alerts --chain eth %v: %d transactions, the export %d", args, len(got), len(want))
	}
	for tx, w := range want {
		if !maps.EqualFunc(got[tx], w, func(a, b *big.Int) bool { return a.Cmp(b) == 0 }) {
			t.Errorf("spur alerts --chain eth %v, tx %s: %v, the export %v", args, tx, got[tx], w)
			break
		}
	}
	return parties
}
