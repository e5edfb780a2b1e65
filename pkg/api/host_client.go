package api

import (
	"context"
	"net/http"
	"net/url"
)

// HostTokenCreate creates a registration token for agents; the answer carries its secret once.
func (c *Client) HostTokenCreate(ctx context.Context, req HostTokenCreateRequest) (*HostToken, error) {
	var t HostToken
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/host-tokens", in: req, out: &t})
	return &t, err
}

// HostTokenList lists registration tokens, without their secrets, a page at a time.
func (c *Client) HostTokenList(ctx context.Context, q *QueryOptions) (*HostTokenList, error) {
	var l HostTokenList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/host-tokens", query: q.values(), out: &l})
	return &l, err
}

// HostTokenGet returns one registration token by accessor, without its secret.
func (c *Client) HostTokenGet(ctx context.Context, accessor string, q *QueryOptions) (*HostToken, error) {
	var t HostToken
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/host-tokens/" + url.PathEscape(accessor), query: q.values(), out: &t})
	return &t, err
}

// HostTokenRevoke deletes a registration token: it registers no more hosts. Hosts it registered
// keep working.
func (c *Client) HostTokenRevoke(ctx context.Context, accessor string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/host-tokens/" + url.PathEscape(accessor)})
}

// HostList lists registered hosts by name.
func (c *Client) HostList(ctx context.Context, q *QueryOptions) (*HostList, error) {
	var l HostList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/hosts", query: q.values(), out: &l})
	return &l, err
}

// HostGet returns one host by name.
func (c *Client) HostGet(ctx context.Context, name string, q *QueryOptions) (*Host, error) {
	var h Host
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/hosts/" + url.PathEscape(name), query: q.values(), out: &h})
	return &h, err
}

// HostDelete removes a host; its agent can no longer act.
func (c *Client) HostDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/hosts/" + url.PathEscape(name)})
}

// HostTag sets and removes tags of a host.
func (c *Client) HostTag(ctx context.Context, name string, req HostTagRequest) (*Host, error) {
	var h Host
	err := c.do(ctx, request{method: http.MethodPatch, path: "/v1/hosts/" + url.PathEscape(name) + "/tags", in: req, out: &h})
	return &h, err
}

// DeploymentCreate starts a deployment.
func (c *Client) DeploymentCreate(ctx context.Context, req DeploymentCreateRequest) (*Deployment, error) {
	var d Deployment
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/deployments", in: req, out: &d})
	return &d, err
}

// DeploymentGet returns a deployment.
func (c *Client) DeploymentGet(ctx context.Context, id string, q *QueryOptions) (*Deployment, error) {
	var d Deployment
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/deployments/" + url.PathEscape(id), query: q.values(), out: &d})
	return &d, err
}

// DeploymentList lists deployments, of one app when app is not empty, oldest first.
func (c *Client) DeploymentList(ctx context.Context, app string) (*DeploymentList, error) {
	var l DeploymentList
	q := url.Values{}
	if app != "" {
		q.Set("app", app)
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/deployments", query: q, out: &l})
	return &l, err
}

// DeploymentLogs returns a host's output lines after sequence after (0 for all).
func (c *Client) DeploymentLogs(ctx context.Context, id, host string, after uint64) (*DeploymentLogs, error) {
	var l DeploymentLogs
	q := url.Values{"host": {host}, "after": {formatUint(after)}}
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/deployments/" + url.PathEscape(id) + "/logs", query: q, out: &l})
	return &l, err
}

// DeploymentStop stops a deployment; with rollback, the group's last successful revision is
// deployed again afterwards.
func (c *Client) DeploymentStop(ctx context.Context, id string, rollback bool) (*Deployment, error) {
	var d Deployment
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/deployments/" + url.PathEscape(id) + "/stop", in: DeploymentStopRequest{Rollback: rollback}, out: &d})
	return &d, err
}
