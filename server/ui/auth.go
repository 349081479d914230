package ui

import (
	"net/http"
	"strings"
	"time"
)

// cookieName holds the reader's token: HttpOnly, SameSite=Strict, never in
// a URL.
const cookieName = "personas_token"

// cookieAge is how long a sign-in lasts.
const cookieAge = 7 * 24 * time.Hour

// viewer returns the signed-in viewer, or nil. A token that no longer
// authenticates clears the cookie.
func (u *UI) viewer(w http.ResponseWriter, r *http.Request) (*Viewer, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" || u.cfg.Authenticate == nil {
		return nil, nil
	}
	v, err := u.cfg.Authenticate(r, c.Value)
	if err != nil || v == nil {
		http.SetCookie(w, u.cookie(r, "", -1))
		return nil, nil
	}
	return v, nil
}

func (u *UI) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
}

type signInData struct {
	Next  string
	Error string
}

// localPath keeps a redirect target on this site: a path, without control
// characters (browsers drop tabs and newlines, so "/\t/evil" would become
// "//evil").
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/"
	}
	return next
}

func (u *UI) signInPage(w http.ResponseWriter, r *http.Request) {
	req := &request{w: w, r: r, snap: u.cfg.Registry.Snapshot()}
	if u.cfg.Authenticate == nil {
		u.fail(req, errNoTokens)
		return
	}
	u.render(req, http.StatusOK, "signin", "Sign in", signInData{Next: localPath(r.URL.Query().Get("next"))})
}

// signIn checks the posted token and stores it in the cookie.
func (u *UI) signIn(w http.ResponseWriter, r *http.Request) {
	req := &request{w: w, r: r, snap: u.cfg.Registry.Snapshot()}
	if u.cfg.Authenticate == nil {
		u.fail(req, errNoTokens)
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := localPath(r.PostFormValue("next"))
	v, err := u.cfg.Authenticate(r, token)
	if token == "" || err != nil || v == nil {
		w.Header().Set("Cache-Control", "no-store")
		u.render(req, http.StatusUnauthorized, "signin", "Sign in", signInData{Next: next, Error: "That token is not valid for this registry."})
		return
	}
	http.SetCookie(w, u.cookie(r, token, int(cookieAge/time.Second)))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut clears the cookie.
func (u *UI) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, u.cookie(r, "", -1))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
