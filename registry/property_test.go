package registry_test

import (
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
	"github.com/personaregistry/personas/registry/repogen"
)

// Property: however a history is read — commit by commit, in one go, or
// from a cache saved half way — the snapshot is the same, and it agrees
// with the ground truth of the generated history (repogen).

var propertySeeds = []uint64{1, 2, 3, 4, 5}

const (
	propertyPersonas = 20
	propertyCommits  = 60
)

// bareGit runs git in a bare repository with the tests' fixed environment.
func bareGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return gittest.Run(t, dir, fixedEnv(), args...)
}

// logBuffer collects a registry's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// cacheFiles lists the snapshot cache files under a git directory.
func cacheFiles(t testing.TB, gitDir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(gitDir, "personas-cache", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPropertyIndexingOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	gittest.NeedGit(t)
	kinds := map[repogen.Kind]int{}
	defer func() {
		// The seeds must exercise every kind of commit, or the property says little.
		for _, k := range []repogen.Kind{repogen.KindCreate, repogen.KindEdit, repogen.KindUpdate, repogen.KindRename,
			repogen.KindReformat, repogen.KindDelete, repogen.KindRestore, repogen.KindMerge, repogen.KindInvalid,
			repogen.KindFix, repogen.KindUnitTest} {
			if kinds[k] == 0 && !t.Failed() && !t.Skipped() {
				t.Errorf("no %s commit in the histories of seeds %v: choose other seeds", k, propertySeeds)
			}
		}
		t.Logf("kinds of commit: %v", kinds)
	}()
	for _, seed := range propertySeeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo.git")
			hist, err := repogen.CreateHistory(dir, repogen.Config{Personas: propertyPersonas, Commits: propertyCommits, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range hist.Commits {
				kinds[c.Kind]++
			}
			final := bareGit(t, dir, "rev-parse", "refs/heads/main")
			commits := strings.Fields(bareGit(t, dir, "rev-list", "--first-parent", "--reverse", "main"))
			if len(commits) != propertyCommits || commits[len(commits)-1] != final {
				t.Fatalf("%d first-parent commits ending at %s, want %d ending at %s", len(commits), commits[len(commits)-1], propertyCommits, final)
			}

			oneGo := checkIndexingPathsAgree(t, dir, dir, 20)
			if oneGo.Head != final || oneGo.Commits != propertyCommits {
				t.Fatalf("one go: Head %s Commits %d, want %s %d", short(oneGo.Head), oneGo.Commits, short(final), propertyCommits)
			}
			checkGroundTruth(t, oneGo, hist, commits)
		})
	}
}

// checkGroundTruth compares a snapshot of the tip with what repogen says it
// did: versions at the commits that changed the content, creation and
// last-update commits, deletion and paths.
func checkGroundTruth(t *testing.T, s *registry.Snapshot, h *repogen.History, commits []string) {
	t.Helper()
	type truth struct {
		versions []string
		created  string
		updated  string
	}
	want := map[string]*truth{}
	for _, c := range h.Commits {
		hash := commits[c.Index-1]
		for _, ch := range c.Changes {
			tr := want[ch.ID]
			if tr == nil {
				tr = &truth{created: hash}
				want[ch.ID] = tr
			}
			if ch.ContentChanged && (len(tr.versions) == 0 || tr.versions[len(tr.versions)-1] != hash) {
				tr.versions = append(tr.versions, hash)
			}
			switch ch.Kind {
			case repogen.KindCreate, repogen.KindEdit, repogen.KindUpdate, repogen.KindDelete,
				repogen.KindRestore, repogen.KindMerge:
				tr.updated = hash
			case repogen.KindFix:
				if ch.ContentChanged {
					tr.updated = hash
				}
			}
		}
	}
	livePath := map[string]string{}
	for path, id := range h.Live {
		livePath[id] = path
	}
	if len(s.Personas()) != len(h.IDs) {
		t.Errorf("%d personas, want %d", len(s.Personas()), len(h.IDs))
	}
	for _, id := range h.IDs {
		p, ok := s.Persona(id)
		if !ok {
			t.Errorf("persona %s missing", id)
			continue
		}
		tr := want[id]
		if got := versionCommits(p); !slices.Equal(got, tr.versions) {
			t.Errorf("persona %s: version commits %v, want %v", id, shorts(got), shorts(tr.versions))
		}
		if p.CreatedCommit != tr.created {
			t.Errorf("persona %s: CreatedCommit %s, want %s", id, short(p.CreatedCommit), short(tr.created))
		}
		if p.UpdatedCommit != tr.updated {
			t.Errorf("persona %s: UpdatedCommit %s, want %s", id, short(p.UpdatedCommit), short(tr.updated))
		}
		path, live := livePath[id]
		if p.IsDeleted == live {
			t.Errorf("persona %s: IsDeleted %v, want %v", id, p.IsDeleted, !live)
		}
		if live && p.Path != path {
			t.Errorf("persona %s: Path %q, want %q", id, p.Path, path)
		}
	}
	for _, pr := range s.Problems {
		if !strings.HasPrefix(pr.Path, repogen.UnitTestDir+"/") {
			t.Errorf("problem with a persona file at the tip, where none is invalid: %+v", pr)
		}
	}
}

