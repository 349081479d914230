package registry

import (
	"maps"
	"slices"
	"strings"
	"sync"
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
	maps    map[string]map[string]string
	strs    map[string]*string
	strList map[string][]string
}

var versionValues = &interner{}

// content returns c with its maps, slices and optional strings replaced by
// the interned equal values.
func (in *interner) content(c Content) Content {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.maps == nil || len(in.maps)+len(in.strs)+len(in.strList) > internMax {
		in.maps, in.strs, in.strList = map[string]map[string]string{}, map[string]*string{}, map[string][]string{}
	}
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

func (in *interner) stringMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	key := b.String()
	if v, ok := in.maps[key]; ok && maps.Equal(v, m) {
		return v
	}
	in.maps[key] = m
	return m
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
