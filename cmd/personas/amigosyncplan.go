package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/server/client"
)

// syncTag is the Amigo tag that maps an Amigo persona to its git persona:
// "<git id> <state hash>", the hash of the name, role, tags and latest
// content the last sync left there (see README, "Keeping Amigo in sync").
const syncTag = "personas_sync"

// maxTags is the API's limit of tags per persona.
const maxTags = 20

var gitIDRe = regexp.MustCompile(`^[a-f0-9]{24}$`)

// syncMark is a parsed sync tag.
type syncMark struct{ gitID, hash string }

func parseSyncMark(tags map[string]*string) (syncMark, bool) {
	v, ok := tags[syncTag]
	if !ok || v == nil {
		return syncMark{}, false
	}
	f := strings.Fields(*v)
	if len(f) != 2 || !gitIDRe.MatchString(f[0]) {
		return syncMark{}, false
	}
	return syncMark{f[0], f[1]}, true
}

// stateHash fingerprints what sync manages of a persona: name, role, tags
// (without the sync tag) and latest content.
func stateHash(name, role string, tags map[string]*string, c client.Content) string {
	t := maps.Clone(tags)
	delete(t, syncTag)
	if t == nil {
		t = map[string]*string{}
	}
	c = normalizeContent(c)
	b, _ := json.Marshal(struct {
		Name, Role string
		Tags       map[string]*string
		Content    client.Content
	}{name, role, t, c})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:10])
}

func normalizeContent(c client.Content) client.Content {
	if c.UserModels == nil {
		c.UserModels = []string{}
	}
	if c.NonsensitiveUserVariables == nil {
		c.NonsensitiveUserVariables = map[string]string{}
	}
	if c.SensitiveUserVariables == nil {
		c.SensitiveUserVariables = map[string]string{}
	}
	return c
}

// syncAction is what sync does (or reports) for one git persona, or one
// Amigo persona git does not know.
type syncAction struct {
	Op      string // create, version, retag, replace, delete, drift, unmanaged, invalid
	GitID   string
	AmigoID string
	Name    string
	Detail  string

	deletes []string              // phase 1: Amigo ids to delete
	create  *client.CreateRequest // phase 2
	version *client.Content       // phase 3, on AmigoID, as version expect
	expect  int
	tags    map[string]*string // phase 3, on AmigoID, after the version
}

// changes reports whether the action makes calls.
func (a *syncAction) changes() bool {
	return len(a.deletes) > 0 || a.create != nil || a.version != nil || a.tags != nil
}

// amigoView is an org as sync reads it: every persona and, on demand, the
// latest version of the live ones (cached by id and updated_at, so a
// re-plan after a lost answer reads only what changed).
type amigoView struct {
	c        *client.Client
	personas []client.Persona
	cache    map[string]*client.Version // "id updated_at" → latest
}

func (v *amigoView) read(ctx context.Context) error {
	v.personas = v.personas[:0]
	for p, err := range v.c.Personas(ctx, client.ListParams{}) {
		if err != nil {
			return fmt.Errorf("list the Amigo org's personas: %w", err)
		}
		v.personas = append(v.personas, p)
	}
	return nil
}

// forget drops what is cached of the persona with Amigo id: a write to it
// within the second of its last update leaves updated_at as it was, so the
// cached latest version would be stale.
func (v *amigoView) forget(id string) {
	for key := range v.cache {
		if strings.HasPrefix(key, id+" ") {
			delete(v.cache, key)
		}
	}
}

func (v *amigoView) latest(ctx context.Context, p client.Persona) (*client.Version, error) {
	key := p.ID + " " + p.UpdatedAt.String()
	if l, ok := v.cache[key]; ok {
		return l, nil
	}
	l, err := v.c.Latest(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("latest version of Amigo persona %s: %w", p.ID, err)
	}
	v.cache[key] = l
	return l, nil
}

// planSync compares the branch with the org and returns the actions, git
// personas first (by id), then the Amigo personas git does not know.
func planSync(ctx context.Context, snap *registry.Snapshot, view *amigoView, force bool) ([]*syncAction, error) {
	groups := map[string][]client.Persona{} // git id → live Amigo personas mapped to it
	var unmanaged []client.Persona
	for _, p := range view.personas {
		gid := ""
		if m, ok := parseSyncMark(p.Tags); ok {
			gid = m.gitID
		} else if _, ok := snap.Persona(p.ID); ok {
			gid = p.ID // imported: the git file keeps the Amigo id
		}
		if _, known := snap.Persona(gid); !known {
			if !p.IsDeleted {
				unmanaged = append(unmanaged, p)
			}
			continue
		}
		if !p.IsDeleted {
			groups[gid] = append(groups[gid], p)
		}
	}
	var actions []*syncAction
	for _, g := range snap.Personas() {
		a, err := planPersona(ctx, g, groups[g.ID], view, force)
		if err != nil {
			return nil, err
		}
		if a != nil {
			actions = append(actions, a)
		}
	}
	for _, p := range unmanaged {
		actions = append(actions, &syncAction{Op: "unmanaged", AmigoID: p.ID, Name: p.Name,
			Detail: "not from git; left alone"})
	}
	return actions, nil
}

