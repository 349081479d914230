package registry

// Tests of the reuse of ref resolutions (refresolve.go): a cached ref is
// answered off the owner goroutine while its ref files are unchanged, and
// every way git changes what a name means is noticed at once.

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry/gittest"
)

// resolveFixture is a worktree with main (one persona) and branch feature
// one commit ahead, and a registry serving main.
type resolveFixture struct {
	t    *testing.T
	repo *gittest.Repo
	reg  *Registry
}

func newResolveFixture(t *testing.T) *resolveFixture {
	t.Helper()
	repo := gittest.NewRepo(t)
	repo.Write("personas/a.yaml", rtPersonaYAML(1, "Ada", "first"))
	repo.Commit("add Ada")
	repo.Git("branch", "feature")
	repo.Git("checkout", "--quiet", "feature")
	repo.Write("personas/a.yaml", rtPersonaYAML(1, "Ada", "edited on feature"))
	repo.Commit("feature: edit Ada")
	repo.Git("checkout", "--quiet", "main")
	reg, err := Open(Options{Repo: repo.Dir, PollInterval: -1, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if _, err := reg.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &resolveFixture{t: t, repo: repo, reg: reg}
}

// commitOn makes a commit on top of rev without touching any ref.
func (f *resolveFixture) commitOn(rev, msg string) string {
	f.t.Helper()
	return f.repo.Git("commit-tree", rev+"^{tree}", "-p", rev, "-m", msg)
}

// snapshot asks for name's snapshot and checks that it is at want.
func (f *resolveFixture) snapshot(name, want string) {
	f.t.Helper()
	snap, err := f.reg.RefSnapshot(context.Background(), name)
	if err != nil {
		f.t.Fatalf("RefSnapshot(%q): %v", name, err)
	}
	if snap.Head != want {
		f.t.Fatalf("RefSnapshot(%q) is at %.7s, want %.7s (git rev-parse)", name, snap.Head, want)
	}
}

// fast says whether name is answered without the owner goroutine.
func (f *resolveFixture) fast(name string) bool { return f.reg.cachedRefSnapshot(name) != nil }

func TestRefResolutionReuse(t *testing.T) {
	old := racyWindow
	racyWindow = 0 // the fixture's refs are fresh; the racy rule has its own test
	t.Cleanup(func() { racyWindow = old })
	for _, c := range []struct {
		name   string
		ref    string
		change func(f *resolveFixture) (want string) // "" : the ref is gone
		cached bool                                  // answered off the owner after the change
	}{
		{"unchanged", "feature", func(f *resolveFixture) string {
			return f.repo.Git("rev-parse", "feature")
		}, true},
		{"moved by git update-ref", "feature", func(f *resolveFixture) string {
			c := f.commitOn("feature", "next")
			f.repo.Git("update-ref", "refs/heads/feature", c)
			return c
		}, true},
		{"rewritten in place with its old modification time", "feature", func(f *resolveFixture) string {
			c := f.commitOn("feature", "in place")
			path := filepath.Join(f.repo.Dir, ".git", "refs", "heads", "feature")
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			fh, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fh.WriteString(c + "\n"); err != nil {
				t.Fatal(err)
			}
			fh.Close()
			if err := os.Chtimes(path, info.ModTime(), info.ModTime()); err != nil {
				t.Fatal(err)
			}
			return c
		}, true},
		{"a tag of the same name comes first", "feature", func(f *resolveFixture) string {
			f.repo.Git("tag", "feature", "main")
			return f.repo.Git("rev-parse", "main")
		}, true},
		{"packed by git pack-refs", "feature", func(f *resolveFixture) string {
			f.repo.Git("pack-refs", "--all")
			return f.repo.Git("rev-parse", "feature")
		}, true},
		{"a tag of the same name appears in packed-refs only", "feature", func(f *resolveFixture) string {
			main := f.repo.Git("rev-parse", "main")
			path := filepath.Join(f.repo.Dir, ".git", "packed-refs")
			old, _ := os.ReadFile(path)
			if len(old) == 0 {
				old = []byte("# pack-refs with: peeled fully-peeled sorted \n")
			}
			if err := os.WriteFile(path, append(old, main+" refs/tags/feature\n"...), 0o644); err != nil {
				t.Fatal(err)
			}
			return main
		}, true},
		{"a pull request ref packed", "pull/7/head", func(f *resolveFixture) string {
			f.repo.Git("pack-refs", "--all")
			return f.repo.Git("rev-parse", "pull/7/head")
		}, true},
		{"deleted", "feature", func(f *resolveFixture) string {
			f.repo.Git("branch", "-D", "feature")
			return ""
		}, false},
		{"a pull request ref moved", "pull/7/head", func(f *resolveFixture) string {
			c := f.commitOn("feature", "pr")
			f.repo.Git("update-ref", "refs/pull/7/head", c)
			return c
		}, true},
		{"a symbolic ref is never reused", "alias", func(f *resolveFixture) string {
			return f.repo.Git("rev-parse", "feature")
		}, false},
		{"a webhook expired the fetched refs", "feature", func(f *resolveFixture) string {
			f.reg.ExpireFetchedRefs()
			return f.repo.Git("rev-parse", "feature")
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newResolveFixture(t)
			f.repo.Git("update-ref", "refs/pull/7/head", "feature")
			f.repo.Git("symbolic-ref", "refs/heads/alias", "refs/heads/feature")
			f.snapshot(c.ref, f.repo.Git("rev-parse", c.ref))
			if c.ref != "alias" && !f.fast(c.ref) {
				t.Fatalf("%s resolved and built, but the next request needs the owner goroutine", c.ref)
			}
			want := c.change(f)
			if c.name != "unchanged" && f.fast(c.ref) {
				t.Errorf("after the change the old resolution of %s is still reused", c.ref)
			}
			if want == "" {
				_, err := f.reg.RefSnapshot(context.Background(), c.ref)
				if ErrorCode(err) != ENOTFOUND {
					t.Fatalf("RefSnapshot(%q) after the change = %v, want ENOTFOUND", c.ref, err)
				}
				return
			}
			f.snapshot(c.ref, want)
			if got := f.fast(c.ref); got != c.cached {
				t.Errorf("after the change and one request, answered off the owner goroutine: %v, want %v", got, c.cached)
			}
		})
	}
}

func TestRefResolutionRacyAndCommits(t *testing.T) {
	f := newResolveFixture(t)
	feature := f.repo.Git("rev-parse", "feature")
	old := racyWindow
	racyWindow = time.Hour // every ref file is younger than that: none may be trusted
	t.Cleanup(func() { racyWindow = old })
	f.snapshot("feature", feature)
	if f.fast("feature") {
		t.Error("a ref file changed within the racy window was trusted")
	}
	f.snapshot(feature, feature) // a full commit id: no file decides it
	if !f.fast(feature) {
		t.Error("a full commit id is resolved again on every request")
	}
	f.snapshot(feature[:10], feature) // an abbreviation may become ambiguous
	if f.fast(feature[:10]) {
		t.Error("an abbreviated commit id was reused")
	}
}

func TestRefResolutionReuseOnAReplica(t *testing.T) {
	old := racyWindow
	racyWindow = 0
	t.Cleanup(func() { racyWindow = old })
	o := newRTOrigin(t, 2)
	rtGit(t, o.Work, "checkout", "--quiet", "-b", "pr")
	o.write("personas/three.yaml", rtPersonaYAML(3, "Persona Three", "from the PR"))
	pr := o.commitAll("PR: add three")
	rtGit(t, o.Work, "push", "--quiet", "origin", "pr:refs/pull/3/head")
	reg, _ := rtReplica(t, o)
	f := &resolveFixture{t: t, reg: reg}
	f.snapshot("pull/3/head", pr) // fetched now
	f.snapshot("pull/3/head", pr) // from the fetched copy: remembered
	if !f.fast("pull/3/head") {
		t.Fatal("a fetched ref within its refetch time needs the owner goroutine on every request")
	}
	o.write("personas/three.yaml", rtPersonaYAML(3, "Persona Three", "second PR commit"))
	pr2 := o.commitAll("PR: edit three")
	rtGit(t, o.Work, "push", "--quiet", "--force", "origin", "pr:refs/pull/3/head")
	reg.ExpireFetchedRefs() // the webhook
	if f.fast("pull/3/head") {
		t.Fatal("after a webhook the fetched ref's old resolution is still reused")
	}
	f.snapshot("pull/3/head", pr2)
}
