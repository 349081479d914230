package registry

import (
	"context"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/personaregistry/personas/registry/gitdb"
	"github.com/personaregistry/personas/schema"
)

// indexer reads history into an indexState. It runs on the goroutine that
// owns the gitdb.Repo; during an update its workers read from the Repo too.
type indexer struct {
	store    *gitdb.Repo
	dir      string // persona directory, slash-separated, no trailing slash
	unitDir  string
	progress func(done, total int) // Options.Progress, or nil
	// ready holds the commits a speculation diffed and parsed while the
	// chain was read (see speculation); set by the owner around a build.
	ready map[*gitdb.Commit]pending
	// background runs the workers on low-priority threads (runLowPriority),
	// for an update made while serving; they number walkWorkers() then.
	background bool
}

type parseKey struct {
	hash gitdb.Hash
	unit bool
}

// future is a parse running on a worker.
type future struct {
	done chan struct{}
	res  *parsedFile
}

// parseMemo remembers the parses of one update by blob, shared by the
// workers: a blob seen again is parsed once.
type parseMemo struct {
	mu sync.Mutex
	m  map[parseKey]*future
}

func newParseMemo() *parseMemo { return &parseMemo{m: map[parseKey]*future{}} }

// claim returns the future of key's parse and whether the caller must run
// it (it is the first to ask).
func (pm *parseMemo) claim(key parseKey) (*future, bool) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if f, ok := pm.m[key]; ok {
		return f, false
	}
	if len(pm.m) >= parseMemoSize {
		// forget old parses: a blob seen again later is parsed again,
		// but memory stays bounded on long histories
		pm.m = map[parseKey]*future{}
	}
	f := &future{done: make(chan struct{})}
	pm.m[key] = f
	return f, true
}

func newIndexer(store *gitdb.Repo, dir, unitDir string) *indexer {
	return &indexer{store: store, dir: cleanDir(dir), unitDir: cleanDir(unitDir)}
}

func cleanDir(d string) string {
	d = path.Clean("/" + strings.ReplaceAll(d, "\\", "/"))
	return strings.TrimPrefix(d, "/")
}

// parseMemoSize bounds the number of blob parses remembered during an update:
// a blob seen again soon (a revert, a copy) is parsed once. 20,000 parses
// held tens of MB during a cold index of 10,000 personas for no measurable gain.
const parseMemoSize = 1024

// firstParentChain returns the commits of target's first-parent chain,
// oldest first.
func (ix *indexer) firstParentChain(ctx context.Context, target gitdb.Hash) ([]*gitdb.Commit, error) {
	var chain []*gitdb.Commit
	for h := target; !h.IsZero(); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ci, err := ix.store.Commit(h)
		if err != nil {
			return nil, err
		}
		chain = append(chain, ci)
		h = ci.Parent
	}
	slices.Reverse(chain)
	return chain, nil
}

// walkWorkers is how many workers a background update runs: one per core.
func walkWorkers() int { return max(1, runtime.NumCPU()) }

// walkBatch is how many consecutive commits a worker diffs at a time: the
// trees of one commit are the parent trees of the next.
const walkBatch = 32

// pending is one commit's changes, their parses running or done.
type pending struct {
	ci      *gitdb.Commit
	changes []change
	futures []*future
}

// batch is a run of consecutive commits handed to a worker; out receives
// its pending commits (and the error that stopped it, if any).
type batch struct {
	commits []*gitdb.Commit
	parent  gitdb.Hash // tree of the commit before the first
	out     chan batchResult
}

type batchResult struct {
	pending []pending
	err     error
}

