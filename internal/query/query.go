// Package query answers the questions the command line and the API share,
// by combining the chain store, the clustering, the labels and the tracer:
// an entity's summary, an address's screening, trace references and the
// services a trace stops at, on Bitcoin and EVM chains; and the matching of
// bridge deposits to Bitcoin payouts (bridge.go).
package query

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
)

type EntityLabel struct {
	label.Label
	Via string `json:"via"` // the member address that carries it
}

type Counterparty struct {
	Entity uint32 `json:"entity"`
	Value  int64  `json:"value"` // satoshi paid to it by this entity
	Txs    int    `json:"txs"`
}

type EntityView struct {
	ID                uint32         `json:"id"`
	Size              int            `json:"size"`
	Addresses         []string       `json:"addresses"`
	Offset            int            `json:"offset"`
	Limit             int            `json:"limit"`
	Labels            []EntityLabel  `json:"labels"`
	Received          int64          `json:"received"`
	Balance           int64          `json:"balance"`
	FirstSeenHeight   int64          `json:"first_seen_height"`
	LastSeenHeight    int64          `json:"last_seen_height"`
	TopCounterparties []Counterparty `json:"top_counterparties"`
	// Sampled is true when labels and counterparties come from the first
	// members of a very large entity only (its totals are complete).
	Sampled bool `json:"sampled,omitempty"`
}

