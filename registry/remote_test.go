package registry

// Unit tests of replication on a git remote (remote.go and the remote branch
// of the write loop in write.go): EnsureClone, DefaultCloneDir, Fetch, the
// push with a lease and its retry.
//
// The remotes are real bare repositories on disk made with the git command
// line (package gittest), reached through file:// URLs (go-git runs
// git-upload-pack and git-receive-pack for them). remoteAuth itself is
// tested in package gitdb.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry/gittest"
)

// rtIdentity makes the commits of these tests.
var rtIdentity = gittest.Identity{Name: "Remote Tester", Email: "remote@example.com", When: gittest.Epoch}

// rtGit runs git in dir (gittest.Run with rtIdentity).
func rtGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return gittest.Run(t, dir, gittest.Env(rtIdentity), args...)
}

func rtTryGit(dir string, args ...string) (string, error) {
	return gittest.Try(dir, gittest.Env(rtIdentity), "", args...)
}

// rtID is the id of the i-th test persona.
func rtID(i int) string { return fmt.Sprintf("6650c0ffee00000000%06x", i) }

func rtPersonaYAML(i int, name, background string) string {
	return fmt.Sprintf("# persona %d\nid: %s\nname: %s\nrole: customer\nbackground: %s\n",
		i, rtID(i), strconv.Quote(name), strconv.Quote(background))
}

// rtOrigin is a bare "origin" repository on disk and a working clone that
// pushes to it, the way a person would.
type rtOrigin struct {
	t    testing.TB
	Bare string // the bare repository
	URL  string // file://Bare
	Work string // a working clone
	work *gittest.Repo
}

// newRTOrigin makes a bare origin whose main has `commits` commits: the
// first adds personas 1 and 2, each later one a new version of persona 1.
func newRTOrigin(t testing.TB, commits int) *rtOrigin {
	t.Helper()
	bare := gittest.NewBare(t)
	work := gittest.NewRepo(t)
	work.Identity = rtIdentity
	work.Identity.When = gittest.Epoch.Add(time.Minute) // commit n is at n minutes
	o := &rtOrigin{t: t, Bare: bare.Dir, URL: "file://" + bare.Dir, Work: work.Dir, work: work}
	rtGit(t, o.Work, "remote", "add", "origin", o.Bare)
	o.write("personas/one.yaml", rtPersonaYAML(1, "Persona One", "version 1 of one"))
	o.write("personas/two.yaml", rtPersonaYAML(2, "Persona Two", "version 1 of two"))
	o.commitAll("Seed")
	for i := 2; i <= commits; i++ {
		o.write("personas/one.yaml", rtPersonaYAML(1, "Persona One", fmt.Sprintf("version %d of one", i)))
		o.commitAll(fmt.Sprintf("Version %d of one", i))
	}
	o.push()
	return o
}

func (o *rtOrigin) write(path, content string) {
	o.t.Helper()
	o.work.Write(path, content)
}

// commitAll commits everything in the working clone and returns the commit.
func (o *rtOrigin) commitAll(msg string) string {
	o.t.Helper()
	return o.work.Commit(msg)
}

func (o *rtOrigin) push(extra ...string) {
	o.t.Helper()
	o.work.Push(extra...)
}

// sync makes the working clone's main equal to origin's (writes of the
// registries landed there).
func (o *rtOrigin) sync() {
	o.t.Helper()
	rtGit(o.t, o.Work, "fetch", "--quiet", "origin")
	rtGit(o.t, o.Work, "reset", "--quiet", "--hard", "origin/main")
}

// head is origin's main.
func (o *rtOrigin) head() string {
	o.t.Helper()
	return rtGit(o.t, o.Bare, "rev-parse", "refs/heads/main")
}

// rtClone clones the origin into a new directory with EnsureClone.
func rtClone(t testing.TB, url string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clones", "replica.git")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := EnsureClone(ctx, url, dir); err != nil {
		t.Fatalf("EnsureClone(%s, %s): %v", url, dir, err)
	}
	return dir
}

