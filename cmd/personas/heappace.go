package main

import (
	"cmp"
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// Heap pacing while serving. With Go's default GOGC=100 the heap may grow to
// twice the live data before a collection: on a 10,000-persona index of
// 250 MB live, 50,000 distinct searches took the RSS from 259 MB to 511 MB,
// memory that follows the traffic, not the repository. The pacer sets GOGC
// so that the heap may grow by a fixed headroom over the live data instead
// (GOGC between heapPaceMinPercent and 100), and leaves GOGC at 100 while the
// registry reads a long history (a cold index or a walk of thousands of
// commits allocates gigabytes: a small GOGC there would collect hundreds of
// times over).
const (
	heapPaceEvery      = time.Second
	heapPaceBusyFor    = 2 * time.Second // after the last commit read, the registry counts as busy
	heapPaceMinPercent = 10
)

// heapPacer adjusts GOGC to headroom over the live heap.
type heapPacer struct {
	headroom int64
	lastRead atomic.Int64 // unix nanoseconds of the last commit the registry read
	log      *slog.Logger
	percent  int // the GOGC it set last (0: none yet)
}

// gcPercentFor is the GOGC that lets a heap of live bytes grow by headroom.
func gcPercentFor(live, headroom int64) int {
	if live <= 0 {
		return 100
	}
	return int(min(max(headroom*100/live, heapPaceMinPercent), 100))
}

// nextGCPercent goes from the last GOGC (0: Go's default, 100) to want.
// Rising goes at once; lowering stops where the goal would fall short of
// the heap in use plus the headroom: a goal at or below the heap in use
// starts a collection at once that overruns it, and requests pay for its
// marking in allocation assists (after ready, or after a rebuild ran at
// GOGC 100, that was one second of p99 at 70 ms). Once the collection that
// the goal still allows has run, the live heap is known and the next step
// reaches want.
func nextGCPercent(last, want int, live, inUse, headroom int64) int {
	last = cmp.Or(last, 100)
	if want >= last || live <= 0 {
		return want
	}
	floor := int(((inUse+headroom-live)*100 + live - 1) / live) // rounded up
	return max(want, min(last, floor))
}

// heapPaceLongWalk is the length of a walk from which the pacer leaves
// GOGC at 100: a refresh or a force-push replay of a few commits allocates
// little, and letting the heap double for it took the RSS 35 MB up.
const heapPaceLongWalk = 1000

// noteRead is chained to the registry's Progress: a commit of a walk of
// total commits was read.
func (p *heapPacer) noteRead(total int) {
	if total >= heapPaceLongWalk {
		p.lastRead.Store(time.Now().UnixNano())
	}
}

// run paces until ctx ends, starting once ready is closed.
func (p *heapPacer) run(ctx context.Context, ready <-chan struct{}) {
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(heapPaceEvery)
	defer t.Stop()
	defer debug.SetGCPercent(100)
	for {
		p.pace(time.Now())
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func (p *heapPacer) pace(now time.Time) {
	pct := 100
	live, inUse := heapSizes()
	if now.Sub(time.Unix(0, p.lastRead.Load())) > heapPaceBusyFor {
		pct = gcPercentFor(live, p.headroom)
	}
	pct = nextGCPercent(p.percent, pct, live, inUse, p.headroom)
	if pct != p.percent {
		debug.SetGCPercent(pct)
		if p.percent == 0 {
			p.log.Info("heap pacing", "headroom_bytes", p.headroom, "gogc", pct)
		}
		p.percent = pct
	}
}

// heapSizes returns the heap the last collection found live and the heap
// in use now (live and not yet collected objects).
func heapSizes() (live, inUse int64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	value := func(v metrics.Value) int64 {
		if v.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(v.Uint64())
	}
	return value(s[0].Value), value(s[1].Value)
}
