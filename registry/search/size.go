package search

// Bytes estimates the memory the index holds: postings, per-term tables and
// the term map (the pooled search states are not counted).
func (ix *Index) Bytes() int64 {
	b := int64(len(ix.postings))*8 + int64(len(ix.idf))*4 + int64(len(ix.offs))*4
	for t := range ix.terms {
		b += int64(len(t)) + 40
	}
	return b
}
