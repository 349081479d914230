package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/repogen"
	"github.com/personaregistry/personas/server"
)

// benchRepo generates (once, under $TMPDIR) a repository of 10,000
// personas and 12,000 commits.
func benchRepo(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "personas-ui-10000.git")
	if _, err := os.Stat(filepath.Join(dir, "refs", "heads", "main")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	if err := repogen.Create(dir, repogen.Config{Personas: 10000, Commits: 12000, Seed: 15}); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkPages measures the server time of each page on 10,000 personas:
// the whole handler (routing, query, template, gzip) without the network.
func BenchmarkPages(b *testing.B) {
	reg, err := registry.Open(registry.Options{Repo: benchRepo(b), PollInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	snap, err := reg.Refresh(ctx)
	if err != nil {
		b.Fatal(err)
	}
	h := server.New(server.Config{Registry: reg, Org: org}).Handler()
	var busiest *registry.Persona
	for _, p := range snap.Personas() {
		if busiest == nil || len(p.Versions) > len(busiest.Versions) {
			busiest = p
		}
	}
	fv := snap.FilterValues()
	word := strings.Fields(busiest.Latest().Background.String())[3]
	n := len(busiest.Versions)
	cases := []struct{ name, path string }{
		{"catalog", "/"},
		{"catalog-tag", "/?tag=" + url.QueryEscape(fv.Tags[len(fv.Tags)/2])},
		{"catalog-page-100", "/?sort_by=-updated_at&continuation_token=5000"},
		{"search", "/?query=" + url.QueryEscape(word)},
		{"persona", "/personas/" + busiest.ID},
		{"compare", "/personas/" + busiest.ID + "/compare?from=1&to=" + itoa(n)},
		{"version-yaml", "/personas/" + busiest.ID + "/versions/" + itoa(n)},
		{"problems", "/problems"},
	}
	b.Logf("%d personas, busiest has %d versions", len(snap.Personas()), n)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			cpu0 := cpuTime()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %s", tc.path, w.Code, w.Body)
				}
				_, _ = io.Copy(io.Discard, w.Body)
			}
			// the process's CPU time per page: what the server spends,
			// whatever else the machine runs
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
