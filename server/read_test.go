package server_test

// End-to-end tests of the read API (issue "read API"): a repository built
// with the git CLI, a real server on a loopback port, real HTTP requests,
// every response checked against openapi.json.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/personaregistry/personas/server"
)

// Persona ids of the read fixture.
const (
	idNewcomer  = "0000000000000000000000c1" // patient, alice, 2 versions
	idAngry     = "0000000000000000000000c2" // customer, alice, same commit as c1
	idJose      = "0000000000000000000000c3" // customer, bob, accents, retagged last
	idStudent   = "0000000000000000000000c4" // student, bob, 12 versions (carol)
	idCaregiver = "0000000000000000000000c5" // caregiver, carol, unit test
	idZeppelin  = "0000000000000000000000c6" // customer, carol, deleted
	idTeacher   = "0000000000000000000000c7" // patient, alice, deleted
	idLate      = "0000000000000000000000c8" // patient, bob, no tags
	idBroken    = "0000000000000000000000c9" // never valid: a problem
	idUnknown   = "0000000000000000000000ff"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	carol = "carol@example.com"
)

// t0 is the fixture's clock: commit n is made at t0 + n hours.
var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }

// readFixture is the repository the read tests serve.
type readFixture struct {
	repo    *gitRepo
	commits map[int]string // commit number → hash
}

func studentBackground(n int) string {
	return fmt.Sprintf("Version %d: an international student asking about visa deadlines.", n)
}

const newcomerV1 = "A first-time user full of confusion about the signup flow."
const newcomerV2 = "A first-time user full of confusion about the signup flow and the password rules."

// brokenFile fails validation on line 5 (a two-letter language code).
const brokenFile = `id: 0000000000000000000000c9
name: "Broken Persona"
role: patient
background: "Has a language code that is not ISO 639-3."
preferred_language: en
`

// buildReadFixture makes ~8 personas over 21 commits by three authors:
//
//	 1 alice  add c1 Newcomer (patient) and c2 Angry (customer)
//	 2 bob    add c3 José Müller (customer)
//	 3 bob    add c4 International Student v1
//	 4 carol  add c5 Overwhelmed Caregiver and a unit test referencing it
//	 5 carol  add c6 Zeppelin Pilot
//	 6 alice  add c7 Retired Teacher
//	 7 carol  c4 v2
//	 8 bob    c1 v2
//	 9 alice  delete c6
//	10-19 carol c4 v3 … v12
//	20 bob    add c8 Late Arrival
//	21 alice  delete c7, retag c3, add the broken file
func buildReadFixture(t testing.TB) readFixture {
	t.Helper()
	repo := newWorktreeRepo(t)
	fx := readFixture{repo: repo, commits: map[int]string{}}
	newcomer := persona{ID: idNewcomer, Name: "Newcomer Without A Clue", Role: "patient",
		Tags: []string{"category: onboarding", "difficulty: low"}, Background: newcomerV1, Language: "eng", Timezone: "America/New_York"}
	angry := persona{ID: idAngry, Name: "Angry Billing Customer", Role: "customer",
		Tags:       []string{"category: billing", "difficulty: high", "escalation:"},
		Background: "Disputes a double charge on the monthly invoice and wants a refund today."}
	jose := persona{ID: idJose, Name: "José Müller", Role: "customer",
		Tags:       []string{"category: billing", "channel: voice"},
		Background: "Runs a small café in Zürich and calls about a refund for a broken espresso machine.", Language: "deu"}
	student := persona{ID: idStudent, Name: "International Student", Role: "student",
		Tags: []string{"category: enrollment", "difficulty:"}, Background: studentBackground(1)}
	caregiver := persona{ID: idCaregiver, Name: "Overwhelmed Caregiver", Role: "caregiver",
		Tags: []string{"category: health", "difficulty: high"}, Background: "Looks after her father and his insulin schedule."}
	zeppelin := persona{ID: idZeppelin, Name: "Zeppelin Pilot", Role: "customer",
		Tags: []string{"category: travel"}, Background: "Flies a zeppelin over the lake and wants a refund."}
	teacher := persona{ID: idTeacher, Name: "Retired Teacher", Role: "patient",
		Tags: []string{"category: onboarding", "escalation:"}, Background: "A retired teacher booking a check-up."}
	late := persona{ID: idLate, Name: "Late Arrival", Role: "patient", Background: "Joins the registry last."}

	fx.commits[1] = repo.commit(alice, at(1), "Add newcomer and angry customer", map[string]string{
		"personas/newcomer.yaml": newcomer.yaml(), "personas/angry.yaml": angry.yaml()})
	fx.commits[2] = repo.commit(bob, at(2), "Add José", map[string]string{"personas/jose.yaml": jose.yaml()})
	fx.commits[3] = repo.commit(bob, at(3), "Add student", map[string]string{"personas/student.yaml": student.yaml()})
	fx.commits[4] = repo.commit(carol, at(4), "Add caregiver", map[string]string{
		"personas/caregiver.yaml":   caregiver.yaml(),
		"unit_tests/caregiver.yaml": "persona_id: " + idCaregiver + "\nname: Insulin schedule\n"})
	fx.commits[5] = repo.commit(carol, at(5), "Add zeppelin", map[string]string{"personas/zeppelin.yaml": zeppelin.yaml()})
	fx.commits[6] = repo.commit(alice, at(6), "Add teacher", map[string]string{"personas/teacher.yaml": teacher.yaml()})
	student.Background = studentBackground(2)
	fx.commits[7] = repo.commit(carol, at(7), "Student v2", map[string]string{"personas/student.yaml": student.yaml()})
	newcomer.Background = newcomerV2
	fx.commits[8] = repo.commit(bob, at(8), "Newcomer v2", map[string]string{"personas/newcomer.yaml": newcomer.yaml()})
	fx.commits[9] = repo.commit(alice, at(9), "Delete zeppelin", map[string]string{"personas/zeppelin.yaml": deleteFile})
	for n := 3; n <= 12; n++ {
		student.Background = studentBackground(n)
		fx.commits[7+n] = repo.commit(carol, at(7+n), fmt.Sprintf("Student v%d", n),
			map[string]string{"personas/student.yaml": student.yaml()})
	}
	fx.commits[20] = repo.commit(bob, at(20), "Add late arrival", map[string]string{"personas/late.yaml": late.yaml()})
	jose.Tags = append(jose.Tags, "difficulty: medium")
	fx.commits[21] = repo.commit(alice, at(21), "Delete teacher, retag José, add a broken file", map[string]string{
		"personas/teacher.yaml": deleteFile, "personas/jose.yaml": jose.yaml(), "personas/broken.yaml": brokenFile})
	return fx
}

