package repogen

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// persona is the generator's state of one persona: its values, the style of
// its file, and its current file bytes (on main, or on the side branch while
// a merge is being built).
type persona struct {
	num     int
	id      string
	adj     int
	role    int
	tags    []tag
	bg      string // background lines joined by "\n", without indentation or final newline
	lang    int    // index in languages
	tz      int    // index in timezones
	models  []string
	nonsens []kv
	sens    []kv

	order    int  // index in keyOrders
	comment  int  // index in comments, -1 for none
	flowTags bool // tags in flow style

	path    string
	renames int
	pos     int  // index in generator.live or generator.deleted
	live    bool // the file exists on main
	invalid bool // the file is invalid, waiting for its fix
	fixDue  int  // commit index of the fix when invalid
	data    []byte
	fpKey   string // versioned fields of the last valid content on first-parent history
}

type tag struct {
	k, v string // v == "" means null
}

type kv struct{ k, v string }

func (p *persona) name() string {
	return fmt.Sprintf("Persona %06d %s", p.num, adjectives[p.adj])
}

// versionKey encodes the versioned fields: background and those after it.
func (p *persona) versionKey() string {
	var b strings.Builder
	b.WriteString(p.bg)
	b.WriteByte(0)
	b.WriteString(languages[p.lang])
	b.WriteByte(0)
	b.WriteString(timezones[p.tz])
	for _, m := range p.models {
		b.WriteString("\x00m")
		b.WriteString(m)
	}
	for _, v := range p.nonsens {
		b.WriteString("\x00n" + v.k + "=" + v.v)
	}
	for _, v := range p.sens {
		b.WriteString("\x00s" + v.k + "=" + v.v)
	}
	return b.String()
}

// fileOp is one M or D line of a commit.
type fileOp struct {
	path string
	data []byte // nil for a delete
}

type generator struct {
	sink   sink
	cfg    Config
	rng    *rand.Rand
	record bool
	err    error

	cum [len(drawKinds)]float64 // cumulative normalized weights

	personas []*persona // by number - 1
	live     []*persona // files on main, in no particular order
	deleted  []*persona
	pending  []*persona // invalid, in the order made invalid
	usedIDs  map[string]bool

	mark      int // last mark used
	tip       int // mark of main's tip, 0 before the first commit
	emitted   int // commits written so far, for timestamps
	unitTests int

	// the commit being built
	ops     []fileOp
	changes []Change
	tests   []string
	touched []*persona

	commits []Commit
}

// newGenerator needs a config with its defaults applied.
func newGenerator(s sink, cfg Config, record bool) *generator {
	g := &generator{
		sink:    s,
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
		record:  record,
		usedIDs: make(map[string]bool, cfg.Personas),
	}
	ws := cfg.weights()
	sum := 0.0
	for _, x := range ws {
		sum += x
	}
	acc := 0.0
	for i, x := range ws {
		acc += x / sum
		g.cum[i] = acc
	}
	g.cum[len(g.cum)-1] = 1.0001
	return g
}

// creationCommits is the number of commits of the creation phase.
func (g *generator) creationCommits() int {
	n := int(float64(g.cfg.Commits)*g.cfg.CreateFraction + 0.999999)
	return max(1, min(n, g.cfg.Commits, g.cfg.Personas))
}

func (g *generator) run() {
	cc := g.creationCommits()
	for i := 1; i <= cc && g.err == nil; i++ {
		lo, hi := (i-1)*g.cfg.Personas/cc, i*g.cfg.Personas/cc
		g.create(i, lo, hi)
	}
	for i := cc + 1; i <= g.cfg.Commits && g.err == nil; i++ {
		g.mutate(i)
	}
	if g.err == nil {
		g.err = g.sink.finish()
	}
}

func (g *generator) history() *History {
	if !g.record {
		return nil
	}
	h := &History{Commits: g.commits, Live: make(map[string]string, len(g.live))}
	for _, p := range g.live {
		h.Live[p.path] = p.id
	}
	for _, p := range g.personas {
		h.IDs = append(h.IDs, p.id)
	}
	return h
}

// ---- random helpers ----

