// Package prefetch asks for memory ahead of its use: the processor for a
// cache line (At), the kernel for a page of a file mapping that may be on
// disk (Page).
//
// Go has no prefetch intrinsic. A plain load of the line would do the same
// but must wait for memory before it retires, so that a long run of them
// (the table slots of every input of a block, say) fills the reorder buffer
// and stalls on the first misses; a prefetch instruction retires at once.
package prefetch
