package server_test

// Hostile HTTP input against a real server on a loopback port, with a
// tokens file so that writes get as far as parsing their bodies: wrong
// types, huge numbers, oversized and deeply nested bodies, invalid UTF-8,
// encoded path traversal, unknown methods, oversized headers, and a client
// that stops in the middle of its request line. Every answer must be a 4xx
// with the JSON error body (net/http's own plain-text 431 and 400 aside),
// nothing may be written, memory must stay bounded, and valid requests
// must work afterwards.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/server"
)

// hostileCase is one malformed request.
type hostileCase struct {
	name   string
	method string
	path   string // appended to the server's URL, sent as is
	body   []byte
	auth   bool // send the writer's token
	hdr    []string
	want   int // the status, 0 for any 4xx
}

// netHTTPError reports whether a response is one net/http writes itself,
// before any handler runs: plain text, not the JSON error body.
func netHTTPError(r *response) bool {
	return (r.Status == http.StatusRequestHeaderFieldsTooLarge || r.Status == http.StatusBadRequest) &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") &&
		strings.HasPrefix(string(r.Body), fmt.Sprint(r.Status, " "))
}

// checkHostile asserts what holds for every answer to a malformed request.
func checkHostile(t *testing.T, what string, r *response, want int) {
	t.Helper()
	switch {
	case r.Status == 0:
		return // the request failed: already reported
	case want != 0 && r.Status != want:
		t.Errorf("%s: status %d, want %d: %s", what, r.Status, want, clip(r.Body))
	case r.Status < 400 || r.Status > 499:
		t.Errorf("%s: status %d, want a 4xx: %s", what, r.Status, clip(r.Body))
	}
	if netHTTPError(r) {
		return
	}
	checkErrorBody(t, what, r)
}

// send sends a prepared request and validates the answer against the
// OpenAPI document (the request may carry a body that is not a
// bytes.Reader, e.g. a chunked one).
func send(t *testing.T, c *client, req *http.Request) *response {
	t.Helper()
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", req.Method, req.URL, err)
		return &response{}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s %s: read body: %v", req.Method, req.URL, err)
		return &response{}
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	validateAgainstSpec(t, req, r.Status, r.Header, r.Body)
	return r
}

