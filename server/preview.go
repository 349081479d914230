package server

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/diffview"
	"github.com/personaregistry/personas/registry"
)

// refKey holds the ref a request under /ref/{ref}/ previews.
const refKey = "preview-ref"

// refPrefix serves the read API of any ref: GET and HEAD of
// /ref/{ref}/v1/… are routed as /v1/… with the ref's snapshot (withSnapshot
// picks it up). The ref is everything before the first "/v1/" segment, with
// %2F for slashes if wanted (a ref with a "v1" component must escape its
// slashes). Everything else under /ref/ goes to the /ref/* route.
func (s *Server) refPrefix(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		req := c.Request()
		rest, ok := strings.CutPrefix(req.URL.EscapedPath(), "/ref/")
		if !ok || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
			return next(c)
		}
		i := strings.Index(rest, "/v1/")
		if i < 0 {
			return next(c)
		}
		ref, err := url.PathUnescape(rest[:i])
		if err != nil {
			return next(c) // answered by previewOther
		}
		tail := rest[i:]
		path, err := url.PathUnescape(tail)
		if err != nil {
			return next(c)
		}
		req.URL.Path, req.URL.RawPath = path, ""
		if path != tail {
			req.URL.RawPath = tail
		}
		c.Set(refKey, ref)
		return next(c)
	}
}

