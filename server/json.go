// Package server serves the registry over HTTP with Amigo's simulation-persona
// API: the same paths, parameters and JSON shapes.
package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/personaregistry/personas/registry"
)

// UserInfo is a user as Amigo's API names one: the org and the user id (the
// commit author's email).
type UserInfo struct {
	OrgID  string `json:"org_id"`
	UserID string `json:"user_id"`
}

// PersonaInstance is Amigo's SimulationPersonaInstance.
type PersonaInstance struct {
	ID        string             `json:"id"`
	Name      string             `json:"name"`
	Role      string             `json:"role"`
	Tags      map[string]*string `json:"tags"`
	IsDeleted bool               `json:"is_deleted"`
	CreatedAt time.Time          `json:"created_at"`
	Creator   UserInfo           `json:"creator"`
	UpdatedAt time.Time          `json:"updated_at"`
	UpdatedBy UserInfo           `json:"updated_by"`
}

// PersonaVersion is Amigo's SimulationPersonaVersion, plus the commit that
// made it (extension).
type PersonaVersion struct {
	ID                        string            `json:"_id"`
	OrgID                     string            `json:"org_id"`
	PersonaID                 string            `json:"simulation_persona_id"`
	Version                   int               `json:"version"`
	Background                string            `json:"background"`
	PreferredLanguage         *string           `json:"preferred_language"`
	Timezone                  *string           `json:"timezone"`
	UserModels                []string          `json:"user_models"`
	NonsensitiveUserVariables map[string]string `json:"nonsensitive_user_variables"`
	SensitiveUserVariables    map[string]string `json:"sensitive_user_variables"`
	Creator                   UserInfo          `json:"creator"`
	CreatedAt                 time.Time         `json:"created_at"`
	UpdatedAt                 time.Time         `json:"updated_at"`
	Commit                    string            `json:"commit"`
}

// NewPersonaInstance renders a persona for the API.
func NewPersonaInstance(p *registry.Persona, org string) PersonaInstance {
	tags := p.Tags
	if tags == nil {
		tags = map[string]*string{}
	}
	return PersonaInstance{
		ID: p.ID, Name: p.Name, Role: p.Role, Tags: tags, IsDeleted: p.IsDeleted,
		CreatedAt: p.CreatedAt.UTC(), Creator: UserInfo{org, p.Creator},
		UpdatedAt: p.UpdatedAt.UTC(), UpdatedBy: UserInfo{org, p.UpdatedBy},
	}
}

// NewPersonaVersion renders one version for the API. redact hides the
// sensitive variables.
func NewPersonaVersion(p *registry.Persona, v *registry.Version, org string, redact bool) PersonaVersion {
	out := PersonaVersion{
		ID: VersionID(p.ID, v.Number), OrgID: org, PersonaID: p.ID, Version: v.Number,
		Background: v.Background.String(), PreferredLanguage: v.PreferredLanguage, Timezone: v.Timezone,
		UserModels: v.UserModels, NonsensitiveUserVariables: v.NonsensitiveUserVariables,
		SensitiveUserVariables: v.SensitiveUserVariables,
		Creator:                UserInfo{org, v.Creator}, CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.CreatedAt.UTC(),
		Commit: v.Commit,
	}
	if out.UserModels == nil {
		out.UserModels = []string{}
	}
	if out.NonsensitiveUserVariables == nil {
		out.NonsensitiveUserVariables = map[string]string{}
	}
	if out.SensitiveUserVariables == nil || redact {
		out.SensitiveUserVariables = map[string]string{}
	}
	return out
}

// VersionID derives the stable 24-hex _id of a persona version.
func VersionID(personaID string, version int) string {
	sum := sha256.Sum256([]byte(personaID + "/" + strconv.Itoa(version)))
	return hex.EncodeToString(sum[:12])
}

// ExportedPersona is one persona of `personas export`: the API's instance
// plus its commits and every version.
type ExportedPersona struct {
	PersonaInstance
	CreatedCommit string           `json:"created_commit"`
	UpdatedCommit string           `json:"updated_commit"`
	Versions      []PersonaVersion `json:"versions"`
}

