package ui_test

// Tests that drive a real headless Chromium (Debian's chromium package)
// through the pages with chromedp. One browser serves the whole package run;
// each test gets its own browser context (cookies included) and tab.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/server"
)

// screenshotsEnv names the directory the browser tests write screenshots to.
const screenshotsEnv = "PERSONAS_SCREENSHOTS"

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel []context.CancelFunc
	browserErr    error
)

// chromiumPath finds Debian's chromium.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser returns the package's browser, started on first use. It skips
// the test when chromium is not installed.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("chromium is not installed (apt-get install chromium): skipping the browser tests")
	}
	browserOnce.Do(func() {
		dir, err := os.MkdirTemp("", "personas-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		tempMu.Lock()
		tempDirs = append(tempDirs, dir)
		tempMu.Unlock()
		alloc, cancel := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path), chromedp.UserDataDir(dir), chromedp.WindowSize(1280, 900),
			chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true), chromedp.Flag("no-default-browser-check", true),
			chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("mute-audio", true))
		ctx, cancel2 := chromedp.NewContext(alloc)
		browserCancel = []context.CancelFunc{cancel2, cancel}
		browserErr = chromedp.Do(ctx) // start it without a deadline
		browserCtx = ctx
	})
	if browserErr != nil {
		t.Fatalf("start chromium: %v", browserErr)
	}
	return browserCtx
}

// stopBrowser stops the package's browser (from TestMain).
func stopBrowser() {
	for _, c := range browserCancel {
		c()
	}
}

// tab is one browser tab in a fresh browser context, recording console
// errors.
type tab struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	errs []string
	// notFound are URLs the test expects to answer 404: the browser's
	// "Failed to load resource" for them is not a console error.
	notFound []string
}

// expectNotFound navigates to a URL that must answer 404.
func (tb *tab) expectNotFound(url string) {
	tb.t.Helper()
	tb.mu.Lock()
	tb.notFound = append(tb.notFound, url)
	tb.mu.Unlock()
	tb.do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("h1")))
}

// newTab opens a tab in a new browser context; it fails the test on any
// console error when the test ends.
func newTab(t *testing.T) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t), chromedp.WithNewBrowserContext())
	tb := &tab{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	done := make(chan struct{})
	msgs := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning && m.Source == "security" {
				tb.mu.Lock()
				if m.Source == "network" && strings.Contains(m.Text, "status of 404") && slices.Contains(tb.notFound, m.URL) {
					tb.mu.Unlock()
					continue
				}
				tb.errs = append(tb.errs, fmt.Sprintf("%s %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
				tb.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errs {
			t.Errorf("console: %s", e)
		}
	})
	return tb
}

// do runs the steps with a generous limit.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression of type T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// rowIDs returns the persona ids of the catalog table in the tab.
func (tb *tab) rowIDs() []string {
	tb.t.Helper()
	ids := eval[[]string](tb, `[...document.querySelectorAll("tr[data-id]")].map(r => r.dataset.id)`)
	if ids == nil {
		ids = []string{}
	}
	return ids
}

// navigateAndWait clicks or submits through step and waits until the next
// page has loaded and shows ready.
func (tb *tab) navigateAndWait(step chromedp.Action[chromedp.Void], ready string) {
	tb.t.Helper()
	tb.do(void(chromedp.Evaluate[bool](`window.__old = true`)), step)
	tb.waitFor(`window.__old !== true && document.readyState === "complete" && !!document.querySelector(` + fmt.Sprintf("%q", ready) + `)`)
}

// waitFor evaluates expr until it is true, across navigations (which fail
// an evaluation in flight), for up to 90 seconds.
func (tb *tab) waitFor(expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	tb.t.Fatalf("waited 90s for %s (last error: %v)", expr, last)
}

// screenshot writes the tab, light and dark, when PERSONAS_SCREENSHOTS is set.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	for _, scheme := range []string{"light", "dark"} {
		media := func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		}
		tb.do(chromedp.Func(media))
		ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			tb.t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+scheme+".png"), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
}

