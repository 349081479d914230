package server

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
	"github.com/personaregistry/personas/registry/repogen"
)

// hostileStrings reach every branch of the escaping: HTML characters,
// quotes, backslashes, control characters with and without a short escape,
// multi-byte and invalid UTF-8, and the line separators JSON escapes.
var hostileStrings = []string{
	"", "plain words", `say "hi" \ bye`, "<b>bold</b> & more", "line\nnext\r\n\ttabbed",
	"bell\a back\b feed\f nul\x00 esc\x1b del\x7f", "café — 東京 \U0001F600", "bad \xff\xfe\xc3 bytes",
	"sep\u2028par\u2029end", "ends with a high byte \xc3",
}

// FuzzAppendJSONString: a string is written as json.Marshal writes it.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range hostileStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got[1:], want)
		}
		if got := appendJSONString(nil, []byte(s)); string(got) != string(want) {
			t.Fatalf("appendJSONString of the bytes of %q = %s, want %s", s, got, want)
		}
	})
}

// TestExportEncodingIsJSONs: a persona is exported as json.Marshal writes
// the ExportedPersona it stands for, byte for byte, whatever its strings,
// empty or absent maps and lists, null values and times.
func TestExportEncodingIsJSONs(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("CET", 3600))
	version := func(n int, bg string) *registry.Version {
		return &registry.Version{Number: n, Commit: "c0ffee", Subject: "edit", CreatedAt: at, Creator: "a@example.com",
			Content: registry.Content{Background: registry.NewText(bg)}}
	}
	tests := []struct {
		name string
		p    registry.Persona
		org  string
	}{
		{"no versions, nil tags", registry.Persona{ID: "84fdcab8d94b73367a4efea2", Name: "n", Role: "r"}, "default"},
		{"every field", registry.Persona{
			ID: "84fdcab8d94b73367a4efea2", Name: "Ann <admin>", Role: "patient & carer",
			Tags:      map[string]*string{"b": ptr("2"), "a": ptr("1"), "null": nil, "": ptr("")},
			IsDeleted: true, Path: "personas/ann.yaml", CreatedAt: at, Creator: "ann@example.com", CreatedCommit: "abc",
			UpdatedAt: at.Add(time.Hour), UpdatedBy: "bob@example.com", UpdatedCommit: "def",
			Versions: []*registry.Version{
				version(1, "first"),
				{Number: 2, Commit: "beef", CreatedAt: time.Time{}, Creator: "", Content: registry.Content{
					Background: registry.NewText("second\nline"), PreferredLanguage: ptr("eng"), Timezone: ptr("Europe/Paris"),
					UserModels:                []string{"m1", "m<2>"},
					NonsensitiveUserVariables: map[string]string{"z": "last", "a": "first", "q\"uote": "v\\al"},
					SensitiveUserVariables:    map[string]string{"token": "s3cr\u00e9t"},
				}},
			},
		}, "org \"x\""},
	}
	for i, s := range hostileStrings {
		p := registry.Persona{ID: s, Name: s, Role: s, Tags: map[string]*string{s: ptr(s)}, Creator: s, UpdatedBy: s,
			CreatedCommit: s, UpdatedCommit: s, CreatedAt: at, UpdatedAt: at, Versions: []*registry.Version{version(i+1, s)}}
		p.Versions[0].UserModels = []string{s}
		p.Versions[0].NonsensitiveUserVariables = map[string]string{s: s}
		p.Versions[0].PreferredLanguage = &s
		tests = append(tests, struct {
			name string
			p    registry.Persona
			org  string
		}{"hostile string " + s, p, s})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(newExportedPersona(&tt.p, tt.org))
			if err != nil {
				t.Fatal(err)
			}
			var scratch []byte
			got, err := appendExportedPersona(nil, &scratch, &tt.p, tt.org)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("exported\n%s\njson.Marshal\n%s", got, want)
			}
		})
	}
}

// A time outside the years JSON can hold fails the export, as it failed
// through encoding/json.
func TestExportEncodingRefusesYear10000(t *testing.T) {
	p := registry.Persona{ID: "84fdcab8d94b73367a4efea2", CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := json.Marshal(newExportedPersona(&p, "o")); err == nil {
		t.Fatal("json.Marshal accepted year 10000: the test's premise is gone")
	}
	var scratch []byte
	if _, err := appendExportedPersona(nil, &scratch, &p, "o"); err == nil {
		t.Fatal("year 10000 exported")
	}
}

// WriteExport of a generated history (renames, deletes, restores, invalid
// files) is json.Encoder's encoding of NewExport, byte for byte.
func TestWriteExportIsNewExport(t *testing.T) {
	repo := gittest.Generated(t, repogen.Config{Personas: 600, Commits: 1500, Seed: 3})
	reg, err := registry.Open(registry.Options{Repo: repo, NoCache: true, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	snap, err := reg.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Personas()) <= exportChunk {
		t.Fatalf("%d personas: one chunk, the chunks' joins are not tested", len(snap.Personas()))
	}
	var want bytes.Buffer
	if err := json.NewEncoder(&want).Encode(NewExport(snap, "default")); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := WriteExport(&got, snap, "default"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		g, w := got.Bytes(), want.Bytes()
		i := 0
		for i < min(len(g), len(w)) && g[i] == w[i] {
			i++
		}
		t.Fatalf("WriteExport differs from NewExport at byte %d of %d:\n got …%s\nwant …%s", i, len(w),
			g[max(0, i-80):min(len(g), i+80)], w[max(0, i-80):min(len(w), i+80)])
	}
}
