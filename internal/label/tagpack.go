package label

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// readMapping reads the YAML file at path, whose document must be a
// mapping (notMapping says what it is not otherwise).
func readMapping(path, notMapping string) (*yaml.Node, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, path, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: %s: %s", ErrMalformed, path, notMapping)
	}
	return doc.Content[0], nil
}

// valueOf is the value of key in mapping m, nil if it has none.
func valueOf(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// tagPackFields are the fields a TagPack header may set for all its tags
// and each tag may override.
type tagPackFields struct {
	Label      string   `yaml:"label"`
	Category   string   `yaml:"category"`
	Abuse      string   `yaml:"abuse"`
	Concepts   []string `yaml:"concepts"`
	Actor      string   `yaml:"actor"`
	Source     string   `yaml:"source"`
	Currency   string   `yaml:"currency"`
	Network    string   `yaml:"network"`
	Confidence any      `yaml:"confidence"`
}

// TagPackResult is what ParseTagPack read: the labels of the tags on
// addresses, and the tags on anything else, which spur cannot keep (a
// transaction's tx_hash, a GraphSense entity, which is a cluster number of
// GraphSense's own), each as "line N: tx_hash H" or "line N: entity E".
type TagPackResult struct {
	Labels  []Label
	Skipped []string
}

// ParseTagPack reads a GraphSense TagPack (YAML): header fields (label,
// category, abuse, concepts, actor, source, currency or network,
// confidence) apply to every tag that does not set its own; a header kept
// in a file of its own ("header: !include ./header.yaml", as GraphSense's
// TagPack repositories share one among the packs below a directory) is
// looked for from the pack's directory upwards. A tag's category is its
// abuse, where it has one (GraphSense puts the risk there: category "user",
// abuse "sanction"), else its category, else the riskiest of its concepts,
// each named as spur names it (Category); a tag with none of them is
// "other", as GraphSense's schema makes them optional. A tag without a
// label, or without an address, a tx_hash or an entity, is refused with
// its line.
func ParseTagPack(path string) (*TagPackResult, error) {
	root, err := readMapping(path, "not a TagPack (want a mapping with a tags list)")
	if err != nil {
		return nil, err
	}
	var header tagPackFields
	if err := root.Decode(&header); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %v", ErrMalformed, path, err)
	}
	var tags *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "tags":
			tags = root.Content[i+1]
		case "header":
			// GraphSense lets the header's fields override the file's.
			h, err := tagPackHeader(path, root.Content[i+1])
			if err != nil {
				return nil, err
			}
			if err := h.Decode(&header); err != nil {
				return nil, fmt.Errorf("%w: %s: line %d: header: %v", ErrMalformed, path, h.Line, err)
			}
		}
	}
	if tags == nil || tags.Kind != yaml.SequenceNode {
		if valueOf(root, "actors") != nil {
			return nil, fmt.Errorf("%w: %s: a GraphSense ActorPack (a list of actors), not a TagPack: import it with --format actorpack", ErrMalformed, path)
		}
		return nil, fmt.Errorf("%w: %s: no tags list", ErrMalformed, path)
	}
	res := new(TagPackResult)
	for _, n := range tags.Content {
		var t tagPackFields
		var a struct {
			Address string `yaml:"address"`
			TxHash  string `yaml:"tx_hash"`
			Entity  string `yaml:"entity"`
		}
		if err := n.Decode(&t); err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: %v", ErrMalformed, path, n.Line, err)
		}
		if err := n.Decode(&a); err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: %v", ErrMalformed, path, n.Line, err)
		}
		pick := func(tag, head string) string {
			if tag != "" {
				return tag
			}
			return head
		}
		l := Label{
			Address:  strings.TrimSpace(a.Address),
			Label:    pick(t.Label, header.Label),
			Category: Category(pick(pick(t.Abuse, header.Abuse), pick(t.Category, header.Category))),
			Actor:    pick(t.Actor, header.Actor),
			URL:      pick(t.Source, header.Source),
		}
		if l.Category == "" {
			concepts := t.Concepts
			if concepts == nil {
				concepts = header.Concepts
			}
			l.Category = conceptCategory(concepts)
		}
		if l.Label == "" {
			return nil, fmt.Errorf("%w: %s: line %d: a tag needs a label", ErrMalformed, path, n.Line)
		}
		if l.Address == "" {
			switch {
			case strings.TrimSpace(a.TxHash) != "":
				res.Skipped = append(res.Skipped, fmt.Sprintf("line %d: tx_hash %s", n.Line, strings.TrimSpace(a.TxHash)))
			case strings.TrimSpace(a.Entity) != "":
				res.Skipped = append(res.Skipped, fmt.Sprintf("line %d: entity %s", n.Line, strings.TrimSpace(a.Entity)))
			default:
				return nil, fmt.Errorf("%w: %s: line %d: a tag needs an address (or a tx_hash or entity, which are skipped)", ErrMalformed, path, n.Line)
			}
			continue
		}
		cur := strings.ToLower(pick(pick(t.Network, t.Currency), pick(header.Network, header.Currency)))
		conf := t.Confidence
		if conf == nil {
			conf = header.Confidence
		}
		l.Confidence = confidence(conf)
		l.Chain = chainOfCurrency(strings.ToUpper(cur), l.Address)
		if cur == "" {
			l.Chain = GuessChain(l.Address)
		}
		display, key, err := Normalize(l.Chain, l.Address)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: address %q: %v", ErrMalformed, path, n.Line, l.Address, err)
		}
		l.Address, l.key = display, key
		res.Labels = append(res.Labels, l)
	}
	return res, nil
}

