package ui_test

import (
	"html"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/personaregistry/personas/server"
)

// timelineRepo is a repository where dana, after her three versions, is
// retagged, renamed, moved, and then edited while changing role.
type timelineRepo struct {
	*repo
	retag, rename, move, edit string // the commits
}

func newTimelineRepo(t *testing.T) *timelineRepo {
	t.Helper()
	r := &timelineRepo{repo: newRepo(t)}
	file := func(name, tags, role, bg string) string {
		y := strings.Replace(personaYAML(danaID, name, bg, "Europe/Berlin"), "difficulty: high", tags, 1)
		return strings.Replace(y, "role: commuter", "role: "+role, 1)
	}
	r.retag = r.commit("retag dana", map[string]string{"personas/dana.yaml": file("Dana Commuter", "difficulty: low", "commuter", danaBackgrounds[2])})
	r.rename = r.commit("rename dana", map[string]string{"personas/dana.yaml": file("Dana Traveller", "difficulty: low", "commuter", danaBackgrounds[2])})
	if err := os.MkdirAll(filepath.Join(r.dir, "personas", "travel"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("mv", "personas/dana.yaml", "personas/travel/dana.yaml")
	r.n++
	r.git("commit", "-q", "-m", "move dana")
	r.move = r.git("rev-parse", "HEAD")
	r.edit = r.commit("dana: version 4, now a traveller", map[string]string{"personas/travel/dana.yaml": file("Dana Traveller", "difficulty: low", "traveller", "Dana travels.")})
	return r
}

// TestTimeline: the persona page's history lists every version and every
// update that made none (retag, rename, move), newest first, each with
// its commit linked to the git host; an update made by a version's commit
// is shown on that version. An old version's YAML is found at its old path.
func TestTimeline(t *testing.T) {
	r := newTimelineRepo(t)
	s := serve(t, r.dir, server.Config{WebURL: "https://git.example.com/org/personas"})
	link := func(c string) string {
		return `<a class="sha" href="https://git.example.com/org/personas/commit/` + c + `"><code>` + c[:10] + `</code></a>`
	}
	v3 := r.git("rev-list", "-n1", "--grep=dana: version 3", "HEAD")

	t.Run("http", func(t *testing.T) {
		status, _, page := get(t, s.URL+"/personas/"+danaID)
		if status != http.StatusOK {
			t.Fatalf("persona page: %d\n%s", status, page)
		}
		// newest first: each entry's subject, its change and its linked commit
		want := []struct{ commit, subject, change string }{
			{r.edit, "dana: version 4, now a traveller", `role changed:` + "\n      " + `<del>commuter</del> → <ins>traveller</ins>`},
			{r.move, "move dana", `moved:` + "\n      " + `<del>personas/dana.yaml</del> → <ins>personas/travel/dana.yaml</ins>`},
			{r.rename, "rename dana", `renamed:` + "\n      " + `<del>Dana Commuter</del> → <ins>Dana Traveller</ins>`},
			{r.retag, "retag dana", `retagged:` + "\n      " + `<del>difficulty:high</del> → <ins>difficulty:low</ins>`},
			{v3, "dana: version 3", ""},
		}
		rest := page
		for _, w := range want {
			i := strings.Index(rest, `<span class="subject">`+html.EscapeString(w.subject)+`</span>`)
			if i < 0 {
				t.Fatalf("no timeline entry %q after the previous one in\n%s", w.subject, page)
			}
			entry := rest[i:]
			entry = entry[:strings.Index(entry, "</li>\n")]
			if !strings.Contains(entry, w.change) || !strings.Contains(entry, link(w.commit)) {
				t.Errorf("entry %q: want %q and the link to %s in\n%s", w.subject, w.change, w.commit[:10], entry)
			}
			rest = rest[i+1:]
		}
		if n := strings.Count(page, `<li class="event updated">`); n != 3 {
			t.Errorf("%d updates without a version, want 3 (retag, rename, move)", n)
		}
		status, _, yaml := get(t, s.URL+"/personas/"+danaID+"/versions/1")
		if status != http.StatusOK || !strings.Contains(yaml, "<code>personas/dana.yaml</code>") || !strings.Contains(yaml, html.EscapeString(danaBackgrounds[0])) {
			t.Errorf("v1's YAML after the move: %d\n%s", status, yaml)
		}
	})

	t.Run("browser", func(t *testing.T) {
		tb := newTab(t)
		tb.do(chromedp.Navigate(s.URL+"/personas/"+danaID), chromedp.WaitVisible(chromedp.CSS("ol.timeline")))
		type entry struct {
			Kind, Subject, Commit, What string
		}
		got := eval[[]entry](tb, `[...document.querySelectorAll("ol.timeline > li")].slice(0, 5).map(li => ({
			Kind: li.querySelector("strong").textContent,
			Subject: li.querySelector(".subject").textContent,
			Commit: li.querySelector("a.sha").getAttribute("href").split("/").pop(),
			What: [...li.querySelectorAll("ul.what li")].map(c => c.textContent.replace(/\s+/g, " ").trim()).join("; ")}))`)
		want := []entry{
			{"v4", "dana: version 4, now a traveller", r.edit, "role changed: commuter → traveller"},
			{"updated", "move dana", r.move, "moved: personas/dana.yaml → personas/travel/dana.yaml"},
			{"updated", "rename dana", r.rename, "renamed: Dana Commuter → Dana Traveller"},
			{"updated", "retag dana", r.retag, "retagged: difficulty:high → difficulty:low"},
			{"v3", "dana: version 3", v3, ""},
		}
		if len(got) != len(want) {
			t.Fatalf("timeline %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("timeline entry %d: %+v\nwant %+v", i, got[i], want[i])
			}
		}
		tb.screenshot("timeline")
	})
}