// planPersona plans one git persona against its live Amigo counterparts.
func planPersona(ctx context.Context, g *registry.Persona, live []client.Persona, view *amigoView, force bool) (*syncAction, error) {
	a := &syncAction{GitID: g.ID, Name: g.Name}
	if len(live) == 0 {
		if g.IsDeleted {
			return nil, nil
		}
		if len(g.Tags) >= maxTags {
			a.Op, a.Detail = "invalid", fmt.Sprintf("has %d tags; sync needs one of the %d for its %s tag", len(g.Tags), maxTags, syncTag)
			return a, nil
		}
		a.Op, a.create = "create", createRequest(g)
		return a, nil
	}
	// the counterpart: the one with git's name, else the newest; others are
	// left over from an interrupted replace
	slices.SortFunc(live, func(x, y client.Persona) int { return y.CreatedAt.Compare(x.CreatedAt) })
	primary := live[0]
	for _, p := range live {
		if p.Name == g.Name {
			primary = p
			break
		}
	}
	a.AmigoID = primary.ID
	for _, p := range live {
		if p.ID != primary.ID {
			a.deletes = append(a.deletes, p.ID)
		}
	}
	latest, err := view.latest(ctx, primary)
	if err != nil {
		return nil, err
	}
	have := stateHash(primary.Name, primary.Role, primary.Tags, latest.Content)
	mark, marked := parseSyncMark(primary.Tags)
	if drift := driftOf(g, primary, latest, have, mark, marked); drift != "" && !force {
		a.deletes = nil
		a.Op, a.Detail = "drift", drift+"; not overwritten (--force overwrites)"
		return a, nil
	}
	if g.IsDeleted {
		a.Op, a.deletes = "delete", append(a.deletes, primary.ID)
		return a, nil
	}
	if len(g.Tags) >= maxTags {
		a.Op, a.Detail = "invalid", fmt.Sprintf("has %d tags; sync needs one of the %d for its %s tag", len(g.Tags), maxTags, syncTag)
		return a, nil
	}
	want := contentOf(g.Latest().Content)
	wantHash := stateHash(g.Name, g.Role, g.Tags, want)
	tags := syncTags(g, wantHash)
	switch {
	case primary.Name != g.Name || primary.Role != g.Role:
		a.Op = "replace"
		a.Detail = fmt.Sprintf("name/role %q/%q → %q/%q: the API cannot rename, so a new Amigo persona replaces %s", primary.Name, primary.Role, g.Name, g.Role, primary.ID)
		a.deletes = append(a.deletes, primary.ID)
		a.create = createRequest(g)
	case !normalizeContent(latest.Content).Equal(normalizeContent(want)):
		a.Op, a.version, a.expect, a.tags = "version", &want, latest.Version+1, tags
		a.Detail = fmt.Sprintf("v%d → v%d", latest.Version, latest.Version+1)
	case have != wantHash || !marked || mark.hash != wantHash || mark.gitID != g.ID:
		a.Op, a.tags = "retag", tags
		a.Detail = tagsDetail(primary.Tags, tags)
	case len(a.deletes) > 0:
		a.Op, a.Detail = "delete", "leftover of an interrupted replace"
	default:
		return nil, nil
	}
	return a, nil
}

// driftOf says how the Amigo persona changed since the last sync, or "".
// With a sync tag: its state no longer has the recorded hash (and is not
// already what git wants). Without one (imported, never synced): its latest
// content is no version git knows.
func driftOf(g *registry.Persona, p client.Persona, latest *client.Version, have string, mark syncMark, marked bool) string {
	if !g.IsDeleted && have == stateHash(g.Name, g.Role, g.Tags, contentOf(g.Latest().Content)) {
		return ""
	}
	if marked {
		if have == mark.hash {
			return ""
		}
		return fmt.Sprintf("changed in Amigo since the last sync (now version %d, updated %s by %s)",
			latest.Version, p.UpdatedAt.Format("2006-01-02 15:04"), p.UpdatedBy.UserID)
	}
	c := normalizeContent(latest.Content)
	for _, v := range g.Versions {
		if normalizeContent(contentOf(v.Content)).Equal(c) {
			return ""
		}
	}
	return fmt.Sprintf("Amigo's version %d is no version in git", latest.Version)
}

func syncTags(g *registry.Persona, hash string) map[string]*string {
	t := maps.Clone(g.Tags)
	if t == nil {
		t = map[string]*string{}
	}
	v := g.ID + " " + hash
	t[syncTag] = &v
	return t
}

func createRequest(g *registry.Persona) *client.CreateRequest {
	c := contentOf(g.Latest().Content)
	return &client.CreateRequest{Name: g.Name, Role: g.Role, Tags: syncTags(g, stateHash(g.Name, g.Role, g.Tags, c)), InitialVersion: c}
}

// tagsDetail describes a retag by the user tags that change.
func tagsDetail(from, to map[string]*string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(to)) {
		if k == syncTag {
			continue
		}
		if old, ok := from[k]; !ok || !eqStr(old, to[k]) {
			parts = append(parts, "+"+k+":"+strOrNull(to[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(from)) {
		if _, ok := to[k]; !ok && k != syncTag {
			parts = append(parts, "-"+k)
		}
	}
	if len(parts) == 0 {
		return "records the sync state"
	}
	return strings.Join(parts, " ")
}

func eqStr(a, b *string) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }
