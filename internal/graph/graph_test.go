package graph

import (
	"bytes"
	"encoding/xml"
	"io"
	"maps"
	"math/big"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/graph/graphtest"
	"github.com/spur-forensics/spur/internal/trace"
)

// A forward trace by hand: a theft output of 2 BTC at A is spent by tx t1
// to B (1.5 BTC) and C (0.49999 BTC, 1,000 sat of fee); B is spent by the
// CoinJoin t2, whose output D, linked to it (heuristic), is an exchange's
// deposit address with a label a list might well carry; C is unspent.
const (
	txTheft = "1111111111111111111111111111111111111111111111111111111111111111"
	tx1     = "2222222222222222222222222222222222222222222222222222222222222222"
	tx2     = "3333333333333333333333333333333333333333333333333333333333333333"
	hostile = "Bad \"Ex\\change\" <&> deposit\nline two\x01\\"
)

func handTrace() *trace.Result {
	return &trace.Result{
		Model: "fifo", Start: 2_0000_0000,
		Starts: []trace.Flow{{Chain: "btc", Tx: txTheft, To: "A", Asset: "BTC", Amount: 2_0000_0000, Link: "exact", SpentBy: tx1}},
		Flows: []trace.Flow{
			{Chain: "btc", Tx: tx1, From: "A", To: "B", Asset: "BTC", Amount: 1_5000_0000, Hop: 1, Link: "exact", SpentBy: tx2},
			{Chain: "btc", Tx: tx1, From: "A", To: "C", Asset: "BTC", Amount: 4999_9000, Hop: 1, Link: "exact"},
			{Chain: "btc", Tx: tx2, From: "B", To: "D", Asset: "BTC", Amount: 1_4990_0000, Hop: 2, Link: "heuristic", CoinJoin: "whirlpool", Clue: "consolidation"},
		},
		Destinations: []trace.Destination{
			{Address: "D", Category: "exchange", Label: hostile, Amount: 1_4990_0000, Link: "heuristic"},
			{Address: "C", Category: "unspent", Amount: 4999_9000, Link: "exact"},
			{Category: "fees", Amount: 11_0000, Link: "exact"},
		},
	}
}

