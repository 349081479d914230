package gitdb

import (
	"encoding/binary"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// Every object of a real pack is found at the offset go-git's index reader
// gives, and hashes the pack lacks are not found.
func TestFindOffsetAgreesWithGoGit(t *testing.T) {
	r, objs := openGenerated(t)
	idx := r.packs.packs[0].idx
	for h := range objs {
		want, err := idx.FindOffset(toPlumbing(h))
		got, ok := findOffset(idx, h)
		if err != nil || !ok || got != want {
			t.Fatalf("%s: findOffset = %d, %v; go-git: %d, %v", h, got, ok, want, err)
		}
		missing := h
		missing[19] ^= 0xff
		if _, in := objs[missing]; !in {
			if off, ok := findOffset(idx, missing); ok {
				t.Fatalf("%s is not in the pack but was found at %d", missing, off)
			}
		}
	}
}

// Offsets past 2 GiB are read from the 64-bit table.
func TestFindOffsetLargeOffsets(t *testing.T) {
	var a, b, c Hash
	a[0], b[0], c[0] = 0x10, 0x10, 0x20
	b[1] = 1
	idx := &idxfile.MemoryIndex{}
	for i := range idx.FanoutMapping {
		idx.FanoutMapping[i] = -1
	}
	idx.FanoutMapping[0x10], idx.FanoutMapping[0x20] = 0, 1
	idx.Names = [][]byte{append(a[:], b[:]...), c[:]}
	off32 := make([]byte, 8)
	binary.BigEndian.PutUint32(off32, 1234)
	binary.BigEndian.PutUint32(off32[4:], 0x80000000|1) // second entry of the 64-bit table
	idx.Offset32 = [][]byte{off32, {0x80, 0, 0, 5}}     // entry 5: past the table
	idx.Offset64 = make([]byte, 16)
	binary.BigEndian.PutUint64(idx.Offset64[8:], 5<<30)
	tests := []struct {
		name string
		h    Hash
		want int64
		ok   bool
	}{
		{"32-bit offset", a, 1234, true},
		{"64-bit offset", b, 5 << 30, true},
		{"64-bit index out of range", c, 0, false},
		{"empty fanout bucket", Hash{0x30}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := findOffset(idx, tt.h)
			if got != tt.want || ok != tt.ok {
				t.Errorf("findOffset = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
