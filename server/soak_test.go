package server_test

// TestSoak: a minute (by default) of mixed load on a 2,000-persona
// repository, served in-process over loopback: 32 readers mixing list
// (filters, sorts, pages, conditional requests), search, versions and
// problems, and one write a second (new versions and creates, alternating).
// It reports requests, errors, latency percentiles per kind and the peak
// RSS of the process, and fails on any error. Run it with `make soak`
// (PERSONAS_SOAK=1; PERSONAS_SOAK_SECONDS changes the duration).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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

// soakReaders is the number of concurrent reading clients.
const soakReaders = 32

// soakConfig is the generated repository of the soak test.
var soakConfig = repogen.Config{Personas: 2000, Commits: 4000, Seed: 3}

// soakRepo returns the generated repository, made once per machine.
func soakRepo(t *testing.T) string {
	t.Helper()
	return gittest.Generated(t, soakConfig)
}

// soakKind is one kind of request the soak test reports on.
type soakKind int

const (
	soakList soakKind = iota
	soakSearch
	soakVersions
	soakProblems
	soakWrite
	soakKinds
)

func (k soakKind) String() string {
	return [...]string{"list", "search", "versions", "problems", "write"}[k]
}

// soakStats is what one client measured.
type soakStats struct {
	lat      [soakKinds][]time.Duration
	notMod   int // 304 answers
	errors   int
	firstErr []string
}

func (s *soakStats) fail(format string, args ...any) {
	s.errors++
	if len(s.firstErr) < 5 {
		s.firstErr = append(s.firstErr, fmt.Sprintf(format, args...))
	}
}

// soakWorkload builds request URLs from what the repository holds.
type soakWorkload struct {
	base     string // http://host:port/v1/default/simulation/persona
	ids      []string
	roles    []string
	creators []string
	tags     []string // key:value, key: or key:*
	words    []string
}

func newSoakWorkload(base string, snap *registry.Snapshot) *soakWorkload {
	w := &soakWorkload{base: base}
	roles, creators, tags, words := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, p := range snap.Personas() {
		w.ids = append(w.ids, p.ID)
		roles[p.Role] = true
		creators[p.Creator] = true
		for k, v := range p.Tags {
			switch {
			case v == nil:
				tags[k+":"] = true
			default:
				tags[k+":"+*v] = true
			}
			tags[k+":*"] = true
		}
		if last := p.Latest(); last != nil && len(words) < 300 {
			for _, word := range strings.Fields(last.Background.String()) {
				if len(word) > 4 {
					words[strings.Trim(strings.ToLower(word), ".,;:!?")] = true
				}
			}
		}
	}
	w.roles = slices.Sorted(soakKeys(roles))
	w.creators = slices.Sorted(soakKeys(creators))
	w.tags = slices.Sorted(soakKeys(tags))
	w.words = slices.Sorted(soakKeys(words))
	return w
}

func soakKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func soakPick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// next returns the kind and URL of a random read: 45% list, 20% search,
// 30% versions, 5% problems.
func (w *soakWorkload) next(r *rand.Rand) (soakKind, string) {
	v := url.Values{}
	switch n := r.IntN(100); {
	case n < 45:
		switch r.IntN(6) {
		case 0: // pages of the default order
			v.Set("continuation_token", strconv.Itoa(50*r.IntN(len(w.ids)/50+1)))
		case 1:
			v.Add("role", soakPick(r, w.roles))
			if r.IntN(2) == 0 {
				v.Add("role", soakPick(r, w.roles))
			}
		case 2:
			v.Add("tag", soakPick(r, w.tags))
			v.Set("is_deleted", "false")
		case 3:
			v.Add("creator", "default,"+soakPick(r, w.creators))
			v.Add("sort_by", soakPick(r, []string{"-updated_at", "+name", "-created_at", "-name"}))
		case 4:
			for range 1 + r.IntN(5) {
				v.Add("id", soakPick(r, w.ids))
			}
		case 5:
			v.Set("sort_by", soakPick(r, []string{"+updated_at", "-name"}))
			v.Set("limit", strconv.Itoa(1+r.IntN(50)))
			v.Set("continuation_token", strconv.Itoa(r.IntN(len(w.ids))))
		}
		return soakList, w.base + "/?" + v.Encode()
	case n < 65:
		q := soakPick(r, w.words)
		if r.IntN(2) == 0 {
			q += " " + soakPick(r, w.words)
		}
		v.Set("query", q)
		if r.IntN(4) == 0 {
			v.Add("role", soakPick(r, w.roles))
		}
		return soakSearch, w.base + "/search?" + v.Encode()
	case n < 95:
		switch r.IntN(4) {
		case 1:
			v.Set("version", "latest")
		case 2:
			v.Set("version", "1-latest")
			v.Set("sort_by", "-version")
		case 3:
			v.Set("version", strconv.Itoa(1+r.IntN(3)))
		}
		return soakVersions, w.base + "/" + soakPick(r, w.ids) + "/version/?" + v.Encode()
	default:
		return soakProblems, w.base + "/problems"
	}
}

