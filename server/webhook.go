package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
)

// gitWebhook answers push webhooks of GitHub, GitLab and Gitea: a verified
// request makes the replica fetch now (202); anything else is 401.
func (s *Server) gitWebhook(c *echo.Context) error {
	if s.cfg.WebhookSecret == "" || s.cfg.OnPush == nil {
		return registry.Errorf(registry.ENOTFOUND, "push webhooks are not configured on this server (start it with --remote and --webhook-secret)")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return invalid([]string{"body"}, "could not read the body")
	}
	if !verifyWebhook(c.Request().Header, body, s.cfg.WebhookSecret) {
		return registry.Errorf(registry.EUNAUTHORIZED,
			"webhook not verified: send X-Hub-Signature-256 (GitHub), X-Gitea-Signature (Gitea) or X-Gitlab-Token (GitLab) made with the shared secret")
	}
	s.cfg.OnPush()
	return c.JSON(http.StatusAccepted, map[string]string{"status": "fetch scheduled"})
}

// verifyWebhook checks the signature or token of a push webhook.
func verifyWebhook(h http.Header, body []byte, secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := mac.Sum(nil)
	if sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256="); ok {
		got, err := hex.DecodeString(sig)
		return err == nil && hmac.Equal(got, want)
	}
	for _, name := range []string{"X-Gitea-Signature", "X-Gogs-Signature"} {
		if sig := h.Get(name); sig != "" {
			got, err := hex.DecodeString(sig)
			return err == nil && hmac.Equal(got, want)
		}
	}
	if tok := h.Get("X-Gitlab-Token"); tok != "" {
		return subtle.ConstantTimeCompare([]byte(tok), []byte(secret)) == 1
	}
	return false
}
