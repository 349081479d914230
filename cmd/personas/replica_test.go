package main

// Stateless replicas on a git remote, end to end: the real binary (built
// once), a bare "origin" on disk made with the git command line, three
// `personas serve --remote file://origin` processes with their own clone
// directories, pushes made with the git command line from a separate working
// clone, push webhooks signed the way GitHub, GitLab and Gitea sign them,
// and concurrent API writes through different replicas.
//
// The subtests of TestReplicas share one origin and one set of replicas and
// run in order: each starts from what the previous ones left. All helpers
// are prefixed replica/rp so that they never collide with those of the other
// end-to-end tests of this package.

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry/gittest"
)

const (
	replicaSecret  = "webhook-test-secret"
	replicaOrgBase = "/v1/default/simulation/persona"
	replicaUser    = "replica-writer@example.com"
)

// ---------------------------------------------------------------------------
// the binary

// replicaBuild builds the personas command (see buildPersonas in
// crash_test.go: -race when this test binary has it; skips under -short).
func replicaBuild(t *testing.T) string {
	t.Helper()
	return buildPersonas(t)
}

// ---------------------------------------------------------------------------
// the fixture: origin, working clone, tokens

type replicaFixture struct {
	t       *testing.T
	bin     string
	Origin  string // bare repository
	URL     string // file://Origin
	Work    string // working clone, pushes with the git command line
	Tokens  string
	Token   string
	Cache   string // XDG_CACHE_HOME of the servers
	LogDir  string
	commits int
}

// replicaIdentity makes the commits of the working clone.
var replicaIdentity = gittest.Identity{Name: "Origin Author", Email: "origin@example.com"}

// env is the environment of every process: no PERSONAS_* setting, no git
// configuration of the user or the system, a fixed identity (gittest.Env).
func (f *replicaFixture) env() []string {
	return f.envAt(time.Time{})
}

// envAt is env with commits dated when (zero: undated).
func (f *replicaFixture) envAt(when time.Time) []string {
	id := replicaIdentity
	id.When = when
	env := slices.DeleteFunc(gittest.Env(id), func(kv string) bool {
		return strings.HasPrefix(kv, "PERSONAS_") || strings.HasPrefix(kv, "GORACE=") ||
			strings.HasPrefix(kv, "XDG_CACHE_HOME=")
	})
	return append(env, "GORACE=atexit_sleep_ms=0", "XDG_CACHE_HOME="+f.Cache)
}

// git runs git in dir with a fixed date per commit and returns its trimmed
// stdout; a failure fails the test. It runs on the test's goroutine.
func (f *replicaFixture) git(dir string, args ...string) string {
	f.t.Helper()
	out, err := f.tryGit(dir, args...)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *replicaFixture) tryGit(dir string, args ...string) (string, error) {
	return gittest.Try(dir, f.envAt(time.Unix(1717200000+60*int64(f.commits), 0).UTC()), "", args...)
}

// replicaID is the id of the i-th persona of the test.
func replicaID(i int) string { return fmt.Sprintf("6650c0ffee0000000%07x", i) }

func replicaYAML(i int, name, background string) string {
	return fmt.Sprintf("# persona %d of the replica test\nid: %s\nname: %s\nrole: customer\ntags:\n  origin: git\nbackground: %s\n",
		i, replicaID(i), strconv.Quote(name), strconv.Quote(background))
}

// writeFile writes a file of the working clone.
func (f *replicaFixture) writeFile(path, content string) {
	f.t.Helper()
	gittest.WriteFile(f.t, f.Work, path, content)
}

// commitAll commits the working clone and returns the commit.
func (f *replicaFixture) commitAll(msg string) string {
	f.t.Helper()
	f.commits++
	f.git(f.Work, "add", "-A")
	f.git(f.Work, "commit", "--quiet", "--no-verify", "-m", msg)
	return f.git(f.Work, "rev-parse", "HEAD")
}

// sync resets the working clone to origin's main (API writes land there).
func (f *replicaFixture) sync() {
	f.t.Helper()
	f.git(f.Work, "fetch", "--quiet", "origin")
	f.git(f.Work, "reset", "--quiet", "--hard", "origin/main")
}

// pushPersona adds (or rewrites) persona i in the working clone, commits
// and pushes it with the git command line; it returns the commit.
func (f *replicaFixture) pushPersona(i int, name, background string) string {
	f.t.Helper()
	f.sync()
	f.writeFile(fmt.Sprintf("personas/p%d.yaml", i), replicaYAML(i, name, background))
	c := f.commitAll(fmt.Sprintf("%s: %s", name, background))
	f.git(f.Work, "push", "--quiet", "origin", "main")
	return c
}

