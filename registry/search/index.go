// Package search is a small in-memory full-text index for persona names and
// backgrounds: Unicode-aware analysis (see Analyze) and BM25F ranking over
// the name and body fields, with OR semantics.
package search

import (
	"math"
	"sync"
)

// Doc is one document to index.
type Doc struct {
	Name, Body string
	// BodyKey, when set, stands for the body in the builder's cache between
	// builds (equal keys mean equal bodies): the builder keeps the key, not
	// the body. Body may then be empty and LoadBody set: it is called only
	// for a key the builder has not analyzed.
	BodyKey  string
	LoadBody func() string
}

// Hit is one search result: the position of the document in the slice given to Build, and its score.
type Hit struct {
	Doc   int
	Score float64
}

// BM25F parameters. A term occurrence in the name counts nameBoost times
// an occurrence in the body; both fields are length-normalized.
const (
	k1        = 1.2
	lenNorm   = 0.75 // BM25's b
	nameBoost = 3
)

// Index is immutable and safe for concurrent use.
// It holds one flat posting list per term, with a precomputed BM25F impact
// per posting, so that a search is a sum of idf*impact over postings.
type Index struct {
	n        int
	terms    map[string]uint32 // term -> term number t
	idf      []float32         // by t
	offs     []uint32          // postings of t are postings[offs[t]:offs[t+1]]
	postings []posting
	states   sync.Pool // of *searchState sized to n
}

// posting is one (term, document) pair of an Index.
type posting struct {
	doc    uint32  // ascending within a term
	impact float32 // tf/(k1+tf), tf being the BM25F pseudo frequency
}

// Len returns the number of documents in the index, including ones without terms.
func (ix *Index) Len() int { return ix.n }

// newIndex builds an index from the analyzed name and body of every doc;
// terms maps the ids used in the entries to term strings.
func newIndex(terms []string, names, bodies []*entry) *Index {
	n := len(names)
	df := make([]uint32, len(terms))
	var sumName, sumBody float64
	for i := range n {
		sumName += float64(names[i].length)
		sumBody += float64(bodies[i].length)
		eachTerm(names[i].tfs, bodies[i].tfs, func(id, _, _ uint32) { df[id]++ })
	}
	ix := &Index{n: n, terms: map[string]uint32{}, offs: []uint32{0}}
	next := df // reuse: becomes the next posting position of each term id
	for id, c := range df {
		if c == 0 {
			continue
		}
		at := ix.offs[len(ix.offs)-1]
		ix.terms[terms[id]] = uint32(len(ix.idf))
		ix.idf = append(ix.idf, float32(math.Log(1+(float64(n)-float64(c)+0.5)/(float64(c)+0.5))))
		ix.offs = append(ix.offs, at+c)
		next[id] = at
	}
	ix.postings = make([]posting, ix.offs[len(ix.offs)-1])
	avgName, avgBody := avg(sumName, n), avg(sumBody, n)
	for i := range n {
		normName := nameBoost / (1 - lenNorm + lenNorm*float64(names[i].length)/avgName)
		normBody := 1 / (1 - lenNorm + lenNorm*float64(bodies[i].length)/avgBody)
		eachTerm(names[i].tfs, bodies[i].tfs, func(id, tfName, tfBody uint32) {
			tf := float64(tfName)*normName + float64(tfBody)*normBody
			ix.postings[next[id]] = posting{uint32(i), float32(tf / (k1 + tf))}
			next[id]++
		})
	}
	ix.states.New = func() any { return &searchState{acc: make([]float32, n)} }
	return ix
}

// avg returns sum/n, or 1 when that would not be a usable divisor.
func avg(sum float64, n int) float64 {
	if sum == 0 {
		return 1
	}
	return sum / float64(n)
}

// eachTerm calls fn for every term id in x or y (both sorted by id), with
// its frequency in each.
func eachTerm(x, y []termFreq, fn func(id, tfX, tfY uint32)) {
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case j == len(y) || i < len(x) && x[i].id < y[j].id:
			fn(x[i].id, x[i].tf, 0)
			i++
		case i == len(x) || y[j].id < x[i].id:
			fn(y[j].id, 0, y[j].tf)
			j++
		default:
			fn(x[i].id, x[i].tf, y[j].tf)
			i++
			j++
		}
	}
}
