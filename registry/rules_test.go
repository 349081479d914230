package registry_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
)

// One test per history rule of DESIGN.md ("History → personas and
// versions"). Each builds a repository commit by commit and checks what a
// user sees: versions and their commits, deletion, descriptive fields,
// created/updated commits, paths and problems. Every snapshot is built by a
// new registry without cache, so that these tests check the rules alone;
// incremental refreshes are checked against the same rules at the end.

const (
	idA = "0000000000000000000000a1"
	idB = "0000000000000000000000b2"
	idC = "0000000000000000000000c3"
	idZ = "00000000000000000000ffff"
)

// at returns the snapshot of the repository's main branch, built from
// scratch. It also refreshes a registry that follows the repository through
// every call of at (incrementally) and checks that it serves the same.
func (r *testRepo) at(t *testing.T) *registry.Snapshot {
	t.Helper()
	s := freshSnapshot(t, r.Dir)
	if want := r.Head(); s.Head != want {
		t.Fatalf("snapshot head = %s, want %s", short(s.Head), short(want))
	}
	if r.follower == nil {
		r.follower = openRegistry(r.T, r.Dir)
	}
	if got, want := dumpSnapshot(refresh(t, r.follower)), dumpSnapshot(s); got != want {
		t.Errorf("incremental refresh differs from a fresh index (- incremental, + fresh):\n%s", diffDumps(got, want))
	}
	return s
}

// Rule 1: a persona is its id, not its path. git mv keeps it: no version,
// no update, only Path changes.
func TestRuleRenameKeepsPersona(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, from, to string
		edit           bool // a control: renamed and edited, a version
	}{
		{"same directory", "personas/a.yaml", "personas/b.yaml", false},
		{"into a subdirectory", "personas/a.yaml", "personas/team/x/a.yaml", false},
		{"to a smaller path", "personas/zz.yaml", "personas/aa.yaml", false},
		{"yaml to yml", "personas/a.yaml", "personas/a.yml", false},
		{"out of a subdirectory", "personas/deep/er/p.yml", "personas/p.yaml", false},
		{"control: renamed and edited", "personas/a.yaml", "personas/b.yaml", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRepo(t)
			r.Write(tc.from, personaYAML(idA, "Alpha", "patient", "First background.", "tags: {tier: gold}"))
			r.Write("personas/other.yaml", personaYAML(idB, "Beta", "customer", "Other."))
			c1 := r.Commit("create")
			r.Move(tc.from, tc.to)
			if tc.edit {
				r.Write(tc.to, personaYAML(idA, "Alpha", "patient", "Edited background.", "tags: {tier: gold}"))
			}
			c2 := r.Commit("rename")

			s := r.at(t)
			p := mustPersona(t, s, idA)
			if tc.edit {
				checkVersions(t, p, c1, c2)
				checkUpdated(t, p, c2)
			} else {
				checkVersions(t, p, c1)
				checkUpdated(t, p, c1)
			}
			if p.Path != tc.to {
				t.Errorf("Path = %q, want %q", p.Path, tc.to)
			}
			if p.IsDeleted {
				t.Error("renamed persona is deleted")
			}
			if p.CreatedCommit != c1 || p.Name != "Alpha" || p.Role != "patient" {
				t.Errorf("persona changed by a rename: created %s name %q role %q", short(p.CreatedCommit), p.Name, p.Role)
			}
			if len(s.Personas()) != 2 {
				t.Errorf("got %d personas, want 2: %v", len(s.Personas()), personaIDs(s))
			}
			checkUpdated(t, mustPersona(t, s, idB), c1)
			checkNoProblems(t, s)
			if s.Commits != 2 || s.Head != c2 {
				t.Errorf("Commits = %d, Head = %s; want 2, %s", s.Commits, short(s.Head), short(c2))
			}
		})
	}
}

// Rule 2: versioned content is compared as values after defaults:
// reformatting, comments, key order, quoting and block styles that yield
// the same strings, and explicit empty defaults change nothing.
func TestRuleReformatIsNoVersion(t *testing.T) {
	t.Parallel()
	const rich = `id: 0000000000000000000000a1
name: Alpha Person
role: patient
tags:
  tier: gold
  vip:
background: |-
  One line of background.
preferred_language: eng
timezone: Europe/Paris
user_models: [calm, terse]
nonsensitive_user_variables:
  account: "42"
sensitive_user_variables: {}
`
	const minimal = `id: 0000000000000000000000a1
name: Alpha Person
role: patient
background: Short background.
`
	cases := []struct {
		name        string
		before      string
		after       string
		wantVersion bool // a control: the change is a real one
		wantUpdate  bool
	}{
		{name: "keys reordered", before: rich, after: `background: |-
  One line of background.
sensitive_user_variables: {}
user_models: [calm, terse]
timezone: Europe/Paris
nonsensitive_user_variables:
  account: "42"
preferred_language: eng
tags:
  vip:
  tier: gold
role: patient
name: Alpha Person
id: 0000000000000000000000a1
`},
		{name: "comments added", before: rich, after: `# yaml-language-server: $schema=../schema/persona.schema.json
id: 0000000000000000000000a1   # never reused
name: Alpha Person
role: patient
tags:
  # the customer tier
  tier: gold
  vip:
background: |-   # versioned from here
  One line of background.
preferred_language: eng
timezone: Europe/Paris
user_models: [calm, terse]
nonsensitive_user_variables:
  account: "42"   # quoted: a string
sensitive_user_variables: {}
# end
`},
		{name: "quoting and flow styles", before: rich, after: `id: "0000000000000000000000a1"
name: 'Alpha Person'
role: "patient"
tags: {tier: 'gold', vip: null}
background: "One line of background."
preferred_language: 'eng'
timezone: "Europe/Paris"
user_models:
  - calm
  - "terse"
nonsensitive_user_variables: {account: '42'}
sensitive_user_variables: {}
`},
		{name: "folded block yields the same string", before: rich, after: `id: 0000000000000000000000a1
name: Alpha Person
role: patient
tags:
  tier: gold
  vip: ~
background: >-
  One line
  of background.
preferred_language: eng
timezone: Europe/Paris
user_models: [calm, terse]
nonsensitive_user_variables:
  account: "42"
`},
		{name: "explicit empty defaults", before: minimal, after: `id: 0000000000000000000000a1
name: Alpha Person
role: patient
tags: {}
background: Short background.
preferred_language: null
timezone: ~
user_models: []
nonsensitive_user_variables: {}
sensitive_user_variables: {}
`},
		{name: "explicit defaults removed", before: `id: 0000000000000000000000a1
name: Alpha Person
role: patient
tags: {}
background: Short background.
preferred_language: null
timezone: null
user_models: []
nonsensitive_user_variables: {}
sensitive_user_variables: {}
`, after: minimal},
		{name: "control: literal block keeps the newline", before: minimal, after: `id: 0000000000000000000000a1
name: Alpha Person
role: patient
background: |
  Short background.
`, wantVersion: true, wantUpdate: true},
		{name: "control: user model added", before: minimal, after: minimal + "user_models: [calm]\n",
			wantVersion: true, wantUpdate: true},
		{name: "control: timezone set", before: minimal, after: minimal + "timezone: Europe/Paris\n",
			wantVersion: true, wantUpdate: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRepo(t)
			r.Write("personas/alpha.yaml", tc.before)
			c1 := r.Commit("create")
			r.Write("personas/alpha.yaml", tc.after)
			c2 := r.Commit("restyle")
			if r.Git("rev-parse", c1+"^{tree}") == r.Git("rev-parse", c2+"^{tree}") {
				t.Fatal("test case does not change the file")
			}

			s := r.at(t)
			checkNoProblems(t, s)
			p := mustPersona(t, s, idA)
			if tc.wantVersion {
				checkVersions(t, p, c1, c2)
			} else {
				checkVersions(t, p, c1)
			}
			if tc.wantUpdate {
				checkUpdated(t, p, c2)
			} else {
				checkUpdated(t, p, c1)
			}
			if p.Name != "Alpha Person" || p.Role != "patient" || p.IsDeleted {
				t.Errorf("name %q role %q deleted %v", p.Name, p.Role, p.IsDeleted)
			}
		})
	}
}

