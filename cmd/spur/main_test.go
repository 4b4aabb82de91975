package main

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/export"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testdir"
	"github.com/spur-forensics/spur/internal/world"
)

// spurBin is the spur binary the tests run as a user would.
var spurBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spur-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	spurBin = filepath.Join(dir, "spur")
	if out, err := exec.Command("go", "build", "-o", spurBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building spur: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testdata = "../../testdata/btc"

func sample(name string) string { p, _ := filepath.Abs(filepath.Join(testdata, name)); return p }

type result struct {
	stdout, stderr string
	code           int
}

func run(t testing.TB, args ...string) result {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv runs spur with env added to the test's environment. A run that
// has not ended in five minutes (a command waiting for something that never
// comes) is killed and fails the test.
func runEnv(t testing.TB, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, spurBin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("spur %s: still running after 5 minutes; killed\n%s", strings.Join(args, " "), errb.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func mustRun(t testing.TB, args ...string) string {
	t.Helper()
	r := run(t, args...)
	if r.code != 0 {
		t.Fatalf("spur %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

func digestOf(t *testing.T, dir string) string {
	t.Helper()
	return strings.TrimSpace(mustRun(t, "store", "digest", "--store", dir))
}

func unbz2(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(sample(name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(bzip2.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// killRuns starts n runs of cmd one after another and kills each with
// SIGKILL if it is still going after delay(rng), calling killed(i) after each
// kill; it returns how many were killed.
func killRuns(t *testing.T, n int, seed uint64, cmd func() *exec.Cmd, delay func(*rand.Rand) time.Duration, killed func(i int)) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	kills := 0
	for i := range n {
		c := cmd()
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case <-done:
			continue // finished before the kill; keep going
		case <-time.After(delay(rng)):
		}
		c.Process.Signal(syscall.SIGKILL)
		<-done
		kills++
		killed(i)
	}
	return kills
}

// TestKillAnywhere kills ingest with SIGKILL at random moments, resumes it
// each time, and checks that the store ends byte-for-byte (by digest) equal
// to a clean run, and that every killed store opens at a committed height.
func TestKillAnywhere(t *testing.T) {
	blocks := sample("blk_0_to_14131.dat.bz2")
	clean := filepath.Join(t.TempDir(), "clean")
	mustRun(t, "ingest", "btc", "--store", clean, "--blocks", blocks, "-q")
	want := digestOf(t, clean)

	dir := filepath.Join(t.TempDir(), "killed")
	kills := killRuns(t, 25, 1,
		func() *exec.Cmd {
			return exec.Command(spurBin, "ingest", "btc", "--store", dir, "--blocks", blocks, "-q", "--commit-every", "150")
		},
		func(rng *rand.Rand) time.Duration { return time.Duration(rng.IntN(400)) * time.Millisecond },
		func(i int) {
			// The store opens, and its height is a commit point.
			var info struct{ Height int64 }
			out := mustRun(t, "store", "info", "--store", dir, "--json")
			if err := jsonUnmarshal(out, &info); err != nil {
				t.Fatal(err)
			}
			if info.Height >= 0 && info.Height != 14131 && (info.Height+1)%150 != 0 {
				t.Fatalf("after kill %d: height %d is not a commit point", i, info.Height)
			}
		})
	if kills == 0 {
		t.Fatal("no run was killed")
	}
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", blocks, "-q")
	if got := digestOf(t, dir); got != want {
		t.Fatalf("after %d kills and a resume: digest %s, clean run %s", kills, got, want)
	}
}

// TestKillAnywhereWhileTablesGrow does the same on a chain of 60,000
// transactions committed every 5 blocks: kills land while the hash tables
// are rebuilt larger and while postings runs are merged.
func TestKillAnywhereWhileTablesGrow(t *testing.T) {
	chain := t.TempDir()
	if _, err := world.WriteChain(chain, world.ChainOptions{Seed: 3, Blocks: 60, TxsPerBlock: 1000}); err != nil {
		t.Fatal(err)
	}
	ingest := func(dir string, extra ...string) *exec.Cmd {
		args := append([]string{"ingest", "btc", "--network", "regtest", "--store", dir, "--blocks", chain, "-q"}, extra...)
		return exec.Command(spurBin, args...)
	}
	clean := filepath.Join(t.TempDir(), "clean")
	start := time.Now()
	if out, err := ingest(clean, "--commit-every", "5").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	took := time.Since(start)
	want := digestOf(t, clean)
	dir := filepath.Join(t.TempDir(), "killed")
	kills := killRuns(t, 20, 5,
		func() *exec.Cmd { return ingest(dir, "--commit-every", "5") },
		func(rng *rand.Rand) time.Duration { return time.Duration(rng.Int64N(int64(took / 2))) },
		func(int) {})
	if kills < 5 {
		t.Fatalf("only %d of 20 runs were killed", kills)
	}
	t.Logf("%d kills in runs of %v", kills, took)
	if out, err := ingest(dir).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := digestOf(t, dir); got != want {
		t.Fatalf("after %d kills and a resume: digest %s, clean run %s", kills, got, want)
	}
}

// TestBadInput checks that bad input gives a clear error naming the file and
// offset or the block, the right exit code, and an unchanged store.
func TestBadInput(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "4", "-q")
	before := digestOf(t, dir)

	chain := unbz2(t, "blk_0_to_14131.dat.bz2")
	// Block 5 and block 6, framed.
	frame := func(data []byte, n int) []byte {
		off := 0
		for i := 0; i < n; i++ {
			off += 8 + int(binary.LittleEndian.Uint32(data[off+4:]))
		}
		end := off + 8 + int(binary.LittleEndian.Uint32(data[off+4:]))
		return data[off:end]
	}
	block5, block7 := frame(chain, 5), frame(chain, 7)
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badMerkle := bytes.Clone(block5)
	badMerkle[8+36+5] ^= 0xff
	wrongMagic := bytes.Clone(block5)
	copy(wrongMagic, []byte{0xfa, 0xbf, 0xb5, 0xda})
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"truncated", []string{"--blocks", write("trunc.dat", block5[:len(block5)-7])}, exitBadInput, []string{"trunc.dat", "offset 0", "truncated"}},
		{"wrong magic", []string{"--blocks", write("magic.dat", append(bytes.Clone(block5), wrongMagic...))}, exitBadInput, []string{"magic.dat", "offset " + fmt.Sprint(len(block5)), "magic"}},
		{"bad merkle root", []string{"--blocks", write("merkle.dat", badMerkle)}, exitBadInput, []string{"merkle.dat", "merkle root"}},
		{"corrupt tx", []string{"--blocks", write("tx.dat", append(bytes.Clone(block5[:len(block5)-30]), make([]byte, 30)...))}, exitBadInput, []string{"tx.dat", "offset 8"}},
		{"missing parent", []string{"--blocks", write("orphan.dat", block7)}, exitBadInput, []string{"orphan.dat", "missing parent", "00000000"}},
		{"no such file", []string{"--blocks", filepath.Join(tmp, "nope.dat")}, exitFailure, []string{"nope.dat"}},
		{"unreachable node", []string{"--rpc", "http://127.0.0.1:1"}, exitFailure, []string{"cannot reach node", "127.0.0.1:1"}},
		{"wrong network", []string{"--network", "regtest", "--blocks", sample("blk_0_to_4.dat.bz2")}, exitFailure, []string{"holds network main"}},
		{"both sources", []string{"--blocks", "x", "--rpc", "y"}, exitUsage, []string{"exactly one"}},
		{"bad flag", []string{"--frobnicate"}, exitUsage, []string{"frobnicate"}},
		{"not a node's scheme", []string{"--rpc", "ftp://node.example"}, exitUsage, []string{"--rpc", "http://"}},
		{"malformed node address", []string{"--rpc", "http://[::1"}, exitUsage, []string{"--rpc", "not a URL"}},
		{"negative stop height", []string{"--blocks", sample("blk_0_to_4.dat.bz2"), "--stop-height", "-5"}, exitUsage, []string{"--stop-height"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, append([]string{"ingest", "btc", "--store", dir, "-q"}, c.args...)...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, c.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("error does not say %q:\n%s", w, r.stderr)
				}
			}
			if got := digestOf(t, dir); got != before {
				t.Fatal("the store changed")
			}
			// Nothing was added: no summary of a run that did nothing.
			if r.stdout != "" {
				t.Errorf("a summary of nothing:\n%s", r.stdout)
			}
		})
	}
}

// A node address or poll interval that cannot work is a usage error, met
// before any store is made.
func TestFollowFlagsChecked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	for _, args := range [][]string{
		{"follow", "btc", "--store", dir, "--rpc", "127.0.0.1", "--interval", "0s"},
		{"follow", "btc", "--store", dir, "--rpc", "unix:///run/bitcoind.sock"},
		{"follow", "evm", "--store", dir, "--chain", "eth", "--rpc", "http://127.0.0.1:8545", "--interval", "-1s"},
		{"ingest", "evm", "--store", dir, "--chain", "eth", "--rpc", "http://[::1"},
		{"ingest", "btc", "--store", dir, "--rpc", "http://[::1"},
		{"follow", "evm", "--store", dir, "--chain", "eth", "--rpc", "http://127.0.0.1:8545", "--alert", " , "},
		{"serve", "--store", dir, "--alert", "sanctioned"}, // no follow to watch
	} {
		if r := run(t, args...); r.code != exitUsage {
			t.Errorf("spur %s: exit %d %s", strings.Join(args, " "), r.code, r.stderr)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Fatalf("spur %s made the store", strings.Join(args, " "))
		}
	}
}

// A follow that stops before its first block (the node refuses spur's
// credentials) leaves no store behind, on either chain.
func TestFollowRefusedMakesNoStore(t *testing.T) {
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "", http.StatusUnauthorized)
	}))
	defer node.Close()
	for _, args := range [][]string{
		{"follow", "btc", "--rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "wrong"},
		{"follow", "evm", "--chain", "eth", "--rpc", node.URL},
	} {
		fresh := filepath.Join(t.TempDir(), "fresh")
		if r := run(t, append(args, "--store", fresh)...); r.code == 0 || !strings.Contains(r.stderr, "no store made") {
			t.Errorf("spur %s: exit %d %s", strings.Join(args, " "), r.code, r.stderr)
		}
		if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("spur %s left %s: %v", strings.Join(args, " "), fresh, err)
		}
	}
}

