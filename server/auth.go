package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
)

// Permissions named by API.md, one per write call.
const (
	PermCreate = "Simulation:CreateSimulationPersona"
	PermModify = "Simulation:ModifySimulationPersona"
	PermDelete = "Simulation:DeleteSimulationPersona"
)

// KnownPermissions lists the permissions a token can carry.
var KnownPermissions = []string{PermCreate, PermModify, PermDelete}

// Token is one entry of the tokens file. Only the SHA-256 of the secret is stored.
type Token struct {
	Name        string   `json:"name"`
	Org         string   `json:"org"`
	User        string   `json:"user"` // the email that authors its commits
	Permissions []string `json:"permissions"`
	SHA256      string   `json:"sha256"`
}

// Auth checks bearer and basic credentials against a set of tokens.
type Auth struct {
	tokens []Token
	hashes [][]byte
}

// LoadAuth reads a tokens file (a JSON array of Token). warn is set when the
// file can be read by group or others.
func LoadAuth(path string) (a *Auth, warn string, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("tokens file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		warn = fmt.Sprintf("tokens file %s has mode %v: readable by group or others; chmod 600 it", path, info.Mode().Perm())
	}
	tokens, err := ReadTokens(path)
	if err != nil {
		return nil, warn, err
	}
	return NewAuth(tokens), warn, nil
}

// NewAuth returns an Auth over the tokens.
func NewAuth(tokens []Token) *Auth {
	a := &Auth{tokens: tokens}
	for _, t := range tokens {
		h, _ := hex.DecodeString(t.SHA256)
		a.hashes = append(a.hashes, h)
	}
	return a
}

// ReadTokens reads the tokens file; a missing file is an empty list.
func ReadTokens(path string) ([]Token, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tokens file: %w", err)
	}
	var tokens []Token
	if err := json.Unmarshal(data, &tokens); err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return tokens, nil
}

// AddToken creates a token, appends its hash to the tokens file (mode 0600)
// and returns the secret, which is shown once and stored nowhere.
func AddToken(path string, t Token) (string, error) {
	for _, p := range t.Permissions {
		if !slices.Contains(KnownPermissions, p) {
			return "", fmt.Errorf("unknown permission %q: want one of %s", p, strings.Join(KnownPermissions, ", "))
		}
	}
	if t.Org == "" || t.User == "" || t.Name == "" {
		return "", errors.New("a token needs --org, --user and --name")
	}
	tokens, err := ReadTokens(path)
	if err != nil {
		return "", err
	}
	for _, old := range tokens {
		if old.Name == t.Name && old.Org == t.Org {
			return "", fmt.Errorf("a token named %q already exists for org %q", t.Name, t.Org)
		}
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	secret := "prs_" + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(secret))
	t.SHA256 = hex.EncodeToString(sum[:])
	tokens = append(tokens, t)
	data, _ := json.MarshalIndent(tokens, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return secret, os.Chmod(path, 0o600)
}

// Principal is the authenticated caller.
type Principal struct {
	Token Token
}

// Can reports whether the caller holds the permission.
func (p *Principal) Can(perm string) bool {
	return p != nil && slices.Contains(p.Token.Permissions, perm)
}

// authenticate finds the token behind the request's credentials. It returns
// nil, nil when the request carries none.
// Errors: EUNAUTHORIZED for bad credentials or a token of another org.
func (a *Auth) authenticate(c *echo.Context, org string) (*Principal, error) {
	req := c.Request()
	header := req.Header.Get("Authorization")
	if header == "" {
		return nil, nil
	}
	secret, basicUser := "", ""
	switch {
	case strings.HasPrefix(header, "Bearer "):
		secret = strings.TrimSpace(header[len("Bearer "):])
	case strings.HasPrefix(header, "Basic "):
		user, pass, ok := req.BasicAuth()
		if !ok {
			return nil, registry.Errorf(registry.EUNAUTHORIZED, "malformed Basic credentials")
		}
		secret, basicUser = pass, user
	default:
		return nil, registry.Errorf(registry.EUNAUTHORIZED, "unsupported Authorization scheme: use Bearer <token> or Basic")
	}
	t, ok := a.lookup(secret)
	if !ok {
		return nil, registry.Errorf(registry.EUNAUTHORIZED, "invalid token")
	}
	if basicUser != "" && basicUser != t.Org+"_"+t.User {
		return nil, registry.Errorf(registry.EUNAUTHORIZED, "Basic username must be {org_id}_{user_id} of the token")
	}
	if h := req.Header.Get("X-ORG-ID"); h != "" && h != t.Org {
		return nil, registry.Errorf(registry.EUNAUTHORIZED, "X-ORG-ID %q does not match the token's org", h)
	}
	if t.Org != org {
		return nil, registry.Errorf(registry.EUNAUTHORIZED, "the token was issued for org %q, not %q", t.Org, org)
	}
	return &Principal{Token: t}, nil
}

// lookup compares the secret's hash with every stored hash in constant time.
func (a *Auth) lookup(secret string) (Token, bool) {
	if a == nil || secret == "" {
		return Token{}, false
	}
	sum := sha256.Sum256([]byte(secret))
	found := -1
	for i, h := range a.hashes {
		if subtle.ConstantTimeCompare(sum[:], h) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Token{}, false
	}
	return a.tokens[found], true
}

const principalKey = "principal"

// authRead authenticates a read: credentials are optional unless
// RequireAuthForReads, but bad ones are always refused.
func (s *Server) authRead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		p, err := s.cfg.Auth.authenticate(c, s.org)
		if err != nil {
			return err
		}
		if p == nil && s.cfg.RequireAuthForReads {
			return registry.Errorf(registry.EUNAUTHORIZED, "this server requires a token for reads: send Authorization: Bearer <token>")
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// requirePermission authenticates a write and checks its permission.
func (s *Server) requirePermission(perm string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if s.cfg.ReadOnly {
				return registry.Errorf(registry.EFORBIDDEN, "this server is read-only: %s", s.cfg.ReadOnlyReason)
			}
			p, err := s.cfg.Auth.authenticate(c, s.org)
			if err != nil {
				return err
			}
			if p == nil {
				return registry.Errorf(registry.EUNAUTHORIZED, "writes need a token: send Authorization: Bearer <token>")
			}
			if !p.Can(perm) {
				return registry.Errorf(registry.EFORBIDDEN, "token %q lacks the permission %s", p.Token.Name, perm)
			}
			c.Set(principalKey, p)
			return s.limitRate(next)(c)
		}
	}
}

func principalOf(c *echo.Context) *Principal {
	p, _ := c.Get(principalKey).(*Principal)
	return p
}

// redacts reports whether sensitive variables are hidden from this caller.
func (s *Server) redacts(c *echo.Context) bool {
	return s.cfg.RedactSensitive && !principalOf(c).Can(PermModify)
}

func (s *Server) redactTag(c *echo.Context) string {
	if s.redacts(c) {
		return "-r"
	}
	return ""
}