// Rule 3: a change of tags only is an update, not a version.
func TestRuleTagsOnlyIsUpdate(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Background.", "tags:\n  tier: gold\n  channel: web"))
	c1 := r.Commit("create")
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Background.", "tags:\n  tier: silver\n  vip:"))
	c2 := r.CommitWith("retag", commitOpts{AuthorEmail: "bob@example.com"})

	s := r.at(t)
	checkNoProblems(t, s)
	p := mustPersona(t, s, idA)
	checkVersions(t, p, c1)
	checkUpdated(t, p, c2)
	if p.UpdatedBy != "bob@example.com" {
		t.Errorf("UpdatedBy = %q, want bob@example.com", p.UpdatedBy)
	}
	if want := r.CommitTime(c2); !p.UpdatedAt.Equal(want) {
		t.Errorf("UpdatedAt = %v, want %v", p.UpdatedAt, want)
	}
	if p.CreatedCommit != c1 || p.Creator != testAuthor {
		t.Errorf("created %s by %s, want %s by %s", short(p.CreatedCommit), p.Creator, short(c1), testAuthor)
	}
	if got := fmtTags(p.Tags); got != `{"tier":"silver","vip":null}` {
		t.Errorf("Tags = %s", got)
	}
	if v, ok := p.Tags["vip"]; !ok || v != nil {
		t.Errorf("tag vip = %v, %v; want a null value", v, ok)
	}

	// Tags back to what they were: another update, still no version.
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Background.", "tags: {channel: web, tier: gold}"))
	c3 := r.Commit("retag back")
	p = mustPersona(t, r.at(t), idA)
	checkVersions(t, p, c1)
	checkUpdated(t, p, c3)
	if got := fmtTags(p.Tags); got != `{"channel":"web","tier":"gold"}` {
		t.Errorf("Tags = %s", got)
	}
}

// Rule 3: a change of name or role is an update, not a version.
func TestRuleNameRoleIsUpdate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, newName, newRole string
	}{
		{"name", "Alpha Renamed", "patient"},
		{"role", "Alpha", "customer"},
		{"name and role", "Alpha Renamed", "customer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRepo(t)
			r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Background.", "tags: {tier: gold}"))
			c1 := r.Commit("create")
			r.Write("personas/a.yaml", personaYAML(idA, tc.newName, tc.newRole, "Background.", "tags: {tier: gold}"))
			c2 := r.CommitWith("rename", commitOpts{AuthorEmail: "bob@example.com"})

			s := r.at(t)
			checkNoProblems(t, s)
			p := mustPersona(t, s, idA)
			checkVersions(t, p, c1)
			checkUpdated(t, p, c2)
			if p.Name != tc.newName || p.Role != tc.newRole {
				t.Errorf("name %q role %q, want %q %q", p.Name, p.Role, tc.newName, tc.newRole)
			}
			if p.UpdatedBy != "bob@example.com" || p.Creator != testAuthor {
				t.Errorf("UpdatedBy %q Creator %q", p.UpdatedBy, p.Creator)
			}
			if p.Path != "personas/a.yaml" {
				t.Errorf("Path = %q", p.Path)
			}
			if got := p.Latest().Background.String(); got != "Background." {
				t.Errorf("latest background = %q", got)
			}
		})
	}
}

