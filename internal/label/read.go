package label

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Formats are the label file formats Read takes.
var Formats = []string{"ofac-sdn-csv", "ofac-non-sdn-csv", "ofac-xml", "ofac-advanced-xml", "un-xml", "eu-csv", "uk-csv", "uk-sanctions-list-ods", "us-csl-csv", "tagpack", "actorpack", "csv", "etherscan-json", "etherscan-csv", "forta-csv"}

// ErrFormat reports a format Read does not take, or cannot tell, or a
// chain given to a format that has its own.
var ErrFormat = errors.New("label: format")

// ReadOptions say how Read reads a file.
type ReadOptions struct {
	// Format is one of Formats; "" tells it from the path (DetectFormat).
	Format string
	// Source names the source the file replaces; "" gives the format's
	// default (ofac-sdn, un, tagpack:FILE-NAME, ...).
	Source string
	// Chain is the chain of explorer and Forta labels; "" takes it from
	// the file's directories (ChainOfPath), else eth.
	Chain string
	// AllowEmpty reads a file with nothing to import, which would empty
	// its source; by default such a file is refused.
	AllowEmpty bool
}

// File is one label file read for import, not yet written.
type File struct {
	Path, Format, Source string
	Labels               []Label
	Entities             []Entity
	Actors               []Actor
	Invalid              []string       // addresses that do not fit their currency
	Counts               map[string]int // per currency, programme, category or chain, by format
	Currencies           map[string]int // a consolidated list's addresses per currency
	Skipped              []string       // entries whose key is not an address
	Dated                string         // the day the list says it is of
}

