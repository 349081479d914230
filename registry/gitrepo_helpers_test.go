package registry_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
)

// Helpers shared by the registry tests: real git repositories made with the
// git command line, with a fixed identity and a fixed date per commit so
// that nothing depends on the user's configuration or the clock.

// testEpoch is the committer time of the first commit a testRepo makes;
// each later commit is one minute later.
var testEpoch = gittest.Epoch

const (
	testAuthor    = "alice@example.com"
	testCommitter = "committer@example.com"
)

// testIdentity makes the commits of the tests.
var testIdentity = gittest.Identity{Name: "Test Author", Email: testAuthor,
	CommitterName: "Test Committer", CommitterEmail: testCommitter, When: testEpoch}

// fixedEnv is the environment of git commands outside a testRepo.
func fixedEnv() []string { return gittest.Env(testIdentity) }

// testRepo is a git worktree in a temporary directory (gittest.Repo) that
// commits as testIdentity.
type testRepo struct {
	*gittest.Repo

	follower *registry.Registry // refreshed by at (rules_test.go), made on first use
}

// newTestRepo runs `git init -b main` in a new temporary directory.
func newTestRepo(t testing.TB) *testRepo {
	t.Helper()
	r := &testRepo{Repo: gittest.NewRepo(t)}
	r.Identity = testIdentity
	return r
}

// Move runs git mv, creating the target's directory.
func (r *testRepo) Move(from, to string) {
	r.T.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(r.Dir, filepath.FromSlash(to))), 0o755); err != nil {
		r.T.Fatal(err)
	}
	r.Git("mv", from, to)
}

// QuickCommit is Commit without returning the commit id (one git command fewer).
func (r *testRepo) QuickCommit(msg string) {
	r.T.Helper()
	r.CommitAll(msg, r.Next())
}

// commitOpts override the identity and dates of one commit.
type commitOpts struct {
	AuthorEmail    string
	CommitterEmail string
	AuthorDate     time.Time
	CommitterDate  time.Time
}

// CommitWith is Commit with another identity or dates.
func (r *testRepo) CommitWith(msg string, o commitOpts) string {
	r.T.Helper()
	id := r.Next()
	id.CommitterWhen = id.When
	if o.AuthorEmail != "" {
		id.Email = o.AuthorEmail
	}
	if o.CommitterEmail != "" {
		id.CommitterEmail = o.CommitterEmail
	}
	if !o.AuthorDate.IsZero() {
		id.When = o.AuthorDate
	}
	if !o.CommitterDate.IsZero() {
		id.CommitterWhen = o.CommitterDate
	}
	r.CommitAll(msg, id)
	return r.Git("rev-parse", "HEAD")
}

// CommitTime returns the committer time of a commit, in UTC.
func (r *testRepo) CommitTime(commit string) time.Time {
	r.T.Helper()
	out := r.Git("show", "-s", "--format=%cI", commit)
	tm, err := time.Parse(time.RFC3339, out)
	if err != nil {
		r.T.Fatal(err)
	}
	return tm.UTC()
}