// A registry opened on the cache of the same head, of older commits, of a
// rewritten history, or of a deleted branch ends up like a fresh index.
func TestCacheReopen(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(r *testRepo)
	}{
		{"same head", func(r *testRepo) {}},
		{"new commits", func(r *testRepo) {
			r.Write("personas/new.yaml", personaYAML("0000000000000000000000dd", "New", "patient", "new"))
			r.Commit("new")
			r.Write("personas/b.yaml", personaYAML(idB, "Beta", "customer", "beta edited after the cache"))
			r.Commit("edit b")
		}},
		{"rewritten history", func(r *testRepo) {
			r.Git("reset", "--quiet", "--hard", "HEAD~3")
			r.Write("personas/new.yaml", personaYAML("0000000000000000000000dd", "New", "patient", "new"))
			r.Commit("new")
		}},
		{"branch deleted", func(r *testRepo) {
			r.Git("checkout", "--quiet", "--detach")
			r.Git("update-ref", "-d", "refs/heads/main")
		}},
		{"corrupt cache file", func(r *testRepo) {
			for _, f := range cacheFiles(r.T, filepath.Join(r.Dir, ".git")) {
				if err := os.WriteFile(f, []byte("not a cache"), 0o644); err != nil {
					r.T.Fatal(err)
				}
			}
			r.Write("personas/new.yaml", personaYAML("0000000000000000000000dd", "New", "patient", "new"))
			r.Commit("new")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRepo(t)
			ruleHistory(r, nil)
			gitDir := filepath.Join(r.Dir, ".git")
			first := openRegistryOpts(t, registry.Options{Repo: r.Dir, PollInterval: -1})
			refresh(t, first)
			first.Close()
			if n := len(cacheFiles(t, gitDir)); n != 1 {
				t.Fatalf("Close saved %d cache files, want 1", n)
			}
			tc.change(r)
			second := openRegistryOpts(t, registry.Options{Repo: r.Dir, PollInterval: -1})
			s := refresh(t, second)
			fresh := freshSnapshot(t, r.Dir)
			if tc.name == "same head" && s.HeadTime.IsZero() && !fresh.HeadTime.IsZero() {
				t.Fatalf("a registry started from a cache of the current head publishes a zero HeadTime "+
					"(registry.go advance: empty chain and no snapshot yet; cache.go loadCache drops cacheFile.HeadTime); want %v", fresh.HeadTime)
			}
			if got, want := dumpSnapshot(s), dumpSnapshot(fresh); got != want {
				t.Errorf("from the cache differs from a fresh index (- cached, + fresh):\n%s", diffDumps(got, want))
			}
			// The cached registry keeps following the branch.
			r.Git("checkout", "--quiet", "-B", "main")
			r.Write("personas/later.yaml", personaYAML("0000000000000000000000ee", "Later", "patient", "later"))
			r.Commit("later")
			checkSameAsFresh(t, r.Dir, refresh(t, second))
		})
	}
}

