package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/personaregistry/personas/registry/gitdb"
)

// RefSnapshot returns the registry as of ref: a branch, a tag, a full or
// abbreviated commit, or any ref under refs/ (pull/123/head,
// merge-requests/45/head). The snapshot is built from the nearest known
// state on the ref's first-parent chain (the served branch's head, a
// checkpoint, or a cached ref snapshot) plus the ref's own commits since,
// and kept in a bounded LRU. A branch is resolved again on every call, so
// new commits are followed: a name resolved before whose ref files are
// unchanged, with its snapshot at hand, is answered at once, without the
// repository's goroutine. With a remote, a ref the clone lacks is fetched.
// Errors: ENOTFOUND for an unknown ref, EINVALID for a malformed name.
func (r *Registry) RefSnapshot(ctx context.Context, ref string) (*Snapshot, error) {
	if err := checkRefName(ref); err != nil {
		return nil, err
	}
	if snap := r.cachedRefSnapshot(ref); snap != nil {
		return snap, nil
	}
	var snap *Snapshot
	err := r.do(ctx, func() error {
		h, res, err := r.resolveRef(ctx, ref)
		if err != nil {
			r.resolved.drop(ref)
			return err
		}
		snap, err = r.snapshotAt(ctx, h)
		if err == nil && res != nil {
			r.resolved.put(ref, res)
		}
		return err
	})
	return snap, err
}

// snapshotAt runs on the owner goroutine.
func (r *Registry) snapshotAt(ctx context.Context, h gitdb.Hash) (*Snapshot, error) {
	if cur := r.snap.Load(); cur != nil && cur.Head == h.String() && r.state.Head == h {
		return cur, nil
	}
	if e := r.refs.get(h); e != nil {
		refHits.Inc()
		return e.snap, nil
	}
	refRequests.WithLabelValues("build").Inc()
	start := time.Now()
	s, replayed, err := r.stateAt(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("index ref at %s: %w", h, err)
	}
	ci, err := r.store.Commit(h)
	if err != nil {
		return nil, err
	}
	snap := newSnapshot(s, ci.Time, r.searcher, false)
	e := &refEntry{head: h, state: freeze(s), snap: snap}
	e.bytes = estimateBytes(e.state, snap, r.state)
	r.refs.put(e, replayed)
	r.log.Info("ref snapshot built", "head", h.String(), "replayed", replayed,
		"duration", time.Since(start).Round(time.Microsecond), "bytes", e.bytes)
	return snap, nil
}

// stateAt returns a fresh index state at commit target: the nearest known
// state on target's first-parent chain plus the commits after it. It also
// returns how many commits were replayed. Runs on the owner goroutine.
func (r *Registry) stateAt(ctx context.Context, target gitdb.Hash) (*indexState, int, error) {
	base, chain, err := r.knownBase(ctx, target, nil)
	if err != nil {
		return nil, 0, err
	}
	s := thaw(base)
	report := r.ix.progress
	r.ix.progress = nil // Options.Progress follows the served branch only
	err = r.ix.update(ctx, s, chain, nil)
	r.ix.progress = report
	if err != nil {
		return nil, 0, err
	}
	return s, len(chain), nil
}

// knownBase walks target's first-parent chain back to the nearest known
// state and returns it with the commits after it, oldest first; seen, if
// not nil, is given each commit as it is read, newest first. Runs on the
// owner goroutine.
func (r *Registry) knownBase(ctx context.Context, target gitdb.Hash, seen func(*gitdb.Commit)) (*indexState, []*gitdb.Commit, error) {
	var chain []*gitdb.Commit
	h := target
	var base *indexState
	for {
		if base = r.knownState(h); base != nil {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		ci, err := r.store.Commit(h)
		if err != nil {
			return nil, nil, err
		}
		chain = append(chain, ci)
		if seen != nil {
			seen(ci)
		}
		h = ci.Parent
	}
	slices.Reverse(chain)
	return base, chain, nil
}

// knownState returns a state at h that must not be changed: the served
// head, a checkpoint, a cached ref snapshot, or the empty state for the
// zero hash (before a root commit).
func (r *Registry) knownState(h gitdb.Hash) *indexState {
	switch {
	case h == r.state.Head:
		return r.state
	case h.IsZero():
		return newIndexState()
	}
	if s := r.checkpoints.at(h); s != nil {
		return s
	}
	if e := r.refs.peek(h); e != nil {
		return e.state
	}
	return nil
}

// RefStats describes the cache of ref snapshots.
type RefStats struct {
	Refs, MaxRefs   int   // snapshots cached, and the bound
	Bytes, MaxBytes int64 // their estimated size, and the bound
	Builds          int64 // snapshots built since Open
	Replayed        int64 // commits those builds read (the rest came from known states)
}

// RefStats returns how many ref snapshots are cached and their estimated size.
func (r *Registry) RefStats() RefStats { return r.refs.stats() }

// checkRefName refuses names that git would not accept as a ref or a commit.
func checkRefName(ref string) error {
	bad := func(why string) error {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("ref %q is not a valid ref name: %s", ref, why),
			Fields: []FieldError{{Loc: []string{"path", "ref"}, Msg: why}}}
	}
	switch {
	case ref == "":
		return bad("empty")
	case len(ref) > 255:
		return bad("longer than 255 bytes")
	case strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/") || strings.Contains(ref, "//"):
		return bad("empty path component")
	case strings.HasPrefix(ref, "-"):
		return bad("starts with '-'")
	case strings.Contains(ref, ".."), strings.Contains(ref, "@{"), strings.HasSuffix(ref, ".lock"), strings.HasSuffix(ref, "."):
		return bad("contains '..', '@{' or ends with '.lock' or '.'")
	}
	for _, c := range ref {
		if c < 0x21 || c == 0x7f || strings.ContainsRune(`~^:?*[\`, c) {
			return bad(fmt.Sprintf("character %q not allowed", c))
		}
	}
	for _, part := range strings.Split(ref, "/") {
		if strings.HasPrefix(part, ".") {
			return bad("a component starts with '.'")
		}
	}
	return nil
}
