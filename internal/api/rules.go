package api

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
)

// DefaultRulesYAML is the rules file a server uses unless given another
// (spur serve --rules FILE); docs/api.md shows it.
//
//go:embed rules.yaml
var DefaultRulesYAML []byte

// Rule sets a severity when its condition holds.
type Rule struct {
	Severity string   `yaml:"severity"`
	When     string   `yaml:"when"` // label, direct or indirect
	Category string   `yaml:"category"`
	MinShare *float64 `yaml:"min_share"` // direct and indirect; nil means 0
}

// Rules are tried in order; the first that matches wins.
type Rules []Rule

// ErrRules marks a rules file that does not parse or validate.
var ErrRules = errors.New("api: bad rules")

// DefaultRules returns the built-in rules.
func DefaultRules() Rules {
	rs, err := ParseRules("rules.yaml", DefaultRulesYAML)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return rs
}

var severities = map[string]bool{"low": true, "medium": true, "high": true, "severe": true}

// ParseRules reads a rules file; errors name the file and the line.
func ParseRules(name string, b []byte) (Rules, error) {
	var doc struct {
		Rules []Rule `yaml:"rules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s: empty file", ErrRules, name)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrRules, name, err)
	}
	// The same document as nodes, for the line of each rule.
	var nodes struct {
		Rules []yaml.Node `yaml:"rules"`
	}
	yaml.Unmarshal(b, &nodes)
	if doc.Rules == nil {
		return nil, fmt.Errorf("%w: %s: no rules: list", ErrRules, name)
	}
	for i, r := range doc.Rules {
		line := 0
		if i < len(nodes.Rules) {
			line = nodes.Rules[i].Line
		}
		bad := func(field, format string, args ...any) error {
			return fmt.Errorf("%w: %s: line %d: rule %d: %s: %s", ErrRules, name, line, i+1, field, fmt.Sprintf(format, args...))
		}
		if !severities[r.Severity] {
			return nil, bad("severity", "%q; want low, medium, high or severe", r.Severity)
		}
		switch r.When {
		case "label":
			if r.MinShare != nil {
				return nil, bad("min_share", "only for direct and indirect rules")
			}
		case "direct", "indirect":
			if r.MinShare != nil && (*r.MinShare < 0 || *r.MinShare > 1) {
				return nil, bad("min_share", "%v; want 0 to 1", *r.MinShare)
			}
		default:
			return nil, bad("when", "%q; want label, direct or indirect", r.When)
		}
		if r.Category == "" {
			return nil, bad("category", "missing")
		}
		// As the labels store it: "mixing_service" is mixer.
		doc.Rules[i].Category = label.Category(r.Category)
	}
	return doc.Rules, nil
}

// Severity applies the rules to an item's labels (its own and its
// entity's) and exposures, and says which rule decided.
func (rs Rules) Severity(own []label.Label, ent *query.ScreenEntity, direct, indirect []Exposure) (string, string) {
	for _, r := range rs {
		least := 0.0
		if r.MinShare != nil {
			least = *r.MinShare
		}
		switch r.When {
		case "label":
			// The item's own labels, then its entity's, each naming the
			// member that carries it.
			if why := labelled(r.Category, own); why != "" {
				return r.Severity, r.Category + ": " + why
			}
			if ent != nil {
				for _, l := range ent.Labels {
					if l.Category == r.Category {
						return r.Severity, fmt.Sprintf("entity %d holds %s: %s: %s%s", ent.ID, l.Via, r.Category, l.Label.Label, query.Provenance(l.Label))
					}
				}
			}
		case "direct":
			for _, e := range direct {
				if e.Category == r.Category && e.Share > 0 && e.Share >= least {
					return r.Severity, fmt.Sprintf("direct exposure to %s: %s", e.Category, percent(e.Share))
				}
			}
		case "indirect":
			for _, e := range indirect {
				if e.Category == r.Category && e.Share > 0 && e.Share >= least {
					return r.Severity, fmt.Sprintf("indirect exposure to %s within %d hops: %s", e.Category, IndirectHops, percent(e.Share))
				}
			}
		}
	}
	return "low", "no rule matched"
}

// labelled names the labels of one category among ls, each name once with
// every source (and its reference) that gives it: an address two lists
// sanction says so ("GARANTEX EUROPE OU (ofac-sdn 36025; uk-sanctions-list
// RUS1421)"). "" when none is of the category.
func labelled(category string, ls []label.Label) string {
	var names []string
	var sources map[string][]string // made at the first label of the category: most items screened have none
	for _, l := range ls {
		if l.Category != category {
			continue
		}
		if sources == nil {
			sources = map[string][]string{}
		}
		if _, ok := sources[l.Label]; !ok {
			names = append(names, l.Label)
		}
		src := l.Source
		if l.Ref != "" {
			src += " " + l.Ref
		}
		if !slices.Contains(sources[l.Label], src) {
			sources[l.Label] = append(sources[l.Label], src)
		}
	}
	for i, n := range names {
		names[i] = n + " (" + strings.Join(sources[n], "; ") + ")"
	}
	return strings.Join(names, "; ")
}

// percent writes a share for a rule's reason: to a tenth of a percent, and
// a share too small to show so as under 0.1%, not 0.0% (any exposure can
// match a rule).
func percent(share float64) string {
	if share > 0 && share < 0.0005 {
		return "under 0.1%"
	}
	return fmt.Sprintf("%.1f%%", 100*share)
}
