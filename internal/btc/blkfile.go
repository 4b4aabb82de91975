package btc

import (
	"bytes"
	"compress/bzip2"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/holiman/uint256"
	"golang.org/x/sys/unix"
)

// BlockRef says where a block is stored and what its header holds. It is
// what a scan of block files yields before any block is decoded.
type BlockRef struct {
	File   *BlockFile
	Offset int64  // of the block's first byte in the file
	Size   uint32 // of the block
	Hash   Hash
	Header Header
}

func (r BlockRef) String() string {
	return fmt.Sprintf("%s: offset %d: block %s", r.File.Name, r.Offset, r.Hash)
}

// BlockFile is one file of blocks: a Bitcoin Core blk*.dat file (network
// magic and length before each block, optionally obfuscated with the xor.dat
// key of its directory), or a single raw block. Files whose name ends in
// .bz2 are decompressed into memory.
//
// An ingest maps each file while it takes blocks from it (Map, Bytes,
// Unmap): an unobfuscated block is decoded in place, sparing the kernel's
// copy of every byte that a pread makes, and an obfuscated one is unmasked
// from the mapping into the caller's buffer in one pass. It unmaps a file
// as soon as it has stored the file's last block, since mapped pages count
// in the process's resident memory until then; releasing them block by
// block (MADV_DONTNEED) cost more than the copy (BENCHMARKS.md). Elsewhere
// blocks are read with pread (Read).
type BlockFile struct {
	Name   string
	r      io.ReaderAt
	size   int64
	key    []byte // xor key, nil when none
	closer io.Closer
	framed bool
	osf    *os.File // nil for a file decompressed or given in memory

	mu     sync.Mutex
	data   []byte // the file's mapping, nil when not mapped
	stream []byte // the key repeated, to unmask a chunk at a time

	// Newest is set on the last blk*.dat file of a blocks directory, the
	// one a running node appends to: its last block may be only partly
	// written, the rest of the file still the zeros the node allocated.
	Newest bool
	// Unfinished is the offset of such a block's frame that Scan found
	// cut short (-1: none); the scan ends there instead of failing. (One
	// whose frame is whole but whose bytes are not all there yet shows
	// when it is decoded: see LastOfNewest.)
	Unfinished int64
}

// Close unmaps and closes the underlying file.
func (f *BlockFile) Close() error {
	err := f.Unmap()
	if f.closer != nil {
		return errors.Join(err, f.closer.Close())
	}
	return err
}

// Map maps the file read-only, if it is a file on disk and not mapped yet,
// so that Bytes takes blocks from the mapping. It is a no-op for a file
// decompressed or given in memory, and for one that cannot be mapped, which
// Bytes then reads. The file should not shrink while mapped (Bitcoin Core
// only appends to its files and trims the zeros past the last block): a
// read of a page past its new end faults, which the ingest's decoding turns
// into an error.
func (f *BlockFile) Map() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.data != nil || f.osf == nil || f.size == 0 || f.size != int64(int(f.size)) {
		return
	}
	data, err := unix.Mmap(int(f.osf.Fd()), 0, int(f.size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return
	}
	// Read ahead of the faults, as for a sequential read.
	unix.Madvise(data, unix.MADV_SEQUENTIAL)
	f.data = data
}

// Unmap undoes Map. Blocks that Bytes returned in place are no longer valid.
func (f *BlockFile) Unmap() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.data == nil {
		return nil
	}
	err := unix.Munmap(f.data)
	f.data = nil
	if err != nil {
		return fmt.Errorf("btc: %s: %w", f.Name, err)
	}
	return nil
}

// Size is the file's size in bytes (decompressed for .bz2 files).
func (f *BlockFile) Size() int64 { return f.size }

// ReadAt reads len(p) bytes at off and removes the xor obfuscation.
func (f *BlockFile) ReadAt(p []byte, off int64) error {
	n, err := f.r.ReadAt(p, off)
	if n == len(p) {
		err = nil
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %s: offset %d: file ends %d bytes into a %d-byte read", ErrCorrupt, f.Name, off, n, len(p))
		}
		return fmt.Errorf("btc: %s: offset %d: %w", f.Name, off, err)
	}
	if f.key != nil {
		f.unmask(p, p, off)
	}
	return nil
}

// Read reads the block that ref points at into buf (grown as needed) and
// returns it.
func (r BlockRef) Read(buf []byte) ([]byte, error) {
	if cap(buf) < int(r.Size) {
		buf = make([]byte, r.Size)
	}
	buf = buf[:r.Size]
	if err := r.File.ReadAt(buf, r.Offset); err != nil {
		return nil, err
	}
	return buf, nil
}

