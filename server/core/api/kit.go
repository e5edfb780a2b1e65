package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gorilla/websocket"

	pub "github.com/slipwayhq/slipway/pkg/api"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fleet"
	"github.com/slipwayhq/slipway/server/core/policy"
)

// Kit is the HTTP plumbing services write their handlers with, so that every route decodes,
// pages, reads consistently, proposes and answers the same way. Get it from Server.Kit; it is
// usable once the server is built (handlers run only after that).
type Kit struct{ s *Server }

// Kit returns the server's handler kit.
func (s *Server) Kit() *Kit { return &Kit{s: s} }

// Page is a list request's window: at most Limit records after the cursor After.
type Page struct {
	Limit int
	After string
}

// Decode reads one JSON object from the body into v: bounded by the server's body limit, strict
// about unknown fields and trailing data, with errors a person can act on.
func (k *Kit) Decode(w http.ResponseWriter, r *http.Request, v any) error { return k.s.decode(w, r, v) }

// JSON writes v as the answer with the given status.
func (k *Kit) JSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// Page reads ?limit= (1-1000, default 100) and ?next= (the cursor of the previous answer).
func (k *Kit) Page(r *http.Request) (Page, error) {
	p, err := pageOf(r)
	return Page{Limit: p.limit, After: p.after}, err
}

// ReadBarrier makes the read that follows linearizable when the client asked for ?consistent.
func (k *Kit) ReadBarrier(r *http.Request) error { return k.s.readBarrier(r) }

// WriteContext is the context a write waits for the cluster in: the request's, bounded by the
// server's write timeout, and carrying the request ID the client's Idempotency-Key names.
func (k *Kit) WriteContext(r *http.Request, id *auth.Identity) (context.Context, context.CancelFunc, error) {
	rid, err := requestID(r, id)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := contextWithTimeout(r, k.s.cfg.WriteTimeout)
	return command.WithRequestID(ctx, rid), cancel, nil
}

// ReadContext is the context a read that must wait for the cluster (a consistent read) runs in:
// the request's, bounded as a write's wait is (see WriteContext).
func (k *Kit) ReadContext(r *http.Request) (context.Context, context.CancelFunc) {
	return contextWithTimeout(r, k.s.cfg.WriteTimeout)
}

// OpenStream counts a live stream against its token's limit; call the returned function when it
// ends.
func (k *Kit) OpenStream(id *auth.Identity) (func(), error) { return k.s.openStream(id) }

// StreamEnd says why a stream opened with id must end now ("" while it may go on).
func (k *Kit) StreamEnd(id *auth.Identity) string { return k.s.streamEnd(id) }

// UntilExpiry returns a context that ends when id's token expires.
func (k *Kit) UntilExpiry(ctx context.Context, id *auth.Identity) (context.Context, context.CancelFunc) {
	return k.s.untilExpiry(ctx, id)
}

// CloseStream ends a websocket stream with a close frame naming why.
func (k *Kit) CloseStream(ws *websocket.Conn, reason string) { closeStream(ws, reason) }

// ServeBlob answers with a stored blob's bytes (ranges, ETag, content type of a bundle).
func (k *Kit) ServeBlob(w http.ResponseWriter, r *http.Request, sha, name string) error {
	return k.s.serveBlob(w, r, sha, name)
}

// Get is the handler of a route that reads one resource: the read barrier (?consistent), then
// get, answered 200 with what it returns. Errors are answered by their fault code.
func Get[V any](k *Kit, get func(r *http.Request) (V, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
		if err := k.ReadBarrier(r); err != nil {
			return err
		}
		v, err := get(r)
		if err != nil {
			return err
		}
		k.JSON(w, http.StatusOK, v)
		return nil
	}
}

// List is the handler of a route that lists a resource a page at a time: ?limit and ?next are
// checked first, then the read barrier, then list gives the page's records and the cursor of the
// next page ("" at the end), and wrap makes the answer's JSON body (its list field and next).
func List[V, L any](k *Kit, list func(r *http.Request, p Page) ([]V, string, error), wrap func(items []V, next string) L) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
		p, err := k.Page(r)
		if err != nil {
			return err
		}
		if err := k.ReadBarrier(r); err != nil {
			return err
		}
		items, next, err := list(r, p)
		if err != nil {
			return err
		}
		if items == nil {
			items = []V{}
		}
		k.JSON(w, http.StatusOK, wrap(items, next))
		return nil
	}
}

