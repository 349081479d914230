package schema

import (
	"fmt"
	"runtime"
	"sync"
)

// File is one file to lint: its path as the user should see it, and its bytes.
type File struct {
	Path string
	Data []byte
}

// LintInput is what Lint checks: persona files, unit-test files, and the ids
// of personas that exist outside the linted files (so that a unit test linted
// alone can still be checked against the repository).
type LintInput struct {
	Personas  []File
	UnitTests []File
	KnownIDs  map[string]bool
}

// Lint validates every file and the rules across files: ids unique, names
// unique, unit tests referencing an existing persona. Findings are sorted.
func Lint(in LintInput) []Finding {
	parsed := parseAll(in.Personas)
	var out []Finding
	ids := map[string]string{}   // id → first path
	names := map[string]string{} // name → first path
	for i, r := range parsed {
		out = append(out, r.findings...)
		if r.doc == nil {
			continue
		}
		m, _ := r.doc.Value.(map[string]any)
		id, _ := m["id"].(string)
		name, _ := m["name"].(string)
		path := in.Personas[i].Path
		if first, dup := ids[id]; dup && id != "" {
			out = append(out, fieldFinding(path, r.doc, "id", fmt.Sprintf("id %s is also used by %s", id, first)))
		} else if id != "" {
			ids[id] = path
		}
		if first, dup := names[name]; dup && name != "" {
			out = append(out, fieldFinding(path, r.doc, "name", fmt.Sprintf("name %q is also used by %s", name, first)))
		} else if name != "" {
			names[name] = path
		}
	}
	for _, f := range in.UnitTests {
		ref, ok, fs := ParseUnitTest(f.Path, f.Data)
		out = append(out, fs...)
		if ok && ids[ref.PersonaID] == "" && !in.KnownIDs[ref.PersonaID] {
			out = append(out, Finding{Path: f.Path, Line: ref.Line, Column: ref.Column, Severity: SeverityError,
				Field: "persona_id", Message: fmt.Sprintf("persona_id %s references no persona", ref.PersonaID)})
		}
	}
	SortFindings(out)
	return out
}

func fieldFinding(path string, doc *Document, field, msg string) Finding {
	_, n := Locate(doc.Root, []string{field})
	return Finding{Path: path, Line: n.Line, Column: n.Column, Severity: SeverityError, Field: field, Message: msg}
}

type parseResult struct {
	doc      *Document
	findings []Finding
}

// parseAll parses persona files on all cores, keeping the input order.
func parseAll(files []File) []parseResult {
	out := make([]parseResult, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				_, doc, fs := ParsePersona(files[i].Path, files[i].Data)
				out[i] = parseResult{doc: doc, findings: fs}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}
