package command

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// Proposer replicates a command and answers with the result of applying it: the node's Raft
// member (raftstore.Node), on any server (a follower forwards to the leader).
type Proposer interface {
	Apply(ctx context.Context, c *Command) (Result, error)
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the idempotency key of the write it is for: commands that
// Propose builds under it carry it, so a retried request is answered with the first outcome.
func WithRequestID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request ID ctx carries ("" for none).
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Propose builds a command of type d from payload (with ctx's request ID and the proposer's time
// now), replicates it and returns its result. A command the state machine refused is returned as
// its error (a *fault.Error), so callers handle one error.
func Propose[T any](ctx context.Context, p Proposer, d Def[T], now time.Time, payload T) (Result, error) {
	c, err := d.New(RequestIDFrom(ctx), now, payload)
	if err != nil {
		return Result{}, fault.New(fault.Internal, "build %s command: %v", d.Name(), err)
	}
	res, err := p.Apply(ctx, c)
	if err != nil {
		return res, err
	}
	return res, res.Err()
}

// Data decodes what the handler returned in a successful result.
func Data[V any](res Result) (V, error) {
	var v V
	if err := json.Unmarshal(res.Data, &v); err != nil {
		return v, fmt.Errorf("decode the result of index %d: %w", res.Index, err)
	}
	return v, nil
}
