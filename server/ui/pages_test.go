package ui_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/personaregistry/personas/server"
)

var (
	fixtureOnce sync.Once
	fixtureRepo *repo
)

// sharedRepo is the generated repository of the page tests that do not
// commit; built once per package run.
func sharedRepo(t *testing.T) *repo {
	t.Helper()
	fixtureOnce.Do(func() { fixtureRepo = newRepo(&onceTB{t}) })
	if fixtureRepo == nil {
		t.Skip("the shared repository could not be built (see the first test)")
	}
	return fixtureRepo.on(t)
}

// onceTB lets the shared fixture outlive the test that builds it: its temp
// directories are removed by TestMain.
type onceTB struct{ *testing.T }

func (o *onceTB) TempDir() string { return mkTemp(o.T) }

var rowID = regexp.MustCompile(`<tr data-id="([0-9a-f]{24})"`)

// pageIDs returns the persona ids of a catalog page, in order.
func pageIDs(body string) []string {
	ids := []string{}
	for _, m := range rowID.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestCatalogMatchesAPI: a catalog URL shows the personas the API answers
// for the same parameters, in the same order.
func TestCatalogMatchesAPI(t *testing.T) {
	r := sharedRepo(t)
	s := serve(t, r.dir, server.Config{})
	snap := s.Reg.Snapshot()
	fv := snap.FilterValues()
	word := strings.Fields(snap.Personas()[3].Latest().Background.String())[2]
	cases := []struct {
		name     string
		page     string // the catalog's query
		api      string // the API's query (list, or search when it starts with "search")
		minCount int
	}{
		{"default lists live personas", "", "?is_deleted=false", 10},
		{"tag", "tag=" + url.QueryEscape(fv.Tags[0]), "?is_deleted=false&tag=" + url.QueryEscape(fv.Tags[0]), 1},
		{"role", "role=" + url.QueryEscape(fv.Roles[0]), "?is_deleted=false&role=" + url.QueryEscape(fv.Roles[0]), 1},
		{"creator", "creator=" + url.QueryEscape(org+","+fv.Creators[0]), "?is_deleted=false&creator=" + url.QueryEscape(org+","+fv.Creators[0]), 1},
		{"sorted by name descending", "sort_by=-name", "?is_deleted=false&sort_by=-name", 10},
		{"second page", "limit=10&continuation_token=10", "?is_deleted=false&limit=10&continuation_token=10", 10},
		{"deleted only", "is_deleted=true", "?is_deleted=true", 1},
		{"live and deleted", "is_deleted=any", "?", 10},
		{"empty form fields are ignored", "role=&creator=&tag=&query=", "?is_deleted=false", 10},
		{"search ranks like the API", "query=" + url.QueryEscape(word), "search?query=" + url.QueryEscape(word), 1},
		{"search with a role", "query=" + url.QueryEscape(word) + "&role=" + url.QueryEscape(fv.Roles[0]),
			"search?query=" + url.QueryEscape(word) + "&role=" + url.QueryEscape(fv.Roles[0]), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := get(t, s.URL+"/?"+tc.page)
			if status != http.StatusOK {
				t.Fatalf("GET /?%s: %d\n%s", tc.page, status, body)
			}
			got, want := pageIDs(body), apiIDs(t, s.URL+apiBase+tc.api)
			if !slices.Equal(got, want) {
				t.Errorf("catalog /?%s shows %v\nthe API %s answers %v", tc.page, got, tc.api, want)
			}
			if len(got) < tc.minCount {
				t.Errorf("only %d personas: the case tests little", len(got))
			}
		})
	}
}

