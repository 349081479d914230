package repogen

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// This file writes a history straight into a git pack and its index,
// without git fast-import. fast-import re-sorts, re-hashes (with the slower
// collision-detecting SHA-1) and re-deltas the whole persona directory tree
// on every commit; with 10,000 files in one directory and 100,000 commits
// that took 14.5 minutes on 2 cores. Here the trees are kept sorted and
// serialized incrementally, their hashes resume from checkpoints, tree
// deltas are made from what changed, and a second goroutine compresses and
// writes: about a minute.
// The objects are the ones fast-import makes from Generate's stream, so the
// commit ids are the same (the tests check it).

// git's object type numbers
const (
	typeCommit   = 1
	typeTree     = 2
	typeBlob     = 3
	typeOfsDelta = 6
)

// maxDepth bounds delta chains like git's default pack.depth.
const maxDepth = 50

// deltaRadix is the length of each of the three levels of delta chains of a
// tree: version v is a delta of v-1, of v-17 or of v-289 depending on how
// many of its lowest base-17 digits are zero, and is stored whole every
// 17³ versions; chains are at most 3×16 = 48 deep.
const deltaRadix = 17

type objInfo struct {
	off int64
	crc uint32
}

// packJob is one object for the pack-writing goroutine.
type packJob struct {
	id      [20]byte
	typ     int
	data    []byte
	base    [20]byte
	hasBase bool
}

// packWriter writes a pack file and then its version 2 index. The caller's
// goroutine hashes objects and decides what to write; a second goroutine
// compresses and writes them, in order.
type packWriter struct {
	f     *os.File
	depth map[[20]byte]int // objects written or queued, with their delta depth
	sha   hash.Hash
	jobs  chan packJob
	done  chan struct{}

	// owned by the writing goroutine until done is closed
	w    *bufio.Writer
	off  int64
	objs map[[20]byte]objInfo
	err  error

	failed atomic.Bool // err is set
}

func newPackWriter(f *os.File) (*packWriter, error) {
	pw := &packWriter{
		f:     f,
		depth: map[[20]byte]int{},
		sha:   sha1.New(),
		jobs:  make(chan packJob, 4096),
		done:  make(chan struct{}),
		w:     bufio.NewWriterSize(f, 1<<20),
		objs:  map[[20]byte]objInfo{},
	}
	zw, err := zlib.NewWriterLevel(io.Discard, zlib.BestSpeed)
	if err != nil {
		return nil, err
	}
	// header; the object count is patched in at the end
	_, err = pw.w.Write([]byte{'P', 'A', 'C', 'K', 0, 0, 0, 2, 0, 0, 0, 0})
	pw.off = 12
	go pw.run(zw)
	return pw, err
}

// objectID returns the id of an object of type name ("blob", "tree", "commit").
func (pw *packWriter) objectID(name string, body []byte) [20]byte {
	h := pw.sha
	h.Reset()
	h.Write(objHeader(name, len(body)))
	h.Write(body)
	var id [20]byte
	h.Sum(id[:0])
	return id
}

func objHeader(name string, size int) []byte {
	b := make([]byte, 0, 32)
	b = append(b, name...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(size), 10)
	return append(b, 0)
}

// has says whether the pack has (or will have) the object id.
func (pw *packWriter) has(id [20]byte) bool {
	_, ok := pw.depth[id]
	return ok
}

// add queues an object (whole when base is nil, else data is a delta
// against base) unless the pack has it. data must not change afterwards.
func (pw *packWriter) add(id [20]byte, typ int, data []byte, base *[20]byte) {
	if pw.has(id) {
		return
	}
	j := packJob{id: id, typ: typ, data: data}
	d := 0
	if base != nil {
		j.base, j.hasBase = *base, true
		d = pw.depth[*base] + 1
	}
	pw.depth[id] = d
	pw.jobs <- j
}

