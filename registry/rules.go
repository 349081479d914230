package registry

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/personaregistry/personas/registry/gitdb"
	"github.com/personaregistry/personas/schema"
)

// indexState is the history folded up to Head: every persona ever seen and
// the files at Head. Only the indexing goroutine touches it; the Personas it
// holds are replaced, never changed, once published in a Snapshot.
type indexState struct {
	Head     gitdb.Hash
	Personas map[string]*Persona        // by id, deleted ones included
	Files    map[string]*fileState      // persona files at Head, by path
	Units    map[string]*unitState      // unit-test files at Head, by path
	Links    map[string]map[string]bool // id → paths of files linked to it
	Commits  int                        // first-parent commits read
	// gen identifies this line of states for appends (see Persona.owner):
	// unique to each state that commits are applied to.
	gen uint64
}

// fileState is one persona file at Head.
type fileState struct {
	Blob    gitdb.Hash
	Commit  string          // the commit that last changed the file
	ID      string          // the persona the path is linked to ("" if never valid)
	Valid   *schema.Persona // nil when the file is invalid; its Background is in Bg
	Bg      Text            // Valid's background, held compactly
	Problem *Problem        // why it is invalid
}

// unitState is one unit-test file at Head.
type unitState struct {
	Blob      gitdb.Hash
	Commit    string
	PersonaID string
	Problem   *Problem
}

// stateGens numbers the lines of states (indexState.gen); 0 is never used.
var stateGens atomic.Uint64

func newIndexState() *indexState {
	return &indexState{
		gen:      stateGens.Add(1),
		Personas: map[string]*Persona{},
		Files:    map[string]*fileState{},
		Units:    map[string]*unitState{},
		Links:    map[string]map[string]bool{},
	}
}

// parsedFile is the parse of one blob, cached by blob hash.
type parsedFile struct {
	persona *schema.Persona     // valid persona files, without their background
	bg      Text                // the background of persona
	unit    *schema.UnitTestRef // unit-test files with a persona_id
	problem *schema.Finding     // the first error, for invalid files
}

// change is one changed file of a commit, with its parse.
type change struct {
	gitdb.Change
	unitTest bool
	parsed   *parsedFile // nil for deletions
}

// applyCommit folds one first-parent commit into the state, applying the
// history rules of DESIGN.md.
func (s *indexState) applyCommit(ci *gitdb.Commit, changes []change) {
	affected := map[string]bool{}
	for _, c := range changes {
		if c.unitTest {
			s.applyUnitChange(ci, c)
			continue
		}
		old := s.Files[c.Path]
		linked := ""
		if old != nil && old.ID != "" {
			linked = old.ID
			affected[old.ID] = true
			s.unlink(c.Path, old.ID)
		}
		if c.NewHash.IsZero() {
			delete(s.Files, c.Path)
			continue
		}
		fs := &fileState{Blob: c.NewHash, Commit: ci.ID()}
		if p := c.parsed.persona; p != nil {
			fs.ID, fs.Valid, fs.Bg = p.ID, p, c.parsed.bg
		} else {
			fs.ID = linked // an invalid file stays linked to its persona (rule 5)
			fs.Problem = problemAt(c.Path, ci, c.parsed.problem)
		}
		if fs.ID != "" {
			s.link(c.Path, fs.ID)
			affected[fs.ID] = true
		}
		s.Files[c.Path] = fs
	}
	ids := make([]string, 0, len(affected))
	for id := range affected {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s.resolve(id, ci)
	}
	s.Head = ci.Hash
	s.Commits++
}

func (s *indexState) applyUnitChange(ci *gitdb.Commit, c change) {
	if c.NewHash.IsZero() {
		delete(s.Units, c.Path)
		return
	}
	u := &unitState{Blob: c.NewHash, Commit: ci.ID()}
	switch {
	case c.parsed.unit != nil:
		u.PersonaID = c.parsed.unit.PersonaID
	case c.parsed.problem != nil:
		u.Problem = problemAt(c.Path, ci, c.parsed.problem)
	default:
		delete(s.Units, c.Path) // YAML without persona_id: not a unit test
		return
	}
	s.Units[c.Path] = u
}