func (g *generator) intn(n int) int { return g.rng.IntN(n) }

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func (g *generator) newID() string {
	for {
		var b [12]byte
		a, c := g.rng.Uint64(), g.rng.Uint64()
		for i := 0; i < 8; i++ {
			b[i] = byte(a >> (8 * i))
		}
		for i := 0; i < 4; i++ {
			b[8+i] = byte(c >> (8 * i))
		}
		id := fmt.Sprintf("%x", b[:])
		if !g.usedIDs[id] {
			g.usedIDs[id] = true
			return id
		}
	}
}

// background returns 40–120 words in sentences, wrapped at 72 columns.
func (g *generator) background() string {
	n := 40 + g.intn(81)
	var b strings.Builder
	b.Grow(n * 8)
	col, sentence := 0, 0
	for i := 0; i < n; i++ {
		w := vocabulary[g.intn(len(vocabulary))]
		if sentence == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
			sentence = 5 + g.intn(10)
		}
		sentence--
		if sentence == 0 || i == n-1 {
			w += "."
			sentence = 0
		}
		switch {
		case col == 0:
		case col+1+len(w) > 72:
			b.WriteByte('\n')
			col = 0
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

func (g *generator) words(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = vocabulary[g.intn(len(vocabulary))]
	}
	return strings.Join(s, " ")
}

func (g *generator) sensitiveValue() string {
	return fmt.Sprintf("stg-%08x", g.rng.Uint32())
}

// ---- persona life ----

func (g *generator) newPersona(num int) *persona {
	p := &persona{
		num:     num,
		id:      g.newID(),
		adj:     g.intn(len(adjectives)),
		role:    g.intn(len(roles)),
		bg:      g.background(),
		lang:    g.intn(len(languages)),
		tz:      g.intn(len(timezones)),
		order:   0,
		comment: -1,
	}
	if g.chance(0.2) {
		p.order = 1 + g.intn(len(keyOrders)-1)
	}
	if g.chance(0.1) {
		p.comment = g.intn(len(comments))
	}
	p.flowTags = g.chance(0.1)
	if !g.chance(0.1) { // most personas have tags
		p.tags = append(p.tags,
			tag{"category", tagCategories[g.intn(len(tagCategories))]},
			tag{"difficulty", tagDifficulties[g.intn(len(tagDifficulties))]})
		if g.chance(0.4) {
			p.tags = append(p.tags, tag{"channel", tagChannels[g.intn(len(tagChannels))]})
		}
		if g.chance(0.2) {
			p.tags = append(p.tags, tag{"reviewed", ""})
		}
	}
	if g.chance(0.15) {
		p.models = append(p.models, userModelNames[g.intn(len(userModelNames))])
	}
	if g.chance(0.25) {
		k := g.intn(len(nonsensitiveKeys))
		p.nonsens = append(p.nonsens, kv{nonsensitiveKeys[k], nonsensitiveVals[g.intn(len(nonsensitiveVals))]})
	}
	if g.chance(0.05) {
		p.sens = append(p.sens, kv{sensitiveKeys[g.intn(len(sensitiveKeys))], g.sensitiveValue()})
	}
	p.path = g.cfg.Dir + "/" + slug(p.name()) + ".yaml"
	p.data = p.render(-1)
	return p
}

// slug lowercases a name and joins its words with hyphens.
func slug(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), " ", "-")
}

func (g *generator) addLive(p *persona) {
	p.live = true
	p.pos = len(g.live)
	g.live = append(g.live, p)
}

func (g *generator) removeLive(p *persona) {
	last := g.live[len(g.live)-1]
	g.live[p.pos] = last
	last.pos = p.pos
	g.live = g.live[:len(g.live)-1]
	p.live = false
	p.pos = len(g.deleted)
	g.deleted = append(g.deleted, p)
}

func (g *generator) removeDeleted(p *persona) {
	last := g.deleted[len(g.deleted)-1]
	g.deleted[p.pos] = last
	last.pos = p.pos
	g.deleted = g.deleted[:len(g.deleted)-1]
}

func (g *generator) isTouched(p *persona) bool {
	for _, q := range g.touched {
		if q == p {
			return true
		}
	}
	return false
}

// pickLive returns a random live, valid persona not touched by the commit
// being built, or nil.
func (g *generator) pickLive() *persona {
	n := len(g.live)
	if n == 0 {
		return nil
	}
	ok := func(p *persona) bool { return !p.invalid && !g.isTouched(p) }
	for try := 0; try < 16; try++ {
		if p := g.live[g.intn(n)]; ok(p) {
			g.touched = append(g.touched, p)
			return p
		}
	}
	start := g.intn(n)
	for i := 0; i < n; i++ {
		if p := g.live[(start+i)%n]; ok(p) {
			g.touched = append(g.touched, p)
			return p
		}
	}
	return nil
}

