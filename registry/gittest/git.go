package gittest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// NeedGit skips the test when there is no git binary.
func NeedGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git binary not found: ", err)
	}
}

// Identity is who makes a commit, and when. The committer fields default to
// the author's.
type Identity struct {
	Name, Email                   string
	When                          time.Time
	CommitterName, CommitterEmail string
	CommitterWhen                 time.Time
}

// committer returns the identity with the committer fields filled in.
func (id Identity) committer() (name, email string, when time.Time) {
	name, email, when = id.CommitterName, id.CommitterEmail, id.CommitterWhen
	if name == "" {
		name = id.Name
	}
	if email == "" {
		email = id.Email
	}
	if when.IsZero() {
		when = id.When
	}
	return name, email, when
}

// Env is the environment of a git command: this process's, without its GIT_*
// variables, with no system or global configuration, no prompts, the
// identity's names, emails and dates (RFC 3339, the zone kept), then extra.
func Env(id Identity, extra ...string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GIT_") })
	env = append(env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_TERMINAL_PROMPT=0")
	cname, cemail, cwhen := id.committer()
	for _, kv := range [][2]string{{"GIT_AUTHOR_NAME", id.Name}, {"GIT_AUTHOR_EMAIL", id.Email},
		{"GIT_COMMITTER_NAME", cname}, {"GIT_COMMITTER_EMAIL", cemail}} {
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	if !id.When.IsZero() {
		env = append(env, "GIT_AUTHOR_DATE="+id.When.Format(time.RFC3339))
	}
	if !cwhen.IsZero() {
		env = append(env, "GIT_COMMITTER_DATE="+cwhen.Format(time.RFC3339))
	}
	return append(env, extra...)
}

// Run runs git with args in dir and env and returns its standard output,
// trimmed; a failure fails the test (so Run belongs on the test's goroutine).
func Run(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := Try(dir, env, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Try runs git with args in dir and env, stdin as its input, and returns its
// standard output, trimmed; the error names the command and holds git's
// standard error. A nil env is Env(Identity{}).
func Try(dir string, env []string, stdin string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if env == nil {
		env = Env(Identity{})
	}
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
