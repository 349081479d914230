package schema

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // timezone names must load without system zoneinfo

	"golang.org/x/text/language"
)

// accepted holds the language codes and timezone names Amigo accepts, read
// once from the enums of the embedded schema (the one source of both lists).
type accepted struct {
	languages map[string]bool
	timezones map[string]bool
	tzList    []string
}

var acceptedLists = sync.OnceValue(func() accepted {
	var s struct {
		Properties map[string]struct {
			Enum []*string `json:"enum"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(SchemaJSON, &s); err != nil {
		panic(fmt.Sprintf("embedded persona schema: %v", err))
	}
	a := accepted{languages: map[string]bool{}, timezones: map[string]bool{}}
	for _, v := range s.Properties["preferred_language"].Enum {
		if v != nil {
			a.languages[*v] = true
		}
	}
	for _, v := range s.Properties["timezone"].Enum {
		if v != nil {
			a.timezones[*v] = true
			a.tzList = append(a.tzList, *v)
		}
	}
	sort.Strings(a.tzList)
	return a
})

// Languages returns the number of accepted ISO 639-3 codes.
func Languages() int { return len(acceptedLists().languages) }

// Timezones returns the accepted IANA timezone names, sorted.
func Timezones() []string { return append([]string(nil), acceptedLists().tzList...) }

// CheckLanguage reports why code is not an accepted ISO 639-3 code, or "" when it is.
// A two-letter or otherwise known code gets a suggestion ("en": did you mean "eng"?).
func CheckLanguage(code string) string {
	if acceptedLists().languages[code] {
		return ""
	}
	msg := fmt.Sprintf("preferred_language %q is not an ISO 639-3 code", code)
	if base, err := language.ParseBase(strings.ToLower(code)); err == nil {
		if iso3 := base.ISO3(); acceptedLists().languages[iso3] {
			return msg + fmt.Sprintf("; did you mean %q?", iso3)
		}
	}
	return msg + " (three lowercase letters, e.g. \"eng\", \"spa\", \"jpn\")"
}

// loaded remembers which accepted timezones load (time.LoadLocation reads
// and parses zone data on every call).
var loaded sync.Map // name → error (nil when it loads)

func loadLocation(name string) error {
	if err, ok := loaded.Load(name); ok {
		e, _ := err.(error)
		return e
	}
	_, err := time.LoadLocation(name)
	loaded.Store(name, err)
	return err
}

// CheckTimezone reports why name is not an accepted IANA timezone, or "" when it is.
func CheckTimezone(name string) string {
	lists := acceptedLists()
	if lists.timezones[name] {
		if err := loadLocation(name); err != nil {
			return fmt.Sprintf("timezone %q cannot be loaded: %v", name, err)
		}
		return ""
	}
	msg := fmt.Sprintf("timezone %q is not an IANA timezone name", name)
	best, bestDist := "", 4
	lname := strings.ToLower(name)
	for _, tz := range lists.tzList {
		if diff := len(lname) - len(tz); diff >= bestDist || -diff >= bestDist {
			continue // the edit distance is at least the length difference
		}
		if d := editDistance(lname, strings.ToLower(tz)); d < bestDist {
			best, bestDist = tz, d
		}
	}
	if best != "" {
		return msg + fmt.Sprintf("; did you mean %q?", best)
	}
	return msg + " (e.g. \"America/New_York\", \"Europe/Paris\", \"UTC\")"
}
