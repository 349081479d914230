package gitdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// UpdateRef moves a branch from old to new (a compare-and-swap; zero old
// means "does not exist") the way git does: take <ref>.lock, check the old
// value (loose ref, else packed-refs), write the new value to a temporary
// file, fsync, rename it over the ref. C git and this process can then share
// the repository.
// Errors: ErrRefMoved when the branch is not at old; ErrRefLocked when
// another process holds the lock (a *LockError says which file).
func (r *Repo) UpdateRef(branch string, old, new Hash) error {
	name := "refs/heads/" + branch
	refPath := filepath.Join(r.gitDir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(refPath), 0o755); err != nil {
		return err
	}
	lockPath := refPath + ".lock"
	if err := r.takeLock(lockPath); err != nil {
		return err
	}
	// the lock only ever holds our marker, so a lock left by a crash of
	// this process can always be proven stale
	defer os.Remove(lockPath)
	cur, err := r.currentRef(name, refPath)
	if err != nil {
		return err
	}
	if cur != old {
		return ErrRefMoved
	}
	err = WriteFileAtomic(r.gitDir, refPath, true, func(w io.Writer) error {
		_, err := io.WriteString(w, new.String()+"\n")
		return err
	})
	if err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	r.appendReflog(name, old, new)
	return nil
}

// takeLock creates lockPath holding our marker (pid and host), atomically:
// the marker is written to a temporary file first and hard-linked into
// place, which fails like O_EXCL when the lock exists.
func (r *Repo) takeLock(lockPath string) error {
	tmp, err := os.CreateTemp(r.gitDir, "personas-lock-*")
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = fmt.Fprintf(tmp, "%s%d %s\n", lockMarker, os.Getpid(), hostname())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	err = os.Link(tmp.Name(), lockPath)
	if errors.Is(err, os.ErrExist) {
		if removeStaleLock(lockPath) {
			return ErrRefLocked // removed: the caller retries
		}
		return &LockError{path: lockPath}
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", lockPath, err)
	}
	return nil
}

// lockMarker starts the content of a lock this process holds, before the new
// ref value replaces it: "personas-lock pid host".
const lockMarker = "personas-lock "

// LockError reports a ref lock held by another process (or left by a crash
// of one): nothing is removed that isn't provably ours.
type LockError struct{ path string }

func (e *LockError) Error() string {
	age := ""
	if info, err := os.Stat(e.path); err == nil {
		age = fmt.Sprintf(" (created %s ago)", time.Since(info.ModTime()).Round(time.Second))
	}
	return fmt.Sprintf("the branch is locked by %s%s; if no git process is running, a crash left it: remove the file", e.path, age)
}

func (e *LockError) Is(target error) bool { return target == ErrRefLocked }

// removeStaleLock removes a lock that this program wrote on this host for a
// process that no longer exists, and reports whether it did.
func removeStaleLock(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(data), lockMarker) {
		return false
	}
	var pid int
	var host string
	if _, err := fmt.Sscanf(strings.TrimPrefix(string(data), lockMarker), "%d %s", &pid, &host); err != nil {
		return false
	}
	if host != hostname() || pid == os.Getpid() || processAlive(pid) {
		return false
	}
	return os.Remove(path) == nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}

// processAlive reports whether a process with the pid exists.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM) // EPERM: alive, another user's
}

// currentRef reads a branch from its loose file, else from packed-refs.
func (r *Repo) currentRef(name, refPath string) (Hash, error) {
	data, err := os.ReadFile(refPath)
	if err == nil {
		return NewHash(strings.TrimSpace(string(data))), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return ZeroHash, err
	}
	f, err := os.Open(filepath.Join(r.gitDir, "packed-refs"))
	if errors.Is(err, os.ErrNotExist) {
		return ZeroHash, nil
	}
	if err != nil {
		return ZeroHash, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if h, ref, ok := strings.Cut(line, " "); ok && ref == name && len(h) == 40 {
			return NewHash(h), nil
		}
	}
	return ZeroHash, sc.Err()
}

// appendReflog records the update in logs/<ref> when the repository keeps
// reflogs for it; failures are ignored (the reflog is advisory).
func (r *Repo) appendReflog(name string, old, new Hash) {
	p := filepath.Join(r.gitDir, "logs", filepath.FromSlash(name))
	if _, err := os.Stat(p); err != nil {
		return
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s personas <personas@localhost> %d +0000\tpersonas: write\n", old, new, time.Now().Unix())
}
