package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/personaregistry/personas/schema"
)

type lintOptions struct {
	staged bool
	format string
}

func newLintCmd(g *globalFlags) *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Validate persona and unit-test files (schema and semantic rules)",
		Long: `Validate persona files and unit-test files. PATHs are files or directories
(searched recursively for *.yaml and *.yml); by default the repository's persona
and unit-test directories. Files under the unit-test directory are unit tests.

Output is one line per finding, "path:line:col: severity: message", sorted.
Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage or I/O error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLint(cmd, g, o, args)
		},
	}
	cmd.Flags().BoolVar(&o.staged, "staged", false, "lint the staged blobs (what the next commit will contain), not the worktree")
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text, json or github")
	return cmd
}

func runLint(cmd *cobra.Command, g *globalFlags, o *lintOptions, args []string) error {
	if o.format != "text" && o.format != "json" && o.format != "github" {
		return usageError("--format %q: want text, json or github", o.format)
	}
	var in schema.LintInput
	var pre []schema.Finding
	var err error
	if o.staged {
		if len(args) > 0 {
			return usageError("--staged lints the staged persona and unit-test directories; it takes no PATH")
		}
		in, pre, err = stagedInput(g)
	} else {
		in, pre, err = worktreeInput(g, args)
	}
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	findings := append(schema.Lint(in), pre...)
	schema.SortFindings(findings)
	if err := printFindings(cmd.OutOrStdout(), o.format, findings); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if schema.HasErrors(findings) {
		return &exitError{code: exitFindings}
	}
	return nil
}

func printFindings(w io.Writer, format string, findings []schema.Finding) error {
	bw := bufio.NewWriter(w)
	switch format {
	case "json":
		if findings == nil {
			findings = []schema.Finding{}
		}
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"findings": findings}); err != nil {
			return err
		}
	case "github":
		for _, f := range findings {
			fmt.Fprintf(bw, "::%s file=%s,line=%d,col=%d::%s\n", f.Severity, githubEscapeProperty(f.Path), f.Line, f.Column, githubEscape(f.Message))
		}
	default:
		for _, f := range findings {
			fmt.Fprintln(bw, f.Error())
		}
	}
	return bw.Flush()
}

// githubEscape escapes a message for a GitHub Actions workflow command.
func githubEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// githubEscapeProperty escapes a property value (file=…) of a workflow command.
func githubEscapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// worktreeInput reads the files to lint from the file system.
func worktreeInput(g *globalFlags, args []string) (schema.LintInput, []schema.Finding, error) {
	personaDir := filepath.Join(g.repo, g.dir)
	unitDir := filepath.Join(g.repo, g.unitTests)
	explicit := len(args) > 0
	if !explicit {
		args = []string{personaDir, unitDir}
	}
	var in schema.LintInput
	var pre []schema.Finding
	seen := map[string]bool{}
	for _, arg := range args {
		paths, links, err := yamlFiles(arg, explicit)
		if err != nil {
			return in, nil, err
		}
		for _, l := range links {
			pre = append(pre, schema.Finding{Path: l, Line: 1, Column: 1, Severity: schema.SeverityError,
				Message: "is a symbolic link; persona and unit-test files must be regular files"})
		}
		for _, p := range paths {
			if abs, err := filepath.Abs(p); err == nil {
				if seen[abs] {
					continue
				}
				seen[abs] = true
			}
			data, err := readLimited(p)
			if err != nil {
				return in, nil, err
			}
			f := schema.File{Path: p, Data: data}
			if within(p, unitDir) {
				in.UnitTests = append(in.UnitTests, f)
			} else {
				in.Personas = append(in.Personas, f)
			}
		}
	}
	if len(in.UnitTests) > 0 && explicit {
		in.KnownIDs = knownIDs(personaDir)
	}
	return in, pre, nil
}

// yamlFiles lists the YAML files at path (a file, or a directory searched
// recursively) and the symbolic links found there.
func yamlFiles(path string, mustExist bool) (files, links []string, err error) {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) && !mustExist {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("lint %s: %w", path, err)
	}
	if !info.IsDir() {
		if info.Mode()&fs.ModeSymlink != 0 {
			return nil, []string{path}, nil
		}
		return []string{path}, nil, nil
	}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() || !isYAML(p) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			links = append(links, p)
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("lint %s: %w", path, err)
	}
	return files, links, nil
}

func isYAML(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	return ext == ".yaml" || ext == ".yml"
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, schema.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return data, nil
}

// within reports whether path lies inside dir.
func within(path, dir string) bool {
	ap, err1 := filepath.Abs(path)
	ad, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(ad, ap)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// knownIDs returns the ids of the valid persona files in dir, so a unit test
// linted alone is checked against the repository's personas.
func knownIDs(dir string) map[string]bool {
	ids := map[string]bool{}
	paths, _, _ := yamlFiles(dir, false)
	for _, p := range paths {
		if data, err := readLimited(p); err == nil {
			if per, _, _ := schema.ParsePersona(p, data); per != nil {
				ids[per.ID] = true
			}
		}
	}
	return ids
}

// stagedInput reads the staged blobs of the persona and unit-test directories
// with the git command line, which honours GIT_INDEX_FILE inside hooks.
func stagedInput(g *globalFlags) (schema.LintInput, []schema.Finding, error) {
	var in schema.LintInput
	var pre []schema.Finding
	out, err := gitOutput(g.repo, nil, "ls-files", "--stage", "-z", "--", g.dir, g.unitTests)
	if err != nil {
		return in, nil, err
	}
	type entry struct{ mode, hash, path string }
	var entries []entry
	for _, rec := range bytes.Split(out, []byte{0}) {
		meta, path, ok := bytes.Cut(rec, []byte{'\t'})
		fields := strings.Fields(string(meta))
		if !ok || len(fields) < 3 || !isYAML(string(path)) {
			continue
		}
		p := filepath.ToSlash(string(path))
		switch fields[0] {
		case "120000":
			pre = append(pre, schema.Finding{Path: p, Line: 1, Column: 1, Severity: schema.SeverityError,
				Message: "is a symbolic link; persona and unit-test files must be regular files"})
		case "160000":
			pre = append(pre, schema.Finding{Path: p, Line: 1, Column: 1, Severity: schema.SeverityError,
				Message: "is a submodule, not a file"})
		default:
			entries = append(entries, entry{fields[0], fields[1], p})
		}
	}
	var req bytes.Buffer
	for _, e := range entries {
		req.WriteString(e.hash + "\n")
	}
	blobs, err := gitOutput(g.repo, &req, "cat-file", "--batch")
	if err != nil {
		return in, nil, err
	}
	r := bufio.NewReader(bytes.NewReader(blobs))
	for _, e := range entries {
		var hash, typ string
		var size int
		if _, err := fmt.Fscanf(r, "%s %s %d\n", &hash, &typ, &size); err != nil {
			return in, nil, fmt.Errorf("read staged blob %s: %w", e.path, err)
		}
		data := make([]byte, size+1)
		if _, err := io.ReadFull(r, data); err != nil {
			return in, nil, fmt.Errorf("read staged blob %s: %w", e.path, err)
		}
		f := schema.File{Path: e.path, Data: data[:size]}
		if strings.HasPrefix(e.path, path.Clean(filepath.ToSlash(g.unitTests))+"/") {
			in.UnitTests = append(in.UnitTests, f)
		} else {
			in.Personas = append(in.Personas, f)
		}
	}
	return in, pre, nil
}

func gitOutput(dir string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