// run compresses and writes the queued objects.
func (pw *packWriter) run(zw *zlib.Writer) {
	defer close(pw.done)
	var zbuf bytes.Buffer
	var h []byte
	crc := crc32.NewIEEE()
	for j := range pw.jobs {
		if pw.err != nil {
			continue // drain
		}
		zbuf.Reset()
		zw.Reset(&zbuf)
		zw.Write(j.data)
		if err := zw.Close(); err != nil {
			pw.err = err
			pw.failed.Store(true)
			continue
		}
		h = h[:0]
		if j.hasBase {
			h = appendObjHeader(h, typeOfsDelta, len(j.data))
			h = appendOfs(h, pw.off-pw.objs[j.base].off)
		} else {
			h = appendObjHeader(h, j.typ, len(j.data))
		}
		crc.Reset()
		crc.Write(h)
		crc.Write(zbuf.Bytes())
		pw.objs[j.id] = objInfo{off: pw.off, crc: crc.Sum32()}
		pw.w.Write(h)
		if _, err := pw.w.Write(zbuf.Bytes()); err != nil {
			pw.err = err
			pw.failed.Store(true)
		}
		pw.off += int64(len(h) + zbuf.Len())
	}
}

// close stops the writing goroutine; the pack is left unfinished.
func (pw *packWriter) close() error {
	if pw.jobs != nil {
		close(pw.jobs)
		<-pw.done
		pw.jobs = nil
	}
	return pw.err
}

func appendObjHeader(b []byte, typ, size int) []byte {
	c := byte(typ<<4) | byte(size&15)
	size >>= 4
	for size > 0 {
		b = append(b, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(b, c)
}

// appendOfs appends the negative offset of an OFS_DELTA base.
func appendOfs(b []byte, rel int64) []byte {
	var tmp [16]byte
	pos := len(tmp) - 1
	tmp[pos] = byte(rel & 127)
	for rel >>= 7; rel > 0; rel >>= 7 {
		rel--
		pos--
		tmp[pos] = 128 | byte(rel&127)
	}
	return append(b, tmp[pos:]...)
}

// finish completes the pack (count, checksum), renames it to
// dir/pack-<checksum>.pack and writes its index.
func (pw *packWriter) finish(dir string) error {
	if err := pw.close(); err != nil {
		return err
	}
	if err := pw.w.Flush(); err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(pw.objs)))
	if _, err := pw.f.WriteAt(n[:], 8); err != nil {
		return err
	}
	if _, err := pw.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	h := sha1.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(pw.f, 1<<20)); err != nil {
		return err
	}
	sum := h.Sum(nil)
	if _, err := pw.f.Write(sum); err != nil {
		return err
	}
	if err := pw.f.Sync(); err != nil {
		return err
	}
	tmp := pw.f.Name()
	if err := pw.f.Close(); err != nil {
		return err
	}
	base := filepath.Join(dir, "pack-"+hex.EncodeToString(sum))
	if err := pw.writeIndex(base+".idx", sum); err != nil {
		return err
	}
	return os.Rename(tmp, base+".pack")
}

func (pw *packWriter) writeIndex(name string, packSum []byte) error {
	ids := make([][20]byte, 0, len(pw.objs))
	for id := range pw.objs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b [20]byte) int { return bytes.Compare(a[:], b[:]) })
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha1.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	u32 := func(v uint32) { binary.Write(w, binary.BigEndian, v) }
	w.Write([]byte{0xff, 't', 'O', 'c'})
	u32(2)
	var fan [256]uint32
	for _, id := range ids {
		fan[id[0]]++
	}
	total := uint32(0)
	for i := range fan {
		total += fan[i]
		u32(total)
	}
	for _, id := range ids {
		w.Write(id[:])
	}
	for _, id := range ids {
		u32(pw.objs[id].crc)
	}
	var large []int64
	for _, id := range ids {
		off := pw.objs[id].off
		if off < 1<<31 {
			u32(uint32(off))
		} else {
			u32(1<<31 | uint32(len(large)))
			large = append(large, off)
		}
	}
	for _, off := range large {
		binary.Write(w, binary.BigEndian, uint64(off))
	}
	w.Write(packSum)
	if err := w.Flush(); err != nil {
		return err
	}
	if _, err := f.Write(h.Sum(nil)); err != nil {
		return err
	}
	return f.Close()
}

// ---- trees ----

// tentry is one immutable tree entry; a change makes a new one.
type tentry struct {
	key string // name, with "/" appended for a directory: git's sort key
	id  [20]byte
	sub *tnode // the directory, nil for a file
	raw []byte // "mode name\0<20-byte id>"
}