// TestPages checks each page's status, headers and key content over HTTP.
func TestPages(t *testing.T) {
	r := sharedRepo(t)
	s := serve(t, r.dir, server.Config{WebURL: "https://git.example.com/org/personas/"})
	v2 := r.git("rev-list", "-n1", "HEAD~3")
	v2yaml := r.git("show", v2+":personas/dana.yaml")
	var deleted string
	var deletedBy string
	for _, p := range s.Reg.Snapshot().Personas() {
		if p.IsDeleted {
			deleted, deletedBy = p.ID, p.UpdatedCommit
			break
		}
	}
	if deleted == "" {
		t.Fatal("the generated repository has no deleted persona")
	}
	cases := []struct {
		name   string
		path   string
		status int
		want   []string
		not    []string
	}{
		{"catalog", "/", 200, []string{"<h1>Personas</h1>", `name="tag"`, "Dana Commuter", `href="/problems"`}, nil},
		{"persona", "/personas/" + danaID, 200, []string{"Dana Commuter", "English — eng", "Europe/Berlin (UTC&#43;0",
			"unit_tests/dana-refund.yaml", "personas/dana.yaml", "4711", danaBackgrounds[2], `href="https://git.example.com/org/personas/commit/`,
			`/personas/` + danaID + `/versions/1`, "Version 3"}, nil},
		{"compare", "/personas/" + danaID + "/compare?from=1&to=3", 200,
			[]string{"<del>a calm</del>", "<ins>an impatient</ins>", "<del>early</del>", "<ins>late</ins>"}, nil},
		{"compare same", "/personas/" + danaID + "/compare?from=2&to=2", 200, []string{"The background is the same"}, []string{"<del>", "<ins>"}},
		{"compare out of range", "/personas/" + danaID + "/compare?from=1&to=9", 422, []string{"to &#34;9&#34;: want a version from 1 to 3"}, nil},
		{"version yaml as in git", "/personas/" + danaID + "/versions/2", 200, []string{html.EscapeString(v2yaml)}, nil},
		{"deleted persona", "/personas/" + deleted, 200, []string{`<div class="banner deleted"`, "commit/" + deletedBy}, nil},
		{"unknown persona", "/personas/ffffffffffffffffffffffff", 404, []string{"no persona with id"}, nil},
		{"bad sort", "/?sort_by=shoe-size", 422, []string{"sort_by"}, nil},
		{"problems", "/problems", 200, []string{brokenPath + ":7:", "Mars/Olympus_Mons"}, nil},
		{"static css", "/ui/static/style.css", 200, []string{"prefers-color-scheme: dark"}, nil},
		{"sign-in without tokens", "/ui/signin", 404, []string{"no tokens"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, body := getPage(t, s.URL, tc.path, tc.status, tc.want)
			for _, w := range tc.not {
				if strings.Contains(body, w) {
					t.Errorf("GET %s: unexpected %q", tc.path, w)
				}
			}
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
			}
			for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
				if !strings.Contains(tag, `src="/ui/static/`) {
					t.Errorf("GET %s: inline or foreign script %s", tc.path, tag)
				}
			}
			if strings.Contains(body, "http://") || strings.Contains(body, `src="https://`) || strings.Contains(body, `href="//`) {
				t.Errorf("GET %s: loads something from another site", tc.path)
			}
		})
	}
}

// token makes a token with the permissions; it returns the Auth and the secret.
func token(name string, perms ...string) (server.Token, string) {
	secret := "prs_test_" + name
	sum := sha256.Sum256([]byte(secret))
	return server.Token{Name: name, Org: org, User: name + "@example.com", Permissions: perms, SHA256: hex.EncodeToString(sum[:])}, secret
}

