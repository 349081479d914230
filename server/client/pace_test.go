package client

import (
	"testing"
	"time"
)

func TestPacerKeepsEachEndpointUnderItsLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPacer(3, func() time.Time { return now })
	for i := range 3 {
		if d := p.reserve("GET /"); d != 0 {
			t.Fatalf("request %d waits %v, want none under the limit", i+1, d)
		}
	}
	if d := p.reserve("GET /"); d != time.Minute {
		t.Errorf("4th request in the same minute waits %v, want 1m", d)
	}
	if d := p.reserve("POST /"); d != 0 {
		t.Errorf("another endpoint waits %v, want none", d)
	}
	now = now.Add(time.Minute)
	if d := p.reserve("GET /"); d != 0 {
		t.Errorf("a minute later the request waits %v", d)
	}
	p.holdOff("POST /", 7*time.Second)
	if d := p.reserve("POST /"); d != 7*time.Second {
		t.Errorf("after a Retry-After of 7s the request waits %v", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name, in string
		want     time.Duration
	}{
		{"empty", "", 0},
		{"seconds", "3", 3 * time.Second},
		{"fraction", "0.5", 500 * time.Millisecond},
		{"http date", now.Add(90 * time.Second).Format(http1123), 90 * time.Second},
		{"date in the past", now.Add(-time.Hour).Format(http1123), 0},
		{"negative", "-4", 0},
		{"junk", "soon", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRetryAfter(tc.in, now); got != tc.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "NaN", "1e308", "-0"} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, now); d < 0 {
			t.Errorf("parseRetryAfter(%q) = %v < 0", s, d)
		}
	})
}
