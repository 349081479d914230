package gitdb

import (
	"bufio"
	"compress/zlib"
	"io"
	"os"
	"sync"
)

// Reading an object costs a zlib reader (a 32 KB window and Huffman tables)
// and a read buffer; made anew per object they were most of a history
// walk's allocations. These pools reuse them.

var (
	zlibPool   sync.Pool // of io.ReadCloser that are zlib.Resetter
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
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

// getReader returns a buffered reader of f from offset off.
func getReader(f *os.File, off int64) *bufio.Reader {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(io.NewSectionReader(f, off, 1<<62))
	return br
}

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	readerPool.Put(br)
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
