package evm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
)

// RPCLog is a log as eth_getLogs and receipts give it.
type RPCLog struct {
	Address          common.Address `json:"address"`
	Topics           []common.Hash  `json:"topics"`
	Data             hexutil.Bytes  `json:"data"`
	LogIndex         hexU64         `json:"logIndex"`
	TransactionIndex hexU64         `json:"transactionIndex"`
	TransactionHash  common.Hash    `json:"transactionHash"`
	BlockNumber      hexU64         `json:"blockNumber"`
}

// Log converts to the package's Log.
func (l *RPCLog) Log() Log {
	return Log{TxIndex: uint32(l.TransactionIndex), Index: uint32(l.LogIndex), Address: l.Address, Topics: l.Topics, Data: l.Data}
}

type rpcTx struct {
	Hash             common.Hash     `json:"hash"`
	Nonce            hexU64          `json:"nonce"`
	TransactionIndex hexU64          `json:"transactionIndex"`
	From             common.Address  `json:"from"`
	To               *common.Address `json:"to"`
	Value            hexBig          `json:"value"`
	Gas              hexU64          `json:"gas"`
	GasPrice         *hexBig         `json:"gasPrice"`
	Type             *hexU64         `json:"type"`
	Input            hexutil.Bytes   `json:"input"`
}

type rpcBlock struct {
	Number        hexU64         `json:"number"`
	Hash          common.Hash    `json:"hash"`
	ParentHash    common.Hash    `json:"parentHash"`
	Timestamp     hexU64         `json:"timestamp"`
	Miner         common.Address `json:"miner"`
	Difficulty    *hexBig        `json:"difficulty"`
	Uncles        []common.Hash  `json:"uncles"`
	BaseFeePerGas *hexBig        `json:"baseFeePerGas"`
	Transactions  []rpcTx        `json:"transactions"`
	Withdrawals   []struct {
		Index          hexU64         `json:"index"`
		ValidatorIndex hexU64         `json:"validatorIndex"`
		Address        common.Address `json:"address"`
		Amount         hexU64         `json:"amount"`
	} `json:"withdrawals"`
}

type rpcReceipt struct {
	TransactionHash   common.Hash     `json:"transactionHash"`
	TransactionIndex  hexU64          `json:"transactionIndex"`
	GasUsed           hexU64          `json:"gasUsed"`
	EffectiveGasPrice *hexBig         `json:"effectiveGasPrice"`
	BlobGasUsed       hexU64          `json:"blobGasUsed"`
	BlobGasPrice      *hexBig         `json:"blobGasPrice"`
	Status            *hexU64         `json:"status"`
	ContractAddress   *common.Address `json:"contractAddress"`
	Logs              []RPCLog        `json:"logs"`
}

// block converts a full block (with transaction objects) to a Block.
func (rb *rpcBlock) block() *Block {
	b := &Block{Number: uint64(rb.Number), Hash: rb.Hash, Parent: rb.ParentHash, Time: uint64(rb.Timestamp), Miner: rb.Miner}
	if rb.BaseFeePerGas != nil {
		v := uint256.Int(*rb.BaseFeePerGas)
		b.BaseFee = &v
	}
	for _, t := range rb.Transactions {
		tx := Tx{Hash: t.Hash, Index: uint32(t.TransactionIndex), Nonce: uint64(t.Nonce), From: t.From, To: t.To,
			Value: uint256.Int(t.Value), Gas: uint64(t.Gas), Status: StatusUnknown}
		if t.GasPrice != nil {
			tx.GasPrice = uint256.Int(*t.GasPrice)
		}
		if t.Type != nil {
			tx.Type = uint8(*t.Type)
		}
		if len(t.Input) >= 4 {
			copy(tx.Selector[:], t.Input)
		}
		b.Txs = append(b.Txs, tx)
	}
	for _, w := range rb.Withdrawals {
		b.Withdrawals = append(b.Withdrawals, Withdrawal{Index: uint64(w.Index), Validator: uint64(w.ValidatorIndex), Address: w.Address, Gwei: uint64(w.Amount)})
	}
	return b
}

