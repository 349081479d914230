package server_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/server"
)

// BenchmarkScopedList compares list throughput of an unscoped reader and a
// reader scoped by two grants (a tag, or a role) on the 2,000-persona
// repository, with --require-auth-for-reads: the recurring first page
// (served from the response cache, one entry per scope) and pages that are
// all different (every request filters the snapshot).
//
//	go test -run '^$' -bench BenchmarkScopedList -benchtime 20000x ./server
func BenchmarkScopedList(b *testing.B) {
	repo := loadRepo(b)
	reg, err := registry.Open(registry.Options{Repo: repo, NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	snap, err := reg.Refresh(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "tokens.json")
	grants := map[string][]string{
		"unscoped": {server.PermRead},
		"scoped":   {server.PermRead + " tag=category:billing", server.PermRead + " role=patient"},
	}
	secrets := map[string]string{}
	for _, name := range []string{"unscoped", "scoped"} {
		s, err := server.AddToken(file, server.Token{Name: name, Org: "default", User: name + "@example.com", Permissions: grants[name]})
		if err != nil {
			b.Fatal(err)
		}
		secrets[name] = s
	}
	auth, _, err := server.LoadAuth(file)
	if err != nil {
		b.Fatal(err)
	}
	g, _ := server.ParseGrant(grants["scoped"][0])
	h, _ := server.ParseGrant(grants["scoped"][1])
	visible := 0
	for _, p := range snap.Personas() {
		if g.Matches(p) || h.Matches(p) {
			visible++
		}
	}
	b.Logf("%d personas, %d visible to the scoped token", len(snap.Personas()), visible)
	base := loadServe(b, server.New(server.Config{Registry: reg, Org: "default", Auth: auth, RequireAuthForReads: true}).Handler())
	list := base + "/v1/default/simulation/persona/"
	for _, kind := range []struct {
		name string
		url  func(i int) string
	}{
		{"first-page", func(int) string { return list + "?limit=50" }},
		{"every-page-different", func(i int) string {
			return fmt.Sprintf("%s?limit=%d&continuation_token=%d", list, 1+i%50, (i/50)%visible)
		}},
	} {
		for _, who := range []string{"unscoped", "scoped"} {
			b.Run(kind.name+"/"+who, func(b *testing.B) { loadDriveAs(b, kind.url, "Bearer "+secrets[who]) })
		}
		// the two tokens in alternating rounds of 500 requests, first one
		// then the other first: the ratio is not skewed by the machine's
		// load drifting between runs
		b.Run(kind.name+"/ratio", func(b *testing.B) {
			var took [2]time.Duration
			n := 0
			for n < b.N {
				round := min(500, b.N-n)
				order := []int{0, 1}
				if (n/500)%2 == 1 {
					order = []int{1, 0} // neither always pays the other's garbage collection
				}
				for _, i := range order {
					took[i] += loadRound(b, kind.url, n, round, "Bearer "+secrets[[]string{"unscoped", "scoped"}[i]])
				}
				n += round
			}
			b.ReportMetric(float64(b.N)/took[0].Seconds(), "unscoped-req/s")
			b.ReportMetric(float64(b.N)/took[1].Seconds(), "scoped-req/s")
			b.ReportMetric(took[0].Seconds()/took[1].Seconds(), "scoped/unscoped")
		})
	}
}

// loadRound sends requests from..from+n from loadConcurrency workers and
// returns how long they took.
func loadRound(b *testing.B, url func(i int) string, from, n int, auth string) time.Duration {
	start := time.Now()
	sendRequests(b, benchClient, loadConcurrency, from, n, url, auth)
	return time.Since(start)
}

// benchClient keeps loadConcurrency connections alive between rounds.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadConcurrency, DisableCompression: true}}
