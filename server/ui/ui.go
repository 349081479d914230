// Package ui serves the registry's browser pages beside the API: the
// catalog, a persona with its history, a comparison of two versions, a
// version's YAML and the problems page. Pages are html/template files
// embedded in the binary over one base layout; the only script is a static
// file that adds live updates and conveniences, so every page reads without
// JavaScript. The pages query the snapshot with the API's own parsers, so a
// page and an API call with the same parameters show the same personas.
package ui

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/personaregistry/personas/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config says what the pages show and how callers are checked.
type Config struct {
	Registry *registry.Registry
	Org      string
	Logger   *slog.Logger
	// RequireAuth makes every page ask for a token first.
	RequireAuth bool
	// RedactSensitive hides sensitive variables from viewers that may not
	// read them (Viewer.SeeSensitive).
	RedactSensitive bool
	// WebURL, when set, is where the repository is browsed on its git host:
	// commit hashes link to WebURL/commit/<sha>.
	WebURL string
	// ParseList and ParseSearch are the API's parsers of the list and search
	// parameters.
	ParseList   func(url.Values) (registry.ListQuery, error)
	ParseSearch func(url.Values) (string, registry.Filter, error)
	// Authenticate checks a bearer token; nil means no tokens are configured
	// (no sign-in is offered).
	Authenticate func(r *http.Request, token string) (*Viewer, error)
	// PollInterval is how often an open page asks whether a new commit is
	// served (default 5s).
	PollInterval time.Duration
}

// Viewer is the signed-in reader of the pages.
type Viewer struct {
	Name string // the token's name
	User string // the token's user
	// SeeSensitive says the viewer may read sensitive variables.
	SeeSensitive bool
	// May, when set, says which personas the viewer may read (a scoped
	// token); nil means all.
	May func(*registry.Persona) bool
	// SeeProblem, when set, says which problems (invalid files) the viewer
	// may see, as the API's problems endpoint filters them; nil means all.
	SeeProblem func(registry.Problem) bool
}

// may reports whether the viewer may read the persona.
// visible is the viewer's read scope as a query predicate (nil: every persona).
func (v *Viewer) visible() func(*registry.Persona) bool {
	if v == nil {
		return nil
	}
	return v.May
}

func (v *Viewer) may(p *registry.Persona) bool {
	return v == nil || v.May == nil || v.May(p)
}

// problems keeps the problems the viewer may see.
func (v *Viewer) problems(ps []registry.Problem) []registry.Problem {
	if v == nil || v.SeeProblem == nil {
		return ps
	}
	out := []registry.Problem{}
	for _, p := range ps {
		if v.SeeProblem(p) {
			out = append(out, p)
		}
	}
	return out
}

// UI is the pages' HTTP handler.
type UI struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
}

// New parses the templates and builds the routes.
func New(cfg Config) *UI {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	u := &UI{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), pages: parsePages()}
	static, _ := fs.Sub(staticFS, "static")
	u.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", cacheStatic(http.FileServerFS(static))))
	u.mux.HandleFunc("GET /ui/signin", u.signInPage)
	u.mux.HandleFunc("POST /ui/signin", u.signIn)
	u.mux.HandleFunc("POST /ui/signout", u.signOut)
	u.mux.Handle("GET /ui/head", u.reader(u.head))
	u.mux.Handle("GET /{$}", u.reader(u.catalog))
	u.mux.Handle("GET /problems", u.reader(u.problems))
	u.mux.Handle("GET /personas/{id}", u.refReader(u.persona))
	u.mux.Handle("GET /personas/{id}/compare", u.refReader(u.compare))
	u.mux.Handle("GET /personas/{id}/versions/{n}", u.refReader(u.versionFile))
	u.mux.Handle("GET /changes", u.reader(u.changes))
	return u
}

// Paths are the path patterns the UI answers, for the server's router.
var Paths = []string{"/", "/problems", "/changes", "/personas/*", "/ui/*"}

// ServeHTTP answers a page request with the security headers set.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	u.mux.ServeHTTP(w, r)
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}

// request is what a page handler gets: the snapshot it reads and the viewer.
type request struct {
	snap   *registry.Snapshot
	viewer *Viewer
	ref    string // the previewed ref ("": the served branch)
	w      http.ResponseWriter
	r      *http.Request
}

// reader pins the snapshot and the viewer for a page, asking for a token
// first when reads need one.
func (u *UI) reader(page func(*request) error) http.Handler { return u.pinned(page, false) }

// refReader is reader for the pages that can show a ref (?ref=NAME) as
// the ref previews of the API do.
func (u *UI) refReader(page func(*request) error) http.Handler { return u.pinned(page, true) }

func (u *UI) pinned(page func(*request) error, refs bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := u.viewer(w, r)
		if err == nil && v == nil && u.cfg.RequireAuth {
			err = errSignIn
		}
		req := &request{viewer: v, w: w, r: r}
		if refs {
			req.ref = r.URL.Query().Get("ref")
		}
		switch {
		case err != nil:
		case req.ref != "":
			req.snap, err = u.cfg.Registry.RefSnapshot(r.Context(), req.ref)
		default:
			req.snap = u.cfg.Registry.Snapshot()
			if req.snap == nil {
				err = registry.Errorf(registry.EUNAVAILABLE, "the index is still being built; reload in a moment")
			}
		}
		if err == nil {
			err = page(req)
		}
		if err != nil {
			u.fail(req, err)
		}
	})
}

// errSignIn asks the reader to sign in.
var errSignIn = errors.New("sign in to read this registry")

// statusOf maps registry error codes to HTTP statuses, as the API does.
var statusOf = map[string]int{
	registry.EINVALID:      http.StatusUnprocessableEntity,
	registry.ENOTFOUND:     http.StatusNotFound,
	registry.EUNAUTHORIZED: http.StatusUnauthorized,
	registry.EFORBIDDEN:    http.StatusForbidden,
	registry.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// fail renders an error page; internal errors are logged and shown as
// "internal error".
func (u *UI) fail(req *request, err error) {
	if errors.Is(err, errSignIn) {
		if req.r.URL.Path == "/ui/head" {
			http.Error(req.w, "sign in first", http.StatusUnauthorized)
			return
		}
		http.Redirect(req.w, req.r, "/ui/signin?next="+url.QueryEscape(req.r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	status, ok := statusOf[registry.ErrorCode(err)]
	msg := registry.ErrorMessage(err)
	if !ok {
		u.log.Error("internal error", "path", req.r.URL.Path, "err", err)
		status, msg = http.StatusInternalServerError, "internal error"
	}
	u.render(req, status, "error", http.StatusText(status), errorData{Status: status, Message: msg})
}

type errorData struct {
	Status  int
	Message string
}

// page is what the base layout reads; Data is the page's own.
type page struct {
	Title  string
	Header header
	Data   any
}

// header is the bar on every page.
type header struct {
	Branch       string
	Head         string
	HeadTime     time.Time
	Problems     int
	Viewer       *Viewer
	CanSignIn    bool
	PollSeconds  int
	CommitPrefix string
	Path         string
	// Ref is the ref a page previews ("": the served branch); RefQuery is
	// "?ref=…" for the links that stay on it. RefInput fills the ref switcher.
	Ref, RefQuery, RefInput string
}

// render executes a page into a buffer, then writes it with the status.
func (u *UI) render(req *request, status int, name, title string, data any) {
	hd := header{Branch: u.cfg.Registry.Branch(), Viewer: req.viewer, CanSignIn: u.cfg.Authenticate != nil,
		CommitPrefix: u.commitPrefix(), Path: req.r.URL.RequestURI(), Ref: req.ref,
		RefInput: req.r.URL.Query().Get("ref")}
	if req.ref != "" {
		hd.RefQuery = "?" + url.Values{"ref": {req.ref}}.Encode()
	} else if status == http.StatusOK && name != "signin" {
		hd.PollSeconds = int(u.cfg.PollInterval / time.Second) // only readers' pages follow the head
	}
	if req.snap != nil {
		hd.Head, hd.HeadTime = req.snap.Head, req.snap.HeadTime
		hd.Problems = len(req.viewer.problems(req.snap.Problems))
	}
	var buf bytes.Buffer
	if err := u.pages[name].ExecuteTemplate(&buf, "base", page{Title: title, Header: hd, Data: data}); err != nil {
		u.log.Error("render page", "page", name, "err", err)
		http.Error(req.w, "internal error", http.StatusInternalServerError)
		return
	}
	req.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	req.w.WriteHeader(status)
	_, _ = req.w.Write(buf.Bytes())
}

// commitPrefix is the link prefix of commits on the git host, or "".
func (u *UI) commitPrefix() string {
	if u.cfg.WebURL == "" {
		return ""
	}
	return trimSlash(u.cfg.WebURL) + "/commit/"
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// parsePages parses each page template over the base layout.
func parsePages() map[string]*template.Template {
	base := template.Must(template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/base.html"))
	pages := map[string]*template.Template{}
	for _, name := range []string{"catalog", "persona", "compare", "version", "problems", "changes", "signin", "error"} {
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

// errNoTokens answers a sign-in on a server without tokens.
var errNoTokens = registry.Errorf(registry.ENOTFOUND, "this server has no tokens: nothing to sign in to")
