package registry

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// benchBackgrounds returns n backgrounds like the generated histories':
// 40–120 words of a 500-word vocabulary, wrapped at 72 columns.
func benchBackgrounds(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 500)
	for i := range vocab {
		var b strings.Builder
		for range 3 + r.IntN(7) {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		vocab[i] = b.String()
	}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		col := 0
		for w := range 40 + r.IntN(81) {
			word := vocab[r.IntN(len(vocab))]
			if w%9 == 8 {
				word += "."
			}
			if col+len(word) > 72 {
				b.WriteByte('\n')
				col = 0
			} else if col > 0 {
				b.WriteByte(' ')
				col++
			}
			b.WriteString(word)
			col += len(word)
		}
		out[i] = b.String()
	}
	return out
}

func BenchmarkNewText(b *testing.B) {
	bgs := benchBackgrounds(1000)
	for _, s := range bgs {
		NewText(s)
	}
	b.ResetTimer()
	var bytes int
	for i := 0; b.Loop(); i++ {
		s := bgs[i%len(bgs)]
		bytes += len(s)
		NewText(s)
	}
	b.SetBytes(int64(bytes / max(1, b.N)))
}

func BenchmarkTextString(b *testing.B) {
	bgs := benchBackgrounds(1000)
	texts := make([]Text, len(bgs))
	for i, s := range bgs {
		texts[i] = NewText(s)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_ = texts[i%len(texts)].String()
	}
}
