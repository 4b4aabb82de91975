// Package ingest drives Bitcoin blocks from a source into the store: it
// picks the chain to follow (the most-work chain from genesis among the
// blocks it can see, unwinding the store on a reorg), decodes and classifies
// blocks on every core while one goroutine appends them in order, commits
// regularly so that a killed run resumes where it stopped, and reports
// progress.
package ingest
