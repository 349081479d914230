package main

import (
	"cmp"
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Heap pacing. With Go's default GOGC=100 the heap may grow to twice the
// live data before a collection: on a 10,000-persona index of 250 MB live,
// 50,000 distinct searches took the RSS from 259 MB to 511 MB, memory that
// follows the traffic, not the repository. While serving, the pacer sets
// GOGC so that the heap may grow by a fixed headroom over the live data
// instead (GOGC between heapPaceMinPercent and 100). While the registry
// walks history (a cold index, or a walk of thousands of commits while
// serving) it allows heapWalkHeadroom instead, GOGC at least
// heapWalkMinPercent: a walk allocates gigabytes, mostly short-lived, and a
// small GOGC would collect hundreds of times over. At 10,000 personas ×
// 100,000 commits GOGC 100 let a cold export peak at 700 MB of RSS, these
// settings at 430–450 MB for 10% more time.
//
// A walk before the first snapshot (a one-shot command, or serve before
// ready) also gets a soft memory limit of the live heap plus
// heapWalkLimitRoom, at least heapWalkLimitMin, and never above the limit
// already set (--memory-limit, GOMEMLIMIT): a walk frees tree buffers of
// hundreds of KB all the time, and the runtime returned the free pages to
// the system so lazily that a cold export at 10,000 × 100,000 peaked
// anywhere from 330 to 416 MB of RSS over a heap goal of 270 MB; with the
// limit it stays near 345 MB, for 2–3% more time.
const (
	heapPaceEvery      = time.Second
	heapPaceBusyFor    = 2 * time.Second // after the last commit read, the registry counts as busy
	heapPaceMinPercent = 10
	heapWalkHeadroom   = 64 << 20
	heapWalkMinPercent = 25
	heapWalkLimitRoom  = 2 * heapWalkHeadroom
	heapWalkLimitMin   = 256 << 20
)

// heapPacer adjusts GOGC to headroom over the live heap.
type heapPacer struct {
	headroom int64
	lastRead atomic.Int64 // unix nanoseconds of the last commit the registry read
	log      *slog.Logger // nil: no log
	mu       sync.Mutex   // guards percent and logged
	percent  int          // the GOGC it set last (0: none yet)
	logged   bool         // the start of serving pacing was logged
	paces    atomic.Int64 // how many times it paced (tests watch it)
	saving   atomic.Bool  // the registry is saving its snapshot cache
	// baseLimit is the soft memory limit set before pacing began (math.MaxInt64:
	// none); limited says a walk's lower limit is in force. Guarded by mu.
	baseLimit int64
	limited   bool
}

// walkMemoryLimit is the soft memory limit of a walk before the first
// snapshot with live bytes live, under the limit base set before.
func walkMemoryLimit(live, base int64) int64 {
	return min(max(live+heapWalkLimitRoom, heapWalkLimitMin), base)
}

// limitWalk sets the walk's memory limit (on) or puts the base one back.
// p.mu is held.
func (p *heapPacer) limitWalk(on bool, live int64) {
	switch {
	case on:
		debug.SetMemoryLimit(walkMemoryLimit(live, p.baseLimit))
		p.limited = true
	case p.limited:
		debug.SetMemoryLimit(p.baseLimit)
		p.limited = false
	}
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

// noteSaving is the registry's Saving: while it saves its snapshot cache
// the heap is paced as for a walk (the save's garbage is short-lived, and
// collecting it every 32 MiB made requests pay in allocation assists).
func (p *heapPacer) noteSaving(saving bool) {
	p.saving.Store(saving)
	if saving {
		p.pace(time.Now(), true)
	}
}

// noteRead is chained to the registry's Progress: a commit of a walk of
// total commits was read.
func (p *heapPacer) noteRead(total int) {
	if total >= heapPaceLongWalk {
		p.lastRead.Store(time.Now().UnixNano())
	}
}

// run paces until ctx ends: for a walk until ready is closed (a nil ready
// is never closed: a command that only reads history), then for serving,
// and for a walk again while a long one runs.
func (p *heapPacer) run(ctx context.Context, ready <-chan struct{}) {
	t := time.NewTicker(heapPaceEvery)
	defer t.Stop()
	defer debug.SetGCPercent(100)
	p.mu.Lock()
	p.baseLimit = debug.SetMemoryLimit(-1)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.limitWalk(false, 0)
		p.mu.Unlock()
	}()
	serving := false
	for {
		p.pace(time.Now(), serving)
		select {
		case <-t.C:
		case <-ready:
			serving, ready = true, nil // a nil channel never fires again
		case <-ctx.Done():
			return
		}
	}
}

func (p *heapPacer) pace(now time.Time, serving bool) {
	p.mu.Lock() // the ticker's goroutine and noteSaving
	defer p.mu.Unlock()
	p.paces.Add(1)
	live, inUse := heapSizes()
	p.limitWalk(!serving, live)
	headroom, pct := int64(heapWalkHeadroom), walkGCPercent(live)
	if serving && !p.saving.Load() && now.Sub(time.Unix(0, p.lastRead.Load())) > heapPaceBusyFor {
		headroom, pct = p.headroom, gcPercentFor(live, p.headroom)
	}
	pct = nextGCPercent(p.percent, pct, live, inUse, headroom)
	if pct != p.percent {
		debug.SetGCPercent(pct)
		if serving && !p.logged && p.log != nil {
			p.log.Info("heap pacing", "headroom_bytes", p.headroom, "gogc", pct)
			p.logged = true
		}
		p.percent = pct
	}
}

// paceWalk paces the heap for a history walk until the returned stop is
// called (which puts GOGC back to 100). A GOGC variable turns it off.
func paceWalk(ctx context.Context) (stop func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&heapPacer{}).run(ctx, nil)
	}()
	return func() {
		cancel()
		<-done
	}
}

// walkGCPercent is the GOGC of a walk with live bytes live.
func walkGCPercent(live int64) int {
	return max(gcPercentFor(live, heapWalkHeadroom), heapWalkMinPercent)
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
