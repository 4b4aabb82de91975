// Package report turns traces of incidents into what an investigator
// hands over: per incident and per actor and year, the value stolen at the
// theft day's price, where it went (each exchange, still unspent, mixers'
// fees), how much passed through CoinJoins and mixers, on both chains when
// the Ethereum store is there (evm.go: swaps, mixer links and bridge
// payouts matched on Bitcoin), as JSON, Markdown, or a self-contained HTML
// page with SVG charts.
package report

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/graph"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
	"github.com/spur-forensics/spur/internal/trace"
)

// Destination is where part of the stolen value ended, by place.
type Destination struct {
	Place  string  `json:"place"` // "exchange: NAME", "unspent", "mixer", "dust", "limit", ...
	Amount int64   `json:"amount"`
	USD    float64 `json:"usd"`
	Share  float64 `json:"share"`
}

// Incident is the report of one incident.
type Incident struct {
	ID         string  `json:"id"`
	Victim     string  `json:"victim"`
	Date       string  `json:"date"`
	Actor      string  `json:"actor"`
	Chain      string  `json:"chain"`
	Asset      string  `json:"asset"`
	Model      string  `json:"model"`
	Stolen     int64   `json:"stolen"`
	PriceUSD   float64 `json:"price_usd"`
	StolenUSD  float64 `json:"stolen_usd"`
	Mixed      int64   `json:"mixed"` // of the traced value, what went through CoinJoins
	MixedShare float64 `json:"mixed_share"`
	CashedOut  int64   `json:"at_exchanges"`
	Unspent    int64   `json:"unspent"`
	// UnspentUSDNow is what is still unspent on Bitcoin at the latest
	// close the price table holds (NowDay's): what could still be frozen.
	UnspentUSDNow float64       `json:"unspent_usd_now"`
	NowDay        string        `json:"now_day,omitempty"`
	Destinations  []Destination `json:"destinations"`
	TxsFollowed   int           `json:"txs_followed"`
	// Heuristic is what of the traced value came out of CoinJoins by
	// outputs a public clue links to it (MixerLinks counts them, by clue).
	Heuristic  int64          `json:"heuristic"`
	MixerLinks map[string]int `json:"mixer_links,omitempty"`
	// EVM is the incident's part on an EVM chain, when it has one and the
	// chain is in the store.
	EVM *EVMPart `json:"evm,omitempty"`
	// TotalUSD is the whole theft at the theft day's closes, every chain.
	TotalUSD float64 `json:"total_usd"`
	// Timeline is where the value arrived, by month (USD at theft).
	Timeline []TimePoint `json:"timeline"`
	// NotInStore names the chains of the incident's parts that the store
	// does not hold, which the report leaves out.
	NotInStore []string `json:"not_in_store,omitempty"`
	// Provenance is what the report was made from (an actor's report
	// says it once, for all its incidents).
	Provenance *Provenance `json:"provenance,omitempty"`
	// drawings draw the traces of each part, for the HTML page; made
	// only when asked for.
	drawings []func() *graph.Graph
}

// TimePoint is value that arrived at a kind of place in a month.
type TimePoint struct {
	Month string  `json:"month"` // YYYY-MM
	Place string  `json:"place"` // exchange, unspent, mixer, bridge, other
	USD   float64 `json:"usd"`
}

// placeKind groups places for the timeline.
func placeKind(p string) string {
	for _, k := range []string{"exchange", "unspent", "mixer", "bridge"} {
		if strings.HasPrefix(p, k) {
			return k
		}
	}
	return "other"
}

func addTime(tl map[[2]string]float64, t time.Time, place string, usd float64) {
	if usd > 0 && !t.IsZero() {
		tl[[2]string{t.UTC().Format("2006-01"), placeKind(place)}] += usd
	}
}

func timeline(tl map[[2]string]float64) []TimePoint {
	var out []TimePoint
	for k, v := range tl {
		out = append(out, TimePoint{Month: k[0], Place: k[1], USD: round2(v)})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Month < out[j].Month || out[i].Month == out[j].Month && out[i].Place < out[j].Place
	})
	return out
}

