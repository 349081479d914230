package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// SignInResponse is the answer of POST /v1/{org}/user/signin_with_api_key.
type SignInResponse struct {
	IDToken   string    `json:"id_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// tokenSource gives the bearer token of every request: a fixed token, or
// one from the API-key exchange, renewed RefreshBefore its expiry (Amigo's
// SDKs renew five minutes early) and after a 401.
type tokenSource struct {
	c *Client

	mu      sync.Mutex
	current SignInResponse
	signIns int
}

// token returns a valid bearer token, signing in when needed; force
// signs in again whatever the expiry says (after a 401).
func (s *tokenSource) token(ctx context.Context, force bool) (string, error) {
	cfg := &s.c.cfg
	if cfg.APIKey == "" {
		return cfg.Token, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !force && s.current.IDToken != "" && s.c.now().Before(s.current.ExpiresAt.Add(-cfg.RefreshBefore)) {
		return s.current.IDToken, nil
	}
	resp, err := s.signIn(ctx)
	if err != nil {
		return "", err
	}
	s.current = resp
	s.signIns++
	return resp.IDToken, nil
}

// signIn exchanges the API key for a token (retrying dropped connections
// and 5xx: the exchange changes nothing and may be repeated).
func (s *tokenSource) signIn(ctx context.Context) (SignInResponse, error) {
	cfg := &s.c.cfg
	path := "/v1/" + url.PathEscape(cfg.Org) + "/user/signin_with_api_key"
	var last error
	for attempt := 0; attempt <= cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, s.c.backoff(attempt, 0)); err != nil {
				return SignInResponse{}, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.BaseURL+path, nil)
		if err != nil {
			return SignInResponse{}, fmt.Errorf("sign in: %w", err)
		}
		req.Header.Set("x-api-key", cfg.APIKey)
		req.Header.Set("x-api-key-id", cfg.APIKeyID)
		req.Header.Set("x-user-id", cfg.UserID)
		req.Header.Set("User-Agent", userAgent)
		resp, err := cfg.HTTPClient.Do(req)
		if err != nil {
			last = err
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err != nil {
			last = err
			continue
		}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			last = apiError(req, resp, body)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return SignInResponse{}, fmt.Errorf("sign in with API key: %w", apiError(req, resp, body))
		}
		var out SignInResponse
		if err := json.Unmarshal(body, &out); err != nil || out.IDToken == "" {
			return SignInResponse{}, fmt.Errorf("sign in with API key: unexpected answer %q", clip(body))
		}
		return out, nil
	}
	return SignInResponse{}, fmt.Errorf("sign in with API key: %w", last)
}
