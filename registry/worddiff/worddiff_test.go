package worddiff

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	mark := func(segs []Segment) string {
		return Render(segs, func(s string) string { return "[-" + s + "-]" }, func(s string) string { return "{+" + s + "+}" })
	}
	cases := []struct {
		name, a, b, want string
	}{
		{"equal", "a b c", "a b c", "a b c"},
		{"reflow is not a change", "a b\n  c", "a  b c", "a b c"},
		{"insert", "the cat sat", "the black cat sat", "the {+black+} cat sat"},
		{"delete", "the black cat sat", "the cat sat", "the [-black-] cat sat"},
		{"replace", "she is calm today", "she is angry today", "she is [-calm-] {+angry+} today"},
		{"from empty", "", "new text", "{+new text+}"},
		{"to empty", "old text", "", "[-old text-]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := mark(Diff(tc.a, tc.b)); got != tc.want {
				t.Errorf("Diff(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func FuzzDiff(f *testing.F) {
	f.Add("a b c", "a c d")
	f.Fuzz(func(t *testing.T, a, b string) {
		segs := Diff(a, b)
		old := Render(segs, func(s string) string { return s }, func(string) string { return "" })
		neu := Render(segs, func(string) string { return "" }, func(s string) string { return s })
		if got, want := fields(old), fields(a); got != want {
			t.Errorf("old side %q, want %q", got, want)
		}
		if got, want := fields(neu), fields(b); got != want {
			t.Errorf("new side %q, want %q", got, want)
		}
	})
}

func fields(s string) string { return strings.Join(strings.Fields(s), " ") }
