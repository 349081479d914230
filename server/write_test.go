package server_test

// End-to-end tests of the writes (issue "writes"): a bare clone of a
// fixture repository served with a tokens file, real HTTP requests, every
// response checked against openapi.json, and the resulting commits read
// back with the git CLI.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry/gittest"
	"github.com/personaregistry/personas/server"
)

// Persona ids of the write fixture.
const (
	idCommented  = "0000000000000000000000a1" // comments in its file
	idReferenced = "0000000000000000000000a2" // a unit test references it
	idGone       = "0000000000000000000000a3" // deleted in the fixture
	idTarget     = "0000000000000000000000a4" // the concurrency target
)

const (
	writer        = "ana@example.com" // all permissions
	keptComment   = "# Kept by every API edit: do not remove."
	inlineComment = "# inline comment on a tag"
)

// commentedYAML is a file with comments the API must keep.
var commentedYAML = persona{ID: idCommented, Name: "Commented Persona", Role: "customer",
	Head: keptComment + "\n", Tags: []string{"channel: chat   " + inlineComment, "tier:"},
	Background: "Calls about a lost parcel.", Language: "eng"}.yaml()

// exampleCreate is the example body of the documentation: no user_models,
// no variables.
const exampleCreate = `{"name": "Hurried Commuter", "role": "customer", "tags": {"channel": "voice"},
  "initial_version": {"background": "Calls from a train; the line keeps dropping."}}`

var idRE = regexp.MustCompile(`^[a-f0-9]{24}$`)

// writeEnv is a bare repository served with tokens.
type writeEnv struct {
	t      *testing.T
	bare   *gitRepo
	ts     *testServer
	tokens map[string]string // token name → secret
	// c sends requests as the writer (all permissions).
	c *client
	// anon sends requests without credentials.
	anon *client
}

// newWriteEnv builds the fixture, clones it bare and serves it. mod, when
// not nil, changes the server's config.
func newWriteEnv(t *testing.T, mod func(*server.Config)) *writeEnv {
	t.Helper()
	src := newWorktreeRepo(t)
	src.commit(alice, at(1), "Add the write fixture", map[string]string{
		"personas/commented.yaml": commentedYAML,
		"personas/referenced.yaml": persona{ID: idReferenced, Name: "Referenced Persona", Role: "patient",
			Background: "A unit test talks to this persona."}.yaml(),
		"personas/target.yaml": persona{ID: idTarget, Name: "Concurrency Target", Role: "customer",
			Tags: []string{"load: high"}, Background: "Version 1 of the target."}.yaml(),
		"personas/gone.yaml":         persona{ID: idGone, Name: "Gone Persona", Role: "customer", Background: "Soon deleted."}.yaml(),
		"unit_tests/referenced.yaml": "persona_id: " + idReferenced + "\nname: Talks to the referenced persona\n",
	})
	src.commit(bob, at(2), "Delete the gone persona", map[string]string{"personas/gone.yaml": deleteFile})
	bare := src.cloneBare()

	file := filepath.Join(t.TempDir(), "tokens.json")
	tokens := map[string]string{}
	for _, tok := range []server.Token{
		{Name: "writer", Org: org, User: writer, Permissions: []string{server.PermRead, server.PermCreate, server.PermModify, server.PermDelete}},
		{Name: "reader", Org: org, User: "rita@example.com", Permissions: []string{server.PermRead}},
		{Name: "creator", Org: org, User: "cleo@example.com", Permissions: []string{server.PermCreate}},
		{Name: "modifier", Org: org, User: "mo@example.com", Permissions: []string{server.PermModify}},
		{Name: "nothing", Org: org, User: "nora@example.com"},
		{Name: "other-org", Org: "acme", User: writer, Permissions: []string{server.PermCreate, server.PermModify, server.PermDelete}},
	} {
		secret, err := server.AddToken(file, tok)
		if err != nil {
			t.Fatalf("AddToken %s: %v", tok.Name, err)
		}
		tokens[tok.Name] = secret
	}
	auth, warn, err := server.LoadAuth(file)
	if err != nil {
		t.Fatal(err)
	}
	if warn != "" {
		t.Errorf("LoadAuth warns about a file AddToken wrote: %s", warn)
	}
	cfg := server.Config{Auth: auth}
	if mod != nil {
		mod(&cfg)
	}
	ts := startServer(t, bare.dir, cfg, serveOptions{watch: true})
	anon := newClient(t, ts.URL)
	return &writeEnv{t: t, bare: bare, ts: ts, tokens: tokens, c: anon.withToken(tokens["writer"]), anon: anon}
}

// expectCommit asserts that exactly one commit was made since before, by
// the writer, with the subject prefix and the Persona-Id trailer.
func (e *writeEnv) expectCommit(t *testing.T, before int, subjectPrefix, id string) {
	t.Helper()
	if n := e.bare.on(t).count(); n != before+1 {
		t.Errorf("%d commits made, want exactly 1", n-before)
		return
	}
	e.checkCommit(t, "refs/heads/main", writer, subjectPrefix, id)
}

