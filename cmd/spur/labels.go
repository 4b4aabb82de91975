package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spur-forensics/spur/internal/api"
	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
)

var labelFormats = []string{"ofac-sdn-csv", "ofac-non-sdn-csv", "un-xml", "eu-csv", "uk-csv", "uk-sanctions-list-ods", "us-csl-csv", "tagpack", "actorpack", "csv", "etherscan-json", "etherscan-csv", "forta-csv"}

// openLabels opens the store's labels for a command that only reads them,
// beside other readers (label.OpenToRead).
func openLabels(dir string) (*label.Store, error) {
	if dir == "" {
		return nil, usagef("--store DIR is required")
	}
	return label.OpenToRead(labelsDir(dir))
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
or cons_prim.csv), a directory of .yaml files (tagpack), .xml (un-xml), .yaml
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
			var ims []*labelImport
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
				if lp.inDir && len(im.labels) == 0 && len(im.entities) == 0 && len(im.actors) == 0 {
					if len(im.skipped) > 0 {
						fmt.Fprintf(os.Stderr, "note: %s holds no tags on addresses (%d on transactions or GraphSense entities); not imported\n", path, len(im.skipped))
					} else {
						fmt.Fprintf(os.Stderr, "note: %s holds no tags; not imported\n", path)
					}
					continue
				}
				if other, ok := of[im.source]; ok {
					return usagef("%s and %s would both be source %q, the second replacing the first: import them one at a time, each with --source", other, path, im.source)
				}
				of[im.source] = path
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
				if slices.ContainsFunc(srcs, func(x label.SourceInfo) bool { return x.Source == im.source }) && im.format != "actorpack" {
					if prev, err = content(im.source); err != nil {
						return err
					}
				}
				doc, err := im.write(srcs, prev, apply, asJSON)
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
	c.Flags().StringVar(&format, "format", "", "input format: "+strings.Join(labelFormats, ", "))
	c.Flags().StringVar(&source, "source", "", "name of the source (default from the format and file)")
	c.Flags().BoolVar(&allowEmpty, "allow-empty", false, "import a file with no labels, emptying its source")
	waitFlag(c)
	c.Flags().StringVar(&chain, "chain", "", "chain of etherscan-json, etherscan-csv and forta-csv labels (default: from the file's directories, else eth)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}

// labelImport is one file read for import, not yet written.
type labelImport struct {
	path, format, source string
	labels               []label.Label
	entities             []label.Entity
	actors               []label.Actor
	invalid              []string       // addresses that do not fit their currency
	counts               map[string]int // per currency, programme, category or chain, by format
	currencies           map[string]int // a consolidated list's addresses per currency
	skipped              []string       // explorer entries whose key is not an address
	dated                string         // the day the list says it is of
}

// readLabelFile reads one file to import, telling its format from the path
// when format is empty.
func readLabelFile(path, format, source, chain string, allowEmpty bool) (*labelImport, error) {
	if format == "" {
		if format = detectFormat(path); format == "" {
			return nil, usagef("cannot tell the format of %s: give --format, one of %s", path, strings.Join(labelFormats, ", "))
		}
		fmt.Fprintf(os.Stderr, "note: %s read as --format %s\n", path, format)
	}
	if chain != "" && format != "etherscan-json" && format != "etherscan-csv" && format != "forta-csv" {
		return nil, usagef("--chain is for --format etherscan-json, etherscan-csv and forta-csv (%s is %s)", path, format)
	}
	var labels []label.Label
	var entities []label.Entity
	var actors []label.Actor
	var invalid []string
	counts := map[string]int{}
	var currencies map[string]int // a consolidated list's addresses per currency
	var skipped []string          // explorer entries whose key is not an address
	var dated string
	var err error
	switch format {
	case "ofac-sdn-csv", "ofac-non-sdn-csv":
		var res *label.OFACResult
		parse, name := label.ParseOFACSDN, "ofac-sdn"
		if format == "ofac-non-sdn-csv" {
			parse, name = label.ParseOFACNonSDN, "ofac-non-sdn"
		}
		if res, err = parse(path); err == nil {
			labels, entities, counts, invalid = res.Labels, res.Entities, res.PerCurrency, res.Invalid
		}
		if source == "" {
			source = name
		}
	case "eu-csv", "uk-csv", "uk-sanctions-list-ods", "us-csl-csv":
		parse := map[string]func(string) (*label.ListResult, error){"eu-csv": label.ParseEU, "uk-csv": label.ParseUK, "uk-sanctions-list-ods": label.ParseUKSanctionsList, "us-csl-csv": label.ParseUSCSL}[format]
		var res *label.ListResult
		if res, err = parse(path); err == nil {
			labels, entities, counts, invalid = res.Labels, res.Entities, res.PerProgram, res.Invalid
			currencies, dated = res.PerCurrency, res.Dated
		}
		if source == "" {
			source = map[string]string{"eu-csv": "eu", "uk-csv": "uk", "uk-sanctions-list-ods": "uk-sanctions-list", "us-csl-csv": "us-csl"}[format]
		}
	case "un-xml":
		var res *label.UNResult
		if res, err = label.ParseUN(path); err == nil {
			entities, counts, dated = res.Entities, res.PerListType, res.Dated
		}
		if source == "" {
			source = "un"
		}
	case "etherscan-json", "etherscan-csv", "forta-csv":
		if chain == "" {
			if chain = label.ChainOfPath(path); chain == "" {
				chain = label.ChainETH
			}
		}
		parse := map[string]func(string, string) (*label.ExplorerResult, error){"etherscan-json": label.ParseEtherscan, "etherscan-csv": label.ParseEtherscanCSV, "forta-csv": label.ParseForta}[format]
		var res *label.ExplorerResult
		if res, err = parse(path, chain); err == nil {
			labels, skipped = res.Labels, res.Skipped
		}
		if source == "" {
			// The same list as JSON or CSV is the same source.
			source = strings.TrimSuffix(strings.TrimSuffix(format, "-json"), "-csv") + ":" + chain + ":" + strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		}
		for _, l := range labels {
			counts[l.Category]++
		}
	case "tagpack", "csv":
		if format == "tagpack" {
			var res *label.TagPackResult
			if res, err = label.ParseTagPack(path); err == nil {
				labels, skipped = res.Labels, res.Skipped
			}
		} else {
			labels, err = label.ParseCSV(path)
		}
		if source == "" {
			source = format + ":" + strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		}
		for _, l := range labels {
			counts[l.Chain]++
		}
	case "actorpack":
		if actors, err = label.ParseActorPack(path); err == nil {
			for _, a := range actors {
				for _, c := range a.Categories {
					counts[c]++
				}
			}
		}
		if source == "" {
			source = format + ":" + strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		}
	default:
		return nil, usagef("unknown --format %q: want one of %s", format, strings.Join(labelFormats, ", "))
	}
	if err != nil {
		return nil, err
	}
	// An import replaces its source whole: a file that came down
	// empty (a failed download, say) would silently drop a
	// sanctions list.
	if len(labels) == 0 && len(entities) == 0 && len(skipped) > 0 && format == "tagpack" && !allowEmpty {
		return nil, fmt.Errorf("%w: %s holds no tags on addresses: its %d tags are on transactions or GraphSense entities (%s), which spur does not keep", label.ErrMalformed, path, len(skipped), quoteList(skipped, 2))
	}
	if len(labels) == 0 && len(entities) == 0 && len(actors) == 0 && !allowEmpty {
		return nil, fmt.Errorf("%w: %s holds no labels or entities; importing it would replace source %q with nothing (--allow-empty to do so)", label.ErrMalformed, path, source)
	}
	return &labelImport{path: path, format: format, source: source, labels: labels, entities: entities, actors: actors, invalid: invalid, counts: counts, currencies: currencies, skipped: skipped, dated: dated}, nil
}

// write replaces the import's source in s with it and says what it did,
// as text, or returns it for JSON.
func (im *labelImport) write(srcs []label.SourceInfo, prev *label.Content, apply func(label.SourceInfo, []label.Label, []label.Entity, ...label.Actor) error, asJSON bool) (map[string]any, error) {
	path, format, source := im.path, im.format, im.source
	labels, entities, invalid, counts, currencies, skipped := im.labels, im.entities, im.invalid, im.counts, im.currencies, im.skipped
	for _, old := range srcs {
		if old.Source == source && 2*len(labels) < old.Labels {
			fmt.Fprintf(os.Stderr, "note: source %q had %s labels and now has %s\n", source, thousands(int64(old.Labels)), thousands(int64(len(labels))))
		}
	}
	abs, _ := filepath.Abs(path)
	info := label.SourceInfo{Source: source, Format: format, Path: abs, Imported: time.Now().UTC(), Counts: counts, Dated: im.dated}
	var ch *changes
	if prev != nil {
		since := ""
		for _, old := range srcs {
			if old.Source == source {
				since = "the import of " + old.Imported.Format(time.DateOnly)
				if old.Dated != "" {
					since = "the list of " + old.Dated
				}
			}
		}
		ch = diffContent(prev, labels, entities, since)
	}
	if err := apply(info, labels, entities, im.actors...); err != nil {
		return nil, err
	}
	if format == "actorpack" {
		if asJSON {
			return map[string]any{"source": source, "actors": len(im.actors), "counts": counts}, nil
		}
		fmt.Printf("imported %s actors as source %q\n", thousands(int64(len(im.actors))), source)
		printCounts("CATEGORY", "ACTORS", counts, "")
		return nil, nil
	}
	if asJSON {
		out := map[string]any{"source": source, "labels": len(labels), "entities": len(entities), "counts": counts, "mismatched": invalid}
		if im.dated != "" {
			out["dated"] = im.dated
		}
		if skipped != nil {
			out["skipped"] = skipped
		}
		if currencies != nil {
			out["currencies"] = currencies
		}
		if ch != nil {
			out["changes"] = ch
		}
		return out, nil
	}
	dated := ""
	if im.dated != "" {
		dated = " (the list of " + im.dated + ")"
	}
	fmt.Printf("imported %s labels and %s entities as source %q%s\n", thousands(int64(len(labels))), thousands(int64(len(entities))), source, dated)
	switch format {
	case "ofac-sdn-csv", "ofac-non-sdn-csv":
		printCounts("CURRENCY", "ADDRESSES", counts, "no digital currency addresses listed")
	case "un-xml", "eu-csv", "uk-csv", "uk-sanctions-list-ods", "us-csl-csv":
		printCounts("PROGRAMME", "ENTRIES", counts, "")
		if len(currencies) > 0 {
			printCounts("CURRENCY", "ADDRESSES", currencies, "")
		}
	case "etherscan-json", "etherscan-csv", "forta-csv":
		printCounts("CATEGORY", "LABELS", counts, "")
	default:
		printCounts("CHAIN", "LABELS", counts, "")
	}
	if len(skipped) > 0 {
		fmt.Fprintf(os.Stderr, "note: skipped %d entries whose key is not an address: %s\n", len(skipped), quoteList(skipped, 5))
	}
	for _, m := range invalid {
		fmt.Fprintf(os.Stderr, "note: %q does not fit its currency; kept under the chain its form suggests\n", m)
	}
	if ch != nil {
		ch.print()
	}
	return nil, nil
}

// changes is what importing a source again changed: the addresses it
// labels and the parties it lists that came and went (for a sanctions
// list, the designations to screen customers against anew).
type changes struct {
	Since            string     `json:"since"` // the replaced list's date, or its import's
	AddressesAdded   []string   `json:"addresses_added"`
	AddressesRemoved []string   `json:"addresses_removed"`
	EntriesAdded     []entryRef `json:"entries_added"`
	EntriesRemoved   []entryRef `json:"entries_removed"`
}

type entryRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// diffContent compares what a source held (prev) with what replaces it.
func diffContent(prev *label.Content, labels []label.Label, entities []label.Entity, since string) *changes {
	ch := &changes{Since: since, AddressesAdded: []string{}, AddressesRemoved: []string{}, EntriesAdded: []entryRef{}, EntriesRemoved: []entryRef{}}
	now := map[string]bool{}
	for _, l := range labels {
		_, key, err := label.Normalize(l.Chain, l.Address)
		if err != nil {
			key = l.Address
		}
		if now[key] {
			continue
		}
		now[key] = true
		if _, had := prev.Addresses[key]; !had {
			ch.AddressesAdded = append(ch.AddressesAdded, l.Address)
		}
	}
	for key, addr := range prev.Addresses {
		if !now[key] {
			ch.AddressesRemoved = append(ch.AddressesRemoved, addr)
		}
	}
	ids := map[string]bool{}
	for _, e := range entities {
		ids[e.ID] = true
		if _, had := prev.Entries[e.ID]; !had {
			ch.EntriesAdded = append(ch.EntriesAdded, entryRef{e.ID, e.Name})
		}
	}
	for id, name := range prev.Entries {
		if !ids[id] {
			ch.EntriesRemoved = append(ch.EntriesRemoved, entryRef{id, name})
		}
	}
	slices.Sort(ch.AddressesAdded)
	slices.Sort(ch.AddressesRemoved)
	byID := func(a, b entryRef) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(ch.EntriesAdded, byID)
	slices.SortFunc(ch.EntriesRemoved, byID)
	return ch
}

// print says what changed, the first of each kind by name (--json gives
// them all).
func (ch *changes) print() {
	if len(ch.AddressesAdded)+len(ch.AddressesRemoved)+len(ch.EntriesAdded)+len(ch.EntriesRemoved) == 0 {
		fmt.Printf("\nno change since %s\n", ch.Since)
		return
	}
	fmt.Printf("\nsince %s: %d addresses added, %d removed; %d entries added, %d removed\n", ch.Since, len(ch.AddressesAdded), len(ch.AddressesRemoved), len(ch.EntriesAdded), len(ch.EntriesRemoved))
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
	refs := func(rs []entryRef) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.ID + " " + r.Name
		}
		return out
	}
	list("+", ch.AddressesAdded)
	list("-", ch.AddressesRemoved)
	list("+ entry", refs(ch.EntriesAdded))
	list("- entry", refs(ch.EntriesRemoved))
}

