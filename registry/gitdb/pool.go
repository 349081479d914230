package gitdb

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"io"
	"math/bits"
	"sync"
)

// Reading an object costs a zlib reader (a 32 KB window and Huffman tables)
// and a read buffer; made anew per object they were most of a history
// walk's allocations. These pools reuse them.

var (
	zlibPool   sync.Pool // of io.ReadCloser that are zlib.Resetter
	scratchMax = 1 << 20 // scratch buffers larger than this are not kept
	scratches  sync.Pool // of *[]byte
)

// getZlib returns a zlib reader of the stream at the start of r.
func getZlib(r io.Reader) (io.ReadCloser, error) {
	if zr, ok := zlibPool.Get().(io.ReadCloser); ok {
		if err := zr.(zlib.Resetter).Reset(r, nil); err != nil {
			zlibPool.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return zlib.NewReader(r)
}

func putZlib(zr io.ReadCloser) { zlibPool.Put(zr) }

// entryReader reads one pack entry from its first byte: straight from
// the pack's mapping when it has one, else through a buffer filled by pread.
type entryReader struct {
	mapped bytes.Reader
	file   *bufio.Reader
	r      flate.Reader // &mapped or file
	start  int          // bytes of the mapping left at the entry's start
}

var entryReaders = sync.Pool{New: func() any { return new(entryReader) }}

// getEntryReader returns a reader of the pack from offset off.
func getEntryReader(p *pack, off int64) *entryReader {
	e := entryReaders.Get().(*entryReader)
	if p.mapped() && off >= 0 && off < int64(len(p.data)) {
		e.mapped.Reset(p.data[off:])
		e.start = e.mapped.Len()
		e.r = &e.mapped
		return e
	}
	if e.file == nil {
		e.file = bufio.NewReaderSize(nil, 4096)
	}
	e.file.Reset(io.NewSectionReader(p.f, off, 1<<62))
	e.r = e.file
	return e
}

// putEntryReader gives back a reader from getEntryReader and tells the pack
// how much of its mapping was read.
func putEntryReader(p *pack, e *entryReader) {
	if e.r == &e.mapped {
		p.noteRead(e.start - e.mapped.Len())
		e.mapped.Reset(nil)
	} else {
		e.file.Reset(nil)
	}
	e.r = nil
	entryReaders.Put(e)
}

// getScratch returns a buffer of n bytes whose content is garbage.
func getScratch(n int64) *[]byte {
	if b, ok := scratches.Get().(*[]byte); ok && int64(cap(*b)) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n)
	return &b
}

func putScratch(b *[]byte) {
	if cap(*b) <= scratchMax {
		scratches.Put(b)
	}
}

// Resolved objects of bigMin bytes or more (the trees of a large registry,
// hundreds of KB each, one or two per commit) are the bulk of a history
// walk's allocation: made anew per commit they cost tens of GB over a long
// history and keep the collector busy. The delta-base cache recycles their
// buffers through these pools once nothing references them (see
// baseCache). A buffer's capacity is its size class: n rounded up to a
// quarter of the power of two at or above n, so at most a quarter is wasted
// and a slowly growing tree stays in one class for many commits. Each class
// keeps at most bigKeep free buffers: the cache hands buffers back one at a
// time as it evicts, and a sync.Pool would keep every buffer of the classes
// a growing tree has left behind alive until two collections later (at the
// start of a 10,000-persona walk, 220 MB of them, which doubled the heap's
// goal).
const (
	bigKeep     = 8
	bigMinShift = 6  // the smallest class is 64 bytes (tests pool small objects)
	bigMaxShift = 28 // buffers above 256 MiB are not pooled
	bigClasses  = (bigMaxShift - bigMinShift + 1) * 4
)

// bigMin is the size from which buffers are pooled (at least 1<<bigMinShift).
var bigMin = 64 << 10

// bigFree holds the free buffers of each class; asked says a buffer of the
// class was asked for since the last trimFreeBig.
var bigFree [bigClasses]struct {
	mu    sync.Mutex
	bufs  []*[]byte
	asked bool
}

// bigClass returns the class of a buffer of n bytes and its capacity, or -1
// when n is not pooled.
func bigClass(n int) (class, size int) {
	if n < max(bigMin, 1<<bigMinShift) || n > 1<<bigMaxShift {
		return -1, 0
	}
	e := bits.Len(uint(n - 1)) // 2^e >= n > 2^(e-1)
	q := 1 << (e - 3)
	size = (n + q - 1) &^ (q - 1)
	return (e-bigMinShift)*4 + size/q - 5, size
}

// getBig returns a buffer of n bytes whose content is garbage, and whether
// it belongs to a size class (then putBig may recycle it).
func getBig(n int) (*[]byte, bool) {
	c, size := bigClass(n)
	if c < 0 {
		b := make([]byte, n)
		return &b, false
	}
	f := &bigFree[c]
	f.mu.Lock()
	f.asked = true
	if k := len(f.bufs); k > 0 {
		b := f.bufs[k-1]
		f.bufs[k-1] = nil
		f.bufs = f.bufs[:k-1]
		f.mu.Unlock()
		*b = (*b)[:n]
		return b, true
	}
	f.mu.Unlock()
	b := make([]byte, n, size)
	return &b, true
}

// putBig recycles a buffer from getBig. Nothing may use it afterwards.
func putBig(b *[]byte) {
	if c, size := bigClass(cap(*b)); c >= 0 && size == cap(*b) {
		f := &bigFree[c]
		f.mu.Lock()
		if len(f.bufs) < bigKeep {
			f.bufs = append(f.bufs, b)
		}
		f.mu.Unlock()
	}
}

// trimFreeBig lets the collector have the free buffers of the classes no
// buffer was asked of since the last call: a growing tree leaves its old
// classes behind, 8 buffers each (at 10,000 personas, 13 classes of
// 300–600 KB buffers over a walk).
func trimFreeBig() {
	for c := range bigFree {
		f := &bigFree[c]
		f.mu.Lock()
		if !f.asked {
			clear(f.bufs)
			f.bufs = f.bufs[:0]
		}
		f.asked = false
		f.mu.Unlock()
	}
}

// dropFreeBig lets the collector have every free buffer: between walks they
// would only hold memory (8 per class, tens of MB at 10,000 personas).
func dropFreeBig() {
	for c := range bigFree {
		f := &bigFree[c]
		f.mu.Lock()
		clear(f.bufs)
		f.bufs = f.bufs[:0]
		f.mu.Unlock()
	}
}