// applyReceipts fills the transactions' outcomes and the block's logs.
func (b *Block) applyReceipts(rs []rpcReceipt) error {
	if len(rs) != len(b.Txs) {
		return fmt.Errorf("evm rpc: %d receipts for %d transactions", len(rs), len(b.Txs))
	}
	b.Logs = b.Logs[:0]
	for i := range rs {
		r := &rs[i]
		t := &b.Txs[i]
		if r.TransactionHash != t.Hash {
			return fmt.Errorf("evm rpc: receipt %d is for %s, not %s", i, r.TransactionHash, t.Hash)
		}
		t.Receipt = true
		t.GasUsed = uint64(r.GasUsed)
		if r.EffectiveGasPrice != nil {
			t.GasPrice = uint256.Int(*r.EffectiveGasPrice)
		}
		if r.Status != nil {
			t.Status = int8(*r.Status)
		}
		if t.BlobGasUsed = uint64(r.BlobGasUsed); r.BlobGasPrice != nil {
			t.BlobGasPrice = uint256.Int(*r.BlobGasPrice)
		}
		t.Contract = r.ContractAddress
		for j := range r.Logs {
			b.Logs = append(b.Logs, r.Logs[j].Log())
		}
	}
	return nil
}

// Name is the node's address for messages: without a password it may
// carry (http://user:pass@host).
func (c *RPC) Name() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return c.URL
	}
	return u.Redacted()
}

// RPC reads blocks from a node's JSON-RPC: eth_getBlockByNumber with full
// transactions, eth_getBlockReceipts (or one eth_getTransactionReceipt per
// transaction when the node lacks it) and internal calls from
// debug_traceBlockByNumber's callTracer (or trace_block).
type RPC struct {
	URL     string
	Client  *http.Client
	Retries int           // attempts after the first on network errors and 5xx; default 4
	Backoff time.Duration // first wait between attempts, doubled each time; default 200 ms
	// Traces: "callTracer" (default), "trace_block", or "none".
	Traces string

	mu           sync.Mutex
	chain        uint64 // eth_chainId, once asked
	noBlockRcpts bool
	id           int
}

// RPCError is an error object a node answered with.
type RPCError struct {
	Method  string
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("evm rpc: %s: %s (code %d)", e.Method, e.Message, e.Code)
}

// ErrNoMethod is wrapped by errors for methods the node does not offer.
var ErrNoMethod = errors.New("the node does not offer this method")

// ErrNoState is wrapped by errors of a node that offers the method but
// lacks the state of the block to run it (a trace of a block older than a
// full node keeps).
var ErrNoState = errors.New("the node lacks the historical state to trace this block (an archive node has it; --traces none skips internal calls)")

// missing reports a method the node lacks: JSON-RPC's code for it, or the
// words nodes use for it ("the method x does not exist/is not available",
// "method not found").
func (e *RPCError) missing() bool {
	m := strings.ToLower(e.Message)
	return e.Code == -32601 || strings.Contains(m, "method") &&
		(strings.Contains(m, "not found") || strings.Contains(m, "not available") || strings.Contains(m, "does not exist") || strings.Contains(m, "not supported"))
}

// stateless reports a node without the state a call needs: geth's
// "historical state is not available", "required historical state
// unavailable", "missing trie node"; Erigon's and others' "state ...
// pruned".
func (e *RPCError) stateless() bool {
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "historical state") || strings.Contains(m, "missing trie node") ||
		strings.Contains(m, "state") && strings.Contains(m, "pruned")
}

