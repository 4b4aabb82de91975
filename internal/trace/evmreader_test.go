package trace

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/testchain"
)

// memEVM is a second implementation of evmstore.Reader: the store's rows
// copied into slices, and the lookups the store makes with its index
// (hashes and addresses to numbers, postings) made again from them, as a
// store filled from another database would make them.
type memEVM struct {
	counts   evmstore.Counts
	blocks   []evmstore.BlockInfo
	txs      []evmstore.TxInfo
	xfers    []evmstore.TransferRow
	xferBlk  []uint64
	events   []evmstore.EventRow
	addrs    []common.Address
	tokens   map[uint32]tokenInfo
	postings map[uint32][]uint64
}

type tokenInfo struct {
	symbol   string
	decimals uint8
}

func copyEVM(t *testing.T, s *evmstore.Store) *memEVM {
	c := s.Counts()
	m := &memEVM{counts: c, tokens: map[uint32]tokenInfo{}, postings: map[uint32][]uint64{}}
	for r := range c.Blocks {
		m.blocks = append(m.blocks, s.Block(r))
	}
	for n := range uint32(c.Txs) {
		m.txs = append(m.txs, s.Tx(n))
	}
	for x := range c.Transfers {
		row := s.Transfer(x)
		m.xfers, m.xferBlk = append(m.xfers, row), append(m.xferBlk, s.TransferBlock(x))
		if row.From != evmstore.None {
			m.postings[row.From] = append(m.postings[row.From], x)
		}
		if row.To != evmstore.None && row.To != row.From {
			m.postings[row.To] = append(m.postings[row.To], x)
		}
	}
	for e := range c.Events {
		m.events = append(m.events, s.Event(e))
	}
	for a := range uint32(c.Addrs) {
		m.addrs = append(m.addrs, s.Address(a))
	}
	if err := s.EachToken(func(a uint32, symbol string, decimals uint8) { m.tokens[a] = tokenInfo{symbol, decimals} }); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *memEVM) Chain() string           { return "eth" }
func (m *memEVM) Counts() evmstore.Counts { return m.counts }
func (m *memEVM) TipRow() (uint64, error) { return m.counts.Blocks - 1, nil }
func (m *memEVM) Block(r uint64) evmstore.BlockInfo {
	return m.blocks[r]
}
func (m *memEVM) BlockRow(n uint64) (uint64, error) {
	if n < m.counts.First || n-m.counts.First >= m.counts.Blocks {
		return 0, evmstore.ErrNotFound
	}
	return n - m.counts.First, nil
}
func (m *memEVM) BlockRowByHash(h common.Hash) (uint64, error) {
	for r, b := range m.blocks {
		if b.Hash == h {
			return uint64(r), nil
		}
	}
	return 0, evmstore.ErrNotFound
}
func (m *memEVM) TxNum(h common.Hash) (uint32, error) {
	for n, tx := range m.txs {
		if tx.Hash == h {
			return uint32(n), nil
		}
	}
	return 0, evmstore.ErrNotFound
}
func (m *memEVM) Tx(n uint32) evmstore.TxInfo { return m.txs[n] }
func (m *memEVM) TxTransfers(n uint32) (first, end uint64) {
	first = uint64(slices.IndexFunc(m.xfers, func(x evmstore.TransferRow) bool { return x.Tx == n }))
	for end = first; end < uint64(len(m.xfers)) && m.xfers[end].Tx == n; end++ {
	}
	return first, end
}
func (m *memEVM) Transfer(n uint64) evmstore.TransferRow { return m.xfers[n] }
func (m *memEVM) TransferBlock(n uint64) uint64          { return m.xferBlk[n] }
func (m *memEVM) PrefetchTransfer(uint64)                {}
func (m *memEVM) Event(n uint64) evmstore.EventRow       { return m.events[n] }
func (m *memEVM) Address(n uint32) common.Address        { return m.addrs[n] }
func (m *memEVM) AddrNum(a common.Address) (uint32, error) {
	if n := slices.Index(m.addrs, a); n >= 0 {
		return uint32(n), nil
	}
	return 0, evmstore.ErrNotFound
}
func (m *memEVM) Token(a uint32) (string, uint8, bool) {
	tk, ok := m.tokens[a]
	return tk.symbol, tk.decimals, ok
}
func (m *memEVM) EachToken(fn func(a uint32, symbol string, decimals uint8)) error {
	for a := range uint32(len(m.addrs)) {
		if tk, ok := m.tokens[a]; ok {
			fn(a, tk.symbol, tk.decimals)
		}
	}
	return nil
}
func (m *memEVM) Postings(a uint32, fn func(x uint64) bool) error {
	for _, x := range m.postings[a] {
		if !fn(x) {
			break
		}
	}
	return nil
}
func (m *memEVM) PostingsBackward(a uint32, fn func(x uint64) bool) error {
	p := m.postings[a]
	for i := len(p) - 1; i >= 0; i-- {
		if !fn(p[i]) {
			break
		}
	}
	return nil
}
func (m *memEVM) NewPostingsReader() (evmstore.PostingsCursor, error) { return memCursor{m}, nil }

type memCursor struct{ m *memEVM }

func (c memCursor) Postings(a uint32, fn func(x uint64) bool) error { return c.m.Postings(a, fn) }
func (c memCursor) Close() error                                    { return nil }

// TestTraceEVMThroughAnotherReader: the EVM tracer reads a chain only
// through evmstore.Reader, so the rows of two mainnet blocks kept another
// way (memEVM) give the same traces as the column store: every model,
// forward and backward, from each of the first transactions' transfers.
func TestTraceEVMThroughAnotherReader(t *testing.T) {
	s := testchain.Ethereum(t, filepath.Join(t.TempDir(), "eth"))
	m := copyEVM(t, s)
	traced := 0
	for n := range uint32(12) {
		first, end := s.TxTransfers(n)
		if mf, me := m.TxTransfers(n); mf != first || me != end {
			t.Fatalf("tx %d: transfers %d..%d, the store's %d..%d", n, mf, me, first, end)
		}
		for x := first; x < end; x++ {
			for _, model := range []string{FIFO, Haircut, Poison} {
				o := EVMOptions{Model: model}
				want, err := TraceEVM(s, []EVMStart{{Transfer: x}}, o)
				if err != nil {
					t.Fatal(err)
				}
				got, err := TraceEVM(m, []EVMStart{{Transfer: x}}, o)
				if err != nil {
					t.Fatal(err)
				}
				if g, w := asJSON(t, got), asJSON(t, want); g != w {
					t.Fatalf("%s forward from transfer %d: memEVM\n%s\nthe store\n%s", model, x, g, w)
				}
				traced += len(want.Flows)
				if want, err = TraceEVMBackward(s, []EVMStart{{Transfer: x}}, o); err != nil {
					t.Fatal(err)
				}
				if got, err = TraceEVMBackward(m, []EVMStart{{Transfer: x}}, o); err != nil {
					t.Fatal(err)
				}
				if g, w := asJSON(t, got), asJSON(t, want); g != w {
					t.Fatalf("%s backward from transfer %d: memEVM\n%s\nthe store\n%s", model, x, g, w)
				}
			}
		}
	}
	if traced == 0 {
		t.Fatal("no taint moved")
	}
}

// asJSON is a trace as its JSON gives it (what a result holds beside it,
// such as its lookups, is not compared).
func asJSON(t *testing.T, r *EVMResult) string {
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
