package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
)

// previewRepo is a copy of a repository with a main branch, a feature
// branch forked from it, tags, pull/merge request refs, a rewritten history,
// an unrelated one and 50 branches one commit ahead of main. Its registry
// has followed main commit by commit (so that it has checkpoints, as a
// running server would).
type previewRepo struct {
	*previewTemplate
	t   *testing.T
	Dir string
	reg *registry.Registry
}

// previewTemplate is the repository, made once (git is slow on a loaded
// machine) and copied by each test.
type previewTemplate struct {
	dir                    string
	mains                  []string // main's commits, oldest first
	fork, c2, c3, feature2 string
	many                   []string // heads of many/00 … many/49
}

var (
	templateOnce sync.Once
	template     *previewTemplate
	templateErr  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if template != nil {
		os.RemoveAll(template.dir)
	}
	os.Exit(code)
}

func buildPreviewTemplate(t *testing.T) *previewTemplate {
	t.Helper()
	dir, err := os.MkdirTemp("", "preview-template-*")
	if err != nil {
		t.Fatal(err)
	}
	pt := &previewTemplate{dir: dir}
	r := repoAt(t, dir, 0)
	r.Git("init", "--quiet", "-b", "main")
	main := func(msg string) string {
		c := r.Commit(msg)
		pt.mains = append(pt.mains, c)
		return c
	}
	r.Write("personas/a.yaml", personaYAML(idA, "Anna", "patient", "first background"))
	r.Write("personas/b.yaml", personaYAML(idB, "Bert", "tenant", "bert background"))
	main("add A and B")
	r.Write("personas/a.yaml", personaYAML(idA, "Anna", "patient", "second background", "tags:\n  tier: gold"))
	pt.c2 = main("edit A")
	r.Git("tag", "-a", "-m", "release one", "v1")
	r.Move("personas/b.yaml", "personas/tenants/b.yaml")
	pt.c3 = main("move B")
	r.Git("tag", "light")
	r.Write("unit_tests/a.yaml", "persona_id: "+idA+"\nname: a test\n")
	pt.fork = main("unit test for A")

	r.Git("checkout", "--quiet", "-b", "feature/new-callers")
	r.Write("personas/a.yaml", personaYAML(idA, "Anna", "patient", "feature background"))
	r.Commit("feature: edit A")
	r.Write("personas/c.yaml", personaYAML(idC, "Cleo", "caller", "cleo background"))
	pt.feature2 = r.Commit("feature: add C")
	r.Write("personas/tenants/b.yaml", "id: "+idB+"\nname: [broken\n")
	r.Commit("feature: break B")
	r.Git("update-ref", "refs/pull/7/head", "HEAD")
	r.Git("update-ref", "refs/merge-requests/3/head", pt.feature2)

	r.Git("checkout", "--quiet", "main")
	r.Remove("personas/a.yaml")
	main("delete A")
	r.Write("personas/tenants/b.yaml", personaYAML(idB, "Bert", "tenant", "bert edited on main"))
	head := main("edit B")

	r.Git("checkout", "--quiet", "-b", "rewritten", pt.c2)
	r.Write("personas/a.yaml", personaYAML(idA, "Anna", "patient", "rewritten background"))
	r.Commit("rewrite: edit A")
	r.Git("checkout", "--quiet", "--orphan", "unrelated")
	r.Git("rm", "-rf", "--quiet", ".")
	r.Write("personas/c.yaml", personaYAML(idC, "Cleo", "caller", "unrelated cleo"))
	r.Commit("unrelated root")
	r.Git("checkout", "--quiet", "-f", "main")

	// 50 branches, one commit each, in one git process
	var stream strings.Builder
	for i := range 50 {
		msg := fmt.Sprintf("variant %d", i)
		body := personaYAML(idC, "Cleo", "caller", msg)
		fmt.Fprintf(&stream, "commit refs/heads/many/%02d\ncommitter C <c@example.com> %d +0000\ndata %d\n%s\nfrom %s\nM 100644 inline personas/c.yaml\ndata %d\n%s\n",
			i, testEpoch.Unix()+int64(3600+i), len(msg), msg, head, len(body), body)
	}
	if out, err := gittest.Try(dir, fixedEnv(), stream.String(), "fast-import", "--quiet"); err != nil {
		t.Fatalf("git fast-import: %v\n%s", err, out)
	}
	for i := range 50 {
		pt.many = append(pt.many, r.Git("rev-parse", fmt.Sprintf("many/%02d", i)))
	}
	return pt
}

