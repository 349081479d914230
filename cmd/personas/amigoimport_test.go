package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/personaregistry/personas/registry/repogen"
	"github.com/personaregistry/personas/server/client"
	"github.com/personaregistry/personas/server/client/amigotest"
)

// exported is what import must reproduce of `personas export`.
type exported struct {
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Role      string             `json:"role"`
	Tags      map[string]*string `json:"tags"`
	IsDeleted bool               `json:"is_deleted"`
	Versions  []struct {
		Version int `json:"version"`
		client.Content
		CreatedAt string          `json:"created_at"`
		Creator   client.UserInfo `json:"creator"`
	} `json:"versions"`
}

func exportOf(t *testing.T, repo string) []exported {
	t.Helper()
	code, out := personas(t, "export", "--repo", repo)
	if code != 0 {
		t.Fatalf("export %s: exit %d\n%s", repo, code, out)
	}
	var doc struct {
		Personas []exported `json:"personas"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("export %s: %v", repo, err)
	}
	return doc.Personas
}

// expectSameExport compares the exports of two repositories.
func expectSameExport(t *testing.T, source, imported string) {
	t.Helper()
	want, got := exportOf(t, source), exportOf(t, imported)
	if len(got) != len(want) {
		t.Errorf("%d personas imported, the source has %d", len(got), len(want))
	}
	byID := map[string]exported{}
	for _, p := range got {
		byID[p.ID] = p
	}
	for _, w := range want {
		g, ok := byID[w.ID]
		if !ok {
			t.Errorf("persona %s (%q) was not imported", w.ID, w.Name)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			t.Errorf("persona %s differs:\nimported %s\nsource   %s", w.ID, gj, wj)
		}
	}
}

func importArgs(base, token, repo string, extra ...string) []string {
	args := append([]string{"amigo", "import", "--repo", repo}, amigoArgs(base, token)...)
	return append(args, extra...)
}

func TestAmigoImportReproducesTheSource(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.git")
	if err := repogen.Create(src, repogen.Config{Personas: 20, Commits: 160, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	si := amigotest.Start(t, amigotest.Options{Repo: src})
	dst := filepath.Join(t.TempDir(), "imported")
	code, out := personas(t, importArgs(si.URL, si.Token, dst)...)
	if code != 0 || !strings.Contains(out, "20 personas read (20 new)") {
		t.Fatalf("import: exit %d\n%s", code, out)
	}
	expectSameExport(t, src, dst)
	// imported personas keep their Amigo ids: a sync of the import only
	// records the sync state on the live ones, creates nothing
	code, out = personas(t, syncArgs(si.URL, si.Token, dst, "--plan")...)
	if code != 0 || !strings.Contains(out, " to retag.") || strings.Contains(out, "create") || strings.Contains(out, "delete") {
		t.Errorf("sync --plan right after an import: exit %d\n%s", code, out)
	}
	if status := amigotest.Git(t, dst, "status", "--porcelain"); status != "" {
		t.Errorf("the new repository's worktree is not the imported branch:\n%s", status)
	}

	// new writes in the source: a persona, a version, a retag, a deletion
	c := amigoClient(t, si)
	var live []client.Persona
	for p, err := range c.Personas(testCtx(t), client.ListParams{IsDeleted: new(bool)}) {
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, p)
	}
	cx := testCtx(t)
	if _, err := c.Create(cx, client.CreateRequest{Name: "Imported Later", Role: "r", InitialVersion: client.Content{Background: "New."}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateVersion(cx, live[0].ID, 0, client.Content{Background: "A later version."}); err != nil {
		t.Fatal(err)
	}
	tags := live[1].Tags
	tags["imported"] = nil
	if err := c.UpdateTags(cx, live[1].ID, tags); err != nil {
		t.Fatal(err)
	}
	deleted := false // the first persona no unit test references
	for _, p := range live[2:] {
		if err := c.Delete(cx, p.ID); err == nil {
			deleted = true
			break
		} else if client.StatusOf(err) != 400 {
			t.Fatal(err)
		}
	}
	if !deleted {
		t.Fatal("every live persona is referenced by a unit test")
	}
	code, out = personas(t, importArgs(si.URL, si.Token, dst)...)
	if code != 0 || !strings.Contains(out, "(1 new); 2 versions, 1 updates, 1 deletions, 0 restores in 4 commits") {
		t.Fatalf("incremental import: exit %d\n%s", code, out)
	}
	expectSameExport(t, src, dst)
	code, out = personas(t, importArgs(si.URL, si.Token, dst, "--progress", "always")...)
	if code != 0 || !strings.Contains(out, "Nothing to import") || !strings.Contains(out, "personas 21/21, versions ") || !strings.Contains(out, "ETA 0s") {
		t.Errorf("import with nothing new, with progress: exit %d\n%s", code, out)
	}

	// git and the source disagree about a version: refused, naming the persona
	if _, err := c.CreateVersion(cx, live[0].ID, 0, client.Content{Background: "Source's version."}); err != nil {
		t.Fatal(err)
	}
	ada := exportOf(t, dst)
	for _, p := range ada {
		if p.ID != live[0].ID {
			continue
		}
		file := amigotest.Git(t, dst, "grep", "-l", "id: "+p.ID, "--", "personas")
		amigotest.Git(t, dst, "rm", "-q", file)
		amigotest.Git(t, dst, "commit", "-q", "-m", "Delete in git")
	}
	// a deletion in git is no version: still in agreement
	if code, out = personas(t, importArgs(si.URL, si.Token, dst)...); code != 0 {
		t.Fatalf("import after a deletion in git: exit %d\n%s", code, out)
	}
	repo := &workRepo{t: t, dir: dst}
	p0 := gitPersona{ID: live[0].ID, Name: live[0].Name, Role: live[0].Role, Background: "Git's own version."}
	repo.commit("Edit in git", map[string]string{"personas/conflict.yaml": p0.yaml()})
	if _, err := c.CreateVersion(cx, live[0].ID, 0, client.Content{Background: "Another source version."}); err != nil {
		t.Fatal(err)
	}
	code, out = personas(t, importArgs(si.URL, si.Token, dst)...)
	if code != exitFindings || !strings.Contains(out, live[0].ID) || !strings.Contains(out, "differs from the source") {
		t.Errorf("import over a disagreeing version: exit %d (want 1)\n%s", code, out)
	}
}

func TestAmigoImportThroughFaults(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.git")
	if err := repogen.Create(src, repogen.Config{Personas: 8, Commits: 60, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	si := amigotest.Start(t, amigotest.Options{Repo: src})
	proxy := amigotest.StartProxy(t, si.URL, func(r *http.Request, n int) amigotest.Fault {
		switch {
		case n%3 == 0:
			return amigotest.Drop
		case n%5 == 0:
			return amigotest.Unavailable
		}
		return amigotest.Pass
	})
	dst := filepath.Join(t.TempDir(), "imported")
	if code, out := personas(t, importArgs(proxy.URL, si.Token, dst)...); code != 0 {
		t.Fatalf("import through faults: exit %d\n%s", code, out)
	}
	expectSameExport(t, src, dst)
	if inj := proxy.Injected(); inj[amigotest.Drop] == 0 || inj[amigotest.Unavailable] == 0 {
		t.Errorf("faults injected %v: not every kind was exercised", inj)
	}
}
