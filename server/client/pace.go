package client

import (
	"context"
	"sync"
	"time"
)

// pacer keeps each endpoint under perMinute requests in any sliding minute
// (Amigo documents 100 a minute per endpoint) and holds every request of an
// endpoint back until a 429's Retry-After has passed.
type pacer struct {
	perMinute int
	now       func() time.Time

	mu        sync.Mutex
	endpoints map[string]*endpointPace
}

type endpointPace struct {
	sent  []time.Time // times of the last perMinute requests, oldest first
	until time.Time   // no request before this (Retry-After)
}

func newPacer(perMinute int, now func() time.Time) *pacer {
	return &pacer{perMinute: perMinute, now: now, endpoints: map[string]*endpointPace{}}
}

// wait blocks until a request to endpoint may go, and records it. It
// returns how long it waited.
func (p *pacer) wait(ctx context.Context, endpoint string) (time.Duration, error) {
	var waited time.Duration
	for {
		d := p.reserve(endpoint)
		if d <= 0 {
			return waited, nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return waited, ctx.Err()
		case <-t.C:
			waited += d
		}
	}
}

// reserve records a request now and returns 0, or returns how long to wait.
func (p *pacer) reserve(endpoint string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.endpoints[endpoint]
	if e == nil {
		e = &endpointPace{}
		p.endpoints[endpoint] = e
	}
	now := p.now()
	if now.Before(e.until) {
		return e.until.Sub(now)
	}
	if p.perMinute > 0 && len(e.sent) >= p.perMinute {
		if next := e.sent[len(e.sent)-p.perMinute].Add(time.Minute); now.Before(next) {
			return next.Sub(now)
		}
	}
	e.sent = append(e.sent, now)
	if p.perMinute > 0 && len(e.sent) > p.perMinute {
		e.sent = append(e.sent[:0], e.sent[len(e.sent)-p.perMinute:]...)
	}
	return 0
}

// holdOff makes every request to endpoint wait d (a 429's Retry-After).
func (p *pacer) holdOff(endpoint string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.endpoints[endpoint]
	if e == nil {
		e = &endpointPace{}
		p.endpoints[endpoint] = e
	}
	if until := p.now().Add(d); until.After(e.until) {
		e.until = until
	}
}
