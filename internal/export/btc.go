package export

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/store"
)

// BTCTables are the Bitcoin tables, in the order the docs give them.
var BTCTables = []string{"blocks", "transactions", "outputs", "inputs", "addresses"}

// BTCBlock is a row of the Bitcoin blocks table; names as `spur block
// --json` (and Bitcoin Core's getblock) give them.
type BTCBlock struct {
	Height     int64  `parquet:"height"`
	Hash       string `parquet:"hash"`
	Prev       string `parquet:"previousblockhash"`
	MerkleRoot string `parquet:"merkleroot"`
	Version    int32  `parquet:"version"`
	Time       int64  `parquet:"time"` // Unix seconds
	Bits       string `parquet:"bits"`
	Nonce      int64  `parquet:"nonce"`
	Size       int64  `parquet:"size"`
	TxCount    int64  `parquet:"tx_count"`
}

// BTCTx is a row of the Bitcoin transactions table.
type BTCTx struct {
	TxID        string `parquet:"txid"`
	Hash        string `parquet:"hash"` // wtxid
	BlockHeight int64  `parquet:"block_height"`
	BlockTime   int64  `parquet:"block_time"`
	Index       int64  `parquet:"index"` // in the block
	IsCoinbase  bool   `parquet:"is_coinbase"`
	InputCount  int64  `parquet:"input_count"`
	OutputCount int64  `parquet:"output_count"`
	InputValue  int64  `parquet:"input_value"` // satoshi; 0 for a coinbase
	OutputValue int64  `parquet:"output_value"`
	Fee         int64  `parquet:"fee"`
	Size        int64  `parquet:"size"`
	VSize       int64  `parquet:"vsize"`
	Weight      int64  `parquet:"weight"`
	Version     int32  `parquet:"version"`
	LockTime    int64  `parquet:"locktime"`
}

// BTCOutput is a row of the Bitcoin outputs table.
type BTCOutput struct {
	TxID          string  `parquet:"txid"`
	N             int64   `parquet:"n"`
	BlockHeight   int64   `parquet:"block_height"`
	Value         int64   `parquet:"value"`
	Type          string  `parquet:"type,dict"`
	Address       *string `parquet:"address,optional"`
	SpentByTxID   *string `parquet:"spent_by_txid,optional"`
	SpentByVin    *int64  `parquet:"spent_by_vin,optional"`
	SpentByHeight *int64  `parquet:"spent_by_height,optional"`
}

// BTCInput is a row of the Bitcoin inputs table: each input with the
// output it spends. A coinbase input has no spent output: its prev_txid
// is all zeros and prev_vout 4294967295, as Bitcoin Core shows them, and
// its value, type and address are null.
type BTCInput struct {
	TxID        string  `parquet:"txid"`
	Vin         int64   `parquet:"vin"`
	BlockHeight int64   `parquet:"block_height"`
	PrevTxID    string  `parquet:"prev_txid"`
	PrevVout    int64   `parquet:"prev_vout"`
	PrevHeight  *int64  `parquet:"prev_height,optional"`
	Value       *int64  `parquet:"value,optional"`
	Type        *string `parquet:"type,dict,optional"`
	Address     *string `parquet:"address,optional"`
}

// BTCAddress is a row of the Bitcoin addresses table: each address first
// seen in the blocks exported (a P2PK output's under its key's P2PKH
// address), with its totals as of the store's tip and its entity.
type BTCAddress struct {
	Address         string `parquet:"address"`
	Type            string `parquet:"type,dict"`
	FirstSeenHeight int64  `parquet:"first_seen_height"`
	Entity          *int64 `parquet:"entity,optional"` // null without a clustering that covers it
	Outputs         int64  `parquet:"outputs"`
	UnspentOutputs  int64  `parquet:"unspent_outputs"`
	Received        int64  `parquet:"received"`
	Sent            int64  `parquet:"sent"`
	Balance         int64  `parquet:"balance"`
}

