package webhook

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver answers each POST with the next status of its script (200 once
// the script is spent) and keeps the bodies it took (a 2xx).
type receiver struct {
	mu     sync.Mutex
	script []int
	took   []string
	tries  int
	bad    int // bodies whose signature did not check
	secret []byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if len(r.secret) > 0 && req.Header.Get("X-Spur-Signature-256") != Sign(r.secret, b) || req.Header.Get("Content-Type") != "application/json" {
		r.bad++
	}
	status := 200
	if len(r.script) > 0 {
		status, r.script = r.script[0], r.script[1:]
	}
	if status/100 == 2 {
		r.took = append(r.took, string(b))
	}
	w.WriteHeader(status)
}

func sender(t *testing.T, url, secret string, log io.Writer) *Sender {
	t.Helper()
	s, err := New(url, secret, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.pause, s.maxPause = time.Millisecond, 4*time.Millisecond
	return s
}

// TestDelivery: every object, in order, signed; a 503 and a 429 retried
// until taken, a 400 refused and not sent again.
func TestDelivery(t *testing.T) {
	r := &receiver{script: []int{503, 503, 429, 200, 400}, secret: []byte("k3y")}
	srv := httptest.NewServer(r)
	defer srv.Close()
	var log bytes.Buffer
	s := sender(t, srv.URL, "k3y", &log)
	for i := range 4 {
		if err := s.Send(map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Close(ctx)
	// n=0 after three failures; n=1 refused; n=2 and n=3 taken.
	want := []string{`{"n":0}`, `{"n":2}`, `{"n":3}`}
	if strings.Join(r.took, " ") != strings.Join(want, " ") || r.tries != 7 || r.bad != 0 {
		t.Fatalf("took %v in %d tries (%d badly signed), want %v in 7", r.took, r.tries, r.bad, want)
	}
	if !strings.Contains(log.String(), "alert refused, not sent again") || strings.Count(log.String(), "retrying") != 3 {
		t.Fatalf("log:\n%s", log.String())
	}
	if taken, refused, lost := s.Stats(); taken != 3 || refused != 1 || lost != 0 {
		t.Fatalf("stats: %d taken, %d refused, %d lost", taken, refused, lost)
	}
}

// TestSendWait: more objects than the queue holds, all delivered, in
// order, none dropped.
func TestSendWait(t *testing.T) {
	r := &receiver{}
	srv := httptest.NewServer(r)
	defer srv.Close()
	s := sender(t, srv.URL, "", io.Discard)
	const n = QueueSize + 500
	for i := range n {
		if err := s.SendWait(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	s.Close(context.Background())
	if taken, _, _ := s.Stats(); taken != n || len(r.took) != n || r.took[n-1] != fmt.Sprint(n-1) {
		t.Fatalf("%d taken, the receiver %d", taken, len(r.took))
	}
}

// TestUnreachable: a receiver that never answers well keeps the sender
// retrying until Close's deadline, which then says how many are lost.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(502) }))
	defer srv.Close()
	var log bytes.Buffer
	s := sender(t, srv.URL, "", &log)
	for range 3 {
		s.Send(json.RawMessage(`{}`))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	s.Close(ctx)
	if _, _, lost := s.Stats(); time.Since(start) > 5*time.Second || !strings.Contains(log.String(), "lost=3") || lost != 3 {
		t.Fatalf("closed after %v; log:\n%s", time.Since(start), log.String())
	}
}

// TestTokenNotLogged: a URL whose path holds a token (as chat services
// give them) is named in the log by its scheme and host alone.
func TestTokenNotLogged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(400) }))
	url := srv.URL
	srv.Close() // nothing listens: dial errors
	var log bytes.Buffer
	s := sender(t, url+"/services/T0/B0/s3cr3tt0ken", "", &log)
	s.Send(1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s.Close(ctx)
	if strings.Contains(log.String(), "s3cr3tt0ken") || !strings.Contains(log.String(), "retrying") {
		t.Fatalf("log:\n%s", log.String())
	}
}

// TestBadURL: only http and https URLs with a host.
func TestBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "localhost:8080", "http://", "://x"} {
		if _, err := New(u, "", slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
}

// TestSendAfterClose is refused, not a panic.
func TestSendAfterClose(t *testing.T) {
	srv := httptest.NewServer(&receiver{})
	defer srv.Close()
	s := sender(t, srv.URL, "", io.Discard)
	s.Close(context.Background())
	s.Close(context.Background())
	if err := s.Send(1); err == nil {
		t.Fatal("a send after Close was taken")
	}
}

// TestSendWaitCancelled: with the queue full and the receiver holding the
// first, SendWait gives up when its context ends.
func TestSendWaitCancelled(t *testing.T) {
	release, got := make(chan struct{}), make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		select {
		case got <- struct{}{}:
		default:
		}
		<-release
	}))
	defer srv.Close()
	defer close(release)
	s := sender(t, srv.URL, "", io.Discard)
	s.Send(0)
	<-got // the sender holds the first, posting it
	for range QueueSize {
		if err := s.Send(1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Send(1); err == nil {
		t.Fatal("a send into a full queue was taken")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.SendWait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendWait into a full queue: %v", err)
	}
	closed, stop := context.WithCancel(context.Background())
	stop()
	s.Close(closed)
}

func openSender(t *testing.T, url, dir string, log io.Writer) *Sender {
	t.Helper()
	s, err := open(url, "", dir, slog.New(slog.NewTextHandler(log, nil)), func(s *Sender) {
		s.pause, s.maxPause = time.Millisecond, 4*time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func closeWithin(s *Sender, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	s.Close(ctx)
}

// TestOutboxKeeps: what a receiver that is down has not taken stays in
// the outbox when the sender stops, with the block it was queued through,
// and the next sender delivers it, in order, before what comes after; a
// refusal is not sent again; a second sender on the same outbox is
// refused.
func TestOutboxKeeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	var log bytes.Buffer
	s := openSender(t, down.URL, dir, &log)
	if _, ok := s.Through(); ok {
		t.Fatal("a new outbox says it has queued blocks")
	}
	// An empty store's: no block, recorded.
	if err := s.SetThrough(-1); err != nil {
		t.Fatal(err)
	}
	closeWithin(s, 0)
	s = openSender(t, down.URL, dir, &log)
	if h, ok := s.Through(); !ok || h != -1 {
		t.Fatalf("an empty store's outbox: through %d %v", h, ok)
	}
	if _, err := Open(down.URL, "", dir, slog.New(slog.NewTextHandler(io.Discard, nil))); !errors.Is(err, ErrOutboxLocked) {
		t.Fatalf("a second sender: %v", err)
	}
	for i := range 5 {
		if err := s.Send(map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetThrough(7); err != nil {
		t.Fatal(err)
	}
	if q := s.Queued(); q != 5 {
		t.Fatalf("%d queued", q)
	}
	closeWithin(s, 50*time.Millisecond)
	if _, _, lost := s.Stats(); lost != 0 || !strings.Contains(log.String(), "they wait in the outbox") {
		t.Fatalf("lost %d; log:\n%s", lost, log.String())
	}
	r := &receiver{script: []int{200, 400}}
	srv := httptest.NewServer(r)
	defer srv.Close()
	s = openSender(t, srv.URL, dir, &log)
	if h, ok := s.Through(); !ok || h != 7 {
		t.Fatalf("through %d %v, want 7", h, ok)
	}
	s.Send(map[string]int{"n": 5})
	closeWithin(s, 10*time.Second)
	// n=1 refused.
	if want := `{"n":0} {"n":2} {"n":3} {"n":4} {"n":5}`; strings.Join(r.took, " ") != want {
		t.Fatalf("took %v, want %s", r.took, want)
	}
	s = openSender(t, srv.URL, dir, &log)
	if q := s.Queued(); q != 0 {
		t.Fatalf("%d queued after delivery", q)
	}
	closeWithin(s, time.Second)
	if r.tries != 6 {
		t.Fatalf("%d tries, want 6", r.tries)
	}
}

// TestOutboxAfterCrash: a body cut short by a crash is dropped (its
// block was not recorded, so it is queued again), an offset past the end
// (the outbox emptied, the state not yet written) is taken as the end,
// and a state file of another size is refused.
func TestOutboxAfterCrash(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "outbox"), []byte("{\"n\":0}\n{\"n\":1}\n{\"n\""), 0o644)
	r := &receiver{}
	srv := httptest.NewServer(r)
	defer srv.Close()
	var log bytes.Buffer
	s := openSender(t, srv.URL, dir, &log)
	closeWithin(s, 10*time.Second)
	if want := `{"n":0} {"n":1}`; strings.Join(r.took, " ") != want {
		t.Fatalf("took %v, want %s", r.took, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "outbox")); string(b) != "{\"n\":0}\n{\"n\":1}\n" {
		t.Fatalf("outbox %q", b)
	}
	var st [16]byte
	binary.LittleEndian.PutUint64(st[:], 1000)
	os.WriteFile(filepath.Join(dir, "state"), st[:], 0o644)
	s = openSender(t, srv.URL, dir, &log)
	s.Send(map[string]int{"n": 2})
	closeWithin(s, 10*time.Second)
	if want := `{"n":0} {"n":1} {"n":2}`; strings.Join(r.took, " ") != want {
		t.Fatalf("took %v, want %s", r.took, want)
	}
	// An outbox of several chunks' worth (a receiver down for long), cut
	// in its last line: every whole line counted, the cut one gone.
	big := t.TempDir()
	line := `{"n":"` + strings.Repeat("x", 90) + `"}` + "\n"
	whole := strings.Repeat(line, 30_000)
	os.WriteFile(filepath.Join(big, "outbox"), []byte(whole+`{"n":"cut`), 0o644)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	s = openSender(t, down.URL, big, &log)
	if q := s.Queued(); q != 30_000 {
		t.Errorf("%d queued of 30,000", q)
	}
	closeWithin(s, 0)
	if fi, err := os.Stat(filepath.Join(big, "outbox")); err != nil || fi.Size() != int64(len(whole)) {
		t.Errorf("the cut line not cut: %v %v", fi.Size(), err)
	}
	os.WriteFile(filepath.Join(dir, "state"), st[:5], 0o644)
	if _, err := Open(srv.URL, "", dir, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "state is 5 bytes, want 16") {
		t.Fatalf("short state: %v", err)
	}
}

// TestOutboxCompacts: once all is delivered past compactAt, the outbox is
// emptied, and what comes after is delivered from its start.
func TestOutboxCompacts(t *testing.T) {
	defer func(n int64) { compactAt = n }(compactAt)
	compactAt = 64
	dir := t.TempDir()
	r := &receiver{}
	srv := httptest.NewServer(r)
	defer srv.Close()
	var log bytes.Buffer
	s := openSender(t, srv.URL, dir, &log)
	for i := range 20 {
		s.Send(map[string]int{"n": i})
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Queued() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	s.Send(map[string]int{"n": 20})
	closeWithin(s, 10*time.Second)
	if len(r.took) != 21 || r.took[20] != `{"n":20}` {
		t.Fatalf("took %v", r.took)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "outbox")); len(b) >= 64 {
		t.Fatalf("outbox not emptied: %q", b)
	}
}

// BenchmarkQueue: queueing an alert (about 500 bytes of JSON) in memory
// and in an outbox, while the receiver holds the first (what a follower
// pays per alert; at most QueueSize of them, as the memory queue holds no
// more), then delivered.
// go test -run XXX -bench Queue -benchtime 10000x ./internal/webhook/
func BenchmarkQueue(b *testing.B) {
	var release chan struct{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	alert := map[string]any{"chain": "btc", "height": 800000, "block_hash": strings.Repeat("0", 64), "txid": strings.Repeat("a", 64),
		"from": []map[string]any{{"address": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "value": 123456789, "labels": []map[string]any{{"category": "sanctioned", "label": "LAZARUS GROUP", "source": "ofac-sdn", "ref": "27307"}}}},
		"to":   []map[string]any{{"address": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "value": 123446789, "labels": []map[string]any{}}}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, name := range []string{"memory", "outbox"} {
		b.Run(name, func(b *testing.B) {
			release = make(chan struct{})
			s, err := New(srv.URL, "", log)
			if name == "outbox" {
				s, err = Open(srv.URL, "", b.TempDir(), log)
			}
			if err != nil {
				b.Fatal(err)
			}
			if b.N > QueueSize {
				b.Fatalf("-benchtime %dx: at most %dx", b.N, QueueSize)
			}
			for b.Loop() {
				if err := s.Send(alert); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(release)
			closeWithin(s, time.Minute)
			if taken, _, _ := s.Stats(); taken != int64(b.N) {
				b.Fatalf("%d of %d taken", taken, b.N)
			}
		})
	}
}

// BenchmarkSetThrough: recording a sync's blocks as queued, two syncs
// (outbox, then state), what a follower pays per sync with a webhook.
// go test -run XXX -bench SetThrough -benchtime 200x ./internal/webhook/
func BenchmarkSetThrough(b *testing.B) {
	s, err := Open("http://127.0.0.1:1", "", b.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer closeWithin(s, 0)
	h := int64(0)
	for b.Loop() {
		h++
		if err := s.SetThrough(h); err != nil {
			b.Fatal(err)
		}
	}
}
