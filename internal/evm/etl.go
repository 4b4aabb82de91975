package evm

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// ErrInput marks input that cannot be read as what it claims to be.
var ErrInput = errors.New("bad input")

// ETL streams blocks from an ethereum-etl export: blocks, transactions,
// receipts, logs, token_transfers and traces CSV files with ethereum-etl's
// column names, in one directory or in its partitioned tree
// (start_block=.../end_block=.../blocks_X_Y.csv). Files of a kind are read in
// path order and their rows must be in block order, as ethereum-etl writes
// them. Only blocks.csv and transactions.csv are required. Token transfers
// are read from logs; token_transfers.csv is used only when there are no
// logs files.
type ETL struct {
	blocks, txs, receipts, logs, transfers, traces *csvStream
	done                                           bool
	// Tokens are the rows of tokens.csv, if the export has one.
	Tokens []Token
}

var etlKinds = []string{"blocks", "transactions", "receipts", "logs", "token_transfers", "traces", "tokens"}

// Token is a row of ethereum-etl's tokens.csv.
type Token struct {
	Address  common.Address
	Symbol   string
	Name     string
	Decimals uint8
}

// OpenETL finds the export's files under dir.
func OpenETL(dir string) (*ETL, error) {
	files := map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Exports are often kept compressed: a .csv.gz file is read as
		// the .csv it holds.
		name := strings.TrimSuffix(d.Name(), ".gz")
		if d.IsDir() || !strings.HasSuffix(name, ".csv") {
			return nil
		}
		base := strings.TrimSuffix(name, ".csv")
		// Longest kind first: "token_transfers" before "transactions".
		kind := ""
		for _, k := range etlKinds {
			if (base == k || strings.HasPrefix(base, k+"_")) && len(k) > len(kind) {
				kind = k
			}
		}
		if kind != "" {
			files[kind] = append(files[kind], p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evm: %w", err)
	}
	for _, k := range []string{"blocks", "transactions"} {
		if len(files[k]) == 0 {
			return nil, fmt.Errorf("%w: %s has no %s*.csv file (an ethereum-etl export needs blocks and transactions)", ErrInput, dir, k)
		}
	}
	e := &ETL{}
	open := func(kind string, required ...string) *csvStream {
		if err != nil || len(files[kind]) == 0 {
			return nil
		}
		sort.Strings(files[kind])
		var s *csvStream
		s, err = newCSVStream(files[kind], required)
		return s
	}
	e.blocks = open("blocks", "number", "hash", "parent_hash", "timestamp", "miner")
	e.txs = open("transactions", "hash", "block_number", "transaction_index", "from_address", "to_address", "value", "gas", "gas_price")
	e.receipts = open("receipts", "transaction_hash", "block_number", "transaction_index", "gas_used", "status")
	e.logs = open("logs", "log_index", "transaction_index", "block_number", "address", "data", "topics")
	if len(files["logs"]) == 0 {
		e.transfers = open("token_transfers", "token_address", "from_address", "to_address", "value", "log_index", "block_number")
	}
	e.traces = open("traces", "block_number", "transaction_index", "from_address", "to_address", "value", "trace_type")
	if tk := open("tokens", "address", "symbol", "decimals"); tk != nil && err == nil {
		err = e.readTokens(tk)
		tk.close()
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *ETL) readTokens(r *csvStream) error {
	for {
		ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		t := Token{Address: r.addr("address"), Symbol: r.get("symbol"), Name: r.opt("name")}
		if d := r.get("decimals"); d != "" {
			v, err := strconv.ParseUint(d, 10, 8)
			if err != nil {
				return r.errorf("decimals", "%q is not a number of decimals (0-255)", d)
			}
			t.Decimals = uint8(v)
		} else {
			continue // unknown decimals: not a usable token row
		}
		if r.err != nil {
			return r.err
		}
		e.Tokens = append(e.Tokens, t)
	}
}

// Close closes the open files.
func (e *ETL) Close() {
	for _, s := range []*csvStream{e.blocks, e.txs, e.receipts, e.logs, e.transfers, e.traces} {
		if s != nil {
			s.close()
		}
	}
}

// Next returns the next block, or io.EOF after the last.
func (e *ETL) Next() (*Block, error) {
	if e.done {
		return nil, io.EOF
	}
	r := e.blocks
	if ok, err := r.next(); err != nil {
		return nil, err
	} else if !ok {
		e.done = true
		for _, s := range []*csvStream{e.txs, e.receipts, e.logs, e.transfers, e.traces} {
			if s == nil {
				continue
			}
			if ok, err := s.peek(); err != nil {
				return nil, err
			} else if ok {
				return nil, s.errorf("block_number", "block %s is not in the blocks files", s.get("block_number"))
			}
		}
		return nil, io.EOF
	}
	b := &Block{Where: fmt.Sprintf("%s line %d", r.files[r.fi], r.line)}
	b.Number = r.u64("number")
	b.Hash = r.hash("hash")
	b.Parent = r.hash("parent_hash")
	b.Time = r.u64("timestamp")
	b.Miner = r.addr("miner")
	if r.has("base_fee_per_gas") && r.get("base_fee_per_gas") != "" {
		v := r.big("base_fee_per_gas")
		b.BaseFee = &v
	}
	if r.has("withdrawals") && r.get("withdrawals") != "" {
		b.Withdrawals = r.withdrawals("withdrawals")
	}
	if r.err != nil {
		return nil, r.err
	}
	if b.Number > 0 && b.Parent == (common.Hash{}) {
		return nil, r.errorf("parent_hash", "block %d has no parent hash", b.Number)
	}
	if err := e.readTxs(b); err != nil {
		return nil, err
	}
	if err := e.readLogs(b); err != nil {
		return nil, err
	}
	if err := e.readTraces(b); err != nil {
		return nil, err
	}
	return b, nil
}

// rowsOf calls fn for each row of s that belongs to block n, and fails on a
// row of an earlier block (out of order, or a block missing from blocks).
func rowsOf(s *csvStream, n uint64, fn func() error) error {
	if s == nil {
		return nil
	}
	for {
		ok, err := s.peek()
		if err != nil || !ok {
			return err
		}
		bn := s.u64("block_number")
		if s.err != nil {
			return s.err
		}
		if bn > n {
			return nil
		}
		if bn < n {
			return s.errorf("block_number", "block %d comes after block %d in the blocks files, or is missing from them; rows must be in block order", bn, n)
		}
		s.take()
		if err := fn(); err != nil {
			return err
		}
		if s.err != nil {
			return s.err
		}
	}
}

func (e *ETL) readTxs(b *Block) error {
	r := e.txs
	err := rowsOf(r, b.Number, func() error {
		t := Tx{Status: StatusUnknown}
		t.Hash = r.hash("hash")
		t.Index = uint32(r.u64("transaction_index"))
		if int(t.Index) != len(b.Txs) {
			return r.errorf("transaction_index", "transaction index %d where %d was expected", t.Index, len(b.Txs))
		}
		if r.has("nonce") {
			t.Nonce = r.u64("nonce")
		}
		t.From = r.addr("from_address")
		if r.get("to_address") != "" {
			to := r.addr("to_address")
			t.To = &to
		}
		t.Value = r.big("value")
		t.Gas = r.u64("gas")
		t.GasPrice = r.big("gas_price")
		if r.has("transaction_type") && r.get("transaction_type") != "" {
			t.Type = uint8(r.u64("transaction_type"))
		}
		if r.has("input") {
			if in := r.bytes("input"); len(in) >= 4 {
				copy(t.Selector[:], in)
			}
		}
		// ethereum-etl's enriched transactions carry the receipt.
		if r.has("receipt_gas_used") && r.get("receipt_gas_used") != "" {
			t.Receipt = true
			t.GasUsed = r.u64("receipt_gas_used")
			t.Status = r.status("receipt_status")
			if r.has("receipt_effective_gas_price") && r.get("receipt_effective_gas_price") != "" {
				t.GasPrice = r.big("receipt_effective_gas_price")
			}
			r.blobGas(&t, "receipt_blob_gas_used", "receipt_blob_gas_price")
			if r.has("receipt_contract_address") && r.get("receipt_contract_address") != "" {
				c := r.addr("receipt_contract_address")
				t.Contract = &c
			}
		}
		b.Txs = append(b.Txs, t)
		return nil
	})
	if err != nil {
		return err
	}
	r = e.receipts
	return rowsOf(r, b.Number, func() error {
		i := r.u64("transaction_index")
		if i >= uint64(len(b.Txs)) || b.Txs[i].Hash != r.hash("transaction_hash") {
			return r.errorf("transaction_hash", "receipt of %s does not match transaction %d of block %d", r.get("transaction_hash"), i, b.Number)
		}
		t := &b.Txs[i]
		t.Receipt = true
		t.GasUsed = r.u64("gas_used")
		t.Status = r.status("status")
		if r.has("effective_gas_price") && r.get("effective_gas_price") != "" {
			t.GasPrice = r.big("effective_gas_price")
		}
		r.blobGas(t, "blob_gas_used", "blob_gas_price")
		if r.has("contract_address") && r.get("contract_address") != "" {
			c := r.addr("contract_address")
			t.Contract = &c
		}
		return nil
	})
}

// blobGas reads a blob transaction's receipt fields (columns ethereum-etl
// writes since Dencun, empty for other transactions).
func (s *csvStream) blobGas(t *Tx, used, price string) {
	if s.has(used) && s.get(used) != "" {
		t.BlobGasUsed = s.u64(used)
		if s.has(price) && s.get(price) != "" {
			t.BlobGasPrice = s.big(price)
		}
	}
}

func (e *ETL) readLogs(b *Block) error {
	if r := e.logs; r != nil {
		return rowsOf(r, b.Number, func() error {
			l := Log{Index: uint32(r.u64("log_index")), TxIndex: uint32(r.u64("transaction_index")), Address: r.addr("address"), Data: r.bytes("data")}
			if t := r.get("topics"); t != "" {
				for i, w := range strings.Split(t, ",") {
					h, err := parseHash(w)
					if err != nil {
						return r.errorf("topics", "topic %d: %v", i, err)
					}
					l.Topics = append(l.Topics, h)
				}
			}
			if int(l.TxIndex) >= len(b.Txs) {
				return r.errorf("transaction_index", "block %d has no transaction %d", b.Number, l.TxIndex)
			}
			b.Logs = append(b.Logs, l)
			return nil
		})
	}
	r := e.transfers
	if r == nil {
		return nil
	}
	// Without logs, rebuild each token transfer's log from its row.
	byHash := map[common.Hash]uint32{}
	for _, t := range b.Txs {
		byHash[t.Hash] = t.Index
	}
	err := rowsOf(r, b.Number, func() error {
		ti, ok := byHash[r.hash("transaction_hash")]
		if !ok && r.err == nil {
			return r.errorf("transaction_hash", "block %d has no transaction %s", b.Number, r.get("transaction_hash"))
		}
		from, to, v := r.addr("from_address"), r.addr("to_address"), r.big("value")
		b.Logs = append(b.Logs, Log{TxIndex: ti, Index: uint32(r.u64("log_index")), Address: r.addr("token_address"),
			Topics: []common.Hash{TopicTransfer, common.BytesToHash(from[:]), common.BytesToHash(to[:])}, Data: v.PaddedBytes(32)})
		return nil
	})
	sort.SliceStable(b.Logs, func(i, j int) bool { return b.Logs[i].Index < b.Logs[j].Index })
	return err
}

func (e *ETL) readTraces(b *Block) error {
	r := e.traces
	if r == nil {
		return nil
	}
	b.Traces = []Trace{}
	var reported []bool
	err := rowsOf(r, b.Number, func() error {
		t := Trace{TxIndex: NoTx, Type: r.get("trace_type")}
		if s := r.get("transaction_index"); s != "" {
			t.TxIndex = int32(r.u64("transaction_index"))
			if int(t.TxIndex) >= len(b.Txs) {
				return r.errorf("transaction_index", "block %d has no transaction %d", b.Number, t.TxIndex)
			}
		}
		if r.get("from_address") != "" {
			t.From = r.addr("from_address")
		}
		if r.get("to_address") != "" {
			t.To = r.addr("to_address")
		}
		if r.get("value") != "" {
			t.Value = r.big("value")
		}
		t.CallType = r.opt("call_type")
		t.RewardType = r.opt("reward_type")
		t.Error = r.opt("error")
		t.Address = []int{}
		if s := r.opt("trace_address"); s != "" {
			for _, p := range strings.Split(s, ",") {
				v, err := strconv.Atoi(p)
				if err != nil {
					return r.errorf("trace_address", "%q is not a list of integers", s)
				}
				t.Address = append(t.Address, v)
			}
		}
		b.Traces = append(b.Traces, t)
		reported = append(reported, r.opt("status") == "0")
		return nil
	})
	if err != nil {
		return err
	}
	b.MarkFailed()
	for i, f := range reported {
		b.Traces[i].Failed = b.Traces[i].Failed || f
	}
	return nil
}

// csvStream reads rows of one kind across its files, one row of lookahead.
type csvStream struct {
	files  []string
	fi     int
	f      *os.File
	gz     *gzip.Reader // over f, for a .csv.gz file
	r      *csv.Reader
	col    map[string]int
	row    []string
	line   int
	peeked bool
	eof    bool
	err    error // first field error of the current row
}

func newCSVStream(files []string, required []string) (*csvStream, error) {
	s := &csvStream{files: files, fi: -1}
	s.col = nil
	if err := s.openNext(required); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *csvStream) openNext(required []string) error {
	for {
		if s.f != nil {
			s.f.Close()
			s.f, s.gz = nil, nil
		}
		s.fi++
		if s.fi >= len(s.files) {
			s.eof = true
			return nil
		}
		f, err := os.Open(s.files[s.fi])
		if err != nil {
			return fmt.Errorf("evm: %w", err)
		}
		s.f = f
		var in io.Reader = f
		if strings.HasSuffix(s.files[s.fi], ".gz") {
			if s.gz, err = gzip.NewReader(f); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrInput, s.files[s.fi], err)
			}
			in = s.gz
		}
		s.r = csv.NewReader(in)
		s.r.ReuseRecord = true
		s.line = 1
		hdr, err := s.r.Read()
		if err == io.EOF {
			continue // an empty file
		}
		if err != nil {
			return fmt.Errorf("%w: %s line 1: %v", ErrInput, s.files[s.fi], err)
		}
		col := map[string]int{}
		for i, h := range hdr {
			col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
		}
		if required == nil && s.col != nil {
			required = keys(s.col)
		}
		for _, k := range required {
			if _, ok := col[k]; !ok {
				return fmt.Errorf("%w: %s line 1: no column %q (ethereum-etl's header is expected)", ErrInput, s.files[s.fi], k)
			}
		}
		s.col = col
		s.r.FieldsPerRecord = len(hdr)
		return nil
	}
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// peek reads the next row if none is waiting; false at the end.
func (s *csvStream) peek() (bool, error) {
	if s.peeked {
		return true, nil
	}
	for !s.eof {
		row, err := s.r.Read()
		if err == io.EOF {
			if err := s.openNext(nil); err != nil {
				return false, err
			}
			continue
		}
		if err != nil {
			return false, fmt.Errorf("%w: %s: %v", ErrInput, s.files[s.fi], err)
		}
		s.line, _ = s.r.FieldPos(0)
		s.row = row
		s.peeked = true
		s.err = nil
		return true, nil
	}
	return false, nil
}

// take consumes the peeked row.
func (s *csvStream) take() { s.peeked = false }

// next peeks and takes.
func (s *csvStream) next() (bool, error) {
	ok, err := s.peek()
	s.take()
	return ok, err
}

func (s *csvStream) close() {
	if s.f != nil {
		s.f.Close()
	}
}

func (s *csvStream) has(field string) bool { _, ok := s.col[field]; return ok }

func (s *csvStream) get(field string) string { return s.row[s.col[field]] }

func (s *csvStream) opt(field string) string {
	if i, ok := s.col[field]; ok {
		return s.row[i]
	}
	return ""
}

func (s *csvStream) errorf(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s line %d: field %s: %s", ErrInput, s.files[s.fi], s.line, field, fmt.Sprintf(format, args...))
}

func (s *csvStream) fail(field string, err error) {
	if s.err == nil {
		s.err = s.errorf(field, "%q: %v", s.get(field), err)
	}
}

func (s *csvStream) u64(field string) uint64 {
	v, err := strconv.ParseUint(s.get(field), 10, 64)
	if err != nil {
		s.fail(field, errors.New("not an unsigned integer"))
	}
	return v
}

func (s *csvStream) big(field string) uint256.Int {
	var v uint256.Int
	if err := v.SetFromDecimal(s.get(field)); err != nil {
		s.fail(field, errors.New("not a decimal integer below 2^256"))
	}
	return v
}

func (s *csvStream) status(field string) int8 {
	switch s.opt(field) {
	case "":
		return StatusUnknown
	case "0":
		return StatusFailed
	case "1":
		return StatusOK
	}
	s.fail(field, errors.New("status must be 0, 1 or empty"))
	return StatusUnknown
}

func (s *csvStream) addr(field string) common.Address {
	v := s.get(field)
	if len(v) != 42 || !strings.HasPrefix(v, "0x") {
		s.fail(field, errors.New("not a 0x-prefixed 20-byte address"))
		return common.Address{}
	}
	b, err := hex.DecodeString(v[2:])
	if err != nil {
		s.fail(field, errors.New("not hex"))
	}
	return common.BytesToAddress(b)
}

func (s *csvStream) hash(field string) common.Hash {
	h, err := parseHash(s.get(field))
	if err != nil {
		s.fail(field, err)
	}
	return h
}

func (s *csvStream) bytes(field string) []byte {
	v := s.get(field)
	if v == "" || v == "0x" {
		return nil
	}
	if !strings.HasPrefix(v, "0x") {
		s.fail(field, errors.New("not 0x-prefixed hex"))
		return nil
	}
	b, err := hex.DecodeString(v[2:])
	if err != nil {
		s.fail(field, errors.New("not hex"))
	}
	return b
}

func (s *csvStream) withdrawals(field string) []Withdrawal {
	// ethereum-etl writes the list as JSON objects joined by commas.
	var ws []struct {
		Index     uint64 `json:"index"`
		Validator uint64 `json:"validator_index"`
		Address   string `json:"address"`
		Amount    uint64 `json:"amount"`
	}
	v := strings.TrimSpace(s.get(field))
	if !strings.HasPrefix(v, "[") {
		v = "[" + v + "]"
	}
	if err := json.Unmarshal([]byte(v), &ws); err != nil {
		s.fail(field, err)
		return nil
	}
	out := make([]Withdrawal, 0, len(ws))
	for _, w := range ws {
		if !common.IsHexAddress(w.Address) {
			s.fail(field, fmt.Errorf("withdrawal %d: bad address %q", w.Index, w.Address))
			return nil
		}
		out = append(out, Withdrawal{Index: w.Index, Validator: w.Validator, Address: common.HexToAddress(w.Address), Gwei: w.Amount})
	}
	return out
}

func parseHash(v string) (common.Hash, error) {
	if len(v) != 66 || !strings.HasPrefix(v, "0x") {
		return common.Hash{}, errors.New("not a 0x-prefixed 32-byte hash")
	}
	b, err := hex.DecodeString(v[2:])
	if err != nil {
		return common.Hash{}, errors.New("not hex")
	}
	return common.BytesToHash(b), nil
}
