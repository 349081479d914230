package repogen

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var small = Config{Personas: 50, Commits: 300, Seed: 1}

func TestGenerateDeterministic(t *testing.T) {
	gen := func(cfg Config) []byte {
		var b bytes.Buffer
		if err := Generate(&b, cfg); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := gen(small), gen(small)
	if !bytes.Equal(a, b) {
		t.Fatal("the same config gave two different streams")
	}
	other := small
	other.Seed = 2
	if bytes.Equal(a, gen(other)) {
		t.Fatal("seeds 1 and 2 gave the same stream")
	}
	if !bytes.HasSuffix(a, []byte("\ndone\n")) {
		t.Error("the stream does not end with done")
	}
	// GenerateHistory writes the same stream
	var c bytes.Buffer
	if _, err := GenerateHistory(&c, small); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, c.Bytes()) {
		t.Error("GenerateHistory and Generate wrote different streams")
	}
}

func TestConfig(t *testing.T) {
	d := Config{}.Defaults()
	sum := d.EditProb + d.UpdateProb + d.RenameProb + d.ReformatProb + d.DeleteProb +
		d.RestoreProb + d.MergeProb + d.InvalidProb + d.UnitTestProb
	if d.Dir != "personas" || d.CreateFraction != 0.1 || sum < 0.9999 || sum > 1.0001 {
		t.Errorf("defaults: %+v (sum %g)", d, sum)
	}
	for _, bad := range []Config{
		{Personas: 0, Commits: 10},
		{Personas: 10, Commits: 0},
		{Personas: 10, Commits: 10, Dir: "/abs"},
		{Personas: 10, Commits: 10, Dir: "../up"},
		{Personas: 10, Commits: 10, Dir: "unit_tests"},
		{Personas: 10, Commits: 10, EditProb: -1, UpdateProb: -1, RenameProb: -1, ReformatProb: -1, DeleteProb: -1,
			RestoreProb: -1, MergeProb: -1, InvalidProb: -1, UnitTestProb: -1},
	} {
		if err := Generate(io.Discard, bad); err == nil {
			t.Errorf("Generate(%+v) accepted the config", bad)
		}
	}
	// a negative probability disables its kind; the others keep their defaults
	cfg := Config{Personas: 20, Commits: 400, Seed: 3, MergeProb: -1, InvalidProb: -1}
	h, err := GenerateHistory(io.Discard, cfg)
	if err != nil {
		t.Fatal(err)
	}
	kinds := countKinds(h)
	if kinds[KindMerge]+kinds[KindInvalid]+kinds[KindFix] != 0 || kinds[KindRename] == 0 {
		t.Errorf("kinds with merges and invalid files disabled: %v", kinds)
	}
}

func countKinds(h *History) map[Kind]int {
	m := map[Kind]int{}
	for _, c := range h.Commits {
		m[c.Kind]++
	}
	return m
}

// TestHistoryProperties checks the ground truth and every persona file of
// many small random histories.
func TestHistoryProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 0))
	configs := []Config{small, {Personas: 1, Commits: 1}, {Personas: 3, Commits: 1}, {Personas: 1, Commits: 40, Seed: 5}}
	for i := 0; i < 25; i++ {
		configs = append(configs, Config{Personas: 1 + r.IntN(8), Commits: 1 + r.IntN(120), Seed: r.Uint64()})
	}
	configs = append(configs, Config{Personas: 4, Commits: 100, Seed: 9, Dir: "data/personas", MergeProb: 0.3, InvalidProb: 0.2})
	total := map[Kind]int{}
	for _, cfg := range configs {
		t.Run(fmt.Sprintf("%d-%d-%d", cfg.Personas, cfg.Commits, cfg.Seed), func(t *testing.T) {
			var stream bytes.Buffer
			h, err := GenerateHistory(&stream, cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkHistory(t, cfg.Defaults(), h, parseStream(t, stream.Bytes()))
			for k := range countKinds(h) {
				total[k]++
			}
		})
	}
	for _, k := range append(drawKinds[:], KindCreate, KindFix) {
		if total[k] == 0 {
			t.Errorf("no history has a commit of kind %s", k)
		}
	}
}

