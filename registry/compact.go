package registry

import (
	"slices"
	"unsafe"

	"github.com/personaregistry/personas/schema"
)

// After a long walk, the objects the index keeps of each persona and file
// are its last copies: one persona in ten of those the walk allocated, one
// file state in twenty. They sit scattered among the dead copies, each
// keeping its span of memory in use (at 10,000 personas × 100,000 commits
// 40 MB of heap was in use and free). compact moves them, side by side, to
// new chunks (see slab); the spans of the old copies are then wholly free
// and go back to the system.

var (
	personaSlab slab[Persona]
	fileSlab    slab[fileState]
	parsedSlab  slab[schema.Persona]
)

// compact moves the lasting objects of s, and of the checkpoints that share
// them, next to each other. It changes states in place: call it only while
// nothing else reads them (before the first snapshot is published).
func (s *indexState) compact(checkpoints []*indexState) {
	personas := make(map[*Persona]*Persona, len(s.Personas))
	files := make(map[*fileState]*fileState, len(s.Files))
	versions := sharedSlices[*Version]{}
	updates := sharedSlices[Update]{}
	// the newest state first: an older copy of a persona holds a prefix of
	// the newer one's versions and updates, in the same array
	states := append([]*indexState{s}, checkpoints...)
	slices.SortStableFunc(states[1:], func(a, b *indexState) int { return b.Commits - a.Commits })
	for _, st := range states {
		for id, p := range st.Personas {
			moved, ok := personas[p]
			if !ok {
				moved = personaSlab.new()
				*moved = *p
				moved.Versions = versions.clone(p.Versions)
				moved.Updates = updates.clone(p.Updates)
				personas[p] = moved
			}
			st.Personas[id] = moved
		}
		for path, f := range st.Files {
			moved, ok := files[f]
			if !ok {
				moved = fileSlab.new()
				*moved = *f
				moved.Bg = lastingFileText(st, f)
				if f.Valid != nil {
					moved.Valid = parsedSlab.new()
					*moved.Valid = *f.Valid
				}
				files[f] = moved
			}
			st.Files[path] = moved
		}
	}
}

// lastingFileText returns f's background shared with its persona's latest
// version when they are equal (the winning file of a persona), else copied
// to the version texts' arena (see lastingText).
func lastingFileText(st *indexState, f *fileState) Text {
	var latest *Version
	if p := st.Personas[f.ID]; p != nil {
		latest = p.Latest()
	}
	return lastingText(latest, f.Bg)
}

// sharedSlices clones slices so that slices sharing an array share the
// clone: keyed by array, the clone of the longest slice seen first.
type sharedSlices[T any] map[*T][]T

// clone returns a copy of s, or a prefix of the copy of a longer slice of
// the same array.
func (m sharedSlices[T]) clone(s []T) []T {
	if len(s) == 0 {
		return s
	}
	key := unsafe.SliceData(s)
	if c, ok := m[key]; ok && len(s) <= len(c) {
		return c[:len(s):len(s)]
	}
	c := slices.Clone(s)
	m[key] = c
	return c
}
