package registry

import (
	"context"
	"sync"

	"github.com/personaregistry/personas/registry/gitdb"
)

// speculation diffs and parses the newest commits of a chain while the
// owner is still reading the chain, newest first, by following first
// parents: a sequential read that leaves the second core idle (9% of a cold
// index of 2,000 personas × 20,000 commits, 5% at 10,000 × 100,000). A
// commit's diff against its parent does not depend on the commits before
// it, so the speculator works from the newest end in batches as soon as
// their parents are known; the walk later applies the results in commit
// order like any batch's (indexer.readyTail). Its batches are contiguous
// from the newest commit, and it stops at the first error, which the walk
// then meets again for itself.
type speculation struct {
	ix      *indexer
	commits chan *gitdb.Commit // as read, newest first
	stop    chan struct{}      // closed by finish: take no new batch
	lost    bool               // a commit did not fit in commits: send no more (owner only)
	wg      sync.WaitGroup

	// ready is written by the speculator and read after it returned.
	ready map[*gitdb.Commit]pending
}

// speculateCommits bounds how far the speculator can fall behind the read
// of the chain; it never gets that far (about 1,000 commits at 2,000
// personas, 2,500 at 10,000).
const speculateCommits = 8192

// speculate starts a speculation; the owner gives it each commit it reads
// with add and ends it with finish.
func (ix *indexer) speculate(ctx context.Context) *speculation {
	sp := &speculation{
		ix:      ix,
		commits: make(chan *gitdb.Commit, speculateCommits),
		stop:    make(chan struct{}),
		ready:   map[*gitdb.Commit]pending{},
	}
	ix.store.Busy()
	sp.wg.Go(func() { sp.run(ctx) })
	return sp
}

// add hands the speculator the next commit of the chain (the parent of the
// one before). It never blocks.
func (sp *speculation) add(ci *gitdb.Commit) {
	if sp.lost {
		return
	}
	select {
	case sp.commits <- ci:
	default:
		sp.lost = true // a gap would break the run of batches: send no more
	}
}

// finish stops the speculator after the batch it is on and returns what it
// diffed and parsed, by commit (nil if nothing). The store's caches go back
// to their idle bounds: the walk that follows sizes them for itself.
func (sp *speculation) finish() map[*gitdb.Commit]pending {
	close(sp.stop)
	close(sp.commits)
	sp.wg.Wait()
	sp.ix.store.Idle()
	if len(sp.ready) == 0 {
		return nil
	}
	return sp.ready
}

func (sp *speculation) run(ctx context.Context) {
	memo := newParseMemo()
	trees := gitdb.NewTreeReader(sp.ix.store)
	defer trees.Close()
	var newest []*gitdb.Commit // read and not yet in a batch, newest first
	for ci := range sp.commits {
		newest = append(newest, ci)
		if len(newest) <= walkBatch {
			continue // the oldest one's parent tree is not known yet
		}
		select {
		case <-sp.stop:
			return
		default:
		}
		commits := make([]*gitdb.Commit, walkBatch)
		for i := range commits {
			commits[i] = newest[walkBatch-1-i]
		}
		res := sp.ix.walkBatch(ctx, memo, trees, newest[walkBatch].Tree, commits)
		if res.err != nil {
			return
		}
		for _, p := range res.pending {
			sp.ready[p.ci] = p
		}
		newest = append(newest[:0], newest[walkBatch])
	}
}

// readyTail splits a chain into the commits to walk and a batch, already
// done, of the commits at its end that a speculation diffed and parsed (nil
// if none).
func (ix *indexer) readyTail(chain []*gitdb.Commit) ([]*gitdb.Commit, *batch) {
	k := 0
	for k < len(chain) {
		if _, ok := ix.ready[chain[len(chain)-1-k]]; !ok {
			break
		}
		k++
	}
	if k == 0 {
		return chain, nil
	}
	tail := chain[len(chain)-k:]
	res := batchResult{pending: make([]pending, len(tail))}
	for i, ci := range tail {
		res.pending[i] = ix.ready[ci]
	}
	b := &batch{commits: tail, out: make(chan batchResult, 1)}
	b.out <- res
	return chain[:len(chain)-k], b
}
