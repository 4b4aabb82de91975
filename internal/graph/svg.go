package graph

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"slices"
	"sort"
	"strings"
)

// The SVG's measures, in pixels.
const (
	nodeW   = 200 // an address
	txW     = 130 // a transaction
	nodeH   = 36
	gapX    = 90
	gapY    = 12
	margin  = 20
	headerH = 24 // a line of the caption
	legendH = 24
	// labelLine is the height of an edge's amount label.
	labelLine = 12
)

// shorten keeps the ends of a long address: bc1qxy2k...0wlh.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n/2]) + "…" + string(r[len(r)-(n-1)/2:])
}

// cut keeps the start of a long label.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// WriteSVG writes the graph as a self-contained SVG: columns by distance
// from the start, edges as curves as wide as their value (dashed where a
// heuristic link carried it), nodes colored by category; every node and
// edge has its full text as a tooltip. It collapses the graph first
// (Collapse(3)): the graph stays so.
func (g *Graph) WriteSVG(w io.Writer) error {
	g.Collapse(3)
	g.Layout()
	cols := g.Columns()
	tallest := 0
	for _, c := range cols {
		tallest = max(tallest, len(c))
	}
	top := margin + headerH*(1+len(g.Notes)) + legendH
	bodyH := tallest*(nodeH+gapY) - gapY
	svgW := 2*margin + max(len(cols)*(nodeW+gapX)-gapX, 600)
	height := top + max(bodyH, 0) + margin
	type point struct{ x, y int }
	at := map[string]point{}
	for i, c := range cols {
		// Columns start at the top, where a reader scrolling a tall
		// drawing begins (the start is there).
		for j, n := range c {
			at[n.ID] = point{margin + i*(nodeW+gapX), top + j*(nodeH+gapY)}
		}
	}
	b := bufio.NewWriter(w)
	esc := func(s string) string { return html.EscapeString(strings.Map(xmlChar, s)) }
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="11">`+"\n", svgW, height, svgW, height)
	fmt.Fprintf(b, "<title>%s</title>\n", esc(g.Title))
	fmt.Fprintf(b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="15" font-weight="bold">%s</text>`+"\n", margin, margin+12, esc(g.Title))
	for i, note := range g.Notes {
		fmt.Fprintf(b, `<text x="%d" y="%d" fill="#444">%s</text>`+"\n", margin, margin+12+headerH*(i+1), esc(note))
	}
	// The legend: the categories drawn, in a fixed order.
	seen, txs := map[string]bool{}, map[string]bool{}
	for _, n := range g.Nodes {
		if n.Tx {
			txs[nodeColor(n)] = true
			continue
		}
		seen[kind(n)] = true
	}
	var cats []string
	for c := range seen {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	x := margin
	ly := top - legendH + 4
	for _, c := range cats {
		name := c
		if c == "" {
			name = "on the way"
		}
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" rx="2" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", x, ly, color(c), x+16, ly+10, esc(name))
		x += 16 + 7*len(name) + 18
	}
	for _, t := range []struct{ color, name string }{{"#95a5a6", "transaction"}, {"#16a085", "CoinJoin"}} {
		if txs[t.color] {
			fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" rx="6" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", x, ly, t.color, x+16, ly+10, t.name)
			x += 16 + 7*len(t.name) + 18
		}
	}
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-width="2" stroke-dasharray="6 4"/><text x="%d" y="%d">heuristic link</text>`+"\n", x, ly+6, x+30, ly+6, x+36, ly+10)
	// Edges under the nodes, the widest first so the thin stay visible.
	ws := g.weights()
	order := make([]int, len(g.Edges))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return ws[order[i]] > ws[order[j]] })
	fmt.Fprintf(b, `<g class="edges" fill="none">`+"\n")
	for _, i := range order {
		e := g.Edges[i]
		a, z := at[e.From], at[e.To]
		var d string
		x1, y1 := a.x+width(e.src), a.y+nodeH/2
		x2, y2 := z.x, z.y+nodeH/2
		switch {
		case e.From == e.To: // change paid back to the same address
			d = fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1-8, x1+40, y1-30, x1+40, y1+30, x1, y1+8)
		case e.dst.Layer > e.src.Layer:
			dx := (x2 - x1) / 2
			d = fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, x1+dx, y1, x2-dx, y2, x2, y2)
		default: // back to a column before, or within one: around below
			d = fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, x1+60, y1+nodeH+40, x2-60, y2+nodeH+40, x2, y2)
		}
		dash := ""
		if e.Link == "heuristic" {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(b, `<path class="edge" d="%s" stroke="%s" stroke-opacity="0.6" stroke-width="%.1f"%s><title>%s</title></path>`+"\n",
			d, nodeColor(e.dst), 1+9*ws[i], dash, esc(e.From+" → "+e.To+": "+g.edgeText(e)))
	}
	fmt.Fprintf(b, "</g>\n")
	// Amounts on the widest edges (a tenth or more of the widest), at the
	// middle of each; where labels would fall on one another (edges of
	// several assets between the same two addresses), each a line below the
	// last.
	used := map[int][]int{} // x -> the ys of the labels there
	for _, i := range order {
		if ws[i] < 0.1 {
			break
		}
		e := g.Edges[i]
		if e.From == e.To || e.dst.Layer <= e.src.Layer {
			continue
		}
		a, z := at[e.From], at[e.To]
		x, y := (a.x+width(e.src)+z.x)/2, (a.y+z.y)/2+nodeH/2-3
		for slices.ContainsFunc(used[x], func(u int) bool { return u > y-labelLine && u < y+labelLine }) {
			y += labelLine
		}
		used[x] = append(used[x], y)
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" font-size="10" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">%s</text>`+"\n",
			x, y, esc(g.Short(e.Amount, e.Asset)))
	}
	fmt.Fprintf(b, `<g class="nodes">`+"\n")
	for _, n := range g.Nodes {
		p := at[n.ID]
		lines := nodeLines(n)
		fill, rx := "#ffffff", 5
		switch {
		case n.Tx:
			fill, rx = "#ecf0f1", nodeH/2
		case kind(n) != "":
			fill = "#f6f7f9"
		}
		tip := joinLines(lines)
		if len(n.Members) > 0 {
			tip = joinLines(append([]string{lines[0] + ", paid alike:"}, n.Members...))
		}
		if n.Tx {
			tip = strings.TrimPrefix(n.ID, "tx ")
		}
		fmt.Fprintf(b, `<g class="node"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="%d" fill="%s" stroke="%s" stroke-width="2"/>`,
			esc(tip), p.x, p.y, width(n), nodeH, rx, fill, nodeColor(n))
		first := shorten(n.ID, 28)
		if len(n.Members) > 0 || n.Tx {
			first = lines[0]
		}
		y := p.y + 15
		if len(lines) == 1 {
			y = p.y + 22 // one line: in the middle
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" font-family="monospace">%s</text>`, p.x+10, y, esc(first))
		if len(lines) > 1 {
			fmt.Fprintf(b, `<text x="%d" y="%d" fill="%s">%s</text>`, p.x+10, p.y+29, nodeColor(n), esc(cut(lines[1], 32)))
		}
		fmt.Fprintf(b, "</g>\n")
	}
	fmt.Fprintf(b, "</g>\n</svg>\n")
	return b.Flush()
}

// width is how wide a node is drawn.
func width(n *Node) int {
	if n.Tx {
		return txW
	}
	return nodeW
}

func joinLines(lines []string) string {
	s := lines[0]
	for _, l := range lines[1:] {
		s += "\n" + l
	}
	return s
}

// xmlChar drops the characters XML 1.0 cannot hold (control characters
// other than tab and line breaks, and non-characters), which a label
// file may carry.
func xmlChar(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return r
	case r < 0x20, r >= 0xd800 && r <= 0xdfff, r == 0xfffe, r == 0xffff:
		return -1
	}
	return r
}