// Read reads the label file (or OFAC directory) at path.
func Read(path string, o ReadOptions) (*File, error) {
	format, source, chain := o.Format, o.Source, o.Chain
	if format == "" {
		if _, err := os.Stat(path); err != nil {
			return nil, err // a missing file, not an unknown format
		}
		if format = DetectFormat(path); format == "" {
			return nil, fmt.Errorf("%w: cannot tell the format of %s: give --format, one of %s", ErrFormat, path, strings.Join(Formats, ", "))
		}
	}
	if chain != "" && format != "etherscan-json" && format != "etherscan-csv" && format != "forta-csv" {
		return nil, fmt.Errorf("%w: --chain is for --format etherscan-json, etherscan-csv and forta-csv (%s is %s)", ErrFormat, path, format)
	}
	f := &File{Path: path, Format: format, Counts: map[string]int{}}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	var err error
	switch format {
	case "ofac-sdn-csv", "ofac-non-sdn-csv":
		var res *OFACResult
		parse, name := ParseOFACSDN, "ofac-sdn"
		if format == "ofac-non-sdn-csv" {
			parse, name = ParseOFACNonSDN, "ofac-non-sdn"
		}
		if res, err = parse(path); err == nil {
			f.Labels, f.Entities, f.Counts, f.Invalid = res.Labels, res.Entities, res.PerCurrency, res.Invalid
		}
		f.Source = name
	case "ofac-xml", "ofac-advanced-xml":
		var res *OFACResult
		parse := ParseOFACXML
		if format == "ofac-advanced-xml" {
			parse = ParseOFACAdvancedXML
		}
		if res, f.Dated, err = parse(path); err == nil {
			f.Labels, f.Entities, f.Counts, f.Invalid = res.Labels, res.Entities, res.PerCurrency, res.Invalid
		}
		name := path
		if member := zipMemberName(path); member != "" {
			name = member // the archive's file names the list
		}
		f.Source = ofacSource(name)
	case "eu-csv", "uk-csv", "uk-sanctions-list-ods", "us-csl-csv":
		parse := map[string]func(string) (*ListResult, error){"eu-csv": ParseEU, "uk-csv": ParseUK, "uk-sanctions-list-ods": ParseUKSanctionsList, "us-csl-csv": ParseUSCSL}[format]
		var res *ListResult
		if res, err = parse(path); err == nil {
			f.Labels, f.Entities, f.Counts, f.Invalid = res.Labels, res.Entities, res.PerProgram, res.Invalid
			f.Currencies, f.Dated = res.PerCurrency, res.Dated
		}
		f.Source = map[string]string{"eu-csv": "eu", "uk-csv": "uk", "uk-sanctions-list-ods": "uk-sanctions-list", "us-csl-csv": "us-csl"}[format]
	case "un-xml":
		var res *UNResult
		if res, err = ParseUN(path); err == nil {
			f.Entities, f.Counts, f.Dated = res.Entities, res.PerListType, res.Dated
		}
		f.Source = "un"
	case "etherscan-json", "etherscan-csv", "forta-csv":
		if chain == "" {
			if chain = ChainOfPath(path); chain == "" {
				chain = ChainETH
			}
		}
		parse := map[string]func(string, string) (*ExplorerResult, error){"etherscan-json": ParseEtherscan, "etherscan-csv": ParseEtherscanCSV, "forta-csv": ParseForta}[format]
		var res *ExplorerResult
		if res, err = parse(path, chain); err == nil {
			f.Labels, f.Skipped = res.Labels, res.Skipped
		}
		// The same list as JSON or CSV is the same source.
		f.Source = strings.TrimSuffix(strings.TrimSuffix(format, "-json"), "-csv") + ":" + chain + ":" + base
		for _, l := range f.Labels {
			f.Counts[l.Category]++
		}
	case "tagpack", "csv":
		if format == "tagpack" {
			var res *TagPackResult
			if res, err = ParseTagPack(path); err == nil {
				f.Labels, f.Skipped = res.Labels, res.Skipped
			}
		} else {
			f.Labels, err = ParseCSV(path)
		}
		f.Source = format + ":" + base
		for _, l := range f.Labels {
			f.Counts[l.Chain]++
		}
	case "actorpack":
		if f.Actors, err = ParseActorPack(path); err == nil {
			for _, a := range f.Actors {
				for _, c := range a.Categories {
					f.Counts[c]++
				}
			}
		}
		f.Source = format + ":" + base
	default:
		return nil, fmt.Errorf("%w: unknown --format %q: want one of %s", ErrFormat, format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return nil, err
	}
	if source != "" {
		f.Source = source
	}
	// An import replaces its source whole: a file that came down
	// empty (a failed download, say) would silently drop a
	// sanctions list.
	if o.AllowEmpty {
		return f, nil
	}
	if f.Empty() && len(f.Skipped) > 0 && format == "tagpack" {
		return nil, fmt.Errorf("%w: %s holds no tags on addresses: its %d tags are on transactions or GraphSense entities (the first %q), which spur does not keep", ErrMalformed, path, len(f.Skipped), f.Skipped[0])
	}
	if f.Empty() {
		return nil, fmt.Errorf("%w: %s holds no labels or entities; importing it would replace source %q with nothing (--allow-empty to do so)", ErrMalformed, path, f.Source)
	}
	return f, nil
}

// Empty reports whether the file has nothing to import.
func (f *File) Empty() bool { return len(f.Labels) == 0 && len(f.Entities) == 0 && len(f.Actors) == 0 }

// IsYAML reports whether name is a YAML file's (.yaml, .yml).
func IsYAML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// xmlFormat tells an XML list by its root element: OFAC's SDN.XML
// (sdnList) or SDN_ADVANCED.XML (Sanctions), else the UN's list, whose
// reader says what it finds instead.
func xmlFormat(path string) string {
	f, _, err := openXML(path)
	if err != nil {
		return "un-xml"
	}
	defer f.Close()
	d := xml.NewDecoder(bufio.NewReader(f))
	for {
		tok, err := d.Token()
		if err != nil {
			return "un-xml"
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "sdnList":
				return "ofac-xml"
			case "Sanctions":
				return "ofac-advanced-xml"
			}
			return "un-xml"
		}
	}
}

