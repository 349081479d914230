package registry

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/personaregistry/personas/registry/gitdb"
)

// checkpointEvery is how many commits a long history walk reads between
// two checkpoints.
const checkpointEvery = 1000

// checkpointTails are the distances from the end of a walk at which it
// also keeps a checkpoint: a force-push that amends or rebases the last
// commits replays from one of them (at 10,000 personas a replay of 1,000
// commits took 1.4 s, of 1 a few milliseconds).
var checkpointTails = []int{100, 10, 1}

// DefaultCheckpoints is how many index states of the served branch are kept
// for building ref snapshots when Options.Checkpoints is zero. Each costs the
// maps of a frozen state and the objects only it still holds: at 10,000
// personas × 100,000 commits, 16 held 240 MB of live heap, 8 hold 208 MB
// and none 168 MB.
const DefaultCheckpoints = 8

// checkpoints keep frozen index states of the served branch at some of its
// commits, so that the state at a merge-base is a replay of at most a few
// commits away instead of a walk of the whole history. A frozen state is the
// fold of its commit's first-parent chain and never changes, so it stays
// right whatever the branch does later (even after a force-push).
// Spacing grows with age: recent merge-bases are cheap, old ones cost more.
type checkpoints struct {
	mu    sync.Mutex
	max   int
	byPos []*indexState // frozen, ordered by Commits
}

func newCheckpoints(max int) *checkpoints {
	if max == 0 {
		max = DefaultCheckpoints
	}
	return &checkpoints{max: max}
}

// add keeps a frozen copy of s (unless one at the same commit is kept).
func (c *checkpoints) add(s *indexState) {
	if c.max < 0 || s.Head.IsZero() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.byPos {
		if k.Head == s.Head {
			return
		}
	}
	c.byPos = append(c.byPos, freeze(s))
	slices.SortStableFunc(c.byPos, func(a, b *indexState) int { return a.Commits - b.Commits })
	for len(c.byPos) > c.max {
		c.thin(s)
	}
}

// thin drops one checkpoint, never newest (the one just added at the
// branch's head): first one past the head (left by a force-push that moved
// the branch back), else the one whose neighbours are closest relative to
// its age, so that the spacing grows about geometrically with age.
func (c *checkpoints) thin(newest *indexState) {
	head := newest.Commits
	best, bestScore := -1, 0.0
	for i, k := range c.byPos {
		if k.Head == newest.Head {
			continue
		}
		score := -1.0 // past the head: not on the branch any more
		if k.Commits <= head {
			prev, next := 0, head
			if i > 0 {
				prev = c.byPos[i-1].Commits
			}
			if i+1 < len(c.byPos) {
				next = min(c.byPos[i+1].Commits, head)
			}
			score = float64(next-prev) / float64(head-k.Commits+1)
		}
		if best < 0 || score < bestScore {
			best, bestScore = i, score
		}
	}
	c.byPos = slices.Delete(c.byPos, best, best+1)
}

// at returns the frozen state at commit h, or nil.
func (c *checkpoints) at(h gitdb.Hash) *indexState {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.byPos {
		if k.Head == h {
			return k
		}
	}
	return nil
}

// states returns the checkpoints kept.
func (c *checkpoints) states() []*indexState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.byPos)
}

// reset forgets every checkpoint.
func (c *checkpoints) reset() {
	c.mu.Lock()
	c.byPos = nil
	c.mu.Unlock()
}

// freeze copies the maps of s that a later commit changes in place; Links
// is left out and rebuilt by thaw. Personas, files and unit states are
// replaced, never changed, so they are shared.
func freeze(s *indexState) *indexState {
	return &indexState{Head: s.Head, Commits: s.Commits, Personas: maps.Clone(s.Personas),
		Files: maps.Clone(s.Files), Units: maps.Clone(s.Units)}
}

// thaw returns a state that commits can be applied to, leaving f as it is.
func thaw(f *indexState) *indexState {
	s := &indexState{gen: stateGens.Add(1), Head: f.Head, Commits: f.Commits, Personas: maps.Clone(f.Personas),
		Files: maps.Clone(f.Files), Units: maps.Clone(f.Units), Links: map[string]map[string]bool{}}
	for path, fs := range s.Files {
		if fs.ID != "" {
			s.link(path, fs.ID)
		}
	}
	return s
}

// updateWithCheckpoints folds chain into s like indexer.update, keeping a
// checkpoint every checkpointEvery commits, at checkpointTails from the end
// and at the end. It is one walk: cut into one walk per checkpoint, it
// drained its workers and dropped its free buffers at each (at 10,000 ×
// 100,000, 100 times); at a checkpoint it now only trims (gitdb.Repo.Trim).
func (r *Registry) updateWithCheckpoints(ctx context.Context, s *indexState, chain []*gitdb.Commit) error {
	at := checkpointsAt(len(chain))
	err := r.ix.update(ctx, s, chain, func(applied int) {
		if len(at) > 0 && at[0] == applied {
			at = at[1:]
			r.checkpoints.add(s)
			r.store.Trim()
		}
	})
	if err != nil {
		return err
	}
	r.checkpoints.add(s)
	return nil
}

// checkpointsAt returns after how many commits of a walk of n a checkpoint
// is kept before its end, in order: every checkpointEvery commits, and
// checkpointTails commits before the end.
func checkpointsAt(n int) []int {
	var at []int
	for done := 0; ; {
		left := n - done
		step := min(left, checkpointEvery)
		for _, tail := range checkpointTails {
			if left > tail {
				step = min(step, left-tail)
			}
		}
		if done += step; done >= n {
			return at
		}
		at = append(at, done)
	}
}
