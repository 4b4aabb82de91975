// Package graph draws a trace as a graph of addresses joined by the value
// that moved between them: Graphviz's DOT, for the tools that lay graphs
// out and the analysts who already use them, and a self-contained SVG, laid
// out here in columns by distance from the start, for a report or a browser.
//
// A node is an address (a start, a destination with its category and
// label, or one on the way) or, on Bitcoin, a transaction: a transaction's
// inputs are not paid to its outputs one by one, so value runs from the
// addresses of the outputs it spends into it and out to those it pays. An
// edge is the tainted value of one asset that moved between two nodes by
// one kind of link (exact or heuristic), summed over the transactions that
// moved it. A trace carried over a bridge (query.Crossing) goes on in the
// same graph, on Bitcoin.
package graph

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strings"
)

// Node is an address of the trace, or a Bitcoin transaction.
type Node struct {
	ID       string // the address
	Category string // a destination's (exchange, mixer, unspent, ...); "" on the way
	Start    bool   // where the trace began (an address may also be where some of it ended)
	Label    string
	Layer    int      // transactions from the nearest start (Layout)
	Members  []string // the addresses a collapsed node stands for (Collapse)
	Tx       bool     // a transaction, not an address (ID "tx TXID")
	CoinJoin string   // the kind of CoinJoin a transaction is, if one
	order    float64
	in       int     // edges in, from other nodes (Layout)
	out      []*Edge // edges out (Layout)
	sum      float64 // of the payers' places (Layout)
	payers   int
}

// Edge is the value of one asset that moved from one node to another.
type Edge struct {
	From, To string
	Asset    string
	Link     string   // exact or heuristic
	Amount   *big.Int // base units
	USD      float64  // 0 when no price is known
	Txs      int      // how many transactions moved it
	src, dst *Node
	txs      []string // the transactions, in the order given (countTxs)
}

// edgeKey tells an edge apart: its ends, asset and link.
type edgeKey struct {
	src, dst    *Node
	asset, link string
}

// countTxs counts an edge's distinct transactions.
func (e *Edge) countTxs() {
	if len(e.txs) > 1 {
		sort.Strings(e.txs)
		e.txs = slices.Compact(e.txs)
	}
	e.Txs = len(e.txs)
}

// Graph is a trace's addresses and flows.
type Graph struct {
	Title    string
	Notes    []string       // a caption, line by line
	Decimals map[string]int // asset -> decimals of its base unit
	Nodes    []*Node
	Edges    []*Edge
	backward bool // the edges run from the sources towards the start
	nodes    map[string]*Node
	edges    map[edgeKey]*Edge
}

// New returns an empty graph.
func New(title string) *Graph {
	return &Graph{Title: title, Decimals: map[string]int{}, nodes: map[string]*Node{}, edges: map[edgeKey]*Edge{}}
}

// node returns the node of an address, added if new.
func (g *Graph) node(id string) *Node {
	n := g.nodes[id]
	if n == nil {
		n = &Node{ID: id}
		g.nodes[id] = n
		g.Nodes = append(g.Nodes, n)
	}
	return n
}

// AddFlow adds value moved by transaction tx to the edge from -> to of its
// asset and link.
func (g *Graph) AddFlow(tx, from, to, asset, link string, amount *big.Int, usd float64) {
	a, b := g.node(from), g.node(to)
	k := edgeKey{a, b, asset, link}
	e := g.edges[k]
	if e == nil {
		e = &Edge{From: from, To: to, Asset: asset, Link: link, Amount: new(big.Int), src: a, dst: b}
		g.edges[k] = e
		g.Edges = append(g.Edges, e)
	}
	e.Amount.Add(e.Amount, amount)
	e.USD += usd
	if n := len(e.txs); n == 0 || e.txs[n-1] != tx {
		e.txs = append(e.txs, tx)
		e.Txs++ // exact where a transaction's flows come together, as traces give them; countTxs makes sure
	}
}

// Mark gives an address the category and label of a destination, the
// first one given where an address is several (a Bitcoin trace gives its
// largest first).
func (g *Graph) Mark(id, category, label string) {
	n := g.nodes[id]
	if n == nil || n.Category != "" {
		return
	}
	n.Category, n.Label = category, label
}

