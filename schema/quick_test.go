package schema

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// quickSeeds are documents at the edges of the quick subset: each is either
// read quickly and exactly, or left to yaml.v3.
var quickSeeds = []string{
	"id: 84fdcab8d94b73367a4efea2\nname: Persona 000054 Polite\nrole: student\ntags:\n  category: account recovery\n  difficulty: high\nbackground: |\n  Station symptom voice.\n  Energy decide weekend.\npreferred_language: spa\ntimezone: Europe/Paris\nuser_models:\n  - default\nnonsensitive_user_variables:\n  plan_name: \"gold\"\nsensitive_user_variables: {}\n",
	"# a comment\nid: 0f3db6cb1254f671b480aefb\nname: n\nrole: r\ntags:\n  reviewed: null\n  x:\n  y: ~\nbackground: |-\n  one\n\n  two\n\n\ntimezone: null\nuser_models: []\n",
	"id: 6e42771e91a08ad1460fa568\nname: 'it''s'\nrole: r\nbackground: |\n  a\n    indented\n  # not a comment\n",
	"id: 123\nname: n\nrole: r\nbackground: b\n",
	"id: 1e5\nname: n\nrole: r\nbackground: b\n",
	"id: 0x1F\nname: n\nrole: r\nbackground: b\n",
	"id: 2001-12-14\nname: n\nrole: r\nbackground: b\n",
	"id: 12:30\nname: true\nrole: False\nbackground: NULL\n",
	"a: b # comment\n",
	"a: b: c\n",
	"a: b\n  c\n",
	"a: |\n\n  b\n",
	"a: |\n  b\n   \n  c\n",
	"a: |\n  b\n c\n",
	"a: |2\n   b\n",
	"a: |+\n  b\n\n",
	"a: >\n  b\n",
	"a: &x b\nc: *x\n",
	"a: !!str 1\n",
	"a: \"b\\nc\"\n",
	"a: [x, 'y', \"z\"]\nb: [x,]\nc: [ ]\n",
	"a:\n- x\n",
	"a:\n  - x\n  - y: z\n",
	"a:\n  b:\n    c: d\n",
	"a: b\na: c\n",
	"<<: {a: b}\n",
	"a: b",
	"a: b\r\n",
	"\ufeffa: b\n",
	"a: caf\u00e9\n",
	"a: \u0085\n",
	"a:\tb\n",
	"  a: b\n",
	"- a\n",
	"# only a comment\n",
	"a: -b\nc: .5\nd: +1\n",
	"a: 'x'y'\n",
	"a: \"x\" y\n",
	"a: x\n---\nb: y\n",
	"a: yes\nb: no\nc: on\nd: off\ne: y\n",
	"a: .inf\n",
	"a: 1_000\nb: 0b101\nc: 0o17\nd: 1.5.6\ne: 1a\n",
	"tags: {category: support, owner team: low}\nowner team: x\nb: {a: 'x', c: \"y\", d: null}\n",
	"a: {b: c, b: d}\nx: {y: z,}\nq: {r: s:t}\nm: {n}\no: {p: }\n",
	"a: {b: [c]}\nd: {e: {f: g}}\n",
}

// addQuickSeeds adds the lint fixtures and quickSeeds to the corpus.
func addQuickSeeds(f *testing.F) {
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil {
			f.Add(data)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range quickSeeds {
		f.Add([]byte(s))
	}
}

// FuzzQuickValue: whatever the quick reader accepts, it reads exactly as
// ParseYAML does.
func FuzzQuickValue(f *testing.F) {
	addQuickSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok := quickValue(data)
		if !ok {
			return
		}
		doc, err := ParseYAML(data)
		if err != nil {
			t.Fatalf("quick reader accepted a document yaml.v3 refuses (%v):\n%q", err, data)
		}
		if !reflect.DeepEqual(v, doc.Value) {
			t.Fatalf("quick reader differs from ParseYAML on\n%q\nquick: %#v\nyaml:  %#v", data, v, doc.Value)
		}
	})
}

