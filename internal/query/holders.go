package query

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/trace"
)

// HolderLabels makes the addresses holding a forward trace's taint
// (trace.Holder) stolen-funds labels, as an investigator publishes them:
// each says whose theft (the incident traced from, refs, with its actor),
// how much of the taint the address received (in all: coins that come
// back to it count again) under the model, and, for
// one a heuristic link ties to it, the link. decimals gives the assets'
// decimals (BTC's 8 are written whole; a token's without its trailing
// zeros; an asset without any, in base units).
func HolderLabels(hs []trace.Holder, labels label.Reader, refs []string, model string, decimals map[string]int) ([]label.Label, error) {
	theft, actor := "taint of a trace from "+strings.Join(refs, ", "), ""
	if id, ok := strings.CutPrefix(refs[0], "incident:"); ok && len(refs) == 1 {
		incs, err := labels.Incidents()
		if err != nil {
			return nil, err
		}
		for _, inc := range incs {
			if inc.ID == id {
				theft, actor = fmt.Sprintf("%s theft of %s (incident %s)", inc.Victim, inc.Date, id), inc.Actor
			}
		}
	}
	out := make([]label.Label, 0, len(hs))
	for _, h := range hs {
		assets := make([]string, 0, len(h.Amounts))
		for a := range h.Amounts {
			assets = append(assets, a)
		}
		sort.Strings(assets)
		amounts := make([]string, len(assets))
		for i, a := range assets {
			amounts[i] = units(h.Amounts[a], decimals[a], a == "BTC") + " " + a
		}
		text := fmt.Sprintf("%s: received %s of its taint (%s)", theft, strings.Join(amounts, ", "), model)
		switch {
		case h.Link == "exact":
		case h.Clue != "":
			text += fmt.Sprintf("; linked by a clue (%s), confidence %.2f", h.Clue, h.Confidence)
		default:
			text += fmt.Sprintf("; paid by an address a clue linked, confidence %.2f", h.Confidence)
		}
		out = append(out, label.Label{Address: h.Address, Chain: h.Chain, Category: label.StolenFunds, Label: text, Actor: actor})
	}
	return out, nil
}

// units writes v base units of an asset of d decimals, its trailing zeros
// kept or not.
func units(v *big.Int, d int, keepZeros bool) string {
	s := new(big.Int).Abs(v).String()
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	whole, frac := s[:len(s)-d], s[len(s)-d:]
	if !keepZeros {
		frac = strings.TrimRight(frac, "0")
	}
	if frac != "" {
		whole += "." + frac
	}
	if v.Sign() < 0 {
		whole = "-" + whole
	}
	return whole
}
