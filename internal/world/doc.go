// Package world makes synthetic chains in real formats, deterministically
// from a seed, with the ground truth no real data set has: a Bitcoin regtest
// chain of realistic transactions (script type mix, address reuse,
// multi-input spends, exchanges, Whirlpool) as Bitcoin Core blk*.dat files,
// and an Ethereum-like chain (tokens, exchanges, Uniswap V2-style swaps,
// Tornado-style pools, a swap service paying out on the Bitcoin side) as an
// ethereum-etl export; the dprk-2021 scenario lays the 2021 thefts and their
// laundering over both. Signatures are random bytes of the right length
// (spur does not verify scripts); EVM contracts do not run: the generator
// writes the logs and call traces a node would report.
package world
