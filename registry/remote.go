package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/ssh"
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
	if repo, err := git.PlainOpen(dir); err == nil {
		cfg, err := repo.Config()
		if err != nil {
			return fmt.Errorf("read %s: %w", dir, err)
		}
		if r, ok := cfg.Remotes["origin"]; !ok || len(r.URLs) == 0 || r.URLs[0] != url {
			return Errorf(EINVALID, "%s is a clone of another repository; choose another --clone-dir", dir)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	auth, err := remoteAuth(url)
	if err != nil {
		return err
	}
	tmp := dir + ".partial"
	os.RemoveAll(tmp)
	if _, err := git.PlainCloneContext(ctx, tmp, true, &git.CloneOptions{URL: url, Auth: auth, Tags: git.NoTags}); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("clone %s: %w", url, err)
	}
	return os.Rename(tmp, dir)
}

// remoteAuth reads credentials for url from the environment:
// PERSONAS_GIT_USERNAME and PERSONAS_GIT_PASSWORD (or PERSONAS_GIT_TOKEN)
// for https; PERSONAS_GIT_SSH_KEY (and PERSONAS_GIT_SSH_PASSPHRASE), else
// the ssh agent, for ssh.
func remoteAuth(url string) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, Errorf(EINVALID, "remote %q: %v", url, err)
	}
	switch ep.Protocol {
	case "http", "https":
		user, pass := os.Getenv("PERSONAS_GIT_USERNAME"), os.Getenv("PERSONAS_GIT_PASSWORD")
		if tok := os.Getenv("PERSONAS_GIT_TOKEN"); tok != "" && pass == "" {
			pass = tok
			if user == "" {
				user = "x-access-token"
			}
		}
		if user == "" && pass == "" {
			return nil, nil
		}
		return &http.BasicAuth{Username: user, Password: pass}, nil
	case "ssh":
		user := ep.User
		if user == "" {
			user = "git"
		}
		if key := os.Getenv("PERSONAS_GIT_SSH_KEY"); key != "" {
			return ssh.NewPublicKeysFromFile(user, key, os.Getenv("PERSONAS_GIT_SSH_PASSPHRASE"))
		}
		return ssh.NewSSHAgentAuth(user)
	}
	return nil, nil
}

// remoteRef is where fetched commits of the branch land.
func (r *Registry) remoteRef() plumbing.ReferenceName {
	return plumbing.ReferenceName("refs/remotes/origin/" + r.opts.Branch)
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
	auth, err := remoteAuth(r.opts.Remote)
	if err != nil {
		return err
	}
	repo, err := git.Open(r.store.st, nil)
	if err != nil {
		return fmt.Errorf("open repository: %w", err)
	}
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:%s", r.opts.Branch, r.remoteRef()))
	err = repo.FetchContext(ctx, &git.FetchOptions{RemoteURL: r.opts.Remote, RefSpecs: []config.RefSpec{spec},
		Auth: auth, Tags: git.NoTags, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetch %s: %w", r.opts.Remote, err)
	}
	if err == nil {
		r.store.reopen() // new pack files
	}
	ref, err := r.store.st.Reference(r.remoteRef())
	if err != nil {
		return fmt.Errorf("fetch %s: branch %s: %w", r.opts.Remote, r.opts.Branch, err)
	}
	local, err := r.store.resolveBranch(r.opts.Branch)
	if err != nil {
		return err
	}
	if local != ref.Hash() {
		if err := r.store.updateRef(r.opts.Branch, local, ref.Hash()); err != nil {
			return fmt.Errorf("move %s to the remote's %s: %w", r.opts.Branch, ref.Hash(), err)
		}
	}
	return r.refresh(ctx)
}

// push sends commit to the remote branch, with a lease: the remote branch
// must still be at base. It returns errRefMoved when the remote moved.
func (r *Registry) push(ctx context.Context, base, commit plumbing.Hash) error {
	auth, err := remoteAuth(r.opts.Remote)
	if err != nil {
		return err
	}
	repo, err := git.Open(r.store.st, nil)
	if err != nil {
		return err
	}
	dst := "refs/heads/" + r.opts.Branch
	err = repo.PushContext(ctx, &git.PushOptions{
		RemoteURL:         r.opts.Remote,
		RefSpecs:          []config.RefSpec{config.RefSpec(commit.String() + ":" + dst)},
		RequireRemoteRefs: []config.RefSpec{config.RefSpec(base.String() + ":" + dst)},
		Auth:              auth,
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, git.ErrNonFastForwardUpdate), strings.Contains(err.Error(), "remote ref"),
		strings.Contains(err.Error(), "non-fast-forward"), strings.Contains(err.Error(), "rejected"):
		return errRefMoved
	}
	// git's receive-pack says "failed to update ref" when another replica
	// won the race: ask the remote where the branch is now
	if moved, lerr := r.remoteMoved(ctx, repo, auth, base); lerr == nil && moved {
		return errRefMoved
	}
	return &Error{Code: EUNAVAILABLE, Message: "the remote refused the push", Err: err}
}

// remoteMoved reports whether the remote branch is no longer at base.
func (r *Registry) remoteMoved(ctx context.Context, repo *git.Repository, auth transport.AuthMethod, base plumbing.Hash) (bool, error) {
	rem := git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{r.opts.Remote}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return false, err
	}
	for _, ref := range refs {
		if ref.Name() == plumbing.NewBranchReferenceName(r.opts.Branch) {
			return ref.Hash() != base, nil
		}
	}
	return !base.IsZero(), nil
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
