package server

// Fuzz targets for hostile HTTP input: the query parsers of the list,
// search and versions endpoints, version specs, tag and creator filters,
// the JSON bodies of the writes, and the whole handler in process.
//
//	go test -run '^$' -fuzz '^FuzzListQuery$' -fuzztime 30s ./server
//
// Seeds are added with f.Add below and committed under testdata/fuzz/.
// What must hold for every input: no panic; an error is a *registry.Error
// with code EINVALID and field errors located in the query or the body;
// accepted values are in range.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
)

// fuzzOrg is the organization the parsers are fuzzed for.
const fuzzOrg = "default"

// querySeeds are raw query strings (no leading '?') for the query fuzzers.
var querySeeds = []string{
	"",
	"limit=10",
	"limit=0",
	"limit=50",
	"limit=51",
	"limit=-1",
	"limit=99999999999999999999",
	"limit=abc",
	"limit=%FF",
	"limit=%2B5",
	"limit=+5",
	"limit=1e3",
	"limit=5&limit=",
	"limit=&limit=7",
	"continuation_token=0",
	"continuation_token=-5",
	"continuation_token=9223372036854775807",
	"continuation_token=9223372036854775808",
	"id=0000000000000000000000c1&id=0000000000000000000000c2",
	"id=0000000000000000000000C1",
	"id=..%2F..%2Fetc%2Fpasswd",
	"id=%00",
	"role=patient&role=%FF%FE",
	"creator=default,alice@example.com",
	"creator=acme,alice@example.com",
	"creator=nocomma",
	"creator=,x",
	"creator=default,",
	"tag=a:b",
	"tag=a:*",
	"tag=a:",
	"tag=:b",
	"tag=nocolon",
	"tag=a:b:c&tag=x:%FF",
	"is_deleted=true",
	"is_deleted=False",
	"is_deleted=maybe",
	"is_deleted=1&is_deleted=x",
	"sort_by=%2Bname&sort_by=-created_at",
	"sort_by=+updated_at",
	"sort_by=name",
	"sort_by=%2Bversion",
	"sort_by=-version",
	"query=confused",
	"query=%20%20",
	"query=caf%C3%A9&tag=k:v&creator=default,a",
	"version=latest",
	"version=1",
	"version=2-5",
	"version=1-latest",
	"version=5-2",
	"version=0",
	"version=abc",
	"version=-1",
	"version=1-",
	"version=latest-1",
	"version=01",
	"version=1234567890",
	"version=999999999-999999999",
	"%zz=1&limit=%zz",
	"a=1;limit=3",
	"limit=1&limit=2&limit=3&continuation_token=4&version=3-3&sort_by=-version",
}

// fuzzQuery parses a raw query the way echo does (c.QueryParams, which
// ignores malformed escapes).
func fuzzQuery(raw string) url.Values {
	return (&url.URL{RawQuery: raw}).Query()
}

// checkInvalid asserts that err is a 422 error: a *registry.Error with code
// EINVALID, a message, and field errors whose Loc starts with where
// ("query" or "body").
func checkInvalid(t *testing.T, err error, where string, allowed ...string) {
	t.Helper()
	var re *registry.Error
	if !errors.As(err, &re) {
		t.Fatalf("error %T %q is not a *registry.Error", err, err)
	}
	if re.Code != registry.EINVALID {
		t.Errorf("error code %q, want %q (%s)", re.Code, registry.EINVALID, re.Message)
	}
	if k := errorKinds[re.Code]; k.status != http.StatusUnprocessableEntity {
		t.Errorf("error code %q is answered with %d, want 422", re.Code, k.status)
	}
	if re.Message == "" || !utf8.ValidString(re.Message) {
		t.Errorf("error message %q is empty or not UTF-8", re.Message)
	}
	if len(re.Fields) == 0 {
		t.Fatalf("422 without field errors: %q", re.Message)
	}
	for _, fe := range re.Fields {
		if len(fe.Loc) == 0 || fe.Loc[0] != where {
			t.Errorf("field error at %q, want a location starting with %q (%s)", fe.Loc, where, fe.Msg)
			continue
		}
		if where == "query" && len(fe.Loc) != 2 {
			t.Errorf("query error at %q, want [query, <parameter>]", fe.Loc)
		}
		if len(allowed) > 0 && len(fe.Loc) > 1 && !slices.Contains(allowed, fe.Loc[1]) {
			t.Errorf("error names parameter %q, which this endpoint does not take (%s)", fe.Loc[1], fe.Msg)
		}
		if fe.Msg == "" {
			t.Errorf("field error at %q has no message", fe.Loc)
		}
		if last := fe.Loc[len(fe.Loc)-1]; !strings.Contains(re.Message, last) {
			t.Errorf("message %q does not name %q", re.Message, last)
		}
	}
	// the error body must encode (it is what the client reads)
	body, jerr := json.Marshal(errorBody{Type: "ValidationError", Message: re.Message, Errors: re.Fields})
	if jerr != nil || !json.Valid(body) {
		t.Errorf("error body does not encode: %v", jerr)
	}
}

