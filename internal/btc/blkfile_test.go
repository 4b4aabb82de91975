package btc

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

// TestMappedBlocks takes every block of mainnet's first 14,132 from a
// mapped blk file, plain and obfuscated, and checks each against the
// file's bytes: in place for the plain file, unmasked into the caller's
// buffer for the other (blocks start at every phase of the 8-byte key),
// and read with pread once the file is unmapped.
func TestMappedBlocks(t *testing.T) {
	chain := readBz2(t, "blk_0_to_14131.dat.bz2")
	key := []byte{0x13, 0x57, 0x9b, 0xdf, 0x24, 0x68, 0xac, 0xe0}
	// Bitcoin Core leaves the zeros it pre-allocates past the last block
	// as they are: obfuscate the blocks only.
	plain, err := OpenBlockPaths([]string{writeTemp(t, chain)}, Main)
	if err != nil {
		t.Fatal(err)
	}
	all, err := plain[0].Scan(Main)
	plain[0].Close()
	if err != nil {
		t.Fatal(err)
	}
	end := all[len(all)-1].Offset + int64(all[len(all)-1].Size)
	for _, obfuscated := range []bool{false, true} {
		dir := t.TempDir()
		file := chain
		if obfuscated {
			file = bytes.Clone(chain)
			for i := range end {
				file[i] ^= key[i%8]
			}
			os.WriteFile(filepath.Join(dir, "xor.dat"), key, 0o644)
		}
		name := filepath.Join(dir, "blk00000.dat")
		os.WriteFile(name, file, 0o644)
		files, err := OpenBlockPaths([]string{dir}, Main)
		if err != nil {
			t.Fatal(err)
		}
		f := files[0]
		refs, err := f.Scan(Main)
		if err != nil || len(refs) != 14132 {
			t.Fatalf("%d blocks, %v", len(refs), err)
		}
		f.Map()
		if !mapped(t, name) {
			t.Fatal("Map did not map the file")
		}
		phases := map[int64]bool{}
		buf := make([]byte, 0, 1<<20)
		for pass := range 2 { // mapped, then read
			for _, r := range refs {
				want := chain[r.Offset : r.Offset+int64(r.Size)]
				got, err := r.Bytes(buf)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("obfuscated %v, pass %d: %s differs from the file's bytes", obfuscated, pass, r)
				}
				inBuf := unsafe.SliceData(got) == unsafe.SliceData(buf)
				if inPlace := pass == 0 && !obfuscated; inBuf == inPlace {
					t.Fatalf("obfuscated %v, pass %d: %s: block in the caller's buffer: %v", obfuscated, pass, r, inBuf)
				}
				phases[r.Offset%8] = true
			}
			if err := f.Unmap(); err != nil {
				t.Fatal(err)
			}
			if mapped(t, name) {
				t.Fatal("Unmap left the file mapped")
			}
		}
		if len(phases) != 8 {
			t.Fatalf("blocks start at %d of the key's 8 phases", len(phases))
		}
		f.Close()
	}
}

// mapped reports whether the process maps the file.
func mapped(t *testing.T, name string) bool {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps:", err)
	}
	return strings.Contains(string(maps), name)
}

func writeTemp(t *testing.T, b []byte) string {
	name := filepath.Join(t.TempDir(), "blk00000.dat")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}
