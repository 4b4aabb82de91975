package label

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/spur-forensics/spur/internal/colfile"
)

// Category names used across spur.
const (
	Sanctioned  = "sanctioned"
	Exchange    = "exchange"
	Mixer       = "mixer"
	DEX         = "dex"
	Bridge      = "bridge"
	StolenFunds = "stolen-funds"
	Scam        = "scam"
	Ransomware  = "ransomware"
	Darknet     = "darknet-market"
)

// Label is one statement about one address.
type Label struct {
	Address    string   `json:"address"`
	Chain      string   `json:"chain"`
	Category   string   `json:"category"`
	Label      string   `json:"label"`
	Actor      string   `json:"actor,omitempty"`
	Source     string   `json:"source"`
	Confidence float64  `json:"confidence,omitempty"`
	Currency   string   `json:"currency,omitempty"`
	Ref        string   `json:"ref,omitempty"`      // e.g. the SDN entity number
	Programs   []string `json:"programs,omitempty"` // sanctions programmes
	URL        string   `json:"url,omitempty"`      // where the statement was published
	key        string
}

// Entity is a listed party (for name screening): an SDN entry with its
// names, addresses and programmes.
type Entity struct {
	Source   string   `json:"source"`
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Type     string   `json:"type,omitempty"`
	Programs []string `json:"programs,omitempty"`
	Aliases  []string `json:"aliases,omitempty"`
	// WeakAliases are the "weak" a.k.a.s OFAC gives in an entry's remarks
	// ("a.k.a. 'HIDDEN COBRA'") rather than among its aliases: broad names
	// and nicknames that OFAC does not expect to be screened on their own,
	// still the names an investigator searches by.
	WeakAliases []string `json:"weak_aliases,omitempty"`
	Addresses   []string `json:"addresses,omitempty"`
	Remarks     string   `json:"remarks,omitempty"`
	// For name screening and for linking entries across lists.
	BirthYears []int    `json:"birth_years,omitempty"`
	Countries  []string `json:"countries,omitempty"` // nationality, citizenship, country of birth or address
	IDs        []string `json:"ids,omitempty"`       // passport, registration, IMO and other numbers
	UNRef      string   `json:"un_ref,omitempty"`    // the UN list reference number the entry carries
	OFACRef    string   `json:"ofac_ref,omitempty"`  // the OFAC entity number of the entry (SDN rows of other lists too)
	Crypto     []string `json:"crypto,omitempty"`    // digital currency addresses listed with it
}

// SourceInfo describes one imported source.
type SourceInfo struct {
	Source   string         `json:"source"`
	Format   string         `json:"format"`
	Path     string         `json:"path"`
	Imported time.Time      `json:"imported"`
	Labels   int            `json:"labels"`
	Entities int            `json:"entities"`
	Actors   int            `json:"actors,omitempty"`
	Counts   map[string]int `json:"counts,omitempty"` // labels per currency or chain
	// Dated is the day the list says it was made or last updated
	// (YYYY-MM-DD), for the lists that say so: the version screened against.
	Dated string `json:"dated,omitempty"`
}

// Store is an open label database.
type Store struct {
	db *pebble.DB
	// keys, once CacheKeys is called, holds every labelled address key so
	// that the many lookups of unlabelled addresses a screening makes skip
	// the database.
	mu   sync.RWMutex
	keys map[string]struct{}
	// dir is where the database is; pending the API key changes made
	// beside a holder of it (keys.go).
	dir      string
	pending  pendingKeys
	readOnly bool // opened read-only: nothing is applied to it
	// prices holds the daily closes of each asset asked for, read whole
	// at its first lookup (a nil map: none imported), since a screening
	// values hundreds of transfers a request; PutPrices clears it.
	pricesMu  sync.RWMutex
	prices    map[string]map[string]float64
	pricesGen uint64 // PutPrices calls, so that a read overtaken by one is not kept
}

// Keys:
//
//	'a' addrkey 0x00 source 0x00 seq(4)  -> Label JSON
//	's' source 0x00 seq(4)               -> addrkey (to drop a source's labels)
//	'e' source 0x00 id                   -> Entity JSON
//	'm' source                           -> SourceInfo JSON
//	'A' source 0x00 id                   -> Actor JSON
//	'v'                                  -> format version, u32 LE
//
// addrkey is the address as Normalize files it. docs/format/labels.md has
// every key.

