// Package worddiff compares two texts word by word, for `personas diff` and
// the browser UI's comparison page.
package worddiff

import (
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// Op says whether a Segment is in both texts, only the old one or only the new one.
type Op int

// The operations of a segment.
const (
	Equal Op = iota
	Delete
	Insert
)

// Segment is a run of words with one operation, joined with single spaces.
type Segment struct {
	Op   Op
	Text string
}

// Diff diffs two texts word by word (white space is not compared: a
// reflowed paragraph is unchanged): each distinct word becomes one rune for
// diffmatchpatch, and the diff is cleaned up semantically.
func Diff(a, b string) []Segment {
	ids := map[string]rune{}
	var words []string
	encode := func(s string) []rune {
		var out []rune
		for _, w := range strings.Fields(s) {
			id, ok := ids[w]
			if !ok {
				id = rune(len(words))
				ids[w] = id
				words = append(words, w)
			}
			out = append(out, id)
		}
		return out
	}
	ra, rb := encode(a), encode(b)
	dmp := diffmatchpatch.New()
	diffs := dmp.DiffCleanupSemantic(dmp.DiffMainRunes(ra, rb, false))
	out := make([]Segment, 0, len(diffs))
	for _, d := range diffs {
		ws := make([]string, 0, len(d.Text))
		for _, r := range d.Text {
			ws = append(ws, words[r])
		}
		op := Equal
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = Delete
		case diffmatchpatch.DiffInsert:
			op = Insert
		}
		out = append(out, Segment{Op: op, Text: strings.Join(ws, " ")})
	}
	return out
}

// Render joins the segments with single spaces, passing deleted and
// inserted runs through del and ins.
func Render(segs []Segment, del, ins func(string) string) string {
	parts := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s.Op {
		case Delete:
			parts = append(parts, del(s.Text))
		case Insert:
			parts = append(parts, ins(s.Text))
		default:
			parts = append(parts, s.Text)
		}
	}
	return strings.Join(parts, " ")
}