// lastValue is the value intParam reads: the last one, "" when absent.
func lastValue(q url.Values, name string) string {
	vs := q[name]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// checkIntParam asserts that an accepted integer parameter has the value
// given (or the default when absent or empty).
func checkIntParam(t *testing.T, q url.Values, name string, got, def int) {
	t.Helper()
	raw := lastValue(q, name)
	want := def
	if raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			t.Errorf("%s=%q accepted, but it is not an integer", name, raw)
			return
		}
		want = n
	}
	if got != want {
		t.Errorf("%s=%q parsed as %d, want %d", name, raw, got, want)
	}
}

func FuzzListQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q := fuzzQuery(raw)
		lq, err := listQuery(q, fuzzOrg)
		if err != nil {
			checkInvalid(t, err, "query", "id", "creator", "tag", "is_deleted", "sort_by", "limit", "continuation_token")
			return
		}
		if lq.Limit < 0 || lq.Limit > 50 {
			t.Errorf("limit %d accepted, want 0..50", lq.Limit)
		}
		if lq.Offset < 0 {
			t.Errorf("continuation_token %d accepted, want ≥ 0", lq.Offset)
		}
		checkIntParam(t, q, "limit", lq.Limit, 50)
		checkIntParam(t, q, "continuation_token", lq.Offset, 0)
		for _, id := range lq.IDs {
			if !idPattern.MatchString(id) {
				t.Errorf("id %q accepted", id)
			}
		}
		if len(lq.IDs) != len(q["id"]) || len(lq.Roles) != len(q["role"]) || len(lq.Creators) != len(q["creator"]) ||
			len(lq.Tags) != len(q["tag"]) || len(lq.Sort) != len(q["sort_by"]) {
			t.Errorf("filters lost or added: %+v from %q", lq, raw)
		}
		for _, tf := range lq.Tags {
			if tf.Key == "" || (tf.Any && tf.Value != nil) {
				t.Errorf("tag filter %+v accepted", tf)
			}
		}
		if (q.Get("is_deleted") == "") != (lq.IsDeleted == nil) {
			t.Errorf("is_deleted=%q parsed as %v", q.Get("is_deleted"), lq.IsDeleted)
		}
	})
}

func FuzzSearchQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q := fuzzQuery(raw)
		text, filter, err := searchQuery(q, fuzzOrg)
		if err != nil {
			checkInvalid(t, err, "query", "query", "creator", "tag")
			return
		}
		if text == "" || text != strings.TrimSpace(text) {
			t.Errorf("search text %q accepted", text)
		}
		if len(filter.Roles) != len(q["role"]) || len(filter.Creators) != len(q["creator"]) || len(filter.Tags) != len(q["tag"]) {
			t.Errorf("filters lost or added: %+v from %q", filter, raw)
		}
		if filter.IDs != nil || filter.IsDeleted != nil {
			t.Errorf("search filter has ids or is_deleted: %+v", filter)
		}
	})
}

func FuzzVersionQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q := fuzzQuery(raw)
		vq, err := versionQuery(q)
		if err != nil {
			checkInvalid(t, err, "query", "limit", "continuation_token", "version", "sort_by")
			return
		}
		if vq.Limit < 1 || vq.Limit > 10 {
			t.Errorf("limit %d accepted, want 1..10", vq.Limit)
		}
		if vq.Offset < 0 {
			t.Errorf("continuation_token %d accepted, want ≥ 0", vq.Offset)
		}
		checkIntParam(t, q, "limit", vq.Limit, 10)
		checkIntParam(t, q, "continuation_token", vq.Offset, 0)
		if vq.From < 0 || vq.To < 0 || (vq.To != 0 && vq.From > vq.To) {
			t.Errorf("version range %d-%d accepted", vq.From, vq.To)
		}
		switch v := q.Get("version"); {
		case v == "":
			if vq.From != 0 || vq.To != 0 || vq.OnlyLatest {
				t.Errorf("no version given, but the query selects %+v", vq)
			}
		case v == "latest":
			if !vq.OnlyLatest || vq.From != 0 || vq.To != 0 {
				t.Errorf("version=latest parsed as %+v", vq)
			}
		default:
			if vq.OnlyLatest || vq.From < 1 {
				t.Errorf("version=%q parsed as %+v", v, vq)
			}
		}
	})
}

func FuzzParseVersionSpec(f *testing.F) {
	for _, s := range []string{"latest", "1", "2-5", "1-latest", "5-2", "0", "abc", "-1", "1-", "-", "latest-1",
		"01", "1-01", "3-3", "999999999", "1000000000", "1-999999999", "+1", " 1", "1 ", "1--2", "1-2-3", "١", "latest-latest"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, ok := parseVersionSpec(s)
		if !ok {
			if from != 0 || to != 0 {
				t.Errorf("%q refused but parsed as %d-%d", s, from, to)
			}
			return
		}
		if s == "latest" {
			if from != 0 || to != 0 {
				t.Errorf("latest parsed as %d-%d", from, to)
			}
			return
		}
		if from < 1 || to < 0 || (to != 0 && to < from) {
			t.Fatalf("%q accepted as %d-%d", s, from, to)
		}
		// accepted specs are canonical: they print back to themselves
		want := strconv.Itoa(from)
		if strings.Contains(s, "-") {
			if to == 0 {
				want += "-latest"
			} else {
				want += "-" + strconv.Itoa(to)
			}
		} else if to != from {
			t.Errorf("%q is a single version but parsed as %d-%d", s, from, to)
		}
		if s != want {
			t.Errorf("%q accepted as %d-%d, which prints as %q", s, from, to, want)
		}
	})
}

func FuzzTagFilter(f *testing.F) {
	for _, s := range []string{"a:b", "a:*", "a:", ":b", ":", "nocolon", "", "a:b:c", "a::", "a:**", "\xff:\xfe", "k e y:v a l", "a:%FF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p := &params{q: url.Values{"tag": {v}}}
		tags := p.tags()
		if err := p.err(); err != nil {
			checkInvalid(t, err, "query", "tag")
			if k, _, ok := strings.Cut(v, ":"); ok && k != "" {
				t.Errorf("tag %q refused: %v", v, err)
			}
			return
		}
		if len(tags) != 1 {
			t.Fatalf("tag %q gave %d filters", v, len(tags))
		}
		tf := tags[0]
		back := tf.Key + ":"
		switch {
		case tf.Any && tf.Value != nil:
			t.Fatalf("tag %q parsed as any value and a value", v)
		case tf.Any:
			back += "*"
		case tf.Value != nil:
			if *tf.Value == "" || *tf.Value == "*" {
				t.Errorf("tag %q: value %q should be null or any", v, *tf.Value)
			}
			back += *tf.Value
		}
		if tf.Key == "" || back != v {
			t.Errorf("tag %q parsed as %+v, which prints as %q", v, tf, back)
		}
	})
}

func FuzzCreatorFilter(f *testing.F) {
	for _, s := range []string{"default,alice@example.com", "acme,alice@example.com", "nocomma", ",x", "default,", ",",
		"default,a,b", "\x00,x", "default,\xff", "Default,alice@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p := &params{q: url.Values{"creator": {v}}}
		users := p.creators(fuzzOrg)
		org, user, ok := strings.Cut(v, ",")
		if err := p.err(); err != nil {
			checkInvalid(t, err, "query", "creator")
			if ok && org != "" && user != "" {
				t.Errorf("creator %q refused: %v", v, err)
			}
			return
		}
		if len(users) != 1 || !ok || org == "" || user == "" {
			t.Fatalf("creator %q accepted as %q", v, users)
		}
		want := user
		if org != fuzzOrg {
			want = "\x00" + v // a user of another org: matches no author email
		}
		if users[0] != want {
			t.Errorf("creator %q parsed as %q, want %q", v, users[0], want)
		}
	})
}

