package schema_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/<case>/want.txt from the findings of schema.Lint")

// knownBugs lists the fixture cases that fail because of a bug in non-test
// code. Their want.txt holds the output expected once the bug is fixed.
var knownBugs = map[string]string{}

const bugParserErrorLine = "BUG: yaml.v3 reports the line of a parser error (\"did not find expected …\") 0-based, " +
	"and decode.go's yamlErrorFinding passes it on: an unclosed flow sequence on line 4 is reported on line 3"

const bugNonMappingRoot = "BUG: schema.Lint panics on a persona file whose top level is not a mapping " +
	"(a list, a scalar or null): lint.go:36-37 assert r.doc.Value.(map[string]any) without comma-ok, " +
	"and ParsePersona returns a non-nil doc for such a file"

// lintTimeout bounds one Lint call of a fixture: YAML bombs and deep nesting
// must fail fast, not hang.
const lintTimeout = 20 * time.Second

// slowLimit is the longest one file (or one fixture) may take to lint: far
// more than it needs, even under -race on a loaded machine.
const slowLimit = 5 * time.Second

// loadCase reads testdata/<case>: personas/** into Personas and unit_tests/**
// into UnitTests, paths relative to the case directory with forward slashes.
func loadCase(t testing.TB, dir string) schema.LintInput {
	t.Helper()
	var in schema.LintInput
	for _, sub := range []string{"personas", "unit_tests"} {
		root := filepath.Join(dir, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(p))
			if d.IsDir() || (ext != ".yaml" && ext != ".yml") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			f := schema.File{Path: filepath.ToSlash(rel), Data: data}
			if sub == "personas" {
				in.Personas = append(in.Personas, f)
			} else {
				in.UnitTests = append(in.UnitTests, f)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return in
}

// lintCases lists the fixture directories: those of testdata with a personas
// or unit_tests directory.
func lintCases(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		for _, sub := range []string{"personas", "unit_tests"} {
			if _, err := os.Stat(filepath.Join("testdata", e.Name(), sub)); err == nil {
				cases = append(cases, e.Name())
				break
			}
		}
	}
	if len(cases) == 0 {
		t.Fatal("no fixture cases in testdata")
	}
	return cases
}

// lintWithTimeout runs schema.Lint, failing the test when it takes longer than d.
func lintWithTimeout(t testing.TB, in schema.LintInput, d time.Duration) []schema.Finding {
	t.Helper()
	done := make(chan []schema.Finding, 1)
	panicked := make(chan any, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				panicked <- r
			}
		}()
		done <- schema.Lint(in)
	}()
	select {
	case fs := <-done:
		return fs
	case r := <-panicked:
		t.Fatalf("schema.Lint panicked: %v", r)
	case <-time.After(d):
		t.Fatalf("schema.Lint did not finish within %v", d)
	}
	return nil
}

