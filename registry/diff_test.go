package registry_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
)

// Tests of CompareRevisions (the TestDiff* tests): real repositories made with the git command line
// (helpers in gitrepo_helpers_test.go), one case per status and per field.

const (
	diffAda   = "0000000000000000000000a1"
	diffBob   = "0000000000000000000000b2"
	diffCleo  = "0000000000000000000000c3"
	adaPath   = "personas/ada.yaml"
	bobPath   = "personas/bob.yaml"
	cleoPath  = "personas/cleo.yaml"
	unitAPath = "unit_tests/ada-refund.yaml"
	unitBPath = "unit_tests/ada-upgrade.yaml"
)

// adaYAML is a persona file with every field set, so that each field can be
// changed alone by replacing one line.
const adaYAML = `# yaml-language-server: $schema=../schema/persona.schema.json
id: 0000000000000000000000a1
name: Ada Example
role: customer
tags:
  category: billing
background: A careful customer who reads every line of the invoice.
preferred_language: eng
timezone: Europe/London
user_models: [careful]
nonsensitive_user_variables:
  plan: basic
sensitive_user_variables:
  account_pin: "1234"
`

// allFields is every field a diff can name, in the order it names them.
var allFields = []string{"name", "role", "tags", "background", "preferred_language", "timezone",
	"user_models", "nonsensitive_user_variables", "sensitive_user_variables"}

// edit returns s with old replaced by new once; it panics when old is absent
// (a typo in a test case).
func edit(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("edit: " + old + " not in the text")
	}
	return strings.Replace(s, old, new, 1)
}

func unitTestYAML(personaID, name string) string {
	return "persona_id: " + personaID + "\nname: " + name + "\nexpected_outcome: The agent helps.\n"
}

// compare runs CompareRevisions on the repository and fails the test on an error.
func compare(t *testing.T, o registry.DiffOptions) *registry.Diff {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := registry.CompareRevisions(ctx, o)
	if err != nil {
		t.Fatalf("CompareRevisions(%+v): %v", o, err)
	}
	if d.Personas == nil || d.Problems == nil {
		t.Errorf("Personas or Problems is nil (JSON null); want empty lists")
	}
	return d
}

// findDiff returns the entry of a persona, or nil.
func findDiff(d *registry.Diff, id string) *registry.PersonaDiff {
	for i := range d.Personas {
		if d.Personas[i].ID == id {
			return &d.Personas[i]
		}
	}
	return nil
}