// A trace's (and a report's) model, bounds and output format are checked
// as flags are: exit 2.
func TestTraceFlagsChecked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "200", "-q")
	from := "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:1"
	mustRun(t, "trace", "--store", dir, "--from", from, "--max-hops", "0", "--min-value", "0")
	// Backward no further back than a day: the 40 BTC of change came
	// from block 9's coinbase, paid before it.
	if out := mustRun(t, "trace", "--store", dir, "--from", from, "--direction", "backward", "--since", "2009-01-10"); !regexp.MustCompile(`(?m)^limit +before 2009-01-10 +1 +40\.00000000 +100\.0%$`).MatchString(out) {
		t.Errorf("trace --since:\n%s", out)
	}
	// A batch payout of 40 BTC's coins is followed but for --max-fanout:
	// block 181 pays two outputs (10 BTC on, 30 back), so a bound of one
	// ends the 40 BTC there.
	var fan struct {
		Destinations []struct {
			Category, Label string
			Amount          int64
		} `json:"destinations"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", "--store", dir, "--from", from, "--max-fanout", "1", "--json"), &fan); err != nil || len(fan.Destinations) != 1 ||
		fan.Destinations[0].Category != "limit" || fan.Destinations[0].Amount != 40e8 || fan.Destinations[0].Label != "fan-out: a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be pays 2 outputs" {
		t.Errorf("trace --max-fanout 1: %+v %v", fan, err)
	}
	// Poison's text says why its shares may pass 100%; the others' do not.
	if out := mustRun(t, "trace", "--store", dir, "--from", from, "--model", "poison"); !strings.Contains(out, "more than 100%") {
		t.Errorf("poison trace without its note:\n%s", out)
	}
	if out := mustRun(t, "trace", "--store", dir, "--from", from); strings.Contains(out, "more than 100%") {
		t.Errorf("fifo trace with poison's note:\n%s", out)
	}
	// --json is --format json, as on every query; with another format, a
	// usage error.
	var tr struct {
		Model string `json:"model"`
		Start int64  `json:"start_amount"`
	}
	if err := jsonUnmarshal(mustRun(t, "trace", from, "--store", dir, "--json"), &tr); err != nil || tr.Model != "fifo" || tr.Start != 40_0000_0000 {
		t.Errorf("trace --json: %+v %v", tr, err)
	}
	for _, bad := range [][]string{{"--model", "magic"}, {"--max-hops", "-1"}, {"--min-value", "-3"}, {"--direction", "up"}, {"--json", "--format", "csv"},
		{"--format", "png"}, {"--max-fanout", "-1"}, {"--direction", "backward", "--max-fanout", "5"}, {"--chain", "eth", "--direction", "backward", "--max-fanout", "5"}, {"--cross"}, {"--chain", "eth", "--cross", "--direction", "backward"},
		{"--since", "2009-01-12"}, {"--direction", "backward", "--since", "12/01/2009"}} {
		if r := run(t, append([]string{"trace", "--store", dir, "--from", from}, bad...)...); r.code != exitUsage {
			t.Errorf("trace %s: exit %d %s", strings.Join(bad, " "), r.code, r.stderr)
		}
	}
	if r := run(t, "report", "actor", "Anyone", "--year", "2021", "--store", dir, "--model", "magic"); r.code != exitUsage {
		t.Errorf("report --model magic: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "report", "actor", "Anyone", "--year", "2021", "--store", dir, "--json", "--format", "html"); r.code != exitUsage {
		t.Errorf("report --json --format html: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "report", "actor", "Anyone", "--store", dir); r.code != exitUsage || !strings.Contains(r.stderr, "--year YYYY is required") {
		t.Errorf("report without --year: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "report", "actor", "Anyone", "--year", "1800", "--store", dir); r.code != exitUsage || !strings.Contains(r.stderr, "--year 1800: want a year from 2009") {
		t.Errorf("report --year 1800: exit %d %s", r.code, r.stderr)
	}
}

// A count, rate or year that cannot be, an address to listen on that is
// none, or an API without keys on a non-loopback address, is a usage
// error, before any work.
func TestNumericFlagsChecked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_4.dat.bz2"), "-q")
	etl := filepath.Join("..", "..", "testdata", "evm", "etl-17173049")
	for _, args := range [][]string{
		{"labels", "list", "--store", dir, "--limit", "-1"},
		{"labels", "list", "--store", dir, "--json", "--csv"},
		{"serve", "--store", dir, "--no-auth", "--listen", "127.0.0.1:0", "--rate", "-1"},
		{"serve", "--store", dir, "--no-auth", "--listen", "127.0.0.1:0", "--burst", "0"},
		{"serve", "--store", dir, "--no-auth", "--listen", "0.0.0.0:0"},
		{"serve", "--store", dir, "--no-auth", "--listen", "8080"},
		{"ingest", "evm", "--store", dir, "--chain", "eth", "--etl", etl, "--commit-every", "-2"},
		{"ingest", "evm", "--store", dir, "--chain", "eth", "--etl", etl, "--workers", "-3"},
		{"names", "Kim", "--store", dir, "--birth-year", "-5"},
	} {
		if r := run(t, args...); r.code != exitUsage {
			t.Errorf("spur %s: exit %d %s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "evm")); err == nil {
		t.Error("a refused EVM ingest made its store")
	}
}

// A file of another network is refused with the flag that reads it, and
// the network given next is taken: a failed first ingest leaves no store.
func TestOtherNetworkFile(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "store")
	// Mainnet blocks 0..4 framed with regtest's magic.
	framed := unbz2(t, "blk_0_to_4.dat.bz2")
	for off := 0; off < len(framed); off += 8 + int(binary.LittleEndian.Uint32(framed[off+4:])) {
		copy(framed[off:], []byte{0xfa, 0xbf, 0xb5, 0xda})
	}
	p := filepath.Join(tmp, "blk00000.dat")
	if err := os.WriteFile(p, framed, 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "ingest", "btc", "--store", dir, "--blocks", p, "-q")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "network regtest") || !strings.Contains(r.stderr, "--network regtest") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	r = run(t, "ingest", "btc", "--store", dir, "--network", "regtest", "--blocks", p, "-q")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "no genesis block of network regtest") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Neither failed run left a store behind; a directory that was there
	// before stays, without one.
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed first ingest left %s: %v", dir, err)
	}
	os.Mkdir(dir, 0o755)
	if r := run(t, "ingest", "btc", "--store", dir, "--blocks", filepath.Join(tmp, "none.dat"), "-q"); r.code == 0 || !strings.Contains(r.stderr, "no store made") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("the directory given: %v %v", entries, err)
	}
}

func TestStoreVersionRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_4.dat.bz2"), "-q")
	meta, err := os.ReadFile(filepath.Join(dir, "btc", "META"))
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(meta[8:], 99)
	os.WriteFile(filepath.Join(dir, "btc", "META"), meta, 0o644)
	r := run(t, "block", "0", "--store", dir)
	if r.code != exitStore || !strings.Contains(r.stderr, "format version 99") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// A store of version 1 (its indexes in Pebble) is told to ingest again.
	binary.LittleEndian.PutUint32(meta[8:], 1)
	os.WriteFile(filepath.Join(dir, "btc", "META"), meta, 0o644)
	r = run(t, "block", "0", "--store", dir)
	if r.code != exitStore || !strings.Contains(r.stderr, "ingest the chain into a new store") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Version 2 differs only in META, without out.spent's sync mark: read.
	v2 := binary.LittleEndian.AppendUint32(nil, 2)
	v2 = append(append(append([]byte{}, meta[:8]...), v2...), meta[12:108]...)
	v2 = binary.LittleEndian.AppendUint32(v2, crc32.Checksum(v2, crc32.MakeTable(crc32.Castagnoli)))
	os.WriteFile(filepath.Join(dir, "btc", "META"), v2, 0o644)
	if r = run(t, "block", "0", "--store", dir); r.code != 0 {
		t.Fatalf("version 2 store: exit %d: %s", r.code, r.stderr)
	}
	binary.LittleEndian.PutUint32(meta[8:], store.FormatVersion)
	meta[40] ^= 1 // a count, under the checksum
	os.WriteFile(filepath.Join(dir, "btc", "META"), meta, 0o644)
	r = run(t, "block", "0", "--store", dir)
	if r.code != exitStore || !strings.Contains(r.stderr, "checksum") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

func TestQueries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "-q")
	// An EVM address or hash given without --chain is named as such.
	for _, c := range [][]string{
		{"address", "0x098b716b8aaf21512996dc57eb0615e2383e2f96", "an EVM address"},
		{"tx", "0x38607cabf7c587b965f60806cbe2543beefb5f900139cb2a1eb4a69bbd5d6d98", "an EVM transaction hash"},
		{"block", "0x38607cabf7c587b965f60806cbe2543beefb5f900139cb2a1eb4a69bbd5d6d98", "an EVM block hash"},
	} {
		if r := run(t, c[0], c[1], "--store", dir); r.code != exitUsage || !strings.Contains(r.stderr, c[2]+": add --chain eth") {
			t.Fatalf("spur %s %s: exit %d %s", c[0], c[1], r.code, r.stderr)
		}
	}
	var tx struct {
		TxID        string `json:"txid"`
		BlockHeight int64  `json:"block_height"`
		Fee         int64  `json:"fee"`
		Inputs      []struct {
			Address string `json:"address"`
			Value   int64  `json:"value"`
		} `json:"inputs"`
		Outputs []struct {
			Address string `json:"address"`
			SpentBy *struct {
				TxID string `json:"txid"`
				Vin  int    `json:"vin"`
			} `json:"spent_by"`
		} `json:"outputs"`
	}
	// Flags after the argument work as well as before.
	out := mustRun(t, "tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "--store", dir, "--json")
	if err := jsonUnmarshal(out, &tx); err != nil {
		t.Fatal(err)
	}
	if tx.BlockHeight != 170 || tx.Inputs[0].Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" || tx.Inputs[0].Value != 5000000000 ||
		tx.Outputs[0].Address != "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3" || tx.Outputs[0].SpentBy != nil ||
		tx.Outputs[1].SpentBy == nil || tx.Outputs[1].SpentBy.TxID != "a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be" {
		t.Fatalf("block 170 tx: %s", out)
	}
	var addr struct {
		Balance int64 `json:"balance"`
		TxCount int   `json:"tx_count"`
		First   int64 `json:"first_seen_height"`
		Txs     []struct {
			TxID string `json:"txid"`
		} `json:"txs"`
	}
	out = mustRun(t, "address", "--store", dir, "--json", "--txs", "--limit", "2", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S")
	if err := jsonUnmarshal(out, &addr); err != nil {
		t.Fatal(err)
	}
	if addr.Balance != 18e8 || addr.TxCount != 6 || addr.First != 9 || len(addr.Txs) != 2 ||
		addr.Txs[0].TxID != "828ef3b079f9c23829c56fe86e85b4a69d9e06e5b54ea597eef5fb3ffef509fe" {
		t.Fatalf("address: %s", out)
	}
	// A page past the end says so, and how many there are.
	if out := mustRun(t, "address", "--store", dir, "--txs", "--limit", "2", "--offset", "2", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"); !strings.Contains(out, "\n2 more; use --offset 4\n") {
		t.Fatalf("a middle page:\n%s", out)
	}
	if out := mustRun(t, "address", "--store", dir, "--txs", "--offset", "9", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"); !strings.Contains(out, "nothing at --offset 9: transactions 6 in all") {
		t.Fatalf("a page past the end:\n%s", out)
	}
	var blk struct {
		Hash    string   `json:"hash"`
		TxCount int      `json:"tx_count"`
		TxIDs   []string `json:"txids"`
	}
	out = mustRun(t, "block", "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee", "--store", dir, "--json")
	if err := jsonUnmarshal(out, &blk); err != nil || blk.TxCount != 2 || blk.TxIDs[1] != "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16" {
		t.Fatalf("block: %s %v", out, err)
	}
	out = mustRun(t, "block", "tip", "--store", dir, "--json")
	if err := jsonUnmarshal(out, &blk); err != nil || blk.Hash != "00000000b3e750f37fdb42e1018799a9f44b546d393b130b369590a072430a1c" {
		t.Fatalf("block tip: %s %v", out, err)
	}
	// Not found is exit 3; a malformed argument is a usage error.
	if r := run(t, "tx", strings.Repeat("ab", 32), "--store", dir); r.code != exitNotFound {
		t.Fatalf("unknown tx: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "tx", "xyz", "--store", dir); r.code != exitUsage {
		t.Fatalf("bad txid: exit %d %s", r.code, r.stderr)
	}
	// So are a missing or extra argument and an unknown command.
	for _, args := range [][]string{{"tx", "--store", dir}, {"block", "1", "2", "--store", dir}, {"frobnicate"}, {"store", "frobnicate", "--store", dir}} {
		if r := run(t, args...); r.code != exitUsage || !strings.Contains(r.stderr, "spur --help") {
			t.Fatalf("spur %s: exit %d %s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	// A command's flag given to its group says to name the command first.
	if r := run(t, "report", "--store", dir); r.code != exitUsage || !strings.Contains(r.stderr, "spur report takes a command first (actor, incident)") {
		t.Fatalf("spur report --store: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "--store", dir); r.code != exitNotFound {
		t.Fatalf("unused address: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "address", "bc1qnotanaddress", "--store", dir); r.code != exitUsage {
		t.Fatalf("bad address: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "block", "99999", "--store", dir); r.code != exitNotFound {
		t.Fatalf("block past tip: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "--store", filepath.Join(t.TempDir(), "none")); r.code != exitNotFound {
		t.Fatalf("missing store: exit %d %s", r.code, r.stderr)
	}
	// Commands that read labels alone make no store where there is none.
	none := filepath.Join(t.TempDir(), "none")
	for _, args := range [][]string{{"incident", "list"}, {"labels", "list"}, {"labels", "sources"}, {"names", "Lazarus"}, {"actor", "Lazarus Group"}} {
		r := run(t, append(args, "--store", none)...)
		if _, err := os.Stat(none); r.code != exitNotFound || !strings.Contains(r.stderr, "holds no store") || err == nil {
			t.Fatalf("spur %s on a missing store: exit %d %s (made: %v)", strings.Join(args, " "), r.code, r.stderr, err == nil)
		}
	}
	// Beside a chain, the labels are made as ever: none imported yet.
	if r := run(t, "incident", "list", "--store", dir); r.code != 0 {
		t.Fatalf("incident list beside a chain: exit %d %s", r.code, r.stderr)
	}
}

func TestDecode(t *testing.T) {
	raw := unbz2(t, "block_702861.raw.bz2")
	p := filepath.Join(t.TempDir(), "b.raw")
	os.WriteFile(p, raw, 0o644)
	var blk struct {
		Hash string `json:"hash"`
		Tx   []struct {
			TxID    string `json:"txid"`
			Hash    string `json:"hash"`
			Outputs []struct {
				Type    string `json:"type"`
				Address string `json:"address"`
			} `json:"outputs"`
		} `json:"tx"`
	}
	out := mustRun(t, "decode", "block", p, "--json")
	if err := jsonUnmarshal(out, &blk); err != nil {
		t.Fatal(err)
	}
	if blk.Hash != "000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae" || len(blk.Tx) != 2500 {
		t.Fatalf("block %s with %d txs", blk.Hash, len(blk.Tx))
	}
	// A blk*.dat file, compressed: its first block, and how many it holds;
	// framed for another network: refused, naming the network.
	r := run(t, "decode", "block", sample("blk_0_to_4.dat.bz2"), "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"hash": "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"`) || !strings.Contains(r.stderr, "a block file of 5 blocks") {
		t.Fatalf("decode block of a blk file: exit %d\n%s", r.code, r.stderr)
	}
	genesis := unbz2(t, "blk_0_to_4.dat.bz2")[:8+285]
	regtest := filepath.Join(t.TempDir(), "blk00000.dat")
	os.WriteFile(regtest, append([]byte{0xfa, 0xbf, 0xb5, 0xda}, genesis[4:]...), 0o644)
	if r := run(t, "decode", "block", regtest); r.code != exitBadInput || !strings.Contains(r.stderr, "blocks of network regtest") || !strings.Contains(r.stderr, "--network regtest") {
		t.Fatalf("decode block of a regtest blk file: exit %d\n%s", r.code, r.stderr)
	}
	if out := mustRun(t, "decode", "block", regtest, "--network", "regtest"); !strings.Contains(out, "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b (checked)") {
		t.Fatalf("decode block of a regtest blk file with --network regtest:\n%s", out)
	}
	// A file of hex is read as hex, not as a block file.
	hexFile := filepath.Join(t.TempDir(), "genesis.hex")
	os.WriteFile(hexFile, []byte(hex.EncodeToString(genesis[8:])+"\n"), 0o644)
	if out := mustRun(t, "decode", "block", hexFile); !strings.Contains(out, "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f") {
		t.Fatalf("decode block of a hex file:\n%s", out)
	}
	const hal = "0100000001c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704000000004847304402204e45e16932b8af514961a1d3a1a25fdf3f4f7732e9d624c6c61548ab5fb8cd410220181522ec8eca07de4860a4acdd12909d831cc56cbbac4622082221a8768d1d0901ffffffff0200ca9a3b00000000434104ae1a62fe09c5f51b13905f07f06b99a2f7159b2225f374cd378d71302fa28414e7aab37397f554a7df5f142c21c1b7303b8a0626f1baded5c72a704f7e6cd84cac00286bee0000000043410411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3ac00000000"
	out = mustRun(t, "decode", "tx", hal, "--json")
	if !strings.Contains(out, `"txid": "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"`) || strings.Contains(out, "spent_by\": {") || strings.Contains(out, `"fee"`) {
		t.Fatalf("decode tx: %s", out)
	}
	// As text, without the columns only the chain can fill.
	if text := mustRun(t, "decode", "tx", hal); !strings.Contains(text, "\nIN  SPENDS\n0   0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9:0\n") ||
		strings.Contains(text, "SPENT BY") || !strings.Contains(text, "\n0    pubkey  1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3  10.00000000\n") {
		t.Fatalf("decode tx as text:\n%s", text)
	}
	if r := run(t, "decode", "tx", hal[:100]); r.code != exitBadInput || !strings.Contains(r.stderr, "offset") {
		t.Fatalf("truncated tx: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "decode", "tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"); r.code != exitBadInput || !strings.Contains(r.stderr, "a txid? spur tx TXID") {
		t.Fatalf("a txid to decode: exit %d %s", r.code, r.stderr)
	}
	// As pasted (spaces and a newline around it), and from standard input.
	if got := mustRun(t, "decode", "tx", " "+hal+"\n", "--json"); got != out {
		t.Fatalf("decode tx as pasted:\n%s", got)
	}
	cmd := exec.Command(spurBin, "decode", "tx", "-", "--json")
	cmd.Stdin = strings.NewReader(hal + "\n")
	if got, err := cmd.Output(); err != nil || string(got) != out {
		t.Fatalf("decode tx from standard input: %v\n%s", err, got)
	}
}

