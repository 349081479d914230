// Package amigotest starts `personas serve` standing in for Amigo in tests:
// a real registry on a bare repository in t.TempDir, a real server on
// 127.0.0.1:0, Amigo's API-key sign-in issuing short-lived tokens, counts
// of the calls made, and a proxy that injects faults.
package amigotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/server"
)

// Org is the organization every stand-in serves.
const Org = "default"

// User is the author of every write made through the stand-in.
const User = "sync@example.com"

// API-key credentials the stand-in accepts at signin_with_api_key.
const (
	APIKey   = "test-api-key"
	APIKeyID = "test-key-id"
	UserID   = "test-user"
)

// Options configure a stand-in.
type Options struct {
	// Repo is a bare repository to serve; "" makes one with no persona.
	Repo string
	// RateLimit is the server's --rate-limit (requests a second per token).
	RateLimit float64
	// TokenTTL is the life of a signed-in token (default 10 minutes).
	TokenTTL time.Duration
}

// StandIn is a running `personas serve` with Amigo's sign-in in front.
type StandIn struct {
	URL   string // http://127.0.0.1:port
	Repo  string // the bare repository served
	Token string // a bearer token with every write permission
	// CheckToken is another such token, with its own rate-limit bucket:
	// for a test's checks.
	CheckToken string
	Reg        *registry.Registry

	ttl    time.Duration
	writes atomic.Int64
	reads  atomic.Int64

	mu       sync.Mutex
	issued   map[string]time.Time // signed-in token → expiry
	signIns  int
	requests []string // "METHOD path" of every API call
}

// Start runs a stand-in until the test ends.
func Start(t testing.TB, o Options) *StandIn {
	t.Helper()
	if o.Repo == "" {
		o.Repo = EmptyRepo(t)
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = 10 * time.Minute
	}
	file := filepath.Join(t.TempDir(), "tokens.json")
	secret, err := server.AddToken(file, server.Token{Name: "sync", Org: Org, User: User,
		Permissions: []string{server.PermCreate, server.PermModify, server.PermDelete}})
	if err != nil {
		t.Fatal(err)
	}
	check, err := server.AddToken(file, server.Token{Name: "check", Org: Org, User: "check@example.com",
		Permissions: []string{server.PermCreate, server.PermModify, server.PermDelete}})
	if err != nil {
		t.Fatal(err)
	}
	auth, _, err := server.LoadAuth(file)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(registry.Options{Repo: o.Repo, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := reg.Refresh(ctx); err != nil {
		t.Fatalf("first refresh: %v", err)
	}
	reg.Watch()
	srv := server.New(server.Config{Registry: reg, Org: Org, Auth: auth, RateLimit: o.RateLimit})
	s := &StandIn{Repo: o.Repo, Token: secret, CheckToken: check, Reg: reg, ttl: o.TokenTTL, issued: map[string]time.Time{}}
	s.URL = serveLoopback(t, s.handler(srv.Handler()))
	return s
}

// handler answers the sign-in, swaps signed-in tokens for the real one and
// counts the calls.
func (s *StandIn) handler(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/"+Org+"/user/signin_with_api_key" && r.Method == http.MethodPost {
			s.signIn(w, r)
			return
		}
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != s.Token && tok != s.CheckToken {
			s.mu.Lock()
			exp, known := s.issued[tok]
			s.mu.Unlock()
			if !known || time.Now().After(exp) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"type":"UnauthorizedError","message":"the token is unknown or expired; sign in again"}`))
				return
			}
			r.Header.Set("Authorization", "Bearer "+s.Token)
		}
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				s.reads.Add(1)
			} else {
				s.writes.Add(1)
			}
			s.mu.Lock()
			s.requests = append(s.requests, r.Method+" "+r.URL.Path)
			s.mu.Unlock()
		}
		api.ServeHTTP(w, r)
	})
}

func (s *StandIn) signIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("x-api-key") != APIKey || r.Header.Get("x-api-key-id") != APIKeyID || r.Header.Get("x-user-id") != UserID {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"type":"UnauthorizedError","message":"bad API key"}`))
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	exp := time.Now().Add(s.ttl).UTC()
	s.mu.Lock()
	s.issued[tok] = exp
	s.signIns++
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"id_token": tok, "expires_at": exp})
}

// Revoke makes every signed-in token invalid (the next call gets 401).
func (s *StandIn) Revoke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.issued)
}

// SignIns returns the number of successful sign-ins.
func (s *StandIn) SignIns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signIns
}

// Writes returns the number of write calls (POST, DELETE) received.
func (s *StandIn) Writes() int64 { return s.writes.Load() }

// Reads returns the number of read calls received.
func (s *StandIn) Reads() int64 { return s.reads.Load() }

// Requests returns "METHOD path" of every API call so far.
func (s *StandIn) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// EmptyRepo makes a bare repository whose main has one commit and no
// persona.
func EmptyRepo(t testing.TB) string {
	t.Helper()
	work := t.TempDir()
	Git(t, work, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("personas\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Git(t, work, "add", "README.md")
	Git(t, work, "commit", "-q", "-m", "Start")
	bare := filepath.Join(t.TempDir(), "org.git")
	Git(t, work, "clone", "-q", "--bare", work, bare)
	return bare
}

// Git runs git in dir with a fixed identity and returns its trimmed output.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
