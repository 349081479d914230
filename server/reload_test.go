package server_test

// Tests of the token lifecycle on a running server: reload of the tokens
// file on change, a broken file keeping the previous tokens, revoked and
// expired tokens.

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personaregistry/personas/server"
)

// lockedBuffer is a log sink safe for the watcher's goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// reloadEnv is a server whose Auth watches a real tokens file.
type reloadEnv struct {
	file string
	log  *lockedBuffer
	anon *client
}

func newReloadEnv(t *testing.T, tokens ...server.Token) (*reloadEnv, map[string]string) {
	t.Helper()
	src := newWorktreeRepo(t)
	src.commit(alice, at(1), "One persona", map[string]string{
		"personas/one.yaml": persona{ID: idTeller, Name: "One", Role: "r", Background: "b"}.yaml(),
	})
	file := filepath.Join(t.TempDir(), "tokens.json")
	secrets := map[string]string{}
	for _, tok := range tokens {
		s, err := server.AddToken(file, tok)
		if err != nil {
			t.Fatal(err)
		}
		secrets[tok.Name] = s
	}
	auth, _, err := server.LoadAuth(file)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	auth.SetLogger(slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	if err := auth.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); auth.Close() })
	ts := startServer(t, src.dir, server.Config{Auth: auth, RequireAuthForReads: true}, serveOptions{})
	return &reloadEnv{file: file, log: logs, anon: newClient(t, ts.URL)}, secrets
}

// waitStatus polls the list with the token until it answers status (30 s
// at most) and returns how long that took.
func (e *reloadEnv) waitStatus(t *testing.T, token string, status int) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := e.anon.on(t).withToken(token).get(apiBase + "/")
		if r.Status == status {
			return time.Since(start)
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("token still answers %d after 30s, want %d; log:\n%s", r.Status, status, e.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits (30 s at most) until the log holds n lines containing s.
func (e *reloadEnv) waitLog(t *testing.T, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(e.log.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not show %q %d times within 30s:\n%s", s, n, e.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replaceFile writes the file as editors and `personas token` do: a
// temporary file renamed into place.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".edit"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func reader(name string) server.Token {
	return server.Token{Name: name, Org: org, User: name + "@example.com", Permissions: []string{server.PermRead}}
}

func TestTokenReload(t *testing.T) {
	t.Parallel()
	e, tok := newReloadEnv(t, reader("a"))
	e.waitStatus(t, tok["a"], 200)

	// a token added to the file works without a restart
	b, err := server.AddToken(e.file, reader("b"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("added token accepted after %v", e.waitStatus(t, b, 200))

	// a revoked token is refused
	if err := server.RevokeToken(e.file, org, "a"); err != nil {
		t.Fatal(err)
	}
	t.Logf("revoked token refused after %v", e.waitStatus(t, tok["a"], 401))
	er := expectError(t, "revoked", e.anon.on(t).withToken(tok["a"]).get(apiBase+"/"), 401, "UnauthorizedError")
	if !strings.Contains(er.Message, "invalid token") {
		t.Errorf("revoked token: %q", er.Message)
	}

	// broken files keep the previous tokens, with one error each
	good, err := os.ReadFile(e.file)
	if err != nil {
		t.Fatal(err)
	}
	const failed = "tokens file not reloaded"
	broken := []struct{ name, content, says string }{
		{"syntax error", string(good[:len(good)/2]), "line "},
		{"bad selector", strings.Replace(string(good), server.PermRead, server.PermRead+" team=banking", 1), "unknown kind"},
		{"bad permission", strings.Replace(string(good), server.PermRead, "Simulation:Everything", 1), "unknown permission"},
	}
	for i, bc := range broken {
		replaceFile(t, e.file, bc.content)
		e.waitLog(t, failed, i+1)
		if last := lastLine(e.log.String(), failed); !strings.Contains(last, bc.says) {
			t.Errorf("%s: the error %q does not say %q", bc.name, last, bc.says)
		}
		e.waitStatus(t, b, 200) // still in force
		if r := e.anon.on(t).withToken(tok["a"]).get(apiBase + "/"); r.Status != 401 {
			t.Errorf("%s: the revoked token answers %d", bc.name, r.Status)
		}
		// rewriting the same broken content logs nothing more
		replaceFile(t, e.file, bc.content)
	}
	// a missing file keeps the tokens too
	if err := os.Remove(e.file); err != nil {
		t.Fatal(err)
	}
	e.waitLog(t, failed, len(broken)+1)
	e.waitStatus(t, b, 200)

	// a good file again: the new token works, the log has one error per broken content
	replaceFile(t, e.file, string(good))
	c, err := server.AddToken(e.file, reader("c"))
	if err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, c, 200)
	if n := strings.Count(e.log.String(), failed); n != len(broken)+1 {
		t.Errorf("%d reload errors logged, want %d (one per broken content):\n%s", n, len(broken)+1, e.log.String())
	}
}

func lastLine(log, containing string) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], containing) {
			return lines[i]
		}
	}
	return ""
}

func TestTokenExpired(t *testing.T) {
	t.Parallel()
	old, fresh := reader("old"), reader("fresh")
	old.Created = time.Now().Add(-48 * time.Hour)
	old.Expires = time.Now().Add(-time.Hour)
	fresh.Expires = time.Now().Add(time.Hour)
	e, tok := newReloadEnv(t, old, fresh, reader("forever"))
	er := expectError(t, "expired", e.anon.on(t).withToken(tok["old"]).get(apiBase+"/"), http.StatusUnauthorized, "UnauthorizedError")
	if !strings.Contains(er.Message, "expired") || !strings.Contains(er.Message, `"old"`) {
		t.Errorf("an expired token's 401 says %q, want it to say the token expired", er.Message)
	}
	e.anon.on(t).withToken(tok["fresh"]).getOK(apiBase+"/", nil)
	e.anon.on(t).withToken(tok["forever"]).getOK(apiBase+"/", nil)
}
