package server

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/labstack/echo/v5"

	"github.com/personaregistry/personas/registry"
)

// maxCachedResponses bounds the response cache of one snapshot.
const maxCachedResponses = 4096

// responseCache keeps encoded read responses of the current snapshot: a
// snapshot never changes, so a body computed once for a query is right
// until the head moves. The cache is dropped when the snapshot changes.
type responseCache struct {
	mu      sync.Mutex
	snap    *registry.Snapshot
	entries map[string][]byte
}

// get returns the body cached for key on snap.
func (rc *responseCache) get(snap *registry.Snapshot, key string) ([]byte, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.snap != snap {
		return nil, false
	}
	b, ok := rc.entries[key]
	return b, ok
}

func (rc *responseCache) put(snap *registry.Snapshot, key string, body []byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.snap != snap {
		if rc.snap != nil && snap.BuiltAt.Before(rc.snap.BuiltAt) {
			return // an older snapshot finishing late
		}
		rc.snap, rc.entries = snap, map[string][]byte{}
	}
	if len(rc.entries) >= maxCachedResponses {
		clear(rc.entries)
	}
	rc.entries[key] = body
}

// cachedJSON answers with the cached body for this request on the pinned
// snapshot, or builds, caches and sends it. Only 200 answers are cached.
func (s *Server) cachedJSON(c *echo.Context, build func() ([]byte, error)) error {
	snap := snapshotOf(c)
	key := c.Path() + "\x00" + c.Param("id") + "\x00" + c.Request().URL.RawQuery + "\x00" + s.viewKey(c)
	if body, ok := s.responses.get(snap, key); ok {
		return c.JSONBlob(http.StatusOK, body)
	}
	body, err := build()
	if err != nil {
		return err
	}
	s.responses.put(snap, key, body)
	return c.JSONBlob(http.StatusOK, body)
}

// marshal encodes v as the body of a response.
func marshal(v any) ([]byte, error) { return json.Marshal(v) }

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

// instanceCache keeps the encoded JSON of each persona. A *registry.Persona
// never changes, so its bytes stay right; entries of personas no longer in
// the snapshot are dropped when the snapshot changes.
type instanceCache struct {
	mu   sync.RWMutex
	snap *registry.Snapshot
	m    map[*registry.Persona]json.RawMessage
}

// instances returns the API JSON of the personas, encoding only the new ones.
func (s *Server) instances(snap *registry.Snapshot, ps []*registry.Persona) []json.RawMessage {
	ic := &s.instanceJSON
	out := make([]json.RawMessage, len(ps))
	var missing []int
	ic.mu.RLock()
	fresh := ic.snap == snap
	for i, p := range ps {
		if b, ok := ic.m[p]; ok && fresh {
			out[i] = b
		} else {
			missing = append(missing, i)
		}
	}
	ic.mu.RUnlock()
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
		kept := make(map[*registry.Persona]json.RawMessage, len(ic.m))
		for _, p := range snap.Personas() {
			if b, ok := ic.m[p]; ok {
				kept[p] = b
			}
		}
		ic.snap, ic.m = snap, kept
	}
	for _, i := range missing {
		ic.m[ps[i]] = out[i]
	}
	return out
}
