package search

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// synthCorpus returns 100,000 deterministic synthetic docs (two-word names,
// 80-word bodies drawn from a Zipf distribution over a 4,000-word
// vocabulary, some capitalized or accented) and the vocabulary, most
// frequent word first.
var synthCorpus = sync.OnceValues(func() ([]Doc, []string) {
	r := rand.New(rand.NewPCG(1, 2))
	vocab := synthVocab(r, 4000)
	zipf := rand.NewZipf(r, 1.07, 2, uint64(len(vocab)-1))
	docs := make([]Doc, 100_000)
	var sb strings.Builder
	for i := range docs {
		sb.Reset()
		for w := range 80 {
			if w > 0 {
				sb.WriteString([]string{" ", " ", " ", ", ", ". "}[r.IntN(5)])
			}
			word := vocab[zipf.Uint64()]
			if r.IntN(10) == 0 {
				word = strings.ToUpper(word[:1]) + word[1:]
			}
			sb.WriteString(word)
		}
		docs[i] = Doc{Name: vocab[r.IntN(len(vocab))] + " " + vocab[r.IntN(len(vocab))], Body: sb.String()}
	}
	return docs, vocab
})

// synthVocab returns n distinct pronounceable words, one in twenty with an accent.
func synthVocab(r *rand.Rand, n int) []string {
	syllables := strings.Fields("ka lo mi ren to sa vi dor el an qu is per na zu bel ot ri ga fen mar tel")
	seen := map[string]bool{}
	var vocab []string
	for len(vocab) < n {
		var w strings.Builder
		for range 2 + r.IntN(3) {
			w.WriteString(syllables[r.IntN(len(syllables))])
		}
		word := w.String()
		if r.IntN(20) == 0 {
			word = strings.Replace(word, "e", "é", 1)
		}
		if !seen[word] {
			seen[word] = true
			vocab = append(vocab, word)
		}
	}
	return vocab
}

// synthQueries returns n queries of one to three words, picked by pick.
func synthQueries(n int, pick func() string) []string {
	r := rand.New(rand.NewPCG(3, 4))
	qs := make([]string, n)
	for i := range qs {
		words := make([]string, 1+r.IntN(3))
		for k := range words {
			words[k] = pick()
		}
		qs[i] = strings.Join(words, " ")
	}
	return qs
}

func BenchmarkSearch100k(b *testing.B) {
	docs, vocab := synthCorpus()
	ix := NewBuilder().Build(docs)
	runtime.GC()
	r := rand.New(rand.NewPCG(5, 6))
	zipf := rand.NewZipf(r, 1.07, 2, uint64(len(vocab)-1))
	cases := []struct {
		name    string
		queries []string
		keep    func(int) bool
	}{
		// Query words drawn uniformly from the vocabulary.
		{"typical", synthQueries(256, func() string { return vocab[r.IntN(len(vocab))] }), nil},
		{"typical-keep-half", synthQueries(256, func() string { return vocab[r.IntN(len(vocab))] }), func(d int) bool { return d%2 == 0 }},
		// Query words drawn like the text: mostly very common words.
		{"zipf", synthQueries(256, func() string { return vocab[zipf.Uint64()] }), nil},
		// The three most common words: every document matches.
		{"worst", []string{strings.Join(vocab[:3], " ")}, nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				ix.Search(c.queries[i%len(c.queries)], 10, c.keep)
				i++
			}
		})
	}
	b.Run("typical-parallel", func(b *testing.B) {
		qs := cases[0].queries
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				ix.Search(qs[i%len(qs)], 10, nil)
			}
		})
	})
}

func BenchmarkBuild100kWarm(b *testing.B) {
	docs, _ := synthCorpus()
	builder := NewBuilder()
	builder.Build(docs)
	runtime.GC() // don't bill the setup's garbage to the timed builds
	for b.Loop() {
		builder.Build(docs)
	}
}

func BenchmarkBuild100kCold(b *testing.B) {
	docs, _ := synthCorpus()
	runtime.GC()
	for b.Loop() {
		NewBuilder().Build(docs)
	}
}

// BenchmarkBuild100kOneChanged rebuilds after one document's body changed.
func BenchmarkBuild100kOneChanged(b *testing.B) {
	docs, _ := synthCorpus()
	docs = append([]Doc(nil), docs...)
	builder := NewBuilder()
	builder.Build(docs)
	bodies := [2]string{docs[0].Body, docs[0].Body + " edited"}
	i := 0
	runtime.GC()
	for b.Loop() {
		i++
		docs[0].Body = bodies[i%2]
		builder.Build(docs)
	}
}