// DetectFormat tells a label file's format from its name and first line,
// for an import without a format; "" when neither tells. A directory is
// OFAC's (sdn.csv or cons_prim.csv) or, holding .yaml files, TagPacks'; a
// .zip is OFAC's XML, zipped.
func DetectFormat(path string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		for name, format := range map[string]string{"sdn.csv": "ofac-sdn-csv", "cons_prim.csv": "ofac-non-sdn-csv"} {
			if _, err := os.Stat(filepath.Join(path, name)); err == nil {
				return format
			}
		}
		format := ""
		filepath.WalkDir(path, func(f string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && IsYAML(d.Name()) {
				format = "tagpack"
				return fs.SkipAll
			}
			return nil
		})
		return format
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xml":
		return xmlFormat(path)
	case ".zip":
		// OFAC's XML forms, zipped.
		if format := xmlFormat(path); format != "un-xml" {
			return format
		}
		return ""
	case ".ods":
		return "uk-sanctions-list-ods"
	case ".yaml", ".yml":
		if IsActorPack(path) {
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
	cols := strings.Split(strings.TrimSpace(line), string(Delimiter(line)))
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

// Changes is what importing a source again changes: the addresses it
// labels and the parties it lists that come and go (for a sanctions list,
// the designations to screen customers against anew).
type Changes struct {
	Since            string   `json:"since"` // the replaced list's date, or its import's
	AddressesAdded   []string `json:"addresses_added"`
	AddressesRemoved []string `json:"addresses_removed"`
	// Relabelled are the addresses kept whose labels say otherwise now:
	// another category, name or actor (an exchange's address now
	// sanctioned, say).
	Relabelled     []string   `json:"relabelled"`
	EntriesAdded   []EntryRef `json:"entries_added"`
	EntriesRemoved []EntryRef `json:"entries_removed"`
}

// EntryRef names a list's entry.
type EntryRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Diff compares what a source held (c, from Store.Content) with the file
// that replaces it; since says what c was.
func (c *Content) Diff(f *File, since string) *Changes {
	ch := &Changes{Since: since, AddressesAdded: []string{}, AddressesRemoved: []string{}, Relabelled: []string{}, EntriesAdded: []EntryRef{}, EntriesRemoved: []EntryRef{}}
	now := map[string][]string{} // key -> what the file's labels say of it
	shown := map[string]string{}
	for _, l := range f.Labels {
		_, key, err := Normalize(l.Chain, l.Address)
		if err != nil {
			key = l.Address
		}
		if _, seen := now[key]; !seen {
			shown[key] = l.Address
			if _, had := c.Addresses[key]; !had {
				ch.AddressesAdded = append(ch.AddressesAdded, l.Address)
			}
		}
		now[key] = append(now[key], labelSaid(l))
	}
	for key, addr := range c.Addresses {
		said, kept := now[key]
		if !kept {
			ch.AddressesRemoved = append(ch.AddressesRemoved, addr)
			continue
		}
		slices.Sort(said)
		if c.Said != nil && !slices.Equal(slices.Compact(said), slices.Compact(slices.Clone(c.Said[key]))) {
			ch.Relabelled = append(ch.Relabelled, shown[key])
		}
	}
	ids := map[string]bool{}
	for _, e := range f.Entities {
		ids[e.ID] = true
		if _, had := c.Entries[e.ID]; !had {
			ch.EntriesAdded = append(ch.EntriesAdded, EntryRef{e.ID, e.Name})
		}
	}
	for id, name := range c.Entries {
		if !ids[id] {
			ch.EntriesRemoved = append(ch.EntriesRemoved, EntryRef{id, name})
		}
	}
	slices.Sort(ch.AddressesAdded)
	slices.Sort(ch.AddressesRemoved)
	slices.Sort(ch.Relabelled)
	byID := func(a, b EntryRef) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(ch.EntriesAdded, byID)
	slices.SortFunc(ch.EntriesRemoved, byID)
	return ch
}

// None reports whether nothing changed.
func (ch *Changes) None() bool {
	return len(ch.AddressesAdded)+len(ch.AddressesRemoved)+len(ch.Relabelled)+len(ch.EntriesAdded)+len(ch.EntriesRemoved) == 0
}