func problemAt(path string, ci *gitdb.Commit, f *schema.Finding) *Problem {
	p := &Problem{Path: path, Line: 1, Column: 1, Commit: ci.ID(), Message: "invalid file"}
	if f != nil {
		p.Line, p.Column, p.Message = f.Line, f.Column, f.Message
	}
	return p
}

func (s *indexState) link(path, id string) {
	if s.Links[id] == nil {
		s.Links[id] = map[string]bool{}
	}
	s.Links[id][path] = true
}

func (s *indexState) unlink(path, id string) {
	delete(s.Links[id], path)
	if len(s.Links[id]) == 0 {
		delete(s.Links, id)
	}
}

// winner returns the valid file that speaks for a persona: the smallest path
// among the valid files linked to it (rule 6), or "".
func (s *indexState) winner(id string) string {
	best := ""
	for p := range s.Links[id] {
		if f := s.Files[p]; f.Valid != nil && (best == "" || p < best) {
			best = p
		}
	}
	return best
}

func smallestPath(paths map[string]bool) string {
	best := ""
	for p := range paths {
		if best == "" || p < best {
			best = p
		}
	}
	return best
}

// resolve brings persona id up to date with its files after a commit.
func (s *indexState) resolve(id string, ci *gitdb.Commit) {
	cur := s.Personas[id]
	if len(s.Links[id]) == 0 {
		if cur != nil && !cur.IsDeleted {
			p := cur.clone()
			p.IsDeleted = true
			p.own(s.gen)
			p.touch(ci)
			p.noteUpdate(cur, ci)
			s.Personas[id] = p
		}
		return
	}
	w := s.winner(id)
	if w == "" {
		// every linked file is broken: keep the last valid state (rule 5),
		// but speak from a file that still exists
		if cur != nil && !s.Links[id][cur.Path] {
			p := cur.clone()
			p.Path = smallestPath(s.Links[id])
			s.Personas[id] = p
		}
		return
	}
	fs := s.Files[w]
	f := fs.Valid
	content := contentOf(f, fs.Bg)
	if cur == nil {
		p := &Persona{ID: id, Name: f.Name, Role: f.Role, Tags: f.Tags, Path: w,
			CreatedAt: ci.Time, Creator: ci.Author, CreatedCommit: ci.ID(), owner: s.gen}
		p.addVersion(ci, content)
		p.touch(ci)
		s.Personas[id] = p
		return
	}
	p := cur.clone()
	p.own(s.gen)
	p.Path = w
	changed := cur.IsDeleted
	p.IsDeleted = false
	if p.Name != f.Name || p.Role != f.Role || !tagsEqual(p.Tags, f.Tags) {
		p.Name, p.Role, p.Tags = f.Name, f.Role, f.Tags
		changed = true
	}
	if last := cur.Latest(); last == nil || !last.Equal(&content) {
		if last != nil {
			content.shareWith(&last.Content)
		}
		p.addVersion(ci, content)
		changed = true
	}
	if changed {
		p.touch(ci)
	}
	p.noteUpdate(cur, ci)
	s.Personas[id] = p
}

// noteUpdate appends what ci changed of cur's name, role, tags, path or
// deleted state to p.Updates, if anything (see own).
func (p *Persona) noteUpdate(cur *Persona, ci *gitdb.Commit) {
	u := Update{Deleted: p.IsDeleted && !cur.IsDeleted, Restored: cur.IsDeleted && !p.IsDeleted}
	if p.Name != cur.Name {
		u.OldName, u.NewName = cur.Name, p.Name
	}
	if p.Role != cur.Role {
		u.OldRole, u.NewRole = cur.Role, p.Role
	}
	if p.Path != cur.Path {
		u.OldPath, u.NewPath = cur.Path, p.Path
	}
	if !tagsEqual(p.Tags, cur.Tags) {
		u.TagsAdded, u.TagsRemoved = tagsOnlyIn(p.Tags, cur.Tags), tagsOnlyIn(cur.Tags, p.Tags)
	}
	if len(u.Kinds()) == 0 {
		return
	}
	u.Commit, u.Subject, u.At, u.Author = ci.ID(), ci.Subject, ci.Time, ci.Author
	p.Updates = append(p.Updates, u)
}