func (f *replicaFixture) originHead() string {
	f.t.Helper()
	return f.git(f.Origin, "rev-parse", "refs/heads/main")
}

func newReplicaFixture(t *testing.T, bin string) *replicaFixture {
	t.Helper()
	root := t.TempDir()
	f := &replicaFixture{t: t, bin: bin, Origin: filepath.Join(root, "origin.git"), Work: filepath.Join(root, "work"),
		Tokens: filepath.Join(root, "tokens.json"), Cache: filepath.Join(root, "cache"), LogDir: filepath.Join(root, "logs")}
	f.URL = "file://" + f.Origin
	for _, d := range []string{f.Cache, f.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.git(root, "init", "--quiet", "--bare", "-b", "main", f.Origin)
	f.git(root, "init", "--quiet", "-b", "main", f.Work)
	f.git(f.Work, "remote", "add", "origin", f.Origin)
	for i, name := range []string{"Seed Alpha", "Seed Beta", "Seed Gamma"} {
		f.writeFile(fmt.Sprintf("personas/p%d.yaml", i+1), replicaYAML(i+1, name, "the first version of "+name))
	}
	f.commitAll("Seed personas")
	f.writeFile("personas/p2.yaml", replicaYAML(2, "Seed Beta", "the second version of Seed Beta"))
	f.commitAll("Seed Beta v2")
	f.git(f.Work, "push", "--quiet", "-u", "origin", "main")

	cmd := exec.Command(bin, "token", "add", "--tokens", f.Tokens, "--org", "default", "--user", replicaUser,
		"--name", "replica-test", "--permission", "Simulation:CreateSimulationPersona",
		"--permission", "Simulation:ModifySimulationPersona", "--permission", "Simulation:DeleteSimulationPersona")
	cmd.Env = f.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("personas token add: %v\n%s", err, stderr.String())
	}
	f.Token = strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(f.Token, "prs_") {
		t.Fatalf("personas token add printed %q, want a prs_ token", f.Token)
	}
	return f
}

// ---------------------------------------------------------------------------
// the server processes

type replicaProc struct {
	name     string
	cmd      *exec.Cmd
	URL      string // http://127.0.0.1:port
	CloneDir string
	Log      string
	done     chan struct{}
	err      error
	hc       *http.Client
}

var replicaListening = regexp.MustCompile(`^listening on http://([0-9.:]+)/v1/default/simulation/persona/$`)

// start runs `personas serve --remote` with the clone dir ("" for the
// default) and waits until /readyz answers 200. extra are more flags.
func (f *replicaFixture) start(name, cloneDir string, extra ...string) *replicaProc {
	f.t.Helper()
	p, err := f.tryStart(name, cloneDir, extra...)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *replicaFixture) tryStart(name, cloneDir string, extra ...string) (*replicaProc, error) {
	f.t.Helper()
	args := []string{"serve", "--remote", f.URL, "--addr", "127.0.0.1:0", "--tokens", f.Tokens,
		"--webhook-secret", replicaSecret}
	if cloneDir != "" {
		args = append(args, "--clone-dir", cloneDir)
	}
	return f.launch(name, cloneDir, append(args, extra...), nil)
}

