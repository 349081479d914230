package server_test

// End-to-end tests of the read permission and scoped tokens (issue 11): a
// bare repository of two teams served with --require-auth-for-reads and a
// real tokens file; every response checked against openapi.json.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/personaregistry/personas/server"
)

// Persona ids of the two-team fixture.
const (
	idTeller  = "0000000000000000000000b1" // banking, account holder, alice
	idLoan    = "0000000000000000000000b2" // banking, account holder, alice, tier: gold
	idAuditor = "0000000000000000000000b3" // banking, auditor, alice
	idPatient = "0000000000000000000000d1" // health, patient, bob, ward: secretward7
	idCarer   = "0000000000000000000000d2" // health, caregiver, bob
	idVendor  = "0000000000000000000000f1" // no team, vendor, carol
)

// hidden values that only the health personas carry: a banking reader must
// never see them, not even in filter_values.
const (
	secretTag  = "ward:secretward7"
	healthRole = "patient"
)

// scopeGrants are the tokens of the fixture: name → grants.
var scopeGrants = map[string][]string{
	"perm-less": {server.PermCreate},
	"banking": {
		server.PermRead + " tag=team:banking", server.PermCreate + " tag=team:banking",
		server.PermModify + " tag=team:banking", server.PermDelete + " tag=team:banking",
	},
	"health":   {server.PermRead + " path=personas/health/**"},
	"reader":   {server.PermRead},
	"auditors": {server.PermRead + " role=auditor"},
	"multi":    {server.PermRead + " role=vendor", server.PermRead + " path=personas/health/**"},
	"bank-modify": {server.PermRead, server.PermModify + " tag=team:banking",
		server.PermCreate + " path=personas/*.yaml tag=team:banking"},
	"gold": {server.PermRead + " tag=team:banking tag=tier:gold"},
}

// scopeVisible is what each reading token may see, from the fixture above.
var scopeVisible = map[string][]string{
	"banking":     {idTeller, idLoan, idAuditor},
	"health":      {idPatient, idCarer},
	"reader":      {idTeller, idLoan, idAuditor, idPatient, idCarer, idVendor},
	"auditors":    {idAuditor},
	"multi":       {idPatient, idCarer, idVendor},
	"bank-modify": {idTeller, idLoan, idAuditor, idPatient, idCarer, idVendor},
	"gold":        {idLoan},
}

// scopeEnv is the served two-team fixture.
type scopeEnv struct {
	bare   *gitRepo
	ts     *testServer
	tokens map[string]string
	anon   *client
}

// as returns a client sending the named token.
func (e *scopeEnv) as(t *testing.T, name string) *client {
	t.Helper()
	if name == "" {
		return e.anon.on(t)
	}
	secret, ok := e.tokens[name]
	if !ok {
		t.Fatalf("no token %q", name)
	}
	return e.anon.on(t).withToken(secret)
}

func newScopeEnv(t *testing.T, requireAuth bool) *scopeEnv {
	t.Helper()
	return newScopeEnvWith(t, server.Config{RequireAuthForReads: requireAuth})
}

// sensitivePin is a sensitive variable of the teller and the patient.
const sensitivePin = "sensitive_user_variables:\n  pin: \"1234\"\n"

