package gitdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/personaregistry/personas/registry/gittest"
	"github.com/personaregistry/personas/registry/repogen"
)

// gitObject is an object as C git reads it.
type gitObject struct {
	typ  string
	data []byte
}

// catFileAll returns every object of the repository as C git reads it:
// type and content by hash.
func catFileAll(t *testing.T, dir string) map[Hash]gitObject {
	t.Helper()
	cmd := exec.Command("git", "cat-file", "--batch-all-objects", "--batch", "--unordered")
	cmd.Dir = dir
	cmd.Env = gittest.Env(gittest.Identity{})
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	objs := map[Hash]gitObject{}
	br := bufio.NewReader(out)
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("cat-file header %q", line)
		}
		n, _ := strconv.Atoi(f[2])
		data := make([]byte, n+1)
		if _, err := io.ReadFull(br, data); err != nil {
			t.Fatal(err)
		}
		h, ok := ParseHash(f[0])
		if !ok {
			t.Fatalf("cat-file hash %q", f[0])
		}
		objs[h] = gitObject{f[1], data[:n]}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return objs
}

// openGenerated opens a small generated repository (closed at the end of
// the test) and returns every object C git reads in it.
func openGenerated(t *testing.T) (*Repo, map[Hash]gitObject) {
	t.Helper()
	gittest.NeedGit(t)
	dir := gittest.Generated(t, repogen.Config{Personas: 30, Commits: 400, Seed: 5})
	objs := catFileAll(t, dir)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, objs
}

// Every object of a generated repository (trees as deltas of deltas, blobs,
// commits) reads back as C git reads it, from several goroutines at once
// sharing one Repo and its delta-base cache: from the mapped pack while its
// pages are dropped under the readers, and with pread.
func TestPackReaderAgreesWithGitConcurrently(t *testing.T) {
	tests := []struct {
		name   string
		mapped bool
	}{
		{"mapped (a walk), pages dropped every 4 KB read", true},
		{"read with pread", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, want := openGenerated(t)
			if r.packs == nil || len(r.packs.packs) == 0 {
				t.Fatal("the generated repository has no pack: the pack reader is not exercised")
			}
			for _, p := range r.packs.packs {
				switch {
				case !tt.mapped:
					_ = unmapFile(p.data)
					p.data = nil
				case p.data == nil && runtime.GOOS == "linux":
					t.Fatal("the pack is not mapped")
				case p.data == nil:
					t.Skip("packs are mapped on Linux only")
				default:
					r.packs.walking.Store(true) // reads use the mapping during a walk
				}
				p.dropEvery = 4 << 10
			}
			r.packs.cache = newBaseCache(64 << 10) // small: evictions and re-resolution happen
			readAllConcurrently(t, r, want)
		})
	}
}

// readAllConcurrently reads every object of want from 4 goroutines and
// compares it with git's.
func readAllConcurrently(t *testing.T, r *Repo, want map[Hash]gitObject) {
	t.Helper()
	hashes := make([]Hash, 0, len(want))
	for h := range want {
		hashes = append(hashes, h)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(hashes); i += 4 {
				h := hashes[i]
				o := want[h]
				typ, err := plumbing.ParseObjectType(o.typ)
				if err != nil {
					errs <- err
					return
				}
				got, err := r.readRaw(h, typ, 0)
				if err != nil {
					errs <- fmt.Errorf("read %s %s: %w", o.typ, h, err)
					return
				}
				if string(got) != string(o.data) {
					errs <- fmt.Errorf("%s %s: %d bytes differ from git's %d", o.typ, h, len(got), len(o.data))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d objects", len(hashes))
}

// Closing a Repo while other goroutines read through it unmaps nothing
// under them: each read either completes or finds no pack and says so.
func TestPackCloseWhileReading(t *testing.T) {
	r, want := openGenerated(t)
	var blobs []Hash
	for h, o := range want {
		if o.typ == "blob" {
			blobs = append(blobs, h)
		}
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, 2)
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < len(blobs); i += 2 {
				if i == w {
					started <- struct{}{}
				}
				data, err := r.packs.readRef(blobs[i], 0)
				if errors.Is(err, errNotPacked) {
					return // closed
				}
				if err != nil {
					t.Errorf("read %s: %v", blobs[i], err)
					return
				}
				if string(data.data) != string(want[blobs[i]].data) {
					t.Errorf("blob %s differs from git's", blobs[i])
				}
				data.release()
			}
		})
	}
	<-started
	<-started
	r.packs.close()
	wg.Wait()
}

// A size limit refuses a larger blob (whole or a delta) before inflating it,
// with a *SizeError, and lets smaller ones through.
func TestReadBlobLimit(t *testing.T) {
	r, objs := openGenerated(t)
	checked := 0
	for h, o := range objs {
		if o.typ != "blob" || len(o.data) < 2 {
			continue
		}
		if _, err := r.ReadBlob(h, int64(len(o.data))); err != nil {
			t.Fatalf("blob %s at its own size: %v", h, err)
		}
		_, err := r.ReadBlob(h, int64(len(o.data)-1))
		var se *SizeError
		if !errors.As(err, &se) || se.Size != int64(len(o.data)) {
			t.Fatalf("blob %s of %d bytes with a limit one less: %v, want a SizeError", h, len(o.data), err)
		}
		if checked++; checked == 200 {
			break
		}
	}
}

// The walk's cache budget follows the packs' size within its bounds.
func TestPackCacheBytes(t *testing.T) {
	tests := []struct {
		name string
		pack int64
		want int
	}{
		{"empty repository", 0, packCacheMin},
		{"small pack", 31 << 20, packCacheMin},
		{"a third of a mid-size pack", 80 << 20, 80 << 20 / 3},
		{"large pack", 4 << 30, packCacheMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := packCacheBytes(tt.pack); got != tt.want {
				t.Errorf("packCacheBytes(%d) = %d, want %d", tt.pack, got, tt.want)
			}
		})
	}
}
