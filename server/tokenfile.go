package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// AddToken creates a token, appends its hash to the tokens file (mode 0600)
// and returns the secret, which is shown once and stored nowhere. Each
// permission is a grant ("PERMISSION [SELECTOR ...]"), stored in its
// canonical form. Created is set to now when zero.
func AddToken(path string, t Token) (string, error) {
	if t.Org == "" || t.User == "" || t.Name == "" {
		return "", errors.New("a token needs --org, --user and --name")
	}
	grants, err := t.Grants()
	if err != nil {
		return "", err
	}
	t.Permissions = make([]string, len(grants))
	for i, g := range grants {
		t.Permissions[i] = g.String()
	}
	if t.Created.IsZero() {
		t.Created = time.Now().UTC().Truncate(time.Second)
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
	if err := WriteTokens(path, append(tokens, t)); err != nil {
		return "", err
	}
	return secret, nil
}

// RevokeToken removes the token of org named name from the tokens file.
// Errors: no such token.
func RevokeToken(path, org, name string) error {
	tokens, err := ReadTokens(path)
	if err != nil {
		return err
	}
	kept := tokens[:0:0]
	for _, t := range tokens {
		if t.Org != org || t.Name != name {
			kept = append(kept, t)
		}
	}
	if len(kept) == len(tokens) {
		return fmt.Errorf("no token named %q for org %q in %s", name, org, path)
	}
	return WriteTokens(path, kept)
}

// WriteTokens replaces the tokens file atomically (a temporary file renamed
// into place, mode 0600), so a server watching it never reads half a file.
func WriteTokens(path string, tokens []Token) error {
	if tokens == nil {
		tokens = []Token{}
	}
	data, err := json.MarshalIndent(tokens, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	return nil
}

// ParseExpiry parses the lifetime of a token: a number and a unit, d
// (days), h, m or s ("90d", "12h", "30s"), or any time.ParseDuration form.
func ParseExpiry(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 100*365 {
			return 0, fmt.Errorf("expires %q: want a positive number of days like 90d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("expires %q: want a duration like 90d, 12h or 30s", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("expires %q: want a positive duration", s)
	}
	return d, nil
}
