package label

import (
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/ethereum/go-ethereum/common"

	"github.com/spur-forensics/spur/internal/btc"
)

// Chains spur names in labels. Others (ltc, xmr, ...) are kept as their
// lower-case currency codes.
const (
	ChainBTC = "btc"
	ChainETH = "eth"
	ChainTRX = "trx"
)

// IsEVMAddress reports whether s is a 0x-prefixed 20-byte hex address.
func IsEVMAddress(s string) bool {
	return len(s) == 42 && (s[:2] == "0x" || s[:2] == "0X") && common.IsHexAddress(s)
}

// Normalize returns the address as spur prints it (Bitcoin Core's form for
// Bitcoin, EIP-55 for EVM chains, unchanged otherwise) and the key it is
// filed under (EVM addresses in lower case, so that lookups ignore case).
// A Bitcoin address that does not parse is an error.
func Normalize(chain, addr string) (display, key string, err error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", "", fmt.Errorf("empty address")
	}
	switch {
	case IsEVMAddress(addr):
		a := common.HexToAddress(addr)
		return a.Hex(), strings.ToLower(a.Hex()), nil
	case chain == ChainBTC:
		a, net, err := parseBitcoin(addr)
		if err != nil {
			return "", "", err
		}
		s := a.String(net)
		return s, s, nil
	}
	return addr, addr, nil
}

// bitcoinNets are the networks whose addresses a Bitcoin label may carry:
// main first, then test (whose prefixes signet and testnet4 share) and
// regtest, for synthetic worlds and test chains.
var bitcoinNets = func() []*btc.Network {
	var out []*btc.Network
	for _, n := range []string{"main", "test", "regtest"} {
		net, _ := btc.LookupNetwork(n)
		out = append(out, net)
	}
	return out
}()

// parseBitcoin parses a Bitcoin address of any network; the error is the
// main network's.
func parseBitcoin(addr string) (btc.Address, *btc.Network, error) {
	var first error
	for _, net := range bitcoinNets {
		a, err := btc.ParseAddress(addr, net)
		if err == nil {
			return a, net, nil
		}
		if first == nil {
			first = err
		}
	}
	return btc.Address{}, nil, first
}

// Mistyped returns an error when addr has the form of a Bitcoin or EVM
// address but fails its checksum: a typo, most likely, and otherwise
// screened as the address of some chain spur does not know, on its labels
// alone, and found clean. Those forms: an EVM address in mixed case whose
// case is not its EIP-55 checksum; 25 bytes of base58 with a Bitcoin
// version byte (P2PKH or P2SH of main, test or regtest) whose double-SHA-256
// checksum fails; a string with a Bitcoin segwit prefix (bc1, tb1, bcrt1)
// that is no segwit address (its checksum fails, or its program does not
// fit its version, as BIP173 and BIP350 say). Anything else is nil: the
// address of another chain, or no address at all.
func Mistyped(addr string) error {
	if IsEVMAddress(addr) {
		body := addr[2:]
		if want := common.HexToAddress(addr).Hex(); body != strings.ToLower(body) && body != strings.ToUpper(body) && want[2:] != body {
			return fmt.Errorf("%q: bad EIP-55 checksum (its case); did you mean %s?", addr, want)
		}
		return nil
	}
	if _, _, err := parseBitcoin(addr); err == nil {
		return nil
	}
	// Hex that no address is: a transaction hash pasted for an address, or
	// an EVM address cut short. (0x and 64 hex digits is also the form of
	// Aptos and Sui addresses: the caller decides.)
	if isHex(addr) && len(addr) == 64 {
		return fmt.Errorf("%q: a transaction hash, not an address (a transaction is screened as \"tx\" by POST /v1/screen)", addr)
	}
	if h, ok := strings.CutPrefix(strings.ToLower(addr), "0x"); ok && isHex(h) && len(h) != 40 && len(h) != 64 {
		return fmt.Errorf("%q: 0x and %d hex digits; an EVM address has 40", addr, len(h))
	}
	if raw := base58.Decode(addr); len(raw) == 25 {
		for _, net := range bitcoinNets {
			if raw[0] != net.PubKeyHash && raw[0] != net.ScriptHash {
				continue
			}
			if _, _, err := base58.CheckDecode(addr); errors.Is(err, base58.ErrChecksum) {
				return fmt.Errorf("%q: a Bitcoin address whose base58 checksum fails", addr)
			}
		}
	}
	// A Bitcoin segwit prefix is Bitcoin's alone: whatever follows it that
	// is no address (a checksum that fails, a character dropped, a program
	// of the wrong size, bech32 where bech32m is due) is a mistake.
	lower := strings.ToLower(addr)
	for _, net := range bitcoinNets {
		if !strings.HasPrefix(lower, net.Bech32HRP+"1") {
			continue
		}
		var bad bech32.ErrInvalidChecksum
		if _, _, err := bech32.DecodeNoLimit(addr); errors.As(err, &bad) && (lower == addr || strings.ToUpper(addr) == addr) {
			return fmt.Errorf("%q: a Bitcoin segwit address whose bech32 checksum fails", addr)
		}
		if _, err := btc.ParseAddress(addr, net); err != nil {
			return fmt.Errorf("%q: not a Bitcoin segwit address: %v", addr, strings.TrimPrefix(err.Error(), fmt.Sprintf("btc: address %q: ", addr)))
		}
		return nil
	}
	return nil
}

// Mistyped is the package's Mistyped, but for what a list names as it is
// written: a string some list gives as an address (OFAC lists a Monero
// one in 64 hex digits) is screened, never refused as a typo.
func (s *Store) Mistyped(addr string) error {
	err := Mistyped(addr)
	if err != nil {
		ls, _ := s.Lookup(addr)
		for _, l := range ls {
			if l.Address == addr { // as the list writes it: not a checksum's case gone wrong
				return nil
			}
		}
	}
	return err
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// GuessChain names the chain an address belongs to from its form, for
// addresses given without one: Bitcoin mainnet addresses, EVM addresses
// (eth), Tron addresses (T + 33 base58 characters); "" when unsure.
func GuessChain(addr string) string {
	switch {
	case IsEVMAddress(addr):
		return ChainETH
	case len(addr) == 34 && addr[0] == 'T':
		return ChainTRX
	}
	if _, _, err := parseBitcoin(addr); err == nil {
		return ChainBTC
	}
	return ""
}

// chainOfCurrency maps an OFAC currency code, with the address it goes
// with, to a chain name. A stablecoin's chain is its address's: Ethereum's,
// Tron's, or, for Tether, Bitcoin's (Tether was first issued on the Omni
// layer, whose tokens Bitcoin addresses hold; OFAC lists seven such USDT
// addresses).
func chainOfCurrency(cur, addr string) string {
	switch cur {
	case "XBT", "BITCOIN":
		return ChainBTC
	case "ETH", "ETHEREUM", "ETHER":
		return ChainETH
	case "TRX", "TRON":
		return ChainTRX
	case "USDT", "USDC":
		if IsEVMAddress(addr) {
			return ChainETH
		}
		if len(addr) == 34 && addr[0] == 'T' {
			return ChainTRX
		}
		if _, _, err := parseBitcoin(addr); err == nil && cur == "USDT" {
			return ChainBTC
		}
	}
	return strings.ToLower(cur)
}
