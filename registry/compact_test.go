package registry

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"unsafe"

	"github.com/personaregistry/personas/registry/gittest"
	"github.com/personaregistry/personas/registry/repogen"
)

// dumpState prints a state's personas and files, field by field; versions
// print as the addresses of their (never moved) Version values.
func dumpState(s *indexState) string {
	var out []string
	for id, p := range s.Personas {
		out = append(out, fmt.Sprintf("persona %s %+v", id, *p))
	}
	for path, f := range s.Files {
		plain := *f
		plain.Valid = nil // moved: its address changes
		line := fmt.Sprintf("file %s %+v", path, plain)
		if f.Valid != nil {
			line += fmt.Sprintf(" valid=%+v", *f.Valid)
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}

// sharing lists which personas of each checkpoint are the head's very
// objects, and which hold a prefix of the same update array.
func sharing(head *indexState, cps []*indexState) string {
	var out []string
	for i, cp := range cps {
		for id, p := range cp.Personas {
			h := head.Personas[id]
			sameArray := len(p.Updates) > 0 && len(h.Updates) > 0 && unsafe.SliceData(p.Updates) == unsafe.SliceData(h.Updates)
			out = append(out, fmt.Sprintf("%d %s object=%v updates=%v", i, id, p == h, sameArray))
		}
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}

// TestCompactKeepsStateAndSharing: compacting after a walk moves the
// personas and files but changes none of their values, and the checkpoints
// share with the head exactly what they shared before (no copy doubles).
func TestCompactKeepsStateAndSharing(t *testing.T) {
	r := openGeneratedRegistry(t)
	ctx := context.Background()
	if _, err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	err := r.do(ctx, func() error {
		cps := r.checkpoints.states()
		if len(cps) < 3 {
			t.Fatalf("%d checkpoints after 400 commits, want the tails' at least", len(cps))
		}
		before := []string{dumpState(r.state)}
		for _, cp := range cps {
			before = append(before, dumpState(cp))
		}
		shared := sharing(r.state, cps)
		old := maps0(r.state)

		r.state.compact(cps)

		after := []string{dumpState(r.state)}
		for _, cp := range cps {
			after = append(after, dumpState(cp))
		}
		for i := range before {
			if before[i] != after[i] {
				t.Errorf("state %d changed by compact:\nbefore %s\nafter  %s", i, before[i], after[i])
			}
		}
		if got := sharing(r.state, cps); got != shared {
			t.Errorf("sharing with the checkpoints changed:\nbefore %s\nafter  %s", shared, got)
		}
		for id, p := range r.state.Personas {
			if p == old[id] {
				t.Errorf("persona %s was not moved", id)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// openGeneratedRegistry opens, without a cache, a registry of a small
// generated history (30 personas, 400 commits); it is closed at the end of
// the test.
func openGeneratedRegistry(t *testing.T) *Registry {
	t.Helper()
	gittest.NeedGit(t)
	dir := gittest.Generated(t, repogen.Config{Personas: 30, Commits: 400, Seed: 5})
	r, err := Open(Options{Repo: dir, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func maps0(s *indexState) map[string]*Persona {
	m := make(map[string]*Persona, len(s.Personas))
	for id, p := range s.Personas {
		m[id] = p
	}
	return m
}
