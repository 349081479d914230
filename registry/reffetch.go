package registry

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/personaregistry/personas/registry/gitdb"
)

// Timing of the refs a replica fetches on request.
const (
	// refFetchTTL is how long a fetched ref is served before a request
	// fetches it again (a push webhook expires it at once).
	refFetchTTL = 30 * time.Second
	// refMissTTL is how long a ref the remote does not have is answered 404
	// without asking the remote again.
	refMissTTL = 10 * time.Second
	// previewNamespace is where refs fetched on request are kept locally.
	previewNamespace = "refs/personas-preview/"
)

// fetchedRef is a ref a replica fetched on request.
type fetchedRef struct {
	local string // full name of the local copy
	at    time.Time
}

// refFetcher remembers the refs fetched on request and the misses. It is
// used on the owner goroutine, and by ExpireFetchedRefs under mu.
type refFetcher struct {
	fetched map[string]*fetchedRef // by requested name
	misses  map[string]time.Time
	expired bool // a webhook asked: refetch every ref on its next request
}

func newRefFetcher() *refFetcher {
	return &refFetcher{fetched: map[string]*fetchedRef{}, misses: map[string]time.Time{}}
}

// ExpireFetchedRefs makes the next request for each ref fetched on request
// fetch it again (a push or pull-request webhook arrived).
func (r *Registry) ExpireFetchedRefs() {
	r.mu.Lock()
	r.fetcher.expired = true
	r.fetchGen.Add(1) // and no request reuses what they resolved to
	r.mu.Unlock()
}

// resolveRef resolves a ref name to a commit, fetching it from the remote
// when this is a replica and the clone lacks it (or its copy is old). It
// also returns how the answer may be reused by requests (nil: it may not).
// Runs on the owner goroutine.
func (r *Registry) resolveRef(ctx context.Context, name string) (gitdb.Hash, *resolution, error) {
	gen := r.fetchGen.Load() // before anything is read: an expiry after it voids the answer
	if r.opts.Remote == "" {
		h, res, err := r.resolveLocalRef(name)
		return h, res.in(gen), err
	}
	f := r.fetcher
	r.mu.Lock()
	if f.expired {
		for _, fr := range f.fetched {
			fr.at = time.Time{}
		}
		clear(f.misses)
		f.expired = false
	}
	r.mu.Unlock()
	if name == r.opts.Branch || isHexName(name) {
		if h, res, err := r.resolveLocalRef(name); err == nil {
			return h, res.in(gen), nil // the served branch (kept current by the sync loop), or a commit
		}
	}
	fr := f.fetched[name]
	if fr != nil && time.Since(fr.at) < refFetchTTL {
		start, dir := time.Now(), r.store.GitDir()
		stamps := []fileStamp{stampFile(filepath.Join(dir, filepath.FromSlash(fr.local))),
			stampFile(filepath.Join(dir, "packed-refs"))}
		if h, _, ok, err := r.store.ReadRef(fr.local); err == nil && ok && !h.IsZero() {
			h, err := r.peel(h)
			if err != nil {
				return gitdb.ZeroHash, nil, err
			}
			res := &resolution{head: h, files: stamps, until: fr.at.Add(refFetchTTL), gen: gen}
			if !res.trusted(start) {
				res = nil
			}
			return h, res, nil
		}
	}
	if at, ok := f.misses[name]; ok && time.Since(at) < refMissTTL {
		return gitdb.ZeroHash, nil, notFoundRef(name, fmt.Sprintf(" (nor on the remote, asked %s ago)", time.Since(at).Round(time.Second)))
	}
	h, err := r.fetchRef(ctx, name)
	switch code := ErrorCode(err); {
	case err == nil:
		return h, nil, nil
	case code == ENOTFOUND:
		delete(f.fetched, name)
		for n, at := range f.misses {
			if time.Since(at) >= refMissTTL {
				delete(f.misses, n)
			}
		}
		f.misses[name] = time.Now()
	case fr != nil:
		// the remote is unreachable: serve the copy fetched earlier
		if h, _, ok, rerr := r.store.ReadRef(fr.local); rerr == nil && ok && !h.IsZero() {
			r.log.Warn("refetching a ref failed; serving the copy fetched earlier", "ref", name, "err", err)
			h, err := r.peel(h)
			return h, nil, err
		}
	}
	return gitdb.ZeroHash, nil, err
}