// bodySeeds are request bodies for FuzzDecodeBody, with the body type they
// are meant for (0 create, 1 version, 2 tags).
var bodySeeds = []struct {
	kind uint8
	body string
}{
	{0, `{"name": "Hurried Commuter", "role": "customer", "tags": {"channel": "voice"}, "initial_version": {"background": "Calls from a train."}}`},
	{0, `{"name": "n", "role": "r", "initial_version": {"background": "b", "preferred_language": "eng", "timezone": "Europe/Paris",
		"user_models": ["m"], "nonsensitive_user_variables": {"a_b": "c"}, "sensitive_user_variables": {}}}`},
	{0, `{"name": 5}`},
	{0, `{"NAME": "case-insensitive keys"}`},
	{0, `{"initial_version": {"background": ["a"]}}`},
	{0, `{"initial_version": {"unknown": 1}}`},
	{0, `{"initial_version": 1}`},
	{0, `{"tags": {"k": 1}}`},
	{0, `{"tags": "x"}`},
	{0, `[]`},
	{0, `"string"`},
	{0, `null`},
	{0, ``},
	{0, `{`},
	{0, `{} {}`},
	{0, `{}}`},
	{0, `{}]`},
	{0, `{"a":1}`},
	{0, "{\"name\": \"\xff\xfe\"}"},
	{0, "{\"\xff\": 1}"},
	{0, "\xff"},
	{0, "\ufeff{}"},
	{0, strings.Repeat("[", 10001)},
	{0, `{"tags": ` + strings.Repeat(`{"a":`, 2000)},
	{1, `{"background": "b"}`},
	{1, `{"background": 1}`},
	{1, `{"background": "b", "user_models": "notalist"}`},
	{1, `{"background": "b", "nonsensitive_user_variables": {"k": ["v"]}}`},
	{1, `{"background": "b", "preferred_language": null, "timezone": 3}`},
	{1, `{"background": "b"} trailing`},
	{1, `{"background": "b"}` + "\n\t "},
	{1, `{"version": 2}`},
	{2, `{"tags": null}`},
	{2, `{"tags": {"a": null, "b": "c"}}`},
	{2, `{"tags": [1]}`},
	{2, `{"tags": {"k": {"nested": 1}}}`},
	{2, `{"tags": {}, "tags": {"dup": "key"}}`},
	{2, `{"tags": 1e999}`},
	{2, `{"tags": {"a": "\ud800"}}`},
}

// decodeAs runs decodeBody on body into the body type of kind.
func decodeAs(kind uint8, body []byte) (any, error) {
	var v any
	switch kind % 3 {
	case 0:
		v = &createBody{}
	case 1:
		v = &versionBody{}
	default:
		v = &tagsBody{}
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/default/simulation/persona/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	c := echo.New().NewContext(req, httptest.NewRecorder())
	return v, decodeBody(c, v)
}

// trailingCloser reports whether body is one JSON value followed by a
// stray ']' or '}' (what json.Decoder.More does not count as more data).
func trailingCloser(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if dec.Decode(&raw) != nil {
		return false
	}
	rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")
	return len(rest) > 0 && (rest[0] == ']' || rest[0] == '}')
}

func FuzzDecodeBody(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add(s.kind, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		v, err := decodeAs(kind, body)
		if err != nil {
			checkInvalid(t, err, "body")
			return
		}
		if !json.Valid(body) {
			if trailingCloser(body) {
				t.Fatalf("decodeBody accepts a JSON object followed by a stray ']' or '}' (%q): "+
					"json.Decoder.More does not report them; see the report", body)
			}
			t.Errorf("decodeBody accepted %q, which is not one JSON value", body)
		}
		// an accepted body decodes the same way with plain encoding/json
		if _, err := json.Marshal(v); err != nil {
			t.Errorf("decoded body %T does not encode: %v", v, err)
		}
	})
}

// ---------------------------------------------------------------------------
// The whole handler, in process

// fuzzPersonaID is the persona of the handler fuzzer's repository.
const fuzzPersonaID = "0000000000000000000000f1"