// FormatVersion is the version of the label database's layout.
const FormatVersion = 1

// ErrVersion is returned for labels written in another format version.
var ErrVersion = errors.New("label: unsupported format version")

var versionKey = []byte{'v'}

// checkVersion refuses a database of another version; one without a
// version (new, or written before versions were kept, in this layout) is
// given this one, unless it cannot be written.
func checkVersion(db *pebble.DB, dir string, write bool) error {
	v, closer, err := db.Get(versionKey)
	if errors.Is(err, pebble.ErrNotFound) {
		if !write {
			return nil
		}
		return db.Set(versionKey, binary.LittleEndian.AppendUint32(nil, FormatVersion), pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	defer closer.Close()
	if len(v) != 4 || binary.LittleEndian.Uint32(v) != FormatVersion {
		got := fmt.Sprintf("record of %d bytes", len(v))
		if len(v) == 4 {
			got = strconv.Itoa(int(binary.LittleEndian.Uint32(v)))
		}
		return fmt.Errorf("%w: %s has format version %s; this spur reads version %d", ErrVersion, dir, got, FormatVersion)
	}
	return nil
}

// Open opens (or creates) the label database in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		if colfile.ReadOnlyFS(err) {
			return openReadOnly(dir)
		}
		return nil, fmt.Errorf("label: %w", err)
	}
	if err := colfile.RoomFor(dir, colfile.PebbleOpenRoom(dir)); err != nil && !colfile.ReadOnlyDir(dir) {
		return nil, fmt.Errorf("label: %s: %w; nothing changed", dir, err)
	}
	log := colfile.DBLogger{Dir: dir}
	db, err := pebble.Open(dir, &pebble.Options{Logger: log, EventListener: &pebble.EventListener{BackgroundError: log.BackgroundError}})
	if colfile.ReadOnlyFS(err) {
		return openReadOnly(dir)
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, fmt.Errorf("%w: %s is held by another process (a server or an import): stop it or let it end: %w", ErrLocked, dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	if err := checkVersion(db, dir, true); err != nil {
		db.Close()
		return nil, err
	}
	st := &Store{db: db, dir: dir}
	if err := st.applyKeyChanges(); err != nil {
		db.Close()
		return nil, err
	}
	// Imports queued while another process held the labels.
	if _, err := st.ApplyPending(); err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// ErrLocked reports labels another process holds (Open, OpenToRead).
var ErrLocked = errors.New("label: in use")

// OpenToRead opens the labels in dir for a command that only reads them.
// The first such reader holds the database as Open does, so that no import
// runs beside it (a server would go on screening against the labels as they
// were); readers beside it, which find the database taken, read it as it
// is without its lock: a query while a server runs, say.
func OpenToRead(dir string) (*Store, error) {
	s, err := Open(dir)
	switch {
	case errors.Is(err, ErrLocked):
		return openReadOnly(dir)
	case errors.Is(err, syscall.ENOSPC):
		// On a disk too full to open them for writing: read them as
		// they are, if there are any.
		if ro, rerr := openReadOnly(dir); rerr == nil {
			return ro, nil
		}
	}
	return s, err
}

// unlockedFS is the file system without the database's lock file, which
// a read-only file system cannot create: nothing writes the labels there.
type unlockedFS struct{ vfs.FS }

func (unlockedFS) Lock(string) (io.Closer, error) { return io.NopCloser(nil), nil }

// openReadOnly opens the labels for reading only, as a store on a
// read-only file system is read (an evidence copy).
func openReadOnly(dir string) (*Store, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: colfile.DBLogger{Dir: dir}, ReadOnly: true, FS: unlockedFS{vfs.Default}})
	if err != nil {
		return nil, fmt.Errorf("label: %s (read-only): %w", dir, err)
	}
	if err := checkVersion(db, dir, false); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, dir: dir, readOnly: true}, nil
}

