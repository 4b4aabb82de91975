// Package world makes synthetic chains in real formats, deterministically
// from a seed. So far it writes a Bitcoin regtest chain of realistic
// transactions (script type mix, address reuse, multi-input spends, segwit
// witnesses of real sizes) as Bitcoin Core blk*.dat files, for benchmarks at
// sizes the shipped real blocks cannot reach. Signatures are random bytes of
// the right length: spur does not verify scripts.
package world
