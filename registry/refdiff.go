package registry

import (
	"context"

	"github.com/personaregistry/personas/registry/gitdb"
)

// RefDiff is what `personas diff` says for BRANCH...ref: the registry at
// the merge-base of the served branch's head and ref, compared with the
// registry as if ref's changes since then landed as one commit. The base
// state comes from the checkpoints, not from a walk of the whole history.
// Errors: ENOTFOUND for an unknown ref, EINVALID for a malformed name.
func (r *Registry) RefDiff(ctx context.Context, ref string) (*Diff, error) {
	if err := checkRefName(ref); err != nil {
		return nil, err
	}
	var d *Diff
	err := r.do(ctx, func() error {
		head, _, err := r.resolveRef(ctx, ref)
		if err != nil {
			return err
		}
		d, err = r.diffAgainst(ctx, head)
		return err
	})
	return d, err
}

// diffAgainst runs on the owner goroutine.
func (r *Registry) diffAgainst(ctx context.Context, head gitdb.Hash) (*Diff, error) {
	base := gitdb.ZeroHash
	if !r.state.Head.IsZero() {
		var err error
		if base, err = r.store.MergeBase(head, r.state.Head); err != nil {
			return nil, err
		}
	}
	before, _, err := r.stateAt(ctx, base)
	if err != nil {
		return nil, err
	}
	ci, err := r.store.Commit(head)
	if err != nil {
		return nil, err
	}
	baseTree := gitdb.ZeroHash
	if !base.IsZero() {
		bc, err := r.store.Commit(base)
		if err != nil {
			return nil, err
		}
		baseTree = bc.Tree
	}
	changes, err := treeChanges(r.ix, baseTree, ci.Tree)
	if err != nil {
		return nil, err
	}
	after := before.clone()
	after.applyCommit(ci, changes)
	versions := map[string]int{}
	for id, p := range before.Personas {
		versions[id] = len(p.Versions)
	}
	d := compareStates(before, after, versions)
	d.Base, d.Head = base.String(), head.String()
	return d, nil
}
