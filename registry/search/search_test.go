package search

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
)

var corpus = []Doc{
	0: {Name: "Alice Walker", Body: "A retired teacher who loves gardening and coffee."},
	1: {Name: "Bob Stone", Body: "A confused software engineer. The confusion never ends."},
	2: {Name: "Carmen López", Body: "Profesora de música en Sevilla. Le encanta el café y la guitarra."},
	3: {Name: "Daichi Sato", Body: "東京に住むエンジニア。コーヒーが好き。"},
	4: {Name: "Joe", Body: "Grows tomatoes."},
	5: {Name: "Eve Adams", Body: "Coffee, coffee and more coffee: a barista in Portland."},
	6: {Name: "Frank Miller", Body: "Software engineer who writes compilers."},
}

func TestSearch(t *testing.T) {
	tests := []struct {
		name  string
		docs  []Doc // nil means corpus
		query string
		limit int // 0 means 10
		keep  func(int) bool
		want  []int
	}{
		{name: "stemming", query: "confused", want: []int{1}},
		{name: "stemming other form", query: "confusion", want: []int{1}},
		{name: "upper case query", query: "CONFUSED", want: []int{1}},
		{name: "accent-free query finds accented text", query: "cafe", want: []int{2}},
		{name: "accented query", query: "CAFÉ", want: []int{2}},
		{name: "spanish name and body", query: "lopez musica", want: []int{2}},
		{name: "japanese", query: "東京", want: []int{3}},
		{name: "japanese katakana", query: "コーヒー", want: []int{3}},
		{name: "OR semantics", query: "tomatoes compilers", want: []int{4, 6}},
		{name: "more matching terms first", query: "software engineer compilers", want: []int{6, 1}},
		{
			name:  "rarer term first, then ties by index",
			docs:  []Doc{{Name: "", Body: "apple pie"}, {Name: "", Body: "cherry pie"}, {Name: "", Body: "apple tart"}, {Name: "", Body: "apple cake"}},
			query: "apple cherry", want: []int{1, 0, 2, 3},
		},
		{
			name:  "name boost beats body",
			docs:  []Doc{{Name: "Sam", Body: "a pilot who flies"}, {Name: "Pilot Pete", Body: "flies planes"}},
			query: "pilot", want: []int{1, 0},
		},
		{
			name:  "deterministic ties",
			docs:  []Doc{{Name: "", Body: "other"}, {Name: "", Body: "twin text"}, {Name: "", Body: "other"}, {Name: "", Body: "twin text"}, {Name: "", Body: "twin text"}},
			query: "twin", want: []int{1, 3, 4},
		},
		{
			name:  "deterministic ties with limit",
			docs:  []Doc{{Name: "", Body: "twin text"}, {Name: "", Body: "twin text"}, {Name: "", Body: "twin text"}},
			query: "twin", limit: 2, want: []int{0, 1},
		},
		{name: "higher tf first", query: "coffee", want: []int{5, 0}},
		{name: "limit", query: "coffee", limit: 1, want: []int{5}},
		{name: "keep filter", query: "coffee", keep: func(d int) bool { return d != 5 }, want: []int{0}},
		{name: "keep filter rejects all", query: "coffee", keep: func(int) bool { return false }},
		{name: "negative limit", query: "coffee", limit: -1},
		{name: "empty query", query: ""},
		{name: "punctuation only", query: "?!.,;"},
		{name: "stop words only", query: "the and of"},
		{name: "unknown term", query: "xylophone"},
		{name: "empty index", docs: []Doc{}, query: "coffee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, limit := tt.docs, tt.limit
			if docs == nil {
				docs = corpus
			}
			if limit == 0 {
				limit = 10
			}
			hits := NewBuilder().Build(docs).Search(tt.query, limit, tt.keep)
			if got := hitDocs(hits); !slices.Equal(got, tt.want) {
				t.Errorf("Search(%q) = %v (%v), want %v", tt.query, got, hits, tt.want)
			}
			for i, h := range hits {
				if h.Score <= 0 || i > 0 && !worse(h, hits[i-1]) {
					t.Errorf("hits not positive and best first: %v", hits)
				}
			}
		})
	}
}

func hitDocs(hits []Hit) []int {
	var docs []int
	for _, h := range hits {
		docs = append(docs, h.Doc)
	}
	return docs
}

func TestLen(t *testing.T) {
	if n := NewBuilder().Build(corpus).Len(); n != len(corpus) {
		t.Errorf("Len() = %d, want %d", n, len(corpus))
	}
}

var cacheQueries = []string{"coffee", "software engineer", "confused", "cafe", "東京", "new", "tomatoes gardening", "word17 word4242"}

