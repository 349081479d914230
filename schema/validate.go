package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"
)

// SchemaJSON is the JSON Schema (2020-12) of a persona file. Editors read it
// through the `# yaml-language-server: $schema=` modeline.
//
//go:embed persona.schema.json
var SchemaJSON []byte

// SchemaURL is the $id of SchemaJSON.
const SchemaURL = "https://personaregistry.dev/schema/persona.schema.json"

var compiled = sync.OnceValue(func() *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
	if err != nil {
		panic(fmt.Sprintf("embedded persona schema: %v", err))
	}
	// The language and timezone enums serve editors; here the semantic rules
	// check them (with suggestions), so validation skips 8,500 comparisons a file.
	props := doc.(map[string]any)["properties"].(map[string]any)
	for _, field := range []string{"preferred_language", "timezone"} {
		delete(props[field].(map[string]any), "enum")
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaURL, doc); err != nil {
		panic(fmt.Sprintf("embedded persona schema: %v", err))
	}
	return c.MustCompile(SchemaURL)
})

var printer = message.NewPrinter(language.English)

// validateSchema checks a decoded persona against the JSON Schema and maps
// every error back to the line and column of the node at fault.
func validateSchema(doc *Document) []Finding {
	err := compiled().Validate(doc.Value)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Finding{{Line: doc.Root.Line, Column: doc.Root.Column, Message: err.Error()}}
	}
	var out []Finding
	collectLeaves(doc.Root, ve, &out)
	return out
}

func collectLeaves(root *yaml.Node, ve *jsonschema.ValidationError, out *[]Finding) {
	if len(ve.Causes) > 0 {
		if pn, ok := ve.ErrorKind.(*kind.PropertyNames); ok {
			*out = append(*out, propertyNameFinding(root, ve, pn))
			return
		}
		for _, c := range ve.Causes {
			collectLeaves(root, c, out)
		}
		return
	}
	leafFindings(root, ve, out)
}

// leafFindings turns one schema error into findings.
func leafFindings(root *yaml.Node, ve *jsonschema.ValidationError, out *[]Finding) {
	loc := ve.InstanceLocation
	key, val := Locate(root, loc)
	field := strings.Join(loc, ".")
	at := val
	var msg string
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		msg = fmt.Sprintf("missing required key %s", quoteAll(k.Missing))
		field = strings.Join(append(append([]string{}, loc...), k.Missing[0]), ".")
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			kn, _ := Locate(root, append(append([]string{}, loc...), p))
			*out = append(*out, Finding{Line: kn.Line, Column: kn.Column, Field: joinField(loc, p),
				Message: fmt.Sprintf("unknown key %q%s", p, suggestKey(loc, p))})
		}
		return
	case *kind.Type:
		msg = fmt.Sprintf("%s must be %s, not %s", describe(field), strings.Join(k.Want, " or "), k.Got)
	case *kind.Pattern:
		msg = fmt.Sprintf("%s %q must match %s", describe(field), k.Got, k.Want)
	case *kind.MaxProperties:
		msg = fmt.Sprintf("%s has %d entries; at most %d are allowed", describe(field), k.Got, k.Want)
		at = key
	case *kind.MinLength:
		msg = fmt.Sprintf("%s must not be empty", describe(field))
	default:
		msg = fmt.Sprintf("%s: %s", describe(field), ve.ErrorKind.LocalizedString(printer))
	}
	*out = append(*out, Finding{Line: at.Line, Column: at.Column, Field: field, Message: msg})
}

// propertyNameFinding reports a key that breaks a propertyNames rule. The
// library's InstanceLocation is unreliable for this keyword, so the object is
// found from the schema location (#/properties/<field>/propertyNames).
func propertyNameFinding(root *yaml.Node, ve *jsonschema.ValidationError, pn *kind.PropertyNames) Finding {
	var loc []string
	if _, frag, ok := strings.Cut(ve.SchemaURL, "#/properties/"); ok {
		if field, _, ok := strings.Cut(frag, "/"); ok {
			loc = []string{field}
		}
	}
	kn, _ := Locate(root, append(append([]string{}, loc...), pn.Property))
	want := ""
	for _, c := range ve.Causes {
		if p, ok := c.ErrorKind.(*kind.Pattern); ok {
			want = " must match " + p.Want
		}
	}
	return Finding{Line: kn.Line, Column: kn.Column, Field: joinField(loc, pn.Property),
		Message: fmt.Sprintf("key %q in %s%s", pn.Property, describe(strings.Join(loc, ".")), want)}
}

func joinField(loc []string, last string) string {
	return strings.Join(append(append([]string{}, loc...), last), ".")
}

func describe(field string) string {
	if field == "" {
		return "the file"
	}
	return field
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// topLevelKeys lists the keys a persona file may have, in the documented order.
var topLevelKeys = sync.OnceValue(func() []string {
	var s struct {
		Properties json.RawMessage `json:"properties"`
	}
	_ = json.Unmarshal(SchemaJSON, &s)
	dec := json.NewDecoder(bytes.NewReader(s.Properties))
	var keys []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 {
				keys = append(keys, t)
				var skip json.RawMessage
				_ = dec.Decode(&skip)
			}
		}
	}
})

// suggestKey proposes the known top-level key closest to a misspelt one.
func suggestKey(loc []string, got string) string {
	if len(loc) != 0 {
		return ""
	}
	best, bestDist := "", 3
	if len(got) > 64 {
		return "; allowed keys: " + strings.Join(topLevelKeys(), ", ")
	}
	for _, k := range topLevelKeys() {
		if d := editDistance(strings.ToLower(got), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return "; allowed keys: " + strings.Join(topLevelKeys(), ", ")
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
