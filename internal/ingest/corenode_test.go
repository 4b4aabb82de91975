package ingest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/store"
)

// coreNode answers the calls spur makes as Bitcoin Core does, from blocks
// (its best chain, in height order); while warming is positive it answers
// that many calls with Core's error for a node still starting (-28, HTTP
// 500).
type coreNode struct {
	mu      sync.Mutex
	blocks  [][]byte
	warming int
	chain   string        // getblockchaininfo's; "" for "main"
	pruned  int           // blocks below this height are pruned
	drop    int           // calls still to drop, closing the connection unanswered (before warming)
	delay   time.Duration // before each block it serves
}

func (n *coreNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
		ID     json.RawMessage   `json:"id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	reply := func(status int, result any, code int, msg string) {
		out := map[string]any{"result": result, "error": nil, "id": req.ID}
		if code != 0 {
			out["error"] = map[string]any{"code": code, "message": msg}
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(out)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.drop > 0 {
		n.drop--
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if n.warming > 0 {
		n.warming--
		reply(http.StatusInternalServerError, nil, -28, "Loading block index…")
		return
	}
	switch req.Method {
	case "getblockchaininfo":
		tip, chain := len(n.blocks)-1, n.chain
		if chain == "" {
			chain = "main"
		}
		info := map[string]any{"chain": chain, "blocks": tip, "bestblockhash": btc.BlockHash(n.blocks[tip]).String(), "pruned": n.pruned > 0}
		if n.pruned > 0 {
			info["pruneheight"] = n.pruned
		}
		reply(http.StatusOK, info, 0, "")
	case "getblockhash":
		var h int
		json.Unmarshal(req.Params[0], &h)
		if h < 0 || h >= len(n.blocks) {
			reply(http.StatusInternalServerError, nil, -8, "Block height out of range")
			return
		}
		reply(http.StatusOK, btc.BlockHash(n.blocks[h]).String(), 0, "")
	case "getblock":
		var hash string
		json.Unmarshal(req.Params[0], &hash)
		for h, b := range n.blocks {
			if btc.BlockHash(b).String() == hash {
				if h < n.pruned {
					reply(http.StatusInternalServerError, nil, -1, "Block not available (pruned data)")
					return
				}
				time.Sleep(n.delay)
				reply(http.StatusOK, hex.EncodeToString(b), 0, "")
				return
			}
		}
		reply(http.StatusInternalServerError, nil, -5, "Block not found")
	default:
		reply(http.StatusNotFound, nil, -32601, "Method not found")
	}
}

// mainnetBlocks returns the first n blocks of the mainnet sample, raw.
func mainnetBlocks(t *testing.T, n int) [][]byte {
	var blocks [][]byte
	for _, f := range frames(t, "blk_0_to_14131.dat.bz2")[:n] {
		blocks = append(blocks, f[8:])
	}
	return blocks
}

// serveNode serves node over HTTP for the test and returns a client of it.
func serveNode(t *testing.T, node *coreNode) *btc.RPC {
	srv := httptest.NewServer(node)
	t.Cleanup(srv.Close)
	rpc, err := btc.NewRPC(srv.URL, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return rpc
}

// TestFollowThroughWarmup: a follower that meets Bitcoin Core still
// starting (at first, and again after a restart that also drops its
// connections) keeps polling and follows the chain once the node answers,
// where any other node error stops it.
func TestFollowThroughWarmup(t *testing.T) {
	var blocks [][]byte
	for _, f := range frames(t, "blk_0_to_4.dat.bz2") {
		blocks = append(blocks, f[8:])
	}
	node := &coreNode{blocks: blocks[:3], warming: 3}
	srv := httptest.NewServer(node)
	defer srv.Close()
	rpc, err := btc.NewRPC(srv.URL, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log bytes.Buffer // written by Follow's goroutine, read once it ended
	var ups []bool       // likewise
	heights := make(chan int64, 100)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, s, rpc, 5*time.Millisecond, Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), NodeUp: func(up bool) { ups = append(ups, up) }}, func(st *Stats) {
			if st.Height == 2 {
				// A restart, between two polls: the node drops the
				// connections, warms up again, then has two more blocks.
				node.mu.Lock()
				node.drop, node.warming, node.blocks = 2, 4, blocks
				node.mu.Unlock()
			}
			heights <- st.Height
		})
	}()
	reach := func(want int64) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case h := <-heights:
				if h == want {
					return
				}
			case err := <-done:
				t.Fatalf("follow stopped before height %d: %v", want, err)
			case <-timeout:
				t.Fatalf("height %d not reached", want)
			}
		}
	}
	reach(2)
	reach(4)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("follow ended with %v", err)
	}
	// The node was down, up, down and up again, as NodeUp heard.
	var seen []bool
	for _, up := range ups {
		if len(seen) == 0 || seen[len(seen)-1] != up {
			seen = append(seen, up)
		}
	}
	if fmt.Sprint(seen) != "[false true false true]" {
		t.Fatalf("node up: %v", seen)
	}
	// Each outage (the first warm-up; the dropped connections and the
	// warm-up after them) is logged once, and its end once.
	if w, a := strings.Count(log.String(), "does not answer"), strings.Count(log.String(), "answers again"); w != 2 || a != 2 {
		t.Fatalf("%d outages and %d recoveries logged, want 2 and 2:\n%s", w, a, log.String())
	}

	// Any other node error stops the follower, as does a block that does
	// not decode, a node of another network, or one that pruned the blocks
	// the store needs.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"result":null,"error":{"code":-1,"message":"internal bug"},"id":1}`))
	}))
	defer refusing.Close()
	bad := append([][]byte(nil), blocks...)
	bad[4] = append([]byte(nil), bad[4]...)
	bad[4][len(bad[4])-5] ^= 0xff // in the last output's script: the merkle root no longer matches
	corrupt := httptest.NewServer(&coreNode{blocks: bad})
	defer corrupt.Close()
	testnet := httptest.NewServer(&coreNode{blocks: blocks, chain: "test"})
	defer testnet.Close()
	pruned := httptest.NewServer(&coreNode{blocks: blocks, pruned: 2})
	defer pruned.Close()
	for _, c := range []struct {
		url  string
		want string
	}{
		{refusing.URL, "node error -1: internal bug"},
		{corrupt.URL, "merkle root"},
		{testnet.URL, `is on chain "test", the store of network main`},
		{pruned.URL, "keeps blocks from height 2 on, and the store needs them from 0"},
	} {
		rpc, _ := btc.NewRPC(c.url, "", "", "")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := Follow(ctx, openStore(t, t.TempDir()), rpc, 5*time.Millisecond, Options{}, nil)
		stopped := ctx.Err() == nil
		cancel()
		if !stopped || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("want a stop with %q, got %v", c.want, err)
		}
	}
}