// TestBuilderCache rebuilds with one Builder across changing data and
// checks every build against a fresh Builder.
func TestBuilderCache(t *testing.T) {
	var many []Doc // enough distinct terms to make the builder compact its dictionary
	for i := range 1000 {
		many = append(many, Doc{Name: fmt.Sprintf("n%d", i), Body: fmt.Sprintf("word%d word%d x%dy x%dz x%dw", i, i+4000, i, i, i)})
	}
	changed := slices.Clone(corpus)
	changed[1].Body = "A new text about coffee."
	changed = append(changed[:4], changed[5:]...)
	steps := []struct {
		name string
		docs []Doc
	}{
		{"initial", corpus},
		{"same again", corpus},
		{"one changed one removed", changed},
		{"many terms", append(slices.Clone(many), corpus...)},
		{"back to small (compacts)", changed},
		{"reuse after compaction", append(slices.Clone(corpus), many[:10]...)},
	}
	b := NewBuilder()
	for _, step := range steps {
		ix, fresh := b.Build(step.docs), NewBuilder().Build(step.docs)
		for _, q := range cacheQueries {
			got, want := ix.Search(q, 5, nil), fresh.Search(q, 5, nil)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: Search(%q) = %v, fresh builder gives %v", step.name, q, got, want)
			}
		}
		texts := map[string]bool{}
		for _, d := range step.docs {
			texts[d.Name], texts[d.Body] = true, true
		}
		if len(b.cache) != len(texts) {
			t.Errorf("%s: cache holds %d texts, want %d", step.name, len(b.cache), len(texts))
		}
	}
	if len(b.terms) > 1000 || len(b.terms) != len(b.ids) {
		t.Errorf("dictionary not compacted: %d terms", len(b.terms))
	}
}

func TestConcurrentSearch(t *testing.T) {
	ix := NewBuilder().Build(corpus)
	want := make([][]Hit, len(cacheQueries))
	for i, q := range cacheQueries {
		want[i] = ix.Search(q, 3, nil)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				for i, q := range cacheQueries {
					if got := ix.Search(q, 3, nil); !reflect.DeepEqual(got, want[i]) {
						t.Errorf("concurrent Search(%q) = %v, want %v", q, got, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// keyed gives each body of docs a key (the body itself after a prefix, so
// that equal bodies have equal keys) and makes it loaded on demand.
func keyed(docs []Doc) []Doc {
	out := slices.Clone(docs)
	for i := range out {
		body := out[i].Body
		out[i].Body, out[i].BodyKey = "", "k:"+body
		out[i].LoadBody = func() string { return body }
	}
	return out
}

// TestBuilderCacheByKey: bodies with keys are cached by key, apart from
// names: a name that equals another document's key gets its own analysis,
// and every build answers as a fresh builder would.
func TestBuilderCacheByKey(t *testing.T) {
	tricky := []Doc{{Name: "k:apple pie", Body: "banana bread", BodyKey: "x"}, {Name: "x", Body: "apple pie", BodyKey: "k:apple pie"}}
	changed := keyed(corpus)
	changed[1].BodyKey = "k:new"
	changed[1].LoadBody = func() string { return "A new text about coffee." }
	steps := []struct {
		name string
		docs []Doc
	}{
		{"keyed", keyed(corpus)},
		{"same keys again", keyed(corpus)},
		{"one body changed", changed},
		{"names equal to keys", tricky},
		{"unkeyed after keyed", corpus},
	}
	b := NewBuilder()
	for _, step := range steps {
		loads := 0
		docs := slices.Clone(step.docs)
		for i := range docs {
			if load := docs[i].LoadBody; load != nil {
				docs[i].LoadBody = func() string { loads++; return load() }
			}
		}
		_, cached := b.keyed[docs[0].BodyKey]
		ix, fresh := b.Build(docs), NewBuilder().Build(step.docs)
		if step.name == "same keys again" && loads != 0 {
			t.Errorf("%s: %d bodies loaded again, want none", step.name, loads)
		}
		if docs[0].LoadBody != nil && !cached && loads == 0 {
			t.Errorf("%s: a new key's body was not loaded", step.name)
		}
		for _, q := range append(slices.Clone(cacheQueries), "apple", "banana", "x") {
			got, want := ix.Search(q, 5, nil), fresh.Search(q, 5, nil)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: Search(%q) = %v, fresh builder gives %v", step.name, q, got, want)
			}
		}
		if step.name == "names equal to keys" {
			for q, want := range map[string]int{"banana": 0, "x": 1} {
				if hits := ix.Search(q, 5, nil); len(hits) != 1 || hits[0].Doc != want {
					t.Errorf("%s: Search(%q) = %v, want document %d alone", step.name, q, hits, want)
				}
			}
		}
		for _, d := range step.docs {
			if d.BodyKey != "" && b.keyed[d.BodyKey] == nil {
				t.Errorf("%s: body of key %q not cached by its key", step.name, d.BodyKey)
			}
		}
	}
}
