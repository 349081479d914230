package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"strings"
	"time"

	"github.com/personaregistry/personas/registry/gitdb"
	"github.com/personaregistry/personas/schema"
)

// Author is who a write is made for: the authenticated user.
type Author struct {
	Name  string
	Email string
	// Check, when set, decides on every attempt of a write whether the
	// author may make it: old is the persona as it is (nil for a create),
	// new as it will be (nil for a delete). Its error refuses the write.
	Check func(old, new *Persona) error
}

// live returns the live persona id after asking a.Check about it (old and
// after(old)); the check comes first so that a refused caller learns
// nothing, not even that the persona is deleted.
func (a Author) live(s *Snapshot, id string, after func(*Persona) *Persona) (*Persona, error) {
	if p, ok := s.Persona(id); ok && a.Check != nil {
		if err := a.Check(p, after(p)); err != nil {
			return nil, err
		}
	}
	return livePersona(s, id)
}

// NewPersona is the body of a create: descriptive fields and the first version.
type NewPersona struct {
	Name    string
	Role    string
	Tags    map[string]*string
	Content Content
}

// WriteResult says what a write committed.
type WriteResult struct {
	ID      string
	Version int    // the version made, for create and new version
	Commit  string // the commit on the branch ("" when nothing changed)
}

// maxWriteAttempts bounds retries when the branch moves under a write.
const maxWriteAttempts = 40

// backoff waits before a retry: longer with each attempt, jittered so that
// replicas racing for the same branch spread out.
func backoff(attempt int) {
	max := time.Duration(min(attempt+1, 10)) * 10 * time.Millisecond
	time.Sleep(time.Duration(rand.Int64N(int64(max))) + time.Millisecond)
}

// fileEdit is a persona write as a file change: the new content of one file
// (data != nil), or its removal (data == nil). The git layer makes it a tree.
type fileEdit struct {
	path string // slash-separated, relative to the repository root
	data []byte
}

// writePlan is what a write computes on a snapshot: a file edit and a message,
// or an error. It is recomputed on the new head when the branch moved.
type writePlan struct {
	edit    fileEdit
	subject string
	id      string
	version int
	noop    bool
}

// WritableReason returns why writes are refused on this repository, or "".
// Writes need a bare repository or a served branch not checked out.
func (r *Registry) WritableReason() string {
	if r.store.Bare() {
		return ""
	}
	head, err := os.ReadFile(r.store.GitDir() + "/HEAD")
	if err != nil {
		return fmt.Sprintf("cannot read HEAD: %v", err)
	}
	if strings.TrimSpace(string(head)) == "ref: refs/heads/"+r.opts.Branch {
		return fmt.Sprintf("branch %s is checked out in the worktree %s; serve a bare clone (git clone --bare) "+
			"or a branch that is not checked out", r.opts.Branch, r.opts.Repo)
	}
	return ""
}

// Create commits a new persona file and returns its id.
// Errors: ECONFLICT when a live persona has the name; EINVALID for fields
// that break the file's rules.
func (r *Registry) Create(ctx context.Context, a Author, in NewPersona) (WriteResult, error) {
	id := schema.NewID(time.Now())
	return r.write(ctx, a, func(s *Snapshot, head gitdb.Hash) (writePlan, error) {
		if p, ok := s.PersonaByName(strings.TrimSpace(in.Name)); ok {
			return writePlan{}, Errorf(ECONFLICT, "a live persona is already named %q (id %s)", p.Name, p.ID)
		}
		f := &schema.Persona{ID: id, Name: in.Name, Role: in.Role, Tags: in.Tags}
		setContent(f, in.Content)
		f.Normalize()
		data := schema.Render(f, "")
		if err := validateFile(data, "initial_version"); err != nil {
			return writePlan{}, err
		}
		p, err := r.freePersonaPath(head, schema.Slug(in.Name))
		if err != nil {
			return writePlan{}, err
		}
		if a.Check != nil {
			if err := a.Check(nil, &Persona{ID: id, Name: f.Name, Role: f.Role, Tags: f.Tags, Path: p}); err != nil {
				return writePlan{}, err
			}
		}
		return writePlan{edit: fileEdit{path: p, data: data}, id: id, version: 1,
			subject: fmt.Sprintf("Create persona %s\n\nPersona-Id: %s\n", in.Name, id)}, nil
	})
}