// Entity summarises entity e: members (paged), labels of its
// addresses, totals from their outputs, and the entities it paid most.
func Entity(s store.Reader, c cluster.Reader, labels label.Reader, e uint32, offset, limit int) (*EntityView, error) {
	members := c.Members(e)
	v := &EntityView{ID: e, Size: len(members), Offset: offset, Limit: limit, Addresses: []string{}, Labels: []EntityLabel{},
		FirstSeenHeight: -1, LastSeenHeight: -1, TopCounterparties: []Counterparty{}}
	if len(members) == 0 {
		return nil, fmt.Errorf("%w: entity %d", store.ErrNotFound, e)
	}
	for i := offset; i < len(members) && i < offset+limit; i++ {
		v.Addresses = append(v.Addresses, s.Address(members[i]).String(s.Network()))
	}
	// A big entity's totals were computed by spur cluster; its labels and
	// counterparties come from its first members only, so that the summary
	// stays fast however large it is.
	scan := members
	if st := c.Stats(e); st != nil {
		v.Received, v.Balance, v.FirstSeenHeight, v.LastSeenHeight = st.Received, st.Balance, st.FirstSeen, st.LastSeen
		v.Sampled = len(members) > cluster.BigEntity
		scan = members[:min(len(members), cluster.BigEntity)]
	}
	spends := map[uint64]bool{}
	for _, a := range scan {
		text := s.Address(a).String(s.Network())
		if labels != nil {
			ls, err := labels.Lookup(text)
			if err != nil {
				return nil, err
			}
			for _, l := range ls {
				v.Labels = append(v.Labels, EntityLabel{l, text})
			}
		}
		if c.Stats(e) != nil {
			// Counterparties from this member's spends only.
			err := s.Postings(a, func(o uint64) bool {
				if out := s.Output(o); out.Spent {
					spends[out.SpentBy] = true
				}
				return true
			})
			if err != nil {
				return nil, err
			}
			continue
		}
		err := s.Postings(a, func(o uint64) bool {
			out := s.Output(o)
			tx, _ := s.TxOfOutput(o)
			h := s.TxHeight(tx)
			if v.FirstSeenHeight < 0 || h < v.FirstSeenHeight {
				v.FirstSeenHeight = h
			}
			v.LastSeenHeight = max(v.LastSeenHeight, h)
			v.Received += out.Value
			if out.Spent {
				spends[out.SpentBy] = true
				v.LastSeenHeight = max(v.LastSeenHeight, s.TxHeight(out.SpentBy))
			} else {
				v.Balance += out.Value
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	paid := map[uint32]*Counterparty{}
	for tx := range spends {
		_, _, firstOut, numOut := s.TxRange(tx)
		for o := firstOut; o < firstOut+numOut; o++ {
			a := s.OutAddr(o)
			if a == store.NoAddress {
				continue
			}
			other, ok := c.Entity(a)
			if !ok || other == e {
				continue
			}
			val, _ := s.OutValue(o)
			cp := paid[other]
			if cp == nil {
				cp = &Counterparty{Entity: other}
				paid[other] = cp
			}
			cp.Value += val
			cp.Txs++
		}
	}
	for _, cp := range paid {
		v.TopCounterparties = append(v.TopCounterparties, *cp)
	}
	sort.Slice(v.TopCounterparties, func(i, j int) bool {
		a, b := v.TopCounterparties[i], v.TopCounterparties[j]
		return a.Value > b.Value || a.Value == b.Value && a.Entity < b.Entity
	})
	if len(v.TopCounterparties) > 10 {
		v.TopCounterparties = v.TopCounterparties[:10]
	}
	return v, nil
}

// Services builds the trace's service classifier and hot-wallet map from
// the store's Bitcoin labels.
func Services(s store.Reader, labels label.Reader) (trace.Service, map[uint32]string, error) {
	svc := map[uint32][2]string{}
	hot := map[uint32]string{}
	err := labels.List(label.Filter{Chain: label.ChainBTC}, func(l label.Label) error {
		a, err := btc.ParseAddress(l.Address, s.Network())
		if err != nil {
			return nil // another network's address
		}
		n, err := s.AddrNum(a)
		if err != nil {
			return nil // never on this chain
		}
		switch l.Category {
		case label.Exchange:
			hot[n] = strings.TrimSuffix(l.Label, " hot wallet")
			svc[n] = [2]string{l.Category, l.Label}
		case label.Sanctioned, label.StolenFunds:
			// Labels about the money's origin are no place it stops.
		default:
			svc[n] = [2]string{l.Category, l.Label}
		}
		return nil
	})
	fn := func(a uint32) (string, string, bool) {
		v, ok := svc[a]
		return v[0], v[1], ok
	}
	return fn, hot, err
}

// ResolveRefs turns trace references into start outputs: txid:vout, a txid
// (its outputs that do not return to its own input addresses), an address
// (every output it received), or incident:ID (its theft transactions).
func ResolveRefs(s store.Reader, labels label.Reader, refs []string) ([]trace.Start, string, error) {
	var starts []trace.Start
	day := ""
	addTx := func(id string) error {
		h, err := btc.ParseHash(id)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadRef, err)
		}
		n, err := s.TxNum(h)
		if err != nil {
			return err
		}
		firstIn, numIn, firstOut, numOut := s.TxRange(n)
		own := map[uint32]bool{}
		for i := firstIn; i < firstIn+numIn; i++ {
			if o := s.InputSpends(i); o != store.NoOutput {
				own[s.OutAddr(o)] = true
			}
		}
		for o := firstOut; o < firstOut+numOut; o++ {
			if a := s.OutAddr(o); a != store.NoAddress && !own[a] {
				starts = append(starts, trace.Start{Output: o})
			}
		}
		if day == "" {
			if b, err := s.Header(s.TxHeight(n)); err == nil {
				day = time.Unix(int64(b.Time), 0).UTC().Format("2006-01-02")
			}
		}
		return nil
	}
	for _, ref := range refs {
		switch {
		case strings.HasPrefix(ref, "incident:"):
			id := strings.TrimPrefix(ref, "incident:")
			incs, err := labels.Incidents()
			if err != nil {
				return nil, "", err
			}
			found := false
			for _, inc := range incs {
				if inc.ID == id {
					found = true
					day = inc.Date
					if len(inc.TheftTxs) == 0 && inc.EVM != nil {
						return nil, "", fmt.Errorf("%w: incident %s has no theft transactions on Bitcoin; its theft is on %s (--chain %s)", store.ErrNotFound, id, inc.EVM.Chain, inc.EVM.Chain)
					}
					for _, t := range inc.TheftTxs {
						more, _, err := ResolveRefs(s, labels, []string{t})
						if err != nil {
							return nil, "", fmt.Errorf("incident %s: %w", id, err)
						}
						starts = append(starts, more...)
					}
				}
			}
			if !found {
				return nil, "", fmt.Errorf("%w: incident %q (import incidents with spur incident import)", store.ErrNotFound, id)
			}
		case strings.Contains(ref, ":"):
			id, vs, _ := strings.Cut(ref, ":")
			vout, err := strconv.ParseUint(vs, 10, 32)
			if err != nil {
				return nil, "", badRef("%q: want TXID:VOUT", ref)
			}
			h, err := btc.ParseHash(id)
			if err != nil {
				return nil, "", fmt.Errorf("%w: %v", ErrBadRef, err)
			}
			n, err := s.TxNum(h)
			if err != nil {
				return nil, "", err
			}
			_, _, firstOut, numOut := s.TxRange(n)
			if vout >= numOut {
				return nil, "", fmt.Errorf("%w: %s has %d outputs", store.ErrNotFound, id, numOut)
			}
			starts = append(starts, trace.Start{Output: firstOut + vout})
		case len(ref) == 64:
			if err := addTx(ref); err != nil {
				return nil, "", err
			}
		default:
			a, err := btc.ParseAddress(ref, s.Network())
			if err != nil {
				return nil, "", badRef("%q is not a txid, txid:vout, address or incident:ID (as an address: %v)", ref, err)
			}
			n, err := s.AddrNum(a)
			if err != nil {
				return nil, "", err
			}
			if err := s.Postings(n, func(o uint64) bool { starts = append(starts, trace.Start{Output: o}); return true }); err != nil {
				return nil, "", err
			}
		}
	}
	if len(starts) == 0 {
		return nil, "", badRef("nothing to trace from %v", refs)
	}
	return starts, day, nil
}

// Provenance says where a label comes from: " (source ref)".
func Provenance(l label.Label) string {
	if l.Ref != "" {
		return " (" + l.Source + " " + l.Ref + ")"
	}
	return " (" + l.Source + ")"
}

// ScreenEntity is the entity part of a screening result.
type ScreenEntity struct {
	ID     uint32        `json:"id"`
	Size   int           `json:"size"`
	Labels []EntityLabel `json:"labels"`
}

// AddressEntity returns the entity of a Bitcoin address with its labels, or
// nil when the address is not on the chain or after the clustering.
func AddressEntity(s store.Reader, c cluster.Reader, labels label.Reader, addr string) (*ScreenEntity, error) {
	n, ok, err := AddressNumber(s, addr)
	if !ok {
		return nil, err
	}
	return AddressNumEntity(s, c, labels, n, nil)
}

// AddressNumber returns the store's number of a Bitcoin address; ok is
// false, with no error, when addr is not an address of the store's network
// or has never been paid.
func AddressNumber(s store.Reader, addr string) (n uint32, ok bool, err error) {
	a, err := btc.ParseAddress(addr, s.Network())
	if err != nil {
		return 0, false, nil
	}
	n, err = s.AddrNum(a)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// AddressNumEntity is AddressEntity for an address number of the store.
// maybeLabelled, if not nil, says which members may carry a label; the
// others are not looked up (a server knows its labelled addresses by
// number, and an exchange's entity has hundreds of thousands of members).
func AddressNumEntity(s store.Reader, c cluster.Reader, labels label.Reader, n uint32, maybeLabelled func(uint32) bool) (*ScreenEntity, error) {
	e, ok := c.Entity(n)
	if !ok {
		return nil, nil
	}
	members := c.Members(e)
	v := &ScreenEntity{ID: e, Size: len(members), Labels: []EntityLabel{}}
	for _, m := range members {
		if maybeLabelled != nil && !maybeLabelled(m) {
			continue
		}
		text := s.Address(m).String(s.Network())
		ls, err := labels.LookupKey(text)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			v.Labels = append(v.Labels, EntityLabel{l, text})
		}
	}
	return v, nil
}

// BlockHeight resolves a block named as the commands and the API take it:
// "tip" (or "latest", as JSON-RPC says it), a 64-digit hash, or a height.
// One that does not parse is ErrBadRef; one the store does not hold,
// store.ErrNotFound.
func BlockHeight(s store.Reader, id string) (int64, error) {
	switch {
	case id == "tip" || id == "latest":
		h := s.Height()
		if h < 0 {
			return 0, fmt.Errorf("%w: the store holds no block yet", store.ErrNotFound)
		}
		return h, nil
	case len(id) == 64:
		hash, err := btc.ParseHash(id)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrBadRef, err)
		}
		return s.BlockByHash(hash)
	}
	h, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, badRef("%q is neither a height, a 64-digit block hash nor \"tip\"", id)
	}
	if h < 0 {
		return 0, badRef("height %d: heights start at 0 (the genesis block)", h)
	}
	return h, nil
}

