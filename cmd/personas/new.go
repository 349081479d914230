package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/personaregistry/personas/schema"
)

type newOptions struct {
	name, role, language, timezone string
	tags                           []string
}

func newNewCmd(g *globalFlags) *cobra.Command {
	o := &newOptions{}
	cmd := &cobra.Command{
		Use:   "new --name NAME --role ROLE [--tag k=v]... [--language L] [--timezone Z]",
		Short: "Write a new persona file with a fresh id",
		Long: `Write <dir>/<slug of name>.yaml with a fresh id. The background is read from
standard input, or from $EDITOR when standard input is a terminal. The persona is
linted (with the other files of the persona directory) before it is written; an
existing file is never overwritten (a numeric suffix is added).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNew(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "persona name (unique among live personas)")
	f.StringVar(&o.role, "role", "", "persona role, e.g. patient")
	f.StringArrayVar(&o.tags, "tag", nil, "tag as key=value (key= for a null value); repeatable")
	f.StringVar(&o.language, "language", "", "preferred language, ISO 639-3 (e.g. eng)")
	f.StringVar(&o.timezone, "timezone", "", "IANA timezone (e.g. Europe/Paris)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func runNew(cmd *cobra.Command, g *globalFlags, o *newOptions) error {
	p := &schema.Persona{ID: schema.NewID(time.Now()), Name: o.name, Role: o.role, Tags: map[string]*string{}}
	for _, t := range o.tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return usageError("--tag %q: want key=value", t)
		}
		if v == "" {
			p.Tags[k] = nil
		} else {
			p.Tags[k] = &v
		}
	}
	if o.language != "" {
		p.PreferredLanguage = &o.language
	}
	if o.timezone != "" {
		p.Timezone = &o.timezone
	}
	bg, err := readBackground(cmd.InOrStdin())
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	p.Background = bg
	p.Normalize()
	dir := filepath.Join(g.repo, g.dir)
	target, err := freePath(dir, schema.Slug(p.Name))
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	data := schema.Render(p, modelinePath(g.repo, dir))
	if err := lintNew(cmd.OutOrStdout(), dir, target, data); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("write %s: %w", target, err)}
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return &exitError{code: exitUsage, err: fmt.Errorf("write %s: %w", target, err)}
	}
	if err := f.Close(); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("write %s: %w", target, err)}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: created persona %s (%s)\n", target, p.ID, p.Name)
	return nil
}

// lintNew lints the new file together with the persona directory, so a
// duplicate name is caught before anything is written.
func lintNew(w io.Writer, dir, target string, data []byte) error {
	var in schema.LintInput
	paths, _, _ := yamlFiles(dir, false)
	for _, p := range paths {
		if d, err := readLimited(p); err == nil {
			in.Personas = append(in.Personas, schema.File{Path: p, Data: d})
		}
	}
	// last, so that a name or id it shares is reported on the new file
	in.Personas = append(in.Personas, schema.File{Path: target, Data: data})
	var mine []schema.Finding
	for _, f := range schema.Lint(in) {
		if f.Path == target {
			mine = append(mine, f)
		}
	}
	if !schema.HasErrors(mine) {
		return printFindings(w, "text", mine)
	}
	_ = printFindings(w, "text", mine)
	return &exitError{code: exitFindings, err: fmt.Errorf("nothing written: fix the errors above")}
}

// freePath returns dir/slug.yaml, or dir/slug-2.yaml … when taken.
func freePath(dir, slug string) (string, error) {
	for i := 1; i < 1000; i++ {
		name := slug + ".yaml"
		if i > 1 {
			name = fmt.Sprintf("%s-%d.yaml", slug, i)
		}
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no free file name for %s in %s", slug, dir)
}

// modelinePath is the schema path for the editor modeline: the repository's
// schema/persona.schema.json relative to dir, when the repository has one.
func modelinePath(repo, dir string) string {
	schemaFile := filepath.Join(repo, "schema", "persona.schema.json")
	if _, err := os.Stat(schemaFile); err != nil {
		return ""
	}
	rel, err := filepath.Rel(dir, schemaFile)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

// readBackground reads the background from stdin, or from $EDITOR when stdin
// is a terminal.
func readBackground(stdin io.Reader) (string, error) {
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		return editBackground()
	}
	data, err := io.ReadAll(io.LimitReader(stdin, schema.MaxFileSize))
	if err != nil {
		return "", fmt.Errorf("read background from stdin: %w", err)
	}
	bg := strings.TrimSpace(string(data))
	if bg == "" {
		return "", errors.New("the background is empty: write it on standard input")
	}
	return bg + "\n", nil
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func editBackground() (string, error) {
	editor := os.Getenv("EDITOR")
	if editor == "" {
		return "", errors.New("standard input is a terminal and $EDITOR is not set: pipe the background in")
	}
	tmp, err := os.CreateTemp("", "persona-background-*.txt")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	tmp.WriteString("\n# Write the persona's background above. Lines starting with # are ignored.\n")
	tmp.Close()
	c := exec.Command("sh", "-c", editor+` "$1"`, "editor", tmp.Name())
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("run $EDITOR: %w", err)
	}
	data, err := os.ReadFile(tmp.Name())
	if err != nil {
		return "", err
	}
	var lines []string
	for _, l := range bytes.Split(data, []byte("\n")) {
		if !bytes.HasPrefix(l, []byte("#")) {
			lines = append(lines, string(l))
		}
	}
	bg := strings.TrimSpace(strings.Join(lines, "\n"))
	if bg == "" {
		return "", errors.New("the background is empty: nothing written")
	}
	return bg + "\n", nil
}
