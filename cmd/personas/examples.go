package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Examples: sections of --help, by command path. They are
// real command lines: TestHelpExamplesParse runs each through the flag parser.
var examples = map[string]string{
	"personas serve": `  # serve the repository in the current directory (reads only) on port 8080
  personas serve

  # accept writes from token holders; listen on every interface
  personas serve --repo /srv/personas.git --tokens /etc/personas/tokens.yaml --addr 0.0.0.0:8080

  # replicate a remote: fetch every 30s and on verified push webhooks
  personas serve --remote https://github.com/acme/personas.git --fetch-interval 30s --webhook-secret "$SECRET"`,
	"personas lint": `  # every persona and unit-test file of the repository in the current directory
  personas lint

  # what the next commit will contain, as the pre-commit hook does
  personas lint --staged

  # two files, findings as GitHub annotations in a CI job
  personas lint --format github personas/alice.yaml personas/bob.yaml`,
	"personas diff": `  # what this branch does to the personas, against the merge-base with main
  personas diff

  # uncommitted changes, exit status 1 when there are any
  personas diff --worktree --exit-code

  # a pull request's change as Markdown, for a review comment
  personas diff --format markdown origin/main HEAD`,
	"personas token": `  # a token that may create and modify personas, kept (hashed) in tokens.yaml
  personas token add --tokens tokens.yaml --user ci@example.com --name ci --permission Simulation:CreateSimulationPersona --permission Simulation:ModifySimulationPersona

  # a token of another organization that may only delete
  personas token add --tokens tokens.yaml --org acme --user ops@acme.com --name ops --permission Simulation:DeleteSimulationPersona`,
}

// addExamples sets the examples and moves the Examples: section of every
// command's help to the end, after the flags, where a reader finishes.
func addExamples(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if ex, ok := examples[c.CommandPath()]; ok {
			c.Example = ex
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if add, _, err := root.Find([]string{"token", "add"}); err == nil && add.Example == "" {
		add.Example = examples["personas token"]
	}
	const block = "{{if .HasExample}}\n\nExamples:\n{{.Example}}{{end}}"
	if tmpl := root.UsageTemplate(); strings.Contains(tmpl, block) {
		tmpl = strings.Replace(tmpl, block, "", 1)
		root.SetUsageTemplate(strings.TrimSuffix(tmpl, "\n") + block + "\n")
	}
}
