package gitdb

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// Size classes: a buffer's capacity is at least what was asked, wastes at
// most a quarter, and is its own class (so putBig takes it back).
func TestBigClass(t *testing.T) {
	if c, _ := bigClass(bigMin - 1); c >= 0 {
		t.Errorf("bigClass(%d) = %d, want no class below bigMin", bigMin-1, c)
	}
	if c, _ := bigClass(1<<bigMaxShift + 1); c >= 0 {
		t.Errorf("bigClass(%d) = %d, want no class above the largest", 1<<bigMaxShift+1, c)
	}
	sizes := map[int]int{} // class → size
	for _, n := range []int{bigMin, bigMin + 1, 100_000, 430_000, 1 << 20, 1<<20 + 1, 3 << 20, 1 << bigMaxShift} {
		for d := range 3000 {
			n := n + d*97
			if n > 1<<bigMaxShift {
				break
			}
			c, size := bigClass(n)
			if c < 0 || c >= bigClasses {
				t.Fatalf("bigClass(%d) = class %d, out of range", n, c)
			}
			if size < n || size > n+n/4 {
				t.Fatalf("bigClass(%d) = size %d", n, size)
			}
			if c2, s2 := bigClass(size); c2 != c || s2 != size {
				t.Fatalf("bigClass(%d) = %d, %d; its size's class is %d, %d", n, c, size, c2, s2)
			}
			if s, ok := sizes[c]; ok && s != size {
				t.Fatalf("class %d has sizes %d and %d", c, s, size)
			}
			sizes[c] = size
		}
	}
	b, pooled := getBig(300_000)
	if !pooled || len(*b) != 300_000 {
		t.Fatalf("getBig(300000) = %d bytes (cap %d), pooled %v", len(*b), cap(*b), pooled)
	}
	if b, pooled := getBig(bigMin - 1); pooled || len(*b) != bigMin-1 {
		t.Fatalf("getBig(%d) = %d bytes, pooled %v", bigMin-1, len(*b), pooled)
	}
}

// recycleLog records the buffers a cache recycles, poisoning them so that a
// reader still holding one sees garbage (and the race detector sees the
// write).
type recycleLog struct {
	mu  sync.Mutex
	got []*[]byte
	n   atomic.Int64
}

func (l *recycleLog) watch(c *baseCache) {
	c.recycle = func(b *[]byte) {
		full := (*b)[:cap(*b)]
		for i := range full {
			full[i] = 0xAA
		}
		l.mu.Lock()
		l.got = append(l.got, b)
		l.mu.Unlock()
		l.n.Add(1)
		putBig(b)
	}
}

func (l *recycleLog) recycled(b *[]byte) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, g := range l.got {
		if g == b {
			n++
		}
	}
	return n
}

// newItem makes a cache item of n bytes of v in a pooled buffer.
func newItem(off int64, n int, v byte) (*cacheItem, *[]byte) {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return &cacheItem{key: baseKey{0, off}, data: b, buf: &b}, &b
}

