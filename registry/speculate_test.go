package registry

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/personaregistry/personas/registry/gitdb"
)

// drain lets the speculator take every batch of what it was given (finish
// stops it after the current one, so what it did depends on timing).
func (sp *speculation) drain() map[*gitdb.Commit]pending {
	close(sp.commits)
	sp.wg.Wait()
	close(sp.stop)
	return sp.ready
}

// stateJSON is everything a state holds that an export can show.
func stateJSON(t *testing.T, s *indexState) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSpeculatedTailIsTheWalksOwn: the commits a speculation diffs and
// parses while the chain is read, from the newest back, give the state the
// walk gives without it, whether they cover a whole update of the chain, a
// part of one, or none; and the speculation covers every batch whose
// parent it saw.
func TestSpeculatedTailIsTheWalksOwn(t *testing.T) {
	r := openGeneratedRegistry(t)
	ctx := context.Background()
	head, err := r.store.ResolveBranch("main")
	if err != nil {
		t.Fatal(err)
	}
	err = r.do(ctx, func() error {
		_, chain, err := r.knownBase(ctx, head, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := newIndexState()
		if err := r.ix.update(ctx, want, chain, nil); err != nil {
			t.Fatal(err)
		}

		sp := r.ix.speculate(ctx)
		_, chain, err = r.knownBase(ctx, head, sp.add)
		if err != nil {
			t.Fatal(err)
		}
		ready := sp.drain()
		if n := (len(chain) - 1) / walkBatch * walkBatch; len(ready) != n {
			t.Fatalf("speculated %d of %d commits, want the %d of its whole batches", len(ready), len(chain), n)
		}
		for _, ci := range chain[len(chain)-len(ready):] {
			if _, ok := ready[ci]; !ok {
				t.Fatalf("commit %s of the newest %d is not among the speculated ones", ci.Hash, len(ready))
			}
		}

		// updates cut like the checkpoints cut them: the first partly
		// speculated, the others wholly
		got := newIndexState()
		r.ix.ready = ready
		defer func() { r.ix.ready = nil }()
		n := len(chain)
		for _, seg := range [][2]int{{0, 100}, {100, n - 10}, {n - 10, n - 1}, {n - 1, n}} {
			if err := r.ix.update(ctx, got, chain[seg[0]:seg[1]], nil); err != nil {
				t.Fatal(err)
			}
		}
		if g, w := stateJSON(t, got), stateJSON(t, want); g != w {
			t.Errorf("the state from speculated commits differs from the walk's own:\ngot  %.2000s\nwant %.2000s", g, w)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