// Export is the whole index as `personas export` prints it.
type Export struct {
	Head     string            `json:"head"`
	Personas []ExportedPersona `json:"personas"`
}

// NewExport renders every persona and version of a snapshot, ordered by id
// and version.
func NewExport(s *registry.Snapshot, org string) Export {
	out := Export{Head: s.Head, Personas: make([]ExportedPersona, 0, len(s.Personas()))}
	for _, p := range s.Personas() {
		out.Personas = append(out.Personas, newExportedPersona(p, org))
	}
	return out
}

func newExportedPersona(p *registry.Persona, org string) ExportedPersona {
	ep := ExportedPersona{PersonaInstance: NewPersonaInstance(p, org), CreatedCommit: p.CreatedCommit,
		UpdatedCommit: p.UpdatedCommit, Versions: make([]PersonaVersion, 0, len(p.Versions))}
	for _, v := range p.Versions {
		ep.Versions = append(ep.Versions, NewPersonaVersion(p, v, org, false))
	}
	return ep
}

// WriteExport writes the same JSON as NewExport, one persona at a time, so
// memory stays flat on large registries.
func WriteExport(w io.Writer, s *registry.Snapshot, org string) error {
	head, _ := json.Marshal(s.Head)
	if _, err := fmt.Fprintf(w, `{"head":%s,"personas":[`, head); err != nil {
		return err
	}
	// chunks of personas are encoded on every core and written in order;
	// at most GOMAXPROCS+1 encoded chunks wait at a time
	ps := s.Personas()
	chunks := (len(ps) + exportChunk - 1) / exportChunk
	encoded := make([]chan exportPart, chunks)
	for i := range encoded {
		encoded[i] = make(chan exportPart, 1)
	}
	slots := make(chan struct{}, runtime.GOMAXPROCS(0)+1)
	// the chunks' buffers are reused once written: made anew, a buffer's
	// pages were zeroed and faulted in (a sixth of a restart's CPU at
	// 10,000 × 100,000, a 121 MB export)
	free := make(chan *[]byte, cap(slots))
	go func() {
		for i := range chunks {
			slots <- struct{}{}
			var buf *[]byte
			select {
			case buf = <-free:
			default:
				buf = new([]byte)
			}
			go func() {
				encoded[i] <- encodeExportChunk(buf, ps[i*exportChunk:min((i+1)*exportChunk, len(ps))], org, i == 0)
			}()
		}
	}()
	var err error
	for i := range chunks {
		part := <-encoded[i]
		if err == nil {
			err = part.err
		}
		if err == nil {
			_, err = w.Write(*part.buf) // after an error, the rest is still received: no goroutine is left behind
		}
		free <- part.buf // never blocks: at most cap(slots) buffers exist
		<-slots
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "]}\n")
	return err
}

// exportChunk is how many personas one goroutine of WriteExport encodes.
const exportChunk = 256

// exportPart is an encoded chunk of an export.
type exportPart struct {
	buf *[]byte
	err error
}

// encodeExportChunk encodes personas into buf (emptied first) as export
// array elements, each after a comma unless first is set (the first chunk's
// first persona).
func encodeExportChunk(buf *[]byte, ps []*registry.Persona, org string, first bool) exportPart {
	b := slices.Grow((*buf)[:0], exportSize(ps))
	var scratch []byte
	var err error
	for i, p := range ps {
		if i > 0 || !first {
			b = append(b, ',')
		}
		if b, err = appendExportedPersona(b, &scratch, p, org); err != nil {
			err = fmt.Errorf("encode persona %s: %w", p.ID, err)
			break
		}
	}
	*buf = b
	return exportPart{buf: buf, err: err}
}

// exportSize estimates the bytes of the personas' export (about 1 KB a
// version at 500-character backgrounds), so that a chunk's buffer is made
// once: grown by doubling, its copies were a third of the encoding's time.
func exportSize(ps []*registry.Persona) int {
	n := 0
	for _, p := range ps {
		n += 1024 + 256*len(p.Updates)
		for _, v := range p.Versions {
			n += 512 + 4*v.Background.Size()
		}
	}
	return n
}
