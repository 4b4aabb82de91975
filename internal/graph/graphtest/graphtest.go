// Package graphtest reads the DOT that package graph writes back, with
// gonum's independent parser, and its GraphML with encoding/xml, for tests.
package graphtest

import (
	"encoding/xml"
	"strings"
	"testing"

	"gonum.org/v1/gonum/graph/formats/dot"
	"gonum.org/v1/gonum/graph/formats/dot/ast"
)

// Edge is an edge statement: its ends and attributes, unquoted.
type Edge struct {
	From, To string
	Attrs    map[string]string
}

// Graph is what a DOT file says: its nodes' attributes by ID, its edges.
type Graph struct {
	Attrs map[string]string // the graph's own
	Nodes map[string]map[string]string
	Edges []Edge
}

// unquote undoes DOT's quoting of an ID: `"a \"b\""` is `a "b"`.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	return strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(s[1 : len(s)-1])
}

func attrs(as []*ast.Attr) map[string]string {
	m := map[string]string{}
	for _, a := range as {
		m[a.Key] = unquote(a.Val)
	}
	return m
}

// ParseDOT parses a digraph of node and edge statements, failing the test
// on anything else.
func ParseDOT(t testing.TB, s string) *Graph {
	t.Helper()
	f, err := dot.ParseString(s)
	if err != nil {
		t.Fatalf("DOT does not parse: %v\n%s", err, s[:min(len(s), 2000)])
	}
	if len(f.Graphs) != 1 || !f.Graphs[0].Directed {
		t.Fatalf("DOT: want one digraph, got %d graphs", len(f.Graphs))
	}
	g := &Graph{Attrs: map[string]string{}, Nodes: map[string]map[string]string{}}
	for _, st := range f.Graphs[0].Stmts {
		switch st := st.(type) {
		case *ast.NodeStmt:
			g.Nodes[unquote(st.Node.ID)] = attrs(st.Attrs)
		case *ast.EdgeStmt:
			from, ok1 := st.From.(*ast.Node)
			to, ok2 := st.To.Vertex.(*ast.Node)
			if !ok1 || !ok2 || st.To.To != nil {
				t.Fatalf("DOT: an edge of other than two nodes: %s", st)
			}
			g.Edges = append(g.Edges, Edge{unquote(from.ID), unquote(to.ID), attrs(st.Attrs)})
		case *ast.AttrStmt:
			if st.Kind == ast.GraphKind {
				g.Attrs = attrs(st.Attrs)
			}
		default:
			t.Fatalf("DOT: unexpected statement %s", st)
		}
	}
	return g
}

// ParseGraphML reads GraphML (with encoding/xml): each node's and edge's
// data by its key's attr.name, the graph's desc as Attrs["desc"]. A data
// of an undeclared key, an edge of an undeclared node or a node declared
// twice fails the test.
func ParseGraphML(t testing.TB, s string) *Graph {
	t.Helper()
	type data struct {
		Key   string `xml:"key,attr"`
		Value string `xml:",chardata"`
	}
	var doc struct {
		XMLName xml.Name `xml:"http://graphml.graphdrawing.org/xmlns graphml"`
		Keys    []struct {
			ID   string `xml:"id,attr"`
			For  string `xml:"for,attr"`
			Name string `xml:"attr.name,attr"`
		} `xml:"key"`
		Graph struct {
			EdgeDefault string `xml:"edgedefault,attr"`
			Desc        string `xml:"desc"`
			Nodes       []struct {
				ID   string `xml:"id,attr"`
				Data []data `xml:"data"`
			} `xml:"node"`
			Edges []struct {
				Source string `xml:"source,attr"`
				Target string `xml:"target,attr"`
				Data   []data `xml:"data"`
			} `xml:"edge"`
		} `xml:"graph"`
	}
	if err := xml.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("GraphML does not parse: %v\n%s", err, s[:min(len(s), 2000)])
	}
	if doc.Graph.EdgeDefault != "directed" {
		t.Fatalf("GraphML: edgedefault %q", doc.Graph.EdgeDefault)
	}
	keys := map[string]string{}
	for _, k := range doc.Keys {
		keys[k.For+" "+k.ID] = k.Name
	}
	attrs := func(on string, ds []data) map[string]string {
		m := map[string]string{}
		for _, d := range ds {
			name, ok := keys[on+" "+d.Key]
			if !ok {
				t.Fatalf("GraphML: data of key %q, not declared for %ss", d.Key, on)
			}
			m[name] = d.Value
		}
		return m
	}
	g := &Graph{Attrs: map[string]string{"desc": doc.Graph.Desc}, Nodes: map[string]map[string]string{}}
	for _, n := range doc.Graph.Nodes {
		if _, ok := g.Nodes[n.ID]; ok {
			t.Fatalf("GraphML: node %q declared twice", n.ID)
		}
		g.Nodes[n.ID] = attrs("node", n.Data)
	}
	for _, e := range doc.Graph.Edges {
		if g.Nodes[e.Source] == nil || g.Nodes[e.Target] == nil {
			t.Fatalf("GraphML: an edge %q -> %q of an undeclared node", e.Source, e.Target)
		}
		g.Edges = append(g.Edges, Edge{e.Source, e.Target, attrs("edge", e.Data)})
	}
	return g
}
