package client

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// FieldError names one invalid field or parameter of a 422.
type FieldError struct {
	Loc []any  `json:"loc"`
	Msg string `json:"msg"`
}

// APIError is an answer with an error status: the status, the server's
// error type and message, the 422 field errors, and the response itself
// (its body already read and closed).
type APIError struct {
	Method, Path string
	Status       int
	Type         string       `json:"type"`
	Message      string       `json:"message"`
	Errors       []FieldError `json:"errors"`
	RetryAfter   time.Duration
	Response     *http.Response
	Body         []byte
}

// Error returns the method, path, status and the server's message.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// OutcomeUnknownError is a write that reached the server (or may have) and
// whose answer was lost: a dropped connection after the request was sent,
// a timeout, a gateway error. The client never retries such a write; the
// caller reads back what happened.
type OutcomeUnknownError struct {
	Method, Path string
	Err          error
}

// Error says which write's outcome is unknown and why.
func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%s %s: outcome unknown (read back before retrying): %v", e.Method, e.Path, e.Err)
}

// Unwrap returns the transport error or the gateway's answer.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status of an *APIError in err's chain, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsConflict reports a 409 (a live persona has the name; a version identical
// to the latest).
func IsConflict(err error) bool { return StatusOf(err) == http.StatusConflict }

// IsOutcomeUnknown reports a write whose outcome is unknown.
func IsOutcomeUnknown(err error) bool {
	var oe *OutcomeUnknownError
	return errors.As(err, &oe)
}
