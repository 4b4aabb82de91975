package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/progress"
	"github.com/spur-forensics/spur/internal/store"
)

// forkPoint returns the highest height at which the store and the node have
// the same block (-1 when they share none, or the store is empty).
func forkPoint(ctx context.Context, s *store.Store, node *btc.RPC, nodeHeight int64) (int64, error) {
	h := min(s.Height(), nodeHeight)
	for ; h >= 0; h-- {
		mine, err := s.BlockHashAt(h)
		if err != nil {
			return 0, err
		}
		theirs, err := node.BlockHash(ctx, h)
		if err != nil {
			return 0, err
		}
		if mine == theirs {
			return h, nil
		}
	}
	return -1, nil
}

// nodeBehind reports whether the node's best chain, as info gives it, is a
// part of the store's, shorter: its tip is the store's block at its height.
func nodeBehind(ctx context.Context, s *store.Store, node *btc.RPC, info btc.ChainInfo) (bool, error) {
	if info.Blocks >= s.Height() {
		return false, nil
	}
	mine, err := s.BlockHashAt(info.Blocks)
	if err != nil {
		return false, err
	}
	theirs := info.BestBlockHash
	if theirs == "" { // getblockcount's node
		h, err := node.BlockHash(ctx, info.Blocks)
		if err != nil {
			return false, err
		}
		theirs = h.String()
	}
	return theirs == mine.String(), nil
}

// RPC brings the store to the node's tip once: it unwinds blocks the node no
// longer has on its best chain, then fetches the missing ones.
func RPC(ctx context.Context, s *store.Store, node *btc.RPC, opts Options) (*Stats, error) {
	opts.defaults()
	start := time.Now()
	st := &Stats{}
	err := syncRPC(ctx, s, node, &opts, st, progress.New(opts.Progress, "blocks", 0))
	st.finish(s, start)
	return st, err
}

func syncRPC(ctx context.Context, s *store.Store, node *btc.RPC, opts *Options, st *Stats, bar *progress.Bar) error {
	// A reorg while fetching shows up as a block that does not connect,
	// or as a height or hash the node no longer has; a few rounds settle it.
	for round := 0; ; round++ {
		info, err := node.ChainInfo(ctx)
		if err != nil {
			return err
		}
		if info.Chain != "" && !s.Network().IsChain(info.Chain) {
			return fmt.Errorf("%w: the node at %s is on chain %q, the store of network %s (--network)", btc.ErrWrongNetwork, node.URL, info.Chain, s.Network().Name)
		}
		if opts.NodeHeight != nil {
			opts.NodeHeight(info.Blocks)
		}
		behind, err := nodeBehind(ctx, s, node, info)
		if chainMoved(err) && round < 5 {
			continue
		}
		if err != nil {
			return err
		}
		if opts.lag.note(opts.Logger, node.URL, behind, info.Blocks, s.Height()) {
			return nil
		}
		fork, err := forkPoint(ctx, s, node, info.Blocks)
		if chainMoved(err) && round < 5 {
			continue
		}
		if err != nil {
			return err
		}
		if s.Height() >= 0 && fork < 0 {
			g, _ := s.BlockHashAt(0)
			return fmt.Errorf("ingest: the node's chain shares no block with the store (store genesis %s): wrong node or --network?", g)
		}
		if fork < s.Height() {
			if err := unshare(ctx, s, opts); err != nil {
				return err
			}
			opts.Logger.Info("reorganisation: unwinding", "from", s.Height(), "to", fork)
			st.Unwound += s.Height() - fork
			if err := s.Unwind(fork); err != nil {
				return err
			}
		}
		from := s.Height() + 1
		if info.Pruned && from < info.PruneHeight {
			return fmt.Errorf("%w: the node at %s keeps blocks from height %d on, and the store needs them from %d: ingest the earlier ones from block files or an unpruned node first", ErrPruned, node.URL, info.PruneHeight, from)
		}
		top := info.Blocks
		if opts.StopHeight > 0 {
			top = min(top, opts.StopHeight)
		}
		n := int(top - from + 1)
		if n <= 0 {
			return nil
		}
		bar.SetTotal(int64(n) + st.Blocks)
		fetch := func(ctx context.Context, i int, _ []byte) ([]byte, fmt.Stringer, error) {
			h := from + int64(i)
			where := label(fmt.Sprintf("rpc %s: height %d", node.URL, h))
			hash, err := node.BlockHash(ctx, h)
			if err != nil {
				return nil, where, err
			}
			where = label(fmt.Sprintf("rpc %s: block %s (height %d)", node.URL, hash, h))
			raw, err := node.RawBlock(ctx, hash)
			return raw, where, err
		}
		if err := unshare(ctx, s, opts); err != nil {
			return err
		}
		err = apply(ctx, s, source{n: n, fetch: fetch}, rpcOptions(opts), st, bar)
		if (errors.Is(err, store.ErrNotConnected) || chainMoved(err)) && round < 5 {
			continue
		}
		return err
	}
}

