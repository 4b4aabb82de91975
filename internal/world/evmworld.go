package world

import (
	"bufio"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"golang.org/x/crypto/sha3"
)

// The EVM side of the world: an Ethereum-like chain over 2021 written as an
// ethereum-etl export (blocks, transactions with receipt columns, logs,
// token_transfers, traces, tokens). Users pay each other in ETH and tokens,
// use exchanges (deposit addresses swept to hot wallets, withdrawals from
// them), swap on Uniswap V2-style pairs through a router and WETH, and mix
// through Tornado-style pools of 0.1/1/10/100 ETH. Contracts do not run:
// the generator writes the logs and call traces a real node would have
// given for each call, and keeps every balance non-negative.

func keccak(parts ...[]byte) common.Hash {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	return common.BytesToHash(h.Sum(nil))
}

func topic(sig string) common.Hash { return keccak([]byte(sig)) }

var (
	tTransfer   = topic("Transfer(address,address,uint256)")
	tSwap       = topic("Swap(address,uint256,uint256,uint256,uint256,address)")
	tDeposit    = topic("Deposit(bytes32,uint32,uint256)")
	tWithdrawal = topic("Withdrawal(address,bytes32,address,uint256)")
	tWETHIn     = topic("Deposit(address,uint256)")
	tWETHOut    = topic("Withdrawal(address,uint256)")
)

// Real contract addresses where the world has their counterpart, so that
// public labels read the same: WETH9, the Uniswap V2 router, the four
// Tornado Cash ETH pools (WORLD-FACTS 2c).
var (
	wethAddr   = common.HexToAddress("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2")
	routerAddr = common.HexToAddress("0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D")
	tornado    = []struct {
		addr  common.Address
		denom string // ETH
	}{
		{common.HexToAddress("0x12D66f87A04A9E220743712cE6d9bB1B5616B8Fc"), "0.1"},
		{common.HexToAddress("0x47CE0C6eD5B0Ce3d3A51fdb1C52DC66a7c3c2936"), "1"},
		{common.HexToAddress("0x910Cbd523D972eb0a6f4cAe4618aD62622b39DbF"), "10"},
		{common.HexToAddress("0xA160cdAB225685dA1d56aa342Ad8841c3b53f291"), "100"},
	}
)

// Tokens of the world, with the real contract addresses and decimals.
var evmTokens = []struct {
	symbol, name string
	addr         common.Address
	decimals     int
}{
	{"USDT", "Tether USD", common.HexToAddress("0xdAC17F958D2ee523a2206206994597C13D831ec7"), 6},
	{"USDC", "USD Coin", common.HexToAddress("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"), 6},
	{"LINK", "ChainLink Token", common.HexToAddress("0x514910771AF9Ca656af840dff83E8264EcF986CA"), 18},
	{"UNI", "Uniswap", common.HexToAddress("0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984"), 18},
	{"AAVE", "Aave Token", common.HexToAddress("0x7Fc66500c84A76Ad7e9c93437bFc5Ac33E2DDaE9"), 18},
}

// londonTime is when EIP-1559 (base fee, burnt) began on mainnet: block
// 12,965,000 on 2021-08-05.
var londonTime = time.Date(2021, 8, 5, 12, 33, 42, 0, time.UTC)

// ethWei and units turn an amount into base units exactly, to a millionth
// of a coin (floats would leave digits like 999999999999999983222784).
func ethWei(eth float64) *big.Int { return units(eth, 18) }

func units(amount float64, decimals int) *big.Int {
	micro := big.NewInt(int64(math.Round(amount * 1e6)))
	if decimals >= 6 {
		return micro.Mul(micro, pow10(decimals-6))
	}
	return micro.Div(micro, pow10(6-decimals))
}

type evmLog struct {
	addr   common.Address
	topics []common.Hash
	data   []byte
}

type evmCall struct {
	from, to common.Address
	value    *big.Int
}

