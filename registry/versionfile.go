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
func (r *Registry) VersionFile(ctx context.Context, p *Persona, v *Version) (string, []byte, error) {
	// found is written on the owner goroutine and read only once do says
	// the function finished (do returns early when ctx ends)
	var found struct {
		path string
		data []byte
	}
	err := r.do(ctx, func() error {
		commit := gitdb.NewHash(v.Commit)
		if d, err := r.store.ReadFile(commit, p.Path); err != nil {
			return err
		} else if holds(d, p.ID) {
			found.path, found.data = p.Path, d
			return nil
		}
		ci, err := r.store.Commit(commit)
		if err != nil {
			return err
		}
		tr := gitdb.NewTreeReader(r.store)
		defer tr.Close()
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
				found.path, found.data = f.Path, d
				return nil
			}
		}
		return Errorf(ENOTFOUND, "no file of commit %s holds persona %s", v.Commit, p.ID)
	})
	if err != nil {
		return "", nil, err
	}
	return found.path, found.data, nil
}

// holds reports whether data is a valid persona file with the id.
func holds(data []byte, id string) bool {
	if !bytes.Contains(data, []byte(id)) {
		return false
	}
	f, _, _ := schema.ParsePersona("", data)
	return f != nil && f.ID == id
}