func TestReadAPI(t *testing.T) {
	t.Parallel()
	fx := buildReadFixture(t)
	ts := startServer(t, fx.repo.dir, server.Config{}, serveOptions{})
	list := apiBase + "/"

	all := []string{idNewcomer, idAngry, idJose, idStudent, idCaregiver, idZeppelin, idTeacher, idLate}

	t.Run("instance fields", func(t *testing.T) {
		var res listResponse
		newClient(t, ts.URL).getOK(list+q("id", idAngry, "id", idJose), &res)
		if len(res.Personas) != 2 {
			t.Fatalf("got %v", ids(res.Personas))
		}
		esc, cat, diff := res.Personas[0].Tags["escalation"], res.Personas[0].Tags["category"], res.Personas[0].Tags["difficulty"]
		angry := res.Personas[0]
		if angry.ID != idAngry || angry.Name != "Angry Billing Customer" || angry.Role != "customer" || angry.IsDeleted {
			t.Errorf("angry = %+v", angry)
		}
		if _, ok := angry.Tags["escalation"]; !ok || esc != nil || cat == nil || *cat != "billing" || diff == nil || *diff != "high" {
			t.Errorf("angry tags = %v, want category billing, difficulty high, escalation null", angry.Tags)
		}
		if !angry.CreatedAt.Equal(at(1)) || !angry.UpdatedAt.Equal(at(1)) {
			t.Errorf("angry created %v updated %v, want both %v", angry.CreatedAt, angry.UpdatedAt, at(1))
		}
		if want := (userInfo{org, alice}); angry.Creator != want || angry.UpdatedBy != want {
			t.Errorf("angry creator %v updated_by %v, want %v", angry.Creator, angry.UpdatedBy, want)
		}
		jose := res.Personas[1]
		if jose.Name != "José Müller" || !jose.CreatedAt.Equal(at(2)) || !jose.UpdatedAt.Equal(at(21)) ||
			jose.Creator != (userInfo{org, bob}) || jose.UpdatedBy != (userInfo{org, alice}) {
			t.Errorf("josé = %+v: want created at commit 2 by bob, updated (retag) at commit 21 by alice", jose)
		}
		// The raw JSON: RFC 3339 UTC times and a literal null tag value.
		r := newClient(t, ts.URL).get(list + q("id", idAngry))
		for _, want := range []string{`"created_at":"2024-03-01T11:00:00Z"`, `"escalation":null`} {
			if !strings.Contains(string(r.Body), want) {
				t.Errorf("body lacks %s: %s", want, r.Body)
			}
		}
	})

	t.Run("filters", func(t *testing.T) {
		cases := []struct {
			name  string
			query []string
			want  []string
		}{
			{"none", nil, all},
			{"one id", []string{"id", idJose}, []string{idJose}},
			{"ids are OR", []string{"id", idJose, "id", idNewcomer, "id", idUnknown}, []string{idNewcomer, idJose}},
			{"role", []string{"role", "patient"}, []string{idNewcomer, idTeacher, idLate}},
			{"roles are OR", []string{"role", "patient", "role", "student"}, []string{idNewcomer, idStudent, idTeacher, idLate}},
			{"unknown role", []string{"role", "astronaut"}, []string{}},
			{"creator", []string{"creator", org + "," + alice}, []string{idNewcomer, idAngry, idTeacher}},
			{"creators are OR", []string{"creator", org + "," + alice, "creator", org + "," + carol},
				[]string{idNewcomer, idAngry, idCaregiver, idZeppelin, idTeacher}},
			{"creator of another org", []string{"creator", "other," + alice}, []string{}},
			{"tag key:value", []string{"tag", "category:billing"}, []string{idAngry, idJose}},
			{"tag key:* any value, null included", []string{"tag", "difficulty:*"},
				[]string{idNewcomer, idAngry, idJose, idStudent, idCaregiver}},
			{"tag key: null value", []string{"tag", "difficulty:"}, []string{idStudent}},
			{"tag key: null value, other key", []string{"tag", "escalation:"}, []string{idAngry, idTeacher}},
			{"tag value no persona has", []string{"tag", "category:space"}, []string{}},
			{"several tags must all hold", []string{"tag", "category:billing", "tag", "difficulty:high"}, []string{idAngry}},
			{"several tags, one any", []string{"tag", "category:billing", "tag", "channel:*"}, []string{idJose}},
			{"several tags, none all hold", []string{"tag", "category:health", "tag", "escalation:"}, []string{}},
			{"is_deleted=true", []string{"is_deleted", "true"}, []string{idZeppelin, idTeacher}},
			{"is_deleted=false", []string{"is_deleted", "false"},
				[]string{idNewcomer, idAngry, idJose, idStudent, idCaregiver, idLate}},
			{"AND across filters: role and tag", []string{"role", "customer", "tag", "category:billing"}, []string{idAngry, idJose}},
			{"AND across filters: role and creator", []string{"role", "customer", "creator", org + "," + bob}, []string{idJose}},
			{"AND across filters: role and is_deleted", []string{"role", "customer", "is_deleted", "true"}, []string{idZeppelin}},
			{"AND with OR inside", []string{"role", "patient", "role", "customer", "creator", org + "," + alice, "is_deleted", "false"},
				[]string{idNewcomer, idAngry}},
			{"AND across all filters", []string{"id", idAngry, "id", idJose, "role", "customer", "creator", org + "," + alice,
				"tag", "escalation:", "is_deleted", "false"}, []string{idAngry}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var res listResponse
				newClient(t, ts.URL).getOK(list+q(tc.query...), &res)
				if got := ids(res.Personas); !slices.Equal(got, tc.want) {
					t.Errorf("got %v\nwant %v", got, tc.want)
				}
				if res.HasMore || res.ContinuationToken != nil {
					t.Errorf("has_more %v continuation_token %v on a single page", res.HasMore, res.ContinuationToken)
				}
			})
		}
	})

	t.Run("sort", func(t *testing.T) {
		// created_at: c1 = c2 (commit 1) < c3 < c4 < c5 < c6 < c7 < c8.
		// updated_at: c2 1, c5 4, c1 8, c6 9, c4 19, c8 20, c3 = c7 21.
		cases := []struct {
			name  string
			query []string
			want  []string
		}{
			{"default: created_at ascending, ties by id", nil,
				[]string{idNewcomer, idAngry, idJose, idStudent, idCaregiver, idZeppelin, idTeacher, idLate}},
			{"+created_at", []string{"sort_by", "+created_at"},
				[]string{idNewcomer, idAngry, idJose, idStudent, idCaregiver, idZeppelin, idTeacher, idLate}},
			{"-created_at, ties by id", []string{"sort_by", "-created_at"},
				[]string{idLate, idTeacher, idZeppelin, idCaregiver, idStudent, idJose, idNewcomer, idAngry}},
			{"+updated_at, ties by id", []string{"sort_by", "+updated_at"},
				[]string{idAngry, idCaregiver, idNewcomer, idZeppelin, idStudent, idLate, idJose, idTeacher}},
			{"-updated_at, ties by id", []string{"sort_by", "-updated_at"},
				[]string{idJose, idTeacher, idLate, idStudent, idZeppelin, idNewcomer, idCaregiver, idAngry}},
			{"+name", []string{"sort_by", "+name"},
				[]string{idAngry, idStudent, idJose, idLate, idNewcomer, idCaregiver, idTeacher, idZeppelin}},
			{"-name", []string{"sort_by", "-name"},
				[]string{idZeppelin, idTeacher, idCaregiver, idNewcomer, idLate, idJose, idStudent, idAngry}},
			{"+created_at then +name", []string{"sort_by", "+created_at", "sort_by", "+name"},
				[]string{idAngry, idNewcomer, idJose, idStudent, idCaregiver, idZeppelin, idTeacher, idLate}},
			{"-updated_at then -name", []string{"sort_by", "-updated_at", "sort_by", "-name"},
				[]string{idTeacher, idJose, idLate, idStudent, idZeppelin, idNewcomer, idCaregiver, idAngry}},
			{"-created_at then -name", []string{"sort_by", "-created_at", "sort_by", "-name"},
				[]string{idLate, idTeacher, idZeppelin, idCaregiver, idStudent, idJose, idNewcomer, idAngry}},
			{"sort with a filter", []string{"role", "patient", "sort_by", "-name"}, []string{idTeacher, idNewcomer, idLate}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var res listResponse
				newClient(t, ts.URL).getOK(list+q(tc.query...), &res)
				if got := ids(res.Personas); !slices.Equal(got, tc.want) {
					t.Errorf("got %v\nwant %v", got, tc.want)
				}
			})
		}
		t.Run("unencoded + read as a space", func(t *testing.T) {
			var res listResponse
			newClient(t, ts.URL).getOK(list+"?sort_by=+name", &res)
			if got, want := ids(res.Personas), cases[5].want; !slices.Equal(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
		})
	})

	t.Run("paging", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			query []string
			want  []string
		}{
			{"default order", nil, all},
			{"sorted by -name", []string{"sort_by", "-name"},
				[]string{idZeppelin, idTeacher, idCaregiver, idNewcomer, idLate, idJose, idStudent, idAngry}},
			{"filtered", []string{"role", "patient", "role", "customer"}, []string{idNewcomer, idAngry, idJose, idZeppelin, idTeacher, idLate}},
		} {
			for limit := 1; limit <= 9; limit++ {
				t.Run(fmt.Sprintf("%s/limit %d", tc.name, limit), func(t *testing.T) {
					cl := newClient(t, ts.URL)
					var got []string
					token := 0
					for page := 0; ; page++ {
						if page > len(tc.want)+1 {
							t.Fatal("paging does not end")
						}
						var res listResponse
						cl.getOK(list+q(append(slices.Clone(tc.query), "limit", strconv.Itoa(limit), "continuation_token", strconv.Itoa(token))...), &res)
						if len(res.Personas) > limit {
							t.Fatalf("page %d has %d personas, limit %d", page, len(res.Personas), limit)
						}
						if (page == 0) != (res.FilterValues != nil) {
							t.Errorf("page %d (token %d): filter_values %v, want them on the first page only", page, token, res.FilterValues)
						}
						got = append(got, ids(res.Personas)...)
						if !res.HasMore {
							if res.ContinuationToken != nil {
								t.Errorf("last page: continuation_token %d, want null", *res.ContinuationToken)
							}
							break
						}
						if res.ContinuationToken == nil || *res.ContinuationToken != token+limit {
							t.Fatalf("page %d: has_more with continuation_token %v, want %d", page, res.ContinuationToken, token+limit)
						}
						if len(res.Personas) != limit {
							t.Errorf("page %d: has_more but only %d of %d personas", page, len(res.Personas), limit)
						}
						token = *res.ContinuationToken
					}
					if !slices.Equal(got, tc.want) {
						t.Errorf("pages gave %v\nwant %v", got, tc.want)
					}
				})
			}
		}
		t.Run("limit 0", func(t *testing.T) {
			var res listResponse
			newClient(t, ts.URL).getOK(list+q("limit", "0"), &res)
			if len(res.Personas) != 0 || !res.HasMore {
				t.Errorf("limit 0: %v has_more %v, want no personas and has_more", ids(res.Personas), res.HasMore)
			}
		})
		t.Run("token past the end", func(t *testing.T) {
			var res listResponse
			newClient(t, ts.URL).getOK(list+q("continuation_token", "100"), &res)
			if len(res.Personas) != 0 || res.HasMore || res.ContinuationToken != nil || res.FilterValues != nil {
				t.Errorf("token 100: %+v, want an empty last page without filter_values", res)
			}
		})
	})

	t.Run("filter_values", func(t *testing.T) {
		want := filterValues{
			Creators: []userInfo{{org, alice}, {org, bob}, {org, carol}},
			Tags: []string{"category:billing", "category:enrollment", "category:health", "category:onboarding", "category:travel",
				"channel:voice", "difficulty:", "difficulty:high", "difficulty:low", "difficulty:medium", "escalation:"},
			Roles: []string{"caregiver", "customer", "patient", "student"},
		}
		for _, query := range [][]string{nil, {"role", "student"}, {"tag", "category:travel", "is_deleted", "false"}} {
			var res listResponse
			newClient(t, ts.URL).getOK(list+q(query...), &res)
			if res.FilterValues == nil {
				t.Fatalf("%v: filter_values null on the first page", query)
			}
			fv := *res.FilterValues
			slices.SortFunc(fv.Creators, func(a, b userInfo) int { return strings.Compare(a.UserID, b.UserID) })
			slices.Sort(fv.Tags)
			slices.Sort(fv.Roles)
			if !slices.Equal(fv.Creators, want.Creators) || !slices.Equal(fv.Tags, want.Tags) || !slices.Equal(fv.Roles, want.Roles) {
				t.Errorf("%v: filter_values\n got %+v\nwant %+v (over every persona, ignoring the filters)", query, fv, want)
			}
		}
	})

	t.Run("search", func(t *testing.T) {
		cases := []struct {
			name    string
			query   []string
			want    []string // exact set
			wantTop string   // the best hit, when it matters
		}{
			{"stem: confused finds confusion", []string{"query", "confused"}, []string{idNewcomer}, idNewcomer},
			{"name match", []string{"query", "caregiver"}, []string{idCaregiver}, idCaregiver},
			{"case-insensitive", []string{"query", "INSULIN"}, []string{idCaregiver}, idCaregiver},
			{"accent-insensitive, plain query", []string{"query", "zurich"}, []string{idJose}, idJose},
			{"accent-insensitive, accented query", []string{"query", "Zürich"}, []string{idJose}, idJose},
			{"accent-insensitive, name", []string{"query", "jose muller"}, []string{idJose}, idJose},
			{"accents on the query only", []string{"query", "cáfé"}, []string{idJose}, idJose},
			{"latest version only", []string{"query", "password"}, []string{idNewcomer}, idNewcomer},
			{"deleted personas excluded", []string{"query", "zeppelin"}, []string{}, ""},
			{"deleted personas excluded, shared word", []string{"query", "refund"}, []string{idAngry, idJose}, ""},
			{"any term may match", []string{"query", "insulin espresso"}, []string{idCaregiver, idJose}, ""},
			{"role filter", []string{"query", "refund", "role", "customer"}, []string{idAngry, idJose}, ""},
			{"role filter excludes", []string{"query", "refund", "role", "patient"}, []string{}, ""},
			{"tag filter", []string{"query", "refund", "tag", "channel:voice"}, []string{idJose}, idJose},
			{"null tag filter", []string{"query", "refund", "tag", "escalation:"}, []string{idAngry}, idAngry},
			{"creator filter", []string{"query", "refund", "creator", org + "," + alice}, []string{idAngry}, idAngry},
			{"no match", []string{"query", "xylophone"}, []string{}, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var res searchResponse
				newClient(t, ts.URL).getOK(apiBase+"/search"+q(tc.query...), &res)
				got := ids(res.Personas)
				if tc.wantTop != "" && (len(got) == 0 || got[0] != tc.wantTop) {
					t.Errorf("best hit: got %v, want %s first", got, tc.wantTop)
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(tc.want))
				if !slices.Equal(got, want) {
					t.Errorf("got %v\nwant %v", got, want)
				}
				for _, p := range res.Personas {
					if p.IsDeleted {
						t.Errorf("search returned the deleted persona %s", p.ID)
					}
				}
			})
		}
	})

	t.Run("versions", func(t *testing.T) {
		seq := func(from, to int) []int {
			var out []int
			if from <= to {
				for i := from; i <= to; i++ {
					out = append(out, i)
				}
			} else {
				for i := from; i >= to; i-- {
					out = append(out, i)
				}
			}
			return out
		}
		cases := []struct {
			name     string
			id       string
			query    []string
			want     []int
			hasMore  bool
			nextToke int
		}{
			{"all, default limit 10", idStudent, nil, seq(1, 10), true, 10},
			{"second page", idStudent, []string{"continuation_token", "10"}, seq(11, 12), false, 0},
			{"N", idStudent, []string{"version", "3"}, []int{3}, false, 0},
			{"latest", idStudent, []string{"version", "latest"}, []int{12}, false, 0},
			{"A-B", idStudent, []string{"version", "2-5"}, seq(2, 5), false, 0},
			{"A-A", idStudent, []string{"version", "7-7"}, []int{7}, false, 0},
			{"A-latest", idStudent, []string{"version", "10-latest"}, seq(10, 12), false, 0},
			{"1-latest pages", idStudent, []string{"version", "1-latest", "limit", "5"}, seq(1, 5), true, 5},
			{"range past the end is clipped", idStudent, []string{"version", "11-20"}, seq(11, 12), false, 0},
			{"N out of range", idStudent, []string{"version", "13"}, nil, false, 0},
			{"range out of range", idStudent, []string{"version", "13-20"}, nil, false, 0},
			{"A-latest out of range", idStudent, []string{"version", "13-latest"}, nil, false, 0},
			{"sort -version", idStudent, []string{"sort_by", "-version"}, seq(12, 3), true, 10},
			{"sort -version, page 2", idStudent, []string{"sort_by", "-version", "continuation_token", "10"}, seq(2, 1), false, 0},
			{"sort +version", idStudent, []string{"sort_by", "+version", "limit", "3"}, seq(1, 3), true, 3},
			{"sort -version in a range", idStudent, []string{"version", "2-5", "sort_by", "-version"}, seq(5, 2), false, 0},
			{"token past the end", idStudent, []string{"continuation_token", "50"}, nil, false, 0},
			{"two versions", idNewcomer, nil, []int{1, 2}, false, 0},
			{"range clipped to two", idNewcomer, []string{"version", "2-5"}, []int{2}, false, 0},
			{"deleted persona keeps its history", idZeppelin, nil, []int{1}, false, 0},
			{"one version, latest", idCaregiver, []string{"version", "latest"}, []int{1}, false, 0},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var res versionsResponse
				newClient(t, ts.URL).getOK(apiBase+"/"+tc.id+"/version/"+q(tc.query...), &res)
				if got := versionNumbers(res.Versions); !slices.Equal(got, tc.want) {
					t.Errorf("versions %v, want %v", got, tc.want)
				}
				if res.HasMore != tc.hasMore {
					t.Errorf("has_more %v, want %v", res.HasMore, tc.hasMore)
				}
				switch {
				case tc.hasMore && (res.ContinuationToken == nil || *res.ContinuationToken != tc.nextToke):
					t.Errorf("continuation_token %v, want %d", res.ContinuationToken, tc.nextToke)
				case !tc.hasMore && res.ContinuationToken != nil:
					t.Errorf("continuation_token %d, want null", *res.ContinuationToken)
				}
				for _, v := range res.Versions {
					if v.PersonaID != tc.id || v.OrgID != org {
						t.Errorf("version %d: persona %s org %s", v.Version, v.PersonaID, v.OrgID)
					}
				}
			})
		}
		for limit := 1; limit <= 10; limit++ {
			for _, desc := range []bool{false, true} {
				t.Run(fmt.Sprintf("paging limit %d desc %v", limit, desc), func(t *testing.T) {
					cl := newClient(t, ts.URL)
					var got []int
					token := 0
					for page := 0; ; page++ {
						if page > 13 {
							t.Fatal("paging does not end")
						}
						query := []string{"limit", strconv.Itoa(limit), "continuation_token", strconv.Itoa(token)}
						if desc {
							query = append(query, "sort_by", "-version")
						}
						var res versionsResponse
						cl.getOK(apiBase+"/"+idStudent+"/version/"+q(query...), &res)
						if len(res.Versions) > limit {
							t.Fatalf("%d versions on a page of limit %d", len(res.Versions), limit)
						}
						got = append(got, versionNumbers(res.Versions)...)
						if !res.HasMore {
							if res.ContinuationToken != nil {
								t.Errorf("last page: continuation_token %d, want null", *res.ContinuationToken)
							}
							break
						}
						if res.ContinuationToken == nil || *res.ContinuationToken != token+limit {
							t.Fatalf("continuation_token %v, want %d", res.ContinuationToken, token+limit)
						}
						token = *res.ContinuationToken
					}
					want := seq(1, 12)
					if desc {
						want = seq(12, 1)
					}
					if !slices.Equal(got, want) {
						t.Errorf("pages gave %v, want %v", got, want)
					}
				})
			}
		}
		t.Run("content", func(t *testing.T) {
			var res versionsResponse
			newClient(t, ts.URL).getOK(apiBase+"/"+idStudent+"/version/"+q("limit", "10"), &res)
			seen := map[string]bool{}
			for _, v := range res.Versions {
				// v1 is commit 3 (bob), v2 commit 7, vN commit 7+N (carol).
				commit, creator := fx.commits[3], bob
				switch {
				case v.Version == 2:
					commit, creator = fx.commits[7], carol
				case v.Version > 2:
					commit, creator = fx.commits[7+v.Version], carol
				}
				if v.Background != studentBackground(v.Version) || v.Commit != commit || v.Creator != (userInfo{org, creator}) {
					t.Errorf("version %d: background %q commit %s creator %v; want %q %s %s",
						v.Version, v.Background, v.Commit, v.Creator, studentBackground(v.Version), commit, creator)
				}
				if !v.CreatedAt.Equal(v.UpdatedAt) {
					t.Errorf("version %d: created_at %v != updated_at %v", v.Version, v.CreatedAt, v.UpdatedAt)
				}
				if v.UserModels == nil || v.NonsensitiveUserVariables == nil || v.SensitiveUserVariables == nil ||
					v.PreferredLanguage != nil || v.Timezone != nil {
					t.Errorf("version %d: defaults not applied: %+v", v.Version, v)
				}
				if seen[v.ID] {
					t.Errorf("version %d: _id %s repeats", v.Version, v.ID)
				}
				seen[v.ID] = true
			}
			// _id is stable: the same on another request.
			var again versionsResponse
			newClient(t, ts.URL).getOK(apiBase+"/"+idStudent+"/version/"+q("version", "1"), &again)
			if len(again.Versions) != 1 || again.Versions[0].ID != res.Versions[0].ID {
				t.Errorf("_id of version 1 is not stable: %v vs %v", again.Versions, res.Versions[0].ID)
			}
			var nc versionsResponse
			newClient(t, ts.URL).getOK(apiBase+"/"+idNewcomer+"/version/", &nc)
			if len(nc.Versions) != 2 || nc.Versions[0].Background != newcomerV1 || nc.Versions[1].Background != newcomerV2 ||
				nc.Versions[1].PreferredLanguage == nil || *nc.Versions[1].PreferredLanguage != "eng" ||
				nc.Versions[1].Timezone == nil || *nc.Versions[1].Timezone != "America/New_York" ||
				!nc.Versions[1].CreatedAt.Equal(at(8)) || nc.Versions[1].Creator != (userInfo{org, bob}) {
				t.Errorf("newcomer versions = %+v", nc.Versions)
			}
		})
	})

	t.Run("422", func(t *testing.T) {
		vpath := apiBase + "/" + idStudent + "/version/"
		cases := []struct {
			name string
			path string
			loc  string
		}{
			{"limit 51", list + q("limit", "51"), "query.limit"},
			{"limit -1", list + q("limit", "-1"), "query.limit"},
			{"limit abc", list + q("limit", "abc"), "query.limit"},
			{"continuation_token abc", list + q("continuation_token", "abc"), "query.continuation_token"},
			{"continuation_token -1", list + q("continuation_token", "-1"), "query.continuation_token"},
			{"id xyz", list + q("id", "xyz"), "query.id"},
			{"id upper case", list + q("id", strings.ToUpper(idAngry)), "query.id"},
			{"tag without colon", list + q("tag", "category"), "query.tag"},
			{"tag without key", list + q("tag", ":billing"), "query.tag"},
			{"unknown sort field", list + q("sort_by", "+role"), "query.sort_by"},
			{"sort field without sign", list + q("sort_by", "name"), "query.sort_by"},
			{"is_deleted maybe", list + q("is_deleted", "maybe"), "query.is_deleted"},
			{"creator without comma", list + q("creator", alice), "query.creator"},
			{"search without query", apiBase + "/search", "query.query"},
			{"search with an empty query", apiBase + "/search" + q("query", ""), "query.query"},
			{"search with a blank query", apiBase + "/search" + q("query", "   "), "query.query"},
			{"search tag without colon", apiBase + "/search" + q("query", "refund", "tag", "x"), "query.tag"},
			{"bad path id", apiBase + "/XYZ/version/", "path.simulation_persona_id"},
			{"short path id", apiBase + "/0000c1/version/", "path.simulation_persona_id"},
			{"version abc", vpath + q("version", "abc"), "query.version"},
			{"version 0", vpath + q("version", "0"), "query.version"},
			{"version 5-2", vpath + q("version", "5-2"), "query.version"},
			{"version -3", vpath + q("version", "-3"), "query.version"},
			{"version latest-3", vpath + q("version", "latest-3"), "query.version"},
			{"versions limit 0", vpath + q("limit", "0"), "query.limit"},
			{"versions limit 11", vpath + q("limit", "11"), "query.limit"},
			{"versions sort by name", vpath + q("sort_by", "+name"), "query.sort_by"},
			{"versions continuation_token abc", vpath + q("continuation_token", "abc"), "query.continuation_token"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := expectError(t, tc.path, newClient(t, ts.URL).get(tc.path), http.StatusUnprocessableEntity, "ValidationError")
				if locs := e.locs(); !slices.Contains(locs, tc.loc) {
					t.Errorf("errors[].loc = %v, want %s", locs, tc.loc)
				}
			})
		}
		t.Run("every bad parameter is named", func(t *testing.T) {
			path := list + q("limit", "51", "continuation_token", "abc", "tag", "nocolon")
			e := expectError(t, path, newClient(t, ts.URL).get(path), http.StatusUnprocessableEntity, "ValidationError")
			for _, loc := range []string{"query.limit", "query.continuation_token", "query.tag"} {
				if !slices.Contains(e.locs(), loc) {
					t.Errorf("errors[].loc = %v, want %s among them", e.locs(), loc)
				}
			}
		})
	})

	t.Run("404 and 405", func(t *testing.T) {
		cases := []struct {
			name   string
			method string
			path   string
			status int
			typ    string
		}{
			{"unknown org, list", "GET", "/v1/acme/simulation/persona/", 404, "NotFoundError"},
			{"unknown org, search", "GET", "/v1/acme/simulation/persona/search" + q("query", "x"), 404, "NotFoundError"},
			{"unknown org, versions", "GET", "/v1/acme/simulation/persona/" + idAngry + "/version/", 404, "NotFoundError"},
			{"unknown persona, versions", "GET", apiBase + "/" + idUnknown + "/version/", 404, "NotFoundError"},
			{"broken file is no persona", "GET", apiBase + "/" + idBroken + "/version/", 404, "NotFoundError"},
			{"unknown route", "GET", "/v1/default/nothing", 404, "NotFoundError"},
			{"unknown route under the API", "GET", apiBase + "/" + idAngry + "/tags/", 404, "NotFoundError"},
			{"unknown top-level route", "GET", "/favicon.ico", 404, "NotFoundError"},
			{"unknown method on the list", "PUT", list, 405, "MethodNotAllowedError"},
			{"unknown method on versions", "PATCH", apiBase + "/" + idAngry + "/version/", 405, "MethodNotAllowedError"},
			{"unknown method on healthz", "POST", "/healthz", 405, "MethodNotAllowedError"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := newClient(t, ts.URL).do(tc.method, tc.path, nil)
				expectError(t, tc.method+" "+tc.path, r, tc.status, tc.typ)
			})
		}
	})

	t.Run("problems", func(t *testing.T) {
		var res problemsResponse
		newClient(t, ts.URL).getOK(apiBase+"/problems", &res)
		var found *problem
		for i, p := range res.Problems {
			if p.Path == "personas/broken.yaml" {
				found = &res.Problems[i]
			}
		}
		if found == nil {
			t.Fatalf("problems %+v lack personas/broken.yaml", res.Problems)
		}
		if found.Line != 5 || found.Message == "" || found.Commit != fx.commits[21] {
			t.Errorf("problem = %+v, want line 5, a message and commit %s", *found, fx.commits[21])
		}
		if !strings.Contains(found.Message, "eng") {
			t.Errorf("problem message %q does not suggest eng for en", found.Message)
		}
		if len(res.Problems) != 1 {
			t.Errorf("problems = %+v, want only the broken file", res.Problems)
		}
	})

	t.Run("ETag and If-None-Match", func(t *testing.T) {
		cl := newClient(t, ts.URL)
		head := fx.commits[21]
		for _, path := range []string{list, list + q("role", "patient"), apiBase + "/search" + q("query", "refund"),
			apiBase + "/" + idStudent + "/version/", apiBase + "/problems"} {
			r := cl.get(path)
			etag := r.Header.Get("ETag")
			if r.Status != 200 || !strings.Contains(etag, head) {
				t.Errorf("GET %s: status %d ETag %q, want 200 and the head %s", path, r.Status, etag, head)
				continue
			}
			r2 := cl.get(path, "If-None-Match", etag)
			if r2.Status != http.StatusNotModified || len(r2.Body) != 0 {
				t.Errorf("GET %s If-None-Match %s: status %d body %q, want 304 without body", path, etag, r2.Status, r2.Body)
			}
			if r2.Header.Get("ETag") != etag {
				t.Errorf("304 ETag %q, want %q", r2.Header.Get("ETag"), etag)
			}
			r3 := cl.get(path, "If-None-Match", `"0123456789abcdef0123456789abcdef01234567"`)
			if r3.Status != 200 {
				t.Errorf("GET %s with a stale ETag: %d, want 200", path, r3.Status)
			}
		}
	})

	t.Run("gzip", func(t *testing.T) {
		r := newClient(t, ts.URL).get(list, "Accept-Encoding", "gzip")
		if r.Status != 200 || !r.Gzipped {
			t.Fatalf("status %d Content-Encoding %q, want 200 gzip", r.Status, r.Header.Get("Content-Encoding"))
		}
		var res listResponse
		r.decode(t, &res)
		if len(res.Personas) != len(all) {
			t.Errorf("gzipped list has %d personas", len(res.Personas))
		}
		if plain := newClient(t, ts.URL).get(list, "Accept-Encoding", "identity"); plain.Gzipped {
			t.Errorf("gzip without Accept-Encoding: gzip")
		}
	})

	t.Run("operations", func(t *testing.T) {
		cl := newClient(t, ts.URL)
		var health map[string]string
		cl.getOK("/healthz", &health)
		if health["status"] != "ok" {
			t.Errorf("healthz = %v", health)
		}
		var ready map[string]string
		cl.getOK("/readyz", &ready)
		if ready["status"] != "ready" || ready["head"] != fx.commits[21] {
			t.Errorf("readyz = %v, want ready at %s", ready, fx.commits[21])
		}
		// identity: see "metrics scraped with gzip" for what gzip does.
		r := cl.get("/metrics", "Accept-Encoding", "identity")
		checkMetrics(t, r)
		r = cl.getOK("/openapi.json", nil)
		doc, err := openapi3.NewLoader().LoadFromData(r.Body)
		if err != nil {
			t.Fatalf("/openapi.json does not load: %v", err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Errorf("/openapi.json is not valid: %v", err)
		}
		if !strings.HasPrefix(doc.OpenAPI, "3.1") || doc.Paths.Find("/v1/{organization}/simulation/persona/") == nil {
			t.Errorf("/openapi.json: openapi %q, paths %v", doc.OpenAPI, doc.Paths.InMatchingOrder())
		}
		if !json.Valid(r.Body) || string(r.Body) != string(server.OpenAPIJSON) {
			t.Errorf("/openapi.json differs from server.OpenAPIJSON")
		}
	})

	// Prometheus (and Go's http.Client) scrape with Accept-Encoding: gzip.
	t.Run("metrics scraped with gzip", func(t *testing.T) {
		// The transport asks for gzip by itself and undoes one layer.
		r := newClient(t, ts.URL).get("/metrics")
		if strings.HasPrefix(string(r.Body), "\x1f\x8b") {
			t.Fatal("BUG: /metrics is gzipped twice (promhttp compresses, then echo's Gzip middleware compresses again): " +
				"a scraper that asks for gzip gets gzip inside gzip and cannot parse the metrics. " +
				"Fix: server/metrics.go, (*metrics).handler: promhttp.HandlerOpts{DisableCompression: true}")
		}
		checkMetrics(t, r)
	})
}