// pickN picks 1–3 personas (fewer when fewer are available).
func (g *generator) pickN() []*persona {
	want := 1 + g.intn(3)
	var ps []*persona
	for len(ps) < want {
		p := g.pickLive()
		if p == nil {
			break
		}
		ps = append(ps, p)
	}
	return ps
}

// ---- building commits ----

func (g *generator) put(p *persona) {
	g.ops = append(g.ops, fileOp{path: p.path, data: p.data})
}

// settle records the change of p made by a first-parent commit and updates
// the last valid versioned content.
func (g *generator) settle(p *persona, kind Kind, oldPath string) {
	if !g.record {
		return
	}
	c := Change{ID: p.id, Kind: kind, Path: p.path, OldPath: oldPath}
	if !p.live {
		c.Path = ""
	}
	if p.live && !p.invalid {
		c.Valid = true
		key := p.versionKey()
		c.ContentChanged = key != p.fpKey
		p.fpKey = key
	}
	g.changes = append(g.changes, c)
}

func (g *generator) create(i, lo, hi int) {
	for n := lo; n < hi; n++ {
		p := g.newPersona(n + 1)
		g.personas = append(g.personas, p)
		g.addLive(p)
		g.put(p)
		g.settle(p, KindCreate, "")
	}
	var msg string
	if hi-lo == 1 {
		msg = "Add " + g.personas[lo].name()
	} else {
		msg = fmt.Sprintf("Add personas %06d to %06d", lo+1, hi)
	}
	g.commit(i, KindCreate, msg, 0, 0)
}

func (g *generator) draw() Kind {
	x := g.rng.Float64()
	for i, c := range g.cum {
		if x < c {
			return drawKinds[i]
		}
	}
	return KindEdit
}

func (g *generator) mutate(i int) {
	var due []*persona
	for _, p := range g.pending {
		if p.fixDue <= i {
			due = append(due, p)
		}
	}
	if len(due) > 0 {
		g.fix(i, due)
		return
	}
	kind := g.draw()
	ok := false
	switch kind {
	case KindEdit:
		ok = g.edit(i)
	case KindUpdate:
		ok = g.update(i)
	case KindRename:
		ok = g.rename(i)
	case KindReformat:
		ok = g.reformat(i)
	case KindDelete:
		ok = g.delete(i)
	case KindRestore:
		ok = g.restore(i)
	case KindMerge:
		ok = g.merge(i)
	case KindInvalid:
		ok = g.invalidate(i)
	case KindUnitTest:
		ok = g.unitTest(i)
	}
	if !ok {
		ok = g.edit(i)
	}
	if !ok {
		g.unitTest(i)
	}
}

func names(ps []*persona) string {
	s := ps[0].name()
	for j := 1; j < len(ps); j++ {
		if j == len(ps)-1 {
			s += " and " + ps[j].name()
		} else {
			s += ", " + ps[j].name()
		}
	}
	return s
}

