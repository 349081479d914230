package registry

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxBranches bounds the list Branches returns.
const maxBranches = 500

// Branches lists the repository's local branches (refs/heads/…), sorted,
// at most 500: the loose refs and packed-refs, read from the git directory
// without touching objects, so it is cheap and safe beside the indexer.
func (r *Registry) Branches() ([]string, error) {
	dir := r.store.GitDir()
	seen := map[string]bool{}
	heads := filepath.Join(dir, "refs", "heads")
	err := filepath.WalkDir(heads, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(path, ".lock") {
			if rel, err := filepath.Rel(heads, path); err == nil {
				seen[filepath.ToSlash(rel)] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	if f, err := os.Open(filepath.Join(dir, "packed-refs")); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// "<sha> refs/heads/NAME"; comments start with '#', peeled tags with '^'
			if _, ref, ok := strings.Cut(sc.Text(), " "); ok {
				if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
					seen[name] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	slices.Sort(out)
	if len(out) > maxBranches {
		out = out[:maxBranches]
	}
	return out, nil
}
