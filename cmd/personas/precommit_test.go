package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPreCommitHook proves the pre-commit integration end to end: a personas
// repository whose .pre-commit-config.yaml points at this repository (its
// local path, at the current commit) and the personas-lint hook of
// .pre-commit-hooks.yaml, with the real `pre-commit` tool. pre-commit clones
// this repository at that commit and runs `go install ./...` in the clone, so
// what is tested is the COMMITTED hook definition and Go code.
//
// It needs git and pre-commit (.ci/run installs the Debian package
// pre-commit) and takes a while the first time (go install in pre-commit's
// environment).
func TestPreCommitHook(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the pre-commit integration test builds the command in pre-commit's environment")
	}
	for _, tool := range []string{"git", "pre-commit", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found on PATH (%v); install it to run the pre-commit integration test (.ci/run installs the Debian package pre-commit)", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// This repository and its current commit.
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("the test does not run inside a git clone of the module (git rev-parse --show-toplevel: %v)", err)
	}
	modRoot := strings.TrimSpace(string(root))
	if _, err := os.Stat(filepath.Join(modRoot, "go.mod")); err != nil {
		t.Fatalf("%s is not the module root: %v", modRoot, err)
	}
	revOut, err := exec.Command("git", "-C", modRoot, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD in %s: %v", modRoot, err)
	}
	rev := strings.TrimSpace(string(revOut))
	if out, err := exec.Command("git", "-C", modRoot, "cat-file", "-e", rev+":.pre-commit-hooks.yaml").CombinedOutput(); err != nil {
		t.Fatalf(".pre-commit-hooks.yaml is not committed at %s: %v %s", rev, err, out)
	}

	// pre-commit's environment: its cache in a temporary directory, git
	// without user configuration, Go's module cache shared with this build
	// (no download when it is warm) and go.mod allowed to be completed.
	goEnv, err := exec.Command("go", "env", "GOMODCACHE", "GOFLAGS").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	gomodcache, goflags, _ := strings.Cut(strings.TrimSpace(string(goEnv)), "\n")
	work := t.TempDir()
	env := append(os.Environ(),
		"PRE_COMMIT_HOME="+filepath.Join(work, "pre-commit-home"),
		"PRE_COMMIT_COLOR=never",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Test Author",
		"GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=Test Committer",
		"GIT_COMMITTER_EMAIL=committer@example.com",
		"GOMODCACHE="+gomodcache,
		"GOFLAGS="+strings.TrimSpace(goflags+" -mod=mod"),
		"GOTOOLCHAIN=local",
	)
	repo := filepath.Join(work, "repo")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	// sh runs a command in the personas repository and returns its combined
	// output and exit code (-1: it could not run).
	sh := func(name string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = repo
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &ee) && ctx.Err() == nil:
			return string(out), ee.ExitCode()
		default:
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
			return "", -1
		}
	}
	must := func(name string, args ...string) string {
		t.Helper()
		out, code := sh(name, args...)
		if code != 0 {
			t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), code, out)
		}
		return out
	}
	write := func(path, content string) {
		t.Helper()
		full := filepath.Join(repo, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	must("git", "init", "--quiet", "-b", "main")
	write(".pre-commit-config.yaml", `repos:
  - repo: `+modRoot+`
    rev: `+rev+`
    hooks:
      - id: personas-lint
`)
	must("git", "add", ".pre-commit-config.yaml")
	must("git", "commit", "--quiet", "-m", "pre-commit configuration")

	start := time.Now()
	must("pre-commit", "install", "--install-hooks")
	t.Logf("pre-commit install --install-hooks (clone at %.12s, go install): %s", rev, time.Since(start).Round(time.Second))
	if _, err := os.Stat(filepath.Join(repo, ".git", "hooks", "pre-commit")); err != nil {
		t.Fatalf("pre-commit install wrote no .git/hooks/pre-commit: %v", err)
	}

	// A bad persona: the commit is refused, the lint message names the file.
	write("personas/bad.yaml", `id: 6650c0ffee0000000000b001
name: Bad Persona
rol: customer
background: A persona with a typo in a key.
`)
	must("git", "add", "personas/bad.yaml")
	out, code := sh("git", "commit", "-m", "add a bad persona")
	if code == 0 {
		t.Fatalf("the commit of a bad persona was accepted:\n%s", out)
	}
	t.Logf("refused commit (exit %d):\n%s", code, out)
	for _, want := range []string{"personas lint", "Failed", "personas/bad.yaml:3:1:", `unknown key "rol"`} {
		if !strings.Contains(out, want) {
			t.Errorf("refused commit: output does not contain %q:\n%s", want, out)
		}
	}
	if log := must("git", "log", "--format=%s"); strings.Contains(log, "bad persona") {
		t.Errorf("the bad persona was committed:\n%s", log)
	}

	// The fixed persona (and a second good one) pass.
	write("personas/bad.yaml", `id: 6650c0ffee0000000000b001
name: Bad Persona
role: customer
background: A persona whose typo is fixed.
`)
	write("personas/good.yaml", `id: 6650c0ffee0000000000b002
name: Good Persona
role: patient
tags:
  category: onboarding
background: A first-time user who needs short, numbered steps.
preferred_language: eng
timezone: Europe/London
`)
	must("git", "add", "personas")
	out, code = sh("git", "commit", "-m", "add good personas")
	if code != 0 {
		t.Fatalf("the commit of good personas was refused (exit %d):\n%s", code, out)
	}
	if !strings.Contains(out, "personas lint") || !strings.Contains(out, "Passed") {
		t.Errorf("good commit: the hook did not report Passed:\n%s", out)
	}
	if log := must("git", "log", "--format=%s"); !strings.Contains(log, "add good personas") {
		t.Errorf("the good commit is not in the log:\n%s", log)
	}
}