// update folds the chain of commits into s, calling applied (if not nil)
// with the number of commits applied so far after each. Reading the chain is
// sequential; its commits are cut into batches that workers (one per core)
// diff, reading and parsing the changed blobs; the rules are applied here,
// in commit order, as the batches come back in order; the commits at the
// end of the chain that a speculation already did (ix.ready) come last, as
// one batch done beforehand. It clears the chain's commits as it applies
// them, all but the last batch's: the state keeps the strings it needs of
// them, and a long walk frees the rest as it goes (14 MB at 100,000
// commits).
func (ix *indexer) update(ctx context.Context, s *indexState, chain []*gitdb.Commit, applied func(int)) error {
	memo := newParseMemo()
	if len(chain) > walkBatch {
		ix.store.Busy()
		defer ix.store.Idle()
	}
	parent, err := ix.parentTree(chain)
	if err != nil {
		return err
	}
	n := runtime.GOMAXPROCS(0)
	if ix.background {
		n = walkWorkers()
	}
	jobs := make(chan *batch)
	order := make(chan *batch, 2*n) // batches in flight, in commit order
	stop := make(chan struct{})
	var workers sync.WaitGroup
	for range n {
		workers.Go(func() {
			work := func() {
				trees := gitdb.NewTreeReader(ix.store)
				defer trees.Close()
				for b := range jobs {
					b.out <- ix.walkBatch(ctx, memo, trees, b.parent, b.commits)
				}
			}
			if ix.background {
				runLowPriority(work)
			} else {
				work()
			}
		})
	}
	todo, ready := ix.readyTail(chain)
	go func() {
		defer close(order)
		defer close(jobs)
		for start := 0; start < len(todo); start += walkBatch {
			end := min(start+walkBatch, len(todo))
			b := &batch{commits: todo[start:end], parent: parent, out: make(chan batchResult, 1)}
			parent = todo[end-1].Tree
			select {
			case order <- b:
			case <-stop:
				return
			}
			select {
			case jobs <- b:
			case <-stop:
				return
			}
		}
		if ready != nil {
			select {
			case order <- ready:
			case <-stop:
			}
		}
	}()
	done := 0
	for b := range order {
		res := <-b.out
		for _, p := range res.pending {
			for i := range p.changes {
				if f := p.futures[i]; f != nil {
					<-f.done
					p.changes[i].parsed = f.res
				}
			}
			s.applyCommit(p.ci, p.changes)
			if done++; ix.progress != nil {
				ix.progress(done, len(chain))
			}
			if applied != nil {
				applied(done)
			}
		}
		if res.err == nil && len(b.commits) > 0 && &b.commits[len(b.commits)-1] != &chain[len(chain)-1] {
			clear(b.commits) // the producer read the last one's tree before handing b out
		}
		if res.err != nil {
			err = res.err
			close(stop)
			for range order { // batches queued but never handed out
			}
			break
		}
	}
	workers.Wait()
	return err
}

// walkBatch diffs each commit against the one before and parses the changed
// files; it stops at the first error, returning the commits done before it.
func (ix *indexer) walkBatch(ctx context.Context, memo *parseMemo, trees *gitdb.TreeReader, parent gitdb.Hash, commits []*gitdb.Commit) batchResult {
	var res batchResult
	for _, ci := range commits {
		if res.err = ctx.Err(); res.err != nil {
			return res
		}
		changes, err := ix.commitChanges(trees, parent, ci.Tree)
		if err != nil {
			res.err = err
			return res
		}
		futures := make([]*future, len(changes))
		for i := range changes {
			futures[i] = ix.parse(memo, &changes[i])
		}
		res.pending = append(res.pending, pending{ci: ci, changes: changes, futures: futures})
		parent = ci.Tree
		trees.NextCommit()
	}
	return res
}

// parentTree returns the tree of the commit the chain starts from.
func (ix *indexer) parentTree(chain []*gitdb.Commit) (gitdb.Hash, error) {
	if len(chain) == 0 || chain[0].Parent.IsZero() {
		return gitdb.ZeroHash, nil
	}
	ci, err := ix.store.Commit(chain[0].Parent)
	if err != nil {
		return gitdb.ZeroHash, err
	}
	return ci.Tree, nil
}

