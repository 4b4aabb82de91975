// Package buildinfo says which spur is running, from what the Go toolchain
// recorded in the binary: a report names the spur that made it, and a bug
// report the spur that showed it.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Version is the module's version when spur was built from a tagged
// release (go install ...@v1.2.3), else the source's commit as the VCS
// recorded it ("devel 1a2b3c4d5e6f, 2026-11-29", "modified" if the tree had
// changes), else "devel".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at, _, _ = strings.Cut(s.Value, "T")
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	v := "devel " + rev[:min(12, len(rev))]
	if at != "" {
		v += ", " + at
	}
	if modified {
		v += ", modified"
	}
	return v
}

// GoVersion is the Go toolchain spur was built with.
func GoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return ""
}
