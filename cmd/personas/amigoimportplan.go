package main

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/schema"
	"github.com/personaregistry/personas/server/client"
)

// sourcePersona is one persona of the source org with every version.
type sourcePersona struct {
	client.Persona
	Versions []client.Version
}

// importState is one persona's file as the import has written it so far.
type importState struct {
	path string
	data []byte // rendered file; nil before the first write
	live bool
}

// importEvent is one thing that happened to a persona in the source.
type importEvent struct {
	when, order time.Time // order: when, clamped so a persona's events stay in sequence
	persona     *sourcePersona
	version     *client.Version // nil: the final name/role/tags/deletion state
}

// importStats count what an import wrote.
type importStats struct {
	personas, newPersonas, versions, updates, deletions, restores int
}

// planImport compares the source with the branch (snap; nil for an empty
// one) and returns the commits that bring git up to the source, oldest
// first. It refuses, naming the persona, when git and the source disagree
// about a version both have.
func planImport(snap *registry.Snapshot, src []*sourcePersona, dir string) ([]importCommit, importStats, error) {
	var st importStats
	occupied := map[string]string{} // path → id of the live file there
	states := map[string]*importState{}
	if snap != nil {
		for _, pr := range snap.Problems {
			occupied[pr.Path] = "(a file with problems)"
		}
		for _, gp := range snap.Personas() {
			if !gp.IsDeleted {
				occupied[gp.Path] = gp.ID
			}
		}
	}
	var events []importEvent
	for _, p := range src {
		st.personas++
		var gp *registry.Persona
		if snap != nil {
			gp, _ = snap.Persona(p.ID)
		}
		have, err := checkAgainstGit(p, gp)
		if err != nil {
			return nil, st, err
		}
		if gp == nil {
			st.newPersonas++
			states[p.ID] = &importState{}
		} else {
			latest := gp.Latest()
			data, err := renderPersona(p.ID, gp.Name, gp.Role, gp.Tags, contentOf(latest.Content))
			if err != nil {
				return nil, st, err
			}
			states[p.ID] = &importState{path: gp.Path, data: data, live: !gp.IsDeleted}
		}
		last := time.Time{}
		add := func(when time.Time, v *client.Version) {
			order := when
			if order.Before(last) {
				order = last
			}
			last = order
			events = append(events, importEvent{when: when, order: order, persona: p, version: v})
		}
		for i := have; i < len(p.Versions); i++ {
			add(p.Versions[i].CreatedAt, &p.Versions[i])
		}
		final := p.UpdatedAt
		if final.Before(last) {
			final = last
		}
		add(final, nil)
	}
	slices.SortStableFunc(events, func(a, b importEvent) int { return a.order.Compare(b.order) })
	var commits []importCommit
	for _, e := range events {
		c, err := applyImportEvent(e, states[e.persona.ID], occupied, dir, &st)
		if err != nil {
			return nil, st, err
		}
		if c != nil {
			commits = append(commits, *c)
		}
	}
	return commits, st, nil
}

// checkAgainstGit returns how many of the source's versions git already
// has, after checking that they agree.
func checkAgainstGit(p *sourcePersona, gp *registry.Persona) (int, error) {
	for i, v := range p.Versions {
		if v.Version != i+1 {
			return 0, fmt.Errorf("persona %q (%s): the source's versions are not numbered 1, 2, 3 … (got %d at position %d)", p.Name, p.ID, v.Version, i+1)
		}
	}
	if len(p.Versions) == 0 {
		return 0, fmt.Errorf("persona %q (%s): the source has no version of it", p.Name, p.ID)
	}
	if gp == nil {
		return 0, nil
	}
	if len(gp.Versions) > len(p.Versions) {
		return 0, fmt.Errorf("persona %q (%s): git has %d versions, the source only %d; refusing to import", p.Name, p.ID, len(gp.Versions), len(p.Versions))
	}
	for i, gv := range gp.Versions {
		if !normalizeContent(contentOf(gv.Content)).Equal(normalizeContent(p.Versions[i].Content)) {
			return 0, fmt.Errorf("persona %q (%s): version %d in git (commit %s) differs from the source's; refusing to import", p.Name, p.ID, gv.Number, shortCommit(gv.Commit))
		}
	}
	return len(gp.Versions), nil
}

