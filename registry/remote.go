package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/personaregistry/personas/registry/gitdb"
)

// DefaultCloneDir is where a replica keeps its bare clone of a remote when
// no directory is given: a per-URL directory under the user cache directory.
func DefaultCloneDir(url string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache directory: %w", err)
	}
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(base, "personas", "clones", hex.EncodeToString(sum[:8])+".git"), nil
}

// EnsureClone makes dir a bare clone of url with full history (version
// numbers need every commit), or reuses the clone already there; new commits
// are fetched by the Registry.
// Errors: EINVALID when dir holds a clone of another URL.
func EnsureClone(ctx context.Context, url, dir string) error {
	return gitError(gitdb.EnsureClone(ctx, url, dir))
}

// Fetch brings the served branch up to date with the remote (fast-forward,
// or reset after a force-push) and refreshes the snapshot.
func (r *Registry) Fetch(ctx context.Context) error {
	if r.opts.Remote == "" {
		return Errorf(EINVALID, "no remote configured")
	}
	return r.do(ctx, func() error { return r.fetch(ctx) })
}

// fetch runs on the owner goroutine.
func (r *Registry) fetch(ctx context.Context) error {
	remote, err := r.store.Fetch(ctx, r.opts.Remote, r.opts.Branch)
	if err != nil {
		return gitError(err)
	}
	local, err := r.store.ResolveBranch(r.opts.Branch)
	if err != nil {
		return err
	}
	if local != remote {
		if err := r.store.UpdateRef(r.opts.Branch, local, remote); err != nil {
			return fmt.Errorf("move %s to the remote's %s: %w", r.opts.Branch, remote, err)
		}
	}
	return r.refresh(ctx)
}

// push sends commit to the remote branch, with a lease: the remote branch
// must still be at base. It returns gitdb.ErrRefMoved when the remote moved.
func (r *Registry) push(ctx context.Context, base, commit gitdb.Hash) error {
	return gitError(r.store.Push(ctx, r.opts.Remote, r.opts.Branch, base, commit))
}

// SyncRemote fetches on the interval and whenever FetchSoon is called, until
// Close. Errors are logged; the last snapshot keeps being served.
func (r *Registry) SyncRemote(interval time.Duration) {
	r.wg.Go(func() {
		var tick <-chan time.Time
		if interval > 0 {
			t := time.NewTicker(interval)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-r.ctx.Done():
				return
			case <-tick:
			case <-r.fetchSoon:
			}
			if err := r.Fetch(r.ctx); err != nil && r.ctx.Err() == nil {
				r.log.Error("fetch failed; serving the last snapshot", "remote", r.opts.Remote, "err", err)
			}
		}
	})
}

// FetchSoon asks the sync loop to fetch now (a push webhook arrived).
func (r *Registry) FetchSoon() {
	select {
	case r.fetchSoon <- struct{}{}:
	default:
	}
}
