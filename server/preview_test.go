package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/diffview"
	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
	"github.com/personaregistry/personas/server"
)

const (
	pvAnna = "a000000000000000000000a1"
	pvBert = "b000000000000000000000b2"
	pvCleo = "c000000000000000000000c3"
)

// previewFixture is a repository with main, a feature branch (also a PR
// ref), a tag and a rewritten branch, served on main.
type previewFixture struct {
	repo *gitRepo
	ts   *testServer
	fork string
}

func newPreviewFixture(t *testing.T) *previewFixture {
	t.Helper()
	repo := newWorktreeRepo(t)
	day := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	at := func(n int) time.Time { return day.Add(time.Duration(n) * time.Hour) }
	anna := persona{ID: pvAnna, Name: "Anna", Role: "patient", Tags: []string{"tier: gold"}, Background: "Anna waits for surgery."}
	bert := persona{ID: pvBert, Name: "Bert", Role: "tenant", Background: "Bert disputes a bill."}
	repo.commit("alice@example.com", at(0), "add Anna and Bert", map[string]string{
		"personas/anna.yaml": anna.yaml(), "personas/bert.yaml": bert.yaml()})
	anna.Background = "Anna waits for knee surgery and is anxious."
	repo.commit("bob@example.com", at(1), "edit Anna", map[string]string{"personas/anna.yaml": anna.yaml()})
	repo.git("tag", "v1")
	fork := repo.commit("alice@example.com", at(2), "unit test", map[string]string{
		"unit_tests/anna.yaml": "persona_id: " + pvAnna + "\nname: anna test\n"})

	repo.git("checkout", "-q", "-b", "feature/new-callers")
	anna.Background = "Anna waits for knee surgery, calls twice a day."
	repo.commit("carol@example.com", at(3), "feature: edit Anna", map[string]string{"personas/anna.yaml": anna.yaml()})
	cleo := persona{ID: pvCleo, Name: "Cleo", Role: "caller", Background: "Cleo reports card fraud."}
	repo.commit("carol@example.com", at(4), "feature: add Cleo", map[string]string{
		"personas/cleo.yaml": cleo.yaml(), "personas/broken.yaml": "id: [oops\n"})
	repo.git("update-ref", "refs/pull/5/head", "HEAD")

	repo.git("checkout", "-q", "main")
	repo.commit("alice@example.com", at(5), "delete Bert", map[string]string{"personas/bert.yaml": deleteFile})
	repo.git("checkout", "-q", "-b", "rewritten", "v1")
	anna.Background = "Anna, rewritten."
	repo.commit("dave@example.com", at(6), "rewrite Anna", map[string]string{"personas/anna.yaml": anna.yaml()})
	repo.git("checkout", "-q", "main")
	return &previewFixture{repo: repo, ts: startServer(t, repo.dir, server.Config{}, serveOptions{poll: -1}), fork: fork}
}

