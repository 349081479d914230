package registry_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
)

// TestForcePushOfTheLastCommitsReplaysFew: after a long first walk, a
// force-push that amends the head, then one that rewrites the last seven
// commits, replay from the checkpoints the walk kept near its end, not from
// the checkpoint a thousand commits back, and the index equals a fresh one.
func TestForcePushOfTheLastCommitsReplaysFew(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	var stream strings.Builder
	for i := range 1500 {
		body := personaYAML(idA, "Anna", "patient", fmt.Sprintf("background %d", i))
		fmt.Fprintf(&stream, "commit refs/heads/main\ncommitter C <c@example.com> %d +0000\ndata 4\nc%03d\n",
			testEpoch.Unix()+int64(i), i%1000)
		fmt.Fprintf(&stream, "M 100644 inline personas/a.yaml\ndata %d\n%s\n", len(body), body)
	}
	if out, err := gittest.Try(r.Dir, fixedEnv(), stream.String(), "fast-import", "--quiet"); err != nil {
		t.Fatalf("git fast-import: %v\n%s", err, out)
	}
	var replayed atomic.Int64
	reg := openRegistryOpts(t, registry.Options{Repo: r.Dir, NoCache: true, PollInterval: -1,
		Progress: func(_, total int) { replayed.Store(int64(total)) }})
	refresh(t, reg)

	rewrite := func(name string, back, fresh int, atMost int64) {
		t.Helper()
		head := r.Git("rev-parse", fmt.Sprintf("main~%d", back))
		for i := range fresh {
			r.Write("personas/a.yaml", personaYAML(idA, "Anna", "patient", fmt.Sprintf("%s %d", name, i)))
			r.Git("add", "-A")
			head = strings.TrimSpace(gittest.Run(t, r.Dir, fixedEnv(), "commit-tree", "-p", head, "-m", name,
				strings.TrimSpace(r.Git("write-tree"))))
		}
		r.Git("update-ref", "refs/heads/main", head)
		replayed.Store(0)
		snap := refresh(t, reg)
		if snap.Head != head {
			t.Fatalf("%s: serving %s, want %s", name, snap.Head, head)
		}
		if got := replayed.Load(); got > atMost {
			t.Errorf("%s replayed %d commits, want at most %d", name, got, atMost)
		}
		checkSameAsFresh(t, r.Dir, snap)
	}
	rewrite("amend the head", 1, 1, 1)
	rewrite("rebase the last seven", 7, 7, 10)
}