func newPreviewRepo(t *testing.T, opts registry.Options) *previewRepo {
	t.Helper()
	gittest.NeedGit(t)
	templateOnce.Do(func() {
		ok := false
		defer func() {
			if !ok {
				templateErr = "building the template repository failed (see the first test)"
			}
		}()
		template = buildPreviewTemplate(t)
		ok = true
	})
	if template == nil {
		t.Fatal(templateErr)
	}
	r := &previewRepo{previewTemplate: template, t: t, Dir: t.TempDir()}
	if err := os.CopyFS(r.Dir, os.DirFS(template.dir)); err != nil {
		t.Fatalf("copy the template: %v", err)
	}
	opts.Repo, opts.NoCache, opts.PollInterval = r.Dir, true, -1
	r.reg = openRegistryOpts(t, opts)
	mainRef := filepath.Join(r.Dir, ".git", "refs", "heads", "main")
	for _, c := range r.mains {
		if err := os.WriteFile(mainRef, []byte(c+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		refresh(t, r.reg)
	}
	return r
}

// repo is the copy as a testRepo, for Git, Write and Commit.
func (r *previewRepo) repo() *testRepo { return repoAt(r.t, r.Dir, 100) }

// repoAt is a testRepo on the worktree at dir whose next commit is dated
// as the commits-th (from 0) of a new one.
func repoAt(t testing.TB, dir string, commits int) *testRepo {
	return &testRepo{Repo: &gittest.Repo{T: t, Dir: dir, Identity: testIdentity, Step: time.Minute, Commits: commits}}
}

func refSnapshot(t *testing.T, reg *registry.Registry, ref string) *registry.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap, err := reg.RefSnapshot(ctx, ref)
	if err != nil {
		t.Fatalf("RefSnapshot(%q): %v", ref, err)
	}
	return snap
}

// revSnapshot indexes the repository at rev from scratch, as a server
// started on that ref alone would.
func revSnapshot(t *testing.T, dir, rev string) *registry.Snapshot {
	t.Helper()
	return refresh(t, openRegistryOpts(t, registry.Options{Repo: dir, Rev: rev, NoCache: true, PollInterval: -1}))
}

func TestRefSnapshotEqualsIndexOfTheRef(t *testing.T) {
	for _, opts := range []struct {
		name string
		o    registry.Options
	}{{"checkpoints", registry.Options{}}, {"no checkpoints", registry.Options{Checkpoints: -1}}} {
		t.Run(opts.name, func(t *testing.T) {
			r := newPreviewRepo(t, opts.o)
			cases := []struct{ name, ref string }{
				{"branch with a slash", "feature/new-callers"},
				{"full branch ref", "refs/heads/feature/new-callers"},
				{"annotated tag", "v1"},
				{"lightweight tag", "light"},
				{"full commit", r.feature2},
				{"abbreviated commit", r.c3[:7]},
				{"pull request", "pull/7/head"},
				{"merge request", "merge-requests/3/head"},
				{"rewritten history", "rewritten"},
				{"unrelated history", "unrelated"},
				{"served branch", "main"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					got := dumpSnapshot(refSnapshot(t, r.reg, c.ref))
					want := dumpSnapshot(revSnapshot(t, r.Dir, c.ref))
					if got != want {
						t.Errorf("RefSnapshot(%q) differs from an index of the ref alone (- ref, + alone):\n%s", c.ref, diffDumps(got, want))
					}
				})
			}
		})
	}
}

func TestRefSnapshotReplaysOnlyTheRefsCommits(t *testing.T) {
	r := newPreviewRepo(t, registry.Options{})
	before := r.reg.RefStats()
	snap := refSnapshot(t, r.reg, "pull/7/head")
	st := r.reg.RefStats()
	if got := st.Replayed - before.Replayed; got != 3 {
		t.Errorf("building pull/7/head replayed %d commits, want 3 (its own, from the checkpoint at the fork)", got)
	}
	// version numbers: as if the ref were merged fast-forward into main at
	// the fork: A had 2 versions there, the feature's edit is version 3
	checkVersions(t, mustPersona(t, snap, idA), r.mains[0], r.c2, r.repo().Git("rev-parse", "pull/7/head~2"))
	if got, want := mustPersona(t, snap, idA).Latest().Number, 3; got != want {
		t.Errorf("A's latest version on the PR is %d, want %d", got, want)
	}
	again := refSnapshot(t, r.reg, "refs/pull/7/head")
	if again != snap || r.reg.RefStats().Builds != st.Builds {
		t.Errorf("a second request for the same commit built a new snapshot")
	}
}

