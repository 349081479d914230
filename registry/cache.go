package registry

import (
	"bufio"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/personaregistry/personas/registry/gitdb"
	"github.com/personaregistry/personas/schema"
)

// cacheFormat changes whenever the cached state or the history rules change;
// a cache of another format is ignored.
const cacheFormat = 5

// cacheSaveEvery is how many new commits make a refresh save the cache.
const cacheSaveEvery = 1000

// cacheHeader starts the cache file; the records it counts follow it, each
// a gob message of its own, so neither writing nor reading the cache holds
// a second copy of the whole state. gob can't hold nil pointers in maps, so
// nullable tag values travel as tagValue.
type cacheHeader struct {
	Format    int
	Branch    string
	Dir       string
	UnitTests string
	HeadTime  time.Time
	Head      gitdb.Hash
	Commits   int
	Personas  int // cachedPersona records
	Files     int // cachedFile records
	Units     int // cachedUnit records
	// Tokens is the token table the texts of the records are numbered in
	// (see Text), in number order.
	Tokens []string
	// Values are the versions' contents but their backgrounds, each set
	// once: versions share them (see interner), and decoding a version's
	// maps anew was a third of a cache load at 10,000 personas × 100,000
	// commits.
	Values []cachedValues
}

// cachedValues are a version's content but its background.
type cachedValues struct {
	PreferredLanguage, Timezone *string
	UserModels                  []string
	Nonsensitive, Sensitive     map[string]string
}

// cachedVersion is a version whose content values are cacheHeader.Values[Values].
type cachedVersion struct {
	Number     int
	Commit     string
	Subject    string
	CreatedAt  time.Time
	Creator    string
	Background Text
	Values     int
}

type tagValue struct {
	Value string
	Null  bool
}

type cachedPersona struct {
	Persona  // without its tags and versions
	Tags     map[string]tagValue
	Versions []cachedVersion
}

type cachedFile struct {
	Path    string
	Blob    gitdb.Hash
	Commit  string
	ID      string
	Valid   *cachedSchemaPersona
	Bg      Text
	Problem *Problem
}

type cachedUnit struct {
	Path string
	Unit unitState
}

type cachedSchemaPersona struct {
	schema.Persona
	Tags map[string]tagValue
}

func toTagValues(t map[string]*string) map[string]tagValue {
	out := make(map[string]tagValue, len(t))
	for k, v := range t {
		if v == nil {
			out[k] = tagValue{Null: true}
		} else {
			out[k] = tagValue{Value: *v}
		}
	}
	return out
}

func fromTagValues(t map[string]tagValue) map[string]*string {
	out := make(map[string]*string, len(t))
	for k, v := range t {
		if !v.Null {
			s := v.Value
			out[k] = &s
		} else {
			out[k] = nil
		}
	}
	return out
}

// cachePath is where the cache of this branch and these directories lives.
func (r *Registry) cachePath() string {
	sum := sha256.Sum256([]byte(r.opts.Branch + "\x00" + r.opts.Dir + "\x00" + r.opts.UnitTests))
	return filepath.Join(r.store.GitDir(), "personas-cache", fmt.Sprintf("v%d-%s.gob", cacheFormat, hex.EncodeToString(sum[:8])))
}

// saveCache writes the state atomically (gitdb.WriteFileAtomic). Failures are
// logged: the cache only saves time.
func (r *Registry) saveCache() {
	if r.opts.NoCache || r.opts.Rev != "" || r.state.Head.IsZero() {
		return
	}
	start := time.Now()
	path := r.cachePath()
	if err := r.writeCache(path); err != nil {
		r.log.Warn("snapshot cache not saved", "path", path, "err", err)
		return
	}
	r.dirty = 0
	r.log.Info("snapshot cache saved", "path", path, "duration", time.Since(start).Round(time.Millisecond))
	removeOtherFormats(path)
}

// removeOtherFormats deletes the caches of this branch that an earlier
// version of the program wrote in another format (v<format>-<hash>.gob):
// nothing reads them any more, and each holds the whole index.
func removeOtherFormats(path string) {
	dir, name := filepath.Split(path)
	_, suffix, ok := strings.Cut(name, "-")
	if !ok {
		return
	}
	old, _ := filepath.Glob(filepath.Join(dir, "v*-"+suffix))
	for _, o := range old {
		if o != path {
			_ = os.Remove(o)
		}
	}
}

