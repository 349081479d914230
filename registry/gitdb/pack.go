package gitdb

import (
	"bufio"
	"compress/flate"
	"container/list"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// packReader reads objects straight from pack files: the hot path of the
// history walk. go-git's reader hashes every object it inflates and copies
// it several times; with 10,000-entry trees that made a cold index of
// 100,000 commits several times slower than git itself. This reader
// inflates, resolves deltas against a byte-bounded cache of recent bases
// (the parent's tree is usually the base of the next tree), and copies
// once. Objects it can't find (loose objects) are left to go-git.
//
// Packs are mapped into memory where the system allows (Linux), as git
// maps them, and read through the mapping during a walk (between Busy and
// Idle); other reads, and every read where there is no mapping, use pread.
// The mapping's pages count in the process's resident set once read, so
// they are let go again (they stay in the page cache) every packDropEvery
// bytes read and when a walk ends. git never rewrites a pack in place: gc
// writes new ones and unlinks the old, which stay readable while mapped.
type packReader struct {
	// mu is held for reading by every read, and for writing by close, so
	// that a mapping is never unmapped under a reader.
	mu        sync.RWMutex
	packs     []*pack
	cache     *baseCache
	walkBytes int // the cache's budget during a walk
	// walking is set between Busy and Idle: reads use the mappings then.
	walking atomic.Bool
}

type pack struct {
	f    *os.File
	idx  *idxfile.MemoryIndex
	data []byte // the mapped file, or nil: read f then

	walking   *atomic.Bool // the reader's
	dropEvery int64        // see packDropEvery
	sinceDrop atomic.Int64 // bytes of data counted since its pages were dropped
}

// packDropEvery is how many bytes of a mapped pack are counted as read
// before its pages are taken out of the resident set again. In a cold
// export of 10,000 personas × 100,000 commits (a 153 MB pack) at most 29 MB
// of it were resident at a time (sampled from /proc/PID/smaps); with 2 MB,
// 8 MB were, but the walk took 8% longer (pages faulted in again) for a
// peak RSS within the runs' spread (346–351 MB against 352–361 MB). Once
// the walk stopped letting its caches go every 1,000 commits (session 7),
// 4 MB: the file-backed part of the RSS peaked at 31 MB instead of 44 MB,
// in the same time.
//
// Between walks, when a server reads an object now and then anywhere in
// the pack, reads use pread instead: a read of a few hundred bytes from the
// mapping would make resident what the kernel maps around it, 64 KB on
// Linux 6.1 and 512 KB (a large folio of the page cache) on 6.18.
const packDropEvery = 4 << 20

// mapped reports whether reads of p go through its mapping now.
func (p *pack) mapped() bool { return p.data != nil && p.walking.Load() }

// noteRead counts n bytes read from the mapping and drops its pages every
// dropEvery bytes.
func (p *pack) noteRead(n int) {
	if p.sinceDrop.Add(int64(n)) >= p.dropEvery {
		p.sinceDrop.Store(0)
		dropPages(p.data)
	}
}

// dropPages takes the pages of every mapped pack out of the resident set.
func (r *packReader) dropPages() {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, p := range r.packs {
		if p.data != nil {
			p.sinceDrop.Store(0)
			dropPages(p.data)
		}
	}
}

// The cache of resolved objects is bounded by size during a walk: a third of
// the packs' size, at least packCacheMin and at most packCacheMax (git's
// core.deltaBaseCacheLimit is 96 MB); between walks it is bounded by
// packIdleBytes, enough for the next commits (at 10,000 personas a tree is
// 430 KB), so that a server following one commit at a time does not grow it
// back to the walk's budget. Measured with a cold export: at 2,000 personas
// × 20,000 commits (a 31 MB pack) 16 MB costs the same time as 96 MB and
// 200 MB less peak memory; at 10,000 × 100,000 (160 MB), since tree buffers
// are recycled, 32 MB is as fast as 53 MB (19–21 s) with less memory, and
// 16 MB takes 10% more time.
const (
	packCacheMin  = 16 << 20
	packCacheMax  = 32 << 20
	packIdleBytes = 4 << 20
)

// packCacheBytes is the walk's cache budget for packs of this many bytes.
func packCacheBytes(packBytes int64) int {
	return int(min(max(packBytes/3, packCacheMin), packCacheMax))
}

func openPackReader(gitDir string) (*packReader, error) {
	paths, err := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "*.idx"))
	if err != nil {
		return nil, err
	}
	r := &packReader{}
	var total int64
	for _, p := range paths {
		pk, err := openPack(p)
		if err != nil {
			r.close()
			return nil, err
		}
		pk.walking = &r.walking
		r.packs = append(r.packs, pk)
		if fi, err := pk.f.Stat(); err == nil {
			total += fi.Size()
		}
	}
	r.walkBytes = packCacheBytes(total)
	r.cache = newBaseCache(packIdleBytes) // Busy raises it for a walk
	return r, nil
}

