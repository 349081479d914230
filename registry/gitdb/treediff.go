package gitdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
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
// when the tree was not read from a pack); bounds, when known, are offsets
// of some of its entries (see Diff).
type heldTree struct {
	data   []byte
	ref    *cacheItem
	bounds []int32
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
	t, err := r.held(h)
	return t.data, err
}

// held returns tree h, held for this commit (zero for the zero hash).
func (r *TreeReader) held(h Hash) (heldTree, error) {
	if h.IsZero() {
		return heldTree{}, nil
	}
	if t, ok := r.cur[h]; ok {
		return t, nil
	}
	t, ok := r.prev[h]
	if !ok {
		data, ref, err := r.repo.readRef(h, plumbing.TreeObject)
		if err != nil {
			return heldTree{}, err
		}
		t = heldTree{data: data, ref: ref}
	}
	r.cur[h] = t
	return t, nil
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
//
// Trees of consecutive commits share most of their bytes: a directory of
// 2,000 files changes an entry or a few per commit. Comparing entry by
// entry was 12% of a cold index, so Diff skips each run of bytes the two
// trees share (before, between and after the changed entries) with
// word-wide comparisons, and compares entries only around the changes.
// A run ends at a byte offset; the entry it falls in is found from bounds,
// offsets of entries of a recorded when a was the newer tree of the
// previous Diff (one every boundStride bytes or so).
func (r *TreeReader) Diff(a, b Hash, prefix string, out []Change) ([]Change, error) {
	if a == b {
		return out, nil
	}
	ha, err := r.held(a)
	if err != nil {
		return out, err
	}
	hb, err := r.held(b)
	if err != nil {
		return out, err
	}
	d := treeDiff{r: r, prefix: prefix, out: out, ta: ha.data, tb: hb.data, endA: len(ha.data) + 1}
	if ha.bounds != nil {
		d.known(ha.bounds)
	}
	err = d.merge()
	if err == nil && !b.IsZero() && len(hb.data) <= math.MaxInt32 { // offsets are int32
		hb.bounds = d.bounds
		r.cur[b] = hb
	}
	return d.out, err
}

// boundStride is about how far apart the entry offsets Diff keeps are.
const boundStride = 512

// treeDiff is one Diff of raw trees ta (old) and tb (new).
type treeDiff struct {
	r      *TreeReader
	prefix string
	out    []Change
	ta, tb []byte
	oa, ob int // offsets of the next entries of ta and tb

	// Set by known: boundsA holds offsets of entries of ta; once oa ≥
	// endA and ob = oa + shift, the rest of ta and tb are the same.
	boundsA     []int32
	endA, shift int
	bounds      []int32 // offsets of entries of tb found so far
}

// known takes the entry offsets of ta, and marks where the bytes the trees
// share at their end begin.
func (d *treeDiff) known(boundsA []int32) {
	d.boundsA = boundsA
	d.bounds = make([]int32, 0, len(boundsA)+4)
	s := commonSuffix(d.ta, d.tb)
	d.endA = len(d.ta) - s
	d.shift = len(d.tb) - len(d.ta)
}

// skipEqual moves oa and ob, at entries of ta and tb, past the bytes that
// follow them in both trees, to the last known entry of ta in that run
// (and the entry of tb at the same place): the parses of both trees agree
// on every entry of a run of equal bytes that starts at an entry of each.
// It does nothing when the run is short or holds no known entry.
func (d *treeDiff) skipEqual() {
	n := commonPrefix(d.ta[d.oa:], d.tb[d.ob:])
	if n < boundStride {
		return // the entry-by-entry loop is as quick
	}
	from, _ := slices.BinarySearch(d.boundsA, int32(d.oa)+1)
	to, _ := slices.BinarySearch(d.boundsA, int32(d.oa+n)+1)
	if to <= from {
		return
	}
	delta := d.ob - d.oa
	for _, o := range d.boundsA[from:to] {
		d.noteBound(int(o) + delta)
	}
	next := int(d.boundsA[to-1])
	d.oa, d.ob = next, next+delta
}

// merge walks the entries of both trees from oa and ob in order.
func (d *treeDiff) merge() error {
	skip := d.boundsA != nil
	for d.oa < len(d.ta) && d.ob < len(d.tb) {
		if skip {
			skip = false
			d.skipEqual()
			continue
		}
		if d.oa >= d.endA && d.ob == d.oa+d.shift {
			d.takeRest()
			return nil
		}
		d.noteBound(d.ob)
		ta, tb := d.ta[d.oa:], d.tb[d.ob:]
		// consecutive entries are often equal too: skip one with one
		// IndexByte and one memcmp
		n := entryLen(ta)
		if n < 0 {
			return errBadTree
		}
		if n <= len(tb) && bytes.Equal(ta[:n], tb[:n]) {
			d.oa, d.ob = d.oa+n, d.ob+n
			continue
		}
		ia, ib := treeIter{ta}, treeIter{tb}
		ea, _, err := ia.next()
		if err != nil {
			return err
		}
		eb, _, err := ib.next()
		if err != nil {
			return err
		}
		switch c := compareEntries(&ea, &eb); {
		case c < 0:
			d.out, err = d.r.side(&ea, d.prefix, true, d.out)
			d.oa = len(d.ta) - len(ia.data)
		case c > 0:
			d.out, err = d.r.side(&eb, d.prefix, false, d.out)
			d.ob = len(d.tb) - len(ib.data)
		default:
			d.out, err = d.r.pair(&ea, &eb, d.prefix, d.out)
			d.oa, d.ob = len(d.ta)-len(ia.data), len(d.tb)-len(ib.data)
		}
		if err != nil {
			return err
		}
		skip = d.boundsA != nil
	}
	if err := d.sideRest(d.ta[d.oa:], true); err != nil {
		return err
	}
	return d.sideRest(d.tb[d.ob:], false)
}

// sideRest records the entries left on one side as removed or added.
func (d *treeDiff) sideRest(rest []byte, old bool) error {
	it := treeIter{rest}
	for {
		if !old {
			d.ob = len(d.tb) - len(it.data)
			d.noteBound(d.ob)
		}
		e, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
		if d.out, err = d.r.side(&e, d.prefix, old, d.out); err != nil {
			return err
		}
	}
}

// noteBound records o, the offset of an entry of tb, if it is boundStride
// past the last one recorded.
func (d *treeDiff) noteBound(o int) {
	if o < len(d.tb) && (len(d.bounds) == 0 || o-int(d.bounds[len(d.bounds)-1]) >= boundStride) {
		d.bounds = append(d.bounds, int32(o))
	}
}

// takeRest ends a diff whose remaining bytes are equal: the offsets of
// ta's remaining entries, shifted, are offsets of tb's.
func (d *treeDiff) takeRest() {
	i, _ := slices.BinarySearch(d.boundsA, int32(d.oa))
	for _, o := range d.boundsA[i:] {
		d.noteBound(int(o) + d.shift)
	}
}

// compareChunk is how many bytes commonPrefix and commonSuffix compare at
// once before narrowing down to words and bytes.
const compareChunk = 1024

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i+compareChunk <= n && bytes.Equal(a[i:i+compareChunk], b[i:i+compareChunk]) {
		i += compareChunk
	}
	for i+8 <= n && binary.LittleEndian.Uint64(a[i:]) == binary.LittleEndian.Uint64(b[i:]) {
		i += 8
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// commonSuffix returns the length of the longest common suffix of a and b.
func commonSuffix(a, b []byte) int {
	n := min(len(a), len(b))
	a, b = a[len(a)-n:], b[len(b)-n:]
	i := n // a[i:] == b[i:]
	for i >= compareChunk && bytes.Equal(a[i-compareChunk:i], b[i-compareChunk:i]) {
		i -= compareChunk
	}
	for i >= 8 && binary.LittleEndian.Uint64(a[i-8:]) == binary.LittleEndian.Uint64(b[i-8:]) {
		i -= 8
	}
	for i > 0 && a[i-1] == b[i-1] {
		i--
	}
	return n - i
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
