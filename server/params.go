package server

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/personaregistry/personas/registry"
)

var idPattern = regexp.MustCompile(`^[a-f0-9]{24}$`)

// params reads query parameters and collects every malformed one, so that a
// 422 names them all.
type params struct {
	q      url.Values
	errors []registry.FieldError
}

func (p *params) fail(name, format string, args ...any) {
	p.errors = append(p.errors, registry.FieldError{Loc: []string{"query", name}, Msg: fmt.Sprintf(format, args...)})
}

// err returns the 422 error for the collected problems, or nil.
func (p *params) err() error {
	if len(p.errors) == 0 {
		return nil
	}
	msgs := make([]string, len(p.errors))
	for i, e := range p.errors {
		msgs[i] = e.Loc[len(e.Loc)-1] + ": " + e.Msg
	}
	return &registry.Error{Code: registry.EINVALID, Message: "invalid query parameters: " + strings.Join(msgs, "; "), Fields: p.errors}
}

// intParam parses an integer in [lo, hi] (hi < 0: no upper bound).
func (p *params) intParam(name string, def, lo, hi int) int {
	raw, ok := p.q[name]
	if !ok || len(raw) == 0 || raw[len(raw)-1] == "" {
		return def
	}
	v := raw[len(raw)-1]
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		p.fail(name, "%q is not an integer", v)
	case n < lo || (hi >= 0 && n > hi):
		if hi >= 0 {
			p.fail(name, "%d is out of range: want %d to %d", n, lo, hi)
		} else {
			p.fail(name, "%d is out of range: want an integer ≥ %d", n, lo)
		}
	default:
		return n
	}
	return def
}

func (p *params) ids() []string {
	ids := p.q["id"]
	for _, id := range ids {
		if !idPattern.MatchString(id) {
			p.fail("id", "%q is not a persona id (24 lowercase hex digits)", id)
		}
	}
	return ids
}

// creators parses `org_id,user_id` values. A creator of another org matches
// nothing, so it becomes an impossible user.
func (p *params) creators(org string) []string {
	var out []string
	for _, v := range p.q["creator"] {
		o, user, ok := strings.Cut(v, ",")
		if !ok || o == "" || user == "" {
			p.fail("creator", "%q: want org_id,user_id", v)
			continue
		}
		if o != org {
			user = "\x00" + o + "," + user
		}
		out = append(out, user)
	}
	return out
}

// tags parses `key:value`, `key:*` (any value) and `key:` (null value).
func (p *params) tags() []registry.TagFilter {
	var out []registry.TagFilter
	for _, v := range p.q["tag"] {
		k, val, ok := strings.Cut(v, ":")
		if !ok || k == "" {
			p.fail("tag", "%q: want key:value, key:* (any value) or key: (null value)", v)
			continue
		}
		t := registry.TagFilter{Key: k}
		switch val {
		case "*":
			t.Any = true
		case "":
		default:
			t.Value = &val
		}
		out = append(out, t)
	}
	return out
}

func (p *params) isDeleted() *bool {
	v := p.q.Get("is_deleted")
	switch v {
	case "":
		return nil
	case "true", "True", "1":
		b := true
		return &b
	case "false", "False", "0":
		b := false
		return &b
	}
	p.fail("is_deleted", "%q: want true or false", v)
	return nil
}

var listSorts = map[string]registry.SortKey{
	"+created_at": {Field: registry.SortCreatedAt}, "-created_at": {Field: registry.SortCreatedAt, Desc: true},
	"+updated_at": {Field: registry.SortUpdatedAt}, "-updated_at": {Field: registry.SortUpdatedAt, Desc: true},
	"+name": {Field: registry.SortName}, "-name": {Field: registry.SortName, Desc: true},
}

func (p *params) sortBy() []registry.SortKey {
	var out []registry.SortKey
	for _, v := range p.q["sort_by"] {
		v = plusFix(v)
		k, ok := listSorts[v]
		if !ok {
			p.fail("sort_by", "%q: want one of +created_at, -created_at, +updated_at, -updated_at, +name, -name", v)
			continue
		}
		out = append(out, k)
	}
	return out
}

// plusFix restores a leading '+' that an unencoded query turned into a space.
func plusFix(v string) string {
	if strings.HasPrefix(v, " ") {
		return "+" + v[1:]
	}
	return v
}

// listQuery parses the list endpoint's parameters.
func listQuery(q url.Values, org string) (registry.ListQuery, error) {
	p := &params{q: q}
	lq := registry.ListQuery{
		Filter: registry.Filter{IDs: p.ids(), Roles: q["role"], Creators: p.creators(org), Tags: p.tags(), IsDeleted: p.isDeleted()},
		Sort:   p.sortBy(),
		Limit:  p.intParam("limit", 50, 0, 50),
		Offset: p.intParam("continuation_token", 0, 0, -1),
	}
	return lq, p.err()
}

// searchQuery parses the search endpoint's parameters.
func searchQuery(q url.Values, org string) (string, registry.Filter, error) {
	p := &params{q: q}
	text := strings.TrimSpace(q.Get("query"))
	if text == "" {
		p.fail("query", "required: the text to search for")
	}
	f := registry.Filter{Roles: q["role"], Creators: p.creators(org), Tags: p.tags()}
	return text, f, p.err()
}

// versionQuery parses the versions endpoint's parameters.
func versionQuery(q url.Values) (registry.VersionQuery, error) {
	p := &params{q: q}
	vq := registry.VersionQuery{Limit: p.intParam("limit", 10, 1, 10), Offset: p.intParam("continuation_token", 0, 0, -1)}
	if v := q.Get("version"); v != "" {
		from, to, ok := parseVersionSpec(v)
		if !ok {
			p.fail("version", "%q: want N, latest, or a range A-B where B may be latest (e.g. 2-5, 1-latest)", v)
		}
		vq.From, vq.To, vq.OnlyLatest = from, to, v == "latest"
	}
	for _, s := range q["sort_by"] {
		switch plusFix(s) {
		case "+version":
			vq.Desc = false
		case "-version":
			vq.Desc = true
		default:
			p.fail("sort_by", "%q: want +version or -version", s)
		}
	}
	return vq, p.err()
}

// parseVersionSpec parses N, latest, A-B and A-latest; to = 0 means the
// latest version.
func parseVersionSpec(v string) (from, to int, ok bool) {
	if v == "latest" {
		return 0, 0, true
	}
	a, b, isRange := strings.Cut(v, "-")
	from, ok = positive(a)
	if !ok {
		return 0, 0, false
	}
	if !isRange {
		return from, from, true
	}
	if b == "latest" {
		return from, 0, true
	}
	to, ok = positive(b)
	if !ok || to < from {
		return 0, 0, false
	}
	return from, to, true
}

func positive(s string) (int, bool) {
	if s == "" || len(s) > 9 || strings.TrimLeft(s, "0123456789") != "" || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1
}