// Collapse merges the addresses on the way (no destinations, no starts)
// that are paid by the same nodes and pay the same nodes, in the same
// assets by the same kinds of link, least or more at a time, into one node: a mix's
// outputs or a batch payout's, drawn once. Their edges are summed.
func (g *Graph) Collapse(least int) {
	sig := map[string][]string{}
	ins, outs := map[string][]string{}, map[string][]string{}
	for _, e := range g.Edges {
		outs[e.From] = append(outs[e.From], e.To+" "+e.Asset+" "+e.Link)
		ins[e.To] = append(ins[e.To], e.From+" "+e.Asset+" "+e.Link)
	}
	key := func(xs []string) string {
		xs = slices.Clone(xs)
		sort.Strings(xs)
		return strings.Join(slices.Compact(xs), ",")
	}
	var sigs []string
	for _, n := range g.Nodes {
		if n.Category != "" || n.Start || n.Tx || len(ins[n.ID]) == 0 || len(n.Members) > 0 {
			continue
		}
		k := key(ins[n.ID]) + "|" + key(outs[n.ID])
		if sig[k] == nil {
			sigs = append(sigs, k)
		}
		sig[k] = append(sig[k], n.ID)
	}
	into := map[string]string{} // member -> its group's node
	for _, k := range sigs {
		ids := sig[k]
		if len(ids) < least {
			continue
		}
		id := fmt.Sprintf("%d addresses: %s, ...", len(ids), ids[0])
		for _, m := range ids {
			into[m] = id
		}
		g.nodes[id] = &Node{ID: id, Members: ids}
	}
	if len(into) == 0 {
		return
	}
	var nodes []*Node
	for _, n := range g.Nodes {
		id, ok := into[n.ID]
		switch {
		case !ok:
			nodes = append(nodes, n)
		case g.nodes[id].Members[0] == n.ID:
			nodes = append(nodes, g.nodes[id])
		}
		if ok {
			delete(g.nodes, n.ID)
		}
	}
	g.Nodes = nodes
	edges := g.Edges
	g.Edges, g.edges = nil, map[edgeKey]*Edge{}
	for _, e := range edges {
		if id, ok := into[e.From]; ok {
			e.From, e.src = id, g.nodes[id]
		}
		if id, ok := into[e.To]; ok {
			e.To, e.dst = id, g.nodes[id]
		}
		k := edgeKey{e.src, e.dst, e.Asset, e.Link}
		if m := g.edges[k]; m != nil {
			m.Amount.Add(m.Amount, e.Amount)
			m.USD += e.USD
			m.txs = append(m.txs, e.txs...)
			continue
		}
		g.edges[k] = e
		g.Edges = append(g.Edges, e)
	}
	for _, e := range g.Edges {
		e.countTxs()
	}
}

// Layout puts every node in the column of its distance, in transactions,
// from the nearest node no edge reaches (forward, a start), and orders each
// column so that edges cross little: each node goes near the mean place of
// the nodes that pay it.
func (g *Graph) Layout() {
	for _, n := range g.Nodes {
		n.Layer, n.in, n.out = -1, 0, nil
	}
	for _, e := range g.Edges {
		e.countTxs()
		if e.src != e.dst {
			e.dst.in++
		}
		e.src.out = append(e.src.out, e)
	}
	// Breadth first from the starts; then from any node left unreached
	// (a cycle no start leads into), in the order nodes were added.
	var queue []*Node
	for _, n := range g.Nodes {
		if n.in == 0 {
			n.Layer = 0
			n.Start = n.Start || !g.backward && !n.Tx
			queue = append(queue, n)
		}
	}
	for next := 0; ; {
		for ; len(queue) > 0; queue = queue[1:] {
			n := queue[0]
			for _, e := range n.out {
				if m := e.dst; m.Layer < 0 {
					m.Layer = n.Layer + 1
					queue = append(queue, m)
				}
			}
		}
		for next < len(g.Nodes) && g.Nodes[next].Layer >= 0 {
			next++
		}
		if next == len(g.Nodes) {
			break
		}
		g.Nodes[next].Layer = 0
		queue = append(queue, g.Nodes[next])
	}
	// Within a column: first in the order added, then by the mean place
	// of the payers in the columns before (twice over).
	for i, n := range g.Nodes {
		n.order = float64(i)
	}
	g.sortColumns()
	for range 2 {
		for _, n := range g.Nodes {
			n.sum, n.payers = 0, 0
		}
		for _, e := range g.Edges {
			if a, b := e.src, e.dst; a.Layer < b.Layer {
				b.sum += a.order
				b.payers++
			}
		}
		for _, n := range g.Nodes {
			if n.payers > 0 {
				n.order = n.sum / float64(n.payers)
			}
		}
		g.sortColumns()
	}
}

