package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/colfile"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testnode"
	"github.com/spur-forensics/spur/internal/webhook"
)

// TestServeFollowsNode runs spur serve --follow-rpc against a real btcd: a
// deposit paid from a sanctioned address is screened clean before its block
// and severe once the block is in, while screening goes on during the ingest
// of many blocks and through a reorganisation.
func TestServeFollowsNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	node, key, mining, deposit, dir := btcdStore(t)
	rpc := []string{"--rpc-user", "u", "--rpc-pass", "p"}
	list := filepath.Join(t.TempDir(), "list.csv")
	os.WriteFile(list, []byte("address,chain,category,label,actor,source\n"+mining.EncodeAddress()+",btc,sanctioned,Test SDN entry,,test\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, "--format", "csv", list)

	srv := startServe(t, append([]string{"--store", dir, "--no-auth", "--rate", "1000000", "--burst", "1000000",
		"--follow-rpc", node.URL, "--interval", "50ms", "--alert", "sanctioned"}, rpc...)...)
	base := srv.base

	get := func(path string, out any) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			select { // the server's last words, if it has gone
			case <-srv.done:
			case <-time.After(2 * time.Second):
			}
			t.Fatalf("%v\nspur serve said:\n%s", err, srv.said())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		if s, ok := out.(*string); ok {
			*s = string(b)
		} else if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	type screened struct {
		Results []struct {
			Severity string `json:"severity"`
			Direct   []struct {
				Category string  `json:"category"`
				Share    float64 `json:"share"`
			} `json:"direct_exposure"`
		} `json:"results"`
	}
	screen := func(item string) (screened, error) {
		resp, err := http.Post(base+"/v1/screen", "application/json", strings.NewReader(`{"items":[`+item+`]}`))
		if err != nil {
			return screened{}, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return screened{}, fmt.Errorf("screen %s: %d %s", item, resp.StatusCode, b)
		}
		var out screened
		return out, json.Unmarshal(b, &out)
	}
	waitTip := func() {
		t.Helper()
		var best string
		node.Call(t, &best, "getbestblockhash")
		for range 600 {
			var h struct {
				Tip string `json:"tip"`
			}
			get("/healthz", &h)
			if h.Tip == best {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("the server did not reach the node's tip %s", best)
	}
	depositItem := fmt.Sprintf(`{"address":%q,"chain":"btc"}`, deposit.EncodeAddress())

	before, err := screen(depositItem)
	if err != nil || before.Results[0].Severity != "low" {
		t.Fatalf("fresh deposit address before any payment: %+v %v", before, err)
	}
	// Screening goes on while the server ingests 150 blocks.
	stopReads := make(chan struct{})
	readErr := make(chan error, 1)
	reads := 0
	go func() {
		defer close(readErr)
		for {
			select {
			case <-stopReads:
				return
			default:
			}
			if _, err := screen(fmt.Sprintf(`{"address":%q,"chain":"btc"}`, mining.EncodeAddress())); err != nil {
				readErr <- err
				return
			}
			reads++
		}
	}()
	node.Generate(t, 150)
	pay, _ := txscript.PayToAddrScript(deposit)
	spend := node.SpendCoinbase(t, 1, key, pay, 10_000)
	node.Generate(t, 1)
	waitTip()
	close(stopReads)
	if err := <-readErr; err != nil {
		t.Fatalf("screening during the ingest: %v", err)
	}
	if reads == 0 {
		t.Fatal("no screening answered during the ingest")
	}
	t.Logf("%d screens answered while 151 blocks were ingested", reads)
	after, err := screen(depositItem)
	if err != nil {
		t.Fatal(err)
	}
	r := after.Results[0]
	if r.Severity != "severe" || len(r.Direct) != 1 || r.Direct[0].Category != "sanctioned" || r.Direct[0].Share != 1 {
		t.Fatalf("deposit paid by a sanctioned address, once its block is in: %+v", r)
	}
	// With --alert, the server told the payment from the sanctioned
	// address on its standard output as it committed the block.
	// (They are printed once the block is committed, which screening
	// sees at once: waited for a little.)
	// And each block's coinbase, which pays the sanctioned address, every
	// block of every sync told (blocks 102 to 252).
	told := func(out string) bool {
		spent, paid := false, map[int64]bool{}
		for d := json.NewDecoder(strings.NewReader(out)); ; {
			var a struct {
				TxID   string `json:"txid"`
				Height int64  `json:"height"`
				From   []struct {
					Address string `json:"address"`
					Value   int64  `json:"value"`
				} `json:"from"`
				To []struct {
					Address string `json:"address"`
				} `json:"to"`
			}
			if d.Decode(&a) != nil {
				return spent && len(paid) == 151
			}
			if a.TxID == spend.TxHash().String() && len(a.From) == 1 && a.From[0].Address == mining.EncodeAddress() && a.From[0].Value == 50e8 {
				spent = true
			}
			if len(a.To) == 1 && a.To[0].Address == mining.EncodeAddress() && a.Height >= 102 && a.Height <= 252 {
				paid[a.Height] = true
			}
		}
	}
	if !eventually(func() bool { return told(srv.out.String()) }) {
		t.Fatalf("no alert of the payment from the sanctioned address %s, or not one of each block's coinbase; the server printed:\n%s", spend.TxHash(), srv.out.String())
	}
	tx, err := screen(fmt.Sprintf(`{"tx":%q,"direction":"deposit"}`, spend.TxHash()))
	if err != nil || tx.Results[0].Severity != "severe" {
		t.Fatalf("the deposit tx: %+v %v", tx, err)
	}
	var health struct {
		Height     int64 `json:"height"`
		NodeHeight int64 `json:"node_height"`
		Lag        int64 `json:"lag_blocks"`
		NodeUp     *bool `json:"node_up"`
	}
	get("/healthz", &health)
	if health.Height != 252 || health.NodeHeight != 252 || health.Lag != 0 || health.NodeUp == nil || !*health.NodeUp {
		t.Fatalf("healthz after catching up: %+v", health)
	}
	var metrics string
	get("/metrics", &metrics)
	if !strings.Contains(metrics, "spur_ingest_lag_blocks{chain=\"btc\"} 0") || !strings.Contains(metrics, "spur_node_height{chain=\"btc\"} 252") || !strings.Contains(metrics, "spur_node_up{chain=\"btc\"} 1") {
		t.Fatalf("metrics after catching up:\n%s", metrics)
	}

	// A reorganisation: the node drops the deposit's block for a longer
	// branch without it; the server follows, and the deposit is unpaid.
	var tip string
	node.Call(t, &tip, "getbestblockhash")
	node.Call(t, nil, "invalidateblock", tip)
	node.Generate(t, 2) // btcd may mine the deposit tx again in the new branch
	waitTip()
	var txr *http.Response
	if txr, err = http.Get(base + "/v1/btc/txs/" + spend.TxHash().String()); err != nil {
		t.Fatal(err)
	}
	txr.Body.Close()
	var nodeTx map[string]any
	inNode := node.RPC.Call(t.Context(), "getrawtransaction", &nodeTx, spend.TxHash().String(), 1) == nil && nodeTx["blockhash"] != nil
	t.Logf("after the reorg the deposit tx is in a block of the node: %v", inNode)
	if inNode != (txr.StatusCode == 200) {
		t.Fatalf("after the reorg the node has the deposit tx in a block: %v; the server answers %d", inNode, txr.StatusCode)
	}

	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.done:
		if srv.err != nil {
			t.Fatalf("spur serve on SIGTERM: %v\n%s", srv.err, srv.said())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("spur serve did not stop on SIGTERM")
	}
}

// served is a spur serve process started by startServe.
type served struct {
	base string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has ended
	err  error         // how it ended, once done
	mu   sync.Mutex
	log  bytes.Buffer // what it wrote to stderr
	out  testnode.Log // what it wrote to stdout (alerts)
}

// said returns what the server wrote to stderr so far.
func (s *served) said() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// startServe runs spur serve with args on a free loopback port and returns
// once it listens; the process is killed when the test ends.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	s := &served{cmd: exec.Command(spurBin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...), done: make(chan struct{})}
	s.cmd.Stdout = &s.out
	stderr, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Gone before the test's other cleanups (an unmount of its store).
		s.cmd.Process.Kill()
		<-s.done
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case s.base = <-addr:
	case <-s.done:
		t.Fatalf("spur serve exited: %v\n%s", s.err, s.said())
	case <-time.After(30 * time.Second):
		t.Fatal("spur serve did not start")
	}
	return s
}

// TestReadersBesideServer: while spur serve reads a store, queries and
// reports of it run beside it, and so does spur cluster, which writes the
// clustering alone (TestServeTakesNewClustering); whatever writes the chain
// (an ingest) is refused, naming who holds the store, and runs once the
// server is gone. (A label import is the server's to apply:
// TestLabelsWhileServing.)
func TestReadersBesideServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "300", "-q")
	list := filepath.Join(t.TempDir(), "list.csv")
	os.WriteFile(list, []byte("address,chain,category,label,actor,source\n12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S,btc,sanctioned,Test listing,Test Actor,test\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, "--format", "csv", list)
	mustRun(t, "cluster", "--store", dir)
	before := digestOf(t, dir)

	srv := startServe(t, "--store", dir, "--no-auth")
	const hal = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	if out := mustRun(t, "tx", hal, "--store", dir); !strings.Contains(out, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3") {
		t.Fatalf("tx beside the server:\n%s", out)
	}
	if out := mustRun(t, "screen", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--store", dir); !strings.Contains(out, "severe") {
		t.Fatalf("screen beside the server:\n%s", out)
	}
	mustRun(t, "entity", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--store", dir)
	mustRun(t, "trace", "--store", dir, "--from", hal+":1")
	if got := digestOf(t, dir); got != before {
		t.Fatalf("digest beside the server %s, want %s", got, before)
	}
	mustRun(t, "cluster", "--store", dir)
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "-q"}, "locked by another process"},
	} {
		if r := run(t, c.args...); r.code != exitStore || !strings.Contains(r.stderr, c.says) || strings.Contains(r.stderr, "pid ") {
			t.Errorf("spur %s beside the server: exit %d %s", strings.Join(c.args, " "), r.code, r.stderr)
		}
	}
	// The server answered throughout.
	resp, err := http.Get(srv.base + "/v1/btc/txs/" + hal)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the server: %v %v\n%s", resp, err, srv.said())
	}
	resp.Body.Close()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.done
	mustRun(t, "labels", "import", "--store", dir, "--format", "csv", list)
	mustRun(t, "cluster", "--store", dir)
}

// TestLabelsWhileServing: a label import while spur serve holds the labels
// is queued for the server, which applies it within a second and screens
// with it at once, its exposures too; the import returns once it is
// applied. So are imports of incidents (and one added) and prices.
func TestLabelsWhileServing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "300", "-q")
	srv := startServe(t, "--store", dir, "--no-auth")
	screen := func(addr string) (string, []string) { return screenAddr(t, srv.base, addr) }
	// Satoshi's address of block 9, and Hal Finney's, which it paid.
	const satoshi, hal = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
	// A SIGHUP without a rules file to read again ends nothing.
	srv.cmd.Process.Signal(syscall.SIGHUP)
	for i := 0; !strings.Contains(srv.said(), "no --rules file to read again"); i++ {
		if i == 200 {
			t.Fatalf("SIGHUP without --rules:\n%s", srv.said())
		}
		time.Sleep(25 * time.Millisecond)
	}
	if sev, direct := screen(hal); sev != "low" || len(direct) != 0 {
		t.Fatalf("before: %s %v", sev, direct)
	}
	list := filepath.Join(t.TempDir(), "list.csv")
	os.WriteFile(list, []byte("address,category,label\n"+satoshi+",stolen-funds,Test theft\n"), 0o644)
	r := run(t, "labels", "import", "--store", dir, list)
	if r.code != 0 || !strings.Contains(r.stderr, "queued for it to apply") || !strings.Contains(r.stdout, "imported 1 label and 0 entities") {
		t.Fatalf("labels import beside the server: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if sev, _ := screen(satoshi); sev != "high" {
		t.Fatalf("the labelled address after the import: %s", sev)
	}
	if sev, direct := screen(hal); sev != "high" || !slices.Contains(direct, "stolen-funds") {
		t.Fatalf("the address it paid after the import: %s %v\n%s", sev, direct, srv.said())
	}
	// Incidents and prices too.
	incidents := filepath.Join(t.TempDir(), "incidents.yaml")
	os.WriteFile(incidents, []byte("incidents:\n  - id: hal\n    victim: Hal Finney\n    date: 2009-01-12\n    actor: Nobody\n    chain: btc\n    theft_txs: [f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16]\n"), 0o644)
	if r := run(t, "incident", "import", "--store", dir, incidents); r.code != 0 || !strings.Contains(r.stderr, "the incident is queued") {
		t.Fatalf("incident import beside the server: exit %d\n%s", r.code, r.stderr)
	}
	resp, err := http.Get(srv.base + "/v1/incidents")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"id": "hal"`) {
		t.Fatalf("incidents after the import:\n%s", b)
	}
	if r := run(t, "incident", "add", "--store", dir, "--id", "hal-2", "--date", "2009-01-12", "--theft-tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0"); r.code != 0 || !strings.Contains(r.stderr, "the incident is queued") || r.stdout != "added incident hal-2 (2009-01-12, btc)\n" {
		t.Fatalf("incident add beside the server: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if resp, err = http.Get(srv.base + "/v1/incidents"); err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"id": "hal-2"`) || !strings.Contains(string(b), `"id": "hal"`) {
		t.Fatalf("incidents after the add:\n%s", b)
	}
	prices := filepath.Join(t.TempDir(), "prices.csv")
	os.WriteFile(prices, []byte("date,asset,usd\n2009-01-12,BTC,0.01\n"), 0o644)
	if r := run(t, "prices", "import", "--store", dir, prices); r.code != 0 || !strings.Contains(r.stderr, "the prices are queued") {
		t.Fatalf("prices import beside the server: exit %d\n%s", r.code, r.stderr)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.done
	if !strings.Contains(srv.said(), "labels imported") {
		t.Errorf("the server does not say it imported:\n%s", srv.said())
	}
	if out := mustRun(t, "labels", "sources", "--store", dir); !strings.Contains(out, "csv:list") {
		t.Fatalf("sources after the server:\n%s", out)
	}
	ls, err := label.OpenToRead(filepath.Join(dir, "labels"))
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	if usd, ok := ls.Price("BTC", "2009-01-12"); !ok || usd != 0.01 {
		t.Fatalf("the price after the server: %v %v", usd, ok)
	}
}

// screenAddr screens addr with the server at base and returns its
// severity and the categories of its direct exposure.
func screenAddr(t *testing.T, base, addr string) (severity string, direct []string) {
	t.Helper()
	resp, err := http.Post(base+"/v1/screen", "application/json", strings.NewReader(`{"items":[{"address":"`+addr+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Severity string `json:"severity"`
			Direct   []struct {
				Category string `json:"category"`
			} `json:"direct_exposure"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Results) != 1 {
		t.Fatalf("screen %s: %v", addr, err)
	}
	for _, d := range out.Results[0].Direct {
		direct = append(direct, d.Category)
	}
	return out.Results[0].Severity, direct
}

// TestLabelsImportBesideAQuery: an import that finds the labels held by a
// process that does not apply the queue (here, this test's, as a query
// holds them) applies it itself once they are let go.
func TestLabelsImportBesideAQuery(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	list := filepath.Join(t.TempDir(), "list.csv")
	os.WriteFile(list, []byte("address,category,label\n12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S,scam,Test\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, list)
	held, err := label.Open(filepath.Join(dir, "labels"))
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(500 * time.Millisecond); held.Close() }()
	os.WriteFile(list, []byte("address,category,label\n12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S,stolen-funds,Test\n"), 0o644)
	if r := run(t, "labels", "import", "--store", dir, list); r.code != 0 || !strings.Contains(r.stderr, "queued for it to apply") {
		t.Fatalf("an import beside a holder: exit %d\n%s", r.code, r.stderr)
	}
	if out := mustRun(t, "labels", "list", "--store", dir); !strings.Contains(out, "stolen-funds") {
		t.Fatalf("after the holder let go:\n%s", out)
	}
	// A holder that does not let go within --wait: exit 5, the import
	// left queued, applied by whoever opens the labels next. --wait 0
	// queues and returns at once.
	held, err = label.Open(filepath.Join(dir, "labels"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(list, []byte("address,category,label\n12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S,sanctioned,Test\n"), 0o644)
	start := time.Now()
	if r := run(t, "labels", "import", "--store", dir, list, "--wait", "300ms"); r.code != exitStore || !strings.Contains(r.stderr, "applies it when it lets go") || time.Since(start) > 20*time.Second {
		t.Fatalf("an import beside a holder that keeps the labels: exit %d after %s\n%s", r.code, time.Since(start), r.stderr)
	}
	prices := filepath.Join(t.TempDir(), "prices.csv")
	os.WriteFile(prices, []byte("date,asset,usd\n2021-08-19,BTC,46717.58\n"), 0o644)
	if r := run(t, "prices", "import", "--store", dir, prices, "--wait", "0"); r.code != 0 || !strings.Contains(r.stderr, "not waiting for it") {
		t.Fatalf("an import with --wait 0: exit %d\n%s", r.code, r.stderr)
	}
	if r := run(t, "incident", "import", "--store", dir, "x.yaml", "--wait", "-1s"); r.code != exitUsage {
		t.Fatalf("--wait -1s: exit %d\n%s", r.code, r.stderr)
	}
	held.Close()
	if out := mustRun(t, "labels", "list", "--store", dir); !strings.Contains(out, "sanctioned") {
		t.Fatalf("the queued import, once the holder let go:\n%s", out)
	}
}

// TestRulesReadAgain: SIGHUP makes spur serve read its rules file again:
// rules that parse are in force for the next screen; a file that does not
// leaves the rules in force and says why, and the server goes on.
func TestRulesReadAgain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "200", "-q")
	list := filepath.Join(t.TempDir(), "list.csv")
	os.WriteFile(list, []byte("address,category,label\n12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S,sanctioned,Test listing\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, list)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(rules, []byte("rules:\n  - {severity: medium, when: label, category: sanctioned}\n"), 0o644)
	srv := startServe(t, "--store", dir, "--no-auth", "--rules", rules)
	severity := func() string {
		sev, _ := screenAddr(t, srv.base, "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S")
		return sev
	}
	if got := severity(); got != "medium" {
		t.Fatalf("under the first rules: %s", got)
	}
	os.WriteFile(rules, []byte("rules:\n  - {severity: severe, when: label, category: sanctioned}\n"), 0o644)
	srv.cmd.Process.Signal(syscall.SIGHUP)
	for i := 0; severity() != "severe"; i++ {
		if i == 200 {
			t.Fatalf("the rules read again are not in force:\n%s", srv.said())
		}
		time.Sleep(25 * time.Millisecond)
	}
	os.WriteFile(rules, []byte("rules:\n  - {severity: dire, when: label, category: sanctioned}\n"), 0o644)
	srv.cmd.Process.Signal(syscall.SIGHUP)
	for i := 0; !strings.Contains(srv.said(), "rules not read again"); i++ {
		if i == 200 {
			t.Fatalf("a bad rules file not said:\n%s", srv.said())
		}
		time.Sleep(25 * time.Millisecond)
	}
	if got := severity(); got != "severe" || !strings.Contains(srv.said(), "line 2") {
		t.Fatalf("after a bad rules file: %s\n%s", got, srv.said())
	}
}

// TestKeys: keys are created, listed and revoked; a running server holds
// them (a revocation waits for it to stop), and refuses a revoked key once
// started again.
func TestKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_4.dat.bz2"), "-q")
	desk := strings.TrimSpace(mustRun(t, "keys", "create", "--store", dir, "--name", "desk"))
	var made struct{ Name, ID, Key string }
	if err := json.Unmarshal([]byte(mustRun(t, "keys", "create", "--store", dir, "--name", "ops", "--json")), &made); err != nil || made.Name != "ops" || !strings.HasPrefix(made.Key, "spur_") {
		t.Fatalf("keys create --json: %+v %v", made, err)
	}
	ops := made.Key
	var keys []struct{ Name, ID string }
	if err := json.Unmarshal([]byte(mustRun(t, "keys", "list", "--store", dir, "--json")), &keys); err != nil || len(keys) != 2 || keys[0].ID != made.ID && keys[1].ID != made.ID {
		t.Fatalf("keys list: %v %v", keys, err)
	}
	for _, k := range keys {
		if strings.Contains(desk, k.ID) || strings.Contains(ops, k.ID) {
			t.Fatal("keys list shows a key itself, not its hash")
		}
	}
	status := func(base, key string) int {
		req, _ := http.NewRequest("GET", base+"/v1/btc/blocks/tip", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	srv := startServe(t, "--store", dir)
	if status(srv.base, desk) != 200 || status(srv.base, ops) != 200 {
		t.Fatal("a key refused")
	}
	// Beside the running server: a key made works at once, and a key
	// revoked is refused at once (the server reads the journal of changes
	// as it changes), the others still work.
	var late struct{ Key string }
	if err := json.Unmarshal([]byte(mustRun(t, "keys", "create", "--store", dir, "--name", "late", "--json")), &late); err != nil {
		t.Fatal(err)
	}
	waitStatus := func(key string, want int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); status(srv.base, key) != want; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("key still answered %d, want %d", status(srv.base, key), want)
			}
		}
	}
	waitStatus(late.Key, 200)
	if r := run(t, "keys", "revoke", "--store", dir, "--name", "late"); r.code != 0 || !strings.Contains(r.stdout, "revoked 1") {
		t.Fatalf("revoke beside the server: exit %d %s", r.code, r.stderr)
	}
	waitStatus(late.Key, 401)
	if status(srv.base, desk) != 200 || status(srv.base, ops) != 200 {
		t.Fatal("another key refused after a revocation beside the server")
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.done
	// The journal is the store's once the labels are opened for writing.
	var after []struct{ Name string }
	if err := json.Unmarshal([]byte(mustRun(t, "keys", "list", "--store", dir, "--json")), &after); err != nil || len(after) != 2 {
		t.Fatalf("keys after the server: %v %v", after, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "keys.pending")); err != nil || st.Size() != 0 {
		t.Fatalf("journal not applied: %v %v", st, err)
	}
	id := ""
	for _, k := range keys {
		if k.Name == "desk" {
			id = k.ID
		}
	}
	if out := mustRun(t, "keys", "revoke", "--store", dir, "--id", id); !strings.Contains(out, "revoked 1") {
		t.Fatalf("revoke: %s", out)
	}
	if r := run(t, "keys", "revoke", "--store", dir, "--id", id); r.code != exitNotFound {
		t.Fatalf("revoke again: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "keys", "revoke", "--store", dir, "--name", "desk", "--id", id); r.code != exitUsage {
		t.Fatalf("revoke by name and id: exit %d %s", r.code, r.stderr)
	}
	srv = startServe(t, "--store", dir)
	if status(srv.base, desk) != 401 || status(srv.base, ops) != 200 {
		t.Fatal("after the revocation: the revoked key works, or the other does not")
	}
}

// TestServeLabelsAlone serves a store of labels alone (no chain ingested):
// screening answers on the labels, and what needs the Bitcoin store says
// it is not there (404), as an exchange screening against sanctions lists
// alone, or on an EVM chain alone, would have it.
func TestServeLabelsAlone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "labels", "import", "--store", dir, "--format", "ofac-sdn-csv", ofacTestDir(t))
	srv := startServe(t, "--store", dir, "--no-auth")
	post := func(path, body string) (int, string) {
		resp, err := http.Post(srv.base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post("/v1/screen", `{"items":[{"address":"0x098b716b8aaf21512996dc57eb0615e2383e2f96"},{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}]}`)
	var res struct{ Results []struct{ Severity string } }
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || len(res.Results) != 2 || res.Results[0].Severity != "severe" || res.Results[1].Severity != "low" {
		t.Fatalf("screen: %d %s", code, body)
	}
	if code, body := post("/v1/screen", `{"items":[{"tx":"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"}]}`); code != 404 || !strings.Contains(body, "no Bitcoin store") || !strings.Contains(body, `"items[0].tx"`) {
		t.Fatalf("a tx to screen: %d %s", code, body)
	}
	resp, err := http.Get(srv.base + "/v1/btc/blocks/tip")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), "no Bitcoin store") {
		t.Fatalf("a block: %d %s", resp.StatusCode, b)
	}
	if !strings.Contains(srv.said(), "(labels)") {
		t.Fatalf("serve said: %s", srv.said())
	}
	// An empty directory is nothing to serve.
	if r := run(t, "serve", "--store", t.TempDir(), "--no-auth", "--listen", "127.0.0.1:0"); r.code != exitNotFound {
		t.Fatalf("serve of nothing: exit %d %s", r.code, r.stderr)
	}
}

// TestReportEthereumAlone: a store of Ethereum alone reports an incident
// on Ethereum, from the command line and the API; one on Bitcoin is not
// found there (exit 3, 404).
func TestReportEthereumAlone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "evm", "--store", dir, "--chain", "eth", "--etl", "../../testdata/evm/etl-17173049", "-q")
	// Ethereum exposure is in dollars: without prices, screening says so.
	const miner = "0x1f9090aaE28b8a3dCeaDf281B0F12828e676c326"
	if r := run(t, "screen", "--store", dir, miner); r.code != 0 || !strings.Contains(r.stderr, "no prices imported") {
		t.Errorf("screen without prices: exit %d %s", r.code, r.stderr)
	}
	prices := filepath.Join(t.TempDir(), "prices.csv")
	os.WriteFile(prices, []byte("date,asset,usd\n2023-05-02,ETH,1870.5\n"), 0o644)
	mustRun(t, "prices", "import", "--store", dir, prices)
	if r := run(t, "screen", "--store", dir, miner); r.code != 0 || strings.Contains(r.stderr, "no prices imported") {
		t.Errorf("screen with prices: exit %d %s", r.code, r.stderr)
	}
	incidents := filepath.Join(t.TempDir(), "incidents.yaml")
	os.WriteFile(incidents, []byte("incidents:\n  - id: on-eth\n    victim: V\n    date: 2023-05-02\n    actor: A\n    chain: eth\n"+
		"    theft_txs: [0xec7cc4df1ff542793053335700f18d59c3f870e1e4820a42d558c76db832bd14]\n"+
		"  - id: on-btc\n    victim: W\n    date: 2023-05-02\n    actor: A\n    chain: btc\n"+
		"    theft_txs: [f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16]\n"+
		"  - id: on-both\n    victim: X\n    date: 2023-05-02\n    actor: A\n    chain: btc\n"+
		"    theft_txs: [f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16]\n"+
		"    evm: {chain: eth, theft_txs: [0xec7cc4df1ff542793053335700f18d59c3f870e1e4820a42d558c76db832bd14]}\n"), 0o644)
	mustRun(t, "incident", "import", "--store", dir, incidents)
	if md := mustRun(t, "report", "incident", "on-eth", "--store", dir); !strings.Contains(md, "Chain: eth.") || !strings.Contains(md, "| where | USD at theft | share |") {
		t.Fatalf("report:\n%s", md)
	}
	if r := run(t, "report", "incident", "on-btc", "--store", dir); r.code != exitNotFound || !strings.Contains(r.stderr, "needs a store of the Bitcoin chain") {
		t.Fatalf("a Bitcoin incident: exit %d %s", r.code, r.stderr)
	}
	// On both chains: its Ethereum part, the other named as left out.
	if md := mustRun(t, "report", "incident", "on-both", "--store", dir); !strings.Contains(md, "Chain: btc and eth.") || !strings.Contains(md, "Left out: its part on btc, a chain this store does not hold.") || !strings.Contains(md, "| where | USD at theft | share |") {
		t.Fatalf("report of an incident on both chains:\n%s", md)
	}
	if md := mustRun(t, "report", "actor", "A", "--year", "2023", "--store", dir); !strings.Contains(md, "Left out: the part on btc of 1 of the incidents") || !strings.Contains(md, "Left out: on-btc, on chains this store does not hold.") || !strings.Contains(md, "2 incidents") {
		t.Fatalf("actor report:\n%s", md)
	}
	srv := startServe(t, "--store", dir, "--no-auth")
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var rep struct {
		Chain string `json:"chain"`
		EVM   *struct {
			Stolen map[string]string `json:"stolen"`
		} `json:"evm"`
	}
	if code, body := get("/v1/reports/incident/on-eth"); code != 200 || json.Unmarshal([]byte(body), &rep) != nil || rep.Chain != "eth" || rep.EVM == nil || len(rep.EVM.Stolen) == 0 {
		t.Fatalf("report over the API: %d %s", code, body)
	}
	if code, body := get("/v1/reports/incident/on-btc"); code != 404 {
		t.Fatalf("a Bitcoin incident over the API: %d %s", code, body)
	}
	// As CSV, the command's own.
	resp, err := http.Get(srv.base + "/v1/reports/incident/on-eth?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := mustRun(t, "report", "incident", "on-eth", "--store", dir, "--format", "csv"); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		string(body) != want || !strings.HasPrefix(want, "incident,victim,date,actor,chain,place,amount,usd,share\non-eth,") || strings.Contains(want, ",btc,") {
		t.Fatalf("the report as CSV over the API: %d %q\n%s\nthe command's:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
	}
}

// TestQueriesBesideFollow: a follow started while a query reads the store
// waits for it; then queries read the store it keeps, between its blocks; another writer (an ingest) is refused, naming the
// follow by its command (never its flags, which may hold a password) and
// what runs beside it; so is a server without --follow-rpc, which would
// hold the follow off for as long as it serves.
func TestQueriesBesideFollow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "4", "-q")
	// A query in the store when the follow starts: the follow waits for it.
	query, err := store.OpenReadOnly(filepath.Join(dir, "btc"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A node that never answers: the follow polls, holding the store.
	follow := exec.Command(spurBin, "follow", "btc", "--store", dir, "--rpc", "http://127.0.0.1:1", "--rpc-user", "u", "--rpc-pass", "s3cret")
	followErr := &testnode.Log{}
	follow.Stderr = followErr
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- follow.Wait() }()
	defer func() { follow.Process.Kill(); <-exited }()
	select {
	case err := <-exited:
		exited <- err
		t.Fatalf("the follow gave up on the query in the store: %v\n%s", err, followErr.String())
	case <-time.After(500 * time.Millisecond):
	}
	if !strings.Contains(followErr.String(), "waiting for queries of the store to end") {
		t.Errorf("the follow does not say it waits:\n%s", followErr.String())
	}
	query.Close()
	// Queried once the follow shares the store (its pid in LOCK, sharing):
	// a query that took the lock first would make the follow give up.
	pid := strconv.Itoa(follow.Process.Pid)
	for i := 0; ; i++ {
		if b, _ := os.ReadFile(filepath.Join(dir, "btc", "LOCK")); strings.TrimSpace(string(b)) == pid+" shares" {
			break
		}
		if i == 200 {
			t.Fatalf("the follow did not take the store's lock:\n%s", followErr.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	if out := mustRun(t, "block", "4", "--store", dir, "--json"); !strings.Contains(out, "000000004ebadb55ee9096c9a2f8880e09da59c0d68b1c228da88e48844a1485") {
		t.Fatalf("block 4 beside a follow: %s", out)
	}
	r := run(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "5", "-q")
	want := fmt.Sprintf("pid %d: spur follow btc)", follow.Process.Pid)
	if r.code != exitStore || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "Queries run beside 'spur follow'") || strings.Contains(r.stderr, "s3cret") {
		t.Fatalf("an ingest beside a follow: exit %d: %s (want %q)", r.code, r.stderr, want)
	}
	if r := run(t, "serve", "--store", dir, "--no-auth", "--listen", "127.0.0.1:0"); r.code != exitStore || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "--follow-rpc instead") {
		t.Fatalf("a server beside a follow: exit %d: %s", r.code, r.stderr)
	}
	if out := mustRun(t, "block", "4", "--store", dir); !strings.Contains(out, "000000004ebadb55ee9096c9a2f8880e09da59c0d68b1c228da88e48844a1485") {
		t.Fatalf("block 4 beside a follow, after: %s", out)
	}
}

// TestFollowersWaitForQueries: every follower started while a query reads
// its store (spur follow evm, serve --follow-rpc, serve --follow-evm)
// waits for the query, saying so, rather than giving up (as a supervisor's
// restart would meet it), then takes the store once the query ends. Their
// nodes are down, which they wait out too (serve --follow-evm beside a
// store it made before).
func TestFollowersWaitForQueries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "--stop-height", "4", "-q")
	mustRun(t, "ingest", "evm", "--store", dir, "--chain", "eth", "--etl", "../../testdata/evm/etl-17173049", "-q")
	dead := "http://127.0.0.1:1"
	queryBTC := func() (io.Closer, error) { return store.OpenReadOnly(filepath.Join(dir, "btc"), store.Options{}) }
	queryEVM := func() (io.Closer, error) { return evmstore.OpenReadOnly(filepath.Join(dir, "evm", "eth"), "eth") }
	for _, c := range []struct {
		name  string
		args  []string
		query func() (io.Closer, error)
		lock  string // the LOCK the follower takes
	}{
		{"follow evm", []string{"follow", "evm", "--store", dir, "--chain", "eth", "--rpc", dead}, queryEVM, "evm/eth/LOCK"},
		{"serve --follow-rpc", []string{"serve", "--store", dir, "--no-auth", "--listen", "127.0.0.1:0", "--follow-rpc", dead, "--rpc-user", "u", "--rpc-pass", "p"}, queryBTC, "btc/LOCK"},
		{"serve --follow-evm", []string{"serve", "--store", dir, "--no-auth", "--listen", "127.0.0.1:0", "--evm-chain", "eth", "--follow-evm", dead}, queryEVM, "evm/eth/LOCK"},
	} {
		t.Run(c.name, func(t *testing.T) {
			query, err := c.query()
			if err != nil {
				t.Fatal(err)
			}
			defer query.Close()
			follower := exec.Command(spurBin, c.args...)
			stderr := &testnode.Log{}
			follower.Stderr = stderr
			if err := follower.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- follower.Wait() }()
			defer func() { follower.Process.Kill(); <-exited }()
			// (serve --follow-evm asks the node its chain first, five
			// times, before it opens the store.)
			says(t, stderr, exited, "waiting for queries of the store to end")
			time.Sleep(100 * time.Millisecond) // and goes on waiting
			if lock, _ := os.ReadFile(filepath.Join(dir, c.lock)); strings.HasPrefix(string(lock), strconv.Itoa(follower.Process.Pid)) {
				t.Fatalf("took the store while a query read it: LOCK %q", lock)
			}
			query.Close()
			pid := strconv.Itoa(follower.Process.Pid)
			for i := 0; ; i++ {
				if b, _ := os.ReadFile(filepath.Join(dir, c.lock)); strings.HasPrefix(string(b), pid) {
					break
				}
				if i == 200 {
					t.Fatalf("did not take the store once the query ended:\n%s", stderr.String())
				}
				time.Sleep(25 * time.Millisecond)
			}
			says(t, stderr, exited, "the node does not answer; polling until it does")
		})
	}
}

// says waits, 20 s at most, for a running command to write text to its
// stderr; exited is where its end is told (and told again, for others).
func says(t *testing.T, stderr *testnode.Log, exited chan error, text string) {
	t.Helper()
	for i := 0; !strings.Contains(stderr.String(), text); i++ {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("ended (%v) before it said %q:\n%s", err, text, stderr.String())
		case <-time.After(25 * time.Millisecond):
		}
		if i == 800 {
			t.Fatalf("does not say %q:\n%s", text, stderr.String())
		}
	}
}

// TestIngestEVMCompactsIndex: a bulk load compacts the index for reads
// (its JSON says how long it took); a run that adds nothing neither
// compacts nor changes the store. (That a compaction changes nothing the
// index holds is TestCompactIndex's.)
func TestIngestEVMCompactsIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	var st struct {
		Transfers  int64   `json:"transfers"`
		CompactSec float64 `json:"index_compaction_seconds"`
	}
	if err := jsonUnmarshal(mustRun(t, "ingest", "evm", "--store", dir, "--chain", "eth", "--etl", "../../testdata/evm/etl-17173049", "-q", "--json"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Transfers == 0 || st.CompactSec <= 0 {
		t.Fatalf("a bulk load: %+v", st)
	}
	before := mustRun(t, "store", "digest", "--chain", "eth", "--store", dir)
	st.CompactSec = 0
	if err := jsonUnmarshal(mustRun(t, "ingest", "evm", "--store", dir, "--chain", "eth", "--etl", "../../testdata/evm/etl-17173049", "-q", "--json"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Transfers != 0 || st.CompactSec != 0 {
		t.Fatalf("a run that added nothing: %+v", st)
	}
	if after := mustRun(t, "store", "digest", "--chain", "eth", "--store", dir); after != before {
		t.Fatalf("digest %s after, %s before", after, before)
	}
}

// TestFollowAlerts follows a real btcd with --alert: the block that spends
// from an address labelled stolen-funds, and each block whose coinbase pays
// it, are told as they arrive, with the labelled side and its value; a
// label imported while following counts from the next block.
func TestFollowAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	node, key, mining, deposit, dir := btcdStore(t)
	rpc := []string{"--rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p"}
	list := filepath.Join(t.TempDir(), "thief.csv")
	os.WriteFile(list, []byte("address,chain,category,label\n"+mining.EncodeAddress()+",btc,stolen-funds,Test theft\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, list)
	if r := run(t, append([]string{"follow", "btc", "--network", "regtest", "--store", dir, "--alert", ","}, rpc...)...); r.code != exitUsage {
		t.Fatalf("--alert of no category: exit %d %s", r.code, r.stderr)
	}

	follow, stdout, stderr := startSpur(t, append([]string{"follow", "btc", "--network", "regtest", "--store", dir, "--interval", "50ms", "--alert", "stolen_funds,sanctioned", "--json"}, rpc...)...)
	type party struct {
		Address string `json:"address"`
		Value   int64  `json:"value"`
		Labels  []struct {
			Category, Label string
		} `json:"labels"`
	}
	// Each sync and each alert is a JSON object; an alert has a txid.
	next := alertStream[party](t, stdout, stderr)
	pay, _ := txscript.PayToAddrScript(deposit)
	spend := node.SpendCoinbase(t, 1, key, pay, 10_000)
	node.Generate(t, 1)
	// The block's coinbase pays the labelled address; its spend takes
	// the coinbase of block 1 from it.
	cb, sp := next(), next()
	if cb.Height != 102 || len(cb.From) != 0 || len(cb.To) != 1 || cb.To[0].Address != mining.EncodeAddress() || cb.To[0].Value < 50e8 ||
		cb.To[0].Labels[0].Category != "stolen-funds" || cb.To[0].Labels[0].Label != "Test theft" {
		t.Fatalf("the coinbase's alert: %+v", cb)
	}
	if sp.TxID != spend.TxHash().String() || sp.Height != 102 || len(sp.From) != 1 || sp.From[0].Address != mining.EncodeAddress() ||
		sp.From[0].Value != 50e8 || len(sp.To) != 0 {
		t.Fatalf("the spend's alert: %+v (spend %s)", sp, spend.TxHash())
	}
	// A category no label has yet is noted at the start (a typo would
	// watch nothing), and watched all the same.
	if !strings.Contains(stderr.String(), `no label has category "sanctioned"; the labels have: stolen-funds`) {
		t.Fatalf("spur follow --alert of a category no label has said:\n%s", stderr)
	}
	// The deposit labelled sanctioned while following: the next block's
	// payment to it is told on that side too.
	os.WriteFile(list, []byte("address,chain,category,label\n"+deposit.EncodeAddress()+",btc,sanctioned,Test listing\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, "--source", "sdn", list)
	spend2 := node.SpendCoinbase(t, 2, key, pay, 10_000)
	node.Generate(t, 1)
	if cb := next(); cb.Height != 103 || len(cb.To) != 1 {
		t.Fatalf("the next coinbase's alert: %+v", cb)
	}
	sp = next()
	if sp.TxID != spend2.TxHash().String() || len(sp.From) != 1 || len(sp.To) != 1 || sp.To[0].Address != deposit.EncodeAddress() ||
		sp.To[0].Value != 50e8-10_000 || sp.To[0].Labels[0].Category != "sanctioned" {
		t.Fatalf("a payment to an address labelled while following: %+v", sp)
	}

	// As text, for a person watching.
	follow.Process.Kill()
	follow.Wait()
	text := exec.Command(spurBin, append([]string{"follow", "btc", "--network", "regtest", "--store", dir, "--interval", "50ms", "--alert", "stolen-funds"}, rpc...)...)
	out := &testnode.Log{}
	text.Stdout, text.Stderr = out, stderr
	if err := text.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { text.Process.Kill(); text.Wait() })
	node.Generate(t, 1)
	want := regexp.MustCompile(`^alert: block 104, tx [0-9a-f]{64}\n  to   ` + mining.EncodeAddress() + `  50\.\d{8} BTC  stolen-funds: Test theft \(csv:thief\)\n$`)
	for i := 0; !want.MatchString(out.String()); i++ {
		if i == 600 {
			t.Fatalf("spur follow --alert as text said:\n%s\n%s", out, stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The labels unreadable for a block (a file where their directory
	// was): its alerts fail, logged, and the follow goes on; back, the
	// next block's alerts are told.
	labels := filepath.Join(dir, "labels")
	if err := os.Rename(labels, labels+".away"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(labels, nil, 0o644)
	node.Generate(t, 1)
	if !eventually(func() bool {
		return strings.Contains(stderr.String(), "alerts failed") && strings.Contains(stderr.String(), "height=105")
	}) {
		t.Fatalf("a sync without labels:\n%s", stderr)
	}
	os.Remove(labels)
	os.Rename(labels+".away", labels)
	node.Generate(t, 1)
	if !eventually(func() bool { return strings.Contains(out.String(), "alert: block 106, tx ") }) || strings.Contains(out.String(), "alert: block 105") {
		t.Fatalf("the labels back: spur follow --alert said\n%s\n%s", out, stderr)
	}
}

// TestFollowAlertsByEntity follows with --cluster --by-entity a node whose
// block 103 spends a coin of the labelled deposit address together with
// one of the mining address: the clustering of each sync, made before its
// alerts, joins the two, and each transaction of the mining address is
// then told by the deposit's label, the sync's earlier block too.
func TestFollowAlertsByEntity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	params := &chaincfg.RegressionNetParams
	node, key, mining, deposit, dir := btcdStore(t)
	depositKey, _ := testnode.Key(0x43, params)
	_, other := testnode.Key(0x44, params)
	rpc := []string{"--rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p"}
	list := filepath.Join(t.TempDir(), "sdn.csv")
	os.WriteFile(list, []byte("address,chain,category,label\n"+deposit.EncodeAddress()+",btc,sanctioned,Test listing\n"), 0o644)
	mustRun(t, "labels", "import", "--store", dir, list)
	follow := []string{"follow", "btc", "--network", "regtest", "--store", dir, "--interval", "50ms"}
	if r := run(t, append(append(follow, "--by-entity"), rpc...)...); r.code != exitUsage || !strings.Contains(r.stderr, "--alert") {
		t.Fatalf("--by-entity without --alert: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, append(append(follow, "--by-entity", "--alert", "sanctioned"), rpc...)...); r.code != exitNotFound || !strings.Contains(r.stderr, "run spur cluster") || !strings.Contains(r.stderr, "--cluster") {
		t.Fatalf("--by-entity on a store never clustered, without --cluster: exit %d %s", r.code, r.stderr)
	}
	serve := []string{"--store", dir, "--no-auth", "--follow-rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p", "--interval", "50ms", "--listen", "127.0.0.1:0"}
	if r := run(t, append([]string{"serve", "--alert", "sanctioned", "--by-entity"}, serve...)...); r.code != exitNotFound || !strings.Contains(r.stderr, "run spur cluster") {
		t.Fatalf("serve --by-entity on a store never clustered: exit %d %s", r.code, r.stderr)
	}

	payDeposit, _ := txscript.PayToAddrScript(deposit)
	payOther, _ := txscript.PayToAddrScript(other)
	toDeposit := node.SpendCoinbase(t, 1, key, payDeposit, 10_000)
	node.Generate(t, 1)
	joint := node.Spend(t, []testnode.Coin{{Tx: toDeposit, Vout: 0, Key: depositKey}, {Tx: node.Block(t, 2).Transactions[0], Vout: 0, Key: key}}, payOther, 10_000)
	node.Generate(t, 1)

	// The alerts posted to a webhook as well, signed.
	var hookMu sync.Mutex
	var posted []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Spur-Signature-256") != webhook.Sign([]byte("s3cret"), b) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		hookMu.Lock()
		posted = append(posted, string(b))
		hookMu.Unlock()
	}))
	defer hook.Close()
	t.Setenv("SPUR_WEBHOOK_SECRET", "s3cret")
	if r := run(t, append(append(follow, "--alert-webhook", hook.URL), rpc...)...); r.code != exitUsage || !strings.Contains(r.stderr, "--alert") {
		t.Fatalf("--alert-webhook without --alert: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, append(append(follow, "--alert", "sanctioned", "--alert-webhook", "localhost:1"), rpc...)...); r.code != exitUsage {
		t.Fatalf("--alert-webhook without a scheme: exit %d %s", r.code, r.stderr)
	}
	followCmd, stdout, stderr := startSpur(t, append(append(follow, "--cluster", "--by-entity", "--alert", "sanctioned", "--json", "--alert-webhook", hook.URL), rpc...)...)
	type party struct {
		Address string `json:"address"`
		Value   int64  `json:"value"`
		Labels  []struct {
			Category string `json:"category"`
		} `json:"labels"`
		Entity *entityOf `json:"entity"`
	}
	type alert = alertOf[party]
	next := alertStream[party](t, stdout, stderr)
	// side says a side of an alert: each party's address, value and whether
	// it has its own label, all in the deposit's entity.
	size := 2
	side := func(ps []party) string {
		var out []string
		for _, p := range ps {
			if p.Entity == nil || p.Entity.Size != size || len(p.Entity.Labels) != 1 || p.Entity.Labels[0].Via != deposit.EncodeAddress() {
				return fmt.Sprintf("%+v: not in the deposit's entity", p)
			}
			out = append(out, fmt.Sprintf("%s %d %d", p.Address, p.Value, len(p.Labels)))
		}
		return strings.Join(out, ", ")
	}
	m, d := mining.EncodeAddress(), deposit.EncodeAddress()
	cb := fmt.Sprintf("%s %d 0", m, int64(50e8)+10_000) // a coinbase with one fee
	want := []string{
		"102 : " + cb,
		fmt.Sprintf("102 %s 5000000000 0: %s 4999990000 1", m, d),
		"103 : " + cb,
		fmt.Sprintf("103 %s 4999990000 1, %s 5000000000 0: ", d, m),
		fmt.Sprintf("104 : %s 5000000000 0", m),
	}
	var got []string
	for i := range want {
		if i == 4 {
			node.Generate(t, 1) // a block the follower did not start with
		}
		a := next()
		got = append(got, fmt.Sprintf("%d %s: %s", a.Height, side(a.From), side(a.To)))
		if i == 1 && a.TxID != toDeposit.TxHash().String() || i == 3 && a.TxID != joint.TxHash().String() {
			t.Errorf("alert %d: tx %s", i, a.TxID)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("spur follow --by-entity:\n got %q\nwant %q", got, want)
	}
	// Each alert posted, in order, as printed.
	var postedTxs []string
	if !eventually(func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		postedTxs = nil
		for _, b := range posted {
			var a alert
			json.Unmarshal([]byte(b), &a)
			postedTxs = append(postedTxs, fmt.Sprintf("%d %s: %s", a.Height, side(a.From), side(a.To)))
		}
		return len(posted) >= len(want)
	}) || !slices.Equal(postedTxs, want) {
		t.Fatalf("the webhook took:\n%q\nwant %q", postedTxs, want)
	}

	// The server alike, keeping the clustering current (--cluster): block
	// 105 pays a new address X from the mining address, block 106 spends
	// X's coin with another of the mining address's; the clustering made
	// after that sync, before its alerts, has X in the deposit's entity,
	// and so has screening. The follower stopped as Ctrl-C stops it, its
	// last sync's alerts recorded as queued (killed between a sync's alerts
	// and their record, the server would tell block 104's again: at least
	// once).
	followCmd.Process.Signal(os.Interrupt)
	followCmd.Wait()
	if r := run(t, "serve", "--store", dir, "--by-entity", "--alert", "sanctioned"); r.code != exitUsage {
		t.Fatalf("serve --by-entity without a follow: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "serve", "--store", dir, "--cluster"); r.code != exitUsage {
		t.Fatalf("serve --cluster without a follow: exit %d %s", r.code, r.stderr)
	}
	// The clustering gone: the server makes it again before it serves.
	os.RemoveAll(filepath.Join(dir, "btc", "cluster"))
	srv := startServe(t, append(serve[:len(serve)-2], "--alert", "sanctioned", "--by-entity", "--cluster", "--alert-webhook", hook.URL)...)
	screenEntity := func(addr string) int {
		t.Helper()
		resp, err := http.Post(srv.base+"/v1/screen", "application/json", strings.NewReader(`{"items":[{"address":"`+addr+`"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var screened struct {
			Results []struct {
				Entity *struct {
					Size int `json:"size"`
				} `json:"entity"`
			} `json:"results"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&screened); err != nil || len(screened.Results) != 1 || screened.Results[0].Entity == nil {
			return 0
		}
		return screened.Results[0].Entity.Size
	}
	if n := screenEntity(d); n != 2 {
		t.Fatalf("screening the deposit as the server starts with --cluster: an entity of %d", n)
	}
	xKey, x := testnode.Key(0x45, params)
	payX, _ := txscript.PayToAddrScript(x)
	toX := node.SpendCoinbase(t, 3, key, payX, 10_000)
	node.Generate(t, 1)
	// Block 105's alerts told (a sync of its own) before block 106 is mined.
	if !eventually(func() bool { return strings.Count(srv.out.String(), `"txid"`) >= 2 }) {
		t.Fatalf("spur serve --cluster --by-entity told nothing of block 105:\n%s\n%s", srv.out.String(), srv.said())
	}
	node.Spend(t, []testnode.Coin{{Tx: toX, Vout: 0, Key: xKey}, {Tx: node.Block(t, 4).Transactions[0], Vout: 0, Key: key}}, payOther, 10_000)
	node.Generate(t, 1)
	want = []string{
		"105 : " + cb,
		fmt.Sprintf("105 %s 5000000000 0: ", m),
		"106 : " + cb,
		fmt.Sprintf("106 %s 4999990000 0, %s 5000000000 0: ", x.EncodeAddress(), m),
	}
	alertsOf := func() []string {
		var out []string
		size = 2 // block 105's entity
		for d := json.NewDecoder(strings.NewReader(srv.out.String())); ; {
			var a alert
			if d.Decode(&a) != nil {
				return out
			}
			if a.Height == 106 {
				size = 3
			}
			out = append(out, fmt.Sprintf("%d %s: %s", a.Height, side(a.From), side(a.To)))
		}
	}
	if !eventually(func() bool { return len(alertsOf()) >= len(want) }) || !slices.Equal(alertsOf(), want) {
		t.Fatalf("spur serve --cluster --by-entity:\n got %q\nwant %q\n%s", alertsOf(), want, srv.said())
	}
	if n := screenEntity(x.EncodeAddress()); n != 3 {
		t.Fatalf("screening X after the server re-clustered: an entity of %d", n)
	}
	// The server's alerts posted too, as it printed them.
	var printed []string
	for d := json.NewDecoder(strings.NewReader(srv.out.String())); ; {
		var m json.RawMessage
		if d.Decode(&m) != nil {
			break
		}
		var b bytes.Buffer
		json.Compact(&b, m)
		printed = append(printed, b.String())
	}
	if !eventually(func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		return len(posted) >= 5+len(printed)
	}) {
		t.Fatalf("the webhook took %d alerts, want %d", len(posted), 5+len(printed))
	}
	hookMu.Lock()
	defer hookMu.Unlock()
	if len(printed) != len(want) || !slices.Equal(posted[5:], printed) {
		t.Fatalf("the server posted:\n%q\nprinted:\n%q", posted[5:], printed)
	}
	// And counts them for /metrics (the receiver has each body a moment
	// before the server has its answer).
	var metrics []byte
	lines := []string{fmt.Sprintf("\nspur_alert_webhook_delivered_total %d\n", len(printed)), "\nspur_alert_webhook_refused_total 0\n", "\nspur_alert_webhook_queued 0\n"}
	if !eventually(func() bool {
		resp, err := http.Get(srv.base + "/metrics")
		if err != nil {
			return false
		}
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range lines {
			if !strings.Contains(string(metrics), line) {
				return false
			}
		}
		return true
	}) {
		t.Errorf("/metrics lacks %q:\n%s", lines, metrics)
	}

	// A sync whose clustering cannot be written (another run holds it):
	// logged, the block served all the same; the next sync clusters again.
	held, err := colfile.LockDir(filepath.Join(dir, "btc", "cluster"), cluster.ErrLocked)
	if err != nil {
		t.Fatal(err)
	}
	node.Generate(t, 1)
	if !eventually(func() bool {
		return strings.Contains(srv.said(), "clustering failed") && strings.Contains(srv.said(), "height=107")
	}) {
		t.Fatalf("a sync beside another clustering run:\n%s", srv.said())
	}
	held.Close()
	clustered := strings.Count(srv.said(), "msg=clustered")
	node.Generate(t, 1)
	if !eventually(func() bool { return strings.Count(srv.said(), "msg=clustered") > clustered }) {
		t.Fatalf("the next sync did not cluster:\n%s", srv.said())
	}
}

// TestServeTakesNewClustering runs spur cluster beside a server of a store
// never clustered: the server takes the clustering as it serves, its
// entities answered from then on; a second run beside it as well.
func TestServeTakesNewClustering(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--store", dir, "--blocks", sample("blk_0_to_14131.dat.bz2"), "-q")
	srv := startServe(t, "--store", dir, "--no-auth")
	entity := func() (int, int) {
		resp, err := http.Get(srv.base + "/v1/entities/9315")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Size int `json:"size"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Size
	}
	if code, _ := entity(); code != http.StatusConflict {
		t.Fatalf("an entity before spur cluster: %d", code)
	}
	for _, args := range [][]string{{}, {"--full"}} {
		gen := strings.Count(srv.said(), "clustering taken")
		mustRun(t, append([]string{"cluster", "--store", dir, "-q"}, args...)...)
		if !eventually(func() bool { return strings.Count(srv.said(), "clustering taken") > gen }) {
			t.Fatalf("spur cluster %v beside the server: not taken\n%s", args, srv.said())
		}
		// 1Guko8... and the 69 addresses spent with it, blocks 9261 to 11666.
		if code, size := entity(); code != 200 || size != 70 {
			t.Fatalf("entity 9315 after spur cluster %v: %d, %d addresses", args, code, size)
		}
	}
	// A META the server cannot read: it keeps the clustering it has, says
	// so once, and takes the next good one.
	meta := filepath.Join(dir, "btc", "cluster", "META")
	good, _ := os.ReadFile(meta)
	if err := os.WriteFile(meta, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool { return strings.Contains(srv.said(), "new clustering not taken") }) {
		t.Fatalf("a META that cannot be read beside the server:\n%s", srv.said())
	}
	time.Sleep(time.Second) // two more looks at it
	if n := strings.Count(srv.said(), "new clustering not taken"); n != 1 {
		t.Errorf("the unreadable META said %d times", n)
	}
	if code, size := entity(); code != 200 || size != 70 {
		t.Fatalf("entity 9315 beside an unreadable META: %d, %d addresses", code, size)
	}
	os.WriteFile(meta, good, 0o644)
	gen := strings.Count(srv.said(), "clustering taken")
	mustRun(t, "cluster", "--store", dir, "-q")
	if !eventually(func() bool { return strings.Count(srv.said(), "clustering taken") > gen }) {
		t.Fatalf("spur cluster after the unreadable META: not taken\n%s", srv.said())
	}
	// One run at a time: another holding the clustering's lock, refused.
	held, err := colfile.LockDir(filepath.Join(dir, "btc", "cluster"), cluster.ErrLocked)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if r := run(t, "cluster", "--store", dir, "-q"); r.code != exitStore || !strings.Contains(r.stderr, "another run is writing the clustering") {
		t.Fatalf("spur cluster beside another run: exit %d %s", r.code, r.stderr)
	}
}

// entityOf is an alert party's entity, as --by-entity's JSON gives it.
type entityOf struct {
	Size   int `json:"size"`
	Labels []struct {
		Via string `json:"via"`
	} `json:"labels"`
}

// alertOf is an alert as spur alerts --json and spur follow --alert
// --json print it, each party read as P.
type alertOf[P any] struct {
	TxID    string `json:"txid"`
	Height  int64  `json:"height"`
	From    []P    `json:"from"`
	To      []P    `json:"to"`
	Mempool bool   `json:"mempool"`
}

// alertStream reads the alerts a follower prints as JSON on out (its
// syncs' objects, which have no txid, passed over): next returns the next
// one, failing the test when the follower ends (its stderr said) or none
// comes in 30 s.
func alertStream[P any](t *testing.T, out io.Reader, stderr fmt.Stringer) (next func() alertOf[P]) {
	alerts := make(chan alertOf[P], 100)
	go func() {
		defer close(alerts)
		for d := json.NewDecoder(out); ; {
			var a alertOf[P]
			if d.Decode(&a) != nil {
				return
			}
			if a.TxID != "" {
				alerts <- a
			}
		}
	}()
	return func() alertOf[P] {
		t.Helper()
		select {
		case a, ok := <-alerts:
			if !ok {
				t.Fatalf("spur ended:\n%s", stderr)
			}
			return a
		case <-time.After(30 * time.Second):
			t.Fatalf("no alert in 30 s:\n%s", stderr)
		}
		panic("unreachable")
	}
}

// decodeAlerts reads the alerts of out, JSON objects one after another.
func decodeAlerts[P any](t *testing.T, out string) []alertOf[P] {
	t.Helper()
	var as []alertOf[P]
	for d := json.NewDecoder(strings.NewReader(out)); ; {
		var a alertOf[P]
		if err := d.Decode(&a); err == io.EOF {
			return as
		} else if err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
}

// startSpur starts spur with args, its standard output piped to the test
// and its standard error kept; it is killed when the test ends.
func startSpur(t *testing.T, args ...string) (*exec.Cmd, io.Reader, *testnode.Log) {
	t.Helper()
	cmd := exec.Command(spurBin, args...)
	stdout, _ := cmd.StdoutPipe()
	stderr := &testnode.Log{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stdout, stderr
}

// btcdStore starts a regtest btcd whose 101 blocks pay the mining key's
// address and ingests them into a store over RPC (user u, password p):
// the node, the mining key and its address, a deposit address of another
// key, and the store's directory.
func btcdStore(t testing.TB) (*testnode.Btcd, *btcec.PrivateKey, *btcutil.AddressPubKeyHash, *btcutil.AddressPubKeyHash, string) {
	t.Helper()
	params := &chaincfg.RegressionNetParams
	key, mining := testnode.Key(0x42, params)
	_, deposit := testnode.Key(0x43, params)
	node := testnode.StartBtcd(t, mining.EncodeAddress())
	node.Generate(t, 101)
	dir := filepath.Join(t.TempDir(), "store")
	mustRun(t, "ingest", "btc", "--network", "regtest", "--store", dir, "--rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p", "-q")
	return node, key, mining, deposit, dir
}

// eventually reports whether ok turns true within ten seconds.
func eventually(ok func() bool) bool {
	for range 200 {
		if ok() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ok()
}
