// Package progress draws a one-line progress bar for long work: done and
// total, rates, and the time left. On a terminal it redraws in place; on
// anything else it prints a line every few seconds, so logs stay readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Bar reports the progress of work measured in units (blocks, say), with
// optional counters shown as rates (tx/s, MB/s).
type Bar struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	unit  string
	total int64
	done  int64
	txs   int64
	bytes int64
	// totalBytes, when known, is the bytes all the work holds: the share
	// done and the time left then go by bytes, not units (the blocks of a
	// chain differ in size a thousandfold).
	totalBytes int64
	start      time.Time
	last       time.Time
	interval   time.Duration
	drawn      bool
	// printed is how many units were done at the last line printed to a
	// non-terminal (-1: none yet), so that Done does not repeat it.
	printed int64
}

// New returns a bar writing to w (nil means no output) for total units.
func New(w io.Writer, unit string, total int64) *Bar {
	b := &Bar{w: w, unit: unit, total: total, start: time.Now(), interval: 5 * time.Second, printed: -1}
	if f, ok := w.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			b.tty = true
			b.interval = 200 * time.Millisecond
		}
	}
	return b
}

// Add records n more units done, with txs transactions and bytes bytes.
func (b *Bar) Add(n, txs, bytes int64) {
	if b == nil || b.w == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.txs += txs
	b.bytes += bytes
	if now := time.Now(); now.Sub(b.last) >= b.interval {
		b.last = now
		b.draw(now)
	}
}

// SetTotalBytes gives the bytes the whole work holds, that Add's bytes
// count towards: the bar's share and time left then go by them.
func (b *Bar) SetTotalBytes(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.totalBytes = n
	b.mu.Unlock()
}

// SetTotal changes the total (work discovered as it runs).
func (b *Bar) SetTotal(total int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.total = total
	b.mu.Unlock()
}

func (b *Bar) draw(now time.Time) {
	el := now.Sub(b.start).Seconds()
	if el <= 0 {
		el = 1e-9
	}
	var sb strings.Builder
	frac := 0.0
	switch {
	case b.totalBytes > 0:
		frac = float64(b.bytes) / float64(b.totalBytes)
	case b.total > 0:
		frac = float64(b.done) / float64(b.total)
	}
	frac = min(frac, 1)
	if b.done >= b.total && b.total > 0 {
		frac = 1
	}
	if b.total > 0 {
		const width = 24
		fill := int(frac * width)
		fmt.Fprintf(&sb, "%s %d/%d [%s%s] %5.1f%%", b.unit, b.done, b.total, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100)
	} else {
		fmt.Fprintf(&sb, "%s %d", b.unit, b.done)
	}
	// Rates of counters the work has (a scan counts neither).
	if b.txs > 0 {
		fmt.Fprintf(&sb, "  %.0f tx/s", float64(b.txs)/el)
	}
	if b.bytes > 0 {
		fmt.Fprintf(&sb, "  %.1f MB/s", float64(b.bytes)/el/1e6)
	}
	if b.total > 0 && b.done > 0 && b.done < b.total && frac > 0 {
		left := time.Duration(el * (1 - frac) / frac * float64(time.Second))
		fmt.Fprintf(&sb, "  ETA %s", left.Round(time.Second))
	}
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", sb.String())
		b.drawn = true
	} else {
		fmt.Fprintln(b.w, sb.String())
		b.printed = b.done
	}
}

// Done draws the final state and ends the line. On a non-terminal it
// prints nothing when the last line printed already showed that state.
func (b *Bar) Done() {
	if b == nil || b.w == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.tty && b.printed == b.done {
		return
	}
	b.draw(time.Now())
	if b.tty {
		fmt.Fprintln(b.w)
	}
}
