package main

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// serveHTTP returns only once the requests in flight at a shutdown have
// returned, those that outlast its grace too: the stores they read close
// after it.
func TestServeHTTPWaitsForRequests(t *testing.T) {
	defer func(g time.Duration) { shutdownGrace = g }(shutdownGrace)
	shutdownGrace = 50 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		finished.Store(true)
		w.Write([]byte("ok"))
	})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, srv, ln) }()
	go http.Get("http://" + ln.Addr().String() + "/")
	<-started
	cancel()
	select {
	case err := <-done:
		t.Fatalf("returned (%v) with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil || !finished.Load() {
		t.Fatalf("serveHTTP: %v, the request finished: %v", err, finished.Load())
	}
	// A listener that fails ends it with the error, nothing in flight.
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	ln2.Close()
	if err := serveHTTP(context.Background(), &http.Server{Handler: http.NotFoundHandler()}, ln2); err == nil {
		t.Fatal("a closed listener served")
	}
}