// isHexName says whether name can be an abbreviated or full commit id.
func isHexName(name string) bool {
	if len(name) < 4 || len(name) > 40 {
		return false
	}
	for _, c := range name {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// resolveLocalRef resolves name in the local repository, like git rev-parse
// (a full or abbreviated commit, then NAME, refs/NAME, refs/tags/NAME,
// refs/heads/NAME, refs/remotes/NAME, refs/remotes/NAME/HEAD), peeling
// tags. The answer may be reused for a full commit id (forever) and for a
// name whose winning candidate is a plain (not symbolic) ref (while the
// files that decided it are unchanged).
func (r *Registry) resolveLocalRef(name string) (gitdb.Hash, *resolution, error) {
	if isHexName(name) {
		h, err := r.store.ResolveRevision(name)
		if err != nil {
			return gitdb.ZeroHash, nil, notFoundRef(name, "")
		}
		if len(name) == 40 {
			return h, &resolution{head: h}, nil // a full commit id names this commit for good
		}
		return h, nil, nil
	}
	start := time.Now()
	bare, cands, stamps := r.localStamps(name)
	h, n, ok := r.plainRef(cands)
	if bare != nil && bare.exists {
		ok = false // HEAD, FETCH_HEAD …: git's rules, uncached
	}
	if !ok || !r.knownHead(h) {
		var err error
		if h, err = r.store.ResolveRevision(name); err != nil {
			return gitdb.ZeroHash, nil, notFoundRef(name, "")
		}
	}
	if !ok {
		return h, nil, nil
	}
	// the winner and the candidates before it, the bare name, and
	// packed-refs unless the winner is the first candidate and loose (a
	// loose ref hides its packed entry; nothing comes before it there)
	files := stamps[: n+1 : n+1]
	if n > 0 || !stamps[n].exists {
		files = append(files, stamps[len(stamps)-1])
	}
	if bare != nil {
		files = append(files, *bare)
	}
	res := &resolution{head: h, files: files}
	if !res.trusted(start) {
		return h, nil, nil
	}
	return h, res, nil
}

// plainRef reads the candidates in order: the first that exists, when it
// is a plain ref, with its index. Symbolic and unreadable refs are left to
// git's rules (ok false).
func (r *Registry) plainRef(cands []string) (h gitdb.Hash, i int, ok bool) {
	for i, c := range cands {
		h, symbolic, exists, err := r.store.ReadRef(c)
		if err != nil {
			return gitdb.ZeroHash, 0, false
		}
		if !exists {
			continue
		}
		return h, i, !symbolic && !h.IsZero()
	}
	return gitdb.ZeroHash, 0, false
}

// knownHead says whether h is the served head or a cached ref snapshot's.
func (r *Registry) knownHead(h gitdb.Hash) bool {
	return (!h.IsZero() && h == r.state.Head) || r.refs.peek(h) != nil
}

func notFoundRef(name, detail string) error {
	return Errorf(ENOTFOUND, "ref %q not found: no branch, tag, commit or refs/%s names it%s", name, name, detail)
}

// peel returns the commit a ref's object stands for (tags are peeled).
func (r *Registry) peel(h gitdb.Hash) (gitdb.Hash, error) {
	if r.knownHead(h) {
		return h, nil
	}
	return r.store.ResolveRevision(h.String())
}

// fetchRef asks the remote for name (as refs/NAME, refs/tags/NAME or
// refs/heads/NAME, in git's order; refs/pull/*/head and
// refs/merge-requests/*/head included) and fetches it into the preview
// namespace. Errors: ENOTFOUND when the remote has no such ref.
func (r *Registry) fetchRef(ctx context.Context, name string) (gitdb.Hash, error) {
	advertised, err := r.store.RemoteRefs(ctx, r.opts.Remote)
	if errors.Is(err, gitdb.ErrInvalid) {
		return gitdb.ZeroHash, err
	}
	if err != nil {
		return gitdb.ZeroHash, &Error{Code: EUNAVAILABLE, Message: fmt.Sprintf("ask the remote for ref %q: %v", name, err), Err: err}
	}
	remote := ""
	for _, cand := range []string{name, "refs/" + name, "refs/tags/" + name, "refs/heads/" + name} {
		if strings.HasPrefix(cand, "refs/") && advertised[cand] {
			remote = cand
			break
		}
	}
	if remote == "" {
		return gitdb.ZeroHash, notFoundRef(name, " (nor on the remote)")
	}
	local := previewNamespace + strings.TrimPrefix(remote, "refs/")
	h, err := r.store.FetchRef(ctx, r.opts.Remote, remote, local)
	if err != nil {
		return gitdb.ZeroHash, &Error{Code: EUNAVAILABLE, Message: fmt.Sprintf("fetch %s from the remote: %v", remote, err), Err: err}
	}
	r.fetcher.fetched[name] = &fetchedRef{local: local, at: time.Now()}
	r.log.Info("fetched ref on request", "ref", name, "remote_ref", remote, "head", h.String())
	return r.peel(h)
}