// Rule 4: deleting the file marks the persona deleted (an update) and keeps
// its versions; a file with the same id restores it (an update), with a new
// version only when the content differs from the last version.
func TestRuleDeleteAndRestore(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Version one."))
	r.Write("personas/b.yaml", personaYAML(idB, "Beta", "patient", "Stays."))
	c1 := r.Commit("create")
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Version two."))
	c2 := r.Commit("edit")
	r.Git("rm", "--quiet", "personas/a.yaml")
	c3 := r.CommitWith("delete", commitOpts{AuthorEmail: "deleter@example.com"})

	s := r.at(t)
	p := mustPersona(t, s, idA)
	if !p.IsDeleted {
		t.Fatal("persona not deleted after its file was removed")
	}
	checkVersions(t, p, c1, c2)
	checkUpdated(t, p, c3)
	if p.UpdatedBy != "deleter@example.com" {
		t.Errorf("UpdatedBy = %q", p.UpdatedBy)
	}
	if p.Path != "personas/a.yaml" {
		t.Errorf("Path of a deleted persona = %q, want its last file", p.Path)
	}
	if p.Versions[0].Background.String() != "Version one." || p.Versions[1].Background.String() != "Version two." {
		t.Errorf("versions of a deleted persona: %q, %q", p.Versions[0].Background, p.Versions[1].Background)
	}
	if b := mustPersona(t, s, idB); b.IsDeleted {
		t.Error("other persona deleted")
	}
	checkNoProblems(t, s)

	// Restore with the same content, at another path.
	r.Write("personas/back/alpha.yaml", personaYAML(idA, "Alpha", "patient", "Version two."))
	c4 := r.Commit("restore same")
	p = mustPersona(t, r.at(t), idA)
	if p.IsDeleted {
		t.Error("restored persona is deleted")
	}
	checkVersions(t, p, c1, c2)
	checkUpdated(t, p, c4)
	if p.Path != "personas/back/alpha.yaml" || p.CreatedCommit != c1 {
		t.Errorf("Path %q CreatedCommit %s", p.Path, short(p.CreatedCommit))
	}

	// Delete again, restore with another content: a new version.
	r.Git("rm", "--quiet", "personas/back/alpha.yaml")
	c5 := r.Commit("delete again")
	p = mustPersona(t, r.at(t), idA)
	if !p.IsDeleted {
		t.Error("not deleted")
	}
	checkUpdated(t, p, c5)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Version one."))
	c6 := r.Commit("restore with the first content")
	s = r.at(t)
	p = mustPersona(t, s, idA)
	if p.IsDeleted {
		t.Error("restored persona is deleted")
	}
	checkVersions(t, p, c1, c2, c6)
	checkUpdated(t, p, c6)
	if p.Latest().Background.String() != "Version one." || p.Latest().Number != 3 {
		t.Errorf("latest = %d %q", p.Latest().Number, p.Latest().Background)
	}
	checkNoProblems(t, s)
}

// Rule 5: an invalid file keeps its persona at the last valid state and is a
// problem (path, line, message, commit); fixing it makes a version only when
// the content changed; removing the broken file deletes the persona.
func TestRuleInvalidFileKeepsLastValidState(t *testing.T) {
	t.Parallel()
	const path = "personas/a.yaml"
	valid := func(bg string) string { return personaYAML(idA, "Alpha", "patient", bg) }
	const badYAML = "id: " + idA + "\nname: Alpha\nrole: patient\nbackground: Broken plain scalar.\n  timezone: UTC\n"
	const badKey = "id: " + idA + "\nname: Alpha\nrole: patient\nbackground: Typo.\nprefered_language: eng\n"

	r := newTestRepo(t)
	r.Write(path, valid("Version one."))
	r.Write("personas/b.yaml", personaYAML(idB, "Beta", "patient", "Valid neighbour."))
	c1 := r.Commit("create")

	checkBroken := func(t *testing.T, s *registry.Snapshot, commit string, line int, msg string) {
		t.Helper()
		p := mustPersona(t, s, idA)
		if p.IsDeleted {
			t.Error("persona deleted by an invalid file")
		}
		checkVersions(t, p, c1)
		checkUpdated(t, p, c1)
		if p.Latest().Background.String() != "Version one." || p.Path != path {
			t.Errorf("latest %q path %q, want the last valid state", p.Latest().Background, p.Path)
		}
		if len(s.Problems) != 1 {
			t.Fatalf("problems = %+v, want one for %s", s.Problems, path)
		}
		pr := s.Problems[0]
		if pr.Path != path || pr.Line != line || !strings.Contains(pr.Message, msg) || pr.Commit != commit {
			t.Errorf("problem = %+v, want %s line %d %q at %s", pr, path, line, msg, short(commit))
		}
		if b := mustPersona(t, s, idB); b.IsDeleted {
			t.Error("an invalid file hid a valid persona")
		}
	}

	r.Write(path, badYAML)
	c2 := r.Commit("break the yaml")
	checkBroken(t, r.at(t), c2, 5, "invalid YAML")

	r.Write(path, badKey)
	c3 := r.Commit("break it another way")
	checkBroken(t, r.at(t), c3, 5, `unknown key "prefered_language"`)

	// An unrelated commit keeps the problem's commit.
	r.Write("personas/b.yaml", personaYAML(idB, "Beta", "patient", "Valid neighbour, edited."))
	r.Commit("edit neighbour")
	s := r.at(t)
	if len(s.Problems) != 1 || s.Problems[0].Commit != c3 {
		t.Errorf("problems after an unrelated commit = %+v, want the one of %s", s.Problems, short(c3))
	}

	// Fixed with the same content: no version, no problem.
	r.Write(path, valid("Version one."))
	r.Commit("fix, same content")
	s = r.at(t)
	checkNoProblems(t, s)
	p := mustPersona(t, s, idA)
	checkVersions(t, p, c1)
	checkUpdated(t, p, c1)

	// Broken, then fixed with another content: one version, at the fix.
	r.Write(path, "id: "+idA+"\nname: Alpha\nrole: patient\n")
	c6 := r.Commit("drop the background")
	s = r.at(t)
	checkBroken(t, s, c6, 1, `missing required key "background"`)
	r.Write(path, valid("Version two."))
	c7 := r.Commit("fix, new content")
	s = r.at(t)
	checkNoProblems(t, s)
	p = mustPersona(t, s, idA)
	checkVersions(t, p, c1, c7)
	checkUpdated(t, p, c7)

	// Broken, then the broken file removed: the persona is deleted.
	r.Write(path, badYAML)
	r.Commit("break again")
	r.Git("rm", "--quiet", path)
	c9 := r.Commit("remove the broken file")
	s = r.at(t)
	checkNoProblems(t, s)
	p = mustPersona(t, s, idA)
	if !p.IsDeleted {
		t.Error("removing the broken file did not delete the persona")
	}
	checkVersions(t, p, c1, c7)
	checkUpdated(t, p, c9)
	if p.Latest().Background.String() != "Version two." {
		t.Errorf("latest background = %q", p.Latest().Background)
	}
}

// An invalid file that was never valid is a problem and nothing else.
func TestRuleInvalidNewFileIsOnlyAProblem(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Fine."))
	r.Write("personas/bad.yaml", "id: "+idB+"\nname: Beta\nrole: patient\ntags:\n  channel:\n    - web\nbackground: x\n")
	c1 := r.Commit("create")
	s := r.at(t)
	if _, ok := s.Persona(idB); ok {
		t.Error("an invalid new file made a persona")
	}
	mustPersona(t, s, idA)
	probs := problemsAt(s, "personas/bad.yaml")
	if len(probs) != 1 || probs[0].Line != 6 || probs[0].Commit != c1 || !strings.Contains(probs[0].Message, "tags.channel") {
		t.Errorf("problems = %+v, want personas/bad.yaml line 6 about tags.channel at %s", s.Problems, short(c1))
	}
}

