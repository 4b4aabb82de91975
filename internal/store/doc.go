// Package store is spur's embedded column store for a Bitcoin chain.
//
// Each column is one file of fixed-width rows, appended in chain order and
// memory-mapped for reading; rows are addressed by dense numbers (block
// height, tx number, input number, output number, address number). The
// lookups that are not positional are derived from the columns: hash tables
// (package hashidx) from txid to tx number, block hash to height and
// address to address number, and runs of each address's outputs (its
// postings). The byte layout of every file is in docs/format/btc-store.md.
//
// The column files are our own rather than another engine's because they are
// the core of ingest speed and of the 16-byte-per-output budget: rows are
// found by multiplication, never by search, and scans over a column touch
// only that column's pages.
//
// Commit order makes crashes safe: new rows are written and synced, then
// spends of older outputs are marked, then the postings run is synced, and
// the META file naming the committed counts is replaced last. On open,
// anything past META's counts is undone using the column tails themselves,
// and whatever the indexes lack is rebuilt from the columns; unwinding a
// reorg lowers META first and then runs the same undo.
//
// The store knows nothing of clustering or tracing.
package store
