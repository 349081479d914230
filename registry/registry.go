package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/personaregistry/personas/registry/gitdb"
)

// Options say which repository, branch and directories a Registry serves.
type Options struct {
	Repo   string // repository path: bare, or a worktree
	Branch string // served branch, default "main"
	// Rev, when set, indexes this revision (a sha, tag, HEAD~2 …) instead
	// of following Branch; the snapshot cache is not used.
	Rev       string
	Dir       string // persona directory inside the repository, default "personas"
	UnitTests string // unit-test directory, default "unit_tests"
	// PollInterval is how often the branch is checked without a file-system
	// event (default 5s; negative disables polling).
	PollInterval time.Duration
	// Remote, when set, is the git URL this repository is a clone of: writes
	// are pushed there before they are acknowledged, and Fetch follows it.
	Remote string
	// NoCache disables the snapshot cache under the git directory.
	NoCache bool
	Logger  *slog.Logger
	// PreviewRefs and PreviewBytes bound the cache of ref snapshots
	// (RefSnapshot): at most this many, of at most this many estimated
	// bytes in all (defaults DefaultPreviewRefs, DefaultPreviewBytes;
	// negative PreviewRefs disables the cache).
	PreviewRefs  int
	PreviewBytes int64
	// Checkpoints is how many states of the branch are kept to build ref
	// snapshots from (default DefaultCheckpoints; negative keeps none).
	Checkpoints int
	// OneShot says the registry serves one read and is closed (a command
	// line tool): a first snapshot is published without returning the
	// memory its building freed to the system first, and Close saves the
	// snapshot cache only when 1,000 commits or more are not in it.
	OneShot bool
	// Progress, when set, is called after each commit of a history walk
	// with the commits read so far and the walk's total, one call at a
	// time from the walk's goroutine; it must return quickly.
	Progress func(done, total int)
	// Saving, when set, is called with true before the snapshot cache is
	// saved while serving and with false after: the save allocates as much
	// as the index holds, which a heap pacer may want to know.
	Saving func(saving bool)
}