// commitChanges lists the persona and unit-test files that differ between
// the parent tree and tree.
func (ix *indexer) commitChanges(trees *gitdb.TreeReader, parentTree, tree gitdb.Hash) ([]change, error) {
	var out []change
	for _, d := range []struct {
		dir  string
		unit bool
	}{{ix.dir, false}, {ix.unitDir, true}} {
		a, err := ix.subtreeOf(trees, parentTree, d.dir)
		if err != nil {
			return nil, err
		}
		b, err := ix.subtreeOf(trees, tree, d.dir)
		if err != nil {
			return nil, err
		}
		prefix := d.dir + "/"
		if d.dir == "" {
			prefix = ""
		}
		fcs, err := trees.Diff(a, b, prefix, nil)
		if err != nil {
			return nil, err
		}
		for _, fc := range fcs {
			if !isYAMLPath(fc.Path) && fc.NewMode != gitdb.ModeSubmodule {
				continue
			}
			if !d.unit && ix.unitDir != "" && strings.HasPrefix(fc.Path, ix.unitDir+"/") {
				continue // unit tests nested in the persona directory
			}
			out = append(out, change{Change: fc, unitTest: d.unit})
		}
	}
	return out, nil
}

func (ix *indexer) subtreeOf(trees *gitdb.TreeReader, root gitdb.Hash, dir string) (gitdb.Hash, error) {
	if root.IsZero() || dir == "" {
		return root, nil
	}
	return trees.Subtree(root, dir)
}

func isYAMLPath(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	return ext == ".yaml" || ext == ".yml"
}

// parse parses a change's new blob, or returns the parse of it another
// worker made or is making.
func (ix *indexer) parse(memo *parseMemo, c *change) *future {
	if c.NewHash.IsZero() {
		return nil
	}
	// symlinks and submodules are problems whatever their blob: never memoized
	switch c.NewMode {
	case gitdb.ModeSymlink:
		f := &future{done: make(chan struct{})}
		f.resolve(&parsedFile{problem: &schema.Finding{Line: 1, Column: 1,
			Message: "is a symbolic link; persona files must be regular files"}})
		return f
	case gitdb.ModeSubmodule:
		f := &future{done: make(chan struct{})}
		f.resolve(&parsedFile{problem: &schema.Finding{Line: 1, Column: 1,
			Message: "is a submodule, not a persona file"}})
		return f
	}
	f, mine := memo.claim(parseKey{c.NewHash, c.unitTest})
	if !mine {
		return f
	}
	data, err := ix.store.ReadBlob(c.NewHash, schema.MaxFileSize)
	if err != nil {
		f.resolve(&parsedFile{problem: &schema.Finding{Line: 1, Column: 1, Message: err.Error()}})
		return f
	}
	parseJob{data: data, unit: c.unitTest, out: f}.run()
	return f
}

func (f *future) resolve(r *parsedFile) {
	f.res = r
	close(f.done)
}

// parseJob parses one blob.
type parseJob struct {
	data []byte
	unit bool
	out  *future
}

func (j parseJob) run() {
	r := &parsedFile{}
	if j.unit {
		ref, ok, fs := schema.ParseUnitTest("", j.data)
		if ok {
			r.unit = &ref
		}
		if len(fs) > 0 {
			r.problem = &fs[0]
		}
	} else {
		p, ok := schema.ParseValidPersona(j.data)
		var fs []schema.Finding
		if !ok {
			p, _, fs = schema.ParsePersona("", j.data)
		}
		if p != nil {
			versionValues.persona(p)
			// the index keeps the parse of every file at Head and at
			// each checkpoint: their backgrounds held as Text
			r.bg = NewText(p.Background)
			p.Background = ""
		}
		r.persona = p
		if p == nil {
			for i := range fs {
				if fs[i].Severity != schema.SeverityWarning {
					r.problem = &fs[i]
					break
				}
			}
		}
	}
	j.out.resolve(r)
}
