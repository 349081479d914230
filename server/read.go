package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
)

const snapshotKey = "snapshot"

// withSnapshot pins the current snapshot (or under /ref/{ref}/ the ref's)
// for the request, sets the ETag (the served head) and answers
// If-None-Match with 304.
func (s *Server) withSnapshot(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		snap, err := s.pinnedSnapshot(c)
		if err != nil {
			return err
		}
		etag := `"` + snap.Head + s.etagTag(c) + `"`
		if snap.Head == "" {
			etag = `"empty` + s.etagTag(c) + `"`
		}
		c.Response().Header().Set("ETag", etag)
		if match := c.Request().Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
			return c.NoContent(http.StatusNotModified)
		}
		c.Set(snapshotKey, snap)
		return next(c)
	}
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func snapshotOf(c *echo.Context) *registry.Snapshot {
	return c.Get(snapshotKey).(*registry.Snapshot)
}

type filterValuesObject struct {
	Creators []UserInfo `json:"creators"`
	Tags     []string   `json:"tags"`
	Roles    []string   `json:"roles"`
}

func (s *Server) list(c *echo.Context) error {
	return s.cachedJSON(c, func() ([]byte, error) { return s.listBody(c) })
}

// listBody encodes {"simulation_personas", "has_more", "continuation_token", "filter_values"}.
func (s *Server) listBody(c *echo.Context) ([]byte, error) {
	raw, err := queryValues(c)
	if err != nil {
		return nil, err
	}
	q, err := listQuery(raw, s.org)
	if err != nil {
		return nil, err
	}
	snap := snapshotOf(c)
	q.Visible = s.visibleIn(c, snap)
	res := snap.List(q)
	fvJSON := []byte("null")
	if q.Offset == 0 {
		fv := snap.FilterValuesOf(q.Visible)
		obj := &filterValuesObject{Creators: make([]UserInfo, len(fv.Creators)), Tags: fv.Tags, Roles: fv.Roles}
		for i, u := range fv.Creators {
			obj.Creators[i] = UserInfo{OrgID: s.org, UserID: u}
		}
		if fvJSON, err = json.Marshal(obj); err != nil {
			return nil, err
		}
	}
	items := s.instances(snap, res.Personas)
	// sized once: the body is kept by the response cache, counted by its capacity
	buf := make([]byte, 0, 128+instancesLen(items)+len(fvJSON))
	buf = append(buf, `{"simulation_personas":`...)
	buf = appendInstances(buf, items)
	buf = append(buf, `,"has_more":`...)
	buf = strconv.AppendBool(buf, res.HasMore)
	buf = append(buf, `,"continuation_token":`...)
	if res.HasMore {
		buf = strconv.AppendInt(buf, int64(res.Next), 10)
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, `,"filter_values":`...)
	buf = append(buf, fvJSON...)
	return append(buf, '}'), nil
}

func (s *Server) search(c *echo.Context) error {
	return s.cachedJSON(c, func() ([]byte, error) { return s.searchBody(c) })
}

// searchBody encodes {"simulation_personas": [...]}.
func (s *Server) searchBody(c *echo.Context) ([]byte, error) {
	raw, err := queryValues(c)
	if err != nil {
		return nil, err
	}
	text, f, err := searchQuery(raw, s.org)
	if err != nil {
		return nil, err
	}
	snap := snapshotOf(c)
	f.Visible = s.visibleIn(c, snap)
	items := s.instances(snap, snap.Search(text, f))
	buf := make([]byte, 0, 32+instancesLen(items))
	buf = append(buf, `{"simulation_personas":`...)
	buf = appendInstances(buf, items)
	return append(buf, '}'), nil
}

// versionsResponse is the body of the versions endpoint.
type versionsResponse struct {
	Versions          []PersonaVersion `json:"simulation_persona_versions"`
	HasMore           bool             `json:"has_more"`
	ContinuationToken *int             `json:"continuation_token"`
}

func (s *Server) versions(c *echo.Context) error {
	return s.cachedJSON(c, func() ([]byte, error) { return s.versionsBody(c) })
}

func (s *Server) versionsBody(c *echo.Context) ([]byte, error) {
	id, err := personaID(c)
	if err != nil {
		return nil, err
	}
	raw, err := queryValues(c)
	if err != nil {
		return nil, err
	}
	q, err := versionQuery(raw)
	if err != nil {
		return nil, err
	}
	q.Visible = s.visibleIn(c, snapshotOf(c))
	res, err := snapshotOf(c).Versions(id, q)
	if err != nil {
		return nil, err
	}
	redact := s.redactsFor(c, res.Persona)
	out := versionsResponse{Versions: make([]PersonaVersion, len(res.Versions))}
	for i, v := range res.Versions {
		out.Versions[i] = NewPersonaVersion(res.Persona, v, s.org, redact)
	}
	if res.HasMore {
		out.HasMore, out.ContinuationToken = true, &res.Next
	}
	return marshal(out)
}

// queryValues parses the query string strictly: a malformed escape is a 422,
// not a silently dropped parameter.
func queryValues(c *echo.Context) (url.Values, error) {
	q, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return nil, invalid([]string{"query"}, "malformed query string: "+err.Error())
	}
	return q, nil
}

// personaID reads and checks the id path parameter.
func personaID(c *echo.Context) (string, error) {
	id := c.Param("id")
	if !idPattern.MatchString(id) {
		return "", &registry.Error{Code: registry.EINVALID,
			Message: "invalid simulation_persona_id: want 24 lowercase hex digits",
			Fields:  []registry.FieldError{{Loc: []string{"path", "simulation_persona_id"}, Msg: "want 24 lowercase hex digits"}}}
	}
	return id, nil
}

// problemsResponse is the body of the problems endpoint (extension).
type problemsResponse struct {
	Problems []registry.Problem `json:"problems"`
}

func (s *Server) problems(c *echo.Context) error {
	ps := s.visibleProblems(c, snapshotOf(c).Problems)
	if ps == nil {
		ps = []registry.Problem{}
	}
	return c.JSON(http.StatusOK, problemsResponse{Problems: ps})
}