func (o *Options) setDefaults() {
	if o.Branch == "" {
		o.Branch = "main"
	}
	if o.Dir == "" {
		o.Dir = "personas"
	}
	if o.UnitTests == "" {
		o.UnitTests = "unit_tests"
	}
	if o.PollInterval == 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Registry keeps a Snapshot of a branch current. One goroutine owns the git
// repository and does all reading and writing; readers get the current
// Snapshot through an atomic pointer.
type Registry struct {
	opts  Options
	log   *slog.Logger
	snap  atomic.Pointer[Snapshot]
	ready chan struct{}

	reqs      chan func()
	fetchSoon chan struct{}
	ctx       context.Context // ends at Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	// owned by the owner goroutine
	store    *gitdb.Repo
	ix       *indexer
	state    *indexState
	searcher *searcher
	dirty    int  // commits read since the cache was saved
	loaded   bool // the state came from the snapshot cache (its decoding left garbage)

	checkpoints *checkpoints // states of the branch at older commits
	refs        *refCache    // snapshots of other refs
	fetcher     *refFetcher  // refs a replica fetched on request; expired under mu

	resolved resolutions   // ref names resolved before, for requests off the owner goroutine
	fetchGen atomic.Uint64 // bumped when fetched refs expire: their resolutions go too

	mu        sync.Mutex
	published *sync.Cond // broadcast when a snapshot is published
	closed    bool
}

// Open opens the repository and starts the goroutine that owns it. It does
// not read history: call Refresh (and Watch to follow the branch).
// Errors: EINVALID when path is not a git repository.
func Open(opts Options) (*Registry, error) {
	opts.setDefaults()
	store, err := gitdb.Open(opts.Repo)
	if err != nil {
		return nil, gitError(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Registry{
		opts:      opts,
		log:       opts.Logger,
		ready:     make(chan struct{}),
		reqs:      make(chan func()),
		fetchSoon: make(chan struct{}, 1),
		ctx:       ctx,
		cancel:    cancel,
		store:     store,
		ix:        newIndexer(store, opts.Dir, opts.UnitTests),
		state:     newIndexState(),
		searcher:  newSearcher(),

		checkpoints: newCheckpoints(opts.Checkpoints),
		refs:        newRefCache(opts.PreviewRefs, opts.PreviewBytes),
		fetcher:     newRefFetcher(),
	}
	r.published = sync.NewCond(&r.mu)
	r.ix.progress = opts.Progress
	r.wg.Go(func() { r.own(ctx) })
	return r, nil
}

// own runs every function that touches the repository, one at a time.
func (r *Registry) own(ctx context.Context) {
	for {
		select {
		case fn := <-r.reqs:
			fn()
		case <-ctx.Done():
			// a command that read a few new commits leaves the cache: the
			// next one replays them faster than 100 MB are written
			if r.dirty >= cacheSaveEvery || (r.dirty > 0 && !r.opts.OneShot) {
				r.saveCache()
			}
			_ = r.store.Close()
			return
		}
	}
}

// do runs fn on the owner goroutine and waits for it.
func (r *Registry) do(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	select {
	case r.reqs <- func() { done <- fn() }:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.ctx.Done():
		return Errorf(EUNAVAILABLE, "registry closed")
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops watching and the owner goroutine, saving the snapshot cache.
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.published.Broadcast()
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	return nil
}

// Snapshot returns the current snapshot, or nil before the first Refresh.
func (r *Registry) Snapshot() *Snapshot { return r.snap.Load() }

// Ready is closed once the first snapshot is published.
func (r *Registry) Ready() <-chan struct{} { return r.ready }

// Refresh reads the commits made on the branch since the last snapshot and
// publishes a new one. It returns the current snapshot.
func (r *Registry) Refresh(ctx context.Context) (*Snapshot, error) {
	err := r.do(ctx, func() error { return r.refresh(ctx) })
	return r.snap.Load(), err
}

// refresh runs on the owner goroutine.
func (r *Registry) refresh(ctx context.Context) error {
	target, err := r.target()
	if err != nil {
		return err
	}
	if cur := r.snap.Load(); cur != nil && target == r.state.Head {
		return nil
	}
	if r.snap.Load() == nil && !r.opts.NoCache && r.opts.Rev == "" {
		r.loaded = r.loadCache()
	}
	err = r.advance(ctx, target)
	if isMissingObject(err) {
		r.log.Info("reopening repository storage after a missing object", "err", err)
		r.store.Reopen()
		err = r.advance(ctx, target)
	}
	if err != nil {
		return fmt.Errorf("index %s: %w", r.opts.Branch, err)
	}
	return nil
}

// target is the commit to index: the branch head, or Rev.
func (r *Registry) target() (gitdb.Hash, error) {
	if r.opts.Rev != "" {
		h, err := r.store.ResolveRevision(r.opts.Rev)
		return h, gitError(err)
	}
	return r.store.ResolveBranch(r.opts.Branch)
}

// advance reads the commits up to target and publishes the snapshot. The
// commits are replayed on the nearest known state on target's first-parent
// chain: the served head, or after a force-push a checkpoint or a cached
// ref snapshot, so that amending the head replays a commit or a few
// instead of the whole history. A heavy first snapshot is published only
// once the work its building leaves behind is done (cache saved, the cold
// index's garbage returned), so that ready means ready. While serving, the
// heavy work of a long run of commits, and cache saves, run at a low CPU
// priority so that they cannot take the CPU from requests.
func (r *Registry) advance(ctx context.Context, target gitdb.Hash) error {
	start := time.Now()
	serving := r.snap.Load() != nil
	var base *indexState
	var chain []*gitdb.Commit
	var err error
	readChain := func() { base, chain, err = r.knownBase(ctx, target, nil) }
	if serving {
		// a rewrite without a known state is a read of the whole history:
		// Busy lets it read the packs through their mappings
		inBackground(1, func() {
			r.ix.store.Busy()
			defer r.ix.store.Idle()
			readChain()
		})
	} else {
		// nothing is served yet: the second core diffs and parses the
		// newest commits while this one reads the chain
		sp := r.ix.speculate(ctx)
		base, chain, err = r.knownBase(ctx, target, sp.add)
		r.ix.ready = sp.finish()
		r.log.Info("read the first-parent chain", "commits", len(chain), "diffed", len(r.ix.ready),
			"duration", time.Since(start).Round(time.Millisecond))
		defer func() { r.ix.ready = nil }() // on every path; the build lets go of it sooner
	}
	if err != nil {
		return err
	}
	rebuilt := base != r.state
	if rebuilt {
		r.log.Info("history rewritten: replaying from the nearest known state", "branch", r.opts.Branch,
			"from", base.Head.String(), "commits", len(chain))
		r.state = thaw(base)
	}
	heavy := len(chain) >= cacheSaveEvery
	settling := !serving && (heavy || r.loaded)
	var snap *Snapshot
	build := func() {
		snap, err = r.build(ctx, chain, rebuilt, settling && !r.opts.OneShot)
		r.ix.ready = nil // the speculated commits are applied: settle's collection frees them
	}
	if serving && (heavy || rebuilt) { // a replay builds a new snapshot from a copied state: 150 ms at 10,000 personas
		// the owner and every worker on low-priority threads, each
		// holding a P: as many spare Ps keep requests running
		r.ix.background = true
		inBackground(1+walkWorkers(), build)
		r.ix.background = false
	} else {
		build()
	}
	if err != nil {
		return err
	}
	commits := len(chain)
	base, chain = nil, nil // settle's collection frees them
	r.dirty += commits
	if rebuilt {
		// the cache's head is no longer on the branch: a restart would
		// read the whole history
		r.dirty = max(r.dirty, cacheSaveEvery)
	}
	if settling {
		r.settle()
	}
	r.publish(snap)
	r.log.Info("indexed", "branch", r.opts.Branch, "head", r.state.Head.String(), "commits", commits,
		"rebuilt", rebuilt, "personas", len(r.state.Personas), "duration", time.Since(start).Round(time.Millisecond))
	refreshDuration.Observe(time.Since(start).Seconds())
	if serving && r.dirty >= cacheSaveEvery {
		if r.opts.Saving != nil {
			r.opts.Saving(true)
			defer r.opts.Saving(false)
		}
		inBackground(1, r.saveAndRelease(heavy))
	}
	return nil
}

// inBackground runs fn on a low-priority thread with extraPs more Ps, so
// that request goroutines keep theirs (see withSparePs).
func inBackground(extraPs int, fn func()) { withSparePs(extraPs, func() { runLowPriority(fn) }) }

// saveAndRelease saves the snapshot cache and, after a heavy update, returns
// the replaced index's memory to the system.
func (r *Registry) saveAndRelease(heavy bool) func() {
	return func() {
		r.saveCache()
		if heavy {
			debug.FreeOSMemory() // the replaced index
		}
	}
}

// build applies the chain to the state and makes its snapshot; compact
// (only before the first snapshot) moves the state's lasting objects side
// by side first.
func (r *Registry) build(ctx context.Context, chain []*gitdb.Commit, rebuilt, compact bool) (*Snapshot, error) {
	err := r.updateWithCheckpoints(ctx, r.state, chain)
	if err != nil {
		return nil, err
	}
	if compact {
		r.state.compact(r.checkpoints.states())
	}
	var headTime time.Time
	if len(chain) > 0 {
		headTime = chain[len(chain)-1].Time
	} else if cur := r.snap.Load(); cur != nil && !rebuilt && cur.Head == r.state.Head.String() {
		headTime = cur.HeadTime
	} else if !r.state.Head.IsZero() {
		ci, err := r.store.Commit(r.state.Head)
		if err != nil {
			return nil, err
		}
		headTime = ci.Time
	}
	return newSnapshot(r.state, headTime, r.searcher, r.opts.OneShot), nil
}

// settle does, before a first snapshot of a long read (or of a loaded
// cache) is published, the work that would otherwise compete with the first
// requests: it saves the snapshot cache and returns the cold index's
// garbage to the system. A short first read leaves too little to matter.
func (r *Registry) settle() {
	start := time.Now()
	if r.dirty >= cacheSaveEvery {
		r.saveCache()
	}
	if !r.opts.OneShot {
		debug.FreeOSMemory()
	}
	r.log.Info("settled before ready", "duration", time.Since(start).Round(time.Millisecond))
}

func (r *Registry) publish(s *Snapshot) {
	r.snap.Store(s)
	select {
	case <-r.ready:
	default:
		close(r.ready)
	}
	r.mu.Lock()
	r.published.Broadcast()
	r.mu.Unlock()
}

// WaitFor blocks until the published snapshot's head is commit (or the
// context ends), for read-your-writes.
func (r *Registry) WaitFor(ctx context.Context, commit string) (*Snapshot, error) {
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.published.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if s := r.snap.Load(); s != nil && s.Head == commit {
			return s, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.closed {
			return nil, Errorf(EUNAVAILABLE, "registry closed")
		}
		r.published.Wait()
	}
}

func isMissingObject(err error) bool {
	return errors.Is(err, gitdb.ErrObjectNotFound)
}