func newEntry(name string, id [20]byte, sub *tnode) *tentry {
	mode := "100644 "
	key := name
	if sub != nil {
		mode, key = "40000 ", name+"/"
	}
	raw := make([]byte, 0, len(mode)+len(name)+21)
	raw = append(append(append(append(raw, mode...), name...), 0), id[:]...)
	return &tentry{key: key, id: id, sub: sub, raw: raw}
}

func (e *tentry) name() string { return strings.TrimSuffix(e.key, "/") }

// snapshot is a stored version of a tree: the base of later deltas.
type snapshot struct {
	entries []*tentry
	id      [20]byte
	size    int
	ok      bool
}

type tnode struct {
	entries []*tentry // sorted by key
	dirty   bool      // entries or a subtree changed since stored
	stored  bool
	id      [20]byte
	version int
	snaps   [3]snapshot // [k]: the last version whose k lowest base-17 digits are zero

	// the serialized tree is kept between versions, and rewritten from the
	// first changed entry on; when its length stays the same (files changed,
	// none added, removed or renamed), its hash resumes from a checkpoint.
	body      []byte
	offs      []int    // offset of each entry in body
	from      int      // lowest index of a changed entry, len(entries) or more when none
	ckpt      [][]byte // hash state after the header and body[:k*ckptSize]
	hashedLen int      // length of body the checkpoints are for, -1 for none
}

// ckptSize is the distance between hash checkpoints in a tree's body.
const ckptSize = 8 << 10

func newNode() *tnode { return &tnode{hashedLen: -1} }

// changed notes that entry i (and maybe the ones after it) changed.
func (n *tnode) changed(i int) {
	n.from = min(n.from, i)
	n.dirty = true
}

// find returns the index of key in n, or where to insert it.
func (n *tnode) find(key string) (int, bool) {
	return slices.BinarySearchFunc(n.entries, key, func(e *tentry, k string) int { return strings.Compare(e.key, k) })
}

// packSink builds the objects of the commits it receives in a pack. It
// keeps one tree, changed in stream order: it relies on the generator's
// merges, whose side branch starts at main's tip and whose merge commit
// re-writes the side branch's last content, so that the merge's tree is the
// tree of the side branch's tip.
type packSink struct {
	pw    *packWriter
	root  *tnode
	marks [][20]byte // commit id by mark
	last  [20]byte   // last commit written
	body  []byte
	delta []byte
	err   error
}

func newPackSink(pw *packWriter) *packSink {
	return &packSink{pw: pw, root: newNode(), marks: [][20]byte{{}}}
}

func (s *packSink) commit(c *rawCommit) error {
	for _, op := range c.ops {
		s.apply(op)
	}
	tree := s.storeTree(s.root)
	b := s.body[:0]
	b = append(b, "tree "...)
	b = hex.AppendEncode(b, tree[:])
	b = append(b, '\n')
	parent := s.last
	if c.from > 0 {
		parent = s.marks[c.from]
	}
	if parent != ([20]byte{}) {
		b = append(b, "parent "...)
		b = hex.AppendEncode(b, parent[:])
		b = append(b, '\n')
	}
	if c.merge > 0 {
		b = append(b, "parent "...)
		b = hex.AppendEncode(b, s.marks[c.merge][:])
		b = append(b, '\n')
	}
	b = append(b, "author "...)
	b = append(b, c.who...)
	b = append(b, "\ncommitter "...)
	b = append(b, c.who...)
	b = append(b, "\n\n"...)
	b = append(b, c.msg...)
	s.body = b
	id := s.pw.objectID("commit", b)
	s.pw.add(id, typeCommit, bytes.Clone(b), nil)
	for len(s.marks) <= c.mark {
		s.marks = append(s.marks, [20]byte{})
	}
	s.marks[c.mark] = id
	s.last = id
	if s.pw.failed.Load() {
		return errors.New("writing the pack failed")
	}
	return nil
}

func (s *packSink) finish() error { return nil }