// EVMBlockRow resolves a block of an EVM store named as the commands and
// the API take it: "tip" (or "latest"), a 0x-prefixed 32-byte hash, or a
// number, in decimal or as JSON-RPC writes it (0x and hex digits). One that
// does not parse is ErrBadRef; one the store does not hold,
// evmstore.ErrNotFound.
func EVMBlockRow(s evmstore.Reader, id string) (uint64, error) {
	digits, isHex := strings.CutPrefix(strings.ToLower(id), "0x")
	switch {
	case id == "tip" || id == "latest":
		return s.TipRow()
	case isHex && len(digits) == 64:
		b, err := hex.DecodeString(digits)
		if err != nil {
			return 0, badRef("%q is not hex", id)
		}
		return s.BlockRowByHash(common.BytesToHash(b))
	case isHex && len(digits) > 0 && len(digits) <= 16:
		n, err := strconv.ParseUint(digits, 16, 64)
		if err != nil {
			return 0, badRef("%q is neither a block number, a 0x-prefixed block hash nor \"tip\"", id)
		}
		return s.BlockRow(n)
	}
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return 0, badRef("%q is neither a block number, a 0x-prefixed block hash nor \"tip\"", id)
	}
	return s.BlockRow(n)
}

// ErrBadRef marks a reference or argument that does not parse.
var ErrBadRef = errors.New("query: bad reference")

