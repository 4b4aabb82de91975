// Package spur embeds the real mainnet sample blocks that `spur demo` and
// `spur bench` use when no other data is given. testdata/btc/PROVENANCE.md
// says where each file comes from and under which licence.
package spur

import "embed"

// Samples holds testdata/btc: mainnet blocks 0..14131 in Bitcoin Core's
// blk*.dat framing, and btcd's reorganisation test chain (mainnet genesis,
// blocks 1..4 and a side chain 3A..5A mined at mainnet difficulty).
//
//go:embed testdata/btc/blk_0_to_14131.dat.bz2 testdata/btc/blk_0_to_4.dat.bz2 testdata/btc/blk_3A.dat.bz2 testdata/btc/blk_4A.dat.bz2 testdata/btc/blk_5A.dat.bz2
var Samples embed.FS

// Sanctions holds testdata/sanctions: the OFAC SDN list (legacy CSV set,
// December 2025) and the UN consolidated list (XML, February 2026), each
// compressed with bzip2, and an excerpt of the UK Sanctions List (the
// FCDO's spreadsheet, November 2022).
//
//go:embed testdata/sanctions/ofac_sdn_2025-12/*.bz2 testdata/sanctions/un_csl/*.bz2 testdata/sanctions/uk_sanctions_list/*.ods
var Sanctions embed.FS