// sortColumns sorts the nodes by column, then order, and renumbers the
// order as the place within the column.
func (g *Graph) sortColumns() {
	sort.SliceStable(g.Nodes, func(i, j int) bool {
		a, b := g.Nodes[i], g.Nodes[j]
		return a.Layer < b.Layer || a.Layer == b.Layer && a.order < b.order
	})
	place := 0
	for i, n := range g.Nodes {
		if i > 0 && g.Nodes[i-1].Layer != n.Layer {
			place = 0
		}
		n.order = float64(place)
		place++
	}
}

// Columns returns the nodes column by column.
func (g *Graph) Columns() [][]*Node {
	var cols [][]*Node
	for _, n := range g.Nodes {
		for len(cols) <= n.Layer {
			cols = append(cols, nil)
		}
		cols[n.Layer] = append(cols[n.Layer], n)
	}
	return cols
}

// Exact prints an amount in whole units of its asset, every digit kept
// (24.674999 BTC, not 24.67).
func (g *Graph) Exact(amount *big.Int, asset string) string {
	d, ok := g.Decimals[asset]
	if !ok || d == 0 {
		return amount.String() + " " + asset
	}
	s := new(big.Int).Abs(amount).String()
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	whole, frac := s[:len(s)-d], strings.TrimRight(s[len(s)-d:], "0")
	if frac != "" {
		whole += "." + frac
	}
	if amount.Sign() < 0 {
		whole = "-" + whole
	}
	return whole + " " + asset
}

// Short prints an amount for a label: four decimals at most, rounded.
func (g *Graph) Short(amount *big.Int, asset string) string {
	d := g.Decimals[asset]
	if d == 0 {
		return amount.String() + " " + asset
	}
	f := new(big.Float).SetInt(amount)
	f.Quo(f, new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil)))
	s := f.Text('f', min(4, d))
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + " " + asset
}

// usdText prints dollars for people: $1,234,567.
func usdText(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return "$" + b.String()
}

// edgeText is what an edge says in full: its amount exactly, in dollars
// when known, and in how many transactions.
func (g *Graph) edgeText(e *Edge) string {
	s := g.Exact(e.Amount, e.Asset)
	if e.USD > 0 {
		s += " (" + usdText(e.USD) + ")"
	}
	s += fmt.Sprintf(" in %d tx", e.Txs)
	if e.Txs != 1 {
		s += "s"
	}
	if e.Link == "heuristic" {
		s += ", heuristic link"
	}
	return s
}

// weights returns each edge's share of the largest, for drawing widths: by
// USD when every edge has a price, else by amount within its asset.
func (g *Graph) weights() []float64 {
	priced := true
	for _, e := range g.Edges {
		if e.USD <= 0 {
			priced = false
		}
	}
	w := make([]float64, len(g.Edges))
	top := map[string]float64{}
	for i, e := range g.Edges {
		if priced {
			w[i] = e.USD
		} else {
			w[i], _ = new(big.Float).SetInt(e.Amount).Float64()
		}
		k := e.Asset
		if priced {
			k = ""
		}
		top[k] = max(top[k], w[i])
	}
	for i, e := range g.Edges {
		k := e.Asset
		if priced {
			k = ""
		}
		if top[k] > 0 {
			w[i] = math.Sqrt(w[i] / top[k]) // widths by area, roughly
		}
	}
	return w
}
