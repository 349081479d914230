package schema_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/personaregistry/personas/schema"
)

const locateDoc = `id: 6650c0ffee0000000000a001
tags:
  category: onboarding
  nested:
    - a
    - {b: c}
base: &b
  x: 1
other: *b
1: one
true: yes
date: 2024-01-01
time: 2001-12-14t21:59:43.10-05:00
num: 42
float: 1.5
hex: 0x1F
nothing: null
flag: false
`

func mustParse(t *testing.T, src string) *schema.Document {
	t.Helper()
	doc, err := schema.ParseYAML([]byte(src))
	if err != nil {
		t.Fatalf("ParseYAML: %v", err)
	}
	return doc
}

func TestLocate(t *testing.T) {
	doc := mustParse(t, locateDoc)
	type pos struct{ line, col int }
	tests := []struct {
		tokens   []string
		key, val pos
	}{
		{nil, pos{1, 1}, pos{1, 1}},
		{[]string{"id"}, pos{1, 1}, pos{1, 5}},
		{[]string{"tags"}, pos{2, 1}, pos{3, 3}},
		{[]string{"tags", "category"}, pos{3, 3}, pos{3, 13}},
		{[]string{"tags", "nested"}, pos{4, 3}, pos{5, 5}},
		{[]string{"tags", "nested", "0"}, pos{5, 7}, pos{5, 7}},
		{[]string{"tags", "nested", "1", "b"}, pos{6, 8}, pos{6, 11}},
		// Aliases are followed to the anchored node.
		{[]string{"other"}, pos{9, 1}, pos{7, 7}}, // an anchored mapping starts at its anchor
		{[]string{"other", "x"}, pos{8, 3}, pos{8, 6}},
		// Non-string keys are found by their text.
		{[]string{"1"}, pos{10, 1}, pos{10, 4}},
		{[]string{"true"}, pos{11, 1}, pos{11, 7}},
		// Where the pointer leads nowhere: the deepest node reached.
		{[]string{"missing"}, pos{1, 1}, pos{1, 1}},
		{[]string{"tags", "missing"}, pos{2, 1}, pos{3, 3}},
		{[]string{"tags", "nested", "9"}, pos{4, 3}, pos{5, 5}},
		{[]string{"tags", "nested", "-1"}, pos{4, 3}, pos{5, 5}},
		{[]string{"tags", "nested", "x"}, pos{4, 3}, pos{5, 5}},
		{[]string{"id", "deeper"}, pos{1, 1}, pos{1, 5}},
	}
	for _, tt := range tests {
		k, v := schema.Locate(doc.Root, tt.tokens)
		if k == nil || v == nil {
			t.Errorf("Locate(%q) = %v, %v", tt.tokens, k, v)
			continue
		}
		if got := (pos{k.Line, k.Column}); got != tt.key {
			t.Errorf("Locate(%q) key at %v, want %v", tt.tokens, got, tt.key)
		}
		if got := (pos{v.Line, v.Column}); got != tt.val {
			t.Errorf("Locate(%q) value at %v, want %v", tt.tokens, got, tt.val)
		}
	}
}

func TestParseYAMLValue(t *testing.T) {
	doc := mustParse(t, locateDoc)
	if doc.Root.Kind != yaml.MappingNode {
		t.Fatalf("Root.Kind = %v, want a mapping", doc.Root.Kind)
	}
	want := map[string]any{
		"id": "6650c0ffee0000000000a001",
		"tags": map[string]any{
			"category": "onboarding",
			"nested":   []any{"a", map[string]any{"b": "c"}},
		},
		"base":    map[string]any{"x": json.Number("1")},
		"other":   map[string]any{"x": json.Number("1")},
		"1":       "one",
		"true":    "yes",
		"date":    "2024-01-01",
		"time":    "2001-12-14t21:59:43.10-05:00",
		"num":     json.Number("42"),
		"float":   json.Number("1.5"),
		"hex":     json.Number("31"),
		"nothing": nil,
		"flag":    false,
	}
	if !reflect.DeepEqual(doc.Value, want) {
		t.Errorf("Value =\n%#v\nwant\n%#v", doc.Value, want)
	}
	// The value is what encoding/json can marshal: the schema validates it as JSON.
	if _, err := json.Marshal(doc.Value); err != nil {
		t.Errorf("json.Marshal(Value): %v", err)
	}
}