// TestDemo runs the demo into a store it keeps, to its end, where it serves
// the page; the walkthrough's queries of that store work meanwhile.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "demo-store")
	cmd := exec.CommandContext(ctx, spurBin, "demo", "--store", dir, "--serve", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var out bytes.Buffer
	page := ""
	re := regexp.MustCompile(`Open (http://127\.0\.0\.1:\d+)/`)
	sc := bufio.NewScanner(stdout)
	for page == "" && sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			page = m[1]
		}
	}
	if page == "" {
		t.Fatalf("the demo ended without serving: %v\n%s", cmd.Wait(), out.String())
	}
	for _, w := range []string{"14,132", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "unwound 2 blocks", "13,452 entities", "severe: sanctioned, LAZARUS GROUP (SDN 27307, DPRK3)", "severe: sanctioned, GARANTEX EUROPE OU (SDN 36025, RUSSIA-EO14024, CYBER4; uk-sanctions-list RUS1421, The Russia (Sanctions) (EU Exit) Regulations 2019)", "LAZARUS GROUP (SDN 27307): matched HIDDEN COBRA, its weak alias", "clustering: pairwise precision", "high: indirect exposure to stolen-funds within 4 hops", "paid to an exchange's deposit address, in no block yet\n  high: indirect exposure to stolen-funds within 4 hops", "315 addresses hold the taint, as stolen-funds labels to import; truth gives the Lazarus Group 315 of them", "medium: indirect exposure to mixer within 4 hops", "# Lazarus Group in 2021"} {
		if !bytes.Contains(out.Bytes(), []byte(w)) {
			t.Errorf("demo output lacks %q", w)
		}
	}
	// Counts as people write them.
	for _, re := range []string{`1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa: type pubkeyhash, 1 transaction, balance 50\.00000000 BTC`,
		`\n  \d{1,3}(,\d{3})* blocks, \d{1,3}(,\d{3})* transactions, \d{1,3}(,\d{3})* CoinJoins, 7 incidents`,
		`\n  [\d,]+ blocks, \d{1,3}(,\d{3})+ transactions, \d{1,3}(,\d{3})+ transfers; \d{1,3}(,\d{3})* swaps`,
		// The stolen-funds labels hunted back through the world's chain.
		`\n  [1-9][\d,]* transactions in blocks 0 to \d+: the first at block \d+ \([0-9a-f]{64}, paying [1-9]\d*\.\d{8} BTC to addresses so labelled\), the last at block \d+\n`} {
		if !regexp.MustCompile(re).Match(out.Bytes()) {
			t.Errorf("demo output lacks %s", re)
		}
	}
	// A list naming one of the thief's addresses: its entity's
	// transactions are more than its own.
	if m := regexp.MustCompile(`a list naming one address of the thief's, \S+, in an entity of ([\d,]+) addresses\n  (\d+) transactions? by the address alone, ([\d,]+) by its entity\n`).FindStringSubmatch(out.String()); m == nil {
		t.Error("demo output lacks the alerts by entity")
	} else if size, alone, all := atoi(m[1]), atoi(m[2]), atoi(m[3]); size < 2 || alone < 1 || all <= alone {
		t.Errorf("the demo's alerts by entity: %q", m[0])
	}
	// The world's outputs exported and read back: the addresses holding
	// the taint hold what the trace calls unspent.
	if m := regexp.MustCompile(`still hold (\S+) BTC in (\d+) of them \(the trace: (\S+) BTC unspent\)`).FindSubmatch(out.Bytes()); m == nil || string(m[1]) != string(m[3]) || string(m[2]) == "0" {
		t.Errorf("the demo's export: %q", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "exports", "outputs.parquet")); err != nil {
		t.Error(err)
	}
	// The Ethereum balances exported and read back: each address the
	// trace leaves holding taint holds what the file says, at least its
	// taint; the totals add up.
	m := regexp.MustCompile(`([\d,]+) rows; read back, the (\d+) addresses the trace leaves holding (\S+) ETH of the theft hold (\S+) ETH in all:\n((?:    0x\S+ holds \S+ ETH, \S+ of it the theft's\n)+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("the demo's Ethereum export is missing")
	}
	rows, err := parquet.ReadFile[export.EVMBalance](filepath.Join(dir, "exports", "balances.parquet"))
	if err != nil || thousands(int64(len(rows))) != m[1] {
		t.Fatalf("the demo's Ethereum export: %d rows (%v), it says %s", len(rows), err, m[1])
	}
	eth := func(s string) *big.Rat {
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("amount %q", s)
		}
		return r
	}
	wei := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))
	var sumTaint, sumHeld big.Rat
	lines := regexp.MustCompile(`(0x\S+) holds (\S+) ETH, (\S+) of it`).FindAllStringSubmatch(m[5], -1)
	for _, l := range lines {
		held, taint := eth(l[2]), eth(l[3])
		var inFile *big.Rat
		for _, r := range rows {
			if r.Address == l[1] && r.Asset == "ETH" {
				inFile = new(big.Rat).Quo(eth(r.Balance), wei)
			}
		}
		if inFile == nil || inFile.Cmp(held) != 0 || held.Cmp(taint) < 0 || taint.Sign() <= 0 {
			t.Errorf("the demo's Ethereum export: %q, the file %v", l[0], inFile)
		}
		sumTaint.Add(&sumTaint, taint)
		sumHeld.Add(&sumHeld, held)
	}
	if fmt.Sprint(len(lines)) != m[2] || sumTaint.Cmp(eth(m[3])) != 0 || sumHeld.Cmp(eth(m[4])) != 0 {
		t.Errorf("the demo's Ethereum export: %q", m[0])
	}
	// The Liquid trace drawn, its three deposits among the nodes; and on
	// both chains, across the bridge.
	svg, err := os.ReadFile(filepath.Join(dir, "graphs", "liquid.svg"))
	if err != nil || xml.Unmarshal(svg, new(struct{})) != nil || bytes.Count(svg, []byte("exchange: ")) < 3 {
		t.Errorf("the demo's graph: %v, %d bytes", err, len(svg))
	}
	both, err := os.ReadFile(filepath.Join(dir, "graphs", "liquid-both-chains.svg"))
	if err != nil || xml.Unmarshal(both, new(struct{})) != nil || !bytes.Contains(both, []byte("carried over to Bitcoin at ")) || !bytes.Contains(both, []byte("bridge: ")) {
		t.Errorf("the demo's graph across the chains: %v, %d bytes", err, len(both))
	}
	if got := mustRun(t, "tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "--store", dir); !strings.Contains(got, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3") {
		t.Fatalf("spur tx of the demo's store while it serves:\n%s", got)
	}
	if got := mustRun(t, "screen", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "--store", dir); !strings.Contains(got, "severe") {
		t.Fatalf("spur screen of the demo's store while it serves:\n%s", got)
	}
	resp, err := http.Get(page + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the demo's page: %v %v", resp, err)
	}
	resp.Body.Close()
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the demo on Ctrl-C: %v", err)
	}
	// The world is kept beside the mainnet store: its trace, asked again,
	// leaves unspent what the demo's did.
	unspent := regexp.MustCompile(`\n  unspent +(\S+) BTC\n`).FindStringSubmatch(out.String())
	got := mustRun(t, "trace", "--store", filepath.Join(dir, "world"), "--from", "incident:dprk-2021-5", "--mixer-links")
	if unspent == nil || !regexp.MustCompile(`\n\w+ +unspent +- +\d+ +`+regexp.QuoteMeta(unspent[1])+` `).MatchString(got) {
		t.Errorf("the world's trace after the demo (%q):\n%s", unspent, got)
	}
}

// spur bench screen answers every request and reports its figures.
func TestBenchScreen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "14080", "-q")
	etl := filepath.Join("..", "..", "testdata", "evm", "etl-17173049")
	mustRun(t, "ingest", "evm", "--store", dir, "--chain", "eth", "--etl", etl, "--to", "17173049", "-q")
	type benchRun struct {
		Requests  int     `json:"requests"`
		Errors    int     `json:"errors"`
		PerSecond float64 `json:"requests_per_s"`
		P50       int64   `json:"p50_us"`
		P99       int64   `json:"p99_us"`
	}
	var got struct {
		Baseline benchRun `json:"baseline"`
		Single   benchRun `json:"single"`
		Batch    benchRun `json:"batch_1000"`
		Deposit  benchRun `json:"deposit_tx"`
		Raw      benchRun `json:"deposit_raw_tx"`
		While    struct {
			From   int64    `json:"from_height"`
			To     int64    `json:"to_height"`
			Screen benchRun `json:"screen"`
		} `json:"while_ingesting"`
		ETH         benchRun `json:"eth_address"`
		Reclustered benchRun `json:"reclustered"`
		WhileEVM    struct {
			From   int64    `json:"from_height"`
			To     int64    `json:"to_height"`
			Screen benchRun `json:"screen"`
		} `json:"while_ingesting_evm"`
	}
	// --recluster wants a clustering, and says so before any run.
	start := time.Now()
	if r := run(t, "bench", "screen", "--store", dir, "--duration", "1m", "--recluster", "1s"); r.code != exitNotFound || !strings.Contains(r.stderr, "spur cluster") || time.Since(start) > 30*time.Second {
		t.Fatalf("bench screen --recluster on a store never clustered: exit %d after %s: %s", r.code, time.Since(start), r.stderr)
	}
	mustRun(t, "cluster", "--store", dir, "-q")
	out := mustRun(t, "bench", "screen", "--store", dir, "--addresses", "40", "--concurrency", "4", "--duration", "300ms", "--json",
		"--while-ingesting", sample("blk_0_to_14131.dat.bz2"), "--while-ingesting-evm", etl, "--recluster", "50ms")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for _, r := range []benchRun{got.Baseline, got.Single, got.Batch, got.Deposit, got.Raw, got.While.Screen, got.ETH, got.WhileEVM.Screen, got.Reclustered} {
		if r.Requests == 0 || r.Errors != 0 || r.PerSecond <= 0 || r.P99 < r.P50 {
			t.Fatalf("%s", out)
		}
	}
	if got.While.From != 14080 || got.While.To != 14131 {
		t.Fatalf("nothing ingested during the last run: %s", out)
	}
	if got.WhileEVM.From != 17173049 || got.WhileEVM.To != 17173050 {
		t.Fatalf("no Ethereum block ingested during the last run: %s", out)
	}
	// What to ingest during the last run is checked before the first (of
	// a minute each here).
	missing := filepath.Join(t.TempDir(), "missing")
	for _, flag := range []string{"--while-ingesting", "--while-ingesting-evm"} {
		start := time.Now()
		r := run(t, "bench", "screen", "--store", dir, "--duration", "1m", flag, missing)
		if r.code == exitOK || !strings.Contains(r.stderr, missing) || time.Since(start) > 30*time.Second {
			t.Fatalf("bench screen %s of a missing path: exit %d after %s: %s", flag, r.code, time.Since(start), r.stderr)
		}
	}
}

// A bad rules file stops spur serve before it listens, naming the line.
func TestServeBadRules(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_4.dat.bz2"), "-q")
	rules := filepath.Join(tmp, "rules.yaml")
	os.WriteFile(rules, []byte("rules:\n  - {severity: high, when: label, category: mixer}\n  - {severity: high, when: direct, category: mixer, min_share: 2}\n"), 0o644)
	r := run(t, "serve", "--store", dir, "--listen", "127.0.0.1:0", "--rules", rules)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "rules.yaml: line 3: rule 2: min_share") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	r = run(t, "serve", "--store", dir, "--rules", filepath.Join(tmp, "none.yaml"))
	if r.code != exitFailure || !strings.Contains(r.stderr, "none.yaml") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

// A node that refuses the credentials stops spur serve --follow-rpc with
// exit 1 and says so, rather than serving a store that never grows.
func TestServeFollowRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_4.dat.bz2"), "-q")
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "", http.StatusUnauthorized)
	}))
	defer node.Close()
	r := run(t, "serve", "--store", dir, "--listen", "127.0.0.1:0", "--no-auth", "--follow-rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "wrong")
	if r.code != exitFailure || !strings.Contains(r.stderr, "refused the credentials") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// A directory without a store is not synced from genesis.
	empty := filepath.Join(t.TempDir(), "mistyped")
	r = run(t, "serve", "--store", empty, "--listen", "127.0.0.1:0", "--no-auth", "--follow-rpc", node.URL)
	if _, err := os.Stat(filepath.Join(empty, "btc")); r.code != exitNotFound || !strings.Contains(r.stderr, "make it first with spur ingest btc") || err == nil {
		t.Fatalf("--follow-rpc without a store: exit %d: %s", r.code, r.stderr)
	}
}

// TestRPCDefaultCookie: given no credentials, spur uses the cookie Bitcoin
// Core keeps in its default data directory for the store's network, as
// bitcoin-cli does; without one the node's refusal is reported.
func TestRPCDefaultCookie(t *testing.T) {
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "__cookie__" || p != "c0ffee" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// Past the credentials: the reply names itself in the error.
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"result":null,"error":{"code":-1,"message":"cookie accepted"},"id":1}`))
	}))
	defer node.Close()
	home := t.TempDir()
	env := []string{"HOME=" + home}
	for _, c := range []struct {
		network, dir string
	}{{"main", ""}, {"regtest", "regtest"}} {
		store := filepath.Join(t.TempDir(), "store")
		r := runEnv(t, env, "ingest", "btc", "--store", store, "--network", c.network, "--rpc", node.URL)
		if r.code != exitFailure || !strings.Contains(r.stderr, "refused the credentials") {
			t.Fatalf("%s without a cookie: exit %d: %s", c.network, r.code, r.stderr)
		}
		dir := filepath.Join(home, ".bitcoin", c.dir)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, ".cookie"), []byte("__cookie__:c0ffee"), 0o600)
		r = runEnv(t, env, "ingest", "btc", "--store", store, "--network", c.network, "--rpc", node.URL)
		if !strings.Contains(r.stderr, "cookie accepted") {
			t.Fatalf("%s with Bitcoin Core's cookie in %s: exit %d: %s", c.network, dir, r.code, r.stderr)
		}
		// Credentials given are used instead.
		r = runEnv(t, env, "ingest", "btc", "--store", store, "--network", c.network, "--rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p")
		if !strings.Contains(r.stderr, "refused the credentials") {
			t.Fatalf("%s with a user and password: exit %d: %s", c.network, r.code, r.stderr)
		}
		os.Remove(filepath.Join(dir, ".cookie"))
	}
}