func openPack(idxPath string) (*pack, error) {
	fi, err := os.Open(idxPath)
	if err != nil {
		return nil, err
	}
	defer fi.Close()
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bufio.NewReader(fi)).Decode(idx); err != nil {
		return nil, fmt.Errorf("read %s: %w", idxPath, err)
	}
	f, err := os.Open(strings.TrimSuffix(idxPath, ".idx") + ".pack")
	if err != nil {
		return nil, err
	}
	p := &pack{f: f, idx: idx, dropEvery: packDropEvery}
	if fi, err := f.Stat(); err == nil {
		// a pack that can't be mapped is read with pread
		p.data, _ = mapFile(f, fi.Size())
	}
	return p, nil
}

// close unmaps and closes the packs; reads after it find no object.
func (r *packReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.packs {
		if p.data != nil {
			_ = unmapFile(p.data)
			p.data = nil
		}
		p.f.Close()
	}
	r.packs = nil
}

// errNotPacked says the object is in no pack (it may be loose).
var errNotPacked = errors.New("object not in a pack")

// read returns an object's type and content. The content may be shared with
// the cache: callers must not modify it. It is never recycled: callers may
// keep it as long as they like.
func (r *packReader) read(h Hash, limit int64) (plumbing.ObjectType, []byte, error) {
	it, err := r.readRef(h, limit)
	if err != nil {
		return 0, nil, err
	}
	typ, data := it.typ, it.data
	it.escape()
	return typ, data, nil
}

// readRef returns an object, referenced: its content (which must not be
// modified) stays valid until the caller releases it, then its buffer may
// be recycled.
func (r *packReader) readRef(h Hash, limit int64) (*cacheItem, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.find(h, limit)
}

// find is readRef under r.mu.
func (r *packReader) find(h Hash, limit int64) (*cacheItem, error) {
	for i, p := range r.packs {
		off, ok := findOffset(p.idx, h)
		if !ok {
			continue
		}
		if limit > 0 {
			if size, err := r.sizeAt(i, off); err == nil && size > limit {
				return nil, &SizeError{Size: size, Limit: limit}
			}
		}
		return r.readAt(i, off, 0)
	}
	return nil, errNotPacked
}