// streamCommit is a commit of a fast-import stream.
type streamCommit struct {
	msg, from, merge string
	files            map[string][]byte // M, nil content for D
}

func parseStream(t *testing.T, b []byte) []streamCommit {
	t.Helper()
	var out []streamCommit
	var c *streamCommit
	data := func() []byte {
		i := bytes.IndexByte(b, '\n')
		n, err := strconv.Atoi(strings.TrimPrefix(string(b[:i]), "data "))
		if err != nil {
			t.Fatalf("bad data line %q", b[:i])
		}
		d := b[i+1 : i+1+n]
		b = bytes.TrimPrefix(b[i+1+n:], []byte("\n"))
		return d
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := string(b[:i])
		b = b[i+1:]
		switch {
		case line == "commit refs/heads/main":
			out = append(out, streamCommit{files: map[string][]byte{}})
			c = &out[len(out)-1]
		case strings.HasPrefix(line, "committer "):
			c.msg = string(data())
		case strings.HasPrefix(line, "from "):
			c.from = line[5:]
		case strings.HasPrefix(line, "merge "):
			c.merge = line[6:]
		case strings.HasPrefix(line, "M 100644 inline "):
			c.files[line[len("M 100644 inline "):]] = data()
		case strings.HasPrefix(line, "D "):
			c.files[line[2:]] = nil
		case line == "", line == "done", strings.HasPrefix(line, "mark "), strings.HasPrefix(line, "author "):
		default:
			t.Fatalf("unexpected stream line %q", line)
		}
	}
	return out
}

func checkHistory(t *testing.T, cfg Config, h *History, stream []streamCommit) {
	t.Helper()
	if len(h.Commits) != cfg.Commits {
		t.Fatalf("%d first-parent commits, want %d", len(h.Commits), cfg.Commits)
	}
	if len(h.IDs) != cfg.Personas || len(uniq(h.IDs)) != cfg.Personas {
		t.Fatalf("%d ids (%d distinct), want %d", len(h.IDs), len(uniq(h.IDs)), cfg.Personas)
	}
	created := 0
	tree := map[string][]byte{}
	last := map[string]string{} // id → versioned part of its last valid file
	k := 0
	for i, c := range h.Commits {
		if c.Index != i+1 {
			t.Fatalf("commit %d has index %d", i+1, c.Index)
		}
		if (c.Kind == KindMerge) != (c.SideCommits > 0) || c.SideCommits > 4 || c.Kind == KindMerge && c.SideCommits < 2 {
			t.Fatalf("commit %d: kind %s with %d side commits", c.Index, c.Kind, c.SideCommits)
		}
		for j := 0; j < c.SideCommits; j++ {
			for p, d := range stream[k].files {
				if msg := validate(d); msg != "" {
					t.Fatalf("side commit of %d: %s: %s", c.Index, p, msg)
				}
			}
			k++
		}
		s := stream[k]
		k++
		if s.msg != c.Message+"\n" {
			t.Fatalf("commit %d: message %q, history says %q", c.Index, s.msg, c.Message)
		}
		if (c.SideCommits > 0) != (s.merge != "") {
			t.Fatalf("commit %d: merge %q with %d side commits", c.Index, s.merge, c.SideCommits)
		}
		for p, d := range s.files {
			if d == nil {
				delete(tree, p)
			} else {
				tree[p] = d
			}
		}
		for _, p := range c.UnitTests {
			if !strings.HasPrefix(p, UnitTestDir+"/") || !slices.Contains(h.IDs, field(s.files[p], "persona_id")) {
				t.Fatalf("commit %d: unit test %s: %q", c.Index, p, s.files[p])
			}
		}
		if c.Kind == KindCreate {
			created += len(c.Changes)
			if i > 0 && h.Commits[i-1].Kind != KindCreate {
				t.Fatalf("commit %d creates personas after other commits", c.Index)
			}
		}
		for _, ch := range c.Changes {
			if ch.OldPath != "" && ch.OldPath != ch.Path {
				if d, ok := s.files[ch.OldPath]; !ok || d != nil {
					t.Fatalf("commit %d: %s of %s does not delete %s", c.Index, ch.Kind, ch.ID, ch.OldPath)
				}
			}
			if ch.Path == "" {
				if ch.Kind != KindDelete || ch.Valid || ch.ContentChanged {
					t.Fatalf("commit %d: change %+v", c.Index, ch)
				}
				continue
			}
			d := s.files[ch.Path]
			if field(d, "id") != ch.ID {
				t.Fatalf("commit %d: %s has id %q, history says %s", c.Index, ch.Path, field(d, "id"), ch.ID)
			}
			msg := validate(d)
			if (msg == "") != ch.Valid || (ch.Kind == KindInvalid) == ch.Valid {
				t.Fatalf("commit %d: %s %s: valid %v, validator says %q:\n%s", c.Index, ch.Kind, ch.Path, ch.Valid, msg, d)
			}
			if !ch.Valid {
				continue
			}
			v := versioned(d)
			changed := last[ch.ID] != v
			last[ch.ID] = v
			if changed != ch.ContentChanged {
				t.Fatalf("commit %d: %s of %s: content changed %v, history says %v", c.Index, ch.Kind, ch.Path, changed, ch.ContentChanged)
			}
			switch ch.Kind {
			case KindCreate, KindEdit:
				if !changed {
					t.Fatalf("commit %d: %s of %s changes no versioned field", c.Index, ch.Kind, ch.Path)
				}
			case KindUpdate, KindReformat, KindRename:
				if changed {
					t.Fatalf("commit %d: %s of %s changes a versioned field", c.Index, ch.Kind, ch.Path)
				}
			}
			if ch.Kind == KindRename && (ch.OldPath == ch.Path || !bytes.Equal(d, tree[ch.Path])) {
				t.Fatalf("commit %d: rename %s → %s", c.Index, ch.OldPath, ch.Path)
			}
		}
	}
	if k != len(stream) {
		t.Fatalf("the stream has %d commits, the history accounts for %d", len(stream), k)
	}
	if created != cfg.Personas {
		t.Fatalf("%d personas created, want %d", created, cfg.Personas)
	}
	checkTip(t, cfg, h, tree)
}

