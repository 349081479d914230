package ui_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/personaregistry/personas/server"
)

// ninaID is the persona the feature branch adds.
const ninaID = "a1a0000000000000000000a1"

// feature is the branch of TestChanges: it edits dana (v4) and adds nina.
const feature = "feature/late-trains"

// danaOnFeature is dana's background on the feature branch.
const danaOnFeature = "Dana is an impatient commuter who books late trains and pays in cash."

func newFeatureRepo(t *testing.T) *repo {
	t.Helper()
	r := newRepo(t)
	r.git("checkout", "-q", "-b", feature)
	r.commit("dana pays in cash", map[string]string{"personas/dana.yaml": personaYAML(danaID, "Dana Commuter", danaOnFeature, "Europe/Berlin")})
	r.commit("add nina", map[string]string{"personas/nina.yaml": personaYAML(ninaID, "Nina Newcomer", "Nina rides the night bus home.", "Europe/Paris")})
	r.git("checkout", "-q", "main")
	return r
}

// apiDiff returns the ids and statuses the API's diff of the ref lists.
func apiDiff(t *testing.T, base, ref string, header ...string) []string {
	t.Helper()
	status, _, body := get(t, base+"/ref/"+url.PathEscape(ref)+"/diff", header...)
	if status != http.StatusOK {
		t.Fatalf("API diff of %s: %d %s", ref, status, body)
	}
	var d struct {
		Personas []struct{ ID, Status string } `json:"personas"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, p := range d.Personas {
		out = append(out, p.ID+" "+p.Status)
	}
	return out
}

// TestChanges: the ref switcher leads to /changes?ref=, which lists what
// the ref changes relative to main as the API's diff does, with the
// background diffed word by word, and links each persona to its page on
// the ref.
func TestChanges(t *testing.T) {
	r := newFeatureRepo(t)
	s := serve(t, r.dir, server.Config{})
	want := apiDiff(t, s.URL, feature)
	if !slices.Equal(want, []string{danaID + " changed", ninaID + " created"}) {
		t.Fatalf("the API's diff of %s: %v, want dana changed and nina created", feature, want)
	}

	t.Run("http", func(t *testing.T) {
		cases := []struct {
			name, path string
			status     int
			want       []string
		}{
			{"branches to pick", "/changes", 200, []string{`href="/changes?ref=feature%2flate-trains"`, `name="ref"`}},
			{"the changes", "/changes?ref=" + url.QueryEscape(feature), 200, []string{
				`<del>by phone.</del> <ins>in cash.</ins>`, `<ins>Nina rides the night bus home.</ins>`,
				`href="/personas/` + ninaID + `?ref=feature%2Flate-trains"`, "v3 → v4", "Nina Newcomer", "Dana Commuter"}},
			{"a persona on the ref", "/personas/" + ninaID + "?ref=" + url.QueryEscape(feature), 200, []string{
				"Nina Newcomer", `class="banner preview"`, "ref <code>feature/late-trains</code>"}},
			{"a comparison on the ref", "/personas/" + danaID + "/compare?from=3&to=4&ref=" + url.QueryEscape(feature), 200, []string{
				"<ins>in cash.</ins>", `name="ref" value="feature/late-trains"`}},
			{"a version on the ref", "/personas/" + danaID + "/versions/4?ref=" + url.QueryEscape(feature), 200, []string{"pays in cash"}},
			{"the persona is not on main", "/personas/" + ninaID, 404, nil},
			{"an unknown ref", "/changes?ref=no-such-branch", 404, []string{"no-such-branch"}},
			{"a malformed ref", "/changes?ref=a..b", 422, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				getPage(t, s.URL, tc.path, tc.status, tc.want)
			})
		}
	})

	t.Run("scoped token", func(t *testing.T) {
		nina, secret := token("nina", server.PermRead+" path=personas/nina.yaml")
		scoped := serve(t, r.dir, server.Config{Auth: newAuth(nina), RequireAuthForReads: true})
		want := apiDiff(t, scoped.URL, feature, "Authorization", "Bearer "+secret)
		if !slices.Equal(want, []string{ninaID + " created"}) {
			t.Fatalf("the API's diff for a token scoped to nina's file: %v", want)
		}
		status, _, body := get(t, scoped.URL+"/changes?ref="+url.QueryEscape(feature), "Cookie", "personas_token="+secret)
		if status != http.StatusOK || !strings.Contains(body, `data-id="`+ninaID+`"`) || strings.Contains(body, danaID) {
			t.Errorf("the changes page for a token scoped to nina's file: %d, want nina and not dana\n%s", status, body)
		}
		// the broken file is outside the scope: neither listed nor counted
		status, _, body = get(t, scoped.URL+"/problems", "Cookie", "personas_token="+secret)
		if status != http.StatusOK || strings.Contains(body, brokenPath) || !strings.Contains(body, `title="0 invalid files`) {
			t.Errorf("the problems page for a token scoped to nina's file: %d, want no problem\n%s", status, body)
		}
	})

	t.Run("browser", func(t *testing.T) {
		tb := newTab(t)
		tb.do(chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("form.refpick")))
		tb.navigateAndWait(chromedp.SendKeys(chromedp.CSS("header form.refpick input[name=ref]"), feature+"\r"), "h1")
		if loc := eval[string](tb, "location.pathname + location.search"); loc != "/changes?ref="+url.QueryEscape(feature) {
			t.Errorf("the ref switcher went to %s", loc)
		}
		type row struct {
			ID, Status string
			Ins, Del   []string
		}
		rows := eval[[]row](tb, `[...document.querySelectorAll("li.persona-change")].map(li => ({
			ID: li.dataset.id, Status: li.querySelector(".status").textContent,
			Ins: [...li.querySelectorAll(".background ins")].map(e => e.textContent),
			Del: [...li.querySelectorAll(".background del")].map(e => e.textContent)}))`)
		var got []string
		for _, r := range rows {
			got = append(got, r.ID+" "+r.Status)
		}
		if !slices.Equal(got, want) {
			t.Errorf("the changes page lists %v, the API's diff %v", got, want)
		}
		if len(rows) == 2 && (!slices.Equal(rows[0].Ins, []string{"in cash."}) || !slices.Equal(rows[0].Del, []string{"by phone."}) ||
			!slices.Equal(rows[1].Ins, []string{"Nina rides the night bus home."}) || len(rows[1].Del) != 0) {
			t.Errorf("word diffs %+v: want dana's by phone. → in cash. and all of nina's background inserted", rows)
		}
		tb.screenshot("changes")
		tb.navigateAndWait(chromedp.Click(chromedp.CSS(`li[data-id="`+ninaID+`"] h2 a`)), "h1")
		if h1 := eval[string](tb, `document.querySelector("h1").textContent`); h1 != "Nina Newcomer" {
			t.Errorf("the added persona's link leads to %q", h1)
		}
		if live := eval[bool](tb, `document.getElementById("live") !== null`); live {
			t.Error("a page of a ref polls the served branch's head")
		}
	})
}
