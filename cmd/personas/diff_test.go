package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry/gittest"
)

// Tests of `personas diff`: real repositories made with the git command line
// in a temporary directory, the command run in-process through run().
// Golden files live in testdata/diff/<case>.txt (text, --color never) and
// <case>.md (markdown); regenerate them with
//
//	go test ./cmd/personas -run TestDiffGolden -update
//
// and read the result before committing it.

var updateGolden = flag.Bool("update", false, "rewrite the golden files of testdata/diff")

// diffEpoch is the date of a diffRepo's first commit; each later commit is
// one minute later, so that commit ids are stable.
var diffEpoch = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

// diffRepo is a git worktree in a temporary directory (gittest.Repo).
type diffRepo struct {
	*gittest.Repo
}

// newDiffRepo runs `git init -b main` in a new temporary directory; the test
// is skipped when there is no git.
func newDiffRepo(t *testing.T) *diffRepo {
	t.Helper()
	r := &diffRepo{gittest.NewRepo(t)}
	r.Identity.When = diffEpoch
	return r
}

// personas runs the command in the repository (--repo) and returns its exit
// code and output.
func (r *diffRepo) personas(args ...string) (code int, stdout, stderr string) {
	r.T.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"--repo", r.Dir}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// mustDiff runs personas diff ARGS and fails unless it exits 0 with nothing on stderr.
