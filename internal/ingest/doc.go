// Package ingest drives blocks from a source into a store. For Bitcoin it
// picks the chain to follow (the most-work chain from genesis among the
// blocks it can see, unwinding the store on a reorg), decodes and classifies
// blocks on every core while the store appends them in order (in two
// stages on two goroutines: transactions and spends, then addresses), commits
// regularly so that a killed run resumes where it stopped, and reports
// progress. For EVM chains (evm.go) it appends blocks from an ethereum-etl
// export, era1 files or a node in order, checks and skips those the store
// has, and follows a node's tip, unwinding to the last shared block.
package ingest
