package server_test

// Helpers shared by the end-to-end tests of the HTTP API (read_test.go,
// write_test.go): git repositories built with the git CLI, a real server on
// a loopback port, and an HTTP client that checks every response body
// against the server's own OpenAPI document.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
	"github.com/personaregistry/personas/server"
)

// org is the organization every test server serves.
const org = "default"

// apiBase is the base path of the persona API for org.
const apiBase = "/v1/" + org + "/simulation/persona"

// ---------------------------------------------------------------------------
// OpenAPI validation

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// openAPISpec loads server.OpenAPIJSON once and returns it with its router.
func openAPISpec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPIJSON)
		if err != nil {
			specErr = fmt.Errorf("load openapi.json: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
			return
		}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			specErr = fmt.Errorf("router for openapi.json: %w", err)
			return
		}
		specDoc, specRouter = doc, r
	})
	if specErr != nil {
		t.Error(specErr)
	}
	return specDoc, specRouter
}

// validateAgainstSpec checks one response against openapi.json: the route's
// documented statuses, headers and body schema. A response to a path or
// method the document does not describe must be an error with the Error
// schema.
func validateAgainstSpec(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	doc, router := openAPISpec(t)
	if doc == nil {
		return
	}
	route, params, err := findRoute(router, req)
	if err != nil {
		if status < 400 {
			t.Errorf("%s %s: %d answered on a route openapi.json does not describe (%v)", req.Method, req.URL, status, err)
			return
		}
		validateErrorSchema(t, doc, req, body)
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 status,
		Header:                 header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: response %d does not match openapi.json: %v\nbody: %s", req.Method, req.URL, status, err, clip(body))
	}
}

// findRoute finds the operation of a request. The document names the Amigo
// paths with a trailing slash; the server also answers without it.
func findRoute(router routers.Router, req *http.Request) (*routers.Route, map[string]string, error) {
	r := req.Clone(context.Background())
	r.URL.Host, r.Host = "", ""
	route, params, err := router.FindRoute(r)
	if err == nil || strings.HasSuffix(r.URL.Path, "/") {
		return route, params, err
	}
	r.URL.Path += "/"
	if r.URL.RawPath != "" { // an escaped slash (/ref/feature%2Fx/…) stays escaped
		r.URL.RawPath += "/"
	}
	if route2, params2, err2 := router.FindRoute(r); err2 == nil {
		return route2, params2, nil
	}
	return route, params, err
}

// validateErrorSchema checks a body against components/schemas/Error.
func validateErrorSchema(t testing.TB, doc *openapi3.T, req *http.Request, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s %s: error body is not JSON: %v\nbody: %s", req.Method, req.URL, err, clip(body))
		return
	}
	ref := doc.Components.Schemas["Error"]
	if ref == nil || ref.Value == nil {
		t.Error("openapi.json has no components/schemas/Error")
		return
	}
	if err := ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse()); err != nil {
		t.Errorf("%s %s: error body does not match the Error schema: %v\nbody: %s", req.Method, req.URL, err, clip(body))
	}
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// HTTP client

// client sends requests to a test server and validates every response.
type client struct {
	t    testing.TB
	base string // http://127.0.0.1:port
	auth string // Authorization header, "" for none
	hc   *http.Client
}

// response is one answer, its body already read (and gunzipped).
type response struct {
	Status int
	Header http.Header
	Body   []byte
	// Gzipped is set when the body came with Content-Encoding: gzip.
	Gzipped bool
}

func newClient(t testing.TB, base string) *client {
	return &client{t: t, base: base, hc: &http.Client{Timeout: 30 * time.Second}}
}

// on returns a copy of the client that reports to t (a subtest).
func (c *client) on(t testing.TB) *client {
	cp := *c
	cp.t = t
	return &cp
}

// withAuth returns a copy of the client that sends the Authorization header.
func (c *client) withAuth(header string) *client {
	cp := *c
	cp.auth = header
	return &cp
}

func (c *client) withToken(token string) *client { return c.withAuth("Bearer " + token) }