// MaxClientMessage bounds a message a stream's client may send (it only ever closes).
const MaxClientMessage = maxClientMessage

// WaitContext is the request's context bounded by the server's write timeout, for a read that
// waits for the cluster (a consistent read after a record was not found).
func (k *Kit) WaitContext(r *http.Request) (context.Context, context.CancelFunc) {
	return contextWithTimeout(r, k.s.cfg.WriteTimeout)
}

// CloseExpired ends a stream with the "token expired" close frame when ctx (from UntilExpiry)
// ended because its token expired, and does nothing otherwise.
func (k *Kit) CloseExpired(ctx context.Context, ws *websocket.Conn) {
	if errors.Is(context.Cause(ctx), errTokenExpired) {
		closeStream(ws, reasonExpired)
	}
}

// Write is the handler of a route that changes something and answers with what it made: the body
// is decoded into a Req (Decode), the write context made (WriteContext: the write timeout and the
// Idempotency-Key), do called, and its answer written with status. A service's write routes are
// one line each: what they do.
func Write[Req, Resp any](k *Kit, status int, do func(ctx context.Context, r *http.Request, req Req) (Resp, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		var req Req
		if err := k.Decode(w, r, &req); err != nil {
			return err
		}
		ctx, cancel, err := k.WriteContext(r, id)
		if err != nil {
			return err
		}
		defer cancel()
		out, err := do(ctx, r, req)
		if err != nil {
			return err
		}
		k.JSON(w, status, out)
		return nil
	}
}

// Remove is the handler of a route that changes something with no body either way (a delete, a
// revoke): the write context made, do called, and 204 No Content answered.
func Remove(k *Kit, do func(ctx context.Context, r *http.Request) error) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		ctx, cancel, err := k.WriteContext(r, id)
		if err != nil {
			return err
		}
		defer cancel()
		if err := do(ctx, r); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// Audit records what a service's handler decides outside the edge's policy check (a refused
// sign-in), through the server's Auditor; it returns at once.
func (k *Kit) Audit(r audit.Record) { k.s.cfg.Audit.Record(r) }

// RequestID is the id the edge gave the request (the X-Request-Id of its answer).
func (k *Kit) RequestID(w http.ResponseWriter) string { return w.Header().Get(HeaderRequestID) }

// PeekJSON decodes the request body's JSON object into v, leniently (unknown fields are
// ignored), and puts the body back for the handler to read whole: for a route's
// ResolveResource that needs a field of the body. The body is bounded as Decode bounds it; a
// body that is not a JSON object is left for the handler to refuse with its own message (v
// stays as it was and the answer is nil).
func (k *Kit) PeekJSON(r *http.Request, v any) error {
	if r.Body == nil {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, k.s.cfg.MaxBodyBytes+1))
	if err != nil {
		return fault.New(fault.Invalid, "read request body: %v", err)
	}
	if int64(len(data)) > k.s.cfg.MaxBodyBytes {
		return fault.New(fault.TooLarge, "request body is over the %d byte limit", k.s.cfg.MaxBodyBytes)
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	_ = json.Unmarshal(data, v)
	return nil
}

// Hosts is the hosts' Go API (the console's hosts pages read it).
func (k *Kit) Hosts() *fleet.Hosts { return k.s.hosts }

// Servers lists the cluster's servers as this server knows them, the leader marked.
func (k *Kit) Servers() ([]pub.ClusterServer, error) {
	servers, _, err := k.s.cfg.Cluster.Configuration()
	if err != nil {
		return nil, fault.New(fault.Unavailable, "read raft configuration: %v", err)
	}
	out := make([]pub.ClusterServer, 0, len(servers))
	for _, sv := range servers {
		out = append(out, pub.ClusterServer{ID: sv.ID, HTTPAddr: sv.HTTPAddr, Leader: sv.Leader, Voter: sv.Voter})
	}
	return out, nil
}

// Allowed reports whether the caller's policies allow action on resource (a resource name
// without its srn: prefix is qualified under the action's service), as the edge would decide a
// route of that action: the console shows only what its user may use.
func (k *Kit) Allowed(r *http.Request, id *auth.Identity, action, resource string) bool {
	g := k.s.cfg.Policies.GrantsFor(id)
	var buf [8]policy.ContextValue
	return Decide(k.s.authRequest(buf[:0], action, SRN(action, resource), originOf(r), g, g.MFA), g).Allowed()
}
