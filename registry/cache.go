package registry

import (
	"bufio"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/personaregistry/personas/registry/gitdb"
	"github.com/personaregistry/personas/schema"
)

// cacheFormat changes whenever the cached state or the history rules change;
// a cache of another format is ignored.
const cacheFormat = 2

// cacheSaveEvery is how many new commits make a refresh save the cache.
const cacheSaveEvery = 1000

// cacheFile is the gob form of an indexState. gob can't hold nil pointers in
// maps, so nullable tag values travel as tagValue.
type cacheFile struct {
	Format    int
	Branch    string
	Dir       string
	UnitTests string
	HeadTime  time.Time
	Head      gitdb.Hash
	Commits   int
	Personas  []cachedPersona
	Files     map[string]cachedFile
	Units     map[string]unitState
}

type tagValue struct {
	Value string
	Null  bool
}

type cachedPersona struct {
	Persona
	Tags map[string]tagValue
}

type cachedFile struct {
	Blob    gitdb.Hash
	Commit  string
	ID      string
	Valid   *cachedSchemaPersona
	Problem *Problem
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
	if err := writeCache(path, r.cacheFile()); err != nil {
		r.log.Warn("snapshot cache not saved", "path", path, "err", err)
		return
	}
	r.dirty = 0
	r.log.Info("snapshot cache saved", "path", path, "duration", time.Since(start).Round(time.Millisecond))
}

func (r *Registry) cacheFile() *cacheFile {
	s := r.state
	cf := &cacheFile{Format: cacheFormat, Branch: r.opts.Branch, Dir: r.opts.Dir, UnitTests: r.opts.UnitTests,
		Head: s.Head, Commits: s.Commits, Files: map[string]cachedFile{}, Units: map[string]unitState{}}
	if snap := r.snap.Load(); snap != nil {
		cf.HeadTime = snap.HeadTime
	}
	for _, p := range s.Personas {
		cp := *p
		cp.Tags = nil
		cf.Personas = append(cf.Personas, cachedPersona{Persona: cp, Tags: toTagValues(p.Tags)})
	}
	for path, f := range s.Files {
		c := cachedFile{Blob: f.Blob, Commit: f.Commit, ID: f.ID, Problem: f.Problem}
		if f.Valid != nil {
			v := *f.Valid
			v.Tags = nil
			c.Valid = &cachedSchemaPersona{Persona: v, Tags: toTagValues(f.Valid.Tags)}
		}
		cf.Files[path] = c
	}
	for path, u := range s.Units {
		cf.Units[path] = *u
	}
	return cf
}

func writeCache(path string, cf *cacheFile) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return gitdb.WriteFileAtomic(filepath.Dir(path), path, false, func(w io.Writer) error {
		return gob.NewEncoder(w).Encode(cf)
	})
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
	var cf cacheFile
	if err := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20)).Decode(&cf); err != nil {
		r.log.Warn("snapshot cache ignored", "path", path, "err", err)
		return false
	}
	if cf.Format != cacheFormat || cf.Branch != r.opts.Branch || cf.Dir != r.opts.Dir || cf.UnitTests != r.opts.UnitTests {
		r.log.Warn("snapshot cache ignored: written for another format or branch", "path", path)
		return false
	}
	r.state = stateFromCache(&cf)
	r.log.Info("snapshot cache loaded", "path", path, "head", cf.Head.String(), "personas", len(cf.Personas))
	return true
}

func stateFromCache(cf *cacheFile) *indexState {
	s := newIndexState()
	s.Head, s.Commits = cf.Head, cf.Commits
	for i := range cf.Personas {
		p := cf.Personas[i].Persona
		p.Tags = fromTagValues(cf.Personas[i].Tags)
		for j := 1; j < len(p.Versions); j++ {
			p.Versions[j].shareWith(&p.Versions[j-1].Content)
		}
		s.Personas[p.ID] = &p
	}
	for path, c := range cf.Files {
		f := &fileState{Blob: c.Blob, Commit: c.Commit, ID: c.ID, Problem: c.Problem}
		if c.Valid != nil {
			v := c.Valid.Persona
			v.Tags = fromTagValues(c.Valid.Tags)
			v.Normalize()
			f.Valid = &v
		}
		s.Files[path] = f
		if f.ID != "" {
			s.link(path, f.ID)
		}
	}
	for path, u := range cf.Units {
		s.Units[path] = &u
	}
	return s
}