// TestKillAnywhereEVM does the same for EVM ingest from an ethereum-etl
// export: killed at random moments and resumed, the store ends equal (by
// digest) to a clean run's.
func TestKillAnywhereEVM(t *testing.T) {
	w := filepath.Join(t.TempDir(), "world")
	mustRun(t, "gen", "--out", w, "--scale", "200", "--blocks", "600", "--seed", "2")
	export := filepath.Join(w, "evm")
	clean := filepath.Join(t.TempDir(), "clean")
	mustRun(t, "ingest", "evm", "--chain", "eth", "--store", clean, "--etl", export, "-q")
	want := strings.TrimSpace(mustRun(t, "store", "digest", "--chain", "eth", "--store", clean))

	dir := filepath.Join(t.TempDir(), "killed")
	kills := killRuns(t, 20, 3,
		func() *exec.Cmd {
			return exec.Command(spurBin, "ingest", "evm", "--chain", "eth", "--store", dir, "--etl", export, "-q", "--commit-every", "40")
		},
		func(rng *rand.Rand) time.Duration { return time.Duration(rng.IntN(250)) * time.Millisecond },
		func(i int) {
			if r := run(t, "store", "info", "--chain", "eth", "--store", dir, "--json"); r.code != 0 && r.code != exitNotFound {
				t.Fatalf("after kill %d the store does not open: exit %d: %s", i, r.code, r.stderr)
			}
		})
	if kills == 0 {
		t.Fatal("no run was killed")
	}
	mustRun(t, "ingest", "evm", "--chain", "eth", "--store", dir, "--etl", export, "-q")
	if got := strings.TrimSpace(mustRun(t, "store", "digest", "--chain", "eth", "--store", dir)); got != want {
		t.Fatalf("after %d kills and a resume: digest %s, clean run %s", kills, got, want)
	}
}