// diffSummary renders the entries of a diff for failure messages.
func diffSummary(d *registry.Diff) string {
	var parts []string
	for _, p := range d.Personas {
		parts = append(parts, p.ID+" "+p.Status+" "+strings.Join(p.Fields, ","))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// wantDiff is the expected entry of one persona. VersionBefore 0 means null;
// an empty path means null.
type wantDiff struct {
	Name          string
	Status        string
	Fields        []string
	VersionBefore int
	NewVersion    bool
	PathBefore    string
	PathAfter     string
	UnitTests     []string
}

func strPtrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// checkPersonaDiff compares one entry with the expectation.
func checkPersonaDiff(t *testing.T, got *registry.PersonaDiff, want wantDiff) {
	t.Helper()
	if want.Name != "" && got.Name != want.Name {
		t.Errorf("name = %q, want %q", got.Name, want.Name)
	}
	if got.Status != want.Status {
		t.Errorf("status = %q, want %q", got.Status, want.Status)
	}
	if want.Fields == nil {
		want.Fields = []string{}
	}
	if !slices.Equal(got.Fields, want.Fields) {
		t.Errorf("fields = %q, want %q", got.Fields, want.Fields)
	}
	switch {
	case want.VersionBefore == 0 && got.VersionBefore != nil:
		t.Errorf("version_before = %d, want null", *got.VersionBefore)
	case want.VersionBefore != 0 && got.VersionBefore == nil:
		t.Errorf("version_before = null, want %d", want.VersionBefore)
	case want.VersionBefore != 0 && *got.VersionBefore != want.VersionBefore:
		t.Errorf("version_before = %d, want %d", *got.VersionBefore, want.VersionBefore)
	}
	if got.NewVersion != want.NewVersion {
		t.Errorf("new_version = %v, want %v", got.NewVersion, want.NewVersion)
	}
	if g := strPtrString(got.PathBefore); g != want.PathBefore || (got.PathBefore != nil && *got.PathBefore == "") {
		t.Errorf("path_before = %q, want %q (\"\" = null)", g, want.PathBefore)
	}
	if g := strPtrString(got.PathAfter); g != want.PathAfter || (got.PathAfter != nil && *got.PathAfter == "") {
		t.Errorf("path_after = %q, want %q (\"\" = null)", g, want.PathAfter)
	}
	if want.UnitTests == nil {
		want.UnitTests = []string{}
	}
	if got.UnitTests == nil || !slices.Equal(got.UnitTests, want.UnitTests) {
		t.Errorf("unit_tests = %#v, want %q", got.UnitTests, want.UnitTests)
	}
}

// TestDiffStatusesAndFields makes BASE with history(), HEAD with
// change() committed on top, and checks the entry of the one persona that
// differs: one case per status, per field, version_before null or N, and
// new_version true or false.
func TestDiffStatusesAndFields(t *testing.T) {
	commitAda := func(r *testRepo) {
		r.Write(adaPath, adaYAML)
		r.Commit("add ada")
	}
	// field replaces one line of ada's file at HEAD.
	field := func(old, new string) func(r *testRepo) {
		return func(r *testRepo) { r.Write(adaPath, edit(adaYAML, old, new)) }
	}
	cases := []struct {
		name    string
		id      string            // the persona the case is about; "" is ada
		history func(r *testRepo) // commits up to BASE
		change  func(r *testRepo) // worktree edits, committed as HEAD
		want    *wantDiff         // nil: the persona is not listed
		bug     string            // non-empty: a known bug, the case is skipped
	}{
		{
			name: "created",
			history: func(r *testRepo) {
				r.Write(bobPath, personaYAML(diffBob, "Bob Other", "customer", "Someone else."))
				r.Commit("bob")
			},
			change: func(r *testRepo) { r.Write(adaPath, adaYAML) },
			want: &wantDiff{Name: "Ada Example", Status: registry.StatusCreated, Fields: allFields,
				NewVersion: true, PathAfter: adaPath},
		},
		{
			name:    "created in an empty registry",
			history: func(r *testRepo) { r.Write("README", "no personas yet\n"); r.Commit("init") },
			change:  func(r *testRepo) { r.Write(adaPath, adaYAML) },
			want: &wantDiff{Name: "Ada Example", Status: registry.StatusCreated, Fields: allFields,
				NewVersion: true, PathAfter: adaPath},
		},
		{
			name:    "created with only the required fields",
			id:      diffBob,
			history: func(r *testRepo) { r.Write("README", "x\n"); r.Commit("init") },
			change: func(r *testRepo) {
				r.Write(bobPath, personaYAML(diffBob, "Bob Other", "customer", "Someone else."))
			},
			want: &wantDiff{Name: "Bob Other", Status: registry.StatusCreated, Fields: []string{"name", "role", "background"},
				NewVersion: true, PathAfter: bobPath},
		},
		{
			name:    "changed",
			history: commitAda,
			change: field("background: A careful customer who reads every line of the invoice.",
				"background: A careful customer who reads every line of the contract."),
			want: &wantDiff{Name: "Ada Example", Status: registry.StatusChanged, Fields: []string{"background"},
				VersionBefore: 1, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "deleted",
			history: commitAda,
			change:  func(r *testRepo) { r.Remove(adaPath) },
			want: &wantDiff{Name: "Ada Example", Status: registry.StatusDeleted, Fields: allFields,
				VersionBefore: 1, NewVersion: false, PathBefore: adaPath},
		},
		{
			name: "restored with its last content",
			history: func(r *testRepo) {
				commitAda(r)
				r.Remove(adaPath)
				r.Commit("delete ada")
			},
			change: func(r *testRepo) { r.Write(adaPath, adaYAML) },
			want: &wantDiff{Name: "Ada Example", Status: registry.StatusRestored, Fields: []string{},
				VersionBefore: 1, NewVersion: false, PathAfter: adaPath},
		},
		{
			name: "restored with new content",
			history: func(r *testRepo) {
				commitAda(r)
				r.Remove(adaPath)
				r.Commit("delete ada")
			},
			change: field("timezone: Europe/London", "timezone: Europe/Paris"),
			want: &wantDiff{Name: "Ada Example", Status: registry.StatusRestored, Fields: []string{"timezone"},
				VersionBefore: 1, NewVersion: true, PathAfter: adaPath},
		},
		{
			name:    "renamed (git mv, nothing else)",
			history: commitAda,
			change:  func(r *testRepo) { r.Move(adaPath, "personas/billing/ada.yaml") },
			want: &wantDiff{Name: "Ada Example", Status: registry.StatusRenamed, Fields: []string{},
				VersionBefore: 1, NewVersion: false, PathBefore: adaPath, PathAfter: "personas/billing/ada.yaml"},
		},
		{
			name:    "moved and changed is changed",
			history: commitAda,
			change: func(r *testRepo) {
				r.Remove(adaPath)
				r.Write("personas/ada-renamed.yml", edit(adaYAML, "role: customer", "role: patient"))
			},
			want: &wantDiff{Name: "Ada Example", Status: registry.StatusChanged, Fields: []string{"role"},
				VersionBefore: 1, NewVersion: false, PathBefore: adaPath, PathAfter: "personas/ada-renamed.yml"},
		},
		{
			name:    "field name",
			history: commitAda,
			change:  field("name: Ada Example", "name: Ada Renamed"),
			want: &wantDiff{Name: "Ada Renamed", Status: registry.StatusChanged, Fields: []string{"name"},
				VersionBefore: 1, NewVersion: false, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "field role",
			history: commitAda,
			change:  field("role: customer", "role: patient"),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"role"},
				VersionBefore: 1, NewVersion: false, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "field tags (retagged: no new version)",
			history: commitAda,
			change:  field("  category: billing\n", "  category: billing\n  difficulty: high\n"),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"tags"},
				VersionBefore: 1, NewVersion: false, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "field tags: a value set to null",
			history: commitAda,
			change:  field("  category: billing\n", "  category:\n"),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"tags"},
				VersionBefore: 1, NewVersion: false, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "field background",
			history: commitAda,
			change:  field("reads every line", "skims every line"),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"background"},
				VersionBefore: 1, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "field preferred_language",
			history: commitAda,
			change:  field("preferred_language: eng", "preferred_language: fra"),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"preferred_language"},
				VersionBefore: 1, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "field preferred_language to null",
			history: commitAda,
			change:  field("preferred_language: eng", "preferred_language: null"),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"preferred_language"},
				VersionBefore: 1, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "field timezone",
			history: commitAda,
			change:  field("timezone: Europe/London", "timezone: America/New_York"),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"timezone"},
				VersionBefore: 1, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "field user_models",
			history: commitAda,
			change:  field("user_models: [careful]", "user_models: [careful, impatient]"),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"user_models"},
				VersionBefore: 1, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "field nonsensitive_user_variables",
			history: commitAda,
			change:  field("  plan: basic\n", "  plan: premium\n"),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"nonsensitive_user_variables"},
				VersionBefore: 1, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "field sensitive_user_variables",
			history: commitAda,
			change:  field(`  account_pin: "1234"`, `  account_pin: "9999"`),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"sensitive_user_variables"},
				VersionBefore: 1, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "several fields at once, in the documented order",
			history: commitAda,
			change: func(r *testRepo) {
				s := edit(adaYAML, "timezone: Europe/London", "timezone: Europe/Paris")
				s = edit(s, "name: Ada Example", "name: Ada Two")
				s = edit(s, "  category: billing\n", "  category: fraud\n")
				r.Write(adaPath, s)
			},
			want: &wantDiff{Name: "Ada Two", Status: registry.StatusChanged, Fields: []string{"name", "tags", "timezone"},
				VersionBefore: 1, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name: "version_before counts only versions (3 versions, one tags-only commit)",
			history: func(r *testRepo) {
				commitAda(r) // v1
				r.Write(adaPath, edit(adaYAML, "reads every line", "reads most lines"))
				r.Commit("v2")
				r.Write(adaPath, edit(edit(adaYAML, "reads every line", "reads most lines"), "  category: billing\n", "  category: fraud\n"))
				r.Commit("retag: not a version")
				r.Write(adaPath, edit(edit(edit(adaYAML, "reads every line", "reads most lines"), "  category: billing\n", "  category: fraud\n"),
					"timezone: Europe/London", "timezone: Europe/Paris"))
				r.Commit("v3")
			},
			change: func(r *testRepo) {
				r.Write(adaPath, edit(edit(edit(adaYAML, "reads every line", "reads no line"), "  category: billing\n", "  category: fraud\n"),
					"timezone: Europe/London", "timezone: Europe/Paris"))
			},
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"background"},
				VersionBefore: 3, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
		{
			name:    "reformatting, comments and key order change nothing",
			history: commitAda,
			change: func(r *testRepo) {
				r.Write(adaPath, `# reordered
sensitive_user_variables: {account_pin: "1234"}
nonsensitive_user_variables: {plan: basic}   # flow style
user_models:
  - careful
timezone: "Europe/London"
preferred_language: 'eng'
background: >-
  A careful customer who reads every line of the invoice.
tags: {category: billing}
role: customer
name: Ada Example
id: 0000000000000000000000a1
`)
			},
			want: nil,
		},
		{
			name: "unit tests that reference the persona are listed, sorted",
			history: func(r *testRepo) {
				r.Write(adaPath, adaYAML)
				r.Write(unitBPath, unitTestYAML(diffAda, "Upgrade"))
				r.Write(bobPath, personaYAML(diffBob, "Bob Other", "customer", "Someone else."))
				r.Write("unit_tests/bob.yaml", unitTestYAML(diffBob, "Bob test"))
				r.Commit("ada, bob and their tests")
			},
			change: func(r *testRepo) {
				r.Write(adaPath, edit(adaYAML, "role: customer", "role: patient"))
				r.Write(unitAPath, unitTestYAML(diffAda, "Refund"))
			},
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"role"},
				VersionBefore: 1, NewVersion: false, PathBefore: adaPath, PathAfter: adaPath,
				UnitTests: []string{unitAPath, unitBPath}},
		},
		{
			name: "a file broken at HEAD keeps its persona (rule 5): not deleted",
			history: func(r *testRepo) {
				commitAda(r)
			},
			change: field("role: customer", "role: [unclosed"),
			want:   nil,
		},
		{
			name: "a file broken at BASE and fixed at HEAD is changed, not created",
			history: func(r *testRepo) {
				commitAda(r)
				r.Write(adaPath, edit(adaYAML, "role: customer", "role: [unclosed"))
				r.Commit("break ada")
			},
			change: field("reads every line", "reads some lines"),
			want: &wantDiff{Status: registry.StatusChanged, Fields: []string{"background"},
				VersionBefore: 1, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bug != "" {
				t.Fatal("" + tc.bug + "; see the report: build both sides from BASE's indexed history")
			}
			r := newTestRepo(t)
			tc.history(r)
			base := r.Head()
			tc.change(r)
			head := r.Commit("change")
			d := compare(t, registry.DiffOptions{Repo: r.Dir, Base: base, Head: head})
			if d.Base != base || d.Head != head {
				t.Errorf("base, head = %s, %s; want %s, %s", d.Base, d.Head, base, head)
			}
			id := tc.id
			if id == "" {
				id = diffAda
			}
			got := findDiff(d, id)
			if tc.want == nil {
				if len(d.Personas) != 0 {
					t.Fatalf("personas = %s, want none", diffSummary(d))
				}
				return
			}
			if got == nil || len(d.Personas) != 1 {
				t.Fatalf("personas = %s, want one entry for %s", diffSummary(d), id)
			}
			checkPersonaDiff(t, got, *tc.want)
			if got.Status == registry.StatusDeleted {
				if got.Before == nil || got.After != nil {
					t.Errorf("deleted: Before = %v, After = %v; want a before side only", got.Before, got.After)
				}
			}
		})
	}
}

