package evm

import (
	"bytes"
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
	for off < len(orig) && entries < 6 {
		off += 8 + int(binary.LittleEndian.Uint32(orig[off+2:]))
		entries++
	}
	f.Add(orig[:off])
	f.Add(orig[:off/2])
	f.Add([]byte{0x65, 0x32, 0, 0, 0, 0, 0, 0})
	// One directory for every input of a process: a directory made and
	// removed per input slows ext4's inode allocation to a crawl. The file
	// is removed and made anew, as rewriting it in place makes ext4 write
	// it to disk at every close.
	p := filepath.Join(f.TempDir(), "f.era1")
	f.Fuzz(func(t *testing.T, data []byte) {
		os.Remove(p)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := OpenEra1([]string{p}, sepoliaID)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		checkReads(t, nil, e.Next)
	})
}

// checkReads reads blocks with next until it fails (or 1,000 are read):
// the failure, or openErr when the source did not open, must be the end
// or an input error.
func checkReads(t *testing.T, openErr error, next func() (*Block, error)) {
	t.Helper()
	err := openErr
	for i := 0; err == nil && i < 1000; i++ {
		_, err = next()
	}
	if err != nil && err != io.EOF && !errors.Is(err, ErrInput) {
		t.Fatalf("not an input error: %v", err)
	}
}

// FuzzETL feeds damaged ethereum-etl exports (blocks.csv and
// transactions.csv) to the reader: blocks or an input error, never a panic.
func FuzzETL(f *testing.F) {
	dir := etlData + "test_export_blocks_job/blocks_with_transactions_and_withdrawals/"
	blocks, err := os.ReadFile(dir + "expected_blocks.csv")
	if err != nil {
		f.Fatal(err)
	}
	txs, err := os.ReadFile(dir + "expected_transactions.csv")
	if err != nil {
		f.Fatal(err)
	}
	// The headers, two blocks and their first transactions: small inputs
	// keep the fuzzer's minimizing quick.
	lines := func(b []byte, n int) []byte {
		cut := 0
		for range n {
			cut += bytes.IndexByte(b[cut:], '\n') + 1
		}
		return b[:cut]
	}
	f.Add(lines(blocks, 3), lines(txs, 6))
	f.Add(lines(blocks, 2), lines(txs, 2))
	d := f.TempDir() // one for every input, as in FuzzEra1
	f.Fuzz(func(t *testing.T, blocks, txs []byte) {
		for name, b := range map[string][]byte{"blocks.csv": blocks, "transactions.csv": txs} {
			os.Remove(filepath.Join(d, name))
			if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		e, err := OpenETL(d)
		if err != nil {
			checkReads(t, err, nil)
			return
		}
		defer e.Close()
		checkReads(t, nil, e.Next)
	})
}