// conceptCategory is the category of a tag's GraphSense concepts: the
// riskiest of them, else the first, else Other.
func conceptCategory(concepts []string) string {
	best := ""
	for _, c := range concepts {
		c = Category(c)
		if c != "" && (best == "" || RiskRank(c) > RiskRank(best)) {
			best = c
		}
	}
	if best == "" {
		return Other
	}
	return best
}

// tagPackHeader returns a TagPack's header node: the mapping itself, or the
// mapping of the file an "!include" names, found relative to the pack's
// directory or the nearest directory above it that holds it (GraphSense
// resolves it from the directory of the header, which is above its packs).
func tagPackHeader(path string, n *yaml.Node) (*yaml.Node, error) {
	if n.Tag != "!include" {
		if n.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%w: %s: line %d: header: want a mapping or !include FILE", ErrMalformed, path, n.Line)
		}
		return n, nil
	}
	name := strings.TrimSpace(n.Value)
	if name == "" || n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("%w: %s: line %d: header: !include names no file", ErrMalformed, path, n.Line)
	}
	found := ""
	if filepath.IsAbs(name) {
		found = name
	} else {
		abs, err := filepath.Abs(filepath.Dir(path))
		if err != nil {
			return nil, fmt.Errorf("label: %w", err)
		}
		for dir := abs; ; dir = filepath.Dir(dir) {
			if st, err := os.Stat(filepath.Join(dir, name)); err == nil && !st.IsDir() {
				found = filepath.Join(dir, name)
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if found == "" {
		return nil, fmt.Errorf("%w: %s: line %d: header: !include %s: no such file in the pack's directory or above it", ErrMalformed, path, n.Line, name)
	}
	b, err := os.ReadFile(found)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: line %d: header: %v", ErrMalformed, path, n.Line, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, found, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: %s: not a TagPack header (want a mapping)", ErrMalformed, found)
	}
	return doc.Content[0], nil
}

// confidence maps a TagPack confidence (a number in [0,1] or 0..100, or
// GraphSense's named levels) to [0,1].
func confidence(v any) float64 {
	switch c := v.(type) {
	case int:
		if c > 1 {
			return float64(c) / 100
		}
		return float64(c)
	case float64:
		if c > 1 {
			return c / 100
		}
		return c
	case string:
		switch c {
		case "ownership", "authority_data", "service_data":
			return 1
		case "forensic", "lea_data":
			return 0.9
		case "web_crawl", "manual_crawl":
			return 0.5
		}
		if f, err := strconv.ParseFloat(c, 64); err == nil {
			return confidence(f)
		}
	}
	return 0
}

// csvColumns are the columns of the csv format: address and category are
// required, the others may be left out.
var csvColumns = []string{"address", "chain", "category", "label", "actor", "source"}

// Delimiter is the field separator of a CSV file whose header line is
// head: a comma, or the semicolon or tab a spreadsheet saves with where
// the header has those and no comma (a European locale's "CSV").
func Delimiter(head string) rune {
	if !strings.Contains(head, ",") {
		for _, d := range []rune{';', '\t'} {
			if strings.ContainsRune(head, d) {
				return d
			}
		}
	}
	return ','
}

// WriteCSV writes labels as the CSV ParseCSV reads: address, chain,
// category, label, actor and source (the label's URL).
func WriteCSV(w io.Writer, ls []Label) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"address", "chain", "category", "label", "actor", "source"})
	for _, l := range ls {
		cw.Write([]string{l.Address, l.Chain, l.Category, l.Label, l.Actor, l.URL})
	}
	cw.Flush()
	return cw.Error()
}

// ParseCSV reads labels from a CSV file whose header names its columns, in
// any order: address and category, and any of chain, label, actor and
// source (a column of another name is not read), separated by commas (or
// semicolons or tabs: Delimiter). Chain may be empty where the address's
// form tells it (Bitcoin, EVM, Tron).
func ParseCSV(path string) ([]Label, error) {
	b, err := csvBytes(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	first, _, _ := bytes.Cut(b, []byte("\n"))
	r.Comma = Delimiter(string(first))
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: line 1: %v", ErrMalformed, path, err)
	}
	r.FieldsPerRecord = len(head)
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[h]; dup && slices.Contains(csvColumns, h) {
			return nil, fmt.Errorf("%w: %s: line 1: column %q twice", ErrMalformed, path, h)
		}
		col[h] = i
	}
	for _, must := range []string{"address", "category"} {
		if _, ok := col[must]; !ok {
			return nil, fmt.Errorf("%w: %s: line 1: header %q has no %s column (columns: %s; address and category required)", ErrMalformed, path, strings.Join(head, ","), must, strings.Join(csvColumns, ","))
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []Label
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(path, err)
		}
		line, _ := r.FieldPos(0)
		l := Label{Address: field(rec, "address"), Chain: strings.ToLower(field(rec, "chain")),
			Category: Category(field(rec, "category")), Label: field(rec, "label"), Actor: field(rec, "actor"), URL: field(rec, "source")}
		if l.Address == "" || l.Category == "" {
			return nil, fmt.Errorf("%w: %s: line %d: address and category are required", ErrMalformed, path, line)
		}
		if l.Chain == "" {
			if l.Chain = GuessChain(l.Address); l.Chain == "" {
				return nil, fmt.Errorf("%w: %s: line %d: address %q: its form does not tell its chain; give it in a chain column (btc, eth, ltc, ...)", ErrMalformed, path, line, l.Address)
			}
		} else {
			// A chain as a person writes it (Bitcoin, Ethereum, ETH) is
			// the one spur names so.
			l.Chain = chainOfCurrency(strings.ToUpper(l.Chain), l.Address)
		}
		display, key, err := Normalize(l.Chain, l.Address)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: address %q: %v", ErrMalformed, path, line, l.Address, err)
		}
		l.Address, l.key = display, key
		out = append(out, l)
	}
	return out, nil
}
