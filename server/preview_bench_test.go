package server_test

import (
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/personaregistry/personas/registry"
	"github.com/personaregistry/personas/registry/gittest"
	"github.com/personaregistry/personas/registry/repogen"
	"github.com/personaregistry/personas/server"
)

// BenchmarkPreview measures /ref/{ref}/ on a generated repository (10,000
// personas, 100,000 commits; PERSONAS_BENCH_PERSONAS and
// PERSONAS_BENCH_COMMITS change it, PERSONAS_PREVIEW_REPO names any other
// repository with a main branch) with pull-request refs 5 commits ahead
// of main: the first request for a ref (its snapshot is built: every
// request alternates between refs with a cache of one), later requests
// for a cached ref, and the same request on main; then lists of 10 and 50
// and a search on a cached ref and on main, alternated (ref/main is the
// ratio).
// It also reports the heap each cached ref snapshot holds, measured and as
// estimated for the LRU.
func BenchmarkPreview(b *testing.B) {
	dir := previewBenchRepo(b)
	const prs = 8
	for i := 1; i <= prs; i++ {
		makePRRef(b, dir, i, 5)
	}
	// the first index of a large history takes minutes on a loaded machine:
	// no deadline; it leaves the snapshot cache for the registries below
	open := func(refs int) (*registry.Registry, string) {
		reg, err := registry.Open(registry.Options{Repo: dir, PollInterval: -1, PreviewRefs: refs, PreviewBytes: 8 << 30})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { reg.Close() })
		if _, err := reg.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		return reg, loadServe(b, server.New(server.Config{Registry: reg, Org: org}).Handler())
	}
	list := apiBase + "/?limit=10"
	evicting, evictURL := open(1) // a cache of one: alternating refs are built on every request
	cached, cachedURL := open(prs)
	loadGet(b, cachedURL+"/ref/pull/1/head"+list)

	heapBefore := heapAfterGC()
	for i := 2; i <= prs; i++ {
		if _, err := cached.RefSnapshot(context.Background(), fmt.Sprintf("pull/%d/head", i)); err != nil {
			b.Fatal(err)
		}
	}
	heapPerRef := float64(heapAfterGC()-heapBefore) / (prs - 1) // pull/1 was cached before
	st := cached.RefStats()
	estimatePerRef := float64(st.Bytes) / float64(st.Refs)

	next := 0 // alternates across runs of the sub-benchmark too
	b.Run("first-request-pr", func(b *testing.B) {
		before := evicting.RefStats().Builds
		var slowest time.Duration
		for range b.N {
			start := time.Now()
			loadGet(b, fmt.Sprintf("%s/ref/pull/%d/head%s", evictURL, 1+next%2, list))
			slowest = max(slowest, time.Since(start))
			next++
		}
		b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-ms")
		if built := evicting.RefStats().Builds - before; built != int64(b.N) {
			b.Fatalf("%d snapshots built for %d requests: not all were first requests", built, b.N)
		}
	})
	b.Run("cached-pr", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			loadGet(b, cachedURL+"/ref/pull/1/head"+list)
		}
	})
	b.Run("main", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			loadGet(b, cachedURL+list)
		}
	})
	// the same requests on a cached ref and on main, alternated request by
	// request so that the machine's load falls on both alike
	words := []string{"frustrated", "refund", "account", "delayed", "confused", "billing", "travel", "doctor"}
	for _, c := range []struct {
		name string
		path func(i int) string
	}{
		{"list10", func(int) string { return list }},
		{"list50", func(int) string { return apiBase + "/?limit=50" }},
		{"search", func(i int) string {
			return fmt.Sprintf("%s/search?query=%s+%s", apiBase, words[i%len(words)], words[(i/8)%len(words)])
		}},
	} {
		b.Run("cached-vs-main/"+c.name, func(b *testing.B) {
			var onRef, onMain time.Duration
			for i := range b.N {
				for j := range 2 {
					url, sum := cachedURL+c.path(i), &onMain
					if (i+j)%2 == 0 {
						url, sum = cachedURL+"/ref/pull/1/head"+c.path(i), &onRef
					}
					start := time.Now()
					loadGet(b, url)
					*sum += time.Since(start)
				}
			}
			b.ReportMetric(float64(onRef.Nanoseconds())/float64(b.N), "ref-ns/op")
			b.ReportMetric(float64(onMain.Nanoseconds())/float64(b.N), "main-ns/op")
			b.ReportMetric(float64(onRef)/float64(onMain), "ref/main")
		})
	}
	b.Run("memory-per-ref", func(b *testing.B) {
		for range b.N {
		}
		b.ReportMetric(heapPerRef, "heap-B/ref")
		b.ReportMetric(estimatePerRef, "estimated-B/ref")
	})
}