// TestDiffNoDifference: identical states give an empty diff.
func TestDiffNoDifference(t *testing.T) {
	r := newTestRepo(t)
	r.Write(adaPath, adaYAML)
	c := r.Commit("ada")
	for _, o := range []registry.DiffOptions{
		{Repo: r.Dir, Base: c, Head: c},
		{Repo: r.Dir},                 // HEAD is main: the merge-base is HEAD itself
		{Repo: r.Dir, Worktree: true}, // a clean worktree
	} {
		d := compare(t, o)
		if len(d.Personas) != 0 || len(d.Problems) != 0 {
			t.Errorf("%+v: personas %s, problems %v; want none", o, diffSummary(d), d.Problems)
		}
	}
}

// TestDiffOrderedByName checks the entries come sorted by name.
func TestDiffOrderedByName(t *testing.T) {
	r := newTestRepo(t)
	r.Write("README", "x\n")
	base := r.Commit("init")
	r.Write(cleoPath, personaYAML(diffCleo, "Cleo Third", "customer", "C."))
	r.Write(adaPath, adaYAML)
	r.Write(bobPath, personaYAML(diffBob, "Bob Other", "customer", "B."))
	r.Commit("three")
	d := compare(t, registry.DiffOptions{Repo: r.Dir, Base: base})
	var names []string
	for _, p := range d.Personas {
		names = append(names, p.Name)
	}
	if want := []string{"Ada Example", "Bob Other", "Cleo Third"}; !slices.Equal(names, want) {
		t.Errorf("names = %q, want %q", names, want)
	}
}