func TestParseYAMLScalars(t *testing.T) {
	tests := []struct {
		src  string
		want any
	}{
		{"2024-01-01", "2024-01-01"},
		{"2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"},
		{"!!timestamp 2024-01-01", "2024-01-01"},
		{"'42'", "42"},
		{"42", json.Number("42")},
		{"-7", json.Number("-7")},
		{"0o17", json.Number("15")},
		{"1_000", json.Number("1000")},
		{"true", true},
		{"False", false},
		{"yes", "yes"},
		{"~", nil},
		{"Null", nil},
		{"!!str 12", "12"},
		{"!custom text", "text"},
		{"!!binary aGVsbG8=", "aGVsbG8="},
	}
	for _, tt := range tests {
		doc := mustParse(t, "v: "+tt.src+"\n")
		got := doc.Value.(map[string]any)["v"]
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("v: %s → %#v, want %#v", tt.src, got, tt.want)
		}
	}
}

func TestParseYAMLMerge(t *testing.T) {
	doc := mustParse(t, `base: &base {a: "1", b: "2"}
extra: &extra {c: "3"}
m:
  <<: [*base, *extra]
  b: own
`)
	got := doc.Value.(map[string]any)["m"]
	want := map[string]any{"a": "1", "b": "own", "c": "3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged = %#v, want %#v", got, want)
	}
	// Locate does not find merged keys in the merging mapping: the mapping itself is returned.
	k, v := schema.Locate(doc.Root, []string{"m", "a"})
	if k.Line != 3 || v.Line != 4 {
		t.Errorf("Locate(m.a) = key line %d, value line %d; want 3 and 4", k.Line, v.Line)
	}
}

// findingOf returns the *Finding in err, failing the test when there is none.
func findingOf(t *testing.T, err error) *schema.Finding {
	t.Helper()
	var f *schema.Finding
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T) is not a *schema.Finding", err, err)
	}
	return f
}

