package registry_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
)

// Watch follows the branch: a commit made with the git command line shows
// up (the watcher is told at once), whether refs are loose or packed, after a gc, and in a
// bare repository that receives pushes.

// waitLimit bounds how long the tests wait for a commit to be served. It is
// generous on purpose: the watcher serves a commit within tens of
// milliseconds, and a loaded machine must not fail the test (the time taken
// is logged; how fast is a benchmark's question, not a test's).
const waitLimit = 30 * time.Second

// waitServed waits for the registry to serve commit and checks it was quick.
func waitServed(t *testing.T, reg *registry.Registry, commit string, since time.Time) *registry.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	s, err := reg.WaitFor(ctx, commit)
	if err != nil {
		var cur string
		if s := reg.Snapshot(); s != nil {
			cur = s.Head
		}
		// Say why: is the commit readable at all?
		rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer rcancel()
		rs, rerr := reg.Refresh(rctx)
		why := "an explicit Refresh then served it"
		if rerr != nil {
			why = "an explicit Refresh failed too: " + rerr.Error()
		} else if rs.Head != commit {
			why = "an explicit Refresh served " + short(rs.Head)
		}
		t.Fatalf("commit %s not served within %v (WaitFor: %v; serving %s); %s", short(commit), waitLimit, err, short(cur), why)
	}
	t.Logf("commit %s served after %v", short(commit), time.Since(since).Round(time.Millisecond))
	return s
}

// commitPersona writes a persona with the id and background and commits it.
func commitPersona(r *testRepo, id, bg string) string {
	r.T.Helper()
	r.Write("personas/"+id+".yaml", personaYAML(id, "Persona "+id, "patient", bg))
	return r.Commit("edit " + id)
}

func TestWatchPicksUpGitCommits(t *testing.T) {
	cases := []struct {
		name    string
		poll    time.Duration
		prepare func(r *testRepo) // before each new commit
	}{
		{name: "loose refs", poll: -1},
		{name: "loose refs, with polling", poll: 50 * time.Millisecond},
		{name: "packed refs", poll: -1, prepare: func(r *testRepo) { r.Git("pack-refs", "--all", "--prune") }},
		{name: "after gc", poll: -1, prepare: func(r *testRepo) { r.Git("gc", "--quiet", "--prune=now") }},
		{name: "after repack", poll: -1, prepare: func(r *testRepo) { r.Git("repack", "-a", "-d", "-q") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRepo(t)
			c1 := commitPersona(r, idA, "one")
			reg := openRegistryOpts(t, registry.Options{Repo: r.Dir, NoCache: true, PollInterval: tc.poll})
			if s := refresh(t, reg); s.Head != c1 {
				t.Fatalf("Head = %s, want %s", short(s.Head), short(c1))
			}
			reg.Watch()
			for i, id := range []string{idA, idB, idA} {
				if tc.prepare != nil {
					tc.prepare(r)
				}
				c := commitPersona(r, id, fmt.Sprintf("background %d", i+2))
				start := time.Now()
				if head := r.Git("rev-parse", "HEAD"); head != c {
					t.Fatalf("rev-parse HEAD = %s, want %s", head, c)
				}
				s := waitServed(t, reg, c, start)
				p := mustPersona(t, s, id)
				if p.Latest().Commit != c || p.Latest().Background.String() != fmt.Sprintf("background %d", i+2) {
					t.Errorf("persona %s latest = %s %q", id, short(p.Latest().Commit), p.Latest().Background)
				}
			}
			checkSameAsFresh(t, r.Dir, reg.Snapshot())
		})
	}
}

// A bare repository (what a server serves) updated by pushes from a clone.
func TestWatchBareRepositoryReceivesPushes(t *testing.T) {
	gittest.NeedGit(t)
	bare := filepath.Join(t.TempDir(), "served.git")
	env := fixedEnv()
	gittest.Run(t, t.TempDir(), env, "init", "--quiet", "--bare", "-b", "main", bare)
	r := newTestRepo(t)
	r.Git("remote", "add", "origin", bare)
	c1 := commitPersona(r, idA, "one")
	r.Git("push", "--quiet", "origin", "main")

	reg := openRegistryOpts(t, registry.Options{Repo: bare, NoCache: true, PollInterval: -1})
	if s := refresh(t, reg); s.Head != c1 {
		t.Fatalf("Head = %s, want %s", short(s.Head), short(c1))
	}
	reg.Watch()
	for i := range 3 {
		c := commitPersona(r, idB, fmt.Sprintf("pushed %d", i))
		r.Git("push", "--quiet", "origin", "main")
		start := time.Now()
		if head := gittest.Run(t, bare, env, "rev-parse", "refs/heads/main"); head != c {
			t.Fatalf("bare head = %s, want %s", head, c)
		}
		waitServed(t, reg, c, start)
		if i == 1 {
			gittest.Run(t, bare, env, "gc", "--quiet", "--prune=now")
		}
	}
	checkSameAsFresh(t, bare, reg.Snapshot())
}

// A branch in a subdirectory of refs/heads that does not exist yet when
// watching starts (the watcher must add the new directory).
func TestWatchNestedBranchCreatedLater(t *testing.T) {
	r := newTestRepo(t)
	commitPersona(r, idA, "one")
	reg := openRegistryOpts(t, registry.Options{Repo: r.Dir, Branch: "release/v1", NoCache: true, PollInterval: -1})
	if s := refresh(t, reg); s.Head != "" {
		t.Fatalf("Head = %q before the branch exists", s.Head)
	}
	reg.Watch()
	r.Git("checkout", "--quiet", "-b", "release/v1")
	start := time.Now()
	c := r.Git("rev-parse", "HEAD")
	waitServed(t, reg, c, start)
	c2 := commitPersona(r, idB, "on the release branch")
	start = time.Now()
	s := waitServed(t, reg, c2, start)
	mustPersona(t, s, idB)
}

// With polling only (no commit happens, so no file event), Watch publishes
// the branch without an explicit Refresh.
func TestWatchPollingPublishesWithoutRefresh(t *testing.T) {
	r := newTestRepo(t)
	c1 := commitPersona(r, idA, "one")
	reg := openRegistryOpts(t, registry.Options{Repo: r.Dir, NoCache: true, PollInterval: 50 * time.Millisecond})
	start := time.Now()
	reg.Watch()
	s := waitServed(t, reg, c1, start)
	select {
	case <-reg.Ready():
	default:
		t.Error("Ready not closed after the first snapshot")
	}
	checkVersions(t, mustPersona(t, s, idA), c1)
}

// WaitFor ends with its context, and with Close.
func TestWaitForEnds(t *testing.T) {
	r := newTestRepo(t)
	commitPersona(r, idA, "one")
	reg := openRegistry(t, r.Dir)
	refresh(t, reg)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := reg.WaitFor(ctx, "0000000000000000000000000000000000000000"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor on a commit never made: %v, want the context's deadline", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := reg.WaitFor(context.Background(), "0000000000000000000000000000000000000000")
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	reg.Close()
	select {
	case err := <-done:
		if registry.ErrorCode(err) != registry.EUNAVAILABLE {
			t.Errorf("WaitFor after Close: %v, want %s", err, registry.EUNAVAILABLE)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("WaitFor still blocked 30 s after Close")
	}
	if _, err := reg.Refresh(context.Background()); registry.ErrorCode(err) != registry.EUNAVAILABLE {
		t.Errorf("Refresh after Close: %v, want %s", err, registry.EUNAVAILABLE)
	}
}