// BTC writes a Bitcoin table of s over the range's heights to w and
// returns how many rows it wrote.
func BTC(ctx context.Context, s *store.Store, table string, w io.Writer, o Options) (int64, error) {
	if err := o.Range.Within(0, s.Height(), "heights"); err != nil {
		return 0, err
	}
	net := s.Network()
	addr := func(a uint32) *string {
		if a == store.NoAddress {
			return nil
		}
		t := s.Address(a).String(net)
		return &t
	}
	units := o.Range.To - o.Range.From + 1
	// A block's rows cost about as much as it has transactions.
	work := func(i int64) int64 { _, n := s.BlockTxs(o.Range.From + i); return int64(n) }
	switch table {
	case "blocks":
		return rows(ctx, w, o.Format, units, work, func(i int64, buf []BTCBlock) ([]BTCBlock, error) {
			b, err := s.Block(o.Range.From + i)
			if err != nil {
				return buf, err
			}
			h := b.Header
			return append(buf, BTCBlock{Height: b.Height, Hash: b.Hash.String(), Prev: h.Prev.String(), MerkleRoot: h.MerkleRoot.String(),
				Version: h.Version, Time: int64(h.Time), Bits: fmt.Sprintf("%08x", h.Bits), Nonce: int64(h.Nonce),
				Size: int64(b.Size), TxCount: int64(b.NumTx)}), nil
		}, o.Progress)
	case "transactions":
		return rows(ctx, w, o.Format, units, work, func(i int64, buf []BTCTx) ([]BTCTx, error) {
			hdr, err := s.Header(o.Range.From + i)
			if err != nil {
				return buf, err
			}
			first, count := s.BlockTxs(o.Range.From + i)
			for k := range count {
				t, err := s.Tx(first + k)
				if err != nil {
					return buf, err
				}
				r := BTCTx{TxID: t.TxID.String(), Hash: t.WTxID.String(), BlockHeight: t.Height, BlockTime: int64(hdr.Time),
					Index: int64(k), IsCoinbase: t.Coinbase, InputCount: int64(t.NumIn), OutputCount: int64(t.NumOut), Fee: t.Fee,
					Size: int64(t.Size), VSize: int64(t.Weight+3) / 4, Weight: int64(t.Weight), Version: t.Version, LockTime: int64(t.LockTime)}
				for out := t.FirstOut; out < t.FirstOut+t.NumOut; out++ {
					v, _ := s.OutValue(out)
					r.OutputValue += v
				}
				if !t.Coinbase {
					for in := t.FirstIn; in < t.FirstIn+t.NumIn; in++ {
						v, _ := s.OutValue(s.InputSpends(in))
						r.InputValue += v
					}
				}
				buf = append(buf, r)
			}
			return buf, nil
		}, o.Progress)
	case "outputs":
		return rows(ctx, w, o.Format, units, work, func(i int64, buf []BTCOutput) ([]BTCOutput, error) {
			height := o.Range.From + i
			firstTx, numTx := s.BlockTxs(height)
			for n := firstTx; n < firstTx+numTx; n++ {
				id := s.TxID(n).String()
				_, _, first, count := s.TxRange(n)
				for k := range count {
					out := s.Output(first + k)
					r := BTCOutput{TxID: id, N: int64(k), BlockHeight: height, Value: out.Value, Type: out.Type.String(), Address: addr(out.Addr)}
					if out.Spent {
						vin, _ := s.SpendingInput(out.SpentBy, out.Num)
						by, v, h := s.TxID(out.SpentBy).String(), int64(vin), s.TxHeight(out.SpentBy)
						r.SpentByTxID, r.SpentByVin, r.SpentByHeight = &by, &v, &h
					}
					buf = append(buf, r)
				}
			}
			return buf, nil
		}, o.Progress)
	case "inputs":
		coinbase := btc.Hash{}.String()
		return rows(ctx, w, o.Format, units, work, func(i int64, buf []BTCInput) ([]BTCInput, error) {
			height := o.Range.From + i
			firstTx, numTx := s.BlockTxs(height)
			for n := firstTx; n < firstTx+numTx; n++ {
				id := s.TxID(n).String()
				first, count, _, _ := s.TxRange(n)
				for k := range count {
					r := BTCInput{TxID: id, Vin: int64(k), BlockHeight: height, PrevTxID: coinbase, PrevVout: 0xffffffff}
					if spent := s.InputSpends(first + k); spent != store.NoOutput {
						prev, vout := s.TxOfOutput(spent)
						out := s.Output(spent)
						h, v, typ := s.TxHeight(prev), out.Value, out.Type.String()
						r.PrevTxID, r.PrevVout, r.PrevHeight, r.Value, r.Type, r.Address = s.TxID(prev).String(), int64(vout), &h, &v, &typ, addr(out.Addr)
					}
					buf = append(buf, r)
				}
			}
			return buf, nil
		}, o.Progress)
	case "addresses":
		// Addresses are numbered as first seen: a block's new ones are a
		// run of numbers.
		newAddrs := func(i int64) (first, end uint32) {
			h := o.Range.From + i
			first, end = s.BlockFirstAddr(h), uint32(s.Counts().Addrs)
			if h < s.Height() {
				end = s.BlockFirstAddr(h + 1)
			}
			return first, end
		}
		ents, err := cluster.OpenEntities(s) // nil without a clustering: no entities to give
		switch {
		case errors.Is(err, cluster.ErrNoClustering):
		case err != nil:
			return 0, err
		default:
			defer ents.Close()
		}
		// An address's row costs a look at its postings.
		addrWork := func(i int64) int64 { first, end := newAddrs(i); return 1 + int64(end-first) }
		return rows(ctx, w, o.Format, units, addrWork, func(i int64, buf []BTCAddress) ([]BTCAddress, error) {
			first, end := newAddrs(i)
			entity := make([]uint32, end-first)
			covered := 0
			if ents != nil {
				var err error
				if covered, err = ents.Range(first, entity); err != nil {
					return buf, err
				}
			}
			for a := first; a < end; a++ {
				ad := s.Address(a)
				r := BTCAddress{Address: ad.String(net), Type: ad.Type.String(), FirstSeenHeight: o.Range.From + i}
				if k := int(a - first); k < covered {
					e := int64(entity[k])
					r.Entity = &e
				}
				if err := s.Postings(a, func(out uint64) bool {
					v := s.Output(out)
					r.Outputs++
					r.Received += v.Value
					if v.Spent {
						r.Sent += v.Value
					} else {
						r.UnspentOutputs++
					}
					return true
				}); err != nil {
					return buf, err
				}
				r.Balance = r.Received - r.Sent
				buf = append(buf, r)
			}
			return buf, nil
		}, o.Progress)
	}
	return 0, fmt.Errorf("%w %q: Bitcoin has %v", ErrTable, table, BTCTables)
}