// TestBadInputEVM: a malformed row of an ethereum-etl export is named by
// file, line and field, exits 4, and leaves the store as it was; so does a
// node of another chain.
func TestBadInputEVM(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "evm", "etl-17173049")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// First the export's first block alone.
	first := t.TempDir()
	blocks := strings.SplitAfter(read("blocks.csv"), "\n")
	os.WriteFile(filepath.Join(first, "blocks.csv"), []byte(blocks[0]+blocks[1]), 0o644)
	for _, f := range []string{"transactions.csv", "logs.csv"} {
		var keep []string
		for i, l := range strings.SplitAfter(read(f), "\n") {
			if i == 0 || strings.Contains(l, ",17173049,") {
				keep = append(keep, l)
			}
		}
		os.WriteFile(filepath.Join(first, f), []byte(strings.Join(keep, "")), 0o644)
	}
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "evm", "--chain", "eth", "--store", dir, "--etl", first, "-q")
	before := strings.TrimSpace(mustRun(t, "store", "digest", "--chain", "eth", "--store", dir))
	var tip struct {
		Number uint64 `json:"number"`
	}
	if err := jsonUnmarshal(mustRun(t, "block", "tip", "--chain", "eth", "--store", dir, "--json"), &tip); err != nil || tip.Number != 17173049 {
		t.Fatalf("block tip: %+v %v", tip, err)
	}

	// Then the whole export with one bad value in the second block.
	bad := t.TempDir()
	lines := strings.SplitAfter(read("transactions.csv"), "\n")
	n := 0
	for i, l := range lines {
		if strings.Contains(l, ",17173050,") && n == 0 {
			lines[i] = strings.Replace(l, ",17173050,", ",17173050,x", 1)
			n = i + 1
		}
	}
	os.WriteFile(filepath.Join(bad, "transactions.csv"), []byte(strings.Join(lines, "")), 0o644)
	os.WriteFile(filepath.Join(bad, "blocks.csv"), []byte(read("blocks.csv")), 0o644)
	os.WriteFile(filepath.Join(bad, "logs.csv"), []byte(read("logs.csv")), 0o644)
	r := run(t, "ingest", "evm", "--chain", "eth", "--store", dir, "--etl", bad, "-q")
	if r.code != exitBadInput || !strings.Contains(r.stderr, fmt.Sprintf("transactions.csv line %d: field transaction_index", n)) {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got := strings.TrimSpace(mustRun(t, "store", "digest", "--chain", "eth", "--store", dir)); got != before {
		t.Fatal("a failed ingest changed the store")
	}
	// Into a store of its own, the failed run leaves none.
	fresh := filepath.Join(t.TempDir(), "fresh")
	if r := run(t, "ingest", "evm", "--chain", "eth", "--store", fresh, "--etl", bad, "-q"); r.code != exitBadInput || !strings.Contains(r.stderr, "no store made") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed first ingest left %s: %v", fresh, err)
	}
	// So does one whose source cannot be opened, beside a Bitcoin store
	// too: no empty EVM store is left in it.
	for _, src := range [][]string{{"--etl", filepath.Join(bad, "gone")}, {"--era1", filepath.Join(bad, "gone.era1")}, {"--etl", t.TempDir()}} {
		for _, store := range []string{fresh, btcOnly(t)} {
			if r := run(t, append([]string{"ingest", "evm", "--chain", "eth", "--store", store, "-q"}, src...)...); r.code == 0 || !strings.Contains(r.stderr, "no store made") {
				t.Fatalf("%v: exit %d: %s", src, r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(store, "evm")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%v: a failed first ingest left %s/evm: %v", src, store, err)
			}
		}
	}
	if r := run(t, "ingest", "evm", "--chain", "nochain", "--store", dir, "--etl", bad); r.code != exitUsage {
		t.Fatalf("unknown chain: exit %d", r.code)
	}
	if r := run(t, "ingest", "evm", "--chain", "eth", "--store", dir, "--etl", bad, "--rpc", "http://127.0.0.1:1"); r.code != exitUsage {
		t.Fatalf("two sources: exit %d", r.code)
	}
	if r := run(t, "tx", "--chain", "eth", "0x1234", "--store", dir); r.code != exitUsage {
		t.Fatalf("bad hash: exit %d", r.code)
	}
	if r := run(t, "tx", "--chain", "eth", "0x"+strings.Repeat("ab", 32), "--store", dir); r.code != exitNotFound {
		t.Fatalf("unknown tx: exit %d", r.code)
	}
}

