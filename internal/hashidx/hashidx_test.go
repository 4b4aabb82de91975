package hashidx

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/prefetch"
	"golang.org/x/sys/unix"
)

// keys are random 32-byte keys, as txids are; a key's hash is its first 8
// bytes, as the Bitcoin store takes it.
type keys [][32]byte

func newKeys(n int, seed uint64) keys {
	r := rand.New(rand.NewPCG(seed, 1))
	k := make(keys, n)
	for i := range k {
		for j := 0; j < 32; j += 8 {
			binary.LittleEndian.PutUint64(k[i][j:], r.Uint64())
		}
	}
	return k
}

func (k keys) hash(n uint64) uint64 { return binary.LittleEndian.Uint64(k[n][:8]) }

func (k keys) find(t *Table, key [32]byte, limit uint64) (uint64, bool) {
	return t.Lookup(binary.LittleEndian.Uint64(key[:8]), limit, func(n uint64) bool { return n < uint64(len(k)) && k[n] == key })
}

// findAll fails the test unless every row of k is found as itself.
func (k keys) findAll(t testing.TB, tb *Table, when string) {
	t.Helper()
	for n := range k {
		if got, ok := k.find(tb, k[n], uint64(len(k))); !ok || got != uint64(n) {
			t.Fatalf("%s: row %d: got %d %v", when, n, got, ok)
		}
	}
}

// openTemp opens a new table with room for rows rows in a temporary
// directory.
func openTemp(t testing.TB, rows uint64) *Table {
	t.Helper()
	tb, err := Open(filepath.Join(t.TempDir(), "t"), rows)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// insert adds rows [from, to), growing the table as the store does, and
// returns the table (a new one after a growth).
func (k keys) insert(t testing.TB, tb *Table, from, to uint64) *Table {
	t.Helper()
	for n := from; n < to; n++ {
		if tb.Full(n + 1) {
			nt, err := tb.Grow(n+1, 2*(n+1), k.hash)
			if err != nil {
				t.Fatal(err)
			}
			tb.Close()
			tb = nt
		}
		if !tb.Insert(k.hash(n), n, n+1) {
			t.Fatalf("row %d: a run of %d slots", n, maxProbe)
		}
	}
	return tb
}

func TestInsertLookupGrowReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tx.hidx")
	tb, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeys(300_000, 1)
	tb = k.insert(t, tb, 0, uint64(len(k)))
	if tb.bits <= minBits {
		t.Fatalf("table did not grow: %d bits", tb.bits)
	}
	k.findAll(t, tb, "after inserts")
	for _, miss := range newKeys(1000, 2) {
		if n, ok := k.find(tb, miss, uint64(len(k))); ok {
			t.Fatalf("absent key found as row %d", n)
		}
	}
	// Rows at or past the limit are not there.
	if _, ok := k.find(tb, k[200_000], 200_000); ok {
		t.Fatal("row past the limit found")
	}
	if err := tb.Sync(250_000); err != nil {
		t.Fatal(err)
	}
	tb.Close()
	tb, err = Open(path, 250_000)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { tb.Close() }()
	if tb.Covered() != 250_000 {
		t.Fatalf("covered %d after reopen", tb.Covered())
	}
	k.findAll(t, tb, "after a sync and reopen")
	// An unwind to 100,000 rows lowers what the header claims, durably;
	// uncovering more than is covered changes nothing.
	for _, rows := range []uint64{100_000, 200_000} {
		if err := tb.Uncover(rows); err != nil {
			t.Fatal(err)
		}
	}
	tb.Close()
	if tb, err = Open(path, 0); err != nil {
		t.Fatal(err)
	}
	if tb.Covered() != 100_000 {
		t.Fatalf("covered %d after an uncover to 100,000 and reopen", tb.Covered())
	}
}

// A rollback needs no deletes: rows past the caller's count are skipped by
// lookups and their slots taken by the next inserts.
func TestStaleRowsAreFree(t *testing.T) {
	tb := openTemp(t, 0)
	defer func() { tb.Close() }()
	k := newKeys(20_000, 3)
	tb = k.insert(t, tb, 0, 20_000)
	// Roll back to 10,000 rows; rows 10,000.. become other keys.
	other := newKeys(10_000, 4)
	k2 := append(append(keys(nil), k[:10_000]...), other...)
	for n := uint64(10_000); n < 20_000; n++ {
		tb.Insert(k2.hash(n), n, n+1)
	}
	k2.findAll(t, tb, "after the rollback")
	for n := 10_000; n < 20_000; n++ {
		if _, ok := k2.find(tb, k[n], 20_000); ok {
			t.Fatalf("rolled-back key of row %d still found", n)
		}
	}
	// A rebuild drops the dead slots.
	nt, err := tb.Grow(20_000, 0, k2.hash)
	if err != nil {
		t.Fatal(err)
	}
	tb.Close()
	tb = nt
	used := 0
	for _, s := range tb.slots {
		if s != 0 {
			used++
		}
	}
	if used != 20_000 {
		t.Fatalf("%d slots used for 20,000 rows after a rebuild", used)
	}
	k2.findAll(t, tb, "after a rebuild")
}

