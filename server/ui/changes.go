package ui

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/worddiff"
)

// changesData is what a ref changes relative to the served branch: the
// data of the API's /ref/{ref}/diff, persona by persona.
type changesData struct {
	Ref      string
	Branches []string // the repository's other branches, to pick from
	Base     string   // the merge-base
	Head     string   // the ref's commit
	Rows     []changeRow
	Problems []registry.Problem
	API      string // the same diff on the API (JSON); API+"?format=markdown" for Markdown
}

// changeRow is one persona the ref changes.
type changeRow struct {
	ID, Name, Status string
	Versions         string // "v3 → v4", "v1", "v2 (no new version)"
	PathBefore       string
	PathAfter        string
	Link             string // the persona's page: on the ref, or on the branch when the ref removes it
	Fields           []fieldChange
	Background       []worddiff.Segment // nil when the background is the same
	UnitTests        []string
}

// changes answers /changes?ref=NAME: what the ref changes relative to the
// served branch (the diff of BRANCH...ref), or, without a ref, a form and
// the branches to pick from.
func (u *UI) changes(req *request) error {
	d := &changesData{Ref: strings.TrimSpace(req.r.URL.Query().Get("ref"))}
	if d.Ref == "" {
		branches, err := u.cfg.Registry.Branches()
		if err != nil {
			return err
		}
		d.Branches = slices.DeleteFunc(branches, func(b string) bool { return b == u.cfg.Registry.Branch() })
		u.render(req, http.StatusOK, "changes", "Preview a ref", d)
		return nil
	}
	diff, err := u.cfg.Registry.RefDiff(req.r.Context(), d.Ref)
	if err != nil {
		return err
	}
	d.Base, d.Head = diff.Base, diff.Head
	d.API = "/ref/" + url.PathEscape(d.Ref) + "/diff"
	q := "?" + url.Values{"ref": {d.Ref}}.Encode()
	for _, p := range diff.Personas {
		if !req.viewer.mayDiff(p) {
			continue
		}
		d.Rows = append(d.Rows, u.changeRow(req, p, q))
	}
	d.Problems = req.viewer.problems(diff.Problems)
	u.render(req, http.StatusOK, "changes", "What "+d.Ref+" changes", d)
	return nil
}

func (u *UI) changeRow(req *request, p registry.PersonaDiff, refQuery string) changeRow {
	r := changeRow{ID: p.ID, Name: p.Name, Status: p.Status, Versions: versionNote(p),
		PathBefore: deref(p.PathBefore), PathAfter: deref(p.PathAfter), UnitTests: p.UnitTests,
		Link: "/personas/" + p.ID + refQuery}
	if p.After == nil {
		r.Link = "/personas/" + p.ID // removed by the ref: its page on the branch
	}
	b, a := p.Before, p.After
	if b == nil {
		b = &registry.DiffPersona{}
	}
	if a == nil {
		a = &registry.DiffPersona{}
	}
	add := func(name, before, after string) {
		if before != after {
			r.Fields = append(r.Fields, fieldChange{name, before, after})
		}
	}
	add("name", b.Name, a.Name)
	add("role", b.Role, a.Role)
	if !maps.EqualFunc(b.Tags, a.Tags, samePtr) {
		add("tags", tagLine(b.Tags), tagLine(a.Tags))
	}
	r.Fields = append(r.Fields, u.fieldChanges(req, &b.Content, &a.Content)...)
	if b.Content.Background != a.Content.Background {
		r.Background = worddiff.Diff(b.Content.Background.String(), a.Content.Background.String())
	}
	return r
}

// mayDiff says whether the viewer may read every side of p that exists (at
// the merge-base and on the ref), as the API's diff decides.
func (v *Viewer) mayDiff(p registry.PersonaDiff) bool {
	if v == nil || v.May == nil {
		return true
	}
	sides := p.Sides()
	for _, q := range sides {
		if !v.May(q) {
			return false
		}
	}
	return len(sides) > 0
}

// versionNote says what a diff does to the version numbers.
func versionNote(p registry.PersonaDiff) string {
	switch {
	case p.NewVersion && p.VersionBefore != nil:
		return "v" + strconv.Itoa(*p.VersionBefore) + " → v" + strconv.Itoa(*p.VersionBefore+1)
	case p.NewVersion:
		return "v1"
	case p.VersionBefore != nil:
		return "v" + strconv.Itoa(*p.VersionBefore) + " (no new version)"
	}
	return ""
}

// tagLine renders tags as the API's tag filter writes them: "k:v, k:".
func tagLine(t map[string]*string) string {
	parts := make([]string, 0, len(t))
	for _, k := range slices.Sorted(maps.Keys(t)) {
		parts = append(parts, k+":"+deref(t[k]))
	}
	return strings.Join(parts, ", ")
}

func samePtr(a, b *string) bool { return deref(a) == deref(b) && (a == nil) == (b == nil) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