// Actor is the report of an actor's incidents in a year.
type Actor struct {
	Actor        string             `json:"actor"`
	AliasOf      []string           `json:"alias_of,omitempty"` // the listed parties Actor is an alias of
	LeftOut      []string           `json:"left_out,omitempty"` // incidents on chains the store does not hold
	Year         int                `json:"year"`
	Model        string             `json:"model"`
	Incidents    []*Incident        `json:"incidents"`
	StolenUSD    float64            `json:"stolen_usd"`
	AssetMix     map[string]float64 `json:"asset_mix"`    // share of stolen USD: BTC, ETH, tokens
	MixedShare   float64            `json:"mixed_share"`  // through CoinJoins and mixers
	Destinations []Destination      `json:"destinations"` // in USD at each theft's day
	// HeuristicShare is the share of the stolen USD whose place rests on
	// heuristic links (mixer withdrawals, CoinJoin outputs).
	HeuristicShare float64 `json:"heuristic_share"`
	// Timeline is where the value arrived, by month, all incidents.
	Timeline []TimePoint `json:"timeline"`
	// UnspentUSD is what is still unspent, every chain (at theft-day
	// prices), and UnspentUSDNow the same at the latest closes (NowDay's).
	UnspentUSD    float64 `json:"unspent_usd"`
	UnspentUSDNow float64 `json:"unspent_usd_now"`
	NowDay        string  `json:"now_day,omitempty"`
	// Provenance is what the report was made from.
	Provenance *Provenance `json:"provenance"`
}

// ForIncident traces one incident and summarises it; es (which may be nil)
// holds the EVM chain of the incident's EVM part.
func ForIncident(s store.Reader, es evmstore.Reader, labels label.Reader, inc label.Incident, model string) (*Incident, error) {
	r, err := forIncident(s, es, labels, inc, model, nil)
	if err != nil {
		return nil, err
	}
	if r.Provenance, err = provenance(s, es, labels, r.Model); err != nil {
		return nil, err
	}
	return r, nil
}

// forIncident is ForIncident with the EVM trace's options, when a caller
// reporting several incidents has them already (they take a pass over every
// transfer to find deposit addresses).
func forIncident(s store.Reader, es evmstore.Reader, labels label.Reader, inc label.Incident, model string, eo *trace.EVMOptions) (*Incident, error) {
	r := &Incident{ID: inc.ID, Victim: inc.Victim, Date: inc.Date, Actor: inc.Actor, Chain: inc.Chain, Model: model}
	tl := map[[2]string]float64{}
	// An incident on an EVM chain alone has no Bitcoin part; s may then
	// be nil.
	// A part on a chain the store does not hold is left out and named;
	// an incident with no part the store holds is not found.
	btcPart, evmPart := len(inc.TheftTxs) > 0, inc.EVM != nil && len(inc.EVM.TheftTxs) > 0
	btcHeld, evmHeld := btcPart && s != nil, evmPart && es != nil && inc.EVM.Chain == es.Chain()
	switch {
	case btcHeld || evmHeld:
	case !evmPart:
		return nil, fmt.Errorf("%w: incident %s: its Bitcoin theft needs a store of the Bitcoin chain", errNoneHeld, inc.ID)
	case !btcPart:
		return nil, fmt.Errorf("%w: incident %s: its theft is on %s, which the store does not hold", errNoneHeld, inc.ID, inc.EVM.Chain)
	default:
		return nil, fmt.Errorf("%w: incident %s: the store holds neither of its chains (btc, %s)", errNoneHeld, inc.ID, inc.EVM.Chain)
	}
	if btcPart && !btcHeld {
		r.NotInStore = append(r.NotInStore, label.ChainBTC)
	}
	if evmPart && !evmHeld {
		r.NotInStore = append(r.NotInStore, inc.EVM.Chain)
	}
	if btcHeld {
		if err := forBitcoin(s, labels, inc, r, tl); err != nil {
			return nil, err
		}
	}
	if evmHeld {
		var err error
		if r.EVM, err = forEVM(s, es, labels, inc, r.Date, model, eo); err != nil {
			return nil, err
		}
		r.drawings = append(r.drawings, r.EVM.drawing)
		r.TotalUSD += r.EVM.StolenUSD
		r.NowDay = max(r.NowDay, r.EVM.NowDay)
		for _, p := range r.EVM.timeline {
			tl[[2]string{p.Month, p.Place}] += p.USD
		}
	}
	r.Timeline = timeline(tl)
	if r.Destinations == nil {
		r.Destinations = []Destination{}
	}
	return r, nil
}

