package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/personaregistry/personas/registry"
)

// Grant is one permission of a token, limited to the personas its
// selectors all match (no selector: every persona). It is written
// "PERMISSION [SELECTOR ...]", a selector being role=R, tag=K:V, tag=K:*
// (any value), tag=K: (a null value) or path=GLOB (** for any depth).
type Grant struct {
	Permission string
	Selectors  []Selector // sorted, without duplicates
}

// Selector is one condition of a grant on a persona.
type Selector struct {
	Kind  string // "role", "tag" or "path"
	Value string // the role, "key:value" / "key:*" / "key:", or the glob
}

// ParseGrant parses "PERMISSION [SELECTOR ...]". A value with spaces or
// quotes is written as a Go string literal: role="bank teller".
func ParseGrant(s string) (Grant, error) {
	words, err := splitGrant(s)
	if err != nil {
		return Grant{}, err
	}
	if len(words) == 0 {
		return Grant{}, fmt.Errorf("empty permission: want one of %s", strings.Join(KnownPermissions, ", "))
	}
	g := Grant{Permission: words[0]}
	if !slices.Contains(KnownPermissions, g.Permission) {
		return Grant{}, fmt.Errorf("unknown permission %q: want one of %s", g.Permission, strings.Join(KnownPermissions, ", "))
	}
	for _, w := range words[1:] {
		sel, err := parseSelector(w)
		if err != nil {
			return Grant{}, fmt.Errorf("permission %s: %w", g.Permission, err)
		}
		g.Selectors = append(g.Selectors, sel)
	}
	slices.SortFunc(g.Selectors, func(a, b Selector) int { return strings.Compare(a.String(), b.String()) })
	g.Selectors = slices.Compact(g.Selectors)
	return g, nil
}

// selectorHelp is appended to every selector error.
const selectorHelp = "want role=R, tag=K:V, tag=K:*, tag=K: (null) or path=GLOB"

// splitGrant splits a grant into words: the permission and KIND=VALUE
// selectors, whose value may be a quoted Go string.
func splitGrant(s string) ([]string, error) {
	var words []string
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		start := i
		for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '=' {
			i++
		}
		if i < len(s) && s[i] == '=' {
			i++
			if i < len(s) && s[i] == '"' {
				lit, err := strconv.QuotedPrefix(s[i:])
				if err != nil {
					return nil, fmt.Errorf("selector %q: unterminated or bad quoted value", s[start:])
				}
				v, _ := strconv.Unquote(lit)
				words = append(words, s[start:i]+v)
				i += len(lit)
				if i < len(s) && s[i] != ' ' && s[i] != '\t' {
					return nil, fmt.Errorf("selector %q: want a space after the quoted value", s[start:])
				}
				continue
			}
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				i++
			}
		}
		words = append(words, s[start:i])
	}
	return words, nil
}

func parseSelector(w string) (Selector, error) {
	kind, value, ok := strings.Cut(w, "=")
	if !ok {
		return Selector{}, fmt.Errorf("selector %q: %s", w, selectorHelp)
	}
	sel := Selector{Kind: kind, Value: value}
	switch kind {
	case "role":
		if strings.TrimSpace(value) == "" {
			return Selector{}, fmt.Errorf("selector %q: empty role", w)
		}
	case "tag":
		k, _, ok := strings.Cut(value, ":")
		if !ok || k == "" {
			return Selector{}, fmt.Errorf("selector %q: want tag=KEY:VALUE, tag=KEY:* or tag=KEY:", w)
		}
	case "path":
		if err := checkGlob(value); err != nil {
			return Selector{}, fmt.Errorf("selector %q: %w", w, err)
		}
	default:
		return Selector{}, fmt.Errorf("selector %q: unknown kind %q: %s", w, kind, selectorHelp)
	}
	return sel, nil
}