func TestRefSnapshotUnknownAndMalformed(t *testing.T) {
	r := newPreviewRepo(t, registry.Options{})
	ctx := context.Background()
	for _, c := range []struct{ ref, code, mention string }{
		{"no-such-branch", registry.ENOTFOUND, `"no-such-branch"`},
		{"pull/99/head", registry.ENOTFOUND, `"pull/99/head"`},
		{"deadbeefdeadbeef", registry.ENOTFOUND, `"deadbeefdeadbeef"`},
		{"main~1", registry.EINVALID, "not allowed"},
		{"a/../b", registry.EINVALID, ".."},
		{"", registry.EINVALID, "empty"},
	} {
		t.Run(c.ref, func(t *testing.T) {
			_, err := r.reg.RefSnapshot(ctx, c.ref)
			if registry.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.mention) {
				t.Errorf("RefSnapshot(%q) = %v (%s), want %s mentioning %s", c.ref, err, registry.ErrorCode(err), c.code, c.mention)
			}
		})
	}
}

func TestRefSnapshotFollowsBranch(t *testing.T) {
	r := newPreviewRepo(t, registry.Options{})
	first := refSnapshot(t, r.reg, "feature/new-callers")
	repo := r.repo()
	repo.Git("checkout", "--quiet", "feature/new-callers")
	repo.Write("personas/c.yaml", personaYAML(idC, "Cleo", "caller", "cleo edited"))
	head := repo.Commit("feature: edit C")
	before := r.reg.RefStats()
	got := refSnapshot(t, r.reg, "feature/new-callers")
	if got.Head != head || got == first {
		t.Fatalf("after a commit the branch snapshot is at %s, want %s", short(got.Head), short(head))
	}
	if n := r.reg.RefStats().Replayed - before.Replayed; n != 1 {
		t.Errorf("following one new commit replayed %d commits, want 1 (from the cached snapshot)", n)
	}
	if d, w := dumpSnapshot(got), dumpSnapshot(revSnapshot(t, r.Dir, head)); d != w {
		t.Errorf("followed snapshot differs (- ref, + alone):\n%s", diffDumps(d, w))
	}
}

func TestRefSnapshotLRUBounds(t *testing.T) {
	r := newPreviewRepo(t, registry.Options{PreviewRefs: 8})
	heads := r.many
	var one int64
	for i := range 50 {
		snap := refSnapshot(t, r.reg, fmt.Sprintf("many/%02d", i))
		if snap.Head != heads[i] {
			t.Fatalf("many/%02d at %s, want %s", i, short(snap.Head), short(heads[i]))
		}
		st := r.reg.RefStats()
		if st.Refs > 8 || st.Bytes > st.MaxBytes {
			t.Fatalf("after %d refs the cache holds %d refs, %d bytes; bounds 8, %d", i+1, st.Refs, st.Bytes, st.MaxBytes)
		}
		if i == 0 {
			one = st.Bytes
		}
	}
	if st := r.reg.RefStats(); st.Refs != 8 || st.Builds != 50 {
		t.Errorf("stats after 50 refs: %+v, want 8 cached and 50 builds", st)
	}
	// evicted: rebuilt on demand, and right
	builds := r.reg.RefStats().Builds
	got := refSnapshot(t, r.reg, "many/00")
	if r.reg.RefStats().Builds != builds+1 {
		t.Errorf("an evicted ref was not rebuilt")
	}
	if d, w := dumpSnapshot(got), dumpSnapshot(revSnapshot(t, r.Dir, "many/00")); d != w {
		t.Errorf("rebuilt snapshot differs (- ref, + alone):\n%s", diffDumps(d, w))
	}

	// the byte bound: room for three snapshots of this size
	small := openRegistryOpts(t, registry.Options{Repo: r.Dir, NoCache: true, PollInterval: -1, PreviewBytes: 3*one + one/2})
	refresh(t, small)
	for i := range 50 {
		refSnapshot(t, small, fmt.Sprintf("many/%02d", i))
		if st := small.RefStats(); st.Bytes > st.MaxBytes || st.Refs > 3 {
			t.Fatalf("byte bound broken after %d refs: %+v", i+1, st)
		}
	}
	if st := small.RefStats(); st.Refs != 3 {
		t.Errorf("byte-bounded cache holds %d refs, want 3: %+v", st.Refs, st)
	}
}

