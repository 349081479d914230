package registry

import (
	"sync"

	"github.com/personaregistry/personas/registry/search"
)

// searcher builds the full-text index of each snapshot, reusing the analysis
// of unchanged texts. Safe for concurrent use (a lazy snapshot builds its
// index on the goroutine of its first search).
type searcher struct {
	mu      sync.Mutex
	builder *search.Builder
}

func newSearcher() *searcher { return &searcher{builder: search.NewBuilder()} }

// searchIndex is the immutable index of one snapshot over the live personas:
// their names and latest backgrounds.
type searchIndex struct {
	idx  *search.Index
	docs []*Persona
}

func (s *searcher) rebuild(personas []*Persona) *searchIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := make([]search.Doc, 0, len(personas))
	live := make([]*Persona, 0, len(personas))
	for _, p := range personas {
		if p.IsDeleted || p.Latest() == nil {
			continue
		}
		live = append(live, p)
		bg := p.Latest().Background // decoded only when the builder has not seen it
		docs = append(docs, search.Doc{Name: p.Name, BodyKey: bg.key(), LoadBody: bg.String})
	}
	return &searchIndex{idx: s.builder.Build(docs), docs: live}
}

// bytes estimates the memory of the index and its document list.
func (s *searchIndex) bytes() int64 { return s.idx.Bytes() + int64(len(s.docs))*8 }
