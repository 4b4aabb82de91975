package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestCLIReference: docs/cli.md has a section for every command spur runs,
// naming each of its flags (or their one-letter forms; --network, the same
// everywhere, has its own section), and no section for a command spur does not have.
func TestCLIReference(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	// "## spur store info, spur store digest" heads the section of both.
	sections := map[string]string{}
	for _, s := range strings.Split(string(b), "\n## ")[1:] {
		title, body, _ := strings.Cut(s, "\n")
		for _, name := range strings.Split(title, ",") {
			if name, ok := strings.CutPrefix(strings.TrimSpace(name), "spur "); ok {
				sections[name] = body
			}
		}
	}
	if len(sections) < 30 {
		t.Fatalf("docs/cli.md: %d command sections read", len(sections))
	}
	commands := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(sub)
		}
		if !c.Runnable() || !c.HasParent() || c.HasAvailableSubCommands() && !c.HasAvailableLocalFlags() {
			return // the root, or a group ("spur ingest") that prints its help
		}
		name := strings.TrimPrefix(c.CommandPath(), "spur ")
		for n := name; n != ""; n = n[:max(0, strings.LastIndexByte(n, ' '))] {
			commands[n] = true
		}
		// A command's section is its own, else its parent's ("report
		// actor" is in "report").
		doc, n := "", name
		for ; n != ""; n = n[:max(0, strings.LastIndexByte(n, ' '))] {
			if body, ok := sections[n]; ok {
				doc = body
				break
			}
		}
		if n == "" {
			t.Errorf("docs/cli.md: no section for spur %s", name)
			return
		}
		c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" || f.Name == "network" {
				return
			}
			named := `--` + regexp.QuoteMeta(f.Name) + `\b`
			if f.Shorthand != "" {
				named += `|[\s\[\x60]-` + f.Shorthand + `\b` // "[-q]"
			}
			if !regexp.MustCompile(named).MatchString(doc) {
				t.Errorf("docs/cli.md, section %q: no --%s of spur %s", "spur "+n, f.Name, name)
			}
		})
	}
	walk(newRoot())
	for name := range sections {
		if !commands[name] {
			t.Errorf("docs/cli.md: a section for spur %s, which spur does not have", name)
		}
	}
}
