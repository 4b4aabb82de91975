package prefetch

import "unsafe"

// At starts loading the cache line at p and returns without waiting.
//
//go:noescape
func At(p unsafe.Pointer)
