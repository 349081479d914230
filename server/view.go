package server

import (
	"sync"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
)

// This file decides what a read shows its caller: which personas (the read
// scope, with --require-auth-for-reads) and whether sensitive variables
// are hidden (--redact-sensitive). Two callers with the same view get the
// same bytes, so the view is part of the response cache key and the ETag.

// readScope is the caller's read scope; nil means every persona (reads are
// open, or the token's read permission is unscoped).
func (s *Server) readScope(c *echo.Context) *scope {
	if !s.cfg.RequireAuthForReads {
		return nil
	}
	sc := principalOf(c).scope(PermRead)
	if sc == nil || sc.all {
		return nil
	}
	return sc
}

// visible returns the caller's read scope as a predicate, nil for all.
func (s *Server) visible(c *echo.Context) func(*registry.Persona) bool {
	if sc := s.readScope(c); sc != nil {
		return sc.allows
	}
	return nil
}

// visibleIn is visible for a read of snap: a set lookup, the scope being
// evaluated once per persona of the snapshot.
func (s *Server) visibleIn(c *echo.Context, snap *registry.Snapshot) func(*registry.Persona) bool {
	sc := s.readScope(c)
	if sc == nil {
		return nil
	}
	set := s.visibleSetsOf(snap).get(snap, sc)
	return func(p *registry.Persona) bool {
		_, ok := set[p]
		return ok
	}
}

// visibleSets keeps, for the current snapshot, the personas each read
// scope allows. A snapshot never changes, so a set stays right until the
// snapshot is replaced; the sets are dropped then.
type visibleSets struct {
	mu   sync.Mutex
	snap *registry.Snapshot
	sets map[string]map[*registry.Persona]struct{}
}

func (vs *visibleSets) get(snap *registry.Snapshot, sc *scope) map[*registry.Persona]struct{} {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.snap != snap {
		if vs.snap != nil && snap.BuiltAt.Before(vs.snap.BuiltAt) {
			return scopeSet(snap, sc) // an older snapshot finishing late: not kept
		}
		vs.snap, vs.sets = snap, map[string]map[*registry.Persona]struct{}{}
	}
	set, ok := vs.sets[sc.key]
	if !ok {
		set = scopeSet(snap, sc)
		vs.sets[sc.key] = set
	}
	return set
}

func scopeSet(snap *registry.Snapshot, sc *scope) map[*registry.Persona]struct{} {
	set := map[*registry.Persona]struct{}{}
	for _, p := range snap.Personas() {
		if sc.allows(p) {
			set[p] = struct{}{}
		}
	}
	return set
}

// viewKey is the canonical string of the caller's view: "" for everything
// unredacted (every unscoped caller shares it), "-r" for everything
// redacted; otherwise it holds the modify scope (which un-redacts per
// persona) and the read scope in full.
func (s *Server) viewKey(c *echo.Context) string {
	red, read := s.viewScopes(c)
	key := ""
	switch {
	case red == redactAll:
		key = "-r"
	case red != nil:
		key = "\x00modify\x00" + red.key
	}
	if read != nil {
		key += "\x00read\x00" + read.key
	}
	return key
}

// etagTag is the view's suffix of the ETag: "" or "-r" for the common
// views, else short hashes of the scopes.
func (s *Server) etagTag(c *echo.Context) string {
	red, read := s.viewScopes(c)
	tag := ""
	switch {
	case red == redactAll:
		tag = "-r"
	case red != nil:
		tag = "-m" + red.tag
	}
	if read != nil {
		tag += "-s" + read.tag
	}
	return tag
}

// redactAll stands for "sensitive variables hidden on every persona".
var redactAll = &scope{}

// viewScopes returns what the caller's view depends on: redaction (nil:
// none, redactAll, or the modify scope that un-redacts) and the read
// scope (nil: everything).
func (s *Server) viewScopes(c *echo.Context) (red, read *scope) {
	if s.cfg.RedactSensitive {
		switch sc := principalOf(c).scope(PermModify); {
		case sc == nil:
			red = redactAll
		case !sc.all:
			red = sc
		}
	}
	return red, s.readScope(c)
}

// redactsFor reports whether p's sensitive variables are hidden from the caller.
func (s *Server) redactsFor(c *echo.Context, p *registry.Persona) bool {
	return s.cfg.RedactSensitive && !principalOf(c).CanOn(PermModify, p)
}

// visibleProblems returns the problems the caller may see: all of them
// for an unscoped reader; for a scoped one, those whose file a grant made
// only of path selectors covers (a broken file has no role or tags to match).
func (s *Server) visibleProblems(c *echo.Context, ps []registry.Problem) []registry.Problem {
	sc := s.readScope(c)
	if sc == nil {
		return ps
	}
	out := []registry.Problem{}
	for _, pr := range ps {
		for _, g := range sc.grants {
			if pathOnlyMatch(g, pr.Path) {
				out = append(out, pr)
				break
			}
		}
	}
	return out
}

func pathOnlyMatch(g Grant, path string) bool {
	for _, sel := range g.Selectors {
		if sel.Kind != "path" || !globMatch(sel.Value, path) {
			return false
		}
	}
	return len(g.Selectors) > 0
}
