package registry

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// writeObject stores an object and returns its hash.
func (s *gitStore) writeObject(t plumbing.ObjectType, data []byte) (plumbing.Hash, error) {
	obj := s.st.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.setObject(obj)
}

// setObject stores an object and fsyncs its loose file, so that a ref
// pointing at it survives a power loss too.
func (s *gitStore) setObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	h, err := s.st.SetEncodedObject(obj)
	// git's prune-packed may remove an empty objects/xx directory between
	// go-git's mkdir and rename: try again
	for i := 0; i < 5 && errors.Is(err, os.ErrNotExist); i++ {
		h, err = s.st.SetEncodedObject(obj)
	}
	if err != nil {
		return h, err
	}
	hex := h.String()
	p := filepath.Join(s.gitDir, "objects", hex[:2], hex[2:])
	if f, err := os.Open(p); err == nil {
		_ = f.Sync()
		f.Close()
		syncDir(filepath.Dir(p))
	}
	return h, nil
}

// treeEdit replaces (data != nil) or removes (data == nil) one file.
type treeEdit struct {
	path string // slash-separated, relative to the repository root
	data []byte
}

// editTree returns the hash of root with the edit applied, writing the blob
// and every tree along the path. Sibling subtrees are reused by hash.
func (s *gitStore) editTree(root plumbing.Hash, e treeEdit) (plumbing.Hash, error) {
	return s.editTreeAt(root, strings.Split(e.path, "/"), e.data)
}

func (s *gitStore) editTreeAt(h plumbing.Hash, parts []string, data []byte) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if !h.IsZero() {
		raw, err := s.readRaw(h, plumbing.TreeObject, 0)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		it := treeIter{raw}
		for {
			e, ok, err := it.next()
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if !ok {
				break
			}
			mode, err := filemode.New(string(e.mode))
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries = append(entries, object.TreeEntry{Name: string(e.name), Mode: mode, Hash: plumbing.Hash(e.hash)})
		}
	}
	name := parts[0]
	idx := -1
	for i, e := range entries {
		if e.Name == name {
			idx = i
		}
	}
	var newEntry *object.TreeEntry
	if len(parts) == 1 {
		if data != nil {
			bh, err := s.writeObject(plumbing.BlobObject, data)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			newEntry = &object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: bh}
		}
	} else {
		sub := plumbing.ZeroHash
		if idx >= 0 && entries[idx].Mode == filemode.Dir {
			sub = entries[idx].Hash
		}
		nh, err := s.editTreeAt(sub, parts[1:], data)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if !nh.IsZero() {
			newEntry = &object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: nh}
		}
	}
	if idx >= 0 {
		entries = append(entries[:idx], entries[idx+1:]...)
	}
	if newEntry != nil {
		entries = append(entries, *newEntry)
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil // git has no empty trees below the root
	}
	sortTreeEntries(entries)
	t := &object.Tree{Entries: entries}
	obj := s.st.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.setObject(obj)
}

// sortTreeEntries orders entries as git does (a tree's name sorts as name + "/").
func sortTreeEntries(es []object.TreeEntry) {
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(es, func(i, j int) bool { return key(es[i]) < key(es[j]) })
}

// writeCommit stores a commit of tree on parent.
func (s *gitStore) writeCommit(tree, parent plumbing.Hash, author object.Signature, message string) (plumbing.Hash, error) {
	if tree.IsZero() {
		h, err := s.writeObject(plumbing.TreeObject, nil)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		tree = h
	}
	c := &object.Commit{Author: author, Committer: author, Message: message, TreeHash: tree}
	if !parent.IsZero() {
		c.ParentHashes = []plumbing.Hash{parent}
	}
	obj := s.st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.setObject(obj)
}

// Ref update errors.
var (
	errRefMoved  = errors.New("the branch moved")
	errRefLocked = errors.New("the branch is locked by another process")
)

