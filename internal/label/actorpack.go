package label

import (
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
}

// Names says whether name is the actor's id, label or one of its aliases,
// case-insensitively.
func (a *Actor) Names(name string) bool {
	is := func(s string) bool { return strings.EqualFold(s, name) }
	return is(a.ID) || is(a.Label) || slices.ContainsFunc(a.Aliases, is)
}

// ParseActorPack reads a GraphSense ActorPack (YAML): a header (title and
// creator required, description, lastmod) and its actors, each with an id,
// a label, a uri and categories (required, as GraphSense's schema has
// them), jurisdictions (two-letter country codes), aliases and lastmod (the
// header's where an actor has none). An actor missing a required field, of
// an id the pack gave before, or with a jurisdiction that is no country
// code, is refused with its line.
func ParseActorPack(path string) ([]Actor, error) {
	root, err := readMapping(path, "not an ActorPack (want a mapping with an actors list)")
	if err != nil {
		return nil, err
	}
	var header struct {
		Title   string `yaml:"title"`
		Creator string `yaml:"creator"`
		LastMod any    `yaml:"lastmod"`
	}
	if err := root.Decode(&header); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %v", ErrMalformed, path, err)
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
	packMod := dateText(header.LastMod)
	var out []Actor
	at := map[string]int{} // id -> line
	for _, n := range list.Content {
		var f struct {
			ID            string   `yaml:"id"`
			URI           string   `yaml:"uri"`
			Label         string   `yaml:"label"`
			LastMod       any      `yaml:"lastmod"`
			Categories    []string `yaml:"categories"`
			Jurisdictions []string `yaml:"jurisdictions"`
			Aliases       []string `yaml:"aliases"`
		}
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
		if line, ok := at[strings.ToLower(f.ID)]; ok {
			return nil, bad("given before, at line %d", line)
		}
		at[strings.ToLower(f.ID)] = n.Line
		for _, j := range f.Jurisdictions {
			if len(j) != 2 || strings.Trim(j, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				return nil, bad("jurisdiction %q is not a two-letter country code", j)
			}
		}
		mod := dateText(f.LastMod)
		if mod == "" {
			mod = packMod
		}
		out = append(out, Actor{ID: f.ID, Label: f.Label, URI: f.URI, Categories: f.Categories, Jurisdictions: f.Jurisdictions, Aliases: f.Aliases, LastMod: mod})
	}
	return out, nil
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
