package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeTokenLifecycle: a `personas serve` process with
// --require-auth-for-reads picks up `personas token add` and `token revoke`
// without a restart, and rereads the file on SIGHUP (which must not stop it).
func TestServeTokenLifecycle(t *testing.T) {
	bin := buildPersonas(t)
	bare := makeBareRepo(t, []seedPersona{{ID: "0000000000000000000000a1", Name: "Seed One", Role: "customer", Background: "A seed."}})
	work := t.TempDir()
	tokens := filepath.Join(work, "tokens.json")
	addWriterToken(t, bin, tokens) // no read permission
	p := startServe(t, bin, bare, tokens, work, "--require-auth-for-reads")
	list := p.URL + "/v1/default/simulation/persona/"

	status := func(token string) int {
		req, _ := http.NewRequest("GET", list, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	waitStatus := func(token string, want int) time.Duration {
		t.Helper()
		start := time.Now()
		for status(token) != want {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("the token does not answer %d within 30s\n%s", want, p.logTail())
			}
			time.Sleep(20 * time.Millisecond)
		}
		return time.Since(start)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = childEnv()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("personas %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return strings.TrimSpace(stdout.String())
	}

	reader := run("token", "add", "--tokens", tokens, "--org", "default", "--user", "r@example.com", "--name", "reader",
		"--permission", "Simulation:GetSimulationPersona")
	t.Logf("added token accepted after %v", waitStatus(reader, 200))
	run("token", "revoke", "--tokens", tokens, "--org", "default", "reader")
	t.Logf("revoked token refused after %v", waitStatus(reader, 401))

	logText := func() string {
		b, _ := os.ReadFile(p.Log)
		return string(b)
	}
	before := strings.Count(logText(), "tokens file reloaded")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(logText(), "tokens file reloaded") == before {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged within 30s of SIGHUP\n%s", p.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.waitReady(30 * time.Second); err != nil {
		t.Fatalf("after SIGHUP: %v\n%s", err, p.logTail())
	}
}
