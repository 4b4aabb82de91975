package label

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// tagPackFields are the fields a TagPack header may set for all its tags
// and each tag may override.
type tagPackFields struct {
	Label      string `yaml:"label"`
	Category   string `yaml:"category"`
	Abuse      string `yaml:"abuse"`
	Actor      string `yaml:"actor"`
	Source     string `yaml:"source"`
	Currency   string `yaml:"currency"`
	Network    string `yaml:"network"`
	Confidence any    `yaml:"confidence"`
}

// ParseTagPack reads a GraphSense TagPack (YAML): header fields (label,
// category, abuse, actor, source, currency or network, confidence) apply to
// every tag that does not set its own. A tag's category is its abuse, where
// it has one (GraphSense puts the risk there: category "user", abuse
// "sanction"), else its category, either named as spur names it (Category).
// A tag without an address, a label, or a category or abuse is refused with
// its line.
func ParseTagPack(path string) ([]Label, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, path, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: %s: not a TagPack (want a mapping with a tags list)", ErrMalformed, path)
	}
	root := doc.Content[0]
	var header tagPackFields
	if err := root.Decode(&header); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %v", ErrMalformed, path, err)
	}
	var tags *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "tags" {
			tags = root.Content[i+1]
		}
	}
	if tags == nil || tags.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%w: %s: no tags list", ErrMalformed, path)
	}
	var out []Label
	for _, n := range tags.Content {
		var t tagPackFields
		var a struct {
			Address string `yaml:"address"`
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
		cur := strings.ToLower(pick(pick(t.Network, t.Currency), pick(header.Network, header.Currency)))
		conf := t.Confidence
		if conf == nil {
			conf = header.Confidence
		}
		l.Confidence = confidence(conf)
		if l.Address == "" || l.Label == "" || l.Category == "" {
			return nil, fmt.Errorf("%w: %s: line %d: a tag needs an address, a label, and a category or abuse", ErrMalformed, path, n.Line)
		}
		l.Chain = chainOfCurrency(strings.ToUpper(cur), l.Address)
		if cur == "" {
			l.Chain = GuessChain(l.Address)
		}
		display, key, err := Normalize(l.Chain, l.Address)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: address %q: %v", ErrMalformed, path, n.Line, l.Address, err)
		}
		l.Address, l.key = display, key
		out = append(out, l)
	}
	return out, nil
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

// ParseCSV reads labels from a CSV file whose header names its columns, in
// any order: address and category, and any of chain, label, actor and
// source (a column of another name is not read). Chain may be empty and is
// then guessed from the address.
func ParseCSV(path string) ([]Label, error) {
	b, err := csvBytes(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
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
			l.Chain = GuessChain(l.Address)
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
