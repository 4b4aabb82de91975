// Package cluster groups addresses into entities. On EVM chains (evm.go)
// it offers the account-model heuristics on demand. On Bitcoin: the multi-input
// heuristic (the inputs of a transaction share an owner) over a union-find
// of dense address numbers, with CoinJoins detected and never merged.
//
// An entity's id is the lowest address number among its addresses, so ids
// stay the same across runs wherever the clustering did not change; a merge
// keeps the lower id. The result is a column of entity ids per address plus
// the addresses sorted by entity, so that an entity's members are a
// contiguous run found by binary search. It reads the store and writes only
// its own files.
package cluster
