package registry_test

// Stale ref locks. A write moves the branch the way C git does: it creates
// refs/heads/main.lock with O_EXCL. A lock left behind blocks every write,
// so the registry removes a lock that it can prove stale — one written by a
// personas process on this host that is no longer running — and nothing
// else: a lock of C git (empty, or a hash), of another host, or of a live
// process is left alone, and the write fails with a message that names the
// file and says how to fix it.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
)

const lockPersonaID = "6650c0ffee000000000000a1"

// lockEnv is a bare repository with one persona, indexed by a registry.
type lockEnv struct {
	t    *testing.T
	bare string
	lock string // refs/heads/main.lock
	reg  *registry.Registry
}

// newLockEnv clones a one-persona repository bare (into dir, or a new
// temporary directory when dir is "") and opens a registry on it.
func newLockEnv(t *testing.T, dir string, open bool) *lockEnv {
	t.Helper()
	src := newTestRepo(t)
	src.Write("personas/seed.yaml", personaYAML(lockPersonaID, "Seed", "customer", "The persona the fixture starts with."))
	src.Commit("Add the seed persona")
	if dir == "" {
		dir = t.TempDir()
	}
	bare := filepath.Join(dir, "personas.git")
	src.Git("clone", "--quiet", "--bare", src.Dir, bare)
	e := &lockEnv{t: t, bare: bare, lock: filepath.Join(bare, "refs", "heads", "main.lock")}
	if open {
		e.reg = openRegistry(t, bare)
		refresh(t, e.reg)
	}
	return e
}

// head returns refs/heads/main as C git sees it.
func (e *lockEnv) head() string {
	e.t.Helper()
	return gittest.Run(e.t, e.bare, fixedEnv(), "rev-parse", "refs/heads/main")
}

// writeLock leaves a lock with the content.
func (e *lockEnv) writeLock(content string) {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Dir(e.lock), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(e.lock, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// create makes a persona through the registry.
func (e *lockEnv) create(name string) (registry.WriteResult, error) {
	e.t.Helper()
	// generous: a write blocked by a lock gives up after a bounded number
	// of attempts, which take long on a loaded machine
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return e.reg.Create(ctx, registry.Author{Name: "Lock Tester", Email: "locks@example.com"}, registry.NewPersona{
		Name: name, Role: "customer", Tags: map[string]*string{"suite": ptr("locks")},
		Content: registry.Content{Background: registry.NewText("Made while a ref lock was in the way: " + name + ".")},
	})
}

func ptr(s string) *string { return &s }

// expectCreated asserts that a create succeeded: the branch moved to its
// commit, no lock is left, and the snapshot serves the persona.
func (e *lockEnv) expectCreated(res registry.WriteResult, err error, before string) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	if h := e.head(); h == before || h != res.Commit {
		e.t.Errorf("refs/heads/main is %s, want the new commit %s (was %s)", short(h), short(res.Commit), short(before))
	}
	if _, err := os.Stat(e.lock); !os.IsNotExist(err) {
		e.t.Errorf("%s is left after the write (stat: %v)", e.lock, err)
	}
	if p, ok := e.reg.Snapshot().Persona(res.ID); !ok || p.IsDeleted {
		e.t.Errorf("the created persona %s is not served", res.ID)
	}
}

// expectBlocked asserts that a create failed because of the lock: a
// conflict that names the lock file and says how to fix it, with the lock
// and the branch untouched.
func (e *lockEnv) expectBlocked(res registry.WriteResult, err error, before, content string) {
	e.t.Helper()
	if err == nil {
		e.t.Fatalf("Create succeeded (commit %s) although %s holds %q", short(res.Commit), e.lock, content)
	}
	msg := err.Error()
	if code := registry.ErrorCode(err); code != registry.ECONFLICT {
		e.t.Errorf("error code %q, want %q: %v", code, registry.ECONFLICT, err)
	}
	if shown := registry.ErrorMessage(err); !strings.Contains(shown, e.lock) {
		e.t.Errorf("the message a caller sees does not name the lock file %s: %q", e.lock, shown)
	}
	if !strings.Contains(msg, e.lock) || !strings.Contains(msg, "remove") {
		e.t.Errorf("error %q does not name %s and say to remove it", msg, e.lock)
	}
	data, rerr := os.ReadFile(e.lock)
	if rerr != nil {
		e.t.Errorf("the lock is gone: %v", rerr)
	} else if string(data) != content {
		e.t.Errorf("the lock now holds %q, want %q untouched", data, content)
	}
	if h := e.head(); h != before {
		e.t.Errorf("refs/heads/main moved from %s to %s", short(before), short(h))
	}
}

// deadPID returns the pid of a process that has exited (and been reaped).
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if syscall.Kill(pid, 0) == nil {
		t.Skipf("pid %d was reused already", pid)
	}
	return pid
}