// newFuzzServer serves a one-persona repository (made with the git CLI)
// without tokens: writes are refused, reads answer from a real snapshot.
func newFuzzServer(f *testing.F) http.Handler {
	f.Helper()
	repo := gittest.NewRepo(f)
	repo.Identity = gittest.Identity{Name: "fuzz", Email: "fuzz@example.com", When: gittest.Epoch}
	repo.Write("personas/fuzz.yaml", "id: "+fuzzPersonaID+"\nname: Fuzz Target\nrole: customer\ntags:\n  channel: chat\n  tier:\n"+
		"background: Confused about the signup flow.\n")
	repo.Commit("Add the fuzz persona")
	dir := repo.Dir
	reg, err := registry.Open(registry.Options{Repo: dir, NoCache: true, PollInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { reg.Close() })
	if _, err := reg.Refresh(f.Context()); err != nil {
		f.Fatal(err)
	}
	return New(Config{Registry: reg, Org: fuzzOrg}).Handler()
}

var methodSeeds = []string{"GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "PROPFIND", "OPTIONS", "TRACE"}

// FuzzHandler sends requests, parsed from request lines the way net/http
// parses them, through the whole handler (routing, middleware, parsers):
// no answer is a 5xx, and every error is the JSON error body.
func FuzzHandler(f *testing.F) {
	h := newFuzzServer(f)
	base := "/v1/default/simulation/persona"
	for _, s := range []struct {
		method uint8
		target string
		body   string
	}{
		{0, base + "/", ""},
		{0, base + "/?" + querySeeds[6], ""},
		{0, base + "/?tag=channel:*&sort_by=%2Bname&limit=1&continuation_token=0", ""},
		{0, base + "/search?query=confusion&role=customer", ""},
		{0, base + "/search?query=%FF%FE", ""},
		{0, base + "/" + fuzzPersonaID + "/version/?version=1-latest&sort_by=-version&limit=1", ""},
		{0, base + "/" + fuzzPersonaID + "/version?version=5-2", ""},
		{0, base + "/%2e%2e%2f/version/", ""},
		{0, base + "/..%2f..%2fetc%2fpasswd/version/", ""},
		{0, base + "/%00/version/", ""},
		{0, base + "/problems", ""},
		{0, "/v1/%2e%2e/simulation/persona/", ""},
		{0, base + "/../../../../etc/passwd", ""},
		{0, "/healthz", ""},
		{0, "/readyz", ""},
		{0, "/openapi.json", ""},
		{1, base + "/?limit=abc", ""},
		{2, base + "/", `{"name": "x"}`},
		{2, base + "/" + fuzzPersonaID + "/version/?version=abc", `{"background": "b"}`},
		{2, "/hooks/git", `{}`},
		{3, base + "/" + fuzzPersonaID + "/", ""},
		{5, base + "/", ""},
		{6, base + "/", ""},
		{7, "*", ""},
		{8, base + "/", ""},
	} {
		f.Add(s.method, s.target, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method uint8, target string, body []byte) {
		m := methodSeeds[int(method)%len(methodSeeds)]
		raw := m + " " + target + " HTTP/1.1\r\nHost: fuzz\r\nAccept-Encoding: gzip\r\nContent-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http answers 400 itself
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q: status %d: %s", m, target, res.StatusCode, rec.Body.Bytes())
		}
		if res.StatusCode < 400 || m == http.MethodHead {
			return
		}
		data := rec.Body.Bytes()
		if res.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s %q: gzip: %v", m, target, err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s %q: gunzip: %v", m, target, err)
			}
		}
		var e struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Errors  []struct {
				Loc []string `json:"loc"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(data, &e); err != nil || e.Type == "" || e.Message == "" {
			t.Fatalf("%s %q: error %d without the JSON error body (%v): %q", m, target, res.StatusCode, err, data)
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %q: error %d has Content-Type %q", m, target, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if res.StatusCode == http.StatusUnprocessableEntity {
			if len(e.Errors) == 0 {
				t.Errorf("%s %q: 422 without errors[]: %s", m, target, data)
			}
			for _, fe := range e.Errors {
				if len(fe.Loc) == 0 || !validLoc.MatchString(fe.Loc[0]) {
					t.Errorf("%s %q: 422 error located at %q", m, target, fe.Loc)
				}
			}
		}
	})
}

// validLoc is where a 422 may point: a query parameter, the body, or a
// path parameter.
var validLoc = regexp.MustCompile(`^(query|body|path)$`)
