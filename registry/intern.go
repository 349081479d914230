package registry

import (
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/personaregistry/personas/schema"
)

// internMax bounds the values an interner remembers; when full it starts
// again (values interned before stay shared, new ones share from then on).
const internMax = 1 << 16

// interner makes equal version fields share one value. Most of a long
// history's versions repeat a few variable maps, languages and time zones:
// without it, every version held its own copies (75 MB of maps at 10,000
// personas × 100,000 commits). Interned values are never modified.
type interner struct {
	mu      sync.Mutex
	seed    maphash.Seed
	maps    map[uint64]map[string]string
	strs    map[string]*string
	strList map[string][]string
	tags    map[uint64]map[string]*string
	plain   map[string]string // names and roles
}

var versionValues = &interner{}

// persona makes a parsed persona file share its variable maps, user models,
// language, time zone, tags, name and role with equal earlier ones: the
// index keeps the parse of every file at Head and at each checkpoint.
func (in *interner) persona(f *schema.Persona) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.resetIfFull()
	c := in.contentLocked(Content{PreferredLanguage: f.PreferredLanguage, Timezone: f.Timezone, UserModels: f.UserModels,
		NonsensitiveUserVariables: f.NonsensitiveUserVariables, SensitiveUserVariables: f.SensitiveUserVariables})
	f.PreferredLanguage, f.Timezone, f.UserModels = c.PreferredLanguage, c.Timezone, c.UserModels
	f.NonsensitiveUserVariables, f.SensitiveUserVariables = c.NonsensitiveUserVariables, c.SensitiveUserVariables
	f.Name, f.Role = in.plainString(f.Name), in.plainString(f.Role)
	f.Tags = in.tagMap(f.Tags)
}

// content returns c with its maps, slices and optional strings replaced by
// the interned equal values.
func (in *interner) content(c Content) Content {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.resetIfFull()
	return in.contentLocked(c)
}

// contentLocked is content with in.mu held.
func (in *interner) contentLocked(c Content) Content {
	c.NonsensitiveUserVariables = in.stringMap(c.NonsensitiveUserVariables)
	c.SensitiveUserVariables = in.stringMap(c.SensitiveUserVariables)
	c.PreferredLanguage = in.str(c.PreferredLanguage)
	c.Timezone = in.str(c.Timezone)
	if c.UserModels != nil {
		key := strings.Join(c.UserModels, "\x00")
		if v, ok := in.strList[key]; ok && slices.Equal(v, c.UserModels) {
			c.UserModels = v
		} else {
			in.strList[key] = c.UserModels
		}
	}
	return c
}

// resetIfFull starts again when nothing is remembered yet or too much is.
func (in *interner) resetIfFull() {
	if in.maps == nil || len(in.maps)+len(in.strs)+len(in.strList)+len(in.tags)+len(in.plain) > internMax {
		in.maps, in.strs, in.strList = map[uint64]map[string]string{}, map[string]*string{}, map[string][]string{}
		in.tags, in.plain = map[uint64]map[string]*string{}, map[string]string{}
		in.seed = maphash.MakeSeed()
	}
}

func (in *interner) stringMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	key := mapHash(in.seed, m, func(h *maphash.Hash, v string) { h.WriteString(v) })
	if v, ok := in.maps[key]; ok && maps.Equal(v, m) {
		return v
	}
	in.maps[key] = m
	return m
}

func (in *interner) tagMap(m map[string]*string) map[string]*string {
	if m == nil {
		return nil
	}
	key := mapHash(in.seed, m, func(h *maphash.Hash, v *string) {
		if v != nil { // a null tag value differs from an empty one
			h.WriteByte(1)
			h.WriteString(*v)
		}
	})
	if v, ok := in.tags[key]; ok && tagsEqual(v, m) {
		return v
	}
	in.tags[key] = m
	return m
}

// mapHash hashes m's entries, in any order: equal maps hash equal; two
// different maps rarely do, so callers compare too.
func mapHash[V any](seed maphash.Seed, m map[string]V, writeValue func(*maphash.Hash, V)) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	var sum uint64
	for k, v := range m {
		h.Reset()
		h.WriteString(k)
		h.WriteByte(0)
		writeValue(&h, v)
		sum += h.Sum64() // commutative: map order does not matter
	}
	return sum ^ uint64(len(m))
}

// plainString returns the interned string equal to s (unique.Make, with
// its weak pointers, cost twice as much in a walk).
func (in *interner) plainString(s string) string {
	if v, ok := in.plain[s]; ok {
		return v
	}
	s = strings.Clone(s) // never keep the file it was read from
	in.plain[s] = s
	return s
}

func (in *interner) str(s *string) *string {
	if s == nil {
		return nil
	}
	if v, ok := in.strs[*s]; ok {
		return v
	}
	in.strs[*s] = s
	return s
}

// tagsOf returns the interned map equal to m.
func (in *interner) tagsOf(m map[string]*string) map[string]*string {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.resetIfFull()
	return in.tagMap(m)
}
