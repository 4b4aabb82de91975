package ingest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/holiman/uint256"

	"github.com/spur-forensics/spur/internal/btc"
	"github.com/spur-forensics/spur/internal/hashidx"
	"github.com/spur-forensics/spur/internal/progress"
	"github.com/spur-forensics/spur/internal/store"
)

// Plan is what a run over block files will do: unwind the store to Fork
// (when Fork is below the store's height) and append Blocks in order.
type Plan struct {
	Fork    int64
	Blocks  []btc.BlockRef
	Stale   int // blocks seen off the chosen chain
	Orphans int // blocks whose ancestry does not reach the store or genesis
	// FirstOrphan names one orphan for messages.
	FirstOrphan *btc.BlockRef
}

// PlanBlocks chooses, among the store's chain and the blocks in refs, the
// chain with the most work (ties go to the store, then to the block seen
// first), and returns how to reach its tip from the store. Proof of work is
// not checked: spur trusts its source's chain and uses the header bits only
// to compare chains.
func PlanBlocks(s *store.Store, refs []btc.BlockRef) (*Plan, error) {
	net := s.Network()
	type node struct {
		ref    int
		parent int // index into nodes, or -1 when rooted in the store / genesis
		root   int64
		work   uint256.Int // work from root (exclusive) to this block (inclusive)
		state  uint8       // 0 unvisited, 1 done, 2 orphan
		onPath bool
	}
	nodes := make([]node, 0, len(refs))
	byHash := make(map[btc.Hash]int, len(refs))
	known := 0
	for i := range refs {
		h := refs[i].Hash
		if _, dup := byHash[h]; dup {
			continue
		}
		if s.Height() >= 0 {
			if _, err := s.BlockByHash(h); err == nil {
				known++
				continue // already on the store's chain
			}
		}
		byHash[h] = len(nodes)
		nodes = append(nodes, node{ref: i, parent: -1})
	}
	// Resolve each node's root and work, walking up iteratively.
	var stack []int
	for i := range nodes {
		if nodes[i].state != 0 {
			continue
		}
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			n := &nodes[k]
			prev := refs[n.ref].Header.Prev
			bw := btc.Work(refs[n.ref].Header.Bits)
			if p, ok := byHash[prev]; ok {
				switch nodes[p].state {
				case 0:
					stack = append(stack, p)
					continue
				case 1:
					n.parent, n.root, n.state = p, nodes[p].root, 1
					n.work.Add(&nodes[p].work, &bw)
				case 2:
					n.state = 2
				}
			} else if h, err := blockHeight(s, prev); err == nil {
				n.root, n.work, n.state = h, bw, 1
			} else if prev == (btc.Hash{}) && refs[n.ref].Hash == net.Genesis && s.Height() < 0 {
				n.root, n.work, n.state = -1, bw, 1
			} else {
				n.state = 2
			}
			stack = stack[:len(stack)-1]
		}
	}
	plan := &Plan{Fork: s.Height()}
	best := -1
	minRoot := s.Height()
	for i := range nodes {
		if nodes[i].state == 2 {
			plan.Orphans++
			if plan.FirstOrphan == nil {
				r := refs[nodes[i].ref]
				plan.FirstOrphan = &r
			}
			continue
		}
		minRoot = min(minRoot, nodes[i].root)
	}
	// Score every candidate from the lowest fork point: store work above
	// minRoot up to its root, plus its own branch.
	storeWork := func(from, to int64) (*uint256.Int, error) { // heights from+1..to
		w := new(uint256.Int)
		for h := from + 1; h <= to; h++ {
			hdr, err := s.Header(h)
			if err != nil {
				return nil, err
			}
			bw := btc.Work(hdr.Bits)
			w.Add(w, &bw)
		}
		return w, nil
	}
	bestScore, err := storeWork(minRoot, s.Height())
	if err != nil {
		return nil, err
	}
	rootCache := map[int64]*uint256.Int{}
	for i := range nodes {
		n := &nodes[i]
		if n.state != 1 {
			continue
		}
		base, ok := rootCache[n.root]
		if !ok {
			if base, err = storeWork(minRoot, n.root); err != nil {
				return nil, err
			}
			rootCache[n.root] = base
		}
		score := new(uint256.Int).Add(base, &n.work)
		if score.Cmp(bestScore) > 0 {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		if s.Height() < 0 {
			if plan.FirstOrphan != nil {
				return nil, fmt.Errorf("%w: no genesis block of network %s (%s) in the input; %s has parent %s, which is not in the input",
					store.ErrNotConnected, net.Name, net.Genesis, *plan.FirstOrphan, plan.FirstOrphan.Header.Prev)
			}
			return nil, fmt.Errorf("%w: no blocks of network %s in the input", store.ErrNotConnected, net.Name)
		}
		if plan.FirstOrphan != nil && known == 0 {
			return nil, fmt.Errorf("%w: missing parent: %s has parent %s, which is neither in the store nor in the input",
				store.ErrNotConnected, *plan.FirstOrphan, plan.FirstOrphan.Header.Prev)
		}
		plan.Stale = len(nodes) - plan.Orphans
		return plan, nil
	}
	n := 0
	for i := best; i >= 0; i = nodes[i].parent {
		n++
	}
	plan.Blocks = make([]btc.BlockRef, 0, n)
	for i := best; i >= 0; i = nodes[i].parent {
		nodes[i].onPath = true
		plan.Blocks = append(plan.Blocks, refs[nodes[i].ref])
		plan.Fork = nodes[i].root
	}
	for l, r := 0, len(plan.Blocks)-1; l < r; l, r = l+1, r-1 {
		plan.Blocks[l], plan.Blocks[r] = plan.Blocks[r], plan.Blocks[l]
	}
	plan.Stale = len(nodes) - plan.Orphans - len(plan.Blocks)
	return plan, nil
}

