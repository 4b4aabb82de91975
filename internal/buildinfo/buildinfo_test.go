package buildinfo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A program built from this git tree with VCS stamping names its commit
// (a pseudo-version of it, +dirty if the tree had changes); one built
// without it says devel.
func TestVersion(t *testing.T) {
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", args...).Output()
		if err != nil {
			t.Skipf("not in a git tree here: git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	commit := git("rev-parse", "HEAD")
	secs, _ := strconv.ParseInt(git("show", "-s", "--format=%ct", "HEAD"), 10, 64)
	want := "v0.0.0-" + time.Unix(secs, 0).UTC().Format("20060102150405") + "-" + commit[:12]
	if git("status", "--porcelain") != "" {
		want += "+dirty"
	}
	build := func(vcs string) string {
		t.Helper()
		bin := filepath.Join(t.TempDir(), "prog")
		cmd := exec.Command("go", "build", "-buildvcs="+vcs, "-o", bin, "./testdata/prog")
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	// A tag on the commit would name it instead.
	if tag, _ := exec.Command("git", "describe", "--tags", "--exact-match").Output(); len(tag) > 0 {
		t.Skipf("the commit is tagged %s", tag)
	}
	if got := build("true"); got != want+"|"+want+"|"+commit {
		t.Errorf("stamped: %q, want %q", got, want+"|"+want+"|"+commit)
	}
	if got := build("false"); got != "devel|(devel)|" {
		t.Errorf("unstamped: %q", got)
	}
}
