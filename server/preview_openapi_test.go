package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// the diff's Markdown is text: validated as a string
func init() { openapi3filter.RegisterBodyDecoder("text/markdown", openapi3filter.PlainBodyDecoder) }

// TestOpenAPIDescribesRefPreviews checks that openapi.json describes the
// /ref/{ref}/ prefix: a GET of every read path of /v1/ with the ref
// parameter and a 404 for an unknown ref, 405 for every write method of
// /v1/, and /ref/{ref}/diff with its format.
func TestOpenAPIDescribesRefPreviews(t *testing.T) {
	doc, _ := openAPISpec(t)
	if doc == nil {
		return
	}
	hasRef := func(op *openapi3.Operation) bool {
		return slices.ContainsFunc(op.Parameters, func(p *openapi3.ParameterRef) bool {
			return p.Value != nil && p.Value.Name == "ref" && p.Value.In == "path" && p.Value.Required
		})
	}
	refPaths := 0
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		refPaths++
		ref := doc.Paths.Find("/ref/{ref}" + path)
		if ref == nil {
			t.Errorf("%s has no /ref/{ref}%s", path, path)
			continue
		}
		for method, op := range item.Operations() {
			rop := ref.GetOperation(method)
			switch {
			case rop == nil:
				t.Errorf("%s /ref/{ref}%s is not described", method, path)
			case !hasRef(rop):
				t.Errorf("%s /ref/{ref}%s has no required path parameter ref", method, path)
			case method == http.MethodGet && (rop.Responses.Status(200) == nil || rop.Responses.Status(404) == nil):
				t.Errorf("GET /ref/{ref}%s should answer 200 and 404 (unknown ref), like GET %s (%v)", path, path, op.Responses.Map())
			case method != http.MethodGet && rop.Responses.Status(405) == nil:
				t.Errorf("%s /ref/{ref}%s should answer 405", method, path)
			}
		}
	}
	if refPaths == 0 {
		t.Fatal("openapi.json has no /v1/ paths")
	}
	diff := doc.Paths.Find("/ref/{ref}/diff")
	if diff == nil || diff.Get == nil {
		t.Fatal("GET /ref/{ref}/diff is not described")
	}
	format := diff.Get.Parameters.GetByInAndName("query", "format")
	if format == nil || format.Schema == nil || !slices.Equal(format.Schema.Value.Enum, []any{"json", "markdown"}) {
		t.Errorf("GET /ref/{ref}/diff: parameter format should be json or markdown, got %+v", format)
	}
	if !hasRef(diff.Get) || diff.Get.Responses.Status(404) == nil || diff.Get.Responses.Status(422) == nil {
		t.Error("GET /ref/{ref}/diff should have the ref parameter and answer 404 and 422")
	}
	ok := diff.Get.Responses.Status(200)
	for _, ct := range []string{"application/json", "text/markdown"} {
		if ok == nil || ok.Value.Content.Get(ct) == nil {
			t.Errorf("GET /ref/{ref}/diff: 200 should have %s", ct)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if op := diff.GetOperation(m); op == nil || op.Responses.Status(405) == nil {
			t.Errorf("%s /ref/{ref}/diff should answer 405", m)
		}
	}
}

// TestPreviewAnswersMatchOpenAPI sends the reads, the diff, writes and
// unknown refs under /ref/ through the validating client: each answer must
// be on a described route with a described status, headers and body (refs
// with slashes are written with %2F, as the document says).
func TestPreviewAnswersMatchOpenAPI(t *testing.T) {
	f := newPreviewFixture(t)
	cl := newClient(t, f.ts.URL)
	for _, ref := range []string{"feature%2Fnew-callers", "pull%2F5%2Fhead", "v1", f.fork, "rewritten"} {
		t.Run(ref, func(t *testing.T) {
			cl := cl.on(t)
			for _, p := range readPaths {
				r := cl.get("/ref/" + ref + p)
				// a persona the ref lacks is 404, validated too
				if r.Status != http.StatusOK && (r.Status != http.StatusNotFound || !strings.Contains(p, "/version/")) {
					t.Errorf("GET /ref/%s%s = %d: %s", ref, p, r.Status, clip(r.Body))
				}
			}
			for _, format := range []string{"json", "markdown"} {
				if r := cl.get("/ref/" + ref + "/diff?format=" + format); r.Status != http.StatusOK {
					t.Errorf("GET /ref/%s/diff?format=%s = %d: %s", ref, format, r.Status, clip(r.Body))
				}
			}
			for _, w := range []struct{ method, path string }{
				{http.MethodPost, apiBase + "/"},
				{http.MethodPost, apiBase + "/" + pvAnna + "/version/"},
				{http.MethodPost, apiBase + "/" + pvAnna + "/"},
				{http.MethodDelete, apiBase + "/" + pvAnna + "/"},
				{http.MethodPut, "/diff"},
			} {
				r := cl.do(w.method, "/ref/"+ref+w.path, map[string]string{"name": "x"})
				expectError(t, w.method+" under /ref/", r, http.StatusMethodNotAllowed, "MethodNotAllowedError")
			}
		})
	}
	for _, p := range []string{apiBase + "/", "/diff"} {
		r := cl.get("/ref/feature%2Fmissing" + p)
		expectError(t, "unknown ref", r, http.StatusNotFound, "NotFoundError")
	}
}