// TestDiffProblems checks that the problems listed are those at
// HEAD that were not already at BASE.
func TestDiffProblems(t *testing.T) {
	r := newTestRepo(t)
	r.Write(adaPath, adaYAML)
	r.Write("personas/old-broken.yaml", "id: 0000000000000000000000d4\nname: Old\nrole: [unclosed\n")
	r.Write("unit_tests/old-dangling.yaml", unitTestYAML("0000000000000000000000e5", "Dangling"))
	base := r.Commit("ada and two problems")
	r.Write("personas/new-broken.yaml", "id: 0000000000000000000000f6\nname: New\nrole: customer\nbackground: x\nrol: typo\n")
	r.Write("unit_tests/new-dangling.yaml", unitTestYAML("0000000000000000000000f7", "New dangling"))
	r.Write("personas/ada-copy.yaml", edit(adaYAML, "id: 0000000000000000000000a1", "id: 0000000000000000000000a9"))
	head := r.Commit("three more problems")

	d := compare(t, registry.DiffOptions{Repo: r.Dir, Base: base, Head: head})
	var got []string
	for _, p := range d.Problems {
		got = append(got, p.Path)
		if p.Line < 1 || p.Column < 1 || p.Message == "" {
			t.Errorf("problem %+v: want a line, column and message", p)
		}
	}
	want := []string{"personas/ada.yaml", "personas/new-broken.yaml", "unit_tests/new-dangling.yaml"}
	slices.Sort(got)
	// The duplicate name is reported on one of the two files (the larger path).
	if !slices.Equal(got, want) {
		t.Errorf("problem paths = %q, want %q (problems: %+v)", got, want, d.Problems)
	}
	for _, p := range d.Problems {
		switch p.Path {
		case "personas/new-broken.yaml":
			if !strings.Contains(p.Message, `"rol"`) || p.Line != 5 {
				t.Errorf("new-broken problem = %+v; want line 5 naming the unknown key \"rol\"", p)
			}
		case "unit_tests/new-dangling.yaml":
			if !strings.Contains(p.Message, "0000000000000000000000f7") {
				t.Errorf("dangling problem = %+v; want the missing id", p)
			}
		case "personas/ada.yaml":
			if !strings.Contains(p.Message, "Ada Example") {
				t.Errorf("duplicate-name problem = %+v; want the name", p)
			}
		}
	}
	if e := findDiff(d, "0000000000000000000000a9"); e == nil || e.Status != registry.StatusCreated {
		t.Errorf("the copy of ada should be listed as created: %s", diffSummary(d))
	}
}