// livePID starts `sleep 30` and returns its pid; it is killed at the end.
func livePID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

func mustHostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil || h == "" {
		t.Skip("no host name")
	}
	return h
}

func TestLockOfDeadPersonasProcessIsRemoved(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, "", true)
	before := e.head()
	e.writeLock(fmt.Sprintf("personas-lock %d %s\n", deadPID(t), mustHostname(t)))
	res, err := e.create("After A Crash")
	e.expectCreated(res, err, before)
	if got := gittest.Run(t, e.bare, fixedEnv(), "fsck", "--no-dangling"); got != "" {
		t.Errorf("git fsck: %s", got)
	}
}

func TestLockNotProvablyStaleIsKept(t *testing.T) {
	t.Parallel()
	host := mustHostname(t)
	for _, tc := range []struct {
		name    string
		content func(t *testing.T, head string) string
	}{
		{"empty, as C git leaves it", func(*testing.T, string) string { return "" }},
		{"a hash, as C git leaves it", func(_ *testing.T, head string) string { return head + "\n" }},
		{"a dead personas process of another host", func(t *testing.T, _ string) string {
			return fmt.Sprintf("personas-lock %d other-host.invalid\n", deadPID(t))
		}},
		{"a personas marker without a pid", func(*testing.T, string) string { return "personas-lock \n" }},
		{"a live process", func(t *testing.T, _ string) string {
			return fmt.Sprintf("personas-lock %d %s\n", livePID(t), host)
		}},
		{"this process", func(*testing.T, string) string {
			return fmt.Sprintf("personas-lock %d %s\n", os.Getpid(), host)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newLockEnv(t, "", true)
			before := e.head()
			content := tc.content(t, before)
			e.writeLock(content)
			start := time.Now()
			res, err := e.create("Blocked By A Lock")
			e.expectBlocked(res, err, before, content)
			t.Logf("the blocked write gave up after %v", time.Since(start).Round(time.Millisecond)) // bounded by its attempts, not a clock
			// a person follows the message: removes the file, and the write works
			if err := os.Remove(e.lock); err != nil {
				t.Fatal(err)
			}
			res, err = e.create("After The Lock Was Removed")
			e.expectCreated(res, err, before)
		})
	}
}

// lockChildEnv names the bare repository a child test process writes to.
const lockChildEnv = "REGISTRY_LOCK_TEST_REPO"

// TestLockOfAnotherUsersLiveProcessIsKept: kill(pid, 0) fails with EPERM
// for a live process of another user. Such a process is alive: its lock
// must not be removed. The write runs in a child process as user nobody
// against a lock naming a live process of root (this test process).
func TestLockOfAnotherUsersLiveProcessIsKept(t *testing.T) {
	if bare := os.Getenv(lockChildEnv); bare != "" {
		runLockChild(t, bare)
		return
	}
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run a child process as another user")
	}
	const nobody = 65534
	dir, err := os.MkdirTemp("", "personas-lock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newLockEnv(t, dir, false)
	before := e.head()
	content := fmt.Sprintf("personas-lock %d %s\n", os.Getpid(), mustHostname(t))
	e.writeLock(content)
	bin := filepath.Join(dir, "registry.test")
	placeExecutable(t, os.Args[0], bin)
	chownAll(t, e.bare, nobody)

	out, err := combinedOutputOfBusyExecutable(t, func() *exec.Cmd {
		cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), lockChildEnv+"="+e.bare, "HOME="+dir)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		return cmd
	})
	chownAll(t, e.bare, 0) // git refuses to read a repository of another user
	if err != nil {
		if strings.Contains(string(out), "CHILD-SKIP") || strings.Contains(err.Error(), "operation not permitted") {
			t.Skipf("cannot run a child as another user: %v\n%s", err, out)
		}
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, statErr := os.Stat(e.lock)
	created := strings.Contains(string(out), "CHILD-CREATED")
	if os.IsNotExist(statErr) || created {
		t.Fatalf("a lock naming a live process of another user was removed (lock exists: %v, write made: %v): "+
			"registry/gitdb/ref.go processAlive treats EPERM from kill(pid, 0) as a dead process\n%s",
			statErr == nil, created, out)
	}
	if !strings.Contains(string(out), "CHILD-BLOCKED") || !strings.Contains(string(out), e.lock) {
		t.Errorf("the child's write was not refused because of %s:\n%s", e.lock, out)
	}
	if data, _ := os.ReadFile(e.lock); string(data) != content {
		t.Errorf("the lock holds %q, want %q", data, content)
	}
	if h := e.head(); h != before {
		t.Errorf("refs/heads/main moved from %s to %s", short(before), short(h))
	}
}