// editVersioned changes one versioned field of p.
func (g *generator) editVersioned(p *persona) string {
	switch r := g.intn(10); {
	case r == 0:
		p.lang = (p.lang + 1 + g.intn(len(languages)-1)) % len(languages)
		return "Change preferred language of "
	case r == 1:
		p.tz = (p.tz + 1 + g.intn(len(timezones)-1)) % len(timezones)
		return "Change timezone of "
	case r == 2:
		switch g.intn(4) {
		case 0:
			if len(p.models) < 2 {
				m := userModelNames[g.intn(len(userModelNames))]
				if len(p.models) == 1 && p.models[0] == m {
					m = userModelNames[(indexOf(userModelNames[:], m)+1)%len(userModelNames)]
				}
				p.models = append(append([]string(nil), p.models...), m)
			} else {
				p.models = p.models[:1:1]
			}
			return "Change user models of "
		case 1:
			if len(p.sens) > 0 {
				p.sens = nil
			} else {
				p.sens = []kv{{sensitiveKeys[g.intn(len(sensitiveKeys))], g.sensitiveValue()}}
			}
			return "Change sensitive variables of "
		default:
			k := nonsensitiveKeys[g.intn(len(nonsensitiveKeys))]
			vars := append([]kv(nil), p.nonsens...)
			p.nonsens = vars
			for j := range vars {
				if vars[j].k == k {
					v := indexOf(nonsensitiveVals[:], vars[j].v)
					vars[j].v = nonsensitiveVals[(v+1+g.intn(len(nonsensitiveVals)-1))%len(nonsensitiveVals)]
					return "Change variables of "
				}
			}
			p.nonsens = append(vars, kv{k, nonsensitiveVals[g.intn(len(nonsensitiveVals))]})
			return "Add a variable to "
		}
	default:
		p.bg = g.background()
		return "Rewrite background of "
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return 0
}

func (g *generator) edit(i int) bool {
	ps := g.pickN()
	if len(ps) == 0 {
		return false
	}
	verb := ""
	for _, p := range ps {
		verb = g.editVersioned(p)
		p.data = p.render(-1)
		g.put(p)
		g.settle(p, KindEdit, p.path)
	}
	if len(ps) > 1 {
		verb = "Edit "
	}
	g.commit(i, KindEdit, verb+names(ps), 0, 0)
	return true
}

// editUnversioned changes the name, role or tags of p.
func (g *generator) editUnversioned(p *persona) string {
	switch g.intn(3) {
	case 0:
		p.adj = (p.adj + 1 + g.intn(len(adjectives)-1)) % len(adjectives)
		return "Rename display name of "
	case 1:
		p.role = (p.role + 1 + g.intn(len(roles)-1)) % len(roles)
		return "Change role of "
	}
	tags := append([]tag(nil), p.tags...)
	var extra []int // indexes of the optional tags
	for j, t := range tags {
		if t.k != "category" && t.k != "difficulty" {
			extra = append(extra, j)
		}
	}
	switch r := g.intn(3); {
	case len(tags) == 0:
		tags = append(tags, tag{"category", tagCategories[g.intn(len(tagCategories))]})
	case r == 0 && len(extra) > 0:
		j := extra[g.intn(len(extra))]
		tags = append(tags[:j], tags[j+1:]...)
	case r == 1:
		k := tagExtraKeys[g.intn(len(tagExtraKeys))]
		j := 0
		for j < len(tags) && tags[j].k != k {
			j++
		}
		switch {
		case j == len(tags): // at most 7 tags: within the limit of 20
			v := tagExtraValues[g.intn(len(tagExtraValues))]
			if g.chance(0.3) {
				v = "" // null
			}
			tags = append(tags, tag{k, v})
		case tags[j].v == "":
			tags[j].v = tagExtraValues[g.intn(len(tagExtraValues))]
		default:
			tags[j].v = ""
		}
	default:
		j := g.intn(len(tags))
		switch tags[j].k {
		case "category":
			tags[j].v = tagCategories[(indexOf(tagCategories[:], tags[j].v)+1+g.intn(len(tagCategories)-1))%len(tagCategories)]
		case "difficulty":
			tags[j].v = tagDifficulties[(indexOf(tagDifficulties[:], tags[j].v)+1+g.intn(len(tagDifficulties)-1))%len(tagDifficulties)]
		default:
			if tags[j].v == "" {
				tags[j].v = tagExtraValues[g.intn(len(tagExtraValues))]
			} else {
				tags[j].v = ""
			}
		}
	}
	p.tags = tags
	return "Retag "
}

func (g *generator) update(i int) bool {
	ps := g.pickN()
	if len(ps) == 0 {
		return false
	}
	before := make([]string, len(ps))
	verb := ""
	for j, p := range ps {
		before[j] = p.name()
		verb = g.editUnversioned(p)
		p.data = p.render(-1)
		g.put(p)
		g.settle(p, KindUpdate, p.path)
	}
	if len(ps) > 1 {
		verb = "Edit name, role or tags of "
	}
	g.commit(i, KindUpdate, verb+strings.Join(before, ", "), 0, 0)
	return true
}

// newPath gives p a new file path: "<adjective>-<noun>-<number>.yaml".
func (g *generator) newPath(p *persona) {
	p.renames++
	s := fmt.Sprintf("%s-%s-%06d", strings.ToLower(adjectives[g.intn(len(adjectives))]), nouns[g.intn(len(nouns))], p.num)
	np := g.cfg.Dir + "/" + s + ".yaml"
	if np == p.path {
		np = g.cfg.Dir + "/" + s + "-" + strconv.Itoa(p.renames) + ".yaml"
	}
	p.path = np
}

func (g *generator) rename(i int) bool {
	ps := g.pickN()
	if len(ps) == 0 {
		return false
	}
	for _, p := range ps {
		old := p.path
		g.newPath(p)
		g.ops = append(g.ops, fileOp{path: old})
		g.put(p)
		g.settle(p, KindRename, old)
	}
	msg := "Move " + names(ps)
	if len(ps) == 1 {
		msg += " to " + ps[0].path
	}
	g.commit(i, KindRename, msg, 0, 0)
	return true
}

func (g *generator) reformat(i int) bool {
	ps := g.pickN()
	if len(ps) == 0 {
		return false
	}
	for _, p := range ps {
		switch g.intn(3) {
		case 0:
			p.order = (p.order + 1 + g.intn(len(keyOrders)-1)) % len(keyOrders)
		case 1:
			if p.comment >= 0 {
				p.comment = -1
			} else {
				p.comment = g.intn(len(comments))
			}
		default:
			p.flowTags = !p.flowTags
			if len(p.tags) == 0 { // the style of empty tags does not show
				p.order = (p.order + 1) % len(keyOrders)
			}
		}
		p.data = p.render(-1)
		g.put(p)
		g.settle(p, KindReformat, p.path)
	}
	g.commit(i, KindReformat, "Reformat "+names(ps), 0, 0)
	return true
}

func (g *generator) delete(i int) bool {
	floor := max(1, g.cfg.Personas/2)
	n := min(1+g.intn(3), len(g.live)-floor)
	if n <= 0 {
		return false
	}
	var ps []*persona
	for len(ps) < n {
		p := g.pickLive()
		if p == nil {
			break
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return false
	}
	for _, p := range ps {
		old := p.path
		g.removeLive(p)
		g.ops = append(g.ops, fileOp{path: old})
		g.settle(p, KindDelete, old)
	}
	g.commit(i, KindDelete, "Remove "+names(ps), 0, 0)
	return true
}

func (g *generator) restore(i int) bool {
	n := min(1+g.intn(3), len(g.deleted))
	if n == 0 {
		return false
	}
	ps := make([]*persona, 0, n)
	for len(ps) < n {
		p := g.deleted[g.intn(len(g.deleted))]
		g.removeDeleted(p)
		ps = append(ps, p)
	}
	for _, p := range ps {
		if g.chance(0.4) {
			g.newPath(p)
		}
		if g.chance(0.5) {
			p.bg = g.background()
			p.data = p.render(-1)
		}
		g.addLive(p)
		g.put(p)
		g.settle(p, KindRestore, "")
	}
	g.commit(i, KindRestore, "Restore "+names(ps), 0, 0)
	return true
}

func (g *generator) merge(i int) bool {
	p := g.pickLive()
	if p == nil {
		return false
	}
	base := g.tip
	n := 2 + g.intn(3)
	branch := "refine-" + slug(p.name())
	side := 0
	for j := 1; j <= n && g.err == nil; j++ {
		var verb string
		if j == 1 || g.chance(0.75) {
			p.bg = g.background()
			verb = "Refine background of "
		} else {
			verb = g.editUnversioned(p)
		}
		p.data = p.render(-1)
		g.put(p)
		from := 0
		if j == 1 {
			from = base
		}
		side = g.write(fmt.Sprintf("%s%s (%d/%d)", verb, p.name(), j, n), from, 0)
	}
	g.put(p)
	g.settle(p, KindMerge, p.path)
	g.commit(i, KindMerge, fmt.Sprintf("Merge branch '%s'", branch), base, side)
	if g.record {
		g.commits[len(g.commits)-1].SideCommits = n
	}
	return true
}

// invalid variants
const (
	invalidYAML       = iota // a mis-indented key: does not parse
	invalidNoBG              // background missing
	invalidTagsList          // tags is a list
	invalidUnknownKey        // an unknown key
	numInvalid
)

var invalidNames = [numInvalid]string{"WIP: edit ", "Drop background of ", "List tags of ", "Add nickname to "}

func (g *generator) invalidate(i int) bool {
	if i >= g.cfg.Commits {
		return false
	}
	p := g.pickLive()
	if p == nil {
		return false
	}
	v := g.intn(numInvalid)
	p.invalid = true
	p.fixDue = min(i+1+g.intn(5), g.cfg.Commits)
	g.pending = append(g.pending, p)
	g.ops = append(g.ops, fileOp{path: p.path, data: p.render(v)})
	g.settle(p, KindInvalid, p.path)
	g.commit(i, KindInvalid, invalidNames[v]+p.name(), 0, 0)
	return true
}

func (g *generator) fix(i int, due []*persona) {
	keep := g.pending[:0]
	for _, p := range g.pending {
		if p.fixDue > i {
			keep = append(keep, p)
		}
	}
	g.pending = keep
	for _, p := range due {
		p.invalid = false
		if g.chance(0.5) {
			p.bg = g.background()
			p.data = p.render(-1)
		}
		g.touched = append(g.touched, p)
		g.put(p)
		g.settle(p, KindFix, p.path)
	}
	g.commit(i, KindFix, "Fix the persona file of "+names(due), 0, 0)
}

func (g *generator) unitTest(i int) bool {
	n := 1 + g.intn(3)
	var ids []string
	for j := 0; j < n; j++ {
		var p *persona
		if len(g.live) > 0 && !g.chance(0.1) {
			p = g.live[g.intn(len(g.live))]
		} else {
			p = g.personas[g.intn(len(g.personas))]
		}
		g.unitTests++
		path := fmt.Sprintf("%s/test-%06d.yaml", UnitTestDir, g.unitTests)
		data := fmt.Appendf(nil, "persona_id: %s\nscenario: \"the user asks about %s\"\nexpected: \"the agent %s\"\n",
			p.id, g.words(3+g.intn(5)), g.words(3+g.intn(5)))
		g.ops = append(g.ops, fileOp{path: path, data: data})
		g.tests = append(g.tests, path)
		ids = append(ids, p.name())
	}
	g.commit(i, KindUnitTest, "Add unit tests for "+strings.Join(ids, ", "), 0, 0)
	return true
}

// ---- writing the stream ----

// commit writes the first-parent commit i from the pending file operations
// and records it.
func (g *generator) commit(i int, kind Kind, msg string, from, merge int) {
	g.tip = g.write(msg, from, merge)
	if g.record {
		g.commits = append(g.commits, Commit{Index: i, Kind: kind, Message: msg,
			Changes: g.changes, UnitTests: g.tests})
	}
	g.changes, g.tests = nil, nil
	g.touched = g.touched[:0]
}

// write hands a commit on refs/heads/main with the pending file operations
// to the sink and returns its mark.
func (g *generator) write(msg string, from, merge int) int {
	g.mark++
	a := authors[g.intn(len(authors))]
	c := &rawCommit{
		mark:  g.mark,
		who:   fmt.Sprintf("%s <%s> %d +0000", a.name, a.email, Epoch+Step*int64(g.emitted)),
		msg:   msg + "\n",
		from:  from,
		merge: merge,
		ops:   g.ops,
	}
	g.emitted++
	if g.err == nil {
		g.err = g.sink.commit(c)
	}
	g.ops = g.ops[:0]
	return g.mark
}

// rawCommit is one commit as the sinks see it.
type rawCommit struct {
	mark        int
	who         string // "Name <email> time +0000", for author and committer
	msg         string // full message, ending in a newline
	from, merge int    // marks of explicit parents, 0 for none
	ops         []fileOp
}

// sink receives the commits of a history in order.
type sink interface {
	commit(c *rawCommit) error
	finish() error
}

// streamSink writes a git fast-import stream.
type streamSink struct{ w *bufio.Writer }

func (s streamSink) commit(c *rawCommit) error {
	w := s.w
	fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s",
		c.mark, c.who, c.who, len(c.msg), c.msg)
	if c.from > 0 {
		fmt.Fprintf(w, "from :%d\n", c.from)
	}
	if c.merge > 0 {
		fmt.Fprintf(w, "merge :%d\n", c.merge)
	}
	for _, op := range c.ops {
		if op.data == nil {
			w.WriteString("D ")
			w.WriteString(op.path)
			w.WriteByte('\n')
			continue
		}
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n", op.path, len(op.data))
		w.Write(op.data)
		w.WriteByte('\n')
	}
	_, err := w.WriteString("\n")
	return err
}

func (s streamSink) finish() error {
	if _, err := s.w.WriteString("done\n"); err != nil {
		return err
	}
	return s.w.Flush()
}
