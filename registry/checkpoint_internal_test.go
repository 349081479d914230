package registry

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/personaregistry/personas/registry/gitdb"
)

// stateAtPos is an empty state whose head stands for first-parent position pos.
func stateAtPos(pos int) *indexState {
	var h gitdb.Hash
	binary.BigEndian.PutUint64(h[:], uint64(pos)+1)
	return &indexState{Head: h, Commits: pos}
}

func keptPositions(c *checkpoints) []int {
	var out []int
	for _, s := range c.byPos {
		out = append(out, s.Commits)
	}
	return out
}

// TestCheckpointSpacing: after a long walk the checkpoints near the head are
// kept and the older ones thin out about geometrically; a checkpoint left
// past the head by a force-push is the first to go.
func TestCheckpointSpacing(t *testing.T) {
	c := newCheckpoints(8)
	const head = 100_000
	for pos := checkpointEvery; pos < head-100; pos += checkpointEvery {
		c.add(stateAtPos(pos))
	}
	for _, tail := range checkpointTails {
		c.add(stateAtPos(head - tail))
	}
	c.add(stateAtPos(head))
	kept := keptPositions(c)
	t.Logf("after the walk: %v", kept)
	if len(kept) != 8 {
		t.Fatalf("kept %v, want 8 checkpoints", kept)
	}
	for _, want := range []int{head, head - 1, head - 10, head - 100} {
		if !slices.Contains(kept, want) {
			t.Errorf("kept %v: no checkpoint at %d", kept, want)
		}
	}
	for i := 1; i+1 < len(kept)-4; i++ { // the old ones: gaps grow with age
		if older, newer := kept[i]-kept[i-1], kept[i+1]-kept[i]; older < newer {
			t.Errorf("kept %v: gap %d before %d is smaller than the gap %d after it", kept, older, kept[i], newer)
		}
	}

	// a reset 50 commits back, then new commits: the checkpoints past the
	// new head go first
	for pos := head - 49; pos <= head-40; pos++ {
		c.add(stateAtPos(pos))
	}
	t.Logf("after the reset: %v", keptPositions(c))
	for _, pos := range keptPositions(c) {
		if pos > head-40 && pos != head {
			t.Errorf("kept %v: %d, past the new head %d, survived new checkpoints", keptPositions(c), pos, head-40)
		}
	}
}

// A walk keeps its checkpoints every checkpointEvery commits and 100, 10
// and 1 commits before its end (the end itself is kept by the caller).
func TestCheckpointsAt(t *testing.T) {
	tests := []struct {
		name    string
		commits int
		want    []int
	}{
		{"nothing", 0, nil},
		{"one commit", 1, nil},
		{"five commits", 5, []int{4}},
		{"eleven commits", 11, []int{1, 10}},
		{"2,500 commits", 2500, []int{1000, 2000, 2400, 2490, 2499}},
		{"exactly 2,000", 2000, []int{1000, 1900, 1990, 1999}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkpointsAt(tt.commits); !slices.Equal(got, tt.want) {
				t.Errorf("checkpointsAt(%d) = %v, want %v", tt.commits, got, tt.want)
			}
		})
	}
}
