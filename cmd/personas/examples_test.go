package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestHelpExamplesParse checks that serve, lint, diff and token end their
// --help with two or three examples, and that every example line names a
// real command and parses with its flags.
func TestHelpExamplesParse(t *testing.T) {
	for _, path := range []string{"serve", "lint", "diff", "token", "token add"} {
		t.Run(path, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(append(strings.Fields(path), "--help"), strings.NewReader(""), &out, io.Discard); code != 0 {
				t.Fatalf("--help exited %d", code)
			}
			help := out.String()
			i := strings.LastIndex(help, "\nExamples:\n")
			if i < 0 || strings.Contains(help[i:], "Flags:") {
				t.Fatalf("--help does not end with its examples:\n%s", help)
			}
			var lines []string
			for l := range strings.Lines(help[i:]) {
				if l = strings.TrimSpace(l); strings.HasPrefix(l, "personas ") {
					lines = append(lines, l)
				}
			}
			if len(lines) < 2 || len(lines) > 3 {
				t.Errorf("%d examples, want 2 or 3:\n%s", len(lines), help[i:])
			}
			for _, l := range lines {
				root := newRootCmd(strings.NewReader(""), io.Discard, io.Discard)
				cmd, rest, err := root.Find(shellWords(l)[1:])
				if err != nil || cmd == root {
					t.Errorf("%q: no such command (%v)", l, err)
					continue
				}
				if err := cmd.ParseFlags(rest); err != nil {
					t.Errorf("%q: %v", l, err)
				}
				if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
					t.Errorf("%q: %v", l, err)
				}
			}
		})
	}
}