// TestDiffDefaultBase: with no BASE, the base is the merge-base of
// HEAD with the branch; a change made on main after the branch point is not
// part of the diff, and HEAD defaults to the checked-out HEAD.
func TestDiffDefaultBase(t *testing.T) {
	r := newTestRepo(t)
	r.Write(adaPath, adaYAML)
	r.Write(bobPath, personaYAML(diffBob, "Bob Other", "customer", "Someone else."))
	fork := r.Commit("ada and bob")

	r.Git("checkout", "--quiet", "-b", "feature")
	r.Write(adaPath, edit(adaYAML, "reads every line", "reads no line"))
	feature := r.Commit("feature: edit ada")

	// main moves on after the branch point.
	r.Git("checkout", "--quiet", "main")
	r.Write(bobPath, personaYAML(diffBob, "Bob Other", "patient", "Someone else entirely."))
	r.Write(cleoPath, personaYAML(diffCleo, "Cleo Third", "customer", "C."))
	r.Write("personas/main-broken.yaml", "id: [\n")
	mainHead := r.Commit("main: edit bob, add cleo, break a file")
	r.Git("checkout", "--quiet", "feature")

	cases := []struct {
		name     string
		opts     registry.DiffOptions
		wantBase string
		wantHead string
		wantIDs  []string
	}{
		{"defaults: merge-base of HEAD with main .. HEAD", registry.DiffOptions{}, fork, feature, []string{diffAda}},
		{"HEAD given, BASE defaulted", registry.DiffOptions{Head: "feature"}, fork, feature, []string{diffAda}},
		{"branch given explicitly", registry.DiffOptions{Branch: "main"}, fork, feature, []string{diffAda}},
		{"HEAD is main: nothing differs", registry.DiffOptions{Head: "main"}, mainHead, mainHead, nil},
		{"explicit BASE is not replaced by the merge-base", registry.DiffOptions{Base: "main"}, mainHead, feature,
			[]string{diffAda, diffBob, diffCleo}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Repo = r.Dir
			d := compare(t, tc.opts)
			if d.Base != tc.wantBase {
				t.Errorf("base = %s, want %s", short(d.Base), short(tc.wantBase))
			}
			if d.Head != tc.wantHead {
				t.Errorf("head = %s, want %s", short(d.Head), short(tc.wantHead))
			}
			var ids []string
			for _, p := range d.Personas {
				ids = append(ids, p.ID)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tc.wantIDs) {
				t.Errorf("personas = %s, want ids %q", diffSummary(d), tc.wantIDs)
			}
			if tc.opts.Base == "" && len(d.Problems) != 0 {
				t.Errorf("problems = %+v; the file broken on main after the branch point must not appear", d.Problems)
			}
		})
	}

	t.Run("another served branch", func(t *testing.T) {
		// trunk is the fork point: the merge-base of feature with trunk.
		r.Git("branch", "trunk", fork)
		d := compare(t, registry.DiffOptions{Repo: r.Dir, Branch: "trunk"})
		if d.Base != fork || len(d.Personas) != 1 || d.Personas[0].ID != diffAda {
			t.Errorf("base %s, personas %s; want base %s and ada only", short(d.Base), diffSummary(d), short(fork))
		}
	})
}

