//go:build !amd64

package hashidx

import "sync/atomic"

// storeSlot writes v to the slot at p atomically.
func storeSlot(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
