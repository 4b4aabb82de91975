package btc

import (
	"bytes"
	"encoding/binary"
	"fmt"
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

// TestScanMixedSizes scans a blk file whose small blocks (read many to a
// window) alternate with a 1.2 MB one (its frame and header read alone),
// plain and obfuscated, and checks every block's place, size and hash
// against a walk of the frames in memory; then the same file cut short
// inside a header that follows a small block.
func TestScanMixedSizes(t *testing.T) {
	small := framedBlocks(t, "blk_0_to_14131.dat.bz2")[:3000]
	big := readBz2(t, "block_702861.raw.bz2")
	var chain []byte
	for i, b := range small {
		if i%700 == 5 {
			b = big
		}
		chain = append(chain, Main.Magic[:]...)
		chain = binary.LittleEndian.AppendUint32(chain, uint32(len(b)))
		chain = append(chain, b...)
	}
	type want struct {
		off  int64
		size uint32
		hash Hash
	}
	var wants []want
	for off := int64(0); off < int64(len(chain)); {
		size := binary.LittleEndian.Uint32(chain[off+4:])
		wants = append(wants, want{off + 8, size, BlockHash(chain[off+8 : off+8+HeaderSize])})
		off += 8 + int64(size)
	}
	key := []byte{0x13, 0x57, 0x9b, 0xdf, 0x24, 0x68, 0xac, 0xe0}
	for _, obfuscated := range []bool{false, true} {
		// Cut inside the header after the big block (5, read with its
		// frame alone), and after a small one (read in a window).
		for _, cut := range []int{0, 6, 8} {
			dir := t.TempDir()
			file := bytes.Clone(chain)
			if obfuscated {
				for i := range file {
					file[i] ^= key[i%8]
				}
				os.WriteFile(filepath.Join(dir, "xor.dat"), key, 0o644)
			}
			if cut > 0 {
				file = file[:wants[cut].off+40]
			}
			os.WriteFile(filepath.Join(dir, "blk00000.dat"), file, 0o644)
			files, err := OpenBlockPaths([]string{dir}, Main)
			if err != nil {
				t.Fatal(err)
			}
			if !files[0].Newest {
				t.Fatal("a directory's last blk file is not marked newest")
			}
			if cut > 0 {
				// Cut short as the newest file of a directory, as a
				// running node leaves it: the scan ends before the block.
				refs, err := files[0].Scan(Main)
				if err != nil || len(refs) != cut || files[0].Unfinished != wants[cut].off-8 {
					t.Fatalf("obfuscated %v, newest file cut in block %d's header: %d blocks, unfinished at %d, %v", obfuscated, cut, len(refs), files[0].Unfinished, err)
				}
				// Any other file so cut is corrupt.
				files[0].Newest, files[0].Unfinished = false, -1
				refs, err = files[0].Scan(Main)
				files[0].Close()
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("offset %d: truncated block", wants[cut].off-8)) || len(refs) != cut {
					t.Fatalf("obfuscated %v, cut in block %d's header: %d blocks, %v", obfuscated, cut, len(refs), err)
				}
				continue
			}
			refs, err := files[0].Scan(Main)
			files[0].Close()
			if err != nil || len(refs) != len(wants) {
				t.Fatalf("obfuscated %v: %d blocks of %d, %v", obfuscated, len(refs), len(wants), err)
			}
			for i, r := range refs {
				if w := wants[i]; r.Offset != w.off || r.Size != w.size || r.Hash != w.hash {
					t.Fatalf("obfuscated %v: block %d at %d (%d bytes) %s, want at %d (%d bytes) %s", obfuscated, i, r.Offset, r.Size, r.Hash, w.off, w.size, w.hash)
				}
			}
		}
	}
}

