package main

// The container recipe's build, run on this machine: cmd/personas/Dockerfile
// says how the image's binary is built (CGO_ENABLED=0, its flags); these
// tests run that very `go build` line (read from the Dockerfile, so the two
// cannot drift apart), check the binary is static, that `version` tells the
// truth with and without VCS information, and that the binary serves a
// repository.

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/server"
)

// recipeBuild builds the binary with the Dockerfile's `go build` line, its
// ARG defaults overridden by args, in the module tree src (the recipe's
// WORKDIR), into a temporary directory. It skips under -short and without go.
func recipeBuild(t *testing.T, src string, args map[string]string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds the personas binary as the container recipe does")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not found on PATH")
	}
	env, argv := recipeCommand(t, "Dockerfile", args)
	bin := filepath.Join(t.TempDir(), "personas")
	for i := range argv {
		if argv[i] == "-o" && i+1 < len(argv) {
			argv[i+1] = bin
		}
	}
	cmd := exec.CommandContext(t.Context(), argv[0], argv[1:]...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", strings.Join(env, " "), strings.Join(argv, " "), err, out)
	}
	return bin
}

// recipeCommand returns the environment assignments and the words of the
// Dockerfile's `RUN … go build …` line, with ${ARG}s expanded.
func recipeCommand(t *testing.T, dockerfile string, overrides map[string]string) (env, argv []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleTop, "cmd", "personas", dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	var line string
	for l := range strings.Lines(string(data)) {
		l = strings.TrimSpace(l)
		if name, val, ok := strings.Cut(strings.TrimPrefix(l, "ARG "), "="); ok && strings.HasPrefix(l, "ARG ") {
			vars[name] = val
		}
		if strings.HasPrefix(l, "RUN ") && strings.Contains(l, " go build ") {
			line = strings.TrimPrefix(l, "RUN ")
		}
	}
	if line == "" {
		t.Fatalf("%s has no RUN … go build line", dockerfile)
	}
	for k, v := range overrides {
		vars[k] = v
	}
	line = regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(line, func(m string) string { return vars[m[2:len(m)-1]] })
	words := shellWords(line)
	for len(words) > 0 && strings.Contains(words[0], "=") {
		env, words = append(env, words[0]), words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("%s: cannot read %q as [VAR=value…] go build …", dockerfile, line)
	}
	return env, words
}

// shellWords splits a command line at blanks, honouring double quotes
// (enough for the recipe's line; no escapes, no single quotes).
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// runBinary runs bin with args and returns its stdout.
func runBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("personas %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// checkStatic fails unless bin is an ELF executable with no interpreter
// and no shared libraries.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Skipf("not an ELF binary on this platform: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a dynamic loader (PT_INTERP): not static", bin)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v: not static", bin, libs)
	}
}

// moduleTop is the top of this module, the recipe's build context.
var moduleTop = filepath.Join("..", "..")

