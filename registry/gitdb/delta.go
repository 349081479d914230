package gitdb

import (
	"errors"
)

var errBadDelta = errors.New("malformed delta")

// applyDelta applies a git delta to base. Unlike go-git's PatchDelta it
// allocates the result once, at the size the delta declares.
func applyDelta(base, delta []byte) ([]byte, error) {
	srcSize, delta, ok := deltaSize(delta)
	if !ok || srcSize != len(base) {
		return nil, errBadDelta
	}
	dstSize, delta, ok := deltaSize(delta)
	if !ok {
		return nil, errBadDelta
	}
	out := make([]byte, 0, dstSize)
	for len(delta) > 0 {
		op := delta[0]
		delta = delta[1:]
		switch {
		case op&0x80 != 0: // copy from base
			var off, n int
			for i := range 4 {
				if op&(1<<i) != 0 {
					if len(delta) == 0 {
						return nil, errBadDelta
					}
					off |= int(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			for i := range 3 {
				if op&(0x10<<i) != 0 {
					if len(delta) == 0 {
						return nil, errBadDelta
					}
					n |= int(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > len(base) || off+n < off {
				return nil, errBadDelta
			}
			out = append(out, base[off:off+n]...)
		case op != 0: // insert op bytes
			n := int(op)
			if n > len(delta) {
				return nil, errBadDelta
			}
			out = append(out, delta[:n]...)
			delta = delta[n:]
		default:
			return nil, errBadDelta
		}
	}
	if len(out) != dstSize {
		return nil, errBadDelta
	}
	return out, nil
}

// deltaSize reads a size (a little-endian base-128 varint) from the start of
// a delta and returns it with the rest of the delta.
func deltaSize(d []byte) (int, []byte, bool) {
	n := 0
	for shift := 0; len(d) > 0 && shift < 63; shift += 7 {
		b := d[0]
		d = d[1:]
		n |= int(b&0x7f) << shift
		if b&0x80 == 0 {
			return n, d, true
		}
	}
	return 0, nil, false
}