// sizeAt returns the inflated size of the object at an offset, reading only
// headers (for a delta, the result size recorded in the delta).
func (r *packReader) sizeAt(i int, off int64) (int64, error) {
	p := r.packs[i]
	e := getEntryReader(p, off)
	defer putEntryReader(p, e)
	br := e.r
	typ, size, err := readObjectHeader(br)
	if err != nil {
		return 0, err
	}
	switch typ {
	case plumbing.OFSDeltaObject:
		if _, err := readOffset(br); err != nil {
			return 0, err
		}
	case plumbing.REFDeltaObject:
		var base Hash
		if _, err := io.ReadFull(br, base[:]); err != nil {
			return 0, err
		}
	default:
		return size, nil
	}
	zr, err := getZlib(br)
	if err != nil {
		return 0, err
	}
	defer putZlib(zr)
	// the delta starts with two varints (source and result size), at most
	// ten bytes each
	var hdr [20]byte
	n, err := io.ReadFull(zr, hdr[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, err
	}
	_, rest, ok := deltaSize(hdr[:n])
	if !ok {
		return 0, errBadDelta
	}
	dst, _, ok := deltaSize(rest)
	if !ok {
		return 0, errBadDelta
	}
	return int64(dst), nil
}

const maxDeltaDepth = 10_000

// testHookDelta, if set, runs before each delta is applied (tests evict the
// base there, as a concurrent reader may).
var testHookDelta func(*baseCache)

// readAt resolves the object at an offset of pack i. The object is
// referenced: the caller releases it.
func (r *packReader) readAt(i int, off int64, depth int) (*cacheItem, error) {
	key := baseKey{i, off}
	if it := r.cache.get(key); it != nil {
		return it, nil
	}
	if depth > maxDeltaDepth {
		return nil, errors.New("delta chain too long")
	}
	p := r.packs[i]
	e := getEntryReader(p, off)
	defer putEntryReader(p, e)
	br := e.r
	typ, size, err := readObjectHeader(br)
	if err != nil {
		return nil, fmt.Errorf("pack object at %d: %w", off, err)
	}
	// base is referenced while the delta is applied: another reader may
	// evict it from the cache meanwhile
	var base *cacheItem
	switch typ {
	case plumbing.OFSDeltaObject:
		rel, err := readOffset(br)
		if err != nil {
			return nil, err
		}
		if base, err = r.readAt(i, off-rel, depth+1); err != nil {
			return nil, err
		}
	case plumbing.REFDeltaObject:
		var bh Hash
		if _, err := io.ReadFull(br, bh[:]); err != nil {
			return nil, err
		}
		if base, err = r.find(bh, 0); err != nil {
			return nil, err
		}
	}
	var buf *[]byte
	var pooled bool
	if base == nil {
		buf, pooled = getBig(int(size))
		if err := inflate(br, *buf); err != nil {
			r.cache.discard(buf, pooled)
			return nil, fmt.Errorf("inflate pack object at %d: %w", off, err)
		}
	} else {
		// the delta itself is garbage once applied: inflate it into a
		// reused buffer
		scratch := getScratch(size)
		err := inflate(br, *scratch)
		if err == nil {
			_, dst, ok := deltaSizes(*scratch)
			if !ok {
				err = errBadDelta
			} else {
				if testHookDelta != nil {
					testHookDelta(r.cache)
				}
				buf, pooled = getBig(dst)
				if err = applyDeltaTo(*buf, base.data, *scratch); err != nil {
					r.cache.discard(buf, pooled)
				}
			}
		}
		putScratch(scratch)
		typ = base.typ
		base.release()
		if err != nil {
			return nil, fmt.Errorf("apply delta at %d: %w", off, err)
		}
	}
	it := &cacheItem{key: key, typ: typ, data: *buf}
	if pooled {
		it.buf = buf
	}
	return r.cache.put(it), nil
}

// readObjectHeader reads the type and inflated size of a pack entry.
func readObjectHeader(br io.ByteReader) (plumbing.ObjectType, int64, error) {
	b, err := br.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	typ := plumbing.ObjectType((b >> 4) & 7)
	size := int64(b & 15)
	for shift := 4; b&0x80 != 0; shift += 7 {
		if b, err = br.ReadByte(); err != nil {
			return 0, 0, err
		}
		size |= int64(b&0x7f) << shift
	}
	return typ, size, nil
}

// readOffset reads the base offset of an OFS_DELTA entry.
func readOffset(br io.ByteReader) (int64, error) {
	b, err := br.ReadByte()
	if err != nil {
		return 0, err
	}
	off := int64(b & 0x7f)
	for b&0x80 != 0 {
		if b, err = br.ReadByte(); err != nil {
			return 0, err
		}
		off = ((off + 1) << 7) | int64(b&0x7f)
	}
	return off, nil
}

// inflate fills out from the zlib stream at the start of r.
func inflate(r flate.Reader, out []byte) error {
	zr, err := getZlib(r)
	if err != nil {
		return err
	}
	defer putZlib(zr)
	_, err = io.ReadFull(zr, out)
	return err
}

// baseCache is an LRU of resolved pack objects, bounded by total bytes. It
// is safe for concurrent use.
//
// Its items are reference counted so that their buffers can be recycled
// (getBig, putBig): get and put hand out a reference, which the caller
// gives back with release. An item's buffer returns to its pool when the
// item is out of the cache (evicted, or never admitted) and unreferenced,
// whichever happens last; an escaped item's never does (its content was
// handed out without a reference: see packReader.read).
type baseCache struct {
	mu        sync.Mutex
	max, size int
	ll        *list.List
	m         map[baseKey]*list.Element
	recycle   func(*[]byte) // putBig; tests watch it
	held      int           // references handed out and not released
}

type baseKey struct {
	pack int
	off  int64
}

// cacheItem is a resolved object. typ and data don't change; the other
// fields are guarded by the cache's mutex.
type cacheItem struct {
	key     baseKey
	typ     plumbing.ObjectType
	data    []byte
	buf     *[]byte // data's pooled buffer, nil if not pooled
	c       *baseCache
	refs    int
	cached  bool // in c's list and map
	escaped bool
}

func newBaseCache(max int) *baseCache {
	return &baseCache{max: max, ll: list.New(), m: map[baseKey]*list.Element{}, recycle: putBig}
}

// setMax bounds the cache by max bytes from now on, evicting the least
// recently used objects down to it.
func (c *baseCache) setMax(max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max = max
	c.shrinkLocked(max)
}

// shrink evicts the least recently used objects down to max bytes, leaving
// the bound as it is.
func (c *baseCache) shrink(max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shrinkLocked(max)
}

func (c *baseCache) shrinkLocked(max int) {
	for c.size > max {
		last := c.ll.Back()
		it := last.Value.(*cacheItem)
		c.ll.Remove(last)
		delete(c.m, it.key)
		c.size -= len(it.data)
		it.cached = false
		c.freeLocked(it)
	}
}

// freeLocked recycles it's buffer if nothing can reach it any more.
func (c *baseCache) freeLocked(it *cacheItem) {
	if it.refs == 0 && !it.cached && !it.escaped && it.buf != nil {
		b := it.buf
		it.buf, it.data = nil, nil
		c.recycle(b)
	}
}

// get returns the object at k, referenced, or nil.
func (c *baseCache) get(k baseKey) *cacheItem {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.ll.MoveToFront(e)
		it := e.Value.(*cacheItem)
		it.refs++
		c.held++
		return it
	}
	return nil
}