// checkCommit asserts the author, subject prefix and Persona-Id trailer of
// one commit.
func (e *writeEnv) checkCommit(t *testing.T, rev, author, subjectPrefix, id string) {
	t.Helper()
	out := e.bare.on(t).git("log", "-1", "--format=%ae%n%s%n%(trailers:key=Persona-Id,valueonly,separator=%x2C)", rev)
	lines := strings.Split(out, "\n")
	for len(lines) < 3 {
		lines = append(lines, "")
	}
	if lines[0] != author {
		t.Errorf("commit %s: author %q, want %q", rev, lines[0], author)
	}
	if !strings.HasPrefix(lines[1], subjectPrefix) {
		t.Errorf("commit %s: subject %q, want the prefix %q", rev, lines[1], subjectPrefix)
	}
	if strings.TrimSpace(lines[2]) != id {
		t.Errorf("commit %s: Persona-Id trailer %q, want %q\n%s", rev, lines[2], id, e.bare.on(t).git("log", "-1", "--format=%B", rev))
	}
}

// expectNoCommit asserts that the branch did not move.
func (e *writeEnv) expectNoCommit(t *testing.T, before int) {
	t.Helper()
	if n := e.bare.on(t).count(); n != before {
		t.Errorf("%d commits made, want none", n-before)
	}
}

// fsck asserts the repository is clean.
func (e *writeEnv) fsck() {
	e.t.Helper()
	if out, err := gittest.Try(e.bare.dir, defaultGitEnv, "", "fsck", "--strict", "--no-progress"); err != nil {
		e.t.Errorf("git fsck --strict: %v\n%s", err, out)
	}
}

// show returns the file at main, "" when it is missing.
func (e *writeEnv) show(path string) string {
	e.t.Helper()
	out, err := gittest.Try(e.bare.dir, defaultGitEnv, "", "show", "refs/heads/main:"+path)
	if err != nil {
		return ""
	}
	return out
}

// persona reads one persona through the list endpoint.
func (e *writeEnv) persona(t *testing.T, id string) instance {
	t.Helper()
	var res listResponse
	e.anon.on(t).getOK(apiBase+"/"+q("id", id), &res)
	if len(res.Personas) != 1 {
		t.Fatalf("list ?id=%s: %v", id, ids(res.Personas))
	}
	return res.Personas[0]
}

// versions reads every version of a persona (pages of 10).
func (e *writeEnv) versions(t *testing.T, id string) []version {
	t.Helper()
	var all []version
	for token := 0; ; {
		var res versionsResponse
		e.anon.on(t).getOK(apiBase+"/"+id+"/version/"+q("continuation_token", strconv.Itoa(token)), &res)
		all = append(all, res.Versions...)
		if !res.HasMore {
			return all
		}
		token = *res.ContinuationToken
	}
}