func (r *Registry) cacheHeader() cacheHeader {
	s := r.state
	h := cacheHeader{Format: cacheFormat, Branch: r.opts.Branch, Dir: r.opts.Dir, UnitTests: r.opts.UnitTests,
		Head: s.Head, Commits: s.Commits, Personas: len(s.Personas), Files: len(s.Files), Units: len(s.Units)}
	if snap := r.snap.Load(); snap != nil {
		h.HeadTime = snap.HeadTime
	}
	return h
}

func (r *Registry) writeCache(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	s := r.state
	return gitdb.WriteFileAtomic(filepath.Dir(path), path, false, func(w io.Writer) error {
		enc := gob.NewEncoder(w)
		h := r.cacheHeader()
		h.Tokens = tokens.snapshot() // every text of the state is numbered by now
		// the table goes in the header, before the records that use it:
		// number every version's values first, in the order written below
		var values valuesTable
		var numbers []int
		personas := slices.Collect(maps.Values(s.Personas))
		for _, p := range personas {
			for _, v := range p.Versions {
				numbers = append(numbers, values.index(&v.Content))
			}
		}
		h.Values = values.list
		if err := enc.Encode(h); err != nil {
			return err
		}
		var versions []cachedVersion
		for _, p := range personas {
			cp := *p
			cp.Tags, cp.Versions = nil, nil
			versions = versions[:0]
			for _, v := range p.Versions {
				versions = append(versions, cachedVersion{Number: v.Number, Commit: v.Commit, Subject: v.Subject,
					CreatedAt: v.CreatedAt, Creator: v.Creator, Background: v.Background, Values: numbers[0]})
				numbers = numbers[1:]
			}
			if err := enc.Encode(cachedPersona{Persona: cp, Tags: toTagValues(p.Tags), Versions: versions}); err != nil {
				return err
			}
		}
		for path, f := range s.Files {
			c := cachedFile{Path: path, Blob: f.Blob, Commit: f.Commit, ID: f.ID, Bg: f.Bg, Problem: f.Problem}
			if f.Valid != nil {
				v := *f.Valid
				v.Tags = nil
				c.Valid = &cachedSchemaPersona{Persona: v, Tags: toTagValues(f.Valid.Tags)}
			}
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		for path, u := range s.Units {
			if err := enc.Encode(cachedUnit{Path: path, Unit: *u}); err != nil {
				return err
			}
		}
		return nil
	})
}

// valuesTable numbers the distinct content values of versions for the
// cache. Versions share their values (the interner), so values are told
// apart by identity: equal values that are not shared get two numbers,
// which costs only room.
type valuesTable struct {
	ids  map[valuesKey]int
	list []cachedValues
}

type valuesKey struct {
	lang, tz      *string
	models        uintptr // the first element's address, and the length
	nModels       int
	nonsens, sens uintptr // the maps' addresses
}

// index returns the number of c's values, adding them.
func (t *valuesTable) index(c *Content) int {
	k := valuesKey{lang: c.PreferredLanguage, tz: c.Timezone, nModels: len(c.UserModels),
		models: addressOf(c.UserModels), nonsens: addressOf(c.NonsensitiveUserVariables), sens: addressOf(c.SensitiveUserVariables)}
	if i, ok := t.ids[k]; ok {
		return i
	}
	if t.ids == nil {
		t.ids = map[valuesKey]int{}
	}
	i := len(t.list)
	t.list = append(t.list, cachedValues{PreferredLanguage: c.PreferredLanguage, Timezone: c.Timezone,
		UserModels: c.UserModels, Nonsensitive: c.NonsensitiveUserVariables, Sensitive: c.SensitiveUserVariables})
	t.ids[k] = i
	return i
}

// addressOf is the address of a map or of a slice's first element (0 for
// nil): their identity while the state that holds them is alive.
func addressOf(v any) uintptr {
	rv := reflect.ValueOf(v)
	if rv.IsNil() {
		return 0
	}
	return rv.Pointer()
}

// loadCache restores the state saved by an earlier run, so that only the
// commits made since are read, and reports whether it did. An unreadable
// cache is ignored with a log line.
func (r *Registry) loadCache() bool {
	path := r.cachePath()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		r.log.Warn("snapshot cache ignored", "path", path, "err", err)
		return false
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	var h cacheHeader
	if err := dec.Decode(&h); err != nil {
		r.log.Warn("snapshot cache ignored", "path", path, "err", err)
		return false
	}
	if h.Format != cacheFormat || h.Branch != r.opts.Branch || h.Dir != r.opts.Dir || h.UnitTests != r.opts.UnitTests {
		r.log.Warn("snapshot cache ignored: written for another format or branch", "path", path)
		return false
	}
	s, err := readCacheRecords(dec, h)
	if err != nil {
		r.log.Warn("snapshot cache ignored", "path", path, "err", err)
		return false
	}
	r.state = s
	r.log.Info("snapshot cache loaded", "path", path, "head", h.Head.String(), "personas", h.Personas)
	return true
}

// readCacheRecords reads the records a header counts into a new state. The
// records are decoded on another goroutine while this one builds the state
// from them: at 10,000 personas × 100,000 commits decoding is two thirds of
// a load and building the state the rest.
func readCacheRecords(dec *gob.Decoder, h cacheHeader) (*indexState, error) {
	personas := make(chan cachedPersona, 64)
	files := make(chan cachedFile, 64)
	units := make(chan cachedUnit, 64)
	stop := make(chan struct{})
	var decodeErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(personas)
		defer close(files)
		defer close(units)
		decodeErr = decodeRecords(dec, h.Personas, personas, stop, "persona record")
		if decodeErr == nil {
			decodeErr = decodeRecords(dec, h.Files, files, stop, "file record")
		}
		if decodeErr == nil {
			decodeErr = decodeRecords(dec, h.Units, units, stop, "unit-test record")
		}
	})
	s, err := stateOfRecords(h, personas, files, units)
	close(stop)
	wg.Wait()
	if decodeErr != nil {
		return nil, decodeErr // the records ended early: what was built lacks the rest
	}
	return s, err
}

