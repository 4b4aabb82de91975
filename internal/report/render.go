package report

import (
	"fmt"
	"html"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

func money(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return "$" + b.String()
}

// chainName is how a report heads an EVM chain's part: its name, not
// spur's id for it.
func chainName(id string) string {
	switch id {
	case "eth":
		return "Ethereum"
	case "sepolia":
		return "Sepolia"
	case "holesky":
		return "Holesky"
	}
	return id
}

func btcText(sat int64) string { return fmt.Sprintf("%d.%08d", sat/1e8, sat%1e8) }

// hasBitcoin reports an incident with a part on Bitcoin (one on an EVM
// chain alone has none).
func (r *Incident) hasBitcoin() bool { return r.Asset == "BTC" || len(r.Destinations) > 0 }

// Markdown renders an incident report, how it was made last.
func (r *Incident) Markdown() string { return r.markdown() + r.Provenance.markdown() }

// markdown is the report's body.
func (r *Incident) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Incident %s: %s, %s\n\n", r.ID, r.Victim, r.Date)
	// The incident's chains: those reported, and those left out.
	var chains []string
	if r.hasBitcoin() || slices.Contains(r.NotInStore, "btc") {
		chains = append(chains, "btc")
	}
	if r.EVM != nil {
		chains = append(chains, r.EVM.Chain)
	}
	for _, c := range r.NotInStore {
		if !slices.Contains(chains, c) {
			chains = append(chains, c)
		}
	}
	if len(chains) == 0 {
		chains = append(chains, r.Chain)
	}
	fmt.Fprintf(&b, "Actor: %s. Chain: %s. Taint model: %s.\n\n", r.Actor, strings.Join(chains, " and "), r.Model)
	if len(r.NotInStore) > 0 {
		fmt.Fprintf(&b, "Left out: its part on %s, a chain this store does not hold.\n\n", strings.Join(r.NotInStore, " and "))
	}
	if r.hasBitcoin() {
		if r.EVM != nil {
			b.WriteString("## Bitcoin\n\n")
		}
		fmt.Fprintf(&b, "Stolen: **%s BTC**, %s at the theft day's close (%s per BTC).\n\n", btcText(r.Stolen), money(r.StolenUSD), money(r.PriceUSD))
		now := ""
		if r.NowDay != "" {
			now = fmt.Sprintf(", worth %s at %s's close", money(r.UnspentUSDNow), r.NowDay)
		}
		fmt.Fprintf(&b, "- reached exchanges: %s BTC (%.1f%%)\n- still unspent: %s BTC (%.1f%%)%s\n- went through CoinJoins on the way: %s BTC (%.1f%%)\n- resting on heuristic links (CoinJoin outputs a public clue links): %s BTC (%.1f%%)\n- transactions followed: %d\n\n",
			btcText(r.CashedOut), pct(r.CashedOut, r.Stolen), btcText(r.Unspent), pct(r.Unspent, r.Stolen), now, btcText(r.Mixed), 100*r.MixedShare, btcText(r.Heuristic), pct(r.Heuristic, r.Stolen), r.TxsFollowed)
		b.WriteString("| where | BTC | USD at theft | share |\n|---|---:|---:|---:|\n")
		for _, d := range r.Destinations {
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f%% |\n", mdCell(d.Place), btcText(d.Amount), money(d.USD), 100*d.Share)
		}
	}
	if p := r.EVM; p != nil {
		if r.hasBitcoin() {
			fmt.Fprintf(&b, "\n## %s\n\n", chainName(p.Chain))
		}
		var stolen []string
		for _, a := range sortedKeys(p.AssetUSD) {
			stolen = append(stolen, fmt.Sprintf("%s (%s)", a, money(p.AssetUSD[a])))
		}
		fmt.Fprintf(&b, "Stolen: **%s** at the theft day's closes: %s.\n\n", money(p.StolenUSD), strings.Join(stolen, ", "))
		fmt.Fprintf(&b, "- paid into mixers: %s (%.1f%%)\n- resting on heuristic links (mixer withdrawals, bridge payouts): %s (%.1f%%)\n",
			money(p.MixerUSD), 100*p.MixerUSD/max(p.StolenUSD, 1e-9), money(p.HeuristicUSD), 100*p.HeuristicUSD/max(p.StolenUSD, 1e-9))
		if p.NowDay != "" {
			fmt.Fprintf(&b, "- still unspent (here and, via the bridge, on Bitcoin): worth %s at the latest closes (%s)\n", money(p.UnspentUSDNow), p.NowDay)
		}
		b.WriteString("\n")
		b.WriteString("| where | USD at theft | share |\n|---|---:|---:|\n")
		for _, d := range p.Destinations {
			fmt.Fprintf(&b, "| %s | %s | %.1f%% |\n", mdCell(d.Place), money(d.USD), 100*d.Share)
		}
	}
	return b.String()
}

