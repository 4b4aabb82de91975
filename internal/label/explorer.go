package label

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Blocked is Etherscan's category of addresses a stablecoin's issuer has
// frozen; Other is the category of an explorer's label none of whose slugs
// names a category (they name projects: "sushiswap", "balancer").
const (
	Blocked = "blocked"
	Other   = "other"
)

// categoryOfSlugs is the category of an address an explorer tags with
// slugs: the riskiest known one, else blocked, else other.
func categoryOfSlugs(slugs []string) string {
	best := ""
	for _, s := range slugs {
		if c := Category(s); RiskRank(c) > RiskRank(best) {
			best = c
		}
	}
	switch {
	case best != "":
		return best
	case len(slugs) == 0:
		return ""
	case slices.ContainsFunc(slugs, func(s string) bool { return Category(s) == Blocked }):
		return Blocked
	}
	return Other
}

// ExplorerResult is what an import of explorer labels found: the labels,
// and the entries skipped because their key is not an address of the
// chain (scrapes hold a few: "", "genesis", a page's "There are no
// matching entries").
type ExplorerResult struct {
	Labels  []Label
	Skipped []string
}

// ParseEtherscan reads Etherscan-style explorer labels as JSON, in either
// shape the etherscan-labels project writes: a combined file mapping each
// address to its name tag and label slugs ({"0xab…": {"name": "Binance 14",
// "labels": ["binance", "exchange"]}}), or one slug's file mapping each
// address to its name tag, the slug being the file's name
// (ofac-sanctions-lists.json). chain is the explorer's chain (eth, bsc,
// ...). A label's category is the riskiest of its slugs as spur names it
// ("ofac-sanctions-lists" is sanctioned, "exploit" and "heist" stolen
// funds, "phish-hack" a scam, "tornado-cash" a mixer; "blocked", frozen by
// a stablecoin's issuer, next), else other; its label is the name tag, or
// the slugs where the tag is empty.
func ParseEtherscan(path, chain string) (*ExplorerResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, jsonError(path, b, err)
	}
	res := &ExplorerResult{}
	slug := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	addrs := make([]string, 0, len(raw))
	for a := range raw {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	for _, a := range addrs {
		var e struct {
			Name   string   `json:"name"`
			Labels []string `json:"labels"`
		}
		v := bytes.TrimSpace(raw[a])
		if len(v) > 0 && v[0] == '"' {
			e.Labels = []string{slug}
			err = json.Unmarshal(v, &e.Name)
		} else {
			err = json.Unmarshal(v, &e)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: entry %q: want a name tag or {\"name\": ..., \"labels\": [...]}: %v", ErrMalformed, path, a, err)
		}
		if !IsEVMAddress(a) {
			res.Skipped = append(res.Skipped, a)
			continue
		}
		name := strings.TrimSpace(e.Name)
		if name == "" {
			name = strings.Join(e.Labels, ", ")
		}
		cat := categoryOfSlugs(e.Labels)
		if cat == "" {
			return nil, fmt.Errorf("%w: %s: entry %q: no label slugs", ErrMalformed, path, a)
		}
		display, key, _ := Normalize(chain, a)
		res.Labels = append(res.Labels, Label{Address: display, Chain: chain, Category: cat, Label: name, key: key})
	}
	return res, nil
}

// ParseEtherscanCSV reads one label's file as the etherscan-labels project
// also writes it, in CSV: an account list (",Address,Name Tag,Balance,Txn
// Count", a row number first) or a token list (",#,Contract Address,Token
// Name,Market Cap,Holders,Website"), the label's slug being the file's
// name (heist.csv), as for ParseEtherscan's one-slug files.
func ParseEtherscanCSV(path, chain string) (*ExplorerResult, error) {
	t, err := readCSVTable(path, ',', 0)
	if err != nil {
		return nil, err
	}
	addrCol, nameCol := "Address", "Name Tag"
	if _, ok := t.col["Contract Address"]; ok {
		addrCol, nameCol = "Contract Address", "Token Name"
	}
	for _, c := range []string{addrCol, nameCol} {
		if _, ok := t.col[c]; !ok {
			return nil, fmt.Errorf("%w: %s: header lacks column %q (want an etherscan-labels account list, Address and Name Tag, or token list, Contract Address and Token Name)", ErrMalformed, path, c)
		}
	}
	slug := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	cat := categoryOfSlugs([]string{slug})
	res := &ExplorerResult{}
	for i, rec := range t.rows {
		a := strings.TrimSpace(rec[t.col[addrCol]])
		if !IsEVMAddress(a) {
			res.Skipped = append(res.Skipped, fmt.Sprintf("line %d: %s", t.lines[i], a))
			continue
		}
		name := strings.TrimSpace(rec[t.col[nameCol]])
		if name == "" {
			name = slug
		}
		display, key, _ := Normalize(chain, a)
		res.Labels = append(res.Labels, Label{Address: display, Chain: chain, Category: cat, Label: name, key: key})
	}
	return res, nil
}

// jsonError names the line and column of a JSON syntax error in b.
func jsonError(path string, b []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(b[:se.Offset], []byte("\n"))
		col := int(se.Offset) - bytes.LastIndexByte(b[:se.Offset], '\n') - 1
		return fmt.Errorf("%w: %s: line %d, column %d (byte %d): %v", ErrMalformed, path, line, col, se.Offset, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformed, path, err)
}