// The reference-counting rules of the delta-base cache: a buffer is
// recycled once, when its item is both out of the cache and unreferenced,
// whichever comes last; never when escaped.
func TestBaseCacheRecycling(t *testing.T) {
	const n = 100
	c := newBaseCache(4 * n) // four items of n bytes
	var log recycleLog
	log.watch(c)

	// evicted while referenced: recycled only when released
	a, ab := newItem(1, n, 'a')
	if got := c.put(a); got != a {
		t.Fatal("put of a new key returned another item")
	}
	for off := int64(2); off <= 5; off++ {
		it, _ := newItem(off, n, 'x')
		c.release(c.put(it))
	}
	if c.get(a.key) != nil {
		t.Fatal("a is still cached after four more items")
	}
	if log.recycled(ab) != 0 || a.data[0] != 'a' {
		t.Fatal("a was recycled while referenced")
	}
	c.release(a)
	if log.recycled(ab) != 1 {
		t.Fatal("a was not recycled at its last release")
	}

	// released while cached: recycled when evicted
	b, bb := newItem(10, n, 'b')
	c.release(c.put(b))
	if log.recycled(bb) != 0 {
		t.Fatal("b was recycled while cached")
	}
	got := c.get(b.key)
	if got != b {
		t.Fatal("b is not cached")
	}
	got2 := c.get(b.key) // a second reference
	c.release(got)
	c.shrink(0)
	if log.recycled(bb) != 0 {
		t.Fatal("b was recycled while one of two references is held")
	}
	c.release(got2)
	if log.recycled(bb) != 1 {
		t.Fatal("b was not recycled once evicted and released")
	}

	// escaped: never recycled
	e, eb := newItem(20, n, 'e')
	c.put(e).escape()
	c.shrink(0)
	held := c.get(e.key) // gone from the cache
	if held != nil {
		t.Fatal("e still cached after shrink(0)")
	}
	if log.recycled(eb) != 0 || e.data[0] != 'e' {
		t.Fatal("an escaped item was recycled")
	}

	// resolved twice: the second copy is recycled, the first handed out
	f1, _ := newItem(30, n, 'f')
	f2, f2b := newItem(30, n, 'f')
	c.put(f1)
	if got := c.put(f2); got != f1 {
		t.Fatal("put of a cached key did not return the cached item")
	}
	if log.recycled(f2b) != 1 {
		t.Fatal("the duplicate was not recycled")
	}
	c.release(f1)
	c.release(f1)

	// too large for the cache: recycled at release
	big, bigb := newItem(40, n+1, 'g')
	c.put(big)
	if c.get(big.key) != nil {
		t.Fatal("an item over a quarter of the budget was cached")
	}
	if log.recycled(bigb) != 0 {
		t.Fatal("an uncached item was recycled while referenced")
	}
	c.release(big)
	if log.recycled(bigb) != 1 {
		t.Fatal("an uncached item was not recycled at release")
	}

	if c.held != 0 {
		t.Fatalf("%d references outstanding", c.held)
	}
	// a, b, the four fillers, f2 and big; e escaped, f1 still cached
	if got := log.n.Load(); got != 8 {
		t.Errorf("%d buffers recycled, want 8", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("releasing an unreferenced item did not panic")
		}
	}()
	c.release(f1)
}

// pooled lowers the pooling threshold for the test, so that the small trees
// of a generated repository go through the pools.
func pooled(t *testing.T) {
	old := bigMin
	bigMin = 1 << bigMinShift
	t.Cleanup(func() { bigMin = old })
}

// history returns the commits of main, oldest first.
func history(t *testing.T, r *Repo) []*Commit {
	t.Helper()
	h, err := r.ResolveBranch("main")
	if err != nil {
		t.Fatal(err)
	}
	var chain []*Commit
	for !h.IsZero() {
		ci, err := r.Commit(h)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, ci)
		h = ci.Parent
	}
	slices.Reverse(chain)
	return chain
}

// checkHeld compares every tree a TreeReader holds with git's.
func checkHeld(tr *TreeReader, want map[Hash]gitObject) error {
	for _, m := range []map[Hash]heldTree{tr.prev, tr.cur} {
		for h, tree := range m {
			if o := want[h]; o.typ != "tree" || !bytes.Equal(tree.data, o.data) {
				return fmt.Errorf("held tree %s differs from git's", h)
			}
		}
	}
	return nil
}

