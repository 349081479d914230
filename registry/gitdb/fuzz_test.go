package gitdb

import (
	"bytes"
	"testing"
)

// applyDelta never panics and, when it succeeds, returns exactly the size
// the delta declares.
func FuzzApplyDelta(f *testing.F) {
	f.Add([]byte("hello world"), []byte{11, 5, 0x90, 5})                      // copy 5 bytes from 0
	f.Add([]byte("hello world"), []byte{11, 8, 0x91, 6, 5, 3, 'x', 'y', 'z'}) // copy "world", insert "xyz"
	f.Add([]byte(""), []byte{0, 3, 3, 'a', 'b', 'c'})
	f.Add([]byte("abc"), []byte{3, 0})
	f.Add([]byte("abc"), []byte{0x80})
	f.Fuzz(func(t *testing.T, base, delta []byte) {
		out, err := applyDelta(base, delta)
		if err != nil {
			return
		}
		_, rest, _ := deltaSize(delta)
		dst, _, _ := deltaSize(rest)
		if len(out) != dst {
			t.Fatalf("applyDelta returned %d bytes, the delta declares %d", len(out), dst)
		}
	})
}

// ParseCommit never panics; what it accepts has a tree and a one-line
// subject.
func FuzzParseCommit(f *testing.F) {
	f.Add([]byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" +
		"author A <a@example.com> 1709287200 +0100\ncommitter C <c@example.com> 1709287200 +0000\n\nsubject\n\nbody\n"))
	f.Add([]byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\n"))
	f.Add([]byte("author x\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseCommit(raw)
		if err != nil {
			return
		}
		if c.Tree.IsZero() {
			t.Fatal("accepted a commit without a tree")
		}
		if bytes.Contains([]byte(c.Subject), []byte("\n")) {
			t.Fatalf("subject %q spans lines", c.Subject)
		}
	})
}

// The tree diff never panics on malformed trees and finds nothing between a
// tree and itself.
func FuzzTreeIter(f *testing.F) {
	f.Add([]byte("100644 a\x00aaaaaaaaaaaaaaaaaaaa40000 d\x00bbbbbbbbbbbbbbbbbbbb"))
	f.Add([]byte("100644 a"))
	f.Add([]byte(" \x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		it := treeIter{data}
		for range 1000 {
			e, ok, err := it.next()
			if err != nil || !ok {
				break
			}
			if len(e.hash) != 20 {
				t.Fatalf("entry hash of %d bytes", len(e.hash))
			}
		}
		if n := entryLen(data); n > len(data) {
			t.Fatalf("entryLen %d past the end (%d)", n, len(data))
		}
	})
}
