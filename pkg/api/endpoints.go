package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Health returns the node's health; it needs no token. A degraded node answers with an *Error
// of code unavailable.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/health", out: &h})
	return &h, err
}

// HealthOf returns the health of the server at addr (a base URL such as a ClusterServer's
// HTTPAddr), asked once, without retries: an error means the server did not answer in time or
// answered that it is degraded (an *Error of code unavailable).
func (c *Client) HealthOf(ctx context.Context, addr string) (*Health, error) {
	u, err := parseAddress(addr, c.tls != nil)
	if err != nil {
		return nil, err
	}
	cc := c.at(u)
	cc.retryFor = -1
	return cc.Health(ctx)
}

// Leader returns the current Raft leader.
func (c *Client) Leader(ctx context.Context) (*Leader, error) {
	var l Leader
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/status/leader", out: &l})
	return &l, err
}

// Servers lists the cluster's servers and their API addresses (any token may).
func (c *Client) Servers(ctx context.Context) (*ServerList, error) {
	var l ServerList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/status/servers", out: &l})
	return &l, err
}

// RaftConfiguration lists the Raft peers.
func (c *Client) RaftConfiguration(ctx context.Context) (*RaftConfiguration, error) {
	var rc RaftConfiguration
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/operator/raft", out: &rc})
	return &rc, err
}

// RaftRemovePeer removes the server with the given ID from the Raft configuration.
func (c *Client) RaftRemovePeer(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/operator/raft/peers/" + url.PathEscape(id)})
}

// SnapshotSave streams a point-in-time snapshot of the cluster state into w.
func (c *Client) SnapshotSave(ctx context.Context, w io.Writer) error {
	return c.do(ctx, request{method: http.MethodGet, path: "/v1/operator/snapshot", rawOut: w})
}

// SnapshotRestore replaces the cluster state with the snapshot read from r. It is not retried.
func (c *Client) SnapshotRestore(ctx context.Context, r io.Reader) error {
	return c.do(ctx, request{method: http.MethodPut, path: "/v1/operator/snapshot", body: r})
}

// ACLBootstrap creates the cluster's first management token. It succeeds once per cluster.
func (c *Client) ACLBootstrap(ctx context.Context) (*Token, error) {
	var t Token
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/acl/bootstrap", in: ACLBootstrapRequest{}, out: &t})
	return &t, err
}

// TokenCreate creates a token; the answer carries its secret, shown this once.
func (c *Client) TokenCreate(ctx context.Context, name, typ string, ttl time.Duration) (*Token, error) {
	req := TokenCreateRequest{Name: name, Type: typ}
	if ttl > 0 {
		req.TTL = ttl.String()
	}
	var t Token
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/tokens", in: req, out: &t})
	return &t, err
}

// TokenList lists tokens (without secrets).
func (c *Client) TokenList(ctx context.Context, q *QueryOptions) (*TokenList, error) {
	var l TokenList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/tokens", query: q.values(), out: &l})
	return &l, err
}

// TokenGet returns one token by accessor ID.
func (c *Client) TokenGet(ctx context.Context, accessor string, q *QueryOptions) (*Token, error) {
	var t Token
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/tokens/" + url.PathEscape(accessor), query: q.values(), out: &t})
	return &t, err
}

// TokenSelf returns the token the client authenticates with.
func (c *Client) TokenSelf(ctx context.Context) (*Token, error) {
	var t Token
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/tokens/self", out: &t})
	return &t, err
}

// TokenRevoke deletes a token by accessor ID; it stops working at once on every server.
func (c *Client) TokenRevoke(ctx context.Context, accessor string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/tokens/" + url.PathEscape(accessor)})
}

// AppCreate creates an application.
func (c *Client) AppCreate(ctx context.Context, req AppCreateRequest) (*App, error) {
	var a App
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/apps", in: req, out: &a})
	return &a, err
}

// AppList lists applications in name order.
func (c *Client) AppList(ctx context.Context, q *QueryOptions) (*AppList, error) {
	var l AppList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/apps", query: q.values(), out: &l})
	return &l, err
}

// AppGet returns one application.
func (c *Client) AppGet(ctx context.Context, name string, q *QueryOptions) (*App, error) {
	var a App
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/apps/" + url.PathEscape(name), query: q.values(), out: &a})
	return &a, err
}

// AppUpdate replaces an application's description. A non-zero cas makes the update conditional
// on the application's ModifyIndex still being cas (read it from AppGet): when another write came
// first, the answer is a conflict (IsConflict) and nothing changed. A cas of 0 updates
// unconditionally. The answer is the application as written, with its new ModifyIndex.
func (c *Client) AppUpdate(ctx context.Context, name string, req AppUpdateRequest, cas uint64) (*App, error) {
	var q url.Values
	if cas != 0 {
		q = url.Values{"cas": {strconv.FormatUint(cas, 10)}}
	}
	var a App
	err := c.do(ctx, request{method: http.MethodPut, path: "/v1/apps/" + url.PathEscape(name), query: q, in: req, out: &a})
	return &a, err
}

// AppDelete deletes an application; a missing one is a not_found error.
func (c *Client) AppDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/apps/" + url.PathEscape(name)})
}