// Several walkers, each with its own TreeReader, diff runs of consecutive
// commits through one tiny cache (constant eviction) whose buffers are all
// pooled, recycled and poisoned on recycling; meanwhile another goroutine
// reads trees without references (escaped). Every diff equals the one made
// without recycling, every tree a reader holds equals git's at each step,
// every escaped read still does at the end, and no reference is left.
func TestTreeReadersRecycleConcurrently(t *testing.T) {
	r, want := openGenerated(t)
	chain := history(t, r)
	if len(chain) < 100 {
		t.Fatalf("%d commits", len(chain))
	}
	diffs := make([][]Change, len(chain))
	ref := NewTreeReader(r)
	parent := ZeroHash
	for i, ci := range chain {
		var err error
		if diffs[i], err = ref.Diff(parent, ci.Tree, "", nil); err != nil {
			t.Fatal(err)
		}
		parent = ci.Tree
		ref.NextCommit()
	}
	ref.Close()

	pooled(t)
	largest := 0
	for _, o := range want {
		if o.typ == "tree" {
			largest = max(largest, len(o.data))
		}
	}
	c := newBaseCache(4 * largest)
	var log recycleLog
	log.watch(c)
	r.packs.cache = c

	const workers, run = 4, 8
	type job struct{ start, end int }
	jobs := make(chan job)
	errs := make(chan error, workers+1)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			tr := NewTreeReader(r)
			defer tr.Close()
			for j := range jobs {
				parent := ZeroHash
				if j.start > 0 {
					parent = chain[j.start-1].Tree
				}
				for i := j.start; i < j.end; i++ {
					got, err := tr.Diff(parent, chain[i].Tree, "", nil)
					if err != nil {
						errs <- err
						return
					}
					if !slices.Equal(got, diffs[i]) {
						errs <- fmt.Errorf("commit %d: diff %v, want %v", i, got, diffs[i])
						return
					}
					if err := checkHeld(tr, want); err != nil {
						errs <- fmt.Errorf("commit %d: %w", i, err)
						return
					}
					parent = chain[i].Tree
					tr.NextCommit()
				}
			}
		})
	}
	var escaped [][]byte
	var escapedHashes []Hash
	wg.Go(func() {
		for i := len(chain) - 1; i >= 0; i -= 3 {
			data, err := r.readRaw(chain[i].Tree, plumbing.TreeObject, 0)
			if err != nil {
				errs <- err
				return
			}
			escaped = append(escaped, data)
			escapedHashes = append(escapedHashes, chain[i].Tree)
		}
	})
	for round := range 3 { // each commit diffed three times, in different company
		for start := round * 3; start < len(chain); start += run {
			jobs <- job{start, min(start+run, len(chain))}
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, data := range escaped {
		if !bytes.Equal(data, want[escapedHashes[i]].data) {
			t.Fatalf("escaped tree %s changed", escapedHashes[i])
		}
	}
	if c.held != 0 {
		t.Fatalf("%d references outstanding after every TreeReader closed", c.held)
	}
	if log.n.Load() == 0 {
		t.Fatal("nothing was recycled: the test does not exercise recycling")
	}
	t.Logf("%d commits, %d buffers recycled", len(chain), log.n.Load())
}

// A delta's base stays valid while the delta is applied even if it is
// evicted meanwhile (by another reader, here by a hook): it is referenced.
func TestDeltaBaseHeldWhileApplied(t *testing.T) {
	r, want := openGenerated(t)
	pooled(t)
	c := newBaseCache(1 << 20)
	var log recycleLog
	log.watch(c)
	r.packs.cache = c
	testHookDelta = func(c *baseCache) { c.shrink(0) }
	t.Cleanup(func() { testHookDelta = nil })
	for h, o := range want {
		if o.typ != "tree" && o.typ != "blob" {
			continue
		}
		typ, _ := plumbing.ParseObjectType(o.typ)
		got, err := r.readRaw(h, typ, 0)
		if err != nil {
			t.Fatalf("read %s %s: %v", o.typ, h, err)
		}
		if !bytes.Equal(got, o.data) {
			t.Fatalf("%s %s differs from git's", o.typ, h)
		}
	}
	if c.held != 0 {
		t.Fatalf("%d references outstanding", c.held)
	}
	if log.n.Load() == 0 {
		t.Fatal("nothing was recycled: the test does not exercise recycling")
	}
}

// Trim lets go of the free buffers of the classes nobody asked for since
// the last Trim, and keeps the others'.
func TestTrimKeepsTheClassesInUse(t *testing.T) {
	const unused, used = bigClasses - 1, bigClasses - 2 // 256 MiB and 224 MiB buffers: no test asks for them
	for _, c := range []int{unused, used} {
		f := &bigFree[c]
		f.mu.Lock()
		f.bufs = append(f.bufs, new([]byte)) // stands for a free buffer of the class
		f.asked = false
		f.mu.Unlock()
	}
	bigFree[used].mu.Lock()
	bigFree[used].asked = true // as getBig marks it
	bigFree[used].mu.Unlock()
	var r Repo
	r.Trim()
	if n := len(bigFree[unused].bufs); n != 0 {
		t.Errorf("%d free buffers kept in a class nobody asked for", n)
	}
	if n := len(bigFree[used].bufs); n != 1 {
		t.Errorf("%d free buffers kept in the class in use, want 1", n)
	}
	r.Trim() // not asked since: its turn now
	if n := len(bigFree[used].bufs); n != 0 {
		t.Errorf("%d free buffers kept after a Trim with no ask in between", n)
	}
}
