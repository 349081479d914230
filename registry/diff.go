package registry

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/personaregistry/personas/registry/gitdb"
)

// Statuses of a persona in a Diff.
const (
	StatusCreated  = "created"
	StatusChanged  = "changed"
	StatusDeleted  = "deleted"
	StatusRestored = "restored"
	StatusRenamed  = "renamed"
)

// DiffOptions say which two states of the registry to compare.
type DiffOptions struct {
	Repo, Branch, Dir, UnitTests string
	// Base and Head are revisions; Base "" means the merge-base of Head with
	// Branch, Head "" means HEAD.
	Base, Head string
	// Worktree compares Head with the working tree instead of a commit.
	Worktree bool
	// Progress is as in Options: called as the history of BASE is read.
	Progress func(done, total int)
}

// PersonaDiff is what a change does to one persona.
type PersonaDiff struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Status        string       `json:"status"`
	Fields        []string     `json:"fields"`
	VersionBefore *int         `json:"version_before"`
	NewVersion    bool         `json:"new_version"`
	PathBefore    *string      `json:"path_before"`
	PathAfter     *string      `json:"path_after"`
	UnitTests     []string     `json:"unit_tests"`
	Before        *DiffPersona `json:"-"`
	After         *DiffPersona `json:"-"`
}

// DiffPersona is a persona's state on one side of a diff.
type DiffPersona struct {
	Name    string
	Role    string
	Tags    map[string]*string
	Content Content
	Deleted bool
}

// Diff is the persona-level difference between two states.
type Diff struct {
	Base     string        `json:"base"`
	Head     string        `json:"head"`
	Personas []PersonaDiff `json:"personas"`
	Problems []Problem     `json:"problems"`
}

// CompareRevisions compares the registry at two revisions (or a revision and
// the working tree), persona by persona.
// Errors: EINVALID for a revision that names no commit.
func CompareRevisions(ctx context.Context, o DiffOptions) (*Diff, error) {
	store, err := gitdb.Open(o.Repo)
	if err != nil {
		return nil, gitError(err)
	}
	defer store.Close()
	ix := newIndexer(store, defaultStr(o.Dir, "personas"), defaultStr(o.UnitTests, "unit_tests"))
	ix.progress = o.Progress
	head, err := store.ResolveRevision(defaultStr(o.Head, "HEAD"))
	if err != nil {
		return nil, gitError(err)
	}
	base := gitdb.ZeroHash
	if o.Base != "" {
		if base, err = store.ResolveRevision(o.Base); err != nil {
			return nil, gitError(err)
		}
	} else if !o.Worktree {
		branch, err := store.ResolveRevision(defaultStr(o.Branch, "main"))
		if err != nil {
			return nil, gitError(err)
		}
		if base, err = store.MergeBase(head, branch); err != nil {
			return nil, err
		}
	}
	if o.Worktree && o.Base == "" {
		base = head
	}
	// BASE as the served registry sees it: its whole first-parent history
	// (deleted personas, personas whose file is broken keep their last
	// valid state); HEAD is BASE plus the files that differ, as one commit.
	before := newIndexState()
	if !base.IsZero() {
		chain, err := ix.firstParentChain(ctx, base)
		if err != nil {
			return nil, err
		}
		if err := ix.update(ctx, before, chain, nil); err != nil {
			return nil, err
		}
	}
	after := before.clone()
	var ci *gitdb.Commit
	var changes []change
	if o.Worktree {
		ci = &gitdb.Commit{Time: time.Now().UTC()}
		changes, err = worktreeChanges(o.Repo, ix, before)
	} else {
		ci, err = ix.store.Commit(head)
		if err == nil {
			baseTree := gitdb.ZeroHash
			if !base.IsZero() {
				bc, err := ix.store.Commit(base)
				if err != nil {
					return nil, err
				}
				baseTree = bc.Tree
			}
			changes, err = treeChanges(ix, baseTree, ci.Tree)
		}
	}
	if err != nil {
		return nil, err
	}
	after.applyCommit(ci, changes)
	versions := map[string]int{}
	for id, p := range before.Personas {
		versions[id] = len(p.Versions)
	}
	d := compareStates(before, after, versions)
	d.Base = base.String()
	d.Head = head.String()
	if o.Worktree {
		d.Head = "worktree"
	}
	return d, nil
}

func defaultStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// treeChanges lists and parses the persona and unit-test files that differ
// between two trees.
func treeChanges(ix *indexer, from, to gitdb.Hash) ([]change, error) {
	memo := newParseMemo()
	trees := gitdb.NewTreeReader(ix.store)
	changes, err := ix.commitChanges(trees, from, to)
	trees.Close()
	if err != nil {
		return nil, err
	}
	for i := range changes {
		if f := ix.parse(memo, &changes[i]); f != nil {
			changes[i].parsed = f.res
		}
	}
	return changes, nil
}

// worktreeChanges lists and parses the persona and unit-test files on disk
// that differ from s (deleted files included).
func worktreeChanges(repo string, ix *indexer, s *indexState) ([]change, error) {
	var changes []change
	seen := map[string]bool{}
	for _, d := range []struct {
		dir  string
		unit bool
	}{{ix.dir, false}, {ix.unitDir, true}} {
		root := filepath.Join(repo, filepath.FromSlash(d.dir))
		err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if os.IsNotExist(err) {
				return filepath.SkipDir
			}
			if err != nil || e.IsDir() || !isYAMLPath(p) {
				return err
			}
			rel, _ := filepath.Rel(repo, p)
			rel = filepath.ToSlash(rel)
			if !d.unit && ix.unitDir != "" && strings.HasPrefix(rel, ix.unitDir+"/") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			seen[rel] = true
			h := gitdb.BlobHash(data)
			if f := s.Files[rel]; !d.unit && f != nil && f.Blob == h {
				return nil
			}
			if u := s.Units[rel]; d.unit && u != nil && u.Blob == h {
				return nil
			}
			c := change{Change: gitdb.Change{Path: rel, NewHash: h}, unitTest: d.unit}
			j := parseJob{data: data, unit: d.unit, out: &future{done: make(chan struct{})}}
			j.run()
			c.parsed = j.out.res
			changes = append(changes, c)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read worktree: %w", err)
		}
	}
	for p := range s.Files {
		if !seen[p] {
			changes = append(changes, change{Change: gitdb.Change{Path: p}})
		}
	}
	for p := range s.Units {
		if !seen[p] {
			changes = append(changes, change{Change: gitdb.Change{Path: p}, unitTest: true})
		}
	}
	return changes, nil
}

// clone copies the state so that applying a commit to the copy leaves s as
// it is (Personas are replaced, never changed).
func (s *indexState) clone() *indexState {
	c := *s
	c.gen = stateGens.Add(1)
	c.Personas = maps.Clone(s.Personas)
	c.Files = maps.Clone(s.Files)
	c.Units = maps.Clone(s.Units)
	c.Links = make(map[string]map[string]bool, len(s.Links))
	for id, paths := range s.Links {
		c.Links[id] = maps.Clone(paths)
	}
	return &c
}

// compareStates lists the personas whose state differs, ordered by name.
func compareStates(before, after *indexState, versions map[string]int) *Diff {
	d := &Diff{Personas: []PersonaDiff{}, Problems: []Problem{}}
	ids := map[string]bool{}
	for id := range before.Personas {
		ids[id] = true
	}
	for id := range after.Personas {
		ids[id] = true
	}
	for id := range ids {
		if pd, ok := comparePersona(before.Personas[id], after.Personas[id]); ok {
			pd.ID = id
			if n, ok := versions[id]; ok {
				pd.VersionBefore = &n
			}
			pd.UnitTests = unitTestsOf(after, id)
			d.Personas = append(d.Personas, pd)
		}
	}
	slices.SortFunc(d.Personas, func(a, b PersonaDiff) int {
		return strings.Compare(a.Name+"\x00"+a.ID, b.Name+"\x00"+b.ID)
	})
	seen := map[string]bool{}
	for _, p := range before.problems() {
		seen[p.Path+"\x00"+p.Message] = true
	}
	for _, p := range after.problems() {
		if !seen[p.Path+"\x00"+p.Message] {
			d.Problems = append(d.Problems, p)
		}
	}
	return d
}

