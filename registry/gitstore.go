package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// gitStore reads objects and refs of one repository. It is not safe for
// concurrent use: one goroutine owns it (go-git's caches mutate on read).
type gitStore struct {
	gitDir string
	bare   bool
	st     *filesystem.Storage
	packs  *packReader // fast path for packed objects; nil if packs can't be read
}

// objectCacheSize bounds go-git's object LRU; delta bases of trees live there.
// The history walk reads through packReader; go-git's cache serves writes
// and loose objects, so it stays small.
const objectCacheSize = 32 * cache.MiByte

// openGitStore opens the repository at path: a bare repository or a
// worktree with a .git directory (or a .git file pointing to one).
func openGitStore(path string) (*gitStore, error) {
	gitDir, bare, err := findGitDir(path)
	if err != nil {
		return nil, err
	}
	s := &gitStore{gitDir: gitDir, bare: bare}
	s.reopen()
	return s, nil
}

// reopen drops open pack files and caches, so objects moved by gc or repack
// are found again.
func (s *gitStore) reopen() {
	if s.st != nil {
		_ = s.st.Close()
	}
	s.st = filesystem.NewStorageWithOptions(osfs.New(s.gitDir), cache.NewObjectLRU(objectCacheSize),
		filesystem.Options{KeepDescriptors: true})
	if s.packs != nil {
		s.packs.close()
	}
	packs, err := openPackReader(s.gitDir)
	if err != nil {
		packs = nil // go-git reads everything then
	}
	s.packs = packs
}

func (s *gitStore) close() error {
	if s.packs != nil {
		s.packs.close()
		s.packs = nil
	}
	if s.st == nil {
		return nil
	}
	err := s.st.Close()
	s.st = nil
	return err
}

func findGitDir(path string) (gitDir string, bare bool, err error) {
	dotGit := filepath.Join(path, ".git")
	info, err := os.Stat(dotGit)
	switch {
	case err == nil && info.IsDir():
		return dotGit, false, nil
	case err == nil:
		data, err := os.ReadFile(dotGit)
		if err != nil {
			return "", false, fmt.Errorf("read %s: %w", dotGit, err)
		}
		target, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
		if !ok {
			return "", false, fmt.Errorf("%s: not a gitdir file", dotGit)
		}
		target = strings.TrimSpace(target)
		if !filepath.IsAbs(target) {
			target = filepath.Join(path, target)
		}
		// a linked worktree (git worktree add): refs and objects live in the common dir
		if common, err := os.ReadFile(filepath.Join(target, "commondir")); err == nil {
			dir := strings.TrimSpace(string(common))
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(target, dir)
			}
			return filepath.Clean(dir), false, nil
		}
		return target, false, nil
	}
	if _, err := os.Stat(filepath.Join(path, "HEAD")); err == nil {
		if _, err := os.Stat(filepath.Join(path, "objects")); err == nil {
			return path, true, nil
		}
	}
	return "", false, Errorf(EINVALID, "%s is not a git repository (no .git directory, and not a bare repository)", path)
}

// resolveBranch returns the commit the branch points to, or the zero hash
// when the branch does not exist (an empty repository).
func (s *gitStore) resolveBranch(branch string) (plumbing.Hash, error) {
	ref, err := s.st.Reference(plumbing.NewBranchReferenceName(branch))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("resolve branch %s: %w", branch, err)
	}
	return ref.Hash(), nil
}

// resolveRevision resolves a revision (branch, tag, sha, HEAD~2 …) to a commit.
// Errors: EINVALID when it names no commit.
func (s *gitStore) resolveRevision(rev string) (plumbing.Hash, error) {
	repo, err := git.Open(s.st, nil)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("open repository: %w", err)
	}
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, Errorf(EINVALID, "revision %q: %v", rev, err)
	}
	return *h, nil
}