// checkMetrics asserts /metrics answered the Prometheus text of the read
// fixture's server.
func checkMetrics(t *testing.T, r *response) {
	t.Helper()
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: status %d Content-Type %q", r.Status, r.Header.Get("Content-Type"))
	}
	for _, want := range []string{"personas_http_requests_total{", "personas_snapshot_personas 8", "personas_snapshot_problems 1"} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("/metrics lacks %q; body starts %q", want, clip(r.Body[:min(len(r.Body), 200)]))
		}
	}
}

// TestReadyzBeforeFirstRefresh: until the first index is built, /readyz and
// the reads answer 503; /healthz is up.
func TestReadyzBeforeFirstRefresh(t *testing.T) {
	t.Parallel()
	repo := newWorktreeRepo(t)
	repo.commit(alice, at(1), "one persona", map[string]string{
		"personas/a.yaml": persona{ID: idAngry, Name: "A", Role: "r", Background: "b"}.yaml()})
	ts := startServer(t, repo.dir, server.Config{}, serveOptions{noRefresh: true})
	c := newClient(t, ts.URL)
	if r := c.get("/healthz"); r.Status != 200 {
		t.Errorf("healthz before refresh: %d", r.Status)
	}
	expectError(t, "readyz", c.get("/readyz"), http.StatusServiceUnavailable, "ServiceUnavailableError")
	expectError(t, "list", c.get(apiBase+"/"), http.StatusServiceUnavailable, "ServiceUnavailableError")
	expectError(t, "versions", c.get(apiBase+"/"+idAngry+"/version/"), http.StatusServiceUnavailable, "ServiceUnavailableError")
	if _, err := ts.Reg.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ready map[string]string
	c.getOK("/readyz", &ready)
	if ready["head"] != repo.head() {
		t.Errorf("readyz = %v, want head %s", ready, repo.head())
	}
	var res listResponse
	c.getOK(apiBase+"/", &res)
	if got := ids(res.Personas); !slices.Equal(got, []string{idAngry}) {
		t.Errorf("list after refresh: %v", got)
	}
}

