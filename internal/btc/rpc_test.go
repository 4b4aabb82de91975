package btc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRPCBusyNode: a node that answers HTTP 503, as Bitcoin Core does when
// its RPC work queue is full (and btcd past its client limit), is asked
// again after a wait, until it answers or the tries run out.
func TestRPCBusyNode(t *testing.T) {
	for _, busy := range []int{0, 2, busyTries - 1, busyTries} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if int(calls.Add(1)) <= busy {
				http.Error(w, "Work queue depth exceeded", http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(`{"result":14131,"error":null,"id":1}`))
		}))
		c, err := NewRPC(srv.URL, "u", "p", "")
		if err != nil {
			t.Fatal(err)
		}
		c.busyWait = time.Millisecond
		var n int64
		err = c.Call(context.Background(), "getblockcount", &n)
		srv.Close()
		if busy < busyTries {
			if err != nil || n != 14131 || int(calls.Load()) != busy+1 {
				t.Fatalf("busy %d times: %d after %d calls, %v", busy, n, calls.Load(), err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "HTTP 503") || !strings.Contains(err.Error(), "Work queue depth exceeded") || int(calls.Load()) != busyTries {
			t.Fatalf("busy throughout: %d calls, %v", calls.Load(), err)
		}
	}

	// A cancelled context ends the waits.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Work queue depth exceeded", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c, _ := NewRPC(srv.URL, "", "", "")
	c.busyWait = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, "getblockcount", nil); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("cancelled while the node is busy: %v", err)
	}
}

// A password in the node's address authenticates the calls but is not
// printed in messages.
func TestRPCPasswordInAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"result":7,"error":null,"id":1}`))
	}))
	defer srv.Close()
	addr := strings.Replace(srv.URL, "http://", "http://alice:s3cret@", 1)
	c, err := NewRPC(addr, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := c.Call(context.Background(), "getblockcount", &n); err != nil || n != 7 {
		t.Fatalf("with the password in the address: %d, %v", n, err)
	}
	srv.Close()
	err = c.Call(context.Background(), "getblockcount", &n)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "alice:xxxxx@") || strings.Contains(c.URL, "s3cret") {
		t.Fatalf("node gone: %v (URL %s)", err, c.URL)
	}
}