// mdCell escapes the pipes of a table cell's text (a label or a victim's
// name may hold one), which would otherwise end the cell.
func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// mdCells splits a Markdown table row at its unescaped pipes.
func mdCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	if strings.HasSuffix(row, "|") && !strings.HasSuffix(row, `\|`) {
		row = row[:len(row)-1]
	}
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case row[i] == '|':
			cells = append(cells, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(row[i])
		}
	}
	return append(cells, cur.String())
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// Markdown renders an actor report.
func (a *Actor) Markdown() string { return a.markdown() + a.Provenance.markdown() }

// markdown is the report's body.
func (a *Actor) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s in %d\n\n", a.Actor, a.Year)
	if len(a.AliasOf) > 0 {
		fmt.Fprintf(&b, "%s is an alias of %s on the sanctions lists imported.\n\n", a.Actor, strings.Join(a.AliasOf, ", "))
	}
	fmt.Fprintf(&b, "%d incidents, %s stolen at theft-day prices; %.1f%% of it went through CoinJoins and mixers. Taint model: %s.\n\n",
		len(a.Incidents), money(a.StolenUSD), 100*a.MixedShare, a.Model)
	if a.NowDay != "" {
		fmt.Fprintf(&b, "Still unspent: %s at theft-day prices, worth %s at the latest closes (%s).\n\n", money(a.UnspentUSD), money(a.UnspentUSDNow), a.NowDay)
	}
	left := map[string]int{}
	for _, r := range a.Incidents {
		for _, c := range r.NotInStore {
			left[c]++
		}
	}
	if len(a.LeftOut) > 0 {
		fmt.Fprintf(&b, "Left out: %s, on chains this store does not hold.\n\n", strings.Join(a.LeftOut, ", "))
	}
	for _, c := range slices.Sorted(maps.Keys(left)) {
		fmt.Fprintf(&b, "Left out: the part on %s of %d of the incidents, a chain this store does not hold.\n\n", c, left[c])
	}
	b.WriteString("Asset mix: ")
	var mix []string
	for _, k := range sortedKeys(a.AssetMix) {
		mix = append(mix, fmt.Sprintf("%s %.0f%%", k, 100*a.AssetMix[k]))
	}
	b.WriteString(strings.Join(mix, ", ") + ".")
	if a.HeuristicShare > 0 {
		fmt.Fprintf(&b, " %.1f%% of the value rests on heuristic links (mixer withdrawals, CoinJoin outputs).", 100*a.HeuristicShare)
	}
	b.WriteString("\n\n")
	b.WriteString("| date | incident | victim | stolen BTC | USD (BTC) | BTC at exchanges | BTC unspent | BTC mixed | USD (ETH, tokens) | into mixers | total USD |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range a.Incidents {
		evmUSD, mixers := "-", "-"
		if r.EVM != nil {
			evmUSD = money(r.EVM.StolenUSD)
			mixers = fmt.Sprintf("%.1f%%", 100*r.EVM.MixerUSD/max(r.EVM.StolenUSD, 1e-9))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.1f%% | %.1f%% | %.1f%% | %s | %s | %s |\n", mdCell(r.Date), mdCell(r.ID), mdCell(r.Victim), btcText(r.Stolen), money(r.StolenUSD),
			pct(r.CashedOut, r.Stolen), pct(r.Unspent, r.Stolen), 100*r.MixedShare, evmUSD, mixers, money(r.TotalUSD))
	}
	b.WriteString("\n| where it went | USD at theft | share |\n|---|---:|---:|\n")
	for _, d := range a.Destinations {
		fmt.Fprintf(&b, "| %s | %s | %.1f%% |\n", mdCell(d.Place), money(d.USD), 100*d.Share)
	}
	return b.String()
}

