package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestInterrupt stops an ingest with SIGINT (Ctrl-C) after its first
// commit: it exits 130, saying "interrupted" and the height the store was
// committed at, which is the store's height.
func TestInterrupt(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	cmd := exec.Command(spurBin, "ingest", "btc", "--store", store, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--commit-every", "20", "-q")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A commit has written rows of tx.hash (the file is made empty).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if st, err := os.Stat(filepath.Join(store, "btc", "tx.hash")); err == nil && st.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no commit in a minute")
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, _ := err.(*exec.ExitError)
	m := regexp.MustCompile(`^spur: interrupted \(store committed at height (\d+)\)\n$`).FindStringSubmatch(errb.String())
	if ee == nil || ee.ExitCode() != exitInterrupted || m == nil {
		t.Fatalf("interrupted ingest: %v\n%s", err, errb.String())
	}
	var info struct{ Height int64 }
	if err := jsonUnmarshal(mustRun(t, "store", "info", "--store", store, "--json"), &info); err != nil {
		t.Fatal(err)
	}
	if h, _ := strconv.ParseInt(m[1], 10, 64); h != info.Height || h >= 14131 {
		t.Fatalf("said height %s, store at %d", m[1], info.Height)
	}
}