// heapAfterGC is the live heap after a full collection.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// previewBenchRepo returns this benchmark's own clone of the repository it
// measures (it adds refs), made once under the temp dir and reused: of
// $PERSONAS_PREVIEW_REPO when set, else of `make bench`'s generated
// repository (at the generated head, should a script have moved main), else
// of one generated here. The clone is local (hard-linked objects): the
// source is never written.
func previewBenchRepo(b *testing.B) string {
	b.Helper()
	personas, commits := envInt("PERSONAS_BENCH_PERSONAS", 10000), envInt("PERSONAS_BENCH_COMMITS", 100000)
	name := fmt.Sprintf("personas-bench-%dx%d.git", personas, commits)
	src := filepath.Join(os.TempDir(), name)
	if env := os.Getenv("PERSONAS_PREVIEW_REPO"); env != "" {
		abs, err := filepath.Abs(env)
		if err != nil {
			b.Fatal(err)
		}
		src, name = abs, fmt.Sprintf("%s-%08x", filepath.Base(abs), crc32.ChecksumIEEE([]byte(abs)))
	}
	dir := filepath.Join(os.TempDir(), "preview-"+name)
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	os.RemoveAll(dir + ".partial")
	if _, err := os.Stat(src); err != nil {
		if os.Getenv("PERSONAS_PREVIEW_REPO") != "" {
			b.Fatalf("PERSONAS_PREVIEW_REPO: %v", err)
		}
		if err := repogen.Create(dir+".partial", repogen.Config{Personas: personas, Commits: commits, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	} else {
		if _, err := gittest.Try(os.TempDir(), defaultGitEnv, "", "clone", "--quiet", "--bare", "--local", src, dir+".partial"); err != nil {
			b.Fatal(err)
		}
		if head, err := os.ReadFile(filepath.Join(src, "personas-bench-head")); err == nil {
			if _, err := gittest.Try(dir+".partial", defaultGitEnv, "", "update-ref", "refs/heads/main", strings.TrimSpace(string(head))); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := os.Rename(dir+".partial", dir); err != nil {
		b.Fatal(err)
	}
	return dir
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

var (
	idLine   = regexp.MustCompile(`(?m)^id: *(\S+)`)
	nameLine = regexp.MustCompile(`(?m)^name: *(.+)$`)
)

// makePRRef makes refs/pull/N/head, n commits on top of main, each a new
// version of one persona (once made, the ref is kept).
func makePRRef(b *testing.B, dir string, pr, n int) {
	b.Helper()
	ref := fmt.Sprintf("refs/pull/%d/head", pr)
	if _, err := gittest.Try(dir, defaultGitEnv, "", "rev-parse", "--verify", "--quiet", ref); err == nil {
		return
	}
	env := append(gitEnv("pr@example.com", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
		"GIT_INDEX_FILE="+filepath.Join(b.TempDir(), "index"))
	git := func(stdin string, args ...string) string {
		out, err := gittest.Try(dir, env, stdin, args...)
		if err != nil {
			b.Fatalf("git %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	files := strings.Fields(git("", "ls-tree", "--name-only", "main", "personas/"))
	parent := git("", "rev-parse", "main")
	git("", "read-tree", parent)
	for i := range n {
		path := files[(pr*97+i*13)%len(files)]
		old := git("", "cat-file", "blob", "main:"+path)
		id, nm := idLine.FindStringSubmatch(old), nameLine.FindStringSubmatch(old)
		if id == nil || nm == nil {
			b.Fatalf("%s has no id or name line", path)
		}
		body := fmt.Sprintf("id: %s\nname: %s\nrole: reviewer\nbackground: \"Edited in PR %d, commit %d.\"\n", id[1], nm[1], pr, i)
		blob := git(body, "hash-object", "-w", "--stdin")
		git("", "update-index", "--cacheinfo", "100644,"+blob+","+path)
		tree := git("", "write-tree")
		parent = git("", "commit-tree", tree, "-p", parent, "-m", fmt.Sprintf("PR %d: edit %s", pr, path))
	}
	git("", "update-ref", ref, parent)
}
