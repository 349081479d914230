package ui

import (
	"net/http"
	"slices"
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

// event is one entry of the history timeline.
type event struct {
	Version *registry.Version // nil for an update without a new version
	Kind    string
	At      time.Time
	Author  string
	Commit  string
	Subject string
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
	if u.cfg.RedactSensitive && (req.viewer == nil || !req.viewer.SeeSensitive) {
		return sensitive{Hidden: len(v.SensitiveUserVariables)}
	}
	return sensitive{Vars: v.SensitiveUserVariables}
}

// timeline lists the versions newest first, after the last update when it
// made no version (a retag, rename, move or deletion).
func timeline(p *registry.Persona) []event {
	out := make([]event, 0, len(p.Versions)+1)
	if last := p.Latest(); p.UpdatedCommit != "" && (last == nil || last.Commit != p.UpdatedCommit) {
		kind := "updated"
		if p.IsDeleted {
			kind = "deleted"
		}
		out = append(out, event{Kind: kind, At: p.UpdatedAt, Author: p.UpdatedBy, Commit: p.UpdatedCommit})
	}
	for _, v := range slices.Backward(p.Versions) {
		out = append(out, event{Version: v, Kind: "version", At: v.CreatedAt, Author: v.Creator, Commit: v.Commit, Subject: v.Subject})
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
