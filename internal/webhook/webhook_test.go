package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
