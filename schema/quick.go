package schema

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A history walk parses every version of every persona file: with yaml.v3
// that was 30% of the CPU of a cold index. Most files are written the same
// plain way — top-level keys, plain or quoted one-line values, `|` blocks,
// one level of nested mappings and lists — so quickValue reads that subset
// directly and gives up (ok false) on anything else: anchors, tags, flow
// mappings, escapes, folded or indented blocks, multi-line plain scalars,
// numbers, tabs. What it accepts it must read exactly as ParseYAML does;
// FuzzQuickValue holds it to that.

// ParseValidPersona returns the persona of a file that ParsePersona would
// accept without errors, reading it the quick way. ok is false when the
// file is outside the quick subset or has errors: call ParsePersona then.
func ParseValidPersona(data []byte) (p *Persona, ok bool) {
	v, ok := quickValue(data)
	if !ok {
		return nil, false
	}
	m := v.(map[string]any)
	if !quickSchemaValid(m) || ruleErrors(m) {
		return nil, false
	}
	p, err := personaFromValue(m)
	return p, err == nil
}

// ruleErrors reports whether checkRules would find an error in m.
func ruleErrors(m map[string]any) bool {
	found := false
	ruleViolations(m, func(_ string, sev Severity, _ string) { found = found || sev == SeverityError })
	return found
}

// quickReader walks a document line by line.
type quickReader struct {
	lines [][]byte // without their "\n"
	i     int
}

// quickValue reads a document of the quick subset into the value ParseYAML
// would give it.
func quickValue(data []byte) (any, bool) {
	if len(data) == 0 || len(data) > MaxFileSize || data[len(data)-1] != '\n' || !quickPrintable(data) {
		return nil, false
	}
	q := &quickReader{lines: bytes.Split(data[:len(data)-1], []byte("\n"))}
	m, ok := q.mapping(0)
	if !ok || len(m) == 0 || q.skipComments() {
		return nil, false
	}
	return m, true
}

// quickPrintable reports whether data is UTF-8 made of characters YAML
// allows in a document, newlines but no tabs, carriage returns or BOMs.
func quickPrintable(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < 0x80 {
			if (c < 0x20 && c != '\n') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError || r < 0xa0 || (r >= 0xd800 && r < 0xe000) || r == 0xfeff || r == 0xfffe || r == 0xffff {
			return false
		}
		i += size
	}
	return true
}

// skipComments moves past blank and comment lines and says whether a line is left.
func (q *quickReader) skipComments() bool {
	for ; q.i < len(q.lines); q.i++ {
		t := bytes.TrimLeft(q.lines[q.i], " ")
		if len(t) > 0 && t[0] != '#' {
			return true
		}
	}
	return false
}

func indentOf(line []byte) int { return len(line) - len(bytes.TrimLeft(line, " ")) }

// mapping reads the keys at exactly indent until a line less indented.
func (q *quickReader) mapping(indent int) (map[string]any, bool) {
	m := map[string]any{}
	for q.skipComments() {
		line := q.lines[q.i]
		in := indentOf(line)
		if in < indent {
			break
		}
		if in > indent {
			return nil, false
		}
		key, rest, ok := quickKey(line[in:])
		if !ok {
			return nil, false
		}
		if _, dup := m[key]; dup {
			return nil, false
		}
		q.i++
		v, ok := q.value(indent, rest)
		if !ok {
			return nil, false
		}
		m[key] = v
	}
	return m, true
}

// maxQuickKey is the longest key read quickly: YAML allows an implicit key
// of at most 1,024 characters.
const maxQuickKey = 1000

// quickKey splits "key: rest" (rest may be empty).
func quickKey(line []byte) (key string, rest []byte, ok bool) {
	k, rest, found := bytes.Cut(line, []byte(":"))
	if !found || (len(rest) > 0 && rest[0] != ' ') || len(k) > maxQuickKey || !isQuickKey(k) {
		return "", nil, false
	}
	return string(k), bytes.Trim(rest, " "), true
}

// isQuickKey reports whether k matches ^[A-Za-z_]([A-Za-z0-9_. -]*[A-Za-z0-9_.-])?$
// (a regexp took 4% of a cold index).
func isQuickKey(k []byte) bool {
	if len(k) == 0 || k[len(k)-1] == ' ' {
		return false
	}
	for i, c := range k {
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || ((c < '0' || c > '9') && c != '.' && c != ' ' && c != '-')) {
			return false
		}
	}
	return true
}

