package registry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// debounce is how long the watcher waits for a burst of file events to end.
const debounce = 30 * time.Millisecond

// Watch follows the branch until Close: file-system events on the git
// directory (HEAD, packed-refs, refs/heads/**, pack files) trigger a refresh
// after a short debounce, and a poll catches what events miss (network file
// systems, inotify limits). Refresh errors are logged; the last good
// snapshot keeps being served.
func (r *Registry) Watch() {
	r.wg.Go(func() { r.watch(r.ctx) })
}

func (r *Registry) watch(ctx context.Context) {
	gitDir := r.store.GitDir()
	w, err := fsnotify.NewWatcher()
	if err != nil {
		r.log.Warn("file watching unavailable; polling only", "err", err)
	} else {
		defer w.Close()
		for _, d := range []string{gitDir, filepath.Join(gitDir, "objects", "pack")} {
			if err := w.Add(d); err != nil {
				r.log.Warn("cannot watch", "dir", d, "err", err)
			}
		}
		addTree(w, filepath.Join(gitDir, "refs", "heads"), r)
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w != nil {
		events, errs = w.Events, w.Errors
	}
	var poll <-chan time.Time
	if r.opts.PollInterval > 0 {
		t := time.NewTicker(r.opts.PollInterval)
		defer t.Stop()
		poll = t.C
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	packsChanged := false
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			if strings.HasSuffix(ev.Name, ".lock") {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					addTree(w, ev.Name, r)
				}
			}
			if strings.Contains(filepath.ToSlash(ev.Name), "/objects/pack/") {
				packsChanged = true
			}
			timer.Reset(debounce)
		case err := <-errs:
			r.log.Warn("file watcher error", "err", err)
		case <-timer.C:
			r.refreshFromWatch(ctx, packsChanged)
			packsChanged = false
		case <-poll:
			r.refreshFromWatch(ctx, false)
		}
	}
}

func (r *Registry) refreshFromWatch(ctx context.Context, reopen bool) {
	err := r.do(ctx, func() error {
		if reopen {
			r.store.Reopen()
		}
		return r.refresh(ctx)
	})
	if err != nil && ctx.Err() == nil {
		r.log.Error("refresh failed; serving the last snapshot", "err", err)
	}
}

// addTree watches dir and every directory below it (refs/heads/feature/x).
func addTree(w *fsnotify.Watcher, dir string, r *Registry) {
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if err := w.Add(p); err != nil {
				r.log.Warn("cannot watch", "dir", p, "err", err)
			}
		}
		return nil
	})
}
