package client

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"time"
)

// DefaultBaseURL is Amigo's API, the default of the SDKs.
const DefaultBaseURL = "https://api.amigo.ai"

// Config says where the API is and how to authenticate. Set Token for a
// plain bearer token, or APIKey, APIKeyID and UserID for the sign-in
// exchange.
type Config struct {
	BaseURL string // e.g. https://api.amigo.ai or http://127.0.0.1:8080
	Org     string // organization id, the {org} of every path

	Token                    string // bearer token
	APIKey, APIKeyID, UserID string // API-key exchange

	HTTPClient *http.Client // default: 60 s timeout
	// PerMinute paces each endpoint (method and path pattern) to this many
	// requests in any minute; default 100 (Amigo's limit), negative: none.
	PerMinute int
	// MaxRetries of a request after 429, 503 or a dropped connection
	// (default 8).
	MaxRetries int
	// BackoffBase is the first retry's backoff window (default 250 ms),
	// doubled each attempt up to MaxBackoff (default 30 s).
	BackoffBase, MaxBackoff time.Duration
	// RefreshBefore renews a signed-in token this long before it expires
	// (default 5 minutes, as the SDKs do).
	RefreshBefore time.Duration
	// Now is the clock of token expiry (tests); default time.Now.
	Now func() time.Time
}

// ConfigFromEnv reads the SDKs' variables: AMIGO_BASE_URL,
// AMIGO_ORGANIZATION_ID, AMIGO_API_KEY, AMIGO_API_KEY_ID, AMIGO_USER_ID, and
// AMIGO_TOKEN for a bearer token.
func ConfigFromEnv() Config {
	return Config{
		BaseURL:  os.Getenv("AMIGO_BASE_URL"),
		Org:      os.Getenv("AMIGO_ORGANIZATION_ID"),
		Token:    os.Getenv("AMIGO_TOKEN"),
		APIKey:   os.Getenv("AMIGO_API_KEY"),
		APIKeyID: os.Getenv("AMIGO_API_KEY_ID"),
		UserID:   os.Getenv("AMIGO_USER_ID"),
	}
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Org == "" {
		return c, errors.New("no organization: set --amigo-org or AMIGO_ORGANIZATION_ID")
	}
	if c.APIKey != "" && (c.APIKeyID == "" || c.UserID == "") {
		return c, errors.New("an API key needs its id and user id too: set AMIGO_API_KEY_ID and AMIGO_USER_ID")
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if c.PerMinute == 0 {
		c.PerMinute = 100
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 8
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = 250 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.RefreshBefore == 0 {
		c.RefreshBefore = 5 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
