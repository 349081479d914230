package server

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/server/ui"
)

// pageRoutes serves the browser pages (package ui) beside the API, with the
// API's own parameter parsers and token check.
func (s *Server) pageRoutes() {
	cfg := ui.Config{
		Registry: s.reg, Org: s.org, Logger: s.log, WebURL: s.cfg.WebURL,
		RequireAuth: s.cfg.RequireAuthForReads, RedactSensitive: s.cfg.RedactSensitive,
		ParseList:   func(q url.Values) (registry.ListQuery, error) { return listQuery(q, s.org) },
		ParseSearch: func(q url.Values) (string, registry.Filter, error) { return searchQuery(q, s.org) },
	}
	if s.cfg.Auth != nil {
		cfg.Authenticate = s.pageViewer
	}
	pages := ui.New(cfg)
	h := echo.WrapHandler(pages)
	for _, p := range ui.Paths {
		s.echo.GET(p, h)
		s.echo.HEAD(p, h)
	}
	s.echo.POST("/ui/*", h)
}

// pageViewer checks a token from the pages' cookie exactly as the API checks
// a bearer token.
func (s *Server) pageViewer(r *http.Request, token string) (*ui.Viewer, error) {
	req := r.Clone(r.Context())
	req.Header = http.Header{"Authorization": {"Bearer " + token}}
	p, err := s.cfg.Auth.authenticate(s.echo.NewContext(req, nil), s.org)
	if err != nil || p == nil {
		return nil, err
	}
	v := &ui.Viewer{Name: p.Token.Name, User: p.Token.User, SeeSensitive: p.Can(PermModify)}
	if s.cfg.RequireAuthForReads {
		sc := p.scope(PermRead)
		if sc == nil {
			return nil, registry.Errorf(registry.EFORBIDDEN, "token %s lacks %s", p.Token.Name, PermRead)
		}
		if !sc.all {
			// the same read scope the API applies, to personas and problems
			v.May = sc.allows
			v.SeeProblem = func(pr registry.Problem) bool {
				return slices.ContainsFunc(sc.grants, func(g Grant) bool { return pathOnlyMatch(g, pr.Path) })
			}
		}
	}
	return v, nil
}
