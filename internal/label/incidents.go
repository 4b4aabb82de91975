package label

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ParseIncidents reads an incidents file (YAML: a list under "incidents",
// each with id, victim, date, actor, chain and theft_txs, and an evm part
// for an incident on both chains). An incident whose chain is an EVM chain
// ("chain: eth", as a theft of ether alone is written) has its theft
// transactions there: they become its evm part. Chains are named as spur
// names them ("Ethereum" is eth).
func ParseIncidents(path string) ([]Incident, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	var doc struct {
		Incidents []yaml.Node `yaml:"incidents"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, path, err)
	}
	if len(doc.Incidents) == 0 {
		return nil, fmt.Errorf("%w: %s: no incidents list", ErrMalformed, path)
	}
	var out []Incident
	for _, n := range doc.Incidents {
		var i Incident
		if err := n.Decode(&i); err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: %v", ErrMalformed, path, n.Line, err)
		}
		i.Chain = incidentChain(i.Chain)
		if i.EVM != nil {
			i.EVM.Chain = incidentChain(i.EVM.Chain)
		}
		if i.Chain != ChainBTC && i.EVM == nil && len(i.TheftTxs) > 0 {
			i.EVM = &IncidentEVM{Chain: i.Chain, TheftTxs: i.TheftTxs}
			i.TheftTxs = nil
		}
		if i.ID == "" || len(i.TheftTxs) == 0 && (i.EVM == nil || len(i.EVM.TheftTxs) == 0) {
			return nil, fmt.Errorf("%w: %s: line %d: an incident needs an id and theft_txs", ErrMalformed, path, n.Line)
		}
		if i.EVM != nil && (i.EVM.Chain == "" || i.EVM.Chain == ChainBTC) {
			return nil, fmt.Errorf("%w: %s: line %d: the evm part needs an EVM chain (eth, sepolia, ...), not %q", ErrMalformed, path, n.Line, i.EVM.Chain)
		}
		if _, err := time.Parse("2006-01-02", i.Date); err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: date %q is not YYYY-MM-DD", ErrMalformed, path, n.Line, i.Date)
		}
		out = append(out, i)
	}
	return out, nil
}

// incidentChain names an incident's chain as spur does: lower case, the
// currency or the chain's own name taken for its code; Bitcoin when none is
// given.
func incidentChain(c string) string {
	switch c = strings.ToLower(strings.TrimSpace(c)); c {
	case "", "bitcoin", "xbt":
		return ChainBTC
	case "ethereum", "ether":
		return ChainETH
	}
	return c
}

// ParsePrices reads daily USD prices: a CSV with the header date,asset,usd.
func ParsePrices(path string) (map[string]map[string]float64, error) {
	b, err := csvBytes(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = 3
	head, err := r.Read()
	if err != nil || strings.Join(head, ",") != "date,asset,usd" {
		return nil, fmt.Errorf("%w: %s: line 1: want the header date,asset,usd", ErrMalformed, path)
	}
	out := map[string]map[string]float64{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			return nil, fmt.Errorf("%w: %s: line %d: %v", ErrMalformed, path, line, err)
		}
		if _, err := time.Parse("2006-01-02", rec[0]); err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: date %q", ErrMalformed, path, line, rec[0])
		}
		usd, err := strconv.ParseFloat(rec[2], 64)
		if err != nil || usd < 0 {
			return nil, fmt.Errorf("%w: %s: line %d: price %q", ErrMalformed, path, line, rec[2])
		}
		// Symbols as traces name assets (BTC, ETH, USDT), whatever case
		// the file writes them in.
		asset := strings.ToUpper(strings.TrimSpace(rec[1]))
		if out[asset] == nil {
			out[asset] = map[string]float64{}
		}
		out[asset][rec[0]] = usd
	}
	return out, nil
}
