package gitdb

import (
	"context"
	"errors"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// ReadRef reads the ref name (a full name such as refs/pull/1/head) without
// following it: the object it points at, or symbolic true for a symbolic
// ref (h is then zero). ok is false when no such ref exists.
func (r *Repo) ReadRef(name string) (h Hash, symbolic, ok bool, err error) {
	ref, err := r.st.Reference(plumbing.ReferenceName(name))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return ZeroHash, false, false, nil
	}
	if err != nil {
		return ZeroHash, false, false, fmt.Errorf("read ref %s: %w", name, err)
	}
	if ref.Type() != plumbing.HashReference {
		return ZeroHash, true, true, nil
	}
	return Hash(ref.Hash()), false, true, nil
}

// RemoteRefs lists the full names of the refs the remote at url advertises.
func (r *Repo) RemoteRefs(ctx context.Context, url string) (map[string]bool, error) {
	auth, err := remoteAuth(url)
	if err != nil {
		return nil, err
	}
	rem := git.NewRemote(r.st, &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(refs))
	for _, ref := range refs {
		out[ref.Name().String()] = true
	}
	return out, nil
}

// FetchRef fetches the remote's ref src (a full name) into the local ref
// dst, forced, and returns the object dst points to. New packs are opened.
func (r *Repo) FetchRef(ctx context.Context, url, src, dst string) (Hash, error) {
	auth, err := remoteAuth(url)
	if err != nil {
		return ZeroHash, err
	}
	repo, err := git.Open(r.st, nil)
	if err != nil {
		return ZeroHash, fmt.Errorf("open repository: %w", err)
	}
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", src, dst))
	if err := spec.Validate(); err != nil {
		return ZeroHash, invalidf("fetch %s: %v", src, err)
	}
	err = repo.FetchContext(ctx, &git.FetchOptions{RemoteURL: url, RefSpecs: []config.RefSpec{spec},
		Auth: auth, Tags: git.NoTags, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return ZeroHash, fmt.Errorf("fetch %s from %s: %w", src, url, err)
	}
	if err == nil {
		r.Reopen() // new pack files
	}
	ref, err := r.st.Reference(plumbing.ReferenceName(dst))
	if err != nil {
		return ZeroHash, fmt.Errorf("fetch %s: %w", src, err)
	}
	return Hash(ref.Hash()), nil
}
