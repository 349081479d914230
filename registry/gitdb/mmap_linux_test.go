package gitdb

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mappedRSS returns how many bytes of the mapping of file are resident in
// this process, from /proc/self/smaps.
func mappedRSS(t *testing.T, file string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	var total int64
	inFile := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if strings.Contains(fields[0], "-") && len(fields) >= 5 { // a mapping's header
			inFile = len(fields) >= 6 && fields[5] == file
			continue
		}
		if inFile && fields[0] == "Rss:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatalf("smaps Rss line %q", sc.Text())
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// The pages of a mapped pack leave the resident set when a walk ends, and
// between walks, when objects are read one by one anywhere in the pack,
// none is mapped in. (How much a read maps in depends on the kernel: 64 KB
// on Linux 6.1, the whole 600 KB pack of this test on 6.18.)
func TestMappedPackPagesAreLetGo(t *testing.T) {
	r, objs := openGenerated(t)
	if len(r.packs.packs) != 1 || r.packs.packs[0].data == nil {
		t.Fatalf("%d packs, want one, mapped", len(r.packs.packs))
	}
	p := r.packs.packs[0]
	packFile, err := filepath.EvalSymlinks(p.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	readAll := func() {
		t.Helper()
		for h := range objs {
			if _, _, err := r.packs.read(h, 0); err != nil {
				t.Fatalf("read %s: %v", h, err)
			}
		}
	}

	r.Busy()
	readAll()
	whole := mappedRSS(t, packFile)
	if whole == 0 {
		t.Fatalf("after a walk read every object, none of %s is resident: the mapping is not read", packFile)
	}
	r.Idle()
	if rss := mappedRSS(t, packFile); rss != 0 {
		t.Errorf("%d bytes of the pack still resident after the walk ended", rss)
	}

	r.packs.cache = newBaseCache(1) // every read goes to the pack
	readAll()
	if rss := mappedRSS(t, packFile); rss != 0 {
		t.Errorf("reading every object between walks made %d bytes of the pack resident, want none", rss)
	}
}
