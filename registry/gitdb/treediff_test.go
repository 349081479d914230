package gitdb

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/personaregistry/personas/registry/gittest"
)

// fakeEntry is an entry of a generated tree: a file or a subdirectory.
type fakeEntry struct {
	mode string
	hash Hash
	sub  map[string]fakeEntry // a directory's entries
}

// treeHistory writes trees into a repository and remembers their content.
type treeHistory struct {
	t       *testing.T
	repo    *Repo
	rng     *rand.Rand
	written map[string]Hash // by content: a tree is written once
}

// write stores dir as a tree object (its subdirectories first).
func (th *treeHistory) write(dir map[string]fakeEntry) Hash {
	th.t.Helper()
	type named struct {
		name string
		e    fakeEntry
	}
	var es []named
	for name, e := range dir {
		if e.sub != nil {
			e.hash = th.write(e.sub)
		}
		es = append(es, named{name, e})
	}
	key := func(n named) string {
		if n.e.mode == ModeTree {
			return n.name + "/"
		}
		return n.name
	}
	slices.SortFunc(es, func(a, b named) int { return strings.Compare(key(a), key(b)) })
	var raw bytes.Buffer
	for _, n := range es {
		fmt.Fprintf(&raw, "%s %s\x00", n.e.mode, n.name)
		raw.Write(n.e.hash[:])
	}
	if h, ok := th.written[raw.String()]; ok {
		return h
	}
	h, err := th.repo.writeObject(plumbing.TreeObject, raw.Bytes())
	if err != nil {
		th.t.Fatal(err)
	}
	th.written[raw.String()] = h
	return h
}

// hash returns a random hash, often with the bytes that end or split an
// entry (NUL, space) in it, so that a parse that loses its place shows.
func (th *treeHistory) hash() Hash {
	var h Hash
	for i := range h {
		switch th.rng.IntN(6) {
		case 0:
			h[i] = 0
		case 1:
			h[i] = ' '
		default:
			h[i] = byte(th.rng.IntN(256))
		}
	}
	return h
}

// name returns the name of an entry of dir, or a new name: like the
// persona files' names, or from a small alphabet, so that names that are
// prefixes of others, and a directory and files sorting around it, occur.
func (th *treeHistory) name(dir map[string]fakeEntry) string {
	switch th.rng.IntN(4) {
	case 0, 1:
		if len(dir) > 0 {
			names := slices.Sorted(maps.Keys(dir))
			return names[th.rng.IntN(len(names))]
		}
	case 2:
		return fmt.Sprintf("persona-%05d.yaml", th.rng.IntN(100_000))
	}
	const alphabet = "ab-.0/"
	n := 1 + th.rng.IntN(4)
	var b strings.Builder
	for range n {
		c := alphabet[th.rng.IntN(len(alphabet)-1)] // no '/'
		b.WriteByte(c)
	}
	return b.String()
}

// mutate changes a few entries of dir: new content, a mode change, a file
// added or removed, a file turned into a directory, a change below.
func (th *treeHistory) mutate(dir map[string]fakeEntry, depth int) {
	for range 1 + th.rng.IntN(4) {
		name := th.name(dir)
		e, ok := dir[name]
		switch op := th.rng.IntN(10); {
		case !ok && op < 7:
			dir[name] = fakeEntry{mode: ModeFile, hash: th.hash()}
		case !ok && depth < 2:
			dir[name] = fakeEntry{mode: ModeTree, sub: map[string]fakeEntry{th.name(nil): {mode: ModeFile, hash: th.hash()}}}
		case !ok:
		case op < 3:
			delete(dir, name)
		case e.sub != nil && op < 8:
			th.mutate(e.sub, depth+1)
			if len(e.sub) == 0 {
				delete(dir, name)
			}
		case e.sub != nil:
			dir[name] = fakeEntry{mode: ModeFile, hash: th.hash()}
		case op < 5:
			dir[name] = fakeEntry{mode: "100755", hash: e.hash}
		case op < 6 && depth < 2:
			dir[name] = fakeEntry{mode: ModeTree, sub: map[string]fakeEntry{th.name(nil): {mode: ModeFile, hash: th.hash()}}}
		default:
			dir[name] = fakeEntry{mode: ModeFile, hash: th.hash()}
		}
	}
}