// personaYAML renders a persona file with the required keys and any extra lines.
func personaYAML(id, name, role, background string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id: %s\nname: %s\nrole: %s\nbackground: %q\n", id, name, role, background)
	for _, l := range extra {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// openRegistry opens a registry on dir (NoCache unless opts say otherwise
// through openRegistryOpts) and closes it at the end of the test.
func openRegistry(t testing.TB, dir string) *registry.Registry {
	t.Helper()
	return openRegistryOpts(t, registry.Options{Repo: dir, NoCache: true, PollInterval: -1})
}

func openRegistryOpts(t testing.TB, opts registry.Options) *registry.Registry {
	t.Helper()
	reg, err := registry.Open(opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", opts.Repo, err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

// refresh refreshes the registry and fails the test on an error.
func refresh(t testing.TB, reg *registry.Registry) *registry.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap, err := reg.Refresh(ctx)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if snap == nil {
		t.Fatal("Refresh returned a nil snapshot")
	}
	return snap
}

// freshSnapshot indexes the repository at dir from scratch (no cache).
func freshSnapshot(t testing.TB, dir string) *registry.Snapshot {
	t.Helper()
	return refresh(t, openRegistry(t, dir))
}

// mustPersona returns the persona with the id or fails the test.
func mustPersona(t testing.TB, s *registry.Snapshot, id string) *registry.Persona {
	t.Helper()
	p, ok := s.Persona(id)
	if !ok {
		t.Fatalf("persona %s not in the snapshot at %s (has %v)", id, short(s.Head), personaIDs(s))
	}
	return p
}

func personaIDs(s *registry.Snapshot) []string {
	var ids []string
	for _, p := range s.Personas() {
		ids = append(ids, p.ID)
	}
	return ids
}

// versionCommits lists the commit of each version, oldest first.
func versionCommits(p *registry.Persona) []string {
	out := make([]string, len(p.Versions))
	for i, v := range p.Versions {
		out[i] = v.Commit
	}
	return out
}

func short(c string) string {
	if len(c) > 8 {
		return c[:8]
	}
	return c
}

// checkVersions asserts the versions of a persona: their numbers are 1..n
// and their commits are want.
func checkVersions(t testing.TB, p *registry.Persona, want ...string) {
	t.Helper()
	got := versionCommits(p)
	if !slices.Equal(got, want) {
		t.Errorf("persona %s: version commits = %v, want %v", p.ID, shorts(got), shorts(want))
	}
	for i, v := range p.Versions {
		if v.Number != i+1 {
			t.Errorf("persona %s: Versions[%d].Number = %d, want %d", p.ID, i, v.Number, i+1)
		}
	}
}

func shorts(cs []string) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = short(c)
	}
	return out
}

// checkUpdated asserts the commit that last updated a persona.
func checkUpdated(t testing.TB, p *registry.Persona, commit string) {
	t.Helper()
	if p.UpdatedCommit != commit {
		t.Errorf("persona %s: UpdatedCommit = %s, want %s", p.ID, short(p.UpdatedCommit), short(commit))
	}
}

// checkNoProblems asserts a snapshot has no problems.
func checkNoProblems(t testing.TB, s *registry.Snapshot) {
	t.Helper()
	if len(s.Problems) > 0 {
		t.Errorf("unexpected problems: %+v", s.Problems)
	}
}

// findProblem returns the problems reported for a path.
func problemsAt(s *registry.Snapshot, path string) []registry.Problem {
	var out []registry.Problem
	for _, p := range s.Problems {
		if p.Path == path {
			out = append(out, p)
		}
	}
	return out
}

// dumpSnapshot renders everything a snapshot says, deterministically, so
// that two snapshots can be compared as text. Absent and empty lists and
// maps are the same value (the API renders both as empty).
func dumpSnapshot(s *registry.Snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "head %s\nhead_time %s\ncommits %d\n", s.Head, fmtTime(s.HeadTime), s.Commits)
	for _, p := range s.Personas() {
		fmt.Fprintf(&b, "persona %s\n", p.ID)
		fmt.Fprintf(&b, "  name %q\n  role %q\n  tags %s\n  deleted %v\n  path %s\n", p.Name, p.Role, fmtTags(p.Tags), p.IsDeleted, p.Path)
		fmt.Fprintf(&b, "  created %s %s %s\n", fmtTime(p.CreatedAt), p.Creator, p.CreatedCommit)
		fmt.Fprintf(&b, "  updated %s %s %s\n", fmtTime(p.UpdatedAt), p.UpdatedBy, p.UpdatedCommit)
		fmt.Fprintf(&b, "  unit_tests %v\n", s.UnitTests(p.ID))
		if l := p.Latest(); l != nil {
			fmt.Fprintf(&b, "  latest %d\n", l.Number)
		}
		for _, v := range p.Versions {
			fmt.Fprintf(&b, "  version %d %s %s %s\n", v.Number, v.Commit, fmtTime(v.CreatedAt), v.Creator)
			fmt.Fprintf(&b, "    background %q\n", v.Background)
			fmt.Fprintf(&b, "    preferred_language %s\n    timezone %s\n", fmtPtr(v.PreferredLanguage), fmtPtr(v.Timezone))
			fmt.Fprintf(&b, "    user_models %q\n", append([]string{}, v.UserModels...))
			fmt.Fprintf(&b, "    nonsensitive %s\n    sensitive %s\n", fmtMap(v.NonsensitiveUserVariables), fmtMap(v.SensitiveUserVariables))
		}
		for _, u := range p.Updates {
			fmt.Fprintf(&b, "  update %s %s %s %q\n    %s\n", u.Commit, fmtTime(u.At), u.Author, u.Subject, fmtUpdate(u))
		}
	}
	probs := slices.Clone(s.Problems)
	sort.Slice(probs, func(i, j int) bool {
		return fmt.Sprint(probs[i]) < fmt.Sprint(probs[j])
	})
	for _, p := range probs {
		fmt.Fprintf(&b, "problem %s:%d:%d %s (%s)\n", p.Path, p.Line, p.Column, p.Message, p.Commit)
	}
	fmt.Fprintf(&b, "version_count %d\n", s.VersionCount())
	return b.String()
}

// fmtUpdate renders what an update changed, e.g.
// "renamed Alpha→Beta; retagged +tier:silver -tier:gold".
func fmtUpdate(u registry.Update) string {
	var parts []string
	for _, k := range u.Kinds() {
		switch k {
		case "renamed":
			k += " " + u.OldName + "→" + u.NewName
		case "role changed":
			k += " " + u.OldRole + "→" + u.NewRole
		case "moved":
			k += " " + u.OldPath + "→" + u.NewPath
		case "retagged":
			for _, t := range u.TagsAdded {
				k += " +" + t
			}
			for _, t := range u.TagsRemoved {
				k += " -" + t
			}
		}
		parts = append(parts, k)
	}
	return strings.Join(parts, "; ")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Format(time.RFC3339Nano) + "/" + t.Location().String()
}

func fmtPtr(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}

func fmtTags(m map[string]*string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q:%s", k, fmtPtr(m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func fmtMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q:%q", k, m[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// diffDumps returns the first differing lines of two dumps, for messages.
func diffDumps(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(la), len(lb)) && len(out) < 12; i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  - %s\n  + %s", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}

// checkSameAsFresh asserts that snap equals a snapshot built from scratch
// by a new registry without cache.
func checkSameAsFresh(t testing.TB, dir string, snap *registry.Snapshot) {
	t.Helper()
	want := dumpSnapshot(freshSnapshot(t, dir))
	if got := dumpSnapshot(snap); got != want {
		t.Errorf("snapshot differs from a fresh index (- got, + fresh):\n%s", diffDumps(got, want))
	}
}

// childTestEnv names the test a child process of the test binary runs.
const childTestEnv = "REGISTRY_TEST_CHILD"

// inChildProcess runs the current test again in a child process of the
// test binary and returns false and its output in the parent; in the child
// it returns true. A test whose code can crash the process (a panic on the
// registry's own goroutine) uses it so that the crash fails or skips one
// test instead of killing the whole run.
func inChildProcess(t *testing.T) (child bool, output string, err error) {
	t.Helper()
	if os.Getenv(childTestEnv) == t.Name() {
		return true, "", nil
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childTestEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	return false, string(out), err
}