// LastOfNewest reports whether ref is the last block of the Newest file of
// a blocks directory, nothing but zeros after it: a block a running node
// may not have written whole yet.
func (r BlockRef) LastOfNewest() bool {
	return r.File.Newest && r.File.Unfinished < 0 && r.File.zerosFrom(r.Offset+int64(r.Size))
}

// Bytes returns the block that ref points at. When its file is mapped (Map)
// and not obfuscated, it is the mapping's bytes, valid until Unmap;
// otherwise it is read, or unmasked from the mapping, into buf (grown as
// needed).
func (r BlockRef) Bytes(buf []byte) ([]byte, error) {
	f := r.File
	f.mu.Lock()
	data := f.data
	f.mu.Unlock()
	end := r.Offset + int64(r.Size)
	if data == nil || end > int64(len(data)) {
		return r.Read(buf)
	}
	in := data[r.Offset:end:end]
	if f.key == nil {
		return in, nil
	}
	if cap(buf) < len(in) {
		buf = make([]byte, len(in))
	}
	buf = buf[:len(in)]
	f.unmask(buf, in, r.Offset)
	return buf, nil
}

// unmask sets out to in, the bytes at offset off of the file, xored with
// the key. out and in may be the same.
func (f *BlockFile) unmask(out, in []byte, off int64) {
	// The stream is a whole number of keys: started at off's phase, it
	// stays in phase chunk after chunk.
	phase := int(off % int64(len(f.key)))
	for n := 0; n < len(in); {
		k := subtle.XORBytes(out[n:], in[n:], f.stream[phase:])
		n += k
		phase = (phase + k) % len(f.key)
	}
}

// ReadXorKey reads the obfuscation key Bitcoin Core 28+ keeps in
// blocks/xor.dat. An absent or all-zero key means none (nil).
func ReadXorKey(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, "xor.dat"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("btc: %w", err)
	}
	if len(b) != 8 {
		return nil, fmt.Errorf("%w: %s: xor key of %d bytes, want 8", ErrCorrupt, filepath.Join(dir, "xor.dat"), len(b))
	}
	if bytes.Equal(b, make([]byte, 8)) {
		return nil, nil
	}
	return b, nil
}

// OpenBlockPaths opens block files named by paths: a directory is read as a
// Bitcoin Core blocks directory (its blk*.dat files in name order, with its
// xor.dat key), a file as a blk*.dat file if it starts with the network's
// magic and as a single raw block otherwise.
func OpenBlockPaths(paths []string, net *Network) ([]*BlockFile, error) {
	var files []*BlockFile
	fail := func(err error) ([]*BlockFile, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return fail(fmt.Errorf("btc: %w", err))
		}
		if st.IsDir() {
			names, err := filepath.Glob(filepath.Join(p, "blk*.dat"))
			if err != nil {
				return fail(err)
			}
			if len(names) == 0 {
				// Bitcoin Core's data directory holds the network's blocks
				// one down (blocks, or testnet3/blocks and the like): read
				// them there. Another network's are named with the flag.
				sub, ok := coreDirs[net.Name]
				own := filepath.Join(p, sub, "blocks")
				if more, _ := filepath.Glob(filepath.Join(own, "blk*.dat")); ok && len(more) > 0 {
					p, names = own, more
				} else {
					for n, sub := range coreDirs {
						other := filepath.Join(p, sub, "blocks")
						if more, _ := filepath.Glob(filepath.Join(other, "blk*.dat")); n != net.Name && len(more) > 0 {
							return fail(fmt.Errorf("btc: %s: no blk*.dat files, nor in %s; %s has some, where Bitcoin Core keeps network %s's (--blocks %s)", p, own, other, n, other))
						}
					}
					return fail(fmt.Errorf("btc: %s: no blk*.dat files", p))
				}
			}
			sort.Strings(names)
			key, err := ReadXorKey(p)
			if err != nil {
				return fail(err)
			}
			for i, n := range names {
				f, err := openBlockFile(n, key, net)
				if err != nil {
					return fail(err)
				}
				f.Newest = i == len(names)-1
				files = append(files, f)
			}
			continue
		}
		key, err := ReadXorKey(filepath.Dir(p))
		if err != nil {
			return fail(err)
		}
		f, err := openBlockFile(p, key, net)
		if err != nil {
			return fail(err)
		}
		files = append(files, f)
	}
	return files, nil
}