// Rule 6: two live files with the same id: the smaller path wins, the other
// is a problem; removing the winner lets the other speak for the persona.
func TestRuleDuplicateIDSmallerPathWins(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		first       string // the file that exists first
		second      string // the duplicate added next
		winnerMoves bool   // the duplicate has the smaller path
	}{
		{"duplicate has the larger path", "personas/a.yaml", "personas/b.yaml", false},
		{"duplicate has the smaller path", "personas/m.yaml", "personas/a/copy.yaml", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRepo(t)
			r.Write(tc.first, personaYAML(idA, "First", "patient", "From the first file."))
			c1 := r.Commit("create")
			r.Write(tc.second, personaYAML(idA, "Second", "customer", "From the second file."))
			c2 := r.Commit("duplicate")

			winner, loser := tc.first, tc.second
			if tc.winnerMoves {
				winner, loser = loser, winner
			}
			s := r.at(t)
			p := mustPersona(t, s, idA)
			if p.Path != winner {
				t.Errorf("Path = %q, want the smaller path %q", p.Path, winner)
			}
			if tc.winnerMoves {
				checkVersions(t, p, c1, c2)
				checkUpdated(t, p, c2)
				if p.Name != "Second" || p.Latest().Background.String() != "From the second file." {
					t.Errorf("name %q background %q, want the winner's", p.Name, p.Latest().Background)
				}
			} else {
				checkVersions(t, p, c1)
				checkUpdated(t, p, c1)
				if p.Name != "First" {
					t.Errorf("name %q, want the winner's", p.Name)
				}
			}
			if len(s.Problems) != 1 {
				t.Fatalf("problems = %+v, want one for %s", s.Problems, loser)
			}
			pr := s.Problems[0]
			wantCommit := c2
			if tc.winnerMoves {
				wantCommit = c1 // the loser was last changed by c1
			}
			if pr.Path != loser || pr.Line != 1 || !strings.Contains(pr.Message, idA) || !strings.Contains(pr.Message, winner) {
				t.Errorf("problem = %+v, want %s line 1 naming %s and %s", pr, loser, idA, winner)
			}
			if pr.Commit != wantCommit {
				t.Errorf("problem commit = %s, want %s", short(pr.Commit), short(wantCommit))
			}

			// Remove the winner: the other file speaks for the persona.
			r.Git("rm", "--quiet", winner)
			c3 := r.Commit("remove the winner")
			s = r.at(t)
			checkNoProblems(t, s)
			p = mustPersona(t, s, idA)
			if p.IsDeleted || p.Path != loser {
				t.Errorf("deleted %v path %q, want live at %q", p.IsDeleted, p.Path, loser)
			}
			if tc.winnerMoves {
				checkVersions(t, p, c1, c2, c3)
			} else {
				checkVersions(t, p, c1, c3)
			}
			checkUpdated(t, p, c3)
			if p.CreatedCommit != c1 {
				t.Errorf("CreatedCommit = %s, want %s", short(p.CreatedCommit), short(c1))
			}
		})
	}
}

// Rule 1 again: the id is the identity, so editing it in place deletes the
// old persona and creates a new one.
func TestRuleIDEditedInPlace(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Background."))
	c1 := r.Commit("create")
	r.Write("personas/a.yaml", personaYAML(idB, "Alpha", "patient", "Background."))
	c2 := r.CommitWith("change the id", commitOpts{AuthorEmail: "bob@example.com"})

	s := r.at(t)
	checkNoProblems(t, s)
	old := mustPersona(t, s, idA)
	if !old.IsDeleted {
		t.Error("old id not deleted")
	}
	checkVersions(t, old, c1)
	checkUpdated(t, old, c2)
	nw := mustPersona(t, s, idB)
	if nw.IsDeleted || nw.Path != "personas/a.yaml" {
		t.Errorf("new id: deleted %v path %q", nw.IsDeleted, nw.Path)
	}
	checkVersions(t, nw, c2)
	checkUpdated(t, nw, c2)
	if nw.CreatedCommit != c2 || nw.Creator != "bob@example.com" {
		t.Errorf("new id created %s by %s, want %s by bob", short(nw.CreatedCommit), nw.Creator, short(c2))
	}
}

// The history is the first-parent chain: a merge counts as its diff against
// its first parent, so three edits on a side branch are one version, at the
// merge commit.
func TestRuleMergeIsOneVersion(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Main one."))
	r.Write("personas/b.yaml", personaYAML(idB, "Beta", "patient", "Beta one."))
	c1 := r.Commit("create")

	r.Git("checkout", "--quiet", "-b", "side")
	var side []string
	for _, bg := range []string{"Side two.", "Side three.", "Side four."} {
		r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", bg))
		side = append(side, r.CommitWith("side edit", commitOpts{AuthorEmail: "sider@example.com"}))
	}
	r.Git("checkout", "--quiet", "main")
	r.Write("personas/b.yaml", personaYAML(idB, "Beta", "patient", "Beta two."))
	c2 := r.Commit("main edit")
	r.Commits++
	r.Git("merge", "--quiet", "--no-ff", "-m", "merge side", "side")
	m := r.Head()
	if parents := strings.Fields(r.Git("show", "-s", "--format=%P", m)); len(parents) != 2 || parents[0] != c2 {
		t.Fatalf("merge commit parents = %v, want [%s side]", parents, short(c2))
	}

	s := r.at(t)
	checkNoProblems(t, s)
	a := mustPersona(t, s, idA)
	checkVersions(t, a, c1, m)
	checkUpdated(t, a, m)
	if a.Latest().Background.String() != "Side four." {
		t.Errorf("latest background = %q", a.Latest().Background)
	}
	for _, c := range side {
		if slices.Contains(versionCommits(a), c) || a.UpdatedCommit == c {
			t.Errorf("side-branch commit %s shows in the persona", short(c))
		}
	}
	if a.UpdatedBy != testAuthor {
		t.Errorf("UpdatedBy = %q, want the merge's author", a.UpdatedBy)
	}
	checkVersions(t, mustPersona(t, s, idB), c1, c2)
	if s.Commits != 3 {
		t.Errorf("Commits = %d, want 3 first-parent commits", s.Commits)
	}
}

