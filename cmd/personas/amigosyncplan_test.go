package main

import (
	"strings"
	"testing"

	"github.com/personaregistry/personas/registry"
)

func TestParseSyncMark(t *testing.T) {
	s := func(v string) *string { return &v }
	cases := []struct {
		name string
		tag  *string
		ok   bool
		id   string
	}{
		{"mapped", s("6650c0ffee0000000000a001 f1f92a0faf80d7afa738"), true, "6650c0ffee0000000000a001"},
		{"null value", nil, false, ""},
		{"id only", s("6650c0ffee0000000000a001"), false, ""},
		{"upper-case id", s("6650C0FFEE0000000000A001 ab"), false, ""},
		{"three fields", s("6650c0ffee0000000000a001 ab cd"), false, ""},
		{"short id", s("6650c0ffee ab"), false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := parseSyncMark(map[string]*string{syncTag: tc.tag})
			if ok != tc.ok || m.gitID != tc.id {
				t.Errorf("parseSyncMark(%v) = %+v, %v; want id %q, %v", tc.tag, m, ok, tc.id, tc.ok)
			}
		})
	}
	if _, ok := parseSyncMark(map[string]*string{"other": s("6650c0ffee0000000000a001 ab")}); ok {
		t.Error("a mark read from another tag")
	}
}

func FuzzParseSyncMark(f *testing.F) {
	f.Add("6650c0ffee0000000000a001 f1f92a0faf80d7afa738")
	f.Add(" \t")
	f.Add("6650c0ffee0000000000a001\nab")
	f.Fuzz(func(t *testing.T, v string) {
		m, ok := parseSyncMark(map[string]*string{syncTag: &v})
		if !ok {
			return
		}
		if !gitIDRe.MatchString(m.gitID) || m.hash == "" || strings.ContainsAny(m.hash, " \t\n") {
			t.Errorf("parseSyncMark(%q) = %+v", v, m)
		}
		back, ok := parseSyncMark(map[string]*string{syncTag: new(m.gitID + " " + m.hash)})
		if !ok || back != m {
			t.Errorf("%+v does not survive formatting: %+v, %v", m, back, ok)
		}
	})
}

func TestStateHashIgnoresTheSyncTagAndDefaults(t *testing.T) {
	v := "x"
	a := stateHash("N", "R", map[string]*string{"k": &v}, contentOf(testContent("bg")))
	b := stateHash("N", "R", map[string]*string{"k": &v, syncTag: &v}, normalizeContent(contentOf(testContent("bg"))))
	if a != b {
		t.Errorf("the sync tag or empty defaults change the hash: %s vs %s", a, b)
	}
	for name, other := range map[string]string{
		"name":       stateHash("M", "R", map[string]*string{"k": &v}, contentOf(testContent("bg"))),
		"role":       stateHash("N", "S", map[string]*string{"k": &v}, contentOf(testContent("bg"))),
		"tags":       stateHash("N", "R", map[string]*string{"k": nil}, contentOf(testContent("bg"))),
		"background": stateHash("N", "R", map[string]*string{"k": &v}, contentOf(testContent("bg2"))),
	} {
		if other == a {
			t.Errorf("a different %s gives the same hash", name)
		}
	}
}

func testContent(bg string) registry.Content {
	return registry.Content{Background: registry.NewText(bg)}
}
