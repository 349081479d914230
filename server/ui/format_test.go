package ui

import (
	"strings"
	"testing"
	"time"
)

func ptr(s string) *string { return &s }

func TestLanguageName(t *testing.T) {
	cases := []struct {
		name string
		code *string
		want string
	}{
		{"english", ptr("eng"), "English — eng"},
		{"spanish", ptr("spa"), "Spanish — spa"},
		{"japanese", ptr("jpn"), "Japanese — jpn"},
		{"unknown code stays as it is", ptr("qqq"), "qqq"},
		{"null", nil, "—"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := languageName(tc.code); got != tc.want {
				t.Errorf("languageName = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTimezoneNow(t *testing.T) {
	cases := []struct {
		name string
		tz   *string
		want []string // acceptable answers (daylight saving time)
	}{
		{"utc", ptr("UTC"), []string{"UTC (UTC+00:00 now)"}},
		{"tokyo has no DST", ptr("Asia/Tokyo"), []string{"Asia/Tokyo (UTC+09:00 now)"}},
		{"new york", ptr("America/New_York"), []string{"America/New_York (UTC−05:00 now)", "America/New_York (UTC−04:00 now)"}},
		{"half hours", ptr("Asia/Kolkata"), []string{"Asia/Kolkata (UTC+05:30 now)"}},
		{"unknown zone", ptr("Mars/Olympus_Mons"), []string{"Mars/Olympus_Mons"}},
		{"null", nil, []string{"—"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := timezoneNow(tc.tz)
			for _, w := range tc.want {
				if got == w {
					return
				}
			}
			t.Errorf("timezoneNow = %q, want one of %q", got, tc.want)
		})
	}
}

func TestAgo(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name string
		at   time.Time
		want string
	}{
		{"now", now, "just now"},
		{"minutes", now.Add(-5*time.Minute - time.Second), "5 minutes ago"},
		{"one hour", now.Add(-61 * time.Minute), "1 hour ago"},
		{"days", now.Add(-72 * time.Hour), "3 days ago"},
		{"months", now.Add(-90 * 24 * time.Hour), "3 months ago"},
		{"years", now.Add(-3 * 365 * 24 * time.Hour), "3 years ago"},
		{"never", time.Time{}, "never"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ago(tc.at); got != tc.want {
				t.Errorf("ago = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParagraphs(t *testing.T) {
	got := paragraphs("First line\ncontinues.\n\n\nSecond.\r\n\r\nThird. \n")
	want := []string{"First line\ncontinues.", "Second.", "Third."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("paragraphs = %q, want %q", got, want)
	}
}

func TestLocalPath(t *testing.T) {
	cases := map[string]string{
		"/personas/x?a=1":        "/personas/x?a=1",
		"":                       "/",
		"//evil.example.com/":    "/",
		"/\\evil.example.com":    "/",
		"https://evil.example/":  "/",
		"javascript:alert(1)":    "/",
		"/problems#top":          "/problems#top",
		"relative/path":          "/",
		"/ok/../still-local-ish": "/ok/../still-local-ish",
		"/\t/evil.example.com":   "/",
		"/\n/evil.example.com":   "/",
	}
	for in, want := range cases {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzLocalPath: a sign-in never redirects off the site.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "//x", "/\\x", "http://x", "/a?b#c", "\t//x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(localPath(next)) // as a browser reads it
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Errorf("localPath(%q) = %q leaves the site", next, got)
		}
	})
}
