package server

import (
	_ "embed"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"
)

// OpenAPIJSON is this server's own OpenAPI 3.1 document.
//
//go:embed openapi.json
var OpenAPIJSON []byte

// healthz answers 200 while the process is up, with the build's fields.
func (s *Server) healthz(c *echo.Context) error {
	body := s.cfg.Build.healthFields()
	body["status"] = "ok"
	return c.JSON(http.StatusOK, body)
}

// readyz answers 200 once the first snapshot is published.
func (s *Server) readyz(c *echo.Context) error {
	snap := s.reg.Snapshot()
	if snap == nil {
		return c.JSON(http.StatusServiceUnavailable, errorBody{Type: "ServiceUnavailableError", Message: "the index is still being built"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready", "head": snap.Head})
}

func (s *Server) openapi(c *echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", OpenAPIJSON)
}

// logRequests writes one structured log line per request.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		status := s.statusOf(c, err)
		size := int64(0)
		if resp, uErr := echo.UnwrapResponse(c.Response()); uErr == nil {
			size = resp.Size
		}
		s.log.Info("request", "method", c.Request().Method, "path", c.Request().URL.Path, "route", c.Path(),
			"status", status, "bytes", size, "duration", time.Since(start), "remote", c.RealIP())
		return err
	}
}