func formatFindings(fs []schema.Finding) string {
	var b strings.Builder
	for i := range fs {
		b.WriteString(fs[i].Error())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestLintFixtures(t *testing.T) {
	for _, name := range lintCases(t) {
		t.Run(name, func(t *testing.T) {
			if reason, ok := knownBugs[name]; ok {
				t.Skip(reason)
			}
			dir := filepath.Join("testdata", name)
			in := loadCase(t, dir)
			files := map[string]bool{}
			for _, f := range slices.Concat(in.Personas, in.UnitTests) {
				files[f.Path] = true
			}
			start := time.Now()
			got := lintWithTimeout(t, in, lintTimeout)
			if el := time.Since(start); el > slowLimit {
				t.Errorf("Lint took %v; a handful of files must lint in well under a second", el)
			}
			checkFindingInvariants(t, got, files)
			wantFile := filepath.Join(dir, "want.txt")
			if *update {
				if err := os.WriteFile(wantFile, []byte(formatFindings(got)), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			data, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test -run TestLintFixtures -update to create it)", err)
			}
			want := string(data)
			if g := formatFindings(got); g != want {
				t.Errorf("Lint findings differ\n--- got\n%s--- want\n%s", g, want)
			}
			if strings.HasPrefix(name, "good_") && len(got) != 0 {
				t.Errorf("good case has %d findings, want none", len(got))
			}
			wantErr := strings.Contains(want, ": error: ")
			if schema.HasErrors(got) != wantErr {
				t.Errorf("HasErrors = %v, want %v", schema.HasErrors(got), wantErr)
			}
		})
	}
}

// checkFindingInvariants checks what holds for every finding: a position,
// a message, a severity and the path of a linted file.
func checkFindingInvariants(t testing.TB, fs []schema.Finding, files map[string]bool) {
	t.Helper()
	for _, f := range fs {
		if f.Line < 1 || f.Column < 1 {
			t.Errorf("%s: position %d:%d, want both ≥ 1", f.Error(), f.Line, f.Column)
		}
		if strings.TrimSpace(f.Message) == "" {
			t.Errorf("%s: empty message", f.Error())
		}
		if f.Severity != schema.SeverityError && f.Severity != schema.SeverityWarning {
			t.Errorf("%s: severity %q", f.Error(), f.Severity)
		}
		if files != nil && !files[f.Path] {
			t.Errorf("%s: path %q is not one of the linted files", f.Error(), f.Path)
		}
	}
	sorted := slices.Clone(fs)
	schema.SortFindings(sorted)
	if !slices.Equal(sorted, fs) {
		t.Errorf("findings are not sorted")
	}
}

// TestLintFixtureFields checks the Field of findings that the text output
// does not show.
func TestLintFixtureFields(t *testing.T) {
	tests := []struct {
		name      string
		wantField []string
	}{
		{"missing_id", []string{"id"}},
		{"missing_background", []string{"background"}},
		{"id_number", []string{"id"}},
		{"name_blank", []string{"name"}},
		{"background_blank", []string{"background"}},
		{"unknown_key_typo", []string{"prefered_language"}},
		{"tags_too_many", []string{"tags"}},
		{"tag_key_hyphen", []string{"tags.care-level"}},
		{"tag_value_slash", []string{"tags.channel"}},
		{"tag_value_list", []string{"tags.channel"}},
		{"language_en", []string{"preferred_language"}},
		{"timezone_typo", []string{"timezone"}},
		{"var_key_uppercase", []string{"nonsensitive_user_variables.PlanTier"}},
		{"var_value_number", []string{"nonsensitive_user_variables.plan_tier"}},
		{"sensitive_vars", []string{"sensitive_user_variables"}},
		{"duplicate_id", []string{"id"}},
		{"duplicate_name", []string{"name"}},
		{"unit_test_missing_persona", []string{"persona_id"}},
		{"unit_test_id_not_string", []string{"persona_id"}},
		{"yaml_bomb", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lintWithTimeout(t, loadCase(t, filepath.Join("testdata", tt.name)), lintTimeout)
			var fields []string
			for _, f := range got {
				fields = append(fields, f.Field)
			}
			if !slices.Equal(fields, tt.wantField) {
				t.Errorf("fields = %q, want %q\n%s", fields, tt.wantField, formatFindings(got))
			}
		})
	}
}

// TestGoodFixturesParse checks that every persona of the good cases parses
// to a Persona, and what some of them decode to.
func TestGoodFixturesParse(t *testing.T) {
	parsed := map[string]*schema.Persona{}
	for _, name := range lintCases(t) {
		if !strings.HasPrefix(name, "good_") {
			continue
		}
		in := loadCase(t, filepath.Join("testdata", name))
		for _, f := range in.Personas {
			p, doc, fs := schema.ParsePersona(f.Path, f.Data)
			if p == nil || doc == nil || len(fs) != 0 {
				t.Errorf("%s/%s: ParsePersona = %v, findings:\n%s", name, f.Path, p, formatFindings(fs))
				continue
			}
			parsed[name+"/"+f.Path] = p
		}
	}
	str := func(s string) *string { return &s }
	checks := []struct {
		file  string
		check func(p *schema.Persona) any // returns the got value
		want  any
	}{
		{"good_timestamp_strings/personas/dates.yaml", func(p *schema.Persona) any { return p.Name }, "2024-01-01"},
		{"good_timestamp_strings/personas/dates.yaml", func(p *schema.Persona) any { return p.Role }, "2024-01-01T10:00:00Z"},
		{"good_timestamp_strings/personas/dates.yaml", func(p *schema.Persona) any { return p.Background }, "2001-12-14 21:59:43.10 -5"},
		{"good_timestamp_strings/personas/dates.yaml", func(p *schema.Persona) any { return p.NonsensitiveUserVariables }, map[string]string{"start_date": "2024-01-01"}},
		{"good_null_tags/personas/nulls.yaml", func(p *schema.Persona) any { return p.Tags }, map[string]*string{
			"empty_value": nil, "explicit_null": nil, "tilde": nil, "upper_null": nil, "flagged": str("yes")}},
		{"good_null_tags/personas/nulls.yaml", func(p *schema.Persona) any { return p.PreferredLanguage }, (*string)(nil)},
		{"good_block_scalars/personas/blocks.yaml", func(p *schema.Persona) any { return p.Name }, "Folded Name"},
		{"good_block_scalars/personas/blocks.yaml", func(p *schema.Persona) any { return p.Background },
			"A folded background that spans lines.\nWith a second paragraph.\n"},
		{"good_block_scalars/personas/keep.yaml", func(p *schema.Persona) any { return p.Background },
			"Indented four spaces,\n  then six.\n\n\n"},
		{"good_unicode/personas/japanese.yaml", func(p *schema.Persona) any { return p.Name }, "日本語の先生"},
		{"good_merge_key/personas/merge-vars.yaml", func(p *schema.Persona) any { return p.NonsensitiveUserVariables },
			map[string]string{"category": "overridden", "difficulty": "low", "account_id": "42"}},
		{"good_merge_key/personas/merge-root.yaml", func(p *schema.Persona) any { return []any{p.Role, *p.Timezone} }, []any{"patient", "UTC"}},
		{"good_merge_key/personas/merge-list.yaml", func(p *schema.Persona) any { return p.Tags },
			map[string]*string{"tier": str("gold"), "region": str("south")}},
		{"good_key_order/personas/reversed.yaml", func(p *schema.Persona) any { return p.UserModels }, []string{"default"}},
		{"good_comments/personas/commented.yaml", func(p *schema.Persona) any { return p.Background },
			"The # in this line is text, not a comment.\n"},
		{"good_us_eastern/personas/eastern.yaml", func(p *schema.Persona) any { return *p.Timezone }, "US/Eastern"},
	}
	for _, c := range checks {
		p := parsed[c.file]
		if p == nil {
			t.Errorf("%s: not parsed", c.file)
			continue
		}
		got := c.check(p)
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(c.want)
		if string(gj) != string(wj) {
			t.Errorf("%s: got %s, want %s", c.file, gj, wj)
		}
	}
}

// TestLintKnownIDs checks that a unit test may reference a persona given in
// KnownIDs instead of the linted files.
func TestLintKnownIDs(t *testing.T) {
	in := schema.LintInput{
		UnitTests: []schema.File{{Path: "unit_tests/t.yaml", Data: []byte("persona_id: 6650c0ffee0000000000c001\n")}},
	}
	got := schema.Lint(in)
	if want := "unit_tests/t.yaml:1:13: error: persona_id 6650c0ffee0000000000c001 references no persona\n"; formatFindings(got) != want {
		t.Errorf("without KnownIDs: got\n%swant\n%s", formatFindings(got), want)
	}
	in.KnownIDs = map[string]bool{"6650c0ffee0000000000c001": true}
	if got := schema.Lint(in); len(got) != 0 {
		t.Errorf("with KnownIDs: got\n%s", formatFindings(got))
	}
}

// TestLintEmpty checks that nothing to lint is no finding.
func TestLintEmpty(t *testing.T) {
	if got := schema.Lint(schema.LintInput{}); len(got) != 0 {
		t.Errorf("Lint(empty) = %v", got)
	}
}

// referenceLists reads the language codes and timezone names Amigo's OpenAPI
// document accepts, or skips the test when shared/reference is not there.
func referenceLists(t *testing.T) (languages, timezones []string) {
	t.Helper()
	var data []byte
	for _, p := range []string{
		"../../shared/reference/amigo-simulation-persona-openapi.json",
		"../shared/reference/amigo-simulation-persona-openapi.json",
	} {
		if d, err := os.ReadFile(p); err == nil {
			data = d
			break
		}
	}
	if data == nil {
		t.Skip("shared/reference/amigo-simulation-persona-openapi.json not found beside the module")
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	langs, tzs := map[string]bool{}, map[string]bool{}
	// Walk the document: an enum under a preferred_language or timezone property.
	var walk func(v any, field string)
	walk = func(v any, field string) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				f := field
				if k == "preferred_language" || k == "timezone" {
					f = k
				}
				if k == "enum" && field != "" {
					for _, e := range c.([]any) {
						if s, ok := e.(string); ok {
							if field == "timezone" {
								tzs[s] = true
							} else {
								langs[s] = true
							}
						}
					}
					continue
				}
				walk(c, f)
			}
		case []any:
			for _, c := range v {
				walk(c, field)
			}
		}
	}
	walk(doc, "")
	for l := range langs {
		languages = append(languages, l)
	}
	for z := range tzs {
		timezones = append(timezones, z)
	}
	slices.Sort(languages)
	slices.Sort(timezones)
	return languages, timezones
}

