// Package repogen generates deterministic synthetic persona repositories: a
// git history of persona YAML files for benchmarks (tens of thousands of
// personas, hundreds of thousands of commits) and for property tests (small
// random histories whose ground truth is known).
//
// Generate writes the history as a `git fast-import` stream; Import pipes
// that stream into `git fast-import` to make a bare repository; Create makes
// the very same repository (same objects, same commit ids) much faster by
// writing the objects as a pack itself. GenerateHistory and CreateHistory
// also return the ground truth: what each first-parent commit did to which
// persona. The same Config always yields byte-identical streams, hence
// identical commit ids.
//
// # Shape of a history
//
// Branch main has exactly Config.Commits first-parent commits. The first
// ceil(CreateFraction × Commits) of them (at most one per persona) create
// Config.Personas personas in equal batches. Every later commit is drawn from
// the kinds below with the probabilities of Config; a commit of a
// per-persona kind touches 1–3 distinct live personas:
//
//   - KindEdit: a versioned change, usually a new background, sometimes a new
//     preferred_language, timezone, user_models or user variables.
//   - KindUpdate: a change of name, role or tags only (no versioned field).
//   - KindRename: the file moves to a new path with identical bytes
//     (D old + M new in the stream, a rename for git).
//   - KindReformat: same values, different bytes: the keys reordered, a
//     comment added or removed, tags switched between block and flow style.
//   - KindDelete: the file is removed (never below half of Personas live).
//   - KindRestore: a deleted persona comes back with its id, at its old path
//     or a new one, with the same content or a new background.
//   - KindMerge: a side branch of 2–4 commits off the tip edits one persona
//     several times, then a merge commit on main (first parent: the old tip)
//     brings in its last content. Side-branch commits are not first-parent
//     commits; the merge commit is, and counts as one of Config.Commits.
//   - KindInvalid: one persona's file becomes invalid: YAML that does not
//     parse, a missing background, a tags list instead of a map, or an
//     unknown key. The id line stays intact. 1–5 commits later a KindFix
//     commit (which replaces the kind drawn for that commit, and counts as one
//     of Config.Commits) makes it valid again, with the last valid content or
//     a new background. No file is invalid at the tip of main.
//   - KindUnitTest: 1–3 files unit_tests/test-NNNNNN.yaml with
//     `persona_id: <id>`, usually of a live persona, one time in ten of any
//     persona ever created. Unit tests are never deleted, so some end up
//     referring to deleted personas: lint reports those, by design.
//
// A kind that cannot apply (no deleted persona to restore, too few live
// personas to delete, no room for a fix) falls back to KindEdit, and when no
// persona is editable, to KindUnitTest.
//
// Commits are authored and committed by one of five people
// (alice@example.com …) at 2024-01-01T00:00:00Z plus one minute per commit
// in stream order, side-branch commits included.
package repogen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Default probabilities of the kinds of commit after the creation phase;
// they add up to 1.
const (
	DefaultEditProb     = 0.55 // default of Config.EditProb
	DefaultUpdateProb   = 0.15 // default of Config.UpdateProb
	DefaultRenameProb   = 0.05 // default of Config.RenameProb
	DefaultReformatProb = 0.05 // default of Config.ReformatProb
	DefaultDeleteProb   = 0.03 // default of Config.DeleteProb
	DefaultRestoreProb  = 0.03 // default of Config.RestoreProb
	DefaultMergeProb    = 0.05 // default of Config.MergeProb
	DefaultInvalidProb  = 0.03 // default of Config.InvalidProb (each also brings a KindFix commit)
	DefaultUnitTestProb = 0.06 // default of Config.UnitTestProb

	// DefaultCreateFraction is the default share of the commits that create the personas.
	DefaultCreateFraction = 0.10
	// DefaultDir is the default persona directory.
	DefaultDir = "personas"
	// UnitTestDir is the directory of generated unit-test files.
	UnitTestDir = "unit_tests"
	// Epoch is the Unix time of the first commit (2024-01-01T00:00:00Z).
	Epoch = 1704067200
	// Step is the number of seconds between consecutive commits in the stream.
	Step = 60
)

