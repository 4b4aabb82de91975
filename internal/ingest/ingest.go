package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/progress"
	"github.com/spur-forensics/spur/internal/store"
)

// Options for an ingest run.
type Options struct {
	// Workers decode blocks in parallel. Default: the number of CPUs.
	Workers int
	// CommitBytes commits when this much column data is pending.
	// Default 64 MiB.
	CommitBytes int
	// CommitEvery commits every this many blocks as well (0: by size and
	// time only).
	CommitEvery int
	// CommitInterval commits at least this often. Default 30 s.
	CommitInterval time.Duration
	// StopHeight, when positive, stops the run once the store reaches it.
	StopHeight int64
	// Progress receives the progress bar; nil for none.
	Progress io.Writer
	// Logger receives notes (reorgs, skipped blocks); nil is silent.
	Logger *slog.Logger
	// NodeHeight, if set, learns the node's tip height at each poll of
	// an RPC ingest.
	NodeHeight func(int64)
	// NodeUp, if set, learns after each poll of a follow whether the
	// node answered it.
	NodeUp func(bool)
	// LetQueriesIn makes an EVM follow let the queries of other processes
	// in when they wait for the store (between blocks, and while it waits
	// for the node): for a follower with no readers of its own, as the
	// index is closed meanwhile. A Bitcoin follow always does.
	LetQueriesIn bool
	// Polled, if set, is called after each poll of a Bitcoin follow that
	// the node answered (after onSync, if blocks came), with the store at
	// the node's tip and other processes' queries let in: to read it
	// beside them (the node's mempool watched).
	Polled func()

	// tokensAsked are the tokens an EVM ingest asked for their symbol and
	// decimals: a follow keeps them from one poll to the next, so that a
	// token that answers neither is asked once, not at every block that
	// moves it.
	tokensAsked map[common.Address]bool
	// lag is whether an RPC ingest's node was behind the store when last
	// asked (kept from one poll of a follow to the next).
	lag nodeLag
}

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.CommitBytes <= 0 {
		o.CommitBytes = 64 << 20
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats summarises a run.
type Stats struct {
	Blocks     int64         `json:"blocks"`
	Txs        int64         `json:"txs"`
	Inputs     int64         `json:"inputs"`
	Outputs    int64         `json:"outputs"`
	Bytes      int64         `json:"bytes"`
	Unwound    int64         `json:"unwound_blocks"`
	Stale      int           `json:"stale_blocks"`
	Orphans    int           `json:"orphan_blocks"`
	Unfinished int           `json:"unfinished_blocks"` // at the end of a node's newest blk file, not yet written whole
	Height     int64         `json:"height"`
	Tip        string        `json:"tip"`
	Elapsed    time.Duration `json:"-"`
	ElapsedSec float64       `json:"elapsed_seconds"`
	PeakRSSMiB float64       `json:"peak_rss_mib,omitempty"` // filled in by the command
	// PeakAnonMiB is the part of the peak not mapped from files (heap,
	// stacks), sampled; filled in by the command.
	PeakAnonMiB float64 `json:"peak_anon_rss_mib,omitempty"`
}

func (st *Stats) finish(s *store.Store, start time.Time) {
	st.Height = s.Height()
	if st.Height >= 0 {
		st.Tip = s.TipHash().String()
	}
	st.Elapsed = time.Since(start)
	st.ElapsedSec = st.Elapsed.Seconds()
}

// fetchFunc returns block i of a run's plan, read into buf (grown as
// needed) or into memory of its own, and where it came from, for error
// messages (formatted only for one).
type fetchFunc func(ctx context.Context, i int, buf []byte) (raw []byte, where fmt.Stringer, err error)

// label is a where that is a string already.
type label string

func (l label) String() string { return string(l) }

type result struct {
	i     int
	p     *store.PreparedBlock
	where fmt.Stringer
	err   error
}

// A job is a run of consecutive blocks decoded by one worker: small blocks
// are grouped so that the hand-offs between goroutines do not dominate.
type job struct {
	first, n int
	done     chan []result
	bufs     [][]byte // what to read each block into (from the arena; nil without one)
	ends     []int64  // where to give each back
}

// groupBlocks returns how many blocks from i make a job, given the block
// sizes when known (size returns 0 when not).
func groupBlocks(i, n int, size func(int) int) int {
	const maxBytes, maxBlocks = 1 << 20, 256
	if size == nil {
		return 1
	}
	k, bytes := 0, 0
	for i+k < n && k < maxBlocks && bytes < maxBytes {
		bytes += size(i + k)
		k++
	}
	return max(k, 1)
}

// source is where apply takes a run's blocks from.
type source struct {
	n     int // blocks
	fetch fetchFunc
	// size, when not nil, gives block sizes, for grouping and for reading
	// the blocks into buffers from an arena.
	size func(i int) int
	// done, when not nil, learns that block i is stored and its bytes no
	// longer used; blocks are done in order.
	done func(i int)
}

// apply fetches the source's blocks in order, decoding them on all
// workers, and appends them to the store, committing as it goes. On error,
// or when ctx ends, it keeps what was committed, drops the rest, and
// returns the error; the store then uses no block's bytes.
func apply(ctx context.Context, s *store.Store, src source, opts *Options, st *Stats, bar *progress.Bar) error {
	n, fetch, size := src.n, src.fetch, src.size
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job)
	// Jobs in flight, decoded or being decoded, in order: enough to keep
	// every worker busy while the store takes the oldest, and few, as the
	// blocks decoded ahead and not yet stored are memory the workers
	// write again for the next ones (fewer of them stay in the caches).
	order := make(chan job, 2*opts.Workers+1)
	var ar *arena
	if size != nil {
		ar = newArena(arenaSize)
	}
	go func() {
		defer close(jobs)
		defer close(order)
		for i := 0; i < n; {
			j := job{first: i, n: groupBlocks(i, n, size), done: make(chan []result, 1)}
			if ar != nil {
				j.bufs, j.ends = make([][]byte, j.n), make([]int64, j.n)
				for k := range j.n {
					if j.bufs[k], j.ends[k] = ar.alloc(ctx, size(i+k)); j.bufs[k] == nil {
						return
					}
				}
			}
			i += j.n
			select {
			case order <- j:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	// Decoded blocks go back to a pool once appended, so that their
	// memory is reused rather than cleared and collected block after block.
	prepared := sync.Pool{New: func() any { return &store.PreparedBlock{Block: new(btc.Block)} }}
	var wg sync.WaitGroup
	if ar != nil {
		defer ar.close() // after the workers are done (deferred below)
	}
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				rs := make([]result, j.n)
				for k := range rs {
					r := &rs[k]
					r.i = j.first + k
					p := prepared.Get().(*store.PreparedBlock)
					var buf []byte
					end := int64(-1)
					if ar != nil {
						buf, end = j.bufs[k], j.ends[k]
					}
					var raw []byte
					raw, r.where, r.err = fetch(ctx, j.first+k, buf)
					if r.err != nil {
						rs = rs[:k+1]
						break
					}
					i := r.i
					p.Done = func() {
						if ar != nil {
							ar.release(end) // blocks are done in order
						}
						if src.done != nil {
							src.done(i)
						}
						prepared.Put(p)
					}
					if err := decode(p, raw); err != nil {
						r.err = err
						rs = rs[:k+1]
						break
					}
					r.p = p
				}
				j.done <- rs
			}
		}()
	}
	defer wg.Wait()
	defer cancel()

	com := &committer{s: s, opts: opts, st: st, bar: bar, lastCommit: time.Now(), marks: []Stats{*st}}
	defer com.settle(s.Counts().Blocks)
	for j := range order {
		var rs []result
		select {
		case rs = <-j.done:
		case <-ctx.Done():
			return errors.Join(ctx.Err(), s.Rollback())
		}
		for _, r := range rs {
			if err := com.append(ctx, r); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return errors.Join(err, s.Rollback()) // the jobs ended early
	}
	com.mark()
	return s.Commit()
}

// decode decodes raw into p and lays out its rows. raw may be a block file's
// mapping: a fault on it (the file cut short while it is read) is returned
// as an error, where it would otherwise crash the process.
func decode(p *store.PreparedBlock, raw []byte) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if e := recover(); e != nil {
			if _, ok := e.(interface{ Addr() uintptr }); !ok {
				panic(e)
			}
			err = fmt.Errorf("%w: the block's bytes could not be read (its file cut short while being read?): %v", btc.ErrCorrupt, e)
		}
	}()
	if err := p.Block.Decode(raw); err != nil {
		return err
	}
	p.Prepare(p.Block)
	return nil
}

