package label

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
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
		if err := i.Check(); err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: %v", ErrMalformed, path, n.Line, err)
		}
		out = append(out, i)
	}
	return out, nil
}

// Check names an incident's chains as spur names them (a theft on an EVM
// chain alone becomes its evm part) and says what is wrong with it: an
// id, a date and theft transactions are needed, each written as its chain
// writes it (a txid or txid:vout on Bitcoin, a 0x hash on an EVM chain).
func (i *Incident) Check() error {
	i.Chain = incidentChain(i.Chain)
	if i.EVM != nil {
		i.EVM.Chain = incidentChain(i.EVM.Chain)
	}
	if i.Chain != ChainBTC && i.EVM == nil && len(i.TheftTxs) > 0 {
		i.EVM = &IncidentEVM{Chain: i.Chain, TheftTxs: i.TheftTxs}
		i.TheftTxs = nil
	}
	if i.ID == "" || len(i.TheftTxs) == 0 && (i.EVM == nil || len(i.EVM.TheftTxs) == 0) {
		return errors.New("an incident needs an id and theft_txs")
	}
	if i.EVM != nil && (i.EVM.Chain == "" || i.EVM.Chain == ChainBTC) {
		return fmt.Errorf("the evm part needs an EVM chain (eth, sepolia, ...), not %q", i.EVM.Chain)
	}
	if _, err := time.Parse("2006-01-02", i.Date); err != nil {
		return fmt.Errorf("date %q is not YYYY-MM-DD", i.Date)
	}
	for _, tx := range i.TheftTxs {
		txid, vout, hasVout := strings.Cut(tx, ":")
		if !hexOf(txid, 64) || hasVout && !isUint(vout) {
			return fmt.Errorf("theft tx %q: want a txid (64 hex digits) or txid:vout", tx)
		}
	}
	if i.EVM != nil {
		for _, tx := range i.EVM.TheftTxs {
			if !strings.HasPrefix(tx, "0x") || !hexOf(tx[2:], 64) {
				return fmt.Errorf("evm theft tx %q: want a transaction hash (0x and 64 hex digits)", tx)
			}
		}
		for _, a := range i.EVM.VictimAddresses {
			if !strings.HasPrefix(a, "0x") || !hexOf(a[2:], 40) {
				return fmt.Errorf("evm victim address %q: want 0x and 40 hex digits", a)
			}
		}
	}
	return nil
}

// hexOf says whether s is n hex digits.
func hexOf(s string, n int) bool { return len(s) == n && isHex(s) }

// isUint says whether s is a decimal number that fits 32 bits, as an
// output's index does.
func isUint(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// incidentChain names an incident's chain as spur does: lower case, the
// currency or the chain's own name taken for its code; Bitcoin when none is
// given.
func incidentChain(c string) string {
	if c = strings.TrimSpace(c); c == "" {
		return ChainBTC
	}
	return chainOfCurrency(strings.ToUpper(c), "")
}

// PriceFile is what ParsePrices read: the closes by asset and day, the
// file's layout, and for a file of one asset which asset it was taken for.
type PriceFile struct {
	Prices map[string]map[string]float64 // asset -> YYYY-MM-DD -> USD
	Format string                        // "spur", "yahoo" or "coingecko"
	Asset  string                        // a one-asset file's asset
	Named  bool                          // Asset was taken from the file's name
}

// ParsePrices reads daily USD closes from a CSV file, told by its header:
// spur's own (date,asset,usd, any number of assets), or one asset's as a
// price site exports it: Yahoo Finance's history (Date,Open,High,Low,Close,
// Adj Close,Volume: each UTC day's close; days without data, "null", are
// skipped) or CoinGecko's (snapped_at,price,market_cap,total_volume: the
// price at 00:00 UTC of each day, which is the close of the day before, and
// is kept as that). A one-asset file's asset is asset, else what the
// file's name says as the sites name their exports (BTC-USD.csv,
// btc-usd-max.csv).
func ParsePrices(path, asset string) (*PriceFile, error) {
	b, err := csvBytes(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: line 1: %v", ErrMalformed, path, err)
	}
	for i := range head {
		head[i] = strings.ToLower(strings.TrimSpace(head[i]))
	}
	pf := &PriceFile{Prices: map[string]map[string]float64{}}
	// Each layout: the columns of the day, the price and (spur's) the asset.
	dayCol, priceCol, assetCol := 0, 0, -1
	switch h := strings.Join(head, ","); {
	case h == "date,asset,usd":
		pf.Format, priceCol, assetCol = "spur", 2, 1
	case strings.HasPrefix(h, "date,open,high,low,close"):
		pf.Format, priceCol = "yahoo", 4
	case strings.HasPrefix(h, "snapped_at,price"):
		pf.Format, priceCol = "coingecko", 1
	default:
		return nil, fmt.Errorf("%w: %s: line 1: want the header date,asset,usd (or a Yahoo Finance or CoinGecko export of one asset: Date,Open,High,Low,Close,... or snapped_at,price,...)", ErrMalformed, path)
	}
	if assetCol < 0 {
		pf.Asset = strings.ToUpper(strings.TrimSpace(asset))
		if pf.Asset == "" {
			pf.Asset, pf.Named = assetOfName(path), true
		}
		if pf.Asset == "" {
			return nil, fmt.Errorf("%w: %s: a %s export of one asset whose name does not say which: give --asset", ErrMalformed, path, pf.Format)
		}
	} else if asset != "" {
		return nil, fmt.Errorf("%w: %s: --asset is for a file of one asset; this one names its assets", ErrMalformed, path)
	}
	r.FieldsPerRecord = len(head)
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
		day := strings.TrimSpace(rec[dayCol])
		if pf.Format == "coingecko" {
			// "2021-08-19 00:00:00 UTC": the close of 2021-08-18.
			t, err := time.Parse("2006-01-02 15:04:05 UTC", day)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: line %d: snapped_at %q (want YYYY-MM-DD HH:MM:SS UTC)", ErrMalformed, path, line, day)
			}
			day = t.Add(-time.Second).UTC().Format("2006-01-02")
		} else if _, err := time.Parse("2006-01-02", day); err != nil {
			return nil, fmt.Errorf("%w: %s: line %d: date %q", ErrMalformed, path, line, rec[dayCol])
		}
		text := strings.TrimSpace(rec[priceCol])
		if pf.Format == "yahoo" && text == "null" {
			continue // a day Yahoo has no data for
		}
		usd, err := strconv.ParseFloat(text, 64)
		if err != nil || usd < 0 || math.IsInf(usd, 0) || math.IsNaN(usd) {
			return nil, fmt.Errorf("%w: %s: line %d: price %q", ErrMalformed, path, line, rec[priceCol])
		}
		// Symbols as traces name assets (BTC, ETH, USDT), whatever case
		// the file writes them in.
		a := pf.Asset
		if assetCol >= 0 {
			a = strings.ToUpper(strings.TrimSpace(rec[assetCol]))
		}
		if pf.Prices[a] == nil {
			pf.Prices[a] = map[string]float64{}
		}
		pf.Prices[a][day] = usd
	}
	return pf, nil
}

// assetOfName is the asset a price file's name gives, as the sites name
// their exports, the symbol then "-USD" (Yahoo's BTC-USD.csv, CoinGecko's
// btc-usd-max.csv); "" for any other name.
func assetOfName(path string) string {
	base := strings.ToUpper(filepath.Base(path))
	i := strings.Index(base, "-USD")
	if i < 1 || i > 10 {
		return ""
	}
	for _, c := range base[:i] {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return ""
		}
	}
	return base[:i]
}