// commit commits b, durably, if the disk has room for it
// (colfile.PebbleBatchRoom): a Pebble that fills the disk mid-commit ends
// the process, with nothing to tell the user why.
func (s *Store) commit(b *pebble.Batch) error {
	if err := colfile.RoomFor(s.dir, colfile.PebbleBatchRoom(b.Len())); err != nil {
		return fmt.Errorf("label: %s: %w; make room and run again (nothing changed)", s.dir, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func seq(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

func join(parts ...[]byte) []byte { return bytes.Join(parts, []byte{0}) }

// Replace makes labels, entities and actors (an ActorPack's; most sources
// have none) the whole content of source, in one atomic batch: the
// source's old labels, entities and actors go, others stay.
func (s *Store) Replace(info SourceInfo, labels []Label, entities []Entity, actors ...Actor) error {
	if info.Source == "" || bytes.IndexByte([]byte(info.Source), 0) >= 0 {
		return fmt.Errorf("label: bad source name %q", info.Source)
	}
	src := []byte(info.Source)
	b := s.db.NewBatch()
	defer b.Close()
	// Drop the old labels through the source's list of address keys.
	lo := append([]byte{'s'}, join(src, nil)...)
	hi := append([]byte{'s'}, append(src, 1)...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		n := k[len(k)-4:]
		b.Delete(append([]byte{'a'}, join(it.Value(), src, n)...), nil)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	b.DeleteRange(lo, hi, nil)
	b.DeleteRange(append([]byte{'e'}, join(src, nil)...), append([]byte{'e'}, append(src, 1)...), nil)
	b.DeleteRange(append([]byte{'A'}, join(src, nil)...), append([]byte{'A'}, append(src, 1)...), nil)
	for i, l := range labels {
		l.Source = info.Source
		if l.key == "" {
			_, key, err := Normalize(l.Chain, l.Address)
			if err != nil {
				return fmt.Errorf("label: %s: %w", l.Address, err)
			}
			l.key = key
		}
		v, err := json.Marshal(l)
		if err != nil {
			return err
		}
		b.Set(append([]byte{'a'}, join([]byte(l.key), src, seq(i))...), v, nil)
		b.Set(append([]byte{'s'}, join(src, seq(i))...), []byte(l.key), nil)
	}
	for _, e := range entities {
		e.Source = info.Source
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		b.Set(append([]byte{'e'}, join(src, []byte(e.ID))...), v, nil)
	}
	for _, a := range actors {
		a.Source = info.Source
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		b.Set(append([]byte{'A'}, join(src, []byte(a.ID))...), v, nil)
	}
	info.Labels, info.Entities, info.Actors = len(labels), len(entities), len(actors)
	v, err := json.Marshal(info)
	if err != nil {
		return err
	}
	b.Set(append([]byte{'m'}, src...), v, nil)
	if err := s.commit(b); err != nil {
		return err
	}
	s.mu.RLock()
	cached := s.keys != nil
	s.mu.RUnlock()
	if cached && s.CacheKeys() != nil {
		// The labels are committed; without a current set, lookups go to
		// the database.
		s.mu.Lock()
		s.keys = nil
		s.mu.Unlock()
	}
	return nil
}

// CacheKeys loads the set of labelled address keys into memory (about 100
// bytes a label) and keeps it current; lookups of other addresses then
// answer without reading the database.
func (s *Store) CacheKeys() error {
	keys := map[string]struct{}{}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'a'}, UpperBound: []byte{'b'}})
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()[1:]
		if i := bytes.IndexByte(k, 0); i >= 0 {
			keys[string(k[:i])] = struct{}{}
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
	return nil
}

// EachCachedKey calls fn with every labelled address key of the set
// CacheKeys loaded, and reports false if there is none.
func (s *Store) EachCachedKey(fn func(key string)) bool {
	s.mu.RLock()
	keys := s.keys
	s.mu.RUnlock()
	for k := range keys {
		fn(k)
	}
	return keys != nil
}

// Lookup returns every label of an address, whatever its chain, in source
// order. EVM addresses match in any case.
func (s *Store) Lookup(addr string) ([]Label, error) {
	_, key, err := Normalize(GuessChain(addr), addr)
	if err != nil {
		key = addr // not a valid Bitcoin address: look it up as given
	}
	return s.LookupKey(key)
}

// LookupKey is Lookup for an address already in its canonical form (as
// Bitcoin Core prints it, or lower-case 0x hex): it skips parsing, which
// dominates the lookups of a trace that visits thousands of addresses.
func (s *Store) LookupKey(key string) ([]Label, error) {
	s.mu.RLock()
	keys := s.keys
	s.mu.RUnlock()
	if keys != nil {
		if _, ok := keys[key]; !ok {
			return nil, nil
		}
	}
	lo := append([]byte{'a'}, join([]byte(key), nil)...)
	hi := append([]byte{'a'}, append([]byte(key), 1)...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	defer it.Close()
	var out []Label
	for ok := it.First(); ok; ok = it.Next() {
		var l Label
		if err := json.Unmarshal(it.Value(), &l); err != nil {
			return nil, fmt.Errorf("label: corrupt label under %q: %w", it.Key(), err)
		}
		out = append(out, l)
	}
	return out, it.Error()
}

// Filter selects labels for List.
type Filter struct {
	Source, Category, Chain, Actor string
}

// misses reports whether a set field of f, compared in any case, is not
// v's.
func misses(f, v string) bool { return f != "" && !strings.EqualFold(f, v) }

// List calls fn with every label that passes the filter (its fields
// compared in any case), in address order. An actor of an imported
// ActorPack that f.Actor names (by id, label or alias) stands for its id,
// label and aliases.
func (s *Store) List(f Filter, fn func(Label) error) error {
	actorMisses := func(v string) bool { return misses(f.Actor, v) }
	if f.Actor != "" {
		actors, err := s.FindActors(f.Actor)
		if err != nil {
			return err
		}
		actorMisses = func(v string) bool {
			return misses(f.Actor, v) && !slices.ContainsFunc(actors, func(a Actor) bool { return v != "" && a.Names(v) })
		}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'a'}, UpperBound: []byte{'b'}})
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		var l Label
		if err := json.Unmarshal(it.Value(), &l); err != nil {
			return fmt.Errorf("label: corrupt label: %w", err)
		}
		if misses(f.Source, l.Source) || misses(f.Category, l.Category) || misses(f.Chain, l.Chain) || actorMisses(l.Actor) {
			continue
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return it.Error()
}

// Sources lists the imported sources.
func (s *Store) Sources() ([]SourceInfo, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'m'}, UpperBound: []byte{'n'}})
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	defer it.Close()
	var out []SourceInfo
	for ok := it.First(); ok; ok = it.Next() {
		var si SourceInfo
		if err := json.Unmarshal(it.Value(), &si); err != nil {
			return nil, fmt.Errorf("label: corrupt source record: %w", err)
		}
		out = append(out, si)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out, it.Error()
}

// Entities calls fn with every listed entity of the source ("" for all
// sources).
func (s *Store) Entities(source string, fn func(Entity) error) error {
	lo, hi := []byte{'e'}, []byte{'f'}
	if source != "" {
		lo = append([]byte{'e'}, join([]byte(source), nil)...)
		hi = append([]byte{'e'}, append([]byte(source), 1)...)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		var e Entity
		if err := json.Unmarshal(it.Value(), &e); err != nil {
			return fmt.Errorf("label: corrupt entity: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return it.Error()
}

// Content is what one source holds, to tell what an import of it again
// changes: its labelled addresses (filing key -> the address as printed)
// and its listed parties (id -> name).
type Content struct {
	Addresses map[string]string
	Entries   map[string]string
	// Said holds, by address key, what the source's labels say of it
	// (labelSaid, sorted): a re-import that says otherwise relabels it.
	Said map[string][]string
}

// labelSaid is what a label says of its address that a list may change:
// its category, name and actor.
func labelSaid(l Label) string { return l.Category + "\x00" + l.Label + "\x00" + l.Actor }

// Content reads what source holds: its labels through the source's list of
// them, its parties by their ids.
func (s *Store) Content(source string) (*Content, error) {
	c := &Content{Addresses: map[string]string{}, Entries: map[string]string{}, Said: map[string][]string{}}
	src := []byte(source)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: append([]byte{'s'}, join(src, nil)...), UpperBound: append([]byte{'s'}, append(src, 1)...)})
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		key := string(it.Value())
		k := it.Key()
		v, closer, err := s.db.Get(append([]byte{'a'}, join([]byte(key), src, k[len(k)-4:])...))
		if err != nil {
			return nil, fmt.Errorf("label: source %q's label of %s: %w", source, key, err)
		}
		var l Label
		err = json.Unmarshal(v, &l)
		closer.Close()
		if err != nil {
			return nil, fmt.Errorf("label: corrupt label: %w", err)
		}
		if _, seen := c.Addresses[key]; !seen {
			c.Addresses[key] = l.Address
		}
		c.Said[key] = append(c.Said[key], labelSaid(l))
	}
	for _, said := range c.Said {
		slices.Sort(said)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	err = s.Entities(source, func(e Entity) error {
		c.Entries[e.ID] = e.Name
		return nil
	})
	return c, err
}

// FindActors returns the actors of the imported ActorPacks whose id, label
// or alias is name, case-insensitively.
func (s *Store) FindActors(name string) ([]Actor, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'A'}, UpperBound: []byte{'B'}})
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	var out []Actor
	for ok := it.First(); ok; ok = it.Next() {
		var a Actor
		if err := json.Unmarshal(it.Value(), &a); err != nil {
			it.Close()
			return nil, fmt.Errorf("label: actor %q: %w", it.Key(), err)
		}
		if a.Names(name) {
			out = append(out, a)
		}
	}
	return out, errors.Join(it.Error(), it.Close())
}