// checkTip checks the files at the tip of main: every persona file valid,
// ids and names unique, and the same as History.Live.
func checkTip(t *testing.T, cfg Config, h *History, tree map[string][]byte) {
	t.Helper()
	ids, names := map[string]string{}, map[string]string{}
	for p, d := range tree {
		if strings.HasPrefix(p, UnitTestDir+"/") {
			continue
		}
		if !strings.HasPrefix(p, cfg.Dir+"/") || !strings.HasSuffix(p, ".yaml") {
			t.Fatalf("unexpected file %s", p)
		}
		if msg := validate(d); msg != "" {
			t.Fatalf("%s at the tip: %s:\n%s", p, msg, d)
		}
		id, name := field(d, "id"), field(d, "name")
		if ids[id] != "" || names[name] != "" {
			t.Fatalf("%s: id %s or name %q also in %s %s", p, id, name, ids[id], names[name])
		}
		ids[id], names[name] = p, p
		if h.Live[p] != id {
			t.Fatalf("%s: id %s, history says %q", p, id, h.Live[p])
		}
	}
	if len(ids) != len(h.Live) || len(ids) == 0 {
		t.Fatalf("%d persona files at the tip, history says %d", len(ids), len(h.Live))
	}
}

func uniq(s []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

// field returns the inline value of a top-level key: the tiny parse of the
// few YAML forms the generator writes.
func field(d []byte, key string) string {
	for line := range strings.Lines(string(d)) {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

var (
	hexID    = regexp.MustCompile(`^[0-9a-f]{24}$`)
	tagLine  = regexp.MustCompile(`^  [\w ]+: ([\w ]+|null)$`)
	varLine  = regexp.MustCompile(`^  [a-z_][a-z0-9_]+: "[^"]*"$`)
	topLevel = map[string]bool{"id": true, "name": true, "role": true, "tags": true, "background": true,
		"preferred_language": true, "timezone": true, "user_models": true,
		"nonsensitive_user_variables": true, "sensitive_user_variables": true}
)

// validate is a tiny validator of persona files as the generator writes
// them; it returns "" for a valid file, else what is wrong.
func validate(d []byte) string {
	type item struct {
		inline string
		block  []string
	}
	items := map[string]*item{}
	var cur *item
	for line := range strings.Lines(string(d)) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "  "):
			if cur == nil {
				return "indented first line"
			}
			cur.block = append(cur.block, line)
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || !topLevel[k] {
				return fmt.Sprintf("unknown key in %q", line)
			}
			if items[k] != nil {
				return "duplicate key " + k
			}
			cur = &item{inline: strings.TrimSpace(v)}
			items[k] = cur
		}
	}
	for _, k := range []string{"id", "name", "role", "background"} {
		if items[k] == nil {
			return "missing " + k
		}
	}
	for k, it := range items {
		if it.inline != "" && it.inline != "|" && len(it.block) > 0 {
			return "indented lines after the value of " + k + ": not YAML"
		}
	}
	if !hexID.MatchString(items["id"].inline) {
		return "bad id"
	}
	if bg := items["background"]; bg.inline != "|" || len(bg.block) == 0 {
		return "background is not a literal block"
	} else if n := len(strings.Fields(strings.Join(bg.block, " "))); n < 40 || n > 120 {
		return fmt.Sprintf("background of %d words", n)
	}
	if tags := items["tags"]; tags != nil {
		for _, l := range tags.block {
			if !tagLine.MatchString(l) {
				return fmt.Sprintf("bad tag line %q", l)
			}
		}
		if tags.inline != "" && !strings.HasPrefix(tags.inline, "{") {
			return "bad tags " + tags.inline
		}
	}
	for _, k := range []string{"nonsensitive_user_variables", "sensitive_user_variables"} {
		if it := items[k]; it != nil {
			for _, l := range it.block {
				if !varLine.MatchString(l) {
					return fmt.Sprintf("bad variable line %q", l)
				}
			}
		}
	}
	return ""
}

