package gitdb

import (
	"bytes"
	"encoding/binary"

	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// findOffset looks an object up in a pack index. go-git's
// MemoryIndex.FindOffset also records every answer in a reverse map behind a
// mutex: on a 500,000-object pack that map alone held 30 MB after one
// history walk. This reads the decoded tables and remembers nothing.
func findOffset(idx *idxfile.MemoryIndex, h Hash) (int64, bool) {
	k := idx.FanoutMapping[h[0]]
	if k < 0 || k >= len(idx.Names) || k >= len(idx.Offset32) {
		return 0, false
	}
	names, offsets := idx.Names[k], idx.Offset32[k]
	n := min(len(names)/len(h), len(offsets)/4)
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch bytes.Compare(h[:], names[mid*len(h):(mid+1)*len(h)]) {
		case 0:
			return offsetAt(idx, offsets, mid)
		case -1:
			hi = mid
		default:
			lo = mid + 1
		}
	}
	return 0, false
}

// offsetAt reads entry i of a fanout bucket's offsets, following the 64-bit
// table for offsets past 2 GiB.
func offsetAt(idx *idxfile.MemoryIndex, offsets []byte, i int) (int64, bool) {
	o := binary.BigEndian.Uint32(offsets[i*4:])
	if o&0x80000000 == 0 {
		return int64(o), true
	}
	j := 8 * int(o&0x7fffffff)
	if j+8 > len(idx.Offset64) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(idx.Offset64[j:])), true
}
