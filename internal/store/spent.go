package store

import "sort"

// out.spent is the one column whose rows change after they are written: an
// output's row is set when an input spends it, at a place in the file as
// old as the output. On a long chain nearly every spend of a commit lands
// on its own page, so syncing the column at every commit would write
// about a page per input. Yet its rows follow from in.out and tx.in, which
// are synced at every commit. So out.spent is written at every commit but
// synced only now and then (by the rule of the hash tables, counted in
// inputs), and META's SpentSynced says which inputs' spends a sync
// covered. After a power loss the open sets the spends of the inputs past
// it again (replaySpends).
//
// What a power loss can leave past SpentSynced is harmless: the row of an
// output unspent at the commit holds zero or the spend of an input past
// it, found in the in.out tail and cleared by the undo, because in.out's
// rows are synced before the spends they make are written. Clearing spends
// (an undo, an unwind) is synced at once, so a cleared row cannot come
// back.

// spentDue reports whether the commit of inputs inputs syncs out.spent.
func (s *Store) spentDue(inputs uint64) bool {
	k := s.meta.SpentSynced
	return inputs-k >= max(s.tableSyncRows, k/2)
}

// syncSpends syncs out.spent and commits that it covers every committed
// input.
func (s *Store) syncSpends() error {
	if err := s.outSpent.Sync(); err != nil {
		return err
	}
	m := s.meta
	m.SpentSynced = m.Counts.Inputs
	if err := writeMeta(s.dir, &m); err != nil {
		return err
	}
	s.meta = m
	return nil
}

// spentSyncedOutputs is how many outputs out.spent held at its last sync:
// those before the first tx whose inputs the sync did not cover (commits
// end between txs, and every tx has an input).
func (s *Store) spentSyncedOutputs() uint64 {
	c := s.meta.Counts
	k := min(s.meta.SpentSynced, c.Inputs)
	t := uint64(sort.Search(int(c.Txs), func(i int) bool { return s.txIn.U64(uint64(i)) >= k }))
	if t == c.Txs {
		return c.Outputs
	}
	return s.txOut.U64(t)
}

// replayBatch bounds the spends queued in memory while replaying.
const replayBatch = 1 << 22

// replaySpends sets the out.spent rows of the committed inputs past
// SpentSynced again, and syncs them.
func (s *Store) replaySpends() error {
	c := s.meta.Counts
	from := min(s.meta.SpentSynced, c.Inputs)
	if from == c.Inputs {
		if s.meta.SpentSynced != from {
			return s.syncSpends()
		}
		return nil
	}
	// The tx of input from: the last whose first input is at most from.
	t := uint64(sort.Search(int(c.Txs), func(i int) bool { return s.txIn.U64(uint64(i)) > from }) - 1)
	queued := 0
	for i := from; i < c.Inputs; i++ {
		for t+1 < c.Txs && s.txIn.U64(t+1) <= i {
			t++
		}
		if o := s.inOut.U64(i); o != NoOutput {
			s.outSpent.SetU32(o, uint32(t)+1)
			if queued++; queued == replayBatch {
				if err := s.outSpent.Flush(); err != nil {
					return err
				}
				queued = 0
			}
		}
	}
	if err := s.outSpent.Flush(); err != nil {
		return err
	}
	return s.syncSpends()
}
