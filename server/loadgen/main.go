// Command loadgen measures a starting `personas serve` the way a load
// balancer meets it: it waits for /readyz to answer 200, then sends
// never-repeated search queries from a few connections and prints the p99
// latency of every second, the RSS of the server process at ready and after
// -queries queries, and optionally the same per-second figures while a
// command (a force-push) makes the server rebuild its index.
//
//	go run ./server/loadgen -url http://127.0.0.1:8080 -pid 1234 [-rewrite 'git …']
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// words are search terms that occur in generated backgrounds.
var words = []string{"frustrated", "refund", "account", "delayed", "confused", "billing", "travel", "doctor",
	"order", "password", "upgrade", "cancel", "family", "student", "manager", "pharmacy", "flight", "bank"}

type options struct {
	url      string
	pid      int
	conns    int
	rate     float64
	seconds  int
	queries  int
	org      string
	rewrite  string
	deadline time.Duration
	pool     int
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080", "server base URL")
	flag.IntVar(&o.pid, "pid", 0, "server process id, for its RSS (0: not reported)")
	flag.IntVar(&o.conns, "c", 4, "connections")
	flag.Float64Var(&o.rate, "rate", 0, "requests a second over all connections (0: each connection sends as soon as it has its answer)")
	flag.IntVar(&o.seconds, "seconds", 20, "seconds of per-second p99 after ready")
	flag.IntVar(&o.queries, "queries", 50000, "distinct queries before the RSS is read")
	flag.StringVar(&o.org, "org", "default", "organization")
	flag.StringVar(&o.rewrite, "rewrite", "", "shell command that force-pushes the branch; then the rebuild is measured")
	flag.DurationVar(&o.deadline, "wait", 10*time.Minute, "how long to wait for /readyz")
	flag.IntVar(&o.pool, "recurring", 0, "every other query is one of this many recurring queries (0: every query distinct)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// load is the state shared by the connections.
type load struct {
	o      options
	hc     *http.Client
	next   atomic.Int64 // query number
	start  time.Time
	mu     sync.Mutex
	lat    map[int][]time.Duration // second since start -> latencies
	errors atomic.Int64
}

func run(o options) error {
	hc := &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.conns, DisableCompression: true}}
	head, err := waitReady(hc, o.url, o.deadline, "")
	if err != nil {
		return err
	}
	l := &load{o: o, hc: hc, start: time.Now(), lat: map[int][]time.Duration{}}
	rssReady := rss(o.pid)
	fmt.Printf("ready (head %.12s); RSS at ready %s; %s\n", head, mb(rssReady), memStats(hc, o.url))
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range o.conns {
		wg.Go(func() { l.drive(ctx) })
	}
	time.Sleep(time.Duration(o.seconds) * time.Second)
	l.report("after a cold /readyz 200", 0, o.seconds)
	first, settled := l.p99(0, 5), l.p99(max(5, o.seconds-5), o.seconds)
	fmt.Printf("search p99, seconds 0-4 after ready: %.2f ms; seconds %d-%d (settled): %.2f ms; ratio %.2f\n",
		first, max(5, o.seconds-5), o.seconds-1, settled, first/settled)
	for l.next.Load() < int64(o.queries) {
		time.Sleep(100 * time.Millisecond)
	}
	n := l.next.Load()
	after := rss(o.pid)
	kind := "distinct searches"
	if o.pool > 0 {
		kind = fmt.Sprintf("searches (every other one of %d recurring)", o.pool)
	}
	fmt.Printf("RSS after %d %s: %s (ready + %s); %s\n", n, kind, mb(after), mb(after-rssReady), memStats(hc, o.url))
	if o.rewrite != "" {
		from := int(time.Since(l.start).Seconds()) + 1
		for int(time.Since(l.start).Seconds()) < from {
			time.Sleep(10 * time.Millisecond)
		}
		cmd := exec.Command("sh", "-c", o.rewrite)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			stop()
			wg.Wait()
			return fmt.Errorf("rewrite: %w", err)
		}
		t0 := time.Now()
		newHead, err := waitReady(hc, o.url, o.deadline, head)
		if err != nil {
			stop()
			wg.Wait()
			return err
		}
		fmt.Printf("force-push served after %s (head %.12s)\n", time.Since(t0).Round(time.Millisecond), newHead)
		// the rebuild's window: up to the second it was served, and the
		// next (the snapshot cache is saved after a rebuild)
		served := int(time.Since(l.start).Seconds())
		to := served + 5
		time.Sleep(time.Until(l.start.Add(time.Duration(to+1) * time.Second)))
		l.report("during the rebuild after a force-push (and 5 s after)", from, to)
		during := l.p99(from, served+2)
		fmt.Printf("search p99 during the rebuild (seconds 0-%d): %.2f ms; %.2f× the settled p99\n", served+1-from, during, during/settled)
		fmt.Printf("RSS after the rebuild: %s; %s\n", mb(rss(o.pid)), memStats(hc, o.url))
	}
	stop()
	wg.Wait()
	if e := l.errors.Load(); e > 0 {
		return fmt.Errorf("%d requests failed", e)
	}
	return nil
}

