package schema

import (
	"strings"
	"testing"
)

// FuzzQuickSchema: for every value the quick reader makes, the hand-written
// schema check and the JSON Schema library give the same answer.
func FuzzQuickSchema(f *testing.F) {
	addQuickSeeds(f)
	for _, tt := range quickSchemaCases {
		f.Add([]byte(tt.doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok := quickValue(data)
		if !ok {
			return
		}
		m := v.(map[string]any)
		lib := compiled().Validate(v)
		if quick := quickSchemaValid(m); quick != (lib == nil) {
			t.Fatalf("quick schema check says %v, the library says %v, on\n%q", quick, lib, data)
		}
	})
}

const validHead = "id: 84fdcab8d94b73367a4efea2\nname: n\nrole: r\nbackground: b\n"

// quickSchemaCases are documents at the edges of each rule of the schema.
var quickSchemaCases = []struct {
	name  string
	doc   string
	valid bool
}{
	{"minimal", validHead, true},
	{"every field", quickSeeds[0], true},
	{"id missing", "name: n\nrole: r\nbackground: b\n", false},
	{"background missing", "id: 84fdcab8d94b73367a4efea2\nname: n\nrole: r\n", false},
	{"id upper-case hex", "id: 84FDCAB8D94B73367A4EFEA2\nname: n\nrole: r\nbackground: b\n", false},
	{"id 23 digits", "id: 84fdcab8d94b73367a4efea\nname: n\nrole: r\nbackground: b\n", false},
	{"id not hex", "id: 84fdcab8d94b73367a4efeag\nname: n\nrole: r\nbackground: b\n", false},
	{"name empty", "id: 84fdcab8d94b73367a4efea2\nname: ''\nrole: r\nbackground: b\n", false},
	{"name boolean", "id: 84fdcab8d94b73367a4efea2\nname: true\nrole: r\nbackground: b\n", false},
	{"role null", "id: 84fdcab8d94b73367a4efea2\nname: n\nrole: null\nbackground: b\n", false},
	{"unknown key", validHead + "colour: red\n", false},
	{"tags of words, spaces and nulls", validHead + "tags:\n  owner team: support_2\n  reviewed: null\n", true},
	{"tag value with a dash", validHead + "tags:\n  a: b-c\n", false},
	{"tag key with a dot", validHead + "tags:\n  a.b: c\n", false},
	{"tag value empty", validHead + "tags:\n  a: ''\n", false},
	{"tag value boolean", validHead + "tags:\n  a: true\n", false},
	{"tag value accented", validHead + "tags:\n  a: caf\u00e9\n", false},
	{"tags a list", validHead + "tags:\n  - a\n", false},
	{"20 tags", validHead + "tags:\n" + manyEntries(20, "t", "v"), true},
	{"21 tags", validHead + "tags:\n" + manyEntries(21, "t", "v"), false},
	{"language null", validHead + "preferred_language: null\n", true},
	{"language unknown (a rule, not the schema)", validHead + "preferred_language: xx\n", true},
	{"timezone boolean", validHead + "timezone: false\n", false},
	{"user models", validHead + "user_models:\n  - a\n  - b\n", true},
	{"user model empty", validHead + "user_models:\n  - ''\n", false},
	{"user model null", validHead + "user_models:\n  - null\n", false},
	{"user models a string", validHead + "user_models: a\n", false},
	{"variables", validHead + "nonsensitive_user_variables:\n  plan_2: gold\n  _x: ''\n", true},
	{"variable name of one letter", validHead + "nonsensitive_user_variables:\n  a: b\n", false},
	{"variable name with a dash", validHead + "sensitive_user_variables:\n  a-b: x\n", false},
	{"variable name upper-case", validHead + "sensitive_user_variables:\n  Ab: b\n", false},
	{"variable value null", validHead + "sensitive_user_variables:\n  ab: null\n", false},
	{"20 variables", validHead + "sensitive_user_variables:\n" + manyEntries(20, "v", "x"), true},
	{"21 variables", validHead + "sensitive_user_variables:\n" + manyEntries(21, "v", "x"), false},
}

func manyEntries(n int, key, value string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("  " + key + strings.Repeat("a", i+1) + ": " + value + "\n")
	}
	return b.String()
}

// TestQuickSchemaCases: the hand-written check and the library agree at the
// edge of every rule, and the cases say what the schema says.
func TestQuickSchemaCases(t *testing.T) {
	for _, tt := range quickSchemaCases {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := quickValue([]byte(tt.doc))
			if !ok {
				t.Fatalf("case outside the quick subset:\n%s", tt.doc)
			}
			lib := compiled().Validate(v)
			if (lib == nil) != tt.valid {
				t.Fatalf("library says %v, the case says valid=%v", lib, tt.valid)
			}
			if got := quickSchemaValid(v.(map[string]any)); got != tt.valid {
				t.Errorf("quickSchemaValid = %v, want %v", got, tt.valid)
			}
		})
	}
}
