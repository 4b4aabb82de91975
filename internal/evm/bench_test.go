package evm

import (
	"io"
	"testing"
)

// Era1 decoding: go-ethereum's RLP decoding of the file's blocks (the
// baseline) against spur's Next (which also checks both roots, recovers
// senders and builds the Block).
func BenchmarkEra1GethDecode(b *testing.B) {
	for b.Loop() {
		e, err := OpenEra1([]string{era1File}, sepoliaID)
		if err != nil {
			b.Fatal(err)
		}
		for {
			h, bd, rc, _, err := e.NextRaw()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := GethDecode(h, bd, rc); err != nil {
				b.Fatal(err)
			}
		}
		e.Close()
	}
}

// drain reads blocks until io.EOF and derives each one's transfers.
func drain(b *testing.B, next func() (*Block, error)) {
	for {
		blk, err := next()
		if err == io.EOF {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
		blk.Transfers()
	}
}

func BenchmarkEra1Next(b *testing.B) {
	for b.Loop() {
		e, err := OpenEra1([]string{era1File}, sepoliaID)
		if err != nil {
			b.Fatal(err)
		}
		drain(b, e.Next)
		e.Close()
	}
}

// The ethereum-etl reader on two real mainnet blocks (298 transactions,
// 681 logs) against go-ethereum's RLP decoding of the same blocks.
func BenchmarkETLRead(b *testing.B) {
	for b.Loop() {
		e, err := OpenETL("../../testdata/evm/etl-17173049")
		if err != nil {
			b.Fatal(err)
		}
		drain(b, e.Next)
		e.Close()
	}
}

func BenchmarkETLGethDecode(b *testing.B) {
	e, err := OpenETL("../../testdata/evm/etl-17173049")
	if err != nil {
		b.Fatal(err)
	}
	var rlps [][3][]byte
	for {
		blk, err := e.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		h, bd, rc, err := GethRLP(blk)
		if err != nil {
			b.Fatal(err)
		}
		rlps = append(rlps, [3][]byte{h, bd, rc})
	}
	e.Close()
	for b.Loop() {
		for _, r := range rlps {
			if _, err := GethDecode(r[0], r[1], r[2]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