// value reads what follows "key:" on a line at indent, and the lines below.
func (q *quickReader) value(indent int, rest []byte) (any, bool) {
	if len(rest) == 0 {
		if !q.skipComments() || indentOf(q.lines[q.i]) <= indent {
			return nil, true // "key:" alone is null
		}
		child := indentOf(q.lines[q.i])
		if bytes.HasPrefix(q.lines[q.i][child:], []byte("- ")) {
			return q.sequence(child)
		}
		if indent > 0 {
			return nil, false // deeper nesting: leave it to yaml.v3
		}
		return q.mapping(child)
	}
	switch string(rest) {
	case "|":
		return q.literal(indent, true)
	case "|-":
		return q.literal(indent, false)
	case "{}":
		return map[string]any{}, true
	case "[]":
		return []any{}, true
	}
	if rest[0] == '[' && rest[len(rest)-1] == ']' {
		var out []any
		for item := range bytes.SplitSeq(rest[1:len(rest)-1], []byte(",")) {
			v, ok := inlineScalar(bytes.Trim(item, " "), true)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	}
	if rest[0] == '{' && rest[len(rest)-1] == '}' {
		return flowMapping(rest[1 : len(rest)-1])
	}
	return inlineScalar(rest, false)
}

// flowMapping reads the inside of "{key: value, …}" with one-line values.
func flowMapping(inner []byte) (any, bool) {
	out := map[string]any{}
	for item := range bytes.SplitSeq(inner, []byte(",")) {
		key, value, ok := quickKey(bytes.Trim(item, " "))
		if !ok || bytes.IndexByte(value, ':') >= 0 {
			return nil, false
		}
		if _, dup := out[key]; dup {
			return nil, false
		}
		v, ok := inlineScalar(value, true)
		if !ok {
			return nil, false
		}
		out[key] = v
	}
	return out, true
}

// sequence reads "- item" lines at exactly indent.
func (q *quickReader) sequence(indent int) ([]any, bool) {
	out := []any{}
	for q.skipComments() {
		line := q.lines[q.i]
		in := indentOf(line)
		if in < indent {
			break
		}
		if in > indent || !bytes.HasPrefix(line[in:], []byte("- ")) {
			return nil, false
		}
		v, ok := inlineScalar(bytes.Trim(line[in+2:], " "), false)
		if !ok {
			return nil, false
		}
		out = append(out, v)
		q.i++
	}
	return out, true
}

// literal reads the lines of a `|` (clip) or `|-` (strip) block below a key
// at indent. Blocks that start with a blank line, or hold a blank line with
// more spaces than the block's indentation, are left to yaml.v3.
func (q *quickReader) literal(indent int, clip bool) (any, bool) {
	if q.i >= len(q.lines) {
		return nil, false
	}
	n := indentOf(q.lines[q.i])
	if n <= indent || n == len(q.lines[q.i]) {
		return nil, false
	}
	var b strings.Builder
	b.Grow(q.blockSize(n))
	blank := 0 // blank lines not yet written
	for ; q.i < len(q.lines); q.i++ {
		line := q.lines[q.i]
		in := indentOf(line)
		if in == len(line) { // blank
			if in > n {
				return nil, false
			}
			blank++
			continue
		}
		if in < n {
			if in > indent {
				return nil, false
			}
			break
		}
		for range blank {
			b.WriteByte('\n')
		}
		blank = 0
		b.Write(line[n:])
		b.WriteByte('\n')
	}
	s := b.String()
	if !clip {
		s = strings.TrimSuffix(s, "\n")
	}
	return s, true
}

// blockSize bounds the bytes of the block scalar indented by n that starts
// at the current line, so that it is built in one allocation.
func (q *quickReader) blockSize(n int) int {
	size := 0
	for _, line := range q.lines[q.i:] {
		in := indentOf(line)
		if in < n && in != len(line) {
			break
		}
		size += max(len(line)-n, 0) + 1
	}
	return size
}

// inlineScalar reads a one-line value: quoted without escapes, or plain.
// In a flow sequence, commas and brackets are not allowed in a plain value.
func inlineScalar(s []byte, flow bool) (any, bool) {
	if len(s) == 0 {
		return nil, false
	}
	switch s[0] {
	case '"':
		if len(s) < 2 || s[len(s)-1] != '"' || bytes.ContainsAny(s[1:len(s)-1], "\"\\") {
			return nil, false
		}
		return string(s[1 : len(s)-1]), true
	case '\'':
		if len(s) < 2 || s[len(s)-1] != '\'' {
			return nil, false
		}
		inner := s[1 : len(s)-1]
		if strings.Contains(strings.ReplaceAll(string(inner), "''", ""), "'") {
			return nil, false
		}
		return strings.ReplaceAll(string(inner), "''", "'"), true
	}
	return plainScalar(s, flow)
}

// plainScalar resolves a plain value as yaml.v3 and ParseYAML do: null,
// true and false; strings otherwise. Anything that might be a number, and
// anything with an indicator, a comment or ": " in it, is left to yaml.v3.
func plainScalar(s []byte, flow bool) (any, bool) {
	if bytes.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`+.") ||
		bytes.Contains(s, []byte(": ")) || bytes.Contains(s, []byte(" #")) || s[len(s)-1] == ':' ||
		(flow && bytes.ContainsAny(s, ",[]{}")) {
		return nil, false
	}
	str := string(s)
	if s[0] >= '0' && s[0] <= '9' && quickNumeric(str) {
		return nil, false
	}
	switch str {
	case "~", "null", "Null", "NULL":
		return nil, true
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return str, true
}

// quickNumeric reports whether a plain value that starts with a digit or a
// sign could be read by yaml.v3 as an int or a float.
func quickNumeric(s string) bool {
	plain := strings.ReplaceAll(s, "_", "")
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseFloat(plain, 64); err == nil {
		return true
	}
	return yamlStyleFloat.MatchString(s)
}

var yamlStyleFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
