package report

import (
	"bytes"
	"encoding/csv"
	"strconv"
)

// csvHeader is the columns of a report as CSV: one row for each place an
// incident's stolen value went, on each chain, for spreadsheets to pivot.
var csvHeader = []string{"incident", "victim", "date", "actor", "chain", "place", "amount", "usd", "share"}

// rows appends the incident's rows: its Bitcoin destinations with their
// amounts in satoshi, then its EVM part's, which are in USD (they add up
// several assets) and have no amount.
func (r *Incident) rows(out [][]string) [][]string {
	row := func(chain, place, amount string, usd, share float64) []string {
		return []string{r.ID, r.Victim, r.Date, r.Actor, chain, place, amount,
			strconv.FormatFloat(usd, 'f', 2, 64), strconv.FormatFloat(share, 'f', 6, 64)}
	}
	if r.hasBitcoin() {
		for _, d := range r.Destinations {
			out = append(out, row("btc", d.Place, strconv.FormatInt(d.Amount, 10), d.USD, d.Share))
		}
	}
	if r.EVM != nil {
		for _, d := range r.EVM.Destinations {
			out = append(out, row(r.EVM.Chain, d.Place, "", d.USD, d.Share))
		}
	}
	return out
}

func writeCSV(rows [][]string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.WriteAll(append([][]string{csvHeader}, rows...)) // a bytes.Buffer takes every write
	return b.String()
}

// CSV is the incident's destinations as CSV (see csvHeader).
func (r *Incident) CSV() string { return writeCSV(r.rows(nil)) }

// CSV is the destinations of every incident of the actor's year as CSV,
// incident by incident (see csvHeader).
func (a *Actor) CSV() string {
	var rows [][]string
	for _, r := range a.Incidents {
		rows = r.rows(rows)
	}
	return writeCSV(rows)
}
