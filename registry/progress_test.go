package registry_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
)

// progressCall is one call of Options.Progress.
type progressCall struct{ done, total int }

// TestProgressCountsEveryCommitOfTheWalk checks that Options.Progress and
// DiffOptions.Progress see every commit of a walk, in order, with its total,
// and that a later refresh reports only the new commits.
func TestProgressCountsEveryCommitOfTheWalk(t *testing.T) {
	r := newTestRepo(t)
	for i := range 5 {
		r.Write(fmt.Sprintf("personas/p%d.yaml", i), personaYAML(fmt.Sprintf("p%d", i), fmt.Sprintf("P %d", i), "buyer", "bg"))
		r.Commit(fmt.Sprintf("add p%d", i))
	}
	var calls []progressCall // the walk calls one at a time; Refresh returns after the last
	reg := openRegistryOpts(t, registry.Options{Repo: r.Dir, NoCache: true, PollInterval: -1,
		Progress: func(done, total int) { calls = append(calls, progressCall{done, total}) }})
	refresh(t, reg)
	if want := seq(1, 5, 5); !slices.Equal(calls, want) {
		t.Fatalf("first walk: Progress calls %v, want %v", calls, want)
	}
	calls = nil
	r.Write("personas/p9.yaml", personaYAML("p9", "P 9", "buyer", "bg"))
	r.Commit("add p9")
	refresh(t, reg)
	if want := seq(1, 1, 1); !slices.Equal(calls, want) {
		t.Fatalf("second walk: Progress calls %v, want %v", calls, want)
	}

	calls = nil
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := registry.CompareRevisions(ctx, registry.DiffOptions{Repo: r.Dir, Base: "HEAD~1", Head: "HEAD",
		Progress: func(done, total int) { calls = append(calls, progressCall{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := seq(1, 5, 5); !slices.Equal(calls, want) {
		t.Fatalf("diff: Progress calls %v, want %v (BASE has 5 commits)", calls, want)
	}
}

// seq returns the calls {from,total} … {to,total}.
func seq(from, to, total int) []progressCall {
	var out []progressCall
	for i := from; i <= to; i++ {
		out = append(out, progressCall{i, total})
	}
	return out
}
