package ui

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/worddiff"
)

// compareData is two versions of a persona side by side.
type compareData struct {
	P          *registry.Persona
	A, B       *registry.Version
	Old, New   []worddiff.Segment // the background's two sides
	Background bool               // the background differs
	Fields     []fieldChange
	Numbers    []int
}

// fieldChange is one changed field other than the background.
type fieldChange struct {
	Name, Before, After string
}

func (u *UI) compare(req *request) error {
	p, err := lookup(req)
	if err != nil {
		return err
	}
	q := req.r.URL.Query()
	from, err := versionNumber(p, "from", q.Get("from"))
	if err != nil {
		return err
	}
	to, err := versionNumber(p, "to", q.Get("to"))
	if err != nil {
		return err
	}
	a, b := p.Versions[from-1], p.Versions[to-1]
	d := &compareData{P: p, A: a, B: b}
	for i := range p.Versions {
		d.Numbers = append(d.Numbers, i+1)
	}
	if a.Background != b.Background {
		d.Background = true
		for _, s := range worddiff.Diff(a.Background.String(), b.Background.String()) {
			if s.Op != worddiff.Insert {
				d.Old = append(d.Old, s)
			}
			if s.Op != worddiff.Delete {
				d.New = append(d.New, s)
			}
		}
	}
	d.Fields = u.fieldChanges(req, &a.Content, &b.Content)
	u.render(req, http.StatusOK, "compare", p.Name+": v"+strconv.Itoa(from)+" → v"+strconv.Itoa(to), d)
	return nil
}

// fieldChanges lists the fields but the background that differ.
func (u *UI) fieldChanges(req *request, a, b *registry.Content) []fieldChange {
	var out []fieldChange
	add := func(name, before, after string) {
		if before != after {
			out = append(out, fieldChange{name, before, after})
		}
	}
	add("preferred_language", languageName(a.PreferredLanguage), languageName(b.PreferredLanguage))
	add("timezone", orDash(a.Timezone), orDash(b.Timezone))
	add("user_models", strings.Join(a.UserModels, "; "), strings.Join(b.UserModels, "; "))
	add("nonsensitive_user_variables", vars(a.NonsensitiveUserVariables), vars(b.NonsensitiveUserVariables))
	if !maps.Equal(a.SensitiveUserVariables, b.SensitiveUserVariables) {
		if u.redacts(req) {
			out = append(out, fieldChange{"sensitive_user_variables", "(hidden)", "(hidden, changed)"})
		} else {
			add("sensitive_user_variables", vars(a.SensitiveUserVariables), vars(b.SensitiveUserVariables))
		}
	}
	return out
}

func orDash(s *string) string {
	if s == nil {
		return "—"
	}
	return *s
}

func vars(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " = " + m[k]
	}
	return strings.Join(parts, "; ")
}