// Config says what to generate; the same Config (with Seed) always yields
// byte-identical output.
//
// The probabilities are per commit after the creation phase, and are used as
// relative weights (divided by their sum, so they need not add up to 1). A
// zero probability takes its default (see Defaults); a negative one disables
// its kind.
type Config struct {
	Personas int    // number of distinct persona ids created over the history (≥ 1)
	Commits  int    // number of first-parent commits on branch main (≥ 1)
	Seed     uint64 // seed of the PCG random source
	Dir      string // persona directory, default "personas"

	// CreateFraction is the share of the commits that create the personas,
	// default 0.10: with 10,000 personas and 100,000 commits, commits 1 to
	// 10,000 create one persona each.
	CreateFraction float64

	EditProb     float64 // versioned edit, usually the background (default 0.55)
	UpdateProb   float64 // name, role or tags edit: no new version (default 0.15)
	RenameProb   float64 // git mv with identical content (default 0.05)
	ReformatProb float64 // reorder keys, add/remove a comment, restyle tags: no new version (default 0.05)
	DeleteProb   float64 // delete 1–3 persona files (default 0.03)
	RestoreProb  float64 // restore 1–3 deleted personas, same or changed content (default 0.03)
	MergeProb    float64 // merge commit of a 2–4 commit side branch editing one persona (default 0.05)
	InvalidProb  float64 // write an invalid file, fixed 1–5 commits later (default 0.03)
	UnitTestProb float64 // add 1–3 unit_tests/*.yaml files with persona_id (default 0.06)
}

// Defaults returns cfg with the defaults applied to its zero fields: Dir,
// CreateFraction and every zero probability. Negative probabilities are
// kept (they disable their kind).
func (cfg Config) Defaults() Config {
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.CreateFraction == 0 {
		cfg.CreateFraction = DefaultCreateFraction
	}
	def := func(p *float64, d float64) {
		if *p == 0 {
			*p = d
		}
	}
	def(&cfg.EditProb, DefaultEditProb)
	def(&cfg.UpdateProb, DefaultUpdateProb)
	def(&cfg.RenameProb, DefaultRenameProb)
	def(&cfg.ReformatProb, DefaultReformatProb)
	def(&cfg.DeleteProb, DefaultDeleteProb)
	def(&cfg.RestoreProb, DefaultRestoreProb)
	def(&cfg.MergeProb, DefaultMergeProb)
	def(&cfg.InvalidProb, DefaultInvalidProb)
	def(&cfg.UnitTestProb, DefaultUnitTestProb)
	return cfg
}

// validate checks a config that has its defaults applied.
func (cfg Config) validate() error {
	if cfg.Personas < 1 {
		return fmt.Errorf("repogen: Personas must be at least 1, got %d", cfg.Personas)
	}
	if cfg.Commits < 1 {
		return fmt.Errorf("repogen: Commits must be at least 1, got %d", cfg.Commits)
	}
	if cfg.CreateFraction < 0 || cfg.CreateFraction > 1 {
		return fmt.Errorf("repogen: CreateFraction must be in (0, 1], got %g", cfg.CreateFraction)
	}
	d := cfg.Dir
	if path.IsAbs(d) || path.Clean(d) != d || d == "." || d == ".." || strings.HasPrefix(d, "../") ||
		strings.ContainsAny(d, " \t\n\"\\") || d == UnitTestDir {
		return fmt.Errorf("repogen: Dir must be a clean relative slash-separated path other than %q, got %q", UnitTestDir, d)
	}
	sum := 0.0
	for _, w := range cfg.weights() {
		sum += w
	}
	if sum <= 0 {
		return errors.New("repogen: every kind of commit is disabled")
	}
	return nil
}