func TestParseYAMLErrors(t *testing.T) {
	padded := func(n int) string {
		return "a: b\n#" + strings.Repeat("x", n-len("a: b\n#")-1) + "\n"
	}
	tests := []struct {
		name      string
		src       string
		line, col int
		msg       string // a substring of the message
	}{
		{"empty", "", 1, 1, "file is empty"},
		{"blank", "  \n\n   \n", 1, 1, "file is empty"},
		{"comments", "# a\n# b\n", 1, 1, "file is empty"},
		{"nul", "a: b\x00\n", 1, 1, "binary (contains a NUL byte)"},
		{"too big", padded(schema.MaxFileSize + 1), 1, 1, "larger than the 1048576 bytes allowed"},
		{"syntax", "a: b\nc: d\n  e: f\n", 3, 1, "invalid YAML: mapping values are not allowed in this context"},
		{"tab", "a:\n\tb: 1\n", 2, 1, "invalid YAML: found character that cannot start any token"},
		{"unterminated", "a: b\nc: 'x\n", 2, 1, "invalid YAML: found unexpected end of stream"},
		{"invalid utf8", "a: \xff\xfe\xfd\n", 1, 1, "invalid YAML"},
		{"duplicate key", "a: 1\nb:\n  c: 1\n  c: 2\n", 4, 3, `key "c" appears twice in this mapping`},
		{"complex key", "? [a]\n: b\n", 1, 3, "a mapping key must be a plain value"},
		{"bad merge", "a: b\n<<: [1]\n", 2, 5, "a merge key (<<) needs a mapping or a list of mappings"},
		{"recursive alias", "a: &a [*a]\n", 1, 4, "nested deeper than 64 levels"},
		{"deep flow", strings.Repeat("[", 200) + strings.Repeat("]", 200), 1, 66, "nested deeper than 64 levels"},
		{"deep block", deepBlock(100), 66, 131, "nested deeper than 64 levels"},
		{"deeper than yaml.v3 allows", strings.Repeat("[", 100_000), 1, 1, "invalid YAML"},
		{"bomb", bomb(9), 0, 0, "document expands to more than 100000 nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			doc, err := schema.ParseYAML([]byte(tt.src))
			if el := time.Since(start); el > slowLimit {
				t.Errorf("ParseYAML took %v", el)
			}
			if err == nil {
				t.Fatalf("ParseYAML = %v, nil; want an error", doc)
			}
			if doc != nil {
				t.Errorf("ParseYAML returned a document with its error")
			}
			f := findingOf(t, err)
			if !strings.Contains(f.Message, tt.msg) {
				t.Errorf("message %q, want it to contain %q", f.Message, tt.msg)
			}
			if f.Line < 1 || f.Column < 1 {
				t.Errorf("position %d:%d, want ≥ 1:1", f.Line, f.Column)
			}
			if tt.line != 0 && (f.Line != tt.line || f.Column != tt.col) {
				t.Errorf("position %d:%d, want %d:%d", f.Line, f.Column, tt.line, tt.col)
			}
		})
	}
}

// TestParseYAMLParserErrorLines checks the line of YAML errors that yaml.v3's
// parser (not its scanner) finds.
func TestParseYAMLParserErrorLines(t *testing.T) {
	tests := []struct {
		src  string
		line int
	}{
		{"a: 1\nb: 2\nc: 3\nd: [x,\n  y\ne: 5\n", 4}, // the unclosed sequence
		{"a: 1\nb: 2\nc: 3\nd: {x: 1,\n  y\ne: 5\n", 4},
		{"a: 1\nb: 2\n- c\n", 3},   // the item where a key is expected
		{"a:\n  b: 1\n c: 2\n", 3}, // the badly indented key
		{"name: [unclosed\n", 1},
	}
	for _, tt := range tests {
		_, err := schema.ParseYAML([]byte(tt.src))
		if err == nil {
			t.Errorf("%q: no error", tt.src)
			continue
		}
		if f := findingOf(t, err); f.Line != tt.line {
			t.Errorf("%q: error on line %d, want %d: %s", tt.src, f.Line, tt.line, f.Message)
		}
	}
}

func TestParseYAMLLimitsAccepted(t *testing.T) {
	// A file of exactly MaxFileSize bytes is read.
	src := "a: b\n#" + strings.Repeat("x", schema.MaxFileSize-len("a: b\n#")-1) + "\n"
	if len(src) != schema.MaxFileSize {
		t.Fatalf("len = %d", len(src))
	}
	if _, err := schema.ParseYAML([]byte(src)); err != nil {
		t.Errorf("file of MaxFileSize bytes: %v", err)
	}
	// Nesting within the limit and a small alias fan-out are fine.
	if _, err := schema.ParseYAML([]byte(strings.Repeat("[", 60) + strings.Repeat("]", 60))); err != nil {
		t.Errorf("60 levels: %v", err)
	}
	if _, err := schema.ParseYAML([]byte(bomb(4))); err != nil {
		t.Errorf("a small alias fan-out: %v", err)
	}
	// A byte order mark is not a NUL.
	if _, err := schema.ParseYAML([]byte("\ufeffa: b\n")); err != nil {
		t.Errorf("BOM: %v", err)
	}
}

// deepBlock is a block mapping nested n levels, two spaces an indent.
func deepBlock(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat("  ", i) + "k:\n")
	}
	b.WriteString(strings.Repeat("  ", n) + "v\n")
	return b.String()
}

