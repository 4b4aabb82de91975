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
// again from the store. A sender opened with an outbox (Open) keeps its
// queue on disk instead: what it has not delivered when the process ends,
// even by a crash, it sends when opened again.
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
	ob     *outbox // the queue on disk, for a sender Open made; nil: queue
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
func (s *Sender) Queued() int64 {
	if s.ob != nil {
		s.ob.mu.Lock()
		defer s.ob.mu.Unlock()
		return s.ob.queued
	}
	return int64(len(s.queue))
}

// Check says whether rawURL is one a sender posts to: http or https,
// with a host.
func Check(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook %q: want an http:// or https:// URL", rawURL)
	}
	return u, nil
}

func newSender(rawURL, secret string, log *slog.Logger) (*Sender, error) {
	u, err := Check(rawURL)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Sender{url: rawURL, host: u.Scheme + "://" + u.Host, secret: []byte(secret), log: log, client: &http.Client{Timeout: 10 * time.Second},
		queue: make(chan []byte, QueueSize), done: make(chan struct{}), ctx: ctx, stop: stop,
		pause: 500 * time.Millisecond, maxPause: 30 * time.Second}
	return s, nil
}

// New starts a sender to rawURL (http or https); secret, if not empty,
// signs each body.
func New(rawURL, secret string, log *slog.Logger) (*Sender, error) {
	s, err := newSender(rawURL, secret, log)
	if err != nil {
		return nil, err
	}
	go s.run()
	return s, nil
}

// Open starts a sender as New does whose queue is the outbox in dir
// (made if missing), unbounded: it first sends what the outbox holds from
// a run before. One process at a time sends from an outbox
// (ErrOutboxLocked).
func Open(rawURL, secret, dir string, log *slog.Logger) (*Sender, error) {
	return open(rawURL, secret, dir, log, nil)
}

// open is Open with set, if not nil, applied to the sender before it
// starts (the tests' shorter pauses).
func open(rawURL, secret, dir string, log *slog.Logger, set func(*Sender)) (*Sender, error) {
	s, err := newSender(rawURL, secret, log)
	if err != nil {
		return nil, err
	}
	if set != nil {
		set(s)
	}
	if s.ob, err = openOutbox(dir); err != nil {
		return nil, err
	}
	if q := s.ob.queued; q > 0 {
		log.Info("webhook: sending the alerts a run before left in the outbox", "url", s.host, "queued", q)
	}
	go s.run()
	return s, nil
}

// Through says the last block whose alerts are all queued in the outbox,
// as SetThrough recorded it; false for a sender without an outbox or an
// outbox that has recorded none.
func (s *Sender) Through() (int64, bool) {
	if s == nil || s.ob == nil {
		return 0, false
	}
	s.ob.mu.Lock()
	defer s.ob.mu.Unlock()
	return s.ob.through, s.ob.known
}

// SetThrough records, once the outbox is synced, that the alerts of
// every block up to height are queued in it: a follower that stops before
// it records a block queues the block's alerts again when it starts (so a
// receiver may get an alert twice, never none). A sender without an
// outbox ignores it.
func (s *Sender) SetThrough(height int64) error {
	if s.ob == nil {
		return nil
	}
	if err := s.ob.setThrough(height); err != nil {
		return fmt.Errorf("webhook %s: outbox: %w", s.host, err)
	}
	return nil
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
	if s.ob != nil {
		if err := s.ob.put(b); err != nil {
			s.log.Error("webhook: alert not queued in the outbox", "url", s.host, "err", err)
			return fmt.Errorf("webhook %s: outbox: %w", s.host, err)
		}
		return nil
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
// than the queue holds. An outbox always has room.
func (s *Sender) SendWait(ctx context.Context, v any) error {
	if s.ob != nil {
		return s.Send(v)
	}
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
// stops the sender; what is left is logged as lost, or stays in the
// outbox.
func (s *Sender) Close(ctx context.Context) {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
		if s.ob != nil {
			s.ob.close()
		}
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
	if s.ob != nil {
		defer s.ob.closeFiles()
		for {
			b, ok := s.ob.next(s.ctx)
			if !ok || !s.deliver(b) {
				break
			}
			s.ob.done(len(b))
		}
		if q := s.Queued(); q > 0 {
			s.log.Warn("webhook: stopped with alerts undelivered; they wait in the outbox for the next run", "url", s.host, "queued", q)
		}
		return
	}
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