// AliasOf returns the listed entities that give name (case-insensitively)
// as an alias or a weak alias, not as their name: OFAC's LAZARUS GROUP for
// "Hidden Cobra". An actor so named is that party.
func (s *Store) AliasOf(name string) ([]Entity, error) {
	is := func(a string) bool { return strings.EqualFold(a, name) }
	var out []Entity
	err := s.Entities("", func(e Entity) error {
		if !is(e.Name) && (slices.ContainsFunc(e.Aliases, is) || slices.ContainsFunc(e.WeakAliases, is)) {
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Entity returns a listed entity of a source.
func (s *Store) Entity(source, id string) (*Entity, error) {
	v, closer, err := s.db.Get(append([]byte{'e'}, join([]byte(source), []byte(id))...))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	defer closer.Close()
	var e Entity
	if err := json.Unmarshal(v, &e); err != nil {
		return nil, fmt.Errorf("label: corrupt entity: %w", err)
	}
	return &e, nil
}

// Incident is a theft as public reporting gives it.
type Incident struct {
	ID       string   `json:"id" yaml:"id"`
	Victim   string   `json:"victim" yaml:"victim"`
	Date     string   `json:"date" yaml:"date"`
	Actor    string   `json:"actor" yaml:"actor"`
	Chain    string   `json:"chain" yaml:"chain"`
	TheftTxs []string `json:"theft_txs" yaml:"theft_txs"`
	// EVM is the incident's part on an EVM chain, when it has one.
	EVM *IncidentEVM `json:"evm,omitempty" yaml:"evm,omitempty"`
}

// Chains are the chains an incident has theft transactions on, Bitcoin's
// part first.
func (i *Incident) Chains() []string {
	var cs []string
	if len(i.TheftTxs) > 0 {
		cs = append(cs, i.Chain)
	}
	if i.EVM != nil && len(i.EVM.TheftTxs) > 0 && (len(cs) == 0 || i.EVM.Chain != cs[0]) {
		cs = append(cs, i.EVM.Chain)
	}
	if len(cs) == 0 {
		cs = append(cs, i.Chain)
	}
	return cs
}

// TheftTxCount is how many theft transactions an incident names, on every
// chain.
func (i *Incident) TheftTxCount() int {
	n := len(i.TheftTxs)
	if i.EVM != nil {
		n += len(i.EVM.TheftTxs)
	}
	return n
}

// IncidentEVM is what reporting gives of an incident on an EVM chain: the
// chain, the victim's compromised addresses and the theft transactions.
type IncidentEVM struct {
	Chain           string   `json:"chain" yaml:"chain"`
	VictimAddresses []string `json:"victim_addresses,omitempty" yaml:"victim_addresses"`
	TheftTxs        []string `json:"theft_txs" yaml:"theft_txs"`
}

// PutIncidents stores incidents, replacing any with the same id.
func (s *Store) PutIncidents(incs []Incident) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, i := range incs {
		v, err := json.Marshal(i)
		if err != nil {
			return err
		}
		b.Set(append([]byte{'i'}, i.ID...), v, nil)
	}
	if err := s.commit(b); err != nil {
		return err
	}
	return nil
}

// Incidents returns the stored incidents in id order.
func (s *Store) Incidents() ([]Incident, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'i'}, UpperBound: []byte{'j'}})
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	defer it.Close()
	var out []Incident
	for ok := it.First(); ok; ok = it.Next() {
		var i Incident
		if err := json.Unmarshal(it.Value(), &i); err != nil {
			return nil, fmt.Errorf("label: corrupt incident: %w", err)
		}
		out = append(out, i)
	}
	return out, it.Error()
}

