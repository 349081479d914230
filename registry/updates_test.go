package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
)

// Every change of a persona's name, role, tags, path or deleted state is
// kept in Updates with its commit, oldest first; a pure content edit is a
// version only. Incremental refreshes keep the same list (r.at checks it).
func TestRuleUpdatesAreKept(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Background.", "tags:\n  tier: gold\n  channel: web"))
	c1 := r.Commit("create")
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Background.", "tags:\n  tier: silver\n  channel: web\n  vip:"))
	c2 := r.CommitWith("retag", commitOpts{AuthorEmail: "bob@example.com"})
	r.Write("personas/a.yaml", personaYAML(idA, "Alpha Prime", "patient", "Background.", "tags:\n  tier: silver\n  channel: web\n  vip:"))
	c3 := r.Commit("rename")
	r.Move("personas/a.yaml", "personas/team/alpha.yaml")
	c4 := r.Commit("move")
	r.Write("personas/team/alpha.yaml", personaYAML(idA, "Alpha Prime", "customer", "Edited.", "tags:\n  tier: silver\n  channel: web\n  vip:"))
	c5 := r.Commit("edit and change role")
	r.Remove("personas/team/alpha.yaml")
	c6 := r.Commit("delete")
	r.Write("personas/back.yaml", personaYAML(idA, "Alpha Prime", "customer", "Edited.", "tags:\n  tier: silver\n  channel: web\n  vip:"))
	c7 := r.Commit("restore")
	r.Write("personas/back.yaml", personaYAML(idA, "Alpha Prime", "customer", "Edited again.", "tags:\n  tier: silver\n  channel: web\n  vip:"))
	c8 := r.Commit("edit only")

	p := mustPersona(t, r.at(t), idA)
	checkVersions(t, p, c1, c5, c8)
	want := []struct{ commit, subject, author, what string }{
		{c2, "retag", "bob@example.com", "retagged +tier:silver +vip: -tier:gold"},
		{c3, "rename", testAuthor, "renamed Alpha→Alpha Prime"},
		{c4, "move", testAuthor, "moved personas/a.yaml→personas/team/alpha.yaml"},
		{c5, "edit and change role", testAuthor, "role changed patient→customer"},
		{c6, "delete", testAuthor, "deleted"},
		{c7, "restore", testAuthor, "restored; moved personas/team/alpha.yaml→personas/back.yaml"},
	}
	if len(p.Updates) != len(want) {
		t.Fatalf("%d updates, want %d:\n%s", len(p.Updates), len(want), dumpSnapshot(r.at(t)))
	}
	for i, w := range want {
		u := p.Updates[i]
		if u.Commit != w.commit || u.Subject != w.subject || u.Author != w.author || fmtUpdate(u) != w.what {
			t.Errorf("update %d = %s %q by %s: %s\nwant %s %q by %s: %s", i, short(u.Commit), u.Subject, u.Author, fmtUpdate(u),
				short(w.commit), w.subject, w.author, w.what)
		}
		if at := r.CommitTime(w.commit); !u.At.Equal(at) {
			t.Errorf("update %d at %v, want the commit's time %v", i, u.At, at)
		}
	}
	// A move is an update in the timeline but does not change UpdatedAt
	// (rule 1: the API's updated_at follows name, role, tags and deletion).
	if got := mustPersona(t, freshAt(t, r, c4), idA); got.UpdatedCommit != c3 || len(got.Updates) != 3 {
		t.Errorf("at the move: UpdatedCommit %s with %d updates, want %s with 3", short(got.UpdatedCommit), len(got.Updates), short(c3))
	}
}

// freshAt indexes the repository at a commit.
func freshAt(t *testing.T, r *testRepo, rev string) *registry.Snapshot {
	t.Helper()
	return refresh(t, openRegistryOpts(t, registry.Options{Repo: r.Dir, Rev: rev, NoCache: true, PollInterval: -1}))
}

// A ref snapshot built from the served state and the served branch moving
// on share the persona's earlier updates; neither sees the other's new one.
func TestUpdatesOfRefAndBranchStayApart(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	tags := func(tier string) string { return "tags:\n  tier: " + tier }
	for _, tier := range []string{"a", "b", "c", "d"} { // three updates: a full slice would have room for one more
		r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", "Background.", tags(tier)))
		r.Commit("tier " + tier)
	}
	ref, feature, head, onMain := refThenMain(t, r,
		personaYAML(idA, "Alpha", "patient", "Background.", tags("feature")),
		personaYAML(idA, "Alpha", "patient", "Background.", tags("main")))

	last := func(s *registry.Snapshot) registry.Update {
		p := mustPersona(t, s, idA)
		return p.Updates[len(p.Updates)-1]
	}
	if u := last(ref); u.Commit != feature || fmtUpdate(u) != "retagged +tier:feature -tier:d" {
		t.Errorf("the ref's last update: %s %s, want %s", short(u.Commit), fmtUpdate(u), short(feature))
	}
	if u := last(head); u.Commit != onMain || fmtUpdate(u) != "retagged +tier:main -tier:d" {
		t.Errorf("main's last update: %s %s, want %s", short(u.Commit), fmtUpdate(u), short(onMain))
	}
	for _, s := range []*registry.Snapshot{ref, head} {
		if n := len(mustPersona(t, s, idA).Updates); n != 4 {
			t.Errorf("at %s: %d updates, want 4", short(s.Head), n)
		}
	}
}

// The same for versions: a ref snapshot built from the served state keeps
// its own version when the served branch makes another one on top of the
// same versions.
func TestVersionsOfRefAndBranchStayApart(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	for _, bg := range []string{"a", "b", "c"} { // three versions: a full slice would have room for one more
		r.Write("personas/a.yaml", personaYAML(idA, "Alpha", "patient", bg))
		r.Commit("background " + bg)
	}
	ref, feature, head, onMain := refThenMain(t, r,
		personaYAML(idA, "Alpha", "patient", "feature"), personaYAML(idA, "Alpha", "patient", "main"))
	for _, c := range []struct {
		s            *registry.Snapshot
		commit, want string
	}{{ref, feature, "feature"}, {head, onMain, "main"}} {
		v := mustPersona(t, c.s, idA).Latest()
		if v.Number != 4 || v.Commit != c.commit || v.Background.String() != c.want {
			t.Errorf("at %s: v%d %s %q, want v4 %s %q", short(c.s.Head), v.Number, short(v.Commit), v.Background, short(c.commit), c.want)
		}
	}
}

// refThenMain indexes r, commits onFeature to personas/a.yaml on a branch
// "feature" and takes its ref snapshot, then commits onMain on main and
// refreshes: the snapshots and commits of both sides.
func refThenMain(t *testing.T, r *testRepo, onFeature, onMain string) (ref *registry.Snapshot, featureCommit string, head *registry.Snapshot, mainCommit string) {
	t.Helper()
	reg := openRegistry(t, r.Dir)
	refresh(t, reg)
	r.Git("checkout", "--quiet", "-b", "feature")
	r.Write("personas/a.yaml", onFeature)
	featureCommit = r.Commit("on feature")
	r.Git("checkout", "--quiet", "main")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ref, err := reg.RefSnapshot(ctx, "feature")
	if err != nil {
		t.Fatal(err)
	}
	r.Write("personas/a.yaml", onMain)
	mainCommit = r.Commit("on main")
	return ref, featureCommit, refresh(t, reg), mainCommit
}
