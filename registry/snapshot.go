package registry

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Snapshot is the registry at one commit of the served branch. It is
// immutable: readers share it without locks while the next one is built.
type Snapshot struct {
	// Head is the indexed commit, "" for an empty branch.
	Head string
	// HeadTime is the committer time of Head.
	HeadTime time.Time
	// BuiltAt is when the snapshot was published.
	BuiltAt time.Time
	// Commits is the number of first-parent commits read.
	Commits int
	// Problems are the files at Head that failed to parse or validate, and
	// rules broken across files.
	Problems []Problem

	personas  []*Persona // sorted by id
	byID      map[string]*Persona
	unitTests map[string][]string // persona id → unit-test paths
	versions  int
	// search is built with newSnapshot, or (one-shot registries, where few
	// commands search) on the first Search; see searchIndex.
	searchOnce sync.Once
	searcher   *searcher
	search     *searchIndex

	orderMu sync.Mutex
	orders  map[string][]*Persona // computed sort orders, by "-field"/"field"
	fvOnce  sync.Once
	fv      FilterValues
}

// newSnapshot publishes the state as an immutable snapshot. Its search
// index is built now, or on the first search when lazy.
func newSnapshot(s *indexState, headTime time.Time, search *searcher, lazy bool) *Snapshot {
	snap := &Snapshot{
		HeadTime:  headTime,
		BuiltAt:   time.Now().UTC(),
		Commits:   s.Commits,
		Problems:  s.problems(),
		personas:  make([]*Persona, 0, len(s.Personas)),
		byID:      make(map[string]*Persona, len(s.Personas)),
		unitTests: map[string][]string{},
	}
	if !s.Head.IsZero() {
		snap.Head = s.Head.String()
	}
	for id, p := range s.Personas {
		snap.personas = append(snap.personas, p)
		snap.byID[id] = p
		snap.versions += len(p.Versions)
	}
	slices.SortFunc(snap.personas, func(a, b *Persona) int { return strings.Compare(a.ID, b.ID) })
	for path, u := range s.Units {
		if u.PersonaID != "" {
			snap.unitTests[u.PersonaID] = append(snap.unitTests[u.PersonaID], path)
		}
	}
	for _, paths := range snap.unitTests {
		slices.Sort(paths)
	}
	snap.searcher = search
	if !lazy {
		snap.searchIndex()
	}
	return snap
}

// searchIndex returns the snapshot's search index, building it the first
// time.
func (s *Snapshot) searchIndex() *searchIndex {
	s.searchOnce.Do(func() {
		s.search = s.searcher.rebuild(s.personas)
		s.searcher = nil
	})
	return s.search
}

// Personas returns every persona, deleted ones included, ordered by id.
// The slice must not be changed.
func (s *Snapshot) Personas() []*Persona { return s.personas }

// Persona returns the persona with the id, deleted or not.
func (s *Snapshot) Persona(id string) (*Persona, bool) {
	p, ok := s.byID[id]
	return p, ok
}

// PersonaByName returns the live persona with the name.
func (s *Snapshot) PersonaByName(name string) (*Persona, bool) {
	for _, p := range s.personas {
		if !p.IsDeleted && p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// UnitTests returns the paths of the unit-test files that reference a persona.
func (s *Snapshot) UnitTests(id string) []string { return s.unitTests[id] }

// VersionCount returns the number of versions of all personas.
func (s *Snapshot) VersionCount() int { return s.versions }
