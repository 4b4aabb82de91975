// Package testdir gives tests a fingerprint of a directory, to check that
// something (a read-only open, say) left it exactly as it was, and the
// state a crash leaves in a store's directory.
package testdir

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spur-forensics/spur/internal/hashidx"
)

// State returns, for every file under dir, its path, size, SHA-256 and
// modification time, one line each in path order; it fails the test if
// any of them cannot be read.
func State(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(&b, "%s %d %x %d\n", rel, st.Size(), sha256.Sum256(data), st.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// UncoverTable makes the hash table at path say it covers one row less, as
// a crash before its sync leaves it: the state a store's next writable open
// repairs.
func UncoverTable(t testing.TB, path string) {
	t.Helper()
	tab, err := hashidx.Open(path, 0)
	if err == nil {
		err = errors.Join(tab.Uncover(tab.Covered()-1), tab.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
}