// weights lists the kinds' weights in the order of drawKinds; negative ones are 0.
func (cfg Config) weights() [len(drawKinds)]float64 {
	w := [len(drawKinds)]float64{cfg.EditProb, cfg.UpdateProb, cfg.RenameProb, cfg.ReformatProb,
		cfg.DeleteProb, cfg.RestoreProb, cfg.MergeProb, cfg.InvalidProb, cfg.UnitTestProb}
	for i := range w {
		w[i] = max(w[i], 0)
	}
	return w
}

// Kind is the kind of a first-parent commit, and of the change it makes to a persona.
type Kind string

// The kinds of commit and change.
const (
	KindCreate   Kind = "create"    // creation phase: new personas
	KindEdit     Kind = "edit"      // versioned fields change
	KindUpdate   Kind = "update"    // name, role or tags change
	KindRename   Kind = "rename"    // new path, identical bytes
	KindReformat Kind = "reformat"  // new bytes, identical values
	KindDelete   Kind = "delete"    // file removed
	KindRestore  Kind = "restore"   // deleted persona back
	KindMerge    Kind = "merge"     // merge of a side branch that edited one persona
	KindInvalid  Kind = "invalid"   // file made invalid
	KindFix      Kind = "fix"       // invalid file made valid again
	KindUnitTest Kind = "unit_test" // unit-test files added
)

// drawKinds are the kinds drawn after the creation phase, in the order of Config.weights.
var drawKinds = [...]Kind{KindEdit, KindUpdate, KindRename, KindReformat, KindDelete,
	KindRestore, KindMerge, KindInvalid, KindUnitTest}

// Change is what one first-parent commit did to one persona file, as seen
// from the previous first-parent commit (a merge's side branch is collapsed).
type Change struct {
	ID      string // persona id
	Kind    Kind   // what happened; KindMerge for the persona a merge brings in
	Path    string // path after the commit, "" when deleted
	OldPath string // path before the commit, "" when the file did not exist
	// Valid is whether the file at Path is a valid persona after the commit.
	Valid bool
	// ContentChanged is whether the versioned fields (background and the
	// fields after it) differ from the last valid content of this id on
	// main's first-parent history: true on creation and edits, false on
	// updates, renames, reformats, deletions and invalid files; a restore
	// or a fix is true only when it brings a new background.
	ContentChanged bool
}

// Commit describes one first-parent commit of main.
type Commit struct {
	Index       int      // 1-based position in `git rev-list --first-parent --reverse main`
	Kind        Kind     // kind of the commit
	Message     string   // the commit message (one line, without its newline)
	SideCommits int      // for a merge: number of side-branch commits it brings in
	Changes     []Change // persona changes, in stream order (none for KindUnitTest)
	UnitTests   []string // paths of unit-test files added
}

// History is the ground truth of a generated history, for property tests.
type History struct {
	Commits []Commit // one per first-parent commit, oldest first
	// Live maps each persona file at the tip of main to its id.
	Live map[string]string
	// IDs lists every persona id created, in creation order.
	IDs []string
}

// Generate writes a `git fast-import` stream for the history to w (all
// commits on refs/heads/main, ending with `done`, for `git fast-import --done`).
func Generate(w io.Writer, cfg Config) error {
	_, err := generate(w, cfg, false)
	return err
}

// GenerateHistory is Generate that also returns the ground truth of the
// history: what each first-parent commit did to which persona.
func GenerateHistory(w io.Writer, cfg Config) (*History, error) {
	return generate(w, cfg, true)
}

func generate(w io.Writer, cfg Config, record bool) (*History, error) {
	cfg = cfg.Defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := newGenerator(streamSink{bufio.NewWriterSize(w, 1<<20)}, cfg, record)
	g.run()
	if g.err != nil {
		return nil, g.err
	}
	return g.history(), nil
}
