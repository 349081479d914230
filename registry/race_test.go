package registry_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
)

// Readers walk every persona and version of the current snapshot (and run
// queries on it) while commits are made, Refresh is called and the watcher
// refreshes too. Run with -race. Published snapshots must also stay as they
// were when published: later refreshes must not change them.
func TestConcurrentReadersDuringRefresh(t *testing.T) {
	r := newTestRepo(t)
	ids := []string{idA, idB, idC, "0000000000000000000000d4", "0000000000000000000000e5", "0000000000000000000000f6"}
	rng := rand.New(rand.NewPCG(7, 11))
	path := func(id string, n int) string { return fmt.Sprintf("personas/%d/%s.yaml", n%3, id) }
	where := map[string]string{} // live id → path
	write := func(id string, step int) {
		p, ok := where[id]
		if !ok {
			p = path(id, step)
			where[id] = p
		}
		r.Write(p, personaYAML(id, "Persona "+id[20:], []string{"patient", "customer"}[rng.IntN(2)],
			fmt.Sprintf("Background %d of %s.", rng.IntN(4), id), fmt.Sprintf("tags: {tier: t%d}", rng.IntN(3))))
	}
	for i, id := range ids[:3] {
		write(id, i)
	}
	r.Write("unit_tests/u.yaml", "persona_id: "+idA+"\n")
	r.Commit("create")

	reg := openRegistryOpts(t, registry.Options{Repo: r.Dir, NoCache: true, PollInterval: 20 * time.Millisecond})
	first := refresh(t, reg)
	reg.Watch()

	var stop atomic.Bool
	var walks atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for !stop.Load() {
				walkSnapshot(t, reg.Snapshot(), g)
				walks.Add(1)
				time.Sleep(200 * time.Microsecond) // leave the CPUs to git and the indexer too
			}
		})
	}

	type published struct {
		s    *registry.Snapshot
		dump string
	}
	seen := []published{{first, dumpSnapshot(first)}}
	for step := 1; step <= 24; step++ {
		id := ids[rng.IntN(len(ids))]
		p, live := where[id]
		switch k := rng.IntN(10); {
		case live && k == 0: // delete
			r.Git("rm", "--quiet", p)
			delete(where, id)
		case live && k == 1: // rename
			np := path(id, step+1)
			if np != p {
				r.Move(p, np)
				where[id] = np
			}
		case live && k == 2: // break it
			r.Write(p, "id: "+id+"\nname: [broken\n")
		default:
			write(id, step)
		}
		r.Commit(fmt.Sprintf("step %d", step))
		if step%2 == 0 {
			s := refresh(t, reg)
			seen = append(seen, published{s, dumpSnapshot(s)})
		}
	}
	// Let the watcher catch up, then stop the readers.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := reg.WaitFor(ctx, r.Head()); err != nil {
		t.Errorf("WaitFor head: %v", err)
	}
	stop.Store(true)
	wg.Wait()
	if walks.Load() == 0 {
		t.Error("the readers never ran")
	}
	for i, p := range seen {
		if d := dumpSnapshot(p.s); d != p.dump {
			t.Errorf("published snapshot %d (head %s) changed after later refreshes:\n%s", i, short(p.s.Head), diffDumps(p.dump, d))
		}
	}
	checkSameAsFresh(t, r.Dir, reg.Snapshot())
}

// walkSnapshot reads everything a snapshot holds, and checks what must hold
// in any snapshot.
func walkSnapshot(t *testing.T, s *registry.Snapshot, g int) {
	if s == nil {
		return
	}
	n := 0
	for _, p := range s.Personas() {
		if q, ok := s.Persona(p.ID); !ok || q != p {
			t.Errorf("reader %d: Persona(%s) is not the listed persona", g, p.ID)
		}
		for k, v := range p.Tags {
			n += len(k)
			if v != nil {
				n += len(*v)
			}
		}
		n += len(p.Name) + len(p.Role) + len(p.Path) + len(p.Creator) + len(p.UpdatedBy) + len(p.CreatedCommit) + len(p.UpdatedCommit)
		_ = p.CreatedAt.Before(p.UpdatedAt)
		for i, v := range p.Versions {
			if v.Number != i+1 {
				t.Errorf("reader %d: persona %s version %d numbered %d", g, p.ID, i+1, v.Number)
			}
			n += len(v.Background.String()) + len(v.Commit) + len(v.UserModels) + len(v.NonsensitiveUserVariables) + len(v.SensitiveUserVariables)
			if v.PreferredLanguage != nil {
				n += len(*v.PreferredLanguage)
			}
			for k, val := range v.NonsensitiveUserVariables {
				n += len(k) + len(val)
			}
		}
		if l := p.Latest(); l != nil && l != p.Versions[len(p.Versions)-1] {
			t.Errorf("reader %d: Latest is not the last version", g)
		}
		n += len(s.UnitTests(p.ID))
		if res, err := s.Versions(p.ID, registry.VersionQuery{Desc: true, Limit: 2}); err != nil {
			t.Errorf("reader %d: Versions(%s): %v", g, p.ID, err)
		} else {
			n += len(res.Versions)
		}
		if !p.IsDeleted {
			if q, ok := s.PersonaByName(p.Name); ok {
				n += len(q.ID)
			}
		}
	}
	for _, pr := range s.Problems {
		n += len(pr.Path) + len(pr.Message)
	}
	sorts := []registry.SortKey{{Field: registry.SortUpdatedAt, Desc: g%2 == 0}}
	if g == 3 {
		sorts = append(sorts, registry.SortKey{Field: registry.SortName})
	}
	n += len(s.List(registry.ListQuery{Sort: sorts, Limit: 3, Offset: g}).Personas)
	n += len(s.Search("background persona", registry.Filter{}))
	fv := s.FilterValues()
	n += len(fv.Tags) + len(fv.Roles) + len(fv.Creators)
	_ = n
}
