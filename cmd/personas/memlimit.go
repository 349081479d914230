package main

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// sizeUnits are the units a size may end with: binary (KiB, Ki …) as in
// GOMEMLIMIT and Kubernetes, decimal (KB, K …) as people write them.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kib": 1 << 10, "ki": 1 << 10, "mib": 1 << 20, "mi": 1 << 20, "gib": 1 << 30, "gi": 1 << 30, "tib": 1 << 40, "ti": 1 << 40,
	"kb": 1e3, "k": 1e3, "mb": 1e6, "m": 1e6, "gb": 1e9, "g": 1e9, "tb": 1e12, "t": 1e12,
}

// parseSize reads a byte count such as "32MiB", "512Mi", "1GB" or "1048576".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q: want a whole number of bytes with an optional unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q (want B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)", s, strings.TrimSpace(t[i:]))
	}
	if n > math.MaxInt64/unit {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return n * unit, nil
}

// byteSize is a flag holding a size in bytes.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

// Set parses the flag's value.
func (b *byteSize) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

// Type names the flag's value in the help.
func (b *byteSize) Type() string { return "size" }

// memoryLimitShare is the part of a container's memory limit used as the
// soft limit by default, leaving room for what the Go runtime does not count.
const memoryLimitShare = 0.9

// memoryLimit decides the soft memory limit from the --memory-limit value:
// "off", a size, or "auto" — GOMEMLIMIT when it is set, else 90% of the
// container's (cgroup) memory limit, else none. It returns the limit (0:
// none, -1: GOMEMLIMIT, which the runtime has applied) and where it comes from.
func memoryLimit(flag string, getenv func(string) string, cgroupLimit func() int64) (int64, string, error) {
	switch strings.ToLower(strings.TrimSpace(flag)) {
	case "off", "none", "0":
		return 0, "--memory-limit off", nil
	case "auto", "":
		if env := getenv("GOMEMLIMIT"); env != "" && env != "off" {
			return -1, "GOMEMLIMIT", nil // the runtime has applied it
		}
		if c := cgroupLimit(); c > 0 {
			return int64(float64(c) * memoryLimitShare), "90% of the cgroup memory limit", nil
		}
		return 0, "no GOMEMLIMIT and no cgroup memory limit", nil
	}
	n, err := parseSize(flag)
	if err != nil {
		return 0, "", fmt.Errorf("--memory-limit: %w (or auto, off)", err)
	}
	return n, "--memory-limit", nil
}

// cgroupMemoryLimit is the memory limit of this process's cgroup (v2, then
// v1), or 0 when there is none.
func cgroupMemoryLimit() int64 {
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 { // "max", or v1's "unlimited" (a page-rounded MaxInt64)
			return 0
		}
		return n
	}
	return 0
}

// setMemoryLimit applies the limit (0: none, -1: keep the runtime's) and
// returns the limit in force.
func setMemoryLimit(limit int64) int64 {
	switch {
	case limit < 0:
		return debug.SetMemoryLimit(-1)
	case limit == 0:
		limit = math.MaxInt64
	}
	debug.SetMemoryLimit(limit)
	return limit
}