func TestAcceptedListSizes(t *testing.T) {
	if got := schema.Languages(); got != 7910 {
		t.Errorf("Languages() = %d, want 7910", got)
	}
	tzs := schema.Timezones()
	if len(tzs) != 599 {
		t.Errorf("len(Timezones()) = %d, want 599", len(tzs))
	}
	if !slices.IsSorted(tzs) {
		t.Errorf("Timezones() is not sorted")
	}
	tzs[0] = "mutated"
	if schema.Timezones()[0] == "mutated" {
		t.Errorf("Timezones() returns the internal slice")
	}
}

// TestReferenceListsAccepted checks every language code and timezone name of
// Amigo's OpenAPI document is accepted, and that the lists are the same.
func TestReferenceListsAccepted(t *testing.T) {
	languages, timezones := referenceLists(t)
	if len(languages) != 7910 || len(timezones) != 599 {
		t.Fatalf("reference has %d languages and %d timezones, want 7910 and 599", len(languages), len(timezones))
	}
	for _, l := range languages {
		if msg := schema.CheckLanguage(l); msg != "" {
			t.Errorf("CheckLanguage(%q) = %q", l, msg)
		}
	}
	for _, z := range timezones {
		if msg := schema.CheckTimezone(z); msg != "" {
			t.Errorf("CheckTimezone(%q) = %q", z, msg)
		}
	}
	if got := schema.Timezones(); !slices.Equal(got, timezones) {
		t.Errorf("Timezones() differs from the reference")
	}
	// Every timezone and a sample of the languages through the whole of Lint too, one file each.
	var in schema.LintInput
	add := func(i int, field, value string) {
		id := strings.Repeat("0", 18) + hex6(i)
		in.Personas = append(in.Personas, schema.File{
			Path: field + "/" + value + ".yaml",
			Data: []byte("id: '" + id + "'\nname: p" + hex6(i) + "\nrole: patient\nbackground: b\n" + field + ": " + value + "\n"),
		})
	}
	for i, z := range timezones {
		add(i, "timezone", z)
	}
	for i, l := range languages {
		if i%7 == 0 { // CheckLanguage above saw them all; a seventh keeps -race fast
			add(len(timezones)+i, "preferred_language", l)
		}
	}
	if got := schema.Lint(in); len(got) != 0 {
		t.Errorf("Lint of every timezone and language: %d findings, first:\n%s", len(got), formatFindings(got[:min(10, len(got))]))
	}
}

