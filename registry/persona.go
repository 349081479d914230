package registry

import (
	"maps"
	"slices"
	"time"

	"github.com/personaregistry/personas/schema"
)

// Persona is one persona as the history made it: identity, descriptive
// fields, lifecycle and every version. A Persona in a Snapshot is immutable.
type Persona struct {
	ID        string
	Name      string
	Role      string
	Tags      map[string]*string
	IsDeleted bool
	// Path is the file that holds the persona (its last file when deleted).
	Path string

	CreatedAt     time.Time
	Creator       string // author email of the commit where the id first appeared
	CreatedCommit string
	UpdatedAt     time.Time
	UpdatedBy     string
	UpdatedCommit string

	Versions []*Version // oldest first; Versions[i].Number == i+1
	// Updates are the commits that changed the persona other than by its
	// first version: retags, renames, role changes, moves to another file,
	// deletions and restores (oldest first). A commit that also made a
	// version is listed here too when it changed one of those.
	Updates []Update

	owner uint64 // the line of states that may append to Versions and Updates in place
}

// Update is one commit's change to a persona's name, role, tags, path or
// deleted state. Only what changed is set; it holds no file content.
type Update struct {
	Commit  string
	Subject string // first line of the commit message
	At      time.Time
	Author  string
	// OldName/NewName, OldRole/NewRole and OldPath/NewPath are set when
	// that field changed.
	OldName, NewName string
	OldRole, NewRole string
	OldPath, NewPath string
	// TagsAdded and TagsRemoved are "key:value" ("key:" for a null value); a
	// changed value is a removal and an addition.
	TagsAdded, TagsRemoved []string
	Deleted, Restored      bool
}

// Kinds names what the update did: "deleted", "restored", "renamed",
// "role changed", "retagged", "moved", in that order.
func (u *Update) Kinds() []string {
	var out []string
	for _, k := range []struct {
		on   bool
		name string
	}{{u.Deleted, "deleted"}, {u.Restored, "restored"}, {u.OldName != u.NewName, "renamed"},
		{u.OldRole != u.NewRole, "role changed"}, {len(u.TagsAdded)+len(u.TagsRemoved) > 0, "retagged"},
		{u.OldPath != u.NewPath, "moved"}} {
		if k.on {
			out = append(out, k.name)
		}
	}
	return out
}

// Latest returns the newest version, or nil for a persona with none.
func (p *Persona) Latest() *Version {
	if len(p.Versions) == 0 {
		return nil
	}
	return p.Versions[len(p.Versions)-1]
}

// clone returns a shallow copy whose fields can be changed without touching p.
func (p *Persona) clone() *Persona {
	c := *p
	return &c
}

// Content is the versioned part of a persona.
type Content struct {
	Background                Text
	PreferredLanguage         *string
	Timezone                  *string
	UserModels                []string
	NonsensitiveUserVariables map[string]string
	SensitiveUserVariables    map[string]string
}

// Version is one numbered version of a persona: the commit that made it and
// the content it holds.
type Version struct {
	Number    int
	Commit    string
	Subject   string // first line of the commit message
	CreatedAt time.Time
	Creator   string
	Content
}

// contentOf returns the versioned content of a valid persona file whose
// background is bg.
func contentOf(f *schema.Persona, bg Text) Content {
	return versionValues.content(Content{
		Background:                bg,
		PreferredLanguage:         f.PreferredLanguage,
		Timezone:                  f.Timezone,
		UserModels:                f.UserModels,
		NonsensitiveUserVariables: f.NonsensitiveUserVariables,
		SensitiveUserVariables:    f.SensitiveUserVariables,
	})
}

// Equal reports whether two contents are the same values.
func (c *Content) Equal(o *Content) bool {
	return c.Background == o.Background &&
		eqPtr(c.PreferredLanguage, o.PreferredLanguage) &&
		eqPtr(c.Timezone, o.Timezone) &&
		slices.Equal(c.UserModels, o.UserModels) &&
		maps.Equal(c.NonsensitiveUserVariables, o.NonsensitiveUserVariables) &&
		maps.Equal(c.SensitiveUserVariables, o.SensitiveUserVariables)
}

// shareWith makes c reuse prev's values for every field that is equal, so
// versions that don't change a field share its memory.
func (c *Content) shareWith(prev *Content) {
	if c.Background == prev.Background {
		c.Background = prev.Background
	}
	if eqPtr(c.PreferredLanguage, prev.PreferredLanguage) {
		c.PreferredLanguage = prev.PreferredLanguage
	}
	if eqPtr(c.Timezone, prev.Timezone) {
		c.Timezone = prev.Timezone
	}
	if slices.Equal(c.UserModels, prev.UserModels) {
		c.UserModels = prev.UserModels
	}
	if maps.Equal(c.NonsensitiveUserVariables, prev.NonsensitiveUserVariables) {
		c.NonsensitiveUserVariables = prev.NonsensitiveUserVariables
	}
	if maps.Equal(c.SensitiveUserVariables, prev.SensitiveUserVariables) {
		c.SensitiveUserVariables = prev.SensitiveUserVariables
	}
}

func eqPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// tagsEqual compares two tag maps, null values included.
func tagsEqual(a, b map[string]*string) bool {
	return maps.EqualFunc(a, b, eqPtr)
}

// Problem is a file at the served head that failed to parse or validate, or
// breaks a rule across files (duplicate id, dangling unit-test reference).
type Problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
	Commit  string `json:"commit"` // the commit that introduced the problem
}