type evmTx struct {
	from     common.Address
	to       *common.Address
	value    *big.Int
	gasUsed  uint64
	selector string
	status   int
	logs     []evmLog
	calls    []evmCall // internal value transfers, children of the top call
	price    *big.Int  // gas price when not the block's usual one
	nonce    uint64
	hash     common.Hash
}

type evmWorld struct {
	w       *world
	rng     *rand.Rand
	dir     string
	files   []*os.File
	bufs    []*bufio.Writer
	blocks  *csv.Writer
	txsW    *csv.Writer
	logsW   *csv.Writer
	xfersW  *csv.Writer
	tracesW *csv.Writer

	number  uint64
	time    time.Time
	parent  common.Hash
	miner   common.Address
	baseFee *big.Int // nil before London
	tip     *big.Int
	pending []*evmTx
	eth     map[common.Address]*big.Int
	tok     map[common.Address]map[common.Address]*big.Int // token -> holder -> balance
	// holders are the users' addresses that received each token (some
	// may have spent it since): where token payments come from.
	holders   map[common.Address][]common.Address
	userOwned map[common.Address]bool
	nonce     map[common.Address]uint64
	pairs     map[common.Address]common.Address // token -> pair
	users     [][]common.Address                // addresses of each user
	userIDs   []int
	exchHot   []common.Address
	exchIDs   []int
	relayers  []common.Address
	exchDep   []map[int]common.Address // exchange -> user -> deposit address
	// depositOf maps deposit addresses to their exchange; dirty lists, per
	// exchange and in payment order, those paid since its last sweep.
	depositOf map[common.Address]int
	dirty     [][]common.Address
	dirtySet  map[common.Address]bool
	notes     []tornadoNote // deposits not yet withdrawn (background users)
	leaf      map[common.Address]int
	bridge    common.Address
	counts    map[string]int
	addrSeen  map[common.Address]bool
}

type tornadoNote struct {
	pool       int
	commitment common.Hash
	owner      int // user index, -1 for the thief
	at         uint64
}

func (e *evmWorld) addr(owner int, tag string, n int) common.Address {
	a := common.BytesToAddress(keccak([]byte(fmt.Sprintf("spur world %d %s %d %d", e.w.o.Seed, tag, owner, n))).Bytes()[12:])
	if owner >= 0 {
		e.own(a, owner)
	}
	if tag == "user" {
		e.userOwned[a] = true
	}
	return a
}

// own records a's owner in truth, once.
func (e *evmWorld) own(a common.Address, owner int) {
	if !e.addrSeen[a] {
		e.addrSeen[a] = true
		e.w.truth.evmAddrs.add(a.Hex(), owner)
	}
}

func (e *evmWorld) balance(a common.Address) *big.Int {
	b := e.eth[a]
	if b == nil {
		b = new(big.Int)
		e.eth[a] = b
	}
	return b
}

// zeroBalance is what ethOf and tokOf return for an address that holds
// nothing; it must not be changed.
var zeroBalance = new(big.Int)

// ethOf and tokOf read a balance without making an entry for it: most
// addresses a wallet looks at hold nothing, and entries made for them
// would grow the maps with every lookup.
func (e *evmWorld) ethOf(a common.Address) *big.Int {
	if b := e.eth[a]; b != nil {
		return b
	}
	return zeroBalance
}

func (e *evmWorld) tokOf(t, a common.Address) *big.Int {
	if b := e.tok[t][a]; b != nil {
		return b
	}
	return zeroBalance
}

func (e *evmWorld) tokBalance(t, a common.Address) *big.Int {
	m := e.tok[t]
	if m == nil {
		m = map[common.Address]*big.Int{}
		e.tok[t] = m
	}
	b := m[a]
	if b == nil {
		b = new(big.Int)
		m[a] = b
	}
	return b
}

func (e *evmWorld) gasPrice() *big.Int {
	if e.baseFee != nil {
		return new(big.Int).Add(e.baseFee, e.tip)
	}
	return e.tip
}

