//go:build !amd64

package sha256d

var accelerated = false

func blocks1(s *[8]uint32, p *byte, n int)           { panic("sha256d: no accelerated compression") }
func blocks2(s1, s2 *[8]uint32, p1, p2 *byte, n int) { panic("sha256d: no accelerated compression") }