// TestDiffWorktree: --worktree compares HEAD with the files on
// disk, uncommitted edits and new files included.
func TestDiffWorktree(t *testing.T) {
	r := newTestRepo(t)
	r.Write(adaPath, adaYAML)
	r.Write(bobPath, personaYAML(diffBob, "Bob Other", "customer", "Someone else."))
	first := r.Commit("ada and bob")
	r.Write(adaPath, edit(adaYAML, "plan: basic", "plan: gold"))
	head := r.Commit("ada v2")

	// Uncommitted: edit ada's background, add cleo (untracked), delete bob.
	r.Write(adaPath, edit(edit(adaYAML, "plan: basic", "plan: gold"), "reads every line", "reads no line"))
	r.Write(cleoPath, personaYAML(diffCleo, "Cleo Third", "customer", "C."))
	r.Remove(bobPath)
	r.Write("unit_tests/ada.yaml", unitTestYAML(diffAda, "Ada test"))

	t.Run("committed diff ignores the worktree", func(t *testing.T) {
		d := compare(t, registry.DiffOptions{Repo: r.Dir, Base: "HEAD"})
		if len(d.Personas) != 0 {
			t.Errorf("personas = %s, want none", diffSummary(d))
		}
	})
	t.Run("HEAD..worktree", func(t *testing.T) {
		d := compare(t, registry.DiffOptions{Repo: r.Dir, Worktree: true})
		if d.Base != head || d.Head != "worktree" {
			t.Errorf("base, head = %s, %s; want %s, worktree", short(d.Base), d.Head, short(head))
		}
		if len(d.Personas) != 3 {
			t.Fatalf("personas = %s, want ada, bob and cleo", diffSummary(d))
		}
		checkPersonaDiff(t, findDiff(d, diffAda), wantDiff{Status: registry.StatusChanged, Fields: []string{"background"},
			VersionBefore: 2, NewVersion: true, PathBefore: adaPath, PathAfter: adaPath, UnitTests: []string{"unit_tests/ada.yaml"}})
		checkPersonaDiff(t, findDiff(d, diffBob), wantDiff{Status: registry.StatusDeleted, Fields: []string{"name", "role", "background"},
			VersionBefore: 1, PathBefore: bobPath})
		checkPersonaDiff(t, findDiff(d, diffCleo), wantDiff{Status: registry.StatusCreated, Fields: []string{"name", "role", "background"},
			NewVersion: true, PathAfter: cleoPath})
	})
	t.Run("BASE..worktree", func(t *testing.T) {
		d := compare(t, registry.DiffOptions{Repo: r.Dir, Base: first, Worktree: true})
		if d.Base != first || d.Head != "worktree" {
			t.Errorf("base, head = %s, %s; want %s, worktree", short(d.Base), d.Head, short(first))
		}
		checkPersonaDiff(t, findDiff(d, diffAda), wantDiff{Status: registry.StatusChanged,
			Fields: []string{"background", "nonsensitive_user_variables"}, VersionBefore: 1, NewVersion: true,
			PathBefore: adaPath, PathAfter: adaPath, UnitTests: []string{"unit_tests/ada.yaml"}})
	})
	t.Run("a broken file in the worktree is a problem", func(t *testing.T) {
		r.Write("personas/zz-broken.yaml", "id: 0000000000000000000000d4\nname: [\n")
		t.Cleanup(func() { r.Remove("personas/zz-broken.yaml") })
		d := compare(t, registry.DiffOptions{Repo: r.Dir, Worktree: true})
		if len(d.Problems) != 1 || d.Problems[0].Path != "personas/zz-broken.yaml" {
			t.Errorf("problems = %+v, want one for personas/zz-broken.yaml", d.Problems)
		}
	})
}