// TestReadOnlyStore: on a read-only file system (an evidence copy mounted
// read-only) the Bitcoin queries answer as on the store itself, and an
// ingest is refused naming the cause. Needs the right to mount.
func TestReadOnlyStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_4.dat.bz2"), "-q")
	labels := filepath.Join(t.TempDir(), "labels.csv")
	os.WriteFile(labels, []byte("address,chain,category,label,actor,source\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,btc,sanctioned,Test listing,Test Actor,test\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, "--format", "csv", labels)
	mustRun(t, "ingest", "evm", "--chain", "eth", "--store", dir, "--etl", filepath.Join("..", "..", "testdata", "evm", "etl-17173049"), "-q")
	want := digestOf(t, dir)
	wantTx := mustRun(t, "tx", "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", "--store", dir, "--json")
	const ethTx = "0xeb107a40ba73a50c79a9f2026e902d758d1c5e5e211f7a7db1b294f88f118dd0"
	wantEth := mustRun(t, "tx", ethTx, "--chain", "eth", "--store", dir, "--json")
	key := strings.TrimSpace(mustRun(t, "keys", "create", "--store", dir, "--name", "evidence"))
	incidents := filepath.Join(t.TempDir(), "incidents.yaml")
	os.WriteFile(incidents, []byte("incidents:\n  - id: test-1\n    victim: Test Victim\n    date: 2009-01-03\n    actor: Test Actor\n    chain: btc\n"+
		"    theft_txs: [7a085547ddd6e03fb60c57805ad360172fba60caa14f4d458f022d83fce7e7ae]\n"), 0o644)
	mustRun(t, "incident", "import", "--store", dir, incidents)
	ro := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(ro, 0o755)
	if out, err := exec.Command("mount", "--bind", dir, ro).CombinedOutput(); err != nil {
		t.Skipf("cannot mount here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", ro).Run() })
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", ro).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only here: %v %s", err, out)
	}
	if got := digestOf(t, ro); got != want {
		t.Fatalf("digest read-only %s, want %s", got, want)
	}
	if got := mustRun(t, "tx", "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", "--store", ro, "--json"); got != wantTx {
		t.Fatalf("tx read-only:\n%s\nwant\n%s", got, wantTx)
	}
	mustRun(t, "block", "tip", "--store", ro)
	mustRun(t, "address", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "--store", ro)
	// The labels and the EVM store too.
	if out := mustRun(t, "screen", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "--store", ro); !strings.Contains(out, "severe") {
		t.Fatalf("screen read-only:\n%s", out)
	}
	if got := mustRun(t, "tx", ethTx, "--chain", "eth", "--store", ro, "--json"); got != wantEth {
		t.Fatalf("eth tx read-only:\n%s\nwant\n%s", got, wantEth)
	}
	// A report reads the EVM store too.
	if out := mustRun(t, "report", "actor", "Test Actor", "--year", "2009", "--store", ro, "--format", "json"); !strings.Contains(out, `"actor": "Test Actor"`) {
		t.Fatalf("report actor read-only:\n%s", out)
	}
	if r := run(t, "ingest", "btc", "--store", ro, "--blocks", sample("blk_0_to_4.dat.bz2"), "-q"); r.code == 0 || !strings.Contains(r.stderr, "read-only file system") {
		t.Fatalf("ingest into a read-only store: exit %d %s", r.code, r.stderr)
	}

	// A copy a crash left needing repair (a table behind the commit) is
	// refused where it cannot be written, saying so; a query where it can
	// be written repairs it first, and the copy reads again.
	testdir.UncoverTable(t, filepath.Join(dir, "btc", "tx.hidx"))
	if r := run(t, "tx", "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", "--store", ro); r.code != exitStore || !strings.Contains(r.stderr, "open it once where it can be written") {
		t.Fatalf("read-only copy needing repair: exit %d %s", r.code, r.stderr)
	}
	if got := mustRun(t, "tx", "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", "--store", dir, "--json"); got != wantTx {
		t.Fatalf("tx after the repair:\n%s", got)
	}
	if got := mustRun(t, "tx", "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", "--store", ro, "--json"); got != wantTx {
		t.Fatalf("tx read-only after the repair:\n%s", got)
	}

	// Served over the API with the keys it holds; following a node, which
	// would write, is refused before it starts.
	srv := startServe(t, "--store", ro)
	screen := func(key string) (int, string) {
		req, _ := http.NewRequest("POST", srv.base+"/v1/screen", strings.NewReader(`{"items":[{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%v\n%s", err, srv.said())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := screen(key); code != 200 || !strings.Contains(body, `"severity": "severe"`) {
		t.Fatalf("screen over the API on the read-only store: %d %s", code, body)
	}
	if code, body := screen("spur_0000"); code != 401 {
		t.Fatalf("an unknown key on the read-only store: %d %s", code, body)
	}
	r := run(t, "serve", "--store", ro, "--listen", "127.0.0.1:0", "--follow-rpc", "127.0.0.1:1", "--rpc-user", "u", "--rpc-pass", "p")
	if r.code != exitStore || !strings.Contains(r.stderr, "--follow-rpc adds the node's blocks") {
		t.Fatalf("serve --follow-rpc on a read-only store: exit %d %s", r.code, r.stderr)
	}
}

// TestCookieDirectory: Bitcoin Core's data directory given for its cookie
// gives the cookie of the network's own directory in it; one without it is
// a usage error saying what was looked for.
func TestCookieDirectory(t *testing.T) {
	datadir := t.TempDir()
	os.MkdirAll(filepath.Join(datadir, "regtest"), 0o755)
	os.WriteFile(filepath.Join(datadir, "regtest", ".cookie"), []byte("__cookie__:s3cret"), 0o600)
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "__cookie__" || p != "s3cret" {
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"result":null,"error":{"code":-28,"message":"Loading block index..."},"id":1}`)
	}))
	defer node.Close()
	store := filepath.Join(t.TempDir(), "store")
	if r := run(t, "ingest", "btc", "--store", store, "--network", "regtest", "--rpc", node.URL, "--rpc-cookie", datadir, "-q"); r.code == 0 || !strings.Contains(r.stderr, "Loading block index") {
		t.Fatalf("the cookie of the data directory: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "ingest", "btc", "--store", store, "--rpc", node.URL, "--rpc-cookie", datadir, "-q"); r.code != exitUsage || !strings.Contains(r.stderr, "no .cookie in it") {
		t.Fatalf("a data directory without a mainnet cookie: exit %d %s", r.code, r.stderr)
	}
}

