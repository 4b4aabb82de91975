package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spur-forensics/spur/internal/api"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/graph/graphtest"
	"github.com/spur-forensics/spur/internal/label"
)

// chromium returns Debian's Chromium binary (SPUR_CHROMIUM names another),
// or skips: .ci/run installs it.
func chromium(t *testing.T) string {
	p := os.Getenv("SPUR_CHROMIUM")
	if p == "" {
		p = "/usr/lib/chromium/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no Chromium at %s (apt-get install chromium; .ci/run does)", p)
	}
	return p
}

// TestInvestigationPage loads the page in a real headless Chromium on a
// small world: the incidents list, an incident's trace drawn as a graph,
// a node's details, neighbours expanded, the actor report; screenshots go
// to SPUR_ARTIFACTS.
func TestInvestigationPage(t *testing.T) {
	bin := chromium(t)
	w := filepath.Join(t.TempDir(), "world")
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "gen", "--out", w, "--scale", "60", "--blocks", "320", "--seed", "4")
	mustRun(t, "ingest", "btc", "--network", "regtest", "--store", dir, "--blocks", filepath.Join(w, "btc", "blocks"), "-q")
	mustRun(t, "cluster", "--store", dir)
	mustRun(t, "labels", "import", "--store", dir, "--format", "tagpack", filepath.Join(w, "labels", "services.yaml"))
	mustRun(t, "incident", "import", "--store", dir, filepath.Join(w, "incidents.yaml"))
	mustRun(t, "prices", "import", "--store", dir, filepath.Join(w, "prices.csv"))
	mustRun(t, "labels", "import", "--store", dir, "--format", "tagpack", filepath.Join(w, "labels", "services-eth.yaml"))
	mustRun(t, "ingest", "evm", "--chain", "eth", "--store", dir, "--etl", filepath.Join(w, "evm"), "-q")
	// The Liquid theft's Ethereum part as an incident of its own, on
	// Ethereum alone.
	var listed []struct {
		ID  string `json:"id"`
		EVM *struct {
			TheftTxs []string `json:"theft_txs"`
		} `json:"evm"`
	}
	if err := jsonUnmarshal(mustRun(t, "incident", "list", "--store", dir, "--json"), &listed); err != nil {
		t.Fatal(err)
	}
	for _, i := range listed {
		if i.ID == "dprk-2021-5" && i.EVM != nil {
			only := filepath.Join(t.TempDir(), "eth-only.yaml")
			os.WriteFile(only, []byte("incidents:\n  - id: liquid-eth\n    victim: Liquid Global (ETH)\n    date: 2021-08-19\n    actor: Lazarus Group\n    chain: eth\n    theft_txs: ["+strings.Join(i.EVM.TheftTxs, ", ")+"]\n"), 0o644)
			mustRun(t, "incident", "import", "--store", dir, only)
		}
	}

	sf := storeFlags{dir: dir}
	s, err := sf.openExisting()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	labels, err := label.Open(labelsDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer labels.Close()
	c, err := cluster.Open(s)
	if err != nil {
		t.Fatal(err)
	}
	es, err := openEVM(&sf, "eth", evmRead)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	srv := httptest.NewServer(api.New(api.Config{Store: s, Labels: labels, Clusters: c, EVM: es, NoAuth: true}).Handler())
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 900),
		// Its own temporary files too, removed with the test's.
		chromedp.Env("TMPDIR="+t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first run starts the browser; later steps get a deadline each.
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	shot := func(name string) {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		out := os.Getenv("SPUR_ARTIFACTS")
		if out == "" {
			out = t.TempDir()
		}
		os.MkdirAll(out, 0o755)
		if err := os.WriteFile(filepath.Join(out, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(expr string) string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		err := chromedp.Do(ctx, steps...)
		// A poll that starts as the page replaces its document can find
		// its JavaScript context gone; the next try finds the new one.
		for try := 0; err != nil && strings.Contains(err.Error(), "Cannot find context with specified id") && try < 3; try++ {
			time.Sleep(100 * time.Millisecond)
			err = chromedp.Do(ctx, steps...)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Waits and clicks go through the page's own DOM: what a user's click
	// runs.
	wait := func(expr string) { do(chromedp.Poll[chromedp.Void](expr)) }
	click := func(sel string) { eval(fmt.Sprintf(`(document.querySelector(%q).click(), "")`, sel)) }
	do(chromedp.Navigate(srv.URL + "/"))
	wait(`document.querySelector('#incidents li[data-id="dprk-2021-5"]') !== null`)
	incidents := eval(`String(document.querySelectorAll("#incidents li").length)`)
	click(`#incidents li[data-id="dprk-2021-5"]`)
	wait(`document.querySelectorAll("#graph .edge").length > 0`)
	edges := eval(`String(document.querySelectorAll("#graph .edge").length)`)
	exchanges := eval(`String(document.querySelectorAll('#graph .node[data-kind="exchange"]').length)`)
	statusText := eval(`document.getElementById("status").textContent`)
	if eval(`String(state.edges.some((e) => e.info.includes("≈ $")))`) != "true" {
		t.Error("no USD on the edges")
	}
	// The Liquid coins go through Whirlpool: its mixes are marked.
	if eval(`String(document.querySelectorAll('#graph .edge[data-coinjoin="whirlpool"]').length > 0)`) != "true" {
		t.Error("no CoinJoin marked on the graph")
	}
	if eval(`String(document.getElementById("increport") !== null)`) != "true" {
		t.Error("no incident report button in the panel")
	}
	// On Bitcoin the taint goes through transactions (nodes of their own),
	// and the trace exports as Graphviz's DOT, as spur trace --format dot.
	if eval(`String(document.querySelectorAll('#graph .node[data-kind="tx"]').length > 0)`) != "true" {
		t.Error("no transaction nodes in the Bitcoin trace")
	}
	if dot, err := chromedp.Run(ctx, chromedp.Evaluate[string](`dotText()`, chromedp.EvalAwaitPromise)); err != nil || !strings.HasPrefix(dot, "digraph trace {") || !strings.Contains(dot, "exchange: ") {
		t.Errorf("the page's DOT export: %v %.200s", err, dot)
	}
	if gml, err := chromedp.Run(ctx, chromedp.Evaluate[string](`traceAs("graphml")`, chromedp.EvalAwaitPromise)); err != nil || len(graphtest.ParseGraphML(t, gml).Nodes) == 0 {
		t.Errorf("the page's GraphML export: %v %.200s", err, gml)
	}
	// And the addresses holding the taint as labels, as spur trace
	// --format labels.
	if ls, err := chromedp.Run(ctx, chromedp.Evaluate[string](`traceAs("labels")`, chromedp.EvalAwaitPromise)); err != nil || !strings.HasPrefix(ls, "address,chain,category,label,actor,source\n") || !strings.Contains(ls, ",stolen-funds,Liquid Global theft of 2021-08-19 (incident dprk-2021-5): received ") {
		t.Errorf("the page's labels export: %v %.300s", err, ls)
	}
	shot("page-trace.png")
	if incidents != "8" || edges == "0" || exchanges == "0" || !strings.Contains(statusText, "fifo trace of 106.99") {
		t.Fatalf("incidents %s, edges %s, exchange nodes %s, status %q", incidents, edges, exchanges, statusText)
	}
	// A node's details, then its neighbours added to the graph.
	eval(`(document.querySelector('#graph .node[data-kind="address"]').dispatchEvent(new MouseEvent("click")), "")`)
	wait(`document.getElementById("more") !== null && document.getElementById("more").textContent.includes("tx_count")`)
	panel := eval(`document.getElementById("panel").textContent`)
	click(`#expand`)
	wait(fmt.Sprintf(`document.querySelectorAll("#graph .edge").length > %s`, edges))
	after := eval(`String(document.querySelectorAll("#graph .edge").length)`)
	shot("page-expanded.png")
	if !strings.Contains(panel, "received") {
		t.Errorf("details panel: %q", panel)
	}
	// Exports: the SVG serialises, the CSV has the trace's flows; the actor
	// report opens as its own page with its charts.
	if eval(`String(svgText().length > 1000)`) != "true" || eval(`String(state.flows.length > 0)`) != "true" {
		t.Error("exports are empty")
	}
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/v1/reports/actor/Lazarus%20Group?year=2021&format=html").then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, "<svg") || !strings.Contains(html, "Lazarus Group in 2021") {
		t.Errorf("report page: %.200s", html)
	}
	// And as CSV, what the page's CSV button downloads.
	if rc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`reportText(actorReport("csv"))`, chromedp.EvalAwaitPromise)); err != nil ||
		!strings.HasPrefix(rc, "incident,victim,date,actor,chain,place,amount,usd,share\n") || !strings.Contains(rc, "\ndprk-2021-5,Liquid Global,") {
		t.Errorf("the page's report CSV: %v %.300s", err, rc)
	}
	inc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/v1/reports/incident/dprk-2021-5?format=html").then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(inc, "Liquid Global") {
		t.Errorf("incident report page: %v %.200s", err, inc)
	}
	// With the mixer links on Bitcoin: the mix outputs the thief's
	// consolidation links, dashed.
	eval(`(document.getElementById("links").checked = true, "")`)
	click(`#incidents li[data-id="dprk-2021-5"]`)
	wait(`document.getElementById("status").textContent.includes("mixer links")`)
	shot("page-btc-links.png")
	if eval(`String(state.edges.some((e) => e.info.includes("consolidation, confidence 1.00")))`) != "true" {
		t.Error("no linked edge saying its clue's confidence")
	}
	if n := eval(`String(document.querySelectorAll('#graph .edge[data-link="heuristic"][data-coinjoin="whirlpool"]').length)`); n == "0" {
		t.Errorf("btc trace with mixer links: no heuristic edge out of a mix; status %q", eval(`document.getElementById("status").textContent`))
	}
	// The same incident on Ethereum, with the mixer links: heuristic edges
	// are drawn dashed.
	eval(`(document.getElementById("chain").value = "eth", document.getElementById("links").checked = true, "")`)
	click(`#incidents li[data-id="dprk-2021-5"]`)
	wait(`document.getElementById("status").textContent.includes("mixer links")`)
	heur := eval(`String(document.querySelectorAll('#graph .edge[data-link="heuristic"]').length)`)
	ethStatus := eval(`document.getElementById("status").textContent`)
	shot("page-eth-trace.png")
	if heur == "0" || !strings.Contains(ethStatus, "ETH") {
		t.Errorf("eth trace: %s heuristic edges, status %q", heur, ethStatus)
	}
	// An Ethereum address's neighbours: its latest transfers, each in its
	// asset's units.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`expand(state.flows[0].to).then(() => "")`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	if got := eval(`String(state.edges.filter((e) => /^0x[0-9a-f]{64}\n[a-z]+: [\d,]+(\.\d+)? \S+$/.test(e.info)).length)`); got == "0" {
		t.Errorf("an Ethereum address expanded: no transfer edges; %s", eval(`state.edges.slice(-3).map((e) => e.info).join(" | ")`))
	}
	// Across the bridges: the swap service's deposits go on to their
	// payouts on Bitcoin, and the Bitcoin trace from there, through its
	// transactions to the exchanges' deposit addresses.
	eval(`(document.getElementById("cross").checked = true, document.getElementById("status").textContent = "", "")`)
	click(`#incidents li[data-id="dprk-2021-5"]`)
	wait(`document.getElementById("status").textContent.includes("bridge payouts matched") || document.getElementById("status").textContent.includes("rror")`)
	shot("page-eth-cross.png")
	crossStatus := eval(`document.getElementById("status").textContent`)
	bridgeOut := eval(`String(state.edges.filter((e) => state.nodes.get(e.from).kind === "bridge" && !e.to.startsWith("0x")).length)`)
	btcTxs := eval(`String(document.querySelectorAll('#graph .node[data-kind="tx"]').length)`)
	if !strings.Contains(crossStatus, "bridge payouts matched on Bitcoin") || bridgeOut == "0" || btcTxs == "0" {
		t.Errorf("eth trace across bridges: status %q, %s edges from a bridge to Bitcoin, %s Bitcoin transactions", crossStatus, bridgeOut, btcTxs)
	}
	eval(`(document.getElementById("cross").checked = false, "")`)
	// An incident on Ethereum alone, clicked with Bitcoin chosen, is
	// traced on Ethereum.
	eval(`(document.getElementById("chain").value = "btc", document.getElementById("status").textContent = "", "")`)
	click(`#incidents li[data-id="liquid-eth"]`)
	wait(`document.getElementById("status").textContent.includes("ETH") || document.getElementById("status").textContent.includes("rror")`)
	if got := eval(`document.getElementById("chain").value + " " + document.getElementById("status").textContent`); !strings.HasPrefix(got, "eth ") || !strings.Contains(got, "ETH") {
		t.Errorf("the incident on Ethereum alone: %q", got)
	}
	// EVM amounts read exactly, in whole units.
	if got := eval(`(decimals = {UNI: 18, USDC: 6, X: 0}, [units("303800210439000000000000", "UNI"), units("8494057328937", "USDC"), units("5", "ETH"), units("0", "ETH"), units("-1500000", "USDC"), units("1234", "X"), units("1500000", "Q", 6)].join("|"))`); got != "303,800.210439 UNI|8,494,057.328937 USDC|0.000000000000000005 ETH|0 ETH|-1.5 USDC|1,234 X|1.5 Q" {
		t.Errorf("the page's EVM amounts: %s", got)
	}
	// The question is in the page's address: the page opened at it (or the
	// address changed) traces it again, with its chain, model and links.
	if h := eval(`location.hash`); !strings.Contains(h, "q=incident%3Aliquid-eth") || !strings.Contains(h, "chain=eth") {
		t.Errorf("the page's address after a trace: %q", h)
	}
	do(chromedp.Navigate("about:blank"))
	do(chromedp.Navigate(srv.URL + "/#q=incident%3Adprk-2021-5&chain=eth&model=haircut&links=1"))
	wait(`document.getElementById("status").textContent.includes("trace of") || document.getElementById("status").textContent.includes("rror")`)
	if got := eval(`[chain(), $("model").value, $("links").checked, $("cross").checked, $("status").textContent].join(" ")`); !strings.HasPrefix(got, "eth haircut true false haircut trace of ") || !strings.Contains(got, "mixer links") {
		t.Errorf("the page opened at a trace's address: %q", got)
	}
	eval(`(document.getElementById("status").textContent = "", location.hash = "q=incident%3Adprk-2021-5&chain=btc&model=poison", "")`)
	wait(`document.getElementById("status").textContent.includes("trace of") || document.getElementById("status").textContent.includes("rror")`)
	if got := eval(`[chain(), $("model").value, $("links").checked, $("status").textContent].join(" ")`); !strings.HasPrefix(got, "btc poison false poison trace of 106.99") {
		t.Errorf("the page's address changed to another trace: %q", got)
	}
	// Watching the exchanges' hot wallets from block 0: every alert the
	// API finds, newest first; a click traces from its transaction.
	want, err := chromedp.Run(ctx, chromedp.Evaluate[string](`api("/v1/btc/alerts?categories=exchange&from=0").then((r) => r.alerts.length + " " + r.alerts[r.alerts.length-1].txid)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	eval(`($("chain").value = "btc", $("watchcats").value = "exchange", $("watchfrom").value = "0", $("status").textContent = "", "")`)
	click(`#watch`)
	wait(`$("status").textContent.startsWith("watching") || $("status").textContent.includes("rror")`)
	got := eval(`$("alerts").children.length + " " + $("alerts").firstChild.dataset.txid`)
	shot("page-watch.png")
	if got != want || strings.HasPrefix(got, "0 ") {
		t.Fatalf("the page's watch lists %q (count, newest), the API %q; status %q", got, want, eval(`$("status").textContent`))
	}
	// By entity: the hot wallets' entities, at least as many.
	wantEnt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`api("/v1/btc/alerts?categories=exchange&from=0&by_entity=true").then((r) => String(r.alerts.length))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	eval(`($("watchentity").checked = true, $("status").textContent = "", "")`)
	click(`#watch`)
	wait(`$("status").textContent.startsWith("watching") || $("status").textContent.includes("rror")`)
	if got := eval(`String($("alerts").children.length)`); got != wantEnt || atoi(wantEnt) < atoi(strings.Fields(want)[0]) || !strings.Contains(eval(`$("alerts").firstChild.title`), "entity") {
		t.Errorf("the page's watch by entity lists %s, the API %s (%s without)", got, wantEnt, strings.Fields(want)[0])
	}
	eval(`($("status").textContent = "", "")`)
	click(`#alerts li`)
	wait(`$("status").textContent.includes("trace of") || $("status").textContent.includes("rror")`)
	if st := eval(`$("status").textContent + " " + $("q").value`); !strings.Contains(st, "trace of") || !strings.HasSuffix(st, strings.Fields(want)[1]) {
		t.Errorf("an alert clicked: %q", st)
	}
	t.Logf("graph: %s edges, %s after expanding; %s exchange nodes; eth: %s heuristic edges; %s alerts watched", edges, after, exchanges, heur, strings.Fields(want)[0])
}
