package registry

import (
	"maps"
	"slices"
	"strings"
)

// TagFilter matches one tag: Key with Value (Value nil: the value is null),
// or with any value when Any is set.
type TagFilter struct {
	Key   string
	Value *string
	Any   bool
}

// Filter selects personas. Values of one field are alternatives (OR); the
// fields must all hold (AND); every tag filter must hold.
type Filter struct {
	IDs       []string
	Roles     []string
	Creators  []string // author emails
	Tags      []TagFilter
	IsDeleted *bool // nil: both
	// Visible, when set, hides every persona it rejects: the caller's read
	// scope. Paging and has_more count visible personas only.
	Visible func(*Persona) bool
}

// Match reports whether the persona passes the filter.
func (f *Filter) Match(p *Persona) bool {
	if f.IsDeleted != nil && p.IsDeleted != *f.IsDeleted {
		return false
	}
	if len(f.IDs) > 0 && !slices.Contains(f.IDs, p.ID) {
		return false
	}
	if len(f.Roles) > 0 && !slices.Contains(f.Roles, p.Role) {
		return false
	}
	if len(f.Creators) > 0 && !slices.Contains(f.Creators, p.Creator) {
		return false
	}
	for _, t := range f.Tags {
		v, ok := p.Tags[t.Key]
		switch {
		case !ok:
			return false
		case t.Any:
		case t.Value == nil:
			if v != nil {
				return false
			}
		case v == nil || *v != *t.Value:
			return false
		}
	}
	return f.Visible == nil || f.Visible(p)
}

// Sort fields of a list.
const (
	SortCreatedAt = "created_at"
	SortUpdatedAt = "updated_at"
	SortName      = "name"
)

// SortKey is one sort criterion; the first of a list is primary.
type SortKey struct {
	Field string
	Desc  bool
}

// ListQuery is a filtered, sorted page of personas. The default order is
// created_at ascending; ties are always broken by id ascending.
type ListQuery struct {
	Filter
	Sort   []SortKey
	Limit  int
	Offset int
}

// ListResult is one page of a list.
type ListResult struct {
	Personas []*Persona
	HasMore  bool
	Next     int // offset of the next page, valid when HasMore
}

// List returns one page of the personas that match the query.
func (s *Snapshot) List(q ListQuery) ListResult {
	order := s.ordered(q.Sort)
	var res ListResult
	skipped := 0
	for _, p := range order {
		if !q.Match(p) {
			continue
		}
		if skipped < q.Offset {
			skipped++
			continue
		}
		if len(res.Personas) == q.Limit {
			res.HasMore = true
			res.Next = q.Offset + q.Limit
			break
		}
		res.Personas = append(res.Personas, p)
	}
	return res
}

// ordered returns the personas in the sort order; single-key orders are
// computed once per snapshot.
func (s *Snapshot) ordered(keys []SortKey) []*Persona {
	if len(keys) == 0 {
		keys = []SortKey{{Field: SortCreatedAt}}
	}
	if len(keys) > 1 {
		return sortPersonas(s.personas, keys)
	}
	name := keys[0].Field
	if keys[0].Desc {
		name = "-" + name
	}
	s.orderMu.Lock()
	defer s.orderMu.Unlock()
	if o, ok := s.orders[name]; ok {
		return o
	}
	if s.orders == nil {
		s.orders = map[string][]*Persona{}
	}
	o := sortPersonas(s.personas, keys)
	s.orders[name] = o
	return o
}

func sortPersonas(ps []*Persona, keys []SortKey) []*Persona {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b *Persona) int {
		for _, k := range keys {
			c := 0
			switch k.Field {
			case SortCreatedAt:
				c = a.CreatedAt.Compare(b.CreatedAt)
			case SortUpdatedAt:
				c = a.UpdatedAt.Compare(b.UpdatedAt)
			case SortName:
				c = strings.Compare(a.Name, b.Name)
			}
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// FilterValues are the values a list can be filtered by, over every persona.
type FilterValues struct {
	Creators []string // author emails
	Tags     []string // "key:value", or "key:" for a null value
	Roles    []string
}

// FilterValues returns the creators, tags and roles of all personas, sorted.
func (s *Snapshot) FilterValues() FilterValues {
	s.fvOnce.Do(func() { s.fv = filterValues(s.personas, nil) })
	return s.fv
}

// FilterValuesOf returns the creators, tags and roles of the personas
// visible accepts (all of them when visible is nil), sorted.
func (s *Snapshot) FilterValuesOf(visible func(*Persona) bool) FilterValues {
	if visible == nil {
		return s.FilterValues()
	}
	return filterValues(s.personas, visible)
}

func filterValues(ps []*Persona, visible func(*Persona) bool) FilterValues {
	creators, tags, roles := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, p := range ps {
		if visible != nil && !visible(p) {
			continue
		}
		creators[p.Creator] = true
		roles[p.Role] = true
		for k, v := range p.Tags {
			if v == nil {
				tags[k+":"] = true
			} else {
				tags[k+":"+*v] = true
			}
		}
	}
	return FilterValues{Creators: sortedSet(creators), Tags: sortedSet(tags), Roles: sortedSet(roles)}
}

// sortedSet returns the keys of m sorted, never nil (an empty JSON list).
func sortedSet(m map[string]bool) []string {
	out := slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m))
	slices.Sort(out)
	return out
}

// SearchLimit is the most results a search returns.
const SearchLimit = 50

// Search returns the live personas whose name or latest background match the
// query (any term; stemmed, case- and accent-insensitive), best first, that
// pass the filter.
func (s *Snapshot) Search(query string, f Filter) []*Persona {
	idx := s.searchIndex()
	hits := idx.idx.Search(query, SearchLimit, func(doc int) bool { return f.Match(idx.docs[doc]) })
	out := make([]*Persona, len(hits))
	for i, h := range hits {
		out[i] = idx.docs[h.Doc]
	}
	return out
}

// VersionQuery selects versions of one persona: the inclusive range From..To
// (To 0 means the latest), or only the latest version, sorted by number, paged.
type VersionQuery struct {
	From, To   int
	OnlyLatest bool
	Desc       bool
	Limit      int
	Offset     int
	// Visible, when set, makes a persona it rejects answer like an unknown id.
	Visible func(*Persona) bool
}

// VersionResult is one page of versions.
type VersionResult struct {
	Persona  *Persona
	Versions []*Version
	HasMore  bool
	Next     int
}

// Versions returns a page of a persona's versions. A range outside the
// existing versions gives an empty page.
// Errors: ENOTFOUND for an unknown persona.
func (s *Snapshot) Versions(id string, q VersionQuery) (VersionResult, error) {
	p, ok := s.byID[id]
	if !ok || (q.Visible != nil && !q.Visible(p)) {
		return VersionResult{}, Errorf(ENOTFOUND, "no persona with id %s", id)
	}
	res := VersionResult{Persona: p}
	to := q.To
	if to == 0 || to > len(p.Versions) {
		to = len(p.Versions)
	}
	from := max(q.From, 1)
	if q.OnlyLatest {
		from = to
	}
	if from > to || to == 0 {
		return res, nil
	}
	sel := p.Versions[from-1 : to]
	if q.Desc {
		sel = slices.Clone(sel)
		slices.Reverse(sel)
	}
	if q.Offset >= len(sel) {
		return res, nil
	}
	end := min(len(sel), q.Offset+q.Limit)
	res.Versions = sel[q.Offset:end]
	if end < len(sel) {
		res.HasMore, res.Next = true, end
	}
	return res, nil
}
