package gitdb

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Git file modes as they appear in tree objects.
const (
	ModeTree      = "40000"
	ModeFile      = "100644"
	ModeSymlink   = "120000"
	ModeSubmodule = "160000"
)

// treeEntry is one entry of a raw tree object; name and hash point into the
// tree's bytes (no allocation).
type treeEntry struct {
	mode []byte
	name []byte
	hash []byte // 20 bytes
}

func (e *treeEntry) isDir() bool { return string(e.mode) == ModeTree }

// treeIter walks the entries of a raw tree object in order.
type treeIter struct{ data []byte }

var errBadTree = errors.New("malformed tree object")

func (it *treeIter) next() (treeEntry, bool, error) {
	if len(it.data) == 0 {
		return treeEntry{}, false, nil
	}
	sp := bytes.IndexByte(it.data, ' ')
	nul := bytes.IndexByte(it.data, 0)
	if sp < 0 || nul < sp || len(it.data) < nul+21 {
		return treeEntry{}, false, errBadTree
	}
	e := treeEntry{mode: it.data[:sp], name: it.data[sp+1 : nul], hash: it.data[nul+1 : nul+21]}
	it.data = it.data[nul+21:]
	return e, true, nil
}

// compareEntries orders entries the way git sorts a tree: a directory's name
// compares as if it ended in '/'.
func compareEntries(a, b *treeEntry) int {
	n := min(len(a.name), len(b.name))
	if c := bytes.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	ca, cb := nextChar(a, n), nextChar(b, n)
	switch {
	case ca < cb:
		return -1
	case ca > cb:
		return 1
	}
	return 0
}

func nextChar(e *treeEntry, n int) int {
	if n < len(e.name) {
		return int(e.name[n])
	}
	if e.isDir() {
		return '/'
	}
	return 0
}

// Change is one changed file between two trees. A zero hash means absent
// (an added or a removed file); modes are as in tree objects (ModeFile …).
type Change struct {
	Path    string
	OldHash Hash
	NewHash Hash
	OldMode string
	NewMode string
}

// TreeReader diffs trees, keeping the trees of the previous commit so that
// diffing each commit of a walk against its parent reads each tree once. Like
// its Repo, it is owned by one goroutine; several TreeReaders of one Repo may
// read at once.
//
// The trees it holds are references into the pack reader's cache, whose
// buffers are recycled once released: a tree is released when a commit no
// longer needs it (NextCommit) and by Close. Nothing it returns points into
// a tree (Change paths and modes are copies). A TreeReader that is never
// closed only keeps its last trees from being recycled.
type TreeReader struct {
	repo *Repo
	prev map[Hash]heldTree
	cur  map[Hash]heldTree
}

// heldTree is a tree's content and the reference that keeps it valid (nil
// when the tree was not read from a pack).
type heldTree struct {
	data []byte
	ref  *cacheItem
}

func (t heldTree) release() {
	if t.ref != nil {
		t.ref.release()
	}
}

// NewTreeReader returns a TreeReader of the trees of repo.
func NewTreeReader(repo *Repo) *TreeReader {
	return &TreeReader{repo: repo, prev: map[Hash]heldTree{}, cur: map[Hash]heldTree{}}
}

// NextCommit rotates the cache: the trees read for this commit become the
// parent trees of the next; the parent trees it did not read again are
// released.
func (r *TreeReader) NextCommit() {
	for h, t := range r.prev {
		if _, ok := r.cur[h]; !ok {
			t.release()
		}
	}
	r.prev, r.cur = r.cur, r.prev
	clear(r.cur)
}

// Close releases every tree r holds. r stays usable (it starts afresh);
// nothing read through it before may be used after.
func (r *TreeReader) Close() {
	r.NextCommit()
	r.NextCommit()
}

func (r *TreeReader) tree(h Hash) ([]byte, error) {
	if h.IsZero() {
		return nil, nil
	}
	if t, ok := r.cur[h]; ok {
		return t.data, nil
	}
	t, ok := r.prev[h]
	if !ok {
		data, ref, err := r.repo.readRef(h, plumbing.TreeObject)
		if err != nil {
			return nil, err
		}
		t = heldTree{data, ref}
	}
	r.cur[h] = t
	return t.data, nil
}

