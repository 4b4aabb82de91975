package btc

import (
	"fmt"
	"sort"
	"strings"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Network holds what differs between Bitcoin networks for decoding and
// printing: the blk*.dat and P2P magic, the genesis block hash and the
// address prefixes.
type Network struct {
	Name        string
	Magic       [4]byte // as the four bytes appear on disk
	Genesis     chainhash.Hash
	PubKeyHash  byte   // base58check version of P2PKH addresses
	ScriptHash  byte   // base58check version of P2SH addresses
	Bech32HRP   string // human-readable part of segwit addresses
	DefaultPort string // JSON-RPC port of Bitcoin Core on this network
}

func mustHash(s string) chainhash.Hash {
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		panic("BUG: bad genesis hash " + s)
	}
	return *h
}

var networks = map[string]*Network{
	"main": {
		Name: "main", Magic: [4]byte{0xf9, 0xbe, 0xb4, 0xd9},
		Genesis:    mustHash("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"),
		PubKeyHash: 0x00, ScriptHash: 0x05, Bech32HRP: "bc", DefaultPort: "8332",
	},
	"test": {
		Name: "test", Magic: [4]byte{0x0b, 0x11, 0x09, 0x07},
		Genesis:    mustHash("000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943"),
		PubKeyHash: 0x6f, ScriptHash: 0xc4, Bech32HRP: "tb", DefaultPort: "18332",
	},
	"testnet4": {
		Name: "testnet4", Magic: [4]byte{0x1c, 0x16, 0x3f, 0x28},
		Genesis:    mustHash("00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043"),
		PubKeyHash: 0x6f, ScriptHash: 0xc4, Bech32HRP: "tb", DefaultPort: "48332",
	},
	"signet": {
		Name: "signet", Magic: [4]byte{0x0a, 0x03, 0xcf, 0x40},
		Genesis:    mustHash("00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6"),
		PubKeyHash: 0x6f, ScriptHash: 0xc4, Bech32HRP: "tb", DefaultPort: "38332",
	},
	"regtest": {
		Name: "regtest", Magic: [4]byte{0xfa, 0xbf, 0xb5, 0xda},
		Genesis:    mustHash("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"),
		PubKeyHash: 0x6f, ScriptHash: 0xc4, Bech32HRP: "bcrt", DefaultPort: "18443",
	},
	// simnet is btcd's private test network.
	"simnet": {
		Name: "simnet", Magic: [4]byte{0x16, 0x1c, 0x14, 0x12},
		Genesis:    mustHash("683e86bd5c6d110d91b94b97137ba6bfe02dbbdb8e3dff722a669b5d69d77af6"),
		PubKeyHash: 0x3f, ScriptHash: 0x7b, Bech32HRP: "sb", DefaultPort: "18556",
	},
}

// IsChain says whether chain, as a node's getblockchaininfo names its
// network, is n: Bitcoin Core says "main", "test", "testnet4", "signet",
// "regtest"; btcd says "mainnet" and "testnet3" for the first two.
func (n *Network) IsChain(chain string) bool {
	switch chain {
	case "mainnet":
		chain = "main"
	case "testnet3":
		chain = "test"
	}
	return chain == n.Name
}

// Main is Bitcoin's main network.
var Main = networks["main"]

// NetworkNames lists the accepted --network values.
func NetworkNames() []string {
	names := make([]string, 0, len(networks))
	for n := range networks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupNetwork returns the network of that name ("main", "test",
// "testnet4", "signet", "regtest", "simnet"). "mainnet" and "testnet3" are
// accepted as aliases.
func LookupNetwork(name string) (*Network, error) {
	switch name {
	case "mainnet":
		name = "main"
	case "testnet", "testnet3":
		name = "test"
	}
	if n, ok := networks[name]; ok {
		return n, nil
	}
	return nil, fmt.Errorf("btc: unknown network %q (want one of %s)", name, strings.Join(NetworkNames(), ", "))
}
