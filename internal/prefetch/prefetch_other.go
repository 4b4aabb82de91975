//go:build !amd64

package prefetch

import "unsafe"

// At does nothing where there is no prefetch instruction here.
func At(p unsafe.Pointer) {}