func TestWriteCreate(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t, nil)
	defer e.fsck()

	t.Run("the documented example, then read at once", func(t *testing.T) {
		before := e.bare.on(t).count()
		r := e.c.on(t).do("POST", apiBase+"/", exampleCreate)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var created struct {
			ID string `json:"simulation_persona_id"`
		}
		r.decode(t, &created)
		if !idRE.MatchString(created.ID) {
			t.Fatalf("simulation_persona_id %q", created.ID)
		}
		e.expectCommit(t, before, "Create persona Hurried Commuter", created.ID)
		head := e.bare.on(t).head()
		// Read-your-writes: the very next request sees it.
		p := e.persona(t, created.ID)
		if p.Name != "Hurried Commuter" || p.Role != "customer" || p.IsDeleted || p.Creator != (userInfo{org, writer}) ||
			p.UpdatedBy != (userInfo{org, writer}) || len(p.Tags) != 1 || p.Tags["channel"] == nil || *p.Tags["channel"] != "voice" {
			t.Errorf("created persona = %+v", p)
		}
		vs := e.versions(t, created.ID)
		if len(vs) != 1 {
			t.Fatalf("versions = %+v, want version 1", vs)
		}
		v := vs[0]
		if v.Version != 1 || v.Background != "Calls from a train; the line keeps dropping." || v.PreferredLanguage != nil ||
			v.Timezone != nil || len(v.UserModels) != 0 || len(v.NonsensitiveUserVariables) != 0 ||
			len(v.SensitiveUserVariables) != 0 || v.Commit != head || v.Creator != (userInfo{org, writer}) {
			t.Errorf("version 1 = %+v (head %s)", v, head)
		}
		file := e.show("personas/hurried-commuter.yaml")
		if !strings.Contains(file, "id: "+created.ID) {
			t.Errorf("personas/hurried-commuter.yaml at main:\n%s", file)
		}
		if lr := e.anon.on(t).get(apiBase + "/"); !strings.Contains(lr.Header.Get("ETag"), head) {
			t.Errorf("ETag %q after the write, want the new head %s", lr.Header.Get("ETag"), head)
		}
	})

	t.Run("every field", func(t *testing.T) {
		before := e.bare.on(t).count()
		body := map[string]any{"name": "  Full Persona  ", "role": "patient", "tags": map[string]any{"tier": "gold", "flag": nil},
			"initial_version": map[string]any{"background": "Has every field set.", "preferred_language": "spa",
				"timezone": "Europe/Madrid", "user_models": []string{"terse"},
				"nonsensitive_user_variables": map[string]string{"plan": "basic"},
				"sensitive_user_variables":    map[string]string{"pin": "0000"}}}
		r := e.c.on(t).do("POST", apiBase, body) // no trailing slash
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var created struct {
			ID string `json:"simulation_persona_id"`
		}
		r.decode(t, &created)
		e.expectCommit(t, before, "Create persona Full Persona", created.ID)
		p := e.persona(t, created.ID)
		if p.Name != "Full Persona" || p.Tags["tier"] == nil || *p.Tags["tier"] != "gold" {
			t.Errorf("persona = %+v", p)
		}
		if v, ok := p.Tags["flag"]; !ok || v != nil {
			t.Errorf("tag flag = %v %v, want null", v, ok)
		}
		vs := e.versions(t, created.ID)
		if len(vs) != 1 || vs[0].PreferredLanguage == nil || *vs[0].PreferredLanguage != "spa" || vs[0].Timezone == nil ||
			*vs[0].Timezone != "Europe/Madrid" || !slices.Equal(vs[0].UserModels, []string{"terse"}) ||
			vs[0].NonsensitiveUserVariables["plan"] != "basic" || vs[0].SensitiveUserVariables["pin"] != "0000" {
			t.Errorf("versions = %+v", vs)
		}
	})

	t.Run("409 on a live name", func(t *testing.T) {
		for _, name := range []string{"Commented Persona", "  Commented Persona ", "Hurried Commuter"} {
			before := e.bare.on(t).count()
			body := map[string]any{"name": name, "role": "x", "tags": map[string]any{}, "initial_version": map[string]any{"background": "b"}}
			expectError(t, "create "+name, e.c.on(t).do("POST", apiBase+"/", body), http.StatusConflict, "ConflictError")
			e.expectNoCommit(t, before)
		}
	})

	t.Run("the name of a deleted persona is free", func(t *testing.T) {
		before := e.bare.on(t).count()
		body := map[string]any{"name": "Gone Persona", "role": "x", "tags": map[string]any{}, "initial_version": map[string]any{"background": "Back again."}}
		r := e.c.on(t).do("POST", apiBase+"/", body)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var created struct {
			ID string `json:"simulation_persona_id"`
		}
		r.decode(t, &created)
		if created.ID == idGone {
			t.Errorf("the deleted persona's id was reused")
		}
		e.expectCommit(t, before, "Create persona Gone Persona", created.ID)
	})

	t.Run("422", func(t *testing.T) {
		valid := func() map[string]any {
			return map[string]any{"name": "Valid Name", "role": "customer", "tags": map[string]any{"tier": "gold"},
				"initial_version": map[string]any{"background": "A valid background."}}
		}
		iv := func(b map[string]any) map[string]any { return b["initial_version"].(map[string]any) }
		manyTags := map[string]any{}
		for i := range 21 {
			manyTags[fmt.Sprintf("tag%d", i)] = "v"
		}
		cases := []struct {
			name string
			body any // map edited from valid(), or a raw string
			loc  string
			msg  string // a word the message must contain
		}{
			{"bad tag key", func() any { b := valid(); b["tags"] = map[string]any{"bad-key!": "x"}; return b }(), "body.tags", ""},
			{"bad tag value", func() any { b := valid(); b["tags"] = map[string]any{"tier": "gold!"}; return b }(), "body.tags", ""},
			{"21 tags", func() any { b := valid(); b["tags"] = manyTags; return b }(), "body.tags", ""},
			{"language en", func() any { b := valid(); iv(b)["preferred_language"] = "en"; return b }(), "body.initial_version.preferred_language", "eng"},
			{"unknown timezone", func() any { b := valid(); iv(b)["timezone"] = "Mars/Olympus_Mons"; return b }(), "body.initial_version.timezone", ""},
			{"bad variable key", func() any {
				b := valid()
				iv(b)["nonsensitive_user_variables"] = map[string]string{"Bad-Key": "x"}
				return b
			}(), "body.initial_version.nonsensitive_user_variables", ""},
			{"missing background", func() any { b := valid(); delete(iv(b), "background"); return b }(), "body.initial_version.background", ""},
			{"blank background", func() any { b := valid(); iv(b)["background"] = "  \n"; return b }(), "body.initial_version.background", ""},
			{"missing initial_version", func() any { b := valid(); delete(b, "initial_version"); return b }(), "body.initial_version", ""},
			{"missing name", func() any { b := valid(); delete(b, "name"); return b }(), "body.name", ""},
			{"blank role", func() any { b := valid(); b["role"] = " "; return b }(), "body.role", ""},
			{"wrong JSON type: name", func() any { b := valid(); b["name"] = 5; return b }(), "body.name", ""},
			{"wrong JSON type: tags", func() any { b := valid(); b["tags"] = "gold"; return b }(), "body.tags", ""},
			{"wrong JSON type: user_models", func() any { b := valid(); iv(b)["user_models"] = "terse"; return b }(), "body.initial_version.user_models", ""},
			{"wrong JSON type: background", func() any { b := valid(); iv(b)["background"] = []int{1}; return b }(), "body.initial_version.background", ""},
			{"unknown field", func() any { b := valid(); b["colour"] = "red"; return b }(), "body.colour", ""},
			{"not JSON", "{name: x", "body", ""},
			{"empty body", "", "body", ""},
			{"an array", "[]", "body", ""},
			{"trailing data", `{"name": "A", "role": "r", "tags": {}, "initial_version": {"background": "b"}} {}`, "body", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := e.bare.on(t).count()
				body := tc.body
				if s, ok := body.(string); ok && s == "" {
					body = []byte{}
				}
				er := expectError(t, "create", e.c.on(t).do("POST", apiBase+"/", body), http.StatusUnprocessableEntity, "ValidationError")
				if !hasLocPrefix(er.locs(), tc.loc) {
					t.Errorf("errors[].loc = %v, want %s", er.locs(), tc.loc)
				}
				if tc.msg != "" && !strings.Contains(er.Message, tc.msg) {
					t.Errorf("message %q does not mention %q", er.Message, tc.msg)
				}
				e.expectNoCommit(t, before)
			})
		}
		t.Run("body over 1 MiB", func(t *testing.T) {
			before := e.bare.on(t).count()
			b := valid()
			iv(b)["background"] = strings.Repeat("long ", 1<<18)
			expectError(t, "create", e.c.on(t).do("POST", apiBase+"/", b), http.StatusRequestEntityTooLarge, "RequestEntityTooLargeError")
			e.expectNoCommit(t, before)
		})
		t.Run("unknown field inside initial_version", func(t *testing.T) {
			b := valid()
			iv(b)["mood"] = "grumpy"
			er := expectError(t, "create", e.c.on(t).do("POST", apiBase+"/", b), http.StatusUnprocessableEntity, "ValidationError")
			if !slices.Contains(er.locs(), "body.initial_version.mood") {
				t.Fatalf("BUG: errors[].loc = %v for an unknown field inside initial_version, want body.initial_version.mood: "+
					"server/write.go bodyError takes the name from encoding/json's message, which has no path", er.locs())
			}
		})
	})
}

