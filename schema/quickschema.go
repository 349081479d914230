package schema

// JSON Schema validation of every version was 10% of the CPU of a cold
// index of 2,000 personas × 20,000 commits. quickSchemaValid says the same
// as the compiled persona.schema.json (without its language and timezone
// enums, which the rules check) for the values quickValue makes; the
// library stays the judge of everything else and the source of every error
// message. FuzzQuickSchema holds the two to the same answer.

// quickSchemaValid reports whether m passes the persona JSON Schema.
func quickSchemaValid(m map[string]any) bool {
	required := 0
	for k, v := range m {
		var ok bool
		switch k {
		case "id":
			ok = isPersonaID(v)
			required++
		case "name", "role", "background":
			s, isString := v.(string)
			ok = isString && s != ""
			required++
		case "tags":
			ok = isTagMap(v)
		case "preferred_language", "timezone":
			_, isString := v.(string)
			ok = isString || v == nil
		case "user_models":
			ok = isModelList(v)
		case "nonsensitive_user_variables", "sensitive_user_variables":
			ok = isVariableMap(v)
		}
		if !ok {
			return false
		}
	}
	return required == 4
}

// isPersonaID: ^[a-f0-9]{24}$
func isPersonaID(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) != 24 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isWordsAndSpaces: ^[\w\s]+$ in Go's regexp, where \w and \s are ASCII.
func isWordsAndSpaces(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		word := c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		space := c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
		if !word && !space {
			return false
		}
	}
	return true
}

// isVariableName: ^[a-z_][a-z0-9_]+$
func isVariableName(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c != '_' && (c < 'a' || c > 'z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isSmallMap reports whether v is a mapping of at most 20 entries whose
// keys and values pass key and value.
func isSmallMap(v any, key func(string) bool, value func(any) bool) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) > 20 {
		return false
	}
	for k, val := range m {
		if !key(k) || !value(val) {
			return false
		}
	}
	return true
}

// isTagMap: tags of words and spaces, each value words and spaces or null.
func isTagMap(v any) bool {
	return isSmallMap(v, isWordsAndSpaces, func(t any) bool {
		s, isString := t.(string)
		return t == nil || (isString && isWordsAndSpaces(s))
	})
}

// isVariableMap: variables named like identifiers, with string values.
func isVariableMap(v any) bool {
	return isSmallMap(v, isVariableName, func(val any) bool {
		_, isString := val.(string)
		return isString
	})
}

func isModelList(v any) bool {
	models, ok := v.([]any)
	if !ok {
		return false
	}
	for _, m := range models {
		if s, isString := m.(string); !isString || s == "" {
			return false
		}
	}
	return true
}