// PutPrices replaces the daily USD prices of the assets present in prices
// (asset -> "YYYY-MM-DD" -> usd).
func (s *Store) PutPrices(prices map[string]map[string]float64) error {
	b := s.db.NewBatch()
	defer b.Close()
	for asset, days := range prices {
		b.DeleteRange(append([]byte{'P'}, join([]byte(asset), nil)...), append([]byte{'P'}, append([]byte(asset), 1)...), nil)
		for day, usd := range days {
			b.Set(append([]byte{'P'}, join([]byte(asset), []byte(day))...), []byte(strconv.FormatFloat(usd, 'g', -1, 64)), nil)
		}
	}
	if err := s.commit(b); err != nil {
		return err
	}
	s.pricesMu.Lock()
	s.prices = nil
	s.pricesGen++
	s.pricesMu.Unlock()
	return nil
}

// HasPrices says whether any price has been imported.
func (s *Store) HasPrices() bool {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'P'}, UpperBound: []byte{'P' + 1}})
	if err != nil {
		return false
	}
	defer it.Close()
	return it.First()
}

// wrapsOneForOne names the coin each wrapped token is redeemable for one
// for one: WETH's contract holds the ether it issued, WBTC's custodian the
// bitcoin.
var wrapsOneForOne = map[string]string{"WETH": "ETH", "WBTC": "BTC"}

