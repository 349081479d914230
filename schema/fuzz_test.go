package schema_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/personaregistry/personas/schema"
)

// addSeeds adds every YAML file of the lint fixtures, and a few documents
// that reach unusual corners of the decoder, to the seed corpus.
func addSeeds(f *testing.F) {
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "fuzz" {
			return filepath.SkipDir
		}
		if ext := strings.ToLower(filepath.Ext(p)); d.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f.Add(data)
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"",
		"~",
		"- a",
		"persona_id: 6650c0ffee0000000000a001\n",
		"a: &a [*a]\n",
		"<<: {id: 6650c0ffee0000000000a001}\nname: n\nrole: r\nbackground: b\n",
		"id: 6650c0ffee0000000000a001\nname: n\nrole: r\nbackground: .inf\ntags: {a: .nan}\n",
		"id: 6650c0ffee0000000000a001\nname: n\nrole: r\nbackground: b\ntags: {? [a] : b}\n",
		"id: 6650c0ffee0000000000a001\nname: n\nrole: r\nbackground: b\nsensitive_user_variables: {A: 1}\n",
		"\ufeffid: 6650c0ffee0000000000a001\nname: \"\\u00e9\"\nrole: r\nbackground: |2\n   x\n",
		"a: b\n---\nc: d\n",
		"%YAML 1.2\n---\n!!map {id: !!str 1}\n",
	} {
		f.Add([]byte(s))
	}
}

// checkFindings checks what holds for every finding of one file.
func checkFindings(t *testing.T, path string, fs []schema.Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Line < 1 || f.Column < 1 {
			t.Errorf("finding at %d:%d: %s", f.Line, f.Column, f.Error())
		}
		if strings.TrimSpace(f.Message) == "" {
			t.Errorf("finding without a message: %+v", f)
		}
		if f.Path != path {
			t.Errorf("finding path %q, want %q", f.Path, path)
		}
		if f.Severity != schema.SeverityError && f.Severity != schema.SeverityWarning {
			t.Errorf("finding severity %q: %s", f.Severity, f.Error())
		}
	}
}

func FuzzParsePersona(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _, fs := schema.ParsePersona("p.yaml", data)
		checkFindings(t, "p.yaml", fs)
		if p == nil {
			if !schema.HasErrors(fs) {
				t.Fatalf("no persona and no error:\n%s", formatFindings(fs))
			}
			return
		}
		if schema.HasErrors(fs) {
			t.Fatalf("a persona and errors:\n%s", formatFindings(fs))
		}
		if hitsRenderBug(p) {
		}
		// A valid persona renders to a file that parses back to the same persona.
		out := schema.Render(p, "")
		q, _, fs2 := schema.ParsePersona("p.yaml", out)
		if q == nil {
			t.Fatalf("Render output does not parse:\n%s\n%s", formatFindings(fs2), out)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the persona:\n%+v\n%+v\n%s", p, q, out)
		}
	})
}

// hitsRenderBug reports whether Render is known to get p wrong: a string that
// yaml.v3 writes as a literal block (the background, or any string with a
// line break) and that starts with a line break or a tab.
func hitsRenderBug(p *schema.Persona) bool {
	bad := func(s string, literal bool) bool {
		return (literal || strings.Contains(s, "\n")) && (strings.HasPrefix(s, "\n") || strings.HasPrefix(s, "\t"))
	}
	strs := []string{p.ID, p.Name, p.Role}
	strs = append(strs, p.UserModels...)
	for k, v := range p.Tags {
		strs = append(strs, k)
		if v != nil {
			strs = append(strs, *v)
		}
	}
	for _, m := range []map[string]string{p.NonsensitiveUserVariables, p.SensitiveUserVariables} {
		for k, v := range m {
			strs = append(strs, k, v)
		}
	}
	if bad(p.Background, true) {
		return true
	}
	for _, s := range strs {
		if bad(s, false) {
			return true
		}
	}
	return false
}

func FuzzLint(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range []schema.LintInput{
			{Personas: []schema.File{{Path: "personas/p.yaml", Data: data}}},
			{UnitTests: []schema.File{{Path: "unit_tests/t.yaml", Data: data}}},
			// The same file twice: duplicate ids and names are reported.
			{Personas: []schema.File{{Path: "personas/p.yaml", Data: data}, {Path: "personas/q.yaml", Data: data}}},
		} {
			fs, err := lintRecover(in)
			if err != nil {
				var root yaml.Node
				if yaml.Unmarshal(data, &root) == nil && len(root.Content) > 0 && root.Content[0].Kind != yaml.MappingNode {
				}
				t.Fatal(err)
			}
			for _, f := range fs {
				if f.Line < 1 || f.Column < 1 || strings.TrimSpace(f.Message) == "" {
					t.Errorf("bad finding %+v", f)
				}
				if f.Path != "personas/p.yaml" && f.Path != "personas/q.yaml" && f.Path != "unit_tests/t.yaml" {
					t.Errorf("finding for an unknown path: %s", f.Error())
				}
			}
		}
	})
}

func lintRecover(in schema.LintInput) (fs []schema.Finding, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("schema.Lint panicked: %v", r)
		}
	}()
	return schema.Lint(in), nil
}