func badRef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadRef}, args...)...)
}

// EntityTx is one transaction of an entity, with what it received and spent.
type EntityTx struct {
	TxID        string `json:"txid"`
	BlockHeight int64  `json:"block_height"`
	Received    int64  `json:"received"`
	Sent        int64  `json:"sent"`
}

// EntityTxs lists up to limit transactions touching entity e from offset,
// walking its members in address order and each member's outputs in chain
// order, so that a page is read without loading the entity's whole history.
// A transaction is listed where the walk first meets it; more reports
// whether the walk stopped before the end.
func EntityTxs(s store.Reader, c cluster.Reader, e uint32, offset, limit int) (txs []EntityTx, more bool, err error) {
	members := c.Members(e)
	if len(members) == 0 {
		return nil, false, fmt.Errorf("%w: entity %d", store.ErrNotFound, e)
	}
	seen := map[uint64]int{} // tx -> index in txs, or -1 when skipped by offset
	skipped := 0
	txs = []EntityTx{}
	add := func(n uint64, recv, sent int64) bool {
		if i, ok := seen[n]; ok {
			if i >= 0 {
				txs[i].Received += recv
				txs[i].Sent += sent
			}
			return true
		}
		if skipped < offset {
			seen[n] = -1
			skipped++
			return true
		}
		if len(txs) == limit {
			more = true
			return false
		}
		seen[n] = len(txs)
		txs = append(txs, EntityTx{TxID: s.TxID(n).String(), BlockHeight: s.TxHeight(n), Received: recv, Sent: sent})
		return true
	}
	for _, a := range members {
		err = s.Postings(a, func(o uint64) bool {
			out := s.Output(o)
			tx, _ := s.TxOfOutput(o)
			if !add(tx, out.Value, 0) {
				return false
			}
			if out.Spent {
				return add(out.SpentBy, 0, out.Value)
			}
			return true
		})
		if err != nil || more {
			return txs, more, err
		}
	}
	return txs, false, nil
}

