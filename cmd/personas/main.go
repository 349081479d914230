// Command personas manages simulated-user personas kept as YAML files in a git
// repository: it lints them, shows their history and serves Amigo's persona API.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes shared by every command.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

// exitError ends the program with a code; a nil err prints nothing.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// globalFlags are the flags every command understands.
type globalFlags struct {
	repo      string
	branch    string
	dir       string
	unitTests string
	org       string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stopProfiles := startProfiles(stderr)
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	stopProfiles()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "personas:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "personas:", err)
	return exitUsage
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "personas",
		Short:         "Manage simulated-user personas kept as YAML files in git",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags())
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.repo, "repo", ".", "git repository (bare or with a worktree)")
	pf.StringVar(&g.branch, "branch", "main", "served branch")
	pf.StringVar(&g.dir, "dir", "personas", "persona directory inside the repository")
	pf.StringVar(&g.unitTests, "unit-tests", "unit_tests", "unit-test directory inside the repository")
	pf.StringVar(&g.org, "org", "default", "organization served")
	root.AddCommand(
		newLintCmd(g),
		newNewCmd(g),
		newHookCmd(g),
	)
	for _, extra := range extraCommands {
		root.AddCommand(extra(g))
	}
	setVersionFlag(root)
	addExamples(root)
	return root
}

// extraCommands lets files add commands without editing newRootCmd.
var extraCommands []func(*globalFlags) *cobra.Command

// applyEnv sets every flag not given on the command line from PERSONAS_<FLAG>
// (upper case, dashes as underscores), e.g. PERSONAS_ADDR for --addr.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "PERSONAS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = &exitError{code: exitUsage, err: fmt.Errorf("%s=%q: %w", name, v, e)}
			}
		}
	})
	return err
}

// usageError wraps an error as a usage error (exit 2).
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}
