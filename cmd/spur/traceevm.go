package main

import (
	"encoding/csv"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evm"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/trace"
)

// evmStarts resolves trace references on an EVM chain: a transaction hash
// (its value transfers) or incident:ID (the incident's EVM theft
// transactions).
func evmStarts(s *evmstore.Store, labels *label.Store, refs []string) ([]trace.EVMStart, error) {
	var hashes []string
	for _, r := range refs {
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
			return nil, usagef("%q is neither a 0x transaction hash nor incident:ID", r)
		}
		hashes = append(hashes, r)
	}
	var out []trace.EVMStart
	for _, h := range hashes {
		n, err := s.TxNum(common.HexToHash(h))
		if err != nil {
			return nil, err
		}
		lo, hi := s.TxTransfers(n)
		for x := lo; x < hi; x++ {
			switch s.Transfer(x).Kind {
			case evm.KindCall, evm.KindInternal, evm.KindToken, evm.KindCreate:
				out = append(out, trace.EVMStart{Transfer: x})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the transactions move no value", evmstore.ErrNotFound)
	}
	return out, nil
}

// evmTraceOptions gathers what the account-model trace needs from the
// labels: services, exchange hot wallets, deposit addresses.
func evmTraceOptions(s *evmstore.Store, labels *label.Store, model string, mixerLinks bool) (trace.EVMOptions, error) {
	o := trace.EVMOptions{Model: model, MixerLinks: mixerLinks}
	svc := map[uint32][2]string{}
	err := labels.List(label.Filter{Chain: label.ChainETH}, func(l label.Label) error {
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
	if o.HotWallets, err = query.EVMHotWallets(s, labels); err != nil {
		return o, err
	}
	hot := map[uint32]bool{}
	for a := range o.HotWallets {
		hot[a] = true
	}
	o.Deposits = cluster.ClusterEVM(s, cluster.EVMOptions{Deposits: true, Hot: hot}).Deposits
	return o, nil
}

type evmUSDDestination struct {
	trace.EVMDestination
	USD float64 `json:"usd"`
}

// tokenDecimals maps the store's token symbols (and addresses) to their
// decimals; ETH has 18.
func tokenDecimals(s *evmstore.Store) map[string]int {
	m := map[string]int{"ETH": 18}
	for n := uint32(0); uint64(n) < s.Counts().Addrs; n++ {
		if sym, d, ok := s.Token(n); ok {
			m[sym] = int(d)
			m[s.Address(n).Hex()] = int(d)
		}
	}
	return m
}

// usdOf values an amount of an asset at a day's close (0 without a price).
func usdOf(labels *label.Store, decimals map[string]int, asset, amount, day string) float64 {
	v, ok := new(big.Float).SetString(amount)
	dec, known := decimals[asset]
	if !ok || !known {
		return 0
	}
	p, ok := labels.Price(asset, day)
	if !ok {
		return 0
	}
	f, _ := v.Quo(v, new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(dec)), nil))).Float64()
	return f * p
}

func runEVMTrace(sf *storeFlags, chain string, refs []string, model, format string, mixerLinks bool) error {
	s, err := openEVM(sf, chain, false)
	if err != nil {
		return err
	}
	defer s.Close()
	labels, err := openLabels(sf.dir)
	if err != nil {
		return err
	}
	defer labels.Close()
	starts, err := evmStarts(s, labels, refs)
	if err != nil {
		return err
	}
	o, err := evmTraceOptions(s, labels, model, mixerLinks)
	if err != nil {
		return err
	}
	res, err := trace.TraceEVM(s, starts, o)
	if err != nil {
		return err
	}
	day := func(block uint64) string {
		r, err := s.BlockRow(block)
		if err != nil {
			return ""
		}
		return time.Unix(int64(s.Block(r).Time), 0).UTC().Format("2006-01-02")
	}
	decimals := tokenDecimals(s)
	dests := make([]evmUSDDestination, len(res.Destinations))
	for i, d := range res.Destinations {
		dests[i] = evmUSDDestination{d, usdOf(labels, decimals, d.Asset, d.Amount, day(d.Block))}
	}
	switch format {
	case "json":
		return printJSON(os.Stdout, struct {
			*trace.EVMResult
			Destinations []evmUSDDestination `json:"destinations"`
		}{res, dests})
	case "csv":
		w := csv.NewWriter(os.Stdout)
		w.Write([]string{"chain", "block", "tx", "from", "to", "asset", "amount", "link", "clue"})
		for _, f := range res.Flows {
			w.Write([]string{f.Chain, fmt.Sprint(f.Block), f.Tx, f.From, f.To, f.Asset, f.Amount, f.Link, f.Clue})
		}
		w.Flush()
		return w.Error()
	}
	fmt.Printf("model %s; stolen:", res.Model)
	for a, v := range res.Start {
		fmt.Printf(" %s %s", v, a)
	}
	fmt.Printf("; %d transfers replayed, %d flows\n\n", res.Transfers, len(res.Flows))
	t := newTable(os.Stdout)
	t.row("CATEGORY", "LABEL", "ADDRESS", "ASSET", "AMOUNT", "USD", "LINK")
	for _, d := range dests {
		t.row(d.Category, dash(d.Label), dash(d.Address), d.Asset, d.Amount, fmt.Sprintf("%.0f", d.USD), d.Link)
	}
	t.flush()
	if len(res.MixerLinks) > 0 {
		fmt.Printf("\nmixer withdrawals linked by clue: %v\n", res.MixerLinks)
	}
	return nil
}