// TestSearchAtMost50: a search that matches 60 personas returns 50.
func TestSearchAtMost50(t *testing.T) {
	t.Parallel()
	repo := newWorktreeRepo(t)
	files := map[string]string{}
	for i := range 60 {
		files[fmt.Sprintf("personas/p%02d.yaml", i)] = persona{ID: fmt.Sprintf("abcd%020x", i), Name: fmt.Sprintf("Caller %d", i),
			Role: "customer", Background: "Wants a refund for a delayed parcel."}.yaml()
	}
	repo.commit(alice, at(1), "sixty personas", files)
	ts := startServer(t, repo.dir, server.Config{}, serveOptions{})
	var res searchResponse
	newClient(t, ts.URL).getOK(apiBase+"/search"+q("query", "refund"), &res)
	if len(res.Personas) != 50 {
		t.Errorf("search returned %d personas, want 50", len(res.Personas))
	}
	var page listResponse
	newClient(t, ts.URL).getOK(apiBase+"/", &page)
	if len(page.Personas) != 50 || !page.HasMore || page.ContinuationToken == nil || *page.ContinuationToken != 50 {
		t.Errorf("default list page: %d personas has_more %v token %v, want 50, true, 50", len(page.Personas), page.HasMore, page.ContinuationToken)
	}
}

