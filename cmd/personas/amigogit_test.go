package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/personaregistry/personas/server/client/amigotest"
)

func TestEnsureRepo(t *testing.T) {
	cases := []struct {
		name    string
		dir     func(t *testing.T) string
		created bool
		err     string
	}{
		{"missing directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "new") }, true, ""},
		{"empty directory", func(t *testing.T) string { return t.TempDir() }, true, ""},
		{"repository with a worktree", func(t *testing.T) string { return newWorkRepo(t).dir }, false, ""},
		{"bare repository", func(t *testing.T) string { return amigotest.EmptyRepo(t) }, false, ""},
		{"directory inside a repository", func(t *testing.T) string {
			d := filepath.Join(newWorkRepo(t).dir, "sub")
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			return d
		}, false, "inside the git repository"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			created, err := ensureRepo(dir, "main")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("ensureRepo: %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil || created != tc.created {
				t.Fatalf("ensureRepo = %v, %v; want created %v", created, err, tc.created)
			}
			if top := amigotest.Git(t, dir, "rev-parse", "--is-inside-work-tree", "--is-bare-repository"); top == "" {
				t.Errorf("%s is not a repository after ensureRepo", dir)
			}
		})
	}
}
