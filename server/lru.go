package server

// lruOverhead is what an entry costs besides its key and value bytes: the
// map slot, the list node and their headers (an estimate, counted so that
// many tiny entries cannot hide behind a budget of their payload alone).
const lruOverhead = 96

// lru is a map bounded by the bytes of its entries that evicts the least
// recently used ones first. It is not safe for concurrent use: its owner
// holds a lock (a get moves the entry, so even reads need it exclusively).
type lru[K comparable, V any] struct {
	budget int64
	size   int64
	items  map[K]*lruEntry[K, V]
	head   lruEntry[K, V] // sentinel: head.next is the most recent, head.prev the least

	evictions uint64
}

type lruEntry[K comparable, V any] struct {
	key        K
	val        V
	size       int64
	prev, next *lruEntry[K, V]
}

func newLRU[K comparable, V any](budget int64) *lru[K, V] {
	l := &lru[K, V]{budget: budget, items: map[K]*lruEntry[K, V]{}}
	l.head.prev, l.head.next = &l.head, &l.head
	return l
}

// get returns the value of key and marks it the most recently used.
func (l *lru[K, V]) get(key K) (V, bool) {
	e, ok := l.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	l.unlink(e)
	l.pushFront(e)
	return e.val, true
}

// put stores val under key, counted as size bytes (plus lruOverhead), and
// evicts the least recently used entries until the total fits the budget.
// A value bigger than an eighth of the budget is not kept: it would push
// out many smaller ones for a single answer. It reports whether val is kept.
func (l *lru[K, V]) put(key K, val V, size int64) bool {
	size += lruOverhead
	if old, ok := l.items[key]; ok {
		l.remove(old)
	}
	if size > l.budget/8 {
		return false
	}
	e := &lruEntry[K, V]{key: key, val: val, size: size}
	l.items[key] = e
	l.pushFront(e)
	l.size += size
	for l.size > l.budget {
		l.remove(l.head.prev)
		l.evictions++
	}
	return true
}

// retain drops every entry for which keep is false (not counted as evictions).
func (l *lru[K, V]) retain(keep func(K, V) bool) {
	for e := l.head.next; e != &l.head; {
		next := e.next
		if !keep(e.key, e.val) {
			l.remove(e)
		}
		e = next
	}
}

// reset drops every entry.
func (l *lru[K, V]) reset() {
	clear(l.items)
	l.head.prev, l.head.next = &l.head, &l.head
	l.size = 0
}

func (l *lru[K, V]) len() int { return len(l.items) }

func (l *lru[K, V]) remove(e *lruEntry[K, V]) {
	l.unlink(e)
	delete(l.items, e.key)
	l.size -= e.size
}

func (l *lru[K, V]) unlink(e *lruEntry[K, V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (l *lru[K, V]) pushFront(e *lruEntry[K, V]) {
	e.prev, e.next = &l.head, l.head.next
	l.head.next.prev = e
	l.head.next = e
}
