package server

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
)

// checkLRU verifies the bookkeeping: size is the sum of the entries, the
// list holds exactly the map's entries, and the budget holds.
func checkLRU[K comparable, V any](t *testing.T, l *lru[K, V]) {
	t.Helper()
	var sum int64
	n := 0
	for e := l.head.next; e != &l.head; e = e.next {
		if l.items[e.key] != e {
			t.Fatalf("list entry %v is not the map's", e.key)
		}
		if e.next.prev != e {
			t.Fatalf("broken back link at %v", e.key)
		}
		sum += e.size
		n++
	}
	if n != len(l.items) || sum != l.size {
		t.Fatalf("list has %d entries of %d bytes, map %d entries, size %d", n, sum, len(l.items), l.size)
	}
	if l.size > l.budget {
		t.Fatalf("size %d over budget %d", l.size, l.budget)
	}
}

func TestLRU(t *testing.T) {
	type op struct {
		put  bool
		key  string
		size int64
	}
	const entry = 100 // 4 + lruOverhead
	cases := []struct {
		name      string
		budget    int64
		ops       []op
		want      []string // keys present afterwards, most recent first
		evictions uint64
	}{
		{"fits", 10 * entry, []op{{true, "a", 4}, {true, "b", 4}}, []string{"b", "a"}, 0},
		{"evicts the least recent", 8 * entry, []op{{true, "a", 4}, {true, "b", 4}, {true, "c", 4}, {true, "d", 4},
			{true, "e", 4}, {true, "f", 4}, {true, "g", 4}, {true, "h", 4}, {true, "i", 4}},
			[]string{"i", "h", "g", "f", "e", "d", "c", "b"}, 1},
		{"a get refreshes", 8 * entry, []op{{true, "a", 4}, {true, "b", 4}, {true, "c", 4}, {true, "d", 4},
			{true, "e", 4}, {true, "f", 4}, {true, "g", 4}, {true, "h", 4}, {false, "a", 0}, {true, "i", 4}},
			[]string{"i", "a", "h", "g", "f", "e", "d", "c"}, 1},
		{"replacing keeps one entry", 8 * entry, []op{{true, "a", 4}, {true, "a", 4}}, []string{"a"}, 0},
		{"too big for the budget is not kept", 8 * entry, []op{{true, "a", 4}, {true, "big", 2 * entry}}, []string{"a"}, 0},
		{"zero budget keeps nothing", 0, []op{{true, "a", 4}}, nil, 0},
		{"several evicted for one", 16 * entry, []op{{true, "a", 4}, {true, "b", 4}, {true, "c", 4}, {true, "d", 4},
			{true, "e", 4}, {true, "f", 4}, {true, "g", 4}, {true, "h", 4}, {true, "i", 4}, {true, "j", 4},
			{true, "k", 4}, {true, "l", 4}, {true, "m", 4}, {true, "n", 4}, {true, "o", 4}, {true, "p", 4},
			{true, "big", 2*entry - lruOverhead}}, []string{"big", "p", "o", "n", "m", "l", "k", "j", "i", "h", "g", "f", "e", "d", "c"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLRU[string, int](tc.budget)
			for _, o := range tc.ops {
				if o.put {
					l.put(o.key, 1, o.size)
				} else if _, ok := l.get(o.key); !ok {
					t.Fatalf("get %q: missing", o.key)
				}
				checkLRU(t, l)
			}
			var got []string
			for e := l.head.next; e != &l.head; e = e.next {
				got = append(got, e.key)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("keys %v, want %v", got, tc.want)
			}
			if l.evictions != tc.evictions {
				t.Errorf("evictions %d, want %d", l.evictions, tc.evictions)
			}
		})
	}
}

// TestLRURandom runs random puts, gets and retains and checks the
// bookkeeping and the budget after each.
func TestLRURandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := newLRU[int, int](64 << 10)
	for i := range 20000 {
		k := rng.IntN(2000)
		switch r := rng.IntN(100); {
		case r < 60:
			l.put(k, i, rng.Int64N(4<<10))
		case r < 99:
			if v, ok := l.get(k); ok && l.items[k].val != v {
				t.Fatalf("get %d: %d, stored %d", k, v, l.items[k].val)
			}
		default:
			l.retain(func(k, _ int) bool { return k%3 != 0 })
			for k := range l.items {
				if k%3 == 0 {
					t.Fatalf("retain kept %d", k)
				}
			}
		}
		checkLRU(t, l)
	}
	if l.evictions == 0 {
		t.Error("no evictions: the test did not fill the budget")
	}
}

// TestInstancesLen checks the size a response body is allocated with.
func TestInstancesLen(t *testing.T) {
	cases := []struct {
		name  string
		items []string
	}{
		{"none", nil},
		{"one", []string{`{"a":1}`}},
		{"three", []string{`{"a":1}`, `{}`, `{"bb":[1,2]}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var items []json.RawMessage
			for _, it := range tc.items {
				items = append(items, json.RawMessage(it))
			}
			got := appendInstances(nil, items)
			if !json.Valid(got) || len(got) != instancesLen(items) {
				t.Errorf("appendInstances wrote %q (%d bytes), instancesLen says %d", got, len(got), instancesLen(items))
			}
		})
	}
}
