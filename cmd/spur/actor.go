package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
)

func newActor() *cobra.Command {
	var dir string
	var asJSON bool
	c := &cobra.Command{
		Use:   "actor NAME --store DIR",
		Short: "Show what is known of an actor: its labels, addresses and entities",
		Long: `Lists the labels whose actor is NAME, and the labels named NAME (OFAC lists
"LAZARUS GROUP" by name; a TagPack may name "Blender.io" whose actor is
"blenderio"), case-insensitively; an actor of an imported ActorPack found by
its id, label or an alias stands for its id, label and aliases;
a name an imported list gives a party as an alias, weak aliases included
("HIDDEN COBRA"), stands for that party,
with their addresses and, for Bitcoin addresses of a clustered store, their
entities; and the imported incidents attributed to NAME.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.TrimSpace(args[0])
			if name == "" {
				return usagef("give an actor's name (\"Lazarus Group\", say)")
			}
			s, err := openLabels(dir)
			if err != nil {
				return err
			}
			defer s.Close()
			out := struct {
				Actor     string           `json:"actor"`
				AliasOf   []string         `json:"alias_of,omitempty"` // the listed parties NAME is an alias of
				Labels    []label.Label    `json:"labels"`
				Addresses []string         `json:"addresses"`
				Entities  []uint32         `json:"entities"`
				Incidents []label.Incident `json:"incidents"`
				Actors    []label.Actor    `json:"actors"` // of the imported ActorPacks, by id, label or alias
			}{Actor: name, Labels: []label.Label{}, Addresses: []string{}, Entities: []uint32{}, Incidents: []label.Incident{}, Actors: []label.Actor{}}
			incs, err := s.Incidents()
			if err != nil {
				return err
			}
			// A name a list gives a party as an alias (OFAC's "HIDDEN
			// COBRA" for LAZARUS GROUP) stands for the party: its labels
			// and incidents, under its listed name or its reference.
			parties, err := s.AliasOf(name)
			if err != nil {
				return err
			}
			for _, p := range parties {
				out.AliasOf = append(out.AliasOf, fmt.Sprintf("%s (%s %s)", p.Name, p.Source, p.ID))
			}
			// An ActorPack's actor is named by its id in TagPacks' tags,
			// and found by its label or an alias too.
			actors, err := s.FindActors(name)
			if err != nil {
				return err
			}
			out.Actors = append(out.Actors, actors...)
			names := func(n string) bool {
				return n != "" && (strings.EqualFold(n, name) || slices.ContainsFunc(parties, func(p label.Entity) bool { return strings.EqualFold(n, p.Name) }) ||
					slices.ContainsFunc(actors, func(a label.Actor) bool { return a.Names(n) }))
			}
			// A label named so (a listed party's sanctioned addresses, a
			// TagPack's "Blender.io" whose actor is "blenderio"), or one
			// of a party the name is an alias of, by its reference.
			listed := func(l label.Label) bool {
				return names(l.Label) || l.Category == label.Sanctioned &&
					slices.ContainsFunc(parties, func(p label.Entity) bool { return l.Source == p.Source && l.Ref == p.ID })
			}
			// Names that contain the one asked for, offered if none is it.
			near := map[string]bool{}
			lower := strings.ToLower(name)
			nearTo := func(n string) {
				if n != "" && strings.Contains(strings.ToLower(n), lower) {
					near[n] = true
				}
			}
			for _, i := range incs {
				if names(i.Actor) {
					out.Incidents = append(out.Incidents, i)
				}
				nearTo(i.Actor)
			}
			seen := map[string]bool{}
			err = s.List(label.Filter{}, func(l label.Label) error {
				nearTo(l.Actor)
				nearTo(l.Label)
				if names(l.Actor) || listed(l) {
					out.Labels = append(out.Labels, l)
					if !seen[l.Address] {
						seen[l.Address] = true
						out.Addresses = append(out.Addresses, l.Address)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(btcDir(dir), "META")); err == nil {
				net, err := store.PeekNetwork(btcDir(dir))
				if err != nil {
					return err
				}
				sf := storeFlags{dir: dir, network: net}
				cs, err := sf.openExisting()
				if err != nil {
					return err
				}
				defer cs.Close()
				if c, err := cluster.Open(cs); err == nil {
					ents := map[uint32]bool{}
					for _, a := range out.Addresses {
						if ba, err := btc.ParseAddress(a, cs.Network()); err == nil {
							if n, err := cs.AddrNum(ba); err == nil {
								if e, ok := c.Entity(n); ok && !ents[e] {
									ents[e] = true
									out.Entities = append(out.Entities, e)
								}
							}
						}
					}
				}
			}
			if len(out.Labels) == 0 && len(out.Incidents) == 0 && len(out.Actors) == 0 {
				if len(out.AliasOf) > 0 {
					return fmt.Errorf("%w: %q is an alias of %s, which no label or incident names", store.ErrNotFound, name, strings.Join(out.AliasOf, ", "))
				}
				if len(near) > 0 {
					names := slices.Sorted(maps.Keys(near))
					if len(names) > 10 {
						names = append(names[:10], "...")
					}
					return fmt.Errorf("%w: no label or incident names actor %q; names that contain it: %s", store.ErrNotFound, name, strings.Join(names, "; "))
				}
				return fmt.Errorf("%w: no label or incident names actor %q", store.ErrNotFound, name)
			}
			if asJSON {
				return printJSON(os.Stdout, out)
			}
			fmt.Print(name)
			if len(out.AliasOf) > 0 {
				fmt.Printf(" (alias of %s)", strings.Join(out.AliasOf, ", "))
			}
			fmt.Printf(": %d labels on %d addresses", len(out.Labels), len(out.Addresses))
			if len(out.Entities) > 0 {
				ids := make([]string, len(out.Entities))
				for i, e := range out.Entities {
					ids[i] = strconv.FormatUint(uint64(e), 10)
				}
				fmt.Printf(", Bitcoin entities %s", strings.Join(ids, ", "))
			}
			if len(out.Incidents) > 0 {
				fmt.Printf(", %d incidents", len(out.Incidents))
			}
			fmt.Print("\n")
			for _, a := range out.Actors {
				fmt.Printf("actor %s (%s, %s): %s", a.Label, a.ID, a.Source, strings.Join(a.Categories, ", "))
				if len(a.Jurisdictions) > 0 {
					fmt.Printf("; jurisdictions %s", strings.Join(a.Jurisdictions, ", "))
				}
				fmt.Printf("; %s", a.URI)
				if refs := a.Refs(); len(refs) > 0 {
					fmt.Printf("; refs %s", strings.Join(refs, ", "))
				}
				fmt.Print("\n")
			}
			fmt.Print("\n")
			t := newTable(os.Stdout)
			if len(out.Labels) > 0 || len(out.Incidents) == 0 {
				t.row("CHAIN", "ADDRESS", "CATEGORY", "LABEL", "SOURCE")
				for _, l := range out.Labels {
					t.row(l.Chain, l.Address, l.Category, l.Label, l.Source)
				}
				t.flush()
			}
			if len(out.Incidents) > 0 {
				if len(out.Labels) > 0 {
					fmt.Print("\n")
				}
				t = newTable(os.Stdout)
				t.row("INCIDENT", "DATE", "VICTIM", "CHAINS")
				for _, i := range out.Incidents {
					t.row(i.ID, i.Date, i.Victim, strings.Join(i.Chains(), ", "))
				}
				t.flush()
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}
