package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/progress"
)

// EVMStats reports an EVM ingest run.
type EVMStats struct {
	Chain      string  `json:"chain"`
	Blocks     int64   `json:"blocks"`
	Skipped    int64   `json:"skipped_blocks"` // already in the store
	Txs        int64   `json:"txs"`
	Transfers  int64   `json:"transfers"`
	Unwound    int64   `json:"unwound_blocks"`
	First      uint64  `json:"first_block"`
	Tip        uint64  `json:"tip_block"`
	TipHash    string  `json:"tip_hash"`
	ElapsedSec float64 `json:"elapsed_seconds"`
	PeakRSSMiB float64 `json:"peak_rss_mib,omitempty"`
	// CompactSec is how long compacting the index took after a bulk load
	// (spur ingest evm); 0 when it was not.
	CompactSec float64 `json:"index_compaction_seconds,omitempty"`
}

func (st *EVMStats) finish(s *evmstore.Store, start time.Time) {
	st.Chain = s.Chain()
	if n, h, ok := s.Tip(); ok {
		st.First, st.Tip, st.TipHash = s.Counts().First, n, h.Hex()
	}
	st.ElapsedSec = time.Since(start).Seconds()
}

// evmAppender appends blocks in order, skipping those the store has and
// committing by size, count and time.
type evmAppender struct {
	s     *evmstore.Store
	opts  Options
	st    *EVMStats
	bar   *progress.Bar
	last  time.Time
	since int
	// The blocks and transactions appended since the last commit: counted
	// in st once committed, as a failure rolls them back.
	pendBlocks, pendTxs int64
	// appended, if set, runs after each block is appended, before the
	// commit that may follow.
	appended func(*evm.Block) error
}

// hasTraces reports whether b comes with traces of the type (its genesis
// allocations, the DAO fork's moves).
func hasTraces(b *evm.Block, typ string) bool {
	for _, ts := range [][]evm.Trace{b.Traces, b.Rewards} {
		for _, t := range ts {
			if t.Type == typ {
				return true
			}
		}
	}
	return false
}

// daoFork is evm.DAOFork; tests give a fork of their own.
var daoFork = evm.DAOFork

// daoForkMoves are the DAO fork's moves at block b of a chain that took it
// (mainnet's 1,920,000), for a source that does not give them (era1
// archives and nodes; ethereum-etl's daofork traces do): each drained
// account's whole ether, as the store has it once the blocks before are
// committed, to the refund contract. A store that holds the chain from
// genesis with its internal transfers has the balances the chain had; one
// that does not moves what it shows, so that the accounts hold nothing
// after the fork there either.
func (a *evmAppender) daoForkMoves(b *evm.Block) ([]evm.Trace, error) {
	at, drain, refund, ok := daoFork(a.s.ChainID())
	if !ok || b.Number != at || hasTraces(b, "daofork") {
		return nil, nil
	}
	if a.s.Pending() > 0 {
		if err := a.commit(); err != nil {
			return nil, err
		}
	}
	var out []evm.Trace
	for _, d := range drain {
		bal, err := a.s.EtherBalance(d)
		if err != nil {
			return nil, err
		}
		if !bal.IsZero() {
			out = append(out, evm.Trace{TxIndex: -1, From: d, To: refund, Value: bal, Type: "daofork"})
		}
	}
	return out, nil
}

func newEVMAppender(s *evmstore.Store, opts Options, st *EVMStats, bar *progress.Bar) *evmAppender {
	if opts.CommitBytes == 0 {
		// The index batch waits in memory until the commit, and Pebble
		// copies a large one again: commit more often than Bitcoin does.
		opts.CommitBytes = 16 << 20
	}
	opts.defaults()
	return &evmAppender{s: s, opts: opts, st: st, bar: bar, last: time.Now()}
}