// memory is the memory the ingest may fill (a variable for the tests).
var memory = hashidx.Memory

// Files ingests the blocks in the named paths (blocks directories, blk*.dat
// files, raw block files) into the store.
func Files(ctx context.Context, s *store.Store, paths []string, opts Options) (*Stats, error) {
	opts.defaults()
	start := time.Now()
	st := &Stats{}
	files, err := btc.OpenBlockPaths(paths, s.Network())
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	refs, err := scanFiles(files, s.Network(), progress.New(opts.Progress, "scanning block files", int64(len(files))))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Unfinished >= 0 {
			st.Unfinished++
			opts.Logger.Warn("the newest block file ends in a block not written whole (a node still writing it?): left out", "file", f.Name, "offset", f.Unfinished)
		}
	}
	plan, err := PlanBlocks(s, refs)
	if err != nil {
		return nil, err
	}
	// The chain's tip, when it is the last block of the newest file, may be
	// framed whole but not yet written whole: its bytes from some point on
	// still the zeros the node allocated. Decoded now, and left out if it
	// does not decode, rather than failing the run when it comes.
	if n := len(plan.Blocks); n > 0 && plan.Blocks[n-1].LastOfNewest() {
		tip := plan.Blocks[n-1]
		raw, err := tip.Read(nil)
		if err != nil {
			return nil, err
		}
		if _, err := btc.DecodeBlock(raw); err != nil {
			st.Unfinished++
			opts.Logger.Warn("the newest block file's last block does not decode (a node still writing it?): left out", "block", tip.String(), "error", err)
			// Chosen again without it: the chain it ended may no longer
			// have the most work.
			refs = slices.DeleteFunc(refs, func(r btc.BlockRef) bool { return r.File == tip.File && r.Offset == tip.Offset })
			if plan, err = PlanBlocks(s, refs); err != nil {
				return nil, err
			}
		}
	}
	st.Stale, st.Orphans = plan.Stale, plan.Orphans
	if plan.Orphans > 0 {
		opts.Logger.Warn("blocks not connected to the chain were skipped", "count", plan.Orphans, "first", plan.FirstOrphan.String())
	}
	if plan.Fork < s.Height() {
		opts.Logger.Info("reorganisation: unwinding", "from", s.Height(), "to", plan.Fork)
		st.Unwound = s.Height() - plan.Fork
		if err := s.Unwind(plan.Fork); err != nil {
			return nil, err
		}
	}
	if opts.StopHeight > 0 {
		if keep := opts.StopHeight - plan.Fork; keep < int64(len(plan.Blocks)) {
			plan.Blocks = plan.Blocks[:max(keep, 0)]
		}
	}
	// Size the txid and address tables for what the blocks probably hold
	// (recent blocks carry a transaction per 400-600 bytes and about two
	// new addresses per transaction), sparing rebuilds as they fill.
	var total uint64
	for _, b := range plan.Blocks {
		total += uint64(b.Size)
	}
	if err := s.Reserve(total/400, total/200); err != nil {
		return nil, err
	}
	// Tables the page cache cannot hold make the lookups that miss it wait
	// for the disk, and an ingest that took minutes take hours: say so
	// before, not after.
	if tables, mem := s.TableBytes(), memory(); tables > mem/2 {
		opts.Logger.Warn("the txid and address tables take more than half the memory: lookups will wait for the disk (docs/format/btc-store.md, \"Sizes, and the memory an ingest wants\")",
			"tables_mib", tables>>20, "memory_mib", mem>>20)
	}
	bar := progress.New(opts.Progress, "blocks", int64(len(plan.Blocks)))
	// The share done and the time left go by bytes: a chain's early blocks
	// are a thousandth of the size of its late ones.
	var planned int64
	for _, b := range plan.Blocks {
		planned += int64(b.Size)
	}
	bar.SetTotalBytes(planned)
	// Each file is mapped while its blocks are in flight: from the fetch
	// of its first block of the run to the store's end with its last.
	var mu sync.Mutex
	left := map[*btc.BlockFile]int{}
	for _, b := range plan.Blocks {
		left[b.File]++
	}
	src := source{n: len(plan.Blocks)}
	src.fetch = func(_ context.Context, i int, buf []byte) ([]byte, fmt.Stringer, error) {
		ref := &plan.Blocks[i]
		ref.File.Map()
		raw, err := ref.Bytes(buf)
		return raw, ref, err
	}
	src.size = func(i int) int { return int(plan.Blocks[i].Size) }
	src.done = func(i int) {
		f := plan.Blocks[i].File
		mu.Lock()
		left[f]--
		last := left[f] == 0
		mu.Unlock()
		if last {
			f.Unmap()
		}
	}
	err = apply(ctx, s, src, &opts, st, bar)
	bar.Done()
	st.finish(s, start)
	return st, err
}

func blockHeight(s *store.Store, h btc.Hash) (int64, error) {
	if s.Height() < 0 {
		return 0, store.ErrNotFound
	}
	return s.BlockByHash(h)
}

// scanInFlight is how many block files are scanned at once.
const scanInFlight = 8

// scanFiles lists the blocks of every file, in the files' order, scanning
// several files at once: a scan reads a few bytes of every block, which in
// a node's blocks directory not in the page cache (thousands of files, a
// block every megabyte or two) is a disk read each, and disks answer many
// reads at once faster than one after another.
func scanFiles(files []*btc.BlockFile, net *btc.Network, bar *progress.Bar) ([]btc.BlockRef, error) {
	per := make([][]btc.BlockRef, len(files))
	errs := make([]error, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(scanInFlight, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				per[i], errs[i] = files[i].Scan(net)
				bar.Add(1, 0, 0)
			}
		}()
	}
	wg.Wait()
	bar.Done()
	var refs []btc.BlockRef
	for i := range files {
		if errs[i] != nil {
			return nil, errs[i]
		}
		refs = append(refs, per[i]...)
	}
	return refs, nil
}