// errNoneHeld is an incident none of whose chains the store holds.
var errNoneHeld = fmt.Errorf("%w", store.ErrNotFound)

// forBitcoin traces the incident's Bitcoin theft into r.
func forBitcoin(s store.Reader, labels label.Reader, inc label.Incident, r *Incident, tl map[[2]string]float64) error {
	starts, day, err := query.ResolveRefs(s, labels, inc.TheftTxs)
	if err != nil {
		return fmt.Errorf("report: incident %s: %w", inc.ID, err)
	}
	// Through CoinJoins by the outputs public clues link, as the EVM
	// part goes through the mixer by linked withdrawals.
	opts := trace.Options{Model: r.Model, MixerLinks: true}
	if opts.Services, opts.HotWallets, err = query.Services(s, labels); err != nil {
		return err
	}
	res, err := trace.Forward(s, starts, opts)
	if err != nil {
		return err
	}
	if inc.Date != "" {
		day = inc.Date
	}
	price, _ := labels.Price("BTC", day)
	r.Date, r.Asset, r.Model = day, "BTC", res.Model
	r.Stolen, r.PriceUSD, r.StolenUSD, r.TxsFollowed = res.Start, price, usd(res.Start, price), res.TxsVisited
	places := map[string]int64{}
	for _, d := range res.Destinations {
		addTime(tl, time.Unix(d.Time, 0), d.Category, usd(d.Amount, price))
		place := d.Category
		if d.Category == "exchange" {
			place = exchangePlace(d.Label)
			r.CashedOut += d.Amount
		}
		if d.Category == "unspent" {
			r.Unspent += d.Amount
		}
		places[place] += d.Amount
		r.Mixed += d.Mixed
		if d.Link == "heuristic" {
			r.Heuristic += d.Amount
		}
	}
	r.MixerLinks = res.MixerLinks
	r.drawings = append(r.drawings, func() *graph.Graph {
		return graph.FromBTC(res, false, "Bitcoin: "+graph.Title(res.Model, false, []string{"incident:" + inc.ID})+" (with mixer links)", func(sat int64) float64 { return usd(sat, price) })
	})
	if day, now, ok := labels.LastPrice("BTC"); ok {
		r.NowDay, r.UnspentUSDNow = day, usd(r.Unspent, now)
	}
	if r.Stolen > 0 {
		r.MixedShare = float64(r.Mixed) / float64(r.Stolen)
	}
	r.Destinations = destinations(places, r.Stolen, price)
	r.TotalUSD = r.StolenUSD
	return nil
}

// exchangePlace names the exchange a destination's label says it is (its
// deposit address's or hot wallet's label), or says none does: a deposit
// address found by its sweeps into a hot wallet no label names.
func exchangePlace(label string) string {
	name := strings.TrimSuffix(strings.TrimSuffix(label, " deposit"), " hot wallet")
	if name == "" {
		return "exchange (unnamed)"
	}
	return "exchange: " + name
}

func usd(sat int64, price float64) float64 {
	return float64(int64(float64(sat)/1e8*price*100+0.5)) / 100
}

func destinations(places map[string]int64, total int64, price float64) []Destination {
	var out []Destination
	for p, v := range places {
		d := Destination{Place: p, Amount: v, USD: usd(v, price)}
		if total > 0 {
			d.Share = float64(v) / float64(total)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Amount > out[j].Amount || out[i].Amount == out[j].Amount && out[i].Place < out[j].Place
	})
	return out
}