// NewVersion commits new versioned content for a persona. expect, when not
// zero, must be the next version number.
// Errors: ENOTFOUND for an unknown or deleted persona; EPRECONDITION when
// expect is not the next number; ECONFLICT when the content equals the
// latest version; EINVALID for bad fields.
func (r *Registry) NewVersion(ctx context.Context, a Author, id string, expect int, c Content) (WriteResult, error) {
	return r.write(ctx, a, func(s *Snapshot, head gitdb.Hash) (writePlan, error) {
		p, err := a.live(s, id, func(p *Persona) *Persona { return p })
		if err != nil {
			return writePlan{}, err
		}
		next := len(p.Versions) + 1
		if expect != 0 && expect != next {
			return writePlan{}, Errorf(EPRECONDITION, "version %d is not the next version of %s: the next is %d", expect, p.Name, next)
		}
		normalizeContent(&c)
		if last := p.Latest(); last != nil && last.Equal(&c) {
			return writePlan{}, Errorf(ECONFLICT, "the content is identical to version %d of %s", last.Number, p.Name)
		}
		data, err := r.store.ReadFile(head, p.Path)
		if err != nil || data == nil {
			return writePlan{}, fmt.Errorf("read %s: %w", p.Path, errors.Join(err, errors.New("file missing")))
		}
		f := &schema.Persona{}
		setContent(f, c)
		f.Normalize()
		out, err := schema.EditVersioned(data, f)
		if err != nil {
			return writePlan{}, Errorf(ECONFLICT, "the file %s can't be edited: %v", p.Path, err)
		}
		if err := validateFile(out, ""); err != nil {
			return writePlan{}, err
		}
		return writePlan{edit: fileEdit{path: p.Path, data: out}, id: id, version: next,
			subject: fmt.Sprintf("Version %d of %s\n\nPersona-Id: %s\n", next, p.Name, id)}, nil
	})
}

// UpdateTags replaces a persona's tags (no new version). nil tags change nothing.
// Errors: ENOTFOUND; EINVALID for bad tags.
func (r *Registry) UpdateTags(ctx context.Context, a Author, id string, tags map[string]*string) (WriteResult, error) {
	retagged := func(p *Persona) *Persona {
		if tags == nil {
			return p
		}
		after := p.clone()
		after.Tags = tags
		return after
	}
	return r.write(ctx, a, func(s *Snapshot, head gitdb.Hash) (writePlan, error) {
		p, err := a.live(s, id, retagged)
		if err != nil {
			return writePlan{}, err
		}
		if tags == nil || tagsEqual(tags, p.Tags) {
			return writePlan{id: id, noop: true}, nil
		}
		data, err := r.store.ReadFile(head, p.Path)
		if err != nil || data == nil {
			return writePlan{}, fmt.Errorf("read %s: %w", p.Path, errors.Join(err, errors.New("file missing")))
		}
		out, err := schema.EditTags(data, tags)
		if err != nil {
			return writePlan{}, Errorf(ECONFLICT, "the file %s can't be edited: %v", p.Path, err)
		}
		if err := validateFile(out, ""); err != nil {
			return writePlan{}, err
		}
		return writePlan{edit: fileEdit{path: p.Path, data: out}, id: id,
			subject: fmt.Sprintf("Retag %s\n\nPersona-Id: %s\n", p.Name, id)}, nil
	})
}

// Delete removes a persona's file.
// Errors: ENOTFOUND for an unknown or already deleted persona;
// EPRECONDITION when a unit test references it.
func (r *Registry) Delete(ctx context.Context, a Author, id string) (WriteResult, error) {
	return r.write(ctx, a, func(s *Snapshot, head gitdb.Hash) (writePlan, error) {
		p, err := a.live(s, id, func(*Persona) *Persona { return nil })
		if err != nil {
			return writePlan{}, err
		}
		if tests := s.UnitTests(id); len(tests) > 0 {
			return writePlan{}, Errorf(EPRECONDITION, "%s is referenced by unit tests (%s): delete or change them first",
				p.Name, strings.Join(tests, ", "))
		}
		return writePlan{edit: fileEdit{path: p.Path}, id: id,
			subject: fmt.Sprintf("Delete persona %s\n\nPersona-Id: %s\n", p.Name, id)}, nil
	})
}

func livePersona(s *Snapshot, id string) (*Persona, error) {
	p, ok := s.Persona(id)
	if !ok {
		return nil, Errorf(ENOTFOUND, "no persona with id %s", id)
	}
	if p.IsDeleted {
		return nil, Errorf(ENOTFOUND, "persona %s (%s) is deleted", id, p.Name)
	}
	return p, nil
}

func setContent(f *schema.Persona, c Content) {
	f.Background, f.PreferredLanguage, f.Timezone = c.Background.String(), c.PreferredLanguage, c.Timezone
	f.UserModels, f.NonsensitiveUserVariables, f.SensitiveUserVariables = c.UserModels, c.NonsensitiveUserVariables, c.SensitiveUserVariables
}

func normalizeContent(c *Content) {
	f := &schema.Persona{}
	setContent(f, *c)
	f.Normalize()
	*c = contentOf(f, NewText(f.Background))
}