// sourceCheckout copies the module's source (the files git lists: tracked
// and untracked, not ignored) into a new git repository with one commit of
// a fixed date, as a clone of the project would be, and returns its
// directory and commit. The go command stamps VCS information only in a
// repository whose .git is a directory (not in a `git worktree`), so the
// test makes one.
func sourceCheckout(t *testing.T) (dir, commit string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not found on PATH")
	}
	list, err := tryGitIn(moduleTop, nil, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		t.Skipf("the module is not a git checkout: %v", err)
	}
	dir = filepath.Join(t.TempDir(), "src")
	for _, name := range strings.Split(strings.TrimRight(list, "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(moduleTop, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the worktree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "--no-verify", "-m", "source under test") // childEnv fixes the date
	return dir, gitIn(t, dir, "rev-parse", "HEAD")
}

// versionJSON runs `version --format json`.
func versionJSON(t *testing.T, bin string) server.Build {
	t.Helper()
	var b server.Build
	if err := json.Unmarshal([]byte(runBinary(t, bin, "version", "--format", "json")), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRecipeBuildServesARepository builds the binary as the container does,
// checks it is static and knows its revision, and serves a repository with
// it: the API, /healthz with the build and the personas_build_info metric.
func TestRecipeBuildServesARepository(t *testing.T) {
	src, rev := sourceCheckout(t)
	bin := recipeBuild(t, src, nil)
	checkStatic(t, bin)

	b := versionJSON(t, bin)
	const commitTime = "2024-01-01T00:00:00Z" // childEnv's GIT_COMMITTER_DATE
	if b.Revision != rev || b.VCSTime != commitTime || b.Modified || !strings.Contains(b.Version, rev[:12]) {
		t.Errorf("version = %+v, want revision %s of %s, not modified, a pseudo-version naming it", b, rev, commitTime)
	}
	text := runBinary(t, bin, "--version")
	if want := "(rev " + rev + ", " + commitTime + ") "; !strings.Contains(text, want) {
		t.Errorf("--version = %q, want it to contain %q", text, want)
	}
	if text != runBinary(t, bin, "version") {
		t.Errorf("--version and version differ")
	}

	repo := makeBareRepo(t, []seedPersona{{ID: "6650c0ffee00000000000b01", Name: "Static Sam", Role: "buyer", Background: "runs in a container"}})
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	addWriterToken(t, bin, tokens)
	p := startServe(t, bin, repo, tokens, t.TempDir())
	body := httpBody(t, p.URL+"/v1/default/simulation/persona/")
	if !strings.Contains(body, `"Static Sam"`) {
		t.Errorf("the persona list lacks Static Sam:\n%s", body)
	}
	var health map[string]string
	if err := json.Unmarshal([]byte(httpBody(t, p.URL+"/healthz")), &health); err != nil {
		t.Fatal(err)
	}
	if health["status"] != "ok" || health["version"] != b.Version || health["revision"] != b.Revision || health["go_version"] != b.GoVersion {
		t.Errorf("/healthz = %v, want the build %+v", health, b)
	}
	if metrics := httpBody(t, p.URL+"/metrics"); !strings.Contains(metrics, `personas_build_info{go_version="`+b.GoVersion+`"`) {
		t.Errorf("/metrics has no personas_build_info for %s", b.GoVersion)
	}
	if log, _ := os.ReadFile(p.Log); !strings.Contains(string(log), "go_version="+b.GoVersion) {
		t.Errorf("serve did not log its build at start-up:\n%s", log)
	}
	if err := p.stop(30 * time.Second); err != nil {
		t.Errorf("serve did not stop cleanly: %v", err)
	}
}

// TestVersionModifiedTree builds from a checkout with an uncommitted
// change: version says "modified".
func TestVersionModifiedTree(t *testing.T) {
	src, rev := sourceCheckout(t)
	if err := os.WriteFile(filepath.Join(src, "cmd", "personas", "uncommitted.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := recipeBuild(t, src, nil)
	if b := versionJSON(t, bin); b.Revision != rev || !b.Modified {
		t.Errorf("version = %+v, want revision %s, modified", b, rev)
	}
	if text := runBinary(t, bin, "version"); !strings.Contains(text, ", modified) ") {
		t.Errorf("version = %q, want it to say modified", text)
	}
}

// TestVersionWithoutVCS builds with -buildvcs=false (the recipe's
// BUILDVCS=false): version says so instead of inventing a revision.
func TestVersionWithoutVCS(t *testing.T) {
	src, _ := sourceCheckout(t)
	bin := recipeBuild(t, src, map[string]string{"BUILDVCS": "false"})
	text := runBinary(t, bin, "version")
	if !regexp.MustCompile(`^personas \S+ \(no VCS information\) go\d\S* \w+/\w+\n$`).MatchString(text) {
		t.Errorf("version = %q, want \"personas VERSION (no VCS information) GOVERSION OS/ARCH\"", text)
	}
	if got := runBinary(t, bin, "--version"); got != text {
		t.Errorf("--version = %q, version = %q", got, text)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(runBinary(t, bin, "version", "--format", "json")), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["revision"]; ok || raw["modified"] != false || raw["version"] == "" {
		t.Errorf("version --format json = %v, want a version, no revision, modified false", raw)
	}
}

// httpBody GETs url and returns the body of a 200 answer.
func httpBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, data)
	}
	return string(data)
}
