package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/personaregistry/personas/server/client"
	"github.com/personaregistry/personas/server/client/amigotest"
)

var (
	pAda   = gitPersona{ID: "aaaaaaaaaaaaaaaaaaaa0001", Name: "Ada Anxious", Role: "patient", Background: "Ada worries.", Tags: map[string]string{"level": "high"}}
	pBo    = gitPersona{ID: "aaaaaaaaaaaaaaaaaaaa0002", Name: "Bo Billing", Role: "customer", Background: "Bo disputes a bill."}
	pCy    = gitPersona{ID: "aaaaaaaaaaaaaaaaaaaa0003", Name: "Cy Confused", Role: "customer", Background: "Cy is lost."}
	pDee   = gitPersona{ID: "aaaaaaaaaaaaaaaaaaaa0004", Name: "Dee Departing", Role: "customer", Background: "Dee leaves."}
	pEve   = gitPersona{ID: "aaaaaaaaaaaaaaaaaaaa0005", Name: "Eve Newcomer", Role: "student", Background: "Eve enrols."}
	syncOK = 0
)

func syncArgs(si string, token, repo string, extra ...string) []string {
	args := append([]string{"amigo", "sync", "--repo", repo}, amigoArgs(si, token)...)
	return append(args, extra...)
}

func TestAmigoSyncLifecycle(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{})
	repo := newWorkRepo(t)
	repo.commit("Add four personas", map[string]string{
		"personas/ada.yaml": pAda.yaml(), "personas/bo.yaml": pBo.yaml(),
		"personas/cy.yaml": pCy.yaml(), "personas/dee.yaml": pDee.yaml(),
	})

	code, out := personas(t, syncArgs(si.URL, si.Token, repo.dir, "--plan")...)
	if code != syncOK || !strings.Contains(out, "Plan: 4 to create.") || si.Writes() != 0 {
		t.Fatalf("plan into an empty org: exit %d, %d writes:\n%s", code, si.Writes(), out)
	}
	code, out = personas(t, syncArgs(si.URL, si.Token, repo.dir)...)
	if code != syncOK || si.Writes() != 4 {
		t.Fatalf("sync into an empty org: exit %d, %d writes (want 4):\n%s", code, si.Writes(), out)
	}
	expectMatches(t, si, []gitPersona{pAda, pBo, pCy, pDee})

	code, out = personas(t, syncArgs(si.URL, si.Token, repo.dir)...)
	if code != syncOK || si.Writes() != 4 || !strings.Contains(out, ": 0 calls") {
		t.Fatalf("second sync: exit %d, %d writes (want none more):\n%s", code, si.Writes()-4, out)
	}

	// git edits: a new persona, a new version, a retag, a rename (the file
	// moves too), a deletion
	ada2, bo2, cy2 := pAda, pBo, pCy
	ada2.Background = "Ada worries less now."
	bo2.Tags = map[string]string{"channel": "phone"}
	cy2.Name = "Cy Clear"
	repo.commit("Edit", map[string]string{
		"personas/ada.yaml": ada2.yaml(), "personas/bo.yaml": bo2.yaml(),
		"personas/cy.yaml": "", "personas/renamed/cy-clear.yaml": cy2.yaml(),
		"personas/dee.yaml": "", "personas/eve.yaml": pEve.yaml(),
	})
	code, out = personas(t, syncArgs(si.URL, si.Token, repo.dir, "--plan")...)
	for _, want := range []string{`+   create    "Eve Newcomer"`, `~   version   "Ada Anxious"`, `~   retag     "Bo Billing"`,
		`-/+ replace   "Cy Clear"`, `-   delete    "Dee Departing"`,
		"Plan: 1 to create, 1 to version, 1 to retag, 1 to replace, 1 to delete."} {
		if !strings.Contains(out, want) {
			t.Errorf("plan after git edits lacks %q:\n%s", want, out)
		}
	}
	before := si.Writes()
	code, out = personas(t, syncArgs(si.URL, si.Token, repo.dir)...)
	if code != syncOK {
		t.Fatalf("sync of git edits: exit %d:\n%s", code, out)
	}
	// create 1, version+tags 2, tags 1, replace 2, delete 1
	if got := si.Writes() - before; got != 7 {
		t.Errorf("sync of git edits made %d writes, want 7:\n%s", got, out)
	}
	expectMatches(t, si, []gitPersona{ada2, bo2, cy2, pEve})
	before = si.Writes()
	if code, out = personas(t, syncArgs(si.URL, si.Token, repo.dir)...); code != syncOK || si.Writes() != before {
		t.Errorf("sync after sync: exit %d, %d writes:\n%s", code, si.Writes()-before, out)
	}
}