// --to ends a file source's ingest at a block and --from starts an empty
// store at one, as with a node; a rerun without them goes on to the end.
func TestIngestEVMFileRange(t *testing.T) {
	etl := filepath.Join("..", "..", "testdata", "evm", "etl-17173049")
	tip := func(dir string) string {
		t.Helper()
		var b struct {
			Number uint64 `json:"number"`
		}
		if err := json.Unmarshal([]byte(mustRun(t, "block", "--chain", "eth", "tip", "--store", dir, "--json")), &b); err != nil {
			t.Fatal(err)
		}
		return strconv.FormatUint(b.Number, 10)
	}
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "evm", "--store", dir, "--chain", "eth", "--etl", etl, "--to", "17173049", "-q")
	if got := tip(dir); got != "17173049" {
		t.Fatalf("--to 17173049: tip %s", got)
	}
	mustRun(t, "ingest", "evm", "--store", dir, "--chain", "eth", "--etl", etl, "-q")
	if got := tip(dir); got != "17173050" {
		t.Fatalf("rerun: tip %s", got)
	}
	late := filepath.Join(t.TempDir(), "late")
	mustRun(t, "ingest", "evm", "--store", late, "--chain", "eth", "--etl", etl, "--from", "17173050", "-q")
	if r := run(t, "block", "--chain", "eth", "17173049", "--store", late); r.code != exitNotFound {
		t.Fatalf("--from 17173050 holds block 17173049: exit %d %s", r.code, r.stdout)
	}
	if got := tip(late); got != "17173050" {
		t.Fatalf("--from 17173050: tip %s", got)
	}
}

// atoi reads a count as the commands print it (1,234); -1 if it is not one.
func atoi(s string) int {
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		return -1
	}
	return n
}

// btcOnly makes a store of mainnet blocks 0..4 alone.
func btcOnly(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_4.dat.bz2"), "-q")
	return dir
}

// spur version names the spur and the store formats it writes, as
// --version does.
func TestVersion(t *testing.T) {
	var v versionView
	if err := jsonUnmarshal(mustRun(t, "version", "--json"), &v); err != nil || v.Spur == "" || !strings.HasPrefix(v.Go, "go") ||
		v.BitcoinFormat != store.FormatVersion || v.EVMFormat != evmstore.FormatVersion {
		t.Fatalf("version: %+v %v", v, err)
	}
	if out := mustRun(t, "--version"); out != "spur "+v.Spur+"\n" {
		t.Fatalf("--version: %q", out)
	}
	if r := run(t, "version", "extra"); r.code != exitUsage {
		t.Fatalf("version with an argument: exit %d", r.code)
	}
}