// An empty repository, a missing branch and a branch without the persona
// directory are empty snapshots, not errors.
func TestRuleEmptyRepository(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		setup    func(t *testing.T) (dir string, head string)
		branch   string
		wantHead bool
	}{
		{name: "no commits", setup: func(t *testing.T) (string, string) {
			return newTestRepo(t).Dir, ""
		}},
		{name: "bare, no commits", setup: func(t *testing.T) (string, string) {
			gittest.NeedGit(t)
			dir := t.TempDir()
			gittest.Run(t, dir, fixedEnv(), "init", "--quiet", "--bare", "-b", "main")
			return dir, ""
		}},
		{name: "branch missing", branch: "release", setup: func(t *testing.T) (string, string) {
			r := newTestRepo(t)
			r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "x"))
			r.Commit("create")
			return r.Dir, ""
		}},
		{name: "no persona directory", setup: func(t *testing.T) (string, string) {
			r := newTestRepo(t)
			r.Write("README.md", "hello\n")
			r.Write("other/a.yaml", personaYAML(idA, "Alpha", "patient", "x"))
			return r.Dir, r.Commit("readme")
		}},
		{name: "persona directory is a file", setup: func(t *testing.T) (string, string) {
			r := newTestRepo(t)
			r.Write("personas", "not a directory\n")
			return r.Dir, r.Commit("odd")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, head := tc.setup(t)
			reg := openRegistryOpts(t, registry.Options{Repo: dir, Branch: tc.branch, NoCache: true, PollInterval: -1})
			s := refresh(t, reg)
			if s.Head != head {
				t.Errorf("Head = %q, want %q", s.Head, head)
			}
			if len(s.Personas()) != 0 || len(s.Problems) != 0 || s.VersionCount() != 0 {
				t.Errorf("personas %v problems %+v, want none", personaIDs(s), s.Problems)
			}
			if _, ok := s.Persona(idA); ok {
				t.Error("Persona found in an empty snapshot")
			}
			if reg.Snapshot() != s {
				t.Error("Snapshot() is not the snapshot Refresh returned")
			}
		})
	}

	t.Run("first commit after an empty refresh", func(t *testing.T) {
		r := newTestRepo(t)
		reg := openRegistry(t, r.Dir)
		if s := refresh(t, reg); s.Head != "" {
			t.Fatalf("Head = %q", s.Head)
		}
		r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "x"))
		c1 := r.Commit("create")
		s := refresh(t, reg)
		if s.Head != c1 {
			t.Errorf("Head = %s, want %s", short(s.Head), short(c1))
		}
		checkVersions(t, mustPersona(t, s, idA), c1)
	})
}

// Unit tests: a file below unit_tests/ with persona_id is listed for its
// persona; one that references a missing or deleted persona is a problem.
func TestRuleUnitTests(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "x"))
	r.Write("personas/b.yaml", personaYAML(idB, "Beta", "patient", "y"))
	r.Write("unit_tests/x.yaml", "persona_id: "+idA+"\nname: X\n")
	r.Write("unit_tests/nested/y.yml", "name: Y\npersona_id: "+idA+"\n")
	r.Write("unit_tests/missing.yaml", "name: M\npersona_id: "+idZ+"\n")
	r.Write("unit_tests/notes.yaml", "just: notes\n")
	r.Write("unit_tests/readme.md", "persona_id: "+idZ+"\n")
	c1 := r.Commit("create")

	s := r.at(t)
	if got, want := s.UnitTests(idA), []string{"unit_tests/nested/y.yml", "unit_tests/x.yaml"}; !slices.Equal(got, want) {
		t.Errorf("UnitTests(a) = %v, want %v", got, want)
	}
	if got := s.UnitTests(idB); len(got) != 0 {
		t.Errorf("UnitTests(b) = %v, want none", got)
	}
	if len(s.Problems) != 1 {
		t.Fatalf("problems = %+v, want one for unit_tests/missing.yaml", s.Problems)
	}
	if pr := s.Problems[0]; pr.Path != "unit_tests/missing.yaml" || pr.Commit != c1 || pr.Line < 1 || !strings.Contains(pr.Message, idZ) {
		t.Errorf("problem = %+v, want unit_tests/missing.yaml naming %s at %s", pr, idZ, short(c1))
	}

	// The referenced persona is deleted: a problem; the test still lists it.
	r.Git("rm", "--quiet", "personas/a.yaml")
	r.Commit("delete a")
	s = r.at(t)
	var paths []string
	for _, pr := range s.Problems {
		paths = append(paths, pr.Path)
		if pr.Path == "unit_tests/x.yaml" && (!strings.Contains(pr.Message, "deleted") || pr.Commit != c1) {
			t.Errorf("problem = %+v, want one about a deleted persona at %s", pr, short(c1))
		}
	}
	if want := []string{"unit_tests/missing.yaml", "unit_tests/nested/y.yml", "unit_tests/x.yaml"}; !slices.Equal(paths, want) {
		t.Errorf("problem paths = %v, want %v", paths, want)
	}

	// Restored: no problem; a unit test retargeted to b moves.
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "x"))
	r.Write("unit_tests/nested/y.yml", "name: Y\npersona_id: "+idB+"\n")
	r.Git("rm", "--quiet", "unit_tests/missing.yaml")
	r.Commit("restore, retarget, remove")
	s = r.at(t)
	checkNoProblems(t, s)
	if got := s.UnitTests(idA); !slices.Equal(got, []string{"unit_tests/x.yaml"}) {
		t.Errorf("UnitTests(a) = %v", got)
	}
	if got := s.UnitTests(idB); !slices.Equal(got, []string{"unit_tests/nested/y.yml"}) {
		t.Errorf("UnitTests(b) = %v", got)
	}
}

// A unit-test file edited so that it no longer has a persona_id is no longer
// a unit test of its persona.
func TestRuleUnitTestLosesPersonaID(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "x"))
	r.Write("unit_tests/x.yaml", "persona_id: "+idA+"\nname: X\n")
	r.Write("unit_tests/gone.yaml", "persona_id: "+idZ+"\nname: Gone\n")
	r.Commit("create")
	if got := r.at(t).UnitTests(idA); !slices.Equal(got, []string{"unit_tests/x.yaml"}) {
		t.Fatalf("UnitTests(a) = %v", got)
	}
	r.Write("unit_tests/x.yaml", "name: X, no longer a unit test\n")
	r.Write("unit_tests/gone.yaml", "name: Gone, no longer a unit test\n")
	r.Commit("drop persona_id")
	s := r.at(t)
	if got := s.UnitTests(idA); len(got) != 0 || len(s.Problems) != 0 {
		t.Fatalf("a unit-test file that loses its persona_id stays a unit test "+
			"(UnitTests(a) = %v, problems %+v): rules.go applyUnitChange returns without delete(s.Units, c.Path)", got, s.Problems)
	}
}