func (a *evmAppender) add(b *evm.Block) error {
	if next, ok := a.s.Next(); ok && b.Number < next {
		// Already stored: it must be the same block.
		r, err := a.s.BlockRow(b.Number)
		if err == nil && a.s.Block(r).Hash != b.Hash {
			return fmt.Errorf("%w: block %d is %s here but %s in the store; the source follows another chain (or a reorg: run spur follow evm)",
				evmstore.ErrNotNext, b.Number, b.Hash.Hex(), a.s.Block(r).Hash.Hex())
		}
		a.st.Skipped++
		a.bar.Add(1, 0, 0)
		return nil
	}
	if b.Number == 0 && !hasTraces(b, "genesis") {
		// The state the chain begins with, which era1 archives and
		// nodes do not give (ethereum-etl's genesis traces do).
		b.Rewards = append(b.Rewards, evm.GenesisAlloc(a.s.ChainID(), b.Hash)...)
	}
	moves, err := a.daoForkMoves(b)
	if err != nil {
		return err
	}
	b.Rewards = append(b.Rewards, moves...)
	if err := a.s.AppendBlock(b); err != nil {
		return err
	}
	if a.appended != nil {
		if err := a.appended(b); err != nil {
			return err
		}
	}
	a.pendBlocks++
	a.pendTxs += int64(len(b.Txs))
	a.bar.Add(1, int64(len(b.Txs)), 0)
	a.since++
	if a.s.Pending() >= a.opts.CommitBytes || time.Since(a.last) >= a.opts.CommitInterval ||
		a.opts.CommitEvery > 0 && a.since >= a.opts.CommitEvery {
		return a.commit()
	}
	return nil
}

func (a *evmAppender) commit() error {
	before := a.s.Counts().Transfers
	if err := a.s.Commit(); err != nil {
		return err
	}
	a.st.Transfers += int64(a.s.Counts().Transfers - before)
	a.st.Blocks += a.pendBlocks
	a.st.Txs += a.pendTxs
	a.pendBlocks, a.pendTxs = 0, 0
	a.last = time.Now()
	a.since = 0
	return nil
}

// EVMStream ingests the blocks next returns (until io.EOF), in order.
// Blocks the store already holds are checked and skipped, so a rerun
// resumes. On an error, everything appended since the last commit is
// dropped and the store stays at its last commit.
func EVMStream(ctx context.Context, s *evmstore.Store, next func() (*evm.Block, error), opts Options) (*EVMStats, error) {
	start := time.Now()
	st := &EVMStats{}
	bar := progress.New(opts.Progress, "blocks", 0)
	a := newEVMAppender(s, opts, st, bar)
	err := func() error {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			b, err := next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := a.add(b); err != nil {
				if b.Where != "" {
					return fmt.Errorf("%s: %w", b.Where, err)
				}
				return err
			}
		}
	}()
	if err == nil || errors.Is(err, context.Canceled) {
		if cerr := a.commit(); cerr != nil && err == nil {
			err = cerr
		}
	} else {
		s.Rollback()
	}
	bar.Done()
	st.finish(s, start)
	return st, err
}

// EVMRPC ingests from the node's next block after the store's tip (from
// `from` when the store is empty) up to its head less confirmations,
// fetching up to opts.Workers blocks at once (by default rpcInFlight, or
// one per core where there are more). A store whose tip the node no longer
// has is unwound to the last block both share first; from a node behind
// the store nothing is taken.
func EVMRPC(ctx context.Context, s *evmstore.Store, node *evm.RPC, from, to uint64, opts Options) (*EVMStats, error) {
	return evmRPC(ctx, s, node, from, to, opts, &nodeLag{})
}

