package gitdb

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// writeObject stores an object and returns its hash.
func (r *Repo) writeObject(t plumbing.ObjectType, data []byte) (Hash, error) {
	obj := r.st.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return ZeroHash, err
	}
	return r.setObject(obj)
}

// setObject stores an object and fsyncs its loose file, so that a ref
// pointing at it survives a power loss too.
func (r *Repo) setObject(obj plumbing.EncodedObject) (Hash, error) {
	h, err := r.st.SetEncodedObject(obj)
	// git's prune-packed may remove an empty objects/xx directory between
	// go-git's mkdir and rename: try again
	for i := 0; i < 5 && errors.Is(err, os.ErrNotExist); i++ {
		h, err = r.st.SetEncodedObject(obj)
	}
	if err != nil {
		return Hash(h), err
	}
	hex := h.String()
	p := filepath.Join(r.gitDir, "objects", hex[:2], hex[2:])
	if f, err := os.Open(p); err == nil {
		_ = f.Sync()
		f.Close()
		syncDir(filepath.Dir(p))
	}
	return Hash(h), nil
}

// EditTree returns the hash of the tree root with one file replaced (data !=
// nil, a regular file) or removed (data == nil), writing the blob and every
// tree along the path; sibling subtrees are reused by hash. path is
// slash-separated, relative to the repository root. No worktree or index is
// involved. A tree left empty is the zero hash.
func (r *Repo) EditTree(root Hash, path string, data []byte) (Hash, error) {
	return r.editTreeAt(root, strings.Split(path, "/"), data)
}

func (r *Repo) editTreeAt(h Hash, parts []string, data []byte) (Hash, error) {
	var entries []object.TreeEntry
	if !h.IsZero() {
		raw, err := r.readRaw(h, plumbing.TreeObject, 0)
		if err != nil {
			return ZeroHash, err
		}
		it := treeIter{raw}
		for {
			e, ok, err := it.next()
			if err != nil {
				return ZeroHash, err
			}
			if !ok {
				break
			}
			mode, err := filemode.New(string(e.mode))
			if err != nil {
				return ZeroHash, err
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
			bh, err := r.writeObject(plumbing.BlobObject, data)
			if err != nil {
				return ZeroHash, err
			}
			newEntry = &object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: toPlumbing(bh)}
		}
	} else {
		sub := ZeroHash
		if idx >= 0 && entries[idx].Mode == filemode.Dir {
			sub = Hash(entries[idx].Hash)
		}
		nh, err := r.editTreeAt(sub, parts[1:], data)
		if err != nil {
			return ZeroHash, err
		}
		if !nh.IsZero() {
			newEntry = &object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: toPlumbing(nh)}
		}
	}
	if idx >= 0 {
		entries = append(entries[:idx], entries[idx+1:]...)
	}
	if newEntry != nil {
		entries = append(entries, *newEntry)
	}
	if len(entries) == 0 {
		return ZeroHash, nil // git has no empty trees below the root
	}
	sortTreeEntries(entries)
	t := &object.Tree{Entries: entries}
	obj := r.st.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return ZeroHash, err
	}
	return r.setObject(obj)
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

// Signature names who made a commit, and when.
type Signature struct {
	Name  string
	Email string
	When  time.Time
}

// WriteCommit stores a commit of tree (zero: the empty tree) on parent (zero:
// a root commit), with author as author and committer.
func (r *Repo) WriteCommit(tree, parent Hash, author Signature, message string) (Hash, error) {
	if tree.IsZero() {
		h, err := r.writeObject(plumbing.TreeObject, nil)
		if err != nil {
			return ZeroHash, err
		}
		tree = h
	}
	sig := object.Signature{Name: author.Name, Email: author.Email, When: author.When}
	c := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: toPlumbing(tree)}
	if !parent.IsZero() {
		c.ParentHashes = []plumbing.Hash{toPlumbing(parent)}
	}
	obj := r.st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return ZeroHash, err
	}
	return r.setObject(obj)
}

// ReadFile returns the blob at path p in the tree of commit, or nil when
// there is no such file.
func (r *Repo) ReadFile(commit Hash, p string) ([]byte, error) {
	if commit.IsZero() {
		return nil, nil
	}
	ci, err := r.Commit(commit)
	if err != nil {
		return nil, err
	}
	tr := NewTreeReader(r)
	defer tr.Close()
	dirHash, err := tr.Subtree(ci.Tree, path.Dir(p))
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
			return r.readRaw(Hash(e.hash), plumbing.BlobObject, 0)
		}
	}
}

// FileExists reports whether commit's tree has a file at p.
func (r *Repo) FileExists(commit Hash, p string) (bool, error) {
	data, err := r.ReadFile(commit, p)
	return data != nil, err
}