// TestSoak: see the top of the file.
func TestSoak(t *testing.T) {
	if os.Getenv("PERSONAS_SOAK") != "1" {
		t.Skip("the soak test runs with PERSONAS_SOAK=1 (make soak)")
	}
	gittest.NeedGit(t)
	duration := 60 * time.Second
	if s := os.Getenv("PERSONAS_SOAK_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("PERSONAS_SOAK_SECONDS=%q: want a positive number of seconds", s)
		}
		duration = time.Duration(n) * time.Second
	}
	src := soakRepo(t)
	bare := filepath.Join(t.TempDir(), "personas.git")
	gittest.Run(t, t.TempDir(), defaultGitEnv, "clone", "-q", "--bare", src, bare)
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	token, err := server.AddToken(tokens, server.Token{Name: "soak", Org: org, User: "soak@example.com",
		Permissions: []string{server.PermCreate, server.PermModify}})
	if err != nil {
		t.Fatal(err)
	}
	auth, _, err := server.LoadAuth(tokens)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, bare, server.Config{Auth: auth}, serveOptions{watch: true})
	snap := ts.Reg.Snapshot()
	w := newSoakWorkload(ts.URL+apiBase, snap)
	var live []string
	for _, p := range snap.Personas() {
		if !p.IsDeleted {
			live = append(live, p.ID)
		}
	}
	t.Logf("serving %d personas (%d live, %d versions, %d commits) from a bare clone; %d roles, %d tags, %d search words; %s of load",
		len(snap.Personas()), len(live), snap.VersionCount(), snap.Commits, len(w.roles), len(w.tags), len(w.words), duration)
	t.Logf("memory after the first index, before the load: RSS %s, peak %s", soakMem("VmRSS"), soakMem("VmHWM"))

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * soakReaders}}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	stats := make([]*soakStats, soakReaders+1)
	var inFlight atomic.Int64

	// Readers.
	for i := range soakReaders {
		st := &soakStats{}
		stats[i] = st
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 3))
			etags := map[string]string{}
			for time.Now().Before(deadline) {
				kind, u := w.next(r)
				req, _ := http.NewRequest("GET", u, nil)
				conditional := false
				if tag, ok := etags[u]; ok && r.IntN(2) == 0 {
					req.Header.Set("If-None-Match", tag)
					conditional = true
				}
				inFlight.Add(1)
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					inFlight.Add(-1)
					st.fail("%s %s: %v", kind, u, err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				elapsed := time.Since(t0)
				inFlight.Add(-1)
				switch {
				case err != nil:
					st.fail("%s %s: read body: %v", kind, u, err)
				case resp.StatusCode == http.StatusNotModified && conditional:
					st.notMod++
					st.lat[kind] = append(st.lat[kind], elapsed)
				case resp.StatusCode/100 != 2:
					st.fail("%s %s: %d %s", kind, u, resp.StatusCode, bytes.TrimSpace(body))
				case !json.Valid(body):
					st.fail("%s %s: %d with a body that is not JSON", kind, u, resp.StatusCode)
				default:
					st.lat[kind] = append(st.lat[kind], elapsed)
					if tag := resp.Header.Get("ETag"); tag != "" && len(etags) < 5000 {
						etags[u] = tag
					}
				}
			}
		})
	}

	// The writer: one write a second, new versions and creates alternating.
	type ack struct {
		id, background string
		version        int
	}
	var writes []ack
	wst := &soakStats{}
	stats[soakReaders] = wst
	wg.Go(func() {
		r := rand.New(rand.NewPCG(99, 3))
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; ; i++ {
			<-tick.C
			if !time.Now().Before(deadline) {
				return
			}
			var path, body string
			bg := fmt.Sprintf("Soak write %d: a %s caller who is %s about the %s.", i, soakPick(r, w.words), soakPick(r, w.words), soakPick(r, w.words))
			target := ""
			if i%2 == 0 {
				target = soakPick(r, live)
				path = "/" + target + "/version/"
				body = fmt.Sprintf(`{"background": %q}`, bg)
			} else {
				path = "/"
				body = fmt.Sprintf(`{"name": "Soak Persona %d", "role": "soak", "tags": {"origin": "soak"}, "initial_version": {"background": %q}}`, i, bg)
			}
			req, _ := http.NewRequest("POST", w.base+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			t0 := time.Now()
			resp, err := hc.Do(req)
			if err != nil {
				wst.fail("write %d: %v", i, err)
				continue
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			elapsed := time.Since(t0)
			var ans struct {
				ID      string `json:"simulation_persona_id"`
				Version int    `json:"version"`
			}
			switch {
			case err != nil:
				wst.fail("write %d: read body: %v", i, err)
			case resp.StatusCode != http.StatusCreated:
				wst.fail("write %d: POST %s: %d %s", i, path, resp.StatusCode, bytes.TrimSpace(data))
			case json.Unmarshal(data, &ans) != nil:
				wst.fail("write %d: answer %s", i, data)
			default:
				wst.lat[soakWrite] = append(wst.lat[soakWrite], elapsed)
				if target == "" {
					writes = append(writes, ack{ans.ID, bg, 1})
				} else {
					writes = append(writes, ack{target, bg, ans.Version})
				}
			}
		}
	})
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)

	// Every acknowledged write is served.
	final := ts.Reg.Snapshot()
	for _, wr := range writes {
		p, ok := final.Persona(wr.id)
		if !ok || len(p.Versions) < wr.version || p.Versions[wr.version-1].Background.String() != wr.background {
			wst.fail("acknowledged write of %s v%d is not served", wr.id, wr.version)
		}
	}

	// Report.
	var all soakStats
	for _, st := range stats {
		for k := range soakKinds {
			all.lat[k] = append(all.lat[k], st.lat[k]...)
		}
		all.notMod += st.notMod
		all.errors += st.errors
		all.firstErr = append(all.firstErr, st.firstErr...)
	}
	reads := 0
	for k := range soakWrite {
		reads += len(all.lat[k])
	}
	total := reads + len(all.lat[soakWrite]) + all.errors
	var b strings.Builder
	fmt.Fprintf(&b, "soak: %s, %d readers + 1 writer, %d personas at the start\n", elapsed.Round(time.Second), soakReaders, len(snap.Personas()))
	fmt.Fprintf(&b, "  %-9s %9s %9s %9s %9s\n", "kind", "requests", "req/s", "p50 ms", "p99 ms")
	for k := range soakKinds {
		l := all.lat[k]
		slices.Sort(l)
		fmt.Fprintf(&b, "  %-9s %9d %9.1f %9.2f %9.2f\n", k, len(l), float64(len(l))/elapsed.Seconds(), soakPct(l, 0.50), soakPct(l, 0.99))
	}
	fmt.Fprintf(&b, "  total requests %d (%.0f/s), of which %d answered 304; errors %d\n", total, float64(total)/elapsed.Seconds(), all.notMod, all.errors)
	fmt.Fprintf(&b, "  writes acknowledged %d, write p99 %.2f ms; served head %s\n", len(writes), soakPct(all.lat[soakWrite], 0.99), soakShort(final.Head))
	fmt.Fprintf(&b, "  peak RSS (VmHWM) %s; RSS at the end %s", soakMem("VmHWM"), soakMem("VmRSS"))
	t.Log(b.String())
	for _, e := range all.firstErr {
		t.Error(e)
	}
	if all.errors > 0 {
		t.Errorf("%d errors in %d requests", all.errors, total)
	}
	if len(writes) == 0 || reads == 0 {
		t.Errorf("the load did not run: %d reads, %d writes", reads, len(writes))
	}
}

// soakPct returns the p-th percentile of sorted durations, in milliseconds.
func soakPct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(p*float64(len(sorted)-1))].Microseconds()) / 1000
}

func soakShort(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// soakMem reads a memory figure of this process (VmHWM: the peak resident
// set; VmRSS: the current one) from /proc/self/status.
func soakMem(field string) string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			fields := strings.Fields(v)
			if len(fields) == 2 && fields[1] == "kB" {
				if kb, err := strconv.Atoi(fields[0]); err == nil {
					return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
				}
			}
			return strings.TrimSpace(v)
		}
	}
	return "unknown (no " + field + " in /proc/self/status)"
}