// checkIndexingPathsAgree indexes the first-parent history of main in the
// repository at repo (git directory gitDir) three ways and checks that they
// agree: in one go (no cache); commit by commit, moving main along the
// history with update-ref and refreshing after each (compared with a fresh
// index every checkEvery commits, and checked for invariants at each); and
// from the cache that a registry saves on Close at the middle commit. It
// leaves main where it was and returns the one-go snapshot.
func checkIndexingPathsAgree(t *testing.T, repo, gitDir string, checkEvery int) *registry.Snapshot {
	return checkIndexingPathsAgreeStats(t, repo, gitDir, checkEvery, &historyStats{})
}

// historyStats counts what the snapshots along a history showed, to check
// that a generator exercises the rules.
type historyStats struct {
	duplicateIDs, invalidFiles, unitTestProblems, deleted, versioned int
}

func (st *historyStats) add(s *registry.Snapshot) {
	for _, pr := range s.Problems {
		switch {
		case strings.Contains(pr.Message, "is also used by"):
			st.duplicateIDs++
		case strings.HasPrefix(pr.Path, "unit_tests/"):
			st.unitTestProblems++
		default:
			st.invalidFiles++
		}
	}
	for _, p := range s.Personas() {
		if p.IsDeleted {
			st.deleted++
		}
		if len(p.Versions) > 1 {
			st.versioned++
		}
	}
}