// sendRaw writes raw bytes on a new connection and reads one response:
// for requests the Go client will not send (raw invalid UTF-8, bad escapes).
func sendRaw(t *testing.T, base, raw string) *response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Errorf("write %q: %v", clip([]byte(raw)), err)
		return &response{}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Errorf("%q: read response: %v", clip([]byte(raw)), err)
		return &response{}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%q: read body: %v", clip([]byte(raw)), err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// heapInUse returns the heap in use of this process (the server runs in it).
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// chunked hides a body's length, so that it is sent chunked, without
// Content-Length.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func hostileCases() []hostileCase {
	const id = idTarget
	list := apiBase + "/"
	versions := apiBase + "/" + id + "/version/"
	big := bytes.Repeat([]byte("x"), 10<<20)
	bigJSON := []byte(`{"name": "` + strings.Repeat("n", 10<<20) + `", "role": "r", "initial_version": {"background": "b"}}`)
	deepArray := []byte(strings.Repeat("[", 100_000))
	deepObject := []byte(`{"name": "Deep", "role": "r", "tags": ` + strings.Repeat(`{"a":`, 100_000) + `"x"` + strings.Repeat("}", 100_000) + `}`)
	deepModels := []byte(`{"background": "b", "user_models": ` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`)
	manyTags := `{"tags": {`
	for i := range 21 {
		if i > 0 {
			manyTags += ","
		}
		manyTags += fmt.Sprintf(`"k%d": "v"`, i)
	}
	manyTags += `}}`
	b := func(s string) []byte { return []byte(s) }
	return []hostileCase{
		// query parameters: wrong types, huge and negative numbers
		{name: "limit huge", method: "GET", path: list + "?limit=99999999999999999999", want: 422},
		{name: "limit negative", method: "GET", path: list + "?limit=-1", want: 422},
		{name: "limit over 50", method: "GET", path: list + "?limit=51", want: 422},
		{name: "limit text", method: "GET", path: list + "?limit=abc", want: 422},
		{name: "limit float", method: "GET", path: list + "?limit=1.5", want: 422},
		{name: "limit exponent", method: "GET", path: list + "?limit=1e3", want: 422},
		{name: "limit hex", method: "GET", path: list + "?limit=0x10", want: 422},
		{name: "limit invalid UTF-8", method: "GET", path: list + "?limit=%FF%FE", want: 422},
		{name: "token huge", method: "GET", path: list + "?continuation_token=99999999999999999999", want: 422},
		{name: "token negative", method: "GET", path: list + "?continuation_token=-5", want: 422},
		{name: "token text", method: "GET", path: list + "?continuation_token=next", want: 422},
		{name: "is_deleted", method: "GET", path: list + "?is_deleted=maybe", want: 422},
		{name: "sort_by unsigned", method: "GET", path: list + "?sort_by=name", want: 422},
		{name: "sort_by invalid UTF-8", method: "GET", path: list + "?sort_by=%FF", want: 422},
		{name: "tag without colon", method: "GET", path: list + "?tag=nocolon", want: 422},
		{name: "tag without key", method: "GET", path: list + "?tag=:value", want: 422},
		{name: "tag invalid UTF-8", method: "GET", path: list + "?tag=%FF%FE", want: 422},
		{name: "creator without comma", method: "GET", path: list + "?creator=alice", want: 422},
		{name: "creator invalid UTF-8", method: "GET", path: list + "?creator=%FF", want: 422},
		{name: "id traversal", method: "GET", path: list + "?id=..%2F..%2Fetc%2Fpasswd", want: 422},
		{name: "id NUL", method: "GET", path: list + "?id=%00", want: 422},
		{name: "id invalid UTF-8", method: "GET", path: list + "?id=%FF", want: 422},
		{name: "everything wrong at once", method: "GET", path: list + "?limit=x&continuation_token=-1&tag=x&creator=x&id=x&sort_by=x&is_deleted=x", want: 422},
		{name: "search without query", method: "GET", path: apiBase + "/search", want: 422},
		{name: "search blank query", method: "GET", path: apiBase + "/search?query=%20%09", want: 422},
		{name: "search bad tag", method: "GET", path: apiBase + "/search?query=x&tag=%FF", want: 422},
		{name: "version text", method: "GET", path: versions + "?version=abc", want: 422},
		{name: "version zero", method: "GET", path: versions + "?version=0", want: 422},
		{name: "version reversed", method: "GET", path: versions + "?version=5-2", want: 422},
		{name: "version negative", method: "GET", path: versions + "?version=-1", want: 422},
		{name: "version huge", method: "GET", path: versions + "?version=99999999999999999999", want: 422},
		{name: "version huge range", method: "GET", path: versions + "?version=1-99999999999999999999", want: 422},
		{name: "version invalid UTF-8", method: "GET", path: versions + "?version=%FF", want: 422},
		{name: "versions limit zero", method: "GET", path: versions + "?limit=0", want: 422},
		{name: "versions limit huge", method: "GET", path: versions + "?limit=99999999999999999999", want: 422},
		{name: "versions sort_by", method: "GET", path: versions + "?sort_by=%2Bname", want: 422},

		// ids with encoded path traversal, NUL, invalid UTF-8
		{name: "id %2e%2e%2f", method: "GET", path: apiBase + "/%2e%2e%2f/version/", want: 422},
		{name: "id ..%2f", method: "GET", path: apiBase + "/..%2f..%2f..%2fetc%2fpasswd/version/", want: 422},
		{name: "id %00", method: "GET", path: apiBase + "/%00/version/", want: 422},
		{name: "id invalid UTF-8", method: "GET", path: apiBase + "/%FF%FE/version/", want: 422},
		{name: "id upper case", method: "GET", path: apiBase + "/0000000000000000000000A4/version/", want: 422},
		{name: "id too long", method: "GET", path: apiBase + "/" + strings.Repeat("a", 4096) + "/version/", want: 422},
		{name: "delete traversal", method: "DELETE", path: apiBase + "/%2e%2e%2f%2e%2e%2fpersonas%2fcommented.yaml/", auth: true, want: 422},
		{name: "delete ..%2f", method: "DELETE", path: apiBase + "/..%2fpersonas%2ftarget.yaml/", auth: true, want: 422},
		{name: "delete NUL", method: "DELETE", path: apiBase + "/" + id + "%00/", auth: true, want: 422},
		{name: "retag traversal", method: "POST", path: apiBase + "/%2e%2e%2f/", body: b(`{"tags": {}}`), auth: true, want: 422},
		{name: "version traversal", method: "POST", path: apiBase + "/%2e%2e/version/", body: b(`{"background": "b"}`), auth: true, want: 422},
		{name: "org traversal", method: "GET", path: "/v1/%2e%2e/simulation/persona/", want: 404},
		{name: "org NUL", method: "GET", path: "/v1/default%00/simulation/persona/", want: 404},
		{name: "dot segments", method: "GET", path: apiBase + "/../../../../etc/passwd", want: 404},

		// unknown methods
		{name: "PATCH list", method: "PATCH", path: list, want: 405},
		{name: "PROPFIND list", method: "PROPFIND", path: list, want: 405},
		{name: "PUT persona", method: "PUT", path: apiBase + "/" + id + "/", auth: true, body: b(`{}`), want: 405},
		{name: "PROPFIND unknown path", method: "PROPFIND", path: "/webdav/", want: 404},
		{name: "DELETE list", method: "DELETE", path: list, auth: true, want: 405},

		// wrong types, unknown fields, broken JSON in bodies
		{name: "create name number", method: "POST", path: list, auth: true, body: b(`{"name": 5, "role": "r", "initial_version": {"background": "b"}}`), want: 422},
		{name: "create tags string", method: "POST", path: list, auth: true, body: b(`{"name": "n", "role": "r", "tags": "x", "initial_version": {"background": "b"}}`), want: 422},
		{name: "create tag value number", method: "POST", path: list, auth: true, body: b(`{"name": "n", "role": "r", "tags": {"k": 1}, "initial_version": {"background": "b"}}`), want: 422},
		{name: "create background array", method: "POST", path: list, auth: true, body: b(`{"name": "n", "role": "r", "initial_version": {"background": ["b"]}}`), want: 422},
		{name: "create initial_version number", method: "POST", path: list, auth: true, body: b(`{"name": "n", "role": "r", "initial_version": 1}`), want: 422},
		{name: "create unknown field", method: "POST", path: list, auth: true, body: b(`{"name": "n", "role": "r", "initial_version": {"background": "b", "evil": true}}`), want: 422},
		{name: "create array", method: "POST", path: list, auth: true, body: b(`[]`), want: 422},
		{name: "create string", method: "POST", path: list, auth: true, body: b(`"x"`), want: 422},
		{name: "create null", method: "POST", path: list, auth: true, body: b(`null`), want: 422},
		{name: "create empty", method: "POST", path: list, auth: true, body: b(``), want: 422},
		{name: "create truncated", method: "POST", path: list, auth: true, body: b(`{"name": "n", "role": "r", "initial_version": {"backgr`), want: 422},
		{name: "create two objects", method: "POST", path: list, auth: true, body: b(`{"name": "n"} {"role": "r"}`), want: 422},
		{name: "create huge number", method: "POST", path: list, auth: true, body: b(`{"name": 1e999}`), want: 422},
		{name: "create bad language", method: "POST", path: list, auth: true, body: b(`{"name": "n", "role": "r", "initial_version": {"background": "b", "preferred_language": "en"}}`), want: 422},
		{name: "create bad variable key", method: "POST", path: list, auth: true, body: b(`{"name": "n", "role": "r", "initial_version": {"background": "b", "sensitive_user_variables": {"Bad Key": "v"}}}`), want: 422},
		{name: "version background number", method: "POST", path: versions, auth: true, body: b(`{"background": 1}`), want: 422},
		{name: "version user_models string", method: "POST", path: versions, auth: true, body: b(`{"background": "b", "user_models": "m"}`), want: 422},
		{name: "version ?version text", method: "POST", path: versions + "?version=abc", auth: true, body: b(`{"background": "b"}`), want: 422},
		{name: "version ?version huge", method: "POST", path: versions + "?version=99999999999999999999", auth: true, body: b(`{"background": "b"}`), want: 422},
		{name: "version ?version negative", method: "POST", path: versions + "?version=-3", auth: true, body: b(`{"background": "b"}`), want: 422},
		{name: "retag list", method: "POST", path: apiBase + "/" + id + "/", auth: true, body: b(`{"tags": [1]}`), want: 422},
		{name: "retag nested", method: "POST", path: apiBase + "/" + id + "/", auth: true, body: b(`{"tags": {"k": {"n": 1}}}`), want: 422},
		{name: "retag bad key", method: "POST", path: apiBase + "/" + id + "/", auth: true, body: b(`{"tags": {"bad/key!": "v"}}`), want: 422},
		{name: "retag 21 tags", method: "POST", path: apiBase + "/" + id + "/", auth: true, body: b(manyTags), want: 422},

		// invalid UTF-8 in bodies
		{name: "body invalid UTF-8 outside strings", method: "POST", path: list, auth: true, body: b("\xff\xfe{}"), want: 422},
		{name: "body invalid UTF-8 key", method: "POST", path: list, auth: true, body: b("{\"\xff\": 1}"), want: 422},
		{name: "body invalid UTF-8 name", method: "POST", path: list, auth: true, body: b("{\"name\": \"\xff\xfe\", \"role\": \"r\"}"), want: 422},
		{name: "body invalid UTF-8 tag key", method: "POST", path: apiBase + "/" + id + "/", auth: true, body: b("{\"tags\": {\"\xff\xfe\": \"v\"}}"), want: 422},
		{name: "body lone surrogate key", method: "POST", path: apiBase + "/" + id + "/", auth: true, body: b(`{"tags": {"\ud800": "v"}}`), want: 422},

		// deeply nested JSON
		{name: "100k [", method: "POST", path: list, auth: true, body: deepArray, want: 422},
		{name: "100k nested tags", method: "POST", path: list, auth: true, body: deepObject, want: 422},
		{name: "100k nested user_models", method: "POST", path: versions, auth: true, body: deepModels, want: 422},

		// 10 MB bodies, with Content-Length
		{name: "10 MB create", method: "POST", path: list, auth: true, body: bigJSON, want: 413},
		{name: "10 MB version", method: "POST", path: versions, auth: true, body: big, want: 413},
		{name: "10 MB without token", method: "POST", path: list, body: big, want: 413},
		{name: "10 MB on a read", method: "GET", path: list, body: big, want: 413},

		// credentials
		{name: "unknown scheme", method: "POST", path: list, body: b(`{}`), hdr: []string{"Authorization", "Digest x"}, want: 401},
		{name: "malformed basic", method: "POST", path: list, body: b(`{}`), hdr: []string{"Authorization", "Basic !!!"}, want: 401},
		{name: "invalid UTF-8 token", method: "POST", path: list, body: b(`{}`), hdr: []string{"Authorization", "Bearer \xff\xfe"}, want: 401},
		{name: "X-ORG-ID mismatch", method: "POST", path: list, auth: true, body: b(`{}`), hdr: []string{"X-ORG-ID", "acme"}, want: 401},
	}
}

func TestHostileRequests(t *testing.T) {
	t.Parallel()
	env := newWriteEnv(t, nil)
	commits := env.bare.count()
	runtime.GC()
	start := heapInUse()
	peak := start
	hc := &http.Client{Timeout: 30 * time.Second}

	for _, tc := range hostileCases() {
		var body io.Reader
		if tc.body != nil {
			body = bytes.NewReader(tc.body)
		}
		req, err := http.NewRequest(tc.method, env.ts.URL+tc.path, body)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(tc.hdr); i += 2 {
			req.Header.Set(tc.hdr[i], tc.hdr[i+1])
		}
		c := env.anon
		if tc.auth {
			c = env.c
		}
		c = c.on(t)
		c.hc = hc
		r := send(t, c, req)
		checkHostile(t, tc.name+": "+tc.method+" "+clip([]byte(tc.path)), r, tc.want)
		if testing.Verbose() {
			t.Logf("%-36s %d %s", tc.name, r.Status, clip([]byte(r.Header.Get("Content-Type"))))
		}
		peak = max(peak, heapInUse())
	}

	// requests the Go client will not send: raw bytes on the wire
	for _, tc := range []struct {
		name string
		raw  string
		want int
	}{
		{"raw invalid UTF-8 in the query", "GET " + apiBase + "/?limit=\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusUnprocessableEntity},
		{"raw invalid UTF-8 in the id", "GET " + apiBase + "/\xff\xfe/version/ HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusUnprocessableEntity},
		{"bad escape in the path", "GET " + apiBase + "/%zz/version/ HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest},
		{"NUL in the request line", "GET " + apiBase + "/\x00/version/ HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest},
		{"huge header (> 64 KiB)", "GET " + apiBase + "/ HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"many headers (> 64 KiB)", "GET " + apiBase + "/ HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Many: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 4000) + "\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"huge token header (> 64 KiB)", "POST " + apiBase + "/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + strings.Repeat("t", 100<<10) + "\r\nContent-Length: 2\r\n\r\n{}", http.StatusRequestHeaderFieldsTooLarge},
		{"invalid UTF-8 chunked body", "POST " + apiBase + "/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + env.tokens["writer"] +
			"\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\xff\xfe{}\r\n0\r\n\r\n", http.StatusUnprocessableEntity},
	} {
		r := sendRaw(t, env.ts.URL, tc.raw)
		checkHostile(t, tc.name, r, tc.want)
		if testing.Verbose() {
			t.Logf("%-36s %d %s", tc.name, r.Status, r.Header.Get("Content-Type"))
		}
		peak = max(peak, heapInUse())
	}

	// a malformed escape makes a parameter unreadable: it must be refused,
	// not ignored (limit=%zz would otherwise mean "no limit given")
	t.Run("malformed escapes in the query", func(t *testing.T) {
		for _, query := range []string{"limit=%zz", "tag=%zz", "id=%zz&limit=1", "is_deleted=%"} {
			r := sendRaw(t, env.ts.URL, "GET "+apiBase+"/?"+query+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if r.Status == http.StatusOK {
				t.Fatalf("GET %s/?%s answers 200: the malformed parameter is silently dropped (url.Values from "+
					"URL.Query ignores pairs that fail to unescape); server/read.go should parse RawQuery with url.ParseQuery "+
					"and answer 422 on its error", apiBase, query)
			}
			checkHostile(t, "GET ?"+query, r, http.StatusUnprocessableEntity)
		}
	})

	t.Logf("heap in use: %d MB at the start, peak %d MB", start>>20, peak>>20)
	if growth := int64(peak) - int64(start); growth > 200<<20 {
		t.Errorf("heap in use grew by %d MB during the barrage, want < 200 MB", growth>>20)
	}
	if n := env.bare.count(); n != commits {
		t.Errorf("%d commits made by malformed requests", n-commits)
	}

	// valid requests still work
	var lr listResponse
	env.anon.on(t).getOK(apiBase+"/", &lr)
	if len(lr.Personas) == 0 {
		t.Error("the list is empty after the barrage")
	}
	env.anon.on(t).getOK(apiBase+"/"+idTarget+"/version/?version=latest", nil)
	r := env.c.on(t).do("POST", apiBase+"/", exampleCreate)
	if r.Status != http.StatusCreated {
		t.Errorf("create after the barrage: %d %s", r.Status, clip(r.Body))
	}
}

// TestHostileChunkedBodyTooLarge: a body over 1 MiB without Content-Length
// is cut off while the handler reads it; the answer must still be 413.
func TestHostileChunkedBodyTooLarge(t *testing.T) {
	t.Parallel()
	env := newWriteEnv(t, nil)
	commits := env.bare.count()
	big := []byte(`{"name": "` + strings.Repeat("n", 10<<20) + `", "role": "r", "initial_version": {"background": "b"}}`)
	for _, path := range []string{apiBase + "/", apiBase + "/" + idTarget + "/version/", apiBase + "/" + idTarget + "/"} {
		req, err := http.NewRequest("POST", env.ts.URL+path, chunked{bytes.NewReader(big)})
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		r := send(t, env.c.on(t), req)
		if r.Status == http.StatusUnprocessableEntity {
			t.Fatalf("POST %s with a chunked 10 MB body answers 422 %s, want 413: server/write.go decodeBody only "+
				"recognises *http.MaxBytesError, but echo's BodyLimit middleware fails the read with echo.ErrStatusRequestEntityTooLarge",
				path, clip(r.Body))
		}
		checkHostile(t, "chunked 10 MB POST "+path, r, http.StatusRequestEntityTooLarge)
	}
	if n := env.bare.count(); n != commits {
		t.Errorf("%d commits made", n-commits)
	}
}

// TestHostileHalfRequestLine: a client that sends half a request line and
// then nothing is disconnected by the server's ReadHeaderTimeout (5 s).
func TestHostileHalfRequestLine(t *testing.T) {
	t.Parallel()
	repo := newWorktreeRepo(t)
	repo.commit(alice, at(1), "Add a persona", map[string]string{
		"personas/a.yaml": persona{ID: idTarget, Name: "Slow Target", Role: "customer", Background: "Waits."}.yaml(),
	})
	ts := startServer(t, repo.dir, server.Config{}, serveOptions{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /v1/def"); err != nil {
		t.Fatal(err)
	}
	// net/http may answer "400 Bad Request" before it closes: read to the end
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // bounds the wait; the server closes after 5 s
	answer, err := io.ReadAll(conn)
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept a half request line open for %v (ReadHeaderTimeout is 5 s); it sent %q", took.Round(time.Millisecond), answer)
	}
	t.Logf("closed after %v (%v), answer %q", took.Round(time.Millisecond), err, answer)
	if len(answer) > 0 && !bytes.HasPrefix(answer, []byte("HTTP/1.1 400 ")) {
		t.Errorf("the answer to a half request line is %q, want nothing or 400", answer)
	}
	if took < 4*time.Second {
		t.Errorf("closed after %v, before the 5 s ReadHeaderTimeout", took)
	}
	// and the server still answers
	newClient(t, ts.URL).getOK(apiBase+"/", nil)
}