// EVMHotWallets returns the address numbers of the exchange hot wallets
// labelled on the EVM store's chain, with the exchange's name.
func EVMHotWallets(s evmstore.Reader, labels label.Reader) (map[uint32]string, error) {
	hot := map[uint32]string{}
	err := EVMLabels(labels, s.Chain(), func(l label.Label) error {
		if l.Category != label.Exchange {
			return nil
		}
		a, err := evmstore.ParseAddress(l.Address)
		if err != nil {
			return nil
		}
		if n, err := s.AddrNum(a); err == nil {
			hot[n] = strings.TrimSuffix(l.Label, " hot wallet")
		}
		return nil
	})
	return hot, err
}

// EVMLabels calls fn with each label of an EVM store of chain: those
// filed under Ethereum, which screening, tracing and alerts read on any
// EVM store (a listed address is listed on every EVM chain), and those
// filed under the chain's own name.
func EVMLabels(labels label.Reader, chain string, fn func(label.Label) error) error {
	if err := labels.List(label.Filter{Chain: label.ChainETH}, fn); err != nil || chain == label.ChainETH {
		return err
	}
	return labels.List(label.Filter{Chain: chain}, fn)
}

// EVMBridgeDeposit is a transfer into an address labelled bridge (a bridge
// or swap service that pays out on another chain).
type EVMBridgeDeposit struct {
	Transfer uint64
	Tx       uint32
	Bridge   uint32
	Label    string
}

