package label

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sys/unix"
)

// API keys are stored as hashes under 'K' hash -> name. A running server
// holds the database, so a key made or revoked meanwhile cannot go there:
// it goes to a journal beside it, keys.pending in the store's directory,
// one line a change ("+ HASH NAME" adds a key, "- HASH" revokes one),
// appended under the file's lock. The server reads the journal again
// whenever it changes, so a revoked key is refused at once; the next open
// of the database for writing (the server's own start too) applies the
// journal to it and empties it, under the same lock.

// keyJournal is the journal's name, in the directory above the database.
const keyJournal = "keys.pending"

func journalPath(dir string) string { return filepath.Join(filepath.Dir(dir), keyJournal) }

// pendingKeys is a holder's view of the journal, read again when the
// file's size or time changes (checked at most every pendingEvery).
type pendingKeys struct {
	mu      sync.Mutex
	checked time.Time
	size    int64
	mod     time.Time
	state   map[string]*string // hash -> name; nil: revoked
}

const pendingEvery = 200 * time.Millisecond

// lockedJournal opens the journal and takes its lock (exclusive or
// shared); the caller closes the file, which releases it.
func lockedJournal(dir string, flag int, how int) (*os.File, error) {
	f, err := os.OpenFile(journalPath(dir), flag, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("label: lock %s: %w", f.Name(), err)
	}
	return f, nil
}

// readJournal reads the changes in f, in order, into hash -> name (nil
// for a revoked key). A last line cut short (a writer stopped mid-line)
// is not a change.
func readJournal(f *os.File) (map[string]*string, error) {
	state := map[string]*string{}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // EOF, with or without a cut line
		}
		line = strings.TrimSuffix(line, "\n")
		op, rest, _ := strings.Cut(line, " ")
		hash, name, _ := strings.Cut(rest, " ")
		switch op {
		case "+":
			n := name
			state[hash] = &n
		case "-":
			state[hash] = nil
		}
	}
	return state, nil
}

// AppendKeyChange journals an API key made (name set) or revoked (name
// empty) while another process holds the labels in dir.
func AppendKeyChange(dir, hash, name string) error {
	if strings.ContainsAny(hash, " \n") || strings.Contains(name, "\n") {
		return fmt.Errorf("label: key %q of %q cannot be journalled", hash, name)
	}
	f, err := lockedJournal(dir, os.O_CREATE|os.O_WRONLY|os.O_APPEND, unix.LOCK_EX)
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	defer f.Close()
	line := "- " + hash + "\n"
	if name != "" {
		line = "+ " + hash + " " + name + "\n"
	}
	if _, err := f.WriteString(line); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	return nil
}

// applyKeyChanges moves the journal's changes into the database, which
// this process has just opened for writing, and empties the journal.
func (s *Store) applyKeyChanges() error {
	f, err := lockedJournal(s.dir, os.O_RDWR, unix.LOCK_EX)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	defer f.Close()
	state, err := readJournal(f)
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	if len(state) == 0 {
		return nil
	}
	b := s.db.NewBatch()
	for hash, name := range state {
		if name == nil {
			b.Delete(append([]byte{'K'}, hash...), nil)
		} else {
			b.Set(append([]byte{'K'}, hash...), []byte(*name), nil)
		}
	}
	if err := s.commit(b); err != nil {
		return err
	}
	// Emptied, not removed: a writer waiting for the lock appends to this
	// file, and its change must not go with the old one.
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	return f.Sync()
}

// pendingState is the journal as it stands, read again if it changed
// since it was last read (at most every pendingEvery).
func (s *Store) pendingState() map[string]*string {
	p := &s.pending
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.checked) >= pendingEvery || p.checked.IsZero() {
		p.checked = now
		st, err := os.Stat(journalPath(s.dir))
		switch {
		case err != nil:
			p.state, p.size, p.mod = nil, 0, time.Time{}
		case st.Size() != p.size || !st.ModTime().Equal(p.mod):
			if f, err := lockedJournal(s.dir, os.O_RDONLY, unix.LOCK_SH); err == nil {
				if state, err := readJournal(f); err == nil {
					p.state, p.size, p.mod = state, st.Size(), st.ModTime()
				}
				f.Close()
			}
		}
	}
	return p.state
}

// PutKey stores the hash of an API key under a name.
func (s *Store) PutKey(name, hash string) error {
	if err := s.db.Set(append([]byte{'K'}, hash...), []byte(name), pebble.Sync); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	return nil
}

// APIKey is a stored API key: who it is for, and its hash (the key itself
// is never stored).
type APIKey struct {
	Name string `json:"name"`
	Hash string `json:"hash"`
}

// Keys lists the API keys, in hash order: the stored ones, as the journal
// of changes made beside a holder of the labels leaves them.
func (s *Store) Keys() ([]APIKey, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'K'}, UpperBound: []byte{'L'}})
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	defer it.Close()
	keys := map[string]string{}
	for ok := it.First(); ok; ok = it.Next() {
		keys[string(it.Key()[1:])] = string(it.Value())
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	for hash, name := range s.pendingState() {
		if name == nil {
			delete(keys, hash)
		} else {
			keys[hash] = *name
		}
	}
	out := make([]APIKey, 0, len(keys))
	for hash, name := range keys {
		out = append(out, APIKey{Name: name, Hash: hash})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hash < out[j].Hash })
	return out, nil
}

// DeleteKey removes the API key with that hash.
func (s *Store) DeleteKey(hash string) error {
	if err := s.db.Delete(append([]byte{'K'}, hash...), pebble.Sync); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	return nil
}

// KeyName returns the name of the API key with that hash: a key revoked
// in the journal is refused at once, one made there accepted.
func (s *Store) KeyName(hash string) (string, bool) {
	if name, ok := s.pendingState()[hash]; ok {
		if name == nil {
			return "", false
		}
		return *name, true
	}
	v, closer, err := s.db.Get(append([]byte{'K'}, hash...))
	if err != nil {
		return "", false
	}
	defer closer.Close()
	return string(v), true
}