// do sends a request. body is sent as is when it is []byte or string,
// encoded as JSON otherwise (nil: no body). hdr adds headers (pairs).
// It never stops the test (it may run on a goroutine of the test): a
// request that fails is reported and answers status 0.
func (c *client) do(method, path string, body any, hdr ...string) *response {
	c.t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.t.Error(err)
			return &response{}
		}
	}
	if body != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Error(err)
		return &response{}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, path, err)
		return &response{}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Errorf("%s %s: read body: %v", method, path, err)
		return &response{}
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	// The transport only decompresses by itself when it asked for gzip;
	// a caller that set Accept-Encoding gets the raw bytes.
	if resp.Header.Get("Content-Encoding") == "gzip" {
		r.Gzipped = true
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			c.t.Errorf("%s %s: gzip: %v", method, path, err)
			return &response{}
		}
		if r.Body, err = io.ReadAll(zr); err != nil {
			c.t.Errorf("%s %s: gunzip: %v", method, path, err)
			return &response{}
		}
	}
	validateAgainstSpec(c.t, req, r.Status, r.Header, r.Body)
	if r.Status >= 400 {
		checkErrorBody(c.t, method+" "+path, r)
	}
	return r
}

func (c *client) get(path string, hdr ...string) *response {
	c.t.Helper()
	return c.do("GET", path, nil, hdr...)
}

// getOK sends a GET that must answer 200 and decodes the body into out.
func (c *client) getOK(path string, out any) *response {
	c.t.Helper()
	r := c.get(path)
	if r.Status != http.StatusOK {
		c.t.Fatalf("GET %s: status %d, want 200: %s", path, r.Status, clip(r.Body))
	}
	if out != nil {
		r.decode(c.t, out)
	}
	return r
}

func (r *response) decode(t testing.TB, out any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, out); err != nil {
		t.Fatalf("decode %T: %v\nbody: %s", out, err, clip(r.Body))
	}
}

// apiError is the JSON body of every error.
type apiError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Errors  []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	} `json:"errors"`
}

// locs returns the errors' locations as "query.limit" strings.
func (e apiError) locs() []string {
	var out []string
	for _, f := range e.Errors {
		parts := make([]string, len(f.Loc))
		for i, p := range f.Loc {
			parts[i] = fmt.Sprint(p)
		}
		out = append(out, strings.Join(parts, "."))
	}
	return out
}

// checkErrorBody asserts the shape every error shares: JSON with a non-empty
// type and message, and no stack trace.
func checkErrorBody(t testing.TB, what string, r *response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: error %d has Content-Type %q, want application/json", what, r.Status, ct)
	}
	var e apiError
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Errorf("%s: error %d body is not JSON: %v: %s", what, r.Status, err, clip(r.Body))
		return
	}
	if e.Type == "" || e.Message == "" {
		t.Errorf("%s: error %d body lacks type or message: %s", what, r.Status, clip(r.Body))
	}
	if strings.Contains(string(r.Body), "goroutine ") || strings.Contains(string(r.Body), ".go:") {
		t.Errorf("%s: error body looks like a stack trace: %s", what, clip(r.Body))
	}
}

// expectError asserts the status and error type of a response and returns
// the decoded error.
func expectError(t testing.TB, what string, r *response, status int, typ string) apiError {
	t.Helper()
	var e apiError
	if r.Status != status {
		t.Errorf("%s: status %d, want %d: %s", what, r.Status, status, clip(r.Body))
		return e
	}
	r.decode(t, &e)
	if e.Type != typ {
		t.Errorf("%s: type %q, want %q (message %q)", what, e.Type, typ, e.Message)
	}
	if status == http.StatusUnprocessableEntity && len(e.Errors) == 0 {
		t.Errorf("%s: 422 without errors[]: %s", what, clip(r.Body))
	}
	return e
}

// ---------------------------------------------------------------------------
// API objects, as the tests decode them

type userInfo struct {
	OrgID  string `json:"org_id"`
	UserID string `json:"user_id"`
}

