package server

import (
	"encoding/json"
	"hash/maphash"
	"net/http"
	"sync"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
)

// DefaultResponseCacheBytes is the default byte budget of the cache of
// encoded responses, and DefaultPersonaCacheBytes that of encoded personas
// (which holds at most every persona once: about 5 MB at 10,000). With the
// default --heap-headroom they keep a server's growth under any query mix
// within 64 MB of its memory at ready.
const (
	DefaultResponseCacheBytes = 16 << 20
	DefaultPersonaCacheBytes  = 32 << 20
)

// doorkeeperKeys is how many recently seen response keys the response cache
// remembers in each of its two generations.
const doorkeeperKeys = 1 << 14

// cacheStats are a cache's size and counters, read by the metrics collector.
type cacheStats struct {
	bytes, entries, budget  int64
	hits, misses, evictions uint64
}

// responseCache keeps encoded read responses of the current snapshot: a
// snapshot never changes, so a body computed once for a query is right
// until the head moves. It holds at most its budget of bytes, evicting the
// least recently used bodies, and is emptied when the snapshot changes.
// A body is kept only when its query was asked before (a doorkeeper of
// recently seen keys): a flood of one-off queries neither fills the cache
// nor evicts the queries that recur.
type responseCache struct {
	mu           sync.Mutex
	snap         *registry.Snapshot
	lru          *lru[string, []byte]
	hits, misses uint64
	seed         maphash.Seed
	seen, before map[uint64]struct{} // keys asked for: this generation and the last
}

func newResponseCache(budget int64) *responseCache {
	return &responseCache{lru: newLRU[string, []byte](budget), seed: maphash.MakeSeed(),
		seen: map[uint64]struct{}{}, before: map[uint64]struct{}{}}
}

// admit reports whether key was asked for recently, and remembers it.
func (rc *responseCache) admit(key string) bool {
	h := maphash.String(rc.seed, key)
	if _, ok := rc.seen[h]; ok {
		return true
	}
	_, ok := rc.before[h]
	if len(rc.seen) >= doorkeeperKeys {
		rc.before, rc.seen = rc.seen, make(map[uint64]struct{}, doorkeeperKeys)
	}
	rc.seen[h] = struct{}{}
	return ok
}

// get returns the body cached for key on snap.
func (rc *responseCache) get(snap *registry.Snapshot, key string) ([]byte, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.snap != snap {
		rc.misses++
		return nil, false
	}
	b, ok := rc.lru.get(key)
	if ok {
		rc.hits++
	} else {
		rc.misses++
	}
	return b, ok
}

// put caches body for key on snap; a newer snapshot empties the cache.
func (rc *responseCache) put(snap *registry.Snapshot, key string, body []byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.snap != snap {
		if rc.snap != nil && snap.BuiltAt.Before(rc.snap.BuiltAt) {
			return // an older snapshot finishing late
		}
		rc.snap = snap
		rc.lru.reset()
	}
	if rc.lru.budget > 0 && rc.admit(key) {
		rc.lru.put(key, body, int64(len(key)+cap(body)))
	}
}

func (rc *responseCache) stats() cacheStats {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return cacheStats{bytes: rc.lru.size, entries: int64(rc.lru.len()), budget: rc.lru.budget,
		hits: rc.hits, misses: rc.misses, evictions: rc.lru.evictions}
}

// cachedJSON answers with the cached body for this request on the pinned
// snapshot, or builds, caches and sends it. Only 200 answers are cached.
func (s *Server) cachedJSON(c *echo.Context, build func() ([]byte, error)) error {
	snap := snapshotOf(c)
	key := c.Path() + "\x00" + c.Param("id") + "\x00" + c.Request().URL.RawQuery + "\x00" + s.viewKey(c)
	rc, _ := s.cachesOf(snap)
	if body, ok := rc.get(snap, key); ok {
		return c.JSONBlob(http.StatusOK, body)
	}
	body, err := build()
	if err != nil {
		return err
	}
	rc.put(snap, key, body)
	return c.JSONBlob(http.StatusOK, body)
}

// marshal encodes v as the body of a response.
func marshal(v any) ([]byte, error) { return json.Marshal(v) }

// instancesLen is the length of the JSON array appendInstances writes.
func instancesLen(items []json.RawMessage) int {
	n := 2 + max(len(items)-1, 0)
	for _, it := range items {
		n += len(it)
	}
	return n
}

// appendInstances writes a JSON array of pre-encoded instances (json.Marshal
// would re-validate every RawMessage).
func appendInstances(buf []byte, items []json.RawMessage) []byte {
	buf = append(buf, '[')
	for i, it := range items {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, it...)
	}
	return append(buf, ']')
}

// instanceCache keeps the encoded JSON of personas, at most its budget of
// bytes, evicting the least recently used. A *registry.Persona never
// changes, so its bytes stay right; entries of personas no longer in the
// snapshot are dropped when the snapshot changes.
type instanceCache struct {
	mu           sync.Mutex
	snap         *registry.Snapshot
	lru          *lru[*registry.Persona, json.RawMessage]
	hits, misses uint64
}

func newInstanceCache(budget int64) *instanceCache {
	return &instanceCache{lru: newLRU[*registry.Persona, json.RawMessage](budget)}
}

func (ic *instanceCache) stats() cacheStats {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	return cacheStats{bytes: ic.lru.size, entries: int64(ic.lru.len()), budget: ic.lru.budget,
		hits: ic.hits, misses: ic.misses, evictions: ic.lru.evictions}
}

// instances returns the API JSON of the personas, encoding only the ones
// not cached.
func (s *Server) instances(snap *registry.Snapshot, ps []*registry.Persona) []json.RawMessage {
	_, ic := s.cachesOf(snap)
	out := make([]json.RawMessage, len(ps))
	var missing []int
	ic.mu.Lock()
	for i, p := range ps {
		if b, ok := ic.lru.get(p); ok {
			out[i] = b
		} else {
			missing = append(missing, i)
		}
	}
	ic.hits += uint64(len(ps) - len(missing))
	ic.misses += uint64(len(missing))
	ic.mu.Unlock()
	if len(missing) == 0 {
		return out
	}
	for _, i := range missing {
		out[i], _ = json.Marshal(NewPersonaInstance(ps[i], s.org))
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.snap != snap {
		if ic.snap != nil && snap.BuiltAt.Before(ic.snap.BuiltAt) {
			return out
		}
		ic.lru.retain(func(p *registry.Persona, _ json.RawMessage) bool {
			q, ok := snap.Persona(p.ID)
			return ok && q == p
		})
		ic.snap = snap
	}
	for _, i := range missing {
		ic.lru.put(ps[i], out[i], int64(cap(out[i])))
	}
	return out
}