func newScopeEnvWith(t *testing.T, cfg server.Config) *scopeEnv {
	t.Helper()
	src := newWorktreeRepo(t)
	src.commit(alice, at(1), "Banking personas", map[string]string{
		"personas/banking/teller.yaml": persona{ID: idTeller, Name: "Bank Teller Caller", Role: "account holder",
			Tags: []string{"team: banking", "channel: voice"}, Background: "Calls about a blocked card."}.yaml() + sensitivePin,
		"personas/banking/loan.yaml": persona{ID: idLoan, Name: "Loan Applicant", Role: "account holder",
			Tags: []string{"team: banking", "tier: gold"}, Background: "Calls to ask about a loan."}.yaml(),
		"personas/shared/auditor.yaml": persona{ID: idAuditor, Name: "Branch Auditor", Role: "auditor",
			Tags: []string{"team: banking"}, Background: "Calls branches to check their books."}.yaml(),
	})
	src.commit(bob, at(2), "Health personas", map[string]string{
		"personas/health/patient.yaml": persona{ID: idPatient, Name: "Post Surgery Patient", Role: healthRole,
			Tags: []string{"team: health", "ward: secretward7"}, Background: "Calls the ward after surgery."}.yaml() + sensitivePin,
		"personas/health/carer.yaml": persona{ID: idCarer, Name: "Family Carer", Role: "caregiver",
			Tags: []string{"team: health"}, Background: "Calls for a parent."}.yaml(),
		"personas/health/broken.yaml": brokenFile,
	})
	src.commit(carol, at(3), "Vendor persona", map[string]string{
		"personas/vendor.yaml": persona{ID: idVendor, Name: "Vendor Runner", Role: "vendor",
			Background: "Calls from the vendor's test runner."}.yaml(),
		"personas/banking/broken.yaml": brokenFile,
	})
	bare := src.cloneBare()
	file := filepath.Join(t.TempDir(), "tokens.json")
	tokens := map[string]string{}
	for name, grants := range scopeGrants {
		secret, err := server.AddToken(file, server.Token{Name: name, Org: org, User: name + "@example.com", Permissions: grants})
		if err != nil {
			t.Fatalf("AddToken %s: %v", name, err)
		}
		tokens[name] = secret
	}
	auth, _, err := server.LoadAuth(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth = auth
	ts := startServer(t, bare.dir, cfg, serveOptions{watch: true})
	return &scopeEnv{bare: bare, ts: ts, tokens: tokens, anon: newClient(t, ts.URL)}
}

// sorted returns a sorted copy.
func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// listAll pages through the list with limit 1 and returns the ids, checking
// has_more and the continuation token of each page.
func listAll(t *testing.T, c *client, query string) []string {
	t.Helper()
	var got []string
	for token := 0; ; {
		var res listResponse
		c.getOK(fmt.Sprintf("%s/?limit=1&continuation_token=%d%s", apiBase, token, query), &res)
		got = append(got, ids(res.Personas)...)
		if !res.HasMore {
			if res.ContinuationToken != nil {
				t.Errorf("page %d: has_more false with continuation_token %d", token, *res.ContinuationToken)
			}
			return got
		}
		if len(res.Personas) != 1 || res.ContinuationToken == nil || *res.ContinuationToken != token+1 {
			t.Fatalf("page %d: %d personas, has_more with continuation_token %v, want 1 and %d", token, len(res.Personas), res.ContinuationToken, token+1)
		}
		token = *res.ContinuationToken
	}
}

// TestScopeReadMatrix: each read endpoint × {no token, token without the
// read permission, token scoped to other personas, token scoped to this
// persona, unscoped token}.
func TestScopeReadMatrix(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t, true)
	// "this persona" is the teller (banking); "other" is the health token.
	notFound := expectError(t, "unknown id", e.as(t, "reader").get(apiBase+"/"+idUnknown+"/version/"), 404, "NotFoundError")
	callers := []struct {
		name, token string
		status      int // 0: 200
		sees        bool
	}{
		{"no token", "", 401, false},
		{"token without the permission", "perm-less", 403, false},
		{"token scoped to other personas", "health", 0, false},
		{"token scoped to this persona", "banking", 0, true},
		{"unscoped token", "reader", 0, true},
	}
	endpoints := []struct {
		name string
		path string
		// seen reports whether the response shows the teller.
		seen func(t *testing.T, r *response) bool
	}{
		{"list", apiBase + "/?limit=50", func(t *testing.T, r *response) bool {
			var res listResponse
			r.decode(t, &res)
			return slices.Contains(ids(res.Personas), idTeller)
		}},
		{"list by id", apiBase + "/" + q("id", idTeller), func(t *testing.T, r *response) bool {
			var res listResponse
			r.decode(t, &res)
			return slices.Contains(ids(res.Personas), idTeller)
		}},
		{"filter_values", apiBase + "/", func(t *testing.T, r *response) bool {
			var res listResponse
			r.decode(t, &res)
			return slices.Contains(res.FilterValues.Tags, "channel:voice")
		}},
		{"search", apiBase + "/search" + q("query", "blocked card"), func(t *testing.T, r *response) bool {
			var res searchResponse
			r.decode(t, &res)
			return slices.Contains(ids(res.Personas), idTeller)
		}},
		{"versions", apiBase + "/" + idTeller + "/version/", func(t *testing.T, r *response) bool {
			if r.Status == http.StatusNotFound {
				er := expectError(t, "hidden persona", r, 404, "NotFoundError")
				if want := strings.ReplaceAll(notFound.Message, idUnknown, idTeller); er.Message != want {
					t.Errorf("404 of a hidden persona %q, want the unknown id's %q", er.Message, want)
				}
				return false
			}
			var res versionsResponse
			r.decode(t, &res)
			return len(res.Versions) == 1
		}},
		{"problems", apiBase + "/problems", func(t *testing.T, r *response) bool {
			var res problemsResponse
			r.decode(t, &res)
			return slices.ContainsFunc(res.Problems, func(p problem) bool { return p.Path == "personas/banking/broken.yaml" })
		}},
	}
	for _, ep := range endpoints {
		for _, cl := range callers {
			t.Run(ep.name+"/"+cl.name, func(t *testing.T) {
				r := e.as(t, cl.token).get(ep.path)
				switch {
				case cl.status == 401:
					expectError(t, cl.name, r, 401, "UnauthorizedError")
					return
				case cl.status == 403:
					expectError(t, cl.name, r, 403, "ForbiddenError")
					return
				case ep.name != "versions" || cl.sees:
					if r.Status != 200 {
						t.Fatalf("status %d, want 200: %s", r.Status, clip(r.Body))
					}
				}
				sees := cl.sees
				if ep.name == "problems" && cl.token == "banking" {
					sees = false // a tag scope cannot match a file that does not parse
				}
				if got := ep.seen(t, r); got != sees {
					t.Errorf("shows the banking persona: %v, want %v\n%s", got, sees, clip(r.Body))
				}
			})
		}
	}
}