// TestScanNewestUnfinished cuts the newest blk file of a directory after
// two whole blocks in each way a node writing the next one leaves it, the
// rest of the file the zeros it allocated: the scan ends before the cut
// and notes its offset. Bytes other than zeros after a bad frame, and a
// length more than any block's, are still corrupt.
func TestScanNewestUnfinished(t *testing.T) {
	blocks := framedBlocks(t, "blk_0_to_4.dat.bz2")
	whole, next := frame(blocks[:2]...), frame(blocks[2])
	zeros := make([]byte, 5000)
	cases := []struct {
		name string
		tail []byte
		bad  string // the error of a corrupt tail; "" for one cut short
	}{
		{"frame past the end", next[:len(next)/2], ""},
		{"magic, then zeros", append(bytes.Clone(Main.Magic[:]), zeros...), ""},
		{"part of the magic, then zeros", append(bytes.Clone(Main.Magic[:2]), zeros...), ""},
		{"three bytes", Main.Magic[:3], ""},
		{"short length, then zeros", append(append(bytes.Clone(Main.Magic[:]), 9, 0, 0, 0), zeros...), ""},
		{"wrong magic, then data", append([]byte{1, 2, 3, 4}, next...), "magic 01020304"},
		{"short length, then data", append(append(bytes.Clone(Main.Magic[:]), 9, 0, 0, 0), next...), "block length 9 is too short"},
		// A length no block can have is damage even past the file's end.
		{"length over the maximum, then data", append(append(bytes.Clone(Main.Magic[:]), 0x01, 0x09, 0x3d, 0x00), next[8:]...), "block length 4000001 is more than a block can be"},
		{"length over the maximum, then zeros", append(append(bytes.Clone(Main.Magic[:]), 0xff, 0xff, 0xff, 0xff), zeros...), "block length 4294967295 is more"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "blk00000.dat"), append(bytes.Clone(whole), c.tail...), 0o644)
		files, err := OpenBlockPaths([]string{dir}, Main)
		if err != nil {
			t.Fatal(err)
		}
		refs, err := files[0].Scan(Main)
		files[0].Close()
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("%s: %d blocks, %v", c.name, len(refs), err)
			}
			continue
		}
		if err != nil || len(refs) != 2 || files[0].Unfinished != int64(len(whole)) {
			t.Errorf("%s: %d blocks, unfinished at %d, %v", c.name, len(refs), files[0].Unfinished, err)
		}
	}
}

// frame lays blocks out as a mainnet blk file holds them: magic, length,
// block.
func frame(blocks ...[]byte) []byte {
	var b []byte
	for _, blk := range blocks {
		b = append(b, Main.Magic[:]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(blk)))
		b = append(b, blk...)
	}
	return b
}

// TestDataDirectoryNamed: a Bitcoin Core data directory given for its
// blocks directory reads the network's blocks one down (blocks, or
// regtest/blocks and the like); where only another network's are there, it
// is refused with a pointer to them.
func TestDataDirectoryNamed(t *testing.T) {
	blocks := framedBlocks(t, "blk_0_to_4.dat.bz2")
	regtest, _ := LookupNetwork("regtest")
	for _, c := range []struct {
		net *Network
		sub string
	}{{Main, "blocks"}, {regtest, filepath.Join("regtest", "blocks")}} {
		data := t.TempDir()
		os.MkdirAll(filepath.Join(data, c.sub), 0o755)
		os.WriteFile(filepath.Join(data, c.sub, "blk00000.dat"), frame(blocks...), 0o644)
		if c.net == Main {
			files, err := OpenBlockPaths([]string{data}, c.net)
			if err != nil || len(files) != 1 || files[0].Name != filepath.Join(data, c.sub, "blk00000.dat") {
				t.Fatalf("main data directory: %v %v", files, err)
			}
			for _, f := range files {
				f.Close()
			}
			continue
		}
		// Another network's data directory (regtest's blocks in it, the
		// store on main): named, with the flag that reads them.
		_, err := OpenBlockPaths([]string{data}, Main)
		if want := "--blocks " + filepath.Join(data, c.sub); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "network regtest's") {
			t.Errorf("%s data directory: %v, want %q", c.net.Name, err, want)
		}
	}
	if _, err := OpenBlockPaths([]string{t.TempDir()}, Main); err == nil || !strings.HasSuffix(err.Error(), "no blk*.dat files") {
		t.Errorf("empty directory: %v", err)
	}
}

// TestEmptyBlockFile: a blk file with nothing in it yet, as Bitcoin Core
// leaves one it has just created, holds no blocks, newest or not.
func TestEmptyBlockFile(t *testing.T) {
	blocks := framedBlocks(t, "blk_0_to_4.dat.bz2")
	for _, emptyFirst := range []bool{true, false} {
		dir := t.TempDir()
		names := []string{"blk00000.dat", "blk00001.dat"}
		if !emptyFirst {
			names[0], names[1] = names[1], names[0]
		}
		os.WriteFile(filepath.Join(dir, names[0]), nil, 0o644)
		os.WriteFile(filepath.Join(dir, names[1]), frame(blocks...), 0o644)
		files, err := OpenBlockPaths([]string{dir}, Main)
		if err != nil {
			t.Fatalf("empty first %v: %v", emptyFirst, err)
		}
		n := 0
		for _, f := range files {
			refs, err := f.Scan(Main)
			if err != nil {
				t.Fatalf("empty first %v: %s: %v", emptyFirst, f.Name, err)
			}
			n += len(refs)
			f.Close()
		}
		if n != len(blocks) {
			t.Fatalf("empty first %v: %d blocks, want %d", emptyFirst, n, len(blocks))
		}
	}
}