// applyImportEvent moves one persona's file to what the event says and
// returns the commit, or nil when the file is already so.
func applyImportEvent(e importEvent, s *importState, occupied map[string]string, dir string, st *importStats) (*importCommit, error) {
	p := e.persona
	content := p.Versions[len(p.Versions)-1].Content
	author := p.UpdatedBy.UserID
	if e.version != nil {
		content, author = e.version.Content, e.version.Creator.UserID
	}
	live := e.version != nil || !p.IsDeleted
	data, err := renderPersona(p.ID, p.Name, p.Role, p.Tags, content)
	if err != nil {
		return nil, err
	}
	trailer := "\n\nAmigo-Persona-Id: " + p.ID + "\n"
	c := &importCommit{Author: author, When: e.when, Files: map[string][]byte{}}
	switch {
	case !live && s.live:
		c.Files[s.path] = nil
		delete(occupied, s.path)
		s.live = false
		c.Message = fmt.Sprintf("Delete %s (imported from Amigo)%s", p.Name, trailer)
		st.deletions++
		return c, nil
	case !live || (s.live && string(data) == string(s.data)):
		return nil, nil
	}
	if !s.live {
		if s.path == "" || occupied[s.path] != "" {
			s.path = importPath(dir, p, occupied)
		}
		occupied[s.path] = p.ID
		if s.data != nil && e.version == nil {
			st.restores++
		}
	}
	s.live, s.data = true, data
	c.Files[s.path] = data
	switch {
	case e.version != nil:
		c.Message = fmt.Sprintf("%s: version %d (imported from Amigo)%s", p.Name, e.version.Version, trailer)
		st.versions++
	default:
		c.Message = fmt.Sprintf("%s: name, role and tags (imported from Amigo)%s", p.Name, trailer)
		st.updates++
	}
	return c, nil
}

// importPath picks <dir>/<slug>.yaml, or <dir>/<slug>-<id>.yaml when taken.
func importPath(dir string, p *sourcePersona, occupied map[string]string) string {
	base := path.Join(dir, schema.Slug(p.Name))
	if occupied[base+".yaml"] == "" {
		return base + ".yaml"
	}
	return base + "-" + p.ID + ".yaml"
}

// renderPersona writes a persona file and checks that it parses back to
// the same values (a source value git cannot hold is refused, named).
func renderPersona(id, name, role string, tags map[string]*string, c client.Content) ([]byte, error) {
	c = normalizeContent(c)
	f := &schema.Persona{ID: id, Name: name, Role: role, Tags: maps.Clone(tags), Background: c.Background,
		PreferredLanguage: c.PreferredLanguage, Timezone: c.Timezone, UserModels: c.UserModels,
		NonsensitiveUserVariables: c.NonsensitiveUserVariables, SensitiveUserVariables: c.SensitiveUserVariables}
	if f.Tags == nil {
		f.Tags = map[string]*string{}
	}
	data := schema.Render(f, "")
	back, _, findings := schema.ParsePersona(id+".yaml", data)
	if back == nil {
		var msgs []string
		for _, f := range findings {
			msgs = append(msgs, f.Error())
		}
		return nil, fmt.Errorf("persona %q (%s) is not a valid persona file: %s", name, id, strings.Join(msgs, "; "))
	}
	got := client.Content{Background: back.Background, PreferredLanguage: back.PreferredLanguage, Timezone: back.Timezone,
		UserModels: back.UserModels, NonsensitiveUserVariables: back.NonsensitiveUserVariables, SensitiveUserVariables: back.SensitiveUserVariables}
	if !normalizeContent(got).Equal(c) || back.Name != name || back.Role != role || !maps.EqualFunc(back.Tags, f.Tags, eqStr) {
		return nil, fmt.Errorf("persona %q (%s) does not survive a round trip through its YAML file", name, id)
	}
	return data, nil
}
