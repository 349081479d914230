package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/personaregistry/personas/diffview"
	"github.com/personaregistry/personas/registry"
)

func init() {
	extraCommands = append(extraCommands, newDiffCmd)
}

type diffOptions struct {
	format   string
	worktree bool
	exitCode bool
	color    string
}

func newDiffCmd(g *globalFlags) *cobra.Command {
	o := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff [BASE [HEAD]]",
		Short: "Show what a change does to each persona (for reviews and PR comments)",
		Long: `Compare the registry at two commits, persona by persona: which personas are
created, changed, deleted, restored or renamed, which fields differ, whether landing
the change makes a new version, and the lint problems it introduces.
BASE defaults to the merge-base of HEAD with --branch; HEAD defaults to HEAD.
--worktree compares HEAD (or BASE) with the working tree.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text, markdown or json")
	f.BoolVar(&o.worktree, "worktree", false, "compare with the working tree")
	f.BoolVar(&o.exitCode, "exit-code", false, "exit 1 when anything differs (like git diff --exit-code)")
	f.StringVar(&o.color, "color", "auto", "color the text format: auto, always or never")
	return cmd
}

func runDiff(cmd *cobra.Command, g *globalFlags, o *diffOptions, args []string) error {
	opts := registry.DiffOptions{Repo: g.repo, Branch: g.branch, Dir: g.dir, UnitTests: g.unitTests, Worktree: o.worktree}
	if len(args) > 0 {
		opts.Base = args[0]
	}
	if len(args) > 1 {
		if o.worktree {
			return usageError("--worktree compares with the working tree: give at most BASE")
		}
		opts.Head = args[1]
	}
	bar := newProgressBar(cmd.ErrOrStderr())
	opts.Progress = bar.progressFunc()
	d, err := registry.CompareRevisions(cmd.Context(), opts)
	bar.finish()
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	w := bufio.NewWriter(cmd.OutOrStdout())
	switch o.format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(d)
	case "markdown":
		diffview.WriteMarkdown(w, d)
	case "text":
		diffview.WriteText(w, d, useColor(o.color, cmd.OutOrStdout()))
	default:
		return usageError("--format %q: want text, markdown or json", o.format)
	}
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if o.exitCode && (len(d.Personas) > 0 || len(d.Problems) > 0) {
		return &exitError{code: exitFindings}
	}
	return nil
}

func useColor(mode string, out io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := out.(*os.File)
	return ok && os.Getenv("NO_COLOR") == "" && isTerminal(f)
}

// strOrNull shows an optional string, "null" when absent.
func strOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
