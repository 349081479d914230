package ui_test

// A generated repository with a few hand-made personas on top, and a real
// server on a loopback port, for the page tests and the browser tests.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/repogen"
	"github.com/personaregistry/personas/server"
)

const org = "default"

// apiBase is the persona API of org.
const apiBase = "/v1/" + org + "/simulation/persona/"

// dana is the hand-made persona with three versions.
const danaID = "da7a000000000000000000d1"

// danaBackgrounds are its three backgrounds, oldest first.
var danaBackgrounds = []string{
	"Dana is a calm commuter who books early trains and pays by card.",
	"Dana is a calm commuter who books early trains and pays by phone.",
	"Dana is an impatient commuter who books late trains and pays by phone.",
}

// brokenPath is a committed invalid file; its timezone, on brokenLine, is unknown.
const (
	brokenPath = "personas/broken.yaml"
	brokenLine = 7
)

// repo is a worktree driven by the git CLI.
type repo struct {
	t   testing.TB
	dir string
	n   int // commits made, for distinct dates
}

// on returns the repo reporting to t.
func (r *repo) on(t testing.TB) *repo { return &repo{t: t, dir: r.dir, n: r.n} }

// git runs git in the worktree with a fixed identity.
func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir}, args...)...)
	when := fmt.Sprintf("%d +0000", time.Now().Add(-time.Duration(10-r.n)*time.Minute).Unix())
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GIT_") }),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=tester", "GIT_AUTHOR_EMAIL=tester@example.com", "GIT_AUTHOR_DATE="+when,
		"GIT_COMMITTER_NAME=tester", "GIT_COMMITTER_EMAIL=tester@example.com", "GIT_COMMITTER_DATE="+when)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// commit writes the files and commits them; it returns the commit hash.
func (r *repo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for p, content := range files {
		full := filepath.Join(r.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
		r.git("add", "--", p)
	}
	r.n++
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// personaYAML is a complete persona file.
func personaYAML(id, name, background, timezone string) string {
	return fmt.Sprintf(`id: %s
name: %s
role: commuter
tags:
  domain: travel
  difficulty: high
timezone: %s
background: %q
preferred_language: eng
user_models:
  - asks for refunds
nonsensitive_user_variables:
  station: Central
sensitive_user_variables:
  account_pin: "4711"
`, id, name, timezone, background)
}

// newRepo generates a repository (40 personas, 300 commits), clones it
// into a worktree and adds dana's three versions, a unit test that
// references dana and a broken file.
func newRepo(t testing.TB) *repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not found: these tests build repositories with it")
	}
	bare := filepath.Join(t.TempDir(), "gen.git")
	if err := repogen.Create(bare, repogen.Config{Personas: 40, Commits: 300, Seed: 15}); err != nil {
		t.Fatal(err)
	}
	r := &repo{t: t, dir: filepath.Join(t.TempDir(), "work")}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("clone", "-q", bare, ".")
	for i, bg := range danaBackgrounds {
		r.commit(fmt.Sprintf("dana: version %d", i+1), map[string]string{"personas/dana.yaml": personaYAML(danaID, "Dana Commuter", bg, "Europe/Berlin")})
	}
	r.commit("unit test for dana", map[string]string{"unit_tests/dana-refund.yaml": "persona_id: " + danaID + "\n"})
	broken := personaYAML("b0b000000000000000000b0b", "Broken Persona", "Broken on purpose.", "Mars/Olympus_Mons")
	r.commit("add a broken persona", map[string]string{brokenPath: broken})
	return r
}

// site is a registry of a repo served on a loopback port.
type site struct {
	URL string
	Reg *registry.Registry
}

// serve opens the worktree, builds the index, follows the branch and serves
// cfg on 127.0.0.1:0 until the test ends.
func serve(t testing.TB, dir string, cfg server.Config) *site {
	t.Helper()
	reg, err := registry.Open(registry.Options{Repo: dir, NoCache: true, PollInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := reg.Refresh(ctx); err != nil {
		t.Fatalf("first refresh: %v", err)
	}
	reg.Watch()
	cfg.Registry, cfg.Org = reg, org
	srv := server.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &site{URL: "http://" + ln.Addr().String(), Reg: reg}
}

// get fetches a URL and returns the status, headers and body.
func get(t testing.TB, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

// apiIDs calls a list or search endpoint and returns the ids it answers.
func apiIDs(t testing.TB, url string) []string {
	t.Helper()
	status, _, body := get(t, url)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	var out struct {
		Personas []struct {
			ID string `json:"id"`
		} `json:"simulation_personas"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	ids := []string{}
	for _, p := range out.Personas {
		ids = append(ids, p.ID)
	}
	return ids
}

// apiProblems returns the API's problems.
func apiProblems(t testing.TB, base string) []registry.Problem {
	t.Helper()
	_, _, body := get(t, base+apiBase+"problems")
	var out struct {
		Problems []registry.Problem `json:"problems"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out.Problems
}
