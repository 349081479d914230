package registry

// Replication against C git's smart-HTTP server: `git http-backend` run
// through net/http/cgi on 127.0.0.1:0 behind basic auth, as a forge serves
// a repository. Clone, fetch, push with a lease, a push the server rejects,
// wrong credentials, and pull/merge request refs fetched on request.

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// gitHTTP is a smart-HTTP git server for the bare repositories under a root.
type gitHTTP struct {
	URL      string       // of the origin repository
	requests atomic.Int64 // authenticated requests served
}

const (
	httpUser = "replica"
	httpPass = "s3cret-token"
)

// startGitHTTP serves root with git http-backend; every request needs
// basic auth with httpUser and httpPass.
func startGitHTTP(t *testing.T, root, repo string) *gitHTTP {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git binary not found: ", err)
	}
	backend := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"}, Root: "/git",
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + httpUser,
			"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull, "HOME=" + t.TempDir()},
		Stderr: io.Discard}
	g := &gitHTTP{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != httpUser || p != httpPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		g.requests.Add(1)
		backend.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	g.URL = "http://" + ln.Addr().String() + "/git/" + repo
	return g
}

// setCredentials makes remoteAuth send user and password.
func setCredentials(t *testing.T, user, pass string) {
	t.Setenv("PERSONAS_GIT_USERNAME", user)
	t.Setenv("PERSONAS_GIT_PASSWORD", pass)
	t.Setenv("PERSONAS_GIT_TOKEN", "")
}

