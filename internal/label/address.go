package label

import (
	"fmt"
	"strings"

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
// with, to a chain name.
func chainOfCurrency(cur, addr string) string {
	switch cur {
	case "XBT":
		return ChainBTC
	case "ETH":
		return ChainETH
	case "TRX":
		return ChainTRX
	case "USDT", "USDC":
		if IsEVMAddress(addr) {
			return ChainETH
		}
		if len(addr) == 34 && addr[0] == 'T' {
			return ChainTRX
		}
	}
	return strings.ToLower(cur)
}