// TestScopeListNeverLeaks: list, paging, search and filter_values of each
// scoped token show its personas only: ids, creators, tags, roles, counts.
func TestScopeListNeverLeaks(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t, true)
	for name, want := range scopeVisible {
		t.Run(name, func(t *testing.T) {
			c := e.as(t, name)
			if got := sorted(listAll(t, c, "")); !slices.Equal(got, sorted(want)) {
				t.Errorf("paged list: %v, want %v", got, sorted(want))
			}
			var res listResponse
			c.getOK(apiBase+"/?limit=50", &res)
			if got := sorted(ids(res.Personas)); !slices.Equal(got, sorted(want)) || res.HasMore {
				t.Errorf("list: %v (has_more %v), want %v", got, res.HasMore, sorted(want))
			}
			// filter_values are exactly the values of the visible personas.
			creators, tags, roles := map[string]bool{}, map[string]bool{}, map[string]bool{}
			for _, p := range res.Personas {
				creators[p.Creator.UserID] = true
				roles[p.Role] = true
				for k, v := range p.Tags {
					if v == nil {
						tags[k+":"] = true
					} else {
						tags[k+":"+*v] = true
					}
				}
			}
			fv := res.FilterValues
			var gotCreators []string
			for _, u := range fv.Creators {
				gotCreators = append(gotCreators, u.UserID)
			}
			for what, pair := range map[string][2][]string{
				"creators": {sorted(gotCreators), sortedKeys(creators)},
				"tags":     {fv.Tags, sortedKeys(tags)},
				"roles":    {fv.Roles, sortedKeys(roles)},
			} {
				if !slices.Equal(pair[0], pair[1]) {
					t.Errorf("filter_values.%s = %v, want %v", what, pair[0], pair[1])
				}
			}
			if !slices.Contains(want, idPatient) {
				if slices.Contains(fv.Tags, secretTag) || slices.Contains(fv.Roles, healthRole) || slices.Contains(gotCreators, bob) {
					t.Errorf("filter_values leak the health personas: %+v", fv)
				}
			}
			// search: every persona's background says "calls".
			var sr searchResponse
			c.getOK(apiBase+"/search"+q("query", "calls"), &sr)
			if got := sorted(ids(sr.Personas)); !slices.Equal(got, sorted(want)) {
				t.Errorf("search: %v, want %v", got, sorted(want))
			}
			// filtering by a hidden value finds nothing (and has no more).
			for _, query := range []string{"&tag=" + secretTag, "&creator=" + org + "," + bob, "&role=" + healthRole, "&id=" + idPatient} {
				got := listAll(t, c, query)
				if !slices.Contains(want, idPatient) && len(got) > 0 {
					t.Errorf("list %s: %v, want nothing", query, got)
				}
			}
			// versions: 200 for the visible, 404 for the rest.
			for _, id := range scopeVisible["reader"] {
				r := c.get(apiBase + "/" + id + "/version/")
				if vis := slices.Contains(want, id); vis && r.Status != 200 || !vis && r.Status != 404 {
					t.Errorf("versions of %s: %d, want visible=%v", id, r.Status, vis)
				}
			}
		})
	}
	// problems: a path scope sees the broken files under it, a tag scope none.
	for name, want := range map[string][]string{
		"reader":  {"personas/banking/broken.yaml", "personas/health/broken.yaml"},
		"health":  {"personas/health/broken.yaml"},
		"multi":   {"personas/health/broken.yaml"},
		"banking": nil,
	} {
		var res problemsResponse
		e.as(t, name).getOK(apiBase+"/problems", &res)
		var got []string
		for _, p := range res.Problems {
			got = append(got, p.Path)
		}
		if !slices.Equal(sorted(got), want) {
			t.Errorf("problems of %s: %v, want %v", name, got, want)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestScopeETag: callers with different scopes get different ETags; one
// scope's ETag never answers 304 to another.
func TestScopeETag(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t, true)
	all := e.as(t, "reader").getOK(apiBase+"/", nil).Header.Get("ETag")
	bank := e.as(t, "banking").getOK(apiBase+"/", nil).Header.Get("ETag")
	if all == "" || bank == "" || all == bank {
		t.Fatalf("ETags: unscoped %q, banking %q: want two different ones", all, bank)
	}
	if r := e.as(t, "banking").get(apiBase+"/", "If-None-Match", all); r.Status != 200 {
		t.Errorf("banking with the unscoped ETag: %d, want 200", r.Status)
	}
	if r := e.as(t, "banking").get(apiBase+"/", "If-None-Match", bank); r.Status != 304 {
		t.Errorf("banking with its own ETag: %d, want 304", r.Status)
	}
	// reads open: one view for all, the read scope does not apply.
	open := newScopeEnv(t, false)
	var res listResponse
	open.as(t, "banking").getOK(apiBase+"/?limit=50", &res)
	if len(res.Personas) != len(scopeVisible["reader"]) {
		t.Errorf("reads open: banking sees %v, want every persona", ids(res.Personas))
	}
}

// TestScopeWrites: a scoped writer cannot create outside its scope, retag a
// persona out of (or into) it, or version/delete outside it.
func TestScopeWrites(t *testing.T) {
	t.Parallel()
	for _, requireAuth := range []bool{true, false} {
		t.Run(fmt.Sprintf("require-auth-for-reads=%v", requireAuth), func(t *testing.T) {
			t.Parallel()
			e := newScopeEnv(t, requireAuth)
			// a persona the caller cannot read is 404 (existence hidden)
			// when reads need a token, else 403.
			hidden := 404
			hiddenType := "NotFoundError"
			if !requireAuth {
				hidden, hiddenType = 403, "ForbiddenError"
			}
			create := func(name, tags string) string {
				return fmt.Sprintf(`{"name": %q, "role": "account holder", "tags": %s, "initial_version": {"background": "b"}}`, name, tags)
			}
			cases := []struct {
				name, token, method, path, body string
				status                          int
				typ                             string
			}{
				{"create in scope", "banking", "POST", apiBase + "/", create("New Banker", `{"team": "banking"}`), 201, ""},
				{"create in another team", "banking", "POST", apiBase + "/", create("New Nurse", `{"team": "health"}`), 403, "ForbiddenError"},
				{"create without the scope's tag", "banking", "POST", apiBase + "/", create("New Nobody", `{}`), 403, "ForbiddenError"},
				{"create with a path scope, path matches", "bank-modify", "POST", apiBase + "/", create("Top Level Banker", `{"team": "banking"}`), 201, ""},
				{"create with a path scope, tag misses", "bank-modify", "POST", apiBase + "/", create("Top Level Nurse", `{"team": "health"}`), 403, "ForbiddenError"},
				{"retag in scope", "banking", "POST", apiBase + "/" + idTeller + "/", `{"tags": {"team": "banking", "channel": "chat"}}`, 204, ""},
				{"retag out of scope", "banking", "POST", apiBase + "/" + idLoan + "/", `{"tags": {"team": "health"}}`, 403, "ForbiddenError"},
				{"retag into scope, readable", "bank-modify", "POST", apiBase + "/" + idCarer + "/", `{"tags": {"team": "banking"}}`, 403, "ForbiddenError"},
				{"retag into scope, hidden", "banking", "POST", apiBase + "/" + idCarer + "/", `{"tags": {"team": "banking"}}`, hidden, hiddenType},
				{"version in scope", "banking", "POST", apiBase + "/" + idLoan + "/version/", `{"background": "Calls about a second loan."}`, 201, ""},
				{"version outside, readable", "bank-modify", "POST", apiBase + "/" + idPatient + "/version/", `{"background": "x"}`, 403, "ForbiddenError"},
				{"version outside, hidden", "banking", "POST", apiBase + "/" + idPatient + "/version/", `{"background": "x"}`, hidden, hiddenType},
				{"delete outside, hidden", "banking", "DELETE", apiBase + "/" + idCarer + "/", "", hidden, hiddenType},
				{"delete in scope", "banking", "DELETE", apiBase + "/" + idAuditor + "/", "", 204, ""},
				{"delete without the permission", "bank-modify", "DELETE", apiBase + "/" + idLoan + "/", "", 403, "ForbiddenError"},
			}
			for _, tc := range cases {
				before := e.bare.on(t).count()
				var body any
				if tc.body != "" {
					body = tc.body
				}
				r := e.as(t, tc.token).do(tc.method, tc.path, body)
				if tc.status >= 400 {
					er := expectError(t, tc.name, r, tc.status, tc.typ)
					if tc.status == 404 && (strings.Contains(er.Message, "Carer") || strings.Contains(er.Message, "Patient")) {
						t.Errorf("%s: the 404 names the hidden persona: %q", tc.name, er.Message)
					}
					if n := e.bare.on(t).count(); n != before {
						t.Errorf("%s: %d commits made, want none", tc.name, n-before)
					}
					continue
				}
				if r.Status != tc.status {
					t.Errorf("%s: status %d, want %d: %s", tc.name, r.Status, tc.status, clip(r.Body))
				}
			}
			// a name held by a hidden persona: 409 without its id.
			if requireAuth {
				r := e.as(t, "banking").do("POST", apiBase+"/", create("Family Carer", `{"team": "banking"}`))
				er := expectError(t, "hidden name", r, 409, "ConflictError")
				if strings.Contains(er.Message, idCarer) {
					t.Errorf("409 names the hidden persona's id: %q", er.Message)
				}
			}
		})
	}
}

// TestScopeCacheInterleaved: many tokens with different scopes read the
// same URLs at once; each answer must be the one of its own scope (the
// response cache is keyed by the read scope). Run with -race.
func TestScopeCacheInterleaved(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t, true)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range scopeVisible {
			if !yield(n) {
				return
			}
		}
	})
	const workers, perWorker = 8, 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := 0
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if failures++; failures <= 10 {
			t.Errorf(format, args...)
		}
	}
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for range perWorker {
				name := names[rng.IntN(len(names))]
				want := sorted(scopeVisible[name])
				c := e.anon.on(t).withToken(e.tokens[name])
				switch rng.IntN(4) {
				case 0:
					var res listResponse
					decodeInto(c.get(apiBase+"/?limit=50"), &res, fail)
					if got := sorted(ids(res.Personas)); !slices.Equal(got, want) {
						fail("%s list: %v, want %v", name, got, want)
					}
				case 1:
					page := rng.IntN(3)
					var res listResponse
					decodeInto(c.get(apiBase+"/?limit=1&continuation_token="+strconv.Itoa(page)), &res, fail)
					if page < len(want) && (len(res.Personas) != 1 || !slices.Contains(want, res.Personas[0].ID)) ||
						page >= len(want) && len(res.Personas) != 0 || res.HasMore != (page+1 < len(want)) {
						fail("%s page %d: %v has_more %v, want a page of %v", name, page, ids(res.Personas), res.HasMore, want)
					}
				case 2:
					var res searchResponse
					decodeInto(c.get(apiBase+"/search"+q("query", "calls")), &res, fail)
					if got := sorted(ids(res.Personas)); !slices.Equal(got, want) {
						fail("%s search: %v, want %v", name, got, want)
					}
				case 3:
					all := scopeVisible["reader"]
					id := all[rng.IntN(len(all))]
					r := c.get(apiBase + "/" + id + "/version/")
					if vis := slices.Contains(want, id); vis && r.Status != 200 || !vis && r.Status != 404 {
						fail("%s versions of %s: %d, want visible=%v", name, id, r.Status, vis)
					}
				}
			}
		})
	}
	wg.Wait()
}

