package main

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
)

// openLabels opens the store's labels for a command that only reads them,
// beside other readers (label.OpenToRead).
func openLabels(dir string) (*label.Store, error) {
	if dir == "" {
		return nil, usagef("--store DIR is required")
	}
	// A command that reads makes no store: labels are made beside a chain
	// a store holds, never in a directory that holds none (a mistyped
	// --store).
	if _, err := os.Stat(labelsDir(dir)); errors.Is(err, fs.ErrNotExist) && !holdsChain(dir) {
		return nil, fmt.Errorf("%w: %s holds no store (no labels, no chain)", store.ErrNotFound, dir)
	}
	return label.OpenToRead(labelsDir(dir))
}

// holdsChain tells whether dir holds a Bitcoin store or an EVM chain's.
func holdsChain(dir string) bool {
	if _, err := os.Stat(filepath.Join(btcDir(dir), "META")); err == nil {
		return true
	}
	return len(evmChainsIn(dir)) > 0
}

// labelQueueWait is how long an import queued for a server waits for it
// to apply it (--wait); 0 does not wait.
var labelQueueWait = time.Minute

// waitFlag registers --wait on an import that may be queued for a server.
func waitFlag(c *cobra.Command) {
	c.Flags().DurationVar(&labelQueueWait, "wait", time.Minute, "while a server holds the labels: how long to wait for it to apply the import (0: queue it and return)")
}

// checkWait refuses a negative --wait.
func checkWait() error {
	if labelQueueWait < 0 {
		return usagef("--wait must not be negative")
	}
	return nil
}

// putOrQueue makes a change of the labels in dir: put it on the labels
// opened for writing, or, while a server holds them, queue it for the
// server to apply (what names it) and wait until it has.
func putOrQueue(dir, what string, put func(*label.Store) error, queue func(labelsDir string) (string, error)) error {
	s, err := openLabelsHeld(dir)
	if errors.Is(err, label.ErrLocked) {
		return queueAndWait(dir, what, queue)
	}
	if err != nil {
		return err
	}
	defer s.Close()
	return put(s)
}

// queueAndWait queues a change (what names it) for the process holding the
// labels in dir, says so, and waits for it to be applied.
func queueAndWait(dir, what string, queue func(labelsDir string) (string, error)) error {
	path, err := queue(labelsDir(dir))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "note: the labels are held by another process (a server); %s queued for it to apply\n", what)
	if labelQueueWait == 0 {
		fmt.Fprintf(os.Stderr, "note: not waiting for it (--wait 0): %s\n", path)
		return nil
	}
	err = label.WaitApplied(labelsDir(dir), path, labelQueueWait)
	if errors.Is(err, label.ErrNotApplied) {
		return fmt.Errorf("%w (the process holding the labels applies it when it lets go of them, a server within a second; any import or server started after applies it first)", err)
	}
	return err
}

// heldSources lists the sources of labels another process holds, read
// beside it.
func heldSources(dir string) ([]label.SourceInfo, error) {
	s, err := label.OpenToRead(labelsDir(dir))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Sources()
}

// openLabelsHeld opens them held, so that no other process takes them
// meanwhile: for an import, and for a server, which must not go on
// screening against labels an import has since replaced.
func openLabelsHeld(dir string) (*label.Store, error) {
	if dir == "" {
		return nil, usagef("--store DIR is required")
	}
	return label.Open(labelsDir(dir))
}

func newLabels() *cobra.Command {
	c := &cobra.Command{Use: "labels", Short: "Import and list address labels: sanctions lists, TagPacks, explorer and Forta labels, CSV"}
	c.AddCommand(newLabelsImport(), newLabelsList(), newLabelsSources())
	return c
}

