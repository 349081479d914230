package gittest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/personaregistry/personas/registry/repogen"
)

// Generated returns a bare repository with the history repogen makes of
// cfg, made once per machine under the temporary directory (into a
// temporary name, then renamed, so that a half-made one is never used) and
// reused by later tests and runs. Callers must not write to it.
func Generated(t testing.TB, cfg repogen.Config) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("personas-gen-%d-%d-%d.git", cfg.Personas, cfg.Commits, cfg.Seed))
	if cfg.Dir != "" && cfg.Dir != repogen.DefaultDir {
		t.Fatalf("gittest.Generated: only the default persona directory is cached, not %q", cfg.Dir)
	}
	if _, err := Try(dir, nil, "", "rev-parse", "--verify", "--quiet", "refs/heads/main"); err == nil {
		return dir
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "personas-gen-making-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := repogen.Create(filepath.Join(tmp, "repo.git"), cfg); err != nil {
		t.Fatalf("repogen: %v", err)
	}
	os.RemoveAll(dir) // a broken leftover
	if err := os.Rename(filepath.Join(tmp, "repo.git"), dir); err != nil {
		if _, err2 := Try(dir, nil, "", "rev-parse", "--verify", "--quiet", "refs/heads/main"); err2 == nil {
			return dir // another test process made it first
		}
		t.Fatal(err)
	}
	return dir
}
