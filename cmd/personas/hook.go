package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// hookMarker identifies a pre-commit hook written by this command.
const hookMarker = "# installed by: personas hook install"

func newHookCmd(g *globalFlags) *cobra.Command {
	hook := &cobra.Command{Use: "hook", Short: "Manage the git pre-commit hook"}
	var force bool
	install := &cobra.Command{
		Use:   "install",
		Short: "Install a pre-commit hook that runs `personas lint --staged`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := installHook(g, force)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "installed %s\n", path)
			return nil
		},
	}
	install.Flags().BoolVar(&force, "force", false, "replace a pre-commit hook not written by personas")
	hook.AddCommand(install)
	return hook
}

func installHook(g *globalFlags, force bool) (string, error) {
	out, err := gitOutput(g.repo, nil, "rev-parse", "--git-path", "hooks")
	if err != nil {
		return "", fmt.Errorf("find the hooks directory: %w", err)
	}
	hooksDir := strings.TrimSpace(string(out))
	if !filepath.IsAbs(hooksDir) {
		hooksDir = filepath.Join(g.repo, hooksDir)
	}
	path := filepath.Join(hooksDir, "pre-commit")
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", err
	case !bytes.Contains(old, []byte(hookMarker)) && !force:
		return "", fmt.Errorf("%s exists and was not written by personas: keep it, or replace it with --force", path)
	}
	self, _ := os.Executable()
	script := fmt.Sprintf(`#!/bin/sh
%s
# Lints the persona files the commit will contain. Skip once with: git commit --no-verify
personas=personas
command -v personas >/dev/null 2>&1 || personas=%q
exec "$personas" lint --staged --dir %q --unit-tests %q
`, hookMarker, self, g.dir, g.unitTests)
	if err := os.MkdirAll(hooksDir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", err
	}
	return path, os.Chmod(path, 0o755)
}