// TestBrowser walks the pages as a reader would: filter by a tag, search,
// open a persona, compare two versions, read the problems, and see a new
// commit announced while the page is open.
func TestBrowser(t *testing.T) {
	browser(t)
	r := newRepo(t)
	s := serve(t, r.dir, serverConfig())
	snap := s.Reg.Snapshot()

	t.Run("filter by tag equals the API's list", func(t *testing.T) {
		tb := newTab(t)
		tb.do(chromedp.Navigate(s.URL + "/"))
		tag := ""
		for _, v := range snap.FilterValues().Tags {
			if n := len(apiIDs(t, s.URL+apiBase+"?is_deleted=false&tag="+escape(v))); n >= 2 && n < 40 {
				tag = v
				break
			}
		}
		if tag == "" {
			t.Fatal("no tag with between 2 and 40 live personas in the generated repository")
		}
		tb.do(chromedp.Click(chromedp.CSS("details.facets summary")))
		tb.navigateAndWait(chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=tag][value=%q]`, tag))), "tr[data-id]")
		got, want := tb.rowIDs(), apiIDs(t, s.URL+apiBase+"?is_deleted=false&tag="+escape(tag))
		if !slices.Equal(got, want) {
			t.Errorf("tag %s: the page shows %v, the API lists %v", tag, got, want)
		}
		loc := eval[string](tb, "location.search")
		if !strings.Contains(loc, "tag="+escape(tag)) || strings.Contains(loc, "role=") {
			t.Errorf("the URL does not hold the filter (or holds empty fields): %s", loc)
		}
		tb.screenshot("catalog")
	})

	t.Run("search ranks the same first result as the API", func(t *testing.T) {
		tb := newTab(t)
		tb.do(chromedp.Navigate(s.URL + "/"))
		word := searchWord(t, s)
		tb.navigateAndWait(chromedp.SendKeys(chromedp.CSS("input[name=query]"), word+"\r"), "p.summary")
		got, want := tb.rowIDs(), apiIDs(t, s.URL+apiBase+"search?query="+escape(word))
		if len(got) == 0 || len(want) == 0 || got[0] != want[0] {
			t.Fatalf("search %q: the page's first result is %v, the API's %v", word, first(got), first(want))
		}
		if !slices.Equal(got, want) {
			t.Errorf("search %q: page %v, API %v", word, got, want)
		}
	})

	t.Run("compare v1 with v3 shows inserted and deleted words", func(t *testing.T) {
		tb := newTab(t)
		tb.do(chromedp.Navigate(s.URL+"/personas/"+danaID), chromedp.WaitVisible(chromedp.CSS("ol.timeline")))
		tb.screenshot("persona")
		tb.do(chromedp.Click(chromedp.CSS(`input[name=from][value="1"]`)), chromedp.Click(chromedp.CSS(`input[name=to][value="3"]`)))
		tb.navigateAndWait(chromedp.Click(chromedp.CSS("form.compare-form button[type=submit]")), ".sides")
		dels := eval[[]string](tb, `[...document.querySelectorAll(".sides del")].map(e => e.textContent)`)
		ins := eval[[]string](tb, `[...document.querySelectorAll(".sides ins")].map(e => e.textContent)`)
		if !slices.Equal(dels, []string{"a calm", "early", "card."}) || !slices.Equal(ins, []string{"an impatient", "late", "phone."}) {
			t.Errorf("v1 → v3: deleted %q, inserted %q", dels, ins)
		}
		loc, err := url.Parse(eval[string](tb, "location.href"))
		if err != nil || loc.Path != "/personas/"+danaID+"/compare" || loc.Query().Get("from") != "1" || loc.Query().Get("to") != "3" {
			t.Errorf("compare URL %s, want from=1 and to=3", loc)
		}
		tb.screenshot("compare")
	})

	t.Run("problems page lists the broken file with its line", func(t *testing.T) {
		tb := newTab(t)
		tb.do(chromedp.Navigate(s.URL+"/problems"), chromedp.WaitVisible(chromedp.CSS("h1")))
		items := eval[[]string](tb, `[...document.querySelectorAll("ul.problems li")].map(e => e.textContent)`)
		found := false
		for _, it := range items {
			found = found || strings.HasPrefix(strings.TrimSpace(it), fmt.Sprintf("%s:%d:", brokenPath, brokenLine))
		}
		if !found {
			t.Errorf("no %s:%d: among %q", brokenPath, brokenLine, items)
		}
		api := apiProblems(t, s.URL)
		if len(items) != len(api) {
			t.Errorf("the page lists %d problems, the API %d", len(items), len(api))
		}
		if badge := eval[string](tb, `document.getElementById("problem-count").textContent`); badge != fmt.Sprint(len(api)) {
			t.Errorf("header badge %q, want %d", badge, len(api))
		}
	})

	t.Run("a commit made while the page is open is announced", func(t *testing.T) {
		tb := newTab(t)
		tb.do(chromedp.Navigate(s.URL+"/"), chromedp.WaitReady(chromedp.CSS("tr[data-id]")))
		tb.do(void(chromedp.Evaluate[int](`window.scrollTo(0, 400), 0`)))
		commit := r.on(t).commit("add a persona while the page is open", map[string]string{
			"personas/late-arrival.yaml": personaYAML("1a7e0000000000000000a111", "Late Arrival", "Arrives after the page was opened.", "Asia/Tokyo")})
		tb.waitFor(fmt.Sprintf(`!document.getElementById("live").hidden && document.getElementById("live").textContent.includes(%q)`, commit[:10]))
		if y := eval[float64](tb, "window.scrollY"); y < 100 {
			t.Errorf("the announcement moved the reader to scrollY %v", y)
		}
	})
}

// TestBrowserSignIn: with read auth the browser is asked for a token once,
// keeps it in an HttpOnly cookie and signs out.
func TestBrowserSignIn(t *testing.T) {
	browser(t)
	r := sharedRepo(t)
	reader, secret := token("reader", server.PermRead)
	cfg := serverConfig()
	cfg.RequireAuthForReads, cfg.RedactSensitive = true, true
	cfg.Auth = newAuth(reader)
	s := serve(t, r.dir, cfg)
	tb := newTab(t)
	tb.do(chromedp.Navigate(s.URL+"/personas/"+danaID), chromedp.WaitVisible(chromedp.CSS("form.signin")))
	tb.navigateAndWait(chromedp.SendKeys(chromedp.CSS("input[name=token]"), secret+"\r"), "h1")
	if loc := eval[string](tb, "location.pathname + location.search"); loc != "/personas/"+danaID {
		t.Errorf("after sign-in the browser is at %s, want the persona", loc)
	}
	if text := eval[string](tb, "document.body.textContent"); !strings.Contains(text, "Dana Commuter") || strings.Contains(text, "4711") || strings.Contains(text, secret) {
		t.Errorf("signed-in persona page: want the persona without its sensitive value or the token")
	}
	if eval[string](tb, "document.cookie") != "" {
		t.Error("the token cookie is readable by scripts")
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies.Cookies) != 1 || !cookies.Cookies[0].HTTPOnly || cookies.Cookies[0].SameSite != network.CookieSameSiteStrict {
		t.Errorf("cookies %+v: want one HttpOnly SameSite=Strict cookie", cookies.Cookies)
	}
	tb.do(chromedp.Navigate(s.URL + "/"))
	tb.navigateAndWait(chromedp.Click(chromedp.CSS(`form[action="/ui/signout"] button`)), "h1")
	tb.do(chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("form.signin")))
}

func first(ids []string) string {
	if len(ids) == 0 {
		return "(none)"
	}
	return ids[0]
}

// void drops an action's value.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// serverConfig is the server of the browser tests.
func serverConfig() server.Config { return server.Config{} }

func newAuth(tokens ...server.Token) *server.Auth {
	a, err := server.NewAuth(tokens)
	if err != nil {
		panic(err)
	}
	return a
}

func escape(s string) string { return url.QueryEscape(s) }

// searchWord picks a word of a generated background that the API's search
// finds in several personas.
func searchWord(t *testing.T, s *site) string {
	t.Helper()
	for _, p := range s.Reg.Snapshot().Personas() {
		if p.IsDeleted || p.Latest() == nil {
			continue
		}
		for _, w := range strings.Fields(p.Latest().Background.String()) {
			w = strings.Trim(w, ".,;:!?\"'()")
			if len(w) < 6 {
				continue
			}
			if n := len(apiIDs(t, s.URL+apiBase+"search?query="+escape(w))); n >= 3 {
				return w
			}
		}
	}
	t.Fatal("no background word found in three personas")
	return ""
}

// TestBrowserScopedToken: with read auth, a token whose read grant is
// scoped to one tag signs in through the form; the catalog then shows
// exactly what the API lists for the same token, and a persona outside the
// scope is a 404 page. newTab fails the test on any console error.
func TestBrowserScopedToken(t *testing.T) {
	browser(t)
	r := sharedRepo(t)
	snap := freshSnapshotOf(t, r)
	tag, in, out := scopeTag(t, snap)
	scoped, secret := token("scoped", server.PermRead+" tag="+tag)
	cfg := serverConfig()
	cfg.RequireAuthForReads, cfg.Auth = true, newAuth(scoped)
	s := serve(t, r.dir, cfg)

	tb := newTab(t)
	tb.do(chromedp.Navigate(s.URL+"/?limit=50"), chromedp.WaitVisible(chromedp.CSS("form.signin")))
	tb.navigateAndWait(chromedp.SendKeys(chromedp.CSS("input[name=token]"), secret+"\r"), "h1")
	if loc := eval[string](tb, "location.pathname + location.search"); loc != "/?limit=50" {
		t.Errorf("after sign-in the browser is at %s, want the catalog", loc)
	}
	got := tb.rowIDs()
	want := apiIDsAs(t, s.URL+apiBase+"?is_deleted=false&limit=50", "Authorization", "Bearer "+secret)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("token scoped to tag=%s: the catalog shows %v, the API lists %v", tag, got, want)
	}
	if !slices.Equal(sorted(got), sorted(in)) {
		t.Errorf("token scoped to tag=%s: the catalog shows %v, want the live personas with the tag %v", tag, got, in)
	}

	tb.expectNotFound(s.URL + "/personas/" + out)
	if h1 := eval[string](tb, `document.querySelector("h1").textContent`); h1 != "404 · Not Found" {
		t.Errorf("a persona outside the scope shows %q, want the 404 page", h1)
	}
	if status, _, _ := get(t, s.URL+"/personas/"+out, "Cookie", "personas_token="+secret); status != http.StatusNotFound {
		t.Errorf("a persona outside the scope: %d, want 404", status)
	}
	tb.do(chromedp.Navigate(s.URL+"/personas/"+in[0]), chromedp.WaitVisible(chromedp.CSS("ol.timeline")))
	if h1, name := eval[string](tb, `document.querySelector("h1").textContent`), personaName(snap, in[0]); h1 != name {
		t.Errorf("a persona inside the scope shows %q, want %q", h1, name)
	}
}

// freshSnapshotOf indexes the repository once, for choosing test data.
func freshSnapshotOf(t *testing.T, r *repo) *registry.Snapshot {
	t.Helper()
	reg, err := registry.Open(registry.Options{Repo: r.dir, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	snap, err := reg.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// scopeTag picks a tag (without spaces) that some but not all live
// personas have; it returns the tag, the ids of the live personas with it
// and one live persona without it.
func scopeTag(t *testing.T, snap *registry.Snapshot) (tag string, in []string, out string) {
	t.Helper()
	for _, tg := range snap.FilterValues().Tags {
		k, v, _ := strings.Cut(tg, ":")
		if v == "" || strings.ContainsAny(tg, " \"") {
			continue
		}
		in, out = nil, ""
		for _, p := range snap.Personas() {
			if p.IsDeleted {
				continue
			}
			if pv, ok := p.Tags[k]; ok && pv != nil && *pv == v {
				in = append(in, p.ID)
			} else {
				out = p.ID
			}
		}
		if len(in) >= 2 && out != "" {
			return tg, in, out
		}
	}
	t.Fatal("no tag that some but not all live personas have")
	return "", nil, ""
}

func personaName(snap *registry.Snapshot, id string) string {
	p, _ := snap.Persona(id)
	return p.Name
}

func sorted(ids []string) []string { return slices.Sorted(slices.Values(ids)) }

// apiIDsAs calls a list endpoint with the headers and returns the ids.
func apiIDsAs(t *testing.T, url string, header ...string) []string {
	t.Helper()
	status, _, body := get(t, url, header...)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	var list struct {
		Personas []struct {
			ID string `json:"id"`
		} `json:"simulation_personas"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, p := range list.Personas {
		ids = append(ids, p.ID)
	}
	return ids
}
