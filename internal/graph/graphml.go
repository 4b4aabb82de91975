package graph

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Formats are the graph formats a trace is written in: Graphviz's DOT,
// an SVG laid out here, and GraphML, which Gephi, Cytoscape and yEd read
// with every attribute as data (amounts exact, in base units).
var Formats = []string{"dot", "svg", "graphml"}

// ContentType is the media type of a graph format.
func ContentType(format string) string {
	switch format {
	case "dot":
		return "text/vnd.graphviz; charset=utf-8"
	case "graphml":
		return "application/graphml+xml"
	}
	return "image/svg+xml"
}

// Write writes the graph in one of Formats.
func (g *Graph) Write(w io.Writer, format string) error {
	switch format {
	case "dot":
		return g.WriteDOT(w)
	case "graphml":
		return g.WriteGraphML(w)
	case "svg":
		return g.WriteSVG(w)
	}
	return fmt.Errorf("graph: no format %q (want %s)", format, strings.Join(Formats, ", "))
}

// graphMLKeys are the attributes of the nodes and edges, as GraphML
// declares them.
var graphMLKeys = []struct{ id, on, name, typ string }{
	{"n_kind", "node", "kind", "string"}, // address, transaction, addresses (collapsed)
	{"n_category", "node", "category", "string"},
	{"n_label", "node", "label", "string"},
	{"n_start", "node", "start", "boolean"},
	{"n_layer", "node", "layer", "int"},
	{"n_coinjoin", "node", "coinjoin", "string"},
	{"n_members", "node", "members", "string"}, // space-separated
	{"e_asset", "edge", "asset", "string"},
	{"e_amount", "edge", "amount", "string"}, // base units, exact
	{"e_value", "edge", "value", "string"},   // in the asset's whole units, exact
	{"e_usd", "edge", "usd", "double"},
	{"e_link", "edge", "link", "string"},
	{"e_txs", "edge", "txs", "int"},
}

// WriteGraphML writes the graph as GraphML: a node per address or
// transaction (its id the address, or "tx TXID"), an edge per asset and
// link between two nodes, with what the trace knows of each as data. The
// graph's title and notes are its description.
func (g *Graph) WriteGraphML(w io.Writer) error {
	g.Layout()
	b := bufio.NewWriter(w)
	esc := func(s string) string {
		var sb strings.Builder
		xml.EscapeText(&sb, []byte(s))
		return sb.String()
	}
	b.WriteString(xml.Header)
	b.WriteString(`<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">` + "\n")
	for _, k := range graphMLKeys {
		fmt.Fprintf(b, "  <key id=%q for=%q attr.name=%q attr.type=%q/>\n", k.id, k.on, k.name, k.typ)
	}
	fmt.Fprintf(b, "  <graph id=\"trace\" edgedefault=\"directed\">\n    <desc>%s</desc>\n", esc(strings.Join(append([]string{g.Title}, g.Notes...), "\n")))
	data := func(key, v string) {
		if v != "" {
			fmt.Fprintf(b, "      <data key=%q>%s</data>\n", key, esc(v))
		}
	}
	for _, n := range g.Nodes {
		fmt.Fprintf(b, "    <node id=\"%s\">\n", esc(n.ID))
		switch {
		case n.Tx:
			data("n_kind", "transaction")
		case len(n.Members) > 0:
			data("n_kind", "addresses")
		default:
			data("n_kind", "address")
		}
		data("n_category", n.Category)
		data("n_label", n.Label)
		data("n_start", strconv.FormatBool(n.Start))
		data("n_layer", strconv.Itoa(n.Layer))
		data("n_coinjoin", n.CoinJoin)
		data("n_members", strings.Join(n.Members, " "))
		b.WriteString("    </node>\n")
	}
	for i, e := range g.Edges {
		fmt.Fprintf(b, "    <edge id=\"e%d\" source=\"%s\" target=\"%s\">\n", i, esc(e.From), esc(e.To))
		data("e_asset", e.Asset)
		data("e_amount", e.Amount.String())
		data("e_value", strings.TrimSuffix(g.Exact(e.Amount, e.Asset), " "+e.Asset))
		if e.USD > 0 {
			data("e_usd", strconv.FormatFloat(e.USD, 'f', 2, 64))
		}
		data("e_link", e.Link)
		data("e_txs", strconv.Itoa(e.Txs))
		b.WriteString("    </edge>\n")
	}
	b.WriteString("  </graph>\n</graphml>\n")
	return b.Flush()
}
