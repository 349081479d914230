package gitdb

// Unit tests of remoteAuth: credentials for fetch and push come from the
// environment. Fetch and push themselves are tested through the registry
// (registry/remote_test.go) against real remotes.

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	cryptossh "golang.org/x/crypto/ssh"
)

// ---------------------------------------------------------------------------
// remoteAuth

func TestRemoteAuthFromTheEnvironment(t *testing.T) {
	for _, k := range []string{"PERSONAS_GIT_USERNAME", "PERSONAS_GIT_PASSWORD", "PERSONAS_GIT_TOKEN", "PERSONAS_GIT_SSH_KEY", "PERSONAS_GIT_SSH_PASSPHRASE"} {
		t.Setenv(k, "")
	}
	const https = "https://git.example.com/acme/personas.git"
	cases := []struct {
		name           string
		env            map[string]string
		url            string
		wantUser, want string // want "" and wantUser "": no auth
	}{
		{"https without credentials", nil, https, "", ""},
		{"https username and password", map[string]string{"PERSONAS_GIT_USERNAME": "ana", "PERSONAS_GIT_PASSWORD": "pw"}, https, "ana", "pw"},
		{"https token", map[string]string{"PERSONAS_GIT_TOKEN": "tok"}, https, "x-access-token", "tok"},
		{"https token with a username", map[string]string{"PERSONAS_GIT_USERNAME": "oauth2", "PERSONAS_GIT_TOKEN": "tok"}, https, "oauth2", "tok"},
		{"https password wins over token", map[string]string{"PERSONAS_GIT_USERNAME": "ana", "PERSONAS_GIT_PASSWORD": "pw", "PERSONAS_GIT_TOKEN": "tok"}, https, "ana", "pw"},
		{"http token", map[string]string{"PERSONAS_GIT_TOKEN": "tok"}, "http://git.local/p.git", "x-access-token", "tok"},
		{"file URL ignores credentials", map[string]string{"PERSONAS_GIT_USERNAME": "ana", "PERSONAS_GIT_PASSWORD": "pw", "PERSONAS_GIT_TOKEN": "tok"}, "file:///srv/personas.git", "", ""},
		{"plain path ignores credentials", map[string]string{"PERSONAS_GIT_TOKEN": "tok"}, "/srv/personas.git", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			auth, err := remoteAuth(c.url)
			if err != nil {
				t.Fatalf("remoteAuth(%s): %v", c.url, err)
			}
			if c.wantUser == "" && c.want == "" {
				if auth != nil {
					t.Fatalf("remoteAuth(%s) = %#v, want no auth", c.url, auth)
				}
				return
			}
			ba, ok := auth.(*http.BasicAuth)
			if !ok {
				t.Fatalf("remoteAuth(%s) = %T, want *http.BasicAuth", c.url, auth)
			}
			if ba.Username != c.wantUser || ba.Password != c.want {
				t.Errorf("BasicAuth = %q/%q, want %q/%q", ba.Username, ba.Password, c.wantUser, c.want)
			}
		})
	}
}

func TestRemoteAuthSSH(t *testing.T) {
	t.Setenv("PERSONAS_GIT_SSH_PASSPHRASE", "")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := cryptossh.MarshalPrivateKey(priv, "test key")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PERSONAS_GIT_SSH_KEY", keyFile)
	for url, user := range map[string]string{
		"ssh://git@github.com/acme/personas.git":  "git",
		"ssh://deploy@git.example.com:2222/p.git": "deploy",
		"ssh://git.example.com/p.git":             "git",
		"git@github.com:acme/personas.git":        "git",
		"ops@git.example.com:team/personas.git":   "ops",
	} {
		auth, err := remoteAuth(url)
		if err != nil {
			t.Errorf("remoteAuth(%s) with a key: %v", url, err)
			continue
		}
		pk, ok := auth.(*gitssh.PublicKeys)
		if !ok {
			t.Errorf("remoteAuth(%s) = %T, want *ssh.PublicKeys", url, auth)
			continue
		}
		if pk.User != user {
			t.Errorf("remoteAuth(%s): user %q, want %q", url, pk.User, user)
		}
	}

	t.Setenv("PERSONAS_GIT_SSH_KEY", filepath.Join(t.TempDir(), "missing"))
	if _, err := remoteAuth("ssh://git@github.com/acme/personas.git"); err == nil {
		t.Error("remoteAuth with a missing key file: no error")
	}

	// no key: the ssh agent; without one, an error at start-up rather than
	// at the first fetch
	t.Setenv("PERSONAS_GIT_SSH_KEY", "")
	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := remoteAuth("ssh://git@github.com/acme/personas.git"); err == nil {
		t.Error("remoteAuth without a key nor an agent: no error")
	}
}

func TestRemoteAuthBadURL(t *testing.T) {
	_, err := remoteAuth("http://[::1")
	if err == nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("remoteAuth of a malformed URL: %v, want ErrInvalid", err)
	}
	if err != nil && !strings.Contains(err.Error(), "http://[::1") {
		t.Errorf("message %q does not name the URL", err.Error())
	}
}