// decodeInto decodes a 200 body, reporting through fail (safe on any goroutine).
func decodeInto(r *response, out any, fail func(string, ...any)) {
	if r.Status != http.StatusOK {
		fail("status %d: %s", r.Status, clip(r.Body))
		return
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		fail("decode: %v", err)
	}
}

// TestOpenAPIPermissions: every operation of the persona API names its
// permission (x-permission), the reads the read permission.
func TestOpenAPIPermissions(t *testing.T) {
	doc, _ := openAPISpec(t)
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		for method, op := range item.Operations() {
			perm, _ := op.Extensions["x-permission"].(string)
			if !slices.Contains(server.KnownPermissions, perm) {
				t.Errorf("%s %s: x-permission %q is not a known permission", method, path, perm)
			}
			if method == http.MethodGet && perm != server.PermRead {
				t.Errorf("%s %s: x-permission %q, want %s", method, path, perm, server.PermRead)
			}
		}
	}
}

// TestScopeRedaction: with --redact-sensitive, a scoped Modify permission
// shows the sensitive variables of the personas it covers only.
func TestScopeRedaction(t *testing.T) {
	t.Parallel()
	e := newScopeEnvWith(t, server.Config{RequireAuthForReads: true, RedactSensitive: true})
	for _, tc := range []struct {
		token, id string
		shown     bool
	}{
		{"bank-modify", idTeller, true},
		{"bank-modify", idPatient, false},
		{"banking", idTeller, true},
		{"reader", idTeller, false},
		{"reader", idPatient, false},
	} {
		var res versionsResponse
		e.as(t, tc.token).getOK(apiBase+"/"+tc.id+"/version/", &res)
		if len(res.Versions) != 1 {
			t.Fatalf("%s: %d versions of %s", tc.token, len(res.Versions), tc.id)
		}
		if got := res.Versions[0].SensitiveUserVariables["pin"] == "1234"; got != tc.shown {
			t.Errorf("%s reading %s: sensitive variables shown %v, want %v", tc.token, tc.id, got, tc.shown)
		}
	}
}