// tagsOnlyIn lists the tags of a that b lacks or holds with another value,
// as sorted "key:value" strings ("key:" for a null value).
func tagsOnlyIn(a, b map[string]*string) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !eqPtr(v, w) {
			s := k + ":"
			if v != nil {
				s += *v
			}
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func (p *Persona) touch(ci *gitdb.Commit) {
	p.UpdatedAt, p.UpdatedBy, p.UpdatedCommit = ci.Time, ci.Author, ci.ID()
}

// own lets p append in place to Versions and Updates, which it shares with
// the persona it was cloned from: when that persona was made by another line
// of states (a checkpoint, the served branch, a cached ref), the slices are
// clipped so that the next append copies them. Within one line, earlier
// clones never read past their own length, so appending in place is safe.
func (p *Persona) own(gen uint64) {
	if p.owner != gen {
		p.Versions, p.Updates, p.owner = slices.Clip(p.Versions), slices.Clip(p.Updates), gen
	}
}

// addVersion appends a version (see own).
func (p *Persona) addVersion(ci *gitdb.Commit, c Content) {
	c.Background = lastingText(p.Latest(), c.Background)
	p.Versions = append(p.Versions, newVersion(Version{Number: len(p.Versions) + 1, Commit: ci.ID(), Subject: ci.Subject,
		CreatedAt: ci.Time, Creator: ci.Author, Content: c}))
}

// lastingText returns the background of a new version after last: last's
// when they are equal, else bg copied to the version texts' arena.
func lastingText(last *Version, bg Text) Text {
	if last != nil && last.Background == bg {
		return last.Background
	}
	return versionTexts.lasting(bg)
}

// problems lists the problems at Head: invalid files, duplicate ids,
// duplicate names among live personas, and unit tests that reference no
// live persona.
func (s *indexState) problems() []Problem {
	var out []Problem
	for path, f := range s.Files {
		switch {
		case f.Problem != nil:
			out = append(out, *f.Problem)
		case f.Valid != nil:
			if w := s.winner(f.ID); w != path {
				out = append(out, Problem{Path: path, Line: 1, Column: 1, Commit: f.Commit,
					Message: fmt.Sprintf("id %s is also used by %s, which wins (the smaller path); this file is ignored", f.ID, w)})
			}
		}
	}
	out = append(out, s.nameProblems()...)
	for path, u := range s.Units {
		switch p := s.Personas[u.PersonaID]; {
		case u.Problem != nil:
			out = append(out, *u.Problem)
		case p == nil:
			out = append(out, Problem{Path: path, Line: 1, Column: 1, Commit: u.Commit,
				Message: fmt.Sprintf("persona_id %s references no persona", u.PersonaID)})
		case p.IsDeleted:
			out = append(out, Problem{Path: path, Line: 1, Column: 1, Commit: u.Commit,
				Message: fmt.Sprintf("persona_id %s references a deleted persona (%s)", u.PersonaID, p.Name)})
		}
	}
	slices.SortFunc(out, func(a, b Problem) int {
		if a.Path != b.Path {
			if a.Path < b.Path {
				return -1
			}
			return 1
		}
		return a.Line - b.Line
	})
	return out
}

func (s *indexState) nameProblems() []Problem {
	byName := map[string][]*Persona{}
	for _, p := range s.Personas {
		if !p.IsDeleted {
			byName[p.Name] = append(byName[p.Name], p)
		}
	}
	var out []Problem
	for name, ps := range byName {
		if len(ps) < 2 {
			continue
		}
		slices.SortFunc(ps, func(a, b *Persona) int {
			if a.Path < b.Path {
				return -1
			}
			return 1
		})
		for _, p := range ps[1:] {
			commit := ""
			if f := s.Files[p.Path]; f != nil {
				commit = f.Commit
			}
			out = append(out, Problem{Path: p.Path, Line: 1, Column: 1, Commit: commit,
				Message: fmt.Sprintf("name %q is also used by %s", name, ps[0].Path)})
		}
	}
	return out
}
