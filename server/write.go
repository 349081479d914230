package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
)

// versionBody is a version's content in a request (initial_version, or the
// body of a new version).
type versionBody struct {
	Background                *string           `json:"background"`
	PreferredLanguage         *string           `json:"preferred_language"`
	Timezone                  *string           `json:"timezone"`
	UserModels                []string          `json:"user_models"`
	NonsensitiveUserVariables map[string]string `json:"nonsensitive_user_variables"`
	SensitiveUserVariables    map[string]string `json:"sensitive_user_variables"`
}

type createBody struct {
	Name           *string            `json:"name"`
	Role           *string            `json:"role"`
	Tags           map[string]*string `json:"tags"`
	InitialVersion *versionBody       `json:"initial_version"`
}

type tagsBody struct {
	Tags map[string]*string `json:"tags"`
}

func (s *Server) writeRoutes(add func(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc)) {
	add(http.MethodPost, "/", s.create, s.requirePermission(PermCreate))
	add(http.MethodPost, "/:id/version/", s.newVersion, s.requirePermission(PermModify))
	add(http.MethodPost, "/:id/", s.retag, s.requirePermission(PermModify))
	add(http.MethodDelete, "/:id/", s.delete, s.requirePermission(PermDelete))
}

// author is the caller of a write, with the check of its scopes.
func (s *Server) author(c *echo.Context, perm string) registry.Author {
	p := principalOf(c)
	return registry.Author{Name: p.Token.Name, Email: p.Token.User, Check: s.writeCheck(c, perm)}
}

// writeCheck judges a write on the persona as it is and as it will be: a
// persona the caller may not read answers 404 like an unknown id; one its
// permission does not cover, before or after, answers 403.
func (s *Server) writeCheck(c *echo.Context, perm string) func(old, new *registry.Persona) error {
	p := principalOf(c)
	visible := s.visible(c)
	return func(old, new *registry.Persona) error {
		if old != nil && visible != nil && !visible(old) {
			return registry.Errorf(registry.ENOTFOUND, "no persona with id %s", old.ID)
		}
		for _, x := range []struct {
			what string
			p    *registry.Persona
		}{{"the persona", old}, {"the persona as it would be", new}} {
			if x.p != nil && !p.CanOn(perm, x.p) {
				return registry.Errorf(registry.EFORBIDDEN, "token %q: %s is outside the scope of its permission %s (role %q, path %s)",
					p.Token.Name, x.what, perm, x.p.Role, x.p.Path)
			}
		}
		return nil
	}
}

func (s *Server) create(c *echo.Context) error {
	var b createBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	var missing []registry.FieldError
	for name, v := range map[string]*string{"name": b.Name, "role": b.Role} {
		if v == nil || strings.TrimSpace(*v) == "" {
			missing = append(missing, registry.FieldError{Loc: []string{"body", name}, Msg: "required: a non-empty string"})
		}
	}
	if b.InitialVersion == nil {
		missing = append(missing, registry.FieldError{Loc: []string{"body", "initial_version"}, Msg: "required: an object with at least background"})
	} else if b.InitialVersion.Background == nil || strings.TrimSpace(*b.InitialVersion.Background) == "" {
		missing = append(missing, registry.FieldError{Loc: []string{"body", "initial_version", "background"}, Msg: "required: a non-empty string"})
	}
	if len(missing) > 0 {
		return fieldsError(missing)
	}
	if err := s.hiddenNameTaken(c, strings.TrimSpace(*b.Name)); err != nil {
		return err
	}
	res, err := s.reg.Create(c.Request().Context(), s.author(c, PermCreate), registry.NewPersona{
		Name: strings.TrimSpace(*b.Name), Role: strings.TrimSpace(*b.Role), Tags: b.Tags, Content: b.InitialVersion.content(),
	})
	if err != nil {
		return err
	}
	s.audit(c, "create", res)
	return c.JSON(http.StatusCreated, map[string]string{"simulation_persona_id": res.ID})
}

// hiddenNameTaken refuses a create whose name a persona hidden from the
// caller holds, without naming its id (the registry's conflict would).
func (s *Server) hiddenNameTaken(c *echo.Context, name string) error {
	visible := s.visible(c)
	if visible == nil {
		return nil
	}
	if snap := s.reg.Snapshot(); snap != nil {
		if p, ok := snap.PersonaByName(name); ok && !visible(p) {
			return registry.Errorf(registry.ECONFLICT, "a live persona is already named %q", name)
		}
	}
	return nil
}

