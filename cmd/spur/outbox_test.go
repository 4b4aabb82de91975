package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWebhookOutbox: a follower's alerts wait in the store's outbox while
// the receiver is down; the follower killed (SIGKILL) and blocks ingested
// while none follows, the next follower delivers the ones queued, then
// alerts the blocks it missed, then the new ones: every alert of every
// block once, in order, as spur alerts tells them from the store.
func TestWebhookOutbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	node, _, mining, _, dir := btcdStore(t)
	rpc := []string{"--rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p"}
	importLabel(t, dir, "thief", mining.EncodeAddress()+",btc,stolen-funds,Test theft")

	var up atomic.Bool
	var mu sync.Mutex
	var posted []json.RawMessage
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		posted = append(posted, b)
		mu.Unlock()
	}))
	defer hook.Close()
	url := hook.URL + "/hooks/T0KEN"
	follow := append([]string{"follow", "btc", "--network", "regtest", "--store", dir, "--interval", "50ms", "--alert", "stolen-funds", "--json", "--alert-webhook", url}, rpc...)

	// Block 102 while the receiver is down: alerted, synced, queued.
	cmd, stdout, stderr := startSpur(t, follow...)
	synced := make(chan int64, 10)
	go func() {
		d := json.NewDecoder(stdout)
		for {
			var m struct {
				TxID   string `json:"txid"`
				Height int64  `json:"height"`
			}
			if d.Decode(&m) != nil {
				return
			}
			if m.TxID == "" {
				synced <- m.Height
			}
		}
	}()
	if !eventually(func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "webhooks", "btc-*", "state"))
		return len(m) == 1
	}) {
		t.Fatalf("no outbox made:\n%s", stderr)
	}
	node.Generate(t, 1)
	select {
	case h := <-synced:
		if h != 102 {
			t.Fatalf("synced to %d", h)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no sync:\n%s", stderr)
	}
	cmd.Process.Kill()
	cmd.Wait()
	outboxes, _ := filepath.Glob(filepath.Join(dir, "webhooks", "btc-*", "outbox"))
	if len(outboxes) != 1 || strings.Contains(outboxes[0], "T0KEN") {
		t.Fatalf("outboxes %v", outboxes)
	}
	if b, _ := os.ReadFile(outboxes[0]); len(b) == 0 {
		t.Fatal("nothing queued in the outbox")
	}

	// Blocks 103 and 104 ingested while no follower runs.
	node.Generate(t, 2)
	mustRun(t, append([]string{"ingest", "btc", "--network", "regtest", "--store", dir, "-q"}, rpc...)...)

	// Back up: what was queued, then the blocks missed, then block 105.
	up.Store(true)
	cmd, _, stderr = startSpur(t, follow...)
	if !eventually(func() bool {
		return strings.Contains(stderr.String(), "alerting the blocks added since the webhook's last")
	}) {
		t.Fatalf("the missed blocks not alerted:\n%s", stderr)
	}
	node.Generate(t, 1)
	if !eventually(func() bool { return run(t, "block", "--store", dir, "105").code == 0 }) {
		t.Fatalf("block 105 not followed:\n%s", stderr)
	}
	var want []json.RawMessage
	d := json.NewDecoder(strings.NewReader(mustRun(t, "alerts", "--store", dir, "--alert", "stolen-funds", "--from", "102", "--to", "105", "--json")))
	for {
		var m json.RawMessage
		if d.Decode(&m) != nil {
			break
		}
		want = append(want, m)
	}
	if len(want) < 4 {
		t.Fatalf("spur alerts gave %d alerts", len(want))
	}
	got := func() []json.RawMessage {
		mu.Lock()
		defer mu.Unlock()
		return append([]json.RawMessage(nil), posted...)
	}
	if !eventually(func() bool { return len(got()) >= len(want) }) {
		t.Fatalf("posted %d of %d:\n%s", len(got()), len(want), stderr)
	}
	time.Sleep(200 * time.Millisecond) // none more
	p := got()
	if len(p) != len(want) {
		t.Fatalf("posted %d alerts, spur alerts tells %d", len(p), len(want))
	}
	for i := range want {
		var a, b any
		json.Unmarshal(want[i], &a)
		json.Unmarshal(p[i], &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("alert %d posted\n%s\nspur alerts tells\n%s", i, p[i], want[i])
		}
	}

	// A server following the node takes the same outbox: block 106,
	// ingested while neither ran, is alerted when it starts.
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	node.Generate(t, 1)
	mustRun(t, append([]string{"ingest", "btc", "--network", "regtest", "--store", dir, "-q"}, rpc...)...)
	srv := startServe(t, "--store", dir, "--no-auth", "--follow-rpc", node.URL, "--rpc-user", "u", "--rpc-pass", "p", "--interval", "50ms", "--alert", "stolen-funds", "--alert-webhook", url)
	if !eventually(func() bool { return len(got()) > len(want) }) {
		t.Fatalf("block 106 not posted by the server:\n%s", srv.said())
	}
	var a struct {
		Height int64 `json:"height"`
	}
	if json.Unmarshal(got()[len(want)], &a); a.Height != 106 {
		t.Fatalf("the server posted %s", got()[len(want)])
	}
}
