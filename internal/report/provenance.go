package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spur-forensics/spur/internal/buildinfo"
	"github.com/spur-forensics/spur/internal/evmstore"
	"github.com/spur-forensics/spur/internal/label"
	"github.com/spur-forensics/spur/internal/query"
	"github.com/spur-forensics/spur/internal/store"
)

// Provenance is what a report was made from, for whoever must weigh it:
// the spur that made it, each chain as of the tip it was read at, the
// method, and the label sources (the lists, with the day each says it is
// of). Made again from the same store by the same spur, a report is the
// same.
type Provenance struct {
	Spur    string     `json:"spur"`
	Chains  []ChainAt  `json:"chains"`
	Method  string     `json:"method"`
	Sources []SourceAt `json:"sources"`
}

// ChainAt is a chain as of the block a report read it at.
type ChainAt struct {
	Chain   string `json:"chain"`             // btc, eth, ...
	Network string `json:"network,omitempty"` // Bitcoin's: main, test, ...
	Height  int64  `json:"height"`            // the tip's height (block number)
	Tip     string `json:"tip"`               // its hash
}

// SourceAt is a label source as imported.
type SourceAt struct {
	Source   string `json:"source"`
	Format   string `json:"format"`
	Dated    string `json:"dated,omitempty"`    // the day the list says it is of
	Imported string `json:"imported,omitempty"` // RFC 3339, UTC
	Labels   int    `json:"labels"`
}

// provenance describes what a report by the taint model given reads.
func provenance(s store.Reader, es evmstore.Reader, labels label.Reader, model string) (*Provenance, error) {
	p := &Provenance{Spur: buildinfo.Version(), Chains: []ChainAt{}, Sources: []SourceAt{},
		Method: model + " taint forward from the theft transactions; through CoinJoins by the outputs public clues link and through mixers by the withdrawals they link (heuristic links, counted apart); ending at exchange deposit addresses (found by their sweeps into labelled hot wallets), other labelled services and what is unspent; USD at each day's close"}
	tips := query.AsOf(s, es)
	for _, c := range slices.Sorted(maps.Keys(tips)) { // btc first
		at := ChainAt{Chain: c, Height: tips[c].Height, Tip: tips[c].Tip}
		if c == "btc" {
			at.Network = s.Network().Name
		}
		p.Chains = append(p.Chains, at)
	}
	srcs, err := labels.Sources()
	if err != nil {
		return nil, err
	}
	for _, src := range srcs {
		at := SourceAt{Source: src.Source, Format: src.Format, Dated: src.Dated, Labels: src.Labels}
		if !src.Imported.IsZero() {
			at.Imported = src.Imported.UTC().Format(time.RFC3339)
		}
		p.Sources = append(p.Sources, at)
	}
	return p, nil
}

// markdown is the provenance as a report's last section.
func (p *Provenance) markdown() string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## How this report was made\n\n")
	fmt.Fprintf(&b, "- spur %s\n", p.Spur)
	for _, c := range p.Chains {
		name := chainName(c.Chain)
		if c.Chain == "btc" {
			name = "Bitcoin"
		}
		if c.Network != "" && c.Network != "main" {
			name += " " + c.Network
		}
		fmt.Fprintf(&b, "- %s as of block %d (%s)\n", name, c.Height, c.Tip)
	}
	fmt.Fprintf(&b, "- method: %s\n", p.Method)
	if len(p.Sources) == 0 {
		b.WriteString("- labels: none imported\n")
	}
	for _, s := range p.Sources {
		var what []string // its format and day, then its size and import
		if s.Format != "" {
			what = append(what, s.Format)
		}
		if s.Dated != "" {
			what = append(what, "the list of "+s.Dated)
		}
		size := fmt.Sprintf("%d labels", s.Labels)
		if s.Imported != "" {
			size += ", imported " + s.Imported
		}
		if len(what) > 0 {
			size = strings.Join(what, ", ") + "; " + size
		}
		fmt.Fprintf(&b, "- labels: %s (%s)\n", mdCell(s.Source), size)
	}
	return b.String()
}
