package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Analysis pipeline, shared by indexing and querying:
//
//  1. The text is put in NFC so that precomposed and decomposed input
//     segment alike.
//  2. segment splits it into raw tokens: maximal runs of letters, decimal
//     digits and combining marks; every Han, Hiragana, Katakana or Hangul
//     character (plus its marks) is a token of its own (unigrams). With
//     OR semantics and BM25, unigrams give full recall for CJK text and
//     documents containing more of the query's characters rank first.
//  3. normalize case-folds each token (cases.Fold), strips accents (NFD,
//     drop nonspacing marks except the kana voicing marks, so が stays が),
//     drops English stop words and applies the English Snowball stemmer to
//     tokens that are pure ASCII letters after folding.

// Analyze returns the terms of a text as the index sees them (exported for tests and debugging).
// Terms are returned in text order, with repetitions.
func Analyze(text string) []string {
	var terms []string
	segment(text, func(raw string) {
		if t, ok := normalize(raw); ok {
			terms = append(terms, t)
		}
	})
	return terms
}

// segment calls emit for every raw (not yet normalized) token of text.
func segment(text string, emit func(raw string)) {
	if !norm.NFC.IsNormalString(text) {
		text = norm.NFC.String(text)
	}
	start := -1 // start of the current word run, or -1
	flush := func(end int) {
		if start >= 0 {
			emit(text[start:end])
			start = -1
		}
	}
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf {
			if isASCIIAlnum(c) {
				if start < 0 {
					start = i
				}
			} else {
				flush(i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case isCJK(r):
			flush(i)
			j := i + size
			for j < len(text) {
				m, msize := utf8.DecodeRuneInString(text[j:])
				if !unicode.IsMark(m) {
					break
				}
				j += msize
			}
			emit(text[i:j])
			i = j
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if start < 0 {
				start = i
			}
		default: // separators, punctuation, symbols, invalid UTF-8
			flush(i)
		}
		i += size
	}
	flush(len(text))
}

// normalize turns a raw token into an index term; ok is false if the token
// is dropped (stop word, or nothing left after folding).
func normalize(raw string) (term string, ok bool) {
	if isASCII(raw) {
		term = strings.ToLower(raw)
	} else {
		term = foldUnicode(raw)
	}
	if term == "" || english.IsStopWord(term) {
		return "", false
	}
	if isASCIILetters(term) {
		if s := english.Stem(term, true); s != "" {
			term = s
		}
	}
	return term, true
}

// foldUnicode applies case folding and accent folding to a non-ASCII token.
func foldUnicode(s string) string {
	s = norm.NFD.String(cases.Fold().String(s))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) && r != '\u3099' && r != '\u309A' {
			continue
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// isCJK reports whether r is tokenized as a single-character term.
func isCJK(r rune) bool {
	return r >= 0x1100 && (unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		r == 'ー') // prolonged sound mark, script Common
}

func isASCIIAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
