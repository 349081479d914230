package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
	"github.com/personaregistry/personas/registry/repogen"
	"github.com/personaregistry/personas/server"
)

// steadyRepo generates a bare repository of the given size in a temporary
// directory of the test (it may write to it).
func steadyRepo(t *testing.T, personas, commits int) string {
	t.Helper()
	gittest.NeedGit(t)
	dir := filepath.Join(t.TempDir(), "personas.git")
	if err := repogen.Create(dir, repogen.Config{Personas: personas, Commits: commits, Seed: 18}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// steadyServe serves reg with cfg on a loopback port until the test ends.
func steadyServe(t *testing.T, reg *registry.Registry, cfg server.Config) string {
	t.Helper()
	cfg.Registry, cfg.Org = reg, org
	_, url := serveOnLoopback(t, cfg)
	return url
}

// randomRead is a read request of a random kind and parameters: lists
// (pages, sorts, filters), searches and version pages of random personas.
func randomRead(rng *rand.Rand, ids []string) string {
	base := "/v1/" + org + "/simulation/persona/"
	words := []string{"frustrated", "refund", "account", "delayed", "billing", "travel", "doctor", "order", "family"}
	switch rng.IntN(4) {
	case 0:
		pairs := []string{"limit", strconv.Itoa(1 + rng.IntN(50)), "continuation_token", strconv.Itoa(rng.IntN(200))}
		if sorts := []string{"+name", "-name", "+created_at", "-updated_at"}; rng.IntN(2) == 0 {
			pairs = append(pairs, "sort_by", sorts[rng.IntN(len(sorts))])
		}
		return base + q(pairs...)
	case 1:
		return base + "search" + q("query", words[rng.IntN(len(words))]+" "+words[rng.IntN(len(words))]+" w"+strconv.Itoa(rng.IntN(500)))
	case 2:
		return base + ids[rng.IntN(len(ids))] + "/version/" + q("limit", strconv.Itoa(1+rng.IntN(10)))
	default:
		return base + "search" + q("query", words[rng.IntN(len(words))])
	}
}

// cacheMetrics reads the personas_cache_* samples of /metrics, by
// "name{cache}" (e.g. "personas_cache_bytes{response}").
func cacheMetrics(t *testing.T, hc *http.Client, base string) map[string]float64 {
	t.Helper()
	resp, err := hc.Get(base + "/metrics")
	if err != nil {
		t.Errorf("metrics: %v", err)
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "personas_cache_") {
			continue
		}
		name, rest, _ := strings.Cut(line, `{cache="`)
		cache, value, _ := strings.Cut(rest, `"} `)
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Errorf("metrics line %q: %v", line, err)
			continue
		}
		out[name+"{"+cache+"}"] = v
	}
	return out
}

// TestCacheBudgetUnderRandomQueries sends a random mix of reads from
// several clients to a server with small cache budgets while another client
// scrapes /metrics: the caches never report more bytes than their budget,
// and hits, misses and evictions are all counted.
func TestCacheBudgetUnderRandomQueries(t *testing.T) {
	repo := gittest.Generated(t, repogen.Config{Personas: 150, Commits: 400, Seed: 18}) // read only
	reg, err := registry.Open(registry.Options{Repo: repo, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	snap, err := reg.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range snap.Personas() {
		ids = append(ids, p.ID)
	}
	budgets := map[string]float64{"response": 128 << 10, "persona": 48 << 10}
	base := steadyServe(t, reg, server.Config{ResponseCacheBytes: int64(budgets["response"]), PersonaCacheBytes: int64(budgets["persona"])})
	hc := &http.Client{Timeout: 30 * time.Second}

	checkBudgets := func(m map[string]float64) {
		t.Helper()
		for cache, budget := range budgets {
			if got := m["personas_cache_budget_bytes{"+cache+"}"]; got != budget {
				t.Errorf("%s cache budget reported %v, configured %v", cache, got, budget)
			}
			if got := m["personas_cache_bytes{"+cache+"}"]; got > budget {
				t.Errorf("%s cache holds %v bytes, over its budget of %v", cache, got, budget)
			}
		}
	}
	stop := make(chan struct{})
	var scraper sync.WaitGroup
	scraper.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond): // a scrape rate, not a result
				checkBudgets(cacheMetrics(t, hc, base))
			}
		}
	})
	var clients sync.WaitGroup
	for w := range 4 {
		clients.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 18))
			for range 200 {
				if !getOK(t, hc, base, randomRead(rng, ids)) {
					return
				}
			}
		})
	}
	clients.Wait()
	close(stop)
	scraper.Wait()

	m := cacheMetrics(t, hc, base)
	checkBudgets(m)
	for _, cache := range []string{"response", "persona"} {
		for _, name := range []string{"personas_cache_bytes", "personas_cache_entries", "personas_cache_hits_total",
			"personas_cache_misses_total", "personas_cache_evictions_total"} {
			if m[name+"{"+cache+"}"] <= 0 {
				t.Errorf("%s{cache=%q} = %v after 800 random reads, want > 0", name, cache, m[name+"{"+cache+"}"])
			}
		}
	}
}

