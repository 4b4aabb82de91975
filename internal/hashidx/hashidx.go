// Package hashidx is an on-disk hash table from keys to row numbers, for
// columns whose rows carry their own keys: txids, block hashes, addresses.
//
// A slot holds no key, only a 32-bit tag of the key's hash and the row
// number; a lookup confirms each candidate by comparing the key in the
// caller's column. That makes the table derived data, which is what keeps it
// cheap: rows missing from it (a crash before it was synced) are inserted
// again from the column, and a slot naming a row at or past the caller's row
// count is as good as empty (lookups skip it, inserts reuse it), so a
// rollback or an unwind costs nothing here. (A slot of a rolled-back row that
// the next rows outnumber before it is reused stays as a dead entry, which
// lookups reject by its key, until the table is next rebuilt; an insert that
// meets a run too long asks for that rebuild.) A commit of the column need not
// sync the table: the header records how many rows the last sync covered.
// The file is mapped for random access, each fault reading only its own
// page; during a bulk ingest a small table may be mapped in 2 MiB pages
// (SetBulk), and the pages of one mostly out of memory are asked for ahead
// of the lookups (BeginBatch).
//
// spur writes its own table rather than keeping these keys in an LSM because
// ingest consults it for every input and output: a sorted index pays a sort,
// a write and later compactions for every key, where a slot costs one cache
// line.
//
// File layout (little-endian): a 4096-byte header, "SPURHIX\x00", version
// u32, bits u32 (2^bits slots), seed u64, covered rows u64, CRC-32C of the
// preceding 32 bytes u32; then 2^bits slots of 8 bytes each,
// (tag << 32) | (row + 1), 0 for an empty slot. A key's 64-bit hash, mixed
// with the seed, gives its home slot (its top bits, as many as the header's
// bits) and its tag (the 32 bits after them). Slots are read and written as
// machine words, atomically, so the format assumes a little-endian machine
// (amd64, arm64).
package hashidx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/spur-forensics/spur/internal/prefetch"
	"golang.org/x/sys/unix"
)

