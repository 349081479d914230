package server_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/personaregistry/personas/server"
)

// TestBuildInHealthzAndMetrics checks that the binary's build shows in
// /healthz (VCS fields only when known) and as personas_build_info.
func TestBuildInHealthzAndMetrics(t *testing.T) {
	for _, tc := range []struct {
		name       string
		build      server.Build
		wantHealth map[string]string
		wantMetric string
	}{
		{
			name: "with VCS information",
			build: server.Build{Version: "v1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567",
				VCSTime: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.26.8", Platform: "linux/amd64"},
			wantHealth: map[string]string{"status": "ok", "version": "v1.2.3", "revision": "0123456789abcdef0123456789abcdef01234567",
				"vcs_time": "2026-12-01T10:00:00Z", "modified": "true", "go_version": "go1.26.8", "platform": "linux/amd64"},
			wantMetric: `personas_build_info{go_version="go1.26.8",modified="true",revision="0123456789abcdef0123456789abcdef01234567",version="v1.2.3"} 1`,
		},
		{
			name:       "without VCS information",
			build:      server.Build{Version: "(devel)", GoVersion: "go1.26.8", Platform: "linux/arm64"},
			wantHealth: map[string]string{"status": "ok", "version": "(devel)", "go_version": "go1.26.8", "platform": "linux/arm64"},
			wantMetric: `personas_build_info{go_version="go1.26.8",modified="false",revision="",version="(devel)"} 1`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(server.New(server.Config{Org: "default", Build: tc.build}).Handler())
			defer ts.Close()
			var health map[string]string
			if err := json.Unmarshal(fetchOK(t, ts.URL+"/healthz"), &health); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(health, tc.wantHealth) {
				t.Errorf("/healthz = %v, want %v", health, tc.wantHealth)
			}
			if metrics := string(fetchOK(t, ts.URL+"/metrics")); !strings.Contains(metrics, "\n"+tc.wantMetric+"\n") {
				t.Errorf("/metrics lacks %s; its build lines:\n%s", tc.wantMetric, linesWith(metrics, "personas_build_info"))
			}
		})
	}
}

func fetchOK(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, body)
	}
	return body
}

func linesWith(text, word string) string {
	var out []string
	for l := range strings.Lines(text) {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}