type instance struct {
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Role      string             `json:"role"`
	Tags      map[string]*string `json:"tags"`
	IsDeleted bool               `json:"is_deleted"`
	CreatedAt time.Time          `json:"created_at"`
	Creator   userInfo           `json:"creator"`
	UpdatedAt time.Time          `json:"updated_at"`
	UpdatedBy userInfo           `json:"updated_by"`
}

type filterValues struct {
	Creators []userInfo `json:"creators"`
	Tags     []string   `json:"tags"`
	Roles    []string   `json:"roles"`
}

type listResponse struct {
	Personas          []instance    `json:"simulation_personas"`
	HasMore           bool          `json:"has_more"`
	ContinuationToken *int          `json:"continuation_token"`
	FilterValues      *filterValues `json:"filter_values"`
}

type searchResponse struct {
	Personas []instance `json:"simulation_personas"`
}

type version struct {
	ID                        string            `json:"_id"`
	OrgID                     string            `json:"org_id"`
	PersonaID                 string            `json:"simulation_persona_id"`
	Version                   int               `json:"version"`
	Background                string            `json:"background"`
	PreferredLanguage         *string           `json:"preferred_language"`
	Timezone                  *string           `json:"timezone"`
	UserModels                []string          `json:"user_models"`
	NonsensitiveUserVariables map[string]string `json:"nonsensitive_user_variables"`
	SensitiveUserVariables    map[string]string `json:"sensitive_user_variables"`
	Creator                   userInfo          `json:"creator"`
	CreatedAt                 time.Time         `json:"created_at"`
	UpdatedAt                 time.Time         `json:"updated_at"`
	Commit                    string            `json:"commit"`
}

type versionsResponse struct {
	Versions          []version `json:"simulation_persona_versions"`
	HasMore           bool      `json:"has_more"`
	ContinuationToken *int      `json:"continuation_token"`
}

type problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
	Commit  string `json:"commit"`
}

type problemsResponse struct {
	Problems []problem `json:"problems"`
}

func ids(ps []instance) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func versionNumbers(vs []version) []int {
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out
}

// ---------------------------------------------------------------------------
// git repositories built with the git CLI

// gitRepo is a repository (a worktree, or a bare one) driven by the git
// CLI with a fixed, config-independent environment.
type gitRepo struct {
	t   testing.TB
	dir string
}

// gitEnv is the environment of every git command (gittest.Env): a fixed
// identity (email, and its local part as the name) and date for commits.
func gitEnv(email string, when time.Time) []string {
	name := strings.SplitN(email, "@", 2)[0]
	return gittest.Env(gittest.Identity{Name: name, Email: email, When: when.UTC()})
}

// defaultGitEnv is the environment of git commands that make no commit.
var defaultGitEnv = gitEnv("tester@example.com", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))

// newWorktreeRepo runs git init on a fresh temporary directory, branch main.
func newWorktreeRepo(t testing.TB) *gitRepo {
	t.Helper()
	gittest.NeedGit(t)
	dir := t.TempDir()
	gittest.Run(t, dir, defaultGitEnv, "init", "-q", "-b", "main")
	return &gitRepo{t: t, dir: dir}
}

// on returns a copy of the repository handle that reports to t (a subtest).
func (r *gitRepo) on(t testing.TB) *gitRepo { return &gitRepo{t: t, dir: r.dir} }

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	return gittest.Run(r.t, r.dir, defaultGitEnv, args...)
}

// deleteFile, as a file's content in commit, removes the file.
const deleteFile = "\x00delete"

