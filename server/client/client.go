// Package client is a Go client of Amigo's simulation-persona API, as Amigo
// serves it and as `personas serve` does: typed requests and answers,
// iterators over pages, the API-key sign-in of Amigo's SDKs, pacing under
// the rate limit, and retries that never repeat a write blindly.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"time"
)

const (
	userAgent = "personas-client/1"
	maxBody   = 64 << 20
)

// Client calls one org's persona API. It is safe for concurrent use.
type Client struct {
	cfg   Config
	auth  *tokenSource
	pacer *pacer

	mu    sync.Mutex
	state RateState
}

// RateState is what the client knows of the rate limit: the server's last
// X-RateLimit-* headers (-1 when never sent) and the client's own counts.
type RateState struct {
	Limit, Remaining int
	Reset            time.Time
	Requests         int           // requests sent, retries included
	Throttled        int           // 429 answers absorbed
	Retries          int           // requests repeated after 429, 503 or a dropped connection
	Waited           time.Duration // time spent pacing and backing off
	LastRetryAfter   time.Duration
}

// New checks the configuration and returns a client. It does not sign in
// until the first request.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, pacer: newPacer(cfg.PerMinute, time.Now), state: RateState{Limit: -1, Remaining: -1}}
	c.auth = &tokenSource{c: c}
	return c, nil
}

// Org returns the organization the client calls.
func (c *Client) Org() string { return c.cfg.Org }

// RateState returns a copy of the rate-limit state.
func (c *Client) RateState() RateState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// SignIns returns how many API-key exchanges the client made.
func (c *Client) SignIns() int {
	c.auth.mu.Lock()
	defer c.auth.mu.Unlock()
	return c.auth.signIns
}

func (c *Client) now() time.Time { return c.cfg.Now() }

// call is one API request: endpoint names its rate-limit bucket.
type call struct {
	method, path, endpoint string
	query                  url.Values
	body                   any
	out                    any // decoded from a 2xx body, when not nil
}

func (r *call) write() bool { return r.method != http.MethodGet && r.method != http.MethodHead }

// do sends the call, pacing, retrying and mapping errors. It returns the
// status of the 2xx answer.
func (c *Client) do(ctx context.Context, r call) (int, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return 0, fmt.Errorf("%s %s: encode body: %w", r.method, r.path, err)
		}
	}
	u := c.cfg.BaseURL + "/v1/" + url.PathEscape(c.cfg.Org) + "/simulation/persona" + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	refreshed := false
	var last error
	for attempt := 0; attempt <= c.cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			c.count(func(s *RateState) { s.Retries++ })
			wait := c.backoff(attempt, retryAfterOf(last))
			if err := sleep(ctx, wait); err != nil {
				return 0, err
			}
			c.count(func(s *RateState) { s.Waited += wait })
		}
		waited, err := c.pacer.wait(ctx, r.endpoint)
		c.count(func(s *RateState) { s.Waited += waited; s.Requests++ })
		if err != nil {
			return 0, err
		}
		status, retry, err := c.once(ctx, r, u, payload)
		if err == nil {
			return status, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if status == http.StatusUnauthorized && c.cfg.APIKey != "" && !refreshed {
			// the token may have been revoked or expired early: sign in again, once
			refreshed = true
			if _, err := c.auth.token(ctx, true); err != nil {
				return 0, err
			}
			attempt--
			continue
		}
		if !retry {
			return 0, err
		}
		last = err
	}
	return 0, last
}

// once sends the request one time. retry says whether the error may be
// retried without reading back (the request did not change anything).
func (c *Client) once(ctx context.Context, r call, u string, payload []byte) (status int, retry bool, err error) {
	token, err := c.auth.token(ctx, false)
	if err != nil {
		return 0, false, err
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	wrote := false
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) { wrote = wrote || i.Err == nil }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), r.method, u, body)
	if err != nil {
		return 0, false, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if r.write() && wrote {
			return 0, false, &OutcomeUnknownError{Method: r.method, Path: r.path, Err: err}
		}
		return 0, true, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	c.noteRateHeaders(resp.Header)
	if err != nil {
		if r.write() {
			return 0, false, &OutcomeUnknownError{Method: r.method, Path: r.path, Err: fmt.Errorf("reading the %d answer: %w", resp.StatusCode, err)}
		}
		return 0, true, fmt.Errorf("%s %s: reading the answer: %w", r.method, r.path, err)
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		if r.out != nil && s != http.StatusNoContent {
			if err := json.Unmarshal(data, r.out); err != nil {
				if r.write() {
					return s, false, &OutcomeUnknownError{Method: r.method, Path: r.path, Err: fmt.Errorf("undecodable %d answer: %w", s, err)}
				}
				return s, false, fmt.Errorf("%s %s: decode the answer: %w", r.method, r.path, err)
			}
		}
		return s, false, nil
	case s == http.StatusTooManyRequests:
		ae := apiError(req, resp, data)
		ae.Path = r.path
		c.pacer.holdOff(r.endpoint, ae.RetryAfter)
		c.count(func(st *RateState) { st.Throttled++; st.LastRetryAfter = ae.RetryAfter })
		return s, true, ae
	case s == http.StatusServiceUnavailable:
		ae := apiError(req, resp, data)
		ae.Path = r.path
		return s, true, ae
	case s == http.StatusBadGateway || s == http.StatusGatewayTimeout || s == http.StatusInternalServerError:
		ae := apiError(req, resp, data)
		ae.Path = r.path
		if r.write() {
			return s, false, &OutcomeUnknownError{Method: r.method, Path: r.path, Err: ae}
		}
		return s, true, ae
	default:
		ae := apiError(req, resp, data)
		ae.Path = r.path
		return s, false, ae
	}
}

// apiError builds the typed error of an error answer.
func apiError(req *http.Request, resp *http.Response, body []byte) *APIError {
	ae := &APIError{Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode, Response: resp, Body: body}
	_ = json.Unmarshal(body, ae)
	if ae.Message == "" && len(body) > 0 && !json.Valid(body) {
		ae.Message = clip(body)
	}
	ae.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return ae
}

// maxRetryAfter bounds a Retry-After (a day: anything longer is a broken header).
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(min(secs, maxRetryAfter.Seconds()) * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

func retryAfterOf(err error) time.Duration {
	if ae, ok := err.(*APIError); ok {
		return ae.RetryAfter
	}
	return 0
}

// backoff is the wait before retry attempt: Retry-After when the server
// gave one (it is honoured, not clamped), else full jitter in an
// exponentially growing window.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	window := c.cfg.BackoffBase << min(attempt-1, 20)
	if window > c.cfg.MaxBackoff || window <= 0 {
		window = c.cfg.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(window)) + 1)
}

// noteRateHeaders keeps the server's X-RateLimit-* headers.
func (c *Client) noteRateHeaders(h http.Header) {
	limit, errL := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, errR := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, errS := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if errL != nil && errR != nil && errS != nil {
		return
	}
	c.count(func(s *RateState) {
		if errL == nil {
			s.Limit = limit
		}
		if errR == nil {
			s.Remaining = remaining
		}
		if errS == nil {
			s.Reset = time.Unix(reset, 0)
		}
	})
}

func (c *Client) count(f func(*RateState)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.state)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