// TestReadFollowsCommits: with reg.Watch(), a commit made with the git CLI
// while the server runs is served within a second; the ETag changes; a
// committed broken file shows under /problems while the rest keeps serving.
func TestReadFollowsCommits(t *testing.T) {
	t.Parallel()
	repo := newWorktreeRepo(t)
	first := persona{ID: idAngry, Name: "First", Role: "customer", Tags: []string{"tier: gold"}, Background: "The first persona."}
	repo.commit(alice, at(1), "first", map[string]string{"personas/first.yaml": first.yaml()})
	ts := startServer(t, repo.dir, server.Config{}, serveOptions{watch: true})
	c := newClient(t, ts.URL)
	r := c.getOK(apiBase+"/", nil)
	etag1 := r.Header.Get("ETag")

	// waitFor polls the list until cond holds, failing after 30 s (the
	// watcher is told at once; the limit only bounds the wait).
	waitFor := func(what string, query string, cond func(listResponse) bool) *response {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var res listResponse
			r := c.getOK(apiBase+"/"+query, &res)
			if cond(res) {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not served within 30s of the commit", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	second := persona{ID: idJose, Name: "Second", Role: "customer", Background: "Committed while the server runs."}
	head2 := repo.commit(bob, at(2), "second", map[string]string{"personas/second.yaml": second.yaml()})
	r = waitFor("new persona", q("id", idJose), func(res listResponse) bool { return len(res.Personas) == 1 })
	etag2 := r.Header.Get("ETag")
	if etag2 == etag1 || !strings.Contains(etag2, head2) {
		t.Errorf("ETag after a commit: %q (before %q), want one naming %s", etag2, etag1, head2)
	}
	if r := c.get(apiBase+"/", "If-None-Match", etag1); r.Status != 200 {
		t.Errorf("If-None-Match with the old ETag: %d, want 200", r.Status)
	}
	if r := c.get(apiBase+"/", "If-None-Match", etag2); r.Status != http.StatusNotModified {
		t.Errorf("If-None-Match with the new ETag: %d, want 304", r.Status)
	}

	// A broken edit of the first persona and a broken new file: both are
	// problems, the first persona keeps its last valid state, the rest
	// keeps serving.
	head3 := repo.commit(carol, at(3), "break things", map[string]string{
		"personas/first.yaml":  strings.Replace(first.yaml(), "tier: gold", "tier: gold\nbackground: duplicate key", 1),
		"personas/broken.yaml": brokenFile,
	})
	deadline := time.Now().Add(30 * time.Second)
	var probs problemsResponse
	for {
		r := c.getOK(apiBase+"/problems", &probs)
		if strings.Contains(r.Header.Get("ETag"), head3) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the broken commit was not served within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	paths := map[string]problem{}
	for _, p := range probs.Problems {
		paths[p.Path] = p
		if p.Commit != head3 || p.Message == "" || p.Line == 0 {
			t.Errorf("problem %+v: want commit %s, a message and a line", p, head3)
		}
	}
	if _, ok := paths["personas/broken.yaml"]; !ok {
		t.Errorf("problems %+v lack personas/broken.yaml", probs.Problems)
	}
	if _, ok := paths["personas/first.yaml"]; !ok {
		t.Errorf("problems %+v lack personas/first.yaml", probs.Problems)
	}
	var res listResponse
	c.getOK(apiBase+"/", &res)
	if got := ids(res.Personas); !slices.Equal(got, []string{idAngry, idJose}) {
		t.Errorf("after the broken commit the list is %v, want both personas", got)
	}
	for _, p := range res.Personas {
		if p.IsDeleted {
			t.Errorf("%s is deleted after a broken edit", p.ID)
		}
	}
	var vs versionsResponse
	c.getOK(apiBase+"/"+idAngry+"/version/", &vs)
	if len(vs.Versions) != 1 || vs.Versions[0].Background != "The first persona." {
		t.Errorf("the broken file changed the versions: %+v", vs.Versions)
	}
}
