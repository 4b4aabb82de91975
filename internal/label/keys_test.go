package label

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKeyJournal: API key changes journalled beside a holder of the
// labels count for a reader at once (a revoked key refused, a new one
// accepted; a line cut short is no change), and go into the database,
// the journal emptied, at the next open for writing.
func TestKeyJournal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "labels")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutKey("desk", "aaaa"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := AppendKeyChange(dir, "aaaa", ""); err != nil {
		t.Fatal(err)
	}
	if err := AppendKeyChange(dir, "bbbb", "ops team"); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(journalPath(dir), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("+ cccc cut") // a writer stopped mid-line
	f.Close()
	r, err := openReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, a := r.KeyName("aaaa")
	b, okB := r.KeyName("bbbb")
	_, c := r.KeyName("cccc")
	keys, _ := r.Keys()
	r.Close()
	if a || !okB || b != "ops team" || c || len(keys) != 1 || keys[0].Hash != "bbbb" {
		t.Fatalf("journal read: aaaa %v, bbbb %q %v, cccc %v, keys %v", a, b, okB, c, keys)
	}
	if err := AppendKeyChange(dir, "bad hash", "x"); err == nil {
		t.Fatal("a hash with a space journalled")
	}
	w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if st, err := os.Stat(journalPath(dir)); err != nil || st.Size() != 0 {
		t.Fatalf("journal after a writable open: %v %v", st, err)
	}
	v, closer, err := w.db.Get([]byte("Kbbbb"))
	if err != nil || string(v) != "ops team" {
		t.Fatalf("bbbb in the database: %q %v", v, err)
	}
	closer.Close()
	if _, _, err := w.db.Get([]byte("Kaaaa")); err == nil {
		t.Fatal("aaaa still in the database")
	}
}