// bar is a bar of a chart: its label, the place it stands for (which
// gives its colour; "" for none) and its value.
type bar struct {
	label, place string
	value        float64
}

// barChart draws horizontal bars as SVG, the labels' column as wide as the
// longest needs.
func barChart(title string, bars []bar, format func(float64) string) string {
	const rowH = 26
	left := 230
	for _, b := range bars {
		left = max(left, 16+7*utf8.RuneCountInString(b.label)) // about 7 px a character at 12 px
	}
	w := left + 490
	h := 40 + rowH*len(bars)
	var top float64
	for _, b := range bars {
		top = max(top, b.value)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="%s">`, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="0" y="18" font-size="15" font-weight="bold">%s</text>`, html.EscapeString(title))
	for i, r := range bars {
		y := 32 + i*rowH
		bw := 0.0
		if top > 0 {
			bw = r.value / top * float64(w-left-150)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`, left-8, y+15, html.EscapeString(r.label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="18" fill="%s"/>`, left, y+2, bw, color(r.place))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12">%s</text>`, float64(left)+bw+6, y+15, html.EscapeString(format(r.value)))
	}
	b.WriteString("</svg>")
	return b.String()
}

func color(place string) string {
	switch {
	case strings.HasPrefix(place, "exchange"):
		return "#c0392b"
	case strings.HasPrefix(place, "unspent"): // and "unspent (via bridge)"
		return "#7f8c8d"
	case strings.HasPrefix(place, "mixer"):
		return "#8e44ad"
	case strings.HasPrefix(place, "bridge"):
		return "#d35400"
	}
	return "#2980b9"
}

const page = `<!doctype html><html><head><meta charset="utf-8"><title>%s</title>
<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}table{border-collapse:collapse;display:block;overflow-x:auto;max-width:100%%}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}.path{overflow:auto;max-height:900px;border:1px solid #ddd}</style>
</head><body>%s</body></html>
`

// HTML renders an incident report as a self-contained page.
func (r *Incident) HTML() string {
	var bars []bar
	for _, d := range r.Destinations {
		label := d.Place
		if r.EVM != nil {
			label = "Bitcoin: " + label
		}
		bars = append(bars, bar{label, d.Place, d.USD})
	}
	if r.EVM != nil {
		for _, d := range r.EVM.Destinations {
			label := d.Place
			if r.hasBitcoin() {
				label = chainName(r.EVM.Chain) + ": " + label
			}
			bars = append(bars, bar{label, d.Place, d.USD})
		}
	}
	body := mdToHTML(r.markdown()) + barChart("Where the stolen value went (USD at theft)", bars, money)
	// The path itself, chain by chain, as spur trace --format svg draws it
	// (scroll it; every node and edge has its full text as a tooltip).
	if len(r.drawings) > 0 {
		body += "<h2>The laundering path</h2>"
	}
	for _, draw := range r.drawings {
		var b strings.Builder
		if err := draw().WriteSVG(&b); err == nil {
			body += `<div class="path">` + b.String() + `</div>`
		}
	}
	body += mdToHTML(r.Provenance.markdown())
	return fmt.Sprintf(page, html.EscapeString("Incident "+r.ID), body)
}

// HTML renders an actor report as a self-contained page with charts.
func (a *Actor) HTML() string {
	var stolen, went []bar
	for _, r := range a.Incidents {
		stolen = append(stolen, bar{r.Date + " " + r.Victim, "", r.StolenUSD})
	}
	for _, d := range a.Destinations {
		went = append(went, bar{d.Place, d.Place, d.USD})
	}
	body := mdToHTML(a.markdown()) + sankey("The laundering flow: from each chain to where it ended (USD at theft)", a.flowsByChain()) + "<br>" +
		timeChart("Where it arrived, by month (USD at theft)", a.Timeline) + "<br>" +
		barChart("Stolen per incident (USD at theft)", stolen, money) + "<br>" +
		barChart("Where it went (USD at theft)", went, money) +
		mdToHTML(a.Provenance.markdown())
	return fmt.Sprintf(page, html.EscapeString(fmt.Sprintf("%s in %d", a.Actor, a.Year)), body)
}