// FuzzParseValidPersona: a persona read quickly is the persona ParsePersona
// returns, from a file without errors.
func FuzzParseValidPersona(f *testing.F) {
	addQuickSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, ok := ParseValidPersona(data)
		if !ok {
			return
		}
		want, _, findings := ParsePersona("", data)
		if want == nil || HasErrors(findings) {
			t.Fatalf("quick path accepted a file ParsePersona refuses (%v):\n%q", findings, data)
		}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("quick path differs from ParsePersona on\n%q\nquick: %+v\nfull:  %+v", data, p, want)
		}
	})
}

// TestQuickSubset: the plain files people and generators write are read
// quickly; files outside the subset are left to yaml.v3.
func TestQuickSubset(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		quick bool
	}{
		{"generated file", quickSeeds[0], true},
		{"comments, nulls, strip block, empty list", quickSeeds[1], true},
		{"quoted apostrophe, indented block lines", quickSeeds[2], true},
		{"id that is a number", quickSeeds[3], false},
		{"id that is a float", quickSeeds[4], false},
		{"hex id starting with a digit", "id: 84fdcab8d94b73367a4efea2\nname: n\nrole: r\nbackground: b\n", true},
		{"timestamp-looking value stays a string", quickSeeds[6], true},
		{"anchor and alias", "a: &x b\nc: *x\n", false},
		{"escape in double quotes", "a: \"b\\nc\"\n", false},
		{"folded block", "a: >\n  b\n", false},
		{"multi-line plain scalar", "a: b\n  c\n", false},
		{"trailing comment", "a: b # comment\n", false},
		{"no final newline", "a: b", false},
		{"carriage return", "a: b\r\n", false},
		{"sequence at the key's indentation", "a:\n- x\n", false},
		{"flow mapping of plain and quoted values", "tags: {category: support, difficulty: low, x: 'y', z: null}\n", true},
		{"flow mapping with a nested collection", "a: {b: [c]}\n", false},
		{"flow mapping with a duplicate key", "a: {b: c, b: d}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := quickValue([]byte(tt.data))
			if ok != tt.quick {
				t.Fatalf("quickValue ok = %v, want %v", ok, tt.quick)
			}
			if !ok {
				return
			}
			doc, err := ParseYAML([]byte(tt.data))
			if err != nil || !reflect.DeepEqual(v, doc.Value) {
				t.Errorf("quick %#v, ParseYAML %#v (%v)", v, doc.Value, err)
			}
		})
	}
}

// TestParseValidPersonaOnGoodFixtures: every valid fixture the quick subset
// covers gives the same persona as ParsePersona, and invalid ones are refused.
func TestParseValidPersonaOnFixtures(t *testing.T) {
	quick := 0
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		want, _, findings := ParsePersona(p, data)
		got, ok := ParseValidPersona(data)
		switch {
		case ok && (want == nil || HasErrors(findings)):
			t.Errorf("%s: quick path accepted a file with errors %v", p, findings)
		case ok && !reflect.DeepEqual(got, want):
			t.Errorf("%s: quick %+v, full %+v", p, got, want)
		case ok:
			quick++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if quick == 0 {
		t.Error("no fixture was read the quick way")
	}
	t.Logf("%d fixtures read the quick way", quick)
}

// isQuickKey says what the regexp it replaces says.
func TestIsQuickKey(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z_]([A-Za-z0-9_. -]*[A-Za-z0-9_.-])?$`)
	const alphabet = "aZ_09. -:/\u00e9\t"
	var keys []string
	var build func(prefix string, n int)
	build = func(prefix string, n int) {
		keys = append(keys, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			build(prefix+string(c), n-1)
		}
	}
	build("", 3)
	for _, k := range keys {
		if got, want := isQuickKey([]byte(k)), re.MatchString(k); got != want {
			t.Errorf("isQuickKey(%q) = %v, the regexp says %v", k, got, want)
		}
	}
}
