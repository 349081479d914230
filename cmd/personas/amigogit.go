package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// importCommit is one commit the import writes: files written (content) or
// removed (nil), dated and authored as the source says.
type importCommit struct {
	Author  string // the user id, used as name and email
	When    time.Time
	Message string
	Files   map[string][]byte
}

// gitRun runs git in dir and returns its trimmed output.
func gitRun(dir string, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(errOut.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// ensureRepo makes dir a git repository (with a worktree) unless it is one;
// created reports a new one. A directory inside another repository is
// refused, not imported into its parent.
func ensureRepo(dir, branch string) (created bool, err error) {
	abs, err := canonical(dir)
	if err == nil {
		if top, err := gitRun(dir, nil, "rev-parse", "--show-toplevel"); err == nil {
			if t, _ := canonical(top); t == abs {
				return false, nil
			}
			return false, fmt.Errorf("%s is inside the git repository %s, not a repository itself", dir, top)
		}
		if gd, err := gitRun(dir, nil, "rev-parse", "--absolute-git-dir"); err == nil {
			if g, _ := canonical(gd); g == abs {
				return false, nil // bare
			}
			return false, fmt.Errorf("%s is inside the git directory %s", dir, gd)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	if _, err := gitRun(dir, nil, "init", "-q", "-b", branch); err != nil {
		return false, err
	}
	return true, nil
}

// canonical is the absolute path with symlinks resolved.
func canonical(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// writeCommits appends the commits to branch with `git fast-import` (one
// process, dates and authors as given) on top of parent ("" for a new
// branch). fast-import refuses to move the branch unless it still points
// at parent. It returns the new tip.
func writeCommits(dir, branch, parent string, commits []importCommit) (string, error) {
	if len(commits) == 0 {
		return parent, nil
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := gitRun(dir, pr, "fast-import", "--quiet", "--done")
		pr.CloseWithError(err)
		done <- err
	}()
	w := bufio.NewWriterSize(pw, 1<<20)
	for i, c := range commits {
		who := identity(c.Author)
		fmt.Fprintf(w, "commit refs/heads/%s\nauthor %s %d +0000\ncommitter %s %d +0000\ndata %d\n%s\n",
			branch, who, c.When.Unix(), who, c.When.Unix(), len(c.Message), c.Message)
		if i == 0 && parent != "" {
			fmt.Fprintf(w, "from %s\n", parent)
		}
		for _, path := range slices.Sorted(maps.Keys(c.Files)) {
			if data := c.Files[path]; data == nil {
				fmt.Fprintf(w, "D %s\n", quotePath(path))
			} else {
				fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", quotePath(path), len(data), data)
			}
		}
		w.WriteString("\n")
	}
	w.WriteString("done\n")
	err := w.Flush()
	pw.CloseWithError(err)
	if ferr := <-done; ferr != nil {
		return "", fmt.Errorf("write the import's commits: %w", ferr)
	}
	if err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return "", err
	}
	return gitRun(dir, nil, "rev-parse", "refs/heads/"+branch)
}

// identity is "name <email>" for a user id (an email for personas serve,
// an opaque id for Amigo).
func identity(user string) string {
	clean := strings.Map(func(r rune) rune {
		if r == '<' || r == '>' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.TrimSpace(user))
	if clean == "" {
		clean = "unknown"
	}
	name, _, _ := strings.Cut(clean, "@")
	return fmt.Sprintf("%s <%s>", name, clean)
}

// quotePath quotes a path for fast-import when it needs it.
func quotePath(p string) string {
	if strings.ContainsAny(p, "\"\n\\ ") || strings.HasPrefix(p, "\"") {
		return fmt.Sprintf("%q", p)
	}
	return p
}

// updateWorktree brings a worktree whose HEAD is branch up to date after
// the branch moved from old to tip (a two-way merge: local edits are kept,
// conflicting ones make it fail). Bare repositories and other branches are
// left alone.
func updateWorktree(dir, branch, old, tip string) error {
	if bare, _ := gitRun(dir, nil, "rev-parse", "--is-bare-repository"); bare == "true" {
		return nil
	}
	if head, _ := gitRun(dir, nil, "symbolic-ref", "-q", "HEAD"); head != "refs/heads/"+branch {
		return nil
	}
	args := []string{"read-tree", "-m", "-u", tip}
	if old != "" {
		args = []string{"read-tree", "-m", "-u", old, tip}
	}
	_, err := gitRun(dir, nil, args...)
	return err
}