func (v *versionBody) content() registry.Content {
	c := registry.Content{PreferredLanguage: v.PreferredLanguage, Timezone: v.Timezone, UserModels: v.UserModels,
		NonsensitiveUserVariables: v.NonsensitiveUserVariables, SensitiveUserVariables: v.SensitiveUserVariables}
	if v.Background != nil {
		c.Background = registry.NewText(*v.Background)
	}
	return c
}

func (s *Server) newVersion(c *echo.Context) error {
	id, err := personaID(c)
	if err != nil {
		return err
	}
	expect := 0
	if raw := c.QueryParam("version"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return invalid([]string{"query", "version"}, fmt.Sprintf("%q: want a positive integer", raw))
		}
		expect = n
	}
	var b versionBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.Background == nil || strings.TrimSpace(*b.Background) == "" {
		return fieldsError([]registry.FieldError{{Loc: []string{"body", "background"}, Msg: "required: a non-empty string"}})
	}
	res, err := s.reg.NewVersion(c.Request().Context(), s.author(c, PermModify), id, expect, b.content())
	if err != nil {
		return err
	}
	s.audit(c, "version", res)
	return c.JSON(http.StatusCreated, map[string]int{"version": res.Version})
}

func (s *Server) retag(c *echo.Context) error {
	id, err := personaID(c)
	if err != nil {
		return err
	}
	var b tagsBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	res, err := s.reg.UpdateTags(c.Request().Context(), s.author(c, PermModify), id, b.Tags)
	if err != nil {
		return err
	}
	s.audit(c, "retag", res)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) delete(c *echo.Context) error {
	id, err := personaID(c)
	if err != nil {
		return err
	}
	res, err := s.reg.Delete(c.Request().Context(), s.author(c, PermDelete), id)
	if err != nil {
		return err
	}
	s.audit(c, "delete", res)
	return c.NoContent(http.StatusNoContent)
}

// audit writes one log line per write: who, what, which commit.
func (s *Server) audit(c *echo.Context, action string, res registry.WriteResult) {
	p := principalOf(c)
	s.log.Info("audit", "action", action, "persona", res.ID, "version", res.Version, "commit", res.Commit,
		"user", p.Token.User, "token", p.Token.Name, "remote", c.RealIP())
}

func fieldsError(fields []registry.FieldError) error {
	msgs := make([]string, len(fields))
	for i, f := range fields {
		msgs[i] = strings.Join(f.Loc[1:], ".") + ": " + f.Msg
	}
	return &registry.Error{Code: registry.EINVALID, Message: "invalid body: " + strings.Join(msgs, "; "), Fields: fields}
}

// decodeBody reads a JSON object body strictly: unknown fields and wrong
// types are 422 naming the field.
func decodeBody(c *echo.Context, v any) error {
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		var sc echo.HTTPStatusCoder
		if errors.As(err, &tooLarge) || (errors.As(err, &sc) && sc.StatusCode() == http.StatusRequestEntityTooLarge) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body too large")
		}
		return invalid([]string{"body"}, "could not read the body")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			if loc := unknownFieldLoc(data, reflect.TypeOf(v)); loc != nil {
				return fieldsError([]registry.FieldError{{Loc: append([]string{"body"}, loc...), Msg: "unknown field"}})
			}
		}
		return bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid([]string{"body"}, "trailing data after the JSON object")
	}
	return nil
}

// unknownFieldLoc finds the path of the first key of data that t's struct
// (followed through nested structs) has no field for.
func unknownFieldLoc(data []byte, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return nil
	}
	for key, raw := range obj {
		field, ok := jsonField(t, key)
		if !ok {
			return []string{key}
		}
		if sub := unknownFieldLoc(raw, field.Type); sub != nil {
			return append([]string{key}, sub...)
		}
	}
	return nil
}

func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func bodyError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		loc := append([]string{"body"}, strings.Split(te.Field, ".")...)
		if te.Field == "" {
			loc = []string{"body"}
		}
		return fieldsError([]registry.FieldError{{Loc: loc, Msg: fmt.Sprintf("want %s, got JSON %s", te.Type.String(), te.Value)}})
	case errors.As(err, &se):
		return invalid([]string{"body"}, fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se))
	case errors.Is(err, io.EOF):
		return invalid([]string{"body"}, "a JSON object is required")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldsError([]registry.FieldError{{Loc: []string{"body", name}, Msg: "unknown field"}})
	}
	return invalid([]string{"body"}, err.Error())
}
