package registry

import (
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/personaregistry/personas/registry/gitdb"
)

// A request for a cached ref is answered without the owner goroutine: the
// name's last resolution is reused while the files that decided it are
// unchanged (same inode, size, modification and change times: git and
// gitdb replace a ref by renaming a new file over it, go-git rewrites it in
// place, and both change the times). A file changed within racyWindow of
// its resolution is not trusted (the clock that stamps files is coarse,
// git's "racy git" problem), so such a name goes the slow way until the
// window has passed.
var racyWindow = time.Second // a variable for tests

// maxResolutions bounds the names remembered; an arbitrary one is dropped
// beyond.
const maxResolutions = 1024

// fileStamp is what stat said of one file that decided a resolution.
type fileStamp struct {
	path         string
	exists       bool
	ino          uint64
	size         int64
	mtime, ctime int64 // ns
}

func stampFile(path string) fileStamp {
	st := fileStamp{path: path}
	info, err := os.Stat(path)
	if err != nil {
		return st // absent (or unreadable: a later stat that works differs)
	}
	st.exists, st.size, st.mtime = true, info.Size(), info.ModTime().UnixNano()
	st.ino, st.ctime = inodeAndCtime(info)
	return st
}

// resolution is what a ref name resolved to, and why it still holds.
type resolution struct {
	head  gitdb.Hash
	files []fileStamp // as they were before the ref was read
	until time.Time   // zero: no deadline (a replica's fetched ref: its refetch)
	gen   uint64      // the fetch generation it belongs to (replicas)
}

// in returns r of the fetch generation gen (nil stays nil).
func (r *resolution) in(gen uint64) *resolution {
	if r != nil {
		r.gen = gen
	}
	return r
}

// valid says whether nothing that decided r has changed, stat-ing its files.
func (r *resolution) valid(gen uint64, now time.Time) bool {
	if r.gen != gen || (!r.until.IsZero() && !now.Before(r.until)) {
		return false
	}
	for _, f := range r.files {
		if stampFile(f.path) != f {
			return false
		}
	}
	return true
}

// trusted says whether every file was last changed well before at (the
// resolution started), so that a change after it cannot leave equal stamps.
func (r *resolution) trusted(at time.Time) bool {
	limit := at.Add(-racyWindow).UnixNano()
	for _, f := range r.files {
		if f.exists && (f.mtime > limit || f.ctime > limit) {
			return false
		}
	}
	return true
}

// resolutions remembers resolved ref names. The owner goroutine fills it;
// requests read it.
type resolutions struct {
	mu sync.Mutex
	m  map[string]*resolution
}

func (rs *resolutions) get(name string) *resolution {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.m[name]
}

func (rs *resolutions) put(name string, res *resolution) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.m == nil {
		rs.m = map[string]*resolution{}
	}
	if _, ok := rs.m[name]; !ok && len(rs.m) >= maxResolutions {
		for n := range rs.m {
			delete(rs.m, n)
			break
		}
	}
	rs.m[name] = res
}

func (rs *resolutions) drop(name string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	delete(rs.m, name)
}

// cachedRefSnapshot is RefSnapshot's fast path, off the owner goroutine:
// the snapshot of a name resolved before, when its files are unchanged and
// the snapshot of its commit is the served one or cached.
func (r *Registry) cachedRefSnapshot(name string) *Snapshot {
	res := r.resolved.get(name)
	if res == nil || !res.valid(r.fetchGen.Load(), time.Now()) {
		return nil
	}
	if cur := r.snap.Load(); cur != nil && cur.Head == res.head.String() {
		return cur
	}
	if e := r.refs.get(res.head); e != nil {
		refHits.Inc()
		return e.snap
	}
	return nil
}

// localStamps stats, in git's order of lookup, the files that decide what
// a non-hex name resolves to locally: the name itself under the git
// directory (when it is not under refs/), each candidate loose ref, and
// packed-refs. The caller trims them to the winning candidate.
func (r *Registry) localStamps(name string) (bare *fileStamp, cands []string, stamps []fileStamp) {
	dir := r.store.GitDir()
	packed := stampFile(filepath.Join(dir, "packed-refs"))
	cands = refCandidates(name)
	if len(cands) > 1 {
		b := stampFile(filepath.Join(dir, filepath.FromSlash(name)))
		bare = &b
	}
	for _, c := range cands {
		stamps = append(stamps, stampFile(filepath.Join(dir, filepath.FromSlash(c))))
	}
	return bare, cands, append(stamps, packed)
}

// refCandidates are the full names git tries for name, in order.
func refCandidates(name string) []string {
	if len(name) > 5 && name[:5] == "refs/" {
		return []string{name}
	}
	return []string{"refs/" + name, "refs/tags/" + name, "refs/heads/" + name,
		"refs/remotes/" + name, "refs/remotes/" + name + "/HEAD"}
}