// A key held by two rows (Bitcoin's two duplicated coinbase txids) names
// the later row, or the earlier one when the later is past the limit.
func TestDuplicateKeys(t *testing.T) {
	tb := openTemp(t, 0)
	defer func() { tb.Close() }()
	k := newKeys(100, 5)
	k[70] = k[30]
	tb = k.insert(t, tb, 0, 100)
	if n, ok := k.find(tb, k[30], 100); !ok || n != 70 {
		t.Fatalf("got %d %v, want the later row 70", n, ok)
	}
	if n, ok := k.find(tb, k[30], 70); !ok || n != 30 {
		t.Fatalf("got %d %v below 70, want 30", n, ok)
	}
}

// A table whose header fails its checks is recreated empty; the caller
// inserts its rows again from the column.
func TestDamagedTableStartsOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t")
	tb, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeys(1000, 6)
	tb = k.insert(t, tb, 0, 1000)
	if err := tb.Sync(1000); err != nil {
		t.Fatal(err)
	}
	tb.Close()
	for _, damage := range []func(){
		func() { os.Truncate(path, 5000) },
		func() {
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			f.WriteAt([]byte{0xff}, 24)
			f.Close()
		},
		func() { os.WriteFile(path, []byte("not a table"), 0o644) },
	} {
		damage()
		tb, err := Open(path, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if tb.Covered() != 0 {
			t.Fatalf("damaged table claims %d rows", tb.Covered())
		}
		if _, ok := k.find(tb, k[5], 1000); ok {
			t.Fatal("damaged table still answers")
		}
		tb = k.insert(t, tb, 0, 1000)
		tb.Sync(1000)
		tb.Close()
	}
}

// Lookups run beside one goroutine inserting (the race detector checks it).
func TestLookupsBesideInserts(t *testing.T) {
	tb := openTemp(t, 100_000)
	defer func() { tb.Close() }()
	k := newKeys(50_000, 7)
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20_000; i++ {
				n := (i*7 + g) % 1000
				k.find(tb, k[n], 50_000)
			}
		}()
	}
	for n := uint64(0); n < 50_000; n++ {
		tb.Insert(k.hash(n), n, n+1)
	}
	wg.Wait()
}

// BenchmarkInsertLookup inserts 2^20 random keys, growing as the store
// does, then looks each up, confirming it against the keys as the store
// confirms against its column. BenchmarkGoMap does the same with a Go map
// from the 64-bit hash to the row (what the store kept in memory before),
// the baseline.
func BenchmarkInsertLookup(b *testing.B) {
	k := newKeys(1<<20, 8)
	for b.Loop() {
		tb, err := Open(filepath.Join(b.TempDir(), "t"), 0)
		if err != nil {
			b.Fatal(err)
		}
		tb = k.insert(b, tb, 0, uint64(len(k)))
		for n := range k {
			k.find(tb, k[n], uint64(len(k)))
		}
		tb.Close()
	}
}

func BenchmarkGoMap(b *testing.B) {
	k := newKeys(1<<20, 8)
	for b.Loop() {
		m := map[uint64]uint32{}
		for n := uint64(0); n < uint64(len(k)); n++ {
			m[k.hash(n)] = uint32(n)
		}
		for n := range k {
			if r, ok := m[k.hash(uint64(n))]; !ok || k[r] != k[n] {
				b.Fatal("lost")
			}
		}
	}
}

// Keys made to share their hashes' top bits (an address grinder aiming at
// one run of slots) still spread over the table: the seed mixed into every
// hash is unknown to whoever makes the keys.
func TestGroundKeysSpread(t *testing.T) {
	tb := openTemp(t, 0)
	defer func() { tb.Close() }()
	k := newKeys(30_000, 9)
	for i := range k {
		// The same top 32 bits in every hash (bytes 4..7 of the
		// little-endian word).
		copy(k[i][4:8], []byte{1, 2, 3, 4})
	}
	tb = k.insert(t, tb, 0, uint64(len(k)))
	k.findAll(t, tb, "with a duplicate key")
}

