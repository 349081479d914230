package search

import (
	"slices"
	"strings"
)

// Builder builds indexes and caches the analysis of texts between builds, so that rebuilding after a small change is cheap. Not safe for concurrent use.
type Builder struct {
	cache   map[string]*entry // text -> its analysis
	keyed   map[string]*entry // Doc.BodyKey -> the body's analysis
	ids     map[string]uint32 // term -> builder-wide term id
	terms   []string          // builder-wide term id -> term
	gen     uint32            // incremented by every Build
	scratch []uint32
	// prev holds the texts of the previous build in order (name, body,
	// name, ...) with their analyses: unchanged data skips the map lookup.
	prev []cached
}

type cached struct {
	text  string // or the body's key, when keyed
	keyed bool
	e     *entry
}

// entry is the cached analysis of one text.
type entry struct {
	tfs    []termFreq // distinct terms, sorted by id
	length uint32     // number of terms, with repetitions
	gen    uint32     // last build that used this entry
}

type termFreq struct{ id, tf uint32 }

// dropped marks a raw token that yields no term (stop word, only marks).
const dropped = -1

// NewBuilder returns an empty Builder; its first Build analyzes every text.
func NewBuilder() *Builder {
	return &Builder{cache: map[string]*entry{}, keyed: map[string]*entry{}, ids: map[string]uint32{}}
}

// Build returns an index of docs; a hit's Doc is the position in docs.
// Texts analyzed by the previous build are reused; cache entries (and,
// occasionally, terms) not used by this build are evicted.
func (b *Builder) Build(docs []Doc) *Index {
	b.gen++
	memo := map[string]int32{} // raw token -> term id or dropped, for this build only
	names := make([]*entry, len(docs))
	bodies := make([]*entry, len(docs))
	prev := b.prev
	b.prev = make([]cached, 0, 2*len(docs))
	for i, d := range docs {
		names[i] = b.analysis(d.Name, "", nil, prev, memo)
		bodies[i] = b.analysis(d.Body, d.BodyKey, d.LoadBody, prev, memo)
	}
	for _, m := range []map[string]*entry{b.cache, b.keyed} {
		for text, e := range m {
			if e.gen != b.gen {
				delete(m, text)
			}
		}
	}
	ix := newIndex(b.terms, names, bodies)
	if len(b.terms) > 2*len(ix.idf)+4096 {
		b.compact()
	}
	return ix
}

// analysis returns the (possibly cached) analysis of text and appends it to
// b.prev. A text with a key is cached by its key instead, and read from load
// (when set) if the key is new.
func (b *Builder) analysis(text, key string, load func() string, prev []cached, memo map[string]int32) *entry {
	c := cached{text: text}
	m := b.cache
	if key != "" {
		c, m = cached{text: key, keyed: true}, b.keyed
	}
	e := b.lookup(c, m, prev)
	if e == nil {
		if load != nil {
			text = load()
		}
		e = b.analyze(text, memo)
		m[c.text] = e
	}
	e.gen = b.gen
	c.e = e
	b.prev = append(b.prev, c)
	return e
}

// lookup returns the cached analysis of c's text or key, or nil. It first
// tries the same position in the previous build: comparing identical
// strings is cheap.
func (b *Builder) lookup(c cached, m map[string]*entry, prev []cached) *entry {
	if i := len(b.prev); i < len(prev) && prev[i].keyed == c.keyed && prev[i].text == c.text {
		return prev[i].e
	}
	return m[c.text]
}

// analyze segments and normalizes text, memoizing the term id of each raw token.
func (b *Builder) analyze(text string, memo map[string]int32) *entry {
	ids := b.scratch[:0]
	segment(text, func(raw string) {
		id, ok := memo[raw]
		if !ok {
			id = dropped
			if term, keep := normalize(raw); keep {
				id = int32(b.intern(term))
			}
			memo[raw] = id
		}
		if id != dropped {
			ids = append(ids, uint32(id))
		}
	})
	b.scratch = ids
	slices.Sort(ids)
	e := &entry{length: uint32(len(ids))}
	for k, id := range ids {
		if k > 0 && id == ids[k-1] {
			e.tfs[len(e.tfs)-1].tf++
		} else {
			e.tfs = append(e.tfs, termFreq{id, 1})
		}
	}
	e.tfs = slices.Clip(e.tfs)
	return e
}

// intern returns the id of term, assigning the next free id to new terms.
func (b *Builder) intern(term string) uint32 {
	if id, ok := b.ids[term]; ok {
		return id
	}
	term = strings.Clone(term) // don't pin the text the term was cut from
	id := uint32(len(b.terms))
	b.ids[term] = id
	b.terms = append(b.terms, term)
	return id
}

// compact drops terms no cached entry uses and renumbers the rest, keeping
// their order so that every entry's tfs stays sorted.
func (b *Builder) compact() {
	const unused = ^uint32(0)
	remap := make([]uint32, len(b.terms))
	for i := range remap {
		remap[i] = unused
	}
	for _, m := range []map[string]*entry{b.cache, b.keyed} {
		for _, e := range m {
			for _, tf := range e.tfs {
				remap[tf.id] = 0
			}
		}
	}
	terms := make([]string, 0, len(b.terms)/2)
	b.ids = make(map[string]uint32, len(b.terms)/2)
	for id, m := range remap {
		if m != unused {
			remap[id] = uint32(len(terms))
			b.ids[b.terms[id]] = uint32(len(terms))
			terms = append(terms, b.terms[id])
		}
	}
	b.terms = terms
	for _, m := range []map[string]*entry{b.cache, b.keyed} {
		for _, e := range m {
			for k := range e.tfs {
				e.tfs[k].id = remap[e.tfs[k].id]
			}
		}
	}
}
