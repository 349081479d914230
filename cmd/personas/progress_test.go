package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// progressRepo makes a worktree repository of n commits, each adding a
// persona (ids progressID(0) …, names "Person 0" …).
func progressRepo(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	gitIn(t, t.TempDir(), "init", "-q", "-b", "main", dir)
	for i := range n {
		p := seedPersona{ID: progressID(i), Name: fmt.Sprintf("Person %d", i), Role: "buyer", Background: "a background"}
		file := filepath.Join(dir, "personas", p.ID+".yaml")
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(p.yaml()), 0o644); err != nil {
			t.Fatal(err)
		}
		gitIn(t, dir, "add", "-A")
		gitIn(t, dir, "commit", "-q", "-m", "add "+p.Name)
	}
	return dir
}

func progressID(i int) string { return fmt.Sprintf("6650c0ffee00000000000a%02d", i) }

// runWithStderr runs the command in-process with stderr on f and returns
// the exit code, stdout and what the reader of f's other end received.
func runWithStderr(t *testing.T, args []string, f, other *os.File) (int, string, string) {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		data, _ := io.ReadAll(other) // a pty master ends with EIO once the slave is closed
		got <- data
	}()
	var stdout bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, f)
	f.Close()
	select {
	case data := <-got:
		return code, stdout.String(), string(data)
	case <-time.After(30 * time.Second):
		t.Fatal("the reader of stderr did not see its end within 30s")
		return 0, "", ""
	}
}

// TestProgressOnTerminalOnly checks that export, log, show and diff draw
// progress on a terminal (a pseudo-terminal here), end with the line
// cleared, and write nothing extra to a pipe.
func TestProgressOnTerminalOnly(t *testing.T) {
	defer func(d, e time.Duration) { progressDelay, progressEvery = d, e }(progressDelay, progressEvery)
	progressDelay, progressEvery = 0, 0 // draw on every commit: the outcome must not depend on speed
	const commits = 6
	seed := progressRepo(t, commits)
	// each case gets its own copy: the first walk leaves a snapshot cache behind
	fresh := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "repo")
		if err := os.CopyFS(dir, os.DirFS(seed)); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"export", []string{"export"}},
		{"log", []string{"log", progressID(1)}},
		{"show", []string{"show", "Person 2"}},
		{"diff", []string{"diff", "HEAD", "HEAD", "--format", "json"}},
	} {
		t.Run(tc.name+"/terminal", func(t *testing.T) {
			repo := fresh(t)
			master, slave, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo-terminal here: %v", err)
			}
			defer master.Close()
			code, stdout, stderr := runWithStderr(t, append([]string{"--repo", repo}, tc.args...), slave, master)
			if code != 0 || stdout == "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			for i := 1; i <= commits; i++ {
				want := fmt.Sprintf("reading history: %d/%d commits (%d%%)", i, commits, i*100/commits)
				if !strings.Contains(stderr, want) {
					t.Errorf("terminal output lacks %q:\n%q", want, stderr)
				}
			}
			if !strings.Contains(stderr, "commits/s, ETA ") {
				t.Errorf("terminal output shows no rate and ETA:\n%q", stderr)
			}
			if !strings.HasSuffix(stderr, "\r\x1b[K") {
				t.Errorf("the progress line is not cleared at the end:\n%q", stderr)
			}
		})
		t.Run(tc.name+"/pipe", func(t *testing.T) {
			repo := fresh(t)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			code, stdout, stderr := runWithStderr(t, append([]string{"--repo", repo}, tc.args...), w, r)
			if code != 0 || stdout == "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			if stderr != "" {
				t.Errorf("stderr on a pipe = %q, want nothing", stderr)
			}
		})
	}
}

// TestServeLogsIndexProgress checks the pacing of serve's progress log: one
// INFO line per interval of the clock, none at the end of a walk (the
// registry logs "indexed"), and a new walk starts its own clock.
func TestServeLogsIndexProgress(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	p := &progressLogger{log: slog.New(slog.NewTextHandler(&buf, nil)), interval: 5 * time.Second,
		now: func() time.Time { return clock }}
	for done := 1; done <= 100; done++ {
		clock = clock.Add(time.Second) // one commit a second: a line every 5 commits
		p.update(done, 100)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 19 { // at 6, 11, …, 96 (100 is the end)
		t.Fatalf("%d lines, want 19:\n%s", len(lines), buf.String())
	}
	for _, want := range []string{"level=INFO", `msg="indexing history"`, `progress="96/100 commits (96%), 1 commits/s, ETA 4s"`} {
		if !strings.Contains(lines[18], want) {
			t.Errorf("last line %q lacks %s", lines[18], want)
		}
	}
	buf.Reset()
	p.update(1, 3)
	clock = clock.Add(time.Hour)
	p.update(2, 3)
	p.update(3, 3)
	if !strings.Contains(buf.String(), `progress="2/3 commits (66%)`) || strings.Count(buf.String(), "\n") != 1 {
		t.Errorf("second walk logged %q, want one line at 2/3", buf.String())
	}
}
