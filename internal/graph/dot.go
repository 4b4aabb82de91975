package graph

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Colors of the categories, as the investigation page draws them.
var colors = map[string]string{
	"start":        "#2c3e50",
	"exchange":     "#c0392b",
	"mixer":        "#8e44ad",
	"bridge":       "#d35400",
	"unspent":      "#7f8c8d",
	"sanctioned":   "#000000",
	"stolen-funds": "#e67e22",
	"dex":          "#27ae60",
	"coinbase":     "#b7950b",
	"dust":         "#bdc3c7",
	"limit":        "#bdc3c7",
	"":             "#2980b9",
}

// color returns a category's color; another labelled service's is teal.
func color(category string) string {
	if c, ok := colors[category]; ok {
		return c
	}
	return "#16a085"
}

// nodeColor is a node's color: its category's, or a transaction's.
func nodeColor(n *Node) string {
	switch {
	case n.Tx && n.CoinJoin != "":
		return "#16a085"
	case n.Tx:
		return "#95a5a6"
	}
	return color(kind(n))
}

// dotQuote quotes a string for DOT. Text from labels is the user's: a
// backslash or quote in it is escaped and a line break becomes a space,
// so that only our own "\n" break lines; control characters are dropped
// (Graphviz would carry them into the SVG it writes, where XML forbids
// them).
func dotQuote(s string) string {
	return `"` + dotEscapes.Replace(strings.Map(xmlChar, s)) + `"`
}

var dotEscapes = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ", "\r", " ")

// dotLines joins lines of a label, each quoted apart, with DOT's centred
// line break.
func dotLines(lines ...string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		q[i] = strings.TrimSuffix(strings.TrimPrefix(dotQuote(l), `"`), `"`)
	}
	return `"` + strings.Join(q, `\n`) + `"`
}

// nodeLines are a node's label: the address, then its place.
func nodeLines(n *Node) []string {
	lines := []string{n.ID}
	switch {
	case n.Tx:
		lines = []string{shorten(strings.TrimPrefix(n.ID, "tx "), 15)}
		if n.CoinJoin != "" {
			lines = append(lines, n.CoinJoin+" CoinJoin")
		}
	case len(n.Members) > 0:
		lines = []string{fmt.Sprintf("%d addresses", len(n.Members)), n.Members[0] + ", ..."}
	default:
		place := n.Category
		if n.Label != "" {
			place += ": " + n.Label
		}
		if n.Start && place != "" {
			place = "start · " + place
		} else if n.Start {
			place = "start"
		}
		if place != "" {
			lines = append(lines, place)
		}
	}
	return lines
}

// kind is what a node is drawn as: its category, or a start, or "" (an
// address on the way).
func kind(n *Node) string {
	if n.Category == "" && n.Start {
		return "start"
	}
	return n.Category
}

// WriteDOT writes the graph in Graphviz's DOT language, left to right,
// with every amount exact in the edges' tooltips.
func (g *Graph) WriteDOT(w io.Writer) error {
	g.Layout()
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "digraph trace {\n")
	caption := append([]string{g.Title}, g.Notes...)
	fmt.Fprintf(b, "  graph [rankdir=LR, labelloc=t, fontname=Helvetica, label=%s];\n", dotLines(caption...))
	fmt.Fprintf(b, "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=Helvetica, fontsize=10, penwidth=2];\n")
	fmt.Fprintf(b, "  edge [fontname=Helvetica, fontsize=9];\n")
	for _, n := range g.Nodes {
		if n.Tx {
			fmt.Fprintf(b, "  %s [shape=ellipse, label=%s, color=%s, fillcolor=\"#ecf0f1\", tooltip=%s];\n",
				dotQuote(n.ID), dotLines(nodeLines(n)...), dotQuote(nodeColor(n)), dotQuote(strings.TrimPrefix(n.ID, "tx ")))
			continue
		}
		fmt.Fprintf(b, "  %s [label=%s, color=%s, tooltip=%s];\n",
			dotQuote(n.ID), dotLines(nodeLines(n)...), dotQuote(nodeColor(n)), dotQuote(strings.Join(nodeLines(n), " ")))
	}
	ws := g.weights()
	for i, e := range g.Edges {
		label := g.Short(e.Amount, e.Asset)
		if e.USD > 0 {
			label += "\n" + usdText(e.USD)
		}
		style := "solid"
		if e.Link == "heuristic" {
			style = "dashed"
		}
		fmt.Fprintf(b, "  %s -> %s [label=%s, tooltip=%s, penwidth=%.2f, color=%s, style=%s];\n",
			dotQuote(e.From), dotQuote(e.To), dotLines(strings.Split(label, "\n")...), dotQuote(g.edgeText(e)),
			1+5*ws[i], dotQuote(nodeColor(e.dst)), style)
	}
	fmt.Fprintf(b, "}\n")
	return b.Flush()
}