func cloneDir(dir map[string]fakeEntry) map[string]fakeEntry {
	out := make(map[string]fakeEntry, len(dir))
	for k, e := range dir {
		if e.sub != nil {
			e.sub = cloneDir(e.sub)
		}
		out[k] = e
	}
	return out
}

// flatten lists the files below dir by path.
func flatten(dir map[string]fakeEntry, prefix string, out map[string]fakeEntry) {
	for name, e := range dir {
		if e.sub != nil {
			flatten(e.sub, prefix+name+"/", out)
		} else {
			out[prefix+name] = e
		}
	}
}

// naiveDiff is what Diff must find: every path whose file differs.
func naiveDiff(a, b map[string]fakeEntry) []Change {
	fa, fb := map[string]fakeEntry{}, map[string]fakeEntry{}
	flatten(a, "", fa)
	flatten(b, "", fb)
	var out []Change
	for p, ea := range fa {
		eb, ok := fb[p]
		switch {
		case !ok:
			out = append(out, Change{Path: p, OldHash: ea.hash, OldMode: ea.mode})
		case ea.hash != eb.hash || ea.mode != eb.mode:
			out = append(out, Change{Path: p, OldHash: ea.hash, NewHash: eb.hash, OldMode: ea.mode, NewMode: eb.mode})
		}
	}
	for p, eb := range fb {
		if _, ok := fa[p]; !ok {
			out = append(out, Change{Path: p, NewHash: eb.hash, NewMode: eb.mode})
		}
	}
	return out
}

func sortChanges(cs []Change) {
	slices.SortFunc(cs, func(a, b Change) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.OldMode, b.OldMode) // a path both removed (as a file) and added below
	})
}

// A walk diffs each tree against the one before through one TreeReader, as
// the history walk does (the newer tree's entry offsets carry over to the
// next diff): every diff finds exactly the files that changed, in directories
// of a few entries to a few thousand, with changes anywhere in them.
func TestTreeDiffWalk(t *testing.T) {
	tests := []struct {
		name    string
		files   int
		commits int
	}{
		{"empty start", 0, 300},
		{"a few entries", 20, 300},
		{"a directory of 3,000 files", 3000, 120},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(gittest.NewBare(t).Dir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			th := &treeHistory{t: t, repo: r, rng: rand.New(rand.NewPCG(uint64(i), 7)), written: map[string]Hash{}}
			dir := map[string]fakeEntry{}
			for len(dir) < tt.files {
				dir[fmt.Sprintf("persona-%05d.yaml", th.rng.IntN(10*tt.files))] = fakeEntry{mode: ModeFile, hash: th.hash()}
			}
			tr := NewTreeReader(r)
			defer tr.Close()
			prev, prevHash := cloneDir(dir), th.write(dir)
			changed := 0
			for c := range tt.commits {
				th.mutate(dir, 0)
				h := th.write(dir)
				got, err := tr.Diff(prevHash, h, "", nil)
				if err != nil {
					t.Fatalf("commit %d: %v", c, err)
				}
				want := naiveDiff(prev, dir)
				sortChanges(got)
				sortChanges(want)
				if !slices.Equal(got, want) {
					t.Fatalf("commit %d: Diff found\n%v\nwant\n%v", c, got, want)
				}
				changed += len(got)
				tr.NextCommit()
				prev, prevHash = cloneDir(dir), h
			}
			if changed == 0 {
				t.Fatal("no diff found a change: the walk tests nothing")
			}
		})
	}
}

func TestCommonPrefixAndSuffix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := rng.IntN(5000)
		a := make([]byte, n)
		for i := range a {
			a[i] = byte(rng.IntN(3))
		}
		b := slices.Clone(a)
		if n > 0 && rng.IntN(4) > 0 {
			b[rng.IntN(n)] ^= 1
		}
		b = b[:len(b)-rng.IntN(len(b)/4+1)]
		p, s := 0, 0
		for p < min(len(a), len(b)) && a[p] == b[p] {
			p++
		}
		for s < min(len(a), len(b)) && a[len(a)-1-s] == b[len(b)-1-s] {
			s++
		}
		if got := commonPrefix(a, b); got != p {
			t.Fatalf("commonPrefix = %d, want %d", got, p)
		}
		if got := commonSuffix(a, b); got != s {
			t.Fatalf("commonSuffix = %d, want %d", got, s)
		}
	}
}
