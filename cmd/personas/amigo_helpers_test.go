package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/server/client"
	"github.com/personaregistry/personas/server/client/amigotest"
)

// gitPersona is a persona file written by a test.
type gitPersona struct {
	ID, Name, Role, Background string
	Tags                       map[string]string
}

func (p gitPersona) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "id: %s\nname: %s\nrole: %s\n", p.ID, p.Name, p.Role)
	if len(p.Tags) > 0 {
		b.WriteString("tags:\n")
		for _, k := range slices.Sorted(maps.Keys(p.Tags)) {
			fmt.Fprintf(&b, "  %s: %s\n", k, p.Tags[k])
		}
	}
	fmt.Fprintf(&b, "background: %q\n", p.Background)
	return b.String()
}

// workRepo is a git repository with a worktree, edited by the test.
type workRepo struct {
	t   *testing.T
	dir string
	n   int
}

func newWorkRepo(t *testing.T) *workRepo {
	t.Helper()
	dir := t.TempDir()
	amigotest.Git(t, dir, "init", "-q", "-b", "main")
	return &workRepo{t: t, dir: dir}
}

// commit writes (content != "") or removes (content == "") files and commits.
func (r *workRepo) commit(msg string, files map[string]string) {
	r.t.Helper()
	for path, content := range files {
		if content == "" {
			amigotest.Git(r.t, r.dir, "rm", "-q", "--", path)
			continue
		}
		full := filepath.Join(r.dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
		amigotest.Git(r.t, r.dir, "add", "--", path)
	}
	amigotest.Git(r.t, r.dir, "commit", "-q", "--allow-empty", "-m", msg)
}

// personas runs the command in-process and returns its exit code and output.
func personas(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String() + errOut.String()
}

// amigoArgs are the flags that point a command at a stand-in.
func amigoArgs(base, token string) []string {
	return []string{"--base-url", base, "--amigo-org", amigotest.Org, "--token", token}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// amigoClient is a client of a stand-in, for checks.
func amigoClient(t *testing.T, si *amigotest.StandIn) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: si.URL, Org: amigotest.Org, Token: si.CheckToken, PerMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// amigoPersona is one live Amigo persona with its latest content.
type amigoPersona struct {
	client.Persona
	Latest client.Version
}

// livePersonas reads the stand-in's live personas by name (failing on a
// name seen twice).
func livePersonas(t *testing.T, si *amigotest.StandIn) map[string]amigoPersona {
	t.Helper()
	c := amigoClient(t, si)
	out := map[string]amigoPersona{}
	for p, err := range c.Personas(testCtx(t), client.ListParams{IsDeleted: new(bool)}) {
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[p.Name]; dup {
			t.Errorf("two live Amigo personas named %q", p.Name)
		}
		l, err := c.Latest(testCtx(t), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[p.Name] = amigoPersona{p, *l}
	}
	return out
}

// expectMatches checks that the live Amigo personas are exactly want, with
// their role, tags (beside the sync tag) and background.
func expectMatches(t *testing.T, si *amigotest.StandIn, want []gitPersona) {
	t.Helper()
	got := livePersonas(t, si)
	if len(got) != len(want) {
		t.Errorf("%d live Amigo personas %v, want %d", len(got), slices.Sorted(maps.Keys(got)), len(want))
	}
	for _, w := range want {
		g, ok := got[w.Name]
		if !ok {
			t.Errorf("no live Amigo persona named %q", w.Name)
			continue
		}
		tags := map[string]string{}
		for k, v := range g.Tags {
			if k != syncTag {
				tags[k] = *v
			}
		}
		if m, ok := parseSyncMark(g.Tags); (!ok || m.gitID != w.ID) && g.ID != w.ID {
			t.Errorf("%q: Amigo id %s, sync tag %v: not mapped to git id %s", w.Name, g.ID, g.Tags[syncTag], w.ID)
		}
		if g.Role != w.Role || g.Latest.Background != w.Background || !maps.Equal(tags, w.Tags) && len(tags)+len(w.Tags) > 0 {
			t.Errorf("%q in Amigo: role %q, tags %v, background %q; want %q, %v, %q", w.Name, g.Role, tags, g.Latest.Background, w.Role, w.Tags, w.Background)
		}
	}
}