// Rule 7: created_at/creator come from the commit where the id first
// appeared, updated_at/updated_by from the last change; times are committer
// times in UTC, users are author emails.
func TestRuleCreatedAndUpdatedFromCommits(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	plus2 := time.FixedZone("+02", 2*3600)
	minus5 := time.FixedZone("-05", -5*3600)
	c1Committed := time.Date(2024, 5, 1, 12, 0, 0, 0, plus2)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "one"))
	c1 := r.CommitWith("create", commitOpts{
		AuthorEmail: "carol@example.com", CommitterEmail: "ci@example.com",
		AuthorDate: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), CommitterDate: c1Committed,
	})
	c2Committed := time.Date(2024, 5, 2, 8, 30, 15, 0, minus5)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "two"))
	c2 := r.CommitWith("edit", commitOpts{
		AuthorEmail: "dave@example.com", CommitterEmail: "ci@example.com",
		AuthorDate: time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC), CommitterDate: c2Committed,
	})

	s := r.at(t)
	p := mustPersona(t, s, idA)
	check := func(what string, got time.Time, want time.Time) {
		t.Helper()
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s = %v (%v), want %v in UTC", what, got, got.Location(), want.UTC())
		}
	}
	check("CreatedAt", p.CreatedAt, c1Committed)
	check("UpdatedAt", p.UpdatedAt, c2Committed)
	check("Versions[0].CreatedAt", p.Versions[0].CreatedAt, c1Committed)
	check("Versions[1].CreatedAt", p.Versions[1].CreatedAt, c2Committed)
	check("HeadTime", s.HeadTime, c2Committed)
	if p.Creator != "carol@example.com" || p.CreatedCommit != c1 {
		t.Errorf("created by %q at %s, want carol@example.com at %s", p.Creator, short(p.CreatedCommit), short(c1))
	}
	if p.UpdatedBy != "dave@example.com" || p.UpdatedCommit != c2 {
		t.Errorf("updated by %q at %s, want dave@example.com at %s", p.UpdatedBy, short(p.UpdatedCommit), short(c2))
	}
	if p.Versions[0].Creator != "carol@example.com" || p.Versions[1].Creator != "dave@example.com" {
		t.Errorf("version creators = %q, %q", p.Versions[0].Creator, p.Versions[1].Creator)
	}

	// Deleted and restored: still created by the first commit.
	r.Git("rm", "--quiet", "personas/a.yaml")
	r.Commit("delete")
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "three"))
	c4 := r.CommitWith("restore", commitOpts{AuthorEmail: "erin@example.com"})
	p = mustPersona(t, r.at(t), idA)
	check("CreatedAt after restore", p.CreatedAt, c1Committed)
	if p.Creator != "carol@example.com" || p.CreatedCommit != c1 || p.UpdatedBy != "erin@example.com" || p.UpdatedCommit != c4 {
		t.Errorf("after restore: created by %q at %s, updated by %q at %s", p.Creator, short(p.CreatedCommit), p.UpdatedBy, short(p.UpdatedCommit))
	}
	check("UpdatedAt after restore", p.UpdatedAt, r.CommitTime(c4))
}

// ruleHistory makes a history that exercises every rule, calling after
// (when not nil) after each commit.
func ruleHistory(r *testRepo, after func(commit string)) {
	step := func(msg string) {
		c := r.Commit(msg)
		if after != nil {
			after(c)
		}
	}
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "one", "tags: {tier: gold}"))
	r.Write("personas/b.yaml", personaYAML(idB, "Beta", "customer", "beta"))
	r.Write("unit_tests/a.yaml", "persona_id: "+idA+"\n")
	step("create")
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "two", "tags: {tier: gold}"))
	step("edit")
	r.Move("personas/a.yaml", "personas/x/alpha.yaml")
	step("rename")
	r.Write("personas/x/alpha.yaml", personaYAML(idA, "Alpha", "patient", "two", "tags: {tier: silver}"))
	step("retag")
	r.Write("personas/b.yaml", "id: "+idB+"\nname: [broken\n")
	step("break b")
	r.Write("personas/c.yaml", personaYAML(idC, "Gamma", "patient", "gamma"))
	r.Write("personas/b2.yaml", personaYAML(idA, "Alpha copy", "patient", "dup"))
	step("add c and a duplicate of a")
	r.Write("personas/b.yaml", personaYAML(idB, "Beta", "customer", "beta fixed"))
	step("fix b")
	r.Git("rm", "--quiet", "personas/x/alpha.yaml")
	step("remove a's winner")
	r.Git("rm", "--quiet", "personas/b2.yaml")
	step("delete a")
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "two", "tags: {tier: silver}"))
	step("restore a")
	r.Write("personas/c.yaml", personaYAML(idZ, "Gamma", "patient", "gamma"))
	step("change c's id")
}

// Incremental refresh: after every commit (and after several at once) the
// registry's snapshot equals one built at once from scratch.
func TestIncrementalRefreshEqualsFresh(t *testing.T) {
	t.Parallel()
	t.Run("after every commit", func(t *testing.T) {
		r := newTestRepo(t)
		reg := openRegistry(t, r.Dir)
		ruleHistory(r, func(commit string) {
			t.Helper()
			s := refresh(t, reg)
			if s.Head != commit {
				t.Fatalf("Head = %s, want %s", short(s.Head), short(commit))
			}
			checkSameAsFresh(t, r.Dir, s)
		})
		// Nothing new: the same snapshot.
		s1 := reg.Snapshot()
		if s2 := refresh(t, reg); s2 != s1 {
			t.Error("a refresh without new commits published a new snapshot")
		}
	})
	t.Run("several commits at once", func(t *testing.T) {
		r := newTestRepo(t)
		reg := openRegistry(t, r.Dir)
		n := 0
		ruleHistory(r, func(string) {
			n++
			if n%4 == 1 {
				refresh(t, reg)
			}
		})
		s := refresh(t, reg)
		if s.Head != r.Head() {
			t.Fatalf("Head = %s, want %s", short(s.Head), short(r.Head()))
		}
		checkSameAsFresh(t, r.Dir, s)
	})
}

