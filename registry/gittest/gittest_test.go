package gittest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry/gittest"
	"github.com/personaregistry/personas/registry/repogen"
)

// Two repositories given the same files make the same commits: nothing of
// the user's configuration or the clock leaks in.
func TestReposAreReproducible(t *testing.T) {
	build := func() (*gittest.Repo, []string) {
		r := gittest.NewRepo(t)
		r.Write("personas/a.yaml", "id: a\n")
		c1 := r.Commit("first")
		r.Write("personas/a.yaml", "id: a\nname: A\n")
		r.Rename("personas/a.yaml", "personas/sub/a.yaml")
		c2 := r.Commit("second")
		return r, []string{c1, c2}
	}
	a, ca := build()
	_, cb := build()
	if strings.Join(ca, " ") != strings.Join(cb, " ") {
		t.Fatalf("same files, different commits: %v and %v", ca, cb)
	}
	if got := a.Head(); got != ca[1] {
		t.Errorf("Head = %s, want %s", got, ca[1])
	}
	dates := a.Git("log", "--format=%an <%ae> %aI|%cn <%ce> %cI", "main")
	want := "Test Author <author@example.com> 2024-03-01T10:01:00+00:00|Test Committer <committer@example.com> 2024-03-01T10:01:00+00:00\n" +
		"Test Author <author@example.com> 2024-03-01T10:00:00+00:00|Test Committer <committer@example.com> 2024-03-01T10:00:00+00:00"
	if dates != want {
		t.Errorf("identities and dates:\n%s\nwant:\n%s", dates, want)
	}
}

func TestCommitAllAsAnotherIdentity(t *testing.T) {
	r := gittest.NewRepo(t)
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", 2*3600))
	r.CommitAll("as bob", gittest.Identity{Name: "Bob", Email: "bob@example.com", When: when})
	if got, want := r.Git("log", "-1", "--format=%an %ae %aI %cn %ce %cI"),
		"Bob bob@example.com 2025-01-02T03:04:05+02:00 Bob bob@example.com 2025-01-02T03:04:05+02:00"; got != want {
		t.Errorf("commit = %q, want %q", got, want)
	}
}

func TestBareCloneAndPush(t *testing.T) {
	bare := gittest.NewBare(t)
	if got := bare.Git("rev-parse", "--is-bare-repository"); got != "true" {
		t.Fatalf("NewBare: is-bare-repository = %s", got)
	}
	work := gittest.NewRepo(t)
	work.Git("remote", "add", "origin", bare.Dir)
	work.Write("f.txt", "one\n")
	c := work.Commit("one")
	work.Push()
	if got := bare.Head(); got != c {
		t.Errorf("pushed main = %s, want %s", got, c)
	}
	clone := work.CloneBare()
	if got := clone.Head(); got != c {
		t.Errorf("bare clone main = %s, want %s", got, c)
	}
	if _, err := gittest.Try(clone.Dir, nil, "", "rev-parse", "--verify", "--quiet", "refs/heads/nope"); err == nil {
		t.Error("Try of a failing command: no error")
	}
	clone.Git("repack", "-a", "-d", "-q")
	if packs := gittest.Packs(t, clone.Dir); len(packs) != 1 {
		t.Errorf("Packs after repack -a -d = %v, want one", packs)
	}
}

func TestGeneratedIsMadeOnceAndReused(t *testing.T) {
	cfg := repogen.Config{Personas: 3, Commits: 12, Seed: 42}
	dir := gittest.Generated(t, cfg)
	n := gittest.Run(t, dir, nil, "rev-list", "--count", "--first-parent", "main")
	if n != "12" {
		t.Errorf("first-parent commits = %s, want 12", n)
	}
	head := gittest.Run(t, dir, nil, "rev-parse", "main")
	if again := gittest.Generated(t, cfg); again != dir {
		t.Errorf("second call: %s, want %s", again, dir)
	}
	if h := gittest.Run(t, dir, nil, "rev-parse", "main"); h != head {
		t.Errorf("the repository changed: main %s, then %s", head, h)
	}
}
