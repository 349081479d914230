package registry

import (
	"sync"
	"unsafe"
)

// A history walk allocates the index's lasting objects (versions and their
// texts) among many times their size of garbage (parsed files, tree
// changes). Allocated one by one they end up scattered over memory the
// garbage leaves mostly empty, and Go never moves an object: at 10,000
// personas × 100,000 commits that was 40 MB of heap in use but free. Lasting
// objects are therefore allocated in chunks, side by side.

// slabLen is how many values a slab chunk holds.
const slabLen = 128

// slab allocates values of T in chunks of slabLen. A chunk lives as long as
// any of its values. Safe for concurrent use.
type slab[T any] struct {
	mu    sync.Mutex
	chunk []T
}

// new returns a pointer to a zero T.
func (s *slab[T]) new() *T {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.chunk) == 0 {
		s.chunk = make([]T, slabLen)
	}
	p := &s.chunk[0]
	s.chunk = s.chunk[1:]
	return p
}

var versionSlab slab[Version]

// newVersion returns a copy of v allocated next to the other versions.
func newVersion(v Version) *Version {
	p := versionSlab.new()
	*p = v
	return p
}

// textArenaChunk is the size of the byte chunks lasting texts are copied to;
// a text larger than textArenaMax keeps its own allocation.
const (
	textArenaChunk = 64 << 10
	textArenaMax   = 1 << 10
)

// textArena holds the encodings of lasting texts side by side. The bytes it
// hands out are never written again.
type textArena struct {
	mu  sync.Mutex
	buf []byte
}

var versionTexts textArena

// lasting returns t with its encoding copied to the arena.
func (a *textArena) lasting(t Text) Text {
	n := len(t.enc)
	if n == 0 || n > textArenaMax {
		return t
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, textArenaChunk)
	}
	start := len(a.buf)
	a.buf = append(a.buf, t.enc...)
	return Text{enc: unsafe.String(&a.buf[start], n)}
}
