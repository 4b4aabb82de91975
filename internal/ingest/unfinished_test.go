package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
)

// frames reads a framed sample and returns its frames (magic, length and
// block each).
func frames(t *testing.T, name string) [][]byte {
	t.Helper()
	b := unbzip2(t, name)
	var out [][]byte
	for off := 0; off+8 <= len(b) && [4]byte(b[off:off+4]) == btc.Main.Magic; {
		end := off + 8 + int(binary.LittleEndian.Uint32(b[off+4:]))
		out = append(out, b[off:end])
		off = end
	}
	return out
}

// halfWritten is a frame whose block is written up to its middle, the rest
// the zeros a node allocated, followed by more of them.
func halfWritten(frame []byte) []byte {
	b := bytes.Clone(frame)
	clear(b[8+(len(b)-8)/2:])
	return append(b, make([]byte, 4096)...)
}

func writeBlocksDir(t *testing.T, dir string, parts ...[]byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "blk00000.dat"), bytes.Join(parts, nil), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUnfinishedTip ingests a blocks directory whose newest file ends in a
// block written only half, as a running node leaves it: the run stores the
// blocks before it and says so, and a run after the node has written it
// stores it. A side chain whose tip is so cut is chosen as if the tip were
// not there: here its other blocks have no more work than the store's, so
// nothing is unwound.
func TestUnfinishedTip(t *testing.T) {
	ctx := context.Background()
	main := frames(t, "blk_0_to_4.dat.bz2")
	node := t.TempDir()
	writeBlocksDir(t, node, append(main[:4:4], halfWritten(main[4]))...)
	s := openStore(t, t.TempDir())
	st, err := Files(ctx, s, []string{node}, Options{})
	if err != nil || s.Height() != 3 || st.Unfinished != 1 || st.Blocks != 4 {
		t.Fatalf("half-written tip: height %d, %+v, %v", s.Height(), st, err)
	}
	writeBlocksDir(t, node, main...)
	st, err = Files(ctx, s, []string{node}, Options{})
	if err != nil || s.Height() != 4 || st.Unfinished != 0 || st.Blocks != 1 {
		t.Fatalf("tip written: height %d, %+v, %v", s.Height(), st, err)
	}

	before := digest(t, s)
	side := t.TempDir()
	writeBlocksDir(t, side, frames(t, "blk_3A.dat.bz2")[0], frames(t, "blk_4A.dat.bz2")[0], halfWritten(frames(t, "blk_5A.dat.bz2")[0]))
	st, err = Files(ctx, s, []string{side}, Options{})
	if err != nil || st.Unwound != 0 || st.Unfinished != 1 || st.Blocks != 0 || digest(t, s) != before {
		t.Fatalf("side chain with a half-written tip: height %d, %+v, %v", s.Height(), st, err)
	}

	// The same half-written block in a file named on its own, not the
	// newest file of a directory, is corrupt input.
	one := filepath.Join(t.TempDir(), "blk00000.dat")
	os.WriteFile(one, halfWritten(main[4]), 0o644)
	other := openStore(t, t.TempDir())
	if _, err := Files(ctx, other, []string{sample("blk_0_to_4.dat.bz2")}, Options{StopHeight: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := Files(ctx, other, []string{one}, Options{}); err == nil || other.Height() != 3 {
		t.Fatalf("a half-written block named on its own: height %d, %v", other.Height(), err)
	}
}