func (r *diffRepo) mustDiff(args ...string) string {
	r.T.Helper()
	code, out, errs := r.personas(append([]string{"diff"}, args...)...)
	if code != 0 || errs != "" {
		r.T.Fatalf("personas diff %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// Persona files of the scenarios. Every field is set in confusedYAML so that
// each can change.
const confusedYAML = `# yaml-language-server: $schema=../schema/persona.schema.json
id: 6650c0ffee0000000000a101
name: Confused New User
role: patient
tags:
  category: onboarding
  difficulty: low
background: >-
  A 35-year-old first-time user who is unfamiliar with the platform and asks the
  same question twice when the answer uses jargon. Prefers short numbered steps
  and gives up after a long wait on hold.
preferred_language: eng
timezone: America/New_York
user_models: [novice]
nonsensitive_user_variables:
  plan: basic
sensitive_user_variables:
  member_id: "A-1001"
`

// confusedAllChanged changes all nine fields of confusedYAML.
const confusedAllChanged = `# yaml-language-server: $schema=../schema/persona.schema.json
id: 6650c0ffee0000000000a101
name: Confused First-Time User
role: customer
tags:
  category: onboarding
  difficulty: medium
  channel: chat
background: >-
  A 35-year-old first-time user who is unfamiliar with the mobile app and asks the
  same question twice when the answer uses jargon. Prefers short numbered steps
  and hangs up after a long wait on hold.
preferred_language: spa
timezone: America/Chicago
user_models: [novice, impatient]
nonsensitive_user_variables:
  plan: premium
  region: midwest
sensitive_user_variables:
  member_id: "A-2002"
`

const travellerYAML = `id: 6650c0ffee0000000000a102
name: Stranded Traveller
role: passenger
tags:
  category: travel
background: |
  A traveller whose connecting flight left without them. Calm at first, more
  insistent with each transfer between agents.
preferred_language: eng
timezone: Europe/London
user_models: []
nonsensitive_user_variables:
  booking_ref: QX7P2L
sensitive_user_variables: {}
`

const retireeYAML = `id: 6650c0ffee0000000000a103
name: Skeptical Retiree
role: customer
tags:
  channel: phone
background: A retired teacher who distrusts chatbots and asks for a human within three messages.
preferred_language: null
timezone: null
user_models: []
nonsensitive_user_variables: {}
sensitive_user_variables: {}
`

const pipeYAML = `id: 6650c0ffee0000000000a104
name: "Pipe | <Angle> & Co"
role: customer
background: A customer whose company name breaks tables & markup.
`

// A unit test that references Confused New User.
const confusedUnitTest = `persona_id: 6650c0ffee0000000000a101
name: Onboarding walkthrough
expected_outcome: The agent explains each step without jargon.
`

// diffScenario builds a history and returns BASE; the HEAD of the diff is the
// repository's HEAD afterwards.
type diffScenario struct {
	name  string
	build func(r *diffRepo) (base string)
	bug   string // non-empty: skipped as a known bug
}

var diffScenarios = []diffScenario{
	{
		name: "none",
		build: func(r *diffRepo) string {
			r.Write("personas/confused.yaml", confusedYAML)
			base := r.Commit("add confused")
			r.Write("README.md", "unrelated change\n")
			r.Commit("readme")
			return base
		},
	},
	{
		name: "created",
		build: func(r *diffRepo) string {
			r.Write("personas/retiree.yaml", retireeYAML)
			base := r.Commit("add retiree")
			r.Write("personas/confused.yaml", confusedYAML)
			r.Write("unit_tests/onboarding.yaml", confusedUnitTest)
			r.Commit("add confused and its unit test")
			return base
		},
	},
	{
		name: "changed-all-fields",
		build: func(r *diffRepo) string {
			r.Write("personas/confused.yaml", confusedYAML)
			r.Write("unit_tests/onboarding.yaml", confusedUnitTest)
			base := r.Commit("add confused")
			r.Write("personas/confused.yaml", confusedAllChanged)
			r.Commit("change every field")
			return base
		},
	},
	{
		name: "retagged",
		build: func(r *diffRepo) string {
			r.Write("personas/traveller.yaml", travellerYAML)
			r.Commit("add traveller")
			r.Write("personas/traveller.yaml", strings.Replace(travellerYAML, "insistent with each", "insistent with every", 1))
			base := r.Commit("traveller v2")
			r.Write("personas/traveller.yaml", strings.Replace(strings.Replace(travellerYAML, "insistent with each", "insistent with every", 1),
				"  category: travel\n", "  category: travel\n  urgency: high\n", 1))
			r.Commit("retag traveller")
			return base
		},
	},
	{
		name: "deleted",
		build: func(r *diffRepo) string {
			r.Write("personas/traveller.yaml", travellerYAML)
			r.Write("personas/retiree.yaml", retireeYAML)
			base := r.Commit("add traveller and retiree")
			r.Remove("personas/traveller.yaml")
			r.Commit("delete traveller")
			return base
		},
	},
	{
		name: "renamed",
		build: func(r *diffRepo) string {
			r.Write("personas/traveller.yaml", travellerYAML)
			base := r.Commit("add traveller")
			if err := os.MkdirAll(filepath.Join(r.Dir, "personas", "travel"), 0o755); err != nil {
				r.T.Fatal(err)
			}
			r.Git("mv", "personas/traveller.yaml", "personas/travel/stranded-traveller.yaml")
			r.Commit("move traveller")
			return base
		},
	},
	{
		name: "restored",
		build: func(r *diffRepo) string {
			r.Write("personas/retiree.yaml", retireeYAML)
			r.Commit("add retiree")
			r.Remove("personas/retiree.yaml")
			base := r.Commit("delete retiree")
			r.Write("personas/retiree.yaml", strings.Replace(retireeYAML, "within three messages", "within two messages", 1))
			r.Commit("restore retiree")
			return base
		},
	},
	{
		name: "problems",
		build: func(r *diffRepo) string {
			r.Write("personas/confused.yaml", confusedYAML)
			r.Write("personas/old-broken.yaml", "id: 6650c0ffee0000000000a1ff\nname: Old Broken\nrole: [unclosed\n")
			base := r.Commit("confused, and a file already broken")
			r.Write("personas/new-broken.yaml", "id: 6650c0ffee0000000000a1fe\nname: New Broken\nrole: customer\nrol: typo\nbackground: x\n")
			r.Write("unit_tests/dangling.yaml", "persona_id: 6650c0ffee0000000000a1fd\nname: Dangling\n")
			r.Commit("two new problems")
			return base
		},
	},
	{
		name: "mixed",
		build: func(r *diffRepo) string {
			r.Write("personas/confused.yaml", confusedYAML)
			r.Write("personas/traveller.yaml", travellerYAML)
			r.Write("personas/retiree.yaml", retireeYAML)
			r.Write("unit_tests/onboarding.yaml", confusedUnitTest)
			base := r.Commit("three personas")
			r.Write("personas/confused.yaml", strings.Replace(confusedYAML, "and gives up after", "and calls back after", 1))
			r.Remove("personas/retiree.yaml")
			r.Write("personas/pipe.yaml", pipeYAML)
			if err := os.MkdirAll(filepath.Join(r.Dir, "personas", "travel"), 0o755); err != nil {
				r.T.Fatal(err)
			}
			r.Git("mv", "personas/traveller.yaml", "personas/travel/traveller.yaml")
			r.Commit("edit, delete, create, move")
			return base
		},
	},
}

// buildScenario builds the named scenario of diffScenarios in r and returns BASE.
func buildScenario(t *testing.T, r *diffRepo, name string) string {
	t.Helper()
	for _, sc := range diffScenarios {
		if sc.name == name {
			return sc.build(r)
		}
	}
	t.Fatalf("no scenario %q", name)
	return ""
}

// normalize replaces the abbreviated commit ids of the header with BASE and
// HEAD, so that golden files do not depend on commit ids.
func normalize(s, base, head string) string {
	s = strings.ReplaceAll(s, base[:12]+"..", "BASE..")
	return strings.ReplaceAll(s, ".."+head[:12], "..HEAD")
}

// checkGolden compares got with testdata/diff/name, or rewrites the file with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "diff", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept, then read it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestDiffGolden renders every scenario as text (no color) and markdown.
func TestDiffGolden(t *testing.T) {
	for _, sc := range diffScenarios {
		t.Run(sc.name, func(t *testing.T) {
			if sc.bug != "" {
				t.Fatal("" + sc.bug)
			}
			r := newDiffRepo(t)
			base := sc.build(r)
			head := r.Git("rev-parse", "HEAD")
			text := r.mustDiff(base, "HEAD", "--color", "never")
			md := r.mustDiff(base, "HEAD", "--format", "markdown")
			checkGolden(t, sc.name+".txt", normalize(text, base, head))
			checkGolden(t, sc.name+".md", normalize(md, base, head))
			if strings.Contains(text, "\x1b[") {
				t.Errorf("--color never: the text has ANSI escapes")
			}
		})
	}
}

// TestDiffJSON checks the documented shape of --format json.
func TestDiffJSON(t *testing.T) {
	r := newDiffRepo(t)
	base := buildScenario(t, r, "mixed")
	head := r.Git("rev-parse", "HEAD")
	out := r.mustDiff(base, head, "--format", "json")

	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got := sortedKeys(doc); !slices.Equal(got, []string{"base", "head", "personas", "problems"}) {
		t.Errorf("top-level keys = %q, want base, head, personas, problems", got)
	}
	var d struct {
		Base     string           `json:"base"`
		Head     string           `json:"head"`
		Personas []map[string]any `json:"personas"`
		Problems []map[string]any `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Base != base || d.Head != head {
		t.Errorf("base, head = %q, %q; want the full commit ids %s, %s", d.Base, d.Head, base, head)
	}
	if d.Problems == nil {
		t.Errorf("problems is null, want []")
	}
	wantKeys := []string{"fields", "id", "name", "new_version", "path_after", "path_before", "status", "unit_tests", "version_before"}
	byStatus := map[string]map[string]any{}
	for _, p := range d.Personas {
		if got := sortedKeys(p); !slices.Equal(got, wantKeys) {
			t.Errorf("persona keys = %q, want %q", got, wantKeys)
		}
		byStatus[p["status"].(string)] = p
	}
	if len(d.Personas) != 4 {
		t.Fatalf("%d personas, want 4: %s", len(d.Personas), out)
	}
	check := func(status, key string, want any) {
		t.Helper()
		p, ok := byStatus[status]
		if !ok {
			t.Errorf("no %s persona in %s", status, out)
			return
		}
		g, _ := json.Marshal(p[key])
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s persona: %s = %s, want %s", status, key, g, w)
		}
	}
	check("created", "id", "6650c0ffee0000000000a104")
	check("created", "name", "Pipe | <Angle> & Co")
	check("created", "version_before", nil)
	check("created", "new_version", true)
	check("created", "path_before", nil)
	check("created", "path_after", "personas/pipe.yaml")
	check("created", "fields", []string{"name", "role", "background"})
	check("created", "unit_tests", []string{})
	check("changed", "version_before", 1)
	check("changed", "new_version", true)
	check("changed", "fields", []string{"background"})
	check("changed", "unit_tests", []string{"unit_tests/onboarding.yaml"})
	check("deleted", "path_after", nil)
	check("deleted", "path_before", "personas/retiree.yaml")
	check("deleted", "new_version", false)
	check("renamed", "fields", []string{})
	check("renamed", "version_before", 1)
	check("renamed", "new_version", false)
	check("renamed", "path_before", "personas/traveller.yaml")
	check("renamed", "path_after", "personas/travel/traveller.yaml")

	// The problems of the problems scenario, as JSON.
	r2 := newDiffRepo(t)
	base2 := buildScenario(t, r2, "problems")
	out = r2.mustDiff(base2, "--format", "json")
	var d2 struct {
		Problems []map[string]any `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &d2); err != nil {
		t.Fatal(err)
	}
	if len(d2.Problems) != 2 {
		t.Fatalf("problems = %v, want 2 (new-broken and dangling, not old-broken)", d2.Problems)
	}
	for _, p := range d2.Problems {
		for _, k := range []string{"path", "line", "column", "message"} {
			if _, ok := p[k]; !ok {
				t.Errorf("problem %v has no %q", p, k)
			}
		}
		if p["path"] == "personas/old-broken.yaml" {
			t.Errorf("a problem already at BASE is listed: %v", p)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// diffJSON runs personas diff --format json ARGS and decodes the result.
func diffJSON(t *testing.T, r *diffRepo, args ...string) (base, head string, ids []string) {
	t.Helper()
	out := r.mustDiff(append([]string{"--format", "json"}, args...)...)
	var d struct {
		Base, Head string
		Personas   []struct{ ID, Status string }
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, p := range d.Personas {
		ids = append(ids, p.ID+":"+p.Status)
	}
	slices.Sort(ids)
	return d.Base, d.Head, ids
}

// TestDiffRange: the default range is merge-base(HEAD, --branch)..HEAD;
// changes made on main after the branch point are not shown.
func TestDiffRange(t *testing.T) {
	r := newDiffRepo(t)
	r.Write("personas/confused.yaml", confusedYAML)
	r.Write("personas/traveller.yaml", travellerYAML)
	fork := r.Commit("two personas")
	r.Git("checkout", "--quiet", "-b", "feature")
	r.Write("personas/confused.yaml", strings.Replace(confusedYAML, "role: patient", "role: customer", 1))
	feature := r.Commit("feature: change confused")
	r.Git("checkout", "--quiet", "main")
	r.Remove("personas/traveller.yaml")
	r.Write("personas/retiree.yaml", retireeYAML)
	mainHead := r.Commit("main moves on")
	r.Git("checkout", "--quiet", "feature")

	cases := []struct {
		name       string
		args       []string
		base, head string
		ids        []string // ids of the personas listed, sorted
	}{
		{"no arguments: merge-base with main .. HEAD", nil, fork, feature, []string{"6650c0ffee0000000000a101"}},
		{"--branch main given", []string{"--branch", "main"}, fork, feature, []string{"6650c0ffee0000000000a101"}},
		{"PERSONAS_BRANCH is --branch", nil, fork, feature, []string{"6650c0ffee0000000000a101"}},
		{"BASE given", []string{"main"}, mainHead, feature, []string{
			"6650c0ffee0000000000a101", "6650c0ffee0000000000a102", "6650c0ffee0000000000a103"}},
		{"BASE and HEAD given", []string{fork, "main"}, fork, mainHead, []string{
			"6650c0ffee0000000000a102", "6650c0ffee0000000000a103"}},
		{"relative revisions", []string{"HEAD~1", "HEAD"}, fork, feature, []string{"6650c0ffee0000000000a101"}},
		{"--branch feature: nothing differs", []string{"--branch", "feature"}, feature, feature, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if strings.HasPrefix(tc.name, "PERSONAS_BRANCH") {
				t.Setenv("PERSONAS_BRANCH", "main")
			}
			// Which personas are in the range; statuses are tested elsewhere.
			base, head, entries := diffJSON(t, r, tc.args...)
			var ids []string
			for _, e := range entries {
				ids = append(ids, strings.SplitN(e, ":", 2)[0])
			}
			if base != tc.base || head != tc.head {
				t.Errorf("range = %.12s..%.12s, want %.12s..%.12s", base, head, tc.base, tc.head)
			}
			if !slices.Equal(ids, tc.ids) {
				t.Errorf("personas = %q, want %q", ids, tc.ids)
			}
		})
	}

	t.Run("text header names the range", func(t *testing.T) {
		out := r.mustDiff("--color", "never")
		if want := "personas diff " + fork[:12] + ".." + feature[:12] + ": 1 persona(s) differ\n"; !strings.HasPrefix(out, want) {
			t.Errorf("header = %q, want %q", strings.SplitN(out, "\n", 2)[0], want)
		}
	})
}

// TestDiffNoMergeBase: a HEAD with no common history with the branch is
// compared with the empty registry, and the header says so.
func TestDiffNoMergeBase(t *testing.T) {
	r := newDiffRepo(t)
	r.Write("personas/traveller.yaml", travellerYAML)
	r.Commit("main")
	r.Git("checkout", "--quiet", "--orphan", "other")
	r.Git("rm", "-r", "--quiet", "--cached", ".")
	r.Remove("personas/traveller.yaml")
	r.Write("personas/retiree.yaml", retireeYAML)
	r.Commit("unrelated history")
	_, _, ids := diffJSON(t, r)
	if want := []string{"6650c0ffee0000000000a103:created"}; !slices.Equal(ids, want) {
		t.Errorf("personas = %q, want %q", ids, want)
	}
	out := r.mustDiff("--color", "never")
	if !strings.HasPrefix(out, "personas diff (empty)..") {
		t.Fatal("the empty base is shown as " + strings.SplitN(out, ":", 2)[0] +
			", want (empty): cmd/personas/diff.go short() truncates the 40-zero id before testing for zeros")
	}
}

// TestDiffWorktree: --worktree compares HEAD (or BASE) with uncommitted files.
func TestDiffWorktree(t *testing.T) {
	r := newDiffRepo(t)
	r.Write("personas/confused.yaml", confusedYAML)
	first := r.Commit("confused")
	r.Write("personas/traveller.yaml", travellerYAML)
	head := r.Commit("traveller")

	if out := r.mustDiff("--worktree", "--color", "never"); !strings.Contains(out, ": 0 persona(s) differ") {
		t.Errorf("clean worktree: %s", out)
	}
	r.Write("personas/confused.yaml", strings.Replace(confusedYAML, "numbered steps", "illustrated steps", 1))
	r.Write("personas/retiree.yaml", retireeYAML) // untracked

	base, h, ids := diffJSON(t, r, "--worktree")
	if base != head || h != "worktree" {
		t.Errorf("range = %s..%s, want %s..worktree", base, h, head)
	}
	if want := []string{"6650c0ffee0000000000a101:changed", "6650c0ffee0000000000a103:created"}; !slices.Equal(ids, want) {
		t.Errorf("personas = %q, want %q", ids, want)
	}
	if _, _, ids := diffJSON(t, r); ids != nil {
		t.Errorf("without --worktree the uncommitted edit shows: %q", ids)
	}
	base, _, ids = diffJSON(t, r, "--worktree", first)
	if base != first {
		t.Errorf("--worktree BASE: base = %s, want %s", base, first)
	}
	if want := []string{"6650c0ffee0000000000a101:changed", "6650c0ffee0000000000a102:created", "6650c0ffee0000000000a103:created"}; !slices.Equal(ids, want) {
		t.Errorf("--worktree BASE: personas = %q, want %q", ids, want)
	}
	out := r.mustDiff("--worktree", "--color", "never")
	if !strings.HasPrefix(out, "personas diff "+head[:12]+"..worktree: 2 persona(s) differ\n") ||
		!strings.Contains(out, "[-numbered-] {+illustrated+}") {
		t.Errorf("text output:\n%s", out)
	}

	code, stdout, stderr := r.personas("diff", "--worktree", first, "HEAD")
	if code != 2 || stdout != "" || !strings.Contains(stderr, "--worktree") {
		t.Errorf("--worktree with BASE and HEAD: exit %d, stdout %q, stderr %q; want 2 and a message about --worktree", code, stdout, stderr)
	}
}

// TestDiffExitCode: --exit-code exits 1 when anything differs (personas or
// problems), 0 otherwise; without it the exit is 0 either way.
func TestDiffExitCode(t *testing.T) {
	r := newDiffRepo(t)
	r.Write("personas/confused.yaml", confusedYAML)
	c1 := r.Commit("confused")
	r.Write("personas/confused.yaml", strings.Replace(confusedYAML, "plan: basic", "plan: gold", 1))
	c2 := r.Commit("gold plan")
	r.Write("personas/broken.yaml", "id: [\n")
	c3 := r.Commit("only a problem")
	r.Write("README.md", "x\n")
	c4 := r.Commit("no persona change")

	cases := []struct {
		name string
		args []string
		want int
	}{
		{"differences, --exit-code", []string{c1, c2, "--exit-code"}, 1},
		{"differences, no --exit-code", []string{c1, c2}, 0},
		{"only a new problem, --exit-code", []string{c2, c3, "--exit-code"}, 1},
		{"nothing differs, --exit-code", []string{c3, c4, "--exit-code"}, 0},
		{"same commit, --exit-code", []string{"HEAD", "HEAD", "--exit-code"}, 0},
		{"markdown, --exit-code", []string{c1, c2, "--exit-code", "--format", "markdown"}, 1},
		{"json, --exit-code", []string{c1, c2, "--exit-code", "--format", "json"}, 1},
		{"worktree clean, --exit-code", []string{"--worktree", "--exit-code"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := r.personas(append([]string{"diff"}, tc.args...)...)
			if code != tc.want {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.want, stdout, stderr)
			}
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			if stdout == "" {
				t.Errorf("no output: the diff is printed whatever the exit code")
			}
		})
	}
	t.Run("worktree edit, --exit-code", func(t *testing.T) {
		r.Write("personas/confused.yaml", confusedYAML)
		t.Cleanup(func() { r.Git("checkout", "--", "personas/confused.yaml") })
		if code, _, _ := r.personas("diff", "--worktree", "--exit-code"); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	})
}

// TestDiffErrors: usage and revision errors exit 2 with a message naming the cause.
func TestDiffErrors(t *testing.T) {
	r := newDiffRepo(t)
	r.Write("personas/confused.yaml", confusedYAML)
	r.Commit("confused")
	cases := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"unknown BASE", []string{"diff", "no-such-rev"}, []string{"personas:", `revision "no-such-rev"`}},
		{"unknown HEAD", []string{"diff", "HEAD", "no-such-rev"}, []string{`revision "no-such-rev"`}},
		{"unknown branch", []string{"diff", "--branch", "no-such-branch"}, []string{`"no-such-branch"`}},
		{"bad format", []string{"diff", "--format", "yaml"}, []string{`--format "yaml"`, "text, markdown or json"}},
		{"three arguments", []string{"diff", "a", "b", "c"}, []string{"accepts at most 2 arg"}},
		{"not a repository", []string{"--repo", t.TempDir(), "diff"}, []string{"personas:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := r.personas(tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not contain %q", stderr, w)
				}
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("stderr has more than one line: %q", stderr)
			}
		})
	}
}

// TestDiffColor: --color always paints the status and the background diff
// with ANSI codes; never and auto (output is not a terminal) do not.
func TestDiffColor(t *testing.T) {
	r := newDiffRepo(t)
	r.Write("personas/confused.yaml", confusedYAML)
	base := r.Commit("confused")
	r.Write("personas/confused.yaml", strings.Replace(confusedYAML, "numbered steps", "illustrated steps", 1))
	r.Commit("edit")

	out := r.mustDiff(base, "--color", "always")
	for _, want := range []string{
		"\x1b[1mchanged \x1b[0m",
		"\x1b[31m[-numbered-]\x1b[0m",
		"\x1b[32m{+illustrated+}\x1b[0m",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--color always: no %q in\n%q", want, out)
		}
	}
	for _, args := range [][]string{{"--color", "never"}, {"--color", "auto"}, {}} {
		if out := r.mustDiff(append([]string{base}, args...)...); strings.Contains(out, "\x1b") {
			t.Errorf("%v: ANSI escapes in output that is not a terminal:\n%q", args, out)
		}
	}
	if out := r.mustDiff(base, "--color", "always", "--format", "markdown"); strings.Contains(out, "\x1b") {
		t.Errorf("--color always colored the markdown")
	}
}
