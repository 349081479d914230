package server_test

// Rate limiting (Config.RateLimit): a token bucket per API token. Over the
// limit a request gets 429 with Retry-After and the JSON error body;
// requests without a token are not limited; every token has its own
// bucket; after Retry-After seconds the token works again.

import (
	"cmp"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personaregistry/personas/server"
)

// burstUntilLimited sends reads with c in waves of 8 concurrent requests
// until one is answered 429 (at most n waves) and returns the answers, the
// 200s first and the first 429 last. Concurrent waves run the bucket dry
// however slow each request is on a loaded machine.
func burstUntilLimited(t *testing.T, c *client, n int) []*response {
	t.Helper()
	var out []*response
	for range n {
		wave := make([]*response, 8)
		var wg sync.WaitGroup
		for i := range wave {
			wg.Go(func() { wave[i] = c.get(apiBase + "/?limit=1") })
		}
		wg.Wait()
		slices.SortStableFunc(wave, func(a, b *response) int { return cmp.Compare(a.Status, b.Status) })
		for _, r := range wave {
			out = append(out, r)
			if r.Status != http.StatusOK {
				return out
			}
		}
	}
	return out
}

// retryAfter returns the Retry-After of a 429, in whole seconds ≥ 1.
func retryAfter(t *testing.T, r *response) int {
	t.Helper()
	ra := r.Header.Get("Retry-After")
	n, err := strconv.Atoi(ra)
	if err != nil || n < 1 {
		t.Fatalf("429 with Retry-After %q, want a number of seconds ≥ 1", ra)
	}
	return n
}

// check429 asserts the shape of a rate-limited answer.
func check429(t *testing.T, what string, r *response) apiError {
	t.Helper()
	e := expectError(t, what, r, http.StatusTooManyRequests, "RateLimitError")
	if !strings.Contains(e.Message, "rate limit") {
		t.Errorf("%s: message %q does not say it is the rate limit", what, e.Message)
	}
	retryAfter(t, r)
	return e
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	env := newWriteEnv(t, func(cfg *server.Config) { cfg.RateLimit = 2 })
	writer := env.c.on(t)

	// the bucket holds 2 requests; a fast burst runs it dry
	rs := burstUntilLimited(t, writer, 20)
	if len(rs) < 3 {
		t.Fatalf("a burst of %d requests: the %dth was limited, want the first 2 to pass", len(rs), len(rs))
	}
	last := rs[len(rs)-1]
	if last.Status != http.StatusTooManyRequests {
		t.Fatalf("20 requests in a burst with RateLimit 2: none was limited (last status %d)", last.Status)
	}
	for i, r := range rs[:2] {
		if r.Status != http.StatusOK {
			t.Errorf("request %d of the burst: status %d, want 200", i+1, r.Status)
		}
	}
	check429(t, "burst", last)
	wait := retryAfter(t, last)

	// another token has its own bucket
	if r := env.anon.on(t).withToken(env.tokens["nothing"]).get(apiBase + "/?limit=1"); r.Status != http.StatusOK {
		t.Errorf("another token while the writer is limited: status %d, want 200: %s", r.Status, clip(r.Body))
	}
	// writes share the token's bucket: limited before the body is read
	// (the body is invalid, so a write that got through would be a 422)
	limitedWrite := false
	for attempt := 0; attempt < 5 && !limitedWrite; attempt++ {
		burstUntilLimited(t, writer, 20)
		r := writer.do("POST", apiBase+"/", `{"name": 1}`)
		switch r.Status {
		case http.StatusTooManyRequests:
			check429(t, "write over the limit", r)
			limitedWrite = true
		case http.StatusUnprocessableEntity: // the bucket refilled in between: again
		default:
			t.Fatalf("write over the limit: status %d: %s", r.Status, clip(r.Body))
		}
	}
	if !limitedWrite {
		t.Error("a write right after a limited read was never limited")
	}
	// requests without a token are not limited
	anon := env.anon.on(t)
	for i := range 30 {
		if r := anon.get(apiBase + "/?limit=1"); r.Status != http.StatusOK {
			t.Fatalf("request %d without a token: status %d, want 200: %s", i+1, r.Status, clip(r.Body))
		}
	}

	// after Retry-After seconds the token works again
	rs = burstUntilLimited(t, writer, 20)
	if last := rs[len(rs)-1]; last.Status == http.StatusTooManyRequests {
		wait = retryAfter(t, last)
	}
	time.Sleep(time.Duration(wait) * time.Second)
	if r := writer.get(apiBase + "/?limit=1"); r.Status != http.StatusOK {
		t.Errorf("after waiting Retry-After (%d s): status %d, want 200: %s", wait, r.Status, clip(r.Body))
	}
}

// retryAfterInMessage is the wait the rate limiter computed, as its message
// says it.
var retryAfterInMessage = regexp.MustCompile(`retry after (\d+) s`)

// TestRateLimitRetryAfterBelowOneRequestASecond: with a rate under one
// request a second the wait is longer than a second; Retry-After must say
// so, and waiting that long must be enough.
func TestRateLimitRetryAfterBelowOneRequestASecond(t *testing.T) {
	t.Parallel()
	env := newWriteEnv(t, func(cfg *server.Config) { cfg.RateLimit = 0.4 })
	writer := env.c.on(t)
	rs := burstUntilLimited(t, writer, 5)
	last := rs[len(rs)-1]
	if last.Status != http.StatusTooManyRequests {
		t.Fatalf("5 requests in a burst with RateLimit 0.4: none was limited (last status %d)", last.Status)
	}
	e := check429(t, "burst", last)
	header := retryAfter(t, last)
	m := retryAfterInMessage.FindStringSubmatch(e.Message)
	if m == nil {
		t.Fatalf("message %q does not say how long to wait", e.Message)
	}
	computed, _ := strconv.Atoi(m[1])
	if header < computed {
		t.Fatalf("Retry-After is %d but the limiter computed %d s (message %q): server/errors.go errorResponse "+
			"overwrites the Retry-After set by limitRate with \"1\" for every ERATELIMIT error", header, computed, e.Message)
	}
	time.Sleep(time.Duration(header) * time.Second)
	if r := writer.get(apiBase + "/?limit=1"); r.Status != http.StatusOK {
		t.Errorf("after waiting Retry-After (%d s): status %d, want 200: %s", header, r.Status, clip(r.Body))
	}
}