func evmRPC(ctx context.Context, s *evmstore.Store, node *evm.RPC, from, to uint64, opts Options, lag *nodeLag) (*EVMStats, error) {
	chosen := opts.Workers > 0
	opts.defaults()
	if !chosen {
		opts.Workers = max(opts.Workers, rpcInFlight)
	}
	start := time.Now()
	st := &EVMStats{}
	// The node's chain first: a node of another chain that shares the
	// store's early blocks (Ethereum Classic's, say) would otherwise have
	// the store unwound to their fork.
	if err := CheckChainID(ctx, s, node); err != nil {
		return nil, err
	}
	head, err := node.Head(ctx)
	if err != nil {
		return nil, err
	}
	if opts.NodeHeight != nil {
		opts.NodeHeight(int64(head))
	}
	unwound, behind, err := reconcileEVM(ctx, s, node, head, opts, lag)
	if err != nil {
		return nil, err
	}
	st.Unwound = unwound
	if behind {
		st.finish(s, start)
		return st, nil
	}
	if n, ok := s.Next(); ok {
		from = n
	}
	if to == 0 || to > head {
		to = head
	}
	var total int64
	if to >= from {
		total = int64(to - from + 1)
	}
	bar := progress.New(opts.Progress, "blocks", total)
	a := newEVMAppender(s, opts, st, bar)
	asked := opts.tokensAsked
	if asked == nil {
		asked = map[common.Address]bool{}
	}
	tokens := tokenAsker{node: node, asked: asked, log: opts.Logger}
	// A block's tokens are recorded with it, in its commit.
	a.appended = func(b *evm.Block) error { return tokens.ask(ctx, s, b) }
	add := a.add
	if opts.LetQueriesIn {
		// After each commit, queries of other processes that wait for
		// the store are let in.
		add = func(b *evm.Block) error {
			if err := a.add(b); err != nil || s.Uncommitted() {
				return err
			}
			return s.LetReadersIn(ctx, waitingLogger(&opts))
		}
	}
	err = fetchOrdered(ctx, node, from, to, opts.Workers, add)
	if err == nil || errors.Is(err, context.Canceled) {
		if cerr := a.commit(); cerr != nil && err == nil {
			err = cerr
		}
	} else {
		s.Rollback()
	}
	bar.Done()
	st.finish(s, start)
	return st, err
}

// tokenAsker asks a node for the symbol and decimals of the tokens a block
// moved that the store has no record of: a node, unlike an export's
// tokens.csv, does not give them with the block, and without decimals a
// token's value cannot be priced. ERC-20's symbol() and decimals() by
// eth_call at the block; a contract that does not answer them (they are
// optional) is asked once a run and left without.
type tokenAsker struct {
	node  *evm.RPC
	asked map[common.Address]bool
	log   *slog.Logger
}

var (
	selSymbol   = []byte{0x95, 0xd8, 0x9b, 0x41} // symbol()
	selDecimals = []byte{0x31, 0x3c, 0xe5, 0x67} // decimals()
)

func (t *tokenAsker) ask(ctx context.Context, s *evmstore.Store, b *evm.Block) error {
	var todo []common.Address
	for _, l := range b.Logs {
		if _, _, _, nft, ok := evm.TokenTransfer(&l); !ok || nft || t.asked[l.Address] {
			continue
		}
		t.asked[l.Address] = true
		if n, err := s.AddrNum(l.Address); err == nil {
			if _, _, known := s.Token(n); known {
				continue
			}
		}
		todo = append(todo, l.Address)
	}
	if len(todo) == 0 {
		return nil
	}
	// The block's new tokens asked in one batch (per 100), each answering
	// for itself: one that reverts (no such function) fails alone. A node
	// without the block's state (not an archive node) is asked again at
	// its head: a token's symbol and decimals do not change.
	for len(todo) > 0 {
		n := min(len(todo), tokenBatch)
		if err := t.askBatch(ctx, s, todo[:n], fmt.Sprintf("0x%x", b.Number)); err != nil {
			return err
		}
		todo = todo[n:]
	}
	return nil
}

// tokenBatch is how many tokens one request asks of the node (two calls
// each, within geth's default limit of 1,000 calls a batch).
const tokenBatch = 100

