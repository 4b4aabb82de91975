package query

import (
	"time"

	"github.com/spur-forensics/spur/internal/cluster"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
)

// BTCDestination is where a Bitcoin trace's value ended, with the entity
// of its address (when spur cluster has run) and its value in USD at the
// three moments an investigator asks about: the start (the theft's day;
// usd too), its arrival there, and now (the latest close the price table
// holds). 0 where no price is known.
type BTCDestination struct {
	trace.Destination
	Entity     *uint32 `json:"entity,omitempty"`
	USD        float64 `json:"usd"`
	USDStart   float64 `json:"usd_start"`
	USDArrival float64 `json:"usd_arrival"`
	USDNow     float64 `json:"usd_now"`
}

// cents rounds dollars to the cent.
func cents(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// day is the UTC day of a unix time.
func day(unix int64) string { return time.Unix(unix, 0).UTC().Format("2006-01-02") }

// EntityOf says the entity of an address number (cluster.Clusters loaded,
// or cluster.Entities read a row at a time); nil: no clustering.
type EntityOf func(a uint32) (uint32, bool, error)

// Loaded is EntityOf for a clustering loaded whole (nil: none).
func Loaded(c *cluster.Clusters) EntityOf {
	if c == nil {
		return nil
	}
	return func(a uint32) (uint32, bool, error) { e, ok := c.Entity(a); return e, ok, nil }
}

// BTCDestinations values a Bitcoin trace's destinations; start is the
// start day. It returns the day whose close is "now" ("" without prices).
func BTCDestinations(s store.Reader, entity EntityOf, labels label.Reader, res *trace.Result, start string) ([]BTCDestination, string, error) {
	usd := func(sat int64, day string) float64 {
		p, ok := labels.Price("BTC", day)
		if !ok {
			return 0
		}
		return cents(float64(sat) / 1e8 * p)
	}
	now, nowPrice, _ := labels.LastPrice("BTC")
	out := make([]BTCDestination, len(res.Destinations))
	for i, d := range res.Destinations {
		v := BTCDestination{Destination: d, USDStart: usd(d.Amount, start), USDArrival: usd(d.Amount, day(d.Time)), USDNow: cents(float64(d.Amount) / 1e8 * nowPrice)}
		v.USD = v.USDStart
		if entity != nil && d.Address != "" {
			n, ok, err := AddressNumber(s, d.Address)
			if err != nil {
				return nil, "", err
			}
			if ok {
				e, ok, err := entity(n)
				if err != nil {
					return nil, "", err
				}
				if ok {
					v.Entity = &e
				}
			}
		}
		out[i] = v
	}
	return out, now, nil
}

// EVMDestination is where an account-model trace's value ended, in USD at
// its arrival (usd too), at the start and now, as BTCDestination.
type EVMDestination struct {
	trace.EVMDestination
	USD        float64 `json:"usd"`
	USDStart   float64 `json:"usd_start"`
	USDArrival float64 `json:"usd_arrival"`
	USDNow     float64 `json:"usd_now"`
}

// EVMDestinations values an account-model trace's destinations: at the
// day of their arrival's block, at the start day, and at each asset's
// latest close. It returns the day of ETH's latest close, "now".
func EVMDestinations(s evmstore.Reader, labels label.Reader, decimals map[string]int, res *trace.EVMResult, start string) ([]EVMDestination, string) {
	out := make([]EVMDestination, len(res.Destinations))
	for i, d := range res.Destinations {
		v := EVMDestination{EVMDestination: d, USDArrival: EVMUSD(labels, decimals, d.Asset, d.Amount, EVMBlockDay(s, d.Block)), USDStart: EVMUSD(labels, decimals, d.Asset, d.Amount, start)}
		if last, _, ok := labels.LastPrice(d.Asset); ok {
			v.USDNow = EVMUSD(labels, decimals, d.Asset, d.Amount, last)
		}
		v.USD = v.USDArrival
		out[i] = v
	}
	now, _, _ := labels.LastPrice("ETH")
	return out, now
}

// EVMBlockDay is the UTC day of block number n of an EVM store, "" for a
// block it does not hold.
func EVMBlockDay(s evmstore.Reader, n uint64) string {
	r, err := s.BlockRow(n)
	if err != nil {
		return ""
	}
	return day(int64(s.Block(r).Time))
}

// EVMStartDay is the day of the earliest start transfer's block.
func EVMStartDay(s evmstore.Reader, starts []trace.EVMStart) string {
	if len(starts) == 0 {
		return ""
	}
	first := starts[0].Transfer
	for _, st := range starts {
		first = min(first, st.Transfer)
	}
	return day(int64(s.Block(s.TransferBlock(first)).Time))
}
