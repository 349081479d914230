package registry

import (
	"encoding/binary"
	"iter"
	"strings"
	"sync"
)

// Text is a background held compactly: the numbers of its tokens in the
// process's token table, as uvarints. A token is a run of non-space bytes
// with the spaces after it ("word. ", "word\n"); backgrounds are prose, so a
// long history repeats few tokens and a version's text costs 2–3 bytes a
// word instead of 7 (at 10,000 personas × 100,000 commits: 14 MB instead of
// 70 MB of heap). Equal texts have equal encodings, so == compares texts.
// The zero Text is the empty text.
type Text struct{ enc string }

// NewText encodes s.
func NewText(s string) Text {
	if s == "" {
		return Text{}
	}
	return Text{enc: tokens.encode(s)}
}

// String returns the text.
func (t Text) String() string {
	if t.enc == "" {
		return ""
	}
	return tokens.decode(t.enc)
}

// AppendTo appends the text to dst: what String returns, without making a
// string of it (an export writes every version's background once).
func (t Text) AppendTo(dst []byte) []byte {
	if t.enc == "" {
		return dst
	}
	return tokens.appendDecoded(dst, t.enc)
}

// key returns the encoding: equal keys, equal texts.
func (t Text) key() string { return t.enc }

// Size is the number of bytes the encoded text holds.
func (t Text) Size() int { return len(t.enc) }

// MarshalText makes the text encode as a string in JSON, YAML and the like.
func (t Text) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a text encoded by MarshalText.
func (t *Text) UnmarshalText(b []byte) error {
	*t = NewText(string(b))
	return nil
}

// GobEncode writes the token numbers as they are: the snapshot cache stores
// the token table beside them (cacheHeader.Tokens) and renumbers on load.
func (t Text) GobEncode() ([]byte, error) { return []byte(t.enc), nil }

// GobDecode reads token numbers written by GobEncode; see renumber.
func (t *Text) GobDecode(b []byte) error {
	t.enc = string(b)
	return nil
}

// renumber rewrites the token numbers of a text read from a cache through
// to (the cache's number → this process's number); same says they are
// equal, so that only the check is made. It reports false for numbers
// that are not in the cache's table.
func (t Text) renumber(to []uint32, same bool) (Text, bool) {
	var out []byte
	if !same {
		out = make([]byte, 0, len(t.enc)+4)
	}
	for s := t.enc; s != ""; {
		id, n := uvarint(s)
		if n == 0 || id >= uint64(len(to)) {
			return Text{}, false
		}
		if !same {
			out = binary.AppendUvarint(out, uint64(to[id]))
		}
		s = s[n:]
	}
	if same {
		return t, true
	}
	return Text{enc: string(out)}, true
}

// tokenTable numbers tokens for the life of the process; numbers are never
// reused or forgotten, so memory grows with the distinct tokens ever read.
type tokenTable struct {
	mu   sync.RWMutex
	ids  map[string]uint32
	toks []string
}

var tokens = &tokenTable{ids: map[string]uint32{}}

// nextToken returns the length of the token that starts s.
func nextToken(s string) int {
	i := 0
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// encode numbers s's tokens, adding the new ones to the table.
func (tt *tokenTable) encode(s string) string {
	var stack [256]byte
	buf := stack[:0]
	tt.mu.RLock()
	rest := s
	for rest != "" {
		n := nextToken(rest)
		id, ok := tt.ids[rest[:n]]
		if !ok {
			break
		}
		buf = binary.AppendUvarint(buf, uint64(id))
		rest = rest[n:]
	}
	tt.mu.RUnlock()
	if rest != "" {
		tt.mu.Lock()
		for rest != "" {
			n := nextToken(rest)
			buf = binary.AppendUvarint(buf, uint64(tt.idLocked(rest[:n])))
			rest = rest[n:]
		}
		tt.mu.Unlock()
	}
	return string(buf)
}

// idLocked returns tok's number, adding it; tt.mu is held for writing.
func (tt *tokenTable) idLocked(tok string) uint32 {
	if id, ok := tt.ids[tok]; ok {
		return id
	}
	tok = strings.Clone(tok) // never keep the file it was read from
	id := uint32(len(tt.toks))
	tt.toks = append(tt.toks, tok)
	tt.ids[tok] = id
	return id
}

// decode returns the text of an encoding made by encode.
func (tt *tokenTable) decode(enc string) string {
	tt.mu.RLock()
	defer tt.mu.RUnlock()
	size := 0
	for tok := range tt.tokensLocked(enc) {
		size += len(tok)
	}
	var b strings.Builder
	b.Grow(size)
	for tok := range tt.tokensLocked(enc) {
		b.WriteString(tok)
	}
	return b.String()
}

// appendDecoded appends the text of an encoding made by encode to dst.
func (tt *tokenTable) appendDecoded(dst []byte, enc string) []byte {
	tt.mu.RLock()
	defer tt.mu.RUnlock()
	for tok := range tt.tokensLocked(enc) {
		dst = append(dst, tok...)
	}
	return dst
}

// tokensLocked yields the tokens of an encoding made by encode, in order,
// up to the first number that is not one (never made by encode or kept by
// renumber); tt.mu is held.
func (tt *tokenTable) tokensLocked(enc string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for s := enc; s != ""; {
			id, n := uvarint(s)
			if n == 0 || !yield(tt.toks[id]) {
				return
			}
			s = s[n:]
		}
	}
}

// uvarint decodes the number of at most 32 bits that starts s, and its
// length; the length is 0 when s holds none.
func uvarint(s string) (uint64, int) {
	var x uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen32; i++ {
		c := s[i]
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

// snapshot returns the tokens numbered so far, in number order.
func (tt *tokenTable) snapshot() []string {
	tt.mu.RLock()
	defer tt.mu.RUnlock()
	return tt.toks[:len(tt.toks):len(tt.toks)]
}

// adopt numbers a cache's tokens in this process and returns, for each
// cache number, the process's number, and whether the two are the same
// (always, when the cache is the first thing the process reads).
func (tt *tokenTable) adopt(toks []string) ([]uint32, bool) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	to := make([]uint32, len(toks))
	same := true
	for i, tok := range toks {
		to[i] = tt.idLocked(tok)
		same = same && to[i] == uint32(i)
	}
	return to, same
}