// rpcInFlight is how many blocks an ingest asks a node for at once, at
// least: a fetch mostly waits for the node (two round trips, the node's
// disk, hex), so more fetches than cores keep it busy.
const rpcInFlight = 8

// rpcOptions is opts with at least rpcInFlight workers.
func rpcOptions(opts *Options) *Options {
	o := *opts
	o.Workers = max(o.Workers, rpcInFlight)
	return &o
}

// chainMoved says whether err is the node failing a block lookup that
// its chain had a moment before: it changed between two calls.
func chainMoved(err error) bool {
	var rerr *btc.RPCError
	return errors.As(err, &rerr) && rerr.Code != rpcMethodNotFound && (rerr.Method == "getblockhash" || rerr.Method == "getblock")
}

// rpcMethodNotFound is JSON-RPC's code for a method the node lacks.
const rpcMethodNotFound = -32601

// ErrPruned reports a node that no longer has blocks the store lacks.
var ErrPruned = errors.New("ingest: the node has pruned blocks the store needs")

// rpcInWarmup is Bitcoin Core's code for a call made while it starts
// ("Loading block index…", "Verifying blocks…"), minutes on mainnet.
const rpcInWarmup = -28

// nodeLag is whether a node was last seen behind the store: its best
// chain a part of the one the store holds, which it has still to catch up
// on (a node syncing anew, reindexing, or restored from an older copy;
// geth's head is its genesis until a snap sync ends). Such a node is
// waited for, not followed: unwinding the store to its tip would throw
// away all it has still to sync. (A shorter chain that is not a part of
// the store's is a reorganisation, followed: Ethereum's fork choice can
// make a block the head in place of a later one.) It is logged once when
// the node falls behind and once when it catches up.
type nodeLag struct{ behind bool }

// note records whether the node is behind (its tip at nodeHeight, below
// the store's tip at storeHeight, on the store's chain) and returns it.
func (l *nodeLag) note(log *slog.Logger, node string, behind bool, nodeHeight, storeHeight int64) bool {
	if behind {
		if !l.behind {
			log.Warn("the node is behind the store: nothing unwound, waiting for it to catch up", "node", node, "node_height", nodeHeight, "store_height", storeHeight)
		}
		l.behind = true
		return true
	}
	if l.behind {
		log.Info("the node caught up with the store", "node_height", nodeHeight)
	}
	l.behind = false
	return false
}

// outage is a followed node's failed polls since its last answer: a
// follower logs the first and the answer that ends them, not every poll of
// a node that takes minutes to come back, and tells opts.NodeUp each time.
type outage struct {
	polls int
	since time.Time
}

func (o *outage) failed(opts *Options, err error) {
	if o.polls == 0 {
		o.since = time.Now()
		opts.Logger.Warn("the node does not answer; polling until it does", "err", err)
	}
	o.polls++
	if opts.NodeUp != nil {
		opts.NodeUp(false)
	}
}

func (o *outage) answered(opts *Options) {
	if o.polls > 0 {
		opts.Logger.Info("the node answers again", "failed_polls", o.polls, "after", time.Since(o.since).Round(time.Millisecond))
		o.polls = 0
	}
	if opts.NodeUp != nil {
		opts.NodeUp(true)
	}
}

// Follow keeps the store at the node's tip, polling every interval, until
// ctx ends. Each new block is committed as soon as it is appended.
func Follow(ctx context.Context, s *store.Store, node *btc.RPC, interval time.Duration, opts Options, onSync func(*Stats)) error {
	opts.defaults()
	opts.CommitEvery = 1
	// Shared from the start, so that a query that comes while the store
	// catches up waits for the next block rather than failing.
	if err := s.Share(); err != nil {
		return err
	}
	var out outage
	for {
		start := time.Now()
		st := &Stats{}
		err := syncRPC(ctx, s, node, &opts, st, progress.New(opts.Progress, "blocks", 0))
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// Only what the node may mend by itself is waited out: a node
			// unreachable or restarting, or loading its index after a
			// restart. Anything else (its refusal, its other errors, its
			// blocks that do not decode or connect, another network, the
			// store's own errors) stops the follower, to be seen.
			var rerr *btc.RPCError
			warming := errors.As(err, &rerr) && rerr.Code == rpcInWarmup
			if !warming && !errors.Is(err, btc.ErrUnanswered) {
				return err
			}
			out.failed(&opts, err)
		} else {
			out.answered(&opts)
			if onSync != nil && (st.Blocks > 0 || st.Unwound > 0) {
				st.finish(s, start)
				onSync(st)
			}
		}
		// Other processes' queries read the store while the node is
		// waited for.
		answered := err == nil
		if err := s.Share(); err != nil {
			return err
		}
		if answered && opts.Polled != nil {
			opts.Polled() // reading beside them
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// unshare takes the store back from other processes' queries (Share) to
// write to it, saying so if they hold it up.
func unshare(ctx context.Context, s *store.Store, opts *Options) error {
	return s.Unshare(ctx, waitingLogger(opts))
}

// waitingLogger logs a follower held up by queries.
func waitingLogger(opts *Options) func() {
	return func() { opts.Logger.Info("waiting for queries of the store to end") }
}