// mergeBase returns the best common ancestor of two commits, or zero.
func (s *gitStore) mergeBase(a, b plumbing.Hash) (plumbing.Hash, error) {
	ca, err := object.GetCommit(s.st, a)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	cb, err := object.GetCommit(s.st, b)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	bases, err := ca.MergeBase(cb)
	if err != nil || len(bases) == 0 {
		return plumbing.ZeroHash, err
	}
	return bases[0].Hash, nil
}

// readRaw returns the inflated content of an object, which must not be
// modified (it may be shared with a cache). limit > 0 refuses larger objects.
func (s *gitStore) readRaw(h plumbing.Hash, want plumbing.ObjectType, limit int64) ([]byte, error) {
	if s.packs != nil {
		typ, data, err := s.packs.read(h, limit)
		switch {
		case err == nil && typ != want:
			return nil, fmt.Errorf("read %s %s: object is a %s", want, h, typ)
		case err == nil:
			return data, nil
		case !errors.Is(err, errNotPacked):
			var se *sizeError
			if errors.As(err, &se) {
				return nil, err
			}
			return nil, fmt.Errorf("read %s %s: %w", want, h, err)
		}
	}
	return s.readRawGoGit(h, want, limit)
}

func (s *gitStore) readRawGoGit(h plumbing.Hash, want plumbing.ObjectType, limit int64) ([]byte, error) {
	if limit > 0 {
		if size, err := s.st.EncodedObjectSize(h); err == nil && size > limit {
			return nil, &sizeError{size: size, limit: limit}
		}
	}
	obj, err := s.st.EncodedObject(want, h)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", want, h, err)
	}
	if limit > 0 && obj.Size() > limit {
		return nil, &sizeError{size: obj.Size(), limit: limit}
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", want, h, err)
	}
	defer r.Close()
	buf := bytes.NewBuffer(make([]byte, 0, obj.Size()))
	if _, err := io.Copy(buf, r); err != nil {
		return nil, fmt.Errorf("read %s %s: %w", want, h, err)
	}
	return buf.Bytes(), nil
}

// sizeError reports an object larger than allowed.
type sizeError struct{ size, limit int64 }

func (e *sizeError) Error() string {
	return fmt.Sprintf("file is %d bytes, larger than the %d bytes allowed", e.size, e.limit)
}

// commitInfo is what the index needs of a commit.
type commitInfo struct {
	Hash      plumbing.Hash
	Tree      plumbing.Hash
	Parent    plumbing.Hash // first parent, zero for a root commit
	Time      time.Time     // committer time, UTC
	Author    string        // author email
	Subject   string
	isMissing bool
}

func (s *gitStore) commit(h plumbing.Hash) (*commitInfo, error) {
	raw, err := s.readRaw(h, plumbing.CommitObject, 0)
	if err != nil {
		return nil, err
	}
	ci, err := parseCommit(raw)
	if err != nil {
		return nil, fmt.Errorf("decode commit %s: %w", h, err)
	}
	ci.Hash = h
	return ci, nil
}

// parseCommit reads the fields the index needs from a raw commit object.
func parseCommit(raw []byte) (*commitInfo, error) {
	ci := &commitInfo{}
	header, msg, _ := bytes.Cut(raw, []byte("\n\n"))
	ci.Subject, _, _ = strings.Cut(string(msg), "\n")
	for _, line := range bytes.Split(header, []byte("\n")) {
		key, val, _ := bytes.Cut(line, []byte(" "))
		switch string(key) {
		case "tree":
			ci.Tree = plumbing.NewHash(string(val))
		case "parent":
			if ci.Parent.IsZero() {
				ci.Parent = plumbing.NewHash(string(val))
			}
		case "author":
			var sig object.Signature
			sig.Decode(val)
			ci.Author = sig.Email
		case "committer":
			var sig object.Signature
			sig.Decode(val)
			ci.Time = sig.When.UTC()
		}
	}
	if ci.Tree.IsZero() {
		return nil, errors.New("commit has no tree")
	}
	return ci, nil
}
