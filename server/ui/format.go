package ui

import (
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// funcs are the helpers the templates call.
var funcs = template.FuncMap{
	"short":      short,
	"ago":        ago,
	"exact":      exact,
	"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"language":   languageName,
	"timezone":   timezoneNow,
	"paragraphs": paragraphs,
	"tags":       tagList,
	"keys":       func(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) },
	"add":        func(a, b int) int { return a + b },
	"commit":     func(prefix, sha string) commitRef { return commitRef{prefix, sha} },
}

// commitRef is a commit hash with the link prefix of its git host ("": no link).
type commitRef struct{ Prefix, SHA string }

// short abbreviates a commit hash.
func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}

// ago says how long before now t was, in the largest whole unit.
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	unit := func(n int, s string) string {
		if n == 1 {
			return "1 " + s + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, s)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return unit(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return unit(int(d/time.Hour), "hour")
	case d < 60*24*time.Hour:
		return unit(int(d/(24*time.Hour)), "day")
	case d < 730*24*time.Hour:
		return unit(int(d/(30*24*time.Hour)), "month")
	}
	return unit(int(d/(365*24*time.Hour)), "year")
}

// exact is a time in UTC for people.
func exact(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

var languageNames sync.Map // code → "English — eng"

// languageName names an ISO 639-3 code in English: "English — eng".
func languageName(code *string) string {
	if code == nil {
		return "—"
	}
	if n, ok := languageNames.Load(*code); ok {
		return n.(string)
	}
	name := *code
	if tag, err := language.Parse(*code); err == nil {
		if n := display.English.Languages().Name(tag); n != "" {
			name = n + " — " + *code
		}
	}
	languageNames.Store(*code, name)
	return name
}

var zones sync.Map // name → *time.Location

// timezoneNow names a zone with its UTC offset now: "America/New_York (UTC−05:00 now)".
func timezoneNow(tz *string) string {
	if tz == nil {
		return "—"
	}
	loc, ok := zones.Load(*tz)
	if !ok {
		l, err := time.LoadLocation(*tz)
		if err != nil {
			return *tz
		}
		loc, _ = zones.LoadOrStore(*tz, l)
	}
	_, off := time.Now().In(loc.(*time.Location)).Zone()
	sign := "+"
	if off < 0 {
		sign, off = "−", -off
	}
	return fmt.Sprintf("%s (UTC%s%02d:%02d now)", *tz, sign, off/3600, off%3600/60)
}

// paragraphs splits a background at blank lines.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// tag is one tag as a chip and as a filter value.
type tag struct {
	Key, Value string
	Null       bool
}

// Param is the tag as the API's tag parameter: key:value, or key: for null.
func (t tag) Param() string { return t.Key + ":" + t.Value }

// tagList sorts a persona's tags by key.
func tagList(m map[string]*string) []tag {
	out := make([]tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		t := tag{Key: k, Null: m[k] == nil}
		if m[k] != nil {
			t.Value = *m[k]
		}
		out = append(out, t)
	}
	return out
}
