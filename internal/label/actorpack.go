package label

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Actor is an actor of a GraphSense ActorPack: who an id in TagPacks'
// actor field stands for (an exchange, a mixer, a group), with the
// categories and jurisdictions the pack gives it.
type Actor struct {
	ID            string   `json:"id"`
	Label         string   `json:"label"`
	URI           string   `json:"uri"`
	Categories    []string `json:"categories"`
	Jurisdictions []string `json:"jurisdictions,omitempty"` // ISO 3166-1 alpha-2
	Aliases       []string `json:"aliases,omitempty"`
	LastMod       string   `json:"lastmod,omitempty"`
	Source        string   `json:"source"`
	// Context is what the pack says of the actor beyond these fields, as
	// it gives it: references (refs), handles, ids in other databases.
	Context map[string]any `json:"context,omitempty"`
}

// Refs are the actor's references (the context's refs), as text.
func (a *Actor) Refs() []string {
	list, _ := a.Context["refs"].([]any)
	var out []string
	for _, r := range list {
		if s, ok := r.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Names says whether name is the actor's id, label or one of its aliases,
// case-insensitively.
func (a *Actor) Names(name string) bool {
	is := func(s string) bool { return strings.EqualFold(s, name) }
	return is(a.ID) || is(a.Label) || slices.ContainsFunc(a.Aliases, is)
}

// actorFields are the fields of an actor, which an ActorPack's header may
// also give, for every actor that does not give its own.
type actorFields struct {
	ID            string   `yaml:"id"`
	URI           string   `yaml:"uri"`
	Label         string   `yaml:"label"`
	LastMod       any      `yaml:"lastmod"`
	Categories    []string `yaml:"categories"`
	Jurisdictions []string `yaml:"jurisdictions"`
	Aliases       []string `yaml:"aliases"`
	Context       any      `yaml:"context"`
}

// ParseActorPack reads a GraphSense ActorPack (YAML), as GraphSense's tool
// does: a header (title and creator required, description, lastmod; a
// header the pack includes, "header: !include FILE", too) whose actor
// fields apply to every actor that does not give its own (a pack of
// exchanges gives "categories: [exchange]" once), and its actors, each
// with an id, a label, a uri and categories (required), jurisdictions
// (two-letter country codes), aliases and lastmod. An actor given twice
// with the same id and label is kept once; an actor missing a required
// field, an id given again with another label, or a jurisdiction that is
// no country code is refused with its line.
func ParseActorPack(path string) ([]Actor, error) {
	root, err := readMapping(path, "not an ActorPack (want a mapping with an actors list)")
	if err != nil {
		return nil, err
	}
	var header struct {
		Title   string `yaml:"title"`
		Creator string `yaml:"creator"`
	}
	var defaults actorFields
	decode := func(n *yaml.Node) error {
		if err := n.Decode(&header); err != nil {
			return fmt.Errorf("%w: %s: line %d: header: %v", ErrMalformed, path, n.Line, err)
		}
		if err := n.Decode(&defaults); err != nil {
			return fmt.Errorf("%w: %s: line %d: header: %v", ErrMalformed, path, n.Line, err)
		}
		return nil
	}
	if err := decode(root); err != nil {
		return nil, err
	}
	if h := valueOf(root, "header"); h != nil {
		n, err := tagPackHeader(path, h)
		if err != nil {
			return nil, err
		}
		if err := decode(n); err != nil {
			return nil, err
		}
	}
	list := valueOf(root, "actors")
	switch {
	case list == nil || list.Kind != yaml.SequenceNode:
		return nil, fmt.Errorf("%w: %s: no actors list", ErrMalformed, path)
	case header.Title == "":
		return nil, fmt.Errorf("%w: %s: the header has no title", ErrMalformed, path)
	case header.Creator == "":
		return nil, fmt.Errorf("%w: %s: the header has no creator", ErrMalformed, path)
	}
	var out []Actor
	type given struct {
		label string
		line  int
	}
	at := map[string]given{} // id -> its label and line
	for _, n := range list.Content {
		f := defaults
		f.ID = ""
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: %v", ErrMalformed, path, n.Line, err)
		}
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%w: %s: line %d: actor %q: %s", ErrMalformed, path, n.Line, f.ID, fmt.Sprintf(format, a...))
		}
		switch {
		case f.ID == "":
			return nil, fmt.Errorf("%w: %s: line %d: an actor without an id", ErrMalformed, path, n.Line)
		case f.Label == "":
			return nil, bad("no label")
		case f.URI == "":
			return nil, bad("no uri")
		case len(f.Categories) == 0:
			return nil, bad("no categories")
		}
		if g, ok := at[f.ID]; ok {
			if strings.EqualFold(g.label, f.Label) {
				continue // the same actor again
			}
			return nil, bad("given before with label %q, at line %d", g.label, g.line)
		}
		at[f.ID] = given{f.Label, n.Line}
		for _, j := range f.Jurisdictions {
			if len(j) != 2 || strings.Trim(j, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				return nil, bad("jurisdiction %q is not a two-letter country code", j)
			}
		}
		ctx, err := actorContext(f.Context)
		if err != nil {
			return nil, bad("context: %v", err)
		}
		out = append(out, Actor{ID: f.ID, Label: f.Label, URI: f.URI, Categories: f.Categories, Jurisdictions: f.Jurisdictions, Aliases: f.Aliases, LastMod: dateText(f.LastMod), Context: ctx})
	}
	return out, nil
}

// actorContext is an actor's context as a mapping: GraphSense's packs give
// it as a YAML mapping, or as a JSON object in a string, as TagPacks give
// a tag's.
func actorContext(v any) (map[string]any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		if len(v) == 0 {
			return nil, nil
		}
		return plain(v).(map[string]any), nil
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("not a mapping, nor a JSON object in a string: %v", err)
		}
		return m, nil
	default:
		return nil, fmt.Errorf("not a mapping, nor a JSON object in a string")
	}
}

// plain makes a value YAML decoded into one JSON encodes as the pack gave
// it: keys other than text (a mapping keyed by numbers) as text, dates
// YAML reads as times as the date they were.
func plain(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = plain(x)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(k)] = plain(x)
		}
		return m
	case []any:
		for i, x := range v {
			v[i] = plain(x)
		}
		return v
	case time.Time:
		return dateText(v)
	default:
		return v
	}
}

// dateText is a YAML date (read as a time) or text as text.
func dateText(v any) string {
	switch v := v.(type) {
	case time.Time:
		return v.Format(time.DateOnly)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// IsActorPack says whether the YAML file at path holds an actors list.
func IsActorPack(path string) bool {
	root, err := readMapping(path, "")
	return err == nil && valueOf(root, "actors") != nil
}
