// Package webhook delivers JSON objects (spur's alerts) to an HTTP
// endpoint, one POST an object, in order, from a queue of its own so that
// a slow or unreachable receiver never holds back the ingest that raised
// them.
//
// Delivery is at least once while the process runs: a network error, a
// 5xx or a 429 is retried with a growing pause (half a second, doubling,
// at most 30 s) until the receiver takes it; any other answer than a 2xx
// is a refusal, logged and not retried (the same body would be refused
// again). With a secret, each body is signed as GitHub signs its webhooks:
// X-Spur-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the body
// under the secret, for the receiver to check. What is still queued when
// the process ends is lost (and logged): `spur alerts --from` tells it
// again from the store.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// QueueSize bounds the objects waiting for the receiver; past it, Send
// drops the new one and logs it.
const QueueSize = 10_000

// A Sender posts the objects given to Send to its URL.
type Sender struct {
	url    string
	host   string // what logs and errors name: scheme and host, not the path or user, which may hold a token
	secret []byte
	log    *slog.Logger
	client *http.Client
	queue  chan []byte
	done   chan struct{}
	stop   context.CancelFunc
	ctx    context.Context
	mu     sync.Mutex // orders Send and Close
	closed bool
	// pause is the first retry's pause, doubled after each failure up to
	// maxPause.
	pause, maxPause time.Duration
	// Counts of the objects taken, refused and lost, for Stats.
	taken, refused, lost atomic.Int64
}

// Stats says how many objects the receiver took, how many it refused,
// and how many were lost when the sender stopped.
func (s *Sender) Stats() (taken, refused, lost int64) {
	return s.taken.Load(), s.refused.Load(), s.lost.Load()
}

// Queued says how many objects wait for the receiver.
func (s *Sender) Queued() int64 { return int64(len(s.queue)) }

// New starts a sender to rawURL (http or https); secret, if not empty,
// signs each body.
func New(rawURL, secret string, log *slog.Logger) (*Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook %q: want an http:// or https:// URL", rawURL)
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Sender{url: rawURL, host: u.Scheme + "://" + u.Host, secret: []byte(secret), log: log, client: &http.Client{Timeout: 10 * time.Second},
		queue: make(chan []byte, QueueSize), done: make(chan struct{}), ctx: ctx, stop: stop,
		pause: 500 * time.Millisecond, maxPause: 30 * time.Second}
	go s.run()
	return s, nil
}

// Send queues v, as JSON, for the receiver; after Close, it refuses.
func (s *Sender) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("webhook %s: closed", s.host)
	}
	select {
	case s.queue <- b:
		return nil
	default:
		s.log.Error("webhook: queue full, alert dropped", "url", s.host, "queued", QueueSize)
		return fmt.Errorf("webhook %s: %d alerts wait for the receiver already", s.host, QueueSize)
	}
}

// SendWait queues v as Send does, but waits for room in the queue rather
// than drop it, until ctx ends: for a batch (spur alerts) that finds more
// than the queue holds.
func (s *Sender) SendWait(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return fmt.Errorf("webhook %s: closed", s.host)
		}
		select {
		case s.queue <- b:
			s.mu.Unlock()
			return nil
		default:
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Close delivers what is queued, waiting at most until ctx ends, and
// stops the sender; what is left is logged as lost.
func (s *Sender) Close(ctx context.Context) {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	select {
	case <-s.done:
	case <-ctx.Done():
		s.stop()
		<-s.done
	}
}

func (s *Sender) run() {
	defer close(s.done)
	for b := range s.queue {
		if !s.deliver(b) {
			lost := 1 + len(s.queue)
			for range s.queue {
			}
			s.lost.Add(int64(lost))
			s.log.Error("webhook: stopped with alerts undelivered (spur alerts --from tells them again)", "url", s.host, "lost", lost)
			return
		}
	}
}

// deliver posts b until the receiver takes or refuses it; false when the
// sender is stopped first.
func (s *Sender) deliver(b []byte) bool {
	pause := s.pause
	for {
		status, err := s.post(b)
		switch {
		case err == nil && status/100 == 2:
			s.taken.Add(1)
			return true
		case err == nil && status != http.StatusTooManyRequests && status < 500:
			s.refused.Add(1)
			s.log.Error("webhook: alert refused, not sent again", "url", s.host, "status", status)
			return true
		}
		if err == nil {
			err = fmt.Errorf("status %d", status)
		}
		s.log.Warn("webhook: delivery failed, retrying", "url", s.host, "err", err, "in", pause)
		select {
		case <-s.ctx.Done():
			return false
		case <-time.After(pause):
		}
		pause = min(2*pause, s.maxPause)
	}
}

func (s *Sender) post(b []byte) (int, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.url, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "spur-alerts")
	if len(s.secret) > 0 {
		req.Header.Set("X-Spur-Signature-256", Sign(s.secret, b))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, whose path may hold a token
		}
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Sign returns the X-Spur-Signature-256 value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