// rtReplica clones the origin and opens a registry on the clone that
// follows it, as `personas serve --remote` does.
func rtReplica(t testing.TB, o *rtOrigin) (*Registry, string) {
	t.Helper()
	dir := rtClone(t, o.URL)
	reg, err := Open(Options{Repo: dir, Remote: o.URL, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { reg.Close() })
	rtFetch(t, reg)
	return reg, dir
}

func rtFetch(t testing.TB, reg *Registry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := reg.Fetch(ctx); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
}

func rtCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rtVersions returns the version numbers of a persona in the registry's snapshot.
func rtVersions(t testing.TB, reg *Registry, id string) []int {
	t.Helper()
	p, ok := reg.Snapshot().Persona(id)
	if !ok {
		t.Fatalf("persona %s not served", id)
	}
	var out []int
	for _, v := range p.Versions {
		out = append(out, v.Number)
	}
	return out
}

// rtSeq returns from..to.
func rtSeq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// rtLocalMain is the clone's refs/heads/main, read with the git command line.
func rtLocalMain(t testing.TB, clone string) string {
	t.Helper()
	return rtGit(t, clone, "rev-parse", "refs/heads/main")
}

var rtAuthor = Author{Name: "Writer", Email: "writer@example.com"}

// ---------------------------------------------------------------------------
// EnsureClone and DefaultCloneDir

func TestEnsureCloneFreshIsBareWithFullHistory(t *testing.T) {
	o := newRTOrigin(t, 6)
	dir := rtClone(t, o.URL)

	if got := rtGit(t, dir, "rev-parse", "--is-bare-repository"); got != "true" {
		t.Errorf("git rev-parse --is-bare-repository in the clone = %q, want true", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); !os.IsNotExist(err) {
		t.Errorf("the clone has a .git directory (err %v): it must be bare", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "shallow")); !os.IsNotExist(err) {
		t.Errorf("the clone has a shallow file (err %v): it must have the full history", err)
	}
	if got := rtGit(t, dir, "rev-parse", "--is-shallow-repository"); got != "false" {
		t.Errorf("git rev-parse --is-shallow-repository = %q, want false", got)
	}
	want := rtGit(t, o.Bare, "rev-list", "--count", "main")
	if got := rtGit(t, dir, "rev-list", "--count", "refs/heads/main"); got != want || want != "6" {
		t.Errorf("rev-list --count main: clone %s, origin %s, want 6 and 6", got, want)
	}
	if got := rtLocalMain(t, dir); got != o.head() {
		t.Errorf("the clone's main is %s, origin's %s", got, o.head())
	}
	if got := rtGit(t, dir, "config", "--get", "remote.origin.url"); got != o.URL {
		t.Errorf("remote.origin.url = %q, want %q", got, o.URL)
	}
	if _, err := os.Stat(dir + ".partial"); !os.IsNotExist(err) {
		t.Errorf("%s.partial left behind (err %v)", dir, err)
	}
	if out, err := rtTryGit(dir, "fsck", "--strict", "--no-progress", "--no-dangling"); err != nil {
		t.Errorf("git fsck of the clone: %v\n%s", err, out)
	}

	// the registry serves every version of the history
	reg, err := Open(Options{Repo: dir, Remote: o.URL, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.Refresh(rtCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := rtVersions(t, reg, rtID(1)); !slices.Equal(got, rtSeq(1, 6)) {
		t.Errorf("versions of persona 1 = %v, want 1..6", got)
	}
	if why := reg.WritableReason(); why != "" {
		t.Errorf("WritableReason of the clone = %q, want writable (it is bare)", why)
	}
}

func TestEnsureCloneReusesTheClone(t *testing.T) {
	o := newRTOrigin(t, 3)
	dir := rtClone(t, o.URL)
	before := gittest.Packs(t, dir)
	if len(before) == 0 {
		t.Fatal("the fresh clone has no pack file")
	}
	marker := filepath.Join(dir, "personas-test-marker")
	if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// origin moves on while the replica is down
	o.write("personas/three.yaml", rtPersonaYAML(3, "Persona Three", "new while down"))
	o.commitAll("Add three")
	o.push()

	if err := EnsureClone(rtCtx(t), o.URL, dir); err != nil {
		t.Fatalf("EnsureClone on its own clone: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the clone was replaced, not reused: %v", err)
	}
	after := gittest.Packs(t, dir)
	for name, info := range before {
		if a, ok := after[name]; !ok || !os.SameFile(a, info) {
			t.Errorf("pack %s is not the same file after EnsureClone: the objects were downloaded again", name)
		}
	}
	// the registry's fetch brings only what is new: the old packs stay, one
	// small pack is added
	reg, err := Open(Options{Repo: dir, Remote: o.URL, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	rtFetch(t, reg)
	if got := reg.Snapshot().Head; got != o.head() {
		t.Errorf("after Fetch the head is %s, origin's %s", got, o.head())
	}
	if _, ok := reg.Snapshot().Persona(rtID(3)); !ok {
		t.Error("the persona pushed while the replica was down is not served after Fetch")
	}
	fetched := gittest.Packs(t, dir)
	for name, info := range before {
		if f, ok := fetched[name]; !ok || !os.SameFile(f, info) {
			t.Errorf("pack %s was replaced by Fetch: only new objects should be downloaded", name)
		}
	}
	if len(fetched) > len(before)+1 {
		t.Errorf("Fetch added %d packs, want at most 1", len(fetched)-len(before))
	}
}

func TestEnsureCloneOfAnotherURLIsAnError(t *testing.T) {
	a := newRTOrigin(t, 1)
	b := newRTOrigin(t, 1)
	dir := rtClone(t, a.URL)
	err := EnsureClone(rtCtx(t), b.URL, dir)
	if err == nil {
		t.Fatal("EnsureClone with the clone of another URL succeeded")
	}
	if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "--clone-dir") || !strings.Contains(err.Error(), dir) {
		t.Errorf("error = %v (code %s), want EINVALID naming the directory and --clone-dir", err, ErrorCode(err))
	}
	if got := rtGit(t, dir, "config", "--get", "remote.origin.url"); got != a.URL {
		t.Errorf("the clone's origin became %q", got)
	}
}

func TestEnsureCloneFailureLeavesNothing(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git binary not found")
	}
	dir := filepath.Join(t.TempDir(), "c", "replica.git")
	missing := "file://" + filepath.Join(t.TempDir(), "does-not-exist.git")
	if err := EnsureClone(rtCtx(t), missing, dir); err == nil {
		t.Fatal("EnsureClone of a missing repository succeeded")
	}
	for _, p := range []string{dir, dir + ".partial"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed clone (err %v)", p, err)
		}
	}
	// a half-made clone of a crashed start is replaced by the next one
	o := newRTOrigin(t, 2)
	if err := os.MkdirAll(filepath.Join(dir+".partial", "objects"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := EnsureClone(rtCtx(t), o.URL, dir); err != nil {
		t.Fatalf("EnsureClone with a leftover .partial: %v", err)
	}
	if got := rtLocalMain(t, dir); got != o.head() {
		t.Errorf("clone main %s, origin %s", got, o.head())
	}
}

func TestDefaultCloneDirIsStablePerURL(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache) // os.UserCacheDir on Linux
	t.Setenv("HOME", t.TempDir())     // and on macOS
	base, err := os.UserCacheDir()
	if err != nil {
		t.Skip("no user cache dir: ", err)
	}
	a1, err := DefaultCloneDir("https://github.com/acme/personas.git")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := DefaultCloneDir("https://github.com/acme/personas.git")
	b, _ := DefaultCloneDir("https://github.com/acme/other.git")
	c, _ := DefaultCloneDir("ssh://git@github.com/acme/personas.git")
	if a1 != a2 {
		t.Errorf("DefaultCloneDir is not stable: %s, then %s", a1, a2)
	}
	if a1 == b || a1 == c || b == c {
		t.Errorf("DefaultCloneDir gives the same directory to different URLs: %s %s %s", a1, b, c)
	}
	for _, d := range []string{a1, b, c} {
		if !strings.HasPrefix(d, filepath.Join(base, "personas")+string(filepath.Separator)) || !strings.HasSuffix(d, ".git") {
			t.Errorf("DefaultCloneDir = %s, want <user cache dir %s>/personas/…/*.git", d, base)
		}
	}
}

// ---------------------------------------------------------------------------
// Fetch

func TestFetchFastForwardsAndFollowsAForcePush(t *testing.T) {
	o := newRTOrigin(t, 2)
	reg, dir := rtReplica(t, o)
	if got := reg.Snapshot().Head; got != o.head() {
		t.Fatalf("head after the first Fetch %s, origin %s", got, o.head())
	}
	base := o.head()

	// fast-forward: two commits pushed with the git command line
	o.write("personas/three.yaml", rtPersonaYAML(3, "Persona Three", "dropped later"))
	o.commitAll("Add three")
	o.write("personas/one.yaml", rtPersonaYAML(1, "Persona One", "version 3 of one"))
	o.commitAll("Version 3 of one")
	o.push()
	rtFetch(t, reg)
	if got := reg.Snapshot().Head; got != o.head() {
		t.Fatalf("after a fast-forward Fetch the head is %s, origin's %s", got, o.head())
	}
	if got := rtLocalMain(t, dir); got != o.head() {
		t.Errorf("the clone's main is %s, origin's %s", got, o.head())
	}
	if _, ok := reg.Snapshot().Persona(rtID(3)); !ok {
		t.Error("persona 3 not served after the fast-forward")
	}
	if got := rtVersions(t, reg, rtID(1)); !slices.Equal(got, rtSeq(1, 3)) {
		t.Errorf("versions of persona 1 = %v, want 1..3", got)
	}

	// a Fetch with nothing new changes nothing
	head := reg.Snapshot().Head
	rtFetch(t, reg)
	if reg.Snapshot().Head != head {
		t.Errorf("a Fetch with nothing new moved the head")
	}

	// force-push: main rewritten to base plus a different commit
	rtGit(t, o.Work, "reset", "--quiet", "--hard", base)
	o.write("personas/four.yaml", rtPersonaYAML(4, "Persona Four", "only in the new history"))
	rewritten := o.commitAll("Add four")
	o.push("--force")
	rtFetch(t, reg)
	s := reg.Snapshot()
	if s.Head != rewritten {
		t.Fatalf("after the force-push Fetch the head is %s, want %s", s.Head, rewritten)
	}
	if got := rtLocalMain(t, dir); got != rewritten {
		t.Errorf("the clone's main is %s after the force-push, want %s", got, rewritten)
	}
	if _, ok := s.Persona(rtID(3)); ok {
		t.Error("persona 3, only in the dropped history, is still served")
	}
	if _, ok := s.Persona(rtID(4)); !ok {
		t.Error("persona 4 of the new history is not served")
	}
	if got := rtVersions(t, reg, rtID(1)); !slices.Equal(got, rtSeq(1, 2)) {
		t.Errorf("versions of persona 1 after the rewrite = %v, want 1..2 (version 3 was dropped)", got)
	}
	// the rebuilt snapshot equals one built from scratch
	fresh, err := Open(Options{Repo: dir, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	fs, err := fresh.Refresh(rtCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if fs.Head != s.Head || fs.VersionCount() != s.VersionCount() || len(fs.Personas()) != len(s.Personas()) {
		t.Errorf("rebuilt snapshot (head %s, %d versions, %d personas) differs from a fresh one (%s, %d, %d)",
			s.Head, s.VersionCount(), len(s.Personas()), fs.Head, fs.VersionCount(), len(fs.Personas()))
	}
}

// TestFetchAndPushAnotherBranch serves a branch that is not the remote's
// default: the clone only has the default branch locally at first.
func TestFetchAndPushAnotherBranch(t *testing.T) {
	o := newRTOrigin(t, 1)
	rtGit(t, o.Work, "checkout", "--quiet", "-b", "staging")
	o.write("personas/three.yaml", rtPersonaYAML(3, "Persona Three", "only on staging"))
	staging := o.commitAll("Add three on staging")
	rtGit(t, o.Work, "push", "--quiet", "origin", "staging")
	dir := rtClone(t, o.URL)
	reg, err := Open(Options{Repo: dir, Remote: o.URL, Branch: "staging", NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	rtFetch(t, reg)
	if got := reg.Snapshot().Head; got != staging {
		t.Fatalf("serving staging: head %s, want %s", got, staging)
	}
	res, err := reg.NewVersion(rtCtx(t), rtAuthor, rtID(3), 0, Content{Background: NewText("v2 on staging")})
	if err != nil {
		t.Fatal(err)
	}
	if got := rtGit(t, o.Bare, "rev-parse", "refs/heads/staging"); got != res.Commit {
		t.Errorf("origin's staging is %s, want the write %s", got, res.Commit)
	}
	if got := o.head(); got == res.Commit {
		t.Error("the write on staging moved origin's main")
	}
}

func TestFetchOfABranchTheRemoteLacks(t *testing.T) {
	o := newRTOrigin(t, 1)
	dir := rtClone(t, o.URL)
	reg, err := Open(Options{Repo: dir, Remote: o.URL, Branch: "no-such-branch", NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.Fetch(rtCtx(t)); err == nil || !strings.Contains(err.Error(), "no-such-branch") {
		t.Errorf("Fetch of a branch the remote lacks: %v, want an error naming the branch", err)
	}
}

func TestFetchWithoutRemoteIsInvalid(t *testing.T) {
	o := newRTOrigin(t, 1)
	reg, err := Open(Options{Repo: o.Bare, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.Fetch(rtCtx(t)); ErrorCode(err) != EINVALID {
		t.Errorf("Fetch without a remote: %v (code %s), want EINVALID", err, ErrorCode(err))
	}
}

func TestFetchSoonAndSyncRemote(t *testing.T) {
	o := newRTOrigin(t, 1)
	reg, _ := rtReplica(t, o)
	reg.SyncRemote(time.Hour) // only FetchSoon makes it fetch
	o.write("personas/three.yaml", rtPersonaYAML(3, "Persona Three", "pushed"))
	want := o.commitAll("Add three")
	o.push()
	start := time.Now()
	reg.FetchSoon()
	reg.FetchSoon() // coalesced, never blocks
	for reg.Snapshot().Head != want {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("FetchSoon: head still %s after 5s, want %s", reg.Snapshot().Head, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// writes: push with a lease, retry on rejection

// TestPushRejectionRetriesOnTheNewTip writes alternately through two
// replicas of the same origin that never fetch by themselves: every write
// but the first of a run finds the remote moved, fetches, rebuilds the
// change on the new tip and lands.
func TestPushRejectionRetriesOnTheNewTip(t *testing.T) {
	o := newRTOrigin(t, 1)
	a, aDir := rtReplica(t, o)
	b, bDir := rtReplica(t, o)
	ctx := rtCtx(t)
	var got []int
	for i := 0; i < 6; i++ {
		reg := a
		if i%2 == 1 {
			reg = b
		}
		res, err := reg.NewVersion(ctx, rtAuthor, rtID(1), 0, Content{Background: NewText(fmt.Sprintf("write %d", i))})
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		got = append(got, res.Version)
		if res.Commit != o.head() {
			t.Errorf("write %d: commit %s, origin's main %s: acknowledged before it was pushed", i, res.Commit, o.head())
		}
		if l := rtLocalMain(t, []string{aDir, bDir}[i%2]); l != res.Commit {
			t.Errorf("write %d: the replica's main is %s, want its commit %s", i, l, res.Commit)
		}
	}
	if !slices.Equal(got, rtSeq(2, 7)) {
		t.Errorf("versions made = %v, want 2..7", got)
	}
	if n := rtGit(t, o.Bare, "rev-list", "--count", "--first-parent", "main"); n != "7" {
		t.Errorf("origin has %s commits, want 7 (the seed and 6 writes)", n)
	}
	rtFetch(t, a)
	rtFetch(t, b)
	for _, reg := range []*Registry{a, b} {
		if v := rtVersions(t, reg, rtID(1)); !slices.Equal(v, rtSeq(1, 7)) {
			t.Errorf("versions served = %v, want 1..7", v)
		}
	}
	o.sync()
	if got, want := rtGit(t, o.Work, "log", "--format=%s", "-6"), "Version 7 of Persona One\nVersion 6 of Persona One\nVersion 5 of Persona One\nVersion 4 of Persona One\nVersion 3 of Persona One\nVersion 2 of Persona One"; got != want {
		t.Errorf("origin's log:\n%s\nwant\n%s", got, want)
	}
}

// TestPushConcurrentReplicas writes concurrently through two replicas:
// every write lands exactly once, with contiguous version numbers.
func TestPushConcurrentReplicas(t *testing.T) {
	o := newRTOrigin(t, 1)
	regs := make([]*Registry, 2)
	for i := range regs {
		regs[i], _ = rtReplica(t, o)
	}
	const each = 6
	ctx := rtCtx(t)
	var mu sync.Mutex
	var versions []int
	var errs []error
	var wg sync.WaitGroup
	for r, reg := range regs {
		for i := 0; i < each; i++ {
			wg.Go(func() {
				res, err := reg.NewVersion(ctx, rtAuthor, rtID(1), 0, Content{Background: NewText(fmt.Sprintf("replica %d write %d", r, i))})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				versions = append(versions, res.Version)
			})
		}
	}
	wg.Wait()
	// what landed is contiguous on origin, whatever failed
	slices.Sort(versions)
	if !slices.Equal(versions, rtSeq(2, 1+len(versions))) {
		t.Errorf("versions made = %v, want 2..%d", versions, 1+len(versions))
	}
	if n := rtGit(t, o.Bare, "rev-list", "--count", "--first-parent", "main"); n != strconv.Itoa(1+len(versions)) {
		t.Errorf("origin has %s commits, want %d (the seed and the acknowledged writes)", n, 1+len(versions))
	}
	if len(errs) > 0 {
		raced := 0
		for _, err := range errs {
			if rtLostReceivePackRace(err) {
				raced++
			}
		}
		if raced == len(errs) {
			t.Fatalf("%s; %d of %d writes failed, first: %v", rtRaceBug, len(errs), 2*each, errs[0])
		}
		t.Fatalf("%d of %d concurrent writes failed, first: %v (code %s)", len(errs), 2*each, errs[0], ErrorCode(errs[0]))
	}
}

// rtRaceBug is the bug TestPushConcurrentReplicas finds.
const rtRaceBug = "regression: a push that passes go-git's lease check but then loses the race inside git-receive-pack " +
	"(another replica moved the ref in between) fails with EUNAVAILABLE (503) \"command error on refs/heads/main: " +
	"failed to update ref\" instead of being fetched and retried: registry/gitdb/remote.go Push must return ErrRefMoved " +
	"for it (e.g. on any push error, list the remote and return errRefMoved when the branch is no longer at base)"

// rtLostReceivePackRace reports whether a write failed because the
// remote's receive-pack refused to move the ref (the race with another replica).
func rtLostReceivePackRace(err error) bool {
	return ErrorCode(err) == EUNAVAILABLE &&
		(strings.Contains(err.Error(), "failed to update ref") || strings.Contains(err.Error(), "failed to lock"))
}

// TestPushRejectedWriteThatNoLongerApplies: the change rebuilt on the new
// tip is refused the way it would be without a remote, and the replica's
// branch equals origin's (never ahead).
func TestPushRejectedWriteThatNoLongerApplies(t *testing.T) {
	o := newRTOrigin(t, 2)
	reg, dir := rtReplica(t, o)
	ctx := rtCtx(t)

	// upstream makes version 3; the replica still thinks 3 is next
	o.write("personas/one.yaml", rtPersonaYAML(1, "Persona One", "version 3 upstream"))
	o.commitAll("Version 3 upstream")
	o.push()
	_, err := reg.NewVersion(ctx, rtAuthor, rtID(1), 3, Content{Background: NewText("stale version 3")})
	if ErrorCode(err) != EPRECONDITION || !strings.Contains(err.Error(), "next is 4") {
		t.Errorf("version=3 after upstream made 3: %v (code %s), want EPRECONDITION saying the next is 4", err, ErrorCode(err))
	}
	if l := rtLocalMain(t, dir); l != o.head() {
		t.Errorf("after the refused write the replica's main is %s, origin's %s", l, o.head())
	}

	// upstream makes version 4 with the very content the replica writes
	o.write("personas/one.yaml", rtPersonaYAML(1, "Persona One", "same text"))
	o.commitAll("Version 4 upstream")
	o.push()
	_, err = reg.NewVersion(ctx, rtAuthor, rtID(1), 0, Content{Background: NewText("same text")})
	if ErrorCode(err) != ECONFLICT || !strings.Contains(err.Error(), "identical to version 4") {
		t.Errorf("a version identical to the new upstream one: %v (code %s), want ECONFLICT naming version 4", err, ErrorCode(err))
	}

	// upstream deletes persona 2; the replica retags it
	rtGit(t, o.Work, "rm", "--quiet", "personas/two.yaml")
	o.commitAll("Delete two")
	o.push()
	v := "x"
	_, err = reg.UpdateTags(ctx, rtAuthor, rtID(2), map[string]*string{"k": &v})
	if ErrorCode(err) != ENOTFOUND || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("retag of a persona deleted upstream: %v (code %s), want ENOTFOUND saying it is deleted", err, ErrorCode(err))
	}
	if l := rtLocalMain(t, dir); l != o.head() {
		t.Errorf("the replica's main is %s, origin's %s", l, o.head())
	}
	if n := rtGit(t, o.Bare, "rev-list", "--count", "main"); n != "5" {
		t.Errorf("origin has %s commits, want 5: a refused write was pushed", n)
	}
}

// TestPushFailureLeavesTheBranchAlone: when the remote is gone, the write
// fails, nothing is acknowledged and the local branch does not move.
func TestPushFailureLeavesTheBranchAlone(t *testing.T) {
	o := newRTOrigin(t, 1)
	reg, dir := rtReplica(t, o)
	before := rtLocalMain(t, dir)
	if err := os.Rename(o.Bare, o.Bare+".away"); err != nil {
		t.Fatal(err)
	}
	_, err := reg.NewVersion(rtCtx(t), rtAuthor, rtID(1), 0, Content{Background: NewText("never lands")})
	if err == nil {
		t.Fatal("a write succeeded with the remote gone")
	}
	if l := rtLocalMain(t, dir); l != before {
		t.Errorf("the replica's main moved to %s after a failed push (was %s)", l, before)
	}
	if reg.Snapshot().Head != before {
		t.Errorf("the snapshot moved to %s after a failed push", reg.Snapshot().Head)
	}
	// a fetch fails too, naming the remote, and the last snapshot stays
	if err := reg.Fetch(rtCtx(t)); err == nil || !strings.Contains(err.Error(), o.URL) {
		t.Errorf("Fetch with the remote gone: %v, want an error naming %s", err, o.URL)
	}
	if reg.Snapshot() == nil || reg.Snapshot().Head != before {
		t.Errorf("the snapshot changed after a failed fetch")
	}
	// back online: the next write lands
	if err := os.Rename(o.Bare+".away", o.Bare); err != nil {
		t.Fatal(err)
	}
	res, err := reg.NewVersion(rtCtx(t), rtAuthor, rtID(1), 0, Content{Background: NewText("lands")})
	if err != nil || res.Version != 2 || res.Commit != o.head() {
		t.Errorf("write after the remote is back: %+v, %v; want version 2 at origin's head %s", res, err, o.head())
	}
}

func TestPushOnAReplicaCreatesPersona(t *testing.T) {
	o := newRTOrigin(t, 1)
	a, _ := rtReplica(t, o)
	b, _ := rtReplica(t, o)
	ctx := rtCtx(t)
	ra, err := a.Create(ctx, rtAuthor, NewPersona{Name: "Created On A", Role: "r", Content: Content{Background: NewText("a")}})
	if err != nil {
		t.Fatal(err)
	}
	// b has not fetched: its create is rebuilt on the new tip, and a name
	// taken upstream is a conflict
	if _, err := b.Create(ctx, rtAuthor, NewPersona{Name: "Created On A", Role: "r", Content: Content{Background: NewText("b")}}); ErrorCode(err) != ECONFLICT {
		t.Errorf("create through a stale replica of a name created upstream: %v, want ECONFLICT", err)
	}
	rb, err := b.Create(ctx, rtAuthor, NewPersona{Name: "Created On B", Role: "r", Content: Content{Background: NewText("b")}})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Commit != o.head() {
		t.Errorf("b's create %s is not origin's head %s", rb.Commit, o.head())
	}
	if parent := rtGit(t, o.Bare, "rev-parse", rb.Commit+"^"); parent != ra.Commit {
		t.Errorf("b's create has parent %s, want a's create %s", parent, ra.Commit)
	}
	for _, id := range []string{ra.ID, rb.ID} {
		if _, ok := b.Snapshot().Persona(id); !ok {
			t.Errorf("persona %s not served by b", id)
		}
	}
}

// The git layer's "bad input" errors reach callers as EINVALID, naming the input.
func TestRemoteBadURLIsInvalid(t *testing.T) {
	err := EnsureClone(rtCtx(t), "http://[::1", filepath.Join(t.TempDir(), "clone.git"))
	if err == nil || ErrorCode(err) != EINVALID {
		t.Fatalf("EnsureClone of a malformed URL: %v (code %s), want EINVALID", err, ErrorCode(err))
	}
	if msg := ErrorMessage(err); !strings.Contains(msg, "http://[::1") {
		t.Errorf("message %q does not name the URL", msg)
	}
}
