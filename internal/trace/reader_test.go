package trace

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/testchain"
)

// memChain is a second implementation of store.Reader, in memory, built
// from decoded blocks without spur's store: what a store kept elsewhere (on
// ClickHouse) would be to the tracer.
type memChain struct {
	headers  []btc.Header
	hashes   map[btc.Hash]int64
	txids    []btc.Hash
	txNum    map[btc.Hash]uint64
	txHeight []int64
	txIn     []uint64 // first input, first output of each tx, and one past the last
	txOut    []uint64
	txVer    [][2]uint32
	inSpends []uint64
	outValue []int64
	outType  []btc.ScriptType
	outAddr  []uint32
	spentBy  []uint64 // tx number + 1; 0 while unspent
	addrs    []btc.Address
	addrNum  map[string]uint32
	postings map[uint32][]uint64
}

func newMemChain(blocks []*btc.Block) *memChain {
	m := &memChain{hashes: map[btc.Hash]int64{}, txNum: map[btc.Hash]uint64{}, addrNum: map[string]uint32{}, postings: map[uint32][]uint64{}}
	for h, b := range blocks {
		m.headers = append(m.headers, b.Header)
		m.hashes[b.Hash] = int64(h)
		for _, tx := range b.Txs {
			n := uint64(len(m.txids))
			m.txids, m.txNum[tx.TxID] = append(m.txids, tx.TxID), n
			m.txHeight = append(m.txHeight, int64(h))
			m.txIn, m.txOut = append(m.txIn, uint64(len(m.inSpends))), append(m.txOut, uint64(len(m.outValue)))
			m.txVer = append(m.txVer, [2]uint32{uint32(tx.Version), tx.LockTime})
			for _, in := range tx.Inputs {
				o := store.NoOutput
				if prev, ok := m.txNum[in.PrevTxID]; ok && !tx.IsCoinbase() {
					o = m.txOut[prev] + uint64(in.PrevIndex)
					m.spentBy[o] = n + 1
				}
				m.inSpends = append(m.inSpends, o)
			}
			for _, out := range tx.Outputs {
				typ, a, ok := btc.ScriptAddress(out.Script)
				num := store.NoAddress
				if ok {
					key := string(append([]byte{byte(a.Type)}, a.Payload...))
					var seen bool
					if num, seen = m.addrNum[key]; !seen {
						num = uint32(len(m.addrs))
						m.addrNum[key] = num
						m.addrs = append(m.addrs, btc.Address{Type: a.Type, Payload: bytes.Clone(a.Payload)})
					}
					m.postings[num] = append(m.postings[num], uint64(len(m.outValue)))
				}
				m.outValue, m.outType, m.outAddr = append(m.outValue, out.Value), append(m.outType, typ), append(m.outAddr, num)
				m.spentBy = append(m.spentBy, 0)
			}
		}
	}
	m.txIn, m.txOut = append(m.txIn, uint64(len(m.inSpends))), append(m.txOut, uint64(len(m.outValue)))
	return m
}