// decodeRecords decodes n records into out, until stop is closed.
func decodeRecords[T any](dec *gob.Decoder, n int, out chan<- T, stop <-chan struct{}, what string) error {
	for range n {
		var rec T
		if err := dec.Decode(&rec); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		select {
		case out <- rec:
		case <-stop:
			return nil
		}
	}
	return nil
}

// stateOfRecords builds a state from a cache's records, in the order they
// were written.
func stateOfRecords(h cacheHeader, personas <-chan cachedPersona, files <-chan cachedFile, units <-chan cachedUnit) (*indexState, error) {
	s := newIndexState()
	s.Head, s.Commits = h.Head, h.Commits
	to, same := tokens.adopt(h.Tokens)
	values := make([]Content, len(h.Values))
	for i, c := range h.Values {
		values[i] = versionValues.content(Content{PreferredLanguage: c.PreferredLanguage, Timezone: c.Timezone,
			UserModels: c.UserModels, NonsensitiveUserVariables: c.Nonsensitive, SensitiveUserVariables: c.Sensitive})
	}
	// a channel closes early when the decoding failed: the caller says so
	for range h.Personas {
		c, ok := <-personas
		if !ok {
			return s, nil
		}
		p := c.Persona
		p.Tags = versionValues.tagsOf(fromTagValues(c.Tags))
		p.Versions = make([]*Version, len(c.Versions))
		for j, read := range c.Versions {
			bg, ok := read.Background.renumber(to, same)
			if !ok {
				return nil, fmt.Errorf("persona record %s: version %d: background numbers a token the cache lacks", p.ID, j+1)
			}
			if read.Values < 0 || read.Values >= len(values) {
				return nil, fmt.Errorf("persona record %s: version %d: values %d of %d", p.ID, j+1, read.Values, len(values))
			}
			var last *Version
			if j > 0 {
				last = p.Versions[j-1]
			}
			content := values[read.Values]
			content.Background = lastingText(last, bg)
			p.Versions[j] = newVersion(Version{Number: read.Number, Commit: read.Commit, Subject: read.Subject,
				CreatedAt: read.CreatedAt, Creator: unique.Make(read.Creator).Value(), Content: content})
		}
		s.Personas[p.ID] = &p
	}
	for range h.Files {
		c, ok := <-files
		if !ok {
			return s, nil
		}
		f := &fileState{Blob: c.Blob, Commit: c.Commit, ID: c.ID, Problem: c.Problem}
		if c.Valid != nil {
			bg, ok := c.Bg.renumber(to, same)
			if !ok {
				return nil, fmt.Errorf("file record %s: background numbers a token the cache lacks", c.Path)
			}
			f.Bg = bg
			v := c.Valid.Persona
			v.Tags = fromTagValues(c.Valid.Tags)
			v.Normalize()
			versionValues.persona(&v)
			f.Valid = &v
		}
		s.Files[c.Path] = f
		if f.ID != "" {
			s.link(c.Path, f.ID)
		}
	}
	for range h.Units {
		c, ok := <-units
		if !ok {
			return s, nil
		}
		u := c.Unit
		s.Units[c.Path] = &u
	}
	return s, nil
}