type rpcReq struct {
	JSONRPC string `json:"jsonrpc"`
	ID      int    `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type rpcResp struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
}

// Call is one request of a batch.
type Call struct {
	Method string
	Params []any
	Result any // decoded into
	// Err is the call's own error after BatchEach: the node's answer to it
	// (a revert, a method it lacks: ErrNoMethod, a block whose state it
	// no longer has: ErrNoState) or a result that does not decode.
	Err error
}

// Batch sends calls in one HTTP request and decodes each result; the first
// call that fails fails it.
func (c *RPC) Batch(ctx context.Context, calls []Call) error {
	if err := c.BatchEach(ctx, calls); err != nil {
		return err
	}
	for _, cl := range calls {
		if cl.Err != nil {
			return cl.Err
		}
	}
	return nil
}

// BatchEach sends calls in one HTTP request and decodes each result, or
// sets the call's Err: one call that fails does not fail the others. It
// returns an error only when the request as a whole fails.
func (c *RPC) BatchEach(ctx context.Context, calls []Call) error {
	if len(calls) == 0 {
		return nil
	}
	c.mu.Lock()
	reqs := make([]rpcReq, len(calls))
	for i, cl := range calls {
		c.id++
		p := cl.Params
		if p == nil {
			p = []any{}
		}
		reqs[i] = rpcReq{"2.0", c.id, cl.Method, p}
	}
	c.mu.Unlock()
	body, _ := json.Marshal(reqs)
	var resps []rpcResp
	if err := c.post(ctx, body, &resps, calls[0].Method); err != nil {
		return err
	}
	byID := map[int]*rpcResp{}
	for i := range resps {
		byID[resps[i].ID] = &resps[i]
	}
	for i := range calls {
		cl := &calls[i]
		r := byID[reqs[i].ID]
		switch {
		case r == nil:
			return fmt.Errorf("evm rpc: %s: no answer in the batch", cl.Method)
		case r.Error != nil:
			r.Error.Method = cl.Method
			cl.Err = r.Error
			if r.Error.missing() {
				cl.Err = fmt.Errorf("%w: %w", ErrNoMethod, r.Error)
			} else if r.Error.stateless() {
				cl.Err = fmt.Errorf("%w: %w", ErrNoState, r.Error)
			}
		case cl.Result != nil:
			if err := json.Unmarshal(r.Result, cl.Result); err != nil {
				cl.Err = fmt.Errorf("evm rpc: %s: bad result: %v", cl.Method, err)
			}
		}
	}
	return nil
}

func (c *RPC) post(ctx context.Context, body []byte, out any, method string) error {
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	retries, wait := c.Retries, c.Backoff
	if retries == 0 {
		retries = 4
	}
	if wait == 0 {
		wait = 200 * time.Millisecond
	}
	var last error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		req, err := http.NewRequestWithContext(ctx, "POST", c.URL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("evm rpc: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			last = fmt.Errorf("evm rpc: %s: %w", method, err)
			if ctx.Err() != nil {
				return last
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
		resp.Body.Close()
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			last = fmt.Errorf("evm rpc: %s: HTTP %s", method, resp.Status)
			continue
		}
		if err != nil {
			last = fmt.Errorf("evm rpc: %s: %w", method, err)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("evm rpc: %s: HTTP %s: %s", method, resp.Status, bytes.TrimSpace(b[:min(len(b), 200)]))
		}
		if err := json.Unmarshal(b, out); err != nil {
			// A node answers a batch it refuses with one error object.
			var one rpcResp
			if json.Unmarshal(b, &one) == nil && one.Error != nil {
				one.Error.Method = method
				return one.Error
			}
			return fmt.Errorf("evm rpc: %s: answer is not JSON-RPC: %v", method, err)
		}
		return nil
	}
	return unanswered{fmt.Errorf("%w (after %d attempts)", last, retries+1)}
}

// ErrUnanswered is a call the node did not answer through all its attempts:
// it could not be reached, the connection failed or timed out, or it
// answered HTTP 5xx or 429. A node restarting does this, and may answer
// later; errors.Is finds it in such an error.
var ErrUnanswered = errors.New("evm rpc: the node did not answer")

type unanswered struct{ error }

func (u unanswered) Unwrap() error        { return u.error }
func (u unanswered) Is(target error) bool { return target == ErrUnanswered }

// ChainID returns eth_chainId, and keeps it: the mining rewards of a
// proof-of-work block follow its chain's rules.
func (c *RPC) ChainID(ctx context.Context) (uint64, error) {
	var v hexU64
	err := c.Batch(ctx, []Call{{Method: "eth_chainId", Result: &v}})
	if err == nil {
		c.mu.Lock()
		c.chain = uint64(v)
		c.mu.Unlock()
	}
	return uint64(v), err
}

// Head returns eth_blockNumber.
func (c *RPC) Head(ctx context.Context) (uint64, error) {
	var v hexU64
	err := c.Batch(ctx, []Call{{Method: "eth_blockNumber", Result: &v}})
	return uint64(v), err
}

// Block fetches block n with its receipts and traces.
func (c *RPC) Block(ctx context.Context, n uint64) (*Block, error) {
	num := fmt.Sprintf("0x%x", n)
	var rb *rpcBlock
	if err := c.Batch(ctx, []Call{{Method: "eth_getBlockByNumber", Params: []any{num, true}, Result: &rb}}); err != nil {
		return nil, err
	}
	if rb == nil {
		return nil, fmt.Errorf("evm rpc: block %d: the node does not have it", n)
	}
	b := rb.block()
	if err := c.receipts(ctx, b, num); err != nil {
		return nil, fmt.Errorf("block %d: %w", n, err)
	}
	if err := c.traces(ctx, b, num); err != nil {
		return nil, fmt.Errorf("block %d: %w", n, err)
	}
	if err := c.rewards(ctx, b, rb, num); err != nil {
		return nil, fmt.Errorf("block %d: %w", n, err)
	}
	return b, nil
}

// rewards credits a proof-of-work block's mining rewards where its traces
// do not (callTracer's, or none; trace_block's carry them), with its uncles'
// headers asked of the node.
func (c *RPC) rewards(ctx context.Context, b *Block, rb *rpcBlock, num string) error {
	c.mu.Lock()
	chain := c.chain
	c.mu.Unlock()
	if c.Traces == "trace_block" || rb.Difficulty == nil || (*uint256.Int)(rb.Difficulty).IsZero() || powChains[chain] == nil {
		return nil
	}
	uncles := make([]struct {
		Number hexU64         `json:"number"`
		Miner  common.Address `json:"miner"`
	}, len(rb.Uncles))
	calls := make([]Call, len(rb.Uncles))
	for i := range rb.Uncles {
		calls[i] = Call{Method: "eth_getUncleByBlockNumberAndIndex", Params: []any{num, fmt.Sprintf("0x%x", i)}, Result: &uncles[i]}
	}
	if len(calls) > 0 {
		if err := c.Batch(ctx, calls); err != nil {
			return err
		}
	}
	h := &types.Header{Number: new(big.Int).SetUint64(b.Number), Coinbase: b.Miner, Difficulty: (*uint256.Int)(rb.Difficulty).ToBig()}
	var us []*types.Header
	for _, u := range uncles {
		us = append(us, &types.Header{Number: new(big.Int).SetUint64(uint64(u.Number)), Coinbase: u.Miner})
	}
	b.Rewards = MiningRewards(chain, h, us)
	return nil
}

func (c *RPC) receipts(ctx context.Context, b *Block, num string) error {
	if len(b.Txs) == 0 {
		return nil
	}
	c.mu.Lock()
	perTx := c.noBlockRcpts
	c.mu.Unlock()
	var rs []rpcReceipt
	if !perTx {
		err := c.Batch(ctx, []Call{{Method: "eth_getBlockReceipts", Params: []any{num}, Result: &rs}})
		if errors.Is(err, ErrNoMethod) {
			c.mu.Lock()
			c.noBlockRcpts = true
			c.mu.Unlock()
			perTx = true
		} else if err != nil {
			return err
		}
	}
	if perTx {
		rs = make([]rpcReceipt, len(b.Txs))
		calls := make([]Call, len(b.Txs))
		for i := range b.Txs {
			calls[i] = Call{Method: "eth_getTransactionReceipt", Params: []any{b.Txs[i].Hash}, Result: &rs[i]}
		}
		if err := c.Batch(ctx, calls); err != nil {
			return err
		}
	}
	return b.applyReceipts(rs)
}

func (c *RPC) traces(ctx context.Context, b *Block, num string) error {
	switch c.Traces {
	case "none":
		return nil
	case "trace_block":
		var ps []ParityTrace
		err := c.Batch(ctx, []Call{{Method: "trace_block", Params: []any{num}, Result: &ps}})
		if errors.Is(err, ErrNoMethod) {
			return fmt.Errorf("%w (the node serves no trace API: --traces callTracer reads geth's debug API, --traces none ingests without internal calls)", err)
		}
		if err != nil {
			return err
		}
		b.Traces = make([]Trace, 0, len(ps))
		for i := range ps {
			b.Traces = append(b.Traces, ps[i].Trace())
		}
	default:
		var res []struct {
			TxHash common.Hash `json:"txHash"`
			Result *CallFrame  `json:"result"`
			Error  string      `json:"error"`
		}
		if len(b.Txs) == 0 {
			b.Traces = []Trace{}
			break
		}
		err := c.Batch(ctx, []Call{{Method: "debug_traceBlockByNumber", Params: []any{num, map[string]any{"tracer": "callTracer"}}, Result: &res}})
		if errors.Is(err, ErrNoMethod) {
			return fmt.Errorf("%w (the node serves no debug API: geth offers it with --http.api eth,debug; --traces trace_block reads Erigon's or Nethermind's traces, --traces none ingests without internal calls)", err)
		}
		if err != nil {
			return err
		}
		if len(res) != len(b.Txs) {
			return fmt.Errorf("evm rpc: debug_traceBlockByNumber: %d traces for %d transactions", len(res), len(b.Txs))
		}
		b.Traces = []Trace{}
		for i, r := range res {
			if r.Result == nil {
				return fmt.Errorf("evm rpc: debug_traceBlockByNumber: transaction %d: %s", i, r.Error)
			}
			b.Traces = append(b.Traces, FlattenCallFrames(int32(i), r.Result)...)
		}
	}
	b.MarkFailed()
	return nil
}
