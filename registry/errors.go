package registry

import (
	"errors"
	"fmt"

	"github.com/personaregistry/personas/registry/gitdb"
)

// Error codes. The server maps each to one HTTP status.
const (
	ECONFLICT     = "conflict"     // the change conflicts with the current state (409)
	EINTERNAL     = "internal"     // a fault of ours; details are logged, not shown (500)
	EINVALID      = "invalid"      // malformed input: a parameter or field breaks its rules (422)
	ENOTFOUND     = "not_found"    // no such persona, version or organization (404)
	EPRECONDITION = "precondition" // well-formed but not allowed now, e.g. a wrong version number (400)
	EUNAUTHORIZED = "unauthorized" // missing or bad credentials (401)
	EFORBIDDEN    = "forbidden"    // credentials lack a permission, or writes are off (403)
	ERATELIMIT    = "rate_limited" // too many requests for this token (429)
	EUNAVAILABLE  = "unavailable"  // not ready yet, or shutting down (503)
)

// Error is the one error type of the domain: a code, a message a person can
// act on, and for EINVALID the fields at fault.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	Err     error // the cause, for logs; never shown to API callers
}

// FieldError names one invalid field or parameter: Loc is its path
// (["body", "tags", "x"] or ["query", "limit"]).
type FieldError struct {
	Loc []string `json:"loc"`
	Msg string   `json:"msg"`
}

// Error returns the message, with the cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: its *Error's code, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err safe to show a caller: internal
// errors are "internal error".
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}

// gitError gives an error of the git layer the domain's code: bad input
// (not a repository, no such revision, a malformed remote URL) is EINVALID,
// a push the remote refused is EUNAVAILABLE; others stay internal.
func gitError(err error) error {
	var pe *gitdb.PushError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gitdb.ErrInvalid):
		return &Error{Code: EINVALID, Message: err.Error()}
	case errors.As(err, &pe):
		return &Error{Code: EUNAVAILABLE, Message: "the remote refused the push", Err: pe.Err}
	}
	return err
}
