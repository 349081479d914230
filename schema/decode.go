package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits on what a YAML document may expand to. A document past them is an
// error, so a YAML bomb (nested aliases) costs bounded time and memory.
const (
	// MaxFileSize is the largest persona or unit-test file read, in bytes.
	MaxFileSize = 1 << 20
	// maxNodes bounds the number of nodes visited while converting, aliases expanded.
	maxNodes = 100_000
	// maxDepth bounds nesting.
	maxDepth = 64
)

// Document is a parsed YAML file: its node tree, which keeps positions and
// comments, and the plain value (maps, slices, strings, json.Number, bools,
// nil) that the JSON Schema validates.
type Document struct {
	Root  *yaml.Node // the document's top-level node (a mapping for valid files)
	Value any
}

// ParseYAML parses one YAML document and converts it to a plain value without
// losing positions: timestamps stay strings, non-string keys become their
// text, merge keys are applied and alias expansion is bounded. The error, if
// any, is a *Finding naming the line and column.
func ParseYAML(data []byte) (*Document, error) {
	if len(data) > MaxFileSize {
		return nil, &Finding{Line: 1, Column: 1, Message: fmt.Sprintf("file is %d bytes, larger than the %d bytes allowed", len(data), MaxFileSize)}
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, &Finding{Line: 1, Column: 1, Message: "file is binary (contains a NUL byte), not YAML"}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlErrorFinding(err, data)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Finding{Line: 1, Column: 1, Message: "file is empty"}
	}
	root := doc.Content[0]
	c := converter{}
	v, err := c.convert(root, 0)
	if err != nil {
		return nil, err
	}
	return &Document{Root: root, Value: v}, nil
}

// parserMessages are yaml.v3 parser errors, whose line is 0-based (scanner
// errors are 1-based).
var parserMessages = []string{
	"did not find expected key", "did not find expected node content", "did not find expected '-' indicator",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected <document start>",
	"found undefined tag handle", "found duplicate %YAML directive", "found duplicate %TAG directive",
	"found incompatible YAML document",
}

// yamlErrorFinding turns a yaml.v3 error ("yaml: line 3: did not find …") into a Finding.
func yamlErrorFinding(err error, data []byte) *Finding {
	msg := err.Error()
	line := 1
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	const prefix = "yaml: line "
	if rest, ok := bytes.CutPrefix([]byte(msg), []byte(prefix)); ok {
		if i := bytes.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(string(rest[:i])); err == nil {
				line = n
				msg = string(bytes.TrimSpace(rest[i+1:]))
			}
		}
	} else if m, ok := bytes.CutPrefix([]byte(msg), []byte("yaml: ")); ok {
		msg = string(m)
	}
	for _, pm := range parserMessages {
		if strings.Contains(msg, pm) {
			lines := bytes.Count(data, []byte("\n"))
			if !bytes.HasSuffix(data, []byte("\n")) {
				lines++
			}
			line = min(line+1, max(lines, 1))
			break
		}
	}
	return &Finding{Line: line, Column: 1, Message: "invalid YAML: " + msg}
}

type converter struct{ visited int }

func (c *converter) convert(n *yaml.Node, depth int) (any, error) {
	c.visited++
	if c.visited > maxNodes {
		return nil, nodeFinding(n, fmt.Sprintf("document expands to more than %d nodes (nested aliases?)", maxNodes))
	}
	if depth > maxDepth {
		return nil, nodeFinding(n, fmt.Sprintf("document is nested deeper than %d levels", maxDepth))
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.convert(n.Alias, depth+1)
	case yaml.ScalarNode:
		return scalarValue(n), nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return c.mapping(n, depth)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.convert(n.Content[0], depth+1)
	}
	return nil, nodeFinding(n, "unsupported YAML node")
}

func (c *converter) mapping(n *yaml.Node, depth int) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	seen := make(map[string]bool, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, nodeFinding(k, "a mapping key must be a plain value, not a list or mapping")
		}
		if seen[k.Value] {
			return nil, nodeFinding(k, fmt.Sprintf("key %q appears twice in this mapping", k.Value))
		}
		seen[k.Value] = true
		val, err := c.convert(v, depth+1)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	for _, m := range merges {
		if err := c.merge(out, m, depth); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// merge applies a YAML merge key (`<<: *base`): keys already present win.
func (c *converter) merge(out map[string]any, src *yaml.Node, depth int) error {
	v, err := c.convert(src, depth+1)
	if err != nil {
		return err
	}
	maps := []any{v}
	if seq, ok := v.([]any); ok {
		maps = seq
	}
	for _, m := range maps {
		mm, ok := m.(map[string]any)
		if !ok {
			return nodeFinding(src, "a merge key (<<) needs a mapping or a list of mappings")
		}
		for k, val := range mm {
			if _, exists := out[k]; !exists {
				out[k] = val
			}
		}
	}
	return nil
}

// scalarValue resolves a scalar the way a JSON document would hold it.
// Timestamps, binary and unknown tags stay strings.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int", "!!float":
		if json.Valid([]byte(n.Value)) {
			return json.Number(n.Value)
		}
		var f float64
		if n.Decode(&f) == nil {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return n.Value
}

func nodeFinding(n *yaml.Node, msg string) *Finding {
	return &Finding{Line: n.Line, Column: n.Column, Message: msg}
}

// Locate returns the key node and the value node at a JSON pointer's tokens
// below root, following aliases. Where the pointer leads nowhere, the deepest
// node reached is returned as both.
func Locate(root *yaml.Node, tokens []string) (key, value *yaml.Node) {
	value = deref(root)
	key = value
	for _, tok := range tokens {
		switch value.Kind {
		case yaml.MappingNode:
			k, v := mappingEntry(value, tok)
			if v == nil {
				return key, value
			}
			key, value = k, deref(v)
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(value.Content) {
				return key, value
			}
			value = deref(value.Content[i])
			key = value
		default:
			return key, value
		}
	}
	return key, value
}

func mappingEntry(m *yaml.Node, name string) (key, value *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name && m.Content[i].Tag != "!!merge" {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}
