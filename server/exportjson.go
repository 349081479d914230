package server

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/personaregistry/personas/registry"
)

// An export writes every version of every persona: through encoding/json's
// reflection, with each background made a string first, that was most of
// a restart's `personas export` at 10,000 personas × 100,000 commits (a
// 120 MB document). appendExportedPersona writes the same bytes by hand;
// TestWriteExportIsNewExport, TestExportEncodingIsJSONs and
// FuzzAppendJSONString hold it to encoding/json byte for byte.

// appendExportedPersona appends the JSON of newExportedPersona(p, org) to b,
// as json.Marshal writes it. scratch holds a background while it is escaped.
func appendExportedPersona(b []byte, scratch *[]byte, p *registry.Persona, org string) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, p.ID)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, p.Name)
	b = append(b, `,"role":`...)
	b = appendJSONString(b, p.Role)
	b = append(b, `,"tags":`...)
	b = appendTags(b, p.Tags)
	b = append(b, `,"is_deleted":`...)
	b = strconv.AppendBool(b, p.IsDeleted)
	var err error
	b = append(b, `,"created_at":`...)
	if b, err = appendJSONTime(b, p.CreatedAt); err != nil {
		return b, err
	}
	b = append(b, `,"creator":`...)
	b = appendUserInfo(b, org, p.Creator)
	b = append(b, `,"updated_at":`...)
	if b, err = appendJSONTime(b, p.UpdatedAt); err != nil {
		return b, err
	}
	b = append(b, `,"updated_by":`...)
	b = appendUserInfo(b, org, p.UpdatedBy)
	b = append(b, `,"created_commit":`...)
	b = appendJSONString(b, p.CreatedCommit)
	b = append(b, `,"updated_commit":`...)
	b = appendJSONString(b, p.UpdatedCommit)
	b = append(b, `,"versions":[`...)
	for i, v := range p.Versions {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendVersion(b, scratch, p, v, org); err != nil {
			return b, err
		}
	}
	return append(b, "]}"...), nil
}

// appendVersion appends the JSON of NewPersonaVersion(p, v, org, false).
func appendVersion(b []byte, scratch *[]byte, p *registry.Persona, v *registry.Version, org string) ([]byte, error) {
	b = append(b, `{"_id":`...)
	b = appendJSONString(b, VersionID(p.ID, v.Number))
	b = append(b, `,"org_id":`...)
	b = appendJSONString(b, org)
	b = append(b, `,"simulation_persona_id":`...)
	b = appendJSONString(b, p.ID)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(v.Number), 10)
	b = append(b, `,"background":`...)
	*scratch = v.Background.AppendTo((*scratch)[:0])
	b = appendJSONString(b, *scratch)
	b = append(b, `,"preferred_language":`...)
	b = appendNullable(b, v.PreferredLanguage)
	b = append(b, `,"timezone":`...)
	b = appendNullable(b, v.Timezone)
	b = append(b, `,"user_models":[`...)
	for i, m := range v.UserModels {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, m)
	}
	b = append(b, `],"nonsensitive_user_variables":`...)
	b = appendStringMap(b, v.NonsensitiveUserVariables)
	b = append(b, `,"sensitive_user_variables":`...)
	b = appendStringMap(b, v.SensitiveUserVariables)
	b = append(b, `,"creator":`...)
	b = appendUserInfo(b, org, v.Creator)
	var err error
	b = append(b, `,"created_at":`...)
	if b, err = appendJSONTime(b, v.CreatedAt); err != nil {
		return b, err
	}
	b = append(b, `,"updated_at":`...)
	if b, err = appendJSONTime(b, v.CreatedAt); err != nil {
		return b, err
	}
	b = append(b, `,"commit":`...)
	b = appendJSONString(b, v.Commit)
	return append(b, '}'), nil
}

func appendUserInfo(b []byte, org, user string) []byte {
	b = append(b, `{"org_id":`...)
	b = appendJSONString(b, org)
	b = append(b, `,"user_id":`...)
	b = appendJSONString(b, user)
	return append(b, '}')
}

func appendNullable(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

// appendSortedMap writes m with its keys sorted, as encoding/json does,
// each value by appendValue; a nil map is {} (the API's shapes make it so).
func appendSortedMap[V any](b []byte, m map[string]V, appendValue func([]byte, V) []byte) []byte {
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendValue(b, m[k])
	}
	return append(b, '}')
}

func appendStringMap(b []byte, m map[string]string) []byte {
	return appendSortedMap(b, m, appendJSONString[string])
}

func appendTags(b []byte, tags map[string]*string) []byte {
	return appendSortedMap(b, tags, appendNullable)
}

// appendJSONTime writes t in UTC as time.Time's MarshalJSON does (RFC 3339
// with nanoseconds), and fails like it outside years 0–9999.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		_, err := t.MarshalJSON()
		return b, err
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// appendJSONString appends s (a string or its bytes) as a JSON string,
// escaped as encoding/json escapes it (HTML characters too): runs of bytes
// that need no escape are copied at once, the common escapes are written
// here, and from the first byte that is not ASCII, or is another control
// character, encoding/json writes the rest.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		e := jsonEscape[c]
		if e == 0 {
			continue
		}
		b = append(b, s[start:i]...)
		switch e {
		case 1:
			b = append(b, '\\', c)
		case 2:
			b = append(b, `\u00`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
		case 3:
			b = append(b, '\\', shortEscape[c])
		default:
			rest, _ := json.Marshal(string(s[i:])) // a string never fails
			return append(b, rest[1:]...)
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// jsonEscape says how encoding/json writes each byte in a string: 0 as it
// is, 1 after a backslash, 2 as \u00XX, 3 as a short escape (\n \r \t),
// 4 not known here (other control characters, and every byte of a
// multi-byte or invalid sequence: encoding/json decides).
var jsonEscape = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c == '"' || c == '\\':
			t[c] = 1
		case c == '<' || c == '>' || c == '&':
			t[c] = 2
		case c == '\n' || c == '\r' || c == '\t':
			t[c] = 3
		case c < 0x20 || c >= 0x80:
			t[c] = 4
		}
	}
	return t
}()

var shortEscape = [256]byte{'\n': 'n', '\r': 'r', '\t': 't'}