// A history rewrite (the new head does not descend from the indexed one)
// rebuilds: the result equals a fresh index.
func TestHistoryRewriteRebuilds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		rewrite func(r *testRepo)
	}{
		{"reset two commits back, then new commits", func(r *testRepo) {
			r.Git("reset", "--quiet", "--hard", "HEAD~2")
			r.Write("personas/new.yaml", personaYAML(idC, "Other Gamma", "patient", "rewritten"))
			r.Commit("new history 1")
			r.Write("personas/b.yaml", personaYAML(idB, "Beta", "customer", "beta rewritten"))
			r.Commit("new history 2")
		}},
		{"reset two commits back, nothing new", func(r *testRepo) {
			r.Git("reset", "--quiet", "--hard", "HEAD~2")
		}},
		{"amend the head", func(r *testRepo) {
			r.Write("personas/c.yaml", personaYAML(idC, "Gamma", "patient", "amended"))
			r.Git("add", "-A")
			r.Commits++
			r.Git("commit", "--quiet", "--amend", "-m", "amended")
		}},
		{"branch moved to an unrelated history", func(r *testRepo) {
			r.Git("checkout", "--quiet", "--orphan", "other")
			r.Git("rm", "-r", "--quiet", "-f", ".")
			r.Write("personas/only.yaml", personaYAML(idB, "Beta Elsewhere", "patient", "unrelated"))
			c := r.Commit("unrelated root")
			r.Git("update-ref", "refs/heads/main", c)
			r.Git("checkout", "--quiet", "-f", "main")
		}},
		{"fast-forward to a merge whose first parent is another branch", func(r *testRepo) {
			// main's old head is now a second parent: not first-parent history any more.
			r.Git("checkout", "--quiet", "-b", "topic", "HEAD~4")
			r.Write("personas/topic.yaml", personaYAML("0000000000000000000000dd", "Topic", "patient", "topic"))
			r.Commit("topic")
			r.Commits++
			r.Git("merge", "--quiet", "--no-ff", "-m", "merge main into topic", "main")
			r.Git("checkout", "--quiet", "main")
			r.Git("merge", "--quiet", "--ff-only", "topic")
		}},
		{"branch deleted", func(r *testRepo) {
			r.Git("checkout", "--quiet", "--detach")
			r.Git("update-ref", "-d", "refs/heads/main")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRepo(t)
			reg := openRegistry(t, r.Dir)
			ruleHistory(r, nil)
			before := refresh(t, reg)
			tc.rewrite(r)
			s := refresh(t, reg)
			if s == before {
				t.Fatal("no new snapshot after a rewrite")
			}
			head := ""
			if out := gittest.Run(t, r.Dir, fixedEnv(),
				"for-each-ref", "--format=%(objectname)", "refs/heads/main"); out != "" {
				head = out
			}
			if s.Head != head {
				t.Errorf("Head = %q, want %q", s.Head, head)
			}
			if s.Head == "" && !s.HeadTime.IsZero() {
				t.Fatalf("after the branch is deleted the snapshot is empty but keeps HeadTime %v of the old head "+
					"(registry.go advance takes cur.HeadTime when the chain is empty, even after a rebuild)", s.HeadTime)
			}
			checkSameAsFresh(t, r.Dir, s)
			// And the rebuilt index keeps following the branch.
			if head != "" {
				r.Write("personas/later.yaml", personaYAML("0000000000000000000000ee", "Later", "patient", "later"))
				r.Commit("later")
				checkSameAsFresh(t, r.Dir, refresh(t, reg))
			}
		})
	}
}

