package server

import "github.com/prometheus/client_golang/prometheus"

// Build describes the running binary (module version, VCS revision, Go
// version); /healthz shows it and personas_build_info exports it.
type Build struct {
	Version   string `json:"version"`            // module version: v1.2.3, a pseudo-version, or (devel)
	Revision  string `json:"revision,omitempty"` // VCS commit the binary was built from
	VCSTime   string `json:"vcs_time,omitempty"` // commit time of Revision, RFC 3339
	Modified  bool   `json:"modified"`           // the working tree had uncommitted changes
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"` // GOOS/GOARCH
}

// healthFields are the build's fields in /healthz, all strings.
func (b Build) healthFields() map[string]string {
	m := map[string]string{"version": b.Version, "go_version": b.GoVersion, "platform": b.Platform}
	if b.Revision != "" {
		m["revision"], m["vcs_time"] = b.Revision, b.VCSTime
		m["modified"] = "false"
		if b.Modified {
			m["modified"] = "true"
		}
	}
	return m
}

// buildInfoMetric is the constant personas_build_info gauge (value 1).
func buildInfoMetric(b Build) prometheus.Collector {
	modified := "false"
	if b.Modified {
		modified = "true"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "personas_build_info",
		Help: "The running binary: module version, VCS revision, whether the tree was modified, Go version (value 1).",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "modified": modified,
			"go_version": b.GoVersion},
	})
	g.Set(1)
	return g
}
