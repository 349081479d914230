package schema

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity says whether a finding fails lint (Error) or is advice (Warning).
type Severity string

// The severities of a Finding.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is one problem in one file: where it is and what is wrong. It is
// also an error, so parse failures carry their position.
type Finding struct {
	Path     string   `json:"path"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Severity Severity `json:"severity"`
	// Field is the dotted path of the field at fault ("tags.tier"), empty for the whole file.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Error formats the finding as `path:line:col: severity: message`.
func (f *Finding) Error() string {
	sev := f.Severity
	if sev == "" {
		sev = SeverityError
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", f.Path, f.Line, f.Column, sev, f.Message)
}

// SortFindings orders findings by path, line, column, then message, the
// order lint prints them in.
func SortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column), cmp.Compare(a.Message, b.Message))
	})
}

// HasErrors reports whether any finding is an error rather than a warning.
func HasErrors(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity != SeverityWarning })
}