// TestDiffCustomDirs checks the persona and unit-test directories
// of the options are the ones read.
func TestDiffCustomDirs(t *testing.T) {
	r := newTestRepo(t)
	r.Write("data/people/ada.yaml", adaYAML)
	r.Write(bobPath, personaYAML(diffBob, "Bob Other", "customer", "Not in the persona dir."))
	base := r.Commit("ada")
	r.Write("data/people/ada.yaml", edit(adaYAML, "role: customer", "role: patient"))
	r.Write("data/tests/t.yaml", unitTestYAML(diffAda, "T"))
	r.Remove(bobPath)
	r.Commit("edit")
	d := compare(t, registry.DiffOptions{Repo: r.Dir, Base: base, Dir: "data/people", UnitTests: "data/tests"})
	if len(d.Personas) != 1 {
		t.Fatalf("personas = %s, want ada only (bob is outside data/people)", diffSummary(d))
	}
	checkPersonaDiff(t, &d.Personas[0], wantDiff{Status: registry.StatusChanged, Fields: []string{"role"},
		VersionBefore: 1, PathBefore: "data/people/ada.yaml", PathAfter: "data/people/ada.yaml",
		UnitTests: []string{"data/tests/t.yaml"}})
}

// TestDiffBadRevision: a revision that names no commit is an
// EINVALID error that names it.
func TestDiffBadRevision(t *testing.T) {
	r := newTestRepo(t)
	r.Write(adaPath, adaYAML)
	r.Commit("ada")
	for _, o := range []registry.DiffOptions{
		{Base: "no-such-branch"},
		{Head: "no-such-branch"},
		{Base: "HEAD", Head: "no-such-branch"},
		{Branch: "no-such-branch"},
	} {
		o.Repo = r.Dir
		_, err := registry.CompareRevisions(context.Background(), o)
		if err == nil {
			t.Errorf("%+v: no error", o)
			continue
		}
		if code := registry.ErrorCode(err); code != registry.EINVALID {
			t.Errorf("%+v: code %s, want %s (%v)", o, code, registry.EINVALID, err)
		}
		if !strings.Contains(err.Error(), "no-such-branch") {
			t.Errorf("%+v: error %q does not name the revision", o, err)
		}
	}
}
