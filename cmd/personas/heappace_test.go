package main

import (
	"context"
	"math"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name           string
		live, headroom int64
		want           int
	}{
		{"small heap keeps Go's default", 30 * mb, 64 * mb, 100},
		{"headroom equal to the live heap", 64 * mb, 64 * mb, 100},
		{"large heap grows by the headroom", 256 * mb, 64 * mb, 25},
		{"huge heap is floored", 4096 * mb, 64 * mb, heapPaceMinPercent},
		{"no collection yet", 0, 64 * mb, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gcPercentFor(tt.live, tt.headroom); got != tt.want {
				t.Errorf("gcPercentFor(%d, %d) = %d, want %d", tt.live, tt.headroom, got, tt.want)
			}
		})
	}
}

func TestNextGCPercent(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name              string
		last, want        int
		live, inUse, room int64
		got               int
	}{
		{"first step, heap fresh from a collection", 0, 12, 256 * mb, 256 * mb, 32 * mb, 13},
		{"heap in use far over the target: stop at in use plus headroom", 100, 12, 256 * mb, 400 * mb, 32 * mb, 69},
		{"lowering never rises above the last", 50, 12, 256 * mb, 400 * mb, 32 * mb, 50},
		{"after that collection the target is nearly reached", 69, 12, 256 * mb, 260 * mb, 32 * mb, 15},
		{"target reached", 13, 12, 256 * mb, 250 * mb, 32 * mb, 12},
		{"rising goes at once", 12, 100, 256 * mb, 400 * mb, 32 * mb, 100},
		{"steady", 25, 25, 256 * mb, 300 * mb, 32 * mb, 25},
		{"no collection yet", 0, 100, 0, 10 * mb, 32 * mb, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextGCPercent(tt.last, tt.want, tt.live, tt.inUse, tt.room); got != tt.got {
				t.Errorf("nextGCPercent(%d, %d, %d MB live, %d MB in use, %d MB headroom) = %d, want %d",
					tt.last, tt.want, tt.live/mb, tt.inUse/mb, tt.room/mb, got, tt.got)
			}
		})
	}
}

// TestNoteReadCountsLongWalksOnly: a refresh or a replay of a few commits
// keeps the pacing; a walk of heapPaceLongWalk commits or more suspends it.
func TestNoteReadCountsLongWalksOnly(t *testing.T) {
	tests := []struct {
		name  string
		total int
		busy  bool
	}{
		{"one new commit", 1, false},
		{"a force-push replay", heapPaceLongWalk - 1, false},
		{"a long walk", heapPaceLongWalk, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p heapPacer
			p.noteRead(tt.total)
			if got := p.lastRead.Load() != 0; got != tt.busy {
				t.Errorf("after a commit of a %d-commit walk, busy = %v, want %v", tt.total, got, tt.busy)
			}
		})
	}
}

func TestWalkGCPercent(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name string
		live int64
		want int
	}{
		{"small index: Go's default", 40 * mb, 100},
		{"the headroom over a larger one", 128 * mb, 50},
		{"floored for a large one", 400 * mb, heapWalkMinPercent},
		{"no collection yet", 0, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := walkGCPercent(tt.live); got != tt.want {
				t.Errorf("walkGCPercent(%d MB) = %d, want %d", tt.live/mb, got, tt.want)
			}
		})
	}
}

// TestPacerWaitsForItsTick: once ready is closed the pacer paces once a
// tick, not in a loop (a closed channel in its select spun a core while
// serving, and the search p99 went from 6 to 27 ms).
func TestPacerWaitsForItsTick(t *testing.T) {
	ready := make(chan struct{})
	close(ready)
	ctx, cancel := context.WithCancel(context.Background())
	p := &heapPacer{headroom: 32 << 20}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(ctx, ready)
	}()
	time.Sleep(300 * time.Millisecond) // a third of a tick: a spinning pacer paces thousands of times
	cancel()
	<-done
	if n := p.paces.Load(); n > 3 {
		t.Errorf("paced %d times within a third of a tick (%v), want at most 3", n, heapPaceEvery)
	}
}

func TestWalkMemoryLimit(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name             string
		live, base, want int64
	}{
		{"small index: the floor", 40 * mb, math.MaxInt64, heapWalkLimitMin},
		{"no collection yet: the floor", 0, math.MaxInt64, heapWalkLimitMin},
		{"large index: live plus room", 200 * mb, math.MaxInt64, 200*mb + heapWalkLimitRoom},
		{"never above the limit set before", 200 * mb, 300 * mb, 300 * mb},
		{"a limit under the floor stays", 40 * mb, 100 * mb, 100 * mb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := walkMemoryLimit(tt.live, tt.base); got != tt.want {
				t.Errorf("walkMemoryLimit(%d MB, %d MB) = %d MB, want %d MB", tt.live/mb, tt.base/mb, got/mb, tt.want/mb)
			}
		})
	}
}

// TestPacerLimitsWalkAndRestores: a walk before ready runs under the walk's
// memory limit; once ready (and when pacing stops) the limit set before is
// back.
func TestPacerLimitsWalkAndRestores(t *testing.T) {
	const base = 8 << 30
	before := debug.SetMemoryLimit(base)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	p := &heapPacer{headroom: 32 << 20}
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(ctx, ready)
	}()
	waitFor(t, "the walk's limit", func() bool { return debug.SetMemoryLimit(-1) < base })
	close(ready)
	waitFor(t, "the limit set before, once ready", func() bool { return debug.SetMemoryLimit(-1) == base })
	cancel()
	<-done
	if got := debug.SetMemoryLimit(-1); got != base {
		t.Errorf("after pacing stopped the limit is %d, want %d", got, base)
	}

	// a command's walk (never ready): put back when it stops
	stop := paceWalk(context.Background())
	waitFor(t, "a command walk's limit", func() bool { return debug.SetMemoryLimit(-1) < base })
	stop()
	if got := debug.SetMemoryLimit(-1); got != base {
		t.Errorf("after a command's walk the limit is %d, want %d", got, base)
	}
}

// waitFor polls cond for up to a minute (the pacer acts within a tick).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
