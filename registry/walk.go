package registry

import (
	"context"
	"errors"
	"path"
	"runtime"
	"strings"
	"sync"

	"github.com/personaregistry/personas/registry/gitdb"
	"github.com/personaregistry/personas/schema"
)

// indexer reads history into an indexState. It runs on the goroutine that
// owns the gitdb.Repo.
type indexer struct {
	store     *gitdb.Repo
	dir       string // persona directory, slash-separated, no trailing slash
	unitDir   string
	trees     *gitdb.TreeReader
	parseMemo map[parseKey]*future  // blob parses of the current update
	progress  func(done, total int) // Options.Progress, or nil
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

func newIndexer(store *gitdb.Repo, dir, unitDir string) *indexer {
	return &indexer{store: store, dir: cleanDir(dir), unitDir: cleanDir(unitDir), trees: gitdb.NewTreeReader(store)}
}

func cleanDir(d string) string {
	d = path.Clean("/" + strings.ReplaceAll(d, "\\", "/"))
	return strings.TrimPrefix(d, "/")
}

// parseMemoSize bounds the number of blob parses remembered during an update.
const parseMemoSize = 20_000

// errRewritten says the new head does not descend from the indexed head.
var errRewritten = errors.New("history rewritten")

// firstParentChain returns the commits from the indexed head (exclusive) to
// target, oldest first. It returns errRewritten, with the full chain, when
// the indexed head is not on target's first-parent chain.
func (ix *indexer) firstParentChain(ctx context.Context, from, target gitdb.Hash) ([]*gitdb.Commit, error) {
	var chain []*gitdb.Commit
	for h := target; !h.IsZero() && h != from; {
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
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	if !from.IsZero() && (len(chain) == 0 || chain[0].Parent != from) && target != from {
		return chain, errRewritten
	}
	return chain, nil
}

// update folds the commits from s.Head to target into s. Blobs are read here
// (go-git is not thread-safe) and parsed on all cores while the rules are
// applied in commit order on another goroutine.
func (ix *indexer) update(ctx context.Context, s *indexState, chain []*gitdb.Commit) error {
	ix.parseMemo = map[parseKey]*future{}
	defer func() { ix.parseMemo = nil }()
	jobs := make(chan parseJob, 256)
	var workers sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		workers.Go(func() {
			for j := range jobs {
				j.run()
			}
		})
	}
	type pending struct {
		ci      *gitdb.Commit
		changes []change
		futures []*future
	}
	ordered := make(chan pending, 1024)
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		done := 0
		for p := range ordered {
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
		}
	}()
	parent, err := ix.parentTree(chain)
	for _, ci := range chain {
		if err != nil {
			break
		}
		if err = ctx.Err(); err != nil {
			break
		}
		var changes []change
		changes, err = ix.commitChanges(parent, ci.Tree)
		if err != nil {
			break
		}
		futures := make([]*future, len(changes))
		for i := range changes {
			futures[i] = ix.parse(&changes[i], jobs)
		}
		if len(ix.parseMemo) > parseMemoSize {
			// forget old parses: a blob seen again later is parsed again,
			// but memory stays bounded on long histories
			ix.parseMemo = map[parseKey]*future{}
		}
		ordered <- pending{ci: ci, changes: changes, futures: futures}
		parent = ci.Tree
		ix.trees.NextCommit()
	}
	close(ordered)
	<-applied
	close(jobs)
	workers.Wait()
	return err
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
func (ix *indexer) commitChanges(parentTree, tree gitdb.Hash) ([]change, error) {
	var out []change
	for _, d := range []struct {
		dir  string
		unit bool
	}{{ix.dir, false}, {ix.unitDir, true}} {
		a, err := ix.subtreeOf(parentTree, d.dir)
		if err != nil {
			return nil, err
		}
		b, err := ix.subtreeOf(tree, d.dir)
		if err != nil {
			return nil, err
		}
		prefix := d.dir + "/"
		if d.dir == "" {
			prefix = ""
		}
		fcs, err := ix.trees.Diff(a, b, prefix, nil)
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

func (ix *indexer) subtreeOf(root gitdb.Hash, dir string) (gitdb.Hash, error) {
	if root.IsZero() || dir == "" {
		return root, nil
	}
	return ix.trees.Subtree(root, dir)
}

func isYAMLPath(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	return ext == ".yaml" || ext == ".yml"
}

// parse starts (or reuses) the parse of a change's new blob; with no jobs
// channel it parses at once.
func (ix *indexer) parse(c *change, jobs chan<- parseJob) *future {
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
	key := parseKey{c.NewHash, c.unitTest}
	if f, ok := ix.parseMemo[key]; ok {
		return f
	}
	f := &future{done: make(chan struct{})}
	ix.parseMemo[key] = f
	data, err := ix.store.ReadBlob(c.NewHash, schema.MaxFileSize)
	if err != nil {
		f.resolve(&parsedFile{problem: &schema.Finding{Line: 1, Column: 1, Message: err.Error()}})
		return f
	}
	j := parseJob{data: data, unit: c.unitTest, out: f}
	if jobs == nil {
		j.run()
	} else {
		jobs <- j
	}
	return f
}

func (f *future) resolve(r *parsedFile) {
	f.res = r
	close(f.done)
}

// parseJob parses one blob on a worker.
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
		p, _, fs := schema.ParsePersona("", j.data)
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
