package gitdb

import (
	"bufio"
	"container/list"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

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
type packReader struct {
	packs     []*pack
	cache     *baseCache
	walkBytes int // the cache's budget during a walk
}

type pack struct {
	f   *os.File
	idx *idxfile.MemoryIndex
}

// The cache of resolved objects is bounded by size during a walk: a third of
// the packs' size, at least packCacheMin and at most packCacheMax (git's
// core.deltaBaseCacheLimit is 96 MB); between walks it is bounded by
// packIdleBytes, enough for the next commits (at 10,000 personas a tree is
// 430 KB), so that a server following one commit at a time does not grow it
// back to the walk's budget. Measured with a cold export:
// at 2,000 personas × 20,000 commits (a 31 MB pack) 16 MB costs the same
// time as 96 MB and 200 MB less peak memory; at 10,000 × 100,000 (160 MB)
// 48 MB cost the same as 96 MB while 32 MB took 1.5× the CPU (the 530 KB
// trees are evicted before the deltas based on them are read).
const (
	packCacheMin  = 16 << 20
	packCacheMax  = 96 << 20
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
		r.packs = append(r.packs, pk)
		if fi, err := pk.f.Stat(); err == nil {
			total += fi.Size()
		}
	}
	r.walkBytes = packCacheBytes(total)
	r.cache = newBaseCache(r.walkBytes)
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
	return &pack{f: f, idx: idx}, nil
}

func (r *packReader) close() {
	for _, p := range r.packs {
		p.f.Close()
	}
	r.packs = nil
}

// errNotPacked says the object is in no pack (it may be loose).
var errNotPacked = errors.New("object not in a pack")

// read returns an object's type and content. The content may be shared with
// the cache: callers must not modify it.
func (r *packReader) read(h Hash, limit int64) (plumbing.ObjectType, []byte, error) {
	for i, p := range r.packs {
		off, ok := findOffset(p.idx, h)
		if !ok {
			continue
		}
		if limit > 0 {
			if size, err := r.sizeAt(i, off); err == nil && size > limit {
				return 0, nil, &SizeError{Size: size, Limit: limit}
			}
		}
		return r.readAt(i, off, 0)
	}
	return 0, nil, errNotPacked
}

// sizeAt returns the inflated size of the object at an offset, reading only
// headers (for a delta, the result size recorded in the delta).
func (r *packReader) sizeAt(i int, off int64) (int64, error) {
	br := getReader(r.packs[i].f, off)
	defer putReader(br)
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
		if _, err := br.Discard(20); err != nil {
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

// readAt resolves the object at an offset of pack i.
func (r *packReader) readAt(i int, off int64, depth int) (plumbing.ObjectType, []byte, error) {
	key := baseKey{i, off}
	if e, ok := r.cache.get(key); ok {
		return e.typ, e.data, nil
	}
	if depth > maxDeltaDepth {
		return 0, nil, errors.New("delta chain too long")
	}
	br := getReader(r.packs[i].f, off)
	defer putReader(br)
	typ, size, err := readObjectHeader(br)
	if err != nil {
		return 0, nil, fmt.Errorf("pack object at %d: %w", off, err)
	}
	var baseTyp plumbing.ObjectType
	var base []byte
	switch typ {
	case plumbing.OFSDeltaObject:
		rel, err := readOffset(br)
		if err != nil {
			return 0, nil, err
		}
		baseTyp, base, err = r.readAt(i, off-rel, depth+1)
		if err != nil {
			return 0, nil, err
		}
	case plumbing.REFDeltaObject:
		var bh Hash
		if _, err := io.ReadFull(br, bh[:]); err != nil {
			return 0, nil, err
		}
		baseTyp, base, err = r.read(bh, 0)
		if err != nil {
			return 0, nil, err
		}
	}
	var data []byte
	if base == nil {
		data = make([]byte, size)
		if err := inflate(br, data); err != nil {
			return 0, nil, fmt.Errorf("inflate pack object at %d: %w", off, err)
		}
	} else {
		// the delta itself is garbage once applied: inflate it into a
		// reused buffer
		scratch := getScratch(size)
		err := inflate(br, *scratch)
		if err == nil {
			data, err = applyDelta(base, *scratch)
		}
		putScratch(scratch)
		if err != nil {
			return 0, nil, fmt.Errorf("apply delta at %d: %w", off, err)
		}
		typ = baseTyp
	}
	r.cache.put(key, cacheEntry{typ: typ, data: data})
	return typ, data, nil
}

// readObjectHeader reads the type and inflated size of a pack entry.
func readObjectHeader(br *bufio.Reader) (plumbing.ObjectType, int64, error) {
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
func readOffset(br *bufio.Reader) (int64, error) {
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
func inflate(r *bufio.Reader, out []byte) error {
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
type baseCache struct {
	mu        sync.Mutex
	max, size int
	ll        *list.List
	m         map[baseKey]*list.Element
}

type baseKey struct {
	pack int
	off  int64
}

type cacheEntry struct {
	typ  plumbing.ObjectType
	data []byte
}

type cacheItem struct {
	key baseKey
	cacheEntry
}

func newBaseCache(max int) *baseCache {
	return &baseCache{max: max, ll: list.New(), m: map[baseKey]*list.Element{}}
}

// setMax bounds the cache by max bytes from now on, evicting the least
// recently used objects down to it.
func (c *baseCache) setMax(max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max = max
	c.shrinkLocked(max)
}

func (c *baseCache) shrinkLocked(max int) {
	for c.size > max {
		last := c.ll.Back()
		it := last.Value.(*cacheItem)
		c.ll.Remove(last)
		delete(c.m, it.key)
		c.size -= len(it.data)
	}
}

func (c *baseCache) get(k baseKey) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cacheItem).cacheEntry, true
	}
	return cacheEntry{}, false
}

func (c *baseCache) put(k baseKey, v cacheEntry) {
	if len(v.data) > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return // another reader resolved it too
	}
	c.m[k] = c.ll.PushFront(&cacheItem{key: k, cacheEntry: v})
	c.size += len(v.data)
	c.shrinkLocked(c.max)
}