// versioned returns the versioned part of a valid file, normalized: the
// lines from background on in the documented order.
func versioned(d []byte) string {
	blocks := map[string]string{}
	var key string
	for line := range strings.Lines(string(d)) {
		if strings.HasPrefix(line, "  ") {
			blocks[key] += line
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		key = k
		blocks[k] = v
	}
	var b strings.Builder
	for _, k := range []string{"background", "preferred_language", "timezone", "user_models",
		"nonsensitive_user_variables", "sensitive_user_variables"} {
		b.WriteString(k + ":" + blocks[k])
	}
	return b.String()
}

// ---- real repositories ----

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the git binary is not on PATH:", err)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitCommand(dir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestCreate(t *testing.T) {
	needGit(t)
	dir := filepath.Join(t.TempDir(), "repo.git")
	h, err := CreateHistory(dir, small)
	if err != nil {
		t.Fatal(err)
	}
	if n := git(t, dir, "rev-list", "--first-parent", "--count", "main"); n != strconv.Itoa(small.Commits) {
		t.Errorf("%s first-parent commits, want %d", n, small.Commits)
	}
	side := 0
	for _, c := range h.Commits {
		side += c.SideCommits
	}
	if n := git(t, dir, "rev-list", "--count", "main"); n != strconv.Itoa(small.Commits+side) {
		t.Errorf("%s commits, want %d", n, small.Commits+side)
	}
	if n, _ := strconv.Atoi(git(t, dir, "rev-list", "--merges", "--count", "main")); n == 0 || n != countKinds(h)[KindMerge] {
		t.Errorf("%d merges, history has %d", n, countKinds(h)[KindMerge])
	}
	if out := git(t, dir, "fsck", "--strict", "--full", "--no-dangling"); out != "" {
		t.Errorf("git fsck --strict:\n%s", out)
	}
	if head := git(t, dir, "symbolic-ref", "HEAD"); head != "refs/heads/main" {
		t.Errorf("HEAD is %s", head)
	}
	// the tip's files, read with one git cat-file
	paths := strings.Split(git(t, dir, "ls-tree", "-r", "--name-only", "main"), "\n")
	cmd := gitCommand(dir, "cat-file", "--batch")
	cmd.Stdin = strings.NewReader("main:" + strings.Join(paths, "\nmain:") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	tree := map[string][]byte{}
	rd := bufio.NewReader(bytes.NewReader(out))
	for _, p := range paths {
		hdr, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(hdr)
		n, _ := strconv.Atoi(f[len(f)-1])
		d := make([]byte, n+1)
		if _, err := io.ReadFull(rd, d); err != nil {
			t.Fatal(err)
		}
		tree[p] = d[:n]
	}
	checkTip(t, small.Defaults(), h, tree)
	// a second Create refuses the directory
	if err := Create(dir, small); err == nil {
		t.Error("Create wrote into a non-empty directory")
	}
}

// TestCreateIsImport checks that the pack writer makes the commits that git
// fast-import makes from the stream.
func TestCreateIsImport(t *testing.T) {
	needGit(t)
	for _, cfg := range []Config{small, {Personas: 3, Commits: 60, Seed: 7, Dir: "a/b", DeleteProb: 0.3}} {
		a, b := filepath.Join(t.TempDir(), "a.git"), filepath.Join(t.TempDir(), "b.git")
		if err := Create(a, cfg); err != nil {
			t.Fatal(err)
		}
		if err := Import(b, cfg); err != nil {
			t.Fatal(err)
		}
		if ha, hb := git(t, a, "rev-parse", "main"), git(t, b, "rev-parse", "main"); ha != hb {
			t.Errorf("%+v: Create made %s, Import %s", cfg, ha, hb)
		}
	}
}

func TestTreeDelta(t *testing.T) {
	ser := func(es []*tentry) []byte {
		var b []byte
		for _, e := range es {
			b = append(b, e.raw...)
		}
		return b
	}
	var all []*tentry
	for i := 0; i < 60; i++ {
		all = append(all, newEntry(fmt.Sprintf("f%02d.yaml", i), [20]byte{byte(i)}, nil))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for it := 0; it < 500; it++ {
		var base, target []*tentry
		for _, e := range all {
			if r.IntN(3) > 0 {
				base = append(base, e)
			}
			switch r.IntN(4) {
			case 0:
			case 1:
				target = append(target, newEntry(e.name(), [20]byte{9, byte(it)}, nil))
			default:
				target = append(target, e)
			}
		}
		d := treeDelta(nil, base, len(ser(base)), target, len(ser(target)))
		if got := applyDelta(t, ser(base), d); !bytes.Equal(got, ser(target)) {
			t.Fatalf("delta %x made\n%q\nwant\n%q", d, got, ser(target))
		}
	}
}

// applyDelta applies a git delta.
func applyDelta(t *testing.T, base, d []byte) []byte {
	varint := func() int {
		v, s := 0, 0
		for {
			c := d[0]
			d = d[1:]
			v |= int(c&0x7f) << s
			s += 7
			if c < 0x80 {
				return v
			}
		}
	}
	if n := varint(); n != len(base) {
		t.Fatalf("delta for a base of %d bytes, not %d", n, len(base))
	}
	size := varint()
	var out []byte
	for len(d) > 0 {
		c := d[0]
		d = d[1:]
		if c&0x80 == 0 {
			out = append(out, d[:c]...)
			d = d[c:]
			continue
		}
		off, n := 0, 0
		for i := 0; i < 7; i++ {
			if c&(1<<i) == 0 {
				continue
			}
			if i < 4 {
				off |= int(d[0]) << (8 * i)
			} else {
				n |= int(d[0]) << (8 * (i - 4))
			}
			d = d[1:]
		}
		if n == 0 {
			n = 0x10000
		}
		out = append(out, base[off:off+n]...)
	}
	if len(out) != size {
		t.Fatalf("delta made %d bytes, says %d", len(out), size)
	}
	return out
}

func BenchmarkGenerate(b *testing.B) {
	cfg := Config{Personas: 1000, Commits: 10000, Seed: 1}
	for b.Loop() {
		if err := Generate(io.Discard, cfg); err != nil {
			b.Fatal(err)
		}
	}
}