// askBatch asks each token's symbol() and decimals() at block at (those
// of a node without that block's state at its head) and records the
// answers; a token that answers neither is left without.
func (t *tokenAsker) askBatch(ctx context.Context, s *evmstore.Store, tokens []common.Address, at string) error {
	sym := make([]hexutil.Bytes, len(tokens))
	dec := make([]hexutil.Bytes, len(tokens))
	errs := make([]error, len(tokens))
	ask := func(idx []int, at string) error {
		calls := make([]evm.Call, 0, 2*len(idx))
		for _, i := range idx {
			calls = append(calls,
				evm.Call{Method: "eth_call", Params: []any{map[string]any{"to": tokens[i], "data": hexutil.Bytes(selSymbol)}, at}, Result: &sym[i]},
				evm.Call{Method: "eth_call", Params: []any{map[string]any{"to": tokens[i], "data": hexutil.Bytes(selDecimals)}, at}, Result: &dec[i]})
		}
		if err := t.node.BatchEach(ctx, calls); err != nil {
			return err
		}
		for k, i := range idx {
			errs[i] = errors.Join(calls[2*k].Err, calls[2*k+1].Err)
		}
		return nil
	}
	all := make([]int, len(tokens))
	for i := range all {
		all[i] = i
	}
	err := ask(all, at)
	var stateless []int
	for i, e := range errs {
		if errors.Is(e, evm.ErrNoState) {
			stateless = append(stateless, i)
		}
	}
	if err == nil && len(stateless) > 0 {
		err = ask(stateless, "latest")
	}
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, evm.ErrUnanswered) {
			return err
		}
		// The node refused the request itself: these tokens stay
		// without, as one that answers neither call.
		t.log.Debug("tokens without symbol or decimals", "tokens", len(tokens), "err", err)
		return nil
	}
	for i, a := range tokens {
		if errs[i] != nil {
			t.log.Debug("token without symbol or decimals", "token", a.Hex(), "err", errs[i])
			continue
		}
		symbol, sok := decodeSymbol(sym[i])
		decimals, dok := decodeDecimals(dec[i])
		if !sok || !dok {
			continue
		}
		if err := s.SetToken(a, symbol, decimals); err != nil {
			return err
		}
	}
	return nil
}

// decodeDecimals reads decimals()'s answer: a uint8 in a 32-byte word.
func decodeDecimals(b []byte) (uint8, bool) {
	if len(b) != 32 {
		return 0, false
	}
	for _, c := range b[:31] {
		if c != 0 {
			return 0, false
		}
	}
	return b[31], true
}

// decodeSymbol reads symbol()'s answer: an ABI string (offset, length,
// bytes), or the 32 bytes some early tokens return (MKR, SAI), their
// trailing zeros cut. A symbol is printable text of at most 32 bytes.
func decodeSymbol(b []byte) (string, bool) {
	var raw []byte
	switch {
	case len(b) == 32:
		raw = bytes.TrimRight(b, "\x00")
	case len(b) >= 64:
		off := new(big.Int).SetBytes(b[:32])
		if !off.IsUint64() || off.Uint64() > uint64(len(b))-32 {
			return "", false
		}
		o := off.Uint64()
		n := new(big.Int).SetBytes(b[o : o+32])
		if !n.IsUint64() || n.Uint64() > uint64(len(b))-o-32 {
			return "", false
		}
		raw = b[o+32 : o+32+n.Uint64()]
	default:
		return "", false
	}
	if len(raw) == 0 || len(raw) > 32 || !utf8.Valid(raw) {
		return "", false
	}
	for _, r := range string(raw) {
		if !unicode.IsPrint(r) {
			return "", false
		}
	}
	return string(raw), true
}

// CheckChainID refuses a node of another chain than the store's.
func CheckChainID(ctx context.Context, s *evmstore.Store, node *evm.RPC) error {
	id, err := node.ChainID(ctx)
	if err != nil {
		return err
	}
	if id != s.ChainID() {
		return fmt.Errorf("%w: the node at %s is on chain id %d; the store holds %s (chain id %d)", evmstore.ErrChain, node.Name(), id, s.Chain(), s.ChainID())
	}
	return nil
}

