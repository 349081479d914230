package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/personaregistry/personas/registry"
)

// metrics are the server's Prometheus metrics, on a registry of its own so
// that several servers can run in one process (tests).
type metrics struct {
	prom     *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg *registry.Registry, caches map[string]func() cacheStats) *metrics {
	m := &metrics{
		prom: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "personas_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "personas_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"route"}),
	}
	m.prom.MustRegister(m.requests, m.latency, &snapshotCollector{reg: reg}, &cacheCollector{caches: caches},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range registry.Collectors() {
		_ = m.prom.Register(c)
	}
	return m
}

func (m *metrics) handler() http.Handler {
	// echo's gzip middleware compresses; promhttp must not do it again
	return promhttp.HandlerFor(m.prom, promhttp.HandlerOpts{DisableCompression: true})
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.latency}
}

// countRequests records every request's route, status and latency.
func (s *Server) countRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := s.statusOf(c, err)
		s.metrics.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		return err
	}
}

// snapshotCollector reports the served snapshot at scrape time.
type snapshotCollector struct{ reg *registry.Registry }

var (
	descHead     = prometheus.NewDesc("personas_snapshot_info", "The served head commit (value 1).", []string{"head"}, nil)
	descAge      = prometheus.NewDesc("personas_snapshot_head_age_seconds", "Seconds since the served head was committed.", nil, nil)
	descPersonas = prometheus.NewDesc("personas_snapshot_personas", "Personas in the snapshot, deleted included.", nil, nil)
	descVersions = prometheus.NewDesc("personas_snapshot_versions", "Versions in the snapshot.", nil, nil)
	descProblems = prometheus.NewDesc("personas_snapshot_problems", "Problems at the served head.", nil, nil)
)

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHead, descAge, descPersonas, descVersions, descProblems} {
		ch <- d
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	if c.reg == nil {
		return
	}
	s := c.reg.Snapshot()
	if s == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descHead, prometheus.GaugeValue, 1, s.Head)
	if !s.HeadTime.IsZero() {
		ch <- prometheus.MustNewConstMetric(descAge, prometheus.GaugeValue, time.Since(s.HeadTime).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(descPersonas, prometheus.GaugeValue, float64(len(s.Personas())))
	ch <- prometheus.MustNewConstMetric(descVersions, prometheus.GaugeValue, float64(s.VersionCount()))
	ch <- prometheus.MustNewConstMetric(descProblems, prometheus.GaugeValue, float64(len(s.Problems)))
}

// cacheCollector reports the read caches' sizes and counters at scrape time.
type cacheCollector struct{ caches map[string]func() cacheStats }

var (
	descCacheBytes     = prometheus.NewDesc("personas_cache_bytes", "Bytes held by a read cache (entries, keys and bookkeeping).", []string{"cache"}, nil)
	descCacheBudget    = prometheus.NewDesc("personas_cache_budget_bytes", "Byte budget of a read cache.", []string{"cache"}, nil)
	descCacheEntries   = prometheus.NewDesc("personas_cache_entries", "Entries in a read cache.", []string{"cache"}, nil)
	descCacheHits      = prometheus.NewDesc("personas_cache_hits_total", "Lookups answered by a read cache.", []string{"cache"}, nil)
	descCacheMisses    = prometheus.NewDesc("personas_cache_misses_total", "Lookups a read cache could not answer.", []string{"cache"}, nil)
	descCacheEvictions = prometheus.NewDesc("personas_cache_evictions_total", "Entries evicted from a read cache to stay within its budget.", []string{"cache"}, nil)
)

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCacheBytes, descCacheBudget, descCacheEntries, descCacheHits, descCacheMisses, descCacheEvictions} {
		ch <- d
	}
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	for name, stats := range c.caches {
		st := stats()
		ch <- prometheus.MustNewConstMetric(descCacheBytes, prometheus.GaugeValue, float64(st.bytes), name)
		ch <- prometheus.MustNewConstMetric(descCacheBudget, prometheus.GaugeValue, float64(st.budget), name)
		ch <- prometheus.MustNewConstMetric(descCacheEntries, prometheus.GaugeValue, float64(st.entries), name)
		ch <- prometheus.MustNewConstMetric(descCacheHits, prometheus.CounterValue, float64(st.hits), name)
		ch <- prometheus.MustNewConstMetric(descCacheMisses, prometheus.CounterValue, float64(st.misses), name)
		ch <- prometheus.MustNewConstMetric(descCacheEvictions, prometheus.CounterValue, float64(st.evictions), name)
	}
}
