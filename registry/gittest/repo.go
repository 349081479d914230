package gittest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Epoch is the date of the first commit a Repo makes unless its Identity
// says otherwise.
var Epoch = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// DefaultIdentity is the identity of a new Repo's commits.
var DefaultIdentity = Identity{Name: "Test Author", Email: "author@example.com",
	CommitterName: "Test Committer", CommitterEmail: "committer@example.com", When: Epoch}

// Repo is a repository in a temporary directory driven by the git command
// line. Its commits are made by Identity, the n-th (from 0) dated
// Identity.When + n×Step, so that every run makes the same commits.
type Repo struct {
	T        testing.TB
	Dir      string
	Identity Identity
	Step     time.Duration // between commit dates; a minute by default
	Commits  int           // commits made through Commit, for their dates
}

// NewRepo runs `git init -b main` in a new temporary directory: a worktree.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	NeedGit(t)
	r := &Repo{T: t, Dir: t.TempDir(), Identity: DefaultIdentity, Step: time.Minute}
	r.Git("init", "--quiet", "-b", "main")
	return r
}

// NewBare runs `git init --bare -b main` in a new temporary directory.
func NewBare(t testing.TB) *Repo {
	t.Helper()
	NeedGit(t)
	r := &Repo{T: t, Dir: filepath.Join(t.TempDir(), "repo.git"), Identity: DefaultIdentity, Step: time.Minute}
	Run(t, filepath.Dir(r.Dir), r.Env(), "init", "--quiet", "--bare", "-b", "main", r.Dir)
	return r
}

// On returns a handle on the same repository that reports to t (a subtest).
func (r *Repo) On(t testing.TB) *Repo {
	c := *r
	c.T = t
	return &c
}

// Next is the identity of the next commit: Identity with its dates moved on
// by Commits×Step.
func (r *Repo) Next() Identity {
	id := r.Identity
	d := time.Duration(r.Commits) * r.Step
	id.When = id.When.Add(d)
	if !id.CommitterWhen.IsZero() {
		id.CommitterWhen = id.CommitterWhen.Add(d)
	}
	return id
}

// Env is the environment of the repository's git commands: Env of Next.
func (r *Repo) Env() []string { return Env(r.Next()) }

// Git runs a git command in the repository and returns its trimmed output;
// a failure fails the test.
func (r *Repo) Git(args ...string) string {
	r.T.Helper()
	return Run(r.T, r.Dir, r.Env(), args...)
}

// Try runs a git command in the repository and returns its trimmed output
// or an error with git's standard error.
func (r *Repo) Try(args ...string) (string, error) {
	return Try(r.Dir, r.Env(), "", args...)
}

// Write writes a file of the worktree (creating its directories).
func (r *Repo) Write(path, content string) {
	r.T.Helper()
	WriteFile(r.T, r.Dir, path, content)
}

// Remove removes a file of the worktree.
func (r *Repo) Remove(path string) {
	r.T.Helper()
	if err := os.Remove(filepath.Join(r.Dir, filepath.FromSlash(path))); err != nil {
		r.T.Fatal(err)
	}
}

// Rename renames a file of the worktree, creating the target's directory
// (git sees a rename at the next commit).
func (r *Repo) Rename(from, to string) {
	r.T.Helper()
	full := filepath.Join(r.Dir, filepath.FromSlash(to))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.T.Fatal(err)
	}
	if err := os.Rename(filepath.Join(r.Dir, filepath.FromSlash(from)), full); err != nil {
		r.T.Fatal(err)
	}
}

// CommitAll stages everything and commits it (empty commits allowed, hooks
// skipped) as id; it does not return the commit (one git command fewer).
func (r *Repo) CommitAll(msg string, id Identity) {
	r.T.Helper()
	env := Env(id)
	r.Commits++
	Run(r.T, r.Dir, env, "add", "-A")
	Run(r.T, r.Dir, env, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", msg)
}

// Commit stages everything, commits it as Next() and returns the commit id.
func (r *Repo) Commit(msg string) string {
	r.T.Helper()
	r.CommitAll(msg, r.Next())
	return r.Git("rev-parse", "HEAD")
}

// Head returns the commit of refs/heads/main.
func (r *Repo) Head() string {
	r.T.Helper()
	return r.Git("rev-parse", "refs/heads/main")
}

// CloneBare makes a bare clone in a new temporary directory and returns it.
func (r *Repo) CloneBare() *Repo {
	r.T.Helper()
	c := *r
	c.Dir = filepath.Join(r.T.TempDir(), "personas.git")
	r.Git("clone", "--quiet", "--bare", r.Dir, c.Dir)
	return &c
}

// Push runs `git push --quiet [extra…] origin main`.
func (r *Repo) Push(extra ...string) {
	r.T.Helper()
	r.Git(append(append([]string{"push", "--quiet"}, extra...), "origin", "main")...)
}

// WriteFile writes a file below dir (slash-separated path, directories
// created), failing the test on error.
func WriteFile(t testing.TB, dir, path, content string) {
	t.Helper()
	full := filepath.Join(dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Packs lists the pack files of a repository by file name, with their file
// information (os.SameFile then tells a pack that was rewritten).
func Packs(t testing.TB, gitDir string) map[string]os.FileInfo {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]os.FileInfo{}
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = info
	}
	return out
}
