package registry

import (
	"maps"
	"testing"
)

// Equal values come back as the first one seen; different ones, even when
// their keys could be confused, stay themselves.
func TestInternerSharesEqualValuesOnly(t *testing.T) {
	in := &interner{}
	str := func(s string) *string { return &s }
	a := in.content(Content{NonsensitiveUserVariables: map[string]string{"plan": "gold", "tier": "1"}, Timezone: str("UTC")})
	b := in.content(Content{NonsensitiveUserVariables: map[string]string{"tier": "1", "plan": "gold"}, Timezone: str("UTC")})
	if !sameMap(a.NonsensitiveUserVariables, b.NonsensitiveUserVariables) || a.Timezone != b.Timezone {
		t.Fatal("equal maps and time zones were not shared")
	}
	tricky := []map[string]string{{"a\x00b": "c"}, {"a": "b\x00c"}}
	x, y := in.stringMap(tricky[0]), in.stringMap(tricky[1])
	if !maps.Equal(x, tricky[0]) || !maps.Equal(y, tricky[1]) {
		t.Fatalf("maps whose keys collide were confused: %q, %q", x, y)
	}
	in.resetIfFull()
	empty, null := in.tagMap(map[string]*string{"k": str("")}), in.tagMap(map[string]*string{"k": nil})
	if null["k"] != nil || empty["k"] == nil {
		t.Fatal("a null tag value and an empty one were confused")
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	a["\xffprobe"] = "x" // interned maps are never modified; this test owns them
	defer delete(a, "\xffprobe")
	return b["\xffprobe"] == "x"
}
