// Package buildinfo says which spur is running, from what the Go toolchain
// recorded in the binary: a report names the spur that made it, an
// export's Parquet file too, and a bug report the spur that showed it.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// recorded is what the build recorded of the module and its source.
type recorded struct {
	version  string // the module's: a release's, or "(devel)"
	commit   string // the VCS revision, "" if none was recorded
	day      string // its commit's day, YYYY-MM-DD
	modified bool   // the tree had changes
	goVer    string
}

func read() recorded {
	r := recorded{version: "(devel)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return r
	}
	r.goVer = bi.GoVersion
	if bi.Main.Version != "" {
		r.version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			r.commit = s.Value
		case "vcs.time":
			r.day, _, _ = strings.Cut(s.Value, "T")
		case "vcs.modified":
			r.modified = s.Value == "true"
		}
	}
	return r
}

// Module is the module's version as the build recorded it ("(devel)" for
// a build from a source tree) and the commit it was built from ("" if
// none was recorded): a Parquet file's created_by gives both.
func Module() (version, commit string) {
	r := read()
	return r.version, r.commit
}

// Version is the module's version as the build recorded it: a release's
// (go install ...@v1.2.3), or, built from a git tree, the pseudo-version
// that names its commit (v0.0.0-20261129162001-2f42b7c8dc61, +dirty if the
// tree had changes); where the toolchain gave a commit but no version, the
// commit ("devel 2f42b7c8dc61, 2026-11-29", "modified" if changed); else
// "devel" (go run, or a build without VCS stamping).
func Version() string {
	r := read()
	if r.version != "(devel)" {
		return r.version
	}
	if r.commit == "" {
		return "devel"
	}
	v := "devel " + r.commit[:min(12, len(r.commit))]
	if r.day != "" {
		v += ", " + r.day
	}
	if r.modified {
		v += ", modified"
	}
	return v
}

// GoVersion is the Go toolchain spur was built with.
func GoVersion() string { return read().goVer }
