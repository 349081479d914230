package server

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
)

// rateLimiter is a token bucket per API token: rate requests a second, with
// bursts of up to burst.
type rateLimiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64) *rateLimiter {
	return &rateLimiter{rate: rate, burst: math.Max(1, rate), buckets: map[string]*bucket{}}
}

// allow takes one request from key's bucket, or says how long to wait.
func (l *rateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// limitRate answers 429 with Retry-After when a token goes over its rate.
// Requests without a token are not limited here.
func (s *Server) limitRate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		p := principalOf(c)
		if s.limiter == nil || p == nil {
			return next(c)
		}
		ok, wait := s.limiter.allow(p.Token.Org+"/"+p.Token.Name, time.Now())
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			c.Response().Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			return registry.Errorf(registry.ERATELIMIT, "token %q is over its rate limit of %g requests a second; retry after %d s",
				p.Token.Name, s.limiter.rate, max(secs, 1))
		}
		return next(c)
	}
}