// hasLocPrefix reports whether one of locs is want or lies below it.
func hasLocPrefix(locs []string, want string) bool {
	for _, l := range locs {
		if l == want || strings.HasPrefix(l, want+".") {
			return true
		}
	}
	return false
}

func TestWriteNewVersion(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t, nil)
	defer e.fsck()
	vpath := apiBase + "/" + idCommented + "/version/"

	steps := []struct {
		name   string
		path   string
		body   string
		status int
		typ    string // error type
		want   int    // version made
	}{
		{"new version", vpath, `{"background": "Calls about a lost parcel, again."}`, 201, "", 2},
		{"?version=N, the next", vpath + "?version=3", `{"background": "Third.", "preferred_language": "eng"}`, 201, "", 3},
		{"no trailing slash", strings.TrimSuffix(vpath, "/") + "?version=4", `{"background": "Fourth.", "timezone": "Europe/Paris"}`, 201, "", 4},
		{"?version=N taken", vpath + "?version=4", `{"background": "Not next."}`, 400, "BadRequestError", 0},
		{"?version=N skips one", vpath + "?version=6", `{"background": "Not next."}`, 400, "BadRequestError", 0},
		{"identical to the latest", vpath, `{"background": "Fourth.", "timezone": "Europe/Paris"}`, 409, "ConflictError", 0},
		{"identical once defaults apply", vpath, `{"background": "Fourth.", "timezone": "Europe/Paris", "preferred_language": null,
			"user_models": [], "nonsensitive_user_variables": {}, "sensitive_user_variables": {}}`, 409, "ConflictError", 0},
		{"identical to an older version is new", vpath, `{"background": "Third.", "preferred_language": "eng"}`, 201, "", 5},
		{"unknown persona", apiBase + "/" + idUnknown + "/version/", `{"background": "x"}`, 404, "NotFoundError", 0},
		{"deleted persona", apiBase + "/" + idGone + "/version/", `{"background": "x"}`, 404, "NotFoundError", 0},
		{"bad path id", apiBase + "/nothex/version/", `{"background": "x"}`, 422, "ValidationError", 0},
		{"?version=abc", vpath + "?version=abc", `{"background": "x"}`, 422, "ValidationError", 0},
		{"?version=0", vpath + "?version=0", `{"background": "x"}`, 422, "ValidationError", 0},
		{"missing background", vpath, `{"timezone": "Europe/Paris"}`, 422, "ValidationError", 0},
		{"language en", vpath, `{"background": "x", "preferred_language": "en"}`, 422, "ValidationError", 0},
		{"unknown field", vpath, `{"background": "x", "colour": "red"}`, 422, "ValidationError", 0},
		{"wrong type", vpath, `{"background": "x", "user_models": {"a": 1}}`, 422, "ValidationError", 0},
	}
	wantLoc := map[string]string{
		"bad path id": "path.simulation_persona_id", "?version=abc": "query.version", "?version=0": "query.version",
		"missing background": "body.background", "language en": "body.preferred_language", "unknown field": "body.colour",
		"wrong type": "body.user_models",
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := e.bare.on(t).count()
			r := e.c.on(t).do("POST", s.path, s.body)
			if s.status != 201 {
				er := expectError(t, s.name, r, s.status, s.typ)
				if loc, ok := wantLoc[s.name]; ok && !hasLocPrefix(er.locs(), loc) {
					t.Errorf("errors[].loc = %v, want %s", er.locs(), loc)
				}
				e.expectNoCommit(t, before)
				return
			}
			if r.Status != 201 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var got struct {
				Version int `json:"version"`
			}
			r.decode(t, &got)
			if got.Version != s.want {
				t.Errorf("version %d, want %d", got.Version, s.want)
			}
			e.expectCommit(t, before, fmt.Sprintf("Version %d of Commented Persona", s.want), idCommented)
			vs := e.versions(t, idCommented)
			if len(vs) != s.want || vs[len(vs)-1].Commit != e.bare.on(t).head() || vs[len(vs)-1].Creator != (userInfo{org, writer}) {
				t.Errorf("after the write: %d versions, latest %+v; want %d at the head", len(vs), vs[len(vs)-1], s.want)
			}
		})
	}
	vs := e.versions(t, idCommented)
	wantBg := []string{"Calls about a lost parcel.", "Calls about a lost parcel, again.", "Third.", "Fourth.", "Third."}
	var got []string
	for _, v := range vs {
		got = append(got, v.Background)
	}
	if !slices.Equal(got, wantBg) {
		t.Errorf("backgrounds %q, want %q", got, wantBg)
	}
	if v := vs[3]; v.Timezone == nil || *v.Timezone != "Europe/Paris" || v.PreferredLanguage != nil {
		t.Errorf("version 4 = %+v: want timezone Europe/Paris and no language (absent means null)", v)
	}
	file := e.show("personas/commented.yaml")
	if !strings.Contains(file, keptComment) || !strings.Contains(file, inlineComment) {
		t.Errorf("a new version lost the file's comments:\n%s", file)
	}
	if p := e.persona(t, idCommented); p.Name != "Commented Persona" || !p.UpdatedAt.After(at(2)) || p.UpdatedBy != (userInfo{org, writer}) {
		t.Errorf("persona after new versions = %+v", p)
	}
}

