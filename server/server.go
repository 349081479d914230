package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/personaregistry/personas/registry"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// Config says what a Server serves and how.
type Config struct {
	Registry *registry.Registry
	Org      string
	Logger   *slog.Logger
	// Auth checks credentials; nil means no tokens are configured (writes refused).
	Auth *Auth
	// ReadOnly refuses writes with 403 and ReadOnlyReason.
	ReadOnly       bool
	ReadOnlyReason string
	// RequireAuthForReads makes reads need a valid token too.
	RequireAuthForReads bool
	// RedactSensitive hides sensitive_user_variables from callers without
	// the Modify permission.
	RedactSensitive bool
	// WebhookSecret verifies push webhooks at POST /hooks/git; OnPush is
	// called for each verified one (the replica fetches).
	WebhookSecret string
	OnPush        func()
	// RateLimit, when above zero, limits each token to that many requests
	// a second (429 with Retry-After beyond).
	RateLimit float64
	// ResponseCacheBytes and PersonaCacheBytes are the byte budgets of the
	// cache of encoded responses and of encoded personas: 0 means
	// DefaultResponseCacheBytes or DefaultPersonaCacheBytes, a negative
	// value turns the cache off.
	ResponseCacheBytes int64
	PersonaCacheBytes  int64
	// WebURL, when set, is where the repository is browsed on its git host;
	// the pages link commits to WebURL/commit/<sha>.
	WebURL string
	// Build is the running binary, shown in /healthz and personas_build_info.
	Build Build
}

// Server is the HTTP API. Create it with New, start it with Serve on a
// listener, stop it with Shutdown.
type Server struct {
	cfg     Config
	log     *slog.Logger
	reg     *registry.Registry
	org     string
	echo    *echo.Echo
	http    *http.Server
	metrics *metrics

	limiter      *rateLimiter
	responses    *responseCache
	instanceJSON *instanceCache
	visibleSets  visibleSets
	previews     previewCaches // caches of ref snapshots (/ref/{ref}/…)
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, reg: cfg.Registry, org: cfg.Org}
	responseBytes := cacheBudget(cfg.ResponseCacheBytes, DefaultResponseCacheBytes)
	personaBytes := cacheBudget(cfg.PersonaCacheBytes, DefaultPersonaCacheBytes)
	s.responses = newResponseCache(responseBytes)
	s.instanceJSON = newInstanceCache(personaBytes)
	s.previews.responseBytes = responseBytes / maxPreviewCaches
	s.previews.personaBytes = personaBytes / maxPreviewCaches
	s.metrics = newMetrics(cfg.Registry, map[string]func() cacheStats{
		"response": s.responses.stats, "persona": s.instanceJSON.stats})
	s.metrics.prom.MustRegister(buildInfoMetric(cfg.Build))
	if cfg.RateLimit > 0 {
		s.limiter = newRateLimiter(cfg.RateLimit)
	}
	e := echo.NewWithConfig(echo.Config{Logger: cfg.Logger, HTTPErrorHandler: s.handleError, NoGroupAutoRegister404Routes: true})
	e.Use(s.logRequests, s.countRequests, middleware.Recover(), middleware.BodyLimit(MaxBodyBytes),
		middleware.GzipWithConfig(middleware.GzipConfig{MinLength: 1024}))
	e.Pre(s.refPrefix)
	s.echo = e
	s.routes()
	s.http = &http.Server{
		Handler:           answerWrites(e),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// writeAnswerTimeout is how long a write request may take to be answered:
// longer than the connection's WriteTimeout, because a write queued behind
// others on a busy replica must still get its answer — a connection closed
// without one leaves the caller unsure whether the write landed. A write's
// own work is bounded by its attempts, not by this.
const writeAnswerTimeout = 5 * time.Minute

// answerWrites extends the write deadline of write requests (anything but
// GET and HEAD) to writeAnswerTimeout.
func answerWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeAnswerTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// cacheBudget turns a configured budget into bytes: 0 is the default,
// negative is off.
func cacheBudget(b, def int64) int64 {
	switch {
	case b == 0:
		return def
	case b < 0:
		return 0
	}
	return b
}

func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler()))
	e.GET("/openapi.json", s.openapi)
	e.POST("/hooks/git", s.gitWebhook)
	e.Any("/ref/*", s.previewOther)
	base := "/v1/:org/simulation/persona"
	g := e.Group(base, s.checkOrg)
	// every route answers with and without its trailing slash
	both := func(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
		g.Add(method, path, h, m...)
		switch {
		case path == "/":
			g.Add(method, "", h, m...)
		case strings.HasSuffix(path, "/"):
			g.Add(method, strings.TrimSuffix(path, "/"), h, m...)
		default:
			g.Add(method, path+"/", h, m...)
		}
	}
	read := []echo.MiddlewareFunc{s.authRead, s.limitRate, s.withSnapshot}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		both(method, "/", s.list, read...)
		both(method, "/search", s.search, read...)
		both(method, "/problems", s.problems, read...)
		both(method, "/:id/version/", s.versions, read...)
	}
	s.writeRoutes(both)
	s.pageRoutes()
}

// Handler returns the HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers requests on ln until Shutdown. It returns nil after a
// graceful shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// Collectors are the server's Prometheus collectors (registered on its own registry).
func (s *Server) Collectors() []prometheus.Collector { return s.metrics.collectors() }

// checkOrg answers 404 for an organization this process does not serve.
func (s *Server) checkOrg(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if org := c.Param("org"); org != s.org {
			return registry.Errorf(registry.ENOTFOUND, "organization %q is not served here (this server serves %q)", org, s.org)
		}
		return next(c)
	}
}
