package evm

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzEra1 feeds damaged era1 archives to the reader: it must return blocks
// or an input error naming the file, never panic or hang.
func FuzzEra1(f *testing.F) {
	orig, err := os.ReadFile(era1File)
	if err != nil {
		f.Fatal(err)
	}
	// The seed: the version entry and the first blocks' entries, cut at an
	// entry boundary (the whole archive is too large to mutate quickly).
	off, entries := 0, 0
	for off < len(orig) && entries < 14 {
		off += 8 + int(binary.LittleEndian.Uint32(orig[off+2:]))
		entries++
	}
	f.Add(orig[:off])
	f.Add(orig[:off/2])
	f.Add([]byte{0x65, 0x32, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.era1")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := OpenEra1([]string{p}, sepoliaID)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		for range 1000 {
			if _, err = e.Next(); err != nil {
				break
			}
		}
		if err != nil && err != io.EOF && !errors.Is(err, ErrInput) {
			t.Fatalf("not an input error: %v", err)
		}
	})
}