func TestRefDiffEqualsCompareRevisions(t *testing.T) {
	r := newPreviewRepo(t, registry.Options{})
	for _, ref := range []string{"feature/new-callers", "pull/7/head", "rewritten", "unrelated", "v1"} {
		t.Run(ref, func(t *testing.T) {
			ctx := context.Background()
			got, err := r.reg.RefDiff(ctx, ref)
			if err != nil {
				t.Fatalf("RefDiff: %v", err)
			}
			want, err := registry.CompareRevisions(ctx, registry.DiffOptions{Repo: r.Dir, Branch: "main", Head: ref})
			if err != nil {
				t.Fatalf("CompareRevisions: %v", err)
			}
			gj, _ := json.MarshalIndent(got, "", " ")
			wj, _ := json.MarshalIndent(want, "", " ")
			if string(gj) != string(wj) {
				t.Errorf("RefDiff(%q) differs from personas diff (- ref, + diff):\n%s", ref, diffDumps(string(gj), string(wj)))
			}
			if ref == "pull/7/head" && len(got.Personas) == 0 {
				t.Errorf("the PR's diff lists no persona")
			}
		})
	}
}

func TestRefSnapshotAfterRestartFromCache(t *testing.T) {
	r := newPreviewRepo(t, registry.Options{})
	first := openRegistryOpts(t, registry.Options{Repo: r.Dir, PollInterval: -1})
	refresh(t, first)
	first.Close() // saves the snapshot cache
	reg := openRegistryOpts(t, registry.Options{Repo: r.Dir, PollInterval: -1})
	refresh(t, reg) // the state comes from the cache: no checkpoint yet
	repo := r.repo()
	repo.Write("personas/d.yaml", personaYAML("d00000000000000000000004", "Dora", "driver", "after the restart"))
	repo.Commit("main moves after the restart")
	refresh(t, reg)
	before := reg.RefStats()
	got := refSnapshot(t, reg, "many/07") // forked from the head the cache held
	if n := reg.RefStats().Replayed - before.Replayed; n != 1 {
		t.Errorf("a ref one commit ahead of the cached head replayed %d commits, want 1", n)
	}
	if d, w := dumpSnapshot(got), dumpSnapshot(revSnapshot(t, r.Dir, "many/07")); d != w {
		t.Errorf("snapshot differs (- ref, + alone):\n%s", diffDumps(d, w))
	}
}

// TestForcePushReplaysFromKnownState: after the served branch is moved to a
// commit that does not descend from its head, the index is replayed from the
// nearest known state (a checkpoint, the empty state before a root), not
// read again from the root, and equals a fresh index of the new head.
func TestForcePushReplaysFromKnownState(t *testing.T) {
	cases := []struct {
		name     string
		target   func(r *previewRepo) string
		replayed int
	}{
		{"rewritten after the second commit", func(r *previewRepo) string { return "rewritten" }, 1},
		{"feature branch forked at the fourth", func(r *previewRepo) string { return "feature/new-callers" }, 3},
		{"reset one commit back", func(r *previewRepo) string { return r.mains[len(r.mains)-2] }, 0},
		{"unrelated root", func(r *previewRepo) string { return "unrelated" }, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var total atomic.Int64
			r := newPreviewRepo(t, registry.Options{Progress: func(done, n int) { total.Store(int64(n)) }})
			total.Store(-1) // the walks of newPreviewRepo are done: count the rewrite's only
			target := r.repo().Git("rev-parse", c.target(r))
			r.repo().Git("update-ref", "refs/heads/main", target)
			snap := refresh(t, r.reg)
			if snap.Head != target {
				t.Fatalf("serving %s after the force-push, want %s", snap.Head, target)
			}
			if got := max(total.Load(), 0); got != int64(c.replayed) {
				t.Errorf("the force-push replayed %d commits, want %d", got, c.replayed)
			}
			if got, want := dumpSnapshot(snap), dumpSnapshot(revSnapshot(t, r.Dir, target)); got != want {
				t.Errorf("after the force-push the index differs from a fresh one (- served, + fresh):\n%s", diffDumps(got, want))
			}
		})
	}
}