// put adds a new, unreferenced item (unless it is too large) and returns
// it referenced; or, when another reader resolved the same object first,
// recycles it and returns that reader's, referenced.
func (c *baseCache) put(it *cacheItem) *cacheItem {
	c.mu.Lock()
	defer c.mu.Unlock()
	it.c = c
	if e, ok := c.m[it.key]; ok {
		c.freeLocked(it)
		it = e.Value.(*cacheItem)
		c.ll.MoveToFront(e)
		it.refs++
		c.held++
		return it
	}
	it.refs++
	c.held++
	if len(it.data) <= c.max/4 {
		c.m[it.key] = c.ll.PushFront(it)
		it.cached = true
		c.size += len(it.data)
		c.shrinkLocked(c.max)
	}
	return it
}

// release gives back a reference from get, put or packReader.readRef.
func (c *baseCache) release(it *cacheItem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it.refs <= 0 {
		panic("gitdb: cache item released more often than referenced")
	}
	it.refs--
	c.held--
	c.freeLocked(it)
}

// discard recycles a buffer from getBig that was never shared.
func (c *baseCache) discard(b *[]byte, pooled bool) {
	if pooled {
		c.recycle(b)
	}
}

// release gives back the caller's reference to it.
func (it *cacheItem) release() { it.c.release(it) }

// escape marks it as handed out for good (its buffer is never recycled) and
// gives back the caller's reference.
func (it *cacheItem) escape() {
	it.c.mu.Lock()
	it.escaped = true
	it.c.mu.Unlock()
	it.release()
}