// launch runs the binary with args and more environment, and waits until
// /readyz answers 200.
func (f *replicaFixture) launch(name, cloneDir string, args, env []string) (*replicaProc, error) {
	f.t.Helper()
	logs, _ := filepath.Glob(filepath.Join(f.LogDir, "*.log"))
	p := &replicaProc{name: name, CloneDir: cloneDir, done: make(chan struct{}),
		Log: filepath.Join(f.LogDir, fmt.Sprintf("%02d-%s.log", len(logs)+1, name)),
		hc:  &http.Client{Timeout: 3 * time.Minute}}
	logFile, err := os.Create(p.Log)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(f.bin, args...)
	p.cmd.Env = append(f.env(), env...)
	p.cmd.Stderr = logFile
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	logFile.Close()
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if !sent {
				first <- sc.Text()
				sent = true
			}
		}
		if !sent {
			close(first)
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	f.t.Cleanup(p.kill)
	select {
	case line, ok := <-first:
		m := replicaListening.FindStringSubmatch(line)
		if !ok || m == nil {
			p.kill()
			return p, fmt.Errorf("%s printed %q, want \"listening on http://ADDR/v1/default/simulation/persona/\" (%v)\n%s", name, line, p.err, p.logTail())
		}
		p.URL = "http://" + m[1]
	case <-time.After(60 * time.Second):
		p.kill()
		return p, fmt.Errorf("%s printed no address within 60s\n%s", name, p.logTail())
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if status, _ := p.get("/readyz"); status == http.StatusOK {
			return p, nil
		}
		select {
		case <-p.done:
			return p, fmt.Errorf("%s exited before it was ready: %v\n%s", name, p.err, p.logTail())
		default:
		}
		if time.Now().After(deadline) {
			p.kill()
			return p, fmt.Errorf("%s: /readyz not 200 within 60s\n%s", name, p.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *replicaProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (p *replicaProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("%s exited with %v after SIGTERM\n%s", p.name, p.err, p.logTail())
		}
	case <-time.After(60 * time.Second):
		p.kill()
		t.Errorf("%s did not stop within 60s of SIGTERM", p.name)
	}
}

func (p *replicaProc) logTail() string {
	data, _ := os.ReadFile(p.Log)
	if len(data) > 5000 {
		data = append([]byte("…"), data[len(data)-5000:]...)
	}
	return fmt.Sprintf("--- %s\n%s", p.Log, data)
}

// request sends a request to the replica (path from the server root).
func (p *replicaProc) request(method, path string, header http.Header, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, p.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func (p *replicaProc) get(path string) (int, []byte) {
	status, data, _ := p.request("GET", path, nil, nil)
	return status, data
}

// head is the commit the replica serves (from /readyz).
func (p *replicaProc) head() string {
	var r struct {
		Head string `json:"head"`
	}
	if status, data := p.get("/readyz"); status == http.StatusOK {
		_ = json.Unmarshal(data, &r)
	}
	return r.Head
}

// writeVersion posts a new version of a persona (version 0: no ?version).
func (p *replicaProc) writeVersion(token, id string, version int, background string) (int, []byte, error) {
	path := replicaOrgBase + "/" + id + "/version/"
	if version > 0 {
		path += "?version=" + strconv.Itoa(version)
	}
	body, _ := json.Marshal(map[string]string{"background": background})
	h := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	return p.request("POST", path, h, body)
}

type replicaVersion struct {
	Version    int    `json:"version"`
	Background string `json:"background"`
}

// versions reads every version of a persona; status is that of the first page.
func (p *replicaProc) versions(id string) (int, []replicaVersion) {
	var all []replicaVersion
	for token := 0; ; {
		status, data := p.get(fmt.Sprintf("%s/%s/version/?limit=10&continuation_token=%d", replicaOrgBase, id, token))
		if status != http.StatusOK {
			return status, nil
		}
		var page struct {
			Versions []replicaVersion `json:"simulation_persona_versions"`
			HasMore  bool             `json:"has_more"`
			Next     *int             `json:"continuation_token"`
		}
		if err := json.Unmarshal(data, &page); err != nil {
			return -1, nil
		}
		all = append(all, page.Versions...)
		if !page.HasMore || page.Next == nil {
			return http.StatusOK, all
		}
		token = *page.Next
	}
}

// latest returns the latest version of a persona as served (0 if none).
func (p *replicaProc) latest(id string) replicaVersion {
	status, data := p.get(replicaOrgBase + "/" + id + "/version/?version=latest")
	var page struct {
		Versions []replicaVersion `json:"simulation_persona_versions"`
	}
	if status != http.StatusOK || json.Unmarshal(data, &page) != nil || len(page.Versions) != 1 {
		return replicaVersion{}
	}
	return page.Versions[0]
}

// serves reports whether the replica answers 200 for a persona.
func (p *replicaProc) serves(id string) bool {
	status, _ := p.get(replicaOrgBase + "/" + id + "/version/?version=latest")
	return status == http.StatusOK
}

// webhook signs body the way a git host does and posts it to /hooks/git.
func (p *replicaProc) webhook(style, secret string, body []byte) (int, []byte) {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	h := http.Header{"Content-Type": {"application/json"}}
	switch style {
	case "github":
		h.Set("X-GitHub-Event", "push")
		h.Set("X-Hub-Signature-256", "sha256="+sig)
	case "gitea":
		h.Set("X-Gitea-Event", "push")
		h.Set("X-Gitea-Signature", sig)
	case "gitlab":
		h.Set("X-Gitlab-Event", "Push Hook")
		h.Set("X-Gitlab-Token", secret)
	case "none":
		h.Set("X-GitHub-Event", "push")
	default:
		panic(style)
	}
	status, data, err := p.request("POST", "/hooks/git", h, body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	return status, data
}

func replicaPushBody(commit string) []byte {
	return fmt.Appendf(nil, `{"ref":"refs/heads/main","before":"%s","after":"%s","repository":{"full_name":"acme/personas"}}`,
		strings.Repeat("0", 40), commit)
}

// replicaWait polls cond every 10 ms until it holds or the timeout passes,
// and returns how long it took and whether it held.
func replicaWait(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkNotAhead asserts that every replica's local main is a commit of
// origin's main (never ahead of the remote).
func (f *replicaFixture) checkNotAhead(t *testing.T, reps []*replicaProc) {
	t.Helper()
	for _, r := range reps {
		local, err := f.tryGit(r.CloneDir, "rev-parse", "refs/heads/main")
		if err != nil {
			t.Errorf("%s: %v", r.name, err)
			continue
		}
		if _, err := f.tryGit(f.Origin, "merge-base", "--is-ancestor", local, "refs/heads/main"); err != nil {
			t.Errorf("%s: the clone's main %s is not in origin's history: it is ahead of the remote (%v)", r.name, local, err)
		}
	}
}

// replicaRaceBug is the bug of registry/gitdb/remote.go that concurrent writes
// through several replicas hit (see registry/remote_test.go).
const replicaRaceBug = "regression: a push that passes go-git's lease check but loses the race inside git-receive-pack " +
	"(another replica moved main in between) is answered 503 \"command error on refs/heads/main: failed to update ref\" " +
	"instead of being fetched, rebuilt and retried: registry/gitdb/remote.go Push must return ErrRefMoved for it"

// ---------------------------------------------------------------------------
// the test

func TestReplicas(t *testing.T) {
	bin := replicaBuild(t)
	f := newReplicaFixture(t, bin)
	started := time.Now()
	reps := make([]*replicaProc, 3)
	for i := range reps {
		reps[i] = f.start(fmt.Sprintf("replica%d", i), filepath.Join(t.TempDir(), "clone.git"), "--fetch-interval", "1s")
	}
	t.Logf("three replicas ready in %s", time.Since(started).Round(time.Millisecond))
	defer func() {
		for _, r := range reps {
			data, _ := os.ReadFile(r.Log)
			for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
				if i := bytes.Index(data, []byte(bad)); i >= 0 {
					t.Errorf("%s shows %q:\n%s", r.Log, bad, data[i:min(len(data), i+4000)])
				}
			}
		}
	}()

	// the seed is served by every replica, from a full clone
	for _, r := range reps {
		if r.head() != f.originHead() {
			t.Fatalf("%s serves %s, origin is at %s", r.name, r.head(), f.originHead())
		}
		if st, vs := r.versions(replicaID(2)); st != 200 || len(vs) != 2 {
			t.Errorf("%s: versions of Seed Beta: status %d, %d versions, want 2", r.name, st, len(vs))
		}
		if n, _ := f.tryGit(r.CloneDir, "rev-list", "--count", "refs/heads/main"); n != "2" {
			t.Errorf("%s: the clone has %q commits on main, want 2 (full history)", r.name, n)
		}
		if bare, _ := f.tryGit(r.CloneDir, "rev-parse", "--is-bare-repository"); bare != "true" {
			t.Errorf("%s: the clone %s is not bare", r.name, r.CloneDir)
		}
	}

	ok := t.Run("PushServedWithinFetchInterval", func(t *testing.T) {
		commit := f.pushPersona(10, "Pushed With Git", "a commit made with the git command line")
		for _, r := range reps {
			took, ok := replicaWait(30*time.Second, func() bool { return r.serves(replicaID(10)) && r.head() == commit })
			if !ok {
				t.Errorf("%s does not serve the pushed persona 30s after the push (--fetch-interval 1s); head %s, want %s\n%s",
					r.name, r.head(), commit, r.logTail())
				continue
			}
			t.Logf("%s serves the push after %s", r.name, took.Round(time.Millisecond))
		}
	})
	if !ok {
		t.FailNow()
	}

	const perReplica = 10
	target := replicaID(1)
	t.Run("ConcurrentWritesContiguous", func(t *testing.T) {
		before := f.originHead()
		type result struct {
			replica, status, version int
			body                     string
		}
		results := make(chan result, 3*perReplica)
		var wg sync.WaitGroup
		start := time.Now()
		for ri, r := range reps {
			for i := 0; i < perReplica; i++ {
				wg.Go(func() {
					status, data, err := r.writeVersion(f.Token, target, 0, fmt.Sprintf("written through %s, write %d", r.name, i))
					res := result{replica: ri, status: status, body: string(data)}
					if err != nil {
						res.body += " " + err.Error()
					}
					var v struct {
						Version int `json:"version"`
					}
					if status == http.StatusCreated && json.Unmarshal(data, &v) == nil {
						res.version = v.Version
					}
					results <- res
				})
			}
		}
		wg.Wait()
		close(results)
		t.Logf("%d concurrent writes through 3 replicas in %s", 3*perReplica, time.Since(start).Round(time.Millisecond))
		var versions []int
		var failed []result
		for res := range results {
			if res.status == http.StatusCreated {
				versions = append(versions, res.version)
			} else {
				failed = append(failed, res)
			}
		}
		landed := len(versions)
		slices.Sort(versions)
		want := make([]int, landed)
		for i := range want {
			want[i] = i + 2
		}
		if !slices.Equal(versions, want) {
			t.Errorf("versions returned = %v, want 2..%d, each once", versions, landed+1)
		}
		// origin: exactly the acknowledged commits, in version order
		subjects := f.git(f.Origin, "log", "--first-parent", "--format=%s", before+"..main")
		var got []string
		if subjects != "" {
			got = strings.Split(subjects, "\n")
		}
		if len(got) != landed {
			t.Errorf("origin has %d new commits, %d writes were acknowledged", len(got), landed)
		}
		for i, s := range got {
			if want := fmt.Sprintf("Version %d of Seed Alpha", landed+1-i); s != want {
				t.Errorf("origin's commit %d from the top: %q, want %q", i+1, s, want)
			}
		}
		// every replica serves every version within the fetch interval
		for _, r := range reps {
			_, ok := replicaWait(30*time.Second, func() bool { return r.latest(target).Version == landed+1 })
			if !ok {
				t.Errorf("%s serves version %d of the persona after 30s, want %d (origin at %s, replica at %s)\n%s",
					r.name, r.latest(target).Version, landed+1, f.originHead(), r.head(), r.logTail())
				continue
			}
			st, vs := r.versions(target)
			var nums []int
			for _, v := range vs {
				nums = append(nums, v.Version)
			}
			slices.Sort(nums)
			if st != 200 || len(nums) != landed+1 || nums[0] != 1 || nums[len(nums)-1] != landed+1 {
				t.Errorf("%s: versions served %v (status %d), want 1..%d", r.name, nums, st, landed+1)
			}
		}
		f.checkNotAhead(t, reps)
		if len(failed) > 0 {
			raced := 0
			for _, res := range failed {
				if res.status == http.StatusServiceUnavailable && strings.Contains(res.body, "failed to update ref") {
					raced++
				}
			}
			if raced == len(failed) {
				t.Fatalf("%s: %d of %d writes answered 503, e.g. %s", replicaRaceBug, len(failed), 3*perReplica, failed[0].body)
			}
			t.Errorf("%d of %d writes failed, e.g. status %d: %s", len(failed), 3*perReplica, failed[0].status, failed[0].body)
		}
	})

	// restart every replica on its clone, now fetching only on webhooks
	ok = t.Run("RestartReusesClone", func(t *testing.T) {
		packs := make([]map[string]os.FileInfo, len(reps))
		for i, r := range reps {
			r.stop(t)
			packs[i] = gittest.Packs(t, r.CloneDir)
			if len(packs[i]) == 0 {
				t.Fatalf("%s: no pack file in %s", r.name, r.CloneDir)
			}
		}
		commit := f.pushPersona(11, "Pushed While Down", "pushed while every replica was stopped")
		for i, r := range reps {
			start := time.Now()
			nr, err := f.tryStart(r.name+"-restarted", r.CloneDir, "--fetch-interval", "1h")
			if err != nil {
				t.Fatal(err)
			}
			reps[i] = nr
			took := time.Since(start)
			if _, ok := replicaWait(30*time.Second, func() bool { return nr.serves(replicaID(11)) }); !ok {
				t.Errorf("%s does not serve the commit pushed while it was down (head %s, want %s)", nr.name, nr.head(), commit)
			}
			after := gittest.Packs(t, nr.CloneDir)
			for name, info := range packs[i] {
				if a, ok := after[name]; !ok || !os.SameFile(a, info) {
					t.Errorf("%s: pack %s of the clone is gone or replaced: the clone was not reused", nr.name, name)
				}
			}
			if len(after) > len(packs[i])+1 {
				t.Errorf("%s: %d packs after the restart, %d before: more than the one of the new commits", nr.name, len(after), len(packs[i]))
			}
			if _, err := os.Stat(nr.CloneDir + ".partial"); !os.IsNotExist(err) {
				t.Errorf("%s: %s.partial exists: a clone was started", nr.name, nr.CloneDir)
			}
			if log, _ := os.ReadFile(nr.Log); !bytes.Contains(log, []byte("clone="+nr.CloneDir)) {
				t.Errorf("%s: the log does not name the clone dir %s", nr.name, nr.CloneDir)
			}
			t.Logf("%s ready on its clone in %s", nr.name, took.Round(time.Millisecond))
		}
		f.checkNotAhead(t, reps)
	})
	if !ok {
		t.FailNow()
	}

	t.Run("Webhooks", func(t *testing.T) {
		commit := f.pushPersona(12, "Announced By Webhook", "served at once after a push webhook")
		body := replicaPushBody(commit)
		r0 := reps[0]
		bad := []struct {
			name   string
			header http.Header
			body   []byte
		}{
			{"unsigned", http.Header{"X-GitHub-Event": {"push"}}, body},
			{"GitHub, wrong secret", nil, nil},
			{"GitHub, signature without sha256=", http.Header{"X-Hub-Signature-256": {hex.EncodeToString(replicaHMAC(replicaSecret, body))}}, body},
			{"GitHub, signature of another body", http.Header{"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(replicaHMAC(replicaSecret, []byte("{}")))}}, body},
			{"Gitea, wrong secret", http.Header{"X-Gitea-Signature": {hex.EncodeToString(replicaHMAC("wrong", body))}}, body},
			{"Gitea, not hex", http.Header{"X-Gitea-Signature": {"zz"}}, body},
			{"GitLab, wrong token", http.Header{"X-Gitlab-Token": {"wrong"}}, body},
		}
		for _, b := range bad {
			var status int
			var data []byte
			if b.header == nil {
				status, data = r0.webhook("github", "wrong", body)
			} else {
				b.header.Set("Content-Type", "application/json")
				status, data, _ = r0.request("POST", "/hooks/git", b.header, b.body)
			}
			if status != http.StatusUnauthorized {
				t.Errorf("webhook %s: status %d, want 401: %s", b.name, status, data)
			}
		}
		// a refused webhook fetches nothing (and the interval is 1h)
		time.Sleep(time.Second)
		if r0.serves(replicaID(12)) {
			t.Errorf("%s serves the push after refused webhooks only", r0.name)
		}
		for i, style := range []string{"github", "gitlab", "gitea"} {
			r := reps[i]
			if r.serves(replicaID(12)) {
				t.Errorf("%s serves the push before its webhook (--fetch-interval 1h)", r.name)
			}
			start := time.Now()
			status, data := r.webhook(style, replicaSecret, body)
			if status != http.StatusAccepted {
				t.Errorf("%s webhook to %s: status %d, want 202: %s", style, r.name, status, data)
				continue
			}
			_, ok := replicaWait(30*time.Second, func() bool { return r.serves(replicaID(12)) })
			took := time.Since(start) // from the webhook's request
			if !ok {
				t.Errorf("%s does not serve the push 30s after a %s webhook (--fetch-interval 1h)", r.name, style)
				continue
			}
			t.Logf("%s serves the push %s after a %s webhook", r.name, took.Round(time.Millisecond), style)
		}
	})

	t.Run("WriteWhileOriginMoved", func(t *testing.T) {
		for _, r := range reps { // everyone up to date first
			if status, data := r.webhook("github", replicaSecret, replicaPushBody(f.originHead())); status != http.StatusAccepted {
				t.Fatalf("webhook: %d %s", status, data)
			}
		}
		head := f.originHead()
		for _, r := range reps {
			if _, ok := replicaWait(30*time.Second, func() bool { return r.head() == head }); !ok {
				t.Fatalf("%s serves %s, origin is at %s", r.name, r.head(), head)
			}
		}
		latest := reps[0].latest(target).Version // the same on every replica

		// someone pushes version latest+1 with git; replica 1 does not know
		f.pushPersona(1, "Seed Alpha", "version pushed with git while the replicas look away")
		status, data, err := reps[1].writeVersion(f.Token, target, 0, "written through replica1 on a stale view")
		if err != nil || status != http.StatusCreated {
			t.Fatalf("write through a replica behind origin: %d %s %v\n%s", status, data, err, reps[1].logTail())
		}
		var v struct {
			Version int `json:"version"`
		}
		_ = json.Unmarshal(data, &v)
		if v.Version != latest+2 {
			t.Errorf("the write made version %d, want %d (rebuilt on the new tip)", v.Version, latest+2)
		}
		subjects := f.git(f.Origin, "log", "--first-parent", "--format=%s|%ae", "-2", "main")
		if want := fmt.Sprintf("Version %d of Seed Alpha|%s\nSeed Alpha: version pushed with git while the replicas look away|origin@example.com", latest+2, replicaUser); subjects != want {
			t.Errorf("origin's last two commits:\n%s\nwant\n%s", subjects, want)
		}
		if got := reps[1].latest(target); got.Version != latest+2 || got.Background != "written through replica1 on a stale view" {
			t.Errorf("replica1 serves %+v after its write, want version %d", got, latest+2)
		}

		// replica 2 still thinks latest+1 is next: 400, nothing pushed
		originBefore := f.originHead()
		status, data, _ = reps[2].writeVersion(f.Token, target, latest+1, "a stale version number")
		if status != http.StatusBadRequest || !strings.Contains(string(data), fmt.Sprintf("the next is %d", latest+3)) {
			t.Errorf("version=%d through a stale replica: %d %s, want 400 saying the next is %d", latest+1, status, data, latest+3)
		}
		// replica 0 writes what origin already has as its latest: 409
		status, data, _ = reps[0].writeVersion(f.Token, target, 0, "written through replica1 on a stale view")
		if status != http.StatusConflict || !strings.Contains(string(data), fmt.Sprintf("identical to version %d", latest+2)) {
			t.Errorf("a version identical to origin's latest through a stale replica: %d %s, want 409 naming version %d", status, data, latest+2)
		}
		if got := f.originHead(); got != originBefore {
			t.Errorf("origin moved to %s after refused writes", got)
		}
		for _, r := range []*replicaProc{reps[0], reps[2]} {
			local, _ := f.tryGit(r.CloneDir, "rev-parse", "refs/heads/main")
			if local != originBefore {
				t.Errorf("%s: the clone's main is %s after a refused write, origin's %s", r.name, local, originBefore)
			}
			if r.head() != originBefore {
				t.Errorf("%s serves %s after the refused write fetched, origin is at %s", r.name, r.head(), originBefore)
			}
		}
		f.checkNotAhead(t, reps)
	})

	t.Run("ForcePushRebuilds", func(t *testing.T) {
		f.sync()
		base := f.originHead()
		dropped := f.pushPersona(13, "Dropped By Force Push", "only in the history that is rewritten")
		notify := func(commit string) {
			for _, r := range reps {
				if status, data := r.webhook("gitea", replicaSecret, replicaPushBody(commit)); status != http.StatusAccepted {
					t.Fatalf("webhook to %s: %d %s", r.name, status, data)
				}
			}
		}
		notify(dropped)
		for _, r := range reps {
			if _, ok := replicaWait(30*time.Second, func() bool { return r.serves(replicaID(13)) }); !ok {
				t.Fatalf("%s does not serve persona 13 before the force-push", r.name)
			}
		}
		versionsBefore := reps[0].latest(target).Version

		f.git(f.Work, "reset", "--quiet", "--hard", base)
		f.writeFile("personas/p14.yaml", replicaYAML(14, "Born After Force Push", "only in the new history"))
		rewritten := f.commitAll("Rewrite: persona 14 instead of 13")
		f.git(f.Work, "push", "--quiet", "--force", "origin", "main")
		notify(rewritten)
		for _, r := range reps {
			took, ok := replicaWait(30*time.Second, func() bool {
				return r.head() == rewritten && !r.serves(replicaID(13)) && r.serves(replicaID(14))
			})
			if !ok {
				t.Errorf("%s after the force-push: head %s (want %s), persona 13 served %v (want 404), 14 served %v\n%s",
					r.name, r.head(), rewritten, r.serves(replicaID(13)), r.serves(replicaID(14)), r.logTail())
				continue
			}
			if st, _ := r.get(replicaOrgBase + "/" + replicaID(13) + "/version/"); st != http.StatusNotFound {
				t.Errorf("%s: persona 13 of the dropped history answers %d, want 404", r.name, st)
			}
			if got := r.latest(target).Version; got != versionsBefore {
				t.Errorf("%s: Seed Alpha has %d versions after the rebuild, want %d", r.name, got, versionsBefore)
			}
			if log, _ := os.ReadFile(r.Log); !bytes.Contains(log, []byte("history rewritten")) {
				t.Errorf("%s: the log does not say the history was rewritten", r.name)
			}
			local, _ := f.tryGit(r.CloneDir, "rev-parse", "refs/heads/main")
			if local != rewritten {
				t.Errorf("%s: the clone's main is %s, want the rewritten %s", r.name, local, rewritten)
			}
			t.Logf("%s rebuilt after the force-push in %s", r.name, took.Round(time.Millisecond))
		}
		// a write after the rewrite lands on the new history
		status, data, _ := reps[2].writeVersion(f.Token, replicaID(14), 0, "a second version after the rewrite")
		if status != http.StatusCreated {
			t.Errorf("write after the force-push: %d %s", status, data)
		} else if parent := f.git(f.Origin, "rev-parse", "main^"); parent != rewritten {
			t.Errorf("the write's parent is %s, want the rewritten head %s", parent, rewritten)
		}
	})

	t.Run("DefaultCloneDir", func(t *testing.T) {
		r := f.start("default-dir", "", "--fetch-interval", "1h")
		defer r.stop(t)
		dirs, _ := filepath.Glob(filepath.Join(f.Cache, "personas", "clones", "*.git"))
		if len(dirs) != 1 {
			t.Fatalf("clones under $XDG_CACHE_HOME/personas/clones: %v, want one", dirs)
		}
		if url, _ := f.tryGit(dirs[0], "config", "--get", "remote.origin.url"); url != f.URL {
			t.Errorf("%s is a clone of %q, want %q", dirs[0], url, f.URL)
		}
		if r.head() != f.originHead() {
			t.Errorf("the default-dir replica serves %s, origin is at %s", r.head(), f.originHead())
		}
	})

	t.Run("FlagsFromEnvironment", func(t *testing.T) {
		// what the Kubernetes example of the README does: every flag as PERSONAS_*
		dir := filepath.Join(t.TempDir(), "env-clone.git")
		r, err := f.launch("from-env", dir, []string{"serve"}, []string{
			"PERSONAS_REMOTE=" + f.URL, "PERSONAS_CLONE_DIR=" + dir, "PERSONAS_ADDR=127.0.0.1:0",
			"PERSONAS_TOKENS=" + f.Tokens, "PERSONAS_FETCH_INTERVAL=1h", "PERSONAS_WEBHOOK_SECRET=env-secret",
		})
		if err != nil {
			t.Fatal(err)
		}
		defer r.stop(t)
		if url, _ := f.tryGit(dir, "config", "--get", "remote.origin.url"); url != f.URL {
			t.Errorf("PERSONAS_CLONE_DIR: %s is a clone of %q, want %q", dir, url, f.URL)
		}
		if r.head() != f.originHead() {
			t.Errorf("serves %s, origin is at %s", r.head(), f.originHead())
		}
		body := replicaPushBody(f.originHead())
		if status, data := r.webhook("github", replicaSecret, body); status != http.StatusUnauthorized {
			t.Errorf("webhook signed with the flag's secret, server given PERSONAS_WEBHOOK_SECRET: %d %s, want 401", status, data)
		}
		if status, data := r.webhook("github", "env-secret", body); status != http.StatusAccepted {
			t.Errorf("webhook signed with PERSONAS_WEBHOOK_SECRET: %d %s, want 202", status, data)
		}
		status, data, _ := r.writeVersion(f.Token, replicaID(14), 0, "written through the replica configured from the environment")
		if status != http.StatusCreated {
			t.Errorf("write through the replica configured from the environment: %d %s", status, data)
		}
	})

	t.Run("CloneDirOfAnotherRemote", func(t *testing.T) {
		cmd := exec.Command(bin, "serve", "--remote", "file:///elsewhere/other.git", "--clone-dir", reps[0].CloneDir,
			"--addr", "127.0.0.1:0")
		cmd.Env = f.env()
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("serve on the clone of another remote: %v, want exit status 2\n%s", err, out)
		}
		if !strings.Contains(string(out), "--clone-dir") {
			t.Errorf("the error does not say to choose another --clone-dir:\n%s", out)
		}
	})
}

func replicaHMAC(secret string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return mac.Sum(nil)
}
