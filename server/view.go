package server

import (
	"crypto/sha256"
	"encoding/hex"
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
	set := s.visibleSets.get(snap, sc)
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
// redacted; otherwise it names the modify scope (which un-redacts per
// persona) and the read scope.
func (s *Server) viewKey(c *echo.Context) string {
	key := s.redactTag(c)
	if sc := s.readScope(c); sc != nil {
		key += "\x00read\x00" + sc.key
	}
	return key
}

// etagTag is the view's suffix of the ETag: short, printable, "" or "-r"
// for the common views.
func (s *Server) etagTag(c *echo.Context) string {
	key := s.viewKey(c)
	if key == "" || key == "-r" {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "-v" + hex.EncodeToString(sum[:8])
}

// redactTag says how sensitive variables are shown to the caller: "" in
// full, "-r" hidden, or the modify scope's key (shown for the personas it covers).
func (s *Server) redactTag(c *echo.Context) string {
	if !s.cfg.RedactSensitive {
		return ""
	}
	sc := principalOf(c).scope(PermModify)
	switch {
	case sc == nil:
		return "-r"
	case sc.all:
		return ""
	}
	return "\x00modify\x00" + sc.key
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