// coreBlockFile matches the names of Bitcoin Core's block files.
var coreBlockFile = regexp.MustCompile(`^blk[0-9]{5}\.dat$`)

func openBlockFile(name string, key []byte, net *Network) (*BlockFile, error) {
	f := &BlockFile{Name: name, key: key, Unfinished: -1}
	if key != nil {
		f.stream = bytes.Repeat(key, 512/len(key))
	}
	if strings.HasSuffix(name, ".bz2") {
		raw, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("btc: %w", err)
		}
		b, err := io.ReadAll(bzip2.NewReader(raw))
		raw.Close()
		if err != nil {
			return nil, fmt.Errorf("btc: %s: %w", name, err)
		}
		f.r, f.size, f.key = bytes.NewReader(b), int64(len(b)), nil
	} else {
		osf, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("btc: %w", err)
		}
		st, err := osf.Stat()
		if err != nil {
			osf.Close()
			return nil, fmt.Errorf("btc: %w", err)
		}
		f.r, f.size, f.closer, f.osf = osf, st.Size(), osf, osf
		// Blocks are read mostly in file order: a larger read-ahead.
		unix.Fadvise(int(osf.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
	}
	// A file named as Bitcoin Core names its block files is framed
	// whatever its first bytes, even none (a file Bitcoin Core has just
	// created): damage there is an error (Scan), not a raw block.
	f.framed = coreBlockFile.MatchString(filepath.Base(name))
	if f.size >= 4 {
		var m [4]byte
		if err := f.ReadAt(m[:], 0); err != nil {
			f.Close()
			return nil, err
		}
		f.framed = f.framed || m == net.Magic
		if m != net.Magic {
			for _, other := range networks {
				if m == other.Magic {
					f.Close()
					return nil, fmt.Errorf("%w: %s: offset 0: blocks of network %s (magic %x), not %s (--network %s reads them)",
						ErrWrongNetwork, name, other.Name, m[:], net.Name, other.Name)
				}
			}
		}
	}
	return f, nil
}

// ErrWrongNetwork reports a block file framed with another network's magic.
var ErrWrongNetwork = errors.New("btc: wrong network")

// NewMemBlockFile wraps bytes already in memory (unobfuscated).
func NewMemBlockFile(name string, b []byte, net *Network) *BlockFile {
	f := &BlockFile{Name: name, r: bytes.NewReader(b), size: int64(len(b)), Unfinished: -1}
	f.framed = len(b) >= 4 && [4]byte(b[:4]) == net.Magic
	return f
}

// Scan lists the blocks in the file in file order by reading only the
// framing and headers. Zero bytes at the end of a blk file (Bitcoin Core
// pre-allocates files) end the scan. In the Newest file of a directory, a
// last frame cut short (its length past the end of the file, or part of a
// frame with nothing but zeros after it) is a block the node is still
// writing: the scan ends there and notes it in Unfinished.
func (f *BlockFile) Scan(net *Network) ([]BlockRef, error) {
	if !f.framed {
		if f.size < HeaderSize+1 {
			return nil, fmt.Errorf("%w: %s: %d bytes is too short for a block", ErrCorrupt, f.Name, f.size)
		}
		if f.size > 1<<32-1 {
			return nil, fmt.Errorf("%w: %s: not a block file", ErrCorrupt, f.Name)
		}
		ref := BlockRef{File: f, Offset: 0, Size: uint32(f.size)}
		return []BlockRef{ref}, ref.readHeader()
	}
	var refs []BlockRef
	var win scanWindow
	for off := int64(0); off < f.size; {
		if f.size-off < 8 {
			if f.zerosFrom(off) {
				break
			}
			if f.Newest {
				f.Unfinished = off
				break
			}
			return refs, fmt.Errorf("%w: %s: offset %d: %d stray bytes at the end of the file", ErrCorrupt, f.Name, off, f.size-off)
		}
		frame, err := win.read(f, off, 8)
		if err != nil {
			return refs, err
		}
		if [4]byte(frame[:4]) != net.Magic {
			if f.zerosFrom(off) {
				break
			}
			if f.Newest && f.zerosFrom(off+4) { // the magic itself cut short
				f.Unfinished = off
				break
			}
			return refs, fmt.Errorf("%w: %s: offset %d: magic %x, want %x for network %s", ErrCorrupt, f.Name, off, frame[:4], net.Magic[:], net.Name)
		}
		size := binary.LittleEndian.Uint32(frame[4:])
		if size < HeaderSize+1 {
			if f.Newest && f.zerosFrom(off+8) {
				f.Unfinished = off
				break
			}
			return refs, fmt.Errorf("%w: %s: offset %d: block length %d is too short", ErrCorrupt, f.Name, off, size)
		}
		if size > MaxBlockSize {
			// Bitcoin Core skips such a frame too: no node writes one, even
			// in a file it is still writing.
			return refs, fmt.Errorf("%w: %s: offset %d: block length %d is more than a block can be (%d bytes)", ErrCorrupt, f.Name, off, size, MaxBlockSize)
		}
		if int64(size) > f.size-off-8 {
			if f.Newest {
				f.Unfinished = off
				break
			}
			return refs, fmt.Errorf("%w: %s: offset %d: truncated block: length %d but %d bytes left", ErrCorrupt, f.Name, off, size, f.size-off-8)
		}
		ref := BlockRef{File: f, Offset: off + 8, Size: size}
		h, err := win.read(f, ref.Offset, HeaderSize)
		if err == nil {
			err = ref.setHeader(h)
		}
		if err != nil {
			return refs, err
		}
		refs = append(refs, ref)
		off += 8 + int64(size)
		win.last = size
	}
	return refs, nil
}

