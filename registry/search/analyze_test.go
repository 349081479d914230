package search

import (
	"slices"
	"testing"
	"unicode/utf8"
)

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"empty", "", nil},
		{"punctuation only", "?!… -- «»., ;:", nil},
		{"stemming", "confused confusion", []string{"confus", "confus"}},
		{"case folding", "CONFUSED Confusion", []string{"confus", "confus"}},
		{"accent folding", "café Café CAFÉ", []string{"cafe", "cafe", "cafe"}},
		{"decomposed accents", "cafe\u0301", []string{"cafe"}},
		{"stop words dropped", "The cat and the hat", []string{"cat", "hat"}},
		{"possessive and hyphen", "persona's well-known", []string{"persona", "well", "known"}},
		{"digits kept unstemmed", "born 1984, mp3s", []string{"born", "1984", "mp3s"}},
		{"spanish", "Niños de España", []string{"nino", "de", "espana"}},
		{"german sharp s", "Straße STRASSE", []string{"strass", "strass"}},
		{"greek final sigma", "ΣΟΦΙΑ σοφία", []string{"σοφια", "σοφια"}},
		{"japanese unigrams", "東京のエンジニア", []string{"東", "京", "の", "エ", "ン", "ジ", "ニ", "ア"}},
		{"kana voicing kept", "がか", []string{"が", "か"}},
		{"decomposed kana", "か\u3099", []string{"が"}},
		{"hangul syllables", "서울", []string{"서", "울"}},
		{"mixed scripts", "Tokyo東京", []string{"tokyo", "東", "京"}},
		{"invalid utf-8", "ab\xffcd", []string{"ab", "cd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Analyze(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("Analyze(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"", "Confused CONFUSION café", "東京のエンジニア", "Niños ¿qué?", "e\u0301\u0301", "\u0301x", "ab\xffcd", "İı ß ﬁ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		terms := Analyze(text)
		for _, term := range terms {
			if term == "" || !utf8.ValidString(term) {
				t.Fatalf("Analyze(%q) returned bad term %q", text, term)
			}
		}
		// The builder's memoized path must agree with Analyze.
		b := NewBuilder()
		var got []string
		for _, tf := range b.analyze(text, map[string]int32{}).tfs {
			for range tf.tf {
				got = append(got, b.terms[tf.id])
			}
		}
		slices.Sort(got)
		slices.Sort(terms)
		if !slices.Equal(got, terms) {
			t.Fatalf("builder analysis of %q = %q, Analyze = %q", text, got, terms)
		}
	})
}