func comparePersona(b, a *Persona) (PersonaDiff, bool) {
	var pd PersonaDiff
	live := func(p *Persona) bool { return p != nil && !p.IsDeleted }
	switch {
	case !live(b) && !live(a):
		return pd, false
	case b == nil:
		pd.Status = StatusCreated
	case !live(a):
		pd.Status = StatusDeleted
	case b.IsDeleted:
		pd.Status = StatusRestored
	}
	pd.Before, pd.After = diffSide(b), diffSide(a)
	if !live(a) {
		pd.After = nil // a deletion: nothing on the after side, as for a creation
	}
	if live(b) {
		pd.PathBefore = &b.Path
	}
	if live(a) {
		pd.PathAfter = &a.Path
		pd.Name = a.Name
	} else {
		pd.Name = b.Name
	}
	pd.Fields = changedFields(pd.Before, pd.After)
	pd.NewVersion = live(a) && (b == nil || !pd.Before.Content.Equal(&pd.After.Content))
	if pd.Status == "" {
		switch {
		case len(pd.Fields) > 0:
			pd.Status = StatusChanged
		case *pd.PathBefore != *pd.PathAfter:
			pd.Status = StatusRenamed
		default:
			return pd, false
		}
	}
	return pd, true
}

func diffSide(p *Persona) *DiffPersona {
	if p == nil {
		return nil
	}
	d := &DiffPersona{Name: p.Name, Role: p.Role, Tags: p.Tags, Deleted: p.IsDeleted}
	if v := p.Latest(); v != nil {
		d.Content = v.Content
	}
	return d
}

// changedFields names the fields that differ ("name", "tags", "background" …).
func changedFields(b, a *DiffPersona) []string {
	var zero DiffPersona
	if b == nil {
		b = &zero
	}
	if a == nil {
		a = &zero
	}
	out := []string{}
	add := func(name string, differs bool) {
		if differs {
			out = append(out, name)
		}
	}
	add("name", b.Name != a.Name)
	add("role", b.Role != a.Role)
	add("tags", !tagsEqual(b.Tags, a.Tags) && len(b.Tags)+len(a.Tags) > 0)
	add("background", b.Content.Background != a.Content.Background)
	add("preferred_language", !eqPtr(b.Content.PreferredLanguage, a.Content.PreferredLanguage))
	add("timezone", !eqPtr(b.Content.Timezone, a.Content.Timezone))
	add("user_models", !slices.Equal(b.Content.UserModels, a.Content.UserModels))
	add("nonsensitive_user_variables", !maps.Equal(b.Content.NonsensitiveUserVariables, a.Content.NonsensitiveUserVariables))
	add("sensitive_user_variables", !maps.Equal(b.Content.SensitiveUserVariables, a.Content.SensitiveUserVariables))
	return out
}

func unitTestsOf(s *indexState, id string) []string {
	out := []string{}
	for p, u := range s.Units {
		if u.PersonaID == id {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Sides returns the persona as it is on each side of the diff that has it
// (before, then after), with the path of that side (or of the other side
// when the diff knows only one). Readers scoped by role, tag or path may see
// a persona's diff only when they may read every side.
func (p PersonaDiff) Sides() []*Persona {
	var out []*Persona
	for _, side := range []struct {
		state       *DiffPersona
		path, other *string
	}{{p.Before, p.PathBefore, p.PathAfter}, {p.After, p.PathAfter, p.PathBefore}} {
		if side.state == nil {
			continue
		}
		q := &Persona{ID: p.ID, Name: side.state.Name, Role: side.state.Role,
			Tags: side.state.Tags, IsDeleted: side.state.Deleted}
		if path := cmp.Or(side.path, side.other); path != nil {
			q.Path = *path
		}
		out = append(out, q)
	}
	return out
}