func TestWriteRetag(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t, nil)
	defer e.fsck()
	path := apiBase + "/" + idCommented + "/"
	versionsBefore := len(e.versions(t, idCommented))

	t.Run("retag", func(t *testing.T) {
		before := e.bare.on(t).count()
		r := e.c.on(t).do("POST", path, `{"tags": {"channel": "voice", "tier": "gold", "escalation": null}}`)
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("retag: %d %q, want 204 without body", r.Status, r.Body)
		}
		e.expectCommit(t, before, "Retag Commented Persona", idCommented)
		p := e.persona(t, idCommented)
		if len(p.Tags) != 3 || *p.Tags["channel"] != "voice" || *p.Tags["tier"] != "gold" || p.Tags["escalation"] != nil ||
			p.UpdatedBy != (userInfo{org, writer}) {
			t.Errorf("persona after retag = %+v", p)
		}
		if n := len(e.versions(t, idCommented)); n != versionsBefore {
			t.Errorf("retag made a version: %d versions, want %d", n, versionsBefore)
		}
		file := e.show("personas/commented.yaml")
		if !strings.Contains(file, keptComment) {
			t.Errorf("retag lost the comment %q:\n%s", keptComment, file)
		}
		if !strings.Contains(file, "Calls about a lost parcel.") || !strings.Contains(file, "preferred_language: eng") {
			t.Errorf("retag changed the rest of the file:\n%s", file)
		}
	})

	t.Run("no trailing slash", func(t *testing.T) {
		before := e.bare.on(t).count()
		r := e.c.on(t).do("POST", strings.TrimSuffix(path, "/"), `{"tags": {"channel": "voice"}}`)
		if r.Status != http.StatusNoContent {
			t.Fatalf("retag: %d %s", r.Status, r.Body)
		}
		e.expectCommit(t, before, "Retag Commented Persona", idCommented)
		if p := e.persona(t, idCommented); len(p.Tags) != 1 {
			t.Errorf("tags = %v, want only channel (tags are replaced)", p.Tags)
		}
	})

	for _, tc := range []struct{ name, body string }{
		{"null tags change nothing", `{"tags": null}`},
		{"absent tags change nothing", `{}`},
		{"the same tags change nothing", `{"tags": {"channel": "voice"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.bare.on(t).count()
			head := e.bare.on(t).head()
			if r := e.c.on(t).do("POST", path, tc.body); r.Status != http.StatusNoContent {
				t.Fatalf("%s: %d %s", tc.body, r.Status, r.Body)
			}
			e.expectNoCommit(t, before)
			if h := e.bare.on(t).head(); h != head {
				t.Errorf("head moved %s → %s", head, h)
			}
		})
	}

	manyTags := map[string]string{}
	for i := range 21 {
		manyTags[fmt.Sprintf("tag%d", i)] = "v"
	}
	for _, tc := range []struct {
		name   string
		path   string
		body   any
		status int
		typ    string
		loc    string
	}{
		{"bad tag key", path, `{"tags": {"bad-key!": "x"}}`, 422, "ValidationError", "body.tags"},
		{"bad tag value", path, `{"tags": {"tier": "gold!"}}`, 422, "ValidationError", "body.tags"},
		{"21 tags", path, map[string]any{"tags": manyTags}, 422, "ValidationError", "body.tags"},
		{"tags not an object", path, `{"tags": ["a"]}`, 422, "ValidationError", "body.tags"},
		{"unknown field", path, `{"tags": {}, "name": "Renamed"}`, 422, "ValidationError", "body.name"},
		{"unknown persona", apiBase + "/" + idUnknown + "/", `{"tags": {"a": "b"}}`, 404, "NotFoundError", ""},
		{"deleted persona", apiBase + "/" + idGone + "/", `{"tags": {"a": "b"}}`, 404, "NotFoundError", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.bare.on(t).count()
			er := expectError(t, tc.name, e.c.on(t).do("POST", tc.path, tc.body), tc.status, tc.typ)
			if tc.loc != "" && !hasLocPrefix(er.locs(), tc.loc) {
				t.Errorf("errors[].loc = %v, want %s", er.locs(), tc.loc)
			}
			e.expectNoCommit(t, before)
		})
	}
}

func TestWriteDelete(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t, nil)
	defer e.fsck()
	path := apiBase + "/" + idTarget + "/"

	before := e.bare.on(t).count()
	r := e.c.on(t).do("DELETE", path, nil)
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("delete: %d %q, want 204 without body", r.Status, r.Body)
	}
	e.expectCommit(t, before, "Delete persona Concurrency Target", idTarget)
	if e.show("personas/target.yaml") != "" {
		t.Errorf("personas/target.yaml is still at main")
	}
	p := e.persona(t, idTarget)
	if !p.IsDeleted || p.UpdatedBy != (userInfo{org, writer}) {
		t.Errorf("after delete: %+v", p)
	}
	if vs := e.versions(t, idTarget); len(vs) != 1 {
		t.Errorf("a deleted persona's history: %d versions, want 1", len(vs))
	}

	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   string
		status int
		typ    string
	}{
		{"delete again", "DELETE", path, "", 404, "NotFoundError"},
		{"delete without trailing slash, deleted", "DELETE", strings.TrimSuffix(path, "/"), "", 404, "NotFoundError"},
		{"delete a persona deleted in git", "DELETE", apiBase + "/" + idGone + "/", "", 404, "NotFoundError"},
		{"delete an unknown persona", "DELETE", apiBase + "/" + idUnknown + "/", "", 404, "NotFoundError"},
		{"delete a bad id", "DELETE", apiBase + "/xyz/", "", 422, "ValidationError"},
		{"delete a persona a unit test references", "DELETE", apiBase + "/" + idReferenced + "/", "", 400, "BadRequestError"},
		{"new version of the deleted", "POST", path + "version/", `{"background": "x"}`, 404, "NotFoundError"},
		{"retag the deleted", "POST", path, `{"tags": {"a": "b"}}`, 404, "NotFoundError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.bare.on(t).count()
			var body any
			if tc.body != "" {
				body = tc.body
			}
			er := expectError(t, tc.name, e.c.on(t).do(tc.method, tc.path, body), tc.status, tc.typ)
			if tc.status == 400 && !strings.Contains(er.Message, "unit_tests/referenced.yaml") {
				t.Errorf("message %q does not name the unit test", er.Message)
			}
			e.expectNoCommit(t, before)
		})
	}
	if p := e.persona(t, idReferenced); p.IsDeleted {
		t.Errorf("the referenced persona was deleted")
	}

	t.Run("delete without trailing slash", func(t *testing.T) {
		before := e.bare.on(t).count()
		if r := e.c.on(t).do("DELETE", apiBase+"/"+idCommented, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		e.expectCommit(t, before, "Delete persona Commented Persona", idCommented)
	})
}

func TestWriteAuth(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t, nil)
	defer e.fsck()
	n := 0
	createBody := func() string {
		n++
		return fmt.Sprintf(`{"name": "Auth Persona %d", "role": "r", "tags": {}, "initial_version": {"background": "b"}}`, n)
	}
	basic := func(user, pass string) string {
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth(user, pass)
		return req.Header.Get("Authorization")
	}
	tok := e.tokens
	cases := []struct {
		name   string
		auth   string
		hdr    []string
		method string
		path   string
		body   func() string
		status int
		typ    string
	}{
		{"no credentials", "", nil, "POST", apiBase + "/", createBody, 401, "UnauthorizedError"},
		{"bad token", "Bearer prs_not-a-token", nil, "POST", apiBase + "/", createBody, 401, "UnauthorizedError"},
		{"empty bearer", "Bearer ", nil, "POST", apiBase + "/", createBody, 401, "UnauthorizedError"},
		{"unknown scheme", "Token " + tok["writer"], nil, "POST", apiBase + "/", createBody, 401, "UnauthorizedError"},
		{"bearer", "Bearer " + tok["writer"], nil, "POST", apiBase + "/", createBody, 201, ""},
		{"basic {org}_{user}", basic(org+"_"+writer, tok["writer"]), nil, "POST", apiBase + "/", createBody, 201, ""},
		{"basic, wrong user", basic(org+"_someone@example.com", tok["writer"]), nil, "POST", apiBase + "/", createBody, 401, "UnauthorizedError"},
		{"basic, bad password", basic(org+"_"+writer, "prs_wrong"), nil, "POST", apiBase + "/", createBody, 401, "UnauthorizedError"},
		{"basic, malformed", "Basic !!!", nil, "POST", apiBase + "/", createBody, 401, "UnauthorizedError"},
		{"X-ORG-ID of the token", "Bearer " + tok["writer"], []string{"X-ORG-ID", org}, "POST", apiBase + "/", createBody, 201, ""},
		{"X-ORG-ID of another org", "Bearer " + tok["writer"], []string{"X-ORG-ID", "acme"}, "POST", apiBase + "/", createBody, 401, "UnauthorizedError"},
		{"token of another org", "Bearer " + tok["other-org"], nil, "POST", apiBase + "/", createBody, 401, "UnauthorizedError"},
		{"no permission: create", "Bearer " + tok["nothing"], nil, "POST", apiBase + "/", createBody, 403, "ForbiddenError"},
		{"create permission only: create", "Bearer " + tok["creator"], nil, "POST", apiBase + "/", createBody, 201, ""},
		{"create permission only: new version", "Bearer " + tok["creator"], nil, "POST", apiBase + "/" + idTarget + "/version/",
			func() string { return `{"background": "x"}` }, 403, "ForbiddenError"},
		{"create permission only: retag", "Bearer " + tok["creator"], nil, "POST", apiBase + "/" + idTarget + "/",
			func() string { return `{"tags": {"a": "b"}}` }, 403, "ForbiddenError"},
		{"create permission only: delete", "Bearer " + tok["creator"], nil, "DELETE", apiBase + "/" + idTarget + "/", nil, 403, "ForbiddenError"},
		{"modify permission only: create", "Bearer " + tok["modifier"], nil, "POST", apiBase + "/", createBody, 403, "ForbiddenError"},
		{"modify permission only: delete", "Bearer " + tok["modifier"], nil, "DELETE", apiBase + "/" + idTarget + "/", nil, 403, "ForbiddenError"},
		{"modify permission only: new version", "Bearer " + tok["modifier"], nil, "POST", apiBase + "/" + idTarget + "/version/",
			func() string { return `{"background": "By the modifier."}` }, 201, ""},
		{"no credentials: delete", "", nil, "DELETE", apiBase + "/" + idTarget + "/", nil, 401, "UnauthorizedError"},
		{"read without credentials", "", nil, "GET", apiBase + "/", nil, 200, ""},
		{"read with a token", "Bearer " + tok["nothing"], nil, "GET", apiBase + "/", nil, 200, ""},
		{"read with a bad token", "Bearer prs_not-a-token", nil, "GET", apiBase + "/", nil, 401, "UnauthorizedError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.bare.on(t).count()
			var body any
			if tc.body != nil {
				body = tc.body()
			}
			r := e.anon.on(t).withAuth(tc.auth).do(tc.method, tc.path, body, tc.hdr...)
			if tc.status >= 400 {
				expectError(t, tc.name, r, tc.status, tc.typ)
				e.expectNoCommit(t, before)
				return
			}
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.method != "GET" {
				if n := e.bare.on(t).count(); n != before+1 {
					t.Errorf("%d commits, want 1", n-before)
				}
			}
		})
	}
	// The commit of a write names the token's user.
	if a := e.bare.on(t).git("log", "-1", "--format=%ae"); a != "mo@example.com" {
		t.Errorf("the modifier's version was authored by %s", a)
	}
}

func TestWriteReadOnly(t *testing.T) {
	t.Parallel()
	const reason = "started with --read-only for the migration"
	e := newWriteEnv(t, func(c *server.Config) { c.ReadOnly, c.ReadOnlyReason = true, reason })
	before := e.bare.on(t).count()
	for _, tc := range []struct{ method, path, body string }{
		{"POST", apiBase + "/", exampleCreate},
		{"POST", apiBase + "/" + idTarget + "/version/", `{"background": "x"}`},
		{"POST", apiBase + "/" + idTarget + "/", `{"tags": {}}`},
		{"DELETE", apiBase + "/" + idTarget + "/", ""},
	} {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		er := expectError(t, tc.method+" "+tc.path, e.c.on(t).do(tc.method, tc.path, body), http.StatusForbidden, "ForbiddenError")
		if !strings.Contains(er.Message, "read-only") || !strings.Contains(er.Message, reason) {
			t.Errorf("403 message %q does not say the server is read-only and why (%q)", er.Message, reason)
		}
	}
	e.expectNoCommit(t, before)
	e.anon.on(t).getOK(apiBase+"/", nil)
}

func TestWriteRequireAuthForReads(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t, func(c *server.Config) { c.RequireAuthForReads = true })
	reads := []string{apiBase + "/", apiBase + "/search" + q("query", "parcel"), apiBase + "/problems", apiBase + "/" + idTarget + "/version/"}
	for _, path := range reads {
		t.Run(path, func(t *testing.T) {
			expectError(t, "no token", e.anon.on(t).get(path), http.StatusUnauthorized, "UnauthorizedError")
			expectError(t, "bad token", e.anon.on(t).withToken("prs_bad").get(path), http.StatusUnauthorized, "UnauthorizedError")
			expectError(t, "other org", e.anon.on(t).withToken(e.tokens["other-org"]).get(path), http.StatusUnauthorized, "UnauthorizedError")
			er := expectError(t, "no read permission", e.anon.on(t).withToken(e.tokens["nothing"]).get(path), http.StatusForbidden, "ForbiddenError")
			if !strings.Contains(er.Message, server.PermRead) {
				t.Errorf("403 %q does not name the missing permission %s", er.Message, server.PermRead)
			}
			expectError(t, "write permissions only", e.anon.on(t).withToken(e.tokens["modifier"]).get(path), http.StatusForbidden, "ForbiddenError")
			e.anon.on(t).withToken(e.tokens["reader"]).getOK(path, nil)
			e.c.on(t).getOK(path, nil)
		})
	}
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json"} {
		if r := e.anon.on(t).get(path); r.Status != 200 {
			t.Errorf("GET %s without a token: %d, want 200 (operations stay open)", path, r.Status)
		}
	}
}

// TestWriteConcurrentVersions: 20 new versions of one persona sent at once
// all succeed with contiguous numbers, one commit each.
func TestWriteConcurrentVersions(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t, nil)
	defer e.fsck()
	const n = 20
	before := e.bare.on(t).count()
	got := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := e.c.on(t).do("POST", apiBase+"/"+idTarget+"/version/", map[string]string{"background": fmt.Sprintf("Concurrent background %d.", i)})
			if r.Status != http.StatusCreated {
				t.Errorf("request %d: %d %s", i, r.Status, r.Body)
				return
			}
			var v struct {
				Version int `json:"version"`
			}
			if err := json.Unmarshal(r.Body, &v); err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			got[i] = v.Version
		})
	}
	wg.Wait()
	slices.Sort(got)
	var want []int
	for v := 2; v <= n+1; v++ {
		want = append(want, v)
	}
	if !slices.Equal(got, want) {
		t.Errorf("versions returned %v, want exactly 2..%d", got, n+1)
	}
	if c := e.bare.on(t).count(); c != before+n {
		t.Errorf("%d commits, want %d", c-before, n)
	}
	for i := range n {
		e.checkCommit(t, fmt.Sprintf("refs/heads/main~%d", i), writer, fmt.Sprintf("Version %d of Concurrency Target", n+1-i), idTarget)
	}
	vs := e.versions(t, idTarget)
	if len(vs) != n+1 {
		t.Fatalf("%d versions, want %d", len(vs), n+1)
	}
	seen := map[string]bool{}
	for _, v := range vs[1:] {
		seen[v.Background] = true
	}
	for i := range n {
		if !seen[fmt.Sprintf("Concurrent background %d.", i)] {
			t.Errorf("background %d is not among the versions", i)
		}
	}
}

// TestWriteConcurrentWithCGit: a C git process committing to the served
// branch of the bare repository (commit-tree + update-ref with the old
// value, git's own lock protocol) while 10 API writes run: nothing is lost
// on either side.
func TestWriteConcurrentWithCGit(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t, nil)
	defer e.fsck()
	const n = 10
	before := e.bare.on(t).count()
	cgitCommits := make([]string, n)
	idx := filepath.Join(t.TempDir(), "index")

	var retries atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			env := append(gitEnv("cgit@example.com", time.Now()), "GIT_INDEX_FILE="+idx)
			for attempt := 0; ; attempt++ {
				if attempt == 200 {
					t.Errorf("C git commit %d: the ref never took the update", i)
					return
				}
				commit, err := cgitCommit(e.bare.dir, env, i)
				if err != nil {
					t.Errorf("C git commit %d: %v", i, err)
					return
				}
				if commit != "" {
					cgitCommits[i] = commit
					break
				}
				retries.Add(1)
				time.Sleep(time.Millisecond)
			}
		}
	})
	created := make([]string, n)
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"name": "Concurrent %d", "role": "r", "tags": {}, "initial_version": {"background": "Made while C git commits."}}`, i)
			r := e.c.on(t).do("POST", apiBase+"/", body)
			if r.Status != http.StatusCreated {
				t.Errorf("API create %d: %d %s", i, r.Status, r.Body)
				return
			}
			var res struct {
				ID string `json:"simulation_persona_id"`
			}
			if err := json.Unmarshal(r.Body, &res); err != nil {
				t.Errorf("API create %d: %v", i, err)
			}
			created[i] = res.ID
		})
	}
	wg.Wait()
	t.Logf("C git retried update-ref %d times (the branch moved or was locked under it)", retries.Load())
	if t.Failed() {
		return
	}
	if c := e.bare.on(t).count(); c != before+2*n {
		t.Errorf("%d commits on main, want %d (%d API + %d C git)", c-before, 2*n, n, n)
	}
	for i, c := range cgitCommits {
		if _, err := gittest.Try(e.bare.dir, defaultGitEnv, "", "merge-base", "--is-ancestor", c, "refs/heads/main"); err != nil {
			t.Errorf("C git commit %d (%s) is not on main", i, c)
		}
		if got := e.show(fmt.Sprintf("cgit/%02d.txt", i)); got != fmt.Sprintf("C git file %d", i) {
			t.Errorf("cgit/%02d.txt at main = %q", i, got)
		}
	}
	tree := e.bare.on(t).git("ls-tree", "-r", "--name-only", "refs/heads/main", "personas/")
	for i := range n {
		if !strings.Contains(tree, fmt.Sprintf("personas/concurrent-%d.yaml", i)) {
			t.Errorf("personas/concurrent-%d.yaml is not at main:\n%s", i, tree)
		}
	}
	// Every API write is one commit by the writer; every other new commit is C git's.
	log := e.bare.on(t).git("log", fmt.Sprintf("-%d", 2*n), "--format=%ae %s", "refs/heads/main")
	if c := strings.Count(log, writer+" Create persona Concurrent "); c != n {
		t.Errorf("%d API commits among the last %d, want %d:\n%s", c, 2*n, n, log)
	}
	if c := strings.Count(log, "cgit@example.com C git commit "); c != n {
		t.Errorf("%d C git commits among the last %d, want %d:\n%s", c, 2*n, n, log)
	}
	// The server serves the final head, with every persona.
	var res listResponse
	e.anon.on(t).getOK(apiBase+"/"+q("role", "r"), &res)
	got := ids(res.Personas)
	slices.Sort(got)
	want := slices.Sorted(slices.Values(created))
	if !slices.Equal(got, want) {
		t.Errorf("served personas %v, want %v", got, want)
	}
}