// previewOther answers the rest of /ref/: the diff, 405 for writes and 404
// for anything else.
func (s *Server) previewOther(c *echo.Context) error {
	req := c.Request()
	rest := strings.TrimPrefix(req.URL.EscapedPath(), "/ref/")
	refEsc, isDiff := strings.CutSuffix(strings.TrimSuffix(rest, "/"), "/diff")
	if !isDiff {
		refEsc, _, _ = strings.Cut(rest, "/v1/")
	}
	ref, err := url.PathUnescape(refEsc)
	if err != nil {
		return invalid([]string{"path", "ref"}, "malformed escape in the ref: "+err.Error())
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		c.Response().Header().Set("Allow", "GET, HEAD")
		return c.JSON(http.StatusMethodNotAllowed, errorBody{Type: "MethodNotAllowedError",
			Message: "the preview of ref " + quote(ref) + " is read-only: " + req.Method +
				" is not allowed under /ref/; write to the served branch at /v1/… (or push to the ref)"})
	}
	if !isDiff {
		return registry.Errorf(registry.ENOTFOUND,
			"no such endpoint: %s %s (under /ref/{ref}/ only the read API /v1/… and /diff are served)", req.Method, req.URL.Path)
	}
	return s.refDiff(c, ref)
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// refDiff answers /ref/{ref}/diff: what `personas diff` says for
// BRANCH...ref, as JSON (default) or Markdown.
func (s *Server) refDiff(c *echo.Context, ref string) error {
	if err := s.authorizeRead(c); err != nil {
		return err
	}
	raw, err := queryValues(c)
	if err != nil {
		return err
	}
	format := raw.Get("format")
	if format != "" && format != "json" && format != "markdown" {
		return invalid([]string{"query", "format"}, "want json or markdown")
	}
	d, err := s.reg.RefDiff(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	d = s.visibleDiff(c, d)
	if format == "markdown" {
		var b bytes.Buffer
		diffview.WriteMarkdown(&b, d)
		return c.Blob(http.StatusOK, "text/markdown; charset=utf-8", b.Bytes())
	}
	return c.JSON(http.StatusOK, d)
}

// visibleDiff keeps what the caller's read scope allows of d (the scope
// visibleIn applies to reads): a persona when the scope covers each side of
// it that exists (before at the base, after at the ref), so that neither
// state leaks to a reader who could not read it; the problems
// visibleProblems keeps.
func (s *Server) visibleDiff(c *echo.Context, d *registry.Diff) *registry.Diff {
	sc := s.readScope(c)
	if sc == nil {
		return d
	}
	out := *d
	out.Personas = []registry.PersonaDiff{}
	for _, p := range d.Personas {
		if diffAllowed(sc, p) {
			out.Personas = append(out.Personas, p)
		}
	}
	out.Problems = s.visibleProblems(c, d.Problems)
	return &out
}

// diffAllowed says whether sc covers every side of p that exists.
func diffAllowed(sc *scope, p registry.PersonaDiff) bool {
	sides := p.Sides()
	for _, q := range sides {
		if !sc.allows(q) {
			return false
		}
	}
	return len(sides) > 0
}

// authorizeRead runs the read middlewares (auth, rate limit) around nothing,
// for the routes registered outside the persona group.
func (s *Server) authorizeRead(c *echo.Context) error {
	ok := func(*echo.Context) error { return nil }
	return s.authRead(s.limitRate(ok))(c)
}

// pinnedSnapshot returns the snapshot a read request is answered from: the
// served head's, or under /ref/{ref}/ the ref's.
func (s *Server) pinnedSnapshot(c *echo.Context) (*registry.Snapshot, error) {
	ref, ok := c.Get(refKey).(string)
	if !ok {
		snap := s.reg.Snapshot()
		if snap == nil {
			return nil, registry.Errorf(registry.EUNAVAILABLE, "the index is still being built; retry shortly")
		}
		return snap, nil
	}
	snap, err := s.reg.RefSnapshot(c.Request().Context(), ref)
	if err != nil {
		return nil, err
	}
	if snap != s.reg.Snapshot() {
		s.previews.register(snap)
	}
	return snap, nil
}

// maxPreviewCaches bounds the caches kept for ref snapshots; each has
// 1/maxPreviewCaches of the served head's byte budgets, so that all of
// them together hold at most as much as the head's.
const maxPreviewCaches = 16

// snapCaches are the response and instance caches and the read-scope sets
// of one snapshot.
type snapCaches struct {
	responses *responseCache
	instances *instanceCache
	visible   *visibleSets
}

func newSnapCaches(responseBytes, personaBytes int64) *snapCaches {
	return &snapCaches{responses: newResponseCache(responseBytes),
		instances: newInstanceCache(personaBytes), visible: &visibleSets{}}
}

// previewCaches keeps caches per ref snapshot, so that previews do not
// take the served head's caches over. Oldest registered go first.
type previewCaches struct {
	responseBytes, personaBytes int64 // budgets of each snapshot's caches

	mu    sync.Mutex
	m     map[*registry.Snapshot]*snapCaches
	order []*registry.Snapshot
}

func (p *previewCaches) register(snap *registry.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[*registry.Snapshot]*snapCaches{}
	}
	if _, ok := p.m[snap]; ok {
		return
	}
	if len(p.order) >= maxPreviewCaches {
		delete(p.m, p.order[0])
		p.order = p.order[1:]
	}
	p.m[snap] = newSnapCaches(p.responseBytes, p.personaBytes)
	p.order = append(p.order, snap)
}

func (p *previewCaches) get(snap *registry.Snapshot) *snapCaches {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[snap]
}

// cachesOf returns the caches for a snapshot: its own for a ref snapshot,
// else the served head's.
func (s *Server) cachesOf(snap *registry.Snapshot) (*responseCache, *instanceCache) {
	sc := s.snapCachesOf(snap)
	return sc.responses, sc.instances
}

// visibleSetsOf returns the read-scope sets kept for a snapshot, like cachesOf.
func (s *Server) visibleSetsOf(snap *registry.Snapshot) *visibleSets {
	return s.snapCachesOf(snap).visible
}

func (s *Server) snapCachesOf(snap *registry.Snapshot) *snapCaches {
	if sc := s.previews.get(snap); sc != nil {
		return sc
	}
	if cur := s.reg.Snapshot(); cur != nil && snap != cur && !snap.BuiltAt.Before(cur.BuiltAt) {
		// a ref snapshot whose caches were dropped: don't take the head's over
		return newSnapCaches(0, 0)
	}
	return &snapCaches{responses: s.responses, instances: s.instanceJSON, visible: &s.visibleSets}
}