// Rules 5 and 6 together: the winner of a duplicated id is removed while the
// other file is broken. The persona keeps its last valid state, stays linked
// to the broken file (so it is live, at that path) and the snapshot still
// reports every problem — including a name shared with another persona.
// Runs in a child process: the registry crashed here (a nil pointer in
// nameProblems on the owner goroutine).
func TestRuleBrokenDuplicateOutlivesWinner(t *testing.T) {
	t.Parallel()
	gittest.NeedGit(t)
	if child, out, err := inChildProcess(t); !child {
		if strings.Contains(out, "panic:") && strings.Contains(out, "nameProblems") {
			t.Fatalf("removing the winner of a duplicated id while the other file is broken leaves Persona.Path "+
				"on the removed file, and indexState.nameProblems (rules.go) dereferences s.Files[p.Path] == nil: "+
				"the owner goroutine panics and takes the process down.\n%s", panicOf(out))
		}
		if err != nil {
			t.Fatalf("child test failed: %v\n%s", err, out)
		}
		t.Log(lastLinesOf(out, 3))
		return
	}

	r := newTestRepo(t)
	r.Write("personas/0.yaml", personaYAML(idB, "Same Name", "patient", "b"))
	r.Write("personas/a.yaml", personaYAML(idA, "Same Name", "patient", "a"))
	r.Write("personas/b.yaml", personaYAML(idA, "Copy", "patient", "copy"))
	c1 := r.Commit("create, with a duplicate id and a duplicate name")
	s := r.at(t)
	if got := len(s.Problems); got != 2 {
		t.Errorf("problems = %+v, want the duplicate id and the duplicate name", s.Problems)
	}
	r.Write("personas/b.yaml", "id: "+idA+"\nname: [broken\n")
	c2 := r.Commit("break the copy")
	r.Git("rm", "--quiet", "personas/a.yaml")
	r.Commit("remove the winner")

	s = r.at(t)
	p := mustPersona(t, s, idA)
	if p.IsDeleted {
		t.Error("persona deleted while a (broken) file is still linked to it")
	}
	checkVersions(t, p, c1)
	checkUpdated(t, p, c1)
	if p.Path != "personas/b.yaml" {
		t.Errorf("Path = %q, want the file still linked to it, personas/b.yaml", p.Path)
	}
	// (persona A keeps its last valid name, which persona B also has: that
	// duplicate name is reported too)
	found := false
	for _, pr := range problemsAt(s, "personas/b.yaml") {
		found = found || (pr.Commit == c2 && strings.Contains(pr.Message, "invalid YAML"))
	}
	if !found {
		t.Errorf("problems = %+v, want invalid YAML in personas/b.yaml at %s", s.Problems, short(c2))
	}

	// Removing the broken file deletes the persona.
	r.Git("rm", "--quiet", "personas/b.yaml")
	c4 := r.Commit("remove the copy")
	s = r.at(t)
	checkNoProblems(t, s)
	p = mustPersona(t, s, idA)
	if !p.IsDeleted {
		t.Error("not deleted after its last file was removed")
	}
	checkUpdated(t, p, c4)
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// panicOf returns the panic message of a crashed child and the frame that panicked.
func panicOf(out string) string {
	i := strings.Index(out, "panic:")
	if i < 0 {
		return ""
	}
	lines := strings.Split(out[i:], "\n")
	var keep []string
	for _, l := range lines {
		if strings.HasPrefix(l, "panic:") || strings.Contains(l, "registry.(") {
			keep = append(keep, l)
		}
		if len(keep) == 4 {
			break
		}
	}
	return strings.Join(keep, "\n")
}

// Rule "name unique among live personas": the persona at the larger path is
// a problem; a deleted persona's name is free again.
func TestRuleDuplicateNameIsAProblem(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Same Name", "patient", "a"))
	r.Write("personas/b.yaml", personaYAML(idB, "Same Name", "patient", "b"))
	c1 := r.Commit("two personas, one name")
	s := r.at(t)
	if len(s.Problems) != 1 || s.Problems[0].Path != "personas/b.yaml" || s.Problems[0].Commit != c1 ||
		!strings.Contains(s.Problems[0].Message, "Same Name") || !strings.Contains(s.Problems[0].Message, "personas/a.yaml") {
		t.Errorf("problems = %+v, want one for personas/b.yaml naming the name and personas/a.yaml", s.Problems)
	}
	for _, id := range []string{idA, idB} {
		if p := mustPersona(t, s, id); p.IsDeleted || len(p.Versions) != 1 {
			t.Errorf("persona %s: a duplicate name hid it", id)
		}
	}
	r.Git("rm", "--quiet", "personas/a.yaml")
	r.Commit("delete a")
	checkNoProblems(t, r.at(t))
}

// Files that are not persona files: non-YAML files are ignored, a symbolic
// link is a problem, files outside the persona directory are ignored, and
// the directories can be configured.
func TestRuleWhichFilesArePersonas(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "a"))
	r.Write("personas/README.md", "id: not a persona\n")
	r.Write("personas/notes.txt", personaYAML(idB, "Text", "patient", "not yaml by name"))
	r.Write("personas.yaml", personaYAML(idB, "Outside", "patient", "outside"))
	r.Write("other/c.yaml", personaYAML(idC, "Gamma", "patient", "elsewhere"))
	r.Write("checks/t.yaml", "persona_id: "+idC+"\n")
	if err := os.Symlink("a.yaml", filepath.Join(r.Dir, "personas", "link.yaml")); err != nil {
		t.Skip("no symbolic links: ", err)
	}
	c1 := r.Commit("files")

	s := r.at(t)
	if ids := personaIDs(s); !slices.Equal(ids, []string{idA}) {
		t.Errorf("personas = %v, want only %s", ids, idA)
	}
	if len(s.Problems) != 1 || s.Problems[0].Path != "personas/link.yaml" || s.Problems[0].Commit != c1 ||
		!strings.Contains(s.Problems[0].Message, "symbolic link") {
		t.Errorf("problems = %+v, want one for the symbolic link personas/link.yaml", s.Problems)
	}

	// Other directories.
	reg := openRegistryOpts(t, registry.Options{Repo: r.Dir, Dir: "other/", UnitTests: "checks", NoCache: true, PollInterval: -1})
	s = refresh(t, reg)
	if ids := personaIDs(s); !slices.Equal(ids, []string{idC}) {
		t.Errorf("with Dir other/: personas = %v, want only %s", ids, idC)
	}
	if got := s.UnitTests(idC); !slices.Equal(got, []string{"checks/t.yaml"}) {
		t.Errorf("with UnitTests checks: UnitTests(c) = %v", got)
	}
	checkNoProblems(t, s)
	if p := mustPersona(t, s, idC); p.Path != "other/c.yaml" {
		t.Errorf("Path = %q, want the path from the repository root", p.Path)
	}
}

// Open accepts a worktree, a bare repository, a .git file pointing to the
// git directory (separate git dir) and a linked worktree (git worktree
// add); anything else is EINVALID.
func TestOpenRepositoryForms(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "a"))
	c1 := r.Commit("create")
	env := fixedEnv()

	cases := []struct {
		name string
		dir  func(t *testing.T) string
		bug  string
	}{
		{name: "worktree", dir: func(*testing.T) string { return r.Dir }},
		{name: "worktree, path with a trailing separator", dir: func(*testing.T) string { return r.Dir + string(filepath.Separator) }},
		{name: "bare clone", dir: func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "bare.git")
			gittest.Run(t, r.Dir, env, "clone", "--quiet", "--bare", r.Dir, d)
			return d
		}},
		{name: "separate git dir, relative gitdir file", dir: func(t *testing.T) string {
			base := t.TempDir()
			wt := filepath.Join(base, "wt")
			gittest.Run(t, base, env, "clone", "--quiet", "--separate-git-dir", filepath.Join(base, "sep.git"), r.Dir, wt)
			if err := os.WriteFile(filepath.Join(wt, ".git"), []byte("gitdir: ../sep.git\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return wt
		}},
		{name: "linked worktree", dir: func(t *testing.T) string {
			wt := filepath.Join(t.TempDir(), "linked")
			r.Git("worktree", "add", "--quiet", "-b", "other-"+filepath.Base(filepath.Dir(wt)), wt)
			return wt
		}, bug: "a linked worktree's .git file points to .git/worktrees/<name>, which has no refs/heads or objects of its own: " +
			"gitdb/repo.go findGitDir should follow <gitdir>/commondir to the common git directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := openRegistry(t, tc.dir(t))
			s := refresh(t, reg)
			if tc.bug != "" && s.Head == "" {
				t.Fatalf("the registry of a %s is silently empty: %s", tc.name, tc.bug)
			}
			if s.Head != c1 {
				t.Fatalf("Head = %q, want %s", s.Head, short(c1))
			}
			checkVersions(t, mustPersona(t, s, idA), c1)
		})
	}

	t.Run("not a repository", func(t *testing.T) {
		_, err := registry.Open(registry.Options{Repo: t.TempDir()})
		if registry.ErrorCode(err) != registry.EINVALID {
			t.Errorf("Open(empty directory) = %v, want %s", err, registry.EINVALID)
		}
	})
}