func (e *evmWorld) fee(gas uint64) *big.Int {
	return new(big.Int).Mul(new(big.Int).SetUint64(gas), e.gasPrice())
}

// canPay says whether a can send value and the fee of gas.
func (e *evmWorld) canPay(a common.Address, value *big.Int, gas uint64) bool {
	return e.canPayAt(a, value, gas, nil)
}

// canPayAt is canPay at a gas price of the sender's choosing (nil: the
// block's).
func (e *evmWorld) canPayAt(a common.Address, value *big.Int, gas uint64, price *big.Int) bool {
	fee := e.fee(gas)
	if price != nil {
		fee = new(big.Int).Mul(new(big.Int).SetUint64(gas), price)
	}
	return e.ethOf(a).Cmp(new(big.Int).Add(value, fee)) >= 0
}

func transferLog(token, from, to common.Address, v *big.Int) evmLog {
	return evmLog{token, []common.Hash{tTransfer, common.BytesToHash(from[:]), common.BytesToHash(to[:])}, common.BigToHash(v).Bytes()}
}

// send queues a transaction, moving its value, internal calls, token
// transfers (from logs) and fee. The caller has checked the balances.
func (e *evmWorld) send(tx *evmTx) *evmTx {
	if tx.value == nil {
		tx.value = new(big.Int)
	}
	n := e.nonce[tx.from]
	e.nonce[tx.from] = n + 1
	tx.nonce = n
	tx.hash = keccak([]byte("tx"), tx.from[:], big.NewInt(int64(n)).Bytes(), big.NewInt(int64(e.number)).Bytes(), []byte{byte(len(e.pending))})
	price := e.gasPrice()
	if tx.price != nil {
		price = tx.price
	}
	fee := new(big.Int).Mul(new(big.Int).SetUint64(tx.gasUsed), price)
	e.balance(tx.from).Sub(e.balance(tx.from), fee)
	if e.baseFee != nil {
		tipPart := new(big.Int).Mul(new(big.Int).SetUint64(tx.gasUsed), new(big.Int).Sub(price, e.baseFee))
		e.balance(e.miner).Add(e.balance(e.miner), tipPart)
	} else {
		e.balance(e.miner).Add(e.balance(e.miner), fee)
	}
	if tx.status == 1 {
		to := common.Address{}
		if tx.to != nil {
			to = *tx.to
		}
		if x, ok := e.depositOf[to]; ok && tx.value.Sign() > 0 && !e.dirtySet[to] {
			e.dirtySet[to] = true
			e.dirty[x] = append(e.dirty[x], to)
		}
		e.balance(tx.from).Sub(e.balance(tx.from), tx.value)
		e.balance(to).Add(e.balance(to), tx.value)
		for _, c := range tx.calls {
			e.balance(c.from).Sub(e.balance(c.from), c.value)
			e.balance(c.to).Add(e.balance(c.to), c.value)
		}
		for _, l := range tx.logs {
			switch l.topics[0] {
			case tWETHIn: // WETH minted to the depositor
				dst := common.BytesToAddress(l.topics[1][12:])
				v := new(big.Int).SetBytes(l.data)
				e.tokBalance(wethAddr, dst).Add(e.tokBalance(wethAddr, dst), v)
			case tWETHOut:
				src := common.BytesToAddress(l.topics[1][12:])
				v := new(big.Int).SetBytes(l.data)
				e.tokBalance(wethAddr, src).Sub(e.tokBalance(wethAddr, src), v)
			case tTransfer:
				from, to := common.BytesToAddress(l.topics[1][12:]), common.BytesToAddress(l.topics[2][12:])
				v := new(big.Int).SetBytes(l.data)
				if from != (common.Address{}) {
					e.tokBalance(l.addr, from).Sub(e.tokBalance(l.addr, from), v)
				}
				b := e.tokBalance(l.addr, to)
				if b.Sign() == 0 && e.userOwned[to] {
					e.holders[l.addr] = append(e.holders[l.addr], to)
				}
				b.Add(b, v)
			}
		}
	}
	e.pending = append(e.pending, tx)
	e.counts["evm_txs"]++
	return tx
}

