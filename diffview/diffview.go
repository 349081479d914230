// Package diffview renders a registry.Diff for people: plain text (with
// optional color) for terminals, Markdown for pull-request comments.
package diffview

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/worddiff"
)

func short(sha string) string {
	if sha == "" || strings.Trim(sha, "0") == "" {
		return "(empty)"
	}
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func versionNote(p registry.PersonaDiff) string {
	switch {
	case p.NewVersion && p.VersionBefore != nil:
		return fmt.Sprintf("v%d → v%d", *p.VersionBefore, *p.VersionBefore+1)
	case p.NewVersion:
		return "v1"
	case p.VersionBefore != nil:
		return fmt.Sprintf("v%d (no new version)", *p.VersionBefore)
	}
	return ""
}

// WriteText writes the diff as plain text, colored with ANSI codes when color is set.
func WriteText(w io.Writer, d *registry.Diff, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	fmt.Fprintf(w, "personas diff %s..%s: %d persona(s) differ\n", short(d.Base), short(d.Head), len(d.Personas))
	for _, p := range d.Personas {
		fmt.Fprintf(w, "\n%s %s (%s)  %s\n", paint("1", fmt.Sprintf("%-8s", p.Status)), p.Name, p.ID, versionNote(p))
		if len(p.Fields) > 0 {
			fmt.Fprintf(w, "  fields: %s\n", strings.Join(p.Fields, ", "))
		}
		writePaths(w, p, "  ")
		for _, line := range fieldChanges(p) {
			fmt.Fprintf(w, "  %s\n", line)
		}
		if bg := backgroundDiff(p, func(s string) string { return paint("31", "[-"+s+"-]") },
			func(s string) string { return paint("32", "{+"+s+"+}") }); bg != "" {
			fmt.Fprintf(w, "  background:\n%s\n", indent(bg, "    "))
		}
	}
	if len(d.Problems) > 0 {
		fmt.Fprintf(w, "\nproblems introduced:\n")
		for _, pr := range d.Problems {
			fmt.Fprintf(w, "  %s:%d:%d: %s\n", pr.Path, pr.Line, pr.Column, pr.Message)
		}
	}
}

func writePaths(w io.Writer, p registry.PersonaDiff, pre string) {
	switch {
	case p.PathBefore != nil && p.PathAfter != nil && *p.PathBefore != *p.PathAfter:
		fmt.Fprintf(w, "%spath: %s → %s\n", pre, *p.PathBefore, *p.PathAfter)
	case p.PathAfter != nil:
		fmt.Fprintf(w, "%spath: %s\n", pre, *p.PathAfter)
	case p.PathBefore != nil:
		fmt.Fprintf(w, "%spath: %s (removed)\n", pre, *p.PathBefore)
	}
	if len(p.UnitTests) > 0 {
		fmt.Fprintf(w, "%sunit tests: %s\n", pre, strings.Join(p.UnitTests, ", "))
	}
}

// fieldChanges describes every changed field but the background, one line each.
func fieldChanges(p registry.PersonaDiff) []string {
	b, a := p.Before, p.After
	if b == nil || a == nil {
		return nil
	}
	var out []string
	for _, f := range p.Fields {
		switch f {
		case "name":
			out = append(out, fmt.Sprintf("name: %q → %q", b.Name, a.Name))
		case "role":
			out = append(out, fmt.Sprintf("role: %q → %q", b.Role, a.Role))
		case "tags":
			out = append(out, "tags: "+tagsString(b.Tags)+" → "+tagsString(a.Tags))
		case "preferred_language":
			out = append(out, fmt.Sprintf("preferred_language: %s → %s", strOrNull(b.Content.PreferredLanguage), strOrNull(a.Content.PreferredLanguage)))
		case "timezone":
			out = append(out, fmt.Sprintf("timezone: %s → %s", strOrNull(b.Content.Timezone), strOrNull(a.Content.Timezone)))
		case "user_models":
			out = append(out, fmt.Sprintf("user_models: %v → %v", b.Content.UserModels, a.Content.UserModels))
		case "nonsensitive_user_variables":
			out = append(out, "nonsensitive_user_variables: "+varsString(b.Content.NonsensitiveUserVariables)+" → "+varsString(a.Content.NonsensitiveUserVariables))
		case "sensitive_user_variables":
			out = append(out, "sensitive_user_variables: changed (values not shown)")
		}
	}
	return out
}

func strOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func tagsString(t map[string]*string) string {
	keys := slices.Sorted(maps.Keys(t))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + strOrNull(t[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func varsString(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// backgroundDiff renders a word-level diff of the background, or "" when it
// did not change.
func backgroundDiff(p registry.PersonaDiff, del, ins func(string) string) string {
	var before, after string
	if p.Before != nil {
		before = p.Before.Content.Background.String()
	}
	if p.After != nil && !p.After.Deleted && p.PathAfter != nil {
		after = p.After.Content.Background.String()
	}
	if before == after || (p.Status == registry.StatusDeleted) {
		return ""
	}
	return wordDiff(before, after, del, ins)
}

// wordDiff diffs two texts word by word (see worddiff.Diff), wrapped near
// 100 columns.
func wordDiff(a, b string, del, ins func(string) string) string {
	return wrap(worddiff.Render(worddiff.Diff(a, b), del, ins), 100)
}

// wrap breaks a line at spaces so that lines stay near width characters.
func wrap(s string, width int) string {
	var sb strings.Builder
	col := 0
	for i, w := range strings.Split(s, " ") {
		if i > 0 {
			if col+1+len(w) > width {
				sb.WriteByte('\n')
				col = 0
			} else {
				sb.WriteByte(' ')
				col++
			}
		}
		sb.WriteString(w)
		col += len(w)
	}
	return sb.String()
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

// WriteMarkdown writes the diff as Markdown: a table, then one collapsed
// section per persona.
func WriteMarkdown(w io.Writer, d *registry.Diff) {
	fmt.Fprintf(w, "### Persona changes (`%s..%s`)\n\n", short(d.Base), short(d.Head))
	if len(d.Personas) == 0 {
		fmt.Fprintf(w, "No persona changes.\n")
	} else {
		fmt.Fprintf(w, "| persona | status | fields | version |\n|---|---|---|---|\n")
		for _, p := range d.Personas {
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", mdEscape(p.Name), p.Status, strings.Join(p.Fields, ", "), versionNote(p))
		}
	}
	for _, p := range d.Personas {
		fmt.Fprintf(w, "\n<details><summary><b>%s</b> — %s</summary>\n\n", htmlEscape(p.Name), p.Status)
		fmt.Fprintf(w, "- id: `%s`\n", p.ID)
		var paths strings.Builder
		writePaths(&paths, p, "- ")
		w.Write([]byte(paths.String()))
		for _, line := range fieldChanges(p) {
			fmt.Fprintf(w, "- %s\n", mdEscape(line))
		}
		if bg := backgroundDiff(p, func(s string) string { return "~~" + s + "~~" },
			func(s string) string { return "**" + s + "**" }); bg != "" {
			fmt.Fprintf(w, "\n**background**\n\n%s\n", quoteBlock(bg))
		}
		fmt.Fprintf(w, "\n</details>\n")
	}
	if len(d.Problems) > 0 {
		fmt.Fprintf(w, "\n#### Problems introduced\n\n")
		for _, pr := range d.Problems {
			fmt.Fprintf(w, "- `%s:%d:%d`: %s\n", pr.Path, pr.Line, pr.Column, mdEscape(pr.Message))
		}
	}
}

func quoteBlock(s string) string {
	return "> " + strings.ReplaceAll(s, "\n", "\n> ")
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
