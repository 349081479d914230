package search

import (
	"cmp"
	"slices"
)

// searchState is the per-search scratch space, pooled per Index.
type searchState struct {
	acc     []float32 // score of every document, zero if untouched
	touched []uint32  // documents with a non-zero score
}

// Search returns the documents matching any term of query, best first, at
// most limit of them; ties are broken by ascending document index. Only
// documents for which keep returns true are returned; keep == nil keeps all.
// keep is only called for matching documents that score high enough to
// enter the current top limit.
func (ix *Index) Search(query string, limit int, keep func(doc int) bool) []Hit {
	if limit <= 0 || ix.n == 0 {
		return nil
	}
	ts := ix.queryTerms(query)
	if len(ts) == 0 {
		return nil
	}
	st := ix.states.Get().(*searchState)
	defer ix.release(st) // deferred: keep may panic
	for _, t := range ts {
		idf := ix.idf[t]
		for _, p := range ix.postings[ix.offs[t]:ix.offs[t+1]] {
			if st.acc[p.doc] == 0 {
				st.touched = append(st.touched, p.doc)
			}
			st.acc[p.doc] += idf * p.impact
		}
	}
	return topK(st, limit, keep)
}

// release clears st and returns it to the pool.
func (ix *Index) release(st *searchState) {
	for _, d := range st.touched {
		st.acc[d] = 0
	}
	st.touched = st.touched[:0]
	ix.states.Put(st)
}

// queryTerms returns the distinct term numbers of the query's terms that
// occur in the index. A repeated query term counts once.
func (ix *Index) queryTerms(query string) []uint32 {
	var ts []uint32
	for _, term := range Analyze(query) {
		if t, ok := ix.terms[term]; ok && !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// topK returns the best limit kept hits among the touched documents, best first.
func topK(st *searchState, limit int, keep func(doc int) bool) []Hit {
	heap := make([]Hit, 0, min(limit, len(st.touched))) // heap[0] is the worst hit
	for _, d := range st.touched {
		h := Hit{Doc: int(d), Score: float64(st.acc[d])}
		full := len(heap) == limit
		if full && !worse(heap[0], h) || keep != nil && !keep(h.Doc) {
			continue
		}
		if full {
			heap[0] = h
			siftDown(heap)
		} else {
			heap = append(heap, h)
			siftUp(heap)
		}
	}
	slices.SortFunc(heap, func(x, y Hit) int {
		return cmp.Or(cmp.Compare(y.Score, x.Score), cmp.Compare(x.Doc, y.Doc))
	})
	return heap
}

// worse reports whether x ranks below y.
func worse(x, y Hit) bool {
	return x.Score < y.Score || x.Score == y.Score && x.Doc > y.Doc
}

// siftUp restores the min-heap (by worse) after an append.
func siftUp(h []Hit) {
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !worse(h[i], h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

// siftDown restores the min-heap (by worse) after replacing the root.
func siftDown(h []Hit) {
	for i := 0; ; {
		least := i
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < len(h) && worse(h[c], h[least]) {
				least = c
			}
		}
		if least == i {
			return
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
}
