package trace

import (
	"math/big"
	"slices"

	"github.com/spur-forensics/spur/internal/evmstore"
)

// Holder is an address a forward trace's taint reached and that holds it
// for whoever holds the taint: what an investigator publishes as stolen
// funds, for exchanges to screen deposits against.
//
// Left out: the services the taint ended at (exchanges and their deposit
// addresses, mixers, bridges, whatever the labels call a service), dust,
// the outputs a CoinJoin paid taint to only by their place in it (FIFO's
// order, or a poison or haircut share), which are any participant's, and
// addresses that only a heuristic link ties to the taint when the link is
// less sure than the bound asked for or its clue says nothing of who owns
// them (OwnerClues).
type Holder struct {
	Chain   string
	Address string
	// Amounts is the taint it received, by asset, in base units.
	Amounts map[string]*big.Int
	// Link is exact when taint reached it by the transactions alone, else
	// heuristic: a public clue's link to a mix output or withdrawal (Clue)
	// ties it to the taint, or an address so tied paid it (Clue empty).
	// Confidence is the link's (the clue's, or that of the address that
	// paid it), the highest of those that reached it; 1 for exact.
	Link       string
	Clue       string
	Confidence float64
}

// HolderConfidence is the default bound on the heuristic links of the
// holders (spur trace --min-confidence).
const HolderConfidence = 0.8

// OwnerClues are the clues of a heuristic link that say who owns the
// address linked: outputs spent together (consolidation), an address the
// taint reached before (address-reuse), a CoinJoin's change output, which
// pays its maker back. A withdrawal's timing or gas price says only that
// it may be the taint coming out of the mixer, whoever takes it: in the
// synthetic world nearly as many timing links reach someone else as the
// thief, however sure the clue.
var OwnerClues = []string{"consolidation", "address-reuse", "change"}

// holders gathers the holders of flows in the order the trace reached
// them, with how sure each is to be the taint owner's.
type holders struct {
	min    float64
	byAddr map[string]*Holder
	order  []string
}

// add files a flow of amount from from to to: exact, linked by clue (with
// its confidence), or heuristic downstream of a link (clue empty: as sure
// as from is).
func (h *holders) add(chain, from, to, asset string, amount *big.Int, link, clue string, confidence float64) {
	switch {
	case link == "exact":
		confidence = 1
	case clue == "":
		confidence = 0
		if x := h.byAddr[from]; x != nil {
			confidence = x.Confidence
		}
	case !slices.Contains(OwnerClues, clue):
		return
	case clue == "address-reuse":
		// The taint reached the address before: the link is as sure as
		// that was, and makes no holder of an address no sure link
		// reached (a withdrawal's timing, say).
		x := h.byAddr[to]
		if x == nil {
			return
		}
		confidence = min(confidence, x.Confidence)
	}
	if link != "exact" && (confidence < h.min || confidence == 0) {
		return
	}
	if h.byAddr == nil {
		h.byAddr = map[string]*Holder{}
	}
	x, ok := h.byAddr[to]
	if !ok {
		x = &Holder{Chain: chain, Address: to, Amounts: map[string]*big.Int{}, Link: link, Clue: clue, Confidence: confidence}
		h.byAddr[to] = x
		h.order = append(h.order, to)
	}
	if a := x.Amounts[asset]; a != nil {
		a.Add(a, amount)
	} else {
		x.Amounts[asset] = new(big.Int).Set(amount)
	}
	if confidence > x.Confidence || link == "exact" {
		x.Link, x.Clue, x.Confidence = link, clue, confidence
	}
}

// list returns the holders but those in skip.
func (h *holders) list(skip map[string]bool) []Holder {
	out := []Holder{}
	for _, a := range h.order {
		if !skip[a] {
			out = append(out, *h.byAddr[a])
		}
	}
	return out
}

// stillHeld are the destination categories whose address holds the
// taint: it stayed there, or the trace stopped following it.
var stillHeld = []string{"unspent", "limit"}

// Holders lists the addresses of a forward trace that hold its taint
// (Holder), in the order the trace reached them; a heuristic link must be
// at least minConfidence sure (0 to 1).
func (r *Result) Holders(minConfidence float64) []Holder {
	h := holders{min: minConfidence}
	for _, f := range slices.Concat(r.Starts, r.Flows) {
		own := f.Amount - f.mixed
		if f.Link == "heuristic" {
			own = f.Amount // a link ties it to the taint, mixed or not
		}
		if f.To != "" && own > 0 {
			h.add(f.Chain, f.From, f.To, f.Asset, big.NewInt(own), f.Link, f.Clue, f.Confidence)
		}
	}
	skip := map[string]bool{}
	for _, d := range r.Destinations {
		if !slices.Contains(stillHeld, d.Category) {
			skip[d.Address] = true
		}
	}
	return h.list(skip)
}

// Holders lists the addresses of a forward EVM trace that hold its taint
// (Holder), in the order the trace reached them; a heuristic link must be
// at least minConfidence sure (0 to 1). The contracts the taint passed
// through (DEX pairs and routers, WETH, mixer pools) hold none of it, nor
// do the addresses service says are services; nil, none.
func (r *EVMResult) Holders(minConfidence float64, service func(addr string) bool) []Holder {
	h := holders{min: minConfidence}
	for _, f := range r.Flows {
		amount, ok := new(big.Int).SetString(f.Amount, 10)
		if f.To != "" && ok && amount.Sign() > 0 && (r.passesThrough == nil || !r.passesThrough(f.To)) && (service == nil || !service(f.To)) {
			h.add(f.Chain, f.From, f.To, f.Asset, amount, f.Link, f.Clue, f.Confidence)
		}
	}
	skip := map[string]bool{}
	for _, d := range r.Destinations {
		if !slices.Contains(stillHeld, d.Category) {
			skip[d.Address] = true
		}
	}
	return h.list(skip)
}

// ServiceAt says, for EVMResult.Holders, whether the address (EIP-55 text)
// is one services calls a service in store s.
func ServiceAt(s evmstore.Reader, services Service) func(addr string) bool {
	return func(addr string) bool {
		n, ok := addrNum(s, addr)
		if !ok || services == nil {
			return false
		}
		_, _, ok = services(n)
		return ok
	}
}

// addrNum is the number in s of an address given as text.
func addrNum(s evmstore.Reader, addr string) (uint32, bool) {
	a, err := evmstore.ParseAddress(addr)
	if err != nil {
		return 0, false
	}
	n, err := s.AddrNum(a)
	return n, err == nil
}