const (
	magic      = "SPURHIX\x00"
	version    = 1
	headerSize = 4096
	minBits    = 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Table is one open table. Lookup may run on many goroutines while one other
// inserts or grows it; Close must not run beside any other call.
type Table struct {
	path     string
	f        *os.File
	mm       []byte
	slots    []uint64
	bits     uint
	seed     uint64 // mixed into every hash: see place
	covered  uint64
	bulkRows uint64 // see SetBulk
	together int64  // see SetBulk
	huge     bool   // mapped in 2 MiB pages

	paging  bool // see BeginBatch
	batches int

	readOnly bool // see OpenReadOnly
}

// Open opens the table at path, creating it (or, when its header fails its
// checks, recreating it empty) with room for rows rows. Covered tells the
// caller which rows to insert again.
func Open(path string, rows uint64) (*Table, error) {
	os.Remove(path + ".tmp") // a rebuild a crash cut short
	t, err := open(path)
	if err != nil {
		if !errors.Is(err, errBad) {
			return nil, err
		}
		if t, err = create(path, bitsFor(rows), 0, 0); err != nil {
			return nil, err
		}
		if err := t.install(); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

var errBad = errors.New("hashidx: bad table")

// ErrMissing reports a table that is absent or damaged where it cannot be
// made again (OpenReadOnly).
var ErrMissing = errors.New("hashidx: table missing or damaged")

// OpenReadOnly opens the table at path for lookups only, for a store on a
// read-only file system: nothing may be inserted, synced or grown.
func OpenReadOnly(path string) (*Table, error) {
	t, err := openFile(path, true)
	if errors.Is(err, errBad) {
		return nil, fmt.Errorf("%w: %s", ErrMissing, path)
	}
	return t, err
}

func open(path string) (*Table, error) { return openFile(path, false) }

func openFile(path string, readOnly bool) (*Table, error) {
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errBad
	}
	if err != nil {
		return nil, fmt.Errorf("hashidx: %w", err)
	}
	var h [headerSize]byte
	st, err := f.Stat()
	if err == nil {
		_, err = f.ReadAt(h[:], 0)
	}
	if err != nil {
		f.Close()
		return nil, errBad
	}
	bits := uint(binary.LittleEndian.Uint32(h[12:]))
	if string(h[:8]) != magic || binary.LittleEndian.Uint32(h[8:]) != version ||
		binary.LittleEndian.Uint32(h[32:]) != crc32.Checksum(h[:32], castagnoli) ||
		bits < minBits || bits > 40 || st.Size() != headerSize+8<<bits {
		f.Close()
		return nil, errBad
	}
	t := &Table{path: path, f: f, bits: bits, seed: binary.LittleEndian.Uint64(h[16:]), covered: binary.LittleEndian.Uint64(h[24:]), readOnly: readOnly}
	if err := t.mmap(); err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

// create writes an empty table of 2^bits slots at path (through a temporary
// file, so a crash leaves the old one or the new one), mixing hashes with
// seed (0: a new random one).
func create(path string, bits uint, seed, covered uint64) (*Table, error) {
	for seed == 0 {
		seed = rand.Uint64()
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("hashidx: %w", err)
	}
	t := &Table{path: path, f: f, bits: bits, seed: seed, covered: covered}
	if err := f.Truncate(headerSize + 8<<bits); err != nil {
		f.Close()
		return nil, fmt.Errorf("hashidx: %w", err)
	}
	if err := t.mmap(); err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

// install makes a table made by create the one at path.
func (t *Table) install() error {
	if err := t.writeHeader(); err != nil {
		return err
	}
	if err := os.Rename(t.path+".tmp", t.path); err != nil {
		return fmt.Errorf("hashidx: %w", err)
	}
	d, err := os.Open(filepath.Dir(t.path))
	if err != nil {
		return fmt.Errorf("hashidx: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("hashidx: sync %s: %w", filepath.Dir(t.path), err)
	}
	return nil
}

func (t *Table) mmap() error {
	prot := unix.PROT_READ | unix.PROT_WRITE
	if t.readOnly {
		prot = unix.PROT_READ
	}
	mm, err := unix.Mmap(int(t.f.Fd()), 0, headerSize+8<<t.bits, prot, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("hashidx: mmap %s: %w", t.path, err)
	}
	// Lookups land on random slots all over the table: a fault should read
	// the one page it needs. Without this advice the kernel reads around
	// each fault, and 1,000 random slots of a 256 MiB table not in the page
	// cache read all 256 MiB instead of 4 MB.
	unix.Madvise(mm, unix.MADV_RANDOM)
	t.mm = mm
	t.slots = unsafe.Slice((*uint64)(unsafe.Pointer(&mm[headerSize])), 1<<t.bits)
	return nil
}

func bitsFor(rows uint64) uint {
	b := uint(minBits)
	for rows > maxLoad(b) {
		b++
	}
	return b
}

// maxLoad is the most rows a table of 2^bits slots takes: five eighths, where
// linear probing still finds most keys in the first cache line.
func maxLoad(bits uint) uint64 { return (uint64(1) << bits) / 8 * 5 }

// SetBulk says that about rows rows are about to go in (a bulk ingest; 0
// ends it), and that the tables set for the same ingest, this one included,
// take together bytes. When that is at least one row per 4 KiB page of the
// table, so that nearly every page would be written anyway, and the tables
// together take at most half the memory the process may fill (the
// machine's, or its control group's limit), the table is mapped in 2 MiB
// pages where the kernel keeps file pages that large: a random slot then
// costs one TLB entry per 2 MiB, which takes about a third off a lookup.
// Only then: a 2 MiB page is read, and written back, whole, so a few
// inserts (a few blocks, or following the tip) would write megabytes each,
// and tables the page cache cannot hold would read 512 times the bytes they
// need (BENCHMARKS.md, "When the tables do not fit in memory"). CloseForGood
// therefore drops a table so mapped from the page cache, and the next
// process faults it in 4 KiB pages. (An ingest killed before it closes
// leaves the large pages until the kernel evicts them.) Grow passes the
// setting on.
func (t *Table) SetBulk(rows uint64, together int64) {
	t.bulkRows, t.together = rows, together
	size := int64(len(t.mm))
	t.huge = rows > 0 && rows >= uint64(size)/4096 && together <= Memory()/2
	advice := unix.MADV_NOHUGEPAGE
	if t.huge {
		advice = unix.MADV_HUGEPAGE
	}
	unix.Madvise(t.mm, advice)
}

// Bytes is the size of the table's file.
func (t *Table) Bytes() int64 { return int64(len(t.mm)) }

// Populate brings every page of a table mapped in 2 MiB pages (SetBulk;
// otherwise it does nothing) into memory now, on workers goroutines,
// rather than a fault at a time as the first inserts land on them. A page
// of a new table is a hole in the file, which the kernel clears: on a
// virtual machine whose memory comes cold from its host that took about
// 5.5 ms a 2 MiB page from one thread, and two threads cleared pages 1.5
// times as fast. A kernel without MADV_POPULATE_READ (before Linux 5.14)
// refuses the advice, and the pages come in as before.
func (t *Table) Populate(workers int) {
	if !t.huge {
		return
	}
	const chunk = 2 << 20
	n := (len(t.mm) + chunk - 1) / chunk
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				unix.Madvise(t.mm[i*chunk:min(len(t.mm), (i+1)*chunk)], unix.MADV_POPULATE_READ)
			}
		}()
	}
	wg.Wait()
}

// Memory is the memory this process may fill: the machine's, or less
// where its control group has a memory limit (a container's, or a systemd
// unit's MemoryMax).
func Memory() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	total := int64(si.Totalram) * int64(si.Unit)
	cg, _ := os.ReadFile("/proc/self/cgroup")
	if lim, ok := cgroupLimit(string(cg), "/sys/fs/cgroup", os.ReadFile); ok && lim < total {
		return lim
	}
	return total
}

// cgroupLimit reads the memory limit of the control group that selfCgroup
// (the text of /proc/self/cgroup) names, under the hierarchy mounted at
// root: the least of memory.max in a unified (v2) hierarchy, or of
// memory.limit_in_bytes in v1's memory controller, over the group and the
// groups above it (a parent's limit bounds its children). No limit ("max",
// or v1's huge number, which the caller compares with the machine's
// memory) or no file found reports none. (A container with its own cgroup
// namespace sees its group as the root, whose file then holds its limit.)
func cgroupLimit(selfCgroup, root string, read func(string) ([]byte, error)) (int64, bool) {
	limit, found := int64(0), false
	for _, line := range strings.Split(strings.TrimSpace(selfCgroup), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, name string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, name = root, "memory.max"
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			dir, name = filepath.Join(root, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		for g := filepath.Clean("/" + parts[2]); ; g = filepath.Dir(g) {
			b, err := read(filepath.Join(dir, g, name))
			if err == nil {
				v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
				if err == nil && v > 0 && (!found || v < limit) { // "max": no limit
					limit, found = v, true
				}
			}
			if g == "/" {
				break
			}
		}
	}
	return limit, found
}

// Covered is how many rows the table held at its last Sync: rows from there
// on may be missing.
func (t *Table) Covered() uint64 { return t.covered }

// Path is the table's file.
func (t *Table) Path() string { return t.path }

// Size is the table's size on disk in bytes.
func (t *Table) Size() int64 { return int64(len(t.mm)) }

// Full reports whether a table holding rows rows must grow first.
func (t *Table) Full(rows uint64) bool { return rows > maxLoad(t.bits) }

// Room is how many rows the table takes before it is Full.
func (t *Table) Room() uint64 { return maxLoad(t.bits) }

// place returns the home slot of hash h and its tag: the top bits and the
// 32 bits after them of h mixed with the table's seed. The keys' own hashes
// are not keyed (a txid's first bytes; xxHash of an address), so whoever
// makes the keys could grind many that share a home slot and fill one run;
// mixed with a secret seed (the splitmix64 finalizer of h XOR seed, a
// bijection) their slots cannot be predicted.
func (t *Table) place(h uint64) (pos uint64, tag uint32) {
	h ^= t.seed
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h >> (64 - t.bits), uint32(h << t.bits >> 32)
}

// Lookup returns the highest row below limit whose slot matches hash h and
// for which match confirms the key. Keys may repeat; the last row wins.
func (t *Table) Lookup(h, limit uint64, match func(n uint64) bool) (uint64, bool) {
	pos, tag := t.place(h)
	m := uint64(len(t.slots) - 1)
	var best uint64
	found := false
	for i := pos; ; i = (i + 1) & m {
		s := atomic.LoadUint64(&t.slots[i])
		if s == 0 {
			return best, found
		}
		n := s&0xffffffff - 1
		if n < limit && uint32(s>>32) == tag && (!found || n > best) && match(n) {
			best, found = n, true
		}
	}
}

// LookupPresent is Lookup for a key the caller knows to be in the table
// below limit: a lone candidate (the only slot below limit with h's tag in
// h's run) must then be it, and is taken without match. With several, match
// decides as in Lookup. For a key that is not in fact there, a lone
// candidate is a different key whose hash shares the slot's run and all 32
// bits of the tag (about one chance in 2^32 per slot of the run), or the
// dead entry of the key itself, left by a rollback, whose row a later key
// took.
func (t *Table) LookupPresent(h, limit uint64, match func(n uint64) bool) (uint64, bool) {
	pos, tag := t.place(h)
	m := uint64(len(t.slots) - 1)
	var lone uint64
	count := 0
	for i := pos; ; i = (i + 1) & m {
		s := atomic.LoadUint64(&t.slots[i])
		if s == 0 {
			break
		}
		if n := s&0xffffffff - 1; n < limit && uint32(s>>32) == tag {
			lone = n
			count++
		}
	}
	switch count {
	case 0:
		return 0, false
	case 1:
		return lone, true
	}
	return t.Lookup(h, limit, match)
}

// maxProbe bounds the slots an insert walks. Random hashes at five-eighths
// load make runs of a few dozen slots at most; a run this long means the
// table is choked with dead entries (rows rolled back again and again) and
// must be rebuilt.
const maxProbe = 1 << 14

// Insert adds row n under hash h and reports true, or reports false when
// the table must be rebuilt first (Grow) because the run from h's home slot
// is too long. Slots naming rows at or past rows (the caller's count, n
// included) are free. The caller makes room with Grow first when Full(rows).
func (t *Table) Insert(h, n, rows uint64) bool {
	ok, _ := t.InsertSeeing(h, n, rows)
	return ok
}

// InsertSeeing is Insert that also reports whether another row below rows
// shares h's tag in h's run: a row of the same key, or of a key whose hash
// shares the tag. It walks the run to its end (in a table without dead
// entries, as a growth builds, that is the first free slot anyway).
func (t *Table) InsertSeeing(h, n, rows uint64) (ok, seen bool) {
	pos, tag := t.place(h)
	m := uint64(len(t.slots) - 1)
	v := uint64(tag)<<32 | (n + 1)
	i := pos
	for range maxProbe {
		s := atomic.LoadUint64(&t.slots[i])
		if s == 0 {
			if !ok {
				storeSlot(&t.slots[i], v)
			}
			return true, seen
		}
		if r := s&0xffffffff - 1; r >= rows {
			if !ok {
				storeSlot(&t.slots[i], v)
				ok = true
			}
		} else if uint32(s>>32) == tag && r != n {
			seen = true
		}
		i = (i + 1) & m
	}
	return ok, seen
}

// Candidate returns the first row below limit in h's run with h's tag: the
// row a lookup of h will most likely confirm, for the caller to prefetch.
func (t *Table) Candidate(h, limit uint64) (uint64, bool) {
	pos, tag := t.place(h)
	m := uint64(len(t.slots) - 1)
	for i := pos; ; i = (i + 1) & m {
		s := atomic.LoadUint64(&t.slots[i])
		if s == 0 {
			return 0, false
		}
		if n := s&0xffffffff - 1; n < limit && uint32(s>>32) == tag {
			return n, true
		}
	}
}

// LookupOrInsert is Lookup with limit n and, when no row matches, Insert of
// row n with rows n+1, in one walk of the slots: it returns the row found,
// or n with inserted set. It reports ok false when it found no row and the
// run was too long to insert into; the caller rebuilds the table (Grow)
// and tries again.
func (t *Table) LookupOrInsert(h, n uint64, match func(n uint64) bool) (row uint64, inserted, ok bool) {
	pos, tag := t.place(h)
	m := uint64(len(t.slots) - 1)
	var best uint64
	found := false
	free := -1 // first slot an insert may take, within maxProbe of home
	for i, probes := pos, 0; ; i, probes = (i+1)&m, probes+1 {
		s := atomic.LoadUint64(&t.slots[i])
		r := s&0xffffffff - 1
		if s == 0 || r > n { // empty, or a row past n: free
			if free < 0 && probes < maxProbe {
				free = int(i)
			}
			if s == 0 {
				break
			}
			continue
		}
		if r < n && uint32(s>>32) == tag && (!found || r > best) && match(r) {
			best, found = r, true
		}
	}
	if found {
		return best, false, true
	}
	if free < 0 {
		return 0, false, false
	}
	storeSlot(&t.slots[free], uint64(tag)<<32|(n+1))
	return n, true, true
}

// Grow builds the table's successor with room for room rows (at least
// rows), from the hashes of rows 0 to rows-1 (which hash returns), syncs it
// and puts it in the old one's place: it covers every row below rows. The
// old table stays mapped, for its readers, until the caller closes it. A
// crash in the middle leaves the old table.
func (t *Table) Grow(rows, room uint64, hash func(n uint64) uint64) (*Table, error) {
	nt, err := create(t.path, bitsFor(max(rows, room)), t.seed, rows)
	if err != nil {
		return nil, err
	}
	if t.bulkRows > 0 {
		// The rebuild writes every row.
		nt.SetBulk(max(t.bulkRows, rows), t.together-t.Bytes()+nt.Bytes())
	}
	for n := range rows {
		if !nt.Insert(hash(n), n, rows) {
			nt.Close()
			os.Remove(t.path + ".tmp")
			return nil, fmt.Errorf("hashidx: %s: a run of %d slots in a table built afresh: the key hashes are not spread", t.path, maxProbe)
		}
	}
	err = nt.sync()
	if err == nil {
		err = nt.install()
	}
	if err != nil {
		nt.Close()
		os.Remove(t.path + ".tmp")
		return nil, err
	}
	return nt, nil
}

// Sync makes the slots durable and records that rows below covered are in
// the table.
func (t *Table) Sync(covered uint64) error {
	t.covered = covered
	return t.sync()
}

// Uncover records, durably, that only rows below rows are covered, if the
// last sync covered more: after an unwind, rows from there on will be
// other keys, which a crash may leave out of the table, so the next open
// must insert them again.
func (t *Table) Uncover(rows uint64) error {
	if t.covered <= rows {
		return nil
	}
	t.covered = rows
	return t.writeHeader()
}

func (t *Table) sync() error {
	if err := unix.Msync(t.mm, unix.MS_SYNC); err != nil {
		return fmt.Errorf("hashidx: msync %s: %w", t.path, err)
	}
	return t.writeHeader()
}

func (t *Table) writeHeader() error {
	h := t.mm[:headerSize]
	copy(h, magic)
	binary.LittleEndian.PutUint32(h[8:], version)
	binary.LittleEndian.PutUint32(h[12:], uint32(t.bits))
	binary.LittleEndian.PutUint64(h[16:], t.seed)
	binary.LittleEndian.PutUint64(h[24:], t.covered)
	binary.LittleEndian.PutUint32(h[32:], crc32.Checksum(h[:32], castagnoli))
	if err := unix.Msync(h, unix.MS_SYNC); err != nil {
		return fmt.Errorf("hashidx: msync %s: %w", t.path, err)
	}
	return nil
}

// Close unmaps and closes the table without syncing it.
func (t *Table) Close() error { return t.close(false) }

// CloseForGood is Close for the table in its place at the end of a run
// (not one a rebuild replaced): one mapped in 2 MiB pages is written out
// and dropped from the page cache (see SetBulk).
func (t *Table) CloseForGood() error { return t.close(t.huge) }

func (t *Table) close(drop bool) error {
	if drop {
		drop = t.f.Sync() == nil
	}
	if t.mm != nil {
		unix.Munmap(t.mm)
		t.mm, t.slots = nil, nil
	}
	if drop {
		// Clean and no longer mapped, the pages can go.
		unix.Fadvise(int(t.f.Fd()), 0, 0, unix.FADV_DONTNEED)
	}
	return t.f.Close()
}

// Prefetch starts loading hash h's home slot into the cache and returns:
// the slots of many keys prefetched together arrive side by side, where
// lookups one after another wait for each cache miss in turn. While the
// table is paged (BeginBatch) it first asks the kernel for the slot's page.
func (t *Table) Prefetch(h uint64) {
	pos, _ := t.place(h)
	if t.paging {
		prefetch.Page(t.mm, headerSize+8*int(pos))
	}
	prefetch.At(unsafe.Pointer(&t.slots[pos]))
	// A run from a slot late in its cache line likely goes on into the
	// next line (runs are 2 to 4 slots long at the tables' loads).
	if pos%8 >= 6 && pos+2 < uint64(len(t.slots)) {
		prefetch.At(unsafe.Pointer(&t.slots[pos+2]))
	}
}

// A table larger than the memory left to it (mainnet's, on most machines)
// is mostly on disk, and a lookup of a slot not in memory waits for the
// disk to read its page. The processor's prefetch cannot help (a prefetch
// of a page not in memory is dropped), and the stages that look keys up
// fault one page at a time, so a disk that could read dozens of pages at
// once reads one. While a table is paged (BeginBatch), Prefetch therefore
// also asks the kernel for the key's page, and the kernel reads a batch's
// pages side by side.

// pagingEvery is how many batches (a stage's blocks) go by between two
// samples of what is in memory.
const pagingEvery = 16

// pagingBelow is the share of a sample's pages in memory under which the
// table is paged. Every key then costs a system call, most of them for a
// page already there when the share is high: with nine pages in ten in
// memory, an ingest paged took longer than one that was not (BENCHMARKS.md,
// "When the tables do not fit in memory"); with about half, it stored 1.8
// times the blocks in the same time.
const pagingBelow = 0.75

// BeginBatch is called before a batch of Prefetch calls (a block's keys).
// Every pagingEvery batches it samples which of the table's pages are in
// memory, and pages the table while too few are. BeginBatch and Prefetch
// must be called from one goroutine at a time.
func (t *Table) BeginBatch() {
	if t.huge {
		return // mapped in 2 MiB pages only when it fits (SetBulk)
	}
	if t.batches%pagingEvery == 0 {
		t.paging = prefetch.ResidentShare(t.mm) < pagingBelow
	}
	t.batches++
}