// apply changes the tree by one M or D.
func (s *packSink) apply(op fileOp) {
	parts := strings.Split(op.path, "/")
	n := s.root
	var path []*tnode
	for _, dir := range parts[:len(parts)-1] {
		path = append(path, n)
		i, ok := n.find(dir + "/")
		if !ok {
			if op.data == nil {
				return // deleting what is not there
			}
			n.entries = slices.Insert(n.entries, i, newEntry(dir, [20]byte{}, newNode()))
			n.changed(i)
		}
		n = n.entries[i].sub
	}
	file := parts[len(parts)-1]
	i, ok := n.find(file)
	if op.data == nil {
		if !ok {
			return
		}
		n.entries = slices.Delete(n.entries, i, i+1)
	} else {
		id := s.pw.objectID("blob", op.data)
		s.pw.add(id, typeBlob, op.data, nil)
		switch {
		case ok && n.entries[i].id == id:
			return
		case ok:
			n.entries[i] = newEntry(file, id, nil)
		default:
			n.entries = slices.Insert(n.entries, i, newEntry(file, id, nil))
		}
	}
	n.changed(i)
	for _, t := range path {
		t.dirty = true
	}
}

// storeTree writes n and its changed subtrees and returns n's id.
func (s *packSink) storeTree(n *tnode) [20]byte {
	if !n.dirty && n.stored {
		return n.id
	}
	n.dirty = false
	for i := 0; i < len(n.entries); i++ {
		e := n.entries[i]
		if e.sub == nil || (!e.sub.dirty && e.sub.stored) {
			continue
		}
		if len(e.sub.entries) == 0 { // git has no empty directories
			n.entries = slices.Delete(n.entries, i, i+1)
			n.changed(i)
			i--
			continue
		}
		if id := s.storeTree(e.sub); id != e.id {
			n.entries[i] = newEntry(e.name(), id, e.sub)
			n.changed(i)
		}
	}
	id := s.serialize(n)
	if n.stored && id == n.id {
		return id
	}
	n.id, n.stored = id, true
	if s.pw.has(id) {
		// An earlier version came back (a file restored as it was): it
		// is in the pack already, maybe deep in a chain; the next version
		// is a delta of the last one stored here instead.
		return id
	}
	// k: how many of the lowest base-17 digits of the version are zero
	k := 0
	for v := n.version; k < 3 && v%deltaRadix == 0; v /= deltaRadix {
		k++
	}
	body := n.body
	if k < 3 && n.snaps[k].ok && len(body) >= 1024 && s.pw.depth[n.snaps[k].id] < maxDepth {
		base := &n.snaps[k]
		s.pw.add(id, typeTree, treeDelta(nil, base.entries, base.size, n.entries, len(body)), &base.id)
	} else {
		s.pw.add(id, typeTree, bytes.Clone(body), nil)
	}
	s.takeSnapshots(n, min(k, 2))
	n.version++
	return id
}

// saveState returns the marshaled state of a SHA-1 hash.
func saveState(h hash.Hash) []byte {
	b, err := h.(encoding.BinaryAppender).AppendBinary(nil)
	if err != nil {
		panic(err) // crypto/sha1 can always marshal
	}
	return b
}

// serialize brings n.body up to date with n.entries and returns its id.
func (s *packSink) serialize(n *tnode) [20]byte {
	from := min(n.from, len(n.entries))
	start := len(n.body)
	if from < len(n.offs) {
		start = n.offs[from]
	}
	body, offs := n.body[:start], n.offs[:from]
	for _, e := range n.entries[from:] {
		offs = append(offs, len(body))
		body = append(body, e.raw...)
	}
	n.body, n.offs, n.from = body, offs, len(n.entries)

	h := s.pw.sha
	k := 0
	if len(body) == n.hashedLen {
		k = start / ckptSize
	} else {
		h.Reset()
		h.Write(objHeader("tree", len(body)))
		n.ckpt = n.ckpt[:0]
		n.ckpt = append(n.ckpt, saveState(h))
	}
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(n.ckpt[k]); err != nil {
		panic(err) // a state this hash marshaled
	}
	n.ckpt = n.ckpt[:k+1]
	for off := k * ckptSize; off < len(body); off += ckptSize {
		end := min(off+ckptSize, len(body))
		h.Write(body[off:end])
		if end == off+ckptSize {
			n.ckpt = append(n.ckpt, saveState(h))
		}
	}
	n.hashedLen = len(body)
	var id [20]byte
	h.Sum(id[:0])
	return id
}