// runLockChild is the child of TestLockOfAnotherUsersLiveProcessIsKept: it
// tries one write and says what happened.
func runLockChild(t *testing.T, bare string) {
	reg, err := registry.Open(registry.Options{Repo: bare, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := reg.Refresh(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	res, err := reg.Create(ctx, registry.Author{Name: "Nobody", Email: "nobody@example.com"}, registry.NewPersona{
		Name: "Written By Nobody", Role: "customer", Content: registry.Content{Background: registry.NewText("A write by another user.")},
	})
	if err != nil {
		t.Logf("CHILD-BLOCKED: %v", err)
		return
	}
	t.Logf("CHILD-CREATED: %s", res.Commit)
}

// chownAll gives everything below dir to uid (and the group of the same id).
func chownAll(t *testing.T, dir string, uid int) {
	t.Helper()
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	}); err != nil {
		t.Fatal(err)
	}
}

// placeExecutable puts the program from at to, executable by every user: a
// hard link where it can (and the program's mode allows), a copy otherwise.
// A link is never open for writing, so no fork of a parallel test can hold
// it open and make its exec fail with ETXTBSY.
func placeExecutable(t *testing.T, from, to string) {
	t.Helper()
	if fi, err := os.Stat(from); err == nil && fi.Mode().Perm()&0o005 == 0o005 {
		if err := os.Link(from, to); err == nil {
			return
		}
	}
	copyFile(t, from, to, 0o755)
}

// combinedOutputOfBusyExecutable runs the command newCmd makes and returns
// its output. A freshly written executable can be briefly "busy": a
// parallel test that forked while it was open for writing holds that
// descriptor until its own exec. exec then fails with ETXTBSY before the
// program runs, so trying again (with a new Cmd) is safe; the wait grows
// and the outer limit is generous.
func combinedOutputOfBusyExecutable(t *testing.T, newCmd func() *exec.Cmd) ([]byte, error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for wait := 10 * time.Millisecond; ; wait *= 2 {
		out, err := newCmd().CombinedOutput()
		if !errors.Is(err, syscall.ETXTBSY) || time.Now().After(deadline) {
			return out, err
		}
		time.Sleep(min(wait, time.Second))
	}
}

// copyFile copies the file from to a new file to with the given mode.
func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLockMarkerHeldWhileRefIsChecked: the marker "personas-lock pid host"
// is what makes a lock left by a crash provably stale, so it must stay in
// the lock until the new value is written. The branch's loose ref is made a
// FIFO, so the write blocks while it reads the current value under the
// lock; the test looks at the lock at that moment, then feeds the FIFO.
func TestLockMarkerHeldWhileRefIsChecked(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, "", true)
	before := e.head()
	ref := filepath.Join(e.bare, "refs", "heads", "main")
	if err := syscall.Mkfifo(ref, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}

	// feed answers every reader of the FIFO with the old value and records
	// what the lock held when a reader came while the lock existed.
	var mu sync.Mutex
	var seen []string
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			fd, err := syscall.Open(ref, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
			if err != nil { // ENXIO: no reader yet; ENOENT: renamed away
				time.Sleep(200 * time.Microsecond)
				continue
			}
			var st syscall.Stat_t
			if syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
				syscall.Close(fd) // the branch is a regular file again: never write into it
				time.Sleep(200 * time.Microsecond)
				continue
			}
			if data, err := os.ReadFile(e.lock); err == nil {
				mu.Lock()
				seen = append(seen, string(data))
				mu.Unlock()
			}
			_, _ = syscall.Write(fd, []byte(before+"\n"))
			syscall.Close(fd)
		}
	})
	res, err := e.create("Marker Check")
	close(done)
	wg.Wait()
	e.expectCreated(res, err, before)

	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("the write never read the branch while holding the lock")
	}
	want := "personas-lock " + strconv.Itoa(os.Getpid()) + " "
	for _, s := range seen {
		if !strings.HasPrefix(s, want) {
			t.Fatalf("while the write checks the branch under its lock, the lock holds %q, not the marker %q…: "+
				"registry/gitdb/ref.go UpdateRef truncates the marker right after writing it, so a crash leaves an "+
				"empty lock that is never proven stale", s, want)
		}
	}
}
