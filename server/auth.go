package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
)

// Permissions named by API.md: one per write call, and the read permission
// of list, search, versions, problems and filter_values.
const (
	PermRead   = "Simulation:GetSimulationPersona"
	PermCreate = "Simulation:CreateSimulationPersona"
	PermModify = "Simulation:ModifySimulationPersona"
	PermDelete = "Simulation:DeleteSimulationPersona"
)

// KnownPermissions lists the permissions a token can carry.
var KnownPermissions = []string{PermRead, PermCreate, PermModify, PermDelete}

// Token is one entry of the tokens file. Only the SHA-256 of the secret is
// stored. Permissions are grants, "PERMISSION [SELECTOR ...]" (see Grant).
type Token struct {
	Name        string    `json:"name"`
	Org         string    `json:"org"`
	User        string    `json:"user"` // the email that authors its commits
	Permissions []string  `json:"permissions"`
	Created     time.Time `json:"created,omitzero"`
	Expires     time.Time `json:"expires,omitzero"` // zero: never
	SHA256      string    `json:"sha256"`
}

// Expired reports whether the token has expired at now.
func (t Token) Expired(now time.Time) bool {
	return !t.Expires.IsZero() && !now.Before(t.Expires)
}

// Grants parses the token's permissions.
func (t Token) Grants() ([]Grant, error) {
	out := make([]Grant, 0, len(t.Permissions))
	for _, p := range t.Permissions {
		g, err := ParseGrant(p)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// Principal is the authenticated caller: its token and what each of its
// permissions covers. A Principal is shared by every request of its token
// and never changes.
type Principal struct {
	Token  Token
	scopes map[string]*scope
}

// newPrincipal compiles a token's grants.
func newPrincipal(t Token) (*Principal, error) {
	grants, err := t.Grants()
	if err != nil {
		return nil, err
	}
	return &Principal{Token: t, scopes: newScopes(grants)}, nil
}

// Can reports whether the caller holds the permission, on any persona.
func (p *Principal) Can(perm string) bool {
	return p != nil && p.scopes[perm] != nil
}

// CanOn reports whether the caller holds the permission on the persona.
func (p *Principal) CanOn(perm string, persona *registry.Persona) bool {
	return p != nil && p.scopes[perm].allows(persona)
}

// scope returns what the permission covers (nil: nothing).
func (p *Principal) scope(perm string) *scope {
	if p == nil {
		return nil
	}
	return p.scopes[perm]
}

// tokenSet is one loaded tokens file, swapped whole on reload.
type tokenSet struct {
	principals []*Principal
	hashes     [][]byte
}

// newTokenSet compiles tokens; a bad grant or hash is an error naming the token.
func newTokenSet(tokens []Token) (*tokenSet, error) {
	ts := &tokenSet{}
	for i, t := range tokens {
		p, err := newPrincipal(t)
		if err != nil {
			return nil, fmt.Errorf("token %d (%q): %w", i+1, t.Name, err)
		}
		h, err := hex.DecodeString(t.SHA256)
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("token %d (%q): sha256: want 64 hex digits", i+1, t.Name)
		}
		ts.principals = append(ts.principals, p)
		ts.hashes = append(ts.hashes, h)
	}
	return ts, nil
}

// Auth checks bearer and basic credentials against a set of tokens. The set
// is replaced whole by Reload (and Watch); requests in flight keep the set
// they started with.
type Auth struct {
	set  atomic.Pointer[tokenSet]
	path string // "" when built from a list
	log  *slog.Logger
	now  func() time.Time

	mu     sync.Mutex // serializes reloads; guards seen
	seen   [sha256.Size]byte
	wg     sync.WaitGroup
	cancel context.CancelFunc
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
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, warn, fmt.Errorf("read tokens file: %w", err)
	}
	set, err := parseTokenSet(path, data)
	if err != nil {
		return nil, warn, err
	}
	a = &Auth{path: path, log: slog.New(slog.DiscardHandler), now: time.Now, seen: sha256.Sum256(data)}
	a.set.Store(set)
	return a, warn, nil
}

// NewAuth returns an Auth over the tokens.
// Errors: a token with a bad grant or hash.
func NewAuth(tokens []Token) (*Auth, error) {
	set, err := newTokenSet(tokens)
	if err != nil {
		return nil, err
	}
	a := &Auth{log: slog.New(slog.DiscardHandler), now: time.Now}
	a.set.Store(set)
	return a, nil
}

// SetLogger sets where reloads are logged.
func (a *Auth) SetLogger(l *slog.Logger) { a.log = l }

// parseTokenSet parses and compiles a tokens file's bytes.
func parseTokenSet(path string, data []byte) (*tokenSet, error) {
	tokens, err := parseTokens(path, data)
	if err != nil {
		return nil, err
	}
	set, err := newTokenSet(tokens)
	if err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return set, nil
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
	return parseTokens(path, data)
}

func parseTokens(path string, data []byte) ([]Token, error) {
	var tokens []Token
	if err := json.Unmarshal(data, &tokens); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			return nil, fmt.Errorf("tokens file %s: line %d: %w", path, line, err)
		}
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return tokens, nil
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
	p, ok := a.lookup(secret)
	if !ok {
		return nil, registry.Errorf(registry.EUNAUTHORIZED, "invalid token")
	}
	t := p.Token
	if t.Expired(a.now()) {
		return nil, registry.Errorf(registry.EUNAUTHORIZED, "token %q expired at %s: ask for a new one", t.Name, t.Expires.UTC().Format(time.RFC3339))
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
	return p, nil
}

// lookup compares the secret's hash with every stored hash in constant time.
func (a *Auth) lookup(secret string) (*Principal, bool) {
	if a == nil || secret == "" {
		return nil, false
	}
	set := a.set.Load()
	sum := sha256.Sum256([]byte(secret))
	found := -1
	for i, h := range set.hashes {
		if subtle.ConstantTimeCompare(sum[:], h) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, false
	}
	return set.principals[found], true
}

const principalKey = "principal"

// authRead authenticates a read: credentials are optional unless
// RequireAuthForReads, but bad ones are always refused. With
// RequireAuthForReads the token needs the read permission, and its scope
// limits what the read sees.
func (s *Server) authRead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		p, err := s.cfg.Auth.authenticate(c, s.org)
		if err != nil {
			return err
		}
		if s.cfg.RequireAuthForReads {
			if p == nil {
				return registry.Errorf(registry.EUNAUTHORIZED, "this server requires a token for reads: send Authorization: Bearer <token>")
			}
			if !p.Can(PermRead) {
				return registry.Errorf(registry.EFORBIDDEN, "token %q lacks the permission %s", p.Token.Name, PermRead)
			}
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// requirePermission authenticates a write and checks that the token holds
// the permission on some persona; the persona itself is checked by the
// write (writeCheck).
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
