package repogen

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Create makes a bare git repository at dir (`git init --bare -b main`) and
// writes the generated history into it, so that benchmarks and tests get a
// real repository: the objects that `git fast-import` makes from Generate's
// stream (same commit ids as Import), written directly as one pack with its
// index, then main set with `git update-ref`. dir must not exist or be
// empty. It needs the git binary on PATH.
//
// Create exists besides Import for speed: fast-import re-sorts, re-hashes
// and re-deltas the whole persona directory tree on every commit, which for
// 10,000 personas and 100,000 commits took 14.5 minutes (629 MiB); Create
// takes about a minute (160 MiB). The tests check that both make the same
// commits.
func Create(dir string, cfg Config) error {
	_, err := create(dir, cfg, false, false)
	return err
}

// CreateHistory is Create that also returns the ground truth of the history
// (see GenerateHistory).
func CreateHistory(dir string, cfg Config) (*History, error) {
	return create(dir, cfg, true, false)
}

// Import makes the same repository as Create by piping Generate's stream
// into `git fast-import`: slow for big histories, but all done by git.
func Import(dir string, cfg Config) error {
	_, err := create(dir, cfg, false, true)
	return err
}

func create(dir string, cfg Config, record, fastImport bool) (h *History, err error) {
	entries, err := os.ReadDir(dir)
	existed := err == nil
	switch {
	case existed && len(entries) > 0:
		return nil, fmt.Errorf("repogen: %s is not empty", dir)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("repogen: %w", err)
	}
	// validate before touching the disk
	if err := cfg.Defaults().validate(); err != nil {
		return nil, err
	}
	defer func() { // leave nothing half made
		if err != nil {
			removeMade(dir, existed)
		}
	}()
	if out, err := gitCommand("", "init", "--quiet", "--bare", "-b", "main", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("repogen: git init: %v: %s", err, bytes.TrimSpace(out))
	}
	if fastImport {
		return importStream(dir, cfg, record)
	}
	h, head, err := writePack(dir, cfg, record)
	if err != nil {
		return nil, err
	}
	if out, err := gitCommand(dir, "update-ref", "refs/heads/main", hex.EncodeToString(head[:])).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("repogen: git update-ref: %v: %s", err, bytes.TrimSpace(out))
	}
	return h, nil
}

func importStream(dir string, cfg Config, record bool) (*History, error) {
	cmd := gitCommand(dir, "fast-import", "--quiet", "--done")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("repogen: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("repogen: git fast-import: %w", err)
	}
	h, genErr := generate(stdin, cfg, record)
	closeErr := stdin.Close()
	waitErr := cmd.Wait()
	if waitErr != nil {
		return nil, fmt.Errorf("repogen: git fast-import: %v: %s", waitErr, lastLines(stderr.Bytes(), 20))
	}
	if genErr != nil {
		return nil, fmt.Errorf("repogen: generate: %w", genErr)
	}
	if closeErr != nil {
		return nil, fmt.Errorf("repogen: git fast-import: %w", closeErr)
	}
	return h, nil
}

// removeMade removes what Create made at dir: dir itself, or its content
// when it existed (empty) before.
func removeMade(dir string, existed bool) {
	if !existed {
		os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// gitCommand runs git in dir (when not empty) without the user's or the
// system's configuration, so that the result depends on the Config only.
func gitCommand(dir string, args ...string) *exec.Cmd {
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0")
	return cmd
}

func lastLines(b []byte, n int) []byte {
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return bytes.Join(lines, []byte("\n"))
}
