package registry_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/personaregistry/personas/registry"
)

// TestOneShotSearchIsLazyAndSame: a one-shot registry builds its snapshot's
// search index on the first search, and answers as a serving one does, also
// when the first searches come at once and after the registry is closed.
func TestOneShotSearchIsLazyAndSame(t *testing.T) {
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML("aaaaaaaaaaaaaaaaaaaaaaa1", "Ann Gardener", "patient", "Grows tomatoes and worries about the weather."))
	r.Write("personas/b.yaml", personaYAML("bbbbbbbbbbbbbbbbbbbbbbb2", "Bob Pilot", "customer", "Flies small planes; afraid of tomatoes."))
	r.QuickCommit("two personas")
	r.Write("personas/a.yaml", personaYAML("aaaaaaaaaaaaaaaaaaaaaaa1", "Ann Gardener", "patient", "Grows roses now."))
	r.QuickCommit("a new background")

	serving := freshSnapshot(t, r.Dir)
	oneShot := openRegistryOpts(t, registry.Options{Repo: r.Dir, NoCache: true, PollInterval: -1, OneShot: true})
	lazy := refresh(t, oneShot)
	oneShot.Close()

	queries := []string{"tomatoes", "roses", "planes", "weather", "pilot", "nothing"}
	results := make([][]string, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries { // the first searches race to build the index
		wg.Go(func() { results[i] = ids(lazy.Search(q, registry.Filter{})) })
	}
	wg.Wait()
	for i, q := range queries {
		if want := ids(serving.Search(q, registry.Filter{})); !slices.Equal(results[i], want) {
			t.Errorf("Search(%q) on a one-shot snapshot = %v, a serving one gives %v", q, results[i], want)
		}
	}
	if got := ids(lazy.Search("tomatoes", registry.Filter{})); !slices.Equal(got, []string{"bbbbbbbbbbbbbbbbbbbbbbb2"}) {
		t.Errorf(`Search("tomatoes") = %v, want Bob alone (Ann's latest background has no tomatoes)`, got)
	}
}

func ids(ps []*registry.Persona) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}
