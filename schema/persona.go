package schema

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Persona is the content of one valid persona file, with defaults applied:
// absent maps are empty, absent lists are empty, absent language and timezone are nil.
type Persona struct {
	ID                        string             `json:"id"`
	Name                      string             `json:"name"`
	Role                      string             `json:"role"`
	Tags                      map[string]*string `json:"tags"`
	Background                string             `json:"background"`
	PreferredLanguage         *string            `json:"preferred_language"`
	Timezone                  *string            `json:"timezone"`
	UserModels                []string           `json:"user_models"`
	NonsensitiveUserVariables map[string]string  `json:"nonsensitive_user_variables"`
	SensitiveUserVariables    map[string]string  `json:"sensitive_user_variables"`
}

// ParsePersona decodes and validates one persona file. It returns the persona
// when the file has no errors (warnings allowed), and every finding with its
// line and column; findings carry path.
func ParsePersona(path string, data []byte) (*Persona, *Document, []Finding) {
	doc, err := ParseYAML(data)
	if err != nil {
		return nil, nil, []Finding{withPath(err.(*Finding), path)}
	}
	if doc.Root.Kind != yaml.MappingNode {
		f := Finding{Line: doc.Root.Line, Column: doc.Root.Column,
			Message: "a persona file must be a mapping of keys (id, name, role, background, …)"}
		return nil, doc, []Finding{withPath(&f, path)}
	}
	findings := validateSchema(doc)
	findings = append(findings, checkRules(doc)...)
	for i := range findings {
		findings[i] = withPath(&findings[i], path)
	}
	if HasErrors(findings) {
		return nil, doc, findings
	}
	p, err := personaFromValue(doc.Value)
	if err != nil {
		f := Finding{Line: doc.Root.Line, Column: doc.Root.Column, Message: err.Error()}
		return nil, doc, append(findings, withPath(&f, path))
	}
	return p, doc, findings
}

func withPath(f *Finding, path string) Finding {
	out := *f
	out.Path = path
	if out.Severity == "" {
		out.Severity = SeverityError
	}
	return out
}

// personaFromValue converts a schema-valid value to a Persona, applying
// defaults. The schema has checked every type, so a mismatch is a bug.
func personaFromValue(v any) (*Persona, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode persona: not a mapping")
	}
	p := &Persona{
		ID: asString(m["id"]), Name: asString(m["name"]), Role: asString(m["role"]),
		Background:                asString(m["background"]),
		PreferredLanguage:         asNullable(m["preferred_language"]),
		Timezone:                  asNullable(m["timezone"]),
		NonsensitiveUserVariables: asStringMap(m["nonsensitive_user_variables"]),
		SensitiveUserVariables:    asStringMap(m["sensitive_user_variables"]),
	}
	if tags, ok := m["tags"].(map[string]any); ok {
		p.Tags = make(map[string]*string, len(tags))
		for k, v := range tags {
			p.Tags[k] = asNullable(v)
		}
	}
	if models, ok := m["user_models"].([]any); ok {
		p.UserModels = make([]string, len(models))
		for i, s := range models {
			p.UserModels[i] = asString(s)
		}
	}
	p.Normalize()
	return p, nil
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func asNullable(v any) *string {
	if s, ok := v.(string); ok {
		return &s
	}
	return nil
}

func asStringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = asString(v)
	}
	return out
}

// Normalize applies the defaults of absent fields, so that two personas that
// differ only in an absent versus empty field compare equal.
func (p *Persona) Normalize() {
	if p.Tags == nil {
		p.Tags = map[string]*string{}
	}
	if p.UserModels == nil {
		p.UserModels = []string{}
	}
	if p.NonsensitiveUserVariables == nil {
		p.NonsensitiveUserVariables = map[string]string{}
	}
	if p.SensitiveUserVariables == nil {
		p.SensitiveUserVariables = map[string]string{}
	}
}

// checkRules applies what the schema can't say: non-blank text fields, the
// accepted language and timezone lists, and a warning for sensitive variables.
func checkRules(doc *Document) []Finding {
	m, _ := doc.Value.(map[string]any)
	var out []Finding
	ruleViolations(m, func(field string, sev Severity, msg string) {
		_, n := Locate(doc.Root, []string{field})
		out = append(out, Finding{Line: n.Line, Column: n.Column, Field: field, Severity: sev, Message: msg})
	})
	return out
}

// ruleViolations calls add for every rule of checkRules that m breaks.
func ruleViolations(m map[string]any, add func(field string, sev Severity, msg string)) {
	for _, field := range []string{"name", "role", "background"} {
		if s, ok := m[field].(string); ok && s != "" && strings.TrimSpace(s) == "" {
			add(field, SeverityError, field+" must not be blank")
		}
	}
	if s, ok := m["preferred_language"].(string); ok {
		if msg := CheckLanguage(s); msg != "" {
			add("preferred_language", SeverityError, msg)
		}
	}
	if s, ok := m["timezone"].(string); ok {
		if msg := CheckTimezone(s); msg != "" {
			add("timezone", SeverityError, msg)
		}
	}
	if vars, ok := m["sensitive_user_variables"].(map[string]any); ok && len(vars) > 0 {
		add("sensitive_user_variables", SeverityWarning,
			"sensitive_user_variables are stored as plain text in git: keep only staging data here")
	}
}

// UnitTestRef is a unit-test file's reference to a persona.
type UnitTestRef struct {
	Path      string
	PersonaID string
	Line      int
	Column    int
}

// ParseUnitTest reads a unit-test file. ok is false when the file is valid
// YAML without a top-level persona_id (not a unit test); findings report
// files that can't be read as YAML or whose persona_id is not a string.
func ParseUnitTest(path string, data []byte) (ref UnitTestRef, ok bool, findings []Finding) {
	doc, err := ParseYAML(data)
	if err != nil {
		return ref, false, []Finding{withPath(err.(*Finding), path)}
	}
	if doc.Root.Kind != yaml.MappingNode {
		return ref, false, nil
	}
	m, _ := doc.Value.(map[string]any)
	v, present := m["persona_id"]
	if !present {
		return ref, false, nil
	}
	_, n := Locate(doc.Root, []string{"persona_id"})
	id, isString := v.(string)
	if !isString {
		f := Finding{Line: n.Line, Column: n.Column, Field: "persona_id", Message: "persona_id must be a string of 24 hex digits"}
		return ref, false, []Finding{withPath(&f, path)}
	}
	return UnitTestRef{Path: path, PersonaID: id, Line: n.Line, Column: n.Column}, true, nil
}
