package ui

import (
	"net/http"
	"strconv"
	"time"

	"github.com/personaregistry/personas/registry"
)

// personaData is the persona page: identity, the latest version's fields,
// unit tests and the history.
type personaData struct {
	P            *registry.Persona
	Tags         []tag
	Latest       *registry.Version
	Sensitive    sensitive
	UnitTests    []string
	Events       []event
	DeletedEvent *event
	From, To     int // the comparison preselected in the history
}

// sensitive is how the sensitive variables of a version are shown.
type sensitive struct {
	Vars   map[string]string // nil when hidden
	Hidden int               // how many are hidden
}

// event is one entry of the history timeline: a version, an update that
// made none, or both when one commit did both.
type event struct {
	Version *registry.Version // nil for an update without a new version
	Kind    string            // "version", "updated" or "deleted"
	Changes []change          // what an update changed
	At      time.Time
	Author  string
	Commit  string
	Subject string
}

// change is one thing an update changed: what it was and what it became.
type change struct {
	Kind     string // "renamed", "retagged", "moved", …
	Old, New []string
}

// lookup finds a persona the viewer may read.
func lookup(req *request) (*registry.Persona, error) {
	id := req.r.PathValue("id")
	p, ok := req.snap.Persona(id)
	if !ok || !req.viewer.may(p) {
		return nil, registry.Errorf(registry.ENOTFOUND, "no persona with id %q", id)
	}
	return p, nil
}

func (u *UI) persona(req *request) error {
	p, err := lookup(req)
	if err != nil {
		return err
	}
	d := &personaData{P: p, Tags: tagList(p.Tags), Latest: p.Latest(), UnitTests: req.snap.UnitTests(p.ID)}
	if d.Latest != nil {
		d.Sensitive = u.sensitiveOf(req, d.Latest)
	}
	d.Events = timeline(p)
	if p.IsDeleted && len(d.Events) > 0 && d.Events[0].Kind == "deleted" {
		d.DeletedEvent = &d.Events[0]
	}
	d.To = len(p.Versions)
	d.From = max(1, d.To-1)
	u.render(req, http.StatusOK, "persona", p.Name, d)
	return nil
}

// sensitiveOf shows a version's sensitive variables, or only their count
// when the server redacts them from this viewer.
func (u *UI) sensitiveOf(req *request, v *registry.Version) sensitive {
	if u.redacts(req) {
		return sensitive{Hidden: len(v.SensitiveUserVariables)}
	}
	return sensitive{Vars: v.SensitiveUserVariables}
}

// redacts says whether sensitive variables are hidden from the viewer.
func (u *UI) redacts(req *request) bool {
	return u.cfg.RedactSensitive && (req.viewer == nil || !req.viewer.SeeSensitive)
}

// timeline merges the versions and the updates, newest first; an update
// made by a version's commit is shown on that version.
func timeline(p *registry.Persona) []event {
	out := make([]event, 0, len(p.Versions)+len(p.Updates))
	vs, us := p.Versions, p.Updates
	for len(vs) > 0 || len(us) > 0 {
		var v *registry.Version
		var u *registry.Update
		if len(vs) > 0 {
			v = vs[len(vs)-1]
		}
		if len(us) > 0 {
			u = &us[len(us)-1]
		}
		switch {
		case u != nil && v != nil && u.Commit == v.Commit:
			e := versionEvent(v)
			e.Changes = changesOf(u)
			out = append(out, e)
			vs, us = vs[:len(vs)-1], us[:len(us)-1]
		case u != nil && (v == nil || u.At.After(v.CreatedAt)):
			out = append(out, updateEvent(u))
			us = us[:len(us)-1]
		default:
			out = append(out, versionEvent(v))
			vs = vs[:len(vs)-1]
		}
	}
	return out
}

func versionEvent(v *registry.Version) event {
	return event{Version: v, Kind: "version", At: v.CreatedAt, Author: v.Creator, Commit: v.Commit, Subject: v.Subject}
}

func updateEvent(u *registry.Update) event {
	kind := "updated"
	if u.Deleted {
		kind = "deleted"
	}
	return event{Kind: kind, Changes: changesOf(u), At: u.At, Author: u.Author, Commit: u.Commit, Subject: u.Subject}
}

// changesOf lists what an update changed, old and new side by side.
func changesOf(u *registry.Update) []change {
	var out []change
	for _, k := range u.Kinds() {
		c := change{Kind: k}
		switch k {
		case "renamed":
			c.Old, c.New = []string{u.OldName}, []string{u.NewName}
		case "role changed":
			c.Old, c.New = []string{u.OldRole}, []string{u.NewRole}
		case "retagged":
			c.Old, c.New = u.TagsRemoved, u.TagsAdded
		case "moved":
			c.Old, c.New = []string{u.OldPath}, []string{u.NewPath}
		}
		out = append(out, c)
	}
	return out
}

// versionNumber reads a version number in 1..len(p.Versions).
func versionNumber(p *registry.Persona, name, raw string) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > len(p.Versions) {
		return 0, &registry.Error{Code: registry.EINVALID,
			Message: name + " " + strconv.Quote(raw) + ": want a version from 1 to " + strconv.Itoa(len(p.Versions)),
			Fields:  []registry.FieldError{{Loc: []string{"query", name}, Msg: "want a version number"}}}
	}
	return n, nil
}

// versionData is a version's file as it was in git.
type versionData struct {
	P    *registry.Persona
	V    *registry.Version
	Path string
	YAML string
}

func (u *UI) versionFile(req *request) error {
	p, err := lookup(req)
	if err != nil {
		return err
	}
	n, err := versionNumber(p, "version", req.r.PathValue("n"))
	if err != nil {
		return err
	}
	v := p.Versions[n-1]
	path, data, err := u.cfg.Registry.VersionFile(req.r.Context(), p, v)
	if err != nil {
		return err
	}
	yaml := string(data)
	if u.sensitiveOf(req, v).Vars == nil && len(v.SensitiveUserVariables) > 0 {
		yaml = "# sensitive_user_variables are hidden from you: the raw file is not shown.\n"
	}
	u.render(req, http.StatusOK, "version", p.Name+" v"+strconv.Itoa(n), versionData{P: p, V: v, Path: path, YAML: yaml})
	return nil
}
