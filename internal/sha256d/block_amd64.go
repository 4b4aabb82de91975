package sha256d

import "golang.org/x/sys/cpu"

// blocks1 runs the compression function over n 64-byte blocks at p.
//
//go:noescape
func blocks1(s *[8]uint32, p *byte, n int)

// blocks2 runs it over n blocks at p1 for state s1 and n blocks at p2 for
// s2, the two interleaved.
//
//go:noescape
func blocks2(s1, s2 *[8]uint32, p1, p2 *byte, n int)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// hasSHANI reports the SHA extensions (CPUID leaf 7, EBX bit 29), with
// the SSSE3/SSE4.1 and AVX the code also uses.
func hasSHANI() bool {
	if !cpu.X86.HasAVX || !cpu.X86.HasAVX2 || !cpu.X86.HasSSSE3 || !cpu.X86.HasSSE41 {
		return false
	}
	if max, _, _, _ := cpuid(0, 0); max < 7 {
		return false
	}
	_, b, _, _ := cpuid(7, 0)
	return b&(1<<29) != 0
}

var accelerated = hasSHANI()
