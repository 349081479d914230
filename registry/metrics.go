package registry

import "github.com/prometheus/client_golang/prometheus"

// refreshDuration is how long reading new commits into a snapshot takes.
var refreshDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "personas_refresh_duration_seconds",
	Help:    "Time to read new commits of the served branch into a snapshot.",
	Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
})

// Collectors returns the registry's Prometheus collectors, for the server to register.
func Collectors() []prometheus.Collector { return []prometheus.Collector{refreshDuration, refRequests} }
