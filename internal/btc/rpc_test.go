package btc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
		if !errors.Is(err, ErrUnanswered) || !strings.Contains(err.Error(), "HTTP 503") || !strings.Contains(err.Error(), "Work queue depth exceeded") || int(calls.Load()) != busyTries {
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

// TestRPCCookieRenewed: Bitcoin Core writes a new cookie each time it
// starts. A client given the cookie file reads it again when the node
// refuses it, and sends the call again once if it changed; a refusal of the
// credentials the file still holds stands.
func TestRPCCookieRenewed(t *testing.T) {
	cookie := filepath.Join(t.TempDir(), ".cookie")
	var want atomic.Value
	var calls, refusedBefore atomic.Int32
	var barrier atomic.Pointer[chan struct{}] // set: refusals wait until eight have come
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u+":"+p != want.Load().(string) {
			if b := barrier.Load(); b != nil {
				if refusedBefore.Add(1) == 8 {
					close(*b)
				}
				<-*b
			}
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"result":5,"error":null,"id":1}`))
	}))
	defer srv.Close()
	restart := func(secret string) {
		want.Store("__cookie__:" + secret)
		if err := os.WriteFile(cookie, []byte("__cookie__:"+secret), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	call := func(c *RPC) error {
		calls.Store(0)
		var n int64
		err := c.Call(context.Background(), "getblockcount", &n)
		if err == nil && n != 5 {
			t.Fatalf("result %d", n)
		}
		return err
	}

	restart("aa11")
	c, err := NewRPC(srv.URL, "", "", cookie)
	if err != nil {
		t.Fatal(err)
	}
	if err := call(c); err != nil || calls.Load() != 1 {
		t.Fatalf("first call: %d requests, %v", calls.Load(), err)
	}
	restart("bb22")
	if err := call(c); err != nil || calls.Load() != 2 {
		t.Fatalf("after a restart: %d requests, %v", calls.Load(), err)
	}
	// Calls at once, as an ingest makes them, after another restart: all
	// eight refused before any reads the new cookie.
	restart("cc33")
	b := make(chan struct{})
	barrier.Store(&b)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var n int64
			errs <- c.Call(context.Background(), "getblockcount", &n)
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent calls after a restart: %v", err)
		}
	}
	barrier.Store(nil)
	// The node wants other credentials than the file's: refused, once.
	want.Store("__cookie__:dd44")
	if err := call(c); !errors.Is(err, ErrRefused) || errors.Is(err, ErrUnanswered) || calls.Load() != 1 || !strings.Contains(err.Error(), "credentials from the cookie "+cookie) {
		t.Fatalf("refused: %d requests, %v", calls.Load(), err)
	}
	// The node stopped and took its cookie with it.
	os.Remove(cookie)
	if err := call(c); !errors.Is(err, ErrUnanswered) || !strings.Contains(err.Error(), "cookie") {
		t.Fatalf("cookie gone: %v", err)
	}
	// Without a cookie file, a refusal is final at once, and says what
	// was refused.
	c, _ = NewRPC(srv.URL, "u", "p", "")
	if err := call(c); !errors.Is(err, ErrRefused) || calls.Load() != 1 || !strings.Contains(err.Error(), `user "u"`) {
		t.Fatalf("user and password refused: %d requests, %v", calls.Load(), err)
	}
	c, _ = NewRPC(srv.URL, "", "", "")
	if err := call(c); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "no credentials given") {
		t.Fatalf("no credentials: %v", err)
	}
}

// TestCoreDefaults: node addresses given as hosts are completed and the
// cookie found as bitcoin-cli does it; URLs are left alone.
func TestCoreDefaults(t *testing.T) {
	regtest, _ := LookupNetwork("regtest")
	for _, c := range []struct {
		in   string
		net  *Network
		want string
	}{
		{"127.0.0.1", Main, "http://127.0.0.1:8332"},
		{"node.example", regtest, "http://node.example:18443"},
		{"u:p@node.example/wallet/x", regtest, "http://u:p@node.example:18443/wallet/x"},
		{"[::1]", regtest, "http://[::1]:18443"},
		{"127.0.0.1:9999", Main, "http://127.0.0.1:9999"},
		// URLs are taken as they are: no port is the scheme's.
		{"http://node.example", Main, "http://node.example"},
		{"https://btc.example/rpc", Main, "https://btc.example/rpc"},
		{"http://[::1]:1234", Main, "http://[::1]:1234"},
	} {
		if got, err := CoreURL(c.in, c.net); got != c.want || err != nil {
			t.Errorf("CoreURL(%q, %s) = %q, %v, want %q", c.in, c.net.Name, got, err, c.want)
		}
	}
	// Not a node's address: refused, not dialled as a host named "ftp".
	for _, in := range []string{"ftp://node.example", "http://[::1", "", "http://", "unix:///run/bitcoind.sock"} {
		if got, err := CoreURL(in, Main); err == nil {
			t.Errorf("CoreURL(%q) = %q, want an error", in, got)
		}
	}
	for _, c := range []struct {
		net  string
		want string
	}{
		{"main", "/home/a/.bitcoin/.cookie"},
		{"test", "/home/a/.bitcoin/testnet3/.cookie"},
		{"testnet4", "/home/a/.bitcoin/testnet4/.cookie"},
		{"signet", "/home/a/.bitcoin/signet/.cookie"},
		{"regtest", "/home/a/.bitcoin/regtest/.cookie"},
		{"simnet", ""},
	} {
		n, _ := LookupNetwork(c.net)
		if got := CoreCookie("/home/a", n); got != c.want {
			t.Errorf("CoreCookie(%s) = %q, want %q", c.net, got, c.want)
		}
	}
	if got := CoreCookie("", Main); got != "" {
		t.Errorf("no home: %q", got)
	}
}

// TestParseHash: a txid or block hash reads in either case and with spaces
// around it, and is refused when it is not 64 hex digits.
func TestParseHash(t *testing.T) {
	const want = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	for _, s := range []string{want, strings.ToUpper(want), " " + want + "\n"} {
		if h, err := ParseHash(s); err != nil || h.String() != want {
			t.Errorf("%q: %s, %v", s, h, err)
		}
	}
	for _, s := range []string{want[1:], want + "0", "g" + want[1:], ""} {
		if _, err := ParseHash(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
