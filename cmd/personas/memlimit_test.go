package main

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		name, in string
		want     int64
		err      string // part of the error, "" for none
	}{
		{"bytes", "1048576", 1 << 20, ""},
		{"binary unit", "32MiB", 32 << 20, ""},
		{"kubernetes unit", "512Mi", 512 << 20, ""},
		{"decimal unit", "1GB", 1e9, ""},
		{"lower case and spaces", " 2 gib ", 2 << 30, ""},
		{"explicit bytes", "10B", 10, ""},
		{"zero", "0", 0, ""},
		{"no number", "MiB", 0, "want a whole number"},
		{"negative", "-5MiB", 0, "want a whole number"},
		{"fraction", "1.5GiB", 0, "unknown unit"},
		{"unknown unit", "3 parsecs", 0, `unknown unit "parsecs"`},
		{"overflow", "99999999999TiB", 0, "too large"},
		{"number overflow", "99999999999999999999", 0, "out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseSize(%q) = %d, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"32MiB", "1", "0", "9223372036854775807", "8EiB", "1 k", "", "Mi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("parseSize(%q) = %d, negative", s, n)
		}
		if err != nil && !strings.Contains(err.Error(), "size ") {
			t.Fatalf("parseSize(%q): error %q does not name the size", s, err)
		}
	})
}

func TestMemoryLimit(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	cgroup := func(n int64) func() int64 { return func() int64 { return n } }
	cases := []struct {
		name   string
		flag   string
		env    map[string]string
		cgroup int64
		want   int64
		from   string
	}{
		{"off", "off", nil, 1 << 30, 0, "off"},
		{"explicit size wins", "900MiB", map[string]string{"GOMEMLIMIT": "2GiB"}, 1 << 30, 900 << 20, "--memory-limit"},
		{"auto takes 90% of the cgroup limit", "auto", nil, 1000 << 20, 900 << 20, "cgroup"},
		{"auto without any limit", "auto", nil, 0, 0, "no GOMEMLIMIT"},
		{"auto honours GOMEMLIMIT", "auto", map[string]string{"GOMEMLIMIT": "2GiB"}, 1000 << 20, -1, "GOMEMLIMIT"},
		{"GOMEMLIMIT off falls through to the cgroup", "auto", map[string]string{"GOMEMLIMIT": "off"}, 1000 << 20, 900 << 20, "cgroup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, from, err := memoryLimit(tc.flag, env(tc.env), cgroup(tc.cgroup))
			if err != nil || got != tc.want || !strings.Contains(from, tc.from) {
				t.Fatalf("memoryLimit(%q) = %d, %q, %v; want %d from %q", tc.flag, got, from, err, tc.want, tc.from)
			}
		})
	}
	if _, _, err := memoryLimit("lots", env(nil), cgroup(0)); err == nil || !strings.Contains(err.Error(), "--memory-limit") {
		t.Errorf("memoryLimit(lots): %v, want an error naming the flag", err)
	}
}
