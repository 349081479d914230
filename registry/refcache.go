package registry

import (
	"container/list"
	"sync"
	"unsafe"

	"github.com/personaregistry/personas/registry/gitdb"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the ref snapshot cache when Options leave them zero.
const (
	DefaultPreviewRefs  = 32
	DefaultPreviewBytes = 256 << 20
)

// refRequests counts ref snapshot requests by outcome (hit, build).
var refRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "personas_ref_snapshot_requests_total",
	Help: "Requests for the snapshot of a ref other than the served head, by outcome (hit: cached, build: built now).",
}, []string{"outcome"})

// refHits is refRequests' hit counter.
var refHits = refRequests.WithLabelValues("hit")

// refEntry is one cached ref snapshot, keyed by its commit: names that
// point at the same commit share it.
type refEntry struct {
	head  gitdb.Hash
	state *indexState // frozen: the base of the next build on this chain
	snap  *Snapshot
	bytes int64
	elem  *list.Element
}

// refCache is the LRU of ref snapshots, bounded in count and estimated
// bytes. The owner goroutine fills it; stats may be read from anywhere.
type refCache struct {
	mu       sync.Mutex
	builds   int64 // snapshots built
	replayed int64 // commits replayed by those builds
	maxRefs  int
	maxBytes int64
	bytes    int64
	byHead   map[gitdb.Hash]*refEntry
	lru      *list.List // front: most recently used
}

func newRefCache(maxRefs int, maxBytes int64) *refCache {
	if maxRefs == 0 {
		maxRefs = DefaultPreviewRefs
	}
	if maxBytes == 0 {
		maxBytes = DefaultPreviewBytes
	}
	return &refCache{maxRefs: maxRefs, maxBytes: maxBytes, byHead: map[gitdb.Hash]*refEntry{}, lru: list.New()}
}

// get returns the entry for head and marks it used.
func (c *refCache) get(h gitdb.Hash) *refEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byHead[h]
	if e != nil {
		c.lru.MoveToFront(e.elem)
	}
	return e
}

// peek returns the entry for head without marking it used.
func (c *refCache) peek(h gitdb.Hash) *refEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byHead[h]
}

// put adds an entry and evicts the least recently used ones beyond the
// bounds. An entry larger than the byte bound is not kept.
func (c *refCache) put(e *refEntry, replayed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.builds++
	c.replayed += int64(replayed)
	if c.maxRefs < 0 || e.bytes > c.maxBytes {
		return
	}
	if old := c.byHead[e.head]; old != nil {
		c.remove(old)
	}
	e.elem = c.lru.PushFront(e)
	c.byHead[e.head] = e
	c.bytes += e.bytes
	for c.lru.Len() > c.maxRefs || c.bytes > c.maxBytes {
		c.remove(c.lru.Back().Value.(*refEntry))
	}
}

func (c *refCache) remove(e *refEntry) {
	c.lru.Remove(e.elem)
	delete(c.byHead, e.head)
	c.bytes -= e.bytes
}

func (c *refCache) stats() RefStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return RefStats{Refs: c.lru.Len(), MaxRefs: c.maxRefs, Bytes: c.bytes, MaxBytes: c.maxBytes,
		Builds: c.builds, Replayed: c.replayed}
}

// Estimated sizes, calibrated on BenchmarkPreview (10,000 personas: 11.0 MB
// of heap per cached ref snapshot measured): a map entry with its share of
// buckets, and the per-persona part of a snapshot (slice, id map, sort
// orders, search document).
const (
	mapEntryBytes       = 48
	snapshotPersonaSize = 350
)

// estimateBytes is the memory a ref entry holds beyond what it shares with
// the served head: its maps, its snapshot's per-persona structures, its
// search index and the personas that differ from the served head's
// (counted by their latest content).
func estimateBytes(state *indexState, snap *Snapshot, head *indexState) int64 {
	n := int64(len(state.Personas) + len(state.Files) + len(state.Units))
	b := n*mapEntryBytes + int64(len(snap.personas))*snapshotPersonaSize
	b += int64(unsafe.Sizeof(Snapshot{}))
	b += snap.searchIndex().bytes()
	for _, p := range snap.personas {
		if head.Personas[p.ID] != p {
			b += 256
			if v := p.Latest(); v != nil {
				b += int64(v.Background.Size())
			}
		}
	}
	return b
}