// cgitCommit adds cgit/NN.txt on top of main with git plumbing and moves
// main with update-ref's compare-and-swap. It returns "" when the ref moved
// or was locked (try again).
func cgitCommit(dir string, env []string, i int) (string, error) {
	old, err := gittest.Try(dir, env, "", "rev-parse", "refs/heads/main")
	if err != nil {
		return "", err
	}
	blob, err := gittest.Try(dir, env, fmt.Sprintf("C git file %d", i), "hash-object", "-w", "--stdin")
	if err != nil {
		return "", err
	}
	if _, err := gittest.Try(dir, env, "", "read-tree", old); err != nil {
		return "", err
	}
	if _, err := gittest.Try(dir, env, "", "update-index", "--add", "--cacheinfo", fmt.Sprintf("100644,%s,cgit/%02d.txt", blob, i)); err != nil {
		return "", err
	}
	tree, err := gittest.Try(dir, env, "", "write-tree")
	if err != nil {
		return "", err
	}
	commit, err := gittest.Try(dir, env, "", "commit-tree", tree, "-p", old, "-m", fmt.Sprintf("C git commit %d", i))
	if err != nil {
		return "", err
	}
	if _, err := gittest.Try(dir, env, "", "update-ref", "refs/heads/main", commit, old); err != nil {
		return "", nil // moved or locked: retry on the new head
	}
	return commit, nil
}