// Price returns the USD close of an asset on a day (YYYY-MM-DD).
func (s *Store) Price(asset, day string) (float64, bool) {
	if p, ok := s.assetPrices(asset)[day]; ok {
		return p, true
	}
	// Prices are imported in upper case (a token's symbol may be mixed:
	// stETH); a wrapped coin redeemable one for one is worth what it
	// wraps, where it has no price of its own.
	if up := strings.ToUpper(asset); up != asset {
		return s.Price(up, day)
	}
	if under, ok := wrapsOneForOne[asset]; ok {
		return s.Price(under, day)
	}
	return 0, false
}

// LastPrice returns the latest close the table holds for an asset, and
// its day: the price "now", as far as spur knows. Wrapped coins and case
// are as for Price.
func (s *Store) LastPrice(asset string) (day string, usd float64, ok bool) {
	for d, p := range s.assetPrices(asset) {
		if d > day {
			day, usd, ok = d, p, true
		}
	}
	if ok {
		return day, usd, true
	}
	if up := strings.ToUpper(asset); up != asset {
		return s.LastPrice(up)
	}
	if under, ok := wrapsOneForOne[asset]; ok {
		return s.LastPrice(under)
	}
	return "", 0, false
}

// assetPrices returns an asset's daily closes by day, read once.
func (s *Store) assetPrices(asset string) map[string]float64 {
	s.pricesMu.RLock()
	days, ok := s.prices[asset]
	gen := s.pricesGen
	s.pricesMu.RUnlock()
	if ok {
		return days
	}
	prefix := append([]byte{'P'}, join([]byte(asset), nil)...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: append([]byte{'P'}, append([]byte(asset), 1)...)})
	if err != nil {
		return nil // unread: asked again next time
	}
	for ok := it.First(); ok; ok = it.Next() {
		if f, err := strconv.ParseFloat(string(it.Value()), 64); err == nil {
			if days == nil {
				days = map[string]float64{}
			}
			days[string(it.Key()[len(prefix):])] = f
		}
	}
	if err := it.Close(); err != nil {
		return days
	}
	s.pricesMu.Lock()
	if s.pricesGen == gen {
		if s.prices == nil {
			s.prices = map[string]map[string]float64{}
		}
		s.prices[asset] = days
	}
	s.pricesMu.Unlock()
	return days
}
