package server

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
)

// errorKind is how one registry error code is shown over HTTP.
type errorKind struct {
	status int
	name   string // the "type" of the JSON error body
}

// errorKinds maps every registry error code to its HTTP status and type.
var errorKinds = map[string]errorKind{
	registry.EINVALID:      {http.StatusUnprocessableEntity, "ValidationError"},
	registry.ENOTFOUND:     {http.StatusNotFound, "NotFoundError"},
	registry.ECONFLICT:     {http.StatusConflict, "ConflictError"},
	registry.EPRECONDITION: {http.StatusBadRequest, "BadRequestError"},
	registry.EUNAUTHORIZED: {http.StatusUnauthorized, "UnauthorizedError"},
	registry.EFORBIDDEN:    {http.StatusForbidden, "ForbiddenError"},
	registry.ERATELIMIT:    {http.StatusTooManyRequests, "RateLimitError"},
	registry.EUNAVAILABLE:  {http.StatusServiceUnavailable, "ServiceUnavailableError"},
	registry.EINTERNAL:     {http.StatusInternalServerError, "InternalServerError"},
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Type    string                `json:"type"`
	Message string                `json:"message"`
	Errors  []registry.FieldError `json:"errors,omitempty"`
}

// httpErrorKinds names echo's own errors (unknown route, wrong method, body
// too large) with the same body shape.
var httpErrorKinds = map[int]string{
	http.StatusNotFound:              "NotFoundError",
	http.StatusMethodNotAllowed:      "MethodNotAllowedError",
	http.StatusRequestEntityTooLarge: "RequestEntityTooLargeError",
	http.StatusBadRequest:            "BadRequestError",
	http.StatusUnsupportedMediaType:  "UnsupportedMediaTypeError",
	http.StatusTooManyRequests:       "RateLimitError",
}

// handleError writes err as the JSON error body. Internal errors are logged
// and shown as "internal error".
func (s *Server) handleError(c *echo.Context, err error) {
	if resp, uErr := echo.UnwrapResponse(c.Response()); uErr == nil && resp.Committed {
		return
	}
	status, body := s.errorResponse(c, err)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

// statusOf returns the status a handler's result is answered with.
func (s *Server) statusOf(c *echo.Context, err error) int {
	if err == nil {
		_, status := echo.ResolveResponseStatus(c.Response(), nil)
		return status
	}
	var re *registry.Error
	if errors.As(err, &re) {
		if k, ok := errorKinds[re.Code]; ok {
			return k.status
		}
		return http.StatusInternalServerError
	}
	_, status := echo.ResolveResponseStatus(c.Response(), err)
	return status
}

func (s *Server) errorResponse(c *echo.Context, err error) (int, errorBody) {
	var re *registry.Error
	if errors.As(err, &re) {
		k, ok := errorKinds[re.Code]
		if !ok {
			k = errorKinds[registry.EINTERNAL]
		}
		if re.Code == registry.EINTERNAL {
			s.log.Error("internal error", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		}
		if re.Code == registry.ERATELIMIT && c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "1")
		}
		return k.status, errorBody{Type: k.name, Message: registry.ErrorMessage(err), Errors: re.Fields}
	}
	var sc echo.HTTPStatusCoder
	if errors.As(err, &sc) {
		status := sc.StatusCode()
		if name, ok := httpErrorKinds[status]; ok {
			return status, errorBody{Type: name, Message: httpMessage(status, c)}
		}
	}
	s.log.Error("internal error", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err, "level", slog.LevelError)
	return http.StatusInternalServerError, errorBody{Type: "InternalServerError", Message: "internal error"}
}

func httpMessage(status int, c *echo.Context) string {
	switch status {
	case http.StatusNotFound:
		return "no such endpoint: " + c.Request().Method + " " + c.Request().URL.Path
	case http.StatusMethodNotAllowed:
		return "method " + c.Request().Method + " is not allowed on " + c.Request().URL.Path
	case http.StatusRequestEntityTooLarge:
		return "request body is larger than 1 MiB"
	}
	return http.StatusText(status)
}

// invalid builds a 422 error for one parameter.
func invalid(loc []string, msg string) *registry.Error {
	return &registry.Error{Code: registry.EINVALID, Message: "invalid " + loc[len(loc)-1] + ": " + msg,
		Fields: []registry.FieldError{{Loc: loc, Msg: msg}}}
}
