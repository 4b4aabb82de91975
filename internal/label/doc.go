// Package label keeps what the world says about addresses: sanctions
// (OFAC SDN), service labels (exchange, mixer, bridge, ...) and actors, from
// importable sources (the OFAC SDN CSV set, GraphSense TagPacks, plain CSV),
// each replaced atomically on re-import. Labels are kept per address text,
// for any chain, in a Pebble database of their own; an address need not
// appear on any ingested chain to carry labels. The package knows nothing of
// the chain stores.
package label