func TestAmigoSyncReportsDrift(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{})
	repo := newWorkRepo(t)
	repo.commit("Add", map[string]string{"personas/ada.yaml": pAda.yaml(), "personas/bo.yaml": pBo.yaml()})
	if code, out := personas(t, syncArgs(si.URL, si.Token, repo.dir)...); code != syncOK {
		t.Fatalf("first sync: %d\n%s", code, out)
	}
	// someone edits Ada in Amigo and retags Bo there; git edits Ada too
	c := amigoClient(t, si)
	live := livePersonas(t, si)
	if _, err := c.CreateVersion(testCtx(t), live[pAda.Name].ID, 0, client.Content{Background: "Edited in Amigo."}); err != nil {
		t.Fatal(err)
	}
	boTags := live[pBo.Name].Tags
	boTags["edited"] = nil
	if err := c.UpdateTags(testCtx(t), live[pBo.Name].ID, boTags); err != nil {
		t.Fatal(err)
	}
	ada2 := pAda
	ada2.Background = "Edited in git."
	repo.commit("Edit Ada", map[string]string{"personas/ada.yaml": ada2.yaml()})

	before := si.Writes()
	code, out := personas(t, syncArgs(si.URL, si.Token, repo.dir)...)
	if code != exitFindings || si.Writes() != before {
		t.Fatalf("sync with drift: exit %d (want 1), %d writes (want 0):\n%s", code, si.Writes()-before, out)
	}
	for _, name := range []string{pAda.Name, pBo.Name} {
		if !strings.Contains(out, fmt.Sprintf("drift     %q", name)) {
			t.Errorf("drift of %q not reported:\n%s", name, out)
		}
	}
	if got := livePersonas(t, si)[pAda.Name].Latest.Background; got != "Edited in Amigo." {
		t.Errorf("Ada's drift was overwritten: %q", got)
	}
	if code, out = personas(t, syncArgs(si.URL, si.Token, repo.dir, "--force")...); code != syncOK {
		t.Fatalf("sync --force: exit %d\n%s", code, out)
	}
	expectMatches(t, si, []gitPersona{ada2, pBo})
}

// manyPersonas commits n personas and returns them.
func manyPersonas(t *testing.T, repo *workRepo, n int) []gitPersona {
	t.Helper()
	files := map[string]string{}
	var ps []gitPersona
	for i := range n {
		p := gitPersona{ID: fmt.Sprintf("bbbbbbbbbbbbbbbbbbbb%04d", i), Name: fmt.Sprintf("Persona %d", i), Role: "customer",
			Background: fmt.Sprintf("Background %d.", i), Tags: map[string]string{"batch": "one"}}
		files[fmt.Sprintf("personas/p%d.yaml", i)] = p.yaml()
		ps = append(ps, p)
	}
	repo.commit("Add many", files)
	return ps
}

func TestAmigoSyncAbsorbsRateLimits(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{RateLimit: 2})
	repo := newWorkRepo(t)
	ps := manyPersonas(t, repo, 6)
	code, out := personas(t, syncArgs(si.URL, si.Token, repo.dir)...)
	if code != syncOK {
		t.Fatalf("sync against --rate-limit 2: exit %d\n%s", code, out)
	}
	if strings.Contains(out, " 0 throttled") {
		t.Errorf("no 429 was met: the test proves nothing\n%s", out)
	}
	expectMatches(t, si, ps)
}