// mdToHTML renders the small Markdown subset the reports use: headings,
// paragraphs, bullet lists, tables and bold.
func mdToHTML(md string) string {
	var b strings.Builder
	lines := strings.Split(md, "\n")
	inTable, inList := false, false
	for _, l := range lines {
		esc := html.EscapeString(l)
		for strings.Count(esc, "**") >= 2 {
			esc = strings.Replace(strings.Replace(esc, "**", "<b>", 1), "**", "</b>", 1)
		}
		switch {
		case strings.HasPrefix(l, "# "):
			fmt.Fprintf(&b, "<h1>%s</h1>", esc[2:])
		case strings.HasPrefix(l, "## "):
			fmt.Fprintf(&b, "<h2>%s</h2>", esc[3:])
		case strings.HasPrefix(l, "|---"):
		case strings.HasPrefix(l, "|"):
			cells := mdCells(esc)
			if !inTable {
				b.WriteString("<table><tr>")
				for _, c := range cells {
					fmt.Fprintf(&b, "<th>%s</th>", strings.TrimSpace(c))
				}
				b.WriteString("</tr>")
				inTable = true
				continue
			}
			b.WriteString("<tr>")
			for _, c := range cells {
				fmt.Fprintf(&b, "<td>%s</td>", strings.TrimSpace(c))
			}
			b.WriteString("</tr>")
		case strings.HasPrefix(l, "- "):
			if !inList {
				b.WriteString("<ul>")
				inList = true
			}
			fmt.Fprintf(&b, "<li>%s</li>", esc[2:])
		case l == "":
			if inTable {
				b.WriteString("</table>")
				inTable = false
			}
			if inList {
				b.WriteString("</ul>")
				inList = false
			}
		default:
			fmt.Fprintf(&b, "<p>%s</p>", esc)
		}
	}
	if inTable {
		b.WriteString("</table>")
	}
	if inList {
		b.WriteString("</ul>")
	}
	return b.String()
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sankey draws flows from sources (left) to places (right) as SVG: node
// heights and band widths in proportion to value.
func sankey(title string, flows map[[2]string]float64) string {
	const h, nodeW, gap, top = 420, 14, 10, 34
	srcTot, dstTot := map[string]float64{}, map[string]float64{}
	var total float64
	for k, v := range flows {
		if v <= 0 {
			continue
		}
		srcTot[k[0]] += v
		dstTot[k[1]] += v
		total += v
	}
	if total == 0 {
		return ""
	}
	order := func(m map[string]float64) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Slice(out, func(i, j int) bool { return m[out[i]] > m[out[j]] || m[out[i]] == m[out[j]] && out[i] < out[j] })
		return out
	}
	srcs, dsts := order(srcTot), order(dstTot)
	gaps := float64(max(len(srcs), len(dsts))-1) * gap
	scale := (h - top - 10 - gaps) / total
	place := func(names []string, tot map[string]float64) map[string]float64 {
		y, at := float64(top), map[string]float64{}
		for _, n := range names {
			at[n] = y
			y += tot[n]*scale + gap
		}
		return at
	}
	sy, dy := place(srcs, srcTot), place(dsts, dstTot)
	// Room for the labels: the sources' to the left of their bars, the
	// places' to the right (about 7 px a character at 12 px), and the
	// places' labels at least a line apart, below one another.
	lx := 170
	for _, s := range srcs {
		lx = max(lx, 12+7*utf8.RuneCountInString(s+" "+money(srcTot[s])))
	}
	rx := lx + 350
	w := rx + nodeW + 16
	labelY := map[string]float64{}
	prev, bottom := math.Inf(-1), float64(h)
	for _, d := range dsts {
		w = max(w, rx+nodeW+16+7*utf8.RuneCountInString(d+" "+money(dstTot[d])))
		y := max(dy[d]+dstTot[d]*scale/2+4, prev+14)
		labelY[d], prev = y, y
		bottom = max(bottom, y+8)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" role="img" aria-label="%s">`, w, bottom, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="0" y="18" font-size="15" font-weight="bold">%s</text>`, html.EscapeString(title))
	// Bands, in source then place order, stacked on both sides.
	sOff, dOff := map[string]float64{}, map[string]float64{}
	for _, s := range srcs {
		for _, d := range dsts {
			v := flows[[2]string{s, d}]
			if v <= 0 {
				continue
			}
			th := v * scale
			y0 := sy[s] + sOff[s] + th/2
			y1 := dy[d] + dOff[d] + th/2
			sOff[s] += th
			dOff[d] += th
			fmt.Fprintf(&b, `<path d="M%d %.1f C%d %.1f %d %.1f %d %.1f" stroke="%s" stroke-opacity="0.45" stroke-width="%.1f" fill="none"><title>%s → %s: %s</title></path>`,
				lx+nodeW, y0, (lx+rx)/2, y0, (lx+rx)/2, y1, rx, y1, color(d), max(th, 0.5), html.EscapeString(s), html.EscapeString(d), money(v))
		}
	}
	for _, s := range srcs {
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="#34495e"/>`, lx, sy[s], nodeW, max(srcTot[s]*scale, 1))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="12" text-anchor="end">%s %s</text>`, lx-6, sy[s]+srcTot[s]*scale/2+4, html.EscapeString(s), money(srcTot[s]))
	}
	for _, d := range dsts {
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"/>`, rx, dy[d], nodeW, max(dstTot[d]*scale, 1), color(d))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="12">%s %s</text>`, rx+nodeW+6, labelY[d], html.EscapeString(d), money(dstTot[d]))
	}
	b.WriteString("</svg>")
	return b.String()
}