// fetchOrdered fetches blocks from..to with up to workers requests in
// flight and hands them to fn in order.
func fetchOrdered(ctx context.Context, node *evm.RPC, from, to uint64, workers int, fn func(*evm.Block) error) error {
	if from > to {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		b   *evm.Block
		err error
	}
	slots := make(chan chan result, workers)
	go func() {
		defer close(slots)
		for n := from; n <= to; n++ {
			ch := make(chan result, 1)
			select {
			case slots <- ch:
			case <-ctx.Done():
				return
			}
			go func(n uint64) {
				b, err := node.Block(ctx, n)
				ch <- result{b, err}
			}(n)
		}
	}()
	for ch := range slots {
		r := <-ch
		if r.err != nil {
			return r.err
		}
		if err := fn(r.b); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// EVMFollow keeps the store at the node's tip: every interval it appends
// new blocks, each committed at once; when the node's chain no longer holds
// the store's tip it unwinds to the fork point first. onSync is called after
// each round that changed the store. It returns when ctx ends.
func EVMFollow(ctx context.Context, s *evmstore.Store, node *evm.RPC, interval time.Duration, opts Options, onSync func(*EVMStats)) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.CommitEvery = 1
	opts.tokensAsked = map[common.Address]bool{}
	if opts.LetQueriesIn {
		s.OfferShare()
	}
	var out outage
	for {
		st, err := evmRPC(ctx, s, node, 0, 0, opts, &opts.lag)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// As Follow: only a node that does not answer (restarting,
			// say) is waited out, at the start as later on.
			if !errors.Is(err, evm.ErrUnanswered) {
				return err
			}
			out.failed(&opts, err)
		} else {
			out.answered(&opts)
			if st != nil && (st.Blocks > 0 || st.Unwound > 0) && onSync != nil {
				onSync(st)
			}
		}
		var tick func() error
		if opts.LetQueriesIn {
			tick = func() error { return s.LetReadersIn(ctx, waitingLogger(&opts)) }
		}
		if err := idle(ctx, interval, tick); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// idle waits interval or until ctx ends, running tick (if any) at once and
// every 50 ms.
func idle(ctx context.Context, interval time.Duration, tick func() error) error {
	end := time.NewTimer(interval)
	defer end.Stop()
	var every <-chan time.Time
	if tick != nil {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		every = t.C
	}
	for {
		if tick != nil {
			if err := tick(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-end.C:
			return nil
		case <-every:
		}
	}
}

// reconcileEVM brings a store with blocks to the chain of the node, whose
// head is head, before new blocks are fetched: when the node no longer has
// the store's tip, it unwinds to the last block both share (returning how
// many it unwound); a node behind the store (lag) is reported, with
// nothing unwound.
func reconcileEVM(ctx context.Context, s *evmstore.Store, node *evm.RPC, head uint64, opts Options, lag *nodeLag) (unwound int64, behind bool, err error) {
	tipN, tipH, ok := s.Tip()
	if !ok {
		return 0, false, nil
	}
	first := s.Counts().First
	// Behind: its head below the store's tip, and on the store's chain,
	// or below the store's first block (a fresh node's genesis), where no
	// reorganisation reaches.
	behind = head < first
	if head >= first && head < tipN {
		nh, err := blockHash(ctx, node, head)
		if err != nil {
			return 0, false, err
		}
		behind = nh == s.Block(head-first).Hash
	}
	if lag.note(opts.Logger, node.Name(), behind, int64(head), int64(tipN)) {
		return 0, true, nil
	}
	// The highest stored block the node still has.
	n, h := tipN, tipH
	for {
		nh, err := blockHash(ctx, node, n)
		if err != nil {
			return 0, false, err
		}
		if nh == h {
			break
		}
		if n == first {
			return 0, false, fmt.Errorf("%w: the node shares no stored block (from %d); it follows another chain", evmstore.ErrNotNext, first)
		}
		n--
		h = s.Block(n - first).Hash
	}
	if n == tipN {
		return 0, false, nil
	}
	if opts.Logger != nil {
		opts.Logger.Info("reorg", "fork_block", n, "unwound", tipN-n)
	}
	if err := s.Unwind(n + 1); err != nil {
		return 0, false, err
	}
	return int64(tipN - n), false, nil
}

func blockHash(ctx context.Context, node *evm.RPC, n uint64) (common.Hash, error) {
	var hdr *struct {
		Hash common.Hash `json:"hash"`
	}
	err := node.Batch(ctx, []evm.Call{{Method: "eth_getBlockByNumber", Params: []any{fmt.Sprintf("0x%x", n), false}, Result: &hdr}})
	if err != nil {
		return common.Hash{}, err
	}
	if hdr == nil {
		return common.Hash{}, nil
	}
	return hdr.Hash, nil
}
