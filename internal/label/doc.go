// Package label keeps what the world says about addresses: sanctions
// (OFAC SDN), service labels (exchange, mixer, bridge, ...) and actors, from
// importable sources (the OFAC SDN CSV set, the UN, EU and UK lists,
// GraphSense TagPacks, explorer labels, plain CSV),
// each replaced atomically on re-import. Labels are kept per address text,
// for any chain, in a Pebble database of their own; an address need not
// appear on any ingested chain to carry labels. The package knows nothing of
// the chain stores.
//
// The UK Sanctions List comes as an OpenDocument spreadsheet; ods.go reads
// one with the standard library's zip and XML packages, a row at a time
// (its XML is over 600 MB), keeping only what a list uses: the first
// sheet's cells as text.
package label