func TestAmigoSyncThroughFaults(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{})
	// GETs: every 5th dropped, every 7th refused with 503; POST/DELETE: the
	// 2nd refused with 503, the 3rd, 6th and 9th carried out with the answer lost
	proxy := amigotest.StartProxy(t, si.URL, func(r *http.Request, n int) amigotest.Fault {
		if r.Method == http.MethodGet {
			switch {
			case n%5 == 0:
				return amigotest.Drop
			case n%7 == 0:
				return amigotest.Unavailable
			}
			return amigotest.Pass
		}
		switch {
		case n == 2:
			return amigotest.Unavailable
		case n%3 == 0 && n <= 9:
			return amigotest.LoseResponse
		}
		return amigotest.Pass
	})
	repo := newWorkRepo(t)
	ps := manyPersonas(t, repo, 6)
	code, out := personas(t, syncArgs(proxy.URL, si.Token, repo.dir)...)
	if code != syncOK {
		t.Fatalf("sync through faults: exit %d\n%s", code, out)
	}
	expectMatches(t, si, ps)

	// then edits of every kind, through the same proxy
	ps[0].Background = "Changed."
	ps[1].Tags = map[string]string{"batch": "two"}
	ps[2].Name = "Renamed Two"
	repo.commit("Edit", map[string]string{"personas/p0.yaml": ps[0].yaml(), "personas/p1.yaml": ps[1].yaml(),
		"personas/p2.yaml": ps[2].yaml(), "personas/p3.yaml": ""})
	if code, out = personas(t, syncArgs(proxy.URL, si.Token, repo.dir)...); code != syncOK {
		t.Fatalf("sync of edits through faults: exit %d\n%s", code, out)
	}
	want := append(ps[:3:3], ps[4:]...)
	expectMatches(t, si, want)
	inj := proxy.Injected()
	if inj[amigotest.LoseResponse] < 3 || inj[amigotest.Drop] == 0 || inj[amigotest.Unavailable] == 0 {
		t.Errorf("faults injected %v: not every kind was exercised", inj)
	}
	before := si.Writes()
	if code, out = personas(t, syncArgs(si.URL, si.Token, repo.dir)...); code != syncOK || si.Writes() != before {
		t.Errorf("a sync after the faulty ones: exit %d, %d writes (want 0)\n%s", code, si.Writes()-before, out)
	}
}

func TestAmigoSyncResumesAfterAnInterruption(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{})
	// after the 3rd write every write's connection is dropped: the sync
	// stops with some personas made and others not
	proxy := amigotest.StartProxy(t, si.URL, func(r *http.Request, n int) amigotest.Fault {
		if r.Method != http.MethodGet && n > 3 {
			return amigotest.Drop
		}
		return amigotest.Pass
	})
	repo := newWorkRepo(t)
	ps := manyPersonas(t, repo, 8)
	code, out := personas(t, syncArgs(proxy.URL, si.Token, repo.dir)...)
	if code != exitFindings || !strings.Contains(out, "run sync again") {
		t.Fatalf("interrupted sync: exit %d (want 1)\n%s", code, out)
	}
	if n := len(livePersonas(t, si)); n != 3 {
		t.Fatalf("%d personas made before the interruption, want 3", n)
	}
	code, out = personas(t, syncArgs(si.URL, si.Token, repo.dir)...)
	if code != syncOK || !strings.Contains(out, ": 5 calls, 0 failed") {
		t.Fatalf("resumed sync: exit %d, want 5 creates\n%s", code, out)
	}
	expectMatches(t, si, ps)
}

func TestAmigoSyncSignsInFromTheEnvironment(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{})
	repo := newWorkRepo(t)
	repo.commit("Add", map[string]string{"personas/ada.yaml": pAda.yaml()})
	t.Setenv("AMIGO_BASE_URL", si.URL)
	t.Setenv("AMIGO_ORGANIZATION_ID", amigotest.Org)
	t.Setenv("AMIGO_API_KEY", amigotest.APIKey)
	t.Setenv("AMIGO_API_KEY_ID", amigotest.APIKeyID)
	t.Setenv("AMIGO_USER_ID", amigotest.UserID)
	t.Setenv("AMIGO_TOKEN", "not-used-when-an-api-key-is-set")
	code, out := personas(t, "amigo", "sync", "--repo", repo.dir)
	if code != syncOK || si.SignIns() != 1 {
		t.Fatalf("sync with the SDK's variables: exit %d, %d sign-ins (want 1)\n%s", code, si.SignIns(), out)
	}
	expectMatches(t, si, []gitPersona{pAda})
	t.Setenv("AMIGO_API_KEY_ID", "")
	if code, out = personas(t, "amigo", "sync", "--repo", repo.dir); code != exitUsage || !strings.Contains(out, "AMIGO_API_KEY_ID") {
		t.Errorf("an API key without its id: exit %d (want 2)\n%s", code, out)
	}
}
