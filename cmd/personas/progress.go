package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Pacing of the progress bar: nothing is drawn for a walk shorter than
// progressDelay, then at most one redraw per progressEvery. Tests set both
// to zero.
var (
	progressDelay = 300 * time.Millisecond
	progressEvery = 100 * time.Millisecond
)

// progressBar draws "commits read/total, rate, ETA" on one terminal line and
// clears it when done. A nil *progressBar draws nothing.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	last  time.Time
	drawn bool
}

// newProgressBar returns a bar on w when w is a terminal, else nil: piped
// or redirected stderr (CI logs) stays clean.
func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressBar{w: w, start: time.Now()}
}

// update is a registry Progress function.
func (b *progressBar) update(done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if now.Sub(b.start) < progressDelay || (b.drawn && now.Sub(b.last) < progressEvery && done < total) {
		return
	}
	b.last, b.drawn = now, true
	fmt.Fprintf(b.w, "\r\x1b[Kreading history: %s\r", progressText(done, total, now.Sub(b.start)))
}

// finish clears the line if anything was drawn.
func (b *progressBar) finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.drawn = false
	}
}

// progressFunc returns b.update, or nil for a nil bar (no progress wanted).
func (b *progressBar) progressFunc() func(done, total int) {
	if b == nil {
		return nil
	}
	return b.update
}

// progressText is "12345/100000 commits (12%), 4100 commits/s, ETA 21s".
func progressText(done, total int, elapsed time.Duration) string {
	pct := 100
	if total > 0 {
		pct = done * 100 / total
	}
	s := fmt.Sprintf("%d/%d commits (%d%%)", done, total, pct)
	if elapsed <= 0 || done == 0 {
		return s
	}
	rate := float64(done) / elapsed.Seconds()
	eta := time.Duration(float64(total-done) / rate * float64(time.Second))
	return fmt.Sprintf("%s, %.0f commits/s, ETA %s", s, rate, eta.Round(time.Second))
}

// progressLogger logs a history walk's progress at INFO every interval
// (for serve's first index, which may take a while on a long history).
type progressLogger struct {
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu          sync.Mutex
	start, last time.Time
}

// update is a registry Progress function.
func (p *progressLogger) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if done == 1 { // a new walk
		p.start, p.last = now, now
	}
	if now.Sub(p.last) < p.interval || done == total {
		return // the end is logged by the registry ("indexed")
	}
	p.last = now
	p.log.Info("indexing history", "progress", progressText(done, total, now.Sub(p.start)))
}
