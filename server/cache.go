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
func (s *Server) cachedJSON(c *echo.Context, build func() (any, error)) error {
	snap := snapshotOf(c)
	key := c.Path() + "\x00" + c.Param("id") + "\x00" + c.Request().URL.RawQuery + "\x00" + s.redactTag(c)
	if body, ok := s.responses.get(snap, key); ok {
		return c.JSONBlob(http.StatusOK, body)
	}
	v, err := build()
	if err != nil {
		return err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.responses.put(snap, key, body)
	return c.JSONBlob(http.StatusOK, body)
}
