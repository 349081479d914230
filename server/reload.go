package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// reloadPoll is how often Watch rereads the tokens file when no file event
// came (a mounted secret swapped through a symlink, a network file system).
const reloadPoll = time.Second

// reloadSettle is how long the tokens file's directory must be quiet after
// a file event before the file is reread.
const reloadSettle = 50 * time.Millisecond

// Reload rereads the tokens file and, when it parses, swaps the token set
// in. A file that fails keeps the previous set in force; the failure is
// logged once per distinct content. force reloads an unchanged file too.
func (a *Auth) Reload(force bool) error {
	if a == nil || a.path == "" {
		return errors.New("no tokens file to reload")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	data, err := os.ReadFile(a.path)
	if err != nil {
		err = fmt.Errorf("tokens file %s: %w", a.path, err)
		sum := sha256.Sum256([]byte(err.Error()))
		if force || sum != a.seen {
			a.seen = sum
			a.log.Error("tokens file not reloaded; the previous tokens stay in force", "err", err)
		}
		return err
	}
	sum := sha256.Sum256(data)
	if sum == a.seen && !force {
		return nil
	}
	a.seen = sum
	set, err := parseTokenSet(a.path, data)
	if err != nil {
		a.log.Error("tokens file not reloaded; the previous tokens stay in force", "err", err)
		return err
	}
	a.set.Store(set)
	a.log.Info("tokens file reloaded", "path", a.path, "tokens", len(set.principals))
	return nil
}

// Watch reloads the tokens file when it changes: on file events in its
// directory and, as a fallback, by rereading it every second. It stops
// when ctx ends or on Close.
func (a *Auth) Watch(ctx context.Context) error {
	if a == nil || a.path == "" {
		return errors.New("no tokens file to watch")
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch tokens file: %w", err)
	}
	if err := w.Add(filepath.Dir(a.path)); err != nil {
		w.Close()
		return fmt.Errorf("watch tokens file: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	a.mu.Lock()
	a.cancel = cancel
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer w.Close()
		tick := time.NewTicker(reloadPoll)
		defer tick.Stop()
		// events come in bursts (an editor truncating then writing): reload
		// once the directory has been quiet for reloadSettle
		settle := time.NewTimer(time.Hour)
		settle.Stop()
		defer settle.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.Events:
				settle.Reset(reloadSettle)
			case err := <-w.Errors:
				a.log.Warn("watching the tokens file", "err", err)
			case <-settle.C:
				_ = a.Reload(false)
			case <-tick.C:
				_ = a.Reload(false)
			}
		}
	}()
	return nil
}

// Close stops Watch and waits for it.
func (a *Auth) Close() {
	if a == nil {
		return
	}
	a.mu.Lock()
	cancel := a.cancel
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	a.wg.Wait()
}