// validateFile lints a file about to be written; errors become EINVALID
// with the offending fields (prefix puts versioned fields under a body key).
func validateFile(data []byte, prefix string) error {
	_, _, findings := schema.ParsePersona("", data)
	var fields []FieldError
	var msgs []string
	for _, f := range findings {
		if f.Severity == schema.SeverityWarning {
			continue
		}
		loc := []string{"body"}
		if f.Field != "" {
			parts := strings.Split(f.Field, ".")
			if prefix != "" && isVersionedField(parts[0]) {
				loc = append(loc, prefix)
			}
			loc = append(loc, parts...)
		}
		fields = append(fields, FieldError{Loc: loc, Msg: f.Message})
		msgs = append(msgs, f.Message)
	}
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: strings.Join(msgs, "; "), Fields: fields}
}

func isVersionedField(f string) bool {
	switch f {
	case "background", "preferred_language", "timezone", "user_models", "nonsensitive_user_variables", "sensitive_user_variables":
		return true
	}
	return false
}

// freePersonaPath returns <dir>/<slug>.yaml, with -2, -3 … when taken.
func (r *Registry) freePersonaPath(head gitdb.Hash, slug string) (string, error) {
	for i := 1; i < 1000; i++ {
		name := slug + ".yaml"
		if i > 1 {
			name = fmt.Sprintf("%s-%d.yaml", slug, i)
		}
		p := path.Join(r.ix.dir, name)
		exists, err := r.store.FileExists(head, p)
		if err != nil {
			return "", err
		}
		if !exists {
			return p, nil
		}
	}
	return "", Errorf(ECONFLICT, "no free file name for %s", slug)
}

// write runs a write on the owner goroutine: bring the snapshot to the
// branch head, plan the change on it, commit, and move the branch with a
// compare-and-swap. If the branch moved, the change is planned again on the
// new head. It returns once the snapshot includes the commit.
func (r *Registry) write(ctx context.Context, a Author, plan func(*Snapshot, gitdb.Hash) (writePlan, error)) (WriteResult, error) {
	var res WriteResult
	err := r.do(ctx, func() error {
		var lastErr error
		reopened := false
		for attempt := 0; attempt < maxWriteAttempts; attempt++ {
			if err := ctx.Err(); err != nil {
				return err // the caller left; nothing of this attempt is written yet
			}
			if err := r.refresh(ctx); err != nil {
				return err
			}
			head := r.state.Head
			p, err := plan(r.snap.Load(), head)
			if isMissingObject(err) && !reopened {
				reopened = true // packs moved (gc, repack): reopen and plan again
				r.store.Reopen()
				continue
			}
			if err != nil {
				return err
			}
			res = WriteResult{ID: p.id, Version: p.version}
			if p.noop {
				return nil
			}
			commit, err := r.commitPlan(head, a, p)
			if isMissingObject(err) && !reopened {
				reopened = true
				r.store.Reopen()
				continue
			}
			if err != nil {
				return err
			}
			if r.opts.Remote != "" {
				// the remote is the source of truth: push first, so the
				// local branch is never ahead of it after a failure
				if err := r.push(ctx, head, commit); errors.Is(err, gitdb.ErrRefMoved) {
					lastErr = errors.New("the remote branch kept moving")
					r.log.Info("remote moved during a write; fetching and retrying", "attempt", attempt+1)
					if err := r.fetch(ctx); err != nil {
						return err
					}
					backoff(attempt)
					continue
				} else if err != nil {
					return err
				}
			}
			switch err := r.store.UpdateRef(r.opts.Branch, head, commit); {
			case err == nil:
				res.Commit = commit.String()
				return r.refresh(ctx)
			case errors.Is(err, gitdb.ErrRefMoved), errors.Is(err, gitdb.ErrRefLocked):
				lastErr = err
				r.log.Info("branch moved during a write; retrying on the new head", "attempt", attempt+1, "reason", err)
				backoff(attempt)
			default:
				return err
			}
		}
		if lastErr != nil {
			return &Error{Code: ECONFLICT, Message: "the write was not made: " + lastErr.Error(), Err: lastErr}
		}
		return Errorf(ECONFLICT, "the branch kept moving; the write was not made, try again")
	})
	if err != nil {
		// do may return when ctx ends while fn still runs on the owner
		// goroutine: res is only read once fn has finished (err == nil)
		return WriteResult{}, err
	}
	return res, nil
}

func (r *Registry) commitPlan(head gitdb.Hash, a Author, p writePlan) (gitdb.Hash, error) {
	root := gitdb.ZeroHash
	if !head.IsZero() {
		ci, err := r.store.Commit(head)
		if err != nil {
			return gitdb.ZeroHash, err
		}
		root = ci.Tree
	}
	tree, err := r.store.EditTree(root, p.edit.path, p.edit.data)
	if err != nil {
		return gitdb.ZeroHash, fmt.Errorf("write tree: %w", err)
	}
	sig := gitdb.Signature{Name: a.Name, Email: a.Email, When: time.Now().UTC().Truncate(time.Second)}
	if sig.Name == "" {
		sig.Name = a.Email
	}
	return r.store.WriteCommit(tree, head, sig, p.subject)
}
