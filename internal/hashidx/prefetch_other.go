//go:build !amd64

package hashidx

import (
	"sync/atomic"
	"unsafe"
)

// prefetch loads the word at p (a plain load where there is no prefetch
// instruction here).
func prefetch(p unsafe.Pointer) { atomic.LoadUint64((*uint64)(p)) }
