// Package btc reads Bitcoin's wire format: blocks and transactions (legacy
// and segwit), their hashes and merkle roots, output scripts classified with
// Bitcoin Core's type names and printed as Bitcoin Core prints addresses,
// Bitcoin Core's blk*.dat files (with the xor.dat key), and a node's
// JSON-RPC interface.
//
// The decoder is our own rather than btcd's wire package because it sits on
// the ingest hot path: it does one allocation per block for all transactions,
// inputs and outputs, keeps scripts and witnesses as sub-slices of the block's
// bytes, and hashes each transaction straight from those bytes. btcd's wire
// package is used in tests as the independent reference. The package knows
// nothing of the store.
package btc