func (m *memChain) Network() *btc.Network { return btc.Main }
func (m *memChain) Counts() store.Counts {
	return store.Counts{Blocks: uint64(len(m.headers)), Txs: uint64(len(m.txids)), Inputs: uint64(len(m.inSpends)),
		Outputs: uint64(len(m.outValue)), Addrs: uint64(len(m.addrs))}
}
func (m *memChain) Height() int64 { return int64(len(m.headers)) - 1 }
func (m *memChain) TipHash() btc.Hash {
	return btc.BlockHash(btc.AppendHeader(nil, &m.headers[len(m.headers)-1]))
}
func (m *memChain) Header(h int64) (btc.Header, error) {
	if h < 0 || h >= int64(len(m.headers)) {
		return btc.Header{}, fmt.Errorf("%w: height %d", store.ErrNotFound, h)
	}
	return m.headers[h], nil
}
func (m *memChain) BlockByHash(h btc.Hash) (int64, error) {
	if n, ok := m.hashes[h]; ok {
		return n, nil
	}
	return 0, store.ErrNotFound
}
func (m *memChain) TxNum(id btc.Hash) (uint64, error) {
	if n, ok := m.txNum[id]; ok {
		return n, nil
	}
	return 0, store.ErrNotFound
}
func (m *memChain) TxID(n uint64) btc.Hash  { return m.txids[n] }
func (m *memChain) TxHeight(n uint64) int64 { return m.txHeight[n] }
func (m *memChain) TxVersion(n uint64) (int32, uint32) {
	return int32(m.txVer[n][0]), m.txVer[n][1]
}
func (m *memChain) TxRange(n uint64) (firstIn, numIn, firstOut, numOut uint64) {
	return m.txIn[n], m.txIn[n+1] - m.txIn[n], m.txOut[n], m.txOut[n+1] - m.txOut[n]
}
func (m *memChain) TxOfOutput(o uint64) (uint64, uint32) {
	n := uint64(0)
	for m.txOut[n+1] <= o {
		n++
	}
	return n, uint32(o - m.txOut[n])
}
func (m *memChain) InputSpends(i uint64) uint64 { return m.inSpends[i] }
func (m *memChain) Output(o uint64) store.Output {
	out := store.Output{Num: o, Value: m.outValue[o], Type: m.outType[o], Addr: m.outAddr[o]}
	if sp := m.spentBy[o]; sp != 0 {
		out.Spent, out.SpentBy = true, sp-1
	}
	return out
}
func (m *memChain) OutAddr(o uint64) uint32                   { return m.outAddr[o] }
func (m *memChain) OutValue(o uint64) (int64, btc.ScriptType) { return m.outValue[o], m.outType[o] }
func (m *memChain) Address(n uint32) btc.Address              { return m.addrs[n] }
func (m *memChain) AddrNum(a btc.Address) (uint32, error) {
	if n, ok := m.addrNum[string(append([]byte{byte(a.Type)}, a.Payload...))]; ok {
		return n, nil
	}
	return 0, store.ErrNotFound
}
func (m *memChain) Postings(a uint32, fn func(o uint64) bool) error {
	for _, o := range m.postings[a] {
		if !fn(o) {
			break
		}
	}
	return nil
}

// TestTraceThroughAnotherReader: the tracer reads a chain only through
// store.Reader, so a chain kept another way gives the same traces: every
// model, forward and backward, from the first payment and from an early
// coinbase, on the column store and on memChain built from the same
// mainnet blocks.
func TestTraceThroughAnotherReader(t *testing.T) {
	s := mainnet(t)
	var blocks []*btc.Block
	for _, raw := range testchain.MainnetBlocks(t) {
		b, err := btc.DecodeBlock(raw)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	m := newMemChain(blocks)
	mc, sc := m.Counts(), s.Counts()
	if sc.AddrBytes = 0; mc != sc || m.TipHash() != s.TipHash() {
		t.Fatalf("memChain holds %+v (tip %s), the store %+v (tip %s)", m.Counts(), m.TipHash(), s.Counts(), s.TipHash())
	}
	starts := [][]Start{
		{{Output: output(t, s, "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", 1)}},
		{{Output: output(t, s, "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9", 0)}}, // block 9's coinbase
	}
	for _, st := range starts {
		for _, model := range []string{FIFO, Haircut, Poison} {
			o := Options{Model: model, MinValue: 1}
			want, err := Forward(s, st, o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Forward(m, st, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Flows) < 2 || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s forward from %d: memChain\n%+v\nthe store\n%+v", model, st[0].Output, got, want)
			}
			if want, err = Backward(s, st, o); err != nil {
				t.Fatal(err)
			}
			if got, err = Backward(m, st, o); err != nil {
				t.Fatal(err)
			}
			if len(want.Destinations) == 0 || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s backward from %d: memChain\n%+v\nthe store\n%+v", model, st[0].Output, got, want)
			}
		}
	}
}