// EVMBridgeDeposits lists, in chain order per bridge, every ETH or token
// transfer into the addresses labelled bridge on the store's chain.
func EVMBridgeDeposits(s evmstore.Reader, labels label.Reader) ([]EVMBridgeDeposit, error) {
	bridges := map[uint32]string{}
	err := EVMLabels(labels, s.Chain(), func(l label.Label) error {
		if l.Category != label.Bridge {
			return nil
		}
		if a, err := evmstore.ParseAddress(l.Address); err == nil {
			if n, err := s.AddrNum(a); err == nil {
				bridges[n] = l.Label
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	nums := make([]uint32, 0, len(bridges))
	for n := range bridges {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	var out []EVMBridgeDeposit
	for _, b := range nums {
		err := s.Postings(b, func(x uint64) bool {
			t := s.Transfer(x)
			if t.To == b && t.From != b && (t.Kind == evm.KindCall || t.Kind == evm.KindInternal || t.Kind == evm.KindToken) {
				out = append(out, EVMBridgeDeposit{Transfer: x, Tx: t.Tx, Bridge: b, Label: bridges[b]})
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EVMTraceOptions gathers what the account-model trace needs from the
// labels: services, exchange hot wallets, deposit addresses.
func EVMTraceOptions(s evmstore.Reader, labels label.Reader, model string, mixerLinks bool) (trace.EVMOptions, error) {
	o := trace.EVMOptions{Model: model, MixerLinks: mixerLinks}
	svc := map[uint32][2]string{}
	err := EVMLabels(labels, s.Chain(), func(l label.Label) error {
		a, err := evmstore.ParseAddress(l.Address)
		if err != nil {
			return nil
		}
		if n, err := s.AddrNum(a); err == nil && l.Category != label.Sanctioned && l.Category != label.StolenFunds {
			svc[n] = [2]string{l.Category, l.Label}
		}
		return nil
	})
	if err != nil {
		return o, err
	}
	o.Services = func(a uint32) (string, string, bool) {
		v, ok := svc[a]
		return v[0], v[1], ok
	}
	if o.HotWallets, err = EVMHotWallets(s, labels); err != nil {
		return o, err
	}
	hot := map[uint32]bool{}
	for a := range o.HotWallets {
		hot[a] = true
	}
	o.Deposits = cluster.ClusterEVM(s, cluster.EVMOptions{Deposits: true, Hot: hot}).Deposits
	return o, nil
}

// TokenDecimals maps the store's token symbols (and addresses) to their
// decimals; ETH has 18.
func TokenDecimals(s evmstore.Reader) map[string]int {
	m := map[string]int{"ETH": 18}
	s.EachToken(func(a uint32, sym string, d uint8) { AddTokenDecimals(m, s, a, sym, d) })
	return m
}

// AddTokenDecimals files token a's decimals in m under the names assets go
// by: its symbol and its address.
func AddTokenDecimals(m map[string]int, s evmstore.Reader, a uint32, sym string, d uint8) {
	m[sym] = int(d)
	m[s.Address(a).Hex()] = int(d)
}

// EVMUSD values an amount of an asset at a day's close (0 without a price).
func EVMUSD(labels label.Reader, decimals map[string]int, asset, amount, day string) float64 {
	v, ok := new(big.Int).SetString(amount, 10)
	if !ok {
		return 0
	}
	usd, _ := EVMValue(labels, decimals, asset, v, day)
	return usd
}

// EVMValue values an amount of an asset, in base units, at a day's close;
// false when the asset's decimals or its price that day are not known.
func EVMValue(labels label.Reader, decimals map[string]int, asset string, amount *big.Int, day string) (float64, bool) {
	dec, known := decimals[asset]
	if !known {
		return 0, false
	}
	p, ok := labels.Price(asset, day)
	if !ok {
		return 0, false
	}
	f, _ := new(big.Float).Quo(new(big.Float).SetInt(amount), new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(dec)), nil))).Float64()
	return f * p, true
}

// EVMStarts resolves trace references on an EVM chain: a transaction hash
// (its value transfers), an address (every transfer of value it received in
// transactions others sent), or incident:ID (the incident's EVM theft
// transactions).
func EVMStarts(s evmstore.Reader, labels label.Reader, refs []string) ([]trace.EVMStart, error) {
	var hashes []string
	var out []trace.EVMStart
	for _, r := range refs {
		if label.IsEVMAddress(r) {
			a, err := evmstore.ParseAddress(r)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrBadRef, err)
			}
			n, err := s.AddrNum(a)
			if err != nil {
				return nil, err
			}
			// Received from others: not in its own transactions, whose
			// incoming transfers (a swap's proceeds, a refund) are its
			// own value coming back, as a Bitcoin address's change.
			if err := s.Postings(n, func(x uint64) bool {
				t := s.Transfer(x)
				if t.To == n && t.From != n && ValueKind(t.Kind) && (t.Tx == evmstore.None || s.Tx(t.Tx).From != n) {
					out = append(out, trace.EVMStart{Transfer: x})
				}
				return true
			}); err != nil {
				return nil, err
			}
			continue
		}
		if id, ok := strings.CutPrefix(r, "incident:"); ok {
			incs, err := labels.Incidents()
			if err != nil {
				return nil, err
			}
			found := false
			for _, i := range incs {
				if i.ID == id {
					found = true
					if i.EVM == nil || i.EVM.Chain != s.Chain() {
						return nil, fmt.Errorf("%w: incident %s has no theft transactions on %s", evmstore.ErrNotFound, id, s.Chain())
					}
					hashes = append(hashes, i.EVM.TheftTxs...)
				}
			}
			if !found {
				return nil, fmt.Errorf("%w: incident %s (spur incident import)", evmstore.ErrNotFound, id)
			}
			continue
		}
		if len(r) != 66 || !strings.HasPrefix(r, "0x") {
			return nil, fmt.Errorf("%w: %q is neither a 0x transaction hash, an address nor incident:ID", ErrBadRef, r)
		}
		hashes = append(hashes, r)
	}
	for _, h := range hashes {
		n, err := s.TxNum(common.HexToHash(h))
		if err != nil {
			return nil, err
		}
		lo, hi := s.TxTransfers(n)
		for x := lo; x < hi; x++ {
			if ValueKind(s.Transfer(x).Kind) {
				out = append(out, trace.EVMStart{Transfer: x})
			}
		}
	}
	// Transfers in chain order, as the replay takes them.
	sort.Slice(out, func(i, j int) bool { return out[i].Transfer < out[j].Transfer })
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the transactions move no value", evmstore.ErrNotFound)
	}
	return out, nil
}

// ValueKind reports the transfers a trace starts from, and screening counts:
// value moved by a call, an internal call, a token or a contract's creation.
func ValueKind(k evm.Kind) bool {
	switch k {
	case evm.KindCall, evm.KindInternal, evm.KindToken, evm.KindCreate:
		return true
	}
	return false
}
