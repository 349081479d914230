package server

import (
	"reflect"
	"strings"
	"testing"

	"github.com/personaregistry/personas/registry"
)

func ptr(s string) *string { return &s }

func TestParseGrant(t *testing.T) {
	cases := []struct {
		name, in  string
		canonical string // "" when an error is expected
		errHas    string
	}{
		{"bare permission", PermRead, PermRead, ""},
		{"selectors sorted and deduplicated", PermRead + "  tag=team:banking role=teller tag=team:banking", PermRead + " role=teller tag=team:banking", ""},
		{"any tag value", PermModify + " tag=team:*", PermModify + " tag=team:*", ""},
		{"null tag value", PermModify + " tag=team:", PermModify + " tag=team:", ""},
		{"quoted role with a space", PermRead + ` role="bank teller"`, PermRead + ` role="bank teller"`, ""},
		{"path glob", PermDelete + " path=personas/banking/**", PermDelete + " path=personas/banking/**", ""},
		{"empty", "", "", "empty permission"},
		{"unknown permission", "Simulation:Everything", "", "unknown permission"},
		{"unknown selector kind", PermRead + " team=banking", "", `unknown kind "team"`},
		{"selector without =", PermRead + " banking", "", "want role=R"},
		{"tag without key", PermRead + " tag=:x", "", "want tag=KEY:VALUE"},
		{"tag without colon", PermRead + " tag=team", "", "want tag=KEY:VALUE"},
		{"empty role", PermRead + " role=", "", "empty role"},
		{"absolute path", PermRead + " path=/personas/**", "", "relative"},
		{"parent path", PermRead + " path=../x/**", "", "not allowed"},
		{"unclean path", PermRead + " path=personas//x", "", "clean glob"},
		{"bad glob", PermRead + " path=personas/[a", "", "bad glob"},
		{"unterminated quote", PermRead + ` role="bank`, "", "quoted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGrant(tc.in)
			if tc.canonical == "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("ParseGrant(%q) = %v, %v; want an error containing %q", tc.in, g, err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := g.String(); got != tc.canonical {
				t.Errorf("String() = %q, want %q", got, tc.canonical)
			}
		})
	}
}

func TestGrantMatches(t *testing.T) {
	p := &registry.Persona{Role: "bank teller", Path: "personas/banking/retail/teller.yaml",
		Tags: map[string]*string{"team": ptr("banking"), "tier": nil}}
	cases := []struct {
		grant string
		want  bool
	}{
		{PermRead, true},
		{PermRead + ` role="bank teller"`, true},
		{PermRead + " role=teller", false},
		{PermRead + " tag=team:banking", true},
		{PermRead + " tag=team:health", false},
		{PermRead + " tag=team:*", true},
		{PermRead + " tag=tier:", true},
		{PermRead + " tag=tier:*", true},
		{PermRead + " tag=team:", false},
		{PermRead + " tag=missing:*", false},
		{PermRead + " path=personas/banking/**", true},
		{PermRead + " path=personas/**/teller.yaml", true},
		{PermRead + " path=**", true},
		{PermRead + " path=personas/*/teller.yaml", false},
		{PermRead + " path=personas/banking/*", false},
		{PermRead + " path=personas/banking/*/*.yaml", true},
		{PermRead + " path=personas/health/**", false},
		{PermRead + " tag=team:banking path=personas/health/**", false},
		{PermRead + " tag=team:banking path=personas/banking/**", true},
	}
	for _, tc := range cases {
		g, err := ParseGrant(tc.grant)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Matches(p); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.grant, got, tc.want)
		}
	}
}

// TestScopeKeyCanonical: the cache key of a scope does not depend on the
// order or spelling of its grants, and an unscoped grant makes it "".
func TestScopeKeyCanonical(t *testing.T) {
	compile := func(grants ...string) *scope {
		var gs []Grant
		for _, s := range grants {
			g, err := ParseGrant(s)
			if err != nil {
				t.Fatal(err)
			}
			gs = append(gs, g)
		}
		return newScopes(gs)[PermRead]
	}
	a := compile(PermRead+" tag=team:banking role=x", PermRead+" path=personas/**")
	b := compile(PermRead+"  path=personas/**", PermRead+" role=x tag=team:banking", PermRead+" tag=team:banking role=x")
	if a.key != b.key || a.key == "" {
		t.Errorf("keys differ for the same scope: %q vs %q", a.key, b.key)
	}
	if c := compile(PermRead+" role=x", PermRead); !c.all || c.key != "" {
		t.Errorf("a scope with an unscoped grant: all=%v key=%q, want all and \"\"", c.all, c.key)
	}
	if d := compile(PermRead + " role=y"); d.key == a.key {
		t.Errorf("different scopes share the key %q", d.key)
	}
}

// FuzzParseGrant: no panic; an accepted grant's canonical form parses back
// to the same grant.
//
//	go test -run '^$' -fuzz '^FuzzParseGrant$' -fuzztime 30s ./server
func FuzzParseGrant(f *testing.F) {
	for _, s := range []string{PermRead, PermRead + " tag=team:banking role=x", PermRead + ` role="a b\" c"`,
		PermModify + " path=personas/**/x*.yaml", PermRead + " tag=k:", PermRead + " role=\"\\x00\"", PermRead + "\ttag=a:=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGrant(s)
		if err != nil {
			return
		}
		back, err := ParseGrant(g.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", g.String(), s, err)
		}
		if !reflect.DeepEqual(back, g) {
			t.Fatalf("round trip of %q: %#v, want %#v", s, back, g)
		}
	})
}

// FuzzGlobMatch: no panic, and ** alone matches every path.
func FuzzGlobMatch(f *testing.F) {
	f.Add("personas/**/x.yaml", "personas/a/b/x.yaml")
	f.Add("**/**/*", "a")
	f.Fuzz(func(t *testing.T, glob, name string) {
		if checkGlob(glob) == nil {
			globMatch(glob, name)
		}
		if !globMatch("**", name) {
			t.Fatalf("** does not match %q", name)
		}
	})
}
