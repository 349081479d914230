package gitdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// EnsureClone makes dir a bare clone of url with full history, or reuses the
// clone already there.
// Errors: ErrInvalid when dir holds a clone of another URL, or url is malformed.
func EnsureClone(ctx context.Context, url, dir string) error {
	if repo, err := git.PlainOpen(dir); err == nil {
		cfg, err := repo.Config()
		if err != nil {
			return fmt.Errorf("read %s: %w", dir, err)
		}
		if r, ok := cfg.Remotes["origin"]; !ok || len(r.URLs) == 0 || r.URLs[0] != url {
			return invalidf("%s is a clone of another repository; choose another --clone-dir", dir)
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
		return nil, invalidf("remote %q: %v", url, err)
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

// remoteRef is where fetched commits of branch land.
func remoteRef(branch string) plumbing.ReferenceName {
	return plumbing.ReferenceName("refs/remotes/origin/" + branch)
}

// Fetch brings the remote's branch into refs/remotes/origin/<branch>
// (forced: the remote may have been force-pushed) and returns the commit it
// points to. The local branch is left alone. New packs are opened.
func (r *Repo) Fetch(ctx context.Context, url, branch string) (Hash, error) {
	auth, err := remoteAuth(url)
	if err != nil {
		return ZeroHash, err
	}
	repo, err := git.Open(r.st, nil)
	if err != nil {
		return ZeroHash, fmt.Errorf("open repository: %w", err)
	}
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:%s", branch, remoteRef(branch)))
	err = repo.FetchContext(ctx, &git.FetchOptions{RemoteURL: url, RefSpecs: []config.RefSpec{spec},
		Auth: auth, Tags: git.NoTags, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return ZeroHash, fmt.Errorf("fetch %s: %w", url, err)
	}
	if err == nil {
		r.Reopen() // new pack files
	}
	ref, err := r.st.Reference(remoteRef(branch))
	if err != nil {
		return ZeroHash, fmt.Errorf("fetch %s: branch %s: %w", url, branch, err)
	}
	return Hash(ref.Hash()), nil
}

// Push sends commit to the remote's branch with a lease: the remote branch
// must still be at base (zero: must not exist).
// Errors: ErrRefMoved when the remote branch moved; *PushError when the
// remote refused for another reason.
func (r *Repo) Push(ctx context.Context, url, branch string, base, commit Hash) error {
	auth, err := remoteAuth(url)
	if err != nil {
		return err
	}
	repo, err := git.Open(r.st, nil)
	if err != nil {
		return err
	}
	dst := "refs/heads/" + branch
	err = repo.PushContext(ctx, &git.PushOptions{
		RemoteURL:         url,
		RefSpecs:          []config.RefSpec{config.RefSpec(commit.String() + ":" + dst)},
		RequireRemoteRefs: []config.RefSpec{config.RefSpec(base.String() + ":" + dst)},
		Auth:              auth,
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, git.ErrNonFastForwardUpdate), strings.Contains(err.Error(), "remote ref"),
		strings.Contains(err.Error(), "non-fast-forward"), strings.Contains(err.Error(), "rejected"):
		return ErrRefMoved
	}
	// git's receive-pack says "failed to update ref" when another replica
	// won the race: ask the remote where the branch is now
	if moved, lerr := remoteMoved(ctx, repo, url, branch, auth, base); lerr == nil && moved {
		return ErrRefMoved
	}
	return &PushError{Err: err}
}

// remoteMoved reports whether the remote branch is no longer at base.
func remoteMoved(ctx context.Context, repo *git.Repository, url, branch string, auth transport.AuthMethod, base Hash) (bool, error) {
	rem := git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return false, err
	}
	for _, ref := range refs {
		if ref.Name() == plumbing.NewBranchReferenceName(branch) {
			return Hash(ref.Hash()) != base, nil
		}
	}
	return !base.IsZero(), nil
}