// TestQueriesBesideFollow: queries of other processes read a followed
// store: at the tip, while the follower waits for the node (and the
// follower, given new blocks, holds off until they end, new queries
// waiting behind it); and while it catches up, let in after the block in
// hand rather than at the end. Each
// finds the node's chain as far as committed, and the store comes out as
// an ingest of the same blocks makes it. (A lock is per open file, so the
// readers of this process stand for other processes.)
func TestQueriesBesideFollow(t *testing.T) {
	blocks := mainnetBlocks(t, 300)
	node := &coreNode{blocks: blocks[:100]}
	rpc := serveNode(t, node)
	dir := t.TempDir()
	s := openStore(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	synced := make(chan int64, 100)
	go func() {
		done <- Follow(ctx, s, rpc, 5*time.Millisecond, Options{}, func(st *Stats) { synced <- st.Height })
	}()

	read := func() *store.Store {
		t.Helper()
		r, err := store.OpenReadOnly(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for h := range r.Height() + 1 {
			if got, _ := r.BlockHashAt(h); got != btc.BlockHash(blocks[h]) {
				t.Fatalf("a query finds block %s at height %d, want %s", got, h, btc.BlockHash(blocks[h]))
			}
		}
		return r
	}
	// readUntil reads until a query finds the store above height h; it
	// returns that height.
	readUntil := func(h int64) int64 {
		t.Helper()
		for i := 0; ; i++ {
			r := read()
			got := r.Height()
			r.Close()
			if got > h {
				return got
			}
			if i == 1000 {
				t.Fatalf("the store stays at height %d", got)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Queried once the follower shares its lock, as it does from its
	// start (before, the store is held as by any writer).
	for i := 0; ; i++ {
		if b, _ := os.ReadFile(filepath.Join(dir, "LOCK")); strings.HasSuffix(string(b), " shares\n") {
			break
		}
		if i == 1000 {
			t.Fatal("the follower does not share the store")
		}
		time.Sleep(5 * time.Millisecond)
	}
	readUntil(98)
	if h := <-synced; h != 99 {
		t.Fatalf("synced to %d, want 99", h)
	}

	// Two queries in the store: the follower, given new blocks, writes
	// nothing while they read; a query that comes meanwhile waits behind
	// the follower, and is let in after its next block, not at the tip.
	r, r2 := read(), read()
	meta, _ := os.ReadFile(filepath.Join(dir, "META"))
	node.mu.Lock()
	node.blocks, node.delay = blocks, 5*time.Millisecond
	node.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	if now, _ := os.ReadFile(filepath.Join(dir, "META")); !bytes.Equal(now, meta) {
		t.Fatal("the follower wrote while queries read")
	}
	late := make(chan int64, 1)
	go func() {
		r, err := store.OpenReadOnly(dir, store.Options{})
		if err != nil {
			t.Error(err)
			late <- -1
			return
		}
		late <- r.Height()
		r.Close()
	}()
	select {
	case h := <-late:
		t.Fatalf("a query went in ahead of the follower waiting to write (height %d)", h)
	case <-time.After(100 * time.Millisecond):
	}
	r2.Close()
	r.Close()
	select {
	case h := <-late:
		if h <= 99 || h >= 299 {
			t.Fatalf("the query that waited was let in at height %d, want one block or more past 99 and short of the tip", h)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the query that waited was not let in")
	}
	readUntil(298)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	clean := openStore(t, t.TempDir())
	if _, err := RPC(context.Background(), clean, rpc, Options{}); err != nil {
		t.Fatal(err)
	}
	if want, _ := clean.Digest(); got != want {
		t.Fatalf("the followed store's digest %s, an ingest's %s", got, want)
	}
}

// TestNodeBehindStore: a node behind the store (syncing anew, reindexing,
// restored from an older copy: its best chain a prefix of the store's) is
// waited for, not followed down: an ingest from it changes nothing, and a
// follower unwinds nothing while the node catches up, logging it once each
// way, then takes the node's new blocks.
func TestNodeBehindStore(t *testing.T) {
	blocks := mainnetBlocks(t, 300)
	node := &coreNode{blocks: blocks[:200]}
	rpc := serveNode(t, node)
	s := openStore(t, t.TempDir())
	if _, err := RPC(context.Background(), s, rpc, Options{}); err != nil || s.Height() != 199 {
		t.Fatalf("ingest: height %d, %v", s.Height(), err)
	}
	before, _ := s.Digest()
	// The node starts again from scratch.
	node.mu.Lock()
	node.blocks = blocks[:50]
	node.mu.Unlock()
	var log bytes.Buffer
	st, err := RPC(context.Background(), s, rpc, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil || st.Unwound != 0 || s.Height() != 199 {
		t.Fatalf("ingest from a node behind: unwound %d, height %d, %v", st.Unwound, s.Height(), err)
	}
	if after, _ := s.Digest(); after != before {
		t.Fatal("an ingest from a node behind changed the store")
	}
	if !strings.Contains(log.String(), "the node is behind the store") {
		t.Fatalf("not logged:\n%s", log.String())
	}

	log.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	synced := make(chan *Stats, 100)
	done := make(chan error, 1)
	polls := 0
	go func() {
		done <- Follow(ctx, s, rpc, 5*time.Millisecond, Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), NodeHeight: func(h int64) {
			// The node catches up, poll by poll: 50, 120, 199, then 300 blocks.
			polls++
			node.mu.Lock()
			switch polls {
			case 3:
				node.blocks = blocks[:120]
			case 6:
				node.blocks = blocks[:199]
			case 9:
				node.blocks = blocks
			}
			node.mu.Unlock()
		}}, func(st *Stats) { synced <- st })
	}()
	select {
	case st := <-synced:
		if st.Unwound != 0 || st.Height != 299 {
			t.Fatalf("the follower unwound %d blocks, at height %d", st.Unwound, st.Height)
		}
	case err := <-done:
		t.Fatalf("the follower stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the node's new blocks not taken")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, c := strings.Count(log.String(), "the node is behind the store"), strings.Count(log.String(), "the node caught up"); b != 1 || c != 1 {
		t.Fatalf("%d falls behind and %d catch-ups logged, want 1 and 1:\n%s", b, c, log.String())
	}

	// A shorter chain that is not a part of the store's is the node's
	// choice, followed: btcd's blocks 0..4, then a node whose best chain
	// is 0..2 and the side chain's 3A (as after invalidateblock 3).
	var main, side [][]byte
	for _, f := range frames(t, "blk_0_to_4.dat.bz2") {
		main = append(main, f[8:])
	}
	side = append(side, main[:3]...)
	side = append(side, frames(t, "blk_3A.dat.bz2")[0][8:])
	s2 := openStore(t, t.TempDir())
	node.mu.Lock()
	node.blocks = main
	node.mu.Unlock()
	if _, err := RPC(context.Background(), s2, rpc, Options{}); err != nil || s2.Height() != 4 {
		t.Fatalf("ingest of 0..4: height %d, %v", s2.Height(), err)
	}
	node.mu.Lock()
	node.blocks = side
	node.mu.Unlock()
	st, err = RPC(context.Background(), s2, rpc, Options{})
	if tip, _ := s2.BlockHashAt(3); err != nil || st.Unwound != 2 || s2.Height() != 3 || tip != btc.BlockHash(side[3]) {
		t.Fatalf("a shorter chain off the store's: unwound %d, height %d (block 3 %s), %v", st.Unwound, s2.Height(), tip, err)
	}
}
