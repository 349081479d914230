package main

import "testing"

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name           string
		live, headroom int64
		want           int
	}{
		{"small heap keeps Go's default", 30 * mb, 64 * mb, 100},
		{"headroom equal to the live heap", 64 * mb, 64 * mb, 100},
		{"large heap grows by the headroom", 256 * mb, 64 * mb, 25},
		{"huge heap is floored", 4096 * mb, 64 * mb, heapPaceMinPercent},
		{"no collection yet", 0, 64 * mb, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gcPercentFor(tt.live, tt.headroom); got != tt.want {
				t.Errorf("gcPercentFor(%d, %d) = %d, want %d", tt.live, tt.headroom, got, tt.want)
			}
		})
	}
}

func TestStepGCPercent(t *testing.T) {
	tests := []struct {
		name       string
		last, want int
		got        int
	}{
		{"first step from Go's default", 0, 12, 50},
		{"halving towards a low target", 50, 12, 25},
		{"last step reaches the target", 25, 12, 12},
		{"rising goes at once", 12, 100, 100},
		{"steady", 25, 25, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stepGCPercent(tt.last, tt.want); got != tt.got {
				t.Errorf("stepGCPercent(%d, %d) = %d, want %d", tt.last, tt.want, got, tt.got)
			}
		})
	}
}