// TestOneOffQueriesDoNotFillTheResponseCache: a flood of never-repeated
// searches keeps no bodies (they would only evict queries that recur),
// while a query asked again is kept and then answered from the cache.
func TestOneOffQueriesDoNotFillTheResponseCache(t *testing.T) {
	repo := gittest.Generated(t, repogen.Config{Personas: 60, Commits: 120, Seed: 7}) // read only
	reg, err := registry.Open(registry.Options{Repo: repo, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if _, err := reg.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := steadyServe(t, reg, server.Config{})
	hc := &http.Client{Timeout: 30 * time.Second}
	search := "/v1/" + org + "/simulation/persona/search?query="
	for i := range 300 {
		getOK(t, hc, base, search+"refund+q"+strconv.Itoa(i))
	}
	m := cacheMetrics(t, hc, base)
	if got := m["personas_cache_entries{response}"]; got != 0 {
		t.Errorf("after 300 one-off searches the response cache holds %v entries, want 0", got)
	}
	if got := m["personas_cache_misses_total{response}"]; got < 300 {
		t.Errorf("response cache misses = %v after 300 one-off searches, want >= 300", got)
	}
	hits := m["personas_cache_hits_total{response}"]
	for range 3 {
		getOK(t, hc, base, search+"billing+account")
	}
	m = cacheMetrics(t, hc, base)
	if got := m["personas_cache_entries{response}"]; got != 1 {
		t.Errorf("a query asked three times: the response cache holds %v entries, want 1", got)
	}
	if got := m["personas_cache_hits_total{response}"] - hits; got != 1 {
		t.Errorf("a query asked three times was answered %v times from the cache, want 1 (kept on the second)", got)
	}
}

// TestServingDuringRebuildAndCacheSave keeps clients reading while the
// registry does its heavy work: the first index (whose cache file must be
// saved before the server is ready), a rebuild after a force-push and the
// cache save that follows it, and a refresh of a long run of new commits.
// Every request must succeed, and requests must complete while the work is
// under way (not only before and after it).
func TestServingDuringRebuildAndCacheSave(t *testing.T) {
	repo := steadyRepo(t, 120, 1200)
	reg, err := registry.Open(registry.Options{Repo: repo, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	snap, err := reg.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cacheFile := func() os.FileInfo {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(repo, "personas-cache", "*.gob"))
		if len(files) != 1 {
			t.Fatalf("snapshot cache files %v, want one", files)
		}
		fi, err := os.Stat(files[0])
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	first := cacheFile() // saved before the first snapshot was published
	var ids []string
	for _, p := range snap.Personas() {
		ids = append(ids, p.ID)
	}
	base := steadyServe(t, reg, server.Config{})
	hc := &http.Client{Timeout: 60 * time.Second}

	var busy atomic.Bool    // set while heavy work is under way
	var during atomic.Int64 // requests started and finished while busy
	var served atomic.Int64 // all successful requests
	stop := make(chan struct{})
	var clients sync.WaitGroup
	for w := range 3 {
		clients.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 19))
			for {
				select {
				case <-stop:
					return
				default:
				}
				wasBusy := busy.Load()
				if !getOK(t, hc, base, randomRead(rng, ids)) {
					return
				}
				served.Add(1)
				if wasBusy && busy.Load() {
					during.Add(1)
				}
			}
		})
	}
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	heavy := func(what string, change func() string) {
		t.Helper()
		want := change()
		before := during.Load()
		busy.Store(true)
		snap, err := reg.Refresh(ctx)
		busy.Store(false)
		if err != nil {
			t.Fatalf("%s: refresh: %v", what, err)
		}
		if snap.Head != want {
			t.Fatalf("%s: serving %s, want %s", what, snap.Head, want)
		}
		if n := during.Load() - before; n == 0 {
			t.Errorf("%s: no request completed while the registry worked", what)
		} else {
			t.Logf("%s: %d requests completed during the work", what, n)
		}
	}
	env := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	heavy("rebuild after a force-push", func() string {
		cmd := exec.Command("git", "-C", repo, "commit-tree", "main^{tree}", "-p", "main~1", "-m", "rewritten")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("commit-tree: %v", err)
		}
		head := strings.TrimSpace(string(out))
		git("update-ref", "refs/heads/main", head)
		return head
	})
	if after := cacheFile(); !after.ModTime().After(first.ModTime()) && after.Size() == first.Size() {
		t.Errorf("snapshot cache not saved again after the rebuild")
	}
	heavy("refresh of 1,000 new commits", func() string {
		var b strings.Builder
		for i := range 1000 {
			fmt.Fprintf(&b, "commit refs/heads/main\ncommitter t <t@example.com> %d +0000\ndata 4\nn%03d\n", 1700000000+i, i)
			if i == 0 {
				fmt.Fprintf(&b, "from %s\n", git("rev-parse", "refs/heads/main"))
			}
			b.WriteString("\n")
		}
		cmd := exec.Command("git", "-C", repo, "fast-import", "--quiet")
		cmd.Stdin = strings.NewReader(b.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("fast-import: %v: %s", err, out)
		}
		return git("rev-parse", "refs/heads/main")
	})
	close(stop)
	clients.Wait()
	if served.Load() == 0 {
		t.Fatal("no request served")
	}
}

// getOK GETs base+path and reports (as a test error) a failure or a status
// other than 200; it says whether the answer was 200.
func getOK(t *testing.T, hc *http.Client, base, path string) bool {
	t.Helper()
	resp, err := hc.Get(base + path)
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s", path, resp.Status)
		return false
	}
	return true
}