// LookupOrInsert answers as Lookup and then Insert would, through
// rollbacks that leave dead and stale slots: each row is a key drawn from
// a small pool (so most draws are found), and the table must give the
// last row below the count holding the key, or take the key as a new row.
func TestLookupOrInsert(t *testing.T) {
	tb := openTemp(t, 0)
	defer func() { tb.Close() }()
	pool := newKeys(30_000, 5)
	rng := rand.New(rand.NewPCG(6, 7))
	var rows keys // the column: row n's key
	hash := func(n uint64) uint64 { return binary.LittleEndian.Uint64(rows[n][:8]) }
	rowOf := map[[32]byte]uint64{} // what the table should answer
	adds, finds := 0, 0
	for step := range 200_000 {
		if step%20_000 == 19_999 { // a rollback
			keep := len(rows) - rng.IntN(len(rows)/4)
			for _, k := range rows[keep:] {
				delete(rowOf, k)
			}
			rows = rows[:keep]
		}
		key := pool[rng.IntN(len(pool))]
		n := uint64(len(rows))
		want, wantFound := rowOf[key]
		if tb.Full(n + 1) {
			nt, err := tb.Grow(n, 2*(n+1), hash)
			if err != nil {
				t.Fatal(err)
			}
			tb.Close()
			tb = nt
		}
		got, added, ok := tb.LookupOrInsert(binary.LittleEndian.Uint64(key[:8]), n, func(m uint64) bool { return rows[m] == key })
		switch {
		case !ok:
			t.Fatalf("step %d: no slot in a table of %d slots for row %d", step, len(tb.slots), n)
		case wantFound && (added || got != want):
			t.Fatalf("step %d: key of row %d: got %d (added %v)", step, want, got, added)
		case !wantFound && (!added || got != n):
			t.Fatalf("step %d: new key: got %d (added %v), want it added as %d", step, got, added, n)
		}
		if added {
			rows = append(rows, key)
			rowOf[key] = n
			adds++
		} else {
			finds++
		}
	}
	if adds < 20_000 || finds < 20_000 {
		t.Fatalf("%d adds and %d finds: the test exercised too little", adds, finds)
	}
}

// A table takes huge pages only for a bulk of rows into tables that fit in
// memory, keeps them through growth, and a table closed for good
// (its pages dropped from the page cache when they were huge) reopens with
// every row.
func TestBulkModeGrowAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t")
	tb, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A few rows into the empty table's 128 pages: 4 KiB pages.
	if tb.SetBulk(100, tb.Bytes()); tb.huge {
		t.Fatal("a table taking 100 rows in 128 pages mapped in huge pages")
	}
	k := newKeys(100_000, 8)
	// Tables that together take more than half the memory: 4 KiB pages.
	if tb.SetBulk(uint64(len(k)), Memory()/2+1); tb.huge {
		t.Fatal("tables taking more than half the memory mapped in huge pages")
	}
	if tb.SetBulk(uint64(len(k)), tb.Bytes()); !tb.huge {
		t.Fatalf("a %d-byte table taking %d rows not mapped in huge pages", len(tb.mm), len(k))
	}
	tb = k.insert(t, tb, 0, uint64(len(k)))
	if tb.bits <= minBits || tb.bulkRows == 0 || !tb.huge {
		t.Fatalf("after growing to %d bits: bulk rows %d, huge %v", tb.bits, tb.bulkRows, tb.huge)
	}
	if err := tb.Sync(uint64(len(k))); err != nil {
		t.Fatal(err)
	}
	if err := tb.CloseForGood(); err != nil {
		t.Fatal(err)
	}
	if tb, err = Open(path, 0); err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	if tb.bulkRows != 0 || tb.huge || tb.Covered() != uint64(len(k)) {
		t.Fatalf("reopened: bulk rows %d, huge %v, covered %d", tb.bulkRows, tb.huge, tb.Covered())
	}
	k.findAll(t, tb, "after closing for good")
}

