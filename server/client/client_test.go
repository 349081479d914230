package client_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry/repogen"
	"github.com/personaregistry/personas/server/client"
	"github.com/personaregistry/personas/server/client/amigotest"
)

// generated returns a bare repository with a generated history.
func generated(t *testing.T, personas, commits int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "gen.git")
	if err := repogen.Create(dir, repogen.Config{Personas: personas, Commits: commits, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newClient(t *testing.T, base, token string, mod ...func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{BaseURL: base, Org: amigotest.Org, Token: token, BackoffBase: 10 * time.Millisecond}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func ptr[T any](v T) *T { return &v }

func TestPersonasIteratorFollowsEveryPage(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{Repo: generated(t, 60, 200)})
	c := newClient(t, si.URL, "")
	snap := si.Reg.Snapshot()
	cases := []struct {
		name   string
		params client.ListParams
		want   func() int
	}{
		{"all, pages of 7", client.ListParams{Limit: 7}, func() int { return len(snap.Personas()) }},
		{"deleted only, pages of 3", client.ListParams{Limit: 3, IsDeleted: ptr(true)}, func() int {
			n := 0
			for _, p := range snap.Personas() {
				if p.IsDeleted {
					n++
				}
			}
			return n
		}},
		{"default page size", client.ListParams{}, func() int { return len(snap.Personas()) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for p, err := range c.Personas(ctx(t), tc.params) {
				if err != nil {
					t.Fatal(err)
				}
				if seen[p.ID] {
					t.Errorf("persona %s listed twice", p.ID)
				}
				seen[p.ID] = true
				want, _ := snap.Persona(p.ID)
				if want == nil || want.Name != p.Name || want.IsDeleted != p.IsDeleted {
					t.Errorf("persona %s: got %q deleted=%v, the registry has %+v", p.ID, p.Name, p.IsDeleted, want)
				}
			}
			if want := tc.want(); len(seen) != want || want == 0 {
				t.Errorf("iterated over %d personas, want %d (> 0)", len(seen), want)
			}
		})
	}
}

func TestVersionsIteratorAndRanges(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{Repo: generated(t, 20, 200)})
	c := newClient(t, si.URL, "")
	var most = si.Reg.Snapshot().Personas()[0]
	for _, p := range si.Reg.Snapshot().Personas() {
		if len(p.Versions) > len(most.Versions) {
			most = p
		}
	}
	n := len(most.Versions)
	if n < 4 {
		t.Fatalf("the generated history's busiest persona has %d versions; want ≥ 4", n)
	}
	cases := []struct {
		name   string
		params client.VersionParams
		want   []int
	}{
		{"every version, pages of 2", client.VersionParams{Limit: 2}, seq(1, n)},
		{"range 2-4", client.VersionParams{Version: client.VersionRange(2, 4), Limit: 1}, seq(2, 4)},
		{"3 to latest", client.VersionParams{Version: client.VersionRange(3, 0)}, seq(3, n)},
		{"newest first", client.VersionParams{SortBy: []string{"-version"}, Limit: 3}, reversed(seq(1, n))},
		{"beyond the latest", client.VersionParams{Version: client.VersionRange(n+1, n+5)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for v, err := range c.AllVersions(ctx(t), most.ID, tc.params) {
				if err != nil {
					t.Fatal(err)
				}
				if want := most.Versions[v.Version-1]; v.Background != want.Background.String() || v.Commit != want.Commit {
					t.Errorf("version %d differs from the registry's", v.Version)
				}
				got = append(got, v.Version)
			}
			if !equalInts(got, tc.want) {
				t.Errorf("versions %v, want %v", got, tc.want)
			}
		})
	}
	latest, err := c.Latest(ctx(t), most.ID)
	if err != nil || latest.Version != n {
		t.Errorf("Latest = %+v, %v; want version %d", latest, err, n)
	}
}

func seq(a, b int) []int {
	var out []int
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

func reversed(s []int) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWritesAndTypedErrors(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{})
	c := newClient(t, si.URL, si.Token)
	cx := ctx(t)
	id, err := c.Create(cx, client.CreateRequest{Name: "Typed Client", Role: "customer",
		Tags: map[string]*string{"team": ptr("qa")}, InitialVersion: client.Content{Background: "First."}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.CreateVersion(cx, id, 2, client.Content{Background: "Second.", Timezone: ptr("Europe/Paris")}); err != nil || v != 2 {
		t.Fatalf("CreateVersion = %d, %v", v, err)
	}
	if err := c.UpdateTags(cx, id, map[string]*string{"team": nil}); err != nil {
		t.Fatal(err)
	}
	page, err := c.List(cx, client.ListParams{IDs: []string{id}})
	if err != nil || len(page.Personas) != 1 || page.Personas[0].Tags["team"] != nil || len(page.Personas[0].Tags) != 1 {
		t.Fatalf("after retag: %+v, %v", page, err)
	}

	cases := []struct {
		name     string
		call     func() error
		status   int
		typ, msg string
		check    func(*client.APIError) bool
	}{
		{"duplicate name", func() error {
			_, err := c.Create(cx, client.CreateRequest{Name: "Typed Client", Role: "x", InitialVersion: client.Content{Background: "b"}})
			return err
		}, 409, "ConflictError", "Typed Client", nil},
		{"wrong expected version", func() error {
			_, err := c.CreateVersion(cx, id, 5, client.Content{Background: "Third."})
			return err
		}, 400, "", "", nil},
		{"identical to the latest", func() error {
			_, err := c.CreateVersion(cx, id, 0, client.Content{Background: "Second.", Timezone: ptr("Europe/Paris")})
			return err
		}, 409, "", "", nil},
		{"invalid language has field errors", func() error {
			_, err := c.CreateVersion(cx, id, 0, client.Content{Background: "x", PreferredLanguage: ptr("en")})
			return err
		}, 422, "ValidationError", "eng", func(ae *client.APIError) bool { return len(ae.Errors) > 0 }},
		{"unknown persona", func() error { return c.Delete(cx, "0123456789abcdef01234567") }, 404, "NotFoundError", "", nil},
		{"no token", func() error {
			return newClient(t, si.URL, "").Delete(cx, id)
		}, 401, "", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T), want an *APIError", err, err)
			}
			if ae.Status != tc.status || (tc.typ != "" && ae.Type != tc.typ) || ae.Message == "" ||
				!strings.Contains(ae.Message, tc.msg) || ae.Response == nil || !strings.Contains(err.Error(), ae.Message) {
				t.Errorf("got %d %q %q, want %d %q with a message containing %q", ae.Status, ae.Type, ae.Message, tc.status, tc.typ, tc.msg)
			}
			if tc.check != nil && !tc.check(ae) {
				t.Errorf("error %+v fails the case's check", ae)
			}
		})
	}
	if err := c.Delete(cx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(cx, id); !client.IsNotFound(err) {
		t.Errorf("second delete: %v, want a 404", err)
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func TestSignInExchangeAndRefresh(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{TokenTTL: 6 * time.Minute})
	clock := &fakeClock{now: time.Now()}
	c := newClient(t, si.URL, "", func(cfg *client.Config) {
		cfg.APIKey, cfg.APIKeyID, cfg.UserID = amigotest.APIKey, amigotest.APIKeyID, amigotest.UserID
		cfg.Now = clock.Now
	})
	cx := ctx(t)
	write := func(name string) {
		t.Helper()
		if _, err := c.Create(cx, client.CreateRequest{Name: name, Role: "r", InitialVersion: client.Content{Background: "b"}}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	write("One")
	write("Two")
	if n := si.SignIns(); n != 1 {
		t.Fatalf("%d sign-ins for two calls with a fresh token, want 1", n)
	}
	// 6-minute tokens are renewed 5 minutes early: after 61 s the client signs in again
	clock.Add(61 * time.Second)
	write("Three")
	if n := si.SignIns(); n != 2 {
		t.Fatalf("%d sign-ins after the token came within 5 minutes of expiry, want 2", n)
	}
	// a token revoked early: the 401 makes the client sign in once more and retry
	si.Revoke()
	write("Four")
	if n, m := si.SignIns(), c.SignIns(); n != 3 || m != 3 {
		t.Fatalf("server saw %d sign-ins, client made %d after a 401; want 3", n, m)
	}
	if got := si.Writes(); got != 4 {
		t.Errorf("%d writes reached the API, want 4", got)
	}

	bad, err := client.New(client.Config{BaseURL: si.URL, Org: amigotest.Org, APIKey: "wrong", APIKeyID: "k", UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.List(cx, client.ListParams{}); err == nil || client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("a wrong API key: %v, want a 401 from the sign-in", err)
	}
}

func TestTooManyRequestsAbsorbed(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{RateLimit: 5})
	c := newClient(t, si.URL, si.Token, func(cfg *client.Config) { cfg.PerMinute = -1 })
	cx := ctx(t)
	for i := range 20 {
		if _, err := c.List(cx, client.ListParams{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	st := c.RateState()
	if st.Throttled == 0 || st.LastRetryAfter < time.Second || st.Requests != 20+st.Retries {
		t.Errorf("rate state %+v: want 429s absorbed with Retry-After ≥ 1 s and every retry counted", st)
	}
}

func TestFaultsAreRetriedOrReported(t *testing.T) {
	si := amigotest.Start(t, amigotest.Options{})
	// reads: every odd GET is dropped or refused; writes: the 1st POST gets a
	// 503, the 2nd is carried out and its answer lost
	proxy := amigotest.StartProxy(t, si.URL, func(r *http.Request, n int) amigotest.Fault {
		switch {
		case r.Method == http.MethodGet && n%4 == 1:
			return amigotest.Drop
		case r.Method == http.MethodGet && n%4 == 3:
			return amigotest.Unavailable
		case r.Method == http.MethodPost && n == 1:
			return amigotest.Unavailable
		case r.Method == http.MethodPost && n == 3:
			return amigotest.LoseResponse
		}
		return amigotest.Pass
	})
	c := newClient(t, proxy.URL, si.Token)
	cx := ctx(t)
	id, err := c.Create(cx, client.CreateRequest{Name: "After a 503", Role: "r", InitialVersion: client.Content{Background: "b"}})
	if err != nil {
		t.Fatalf("a create refused with 503 is retried: %v", err)
	}
	_, err = c.Create(cx, client.CreateRequest{Name: "Answer lost", Role: "r", InitialVersion: client.Content{Background: "b"}})
	if !client.IsOutcomeUnknown(err) {
		t.Fatalf("a create whose answer was lost: %v, want an OutcomeUnknownError", err)
	}
	var names []string
	for p, err := range c.Personas(cx, client.ListParams{Limit: 1}) {
		if err != nil {
			t.Fatalf("reads through drops and 503s: %v", err)
		}
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "After a 503,Answer lost" && strings.Join(names, ",") != "Answer lost,After a 503" {
		t.Errorf("personas %v: want each create exactly once", names)
	}
	if si.Writes() != 2 {
		t.Errorf("%d writes reached the server, want 2 (the lost answer's write was not repeated)", si.Writes())
	}
	if _, err := c.Latest(cx, id); err != nil {
		t.Error(err)
	}
	inj := proxy.Injected()
	if inj[amigotest.Drop] == 0 || inj[amigotest.Unavailable] < 2 || inj[amigotest.LoseResponse] != 1 {
		t.Errorf("faults injected %v: the test did not exercise every fault", inj)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  client.Config
		want string
	}{
		{"no org", client.Config{Token: "t"}, "AMIGO_ORGANIZATION_ID"},
		{"key without id", client.Config{Org: "o", APIKey: "k"}, "AMIGO_API_KEY_ID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := client.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error naming %s", err, tc.want)
			}
		})
	}
	t.Setenv("AMIGO_ORGANIZATION_ID", "acme")
	t.Setenv("AMIGO_TOKEN", "tok")
	t.Setenv("AMIGO_BASE_URL", "http://example.test/")
	if cfg := client.ConfigFromEnv(); cfg.Org != "acme" || cfg.Token != "tok" || cfg.BaseURL != "http://example.test/" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
}
