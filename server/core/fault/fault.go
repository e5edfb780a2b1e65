// Package fault defines the error kinds the control plane returns across package and node
// boundaries. A fault carries a stable code (the same strings as pkg/api's Code* constants) and a
// message for people; it survives being sent from the leader to a follower, and the HTTP layer
// maps its code to a status once, at the edge.
package fault

import (
	"errors"
	"fmt"
)

// Code is a stable error code.
type Code string

// Codes, equal to the wire codes in pkg/api.
const (
	Invalid      Code = "bad_request"
	Unauthorized Code = "unauthorized"
	Forbidden    Code = "forbidden"
	NotFound     Code = "not_found"
	Conflict     Code = "conflict"
	TooLarge     Code = "too_large"
	NoLeader     Code = "no_leader"
	Unavailable  Code = "unavailable"
	Timeout      Code = "timeout"
	Internal     Code = "internal_error"
	NoSpace      Code = "insufficient_storage"
	// TooMany is a caller over a rate or concurrency limit (HTTP 429 with Retry-After).
	TooMany Code = "too_many_requests"
	// SlowRequest is a request body that did not arrive in time (HTTP 408); the server closes
	// the connection.
	SlowRequest Code = "request_timeout"
)

// Error is an error with a code.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, fault.ErrNotFound) match any fault of the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is; they carry no message.
var (
	ErrInvalid     = &Error{Code: Invalid}
	ErrNotFound    = &Error{Code: NotFound}
	ErrConflict    = &Error{Code: Conflict}
	ErrForbidden   = &Error{Code: Forbidden}
	ErrNoLeader    = &Error{Code: NoLeader}
	ErrUnavailable = &Error{Code: Unavailable}
)

// New returns a fault with a formatted message.
func New(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err: its own for a fault, Internal for anything else, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}