func newLabelsList() *cobra.Command {
	var dir string
	var f label.Filter
	var asJSON bool
	var limit int
	c := &cobra.Command{
		Use:   "list --store DIR [--source S] [--category C] [--chain C] [--actor A]",
		Short: "List labels, filtered",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit must not be negative (0: all)")
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
			errStop := errors.New("stop")
			err = s.List(f, func(l label.Label) error {
				if limit > 0 && len(out) >= limit {
					return errStop
				}
				out = append(out, l)
				return nil
			})
			if err != nil && !errors.Is(err, errStop) {
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
			t := newTable(os.Stdout)
			t.row("CHAIN", "ADDRESS", "CATEGORY", "LABEL", "ACTOR", "SOURCE")
			for _, l := range out {
				t.row(l.Chain, l.Address, l.Category, l.Label, dash(l.Actor), l.Source)
			}
			t.flush()
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
				t.row(x.Source, x.Format, x.Labels, x.Entities, x.Actors, dash(x.Dated), x.Imported.Format(time.RFC3339), x.Path)
			}
			t.flush()
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}

// screenResult is one screened address.
type screenResult struct {
	Address   string         `json:"address,omitempty"`
	Tx        string         `json:"tx,omitempty"`
	Direction string         `json:"direction,omitempty"` // a transaction's
	Chain     string         `json:"chain"`
	Labels    []label.Label  `json:"labels"`
	Entity    any            `json:"entity"`
	Direct    []api.Exposure `json:"direct_exposure"`
	Indirect  []api.Exposure `json:"indirect_exposure"`
	Severity  string         `json:"severity"`
	Rule      string         `json:"rule"`
}

func newScreen() *cobra.Command {
	var dir, rulesFile, direction string
	var txs []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "screen --store DIR ADDRESS...|- [--tx TXID...]",
		Short: "Screen addresses of any chain, and Bitcoin and Ethereum transactions: labels, exposure, severity",
		Long: `Screens as the HTTP API does (POST /v1/screen, docs/api.md), in this
process. For each address: its labels from every source, and for a Bitcoin
address of a store holding the chain its entity (once clustered) and its
exposure: direct (the categories of the labelled addresses that paid it)
and indirect (its latest received value traced back a few transactions;
a CoinJoin that paid it, or one on the way, counts as a mixer);
for an Ethereum address of a store holding Ethereum, the same in dollars
at each transfer's day (spur prices import).
For each transaction (--tx, a Bitcoin txid, or an Ethereum 0x hash;
--direction deposit, the default, screens what paid it, withdrawal what it
paid): its direct exposure, and for a deposit its indirect exposure (its
value traced back a few transactions). The severity comes from the screening
rules (the built-in ones of docs/api.md, or --rules FILE), which grade
labels (severe for a sanctioned address or entity, high for stolen funds,
ransomware or a darknet market, medium for a mixer, a scam or an address a
stablecoin's issuer froze) and exposure; low when none matches. An address
never seen on any chain is screened on its labels. EVM addresses match in
any case and print EIP-55. "-" reads addresses from standard input, one a
line. Exit code 0 whatever the result (read the severity); 2 for an address
or txid mistyped, 3 for a transaction the store does not hold.`,
		Example: `  spur screen --store ./store 1FfmbHfnpaZjKFvyi1okTjJJusN455paPH 0x098b716b8aaf21512996dc57eb0615e2383e2f96
  spur screen --store ./store --tx f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16
  spur screen --store ./store - < deposits.txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(txs) == 0 {
				return usagef("give addresses to screen, or --tx TXID")
			}
			if direction != "deposit" && direction != "withdrawal" {
				return usagef("--direction: want deposit or withdrawal, not %q", direction)
			}
			rules := api.DefaultRules()
			if rulesFile != "" {
				b, err := os.ReadFile(rulesFile)
				if err != nil {
					return err
				}
				if rules, err = api.ParseRules(rulesFile, b); err != nil {
					return err
				}
			}
			// "-" reads addresses from standard input, one a line (blank
			// lines and # comments skipped): a list to screen at once.
			if i := slices.Index(args, "-"); i >= 0 {
				from, err := stdinLines()
				if err != nil {
					return err
				}
				args = slices.Concat(args[:i], from, args[i+1:])
			}
			for _, a := range args {
				if strings.TrimSpace(a) == "" {
					return usagef("an empty address to screen")
				}
			}
			if len(args) == 0 && len(txs) == 0 {
				return usagef("nothing to screen: standard input held no addresses")
			}
			s, err := openLabels(dir)
			if err != nil {
				return err
			}
			defer s.Close()
			// A string of a typo's form is refused, unless a list names it
			// as it is (the labels say so).
			var items []api.ScreenItem
			for _, a := range args {
				a = strings.TrimSpace(a)
				if err := s.Mistyped(a); err != nil {
					if len(a) == 64 && isHex(a) {
						return usagef("%q: a transaction hash, not an address: screen a transaction with --tx", a)
					}
					return usageError{err}
				}
				if h, ok := strings.CutPrefix(strings.ToLower(a), "0x"); ok && len(h) == 64 {
					fmt.Fprintf(os.Stderr, "note: %s has the form of an EVM transaction hash (or of an Aptos or Sui address): screened as an address; --tx screens a transaction\n", a)
				}
				items = append(items, api.ScreenItem{Address: a})
			}
			for _, t := range txs {
				items = append(items, api.ScreenItem{Tx: strings.TrimSpace(t), Direction: direction})
			}
			// Bitcoin addresses also get their entity and exposure, where
			// the store has the chain (and a clustering).
			var chainStore *store.Store
			var clusters *cluster.Clusters
			if _, err := os.Stat(filepath.Join(btcDir(dir), "META")); err == nil {
				net, err := store.PeekNetwork(btcDir(dir))
				if err != nil {
					return err
				}
				sf := storeFlags{dir: dir, network: net}
				if chainStore, err = sf.openExisting(); err != nil {
					return err
				}
				defer chainStore.Close()
				if clusters, err = cluster.Open(chainStore); err != nil && !errors.Is(err, cluster.ErrNoClustering) {
					return err
				}
			}
			// Ethereum items get their exposure where the store holds the
			// chain (opened only for them).
			var es *evmstore.Store
			if slices.ContainsFunc(items, func(it api.ScreenItem) bool {
				return label.IsEVMAddress(it.Address) || strings.HasPrefix(it.Tx, "0x")
			}) {
				if es, err = openReportEVM(&storeFlags{dir: dir}); err != nil {
					return err
				}
				if es != nil {
					defer es.Close()
					if !s.HasPrices() {
						fmt.Fprintln(os.Stderr, "note: no prices imported: Ethereum exposure is in dollars and stays empty (spur prices import)")
					}
				}
			}
			var results []screenResult
			// In batches of the API's largest, so that a long list from
			// standard input screens as a client would send it.
			srv := api.New(api.Config{Store: chainStore, Labels: s, Clusters: clusters, EVM: es, Rules: rules})
			for len(items) > 0 {
				batch := items[:min(len(items), 1000)]
				items = items[len(batch):]
				out, err := srv.Screen(batch)
				switch api.StatusOf(err) {
				case http.StatusBadRequest:
					return usageError{screenItemError(err, batch)}
				case http.StatusNotFound:
					return notFound{screenItemError(err, batch)}
				}
				if err != nil {
					return err
				}
				for _, r := range out {
					sr := screenResult{Tx: r.Item.Tx, Chain: r.Chain, Labels: r.Labels, Direct: r.Direct, Indirect: r.Indirect, Severity: r.Severity, Rule: r.Rule}
					if r.Entity != nil {
						sr.Entity = r.Entity
					}
					if r.Item.Tx != "" {
						sr.Direction = r.Item.Direction
					} else {
						sr.Address = r.Item.Address
						if d, _, err := label.Normalize(r.Chain, r.Item.Address); err == nil {
							sr.Address = d
						}
						if sr.Chain == "" && len(r.Labels) > 0 {
							sr.Chain = r.Labels[0].Chain
						}
					}
					results = append(results, sr)
				}
			}
			if asJSON {
				return printJSON(os.Stdout, results)
			}
			t := newTable(os.Stdout)
			t.row("ADDRESS / TX", "CHAIN", "SEVERITY", "WHY", "LABELS", "EXPOSURE")
			for _, r := range results {
				var names []string // once each: sources repeat one another
				for _, l := range r.Labels {
					if n := l.Category + ": " + l.Label; !slices.Contains(names, n) {
						names = append(names, n)
					}
				}
				item := r.Address
				if r.Tx != "" {
					item = r.Tx + " (" + r.Direction + ")"
				}
				t.row(item, dash(r.Chain), r.Severity, r.Rule, dash(strings.Join(names, "; ")), dash(exposureText(r.Direct, r.Indirect)))
			}
			t.flush()
			return nil
		},
	}
	c.Flags().StringVar(&dir, "store", "", "store directory (required)")
	c.Flags().StringSliceVar(&txs, "tx", nil, "a transaction to screen: a Bitcoin txid, or an Ethereum 0x hash (repeatable, or comma-separated)")
	c.Flags().StringVar(&direction, "direction", "deposit", "a transaction's side screened: deposit (the addresses its inputs spend) or withdrawal (those its outputs pay)")
	c.Flags().StringVar(&rulesFile, "rules", "", "severity rules file (YAML; default: the built-in rules of docs/api.md)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}

// screenItemError says an error of the API's screening in the command's
// words: the item as given (an address, or --tx HASH) where the API names
// its field in the request (items[0].tx), the store where it says server.
func screenItemError(err error, batch []api.ScreenItem) error {
	msg := strings.NewReplacer("this server holds no Ethereum store", "this store holds no Ethereum chain",
		"this server holds no Bitcoin store", "this store holds no Bitcoin chain").Replace(err.Error())
	field := api.FieldOf(err)
	var i int
	var rest string
	if n, _ := fmt.Sscanf(field, "items[%d]%s", &i, &rest); n >= 1 && i >= 0 && i < len(batch) {
		it := batch[i]
		name := it.Address
		if strings.HasPrefix(rest, ".tx") {
			name = "--tx " + it.Tx
		} else if strings.HasPrefix(rest, ".direction") {
			name = "--direction " + it.Direction
		}
		if p, ok := strings.CutPrefix(msg, field+": "); ok {
			msg = p
		}
		msg = name + ": " + msg
	}
	return errors.New(msg)
}

// notFound is an error that says itself and counts as store.ErrNotFound
// (exit 3).
type notFound struct{ error }

func (notFound) Is(target error) bool { return target == store.ErrNotFound }

// exposureText sums up exposures for a table: the categories and their
// shares, direct first ("direct mixer 40%, indirect stolen-funds 12%").
func exposureText(direct, indirect []api.Exposure) string {
	var parts []string
	pct := func(share float64) string {
		if share > 0 && share < 0.005 {
			return "<1%"
		}
		return fmt.Sprintf("%.0f%%", 100*share)
	}
	for _, e := range direct {
		parts = append(parts, "direct "+e.Category+" "+pct(e.Share))
	}
	for _, e := range indirect {
		parts = append(parts, "indirect "+e.Category+" "+pct(e.Share))
	}
	return strings.Join(parts, ", ")
}

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
			name := args[0]
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
					chains := i.Chain
					if i.EVM != nil && i.EVM.Chain != i.Chain {
						chains += ", " + i.EVM.Chain
						if len(i.TheftTxs) == 0 {
							chains = i.EVM.Chain
						}
					}
					t.row(i.ID, i.Date, i.Victim, chains)
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
		t.row(k, counts[k])
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
		if err != nil || !st.IsDir() || (format != "tagpack" && (format != "" || detectFormat(p) != "tagpack")) {
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
			if d.IsDir() || !isYAML(name) || name == "header.yaml" || name == "config.yaml" {
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

func isYAML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// detectFormat tells a label file's format from its name and first line,
// for an import without --format; "" when neither tells. A directory is
// OFAC's (sdn.csv or cons_prim.csv) or, holding .yaml files, TagPacks'.
func detectFormat(path string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		for name, format := range map[string]string{"sdn.csv": "ofac-sdn-csv", "cons_prim.csv": "ofac-non-sdn-csv"} {
			if _, err := os.Stat(filepath.Join(path, name)); err == nil {
				return format
			}
		}
		format := ""
		filepath.WalkDir(path, func(f string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && isYAML(d.Name()) {
				format = "tagpack"
				return fs.SkipAll
			}
			return nil
		})
		return format
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xml":
		return "un-xml"
	case ".ods":
		return "uk-sanctions-list-ods"
	case ".yaml", ".yml":
		if label.IsActorPack(path) {
			return "actorpack"
		}
		return "tagpack"
	case ".json":
		return "etherscan-json"
	case ".csv":
	default:
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	line = strings.ToLower(strings.TrimPrefix(line, "\ufeff"))
	cols := strings.Split(strings.TrimSpace(line), string(label.Delimiter(line)))
	for i := range cols {
		cols[i] = strings.TrimSpace(cols[i])
	}
	switch {
	case strings.HasPrefix(line, "address,chain,category,label,actor,source"):
		return "csv"
	case strings.Contains(line, "banned_address") || strings.Contains(line, "etherscan_labels") || strings.HasPrefix(line, "contract_address,"):
		return "forta-csv"
	case strings.HasPrefix(line, "_id,source,entity_number"):
		return "us-csl-csv"
	case strings.HasPrefix(line, "last updated"):
		return "uk-csv"
	case strings.Contains(line, "entity_logicalid;"):
		return "eu-csv"
	case slices.Contains(cols, "address") && slices.Contains(cols, "name tag"),
		slices.Contains(cols, "contract address") && slices.Contains(cols, "token name"):
		return "etherscan-csv"
	case slices.Contains(cols, "address") && slices.Contains(cols, "category"):
		return "csv" // its columns in another order, or with others
	}
	return ""
}