// takeSnapshots makes the current version of n the base of levels 0..k.
func (s *packSink) takeSnapshots(n *tnode, k int) {
	for j := 0; j <= k; j++ {
		sn := &n.snaps[j]
		sn.entries = append(sn.entries[:0], n.entries...)
		sn.id, sn.size, sn.ok = n.id, len(n.body), true
	}
}

// treeDelta appends to dst a git delta that makes the tree target (size
// bytes) from the tree base (baseSize bytes). Entries are immutable, so the
// ones both share are the same pointers.
func treeDelta(dst []byte, base []*tentry, baseSize int, target []*tentry, size int) []byte {
	dst = appendVarint(dst, uint64(baseSize))
	dst = appendVarint(dst, uint64(size))
	var ins []byte
	copyOff, copyLen := 0, 0
	flushCopy := func() {
		for copyLen > 0 {
			n := min(copyLen, 0xffffff)
			dst = appendCopy(dst, copyOff, n)
			copyOff += n
			copyLen -= n
		}
	}
	flushIns := func() {
		for len(ins) > 0 {
			n := min(len(ins), 127)
			dst = append(dst, byte(n))
			dst = append(dst, ins[:n]...)
			ins = ins[n:]
		}
	}
	i, j, off := 0, 0, 0
	for j < len(target) {
		t := target[j]
		for i < len(base) && base[i] != t && base[i].key < t.key { // gone
			off += len(base[i].raw)
			i++
		}
		if i < len(base) && base[i] == t { // a run of shared entries
			flushIns()
			start := off
			for ; i < len(base) && j < len(target) && base[i] == target[j]; i, j = i+1, j+1 {
				off += len(base[i].raw)
			}
			if copyLen == 0 || copyOff+copyLen != start {
				flushCopy()
				copyOff = start
			}
			copyLen += off - start
			continue
		}
		if i < len(base) && base[i].key == t.key { // changed
			off += len(base[i].raw)
			i++
		}
		flushCopy()
		ins = append(ins, t.raw...)
		j++
	}
	flushCopy()
	flushIns()
	return dst
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendCopy(b []byte, off, size int) []byte {
	at := len(b)
	b = append(b, 0x80)
	for i := 0; i < 4; i++ {
		if x := byte(off >> (8 * i)); x != 0 {
			b[at] |= 1 << i
			b = append(b, x)
		}
	}
	for i := 0; i < 3; i++ {
		if x := byte(size >> (8 * i)); x != 0 {
			b[at] |= 0x10 << i
			b = append(b, x)
		}
	}
	return b
}

// writePack generates the history of cfg into a pack in the bare
// repository dir and returns the id of main's last commit.
func writePack(dir string, cfg Config, record bool) (*History, [20]byte, error) {
	cfg = cfg.Defaults()
	if err := cfg.validate(); err != nil {
		return nil, [20]byte{}, err
	}
	packDir := filepath.Join(dir, "objects", "pack")
	if err := os.MkdirAll(packDir, 0o777); err != nil {
		return nil, [20]byte{}, err
	}
	f, err := os.CreateTemp(packDir, "tmp_pack_repogen_")
	if err != nil {
		return nil, [20]byte{}, err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name()) // gone after the rename anyway
	}()
	pw, err := newPackWriter(f)
	if err != nil {
		return nil, [20]byte{}, err
	}
	s := newPackSink(pw)
	g := newGenerator(s, cfg, record)
	g.run()
	if err := pw.close(); err != nil {
		return nil, [20]byte{}, fmt.Errorf("repogen: write pack: %w", err)
	}
	if g.err != nil {
		return nil, [20]byte{}, g.err
	}
	if s.last == ([20]byte{}) {
		return nil, [20]byte{}, errors.New("repogen: no commit")
	}
	if err := pw.finish(packDir); err != nil {
		return nil, [20]byte{}, fmt.Errorf("repogen: write pack: %w", err)
	}
	return g.history(), s.last, nil
}