// ForActor reports every incident of an actor in a year, on both chains
// when es (which may be nil) holds the EVM one.
func ForActor(s store.Reader, es evmstore.Reader, labels label.Reader, actor string, year int, model string) (*Actor, error) {
	incs, err := labels.Incidents()
	if err != nil {
		return nil, err
	}
	a := &Actor{Actor: actor, Year: year, Model: model, AssetMix: map[string]float64{}, Incidents: []*Incident{}}
	usdBy := map[string]float64{}
	tl := map[[2]string]float64{}
	var mixedUSD, heurUSD float64
	// An alias a sanctions list gives the actor (OFAC's "HIDDEN COBRA")
	// stands for the party's listed name.
	names := []string{actor}
	parties, err := labels.AliasOf(actor)
	if err != nil {
		return nil, err
	}
	for _, p := range parties {
		names = append(names, p.Name)
		a.AliasOf = append(a.AliasOf, fmt.Sprintf("%s (%s %s)", p.Name, p.Source, p.ID))
	}
	var eo *trace.EVMOptions // computed once, for every incident
	for _, inc := range incs {
		d, err := time.Parse("2006-01-02", inc.Date)
		if err != nil || !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(inc.Actor, n) }) || d.Year() != year {
			continue
		}
		if es != nil && eo == nil {
			o, err := query.EVMTraceOptions(es, labels, model, true)
			if err != nil {
				return nil, err
			}
			eo = &o
		}
		r, err := forIncident(s, es, labels, inc, model, eo)
		if errors.Is(err, errNoneHeld) {
			a.LeftOut = append(a.LeftOut, inc.ID)
			continue
		}
		if err != nil {
			return nil, err
		}
		r.drawings = nil // an actor's page draws no paths: its incidents' traces need not be kept
		a.Incidents = append(a.Incidents, r)
		a.StolenUSD += r.TotalUSD
		for _, p := range r.Timeline {
			tl[[2]string{p.Month, p.Place}] += p.USD
		}
		if r.Asset != "" {
			a.AssetMix[r.Asset] += r.StolenUSD
		}
		mixedUSD += usd(r.Mixed, r.PriceUSD)
		heurUSD += usd(r.Heuristic, r.PriceUSD)
		for _, dst := range r.Destinations {
			usdBy[dst.Place] += dst.USD
		}
		a.UnspentUSDNow += r.UnspentUSDNow
		a.NowDay = max(a.NowDay, r.NowDay)
		if r.EVM != nil {
			a.UnspentUSDNow += r.EVM.UnspentUSDNow
			for asset, v := range r.EVM.AssetUSD {
				if asset != "ETH" {
					asset = "tokens"
				}
				a.AssetMix[asset] += v
			}
			mixedUSD += r.EVM.MixerUSD
			heurUSD += r.EVM.HeuristicUSD
			for _, dst := range r.EVM.Destinations {
				usdBy[dst.Place] += dst.USD
			}
		}
	}
	if len(a.Incidents) == 0 {
		if len(a.LeftOut) > 0 {
			return nil, fmt.Errorf("%w: the incidents of %q in %d (%s) are on chains this store does not hold", store.ErrNotFound, actor, year, strings.Join(a.LeftOut, ", "))
		}
		return nil, fmt.Errorf("%w: no incidents of %q in %d", store.ErrNotFound, actor, year)
	}
	sort.Slice(a.Incidents, func(i, j int) bool { return a.Incidents[i].Date < a.Incidents[j].Date })
	a.Timeline = timeline(tl)
	for k, v := range a.AssetMix {
		a.AssetMix[k] = v / max(a.StolenUSD, 1e-9)
	}
	if a.StolenUSD > 0 {
		a.MixedShare = mixedUSD / a.StolenUSD
		a.HeuristicShare = heurUSD / a.StolenUSD
	}
	for p, v := range usdBy {
		a.Destinations = append(a.Destinations, Destination{Place: p, USD: float64(int64(v*100+0.5)) / 100, Share: v / max(a.StolenUSD, 1e-9)})
		if strings.HasPrefix(p, "unspent") {
			a.UnspentUSD += v
		}
	}
	a.UnspentUSD, a.UnspentUSDNow = round2(a.UnspentUSD), round2(a.UnspentUSDNow)
	sort.Slice(a.Destinations, func(i, j int) bool { return a.Destinations[i].USD > a.Destinations[j].USD })
	if a.Provenance, err = provenance(s, es, labels, model); err != nil {
		return nil, err
	}
	return a, nil
}
