package schema

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// EditVersioned returns the file with its versioned fields (background down)
// replaced by p's, keeping comments, key order and every other key.
func EditVersioned(data []byte, p *Persona) ([]byte, error) {
	bg := blockString(p.Background)
	models := &yaml.Node{Kind: yaml.SequenceNode, Style: flowIfEmpty(len(p.UserModels))}
	for _, m := range p.UserModels {
		models.Content = append(models.Content, str(m))
	}
	return editTopLevel(data, []field{
		{"background", bg},
		{"preferred_language", nullable(p.PreferredLanguage)},
		{"timezone", nullable(p.Timezone)},
		{"user_models", models},
		{"nonsensitive_user_variables", stringMap(p.NonsensitiveUserVariables)},
		{"sensitive_user_variables", stringMap(p.SensitiveUserVariables)},
	})
}

// EditTags returns the file with its tags replaced, keeping comments and
// key order.
func EditTags(data []byte, tags map[string]*string) ([]byte, error) {
	return editTopLevel(data, []field{{"tags", tagsNode(tags)}})
}

type field struct {
	key   string
	value *yaml.Node
}

// editTopLevel sets top-level keys of a YAML mapping document; a key that
// is missing is added at the end. The value keeps the old node's comments.
func editTopLevel(data []byte, fields []field) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse persona file: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("persona file is not a mapping")
	}
	root := doc.Content[0]
	for _, f := range fields {
		_, old := mappingEntry(root, f.key)
		if old == nil {
			root.Content = append(root.Content, str(f.key), f.value)
			continue
		}
		f.value.HeadComment, f.value.LineComment, f.value.FootComment = old.HeadComment, old.LineComment, old.FootComment
		*old = *f.value
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("write persona file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
