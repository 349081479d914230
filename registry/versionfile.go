package registry

import (
	"bytes"
	"context"

	"github.com/personaregistry/personas/registry/gitdb"
	"github.com/personaregistry/personas/schema"
)

// Branch returns the served branch name (or the revision, when Rev is set).
func (r *Registry) Branch() string {
	if r.opts.Rev != "" {
		return r.opts.Rev
	}
	return r.opts.Branch
}

// VersionFile returns the persona file that made version v of p, as it was
// in git at the version's commit: its path and its bytes. It looks at the
// persona's current path first, then at every persona file of that commit.
// Errors: ENOTFOUND when no file of the commit holds the persona.
func (r *Registry) VersionFile(ctx context.Context, p *Persona, v *Version) (path string, data []byte, err error) {
	err = r.do(ctx, func() error {
		commit := gitdb.NewHash(v.Commit)
		if d, err := r.store.ReadFile(commit, p.Path); err != nil {
			return err
		} else if holds(d, p.ID) {
			path, data = p.Path, d
			return nil
		}
		ci, err := r.store.Commit(commit)
		if err != nil {
			return err
		}
		tr := gitdb.NewTreeReader(r.store)
		dir, err := tr.Subtree(ci.Tree, r.opts.Dir)
		if err != nil {
			return err
		}
		files, err := tr.Diff(gitdb.ZeroHash, dir, cleanDir(r.opts.Dir)+"/", nil)
		if err != nil {
			return err
		}
		for _, f := range files {
			if !isYAMLPath(f.Path) {
				continue
			}
			d, err := r.store.ReadBlob(f.NewHash, schema.MaxFileSize)
			if err != nil {
				return err
			}
			if holds(d, p.ID) {
				path, data = f.Path, d
				return nil
			}
		}
		return Errorf(ENOTFOUND, "no file of commit %s holds persona %s", v.Commit, p.ID)
	})
	return path, data, err
}

// holds reports whether data is a valid persona file with the id.
func holds(data []byte, id string) bool {
	if !bytes.Contains(data, []byte(id)) {
		return false
	}
	f, _, _ := schema.ParsePersona("", data)
	return f != nil && f.ID == id
}