func checkIndexingPathsAgreeStats(t *testing.T, repo, gitDir string, checkEvery int, stats *historyStats) *registry.Snapshot {
	t.Helper()
	final := bareGit(t, repo, "rev-parse", "refs/heads/main")
	commits := strings.Fields(bareGit(t, repo, "rev-list", "--first-parent", "--reverse", "main"))
	defer bareGit(t, repo, "update-ref", "refs/heads/main", final)

	// In one go.
	oneGo := freshSnapshot(t, repo)
	want := dumpSnapshot(oneGo)

	// Commit by commit.
	files := filesAlongHistory(t, repo)
	if tree := strings.Fields(bareGit(t, repo, "ls-tree", "-r", "--name-only", final)); !maps.Equal(files[final], setOf(tree)) {
		t.Fatalf("filesAlongHistory: %d files at the head, ls-tree says %d", len(files[final]), len(tree))
	}
	reg := openRegistry(t, repo)
	for i, c := range commits {
		bareGit(t, repo, "update-ref", "refs/heads/main", c)
		s := refresh(t, reg)
		if s.Head != c || s.Commits != i+1 {
			t.Fatalf("step %d: Head %s Commits %d, want %s %d", i+1, short(s.Head), s.Commits, short(c), i+1)
		}
		checkInvariants(t, files[c], s)
		stats.add(s)
		if (i+1)%checkEvery == 0 && i+1 != len(commits) {
			if got, w := dumpSnapshot(s), dumpSnapshot(freshSnapshot(t, repo)); got != w {
				t.Fatalf("step %d: commit by commit differs from a fresh index (- stepwise, + fresh):\n%s", i+1, diffDumps(got, w))
			}
		}
	}
	if got := dumpSnapshot(reg.Snapshot()); got != want {
		t.Errorf("commit by commit differs from one go (- stepwise, + one go):\n%s", diffDumps(got, want))
	}

	// From a cache saved (by Close) at the middle commit.
	if n := len(cacheFiles(t, gitDir)); n != 0 {
		t.Fatalf("registries without cache wrote %d cache files", n)
	}
	half := len(commits) / 2
	mid := commits[half-1]
	bareGit(t, repo, "update-ref", "refs/heads/main", mid)
	first := openRegistryOpts(t, registry.Options{Repo: repo, PollInterval: -1})
	if s := refresh(t, first); s.Head != mid {
		t.Fatalf("first cached registry: Head %s, want %s", short(s.Head), short(mid))
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(cacheFiles(t, gitDir)); n != 1 {
		t.Fatalf("Close saved %d cache files, want 1", n)
	}
	bareGit(t, repo, "update-ref", "refs/heads/main", final)
	var logs logBuffer
	second := openRegistryOpts(t, registry.Options{Repo: repo, PollInterval: -1, Logger: logs.logger()})
	s := refresh(t, second)
	if got := dumpSnapshot(s); got != want {
		t.Errorf("from the cache differs from one go (- cached, + one go):\n%s", diffDumps(got, want))
	}
	if l := logs.String(); !strings.Contains(l, "cache loaded") || !strings.Contains(l, fmt.Sprintf("commits=%d", len(commits)-half)) {
		t.Errorf("the second registry did not start from the cache and read only the %d new commits; log:\n%s", len(commits)-half, l)
	}
	return oneGo
}

// checkInvariants checks what holds in every snapshot: a live persona's path
// is a file of the head (files); problems name files of the head; versions are
// numbered 1..n in commit order; created ≤ updated.
func checkInvariants(t *testing.T, files map[string]bool, s *registry.Snapshot) {
	t.Helper()
	for _, p := range s.Personas() {
		if !p.IsDeleted && !files[p.Path] {
			// See TestRuleBrokenDuplicateOutlivesWinner.
			t.Fatalf("live persona %s at %s has Path %q, which is not a file there "+
				"(rules.go resolve keeps the removed winner's path when the remaining linked files are broken)", p.ID, short(s.Head), p.Path)
		}
		if len(p.Versions) == 0 {
			t.Errorf("%s: persona %s has no version", short(s.Head), p.ID)
			continue
		}
		for i, v := range p.Versions {
			if v.Number != i+1 || (i > 0 && v.CreatedAt.Before(p.Versions[i-1].CreatedAt)) {
				t.Errorf("%s: persona %s: version %d numbered %d at %v", short(s.Head), p.ID, i+1, v.Number, v.CreatedAt)
			}
		}
		if p.Versions[0].Commit != p.CreatedCommit || p.UpdatedAt.Before(p.CreatedAt) || p.UpdatedAt.Before(p.Latest().CreatedAt) {
			t.Errorf("%s: persona %s: created %s, first version %s, updated %v before created %v or latest version",
				short(s.Head), p.ID, short(p.CreatedCommit), short(p.Versions[0].Commit), p.UpdatedAt, p.CreatedAt)
		}
	}
	for _, pr := range s.Problems {
		if !files[pr.Path] || pr.Line < 1 || pr.Message == "" || pr.Commit == "" {
			t.Errorf("%s: problem %+v: not a file of the head, or no line, message or commit", short(s.Head), pr)
		}
	}
}

// TestPropertyRandomEdits is the same property over histories from a
// generator of its own, which (unlike repogen) edits ids in place, makes
// duplicate ids, removes broken files, and changes unit tests; persona names
// follow the id, so no two personas share a name.
func TestPropertyRandomEdits(t *testing.T) {
	t.Parallel()
	var stats historyStats
	for _, seed := range []uint64{11, 12, 13} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := newTestRepo(t)
			randomHistory(r, rand.New(rand.NewPCG(seed, 99)), 30)
			checkIndexingPathsAgreeStats(t, r.Dir, filepath.Join(r.Dir, ".git"), 10, &stats)
		})
	}
	t.Logf("over all steps: %+v", stats)
	if !t.Failed() && !t.Skipped() && (stats.duplicateIDs == 0 || stats.invalidFiles == 0 || stats.unitTestProblems == 0 ||
		stats.deleted == 0 || stats.versioned == 0) {
		t.Errorf("the random histories did not exercise every rule: %+v", stats)
	}
}

// randomHistory makes n commits of 1–3 random file operations each.
func randomHistory(r *testRepo, rng *rand.Rand, n int) {
	r.T.Helper()
	paths := []string{"personas/a.yaml", "personas/b.yaml", "personas/c.yml", "personas/sub/a.yaml", "personas/sub/z.yaml", "personas/zz.yaml"}
	ids := []string{idA, idB, idC, "0000000000000000000000d4"}
	units := []string{"unit_tests/u1.yaml", "unit_tests/u2.yaml", "unit_tests/deep/u3.yaml"}
	exists := map[string]bool{}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	for i := range n {
		for range 1 + rng.IntN(3) {
			p := pick(paths)
			id := pick(ids)
			switch k := rng.IntN(12); {
			case k < 5: // a valid file, often the same id as before
				r.Write(p, personaYAML(id, "Persona "+id[20:], pick([]string{"patient", "customer"}),
					pick([]string{"First background.", "Second background.", "Third background."}),
					pick([]string{"", "tags: {tier: gold}", "tags: {tier: silver, vip: null}"}),
					pick([]string{"", "timezone: Europe/Paris", "user_models: [calm]"})))
				exists[p] = true
			case k < 7 && exists[p]: // broken, the id line intact
				r.Write(p, "id: "+id+"\nname: [broken\n")
			case k < 9 && exists[p]:
				r.Remove(p)
				exists[p] = false
			case k < 10 && exists[p]:
				if np := pick(paths); !exists[np] {
					r.Rename(p, np)
					exists[p], exists[np] = false, true
				}
			default:
				u := pick(units)
				switch rng.IntN(3) {
				case 0:
					r.Write(u, "persona_id: "+pick(append([]string{idZ}, ids...))+"\n")
				case 1:
					r.Write(u, "description: not a unit test\n")
				default:
					r.Write(u, "persona_id: [oops\n")
				}
			}
		}
		r.QuickCommit(fmt.Sprintf("random %d", i+1))
	}
}

