package server_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/personaregistry/personas/registry/gittest"
)

// idNewBanker is a banking persona that only the pr branch of
// TestPreviewReadScope has.
const idNewBanker = "0000000000000000000000b9"

// TestPreviewReadScope: under /ref/{ref}/ a scoped token sees what its read
// scope allows of the ref, as on the served branch: in the read API and in
// the diff (a persona only when the scope covers each of its sides).
func TestPreviewReadScope(t *testing.T) {
	t.Parallel()
	e := newScopeEnv(t, true)
	wt := &gitRepo{t: t, dir: filepath.Join(t.TempDir(), "wt")}
	gittest.Run(t, filepath.Dir(wt.dir), defaultGitEnv, "clone", "-q", e.bare.dir, wt.dir)
	wt.commit(carol, at(4), "pr: a banker, edits across teams", map[string]string{
		"personas/banking/new.yaml": persona{ID: idNewBanker, Name: "New Banker", Role: "account holder",
			Tags: []string{"team: banking"}, Background: "Opens an account."}.yaml(),
		"personas/health/carer.yaml": persona{ID: idCarer, Name: "Family Carer", Role: "caregiver",
			Tags: []string{"team: health"}, Background: "Calls for a parent, twice a week."}.yaml(),
		"personas/vendor.yaml": persona{ID: idVendor, Name: "Vendor Runner", Role: "vendor",
			Background: "Calls from the vendor's new test runner."}.yaml(),
		// the loan moves out of the banking scope on the ref
		"personas/banking/loan.yaml": persona{ID: idLoan, Name: "Loan Applicant", Role: "account holder",
			Tags: []string{"team: health", "tier: gold"}, Background: "Calls to ask about a loan."}.yaml(),
	})
	wt.git("push", "-q", "origin", "HEAD:refs/heads/pr")

	cases := []struct {
		token      string
		list, diff []string // ids, sorted
	}{
		{"banking", []string{idTeller, idAuditor, idNewBanker}, []string{idNewBanker}},
		{"health", []string{idPatient, idCarer}, []string{idCarer}},
		{"auditors", []string{idAuditor}, []string{}},
		{"reader", []string{idTeller, idLoan, idAuditor, idPatient, idCarer, idVendor, idNewBanker},
			[]string{idLoan, idCarer, idVendor, idNewBanker}},
	}
	for _, tc := range cases {
		t.Run(tc.token, func(t *testing.T) {
			auth := []string{"Authorization", "Bearer " + e.tokens[tc.token]}
			st, _, body := rawGet(t, e.ts.URL+"/ref/pr"+apiBase+"/?limit=50", auth...)
			var list listResponse
			if st != http.StatusOK || json.Unmarshal(body, &list) != nil {
				t.Fatalf("list on the ref = %d %s", st, clip(body))
			}
			if got := sorted(ids(list.Personas)); !slices.Equal(got, sorted(tc.list)) {
				t.Errorf("list on the ref = %v, want %v", got, sorted(tc.list))
			}
			st, _, body = rawGet(t, e.ts.URL+"/ref/pr/diff", auth...)
			var d struct {
				Personas []struct{ ID string }
			}
			if st != http.StatusOK || json.Unmarshal(body, &d) != nil {
				t.Fatalf("diff = %d %s", st, clip(body))
			}
			got := []string{}
			for _, p := range d.Personas {
				got = append(got, p.ID)
			}
			if !slices.Equal(sorted(got), sorted(tc.diff)) {
				t.Errorf("diff personas = %v, want %v", sorted(got), sorted(tc.diff))
			}
		})
	}
	for _, path := range []string{"/ref/pr" + apiBase + "/", "/ref/pr/diff"} {
		if st, _, body := rawGet(t, e.ts.URL+path); st != http.StatusUnauthorized {
			t.Errorf("GET %s without a token = %d %s, want 401", path, st, clip(body))
		}
	}
}
