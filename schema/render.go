package schema

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"gopkg.in/yaml.v3"
)

// NewID returns a fresh persona id in the style of a MongoDB ObjectId: four
// bytes of Unix time, then eight random bytes, as 24 lowercase hex digits.
func NewID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix()))
	_, _ = rand.Read(b[4:])
	return hex.EncodeToString(b[:])
}

// Slug turns a persona name into a file name stem: accents dropped,
// lowercase letters and digits joined by single hyphens ("Café Owner" → "cafe-owner").
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		default:
			dash = true
		}
	}
	s := b.String()
	if len(s) > 80 {
		cut := 80
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimRight(s[:cut], "-")
	}
	if s == "" {
		return "persona"
	}
	return s
}

// Render writes a persona as a YAML file in the documented key order, the
// background as a literal block. modeline, when not empty, is the path of
// the schema for the yaml-language-server comment on the first line.
func Render(p *Persona, modeline string) []byte {
	root := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, val *yaml.Node) {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, val)
	}
	add("id", str(p.ID))
	add("name", str(p.Name))
	add("role", str(p.Role))
	add("tags", tagsNode(p.Tags))
	add("background", blockString(p.Background))
	add("preferred_language", nullable(p.PreferredLanguage))
	add("timezone", nullable(p.Timezone))
	models := &yaml.Node{Kind: yaml.SequenceNode, Style: flowIfEmpty(len(p.UserModels))}
	for _, m := range p.UserModels {
		models.Content = append(models.Content, str(m))
	}
	add("user_models", models)
	add("nonsensitive_user_variables", stringMap(p.NonsensitiveUserVariables))
	add("sensitive_user_variables", stringMap(p.SensitiveUserVariables))
	var buf bytes.Buffer
	if modeline != "" {
		fmt.Fprintf(&buf, "# yaml-language-server: $schema=%s\n", modeline)
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	_ = enc.Encode(root)
	_ = enc.Close()
	return buf.Bytes()
}

// blockString renders text as a literal block when that round-trips, else
// double-quoted (a literal block can't start with a newline or a tab).
func blockString(s string) *yaml.Node {
	n := str(s)
	n.Style = yaml.LiteralStyle
	if strings.HasPrefix(s, "\n") || strings.HasPrefix(s, "\t") || strings.HasPrefix(s, " ") {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// str is a string scalar. yaml.v3 writes multi-line strings as literal
// blocks, which can't start with a newline, tab or space: quote those.
func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(s, "\n") && (strings.HasPrefix(s, "\n") || strings.HasPrefix(s, "\t") || strings.HasPrefix(s, " ")) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func nullable(s *string) *yaml.Node {
	if s == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	return str(*s)
}

func flowIfEmpty(n int) yaml.Style {
	if n == 0 {
		return yaml.FlowStyle
	}
	return 0
}

func tagsNode(tags map[string]*string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Style: flowIfEmpty(len(tags))}
	for _, k := range sortedKeys(tags) {
		n.Content = append(n.Content, str(k), nullable(tags[k]))
	}
	return n
}

func stringMap(m map[string]string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Style: flowIfEmpty(len(m))}
	for _, k := range sortedKeys(m) {
		n.Content = append(n.Content, str(k), str(m[k]))
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