// filesAlongHistory returns the files of each first-parent commit of main,
// from one `git log` (cheaper than an ls-tree per commit).
func filesAlongHistory(t *testing.T, repo string) map[string]map[string]bool {
	t.Helper()
	out := bareGit(t, repo, "log", "--first-parent", "--diff-merges=first-parent", "--reverse", "--no-renames",
		"--name-status", "--format=C %H", "main")
	res := map[string]map[string]bool{}
	cur := map[string]bool{}
	commit := ""
	flush := func() {
		if commit != "" {
			res[commit] = maps.Clone(cur)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "C "):
			flush()
			commit = strings.TrimPrefix(line, "C ")
		case line == "":
		default:
			status, path, ok := strings.Cut(line, "\t")
			if !ok {
				t.Fatalf("git log: unexpected line %q", line)
			}
			if status == "D" {
				delete(cur, path)
			} else {
				cur[path] = true
			}
		}
	}
	flush()
	return res
}

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// TestCacheReopenManyRecords: a cache of more personas and files than the
// loader's decoding runs ahead by (it decodes records on one goroutine
// while another builds the state) reads back to the index it was saved
// from.
func TestCacheReopenManyRecords(t *testing.T) {
	t.Parallel()
	gittest.NeedGit(t)
	dir := gittest.Generated(t, repogen.Config{Personas: 400, Commits: 60, Seed: 7})
	gitDir := dir
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		gitDir = filepath.Join(dir, ".git")
	}
	// start without a cache of this format, with one an older program
	// wrote for this branch and one of another branch
	cacheDir := filepath.Join(gitDir, "personas-cache")
	if err := os.RemoveAll(cacheDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		t.Fatal(err)
	}
	first := openRegistryOpts(t, registry.Options{Repo: dir, PollInterval: -1})
	want := dumpSnapshot(refresh(t, first))
	first.Close()
	saved := cacheFiles(t, gitDir)
	if len(saved) != 1 {
		t.Fatalf("Close saved %d cache files, want 1", len(saved))
	}
	_, suffix, _ := strings.Cut(filepath.Base(saved[0]), "-")
	older, otherBranch := filepath.Join(cacheDir, "v1-"+suffix), filepath.Join(cacheDir, "v1-0000000000000000.gob")
	for _, f := range []string{older, otherBranch} {
		if err := os.WriteFile(f, []byte("an older format"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(saved[0]); err != nil {
		t.Fatal(err)
	}
	first = openRegistryOpts(t, registry.Options{Repo: dir, PollInterval: -1})
	refresh(t, first)
	first.Close()
	if got := cacheFiles(t, gitDir); !slices.Equal(got, []string{otherBranch, saved[0]}) {
		t.Fatalf("after a save the cache files are %q, want %q: the older format of this branch removed, the other branch's kept",
			got, []string{otherBranch, saved[0]})
	}
	logs := &logBuffer{}
	second := openRegistryOpts(t, registry.Options{Repo: dir, PollInterval: -1, Logger: logs.logger()})
	got := dumpSnapshot(refresh(t, second))
	if !strings.Contains(logs.String(), "snapshot cache loaded") {
		t.Fatalf("the second registry did not load the cache:\n%s", logs)
	}
	if got != want {
		t.Errorf("from the cache differs from the index it was saved from (- cached, + saved):\n%s", diffDumps(got, want))
	}
}
