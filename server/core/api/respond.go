package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

var statusOf = map[fault.Code]int{
	fault.Invalid:      http.StatusBadRequest,
	fault.Unauthorized: http.StatusUnauthorized,
	fault.Forbidden:    http.StatusForbidden,
	fault.NotFound:     http.StatusNotFound,
	fault.Conflict:     http.StatusConflict,
	fault.TooLarge:     http.StatusRequestEntityTooLarge,
	fault.NoLeader:     http.StatusServiceUnavailable,
	fault.Unavailable:  http.StatusServiceUnavailable,
	fault.Timeout:      http.StatusGatewayTimeout,
	fault.Internal:     http.StatusInternalServerError,
	fault.NoSpace:      http.StatusInsufficientStorage,
	fault.TooMany:      http.StatusTooManyRequests,
	fault.SlowRequest:  http.StatusRequestTimeout,
}

// StatusOf is the HTTP status an error is answered with (by its fault code).
func StatusOf(err error) int {
	if status, ok := statusOf[fault.CodeOf(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, err error) {
	code := fault.CodeOf(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = fault.Internal, http.StatusInternalServerError
	}
	msg := err.Error()
	if code == fault.Internal {
		msg = "internal error: " + msg
	}
	var ra *retryAfter
	switch {
	case errors.As(err, &ra):
		w.Header().Set("Retry-After", retryAfterSeconds(ra.after))
	case status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, pub.ErrorBody{Error: pub.ErrorDetail{Code: string(code), Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decode reads one JSON object from the body into v: bounded, strict about unknown fields and
// trailing data, with errors a person can act on.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fault.New(fault.TooLarge, "request body is over the %d byte limit", mbe.Limit)
		}
		if fault.CodeOf(err) == fault.SlowRequest {
			return err
		}
		return fault.New(fault.Invalid, "read request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fault.New(fault.Invalid, "request body is empty: send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fault.New(fault.Invalid, "malformed JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return fault.New(fault.Invalid, "field %q must be %s, not %s", te.Field, te.Type, te.Value)
		default:
			return fault.New(fault.Invalid, "invalid request body: %v", err)
		}
	}
	if dec.More() {
		return fault.New(fault.Invalid, "request body has data after the JSON object: send exactly one object")
	}
	return nil
}

var idemKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// requestID turns the client's Idempotency-Key into the command's request ID, namespaced by the
// caller's token so that one client can never collide with another's keys.
func requestID(r *http.Request, id *auth.Identity) (string, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return "", nil
	}
	if !idemKeyRE.MatchString(key) {
		return "", fault.New(fault.Invalid, "Idempotency-Key must be 1-64 characters of A-Z a-z 0-9 _ . : -")
	}
	owner := "anon"
	if id != nil {
		owner = id.Token.AccessorID
	}
	return owner + "/" + key, nil
}

// apply proposes a command built from the request and turns its result into an error or data.
func (s *Server) apply(r *http.Request, id *auth.Identity, t command.Type, payload any) (command.Result, error) {
	rid, err := requestID(r, id)
	if err != nil {
		return command.Result{}, err
	}
	c, err := command.New(t, rid, s.cfg.Now(), payload)
	if err != nil {
		return command.Result{}, fault.New(fault.Internal, "build command: %v", err)
	}
	ctx, cancel := contextWithTimeout(r, s.cfg.WriteTimeout)
	defer cancel()
	res, err := s.cfg.Cluster.Apply(ctx, c)
	if err != nil {
		return res, err
	}
	return res, res.Err()
}

// readBarrier makes the read that follows linearizable when the client asked for ?consistent.
func (s *Server) readBarrier(r *http.Request) error {
	v := r.URL.Query().Get("consistent")
	if v == "" || v == "false" {
		return nil
	}
	if v != "true" && v != "1" {
		return fault.New(fault.Invalid, "consistent must be true or false, not %s", state.Shorten(v))
	}
	ctx, cancel := contextWithTimeout(r, s.cfg.WriteTimeout)
	defer cancel()
	return s.cfg.Cluster.ConsistentRead(ctx)
}

type page struct {
	limit int
	after string
}

const (
	defaultPage  = 100
	maxPage      = 1000
	maxCursorLen = 256 // cursors are names and IDs
)

func pageOf(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{limit: defaultPage, after: q.Get("next")}
	if len(p.after) > maxCursorLen {
		return p, fault.New(fault.Invalid, "next is %d bytes; a cursor from a list answer is at most %d: pass the next value you were given", len(p.after), maxCursorLen)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPage {
			return p, fault.New(fault.Invalid, "limit must be a whole number from 1 to %d, not %s", maxPage, state.Shorten(l))
		}
		p.limit = n
	}
	return p, nil
}

func decodeData(res command.Result, v any) error {
	if err := json.Unmarshal(res.Data, v); err != nil {
		return fmt.Errorf("decode apply result: %w", err)
	}
	return nil
}