// drive sends distinct search queries until ctx ends, at its share of
// -rate when set (a late request is sent at once, its latency counted from
// when it was due).
func (l *load) drive(ctx context.Context) {
	var every time.Duration
	if l.o.rate > 0 {
		every = time.Duration(float64(time.Second) * float64(l.o.conns) / l.o.rate)
	}
	due := time.Now()
	for ctx.Err() == nil {
		if every > 0 {
			due = due.Add(every)
			time.Sleep(time.Until(due))
		}
		i := l.next.Add(1)
		k, tag := i, "+q"
		if l.o.pool > 0 && i%2 == 1 {
			k, tag = (i/2*7919)%int64(l.o.pool), "+r" // one of the recurring queries
		}
		q := words[k%int64(len(words))] + "+" + words[(k/7)%int64(len(words))] + tag + strconv.FormatInt(k, 36)
		url := l.o.url + "/v1/" + l.o.org + "/simulation/persona/search?query=" + q
		t0 := time.Now()
		if every > 0 {
			t0 = due
		}
		resp, err := l.hc.Get(url)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("GET %s: %s", url, resp.Status)
			}
		}
		if err != nil {
			if ctx.Err() == nil && l.errors.Add(1) <= 5 {
				fmt.Fprintln(os.Stderr, "loadgen:", err)
			}
			continue
		}
		d := time.Since(t0)
		sec := int(t0.Sub(l.start).Seconds())
		l.mu.Lock()
		l.lat[sec] = append(l.lat[sec], d)
		l.mu.Unlock()
	}
}

// report prints requests, p50 and p99 of each second in [from, to).
func (l *load) report(title string, from, to int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Printf("\nsearch latency per second %s\n%6s %8s %9s %9s\n", title, "second", "requests", "p50 ms", "p99 ms")
	var all []time.Duration
	for s := from; s < to; s++ {
		ls := slices.Clone(l.lat[s])
		slices.Sort(ls)
		all = append(all, ls...)
		fmt.Printf("%6d %8d %9.2f %9.2f\n", s-from, len(ls), pct(ls, 0.50), pct(ls, 0.99))
	}
	slices.Sort(all)
	fmt.Printf("%6s %8d %9.2f %9.2f\n", "all", len(all), pct(all, 0.50), pct(all, 0.99))
}

// p99 is the 99th percentile of the latencies of the seconds in [from, to).
func (l *load) p99(from, to int) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var all []time.Duration
	for s := from; s < to; s++ {
		all = append(all, l.lat[s]...)
	}
	slices.Sort(all)
	return pct(all, 0.99)
}

func pct(ls []time.Duration, p float64) float64 {
	if len(ls) == 0 {
		return 0
	}
	return float64(ls[int(p*float64(len(ls)-1))].Microseconds()) / 1000
}

// waitReady polls /readyz until it answers 200 with a head other than
// notHead, and returns that head.
func waitReady(hc *http.Client, base string, limit time.Duration, notHead string) (string, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(base + "/readyz")
		if err == nil {
			var body struct{ Head string }
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK && body.Head != notHead {
				return body.Head, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return "", fmt.Errorf("%s/readyz not ready within %s", base, limit)
}

// rss is the resident set of process pid in bytes (0 when unknown).
func rss(pid int) int64 {
	if pid == 0 {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// memStats summarizes the server's heap, GC goal and cache sizes from /metrics.
func memStats(hc *http.Client, base string) string {
	resp, err := hc.Get(base + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	names := map[string]string{
		"go_memstats_heap_inuse_bytes":           "heap in use",
		"go_memstats_next_gc_bytes":              "next GC",
		`personas_cache_bytes{cache="response"}`: "response cache",
		`personas_cache_bytes{cache="persona"}`:  "persona cache",
		"go_gc_gomemlimit_bytes":                 "limit",
	}
	var parts []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if label, known := names[name]; ok && known {
			v, _ := strconv.ParseFloat(value, 64)
			if v >= 1<<62 {
				parts = append(parts, label+" none")
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s", label, mb(int64(v))))
		}
	}
	return strings.Join(parts, ", ")
}

func mb(b int64) string { return fmt.Sprintf("%d MB", b>>20) }
