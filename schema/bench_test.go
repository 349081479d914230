package schema_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/personaregistry/personas/schema"
)

var benchWords = strings.Fields(`the a user who is calls about their account bill order refund
appointment doctor nurse pharmacy prescription insurance claim policy card bank transfer
payment late fee balance statement password login app website phone email chat agent
worried confused impatient polite elderly young student parent caregiver patient customer
tourist guest driver tenant landlord small business owner manager retired veteran
wants needs asks repeats forgets insists prefers explains complains thanks apologises
quickly slowly carefully twice again today tomorrow yesterday morning evening weekend
because although when while after before since until unless and but or so yet`)

var benchLanguages = []string{"eng", "spa", "fra", "deu", "jpn", "zho", "por", "ita", "kor", "hin", "ara", "rus"}

// genPersonas makes n valid, varied persona files with ~100-word backgrounds.
func genPersonas(n int) []schema.File {
	r := rand.New(rand.NewPCG(1, 2))
	tzs := schema.Timezones()
	files := make([]schema.File, n)
	for i := range n {
		var b strings.Builder
		fmt.Fprintf(&b, "# yaml-language-server: $schema=../schema/persona.schema.json\n")
		fmt.Fprintf(&b, "id: 6650c0ffee%014x\n", i)
		fmt.Fprintf(&b, "name: Persona %d %s %s\n", i, benchWords[r.IntN(len(benchWords))], benchWords[r.IntN(len(benchWords))])
		fmt.Fprintf(&b, "role: %s\n", []string{"patient", "customer", "guest", "student", "caregiver"}[r.IntN(5)])
		if r.IntN(4) > 0 {
			b.WriteString("tags:\n")
			for j := range r.IntN(6) + 1 {
				if r.IntN(5) == 0 {
					fmt.Fprintf(&b, "  tag_%d:\n", j)
				} else {
					fmt.Fprintf(&b, "  tag_%d: %s %s\n", j, benchWords[r.IntN(len(benchWords))], benchWords[r.IntN(len(benchWords))])
				}
			}
		}
		b.WriteString("background: |\n ")
		for w := range 90 + r.IntN(20) {
			if w > 0 && w%14 == 0 {
				b.WriteString("\n ")
			}
			b.WriteString(" " + benchWords[r.IntN(len(benchWords))])
		}
		b.WriteString(".\n")
		if r.IntN(3) > 0 {
			fmt.Fprintf(&b, "preferred_language: %s\n", benchLanguages[r.IntN(len(benchLanguages))])
		} else {
			b.WriteString("preferred_language: null\n")
		}
		if r.IntN(3) > 0 {
			fmt.Fprintf(&b, "timezone: %s\n", tzs[r.IntN(len(tzs))])
		}
		b.WriteString("user_models: []\n")
		if r.IntN(2) == 0 {
			fmt.Fprintf(&b, "nonsensitive_user_variables:\n  account_id: \"%d\"\n  plan: %s\n", r.IntN(1e6), benchWords[r.IntN(len(benchWords))])
		} else {
			b.WriteString("nonsensitive_user_variables: {}\n")
		}
		b.WriteString("sensitive_user_variables: {}\n")
		files[i] = schema.File{Path: fmt.Sprintf("personas/p%05d.yaml", i), Data: []byte(b.String())}
	}
	return files
}

func TestGenPersonasValid(t *testing.T) {
	files := genPersonas(200)
	if fs := schema.Lint(schema.LintInput{Personas: files}); len(fs) != 0 {
		t.Fatalf("generated personas have findings:\n%s\n%s", formatFindings(fs[:min(5, len(fs))]), files[0].Data)
	}
}

// BenchmarkLint10k lints 10,000 persona files with one schema.Lint call.
//
//	go test -run '^$' -bench BenchmarkLint10k -benchmem ./schema
func BenchmarkLint10k(b *testing.B) {
	files := genPersonas(10_000)
	in := schema.LintInput{Personas: files}
	var size int
	for _, f := range files {
		size += len(f.Data)
	}
	b.SetBytes(int64(size))
	if fs := schema.Lint(in); len(fs) != 0 {
		b.Fatalf("generated personas have findings:\n%s", formatFindings(fs[:min(5, len(fs))]))
	}
	b.ResetTimer()
	for b.Loop() {
		schema.Lint(in)
	}
}
