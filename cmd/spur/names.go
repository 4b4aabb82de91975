package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/names"
)

// loadNameIndex indexes the listed parties of the given sources (all when
// none are given).
func loadNameIndex(dir string, sources []string) (*names.Index, error) {
	s, err := openLabels(dir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var entities []label.Entity
	if len(sources) == 0 {
		sources = []string{""}
	}
	for _, src := range sources {
		if err := s.Entities(src, func(e label.Entity) error { entities = append(entities, e); return nil }); err != nil {
			return nil, err
		}
	}
	if len(entities) == 0 {
		return nil, usagef("no listed parties in %s; import a list first (spur labels import --format un-xml|ofac-sdn-csv|ofac-xml|ofac-advanced-xml|eu-csv|uk-csv|uk-sanctions-list-ods|us-csl-csv)", dir)
	}
	return names.NewIndex(entities), nil
}

// screenNames screens each name with the query's other fields: JSON of
// every name's matches, or a table of each name's best.
func screenNames(x *names.Index, q names.Query, opts names.Options, batch []string, asJSON bool) error {
	type result struct {
		Query   names.Query   `json:"query"`
		Matches []names.Match `json:"matches"`
	}
	var out []result
	hits := 0
	for _, n := range batch {
		q.Name = n
		ms := x.Screen(q, opts)
		if len(ms) > 0 {
			hits++
		}
		out = append(out, result{q, ms})
	}
	if asJSON {
		return printJSON(os.Stdout, out)
	}
	fmt.Printf("%d of %d names match a listed party\n\n", hits, len(batch))
	t := newTable(os.Stdout)
	t.row("QUERY", "SCORE", "NAME", "LISTS", "MATCHED")
	for _, r := range out {
		if len(r.Matches) == 0 {
			t.row(r.Query.Name, "-", "-", "-", "-")
			continue
		}
		m := r.Matches[0]
		var lists []string
		for _, e := range m.Entries {
			lists = append(lists, e.Source+" "+e.ID)
		}
		t.row(r.Query.Name, fmt.Sprintf("%.3f", m.Score), m.Name, strings.Join(lists, ", "), matchedName(m))
	}
	t.flush()
	return nil
}

// matchedName is the name a match matched, marked when it is an alias.
func matchedName(m names.Match) string {
	switch {
	case m.Explanation.WeakAlias:
		return m.Explanation.MatchedName + " (weak alias)"
	case m.Explanation.Alias:
		return m.Explanation.MatchedName + " (alias)"
	}
	return m.Explanation.MatchedName
}

func newNames() *cobra.Command {
	var dir string
	var q names.Query
	var opts names.Options
	var sources []string
	var asJSON bool
	c := &cobra.Command{
		Use:   `names "QUERY" --store DIR`,
		Short: "Screen a name (person, company, vessel) against the imported sanctions lists",
		Long: `Ranks the listed parties that match the name, best first, with a score in
[0,1], the list entries behind each (entries of several lists that carry one
UN reference number are one party), and why: which name or alias matched,
which tokens paired and how, what stayed unmatched, and which extra fields
agreed or disagreed. An exact identifier or crypto address (--id) scores 1.0.
"-" reads the names from standard input, one a line (blank lines and #
comments skipped), each screened with the same flags: a table of each name's
best match, or JSON of every name's matches. docs/names.md describes the
algorithm and its knobs.`,
		Example: `  spur names "Kim Jong Un" --store ./store --type person --birth-year 1984
  spur names "Korea Mining Development Trading Co., Ltd" --store ./store --json
  spur names --id 0x098b716b8aaf21512996dc57eb0615e2383e2f96 --store ./store
  spur names - --store ./store < customers.txt`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				q.Name = args[0]
			}
			if q.Name == "" && q.ID == "" {
				return usagef("give a name to screen, or --id")
			}
			switch q.Type {
			case "", "person", "individual", "organization", "entity", "vessel", "aircraft":
			default:
				return usagef("--type %q: want person, organization, vessel or aircraft", q.Type)
			}
			if opts.MinScore < 0 || opts.MinScore > 1 {
				return usagef("--min-score must be in [0,1]")
			}
			if opts.Limit < 1 {
				return usagef("--limit must be at least 1")
			}
			if q.BirthYear < 0 {
				return usagef("--birth-year must not be negative")
			}
			var batch []string
			if q.Name == "-" {
				var err error
				if batch, err = stdinLines(); err != nil {
					return err
				}
				if len(batch) == 0 {
					return usagef("no names on standard input")
				}
			}
			start := time.Now()
			x, err := loadNameIndex(dir, sources)
			if err != nil {
				return err
			}
			if batch != nil {
				return screenNames(x, q, opts, batch, asJSON)
			}
			loaded := time.Since(start)
			start = time.Now()
			matches := x.Screen(q, opts)
			took := time.Since(start)
			if asJSON {
				return printJSON(os.Stdout, map[string]any{"query": q, "matches": matches, "micros": took.Microseconds()})
			}
			ne, nn := x.Size()
			noun := "matches"
			if len(matches) == 1 {
				noun = "match"
			}
			fmt.Printf("%s %s among %s listed entries (%s names); index %s, query %s\n\n", thousands(int64(len(matches))), noun, thousands(int64(ne)), thousands(int64(nn)),
				loaded.Round(time.Millisecond), took.Round(time.Microsecond))
			t := newTable(os.Stdout)
			t.row("SCORE", "NAME", "TYPE", "LISTS", "MATCHED", "WHY")
			for _, m := range matches {
				var lists []string
				for _, e := range m.Entries {
					lists = append(lists, e.Source+" "+e.ID)
				}
				why := ""
				if m.Explanation.ByID != "" {
					why = "identifier " + m.Explanation.ByID
				} else {
					var pairs []string
					for _, p := range m.Explanation.Tokens {
						if p.How != "exact" {
							pairs = append(pairs, fmt.Sprintf("%s~%s (%s)", p.Query, p.Name, p.How))
						}
					}
					if len(m.Explanation.UnmatchedQuery) > 0 {
						pairs = append(pairs, "unmatched: "+strings.Join(m.Explanation.UnmatchedQuery, " "))
					}
					if len(m.Explanation.UnmatchedName) > 0 {
						pairs = append(pairs, "not in query: "+strings.Join(m.Explanation.UnmatchedName, " "))
					}
					pairs = append(pairs, m.Explanation.Fields...)
					why = strings.Join(pairs, "; ")
				}
				t.row(fmt.Sprintf("%.3f", m.Score), m.Name, m.Type, strings.Join(lists, ", "), matchedName(m), dash(why))
			}
			t.flush()
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().StringVar(&q.Type, "type", "", "person, organization, vessel or aircraft")
	c.Flags().StringVar(&q.Country, "country", "", "a country the party is tied to (nationality, address)")
	c.Flags().IntVar(&q.BirthYear, "birth-year", 0, "year of birth")
	c.Flags().StringVar(&q.ID, "id", "", "an identifier: passport, registration or IMO number, crypto address")
	c.Flags().Float64Var(&opts.MinScore, "min-score", 0.80, "lowest score reported")
	c.Flags().IntVar(&opts.Limit, "limit", 10, "most matches reported")
	c.Flags().StringSliceVar(&sources, "source", nil, "only these list sources (e.g. un,ofac-sdn)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}
