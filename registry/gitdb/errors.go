package gitdb

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

// Errors callers tell apart with errors.Is.
var (
	// ErrInvalid marks an error caused by the caller's input: a path that is
	// no repository, a revision that names no commit, a malformed remote URL.
	ErrInvalid = errors.New("invalid input")
	// ErrObjectNotFound says an object is missing: the repository may have
	// been repacked since it was opened (Reopen), or is damaged.
	ErrObjectNotFound = plumbing.ErrObjectNotFound
	// ErrRefMoved says a branch was not at the value a compare-and-swap expected.
	ErrRefMoved = errors.New("the branch moved")
	// ErrRefLocked says another process holds a branch's lock.
	ErrRefLocked = errors.New("the branch is locked by another process")
)

// invalidError is an ErrInvalid with a message a person can act on.
type invalidError struct{ msg string }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// SizeError reports an object larger than the limit a read allowed.
type SizeError struct{ Size, Limit int64 }

func (e *SizeError) Error() string {
	return fmt.Sprintf("file is %d bytes, larger than the %d bytes allowed", e.Size, e.Limit)
}

// PushError reports a push the remote refused for a reason other than a
// moved branch (authentication, a hook, a full disk …).
type PushError struct{ Err error }

func (e *PushError) Error() string { return "the remote refused the push: " + e.Err.Error() }
func (e *PushError) Unwrap() error { return e.Err }
