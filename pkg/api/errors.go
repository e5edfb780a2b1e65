package api

import (
	"errors"
	"fmt"
)

// Error codes carried in {"error":{"code":...}}. They are stable: scripts may match on them.
const (
	CodeBadRequest   = "bad_request"          // 400: malformed or invalid input
	CodeUnauthorized = "unauthorized"         // 401: missing, unknown or expired token
	CodeForbidden    = "forbidden"            // 403: the token may not do this
	CodeNotFound     = "not_found"            // 404
	CodeConflict     = "conflict"             // 409: already exists, already done, precondition failed
	CodeTooLarge     = "too_large"            // 413: request body over the limit
	CodeNoLeader     = "no_leader"            // 503: the cluster has no leader right now; retry
	CodeUnavailable  = "unavailable"          // 503: the server is starting or shutting down; retry
	CodeTimeout      = "timeout"              // 504: the write may or may not have been applied
	CodeInternal     = "internal_error"       // 500
	CodeNoSpace      = "insufficient_storage" // 507: a server's disk is full
	// CodeTooMany is 429: the caller is over a limit (failed logins from its address, open
	// streams of its token); the Retry-After header says when to try again.
	CodeTooMany = "too_many_requests"
	// CodeSlowRequest is 408: the request body did not arrive in time; the connection is closed.
	CodeSlowRequest = "request_timeout"
)

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail names what went wrong: a stable code and a message for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is what the client returns for a non-2xx answer.
type Error struct {
	Status  int    // HTTP status
	Code    string // one of the Code* constants
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Code, e.Status)
	}
	return e.Message
}

// ErrorCode returns the API error code of err, or "" when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsNotFound reports whether err is a 404 from the API.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }

// IsConflict reports whether err is a 409 from the API.
func IsConflict(err error) bool { return ErrorCode(err) == CodeConflict }

// Indeterminate reports whether a write that failed with err may nevertheless have been applied,
// so that its outcome is unknown until the resource is read again: a timeout, a lost answer, a
// leader change or an unavailable cluster. It is false for nil, for definite refusals (bad
// request, conflict, not found, ...) and for a request that never reached a server (nothing
// listening, a name that does not resolve).
func Indeterminate(err error) bool {
	if err == nil {
		return false
	}
	switch ErrorCode(err) {
	case CodeTimeout, CodeNoLeader, CodeUnavailable, CodeInternal:
		return true
	case "":
		var te *transportError
		if errors.As(err, &te) {
			return sentButLost(err)
		}
		return true // e.g. an answer that could not be decoded: the server may have acted
	}
	return false
}