// checkGlob accepts a relative, clean slash-separated glob whose segments
// are path.Match patterns or **.
func checkGlob(g string) error {
	if g == "" || strings.HasPrefix(g, "/") || path.Clean(g) != g || g == "." {
		return fmt.Errorf("want a clean glob relative to the repository root, like personas/banking/**")
	}
	for _, seg := range strings.Split(g, "/") {
		if seg == ".." {
			return fmt.Errorf("'..' is not allowed")
		}
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("bad glob segment %q: %v", seg, err)
		}
	}
	return nil
}

// String writes the selector back, quoting a value that needs it.
func (s Selector) String() string {
	v := s.Value
	if v == "" || strings.ContainsAny(v, " \t") || strconv.Quote(v) != `"`+v+`"` {
		v = strconv.Quote(v)
	}
	return s.Kind + "=" + v
}

// String is the canonical form of the grant: ParseGrant(g.String()) == g.
func (g Grant) String() string {
	var b strings.Builder
	b.WriteString(g.Permission)
	for _, s := range g.Selectors {
		b.WriteByte(' ')
		b.WriteString(s.String())
	}
	return b.String()
}

// Matches reports whether every selector of the grant holds for p.
func (g Grant) Matches(p *registry.Persona) bool {
	for _, s := range g.Selectors {
		if !s.matches(p) {
			return false
		}
	}
	return true
}

func (s Selector) matches(p *registry.Persona) bool {
	switch s.Kind {
	case "role":
		return p.Role == s.Value
	case "tag":
		k, want, _ := strings.Cut(s.Value, ":")
		v, ok := p.Tags[k]
		switch {
		case !ok:
			return false
		case want == "*":
			return true
		case want == "":
			return v == nil
		default:
			return v != nil && *v == want
		}
	case "path":
		return globMatch(s.Value, p.Path)
	}
	return false
}

// globMatch matches a slash-separated name against a glob whose ** matches
// any number of segments (zero included).
func globMatch(glob, name string) bool {
	return matchSegments(strings.Split(glob, "/"), strings.Split(name, "/"))
}

// matchSegments matches in O(len(glob)·len(name)): ok[j] says whether the
// glob's segments so far match name[:j].
func matchSegments(glob, name []string) bool {
	ok := make([]bool, len(name)+1)
	ok[0] = true
	for _, g := range glob {
		next := make([]bool, len(name)+1)
		for j := range ok {
			switch {
			case g == "**":
				// ** extends any match by zero or more segments
				next[j] = ok[j] || (j > 0 && next[j-1])
			case j > 0 && ok[j-1]:
				next[j], _ = path.Match(g, name[j-1])
			}
		}
		ok = next
	}
	return ok[len(name)]
}

// scope is what one permission of a token allows: every persona, or those
// one of its grants matches. The zero scope allows nothing.
type scope struct {
	all    bool
	grants []Grant
	key    string // canonical: "" when all, else the sorted grants joined by "\n"
	tag    string // a short hash of key, for ETags
}

// newScopes compiles grants into one scope per permission.
func newScopes(grants []Grant) map[string]*scope {
	out := map[string]*scope{}
	for _, g := range grants {
		sc := out[g.Permission]
		if sc == nil {
			sc = &scope{}
			out[g.Permission] = sc
		}
		if len(g.Selectors) == 0 {
			sc.all = true
		}
		sc.grants = append(sc.grants, g)
	}
	for _, sc := range out {
		if sc.all {
			sc.grants = nil
			continue
		}
		keys := make([]string, len(sc.grants))
		for i, g := range sc.grants {
			keys[i] = g.String()
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		sc.key = strings.Join(keys, "\n")
		sum := sha256.Sum256([]byte(sc.key))
		sc.tag = hex.EncodeToString(sum[:8])
	}
	return out
}

// allows reports whether the scope covers p.
func (sc *scope) allows(p *registry.Persona) bool {
	if sc == nil {
		return false
	}
	if sc.all {
		return true
	}
	for _, g := range sc.grants {
		if g.Matches(p) {
			return true
		}
	}
	return false
}

// predicate returns the scope as a filter: nil when it allows everything.
func (sc *scope) predicate() func(*registry.Persona) bool {
	if sc != nil && sc.all {
		return nil
	}
	return sc.allows
}