// updateRef moves a branch from old to new the way git does: create
// <ref>.lock with O_EXCL, check the old value (loose ref, else packed-refs),
// write and fsync the lock, rename it over the ref. C git and this process
// can then share the repository.
func (s *gitStore) updateRef(branch string, old, new plumbing.Hash) error {
	name := "refs/heads/" + branch
	refPath := filepath.Join(s.gitDir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(refPath), 0o755); err != nil {
		return err
	}
	lockPath := refPath + ".lock"
	if err := s.takeLock(lockPath); err != nil {
		return err
	}
	// the lock only ever holds our marker, so a lock left by a crash of
	// this process can always be proven stale
	defer os.Remove(lockPath)
	cur, err := s.currentRef(name, refPath)
	if err != nil {
		return err
	}
	if cur != old {
		return errRefMoved
	}
	if err := writeFileAtomic(s.gitDir, refPath, []byte(new.String()+"\n")); err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	s.appendReflog(name, old, new)
	return nil
}

// takeLock creates lockPath holding our marker (pid and host), atomically:
// the marker is written to a temporary file first and hard-linked into
// place, which fails like O_EXCL when the lock exists.
func (s *gitStore) takeLock(lockPath string) error {
	tmp, err := os.CreateTemp(s.gitDir, "personas-lock-*")
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
			return errRefLocked // removed: the caller retries
		}
		return &lockError{path: lockPath}
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", lockPath, err)
	}
	return nil
}

// writeFileAtomic replaces path with data: a temporary file in dir, fsync,
// rename, fsync of the directory.
func writeFileAtomic(dir, path string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "personas-ref-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// lockMarker starts the content of a lock this process holds, before the new
// ref value replaces it: "personas-lock pid host".
const lockMarker = "personas-lock "

// lockError reports a ref lock held by another process (or left by a crash
// of one): nothing is removed that isn't provably ours.
type lockError struct{ path string }

func (e *lockError) Error() string {
	age := ""
	if info, err := os.Stat(e.path); err == nil {
		age = fmt.Sprintf(" (created %s ago)", time.Since(info.ModTime()).Round(time.Second))
	}
	return fmt.Sprintf("the branch is locked by %s%s; if no git process is running, a crash left it: remove the file", e.path, age)
}

func (e *lockError) Is(target error) bool { return target == errRefLocked }

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
func (s *gitStore) currentRef(name, refPath string) (plumbing.Hash, error) {
	data, err := os.ReadFile(refPath)
	if err == nil {
		return plumbing.NewHash(strings.TrimSpace(string(data))), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return plumbing.ZeroHash, err
	}
	f, err := os.Open(filepath.Join(s.gitDir, "packed-refs"))
	if errors.Is(err, os.ErrNotExist) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if h, ref, ok := strings.Cut(line, " "); ok && ref == name && len(h) == 40 {
			return plumbing.NewHash(h), nil
		}
	}
	return plumbing.ZeroHash, sc.Err()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// appendReflog records the update in logs/<ref> when the repository keeps
// reflogs for it; failures are ignored (the reflog is advisory).
func (s *gitStore) appendReflog(name string, old, new plumbing.Hash) {
	p := filepath.Join(s.gitDir, "logs", filepath.FromSlash(name))
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

// readFile returns the blob at path in the tree of commit, or nil.
func (s *gitStore) readFile(commit plumbing.Hash, p string) ([]byte, error) {
	if commit.IsZero() {
		return nil, nil
	}
	ci, err := s.commit(commit)
	if err != nil {
		return nil, err
	}
	tr := newTreeReader(s)
	dirHash, err := tr.subtree(ci.Tree, path.Dir(p))
	if err != nil || dirHash.IsZero() {
		return nil, err
	}
	raw, err := tr.tree(dirHash)
	if err != nil {
		return nil, err
	}
	it := treeIter{raw}
	base := path.Base(p)
	for {
		e, ok, err := it.next()
		if err != nil || !ok {
			return nil, err
		}
		if string(e.name) == base && !e.isDir() {
			return s.readRaw(plumbing.Hash(e.hash), plumbing.BlobObject, 0)
		}
	}
}

// fileExists reports whether commit's tree has a file at p.
func (s *gitStore) fileExists(commit plumbing.Hash, p string) (bool, error) {
	data, err := s.readFile(commit, p)
	return data != nil, err
}
