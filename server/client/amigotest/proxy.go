package amigotest

import (
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Fault is what the proxy does to one request.
type Fault int

// The faults a proxy injects.
const (
	Pass         Fault = iota // forward the request, return the answer
	Drop                      // close the connection without forwarding
	Unavailable               // answer 503 without forwarding
	LoseResponse              // forward (the server acts), then close the connection unanswered
)

func (f Fault) String() string {
	return [...]string{"pass", "drop", "503", "lose-response"}[f]
}

// Proxy forwards to a stand-in and injects the faults Decide picks.
type Proxy struct {
	URL string
	// Decide picks the fault of the n-th request (from 1) of its kind
	// ("GET", "POST", "DELETE").
	decide func(r *http.Request, n int) Fault

	mu       sync.Mutex
	counts   map[string]int
	injected map[Fault]int
}

// StartProxy runs a fault-injecting proxy to target until the test ends.
func StartProxy(t testing.TB, target string, decide func(r *http.Request, n int) Fault) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{decide: decide, counts: map[string]int{}, injected: map[Fault]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.URL = serveLoopback(t, p.handler(rp, u))
	return p
}

// Injected returns how many times each fault was injected.
func (p *Proxy) Injected() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[Fault]int{}
	for k, v := range p.injected {
		out[k] = v
	}
	return out
}

func (p *Proxy) handler(rp http.Handler, target *url.URL) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[r.Method]++
		f := p.decide(r, p.counts[r.Method])
		p.injected[f]++
		p.mu.Unlock()
		switch f {
		case Drop:
			hangUp(w)
		case Unavailable:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"type":"ServiceUnavailableError","message":"injected 503"}`))
		case LoseResponse:
			forwardAndLose(r, target)
			hangUp(w)
		default:
			rp.ServeHTTP(w, r)
		}
	})
}

// forwardAndLose sends the request to the target and throws the answer away.
func forwardAndLose(r *http.Request, target *url.URL) {
	u := *r.URL
	u.Scheme, u.Host = target.Scheme, target.Host
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	if err != nil {
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("amigotest: the proxy's ResponseWriter cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}
