package registry_test

import "testing"

func TestProbeIncremental(t *testing.T) {
	r := newTestRepo(t)
	r.Write("personas/a.yaml", personaYAML("0000000000000000000000a1", "A", "patient", "one"))
	r.Commit("c1")
	reg := openRegistry(t, r.Dir)
	refresh(t, reg)
	r.Write("personas/a.yaml", personaYAML("0000000000000000000000a1", "A", "patient", "two"))
	r.Commit("c2")
	s := refresh(t, reg)
	t.Log(dumpSnapshot(s))
}