// TestSignInAndRedaction: with read auth every page asks for a token; the
// token goes into an HttpOnly SameSite=Strict cookie; sensitive variables
// are hidden from tokens that may not modify personas.
func TestSignInAndRedaction(t *testing.T) {
	r := sharedRepo(t)
	reader, readerSecret := token("reader", server.PermRead)
	editor, editorSecret := token("editor", server.PermRead, server.PermModify)
	s := serve(t, r.dir, server.Config{Auth: newAuth(reader, editor), RequireAuthForReads: true, RedactSensitive: true})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := noRedirect.Get(s.URL + "/personas/" + danaID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "/ui/signin?next=%2Fpersonas%2F" + danaID; resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("anonymous persona page: %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	status, _, body := get(t, s.URL+"/ui/signin?next=%2Fpersonas%2F"+danaID)
	if status != http.StatusOK || !strings.Contains(body, `action="/ui/signin"`) || !strings.Contains(body, `value="/personas/`+danaID+`"`) || strings.Contains(body, "Dana") {
		t.Fatalf("sign-in page: %d, want the form with next and nothing of the persona\n%s", status, body)
	}
	if status, _, _ := get(t, s.URL+"/ui/head"); status != http.StatusUnauthorized {
		t.Errorf("anonymous /ui/head: %d, want 401", status)
	}
	signIn := func(secret, next string) *http.Response {
		t.Helper()
		resp, err := noRedirect.PostForm(s.URL+"/ui/signin", url.Values{"token": {secret}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := signIn("prs_wrong", "/"); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) > 0 {
		t.Errorf("wrong token: %d with cookies %v, want 401 and none", resp.StatusCode, resp.Cookies())
	}
	if resp := signIn(readerSecret, "//evil.example.com/"); resp.Header.Get("Location") != "/" {
		t.Errorf("next=//evil.example.com/ redirects to %q, want /", resp.Header.Get("Location"))
	}
	cases := []struct {
		name, secret string
		see          bool
	}{{"reader", readerSecret, false}, {"editor", editorSecret, true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := signIn(tc.secret, "/personas/"+danaID)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/personas/"+danaID {
				t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			var c *http.Cookie
			for _, k := range resp.Cookies() {
				if k.Name == "personas_token" {
					c = k
				}
			}
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Value != tc.secret || c.Path != "/" {
				t.Fatalf("cookie %+v: want personas_token, HttpOnly, SameSite=Strict, Path=/", c)
			}
			status, _, body := get(t, s.URL+"/personas/"+danaID, "Cookie", c.String())
			if status != http.StatusOK || !strings.Contains(body, "signed in as <b>"+tc.name+"</b>") {
				t.Fatalf("signed-in persona page: %d\n%s", status, body)
			}
			if got := strings.Contains(body, "4711"); got != tc.see {
				t.Errorf("sensitive value shown: %v, want %v", got, tc.see)
			}
			if !tc.see && !strings.Contains(body, "1 hidden") {
				t.Errorf("hidden sensitive variables are not counted")
			}
			_, _, yaml := get(t, s.URL+"/personas/"+danaID+"/versions/3", "Cookie", c.String())
			if got := strings.Contains(yaml, "4711"); got != tc.see {
				t.Errorf("raw YAML shows the sensitive value: %v, want %v", got, tc.see)
			}
			out, err := noRedirect.Post(s.URL+"/ui/signout", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			out.Body.Close()
			if len(out.Cookies()) != 1 || out.Cookies()[0].MaxAge >= 0 {
				t.Errorf("sign-out does not clear the cookie: %v", out.Cookies())
			}
		})
	}
}

// TestScopedTokenPages: with read auth, a token whose read permission is
// scoped to one role sees in the catalog exactly what the API lists for it
// (rows, paging and filter values of its personas only), other personas'
// pages answer 404, and a token without the read permission cannot sign in.
func TestScopedTokenPages(t *testing.T) {
	r := sharedRepo(t)
	commuter, commuterSecret := token("commuter", server.PermRead+" role=commuter")
	writer, writerSecret := token("writer", server.PermModify)
	s := serve(t, r.dir, server.Config{Auth: newAuth(commuter, writer), RequireAuthForReads: true})
	cookie := "personas_token=" + commuterSecret

	status, _, body := get(t, s.URL+"/?limit=50", "Cookie", cookie)
	if status != http.StatusOK {
		t.Fatalf("catalog: %d\n%s", status, body)
	}
	got := pageIDs(body)
	status, _, api := get(t, s.URL+apiBase+"?is_deleted=false&limit=50", "Authorization", "Bearer "+commuterSecret)
	if status != http.StatusOK {
		t.Fatalf("API list with the scoped token: %d %s", status, api)
	}
	var list struct {
		Personas []struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		} `json:"simulation_personas"`
	}
	if err := json.Unmarshal([]byte(api), &list); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range list.Personas {
		if p.Role != "commuter" {
			t.Errorf("the API shows the scoped token %s of role %q", p.ID, p.Role)
		}
		want = append(want, p.ID)
	}
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("the scoped catalog shows %v, the API lists %v for the same token", got, want)
	}
	var other string
	for _, p := range s.Reg.Snapshot().Personas() {
		if p.Role != "commuter" && !p.IsDeleted {
			other = p.ID
			if strings.Contains(body, ">"+p.Role+"<") {
				t.Errorf("the scoped catalog offers role %q of a persona it may not read", p.Role)
			}
		}
	}
	if other == "" {
		t.Fatal("the repository has no persona of another role")
	}
	if status, _, page := get(t, s.URL+"/personas/"+other, "Cookie", cookie); status != http.StatusNotFound {
		t.Errorf("a persona outside the scope: %d, want 404\n%s", status, page)
	}
	if status, _, _ := get(t, s.URL+"/personas/"+danaID, "Cookie", cookie); status != http.StatusOK {
		t.Errorf("a persona inside the scope: %d, want 200", status)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(s.URL+"/ui/signin", url.Values{"token": {writerSecret}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) > 0 {
		t.Errorf("sign-in with a token lacking %s: %d with cookies %v, want 401 and none", server.PermRead, resp.StatusCode, resp.Cookies())
	}
}

// getPage GETs base+path, fails the test unless the status is status, and
// reports each of want the body lacks; it returns the header and body.
func getPage(t *testing.T, base, path string, status int, want []string) (http.Header, string) {
	t.Helper()
	got, h, body := get(t, base+path)
	if got != status {
		t.Fatalf("GET %s: %d, want %d\n%s", path, got, status, body)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("GET %s: no %q in\n%s", path, w, body)
		}
	}
	return h, body
}