// committer appends blocks and commits by size, count and time.
type committer struct {
	s           *store.Store
	opts        *Options
	st          *Stats
	bar         *progress.Bar
	lastCommit  time.Time
	sinceCommit int
	// marks are the counts when the run began and at each commit it
	// started, in order: after a failure the store is at one of them.
	marks []Stats
}

// mark notes the counts of a commit about to start.
func (c *committer) mark() { c.marks = append(c.marks, *c.st) }

// settle makes the counts those of the blocks the store kept, once the run
// is over: they went up as blocks were appended, and a failure rolls back
// those appended since the last commit that completed. from is the store's
// committed block count when the run began.
func (c *committer) settle(from uint64) {
	kept := c.marks[0].Blocks + int64(c.s.Counts().Blocks) - int64(from)
	if c.st.Blocks == kept {
		return
	}
	keep := c.marks[0]
	for _, m := range c.marks {
		if m.Blocks == kept {
			keep = m
		}
	}
	c.st.Blocks, c.st.Txs, c.st.Inputs, c.st.Outputs, c.st.Bytes = keep.Blocks, keep.Txs, keep.Inputs, keep.Outputs, keep.Bytes
}

// append stores one decoded block. On an error it drops everything
// appended since the last commit, so the store stays at its last committed
// height, and names where the bad block came from.
func (c *committer) append(ctx context.Context, r result) error {
	var txs, ins, outs, size int64
	if r.err == nil {
		// Counted first: once appended, the block goes back to its pool.
		b := r.p.Block
		txs, size = int64(len(b.Txs)), int64(len(b.Raw))
		for i := range b.Txs {
			ins += int64(len(b.Txs[i].Inputs))
			outs += int64(len(b.Txs[i].Outputs))
		}
		r.err = c.s.AppendBlock(r.p)
	}
	if r.err != nil {
		if rerr := c.s.Rollback(); rerr != nil {
			return errors.Join(r.err, rerr)
		}
		return fmt.Errorf("%s: %w", r.where, r.err)
	}
	c.st.Blocks++
	c.st.Txs += txs
	c.st.Bytes += size
	c.st.Inputs += ins
	c.st.Outputs += outs
	c.bar.Add(1, txs, size)
	c.sinceCommit++
	o := c.opts
	if c.s.Pending() >= o.CommitBytes || o.CommitEvery > 0 && c.sinceCommit >= o.CommitEvery || time.Since(c.lastCommit) >= o.CommitInterval {
		c.mark()
		if err := c.s.CommitAsync(); err != nil {
			return err
		}
		c.lastCommit, c.sinceCommit = time.Now(), 0
		// Queries of other processes that wait for a follower are let in
		// between two blocks rather than when it reaches the tip.
		if err := c.s.LetReadersIn(ctx, waitingLogger(c.opts)); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		// Rolled back, as on an error, so that the store is done with
		// every block it was given before the run returns.
		return errors.Join(err, c.s.Rollback())
	}
	return nil
}