// Subtree returns the hash of the tree at dir ("a/b") below root, or zero.
func (r *TreeReader) Subtree(root Hash, dir string) (Hash, error) {
	h := root
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part == "" || part == "." || h.IsZero() {
			continue
		}
		data, err := r.tree(h)
		if err != nil {
			return ZeroHash, err
		}
		h = ZeroHash
		it := treeIter{data}
		for {
			e, ok, err := it.next()
			if err != nil {
				return ZeroHash, fmt.Errorf("tree %s: %w", h, err)
			}
			if !ok {
				break
			}
			if e.isDir() && string(e.name) == part {
				copy(h[:], e.hash)
				break
			}
		}
	}
	return h, nil
}

// Diff appends to out the files that differ between trees a and b (either
// may be zero), with paths prefixed by prefix. Subtrees with equal hashes
// are skipped without being read.
func (r *TreeReader) Diff(a, b Hash, prefix string, out []Change) ([]Change, error) {
	if a == b {
		return out, nil
	}
	ta, err := r.tree(a)
	if err != nil {
		return out, err
	}
	tb, err := r.tree(b)
	if err != nil {
		return out, err
	}
	// Fast path: trees of consecutive commits share most entries byte for
	// byte; skip equal entries with one IndexByte and one memcmp each.
	for len(ta) > 0 && len(tb) > 0 {
		n := entryLen(ta)
		if n < 0 {
			return out, errBadTree
		}
		if n <= len(tb) && bytes.Equal(ta[:n], tb[:n]) {
			ta, tb = ta[n:], tb[n:]
			continue
		}
		ia, ib := treeIter{ta}, treeIter{tb}
		ea, _, err := ia.next()
		if err != nil {
			return out, err
		}
		eb, _, err := ib.next()
		if err != nil {
			return out, err
		}
		switch c := compareEntries(&ea, &eb); {
		case c < 0:
			out, err = r.side(&ea, prefix, true, out)
			ta = ia.data
		case c > 0:
			out, err = r.side(&eb, prefix, false, out)
			tb = ib.data
		default:
			out, err = r.pair(&ea, &eb, prefix, out)
			ta, tb = ia.data, ib.data
		}
		if err != nil {
			return out, err
		}
	}
	for _, rest := range []struct {
		data []byte
		old  bool
	}{{ta, true}, {tb, false}} {
		it := treeIter{rest.data}
		for {
			e, ok, err := it.next()
			if err != nil {
				return out, err
			}
			if !ok {
				break
			}
			if out, err = r.side(&e, prefix, rest.old, out); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// entryLen returns the length of the first entry of a raw tree, or -1.
func entryLen(data []byte) int {
	nul := bytes.IndexByte(data, 0)
	if nul < 0 || len(data) < nul+21 {
		return -1
	}
	return nul + 21
}

// side records an entry present on one side only: removed (old) or added.
func (r *TreeReader) side(e *treeEntry, prefix string, old bool, out []Change) ([]Change, error) {
	h := Hash(e.hash)
	p := prefix + string(e.name)
	if e.isDir() {
		if old {
			return r.Diff(h, ZeroHash, p+"/", out)
		}
		return r.Diff(ZeroHash, h, p+"/", out)
	}
	if old {
		return append(out, Change{Path: p, OldHash: h, OldMode: string(e.mode)}), nil
	}
	return append(out, Change{Path: p, NewHash: h, NewMode: string(e.mode)}), nil
}

// pair compares two entries with the same name.
func (r *TreeReader) pair(a, b *treeEntry, prefix string, out []Change) ([]Change, error) {
	if bytes.Equal(a.hash, b.hash) && bytes.Equal(a.mode, b.mode) {
		return out, nil
	}
	p := prefix + string(a.name)
	switch {
	case a.isDir() && b.isDir():
		return r.Diff(Hash(a.hash), Hash(b.hash), p+"/", out)
	case a.isDir() || b.isDir():
		out, err := r.side(a, prefix, true, out)
		if err != nil {
			return out, err
		}
		return r.side(b, prefix, false, out)
	}
	return append(out, Change{Path: p, OldHash: Hash(a.hash), NewHash: Hash(b.hash),
		OldMode: string(a.mode), NewMode: string(b.mode)}), nil
}