func TestGitHTTPBackendReplica(t *testing.T) {
	o := newRTOrigin(t, 2)
	srv := startGitHTTP(t, filepath.Dir(o.Bare), filepath.Base(o.Bare))
	setCredentials(t, httpUser, httpPass)

	// clone and first fetch
	dir := rtClone(t, srv.URL)
	reg, err := Open(Options{Repo: dir, Remote: srv.URL, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	rtFetch(t, reg)
	if reg.Snapshot().Head != o.head() {
		t.Fatalf("after clone and fetch the replica serves %s, origin is at %s", reg.Snapshot().Head, o.head())
	}

	t.Run("fetch", func(t *testing.T) {
		o.sync()
		o.write("personas/one.yaml", rtPersonaYAML(1, "Persona One", "pushed by a person"))
		c := o.commitAll("A person's change")
		o.push()
		rtFetch(t, reg)
		if reg.Snapshot().Head != c {
			t.Errorf("after fetch the replica serves %s, want %s", reg.Snapshot().Head, c)
		}
	})

	t.Run("push with lease", func(t *testing.T) {
		res, err := reg.NewVersion(rtCtx(t), rtAuthor, rtID(1), 0, Content{Background: NewText("written through the replica")})
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		if res.Commit != o.head() {
			t.Errorf("write acknowledged at %s, origin is at %s", res.Commit, o.head())
		}
		// someone else pushes: the lease fails, the write lands on the new tip
		o.sync()
		o.write("personas/two.yaml", rtPersonaYAML(2, "Persona Two", "concurrent change"))
		other := o.commitAll("Concurrent change")
		o.push()
		res, err = reg.NewVersion(rtCtx(t), rtAuthor, rtID(1), 0, Content{Background: NewText("after the concurrent change")})
		if err != nil {
			t.Fatalf("write after a concurrent push: %v", err)
		}
		if parent := rtGit(t, o.Bare, "rev-parse", res.Commit+"^"); parent != other || res.Commit != o.head() {
			t.Errorf("write landed at %s (parent %s), want on top of %s at origin's head %s", res.Commit, parent, other, o.head())
		}
	})

	t.Run("rejected push", func(t *testing.T) {
		hook := filepath.Join(o.Bare, "hooks", "pre-receive")
		if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'policy: the registry is frozen' >&2\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		before, local := o.head(), rtLocalMain(t, dir)
		_, err := reg.NewVersion(rtCtx(t), rtAuthor, rtID(1), 0, Content{Background: NewText("refused by a hook")})
		if err == nil {
			t.Fatal("a write succeeded although the server's hook refuses every push")
		}
		t.Logf("refused write: %v", err)
		if o.head() != before || rtLocalMain(t, dir) != local || reg.Snapshot().Head != local {
			t.Errorf("a refused write moved something: origin %s (was %s), replica %s (was %s), snapshot %s",
				o.head(), before, rtLocalMain(t, dir), local, reg.Snapshot().Head)
		}
		if err := os.Remove(hook); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.NewVersion(rtCtx(t), rtAuthor, rtID(1), 0, Content{Background: NewText("hook gone")}); err != nil {
			t.Errorf("write after the hook is gone: %v", err)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		setCredentials(t, httpUser, "wrong")
		before := reg.Snapshot().Head
		err := reg.Fetch(rtCtx(t))
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "auth") {
			t.Errorf("Fetch with a wrong password: %v, want an authentication error", err)
		}
		_, werr := reg.NewVersion(rtCtx(t), rtAuthor, rtID(1), 0, Content{Background: NewText("never lands")})
		if werr == nil {
			t.Errorf("a write succeeded with a wrong password")
		}
		t.Logf("write with wrong credentials: %v", werr)
		if reg.Snapshot().Head != before || rtLocalMain(t, dir) != before || o.head() != before {
			t.Errorf("wrong credentials moved something: snapshot %s, replica %s, origin %s; was %s",
				reg.Snapshot().Head, rtLocalMain(t, dir), o.head(), before)
		}
		clone := filepath.Join(t.TempDir(), "c.git")
		if err := EnsureClone(rtCtx(t), srv.URL, clone); err == nil {
			t.Errorf("EnsureClone with a wrong password succeeded")
		} else if _, serr := os.Stat(clone); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("a failed clone left %s behind", clone)
		}
	})
}

func TestGitHTTPBackendPullRequestRefs(t *testing.T) {
	o := newRTOrigin(t, 2)
	srv := startGitHTTP(t, filepath.Dir(o.Bare), filepath.Base(o.Bare))
	setCredentials(t, httpUser, httpPass)
	// a pull request: a branch pushed to refs/pull/3/head only, as GitHub does
	rtGit(t, o.Work, "checkout", "--quiet", "-b", "pr")
	o.write("personas/three.yaml", rtPersonaYAML(3, "Persona Three", "from the PR"))
	o.write("personas/one.yaml", rtPersonaYAML(1, "Persona One", "edited in the PR"))
	pr := o.commitAll("PR: add three, edit one")
	rtGit(t, o.Work, "push", "--quiet", "origin", "pr:refs/pull/3/head", "pr:refs/merge-requests/4/head")
	if ls := rtGit(t, o.Work, "ls-remote", "origin", "refs/pull/*"); !strings.Contains(ls, "refs/pull/3/head") {
		t.Fatalf("origin does not advertise refs/pull/3/head: %q", ls)
	}

	reg, _ := rtReplica(t, &rtOrigin{t: t, Bare: o.Bare, URL: srv.URL})
	ctx := rtCtx(t)
	for _, ref := range []string{"pull/3/head", "merge-requests/4/head"} {
		snap, err := reg.RefSnapshot(ctx, ref)
		if err != nil {
			t.Fatalf("RefSnapshot(%s) on a replica that lacks it: %v", ref, err)
		}
		if snap.Head != pr {
			t.Errorf("%s served at %s, want %s", ref, snap.Head, pr)
		}
		if p, ok := snap.Persona(rtID(3)); !ok || p.Latest().Background.String() != "from the PR" {
			t.Errorf("%s: the PR's new persona is not served", ref)
		}
		if p, _ := snap.Persona(rtID(1)); len(p.Versions) != 3 {
			t.Errorf("%s: persona one has %d versions, want 3 (two on main, one in the PR)", ref, len(p.Versions))
		}
	}
	if snap, _ := reg.Snapshot(), 0; snap.Head == pr {
		t.Errorf("fetching a PR ref moved the served branch")
	}

	// a typo'd ref: 404, and asked to the remote once within the miss TTL
	for i := range 3 {
		n := srv.requests.Load()
		_, err := reg.RefSnapshot(ctx, "pull/99/head")
		if ErrorCode(err) != ENOTFOUND || !strings.Contains(err.Error(), "pull/99/head") {
			t.Fatalf("RefSnapshot(pull/99/head) = %v, want ENOTFOUND naming it", err)
		}
		if asked := srv.requests.Load() - n; i > 0 && asked != 0 {
			t.Errorf("request %d for a missing ref made %d requests to the remote, want 0 (negative cache)", i+1, asked)
		}
	}

	// the PR gets a new commit: served after a webhook expires the fetched refs
	o.write("personas/three.yaml", rtPersonaYAML(3, "Persona Three", "second PR commit"))
	pr2 := o.commitAll("PR: edit three")
	rtGit(t, o.Work, "push", "--quiet", "--force", "origin", "pr:refs/pull/3/head")
	reg.ExpireFetchedRefs()
	snap, err := reg.RefSnapshot(ctx, "pull/3/head")
	if err != nil || snap.Head != pr2 {
		t.Fatalf("after the PR moved and a webhook: %v, head %v; want %s", err, snap, pr2)
	}
}