func hex6(i int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 6)
	for j := 5; j >= 0; j-- {
		b[j] = digits[i%16]
		i /= 16
	}
	return string(b)
}

func TestCheckLanguage(t *testing.T) {
	tests := []struct{ code, want string }{
		{"eng", ""},
		{"jpn", ""},
		{"en", `preferred_language "en" is not an ISO 639-3 code; did you mean "eng"?`},
		{"EN", `preferred_language "EN" is not an ISO 639-3 code; did you mean "eng"?`},
		{"fr", `preferred_language "fr" is not an ISO 639-3 code; did you mean "fra"?`},
		{"ENG", `preferred_language "ENG" is not an ISO 639-3 code; did you mean "eng"?`},
		{"english", `preferred_language "english" is not an ISO 639-3 code (three lowercase letters, e.g. "eng", "spa", "jpn")`},
		{"qaa", `preferred_language "qaa" is not an ISO 639-3 code (three lowercase letters, e.g. "eng", "spa", "jpn")`},
		{"", `preferred_language "" is not an ISO 639-3 code (three lowercase letters, e.g. "eng", "spa", "jpn")`},
	}
	for _, tt := range tests {
		if got := schema.CheckLanguage(tt.code); got != tt.want {
			t.Errorf("CheckLanguage(%q) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

func TestCheckTimezone(t *testing.T) {
	tests := []struct{ name, want string }{
		{"UTC", ""},
		{"US/Eastern", ""},
		{"America/New_York", ""},
		{"America/NewYork", `timezone "America/NewYork" is not an IANA timezone name; did you mean "America/New_York"?`},
		{"europe/paris", `timezone "europe/paris" is not an IANA timezone name; did you mean "Europe/Paris"?`},
		{"Mars/Olympus", `timezone "Mars/Olympus" is not an IANA timezone name (e.g. "America/New_York", "Europe/Paris", "UTC")`},
	}
	for _, tt := range tests {
		if got := schema.CheckTimezone(tt.name); got != tt.want {
			t.Errorf("CheckTimezone(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	// time.LoadLocation accepts these, Amigo does not.
	for _, name := range []string{"Local", ""} {
		if got := schema.CheckTimezone(name); !strings.HasPrefix(got, fmt.Sprintf("timezone %q is not an IANA timezone name", name)) {
			t.Errorf("CheckTimezone(%q) = %q, want it rejected", name, got)
		}
	}
}

// TestLongValuesAreFast checks that a long (but allowed: under MaxFileSize)
// value costs little: lint must not take seconds on one file.
func TestLongValuesAreFast(t *testing.T) {
	base := "id: 6650c0ffee0000000000a001\nname: n\nrole: r\nbackground: b\n"
	tests := []struct {
		name, src string
		bug       string
	}{
		{"language", base + "preferred_language: " + strings.Repeat("a", 300_000) + "\n", ""},
		{"unknown key", base + strings.Repeat("a", 300_000) + ": x\n", ""},
		{"tag value", base + "tags: {a: " + strings.Repeat("a/", 150_000) + "}\n", ""},
		{"background", base[:len(base)-len("background: b\n")] + "background: " + strings.Repeat("word ", 200_000) + "\n", ""},
		{"timezone", base + "timezone: " + strings.Repeat("a", 900_000) + "\n",
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				t.Skip(tt.bug)
			}
			start := time.Now()
			_, _, fs := schema.ParsePersona("p.yaml", []byte(tt.src))
			// Generous for -race on a loaded machine; the bugs this catches cost 30 s or more.
			if el := time.Since(start); el > slowLimit {
				t.Errorf("ParsePersona took %v", el)
			}
			if tt.name != "background" && !schema.HasErrors(fs) {
				t.Errorf("no error for a long %s", tt.name)
			}
		})
	}
}