// A rebuild whose new table cannot be put in the old one's place fails,
// leaves no temporary file, and the old table goes on answering.
func TestGrowThatCannotInstall(t *testing.T) {
	tb := openTemp(t, 0)
	defer tb.Close()
	k := newKeys(1000, 3)
	tb = k.insert(t, tb, 0, uint64(len(k)))
	// A non-empty directory where the table's file was: the rename fails.
	if err := os.Remove(tb.Path()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tb.Path(), "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	nt, err := tb.Grow(uint64(len(k)), 1<<20, k.hash)
	if err == nil {
		nt.Close()
		t.Fatal("a rebuild installed over a directory")
	}
	if _, err := os.Stat(tb.Path() + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("the rebuild's temporary file is left: %v", err)
	}
	k.findAll(t, tb, "after the failed rebuild")
}

// TestLookupPresent: a present key with no other candidate is found without
// match; keys sharing a hash (two rows of one key, or two keys) are decided
// by match as in Lookup; rows at or past the limit do not count.
func TestLookupPresent(t *testing.T) {
	k := newKeys(5000, 9)
	tb := k.insert(t, openTemp(t, 5000), 0, 5000)
	defer tb.Close()
	never := func(uint64) bool { t.Fatal("match called for a lone candidate"); return false }
	for n := range k {
		if got, ok := tb.LookupPresent(k.hash(uint64(n)), uint64(len(k)), never); !ok || got != uint64(n) {
			t.Fatalf("row %d: got %d %v", n, got, ok)
		}
	}
	if _, ok := tb.LookupPresent(k.hash(4999), 4999, never); ok {
		t.Fatal("row 4999 found below limit 4999")
	}
	// Row 5000 repeats row 7's hash (another key, or the same key again):
	// now match decides, and the last row it accepts wins.
	if !tb.Insert(k.hash(7), 5000, 5001) {
		t.Fatal("insert")
	}
	calls := 0
	for _, accept := range []uint64{7, 5000} {
		got, ok := tb.LookupPresent(k.hash(7), 5001, func(n uint64) bool { calls++; return n == accept })
		if !ok || got != accept {
			t.Fatalf("accepting row %d: got %d %v", accept, got, ok)
		}
	}
	if calls == 0 {
		t.Fatal("two candidates taken without match")
	}
	if got, ok := tb.LookupPresent(k.hash(7), 5000, never); !ok || got != 7 {
		t.Fatalf("below row 5000: got %d %v", got, ok)
	}
}

// InsertSeeing reports a key already in the table below the row count,
// and nothing for a new key, or for the slot of the very row it inserts (a
// row appended again after a rollback).
func TestInsertSeeing(t *testing.T) {
	k := newKeys(3001, 11)
	k[3000] = k[5]
	tb := k.insert(t, openTemp(t, 6000), 0, 2000)
	defer tb.Close()
	for n := uint64(2000); n < 3000; n++ {
		if ok, seen := tb.InsertSeeing(k.hash(n), n, n+1); !ok || seen {
			t.Fatalf("new key %d: ok %v seen %v", n, ok, seen)
		}
	}
	if ok, seen := tb.InsertSeeing(k.hash(2999), 2999, 3000); !ok || seen {
		t.Fatalf("row 2999 again: ok %v seen %v", ok, seen)
	}
	if ok, seen := tb.InsertSeeing(k.hash(3000), 3000, 3001); !ok || !seen {
		t.Fatalf("key of row 5 again: ok %v seen %v", ok, seen)
	}
	for _, n := range []uint64{0, 1999, 2000, 2999} {
		if got, ok := k.find(tb, k[n], 3001); !ok || got != n {
			t.Fatalf("key of row %d names %d %v", n, got, ok)
		}
	}
	if got, ok := k.find(tb, k[5], 3001); !ok || got != 3000 {
		t.Fatalf("key of rows 5 and 3000 names %d %v, want the later", got, ok)
	}
}

// TestPopulate checks that Populate brings a bulk table's pages into
// memory (mincore) and leaves its slots as they were.
func TestPopulate(t *testing.T) {
	tb, err := Open(filepath.Join(t.TempDir(), "t"), 3_000_000)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	if tb.SetBulk(3_000_000, tb.Bytes()); !tb.huge {
		t.Skip("the table is too large beside this machine's memory for huge pages")
	}
	tb.slots[12345] = 7
	before := residentPages(t, tb.mm)
	tb.Populate(2)
	after := residentPages(t, tb.mm)
	if before > len(tb.mm)/4096/4 || after != len(tb.mm)/4096 {
		t.Fatalf("pages resident: %d before, %d after, of %d", before, after, len(tb.mm)/4096)
	}
	if tb.slots[12345] != 7 || tb.slots[12346] != 0 {
		t.Fatal("Populate changed the slots")
	}
}

// residentPages counts the pages of mapping mm in memory.
func residentPages(t *testing.T, mm []byte) int {
	t.Helper()
	vec := make([]byte, (len(mm)+4095)/4096)
	if err := prefetch.Resident(mm, vec); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// A table whose pages are on disk is paged: BeginBatch says so, and
// Prefetch reads the pages of the keys asked for without a fault. Once in
// memory, it is not.
func TestPaging(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t")
	tb, err := Open(path, 200_000)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeys(100_000, 8)
	tb = k.insert(t, tb, 0, uint64(len(k)))
	if err := tb.Sync(uint64(len(k))); err != nil {
		t.Fatal(err)
	}
	if tb.BeginBatch(); tb.paging {
		t.Fatal("a table just written is paged")
	}
	tb.Close()
	// Synced and no longer mapped, its pages can be dropped.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if tb, err = Open(path, 0); err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	if n := residentPages(t, tb.mm); n > len(tb.mm)/4096/4 {
		t.Skipf("%d of %d pages still in memory: this file system keeps them", n, len(tb.mm)/4096)
	}
	if tb.BeginBatch(); !tb.paging {
		t.Fatal("a table out of memory is not paged")
	}
	// Ask for the pages of a tenth of the keys; they come in with no
	// access to the mapping.
	want := map[int]bool{}
	for n := range uint64(10_000) {
		h := k.hash(n)
		tb.Prefetch(h)
		pos, _ := tb.place(h)
		want[(headerSize+8*int(pos))/4096] = true
	}
	vec := make([]byte, len(tb.mm)/4096)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := prefetch.Resident(tb.mm, vec); err != nil {
			t.Fatal(err)
		}
		missing := 0
		for p := range want {
			if vec[p]&1 == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d pages asked for not read", missing, len(want))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Every page in memory: the next sample stops the paging.
	for i := 0; i < len(tb.mm); i += 4096 {
		_ = tb.mm[i]
	}
	for range pagingEvery {
		tb.BeginBatch()
	}
	if tb.paging {
		t.Fatal("a table in memory is still paged")
	}
	k.findAll(t, tb, "after paging")
}

func TestCgroupLimit(t *testing.T) {
	files := map[string]string{
		"/cg/user.slice/ingest.scope/memory.max":      "1073741824\n",
		"/cg/unlimited/memory.max":                    "max\n",
		"/cg/memory/docker/abc/memory.limit_in_bytes": "629145600\n",
		"/cg/memory/process/x/memory.limit_in_bytes":  "9223372036854771712\n",
		"/cg/memory/bad/memory.limit_in_bytes":        "lots\n",
		"/cg/user.slice/memory.max":                   "max\n",
		"/cg/kubepods/memory.max":                     "2147483648\n",
		"/cg/kubepods/pod1/memory.max":                "max\n",
		"/cg/kubepods/pod1/app/memory.max":            "4294967296\n",
	}
	read := func(name string) ([]byte, error) {
		if v, ok := files[name]; ok {
			return []byte(v), nil
		}
		return nil, os.ErrNotExist
	}
	for _, c := range []struct {
		self string
		want int64
		ok   bool
	}{
		{"0::/user.slice/ingest.scope\n", 1 << 30, true},
		{"0::/unlimited\n", 0, false},
		{"0::/\n", 0, false}, // a container's own group
		{"9:name=systemd:/\n4:memory:/docker/abc\n0::/\n", 600 << 20, true},
		{"4:cpu,memory:/docker/abc\n", 600 << 20, true},
		{"4:memory:/process/x\n", 9223372036854771712, true}, // v1's "no limit", above any machine's memory
		{"4:memory:/bad\n", 0, false},
		{"4:cpuset:/docker/abc\n", 0, false},
		{"0::/kubepods/pod1/app\n", 2 << 30, true}, // the parent's limit is the lower
		{"0::/kubepods/pod1\n", 2 << 30, true},

		{"", 0, false},
	} {
		got, ok := cgroupLimit(c.self, "/cg", read)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: limit %d %v, want %d %v", c.self, got, ok, c.want, c.ok)
		}
	}
	// A container in its own cgroup namespace: its group is the root.
	files["/ns/memory.max"] = "536870912\n"
	if got, ok := cgroupLimit("0::/\n", "/ns", read); got != 512<<20 || !ok {
		t.Errorf("a namespaced container's root group: limit %d %v, want %d", got, ok, 512<<20)
	}
}
