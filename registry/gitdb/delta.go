package gitdb

import (
	"errors"
)

var errBadDelta = errors.New("malformed delta")

// applyDelta applies a git delta to base. Unlike go-git's PatchDelta it
// allocates the result once, at the size the delta declares.
func applyDelta(base, delta []byte) ([]byte, error) {
	_, dst, ok := deltaSizes(delta)
	if !ok {
		return nil, errBadDelta
	}
	out := make([]byte, dst)
	if err := applyDeltaTo(out, base, delta); err != nil {
		return nil, err
	}
	return out, nil
}

// deltaSizes returns the source and result sizes a delta declares.
func deltaSizes(delta []byte) (src, dst int, ok bool) {
	src, rest, ok := deltaSize(delta)
	if !ok {
		return 0, 0, false
	}
	dst, _, ok = deltaSize(rest)
	return src, dst, ok
}

// applyDeltaTo applies a git delta to base, writing the result to out,
// which must be exactly as long as the result the delta declares.
func applyDeltaTo(out, base, delta []byte) error {
	srcSize, delta, ok := deltaSize(delta)
	if !ok || srcSize != len(base) {
		return errBadDelta
	}
	dstSize, delta, ok := deltaSize(delta)
	if !ok || dstSize != len(out) {
		return errBadDelta
	}
	w := 0
	for len(delta) > 0 {
		op := delta[0]
		delta = delta[1:]
		switch {
		case op&0x80 != 0: // copy from base
			var off, n int
			for i := range 4 {
				if op&(1<<i) != 0 {
					if len(delta) == 0 {
						return errBadDelta
					}
					off |= int(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			for i := range 3 {
				if op&(0x10<<i) != 0 {
					if len(delta) == 0 {
						return errBadDelta
					}
					n |= int(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > len(base) || off+n < off || n > len(out)-w {
				return errBadDelta
			}
			w += copy(out[w:], base[off:off+n])
		case op != 0: // insert op bytes
			n := int(op)
			if n > len(delta) || n > len(out)-w {
				return errBadDelta
			}
			w += copy(out[w:], delta[:n])
			delta = delta[n:]
		default:
			return errBadDelta
		}
	}
	if w != len(out) {
		return errBadDelta
	}
	return nil
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
