package hashidx

import "unsafe"

// prefetch asks for the cache line at p without waiting for it: unlike a
// load, the instruction retires at once, so a long run of them does not
// fill the processor's reorder buffer with loads waiting on memory.
//
//go:noescape
func prefetch(p unsafe.Pointer)