func newLabelsImport() *cobra.Command {
	var dir, format, source, chain string
	var asJSON, allowEmpty bool
	c := &cobra.Command{
		Use:   "import --store DIR [--format FORMAT] PATH...",
		Short: "Import labels from files (or, for the OFAC SDN CSV set, its directory)",
		Long: `Import label sources, one for each PATH (several, as a shell glob gives
them, are all read before any is written). Formats:

  ofac-sdn-csv  the OFAC SDN list's legacy CSV set (sdn.csv, add.csv, alt.csv,
                sdn_comments.csv) in the directory PATH: every "Digital Currency
                Address - CUR ADDRESS" in an entry's remarks, including remarks
                that continue in sdn_comments.csv, becomes a sanctioned label
                with the SDN name, entity number and programmes; the entries
                themselves are kept for name screening. Default source: ofac-sdn.
  ofac-non-sdn-csv  OFAC's consolidated non-SDN list (cons_prim.csv, ...), the
                same layout. Default source: ofac-non-sdn.
  ofac-xml      the same lists as OFAC's SDN.XML (or CONSOLIDATED.XML): each
                id "Digital Currency Address - CUR" a sanctioned label, each
                sdnEntry an entry, with its akas (weak ones as weak aliases),
                birth years, nationalities, ids and addresses. Default source:
                ofac-sdn (ofac-non-sdn for a file named CONS...).
  ofac-advanced-xml  the same lists as SDN_ADVANCED.XML (or CONS_ADVANCED.XML),
                the Advanced Sanctions List Standard form: each party's
                "Digital Currency Address - CUR" features, names, programmes,
                birth years, nationalities, documents and addresses, every
                number looked up in the file's reference values. Default
                source as ofac-xml's. Both XML forms are read zipped too
                (SDN_XML.ZIP, SDN_ADVANCED.ZIP).
  un-xml        the UN Security Council consolidated list (XML): individuals and
                entities with aliases and addresses, kept for name screening,
                with their regime (DPRK, Iran, ...). Default source: un.
  eu-csv        the EU consolidated financial sanctions list (CSV, ';'). Entries
                keep their UN reference number. Default source: eu.
  uk-csv        the UK OFSI consolidated list (ConList.csv); the digital currency
                addresses in a group's other information become sanctioned
                labels. Default source: uk.
  uk-sanctions-list-ods  the UK Sanctions List (the FCDO's, as an OpenDocument
                spreadsheet): each designation under its Unique ID, with its
                names, regime and UN reference; the digital currency addresses
                in its other information become sanctioned labels. Default
                source: uk-sanctions-list.
  us-csl-csv    the US Consolidated Screening List (CSV); the digital currency
                addresses among an entry's ids become sanctioned labels with
                its OFAC programmes and entity number. Default source: us-csl.
  tagpack       a GraphSense TagPack (YAML); header fields apply to every tag,
                a header.yaml a pack includes too. A directory is read as a
                TagPack repository: each .yaml below it (but header.yaml and
                config.yaml) is a pack, or an ActorPack (below); one without
                tags on addresses is passed over with a note. Tags on
                transactions (tx_hash) or GraphSense entities are skipped with
                a note; a tag with no category, abuse or concept is "other".
                Default source: tagpack:FILE-NAME (below a directory given:
                tagpack:PATH/NAME, its path below the directory).
  actorpack     a GraphSense ActorPack (YAML): the actors TagPacks' tags name
                by id, each with its label, uri, categories, jurisdictions and
                aliases (the header's where it gives none), which 'spur actor'
                finds an actor by. Default source: actorpack:FILE-NAME
                (actorpack:PATH/NAME below a directory).
  csv           a header naming address and category columns, and any of
                chain, label, actor and source, in any order; separated by
                commas, or by semicolons or tabs as spreadsheets save them.
                Default source: csv:FILE-NAME.
  etherscan-json  explorer labels as the etherscan-labels project scrapes them:
                a combined file ({"0x..": {"name": .., "labels": [..]}}) or one
                label's file ({"0x..": "name"}, the label being the file name).
                Default source: etherscan:CHAIN:FILE-NAME.
  etherscan-csv  one label's file as the same project writes it in CSV (an
                account list: Address, Name Tag; a token list: Contract
                Address, Token Name). Default source: etherscan:CHAIN:FILE-NAME,
                as its JSON's.
  forta-csv     a CSV file of Forta's labelled datasets (malicious labels,
                phishing scams, malicious contracts and their creators).
                Default source: forta:CHAIN:FILE-NAME.

Categories are taken as spur names them: GraphSense's "mixing_service" is
mixer, "sanction" sanctioned, "service_hack" stolen-funds; Etherscan's
"ofac-sanctions-lists" sanctioned, "exploit" and "heist" stolen-funds,
"phish-hack" scam, "tornado-cash" mixer. A TagPack tag's abuse, where it has
one, is its category. The chain of explorer and Forta labels is --chain, or
the directory they are in (data/bscscan/..., labels/10/...), or eth.

Without --format, the format is told from the path: an OFAC directory (sdn.csv
or cons_prim.csv), a directory of .yaml files (tagpack), .xml (by its root
element: sdnList ofac-xml, Sanctions ofac-advanced-xml, else un-xml), .zip
(the XML file in it, likewise), .yaml
(tagpack), .json (etherscan-json), or a .csv's header line; a path that tells
nothing is refused.

Importing a source again replaces it whole and atomically; other sources stay.
A malformed file is refused with its file and line, and changes nothing.`,
		Example: `  spur labels import --store ./store --format ofac-sdn-csv ./sdn_csv/
  spur labels import --store ./store --format tagpack exchanges.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkWait(); err != nil {
				return err
			}
			if chain != "" && format != "" && format != "etherscan-json" && format != "etherscan-csv" && format != "forta-csv" {
				return usagef("--chain is for --format etherscan-json, etherscan-csv and forta-csv")
			}
			paths, err := labelPaths(args, format)
			if err != nil {
				return err
			}
			if source != "" && len(paths) > 1 {
				return usagef("--source names one source: give one file with it (%d given)", len(paths))
			}
			// Every file is read before any is imported: a malformed one
			// changes nothing.
			var ims []*label.File
			of := map[string]string{} // source -> path
			for _, lp := range paths {
				path, src := lp.path, source
				if src == "" {
					src = lp.source
				}
				im, err := readLabelFile(path, lp.format, src, chain, allowEmpty || lp.inDir)
				if err != nil {
					return err
				}
				if lp.inDir && im.Empty() {
					if len(im.Skipped) > 0 {
						fmt.Fprintf(os.Stderr, "note: %s holds no tags on addresses (%d on transactions or GraphSense entities); not imported\n", path, len(im.Skipped))
					} else {
						fmt.Fprintf(os.Stderr, "note: %s holds no tags; not imported\n", path)
					}
					continue
				}
				if other, ok := of[im.Source]; ok {
					return usagef("%s and %s would both be source %q, the second replacing the first: import them one at a time, each with --source", other, path, im.Source)
				}
				of[im.Source] = path
				ims = append(ims, im)
			}
			s, err := openLabelsHeld(dir)
			var srcs []label.SourceInfo
			apply := func(info label.SourceInfo, labels []label.Label, entities []label.Entity, actors ...label.Actor) error {
				return s.Replace(info, labels, entities, actors...)
			}
			content := func(source string) (*label.Content, error) { return s.Content(source) }
			switch {
			case errors.Is(err, label.ErrLocked):
				// Held by a server: queued for it, which takes the new
				// labels into its screening at once.
				if srcs, err = heldSources(dir); err != nil {
					return err
				}
				apply = func(info label.SourceInfo, labels []label.Label, entities []label.Entity, actors ...label.Actor) error {
					return queueAndWait(dir, fmt.Sprintf("source %q is", info.Source), func(ld string) (string, error) {
						return label.QueueReplace(ld, info, labels, entities, actors...)
					})
				}
				content = func(source string) (*label.Content, error) {
					r, err := label.OpenToRead(labelsDir(dir))
					if err != nil {
						return nil, err
					}
					defer r.Close()
					return r.Content(source)
				}
			case err != nil:
				return err
			default:
				defer s.Close()
				if srcs, err = s.Sources(); err != nil {
					return err
				}
			}
			var docs []map[string]any
			for _, im := range ims {
				// What the source held, to say what this import changes.
				var prev *label.Content
				if slices.ContainsFunc(srcs, func(x label.SourceInfo) bool { return x.Source == im.Source }) && im.Format != "actorpack" {
					if prev, err = content(im.Source); err != nil {
						return err
					}
				}
				doc, err := writeImport(im, srcs, prev, apply, asJSON)
				if err != nil {
					return err
				}
				docs = append(docs, doc)
			}
			if asJSON {
				if len(docs) == 1 {
					return printJSON(os.Stdout, docs[0])
				}
				return printJSON(os.Stdout, docs)
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().StringVar(&format, "format", "", "input format: "+strings.Join(label.Formats, ", "))
	c.Flags().StringVar(&source, "source", "", "name of the source (default from the format and file)")
	c.Flags().BoolVar(&allowEmpty, "allow-empty", false, "import a file with no labels, emptying its source")
	waitFlag(c)
	c.Flags().StringVar(&chain, "chain", "", "chain of etherscan-json, etherscan-csv and forta-csv labels (default: from the file's directories, else eth)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}

// readLabelFile reads one file to import (label.Read), saying which format
// it took the file for when none was given.
func readLabelFile(path, format, source, chain string, allowEmpty bool) (*label.File, error) {
	if format == "" {
		if format = label.DetectFormat(path); format != "" {
			fmt.Fprintf(os.Stderr, "note: %s read as --format %s\n", path, format)
		}
	}
	f, err := label.Read(path, label.ReadOptions{Format: format, Source: source, Chain: chain, AllowEmpty: allowEmpty})
	if errors.Is(err, label.ErrFormat) {
		return nil, usageError{err}
	}
	return f, err
}

// writeImport replaces the file's source with it (apply) and says what it
// did, as text, or returns it for JSON. srcs are the sources held before,
// prev what the file's source held (nil: nothing).
func writeImport(f *label.File, srcs []label.SourceInfo, prev *label.Content, apply func(label.SourceInfo, []label.Label, []label.Entity, ...label.Actor) error, asJSON bool) (map[string]any, error) {
	for _, old := range srcs {
		if old.Source == f.Source && 2*len(f.Labels) < old.Labels {
			fmt.Fprintf(os.Stderr, "note: source %q had %s labels and now has %s\n", f.Source, thousands(int64(old.Labels)), thousands(int64(len(f.Labels))))
		}
	}
	abs, _ := filepath.Abs(f.Path)
	info := label.SourceInfo{Source: f.Source, Format: f.Format, Path: abs, Imported: time.Now().UTC(), Counts: f.Counts, Dated: f.Dated}
	var ch *label.Changes
	if prev != nil {
		since := ""
		for _, old := range srcs {
			if old.Source == f.Source {
				since = "the import of " + old.Imported.Format(time.DateOnly)
				if old.Dated != "" {
					since = "the list of " + old.Dated
				}
			}
		}
		ch = prev.Diff(f, since)
	}
	if err := apply(info, f.Labels, f.Entities, f.Actors...); err != nil {
		return nil, err
	}
	if f.Format == "actorpack" {
		if asJSON {
			return map[string]any{"source": f.Source, "actors": len(f.Actors), "counts": f.Counts}, nil
		}
		fmt.Printf("imported %s actors as source %q\n", thousands(int64(len(f.Actors))), f.Source)
		printCounts("CATEGORY", "ACTORS", f.Counts, "")
		return nil, nil
	}
	if asJSON {
		out := map[string]any{"source": f.Source, "labels": len(f.Labels), "entities": len(f.Entities), "counts": f.Counts, "mismatched": f.Invalid}
		if f.Dated != "" {
			out["dated"] = f.Dated
		}
		if f.Skipped != nil {
			out["skipped"] = f.Skipped
		}
		if f.Currencies != nil {
			out["currencies"] = f.Currencies
		}
		if ch != nil {
			out["changes"] = ch
		}
		return out, nil
	}
	dated := ""
	if f.Dated != "" {
		dated = " (the list of " + f.Dated + ")"
	}
	fmt.Printf("imported %s and %s as source %q%s\n", counted(len(f.Labels), "label", "labels"), counted(len(f.Entities), "entity", "entities"), f.Source, dated)
	switch f.Format {
	case "ofac-sdn-csv", "ofac-non-sdn-csv", "ofac-xml", "ofac-advanced-xml":
		printCounts("CURRENCY", "ADDRESSES", f.Counts, "no digital currency addresses listed")
	case "un-xml", "eu-csv", "uk-csv", "uk-sanctions-list-ods", "us-csl-csv":
		printCounts("PROGRAMME", "ENTRIES", f.Counts, "")
		if len(f.Currencies) > 0 {
			printCounts("CURRENCY", "ADDRESSES", f.Currencies, "")
		}
	case "etherscan-json", "etherscan-csv", "forta-csv":
		printCounts("CATEGORY", "LABELS", f.Counts, "")
	default:
		printCounts("CHAIN", "LABELS", f.Counts, "")
	}
	if len(f.Skipped) > 0 {
		fmt.Fprintf(os.Stderr, "note: skipped %d entries whose key is not an address: %s\n", len(f.Skipped), quoteList(f.Skipped, 5))
	}
	for _, m := range f.Invalid {
		fmt.Fprintf(os.Stderr, "note: %q does not fit its currency; kept under the chain its form suggests\n", m)
	}
	if ch != nil {
		printChanges(ch)
	}
	return nil, nil
}

// printChanges says what a new import changed, the first of each kind by
// name (--json gives them all).
func printChanges(ch *label.Changes) {
	if ch.None() {
		fmt.Printf("\nno change since %s\n", ch.Since)
		return
	}
	relabelled := ""
	if len(ch.Relabelled) > 0 {
		relabelled = fmt.Sprintf(", %s relabelled", thousands(int64(len(ch.Relabelled))))
	}
	fmt.Printf("\nsince %s: %d addresses added, %d removed%s; %d entries added, %d removed\n", ch.Since, len(ch.AddressesAdded), len(ch.AddressesRemoved), relabelled, len(ch.EntriesAdded), len(ch.EntriesRemoved))
	const shown = 10
	list := func(sign string, items []string) {
		for i, x := range items {
			if i == shown {
				fmt.Printf("  ... and %d more (--json lists them all)\n", len(items)-shown)
				break
			}
			fmt.Printf("  %s %s\n", sign, x)
		}
	}
	refs := func(rs []label.EntryRef) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.ID + " " + r.Name
		}
		return out
	}
	list("+", ch.AddressesAdded)
	list("-", ch.AddressesRemoved)
	list("~", ch.Relabelled)
	list("+ entry", refs(ch.EntriesAdded))
	list("- entry", refs(ch.EntriesRemoved))
}

func newLabelsList() *cobra.Command {
	var dir string
	var f label.Filter
	var asJSON, asCSV bool
	var limit int
	c := &cobra.Command{
		Use:   "list --store DIR [--source S] [--category C] [--chain C] [--actor A] [--json | --csv]",
		Short: "List labels, filtered",
		Long: `List the labels held, filtered by source, category, chain or actor: a table,
or JSON (--json), or spur's label CSV (--csv: address, chain, category,
label, actor, source), which spur labels import --format csv reads back:
labels to hand on, as a trace's --format labels gives them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit must not be negative (0: all)")
			}
			if asJSON && asCSV {
				return usagef("--json and --csv: give one")
			}
			if f.Category != "" {
				f.Category = label.Category(f.Category) // "sanction", "mixing_service" as imports store them
			}
			s, err := openLabels(dir)
			if err != nil {
				return err
			}
			defer s.Close()
			out := []label.Label{}
			more := 0 // past --limit, counted for the table's last line
			err = s.List(f, func(l label.Label) error {
				if limit > 0 && len(out) >= limit {
					more++
					return nil
				}
				out = append(out, l)
				return nil
			})
			if err != nil {
				return err
			}
			if len(out) == 0 {
				// A value no label has is most likely mistyped: say which
				// the labels have.
				if err := hintFilter(s, f); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(os.Stdout, out)
			}
			if asCSV {
				return label.WriteCSV(os.Stdout, out)
			}
			t := newTable(os.Stdout)
			t.row("CHAIN", "ADDRESS", "CATEGORY", "LABEL", "ACTOR", "SOURCE")
			for _, l := range out {
				t.row(l.Chain, l.Address, l.Category, l.Label, dash(l.Actor), l.Source)
			}
			t.flush()
			if more > 0 {
				fmt.Printf("\n%s more (--limit 0 lists them all)\n", thousands(int64(more)))
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().StringVar(&f.Source, "source", "", "only this source")
	c.Flags().StringVar(&f.Category, "category", "", "only this category (sanctioned, exchange, mixer, ...)")
	c.Flags().StringVar(&f.Chain, "chain", "", "only this chain (btc, eth, trx, ...)")
	c.Flags().StringVar(&f.Actor, "actor", "", "only this actor")
	c.Flags().IntVar(&limit, "limit", 0, "at most this many (0: all)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	c.Flags().BoolVar(&asCSV, "csv", false, "print spur's label CSV (spur labels import --format csv reads it)")
	return c
}

// hintFilter writes to stderr, for each value of f that no label has, the
// values the labels have in that field.
func hintFilter(s *label.Store, f label.Filter) error {
	type field struct {
		name, want string
		of         func(label.Label) string
		seen       map[string]bool
	}
	fields := []*field{
		{"source", f.Source, func(l label.Label) string { return l.Source }, map[string]bool{}},
		{"category", f.Category, func(l label.Label) string { return l.Category }, map[string]bool{}},
		{"chain", f.Chain, func(l label.Label) string { return l.Chain }, map[string]bool{}},
		{"actor", f.Actor, func(l label.Label) string { return l.Actor }, map[string]bool{}},
	}
	err := s.List(label.Filter{}, func(l label.Label) error {
		for _, fd := range fields {
			if v := fd.of(l); fd.want != "" && v != "" {
				fd.seen[v] = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, fd := range fields {
		if fd.want == "" {
			continue
		}
		have := slices.Sorted(maps.Keys(fd.seen))
		if slices.ContainsFunc(have, func(v string) bool { return strings.EqualFold(v, fd.want) }) {
			continue
		}
		if len(have) > 20 {
			have = append(have[:20], "...")
		}
		if len(have) == 0 {
			fmt.Fprintf(os.Stderr, "spur: no label has %s %q (none has any)\n", fd.name, fd.want)
			continue
		}
		fmt.Fprintf(os.Stderr, "spur: no label has %s %q; the labels have: %s\n", fd.name, fd.want, strings.Join(have, ", "))
	}
	return nil
}

func newLabelsSources() *cobra.Command {
	var dir string
	var asJSON bool
	c := &cobra.Command{
		Use:   "sources --store DIR",
		Short: "List the imported label sources",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openLabels(dir)
			if err != nil {
				return err
			}
			defer s.Close()
			src, err := s.Sources()
			if err != nil {
				return err
			}
			if asJSON {
				if src == nil {
					src = []label.SourceInfo{}
				}
				return printJSON(os.Stdout, src)
			}
			t := newTable(os.Stdout)
			t.row("SOURCE", "FORMAT", "LABELS", "ENTITIES", "ACTORS", "DATED", "IMPORTED", "PATH")
			for _, x := range src {
				t.row(x.Source, x.Format, thousands(int64(x.Labels)), thousands(int64(x.Entities)), thousands(int64(x.Actors)), dash(x.Dated), x.Imported.Format(time.RFC3339), x.Path)
			}
			t.flush()
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}

// printCounts prints counts as a table under a blank line, largest first,
// or none when it is empty (saying so when none is given).
func printCounts(what, count string, counts map[string]int, none string) {
	if len(counts) == 0 {
		if none != "" {
			fmt.Printf("\n%s\n", none)
		}
		return
	}
	fmt.Println()
	t := newTable(os.Stdout)
	t.row(what, count)
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return counts[keys[i]] > counts[keys[j]] || counts[keys[i]] == counts[keys[j]] && keys[i] < keys[j]
	})
	for _, k := range keys {
		t.row(k, thousands(int64(counts[k])))
	}
	t.flush()
}

// quoteList quotes the first n of list, with how many more there are.
func quoteList(list []string, n int) string {
	var q []string
	for i, s := range list {
		if i == n {
			q = append(q, fmt.Sprintf("and %d more", len(list)-n))
			break
		}
		q = append(q, strconv.Quote(s))
	}
	return strings.Join(q, ", ")
}

// labelPath is one file to import: a path given, or a TagPack found in a
// directory given, whose source (by default) names its path below the
// directory, as a TagPack repository's packs may share a file name.
type labelPath struct {
	path, format, source string
	inDir                bool
}

// labelPaths expands the directories of TagPacks among paths into their
// packs: every .yaml and .yml file below the directory, less the headers
// their packs include (header.yaml), the repository's config.yaml and
// GraphSense's actor packs (*actorpack.yaml), as GraphSense reads such a
// repository (hidden directories, .git and .github, left out). Other paths
// stay as they are.
func labelPaths(paths []string, format string) ([]labelPath, error) {
	var out []labelPath
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() || (format != "tagpack" && (format != "" || label.DetectFormat(p) != "tagpack")) {
			out = append(out, labelPath{path: p, format: format})
			continue
		}
		var found []labelPath
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := strings.ToLower(d.Name())
			if d.IsDir() && f != p && strings.HasPrefix(name, ".") {
				return fs.SkipDir // .git, .github: a repository's own, no packs
			}
			if d.IsDir() || !label.IsYAML(name) || name == "header.yaml" || name == "config.yaml" {
				return nil
			}
			rel, _ := filepath.Rel(p, f)
			as := "tagpack"
			if strings.HasSuffix(name, "actorpack.yaml") || label.IsActorPack(f) {
				as = "actorpack"
			}
			found = append(found, labelPath{path: f, format: as, source: as + ":" + filepath.ToSlash(strings.TrimSuffix(rel, filepath.Ext(rel))), inDir: true})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("label: %w", err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%w: %s holds no TagPacks (.yaml files)", label.ErrMalformed, p)
		}
		if format == "" {
			fmt.Fprintf(os.Stderr, "note: %s read as a directory of TagPacks (%d)\n", p, len(found))
		}
		out = append(out, found...)
	}
	return out, nil
}