func TestDOT(t *testing.T) {
	g := FromBTC(handTrace(), false, `fifo trace forward from "incident:x"`, func(sat int64) float64 { return float64(sat) / 1e8 * 50000 })
	var b bytes.Buffer
	if err := g.WriteDOT(&b); err != nil {
		t.Fatal(err)
	}
	d := graphtest.ParseDOT(t, b.String())
	// The caption: the title, the start, where it ended (DOT's own line
	// breaks, \n).
	if got := d.Attrs["label"]; got != `fifo trace forward from "incident:x"\nstart: 2 BTC ($100,000); 0 transactions, 3 flows\ndestinations: exchange 1.499 BTC, fees 0.0011 BTC, unspent 0.49999 BTC` {
		t.Errorf("caption %q", got)
	}
	// Addresses and transactions, each once; the theft's own transaction
	// moved nothing the trace follows, so it is not drawn.
	want := map[string]string{
		"A": `A\nstart`, "B": "B", "C": `C\nunspent`,
		"D":         `D\nexchange: Bad "Ex\change" <&> deposit line two\`,
		"tx " + tx1: `2222222…2222222`, "tx " + tx2: `3333333…3333333\nwhirlpool CoinJoin`,
	}
	if len(d.Nodes) != len(want) {
		t.Errorf("nodes %v", d.Nodes)
	}
	for id, l := range want {
		if got := d.Nodes[id]["label"]; got != l {
			t.Errorf("node %q: label %q, want %q", id, got, l)
		}
	}
	if d.Nodes["tx "+tx2]["shape"] != "ellipse" || d.Nodes["D"]["color"] != colors["exchange"] {
		t.Errorf("shapes and colors: %v %v", d.Nodes["tx "+tx2], d.Nodes["D"])
	}
	// Each edge once, its amount exact in the tooltip and rounded in the
	// label; the heuristic one dashed.
	type edge struct{ from, to, tip, label, style string }
	wantEdges := []edge{
		{"A", "tx " + tx1, "2 BTC ($100,000) in 1 tx", `2 BTC\n$100,000`, "solid"},
		{"tx " + tx1, "B", "1.5 BTC ($75,000) in 1 tx", `1.5 BTC\n$75,000`, "solid"},
		{"B", "tx " + tx2, "1.5 BTC ($75,000) in 1 tx", `1.5 BTC\n$75,000`, "solid"},
		{"tx " + tx1, "C", "0.49999 BTC ($25,000) in 1 tx", `0.5 BTC\n$25,000`, "solid"},
		{"tx " + tx2, "D", "1.499 BTC ($74,950) in 1 tx, heuristic link", `1.499 BTC\n$74,950`, "dashed"},
	}
	if len(d.Edges) != len(wantEdges) {
		t.Fatalf("edges %+v", d.Edges)
	}
	for _, w := range wantEdges {
		found := false
		for _, e := range d.Edges {
			if e.From == w.from && e.To == w.to {
				found = true
				if e.Attrs["tooltip"] != w.tip || e.Attrs["label"] != w.label || e.Attrs["style"] != w.style {
					t.Errorf("edge %s -> %s: %v, want %+v", w.from, w.to, e.Attrs, w)
				}
			}
		}
		if !found {
			t.Errorf("no edge %s -> %s", w.from, w.to)
		}
	}
	// Graphviz itself lays it out: the one SPUR_DOT names (CI installs
	// Debian's), else one on the PATH.
	dot := os.Getenv("SPUR_DOT")
	if dot == "" {
		dot, _ = exec.LookPath("dot")
	}
	if dot != "" {
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = &b
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if out, err := cmd.Output(); err != nil || !bytes.Contains(out, []byte("<svg")) || stderr.Len() > 0 {
			t.Errorf("graphviz: %v %s", err, stderr.String())
		}
	} else {
		t.Log("no Graphviz here: the DOT was checked by gonum's parser alone")
	}
}

// A start that never moved is drawn, as a start and what it is.
func TestUnmovedStart(t *testing.T) {
	res := &trace.Result{Model: "fifo", Start: 10e8,
		Starts:       []trace.Flow{{Tx: txTheft, To: "U", Asset: "BTC", Amount: 10e8, Link: "exact"}},
		Destinations: []trace.Destination{{Address: "U", Category: "unspent", Amount: 10e8}},
	}
	var b bytes.Buffer
	if err := FromBTC(res, false, "t", nil).WriteDOT(&b); err != nil {
		t.Fatal(err)
	}
	d := graphtest.ParseDOT(t, b.String())
	if len(d.Nodes) != 1 || d.Nodes["U"]["label"] != `U\nstart · unspent` || d.Nodes["U"]["color"] != colors["unspent"] || len(d.Edges) != 0 {
		t.Errorf("%+v", d)
	}
}

func TestLayout(t *testing.T) {
	g := FromBTC(handTrace(), false, "t", nil)
	g.Layout()
	layer := map[string]int{}
	for _, n := range g.Nodes {
		layer[n.ID] = n.Layer
	}
	want := map[string]int{"A": 0, "tx " + tx1: 1, "B": 2, "C": 2, "tx " + tx2: 3, "D": 4}
	for id, l := range want {
		if layer[id] != l {
			t.Errorf("%s in column %d, want %d (%v)", id, layer[id], l, layer)
		}
	}
	// Without prices, widths go by amount: the largest edge is 1.
	w := g.weights()
	top := 0.0
	for _, x := range w {
		top = max(top, x)
	}
	if top != 1 {
		t.Errorf("weights %v", w)
	}
}

// Backward, value runs from the inputs through the transaction to the
// output it explains.
func TestBackwardGraph(t *testing.T) {
	res := &trace.Result{Model: "fifo", Start: 100,
		Flows: []trace.Flow{
			{Tx: tx2, From: "X", To: "D", Asset: "BTC", Amount: 60, Hop: 1, Link: "exact"},
			{Tx: tx2, From: "Y", To: "D", Asset: "BTC", Amount: 40, Hop: 1, Link: "exact"},
			{Tx: tx1, From: "", To: "X", Asset: "BTC", Amount: 60, Hop: 2, Link: "exact"},
		},
		Destinations: []trace.Destination{{Address: "Y", Category: "coinbase", Label: "mined", Amount: 40}},
	}
	g := FromBTC(res, true, "t", nil)
	g.Layout()
	got := map[[2]string]string{}
	for _, e := range g.Edges {
		got[[2]string{e.From, e.To}] = e.Amount.String()
	}
	noAddr := "no address, in tx " + tx1
	want := map[[2]string]string{
		{"X", "tx " + tx2}: "60", {"Y", "tx " + tx2}: "40", {"tx " + tx2, "D"}: "100",
		{noAddr, "tx " + tx1}: "60", {"tx " + tx1, "X"}: "60",
	}
	if len(got) != len(want) {
		t.Errorf("edges %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("edge %v: %q, want %q", k, got[k], v)
		}
	}
	// The start is the output explained, on the right; the sources on
	// the left are no starts.
	if g.nodes["Y"].Category != "coinbase" || g.nodes[noAddr].Start || g.nodes[noAddr].Category != "" || !g.nodes["D"].Start || g.nodes["D"].Layer != 2 ||
		nodeLines(g.nodes["D"])[1] != "start" || nodeLines(g.nodes["Y"])[1] != "coinbase: mined" {
		t.Errorf("Y %+v, %+v, D %+v", g.nodes["Y"], g.nodes[noAddr], g.nodes["D"])
	}
}

// Outputs paid alike (by the same transaction, spent by the same one)
// are drawn once, their amounts summed; one that goes elsewhere, or is a
// destination, stays apart.
func TestCollapse(t *testing.T) {
	res := &trace.Result{Model: "fifo"}
	for i, a := range []string{"m1", "m2", "m3", "m4", "other", "dest"} {
		spent := tx2
		if a == "other" {
			spent = txTheft
		}
		res.Flows = append(res.Flows, trace.Flow{Tx: tx1, From: "S", To: a, Asset: "BTC", Amount: int64(1000 + i), Link: "heuristic", SpentBy: spent})
	}
	res.Flows = append(res.Flows, trace.Flow{Tx: tx2, From: "m1", To: "Z", Asset: "BTC", Amount: 4000, Link: "exact"})
	res.Destinations = []trace.Destination{{Address: "dest", Category: "exchange"}}
	g := FromBTC(res, false, "t", nil)
	g.Collapse(3)
	var group *Node
	for _, n := range g.Nodes {
		if len(n.Members) > 0 {
			if group != nil {
				t.Fatalf("two groups: %+v %+v", group, n)
			}
			group = n
		}
	}
	if group == nil || strings.Join(group.Members, " ") != "m1 m2 m3 m4" || g.nodes["other"] == nil || g.nodes["dest"] == nil || g.nodes["m1"] != nil {
		t.Fatalf("group %+v", group)
	}
	var in, out *Edge
	for _, e := range g.Edges {
		if e.To == group.ID {
			in = e
		}
		if e.From == group.ID {
			out = e
		}
	}
	if in == nil || in.Amount.Int64() != 1000+1001+1002+1003 || in.Txs != 1 || out == nil || out.Amount.Int64() != 4006 || out.To != "tx "+tx2 || len(g.Edges) != 7 {
		t.Errorf("edges of the group: in %+v out %+v, %d edges", in, out, len(g.Edges))
	}
	if lines := nodeLines(group); lines[0] != "4 addresses" || lines[1] != "m1, ..." {
		t.Errorf("group's lines %q", lines)
	}
}

func TestSVG(t *testing.T) {
	g := FromBTC(handTrace(), false, "trace <1>", nil)
	var b bytes.Buffer
	if err := g.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	// Well formed, every node a group with its full text as its title.
	dec := xml.NewDecoder(&b)
	var titles []string
	nodes, dashed := 0, 0
	var inNode, inTitle bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			for _, a := range tok.Attr {
				if tok.Name.Local == "g" && a.Name.Local == "class" && a.Value == "node" {
					nodes++
					inNode = true
				}
				if tok.Name.Local == "path" && a.Name.Local == "stroke-dasharray" {
					dashed++
				}
			}
			inTitle = tok.Name.Local == "title" && inNode
		case xml.CharData:
			if inTitle {
				titles = append(titles, string(tok))
				inTitle, inNode = false, false
			}
		}
	}
	if nodes != 6 || dashed != 1 {
		t.Errorf("%d nodes, %d dashed edges", nodes, dashed)
	}
	want := "D\nexchange: Bad \"Ex\\change\" <&> deposit\nline two\\"
	found := false
	for _, s := range titles {
		found = found || s == want
	}
	if !found {
		t.Errorf("no node titled %q in %q", want, titles)
	}
}

func TestFromEVM(t *testing.T) {
	res := &trace.EVMResult{Model: "fifo", Decimals: map[string]uint8{"ETH": 18, "USDT": 6}, Start: map[string]string{"ETH": "1000000000000000000"}, Transfers: 9,
		Flows: []trace.EVMFlow{
			{Tx: "0x1", From: "V", To: "T", Asset: "ETH", Amount: "1000000000000000000", Link: "exact"},
			{Tx: "0x2", From: "T", To: "E", Asset: "USDT", Amount: "2500000", Link: "exact"},
			{Tx: "0x3", From: "T", To: "E", Asset: "USDT", Amount: "500000", Link: "exact"},
			{Tx: "0x3", From: "T", To: "E", Asset: "ETH", Amount: "1", Link: "exact"},
		},
		Destinations: []trace.EVMDestination{{Address: "E", Category: "exchange", Label: "Coinvault", Asset: "USDT", Amount: "3000000", Block: 7}},
	}
	// Dollars: USDT at 1, ETH at 2,000 on block 7 and 1,000 before.
	g := FromEVM(res, false, "t", func(asset, amount string, block uint64) float64 {
		v, _ := strconv.ParseFloat(amount, 64)
		if asset == "USDT" {
			return v / 1e6
		}
		if block < 7 {
			return v / 1e18 * 1000
		}
		return v / 1e18 * 2000
	})
	if len(g.Edges) != 3 {
		t.Fatalf("edges %+v", g.Edges)
	}
	e := g.Edges[1]
	if e.From != "T" || e.To != "E" || e.Asset != "USDT" || e.Amount.String() != "3000000" || e.Txs != 2 || g.edgeText(e) != "3 USDT ($3) in 2 txs" {
		t.Errorf("USDT edge %+v %q", e, g.edgeText(e))
	}
	if g.Exact(g.Edges[2].Amount, "ETH") != "0.000000000000000001 ETH" || g.Short(big.NewInt(123456789), "USDT") != "123.4568 USDT" {
		t.Errorf("amounts %q %q", g.Exact(g.Edges[2].Amount, "ETH"), g.Short(big.NewInt(123456789), "USDT"))
	}
	if want := []string{"start: 1 ETH; 9 transfers replayed, 4 flows", "destinations: exchange $3 (USD at arrival)"}; !slices.Equal(g.Notes, want) {
		t.Errorf("caption %q, want %q", g.Notes, want)
	}
	g.Layout()
	if !g.nodes["V"].Start || g.nodes["V"].Category != "" || g.nodes["E"].Category != "exchange" || g.nodes["E"].Start || g.nodes["E"].Layer != 2 {
		t.Errorf("nodes %+v %+v", g.nodes["V"], g.nodes["E"])
	}
}

// Edges of several assets between the same two addresses have their
// amounts a line apart, not drawn on one another.
func TestEdgeLabelsApart(t *testing.T) {
	res := &trace.EVMResult{Model: "fifo", Decimals: map[string]uint8{"ETH": 18, "USDT": 6}, Start: map[string]string{"ETH": "1000000000000000000", "USDT": "1500000000"},
		Flows: []trace.EVMFlow{
			{Tx: "0x1", From: "V", To: "T", Asset: "ETH", Amount: "1000000000000000000", Link: "exact"},
			{Tx: "0x2", From: "V", To: "T", Asset: "USDT", Amount: "1500000000", Link: "exact"},
		},
	}
	g := FromEVM(res, false, "t", func(asset, amount string, block uint64) float64 {
		v, _ := strconv.ParseFloat(amount, 64)
		if asset == "USDT" {
			return v / 1e6
		}
		return v / 1e18 * 2000
	})
	var svg strings.Builder
	if err := g.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	at := map[string][2]int{}
	for _, m := range regexp.MustCompile(`<text x="(\d+)" y="(\d+)" text-anchor="middle" font-size="10"[^>]*>([^<]+)</text>`).FindAllStringSubmatch(svg.String(), -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		at[m[3]] = [2]int{x, y}
	}
	e, u := at["1 ETH"], at["1500 USDT"]
	if len(at) != 2 || e[0] != u[0] || e[1]-u[1] < labelLine && u[1]-e[1] < labelLine {
		t.Errorf("edge labels %v", at)
	}
}

// The hand trace as GraphML, read back by encoding/xml: every node and
// edge once, their data as the trace has it (amounts exact in base units
// and whole ones; the hostile label whole but for the one character XML
// cannot hold).
func TestGraphML(t *testing.T) {
	g := FromBTC(handTrace(), false, `fifo trace forward from "incident:x"`, func(sat int64) float64 { return float64(sat) / 1e8 * 50000 })
	var b bytes.Buffer
	if err := g.Write(&b, "graphml"); err != nil {
		t.Fatal(err)
	}
	d := graphtest.ParseGraphML(t, b.String())
	if !strings.HasPrefix(d.Attrs["desc"], `fifo trace forward from "incident:x"`+"\nstart: 2 BTC") {
		t.Errorf("desc %q", d.Attrs["desc"])
	}
	want := map[string]map[string]string{
		"A":         {"kind": "address", "start": "true"},
		"B":         {"kind": "address", "start": "false"},
		"C":         {"kind": "address", "category": "unspent", "start": "false"},
		"D":         {"kind": "address", "category": "exchange", "label": strings.ReplaceAll(hostile, "\x01", "\uFFFD"), "start": "false"},
		"tx " + tx1: {"kind": "transaction", "start": "false"},
		"tx " + tx2: {"kind": "transaction", "start": "false", "coinjoin": "whirlpool"},
	}
	if len(d.Nodes) != len(want) {
		t.Errorf("nodes %v", d.Nodes)
	}
	for _, n := range g.Nodes {
		if want[n.ID] == nil {
			t.Fatalf("node %q drawn", n.ID)
		}
		want[n.ID]["layer"] = strconv.Itoa(n.Layer) // Layout's columns
	}
	for id, w := range want {
		if got := d.Nodes[id]; !maps.Equal(got, w) {
			t.Errorf("node %q: %v, want %v", id, got, w)
		}
	}
	type edge struct{ from, to, amount, value, usd, link string }
	wantEdges := []edge{
		{"A", "tx " + tx1, "200000000", "2", "100000.00", "exact"},
		{"tx " + tx1, "B", "150000000", "1.5", "75000.00", "exact"},
		{"B", "tx " + tx2, "150000000", "1.5", "75000.00", "exact"},
		{"tx " + tx1, "C", "49999000", "0.49999", "24999.50", "exact"},
		{"tx " + tx2, "D", "149900000", "1.499", "74950.00", "heuristic"},
	}
	if len(d.Edges) != len(wantEdges) {
		t.Fatalf("edges %+v", d.Edges)
	}
	for _, w := range wantEdges {
		n := 0
		for _, e := range d.Edges {
			if e.From == w.from && e.To == w.to {
				n++
				if got := (edge{e.From, e.To, e.Attrs["amount"], e.Attrs["value"], e.Attrs["usd"], e.Attrs["link"]}); got != w || e.Attrs["asset"] != "BTC" || e.Attrs["txs"] != "1" {
					t.Errorf("edge %s -> %s: %v, want %+v", w.from, w.to, e.Attrs, w)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d edges %s -> %s", n, w.from, w.to)
		}
	}
	if err := g.Write(io.Discard, "png"); err == nil {
		t.Error("a format there is none of: no error")
	}
}
