package label

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const actorPack = `title: Services
creator: spur tests
description: actors the tags of a TagPack name
lastmod: 2023-05-02
actors:
  - id: kettle_exchange
    uri: https://kettle.example
    label: Kettle Exchange
    aliases: [kettle, "Kettle Ltd"]
    jurisdictions: [SC, GB]
    categories: [exchange]
    context:
      refs: [https://kettle.example/about]
      founded: 2014-03-01
      ids: {1: k1}
  - id: blender
    uri: https://blender.example
    label: Blender.io
    lastmod: 2022-05-06
    categories: [mixing_service]
    context: '{"refs": ["https://home.treasury.gov/news/press-releases/jy0768"]}'
`

// TestActorPack: an ActorPack's actors are read with the header's actor
// fields where they have none, kept per source and replaced with it, and
// found by id, label or alias; a pack missing what GraphSense requires,
// giving an id again with another label or a jurisdiction that is no
// country code is refused with its line.
func TestActorPack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "services.actorpack.yaml")
	os.WriteFile(path, []byte(actorPack), 0o644)
	if !IsActorPack(path) {
		t.Fatal("not seen as an actor pack")
	}
	actors, err := ParseActorPack(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Actor{
		{ID: "kettle_exchange", Label: "Kettle Exchange", URI: "https://kettle.example", Categories: []string{"exchange"}, Jurisdictions: []string{"SC", "GB"}, Aliases: []string{"kettle", "Kettle Ltd"}, LastMod: "2023-05-02",
			Context: map[string]any{"refs": []any{"https://kettle.example/about"}, "founded": "2014-03-01", "ids": map[string]any{"1": "k1"}}},
		{ID: "blender", Label: "Blender.io", URI: "https://blender.example", Categories: []string{"mixing_service"}, LastMod: "2022-05-06",
			Context: map[string]any{"refs": []any{"https://home.treasury.gov/news/press-releases/jy0768"}}},
	}
	if !reflect.DeepEqual(actors, want) {
		t.Fatalf("read %+v, want %+v", actors, want)
	}
	if r := actors[1].Refs(); !reflect.DeepEqual(r, []string{"https://home.treasury.gov/news/press-releases/jy0768"}) {
		t.Fatalf("refs %v", r)
	}

	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Replace(SourceInfo{Source: "actorpack:services"}, nil, nil, actors...); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kettle_exchange", "KETTLE EXCHANGE", "kettle ltd"} {
		got, err := s.FindActors(name)
		if err != nil || len(got) != 1 || got[0].ID != "kettle_exchange" || got[0].Source != "actorpack:services" ||
			!reflect.DeepEqual(got[0].Refs(), []string{"https://kettle.example/about"}) || got[0].Context["founded"] != "2014-03-01" {
			t.Fatalf("%q finds %+v (%v)", name, got, err)
		}
	}
	if got, _ := s.FindActors("kettle exchange ltd"); len(got) != 0 {
		t.Fatalf("a name no actor has finds %+v", got)
	}
	if srcs, _ := s.Sources(); len(srcs) != 1 || srcs[0].Actors != 2 {
		t.Fatalf("sources: %+v", srcs)
	}
	// Imported again without one, the source loses it.
	if err := s.Replace(SourceInfo{Source: "actorpack:services"}, nil, nil, actors[1]); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindActors("kettle"); len(got) != 0 {
		t.Fatalf("an actor the source no longer has: %+v", got)
	}
	if got, _ := s.FindActors("blender.IO"); len(got) != 1 {
		t.Fatalf("the actor kept: %+v", got)
	}

	// The header's actor fields apply to the actors that lack them (as
	// GraphSense's proof-of-reserves pack gives its exchanges' category
	// once); an actor given again with its id and label is kept once.
	os.WriteFile(path, []byte("title: T\ncreator: C\nlastmod: 2022-12-19\ncategories: [exchange]\ncontext: {refs: [r.example]}\nactors:\n"+
		"- id: okx\n  uri: https://okx.com\n  label: okx\n  jurisdictions: [BS, SC]\n"+
		"- id: blender\n  uri: blender.example\n  label: Blender.io\n  categories: [mixing_service]\n"+
		"- id: okx\n  uri: https://okx.com\n  label: OKX\n"), 0o644)
	if got, err := ParseActorPack(path); err != nil || len(got) != 2 || !reflect.DeepEqual(got[0].Categories, []string{"exchange"}) ||
		got[0].LastMod != "2022-12-19" || !reflect.DeepEqual(got[1].Categories, []string{"mixing_service"}) || !reflect.DeepEqual(got[0].Refs(), []string{"r.example"}) {
		t.Fatalf("header fields: %+v (%v)", got, err)
	}

	for _, c := range []struct{ edit, want string }{
		{"    label: Blender.io\n", "line 16: actor \"blender\": no label"},
		{"    categories: [exchange]\n", "line 6: actor \"kettle_exchange\": no categories"},
		{"  - id: blender\n", "line 16: actor \"kettle_exchange\": given before with label \"Kettle Exchange\", at line 6"},
		{"[SC, GB]", "jurisdiction \"Seychelles\""},
		{"creator: spur tests\n", "the header has no creator"},
		{"'{\"refs\"", "line 16: actor \"blender\": context: not a mapping"},
		{"    context:\n", "line 6: actor \"kettle_exchange\": context: not a mapping"},
	} {
		bad := strings.Replace(actorPack, c.edit, map[string]string{
			"  - id: blender\n": "  - id: kettle_exchange\n",
			"[SC, GB]":          "[Seychelles]",
			"'{\"refs\"":        "'[\"refs\"",
			"    context:\n":    "    context: [a, b]\n    extra:\n",
		}[c.edit], 1)
		os.WriteFile(path, []byte(bad), 0o644)
		if _, err := ParseActorPack(path); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("without %q: %v, want %q", c.edit, err, c.want)
		}
	}
}
