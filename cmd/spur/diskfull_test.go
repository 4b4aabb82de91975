package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDiskFull ingests the mainnet sample onto a file system too small for
// it (a 4 MiB tmpfs, mounted where the test may mount one; skipped
// elsewhere), committing every 1,000 blocks: the run fails on a full disk
// with one line naming a file, exit 1, the store at its last commit and
// readable; once the file system is grown, the rerun finishes a store
// identical to one ingested in a single run.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a small file system here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	store := filepath.Join(dir, "store")
	blocks := sample("blk_0_to_14131.dat.bz2")
	r := run(t, "ingest", "btc", "--store", store, "--blocks", blocks, "--commit-every", "1000", "-q")
	if r.code != exitFailure || !strings.Contains(r.stderr, "no space left on device") || !strings.Contains(r.stderr, "store committed at height") ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, filepath.Join(store, "btc")) {
		t.Fatalf("ingest onto a full disk: exit %d\n%s", r.code, r.stderr)
	}
	var info struct{ Height int64 }
	if err := jsonUnmarshal(mustRun(t, "store", "info", "--store", store, "--json"), &info); err != nil {
		t.Fatal(err)
	}
	if info.Height < 999 || info.Height >= 14131 || (info.Height+1)%1000 != 0 {
		t.Fatalf("store at height %d after the full disk, want a commit's", info.Height)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT, "size=32m"); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "ingest", "btc", "--store", store, "--blocks", blocks, "-q")
	clean := filepath.Join(t.TempDir(), "clean")
	mustRun(t, "ingest", "btc", "--store", clean, "--blocks", blocks, "-q")
	if a, b := mustRun(t, "store", "digest", "--store", store), mustRun(t, "store", "digest", "--store", clean); a != b {
		t.Fatalf("store resumed after a full disk differs from a clean run:\n%s\n%s", a, b)
	}
	if _, err := os.Stat(filepath.Join(store, "btc", "META")); err != nil {
		t.Fatal(err)
	}
	// A clustering the disk has no room for fails naming the file, and
	// leaves the last one as it was, with nothing half-written beside it.
	mustRun(t, "cluster", "--store", store, "-q")
	before := mustRun(t, "entity", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--store", store, "--json")
	fill, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = fill.Write(make([]byte, 1<<16))
	}
	fill.Close()
	if r := run(t, "cluster", "--store", store, "--full", "-q"); r.code != exitFailure || !strings.Contains(r.stderr, "no space left on device") || !strings.Contains(r.stderr, filepath.Join(store, "btc", "cluster")) {
		t.Fatalf("cluster on a full disk: exit %d\n%s", r.code, r.stderr)
	}
	if tmp, _ := filepath.Glob(filepath.Join(store, "btc", "cluster", "*.tmp")); len(tmp) > 0 {
		t.Errorf("left behind: %v", tmp)
	}
	if after := mustRun(t, "entity", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--store", store, "--json"); after != before {
		t.Errorf("the clustering after a failed one:\n%s\nbefore:\n%s", after, before)
	}
}