func hexBytes(b []byte) string {
	if len(b) == 0 {
		return "0x"
	}
	return "0x" + hex.EncodeToString(b)
}

// lowerHex is an address as ethereum-etl writes it (lower case; no EIP-55
// checksum to compute).
func lowerHex(a common.Address) string { return "0x" + hex.EncodeToString(a[:]) }

// closeBlock writes the pending transactions as a block.
func (e *evmWorld) closeBlock() error {
	num := strconv.FormatUint(e.number, 10)
	hash := keccak([]byte("block"), e.parent[:], []byte(num))
	ts := strconv.FormatInt(e.time.Unix(), 10)
	var gasUsed uint64
	logIndex := 0
	baseFee := ""
	if e.baseFee != nil {
		baseFee = e.baseFee.String()
	}
	for i, tx := range e.pending {
		gasUsed += tx.gasUsed
		to := ""
		if tx.to != nil {
			to = lowerHex(*tx.to)
		}
		price := e.gasPrice().String()
		if tx.price != nil {
			price = tx.price.String()
		}
		typ := "0"
		maxFee, maxTip := "", ""
		if e.baseFee != nil {
			typ, maxFee, maxTip = "2", new(big.Int).Mul(e.baseFee, big.NewInt(2)).String(), e.tip.String()
		}
		sel := ""
		if tx.selector != "" {
			sel = "0x" + tx.selector
		}
		e.txsW.Write([]string{tx.hash.Hex(), strconv.FormatUint(tx.nonce, 10), hash.Hex(), num, strconv.Itoa(i), lowerHex(tx.from), to,
			tx.value.String(), strconv.FormatUint(tx.gasUsed*5/4, 10), price, orDefault(sel, "0x"), ts, maxFee, maxTip, typ,
			strconv.FormatUint(gasUsed, 10), strconv.FormatUint(tx.gasUsed, 10), "", "", strconv.Itoa(tx.status), price})
		// The top call and the internal value transfers under it.
		status := strconv.Itoa(tx.status)
		e.tracesW.Write([]string{num, tx.hash.Hex(), strconv.Itoa(i), lowerHex(tx.from), to, tx.value.String(), orDefault(sel, "0x"), "0x", "call", "call", "",
			strconv.FormatUint(tx.gasUsed, 10), strconv.FormatUint(tx.gasUsed, 10), strconv.Itoa(len(tx.calls)), "", errText(tx.status), status, ""})
		for j, c := range tx.calls {
			e.tracesW.Write([]string{num, tx.hash.Hex(), strconv.Itoa(i), lowerHex(c.from), lowerHex(c.to), c.value.String(), "0x", "0x", "call", "call", "",
				"2300", "0", "0", strconv.Itoa(j), "", status, ""})
		}
		if tx.status != 1 {
			continue
		}
		for _, l := range tx.logs {
			topics := make([]string, len(l.topics))
			for k, t := range l.topics {
				topics[k] = t.Hex()
			}
			li := strconv.Itoa(logIndex)
			e.logsW.Write([]string{li, tx.hash.Hex(), strconv.Itoa(i), hash.Hex(), num, lowerHex(l.addr), hexBytes(l.data), strings.Join(topics, ",")})
			if l.topics[0] == tTransfer && len(l.topics) == 3 {
				e.xfersW.Write([]string{lowerHex(l.addr), lowerHex(common.BytesToAddress(l.topics[1][12:])), lowerHex(common.BytesToAddress(l.topics[2][12:])),
					new(big.Int).SetBytes(l.data).String(), tx.hash.Hex(), li, num})
			}
			logIndex++
		}
	}
	// The block reward (2 ETH since Constantinople), as trace_block reports it.
	reward := ethWei(2)
	e.balance(e.miner).Add(e.balance(e.miner), reward)
	e.tracesW.Write([]string{num, "", "", "", lowerHex(e.miner), reward.String(), "", "", "reward", "", "block", "", "", "0", "", "", "1", ""})
	e.blocks.Write([]string{num, hash.Hex(), e.parent.Hex(), lowerHex(e.miner), "30000000", strconv.FormatUint(gasUsed, 10), ts, strconv.Itoa(len(e.pending)), baseFee})
	e.parent = hash
	e.pending = e.pending[:0]
	e.number++
	e.counts["evm_blocks"]++
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func errText(status int) string {
	if status == 1 {
		return ""
	}
	return "Reverted"
}

func (e *evmWorld) open() error {
	dir := filepath.Join(e.dir, "evm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mk := func(name string, header ...string) (*csv.Writer, error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		b := bufio.NewWriterSize(f, 1<<20)
		e.files = append(e.files, f)
		e.bufs = append(e.bufs, b)
		w := csv.NewWriter(b)
		return w, w.Write(header)
	}
	var err error
	if e.blocks, err = mk("blocks.csv", "number", "hash", "parent_hash", "miner", "gas_limit", "gas_used", "timestamp", "transaction_count", "base_fee_per_gas"); err != nil {
		return err
	}
	if e.txsW, err = mk("transactions.csv", "hash", "nonce", "block_hash", "block_number", "transaction_index", "from_address", "to_address", "value", "gas", "gas_price", "input",
		"block_timestamp", "max_fee_per_gas", "max_priority_fee_per_gas", "transaction_type", "receipt_cumulative_gas_used", "receipt_gas_used", "receipt_contract_address",
		"receipt_root", "receipt_status", "receipt_effective_gas_price"); err != nil {
		return err
	}
	if e.logsW, err = mk("logs.csv", "log_index", "transaction_hash", "transaction_index", "block_hash", "block_number", "address", "data", "topics"); err != nil {
		return err
	}
	if e.xfersW, err = mk("token_transfers.csv", "token_address", "from_address", "to_address", "value", "transaction_hash", "log_index", "block_number"); err != nil {
		return err
	}
	if e.tracesW, err = mk("traces.csv", "block_number", "transaction_hash", "transaction_index", "from_address", "to_address", "value", "input", "output", "trace_type",
		"call_type", "reward_type", "gas", "gas_used", "subtraces", "trace_address", "error", "status", "trace_id"); err != nil {
		return err
	}
	tk, err := mk("tokens.csv", "address", "symbol", "name", "decimals", "total_supply", "block_number")
	if err != nil {
		return err
	}
	tk.Write([]string{lowerHex(wethAddr), "WETH", "Wrapped Ether", "18", "", "0"})
	for _, t := range evmTokens {
		tk.Write([]string{lowerHex(t.addr), t.symbol, t.name, strconv.Itoa(t.decimals), "", "0"})
	}
	tk.Flush()
	return tk.Error()
}

func (e *evmWorld) close() error {
	for _, w := range []*csv.Writer{e.blocks, e.txsW, e.logsW, e.xfersW, e.tracesW} {
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
	}
	for i, b := range e.bufs {
		if err := b.Flush(); err != nil {
			return err
		}
		if err := e.files[i].Close(); err != nil {
			return err
		}
	}
	return nil
}

// price of an asset in USD on the current day (ETH for WETH).
func (e *evmWorld) price(symbol string) float64 {
	day := e.time.Format("2006-01-02")
	if p, ok := PriceOn(symbol, day); ok {
		return p
	}
	return 1
}

// Decimals returns the decimals of an asset of the world (ETH: 18).
func Decimals(symbol string) int {
	if i := tokenIndex(symbol); i >= 0 {
		return evmTokens[i].decimals
	}
	return 18
}

func tokenIndex(symbol string) int {
	for i, t := range evmTokens {
		if t.symbol == symbol {
			return i
		}
	}
	return -1
}

// sortedAddrs returns the keys of m in a fixed order.
func sortedAddrs[V any](m map[common.Address]V) []common.Address {
	out := make([]common.Address, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sortAddrs(out)
	return out
}
