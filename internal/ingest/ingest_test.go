package ingest

import (
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/store"
)

const testdata = "../../testdata/btc"

func sample(name string) string { return filepath.Join(testdata, name) }

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func digest(t *testing.T, s *store.Store) string {
	t.Helper()
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// unbzip2 returns a bz2 sample's bytes, decompressed.
func unbzip2(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(sample(name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// btcdChain decodes a blk file with btcd, independently of spur.
func btcdChain(t *testing.T, name string) []*wire.MsgBlock {
	t.Helper()
	raw := unbzip2(t, name)
	var blocks []*wire.MsgBlock
	for len(raw) >= 8 && bytes.Equal(raw[:4], btc.Main.Magic[:]) {
		size := int(raw[4]) | int(raw[5])<<8 | int(raw[6])<<16 | int(raw[7])<<24
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(raw[8 : 8+size])); err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, &mb)
		raw = raw[8+size:]
	}
	return blocks
}

// TestMainnetLinkageAgainstBtcd ingests mainnet blocks 0..14131 and checks
// every transaction, input, output, spend link, fee and address total against
// what btcd's decoder and address extraction give.
func TestMainnetLinkageAgainstBtcd(t *testing.T) {
	s := openStore(t, t.TempDir())
	st, err := Files(context.Background(), s, []string{sample("blk_0_to_14131.dat.bz2")}, Options{CommitEvery: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != 14132 || st.Txs != 14247 || s.Height() != 14131 {
		t.Fatalf("ingested %+v, height %d", st, s.Height())
	}
	chain := btcdChain(t, "blk_0_to_14131.dat.bz2")
	type out struct {
		value int64
		addr  string
	}
	type spender struct {
		txid string
		vin  uint32
	}
	outs := map[wire.OutPoint]out{}
	spentBy := map[wire.OutPoint]spender{}
	type totals struct{ recv, sent int64 }
	addrs := map[string]*totals{}
	addrOf := func(script []byte) string {
		_, as, _, _ := txscript.ExtractPkScriptAddrs(script, &chaincfg.MainNetParams)
		if len(as) != 1 {
			return ""
		}
		return as[0].EncodeAddress()
	}
	for _, mb := range chain {
		for _, tx := range mb.Transactions {
			h := tx.TxHash()
			for vin, in := range tx.TxIn {
				if in.PreviousOutPoint.Index != 0xffffffff {
					spentBy[in.PreviousOutPoint] = spender{h.String(), uint32(vin)}
				}
			}
			for i, o := range tx.TxOut {
				a := addrOf(o.PkScript)
				outs[wire.OutPoint{Hash: h, Index: uint32(i)}] = out{o.Value, a}
			}
		}
	}
	for height, mb := range chain {
		for _, tx := range mb.Transactions {
			h := tx.TxHash()
			n, err := s.TxNum(h)
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.TxView(n)
			if err != nil {
				t.Fatal(err)
			}
			if *v.BlockHeight != int64(height) || v.BlockHash != mb.BlockHash().String() || len(v.Inputs) != len(tx.TxIn) || len(v.Outputs) != len(tx.TxOut) {
				t.Fatalf("tx %s: stored view differs: %+v", h, v)
			}
			var in, outSum int64
			for i, txin := range tx.TxIn {
				vi := v.Inputs[i]
				if blockchainCoinbase(tx) {
					if !vi.Coinbase || !v.IsCoinbase {
						t.Fatalf("tx %s: coinbase not marked", h)
					}
					continue
				}
				prev := outs[txin.PreviousOutPoint]
				if vi.PrevTxID != txin.PreviousOutPoint.Hash.String() || vi.PrevVout != txin.PreviousOutPoint.Index || *vi.Value != prev.value || vi.Address != prev.addr {
					t.Fatalf("tx %s input %d: %+v, want %s:%d value %d address %s", h, i, vi, txin.PreviousOutPoint.Hash, txin.PreviousOutPoint.Index, prev.value, prev.addr)
				}
				in += prev.value
				addrs[prev.addr].sent += prev.value
			}
			for i, o := range tx.TxOut {
				vo := v.Outputs[i]
				op := wire.OutPoint{Hash: h, Index: uint32(i)}
				a := outs[op].addr
				if vo.Value != o.Value || vo.Address != a {
					t.Fatalf("tx %s output %d: %+v", h, i, vo)
				}
				sp, spent := spentBy[op]
				if spent != (vo.SpentBy != nil) || spent && (vo.SpentBy.TxID != sp.txid || vo.SpentBy.Vin != sp.vin) {
					t.Fatalf("tx %s output %d: spent_by %+v, want %+v (spent %v)", h, i, vo.SpentBy, sp, spent)
				}
				outSum += o.Value
				if a != "" {
					if addrs[a] == nil {
						addrs[a] = &totals{}
					}
					addrs[a].recv += o.Value
				}
			}
			if !v.IsCoinbase && *v.Fee != in-outSum {
				t.Fatalf("tx %s: fee %d, want %d", h, *v.Fee, in-outSum)
			}
		}
	}
	for a, tot := range addrs {
		av, err := s.AddressView(a, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if av.Received != tot.recv || av.Sent != tot.sent || av.Balance != tot.recv-tot.sent {
			t.Fatalf("address %s: %+v, want received %d sent %d", a, av, tot.recv, tot.sent)
		}
	}
	// A committed store reopens to the same content.
	d := digest(t, s)
	s.Close()
	s2 := openStore(t, s.Dir())
	if digest(t, s2) != d {
		t.Fatal("digest changed on reopen")
	}
}

func blockchainCoinbase(tx *wire.MsgTx) bool {
	return len(tx.TxIn) == 1 && tx.TxIn[0].PreviousOutPoint.Index == 0xffffffff && tx.TxIn[0].PreviousOutPoint.Hash == (btc.Hash{})
}

// TestReorgUnwindIsExact replays btcd's real side chain (3A, 4A, 5A forking
// after block 2) and checks that the unwound store equals stores that never
// saw the stale blocks.
func TestReorgUnwindIsExact(t *testing.T) {
	ctx := context.Background()
	side := []string{sample("blk_3A.dat.bz2"), sample("blk_4A.dat.bz2"), sample("blk_5A.dat.bz2")}

	a := openStore(t, t.TempDir())
	if _, err := Files(ctx, a, []string{sample("blk_0_to_4.dat.bz2")}, Options{}); err != nil {
		t.Fatal(err)
	}
	if a.Height() != 4 {
		t.Fatalf("height %d", a.Height())
	}
	// 3A alone has less work than 3,4: nothing changes.
	before := digest(t, a)
	st, err := Files(ctx, a, side[:1], Options{})
	if err != nil || st.Unwound != 0 || st.Stale != 1 || digest(t, a) != before {
		t.Fatalf("a shorter side chain changed the store: %+v %v", st, err)
	}
	st, err = Files(ctx, a, side, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Unwound != 2 || st.Blocks != 3 || a.Height() != 5 {
		t.Fatalf("reorg: %+v", st)
	}

	// The same chain ingested without ever seeing blocks 3 and 4.
	b := openStore(t, t.TempDir())
	if _, err := Files(ctx, b, []string{sample("blk_0_to_4.dat.bz2")}, Options{StopHeight: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := Files(ctx, b, side, Options{}); err != nil {
		t.Fatal(err)
	}
	// And from all files at once, stale blocks included.
	c := openStore(t, t.TempDir())
	st, err = Files(ctx, c, append([]string{sample("blk_0_to_4.dat.bz2")}, side...), Options{})
	if err != nil || st.Stale != 2 {
		t.Fatalf("%+v %v", st, err)
	}
	da, db, dc := digest(t, a), digest(t, b), digest(t, c)
	if da != db || db != dc {
		t.Fatalf("digests differ: unwound %s, never saw stale %s, all at once %s", da, db, dc)
	}
	// Unwinding to height 2 equals a store that stopped there.
	if err := a.Unwind(2); err != nil {
		t.Fatal(err)
	}
	d := openStore(t, t.TempDir())
	if _, err := Files(ctx, d, []string{sample("blk_0_to_4.dat.bz2")}, Options{StopHeight: 2}); err != nil {
		t.Fatal(err)
	}
	if digest(t, a) != digest(t, d) {
		t.Fatal("unwound store differs from one that stopped at height 2")
	}
	// The unwound txs are gone from every lookup.
	if _, err := a.BlockHashAt(3); err == nil {
		t.Fatal("block 3 still there")
	}
}

// TestResumeEqualsCleanRun ingests in three runs and compares with one run.
func TestResumeEqualsCleanRun(t *testing.T) {
	ctx := context.Background()
	path := []string{sample("blk_0_to_14131.dat.bz2")}
	one := openStore(t, t.TempDir())
	if _, err := Files(ctx, one, path, Options{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, stop := range []int64{100, 7000, 0} {
		s := openStore(t, dir)
		if _, err := Files(ctx, s, path, Options{StopHeight: stop, CommitEvery: 333}); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	three := openStore(t, dir)
	if digest(t, one) != digest(t, three) {
		t.Fatal("resumed ingest differs from a single run")
	}
}

// TestIndexesRebuiltFromColumns deletes or damages the store's indexes
// (hash tables and postings runs, all derived from the columns) and checks
// that opening the store builds them again, identical in every answer.
func TestIndexesRebuiltFromColumns(t *testing.T) {
	ctx := context.Background()
	path := []string{sample("blk_0_to_14131.dat.bz2")}
	dir := t.TempDir()
	s := openStore(t, dir)
	if _, err := Files(ctx, s, path, Options{CommitEvery: 700}); err != nil {
		t.Fatal(err)
	}
	want := digest(t, s)
	s.Close()
	runs, _ := filepath.Glob(filepath.Join(dir, "postings", "*"))
	if len(runs) < 2 {
		t.Fatalf("%d postings runs after 20 commits", len(runs))
	}
	for _, damage := range []func(){
		func() { os.Remove(filepath.Join(dir, "tx.hidx")); os.Remove(filepath.Join(dir, "addr.hidx")) },
		func() { os.WriteFile(filepath.Join(dir, "block.hidx"), []byte("garbage"), 0o644) },
		func() { os.Remove(runs[0]) },
		func() { os.RemoveAll(filepath.Join(dir, "postings")) },
		func() {
			f, _ := os.OpenFile(runs[len(runs)-1], os.O_RDWR, 0)
			f.WriteAt([]byte("XXXX"), 0)
			f.Close()
		},
	} {
		runs, _ = filepath.Glob(filepath.Join(dir, "postings", "*"))
		damage()
		s := openStore(t, dir)
		if got := digest(t, s); got != want {
			t.Fatalf("rebuilt store's digest %s, want %s", got, want)
		}
		s.Close()
	}
	// A run whose header is sound but whose pairs are not is caught by the
	// digest's check of the indexes against the columns.
	runs, _ = filepath.Glob(filepath.Join(dir, "postings", "*"))
	f, err := os.OpenFile(runs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff, 0xff}, 32+4*3) // the fourth pair's address
	f.Close()
	s = openStore(t, dir)
	defer s.Close()
	if _, err := s.Digest(); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("digest of a store with a wrong posting: %v", err)
	}
}

// TestOutOfOrderBlocks writes mainnet blocks 0..499 into two blk files in a
// shuffled order, as a node that downloads blocks in parallel stores them,
// and checks the store equals one ingested in order.
func TestOutOfOrderBlocks(t *testing.T) {
	ctx := context.Background()
	files, err := btc.OpenBlockPaths([]string{sample("blk_0_to_14131.dat.bz2")}, btc.Main)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := files[0].Scan(btc.Main)
	if err != nil {
		t.Fatal(err)
	}
	refs = refs[:500]
	var frames [][]byte
	for _, r := range refs {
		raw, err := r.Read(nil)
		if err != nil {
			t.Fatal(err)
		}
		f := append(append([]byte{}, btc.Main.Magic[:]...), byte(len(raw)), byte(len(raw)>>8), byte(len(raw)>>16), byte(len(raw)>>24))
		frames = append(frames, append(f, raw...))
	}
	// A deterministic shuffle.
	for i := len(frames) - 1; i > 0; i-- {
		j := (i * 7919) % (i + 1)
		frames[i], frames[j] = frames[j], frames[i]
	}
	dir := t.TempDir()
	var a, b []byte
	for i, f := range frames {
		if i%2 == 0 {
			a = append(a, f...)
		} else {
			b = append(b, f...)
		}
	}
	os.WriteFile(filepath.Join(dir, "blk00000.dat"), a, 0o644)
	os.WriteFile(filepath.Join(dir, "blk00001.dat"), b, 0o644)
	shuffled := openStore(t, t.TempDir())
	st, err := Files(ctx, shuffled, []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != 500 || shuffled.Height() != 499 {
		t.Fatalf("%+v", st)
	}
	ordered := openStore(t, t.TempDir())
	if _, err := Files(ctx, ordered, []string{sample("blk_0_to_14131.dat.bz2")}, Options{StopHeight: 499}); err != nil {
		t.Fatal(err)
	}
	if digest(t, shuffled) != digest(t, ordered) {
		t.Fatal("shuffled block files give a different store")
	}
}

// TestTablesAfterUnwindAndPowerLoss unwinds a store whose hash tables a
// sync covered past the fork, appends the side chain, and then opens the
// store as a power loss would leave it: columns and META as committed, the
// tables as they were on disk when the unwind returned (their later inserts
// lost). The rows that now hold other keys must be inserted again on open.
func TestTablesAfterUnwindAndPowerLoss(t *testing.T) {
	ctx := context.Background()
	side := []string{sample("blk_3A.dat.bz2"), sample("blk_4A.dat.bz2"), sample("blk_5A.dat.bz2")}
	dir := t.TempDir()
	a := openStore(t, dir)
	if _, err := Files(ctx, a, []string{sample("blk_0_to_4.dat.bz2")}, Options{}); err != nil {
		t.Fatal(err)
	}
	a.Close() // syncs the tables: they cover heights 0..4
	a = openStore(t, dir)
	if err := a.Unwind(2); err != nil {
		t.Fatal(err)
	}
	tables := []string{"tx.hidx", "block.hidx", "addr.hidx"}
	durable := map[string][]byte{}
	for _, name := range tables {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		durable[name] = b
	}
	if _, err := Files(ctx, a, side, Options{}); err != nil {
		t.Fatal(err)
	}
	lost := t.TempDir()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			return os.Mkdir(filepath.Join(lost, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if old, ok := durable[rel]; ok {
			b = old
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(lost, rel), b, 0o644)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := digest(t, a)
	s := openStore(t, lost)
	if got := digest(t, s); got != want {
		t.Fatalf("store reopened after the loss: digest %s, want %s", got, want)
	}
	if h, err := s.BlockByHash(a.TipHash()); err != nil || h != 5 {
		t.Fatalf("side chain tip: height %d, %v", h, err)
	}
}

// decompressed writes a bz2 sample, decompressed, as blk00000.dat of a
// directory of its own, and returns the file's path.
func decompressed(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "blk00000.dat")
	if err := os.WriteFile(path, unbzip2(t, name), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// cancelOnWrite cancels a context at the blocks bar's first draw, which
// follows the run's first append (the scan's bar draws before it).
type cancelOnWrite context.CancelFunc

func (c cancelOnWrite) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("blocks ")) {
		c()
	}
	return len(p), nil
}

// TestCancelledIngest ends an ingest of a blk file on disk (mapped while
// its blocks are in flight) after its first block: the run returns the
// context's error once the store is done with every block it was given
// (the file is then unmapped), keeps what it committed (that block), and a
// rerun makes the store a single run makes.
func TestCancelledIngest(t *testing.T) {
	blocks := filepath.Dir(decompressed(t, "blk_0_to_14131.dat.bz2"))
	s := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Files(ctx, s, []string{blocks}, Options{CommitEvery: 1, Progress: cancelOnWrite(cancel)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	if h := s.Height(); h != 0 {
		t.Fatalf("cancelled after its first block, committed, the run left height %d", h)
	}
	if _, err := Files(context.Background(), s, []string{blocks}, Options{}); err != nil {
		t.Fatal(err)
	}
	whole := openStore(t, t.TempDir())
	if _, err := Files(context.Background(), whole, []string{blocks}, Options{}); err != nil {
		t.Fatal(err)
	}
	if digest(t, s) != digest(t, whole) {
		t.Fatal("a cancelled run, resumed, differs from a single run")
	}
}

// decompressedBlocks writes the blk file of testdata's name decompressed
// to a temporary directory and returns its path and its blocks, their file
// open until the test ends.
func decompressedBlocks(t *testing.T, name string) (string, []btc.BlockRef) {
	t.Helper()
	path := decompressed(t, name)
	files, err := btc.OpenBlockPaths([]string{path}, btc.Main)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files[0].Close() })
	refs, err := files[0].Scan(btc.Main)
	if err != nil {
		t.Fatal(err)
	}
	return path, refs
}

// TestBlockFileCutShort decodes a block from the mapping of a blk file cut
// short after it was mapped: an error that says so, not a crash.
func TestBlockFileCutShort(t *testing.T) {
	name, refs := decompressedBlocks(t, "blk_0_to_14131.dat.bz2")
	last := refs[len(refs)-1]
	last.File.Map()
	p := &store.PreparedBlock{Block: new(btc.Block)}
	block, err := last.Bytes(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := decode(p, block); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(name, 0); err != nil {
		t.Fatal(err)
	}
	err = decode(p, block)
	if !errors.Is(err, btc.ErrCorrupt) || !strings.Contains(err.Error(), "cut short") {
		t.Fatalf("decoding a block whose file was cut short: %v", err)
	}
}

// TestCountsOfAFailedRun: a run that meets a bad block after some commits
// reports the blocks, transactions, inputs and outputs the store kept, not
// those it appended and then rolled back.
func TestCountsOfAFailedRun(t *testing.T) {
	path, refs := decompressedBlocks(t, "blk_0_to_14131.dat.bz2")
	// A byte of block 5200's coinbase changed: its merkle root fails.
	raw, _ := os.ReadFile(path)
	raw[refs[5200].Offset+btc.HeaderSize+10] ^= 0xff
	os.WriteFile(path, raw, 0o644)

	s := openStore(t, t.TempDir())
	st, err := Files(context.Background(), s, []string{path}, Options{CommitEvery: 1000})
	if !errors.Is(err, btc.ErrCorrupt) || !strings.Contains(err.Error(), "merkle") {
		t.Fatalf("run over a bad block: %v", err)
	}
	c := s.Counts()
	if s.Height() != 4999 || st.Blocks != int64(c.Blocks) || st.Txs != int64(c.Txs) || st.Inputs != int64(c.Inputs) || st.Outputs != int64(c.Outputs) {
		t.Fatalf("store at height %d with %+v; the run reported %d blocks, %d txs, %d inputs, %d outputs",
			s.Height(), c, st.Blocks, st.Txs, st.Inputs, st.Outputs)
	}
}

// TestScanManyFiles: the mainnet sample split over ten blk files, which are
// scanned several at once, makes the store the single file makes; with two
// files damaged, the error names the first of them, whichever scan ends
// first.
func TestScanManyFiles(t *testing.T) {
	path, refs := decompressedBlocks(t, "blk_0_to_14131.dat.bz2")
	raw, _ := os.ReadFile(path)
	dir := t.TempDir()
	const n = 10
	var names []string
	for k := range n {
		first, last := refs[k*len(refs)/n], refs[(k+1)*len(refs)/n-1]
		name := filepath.Join(dir, fmt.Sprintf("blk%05d.dat", k))
		os.WriteFile(name, raw[first.Offset-8:last.Offset+int64(last.Size)], 0o644)
		names = append(names, name)
	}
	one, many := openStore(t, t.TempDir()), openStore(t, t.TempDir())
	if _, err := Files(context.Background(), one, []string{path}, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Files(context.Background(), many, []string{dir}, Options{}); err != nil {
		t.Fatal(err)
	}
	if digest(t, one) != digest(t, many) {
		t.Fatal("the sample in ten files makes another store than in one")
	}
	for _, k := range []int{6, 2} {
		b, _ := os.ReadFile(names[k])
		b[0] ^= 0xff // the first block's magic
		os.WriteFile(names[k], b, 0o644)
	}
	_, err := Files(context.Background(), openStore(t, t.TempDir()), []string{dir}, Options{})
	if !errors.Is(err, btc.ErrCorrupt) || !strings.Contains(err.Error(), "blk00002.dat: offset 0: magic") {
		t.Fatalf("two damaged files: %v", err)
	}
}

// An ingest whose hash tables take more than half the memory says so before
// it starts, and one whose tables fit does not.
func TestTablesBeyondMemoryWarned(t *testing.T) {
	defer func(m func() int64) { memory = m }(memory)
	for _, c := range []struct {
		memory int64
		warn   bool
	}{{1 << 20, true}, {1 << 40, false}} {
		memory = func() int64 { return c.memory }
		var log bytes.Buffer
		s := openStore(t, t.TempDir())
		_, err := Files(context.Background(), s, []string{sample("blk_0_to_4.dat.bz2")}, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		tables := s.TableBytes()
		if got := strings.Contains(log.String(), "tables take more than half the memory"); got != c.warn {
			t.Errorf("tables of %d bytes, memory %d: warned %v, want %v; log:\n%s", tables, c.memory, got, c.warn, log.String())
		}
	}
}