// flowsByChain is the actor's stolen value by chain and place, for the
// Sankey: Bitcoin's places and the EVM parts' (after swaps, ETH and tokens
// are one source).
func (a *Actor) flowsByChain() map[[2]string]float64 {
	f := map[[2]string]float64{}
	for _, r := range a.Incidents {
		for _, d := range r.Destinations {
			f[[2]string{"Bitcoin", d.Place}] += d.USD
		}
		if r.EVM != nil {
			for _, d := range r.EVM.Destinations {
				f[[2]string{"Ethereum (ETH, tokens)", d.Place}] += d.USD
			}
		}
	}
	return f
}

// timeChart draws the timeline as stacked monthly bars, one colour per
// kind of place.
func timeChart(title string, points []TimePoint) string {
	if len(points) == 0 {
		return ""
	}
	const w, h, left, bottom, top = 760, 300, 70, 40, 34
	byMonth := map[string]map[string]float64{}
	var months []string
	for _, p := range points {
		if byMonth[p.Month] == nil {
			byMonth[p.Month] = map[string]float64{}
			months = append(months, p.Month)
		}
		byMonth[p.Month][p.Place] += p.USD
	}
	sort.Strings(months)
	var peak float64
	for _, m := range months {
		var sum float64
		for _, v := range byMonth[m] {
			sum += v
		}
		peak = max(peak, sum)
	}
	kinds := []string{"exchange", "bridge", "mixer", "unspent", "other"}
	barW := float64(w-left-20) / float64(len(months))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="%s">`, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="0" y="18" font-size="15" font-weight="bold">%s</text>`, html.EscapeString(title))
	scale := float64(h-top-bottom) / max(peak, 1)
	for i, m := range months {
		x := float64(left) + float64(i)*barW
		y := float64(h - bottom)
		for _, k := range kinds {
			v := byMonth[m][k]
			if v <= 0 {
				continue
			}
			bh := v * scale
			y -= bh
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				x+2, y, barW-4, bh, color(k), m, k, money(v))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>`, x+barW/2, h-bottom+14, m)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>`, left-6, top+10, money(peak))
	for i, k := range kinds {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>`, left+i*110, h-12, color(k), left+i*110+14, h-3, k)
	}
	b.WriteString("</svg>")
	return b.String()
}
