package hashidx

// storeSlot writes v to the slot at p with a plain store: on amd64 an
// aligned 8-byte store is atomic, and ordered after the stores before it
// (x86-TSO), all a reader's atomic load needs. atomic.StoreUint64 is an
// XCHG, a full barrier that waits for the slot's cache line to arrive
// before anything after it runs: it was two thirds of the inserts' time in
// a profile of a long ingest, whose slots are mostly not in the cache.
//
//go:noescape
func storeSlot(p *uint64, v uint64)