// bomb is a billion-laughs document with n levels of nine aliases each.
func bomb(n int) string {
	var b strings.Builder
	b.WriteString(`l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for i := 1; i <= n; i++ {
		prev := "*l" + string(rune('0'+i-1))
		b.WriteString("l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [" +
			strings.TrimSuffix(strings.Repeat(prev+",", 9), ",") + "]\n")
	}
	return b.String()
}

func TestParsePersonaNotAMapping(t *testing.T) {
	for _, src := range []string{"- a\n- b\n", "just text\n", "~\n", "42\n", "[]\n"} {
		p, doc, fs := schema.ParsePersona("p.yaml", []byte(src))
		if p != nil {
			t.Errorf("%q: persona %v", src, p)
		}
		want := "p.yaml:1:1: error: a persona file must be a mapping of keys (id, name, role, background, …)\n"
		if got := formatFindings(fs); got != want {
			t.Errorf("%q: findings\n%swant\n%s", src, got, want)
		}
		if doc == nil {
			t.Errorf("%q: no document", src)
		}
	}
}

func TestParsePersonaErrorHasPath(t *testing.T) {
	p, doc, fs := schema.ParsePersona("dir/p.yaml", []byte("a: [\n"))
	if p != nil || doc != nil || len(fs) != 1 {
		t.Fatalf("ParsePersona = %v, %v, %v", p, doc, fs)
	}
	if fs[0].Path != "dir/p.yaml" || fs[0].Severity != schema.SeverityError {
		t.Errorf("finding %+v: want path dir/p.yaml and severity error", fs[0])
	}
}

func TestParsePersonaWarningOnly(t *testing.T) {
	src := "id: 6650c0ffee0000000000a001\nname: N\nrole: r\nbackground: b\nsensitive_user_variables: {pin: \"1234\"}\n"
	p, _, fs := schema.ParsePersona("p.yaml", []byte(src))
	if p == nil {
		t.Fatalf("a file with only warnings must parse; findings:\n%s", formatFindings(fs))
	}
	if len(fs) != 1 || fs[0].Severity != schema.SeverityWarning || schema.HasErrors(fs) {
		t.Errorf("findings:\n%s want one warning", formatFindings(fs))
	}
	if p.SensitiveUserVariables["pin"] != "1234" {
		t.Errorf("sensitive variables = %v", p.SensitiveUserVariables)
	}
}

func TestParsePersonaDefaults(t *testing.T) {
	src := "id: 6650c0ffee0000000000a001\nname: N\nrole: r\nbackground: b\n"
	p, _, fs := schema.ParsePersona("p.yaml", []byte(src))
	if p == nil {
		t.Fatalf("findings:\n%s", formatFindings(fs))
	}
	want := &schema.Persona{ID: "6650c0ffee0000000000a001", Name: "N", Role: "r", Background: "b",
		Tags: map[string]*string{}, UserModels: []string{},
		NonsensitiveUserVariables: map[string]string{}, SensitiveUserVariables: map[string]string{}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("ParsePersona = %+v, want %+v", p, want)
	}
}

func TestParseUnitTest(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		ok       bool
		id       string
		line     int
		col      int
		findings string
	}{
		{"ref", "name: t\npersona_id: 6650c0ffee0000000000a001\n", true, "6650c0ffee0000000000a001", 2, 13, ""},
		{"no persona_id", "name: t\n", false, "", 0, 0, ""},
		{"a list", "- persona_id: x\n", false, "", 0, 0, ""},
		{"number", "persona_id: 12\n", false, "", 0, 0, "u.yaml:1:13: error: persona_id must be a string of 24 hex digits\n"},
		{"null", "persona_id:\n", false, "", 0, 0, "u.yaml:1:12: error: persona_id must be a string of 24 hex digits\n"},
		{"bad yaml", "persona_id: [\n", false, "", 0, 0, "u.yaml:1:1: error: invalid YAML: did not find expected node content\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, ok, fs := schema.ParseUnitTest("u.yaml", []byte(tt.src))
			if ok != tt.ok || ref.PersonaID != tt.id {
				t.Errorf("ParseUnitTest = %+v, %v; want id %q, ok %v", ref, ok, tt.id, tt.ok)
			}
			if ok && (ref.Path != "u.yaml" || ref.Line != tt.line || ref.Column != tt.col) {
				t.Errorf("ref = %+v, want u.yaml at %d:%d", ref, tt.line, tt.col)
			}
			if got := formatFindings(fs); got != tt.findings {
				t.Errorf("findings\n%swant\n%s", got, tt.findings)
			}
		})
	}
}

func TestFindingError(t *testing.T) {
	f := schema.Finding{Path: "personas/a.yaml", Line: 3, Column: 1, Message: `unknown key "rol"; did you mean "role"?`}
	if got, want := f.Error(), `personas/a.yaml:3:1: error: unknown key "rol"; did you mean "role"?`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	f.Severity = schema.SeverityWarning
	if got := f.Error(); !strings.Contains(got, ": warning: ") {
		t.Errorf("Error() = %q, want a warning", got)
	}
	var err error = &f
	if findingOf(t, err) != &f {
		t.Errorf("errors.As lost the finding")
	}
}

func TestSortFindingsAndHasErrors(t *testing.T) {
	fs := []schema.Finding{
		{Path: "b.yaml", Line: 1, Column: 1, Message: "x", Severity: schema.SeverityError},
		{Path: "a.yaml", Line: 10, Column: 1, Message: "x", Severity: schema.SeverityWarning},
		{Path: "a.yaml", Line: 2, Column: 5, Message: "b", Severity: schema.SeverityError},
		{Path: "a.yaml", Line: 2, Column: 5, Message: "a", Severity: schema.SeverityError},
		{Path: "a.yaml", Line: 2, Column: 1, Message: "z", Severity: schema.SeverityError},
	}
	schema.SortFindings(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.Error())
	}
	want := []string{
		"a.yaml:2:1: error: z",
		"a.yaml:2:5: error: a",
		"a.yaml:2:5: error: b",
		"a.yaml:10:1: warning: x",
		"b.yaml:1:1: error: x",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sorted:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !schema.HasErrors(fs) {
		t.Errorf("HasErrors = false")
	}
	if schema.HasErrors(fs[3:4]) || schema.HasErrors(nil) {
		t.Errorf("HasErrors of warnings only or nothing = true")
	}
	if !schema.HasErrors([]schema.Finding{{Message: "no severity"}}) {
		t.Errorf("a finding without severity is an error")
	}
}

func strp(s string) *string { return &s }

func TestRenderRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    schema.Persona
	}{
		{"minimal", schema.Persona{ID: "6650c0ffee0000000000a001", Name: "Minimal", Role: "patient", Background: "Short.\n"}},
		{"full", schema.Persona{
			ID: "6650c0ffee0000000000a002", Name: "Confused New User", Role: "patient",
			Tags:                      map[string]*string{"category": strp("onboarding"), "difficulty": nil, "level two": strp("x y")},
			Background:                "A 35-year-old first-time user.\nAsks the same question twice.\n",
			PreferredLanguage:         strp("eng"),
			Timezone:                  strp("America/New_York"),
			UserModels:                []string{"basic", "advanced"},
			NonsensitiveUserVariables: map[string]string{"account_id": "42", "greeting": "hello\nworld\n", "plan": "null"},
		}},
		{"unicode multi-line", schema.Persona{
			ID: "6650c0ffee0000000000a003", Name: "日本語の先生 Zoë", Role: "患者",
			Tags:              map[string]*string{"only_null": nil},
			Background:        "東京在住の七十歳。\n  インデントされた行。\n\nCafé ☕ — “quoted” # not a comment\nkey: value\n- item\n---\n",
			PreferredLanguage: strp("jpn"),
			Timezone:          strp("Asia/Tokyo"),
		}},
		{"scalars that look typed", schema.Persona{
			ID: "6650c0ffee0000000000a004", Name: "2024-01-01", Role: "true",
			Tags:       map[string]*string{"n": strp("null"), "b": strp("yes"), "i": strp("123"), "f": strp("1 5")},
			Background: "42",
			UserModels: []string{"~", "0x1F", "2024-01-01T10:00:00Z"},
		}},
		{"awkward whitespace", schema.Persona{
			ID: "6650c0ffee0000000000a005", Name: " Leading space", Role: "trailing ",
			Background: "  leading spaces\ntrailing spaces  \n\n\n",
		}},
		{"no final newline", schema.Persona{ID: "6650c0ffee0000000000a006", Name: "No Newline", Role: "r", Background: "line one\nline two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.p
			want.Normalize()
			data := schema.Render(&tt.p, "../schema/persona.schema.json")
			if !strings.HasPrefix(string(data), "# yaml-language-server: $schema=../schema/persona.schema.json\n") {
				t.Errorf("no modeline:\n%s", data)
			}
			if fs := schema.Lint(schema.LintInput{Personas: []schema.File{{Path: "p.yaml", Data: data}}}); len(fs) != 0 {
				t.Errorf("Render output has findings:\n%s\n%s", formatFindings(fs), data)
			}
			got, _, fs := schema.ParsePersona("p.yaml", data)
			if got == nil {
				t.Fatalf("ParsePersona(Render(p)) failed:\n%s\n%s", formatFindings(fs), data)
			}
			if !reflect.DeepEqual(*got, want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				t.Errorf("round trip:\n got %s\nwant %s\nfile:\n%s", gj, wj, data)
			}
			if again := schema.Render(got, "../schema/persona.schema.json"); string(again) != string(data) {
				t.Errorf("Render is not stable:\n%s\nthen\n%s", data, again)
			}
		})
	}
}

// TestRenderLeadingBreakOrTab checks the round trip of strings that a literal
// block cannot hold as they are.
func TestRenderLeadingBreakOrTab(t *testing.T) {
	for _, s := range []string{"\n0", "\nabc\n", "\n\nabc\n", "\tabc\n", "\tabc", " \tabc\n"} {
		p := schema.Persona{ID: "6650c0ffee0000000000a001", Name: "n", Role: "r", Background: s,
			NonsensitiveUserVariables: map[string]string{"note": s + "\nx"}}
		p.Normalize()
		data := schema.Render(&p, "")
		got, _, fs := schema.ParsePersona("p.yaml", data)
		if got == nil {
			t.Errorf("background %q: Render output does not parse:\n%s%s", s, formatFindings(fs), data)
			continue
		}
		if !reflect.DeepEqual(*got, p) {
			t.Errorf("background %q: round trip gives %q, variable %q", s, got.Background, got.NonsensitiveUserVariables["note"])
		}
	}
}

func TestRenderFormat(t *testing.T) {
	p := &schema.Persona{
		ID: "6650c0ffee0000000000a001", Name: "Confused New User", Role: "patient",
		Tags:              map[string]*string{"difficulty": strp("low"), "category": strp("onboarding"), "extra": nil},
		Background:        "A 35-year-old first-time user who is unfamiliar with the platform.\n",
		PreferredLanguage: strp("eng"),
	}
	want := `id: 6650c0ffee0000000000a001
name: Confused New User
role: patient
tags:
  category: onboarding
  difficulty: low
  extra: null
background: |
  A 35-year-old first-time user who is unfamiliar with the platform.
preferred_language: eng
timezone: null
user_models: []
nonsensitive_user_variables: {}
sensitive_user_variables: {}
`
	if got := string(schema.Render(p, "")); got != want {
		t.Errorf("Render =\n%s\nwant\n%s", got, want)
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Café Owner", "cafe-owner"},
		{"Confused New User", "confused-new-user"},
		{"  --  ", "persona"},
		{"", "persona"},
		{"!!!", "persona"},
		{"日本語の先生", "日本語の先生"},
		{"日本語 の 先生", "日本語-の-先生"},
		{"Zoë  Müller!!", "zoe-muller"},
		{"ÀÉÎÕÜ ñ", "aeiou-n"},
		{"İstanbul", "istanbul"},
		{"Straße", "straße"},
		{"R2-D2", "r2-d2"},
		{"--Leading and trailing--", "leading-and-trailing"},
		{"tab\tand\nnewline", "tab-and-newline"},
		{"Power User (v2)", "power-user-v2"},
		{strings.Repeat("a", 100), strings.Repeat("a", 80)},
		{strings.Repeat("abc ", 30), strings.TrimSuffix(strings.Repeat("abc-", 20), "-")},
	}
	for _, tt := range tests {
		if got := schema.Slug(tt.name); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

var slugPattern = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{Nd}]+(-[\p{Ll}\p{Lo}\p{Nd}]+)*$`)

// TestSlugLongMultibyte checks that a long name of multi-byte letters is cut
// on a character boundary.
func TestSlugLongMultibyte(t *testing.T) {
	for _, name := range []string{strings.Repeat("日本", 30), strings.Repeat("é", 100), "a" + strings.Repeat("日", 40)} {
		s := schema.Slug(name)
		if !utf8.ValidString(s) || len(s) > 80 || !slugPattern.MatchString(s) {
			t.Errorf("Slug(%q) = %q (valid UTF-8 %v, %d bytes)", name, s, utf8.ValidString(s), len(s))
		}
	}
}

func TestSlugShape(t *testing.T) {
	for _, name := range []string{"Café Owner", "x", "日本語の先生", "a - b", strings.Repeat("word ", 40), "Ünïcödé  Ñame 42"} {
		s := schema.Slug(name)
		if !slugPattern.MatchString(s) || len(s) > 80 || !utf8.ValidString(s) {
			t.Errorf("Slug(%q) = %q: want lowercase letters and digits joined by single hyphens, at most 80 bytes", name, s)
		}
	}
}

func TestNewID(t *testing.T) {
	now := time.Date(2024, 5, 24, 12, 0, 0, 0, time.UTC)
	id := schema.NewID(now)
	if !regexp.MustCompile(`^[a-f0-9]{24}$`).MatchString(id) {
		t.Fatalf("NewID = %q, want 24 lowercase hex digits", id)
	}
	b, _ := hex.DecodeString(id[:8])
	secs := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if int64(secs) != now.Unix() {
		t.Errorf("NewID time prefix = %d, want %d", secs, now.Unix())
	}
	if want := fmt.Sprintf("%08x", now.Unix()); id[:8] != want {
		t.Errorf("NewID prefix %s, want %s", id[:8], want)
	}
	seen := map[string]bool{}
	for range 1000 {
		id := schema.NewID(now)
		if seen[id] {
			t.Fatalf("NewID repeated %s", id)
		}
		seen[id] = true
	}
	// Ids made later sort later.
	if a, b := schema.NewID(now), schema.NewID(now.Add(time.Second)); a[:8] >= b[:8] {
		t.Errorf("NewID prefixes %s then %s: want increasing", a[:8], b[:8])
	}
	// A fresh id makes a valid persona.
	src := "id: " + schema.NewID(time.Now()) + "\nname: n\nrole: r\nbackground: b\n"
	if p, _, fs := schema.ParsePersona("p.yaml", []byte(src)); p == nil {
		t.Errorf("persona with NewID: %s", formatFindings(fs))
	}
}