// commit writes (or removes) the files in the worktree and commits them all
// as author at when (author and committer). It returns the commit hash.
func (r *gitRepo) commit(author string, when time.Time, msg string, files map[string]string) string {
	r.t.Helper()
	env := gitEnv(author, when)
	for p, content := range files {
		full := filepath.Join(r.dir, filepath.FromSlash(p))
		if content == deleteFile {
			gittest.Run(r.t, r.dir, env, "rm", "-q", "--", p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
		gittest.Run(r.t, r.dir, env, "add", "--", p)
	}
	gittest.Run(r.t, r.dir, env, "commit", "-q", "--allow-empty", "-m", msg)
	return gittest.Run(r.t, r.dir, env, "rev-parse", "HEAD")
}

// cloneBare makes a bare clone of r in a fresh temporary directory.
func (r *gitRepo) cloneBare() *gitRepo {
	r.t.Helper()
	dst := filepath.Join(r.t.TempDir(), "personas.git")
	gittest.Run(r.t, r.dir, defaultGitEnv, "clone", "-q", "--bare", r.dir, dst)
	return &gitRepo{t: r.t, dir: dst}
}

// head returns the hash of refs/heads/main.
func (r *gitRepo) head() string {
	r.t.Helper()
	return r.git("rev-parse", "refs/heads/main")
}

// count returns the number of commits on main.
func (r *gitRepo) count() int {
	r.t.Helper()
	n, err := strconv.Atoi(r.git("rev-list", "--count", "refs/heads/main"))
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// persona is the content of a persona file, written by hand as YAML.
type persona struct {
	ID, Name, Role string
	// Tags are YAML lines "key: value", or "key:" for a null value; none
	// gives "tags: {}".
	Tags       []string
	Background string
	Language   string // "" leaves it out
	Timezone   string // "" leaves it out
	// Head is written before the id, e.g. a comment.
	Head string
}

func (p persona) yaml() string {
	var b strings.Builder
	b.WriteString(p.Head)
	fmt.Fprintf(&b, "id: %s\nname: %s\nrole: %s\n", p.ID, strconv.Quote(p.Name), strconv.Quote(p.Role))
	if len(p.Tags) == 0 {
		b.WriteString("tags: {}\n")
	} else {
		b.WriteString("tags:\n")
		for _, t := range p.Tags {
			b.WriteString("  " + t + "\n")
		}
	}
	fmt.Fprintf(&b, "background: %s\n", strconv.Quote(p.Background))
	if p.Language != "" {
		fmt.Fprintf(&b, "preferred_language: %s\n", p.Language)
	}
	if p.Timezone != "" {
		fmt.Fprintf(&b, "timezone: %s\n", p.Timezone)
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// servers

// testServer is a registry and a server listening on 127.0.0.1.
type testServer struct {
	URL string
	Reg *registry.Registry
	Srv *server.Server
}

// serveOptions say how startServer builds the server.
type serveOptions struct {
	noRefresh bool // leave the registry without a snapshot
	watch     bool // follow the branch (reg.Watch)
	poll      time.Duration
}

// startServer opens the repository, builds the index (unless noRefresh),
// and serves cfg on a loopback port until the test ends.
func startServer(t testing.TB, repo string, cfg server.Config, o serveOptions) *testServer {
	t.Helper()
	reg, err := registry.Open(registry.Options{Repo: repo, NoCache: true, PollInterval: o.poll})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if !o.noRefresh {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := reg.Refresh(ctx); err != nil {
			t.Fatalf("first refresh: %v", err)
		}
	}
	if o.watch {
		reg.Watch()
	}
	cfg.Registry = reg
	if cfg.Org == "" {
		cfg.Org = org
	}
	srv, url := serveOnLoopback(t, cfg)
	return &testServer{URL: url, Reg: reg, Srv: srv}
}

// serveOnLoopback serves cfg on 127.0.0.1:0 until the test ends, then shuts
// the server down gracefully; it returns the server and its base URL.
func serveOnLoopback(t testing.TB, cfg server.Config) (*server.Server, string) {
	t.Helper()
	srv := server.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return srv, "http://" + ln.Addr().String()
}

// q builds a query string from pairs, escaping values (so "+name" is sent
// as %2Bname).
func q(pairs ...string) string {
	if len(pairs) == 0 {
		return ""
	}
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		} else {
			b.WriteByte('?')
		}
		b.WriteString(url.QueryEscape(pairs[i]) + "=" + url.QueryEscape(pairs[i+1]))
	}
	return b.String()
}