// scanWindow is what a scan last read of a file. The frame and header of a
// block are read together, and with the next blocks' when blocks are small
// (the early chain's are a few hundred bytes), so that a scan costs one
// read per block or less instead of two.
type scanWindow struct {
	buf  []byte
	off  int64  // the file offset of buf[0]
	last uint32 // the size of the last block
}

// read returns n bytes of f at off, from the window or read into it.
func (w *scanWindow) read(f *BlockFile, off int64, n int) ([]byte, error) {
	if off >= w.off && off+int64(n) <= w.off+int64(len(w.buf)) {
		return w.buf[off-w.off:][:n], nil
	}
	// A block's frame and header; 64 KiB after a small block.
	want := int64(8 + HeaderSize)
	if w.last < 1<<12 {
		want = 1 << 16
	}
	want = max(int64(n), min(want, f.size-off))
	if int64(cap(w.buf)) < want {
		w.buf = make([]byte, want, max(want, 1<<16))
	}
	w.buf, w.off = w.buf[:want], off
	if err := f.ReadAt(w.buf, off); err != nil {
		w.buf = w.buf[:0]
		return nil, err
	}
	return w.buf[:n], nil
}

func (r *BlockRef) readHeader() error {
	var h [HeaderSize]byte
	if err := r.File.ReadAt(h[:], r.Offset); err != nil {
		return err
	}
	return r.setHeader(h[:])
}

func (r *BlockRef) setHeader(h []byte) error {
	r.Hash = BlockHash(h)
	hdr, err := DecodeHeader(h)
	r.Header = hdr
	return err
}

// zerosFrom reports whether the raw (still obfuscated) file holds only zero
// bytes from off to its end, as Bitcoin Core's pre-allocated tail does.
// (Every blk file but the newest may end in megabytes of them.)
func (f *BlockFile) zerosFrom(off int64) bool {
	buf := make([]byte, len(zeroChunk))
	for off < f.size {
		n := min(int64(len(zeroChunk)), f.size-off)
		chunk := buf[:n]
		if k, _ := f.r.ReadAt(chunk, off); int64(k) != n {
			return false
		}
		if !bytes.Equal(chunk, zeroChunk[:n]) {
			return false
		}
		off += n
	}
	return true
}

var zeroChunk [1 << 16]byte

// Work returns the expected number of hashes for a block with the compact
// target bits, 2^256 / (target+1), as Bitcoin Core's GetBlockProof. Invalid
// targets give zero work. Results are cached per bits value, since a chain
// has few distinct ones.
func Work(bits uint32) uint256.Int {
	workMu.Lock()
	defer workMu.Unlock()
	if w, ok := workCache[bits]; ok {
		return w
	}
	var w uint256.Int
	exp := bits >> 24
	mant := int64(bits & 0x007fffff)
	if bits&0x00800000 == 0 && mant != 0 {
		t := big.NewInt(mant)
		if exp <= 3 {
			t.Rsh(t, uint(8*(3-exp)))
		} else {
			t.Lsh(t, uint(8*(exp-3)))
		}
		if t.Sign() != 0 && t.BitLen() <= 256 {
			q := new(big.Int).Lsh(big.NewInt(1), 256)
			q.Div(q, t.Add(t, big.NewInt(1)))
			w.SetFromBig(q)
		}
	}
	if len(workCache) < 1<<16 {
		workCache[bits] = w
	}
	return w
}

var (
	workMu    sync.Mutex
	workCache = map[uint32]uint256.Int{}
)
