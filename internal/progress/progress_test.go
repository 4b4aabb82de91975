package progress

import (
	"strings"
	"testing"
	"time"
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

// With the work's bytes known, the share done and the time left go by
// bytes, not by units: three small blocks of four are a tenth of the work.
func TestByBytes(t *testing.T) {
	var sb strings.Builder
	b := New(&sb, "blocks", 4)
	b.SetTotalBytes(1000)
	b.start = time.Now().Add(-10 * time.Second)
	b.Add(3, 30, 100)
	if line := sb.String(); !strings.HasPrefix(line, "blocks 3/4 [==                      ]  10.0%") || !strings.Contains(line, "ETA 1m30s") {
		t.Fatalf("got %q", line)
	}
	sb.Reset()
	b.Add(1, 1, 900)
	b.Done()
	if line := sb.String(); !strings.HasPrefix(line, "blocks 4/4 [========================] 100.0%") || strings.Contains(line, "ETA") {
		t.Fatalf("got %q", line)
	}
}
