package hashidx

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// These benchmarks measure what the kernel reads and writes for a table
// (/proc/self/io), which is what the choice of page size and access advice
// in SetBulk and mmap is about. Run them with -benchtime 3x: each round
// syncs or reads up to a whole 256 MiB table.

// ioBytes returns the bytes this process has made the kernel read from and
// write to storage.
func ioBytes(b *testing.B) (read, write int64) {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Skip("no /proc/self/io")
	}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		k, v, _ := bytes.Cut(line, []byte(": "))
		n, _ := strconv.ParseInt(string(v), 10, 64)
		switch string(k) {
		case "read_bytes":
			read = n
		case "write_bytes":
			write = n
		}
	}
	return read, write
}

// fullTable makes a 256 MiB table with every page written and synced, in
// 2 MiB pages when huge (as a bulk ingest leaves it).
func fullTable(b *testing.B, huge bool) *Table {
	tb, err := Open(filepath.Join(b.TempDir(), "t"), 20_000_000)
	if err != nil {
		b.Fatal(err)
	}
	if huge {
		if tb.SetBulk(20_000_000, tb.Bytes()); !tb.huge {
			b.Skip("the table is too large beside this machine's memory for huge pages")
		}
	}
	for i := range tb.slots {
		tb.slots[i] = uint64(i) | 1
	}
	if err := tb.Sync(0); err != nil {
		b.Fatal(err)
	}
	return tb
}

// BenchmarkSyncAfterFewChanges: the bytes written to change 1,000 random
// slots of a cached table and sync it, in 4 KiB and in 2 MiB pages.
func BenchmarkSyncAfterFewChanges(b *testing.B) {
	for _, huge := range []bool{false, true} {
		b.Run(map[bool]string{false: "4KiB", true: "2MiB"}[huge], func(b *testing.B) {
			tb := fullTable(b, huge)
			defer tb.Close()
			var written int64
			for b.Loop() {
				// The kernel counts a page's bytes as written when the
				// page is dirtied, and writes them at the sync.
				_, w0 := ioBytes(b)
				for range 1000 {
					tb.slots[rand.IntN(len(tb.slots))]++
				}
				if err := tb.Sync(0); err != nil {
					b.Fatal(err)
				}
				_, w1 := ioBytes(b)
				written += w1 - w0
			}
			b.ReportMetric(float64(written)/float64(b.N)/1e6, "MB-written/op")
		})
	}
}

// BenchmarkColdLookups: the bytes read to look at 1,000 random slots of a
// table not in the page cache, mapped for random access (as Open maps it)
// and with the kernel's default read-around.
func BenchmarkColdLookups(b *testing.B) {
	for _, advice := range []int{unix.MADV_RANDOM, unix.MADV_NORMAL} {
		b.Run(map[int]string{unix.MADV_RANDOM: "random", unix.MADV_NORMAL: "readaround"}[advice], func(b *testing.B) {
			tb := fullTable(b, false)
			path := tb.Path()
			tb.Close()
			var read int64
			for b.Loop() {
				f, err := os.Open(path)
				if err == nil {
					err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
					f.Close()
				}
				if err != nil {
					b.Fatal(err)
				}
				tb, err := Open(path, 0)
				if err != nil {
					b.Fatal(err)
				}
				unix.Madvise(tb.mm, advice)
				r0, _ := ioBytes(b)
				var sum uint64
				for range 1000 {
					sum += tb.slots[rand.IntN(len(tb.slots))]
				}
				r1, _ := ioBytes(b)
				read += r1 - r0
				tb.Close()
				if sum == 0 {
					b.Fatal("the table read as empty")
				}
			}
			b.ReportMetric(float64(read)/float64(b.N)/1e6, "MB-read/op")
		})
	}
}
