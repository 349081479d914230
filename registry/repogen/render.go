package repogen

import "strings"

// keys of a persona file
const (
	kID = iota
	kName
	kRole
	kTags
	kBackground
	kLanguage
	kTimezone
	kModels
	kNonsensitive
	kSensitive
)

// keyOrders are the key orders a persona file may be written in; order 0 is
// the documented one.
var keyOrders = [...][10]int{
	{kID, kName, kRole, kTags, kBackground, kLanguage, kTimezone, kModels, kNonsensitive, kSensitive},
	{kName, kID, kRole, kBackground, kTags, kTimezone, kLanguage, kModels, kSensitive, kNonsensitive},
	{kID, kRole, kName, kTags, kLanguage, kTimezone, kBackground, kModels, kNonsensitive, kSensitive},
}

// render writes p's file: valid when invalid is -1, else with the defect
// invalid (one of the invalid… constants).
func (p *persona) render(invalid int) []byte {
	b := make([]byte, 0, 256+len(p.bg)+len(p.bg)/32)
	if p.comment >= 0 {
		b = append(b, comments[p.comment]...)
		b = append(b, '\n')
	}
	for _, k := range keyOrders[p.order] {
		switch k {
		case kID:
			b = append(b, "id: "...)
			b = append(b, p.id...)
			b = append(b, '\n')
		case kName:
			b = append(b, "name: "...)
			b = append(b, p.name()...)
			b = append(b, '\n')
		case kRole:
			b = append(b, "role: "...)
			b = append(b, roles[p.role]...)
			b = append(b, '\n')
			if invalid == invalidYAML {
				// a plain scalar can't go on with "key: value" on a more
				// indented line: "mapping values are not allowed here"
				b = append(b, "  team: support\n"...)
			}
		case kTags:
			b = appendTags(b, p, invalid == invalidTagsList)
		case kBackground:
			if invalid == invalidNoBG {
				continue
			}
			b = append(b, "background: |\n"...)
			for line := range strings.SplitSeq(p.bg, "\n") {
				b = append(b, "  "...)
				b = append(b, line...)
				b = append(b, '\n')
			}
		case kLanguage:
			b = append(b, "preferred_language: "...)
			b = appendNullable(b, languages[p.lang])
		case kTimezone:
			b = append(b, "timezone: "...)
			b = appendNullable(b, timezones[p.tz])
		case kModels:
			b = append(b, "user_models:"...)
			if len(p.models) == 0 {
				b = append(b, " []\n"...)
				continue
			}
			b = append(b, '\n')
			for _, m := range p.models {
				b = append(b, "  - "...)
				b = append(b, m...)
				b = append(b, '\n')
			}
		case kNonsensitive:
			b = appendVars(b, "nonsensitive_user_variables:", p.nonsens)
		case kSensitive:
			b = appendVars(b, "sensitive_user_variables:", p.sens)
		}
	}
	if invalid == invalidUnknownKey {
		b = append(b, "nickname: "...)
		b = append(b, strings.ToLower(adjectives[p.adj])...)
		b = append(b, '\n')
	}
	return b
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null\n"...)
	}
	b = append(b, s...)
	return append(b, '\n')
}

func appendTags(b []byte, p *persona, asList bool) []byte {
	b = append(b, "tags:"...)
	switch {
	case asList:
		b = append(b, '\n')
		for _, t := range p.tags {
			b = append(b, "  - "...)
			b = append(b, t.k...)
			b = append(b, '\n')
		}
		if len(p.tags) == 0 {
			b = append(b, "  - untagged\n"...)
		}
		return b
	case len(p.tags) == 0:
		return append(b, " {}\n"...)
	case p.flowTags:
		b = append(b, " {"...)
		for i, t := range p.tags {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendTag(b, t)
		}
		return append(b, "}\n"...)
	}
	b = append(b, '\n')
	for _, t := range p.tags {
		b = append(b, "  "...)
		b = appendTag(b, t)
		b = append(b, '\n')
	}
	return b
}

func appendTag(b []byte, t tag) []byte {
	b = append(b, t.k...)
	b = append(b, ": "...)
	if t.v == "" {
		return append(b, "null"...)
	}
	return append(b, t.v...)
}

func appendVars(b []byte, key string, vars []kv) []byte {
	b = append(b, key...)
	if len(vars) == 0 {
		return append(b, " {}\n"...)
	}
	b = append(b, '\n')
	for _, v := range vars {
		b = append(b, "  "...)
		b = append(b, v.k...)
		b = append(b, `: "`...)
		b = append(b, v.v...)
		b = append(b, "\"\n"...)
	}
	return b
}