// startRevServer serves the repository at rev alone, as `personas serve
// --rev` would.
func startRevServer(t *testing.T, repo, rev string) string {
	t.Helper()
	reg, err := registry.Open(registry.Options{Repo: repo, Rev: rev, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := reg.Refresh(ctx); err != nil {
		t.Fatalf("index %s: %v", rev, err)
	}
	srv := httptest.NewServer(server.New(server.Config{Registry: reg, Org: org}).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// rawGet is a GET without OpenAPI validation (the document's router
// matches {ref} only with its slashes escaped; TestPreviewAnswersMatchOpenAPI
// validates): status, ETag and body.
func rawGet(t *testing.T, u string, hdr ...string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("ETag"), body
}

// readPaths are the read endpoints compared between /ref/ and a server on the ref.
var readPaths = []string{
	apiBase + "/",
	apiBase,
	apiBase + "/" + q("limit", "1"),
	apiBase + "/" + q("sort_by", "-name", "include_deleted", "true"),
	apiBase + "/" + q("role", "patient"),
	apiBase + "/search" + q("query", "surgery"),
	apiBase + "/search" + q("query", "fraud card"),
	apiBase + "/problems",
	apiBase + "/" + pvAnna + "/version/",
	apiBase + "/" + pvAnna + "/version/" + q("limit", "1"),
	apiBase + "/" + pvBert + "/version/",
	apiBase + "/" + pvCleo + "/version/",
	apiBase + "/" + "ffffffffffffffffffffffff" + "/version/",
	apiBase + "/" + q("limit", "0"),
}

func TestPreviewEqualsServerOnTheRef(t *testing.T) {
	f := newPreviewFixture(t)
	cases := []struct{ name, ref string }{
		{"branch", "feature/new-callers"},
		{"branch, escaped slash", "feature%2Fnew-callers"},
		{"tag", "v1"},
		{"commit", f.fork},
		{"abbreviated commit", f.fork[:8]},
		{"pull request ref", "pull/5/head"},
		{"rewritten history", "rewritten"},
		{"served branch", "main"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref, _ := url.PathUnescape(c.ref)
			alone := startRevServer(t, f.repo.dir, ref)
			for _, p := range readPaths {
				gs, ge, gb := rawGet(t, f.ts.URL+"/ref/"+c.ref+p)
				ws, we, wb := rawGet(t, alone+p)
				if gs != ws || ge != we || !bytes.Equal(gb, wb) {
					t.Errorf("GET /ref/%s%s = %d %s %s\nserver on the ref alone: %d %s %s", c.ref, p, gs, ge, clip(gb), ws, we, clip(wb))
				}
			}
			// ETag revalidation
			_, etag, _ := rawGet(t, f.ts.URL+"/ref/"+c.ref+apiBase+"/")
			if st, _, _ := rawGet(t, f.ts.URL+"/ref/"+c.ref+apiBase+"/", "If-None-Match", etag); st != http.StatusNotModified {
				t.Errorf("If-None-Match %s under /ref/%s: status %d, want 304", etag, c.ref, st)
			}
		})
	}
}

func TestPreviewWritesAndUnknownRefs(t *testing.T) {
	f := newPreviewFixture(t)
	cl := newClient(t, f.ts.URL)
	for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
		for _, p := range []string{apiBase + "/", apiBase + "/" + pvAnna + "/", apiBase + "/" + pvAnna + "/version/", "/diff"} {
			r := cl.on(t).do(m, "/ref/pull/5/head"+p, map[string]string{"name": "x"})
			e := expectError(t, m+" under /ref/", r, http.StatusMethodNotAllowed, "MethodNotAllowedError")
			if !strings.Contains(e.Message, `"pull/5/head"`) || !strings.Contains(e.Message, "read-only") {
				t.Errorf("%s /ref/pull/5/head%s: message %q should name the ref and say read-only", m, p, e.Message)
			}
			if a := r.Header.Get("Allow"); a != "GET, HEAD" {
				t.Errorf("Allow = %q", a)
			}
		}
	}
	for _, c := range []struct{ ref, status, typ, mention string }{
		{"no-such-branch", "404", "NotFoundError", `"no-such-branch"`},
		{"pull/404/head", "404", "NotFoundError", `"pull/404/head"`},
		{"feature%2Fmissing", "404", "NotFoundError", `"feature/missing"`},
		{"main~1", "422", "ValidationError", "not allowed"},
	} {
		for _, p := range []string{apiBase + "/", "/diff"} {
			r := cl.on(t).get("/ref/" + c.ref + p)
			status := map[string]int{"404": 404, "422": 422}[c.status]
			e := expectError(t, "unknown ref", r, status, c.typ)
			if !strings.Contains(e.Message, c.mention) {
				t.Errorf("GET /ref/%s%s: message %q should mention %s", c.ref, p, e.Message, c.mention)
			}
		}
	}
	r := cl.get("/ref/main/elsewhere")
	expectError(t, "no endpoint under /ref/", r, http.StatusNotFound, "NotFoundError")
}

func TestPreviewDiff(t *testing.T) {
	f := newPreviewFixture(t)
	for _, ref := range []string{"feature/new-callers", "pull/5/head", "rewritten"} {
		t.Run(ref, func(t *testing.T) {
			want, err := registry.CompareRevisions(context.Background(), registry.DiffOptions{Repo: f.repo.dir, Branch: "main", Head: ref})
			if err != nil {
				t.Fatal(err)
			}
			st, _, body := rawGet(t, f.ts.URL+"/ref/"+ref+"/diff?format=json")
			wj, _ := json.Marshal(want)
			var got, wantV any
			json.Unmarshal(body, &got)
			json.Unmarshal(wj, &wantV)
			gj, _ := json.Marshal(got)
			wj, _ = json.Marshal(wantV)
			if st != http.StatusOK || !bytes.Equal(gj, wj) {
				t.Errorf("GET /ref/%s/diff = %d %s\npersonas diff: %s", ref, st, clip(body), clip(wj))
			}
			var md bytes.Buffer
			diffview.WriteMarkdown(&md, want)
			st, _, body = rawGet(t, f.ts.URL+"/ref/"+ref+"/diff?format=markdown")
			if st != http.StatusOK || string(body) != md.String() {
				t.Errorf("GET /ref/%s/diff?format=markdown = %d\n%s\npersonas diff --format markdown:\n%s", ref, st, body, md.String())
			}
		})
	}
	r := newClient(t, f.ts.URL).get("/ref/pull/5/head/diff?format=yaml")
	expectError(t, "bad format", r, http.StatusUnprocessableEntity, "ValidationError")
}

func TestPreviewFollowsBranch(t *testing.T) {
	f := newPreviewFixture(t)
	u := f.ts.URL + "/ref/feature%2Fnew-callers" + apiBase + "/" + pvCleo + "/version/"
	if st, _, _ := rawGet(t, u); st != http.StatusOK {
		t.Fatalf("GET %s: %d", u, st)
	}
	f.repo.git("checkout", "-q", "feature/new-callers")
	cleo := persona{ID: pvCleo, Name: "Cleo", Role: "caller", Background: "Cleo reports card fraud, again."}
	head := f.repo.commit("carol@example.com", time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), "feature: edit Cleo",
		map[string]string{"personas/cleo.yaml": cleo.yaml()})
	f.repo.git("checkout", "-q", "main")
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, etag, body := rawGet(t, u)
		if etag == `"`+head+`"` {
			var res struct {
				Versions []struct {
					Version int `json:"version"`
				} `json:"simulation_persona_versions"`
			}
			json.Unmarshal(body, &res)
			if len(res.Versions) != 2 {
				t.Errorf("after the push Cleo has %d versions on the branch, want 2: %s", len(res.Versions), clip(body))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the branch preview did not follow the new commit %s within 30s (ETag %s)", head, etag)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FuzzPreviewPath sends any path under /ref/ to the handler: no panic, no
// 500, and an answer is either a read of a ref that exists or a JSON error
// (404, 405, 422) naming the problem.
//
//	go test -run '^$' -fuzz '^FuzzPreviewPath$' -fuzztime 30s ./server
func FuzzPreviewPath(f *testing.F) {
	gittest.NeedGit(f)
	repo := newWorktreeRepo(f)
	repo.commit("alice@example.com", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), "add Anna", map[string]string{
		"personas/anna.yaml": persona{ID: pvAnna, Name: "Anna", Role: "patient", Background: "b"}.yaml()})
	repo.git("update-ref", "refs/pull/1/head", "HEAD")
	reg, err := registry.Open(registry.Options{Repo: repo.dir, NoCache: true, PollInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { reg.Close() })
	if _, err := reg.Refresh(context.Background()); err != nil {
		f.Fatal(err)
	}
	h := server.New(server.Config{Registry: reg, Org: org}).Handler()
	for _, s := range []string{"main/v1/default/simulation/persona/", "pull/1/head/v1/default/simulation/persona/search?query=a",
		"feature%2Fx/v1/default/simulation/persona/", "main/diff", "main/diff?format=markdown", "../v1/x", "main~1/v1/",
		"%zz/v1/default/simulation/persona/", "v1/v1/default/simulation/persona/problems", "HEAD/v1/default/simulation/persona/",
		"refs%2Fpull%2F1%2Fhead/v1/default/simulation/persona/" + pvAnna + "/version/", "ma%00in/diff", "a/b/c/"} {
		f.Add("GET", s)
	}
	f.Add("POST", "main/v1/default/simulation/persona/")
	f.Add("DELETE", "pull/1/head/diff")
	f.Fuzz(func(t *testing.T, method, rest string) {
		if method != "GET" && method != "HEAD" && method != "POST" && method != "PATCH" && method != "DELETE" {
			return
		}
		req, err := http.NewRequest(method, "http://x/ref/"+rest, nil)
		if err != nil {
			return // not a URL a client could send
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusNotModified:
			if method != "GET" && method != "HEAD" {
				t.Errorf("%s /ref/%s answered %d", method, rest, rec.Code)
			}
		case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnprocessableEntity, http.StatusBadRequest:
			var e struct{ Type, Message string }
			if method != "HEAD" && (json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Message == "") {
				t.Errorf("%s /ref/%s: %d without a JSON error: %q", method, rest, rec.Code, rec.Body.String())
			}
		default:
			t.Errorf("%s /ref/%s: status %d: %s", method, rest, rec.Code, rec.Body.String())
		}
	})
}
