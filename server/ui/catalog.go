package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/personaregistry/personas/registry"
)

// catalogData is the catalog page: the personas of one list page or one
// search, and the filter controls with their state.
type catalogData struct {
	Query     string
	Searching bool
	Rows      []row
	Roles     []option
	Creators  []option
	TagGroups []tagGroup
	Deleted   []option
	Sorts     []option
	TagCount  int // selected tags
	Offset    int
	Prev      string // link to the previous page, "" on the first
	Next      string // link to the next page, "" on the last
	API       string // the same query on the API
}

// row is one persona of the table.
type row struct {
	ID, Name, Role string
	Tags           []tag
	Language       *string
	Timezone       *string
	Version        int
	UpdatedAt      time.Time
	IsDeleted      bool
}

type option struct {
	Value, Label string
	Selected     bool
}

type tagGroup struct {
	Key      string
	Values   []option
	Selected bool
}

// deletedChoices are the catalog's is_deleted values: the page shows live
// personas unless asked; "any" (not an API value) drops the filter.
var deletedChoices = []option{{"false", "live", false}, {"true", "deleted", false}, {"any", "live and deleted", false}}

var sortChoices = []option{{"+created_at", "oldest first", false}, {"-created_at", "newest first", false},
	{"-updated_at", "recently updated", false}, {"+updated_at", "least recently updated", false},
	{"+name", "name A–Z", false}, {"-name", "name Z–A", false}}

// pageValues reads the catalog's query with empty values dropped (a form
// submits empty selects) and is_deleted defaulting to live.
func pageValues(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, registry.Errorf(registry.EINVALID, "malformed query string: %v", err)
	}
	for k, vs := range q {
		vs = slices.DeleteFunc(vs, func(v string) bool { return strings.TrimSpace(v) == "" })
		if len(vs) == 0 {
			delete(q, k)
		} else {
			q[k] = vs
		}
	}
	if q.Get("is_deleted") == "" {
		q.Set("is_deleted", "false")
	}
	return q, nil
}

// apiValues is the page's query as the API takes it.
func apiValues(q url.Values) url.Values {
	a := url.Values{}
	for k, vs := range q {
		a[k] = slices.Clone(vs)
	}
	if a.Get("is_deleted") == "any" {
		a.Del("is_deleted")
	}
	return a
}

func (u *UI) catalog(req *request) error {
	q, err := pageValues(req.r)
	if err != nil {
		return err
	}
	api := apiValues(q)
	d := &catalogData{Query: q.Get("query")}
	var personas []*registry.Persona
	if d.Query != "" {
		d.Searching = true
		text, f, err := u.cfg.ParseSearch(api)
		if err != nil {
			return err
		}
		f.Visible = req.viewer.visible()
		personas = req.snap.Search(text, f)
		api.Del("is_deleted")
		api.Del("sort_by")
		d.API = u.apiBase() + "search?" + api.Encode()
	} else {
		lq, err := u.cfg.ParseList(api)
		if err != nil {
			return err
		}
		lq.Visible = req.viewer.visible()
		res := req.snap.List(lq)
		personas = res.Personas
		d.Offset = lq.Offset
		if res.HasMore {
			d.Next = pageLink(q, res.Next)
		}
		if lq.Offset > 0 {
			d.Prev = pageLink(q, max(0, lq.Offset-lq.Limit))
		}
		d.API = u.apiBase() + "?" + api.Encode()
	}
	for _, p := range personas {
		d.Rows = append(d.Rows, newRow(p))
	}
	u.facets(d, req.snap.FilterValuesOf(req.viewer.visible()), q)
	u.render(req, http.StatusOK, "catalog", "Personas", d)
	return nil
}

func newRow(p *registry.Persona) row {
	r := row{ID: p.ID, Name: p.Name, Role: p.Role, Tags: tagList(p.Tags), UpdatedAt: p.UpdatedAt, IsDeleted: p.IsDeleted}
	if v := p.Latest(); v != nil {
		r.Language, r.Timezone, r.Version = v.PreferredLanguage, v.Timezone, v.Number
	}
	return r
}

// pageLink is the catalog's URL at another offset.
func pageLink(q url.Values, offset int) string {
	c := url.Values{}
	for k, vs := range q {
		c[k] = vs
	}
	if c.Get("is_deleted") == "false" {
		c.Del("is_deleted")
	}
	c.Del("continuation_token")
	if offset > 0 {
		c.Set("continuation_token", strconv.Itoa(offset))
	}
	if len(c) == 0 {
		return "/"
	}
	return "/?" + c.Encode()
}

// facets fills the filter controls from the snapshot's filter values.
// facets fills the filter controls from the filter values the viewer may see.
func (u *UI) facets(d *catalogData, fv registry.FilterValues, q url.Values) {
	for _, r := range fv.Roles {
		d.Roles = append(d.Roles, option{r, r, slices.Contains(q["role"], r)})
	}
	for _, c := range fv.Creators {
		v := u.cfg.Org + "," + c
		d.Creators = append(d.Creators, option{v, c, slices.Contains(q["creator"], v)})
	}
	for _, t := range fv.Tags {
		key, val, _ := strings.Cut(t, ":")
		if n := len(d.TagGroups); n == 0 || d.TagGroups[n-1].Key != key {
			d.TagGroups = append(d.TagGroups, tagGroup{Key: key})
		}
		g := &d.TagGroups[len(d.TagGroups)-1]
		label := val
		if val == "" {
			label = "(null)"
		}
		sel := slices.Contains(q["tag"], t)
		g.Values = append(g.Values, option{t, label, sel})
		if sel {
			g.Selected = true
			d.TagCount++
		}
	}
	del := q.Get("is_deleted")
	for _, o := range deletedChoices {
		o.Selected = o.Value == del
		d.Deleted = append(d.Deleted, o)
	}
	sortBy := q.Get("sort_by")
	if strings.HasPrefix(sortBy, " ") {
		sortBy = "+" + sortBy[1:]
	}
	for _, o := range sortChoices {
		o.Selected = o.Value == sortBy
		d.Sorts = append(d.Sorts, o)
	}
}

// apiBase is the path of the persona API.
func (u *UI) apiBase() string { return "/v1/" + u.cfg.Org + "/simulation/persona/" }
