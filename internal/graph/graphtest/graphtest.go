// Package graphtest reads the DOT that package graph writes back, with
// gonum's independent parser, for tests.
package graphtest

import (
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
