package label

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spur-forensics/spur/internal/colfile"
)

// An import made while another process holds the database (a server
// screening against it) cannot write it: it is queued instead, as a file
// in labels.pending beside the database, one a source (its labels,
// entities and actors, as Replace takes them, in JSON), or one an import
// of incidents or prices. The holder applies
// the queue: a server looks for it twice a second and takes the new
// labels into its screening at once, so that a list published today
// screens today without a restart; any process that opens the database
// for writing applies it first. A queued file is written whole and then
// renamed into place, so the holder never reads half of one; it is
// removed once applied, or renamed to NAME.failed beside a NAME.err that
// says why (both removed once the importer has said it).

// pendingDirName is the queue's name, in the directory above the database.
const pendingDirName = "labels.pending"

func pendingDir(dir string) string { return filepath.Join(filepath.Dir(dir), pendingDirName) }

// pendingImport is one queued import: Replace's arguments, or
// PutIncidents', or PutPrices'.
type pendingImport struct {
	Kind      string                        `json:"kind"` // labels, incidents or prices
	Info      SourceInfo                    `json:"info"`
	Labels    []Label                       `json:"labels"`
	Entities  []Entity                      `json:"entities"`
	Actors    []Actor                       `json:"actors,omitempty"`
	Incidents []Incident                    `json:"incidents,omitempty"`
	Prices    map[string]map[string]float64 `json:"prices,omitempty"`
}

// what names what a queued import brings, for the holder's log.
func (p *pendingImport) what() string {
	switch p.Kind {
	case "incidents":
		return strconv.Itoa(len(p.Incidents)) + " incidents"
	case "prices":
		return "prices of " + strconv.Itoa(len(p.Prices)) + " assets"
	}
	return p.Info.Source + " (" + strconv.Itoa(len(p.Labels)) + " labels)"
}

// apply makes the import in s.
func (p *pendingImport) apply(s *Store) error {
	switch p.Kind {
	case "incidents":
		return s.PutIncidents(p.Incidents)
	case "prices":
		return s.PutPrices(p.Prices)
	case "labels":
	default:
		return fmt.Errorf("label: a queued import of %q, which this version does not know", p.Kind)
	}
	return s.Replace(p.Info, p.Labels, p.Entities, p.Actors...)
}

// QueueReplace queues Replace(info, labels, entities, actors...) for the
// process holding the labels in dir and returns the queued file's path,
// for WaitApplied.
func QueueReplace(dir string, info SourceInfo, labels []Label, entities []Entity, actors ...Actor) (string, error) {
	return queue(dir, &pendingImport{Kind: "labels", Info: info, Labels: labels, Entities: entities, Actors: actors})
}

// QueueIncidents queues PutIncidents(incs), as QueueReplace does.
func QueueIncidents(dir string, incs []Incident) (string, error) {
	return queue(dir, &pendingImport{Kind: "incidents", Incidents: incs})
}

// QueuePrices queues PutPrices(prices), as QueueReplace does.
func QueuePrices(dir string, prices map[string]map[string]float64) (string, error) {
	return queue(dir, &pendingImport{Kind: "prices", Prices: prices})
}

func queue(dir string, p *pendingImport) (string, error) {
	pd := pendingDir(dir)
	if err := os.MkdirAll(pd, 0o755); err != nil {
		return "", fmt.Errorf("label: %w", err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("label: %w", err)
	}
	// Named by time, so that the queue applies in the order it was made.
	name := fmt.Sprintf("%020d-%d.json", time.Now().UnixNano(), os.Getpid())
	tmp := filepath.Join(pd, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("label: %w", err)
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(pd, name))
	}
	if err == nil {
		err = colfile.SyncDir(pd)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("label: queueing the import: %w", err)
	}
	return filepath.Join(pd, name), nil
}

// ErrNotApplied reports a queued import the holder did not apply in the
// time waited: it stays queued, for the holder or the next writer.
var ErrNotApplied = errors.New("label: the import is queued, not yet applied")

// WaitApplied waits until the queued import at path is applied, at most
// timeout, and returns the error that failed it, if it failed. When the
// process that held the labels in dir lets go of them (a query that
// ended), it applies the queue itself.
func WaitApplied(dir, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for tries := 0; ; tries++ {
		if tries%4 == 3 {
			if s, err := Open(dir); err == nil { // which applies the queue
				if err := s.Close(); err != nil {
					return err
				}
			} else if !errors.Is(err, ErrLocked) {
				return err
			}
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			base := strings.TrimSuffix(path, ".json")
			if msg, err := os.ReadFile(base + ".err"); err == nil {
				// Said now: the queue keeps nothing of it.
				os.Remove(base + ".failed")
				os.Remove(base + ".err")
				return fmt.Errorf("label: the import was not applied: %s", strings.TrimSpace(string(msg)))
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s", ErrNotApplied, path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pending reports whether imports wait in the queue: a cheap look, for a
// holder's ticker.
func (s *Store) Pending() bool {
	names, _ := queued(pendingDir(s.dir))
	return len(names) > 0
}

func queued(pd string) ([]string, error) {
	ents, err := os.ReadDir(pd)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// staleTmp is how old a queued file still being written can be: an
// importer writes and renames one within moments, so an older one is what
// an importer stopped midway left.
const staleTmp = 10 * time.Minute

// removeStale removes what importers stopped midway left in pd.
func removeStale(pd string) {
	ents, _ := os.ReadDir(pd)
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".tmp") {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTmp {
				os.Remove(filepath.Join(pd, n))
			}
		}
	}
}

// ApplyPending applies the queued imports, oldest first, and returns what
// they brought. One that fails (a disk without room, say) is set
// aside with its error for the importer to read; the others go on.
func (s *Store) ApplyPending() ([]string, error) {
	if s.readOnly {
		return nil, nil
	}
	pd := pendingDir(s.dir)
	names, err := queued(pd)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	removeStale(pd)
	var applied []string
	for _, name := range names {
		path := filepath.Join(pd, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return applied, fmt.Errorf("label: %w", err)
		}
		var p pendingImport
		if err = json.Unmarshal(b, &p); err == nil {
			err = p.apply(s)
		}
		if err != nil {
			base := strings.TrimSuffix(path, ".json")
			if werr := os.WriteFile(base+".err", []byte(err.Error()+"\n"), 0o644); werr != nil {
				return applied, fmt.Errorf("label: %w", werr)
			}
			if rerr := os.Rename(path, base+".failed"); rerr != nil {
				return applied, fmt.Errorf("label: %w", rerr)
			}
			continue
		}
		if err := os.Remove(path); err != nil {
			return applied, fmt.Errorf("label: %w", err)
		}
		applied = append(applied, p.what())
	}
	return applied, nil
}