// ParseForta reads one CSV file of Forta's labelled datasets, by its
// header: etherscan_malicious_labels (banned_address, wallet_tag,
// data_source: Etherscan's phish-hack, exploit and heist lists),
// phishing_scams (address, etherscan_tag, etherscan_labels, is_contract)
// or malicious_smart_contracts (contract_address, contract_tag,
// contract_creator, contract_creator_tag, ..., notes, and on chain 1
// contract_creator_etherscan_label). A malicious contract and its creator
// are both labelled: with the creator's Etherscan label where it has one,
// stolen funds where the tags or notes tell of a hack or an exploit, and
// "malicious-contract" otherwise.
func ParseForta(path, chain string) (*ExplorerResult, error) {
	t, err := readCSVTable(path, ',', 0)
	if err != nil {
		return nil, err
	}
	has := func(c string) bool { _, ok := t.col[c]; return ok }
	res := &ExplorerResult{}
	seen := map[[3]string]bool{}
	add := func(line int, addr, cat, name string) error {
		if addr == "" {
			return nil
		}
		if !IsEVMAddress(addr) {
			return fmt.Errorf("%w: %s: line %d: %q is not an EVM address", ErrMalformed, path, line, addr)
		}
		display, key, _ := Normalize(chain, addr)
		if k := [3]string{key, cat, name}; !seen[k] {
			seen[k] = true
			res.Labels = append(res.Labels, Label{Address: display, Chain: chain, Category: cat, Label: name, key: key})
		}
		return nil
	}
	switch {
	case has("banned_address") && has("data_source"):
		for i, r := range t.rows {
			src := strings.TrimSuffix(strings.TrimPrefix(t.get(r, "data_source"), "etherscan-"), "-list")
			name := t.get(r, "wallet_tag")
			if name == "" {
				name = src
			}
			if err := add(t.lines[i], t.get(r, "banned_address"), Category(src), name); err != nil {
				return nil, err
			}
		}
	case has("address") && has("etherscan_labels"):
		for i, r := range t.rows {
			slugs := strings.FieldsFunc(t.get(r, "etherscan_labels"), func(c rune) bool { return c == ',' || c == ';' || c == ' ' })
			name := t.get(r, "etherscan_tag")
			if name == "" {
				name = strings.Join(slugs, ", ")
			}
			cat := categoryOfSlugs(slugs)
			if cat == "" {
				return nil, fmt.Errorf("%w: %s: line %d: no etherscan_labels", ErrMalformed, path, t.lines[i])
			}
			if err := add(t.lines[i], t.get(r, "address"), cat, name); err != nil {
				return nil, err
			}
		}
	case has("contract_address") && has("contract_creator"):
		for i, r := range t.rows {
			tag, creatorTag, notes := t.get(r, "contract_tag"), t.get(r, "contract_creator_tag"), t.get(r, "notes")
			cat := Category(t.get(r, "contract_creator_etherscan_label"))
			if cat == "" {
				cat = "malicious-contract"
				if s := strings.ToLower(tag + " " + creatorTag + " " + notes); strings.Contains(s, "hack") || strings.Contains(s, "exploit") {
					cat = StolenFunds
				}
			}
			if tag == "" {
				tag = "malicious contract"
				if notes != "" {
					tag += " (" + notes + ")"
				}
			}
			if creatorTag == "" {
				creatorTag = "creator of " + tag
			}
			if err := add(t.lines[i], t.get(r, "contract_address"), cat, tag); err != nil {
				return nil, err
			}
			if err := add(t.lines[i], t.get(r, "contract_creator"), cat, creatorTag); err != nil {
				return nil, err
			}
		}
	default:
		cols := make([]string, 0, len(t.col))
		for c := range t.col {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		return nil, fmt.Errorf("%w: %s: line 1: header %s is none of Forta's datasets (banned_address,wallet_tag,data_source; address,etherscan_tag,etherscan_labels,is_contract; contract_address,contract_tag,contract_creator,...)", ErrMalformed, path, strings.Join(cols, ","))
	}
	return res, nil
}

// explorerChains names the chain of each explorer whose labels the
// etherscan-labels project scrapes, by its directory there.
var explorerChains = map[string]string{
	"etherscan": ChainETH, "bscscan": "bsc", "polygonscan": "polygon", "arbiscan": "arbitrum",
	"optimism": "optimism", "ftmscan": "fantom", "avalanche": "avalanche", "snowtrace": "avalanche",
}

// evmChainIDs names the chains Forta's datasets file by chain id.
var evmChainIDs = map[string]string{
	"1": ChainETH, "10": "optimism", "56": "bsc", "137": "polygon", "250": "fantom", "42161": "arbitrum", "43114": "avalanche",
}

// ChainOfPath guesses the chain of an explorer's or Forta's label file from
// the directories it is in (data/bscscan/..., labels/10/...); "" when none
// tells.
func ChainOfPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	dirs := strings.Split(filepath.ToSlash(filepath.Dir(abs)), "/")
	for i := len(dirs) - 1; i >= 0; i-- {
		if c, ok := explorerChains[strings.ToLower(dirs[i])]; ok {
			return c
		}
		if c, ok := evmChainIDs[dirs[i]]; ok {
			return c
		}
	}
	return ""
}
