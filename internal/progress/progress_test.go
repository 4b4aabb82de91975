package progress

import (
	"strings"
	"testing"
)

// TestNonTerminalLines: written to a non-terminal, a bar prints its first
// state, and its final state once, however often Done is called and
// whether or not an update already printed it.
func TestNonTerminalLines(t *testing.T) {
	var sb strings.Builder
	b := New(&sb, "files", 2)
	b.Add(1, 0, 0) // the first update prints
	b.Add(1, 0, 0) // within the interval: nothing
	b.Done()
	b.Done()
	lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "files 1/2 [============            ]  50.0%") ||
		lines[1] != "files 2/2 [========================] 100.0%" {
		t.Fatalf("got %q, want the lines of 1/2 and 2/2", sb.String())
	}

	sb.Reset()
	b = New(&sb, "files", 1)
	b.Add(1, 0, 0) // prints the final state already
	b.Done()
	if got, want := sb.String(), "files 1/1 [========================] 100.0%\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}

	sb.Reset()
	b = New(&sb, "files", 3)
	b.Done() // nothing done: still one line
	if got, want := sb.String(), "files 0/3 [                        ]   0.0%\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
